"""Exact solvers against brute force on tiny instances, one feature at a time.

For every constraint kind and objective term (tests/tiny.py), several seeded
instances are solved by enumeration and by each exact solver; statuses must
agree (including ``infeasible``) and objectives must match to 1e-6 (MILP) or
1e-4 (CP-SAT).  Each feature must change the brute-force optimum on some seed,
so the check exercises it.
"""

from __future__ import annotations

import os

import pytest

import placement_opt as po
from placement_opt.solve import list_solvers, solve
from tests.tiny import FEATURES, relaxed, tiny_instance

SEEDS = range(6)
TOLERANCE = {"milp": 1e-6, "milp-textbook": 1e-6, "cpsat": 1e-4}


def exact_runs():
    runs = [("milp", {}), ("milp", {"reduce": True}), ("milp-textbook", {})]
    if "cpsat" in list_solvers() and not os.environ.get("SKIP_CPSAT"):
        runs.append(("cpsat", {}))
    return runs


def agree(reference, sol, tol):
    assert sol.status == reference.status, (sol.status, reference.status, dict(sol.info))
    if reference.objective is not None:
        assert sol.objective == pytest.approx(reference.objective, rel=tol, abs=1e-12)
        assert sol.feasible
        assert sol.bound is not None and sol.bound <= reference.objective * (1 + tol) + 1e-12
        own = sol.info.get("solver_objective")
        if own is not None:
            assert own == pytest.approx(sol.objective, rel=max(tol, 1e-6), abs=1e-9)


@pytest.mark.parametrize("feature", FEATURES)
def test_exact_solvers_match_brute_force(feature):
    changed = 0
    statuses = set()
    for seed in SEEDS:
        data, previous = tiny_instance(seed, feature)
        p = po.Problem.from_dict(data)
        reference = solve(p, "brute-force", previous=previous)
        statuses.add(reference.status.value)
        for name, options in exact_runs():
            sol = solve(p, name, previous=previous, time_limit=60, **options)
            agree(reference, sol, TOLERANCE[name])
        free = solve(po.Problem.from_dict(relaxed(data, feature)), "brute-force", previous=previous)
        if free.status != reference.status or abs((free.objective or 0) - (reference.objective or 0)) > 1e-9:
            changed += 1
    assert changed, f"{feature} never changed the optimum: the instances do not exercise it"
    assert "optimal" in statuses


def test_infeasible_instances_are_reported_infeasible():
    infeasible = 0
    for seed in range(12):
        data, _ = tiny_instance(seed, "slo")
        for w in data["workloads"]:
            w["slo"] = w["slo"] / 5
        p = po.Problem.from_dict(data)
        reference = solve(p, "brute-force")
        for name, options in exact_runs():
            agree(reference, solve(p, name, time_limit=60, **options), TOLERANCE[name])
        infeasible += reference.status.value == "infeasible"
    assert infeasible >= 3


@pytest.mark.parametrize("family", ["smart-city", "v2x", "industrial"])
def test_three_formulations_agree_on_small_generated_instances(family):
    """MILP, CP-SAT and the textbook MILP are independent models of the same
    problem: on generated scenario instances their proven optima coincide."""
    from placement_opt.generators import generate

    problem = generate(family, seed=3, size="s")
    sols = {name: solve(problem, name, time_limit=120) for name, _ in exact_runs()}
    proven = {n: s for n, s in sols.items() if s.status is po.SolveStatus.OPTIMAL}
    assert "milp" in proven and "milp-textbook" in proven
    ref = proven["milp-textbook"].objective
    for name, sol in sols.items():
        assert sol.feasible
        assert sol.bound <= ref * (1 + TOLERANCE[name]) + 1e-12
        if name in proven:
            assert sol.objective == pytest.approx(ref, rel=TOLERANCE[name])
