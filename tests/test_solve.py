"""The common solve() interface: registry, arguments, and the contract every
solver keeps (feasible or honest, the evaluator's objective, seeds, limits)."""

from __future__ import annotations

import time

import pytest

import placement_opt as po
from placement_opt.generators import generate
from placement_opt.solve import list_solvers, solve
from tests.tiny import tiny_instance


def test_registry_names_every_solver():
    names = list_solvers()
    for name in ("milp", "cpsat", "milp-textbook", "brute-force", "greedy"):
        assert name in names
    assert set(list_solvers(exact=True)) >= {"milp", "cpsat", "brute-force"}
    assert "greedy" in list_solvers(exact=False)


def test_solve_is_the_package_entry_point(hand):
    assert po.solve is solve and po.list_solvers is list_solvers
    sol = po.solve(hand, solver="brute-force")
    assert sol.status is po.SolveStatus.OPTIMAL
    assert sol.objective == po.evaluate(hand, sol).objective


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"solver": "milq"}, "unknown solver 'milq' (did you mean 'milp'?)"),
        ({"time_limit": 0}, "time_limit must be > 0"),
        ({"gap": 1.5}, "gap must be in [0, 1)"),
        ({"threads": 0}, "threads must be a positive integer"),
    ],
)
def test_bad_arguments(hand, kwargs, message):
    with pytest.raises(po.SolverError) as err:
        solve(hand, **kwargs)
    assert message in str(err.value)


def test_bad_warm_start_is_named(hand):
    with pytest.raises(po.SolutionError, match="assignment.A"):
        solve(hand, "milp", warm_start={"B": ["edge"] * 3})


def contract(problem, sol, name):
    """What every solver promises about the Solution it returns."""
    assert sol.solver == name and sol.solve_time is not None
    if sol.status.has_solution:
        ev = po.evaluate(problem, sol)
        assert ev.feasible and sol.feasible
        assert sol.objective == pytest.approx(ev.objective, rel=1e-12)
        if sol.bound is not None:
            assert sol.bound <= sol.objective * (1 + 1e-9) + 1e-12
    else:
        assert sol.assignment == {} and sol.objective is None
    assert sol.status.value != "error", sol.info


@pytest.mark.parametrize("name", ["milp", "cpsat", "greedy", "milp-textbook"])
def test_every_solver_keeps_the_contract(name):
    for seed in range(3):
        for feature in ("memory", "privacy", "link"):
            data, _ = tiny_instance(seed, feature)
            p = po.Problem.from_dict(data)
            sol = solve(p, name, time_limit=30)
            contract(p, sol, name)
            ref = solve(p, "brute-force")
            assert sol.status.has_solution == ref.status.has_solution or name == "greedy"
            if sol.objective is not None:
                assert sol.objective >= ref.objective * (1 - 1e-9)


@pytest.mark.parametrize("name", ["milp", "cpsat", "greedy"])
def test_same_seed_same_answer(name):
    p = generate("smart-city", seed=2, size="s")
    a = solve(p, name, seed=7, time_limit=60)
    b = solve(p, name, seed=7, time_limit=60)
    assert a.assignment == b.assignment and a.status == b.status


@pytest.mark.parametrize("name", ["milp", "cpsat"])
def test_time_limit_covers_the_whole_call(name):
    p = generate("smart-city", seed=0, size="m", nodes=24, workloads=12, model="llama-2-13b")
    t0 = time.perf_counter()
    sol = solve(p, name, time_limit=3)
    assert time.perf_counter() - t0 < 3 + 4.0
    contract(p, sol, name)


def test_solution_file_round_trip(tmp_path, hand):
    sol = solve(hand, "brute-force")
    path = tmp_path / "sol.json"
    po.save_solution(sol, path)
    again = po.load_solution(path)
    assert dict(again.assignment) == dict(sol.assignment)
    assert (again.status, again.objective, again.bound, again.solver) == (sol.status, sol.objective, sol.bound,
                                                                          sol.solver)
    assert [s.node for s in again.segments("A")] == [s.node for s in sol.segments("A")]


def test_solution_file_errors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"assignment": {"A": "edge"}, "status": "great", "colour": 1}')
    with pytest.raises(po.SolutionError) as err:
        po.load_solution(path)
    msg = str(err.value)
    assert "assignment.A: must be a list of node ids" in msg
    assert "status: unknown status 'great'" in msg and "colour: unknown field" in msg


def test_segments_and_summary(hand):
    sol = po.Solution({"A": ["phone", "edge", "edge"], "B": ["edge", "edge", "cloud"]})
    assert [(s.node, s.first, s.last) for s in sol.segments("A")] == [("phone", 0, 0), ("edge", 1, 2)]
    assert "A: phone[1-1], edge[2-3]" in sol.summary()
