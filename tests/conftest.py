"""Shared fixtures: tiny named instances under tests/fixtures."""

from __future__ import annotations

import json

import pytest

import placement_opt as po
from tests.paths import FIXTURES


def fixture_data(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def hand_data() -> dict:
    """The hand-computed instance (values worked out in tests/test_evaluate.py)."""
    return fixture_data("hand")


@pytest.fixture
def hand(hand_data) -> po.Problem:
    return po.Problem.from_dict(hand_data)
