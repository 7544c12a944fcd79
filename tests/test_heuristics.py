"""Heuristics: feasible whenever a feasible solution is easy to find."""

from __future__ import annotations

import numpy as np
import pytest

import placement_opt as po
from placement_opt.generators import FAMILIES, generate, reference_assignment
from placement_opt.heuristics.greedy import Greedy, Residual
from placement_opt.solve import solve


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("size", ["s", "m"])
def test_greedy_is_feasible_where_the_generator_guarantees_a_solution(family, size):
    p = generate(family, seed=1, size=size)
    assert po.evaluate(p, reference_assignment(p)).feasible  # a feasible solution is easy to find
    sol = solve(p, "greedy")
    assert sol.status.value == "feasible" and sol.feasible
    assert sol.objective == pytest.approx(po.evaluate(p, sol).objective, rel=1e-12)


def test_greedy_is_deterministic():
    p = generate("v2x", seed=3, size="m")
    assert solve(p, "greedy").assignment == solve(p, "greedy").assignment


def test_greedy_says_no_solution_when_there_is_none(hand_data):
    for w in hand_data["workloads"]:
        w["slo"] = 1e-6
    sol = solve(po.Problem.from_dict(hand_data), "greedy")
    assert sol.status.value == "no_solution" and sol.objective is None


def test_reservations_are_drawn_by_later_workloads(hand):
    """The first workload to place a layer sets aside state memory for the
    model's other workloads; the next one draws from it, not from free memory."""
    g = Greedy(hand, reserve=1.0)
    res = Residual.empty(hand)
    g.pending[:] = 2
    path = np.array([1, 1, 1])  # all on edge
    free = res.memory[1]
    g.commit(0, path, res)
    g.pending[:] = 1
    # weights 750 + A's state 15 + B's reserved state 15
    assert res.memory[1] == pytest.approx(free - 750 - 30)
    g.commit(1, path, res)
    assert res.memory[1] == pytest.approx(free - 750 - 30)  # B used its reservation
    assert res.reserved[:, 1].sum() == pytest.approx(0)
