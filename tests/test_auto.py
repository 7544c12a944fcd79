"""``auto``: heuristic incumbent then the warm-started MILP."""

from __future__ import annotations

import time

import pytest

import placement_opt as po
from placement_opt.generators import generate
from placement_opt.solve import solve
from tests.tiny import FEATURES, tiny_instance


@pytest.mark.parametrize("feature", FEATURES)
def test_auto_agrees_with_brute_force(feature):
    for seed in range(2):
        data, previous = tiny_instance(seed, feature)
        problem = po.Problem.from_dict(data)
        ref = solve(problem, "brute-force", previous=previous)
        got = solve(problem, "auto", previous=previous)
        assert got.status is ref.status, (got.status, ref.status)
        if ref.objective is not None:
            assert got.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-12)
            assert got.bound <= ref.objective * (1 + 1e-6) + 1e-12
            assert got.info["solver_objective"] == pytest.approx(got.objective, rel=1e-9)


def test_auto_is_never_worse_than_its_heuristic_and_keeps_the_limit():
    problem = generate("smart-city", seed=2, size="m")
    heuristic = solve(problem, "greedy")
    t0 = time.perf_counter()
    got = solve(problem, "auto", time_limit=8)
    elapsed = time.perf_counter() - t0
    assert elapsed < 8 * 1.25 + 1.0
    assert got.status in (po.SolveStatus.OPTIMAL, po.SolveStatus.FEASIBLE)
    assert got.feasible and got.objective <= heuristic.objective * (1 + 1e-12)
    assert got.bound is None or got.bound <= got.objective * (1 + 1e-12)


def test_auto_reports_infeasible_like_the_milp(hand_data):
    for w in hand_data["workloads"]:
        w["slo"] = 1e-9
    got = solve(po.Problem.from_dict(hand_data), "auto")
    assert got.status is po.SolveStatus.INFEASIBLE and got.objective is None
