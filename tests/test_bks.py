"""The instance library and ``placement-opt bks``.

The real library is checked by the package's evaluator (``bks --check``) and,
independently, by the test oracle ``tests/reference_spec.py``.  Tampered copies
of a tiny library, whose two possible solutions are worked out by hand, must
fail with a message naming the instance.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from placement_opt.bks import (
    INDEX_COLUMNS,
    IndexError_,
    IndexRow,
    check_library,
    read_index,
    update_library,
    write_index,
)
from placement_opt.cli import app
from placement_opt.solution import Solution, SolveStatus, save_solution
from tests import reference_spec
from tests.paths import ROOT

LIBRARY = ROOT / "instances"
runner = CliRunner()

# --------------------------------------------------------------------------- #
# A tiny library worked out by hand.
#
# Node a (source, 1e9 FLOP/s), node b (1e10 FLOP/s), one link a-b of 1e6 B/s and
# 10 ms.  One layer of 1e9 FLOP, input 1e4 B, output 1e3 B.
#   on a: T = 1e9 / 1e9 = 1.0 s
#   on b: T = (0.01 + 1e4/1e6) + 1e9/1e10 + (0.01 + 1e3/1e6) = 0.02 + 0.1 + 0.011 = 0.131 s
# Node c has 1 byte of memory: a solution using it is infeasible.
# --------------------------------------------------------------------------- #
ON_A, ON_B = 1.0, 0.131

TINY = {
    "name": "tiny-s-1",
    "nodes": [{"id": "a", "flops": 1e9, "memory": 1e9}, {"id": "b", "flops": 1e10, "memory": 1e9},
              {"id": "c", "flops": 1e12, "memory": 1.0}],
    "links": [{"source": "a", "target": "b", "bandwidth": 1e6, "latency": 0.01},
              {"source": "b", "target": "c", "bandwidth": 1e9, "latency": 0.001}],
    "models": [{"id": "m", "input_bytes": 1e4,
                "layers": [{"name": "l1", "flops": 1e9, "param_bytes": 1e6, "output_bytes": 1e3}]}],
    "workloads": [{"id": "w", "model": "m", "source": "a", "rate": 0.1}],
}


def make_library(root: Path, node: str = "a", objective: float = ON_A) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tiny-s-1.json").write_text(json.dumps(TINY))
    save_solution(Solution({"w": (node,)}, SolveStatus.FEASIBLE, objective, None, "hand", 0.0, True),
                  root / "solutions" / "tiny-s-1.json")
    write_index(root / "index.csv",
                [IndexRow("tiny-s-1", "tiny", 3, 2, 1, 1, 1, objective, 0.1 * objective, False, "hand", 0.0)])
    return root


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def problems_of(root: Path) -> dict[str, tuple[str, ...]]:
    return {c.name: c.problems for c in check_library(root)}


# --------------------------------------------------------------------------- #
# The real library
# --------------------------------------------------------------------------- #


def test_real_library_passes_check_quickly():
    start = time.perf_counter()
    result = run("bks", "--check", "--instances", LIBRARY)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    assert "all" in result.output and "match the index" in result.output
    assert elapsed < 30


def test_real_library_has_the_required_shape():
    rows = read_index(LIBRARY / "index.csv")
    assert len(rows) >= 18
    sizes = {(r.family, r.name.split("-")[-2]) for r in rows}
    for family in ("smart-city", "v2x", "industrial"):
        for size in ("s", "m", "l"):
            assert (family, size) in sizes, (family, size)
    names = {r.name for r in rows}
    assert any(n.startswith("zoo-") for n in names)
    assert any("privacy" in n for n in names)
    assert any("multi" in n for n in names)
    for row in rows:
        assert row.bound is None or row.bound <= row.best_objective * (1 + 1e-9)
        if row.proven_optimal:
            assert row.bound is not None


def test_real_library_multi_objective_instances_weigh_several_terms():
    multi = [r.name for r in read_index(LIBRARY / "index.csv") if "multi" in r.name]
    assert multi
    for name in multi:
        weights = json.loads((LIBRARY / f"{name}.json").read_text())["objective"]
        assert sum(1 for w in weights.values() if w > 0) >= 2


def test_real_library_objectives_agree_with_the_independent_oracle():
    # The loop-based oracle takes minutes on the 120-node instances; it checks
    # the small and medium ones (the large ones are covered by bks --check).
    for row in read_index(LIBRARY / "index.csv"):
        if row.nodes > 30:
            continue
        data = json.loads((LIBRARY / f"{row.name}.json").read_text())
        assignment = json.loads((LIBRARY / "solutions" / f"{row.name}.json").read_text())["assignment"]
        ref = reference_spec.evaluate(data, assignment)
        assert ref.feasible, (row.name, ref.violation_list[:3])
        assert ref.objective == pytest.approx(row.best_objective, rel=1e-9), row.name


LINK_INSTANCES = [r.name for r in read_index(LIBRARY / "index.csv") if r.name.endswith("-link")]


def test_real_library_has_a_link_capacity_instance():
    assert LINK_INSTANCES


@pytest.mark.parametrize("name", LINK_INSTANCES)
def test_link_capacity_binds_with_the_all_cloud_witness(name):
    # Witness built by hand, evaluated by the independent oracle: every layer
    # of every workload on the single cloud node.  It breaks only the capacity
    # of the backhaul, and scores below the instance's proven lower bound, so
    # the optimum without link capacity is strictly better than with it.
    data = json.loads((LIBRARY / f"{name}.json").read_text())
    row = next(r for r in read_index(LIBRARY / "index.csv") if r.name == name)
    (cloud,) = [n["id"] for n in data["nodes"] if n.get("tier") == "cloud"]
    (model,) = data["models"]
    witness = {w["id"]: [cloud] * len(model["layers"]) for w in data["workloads"]}
    ref = reference_spec.evaluate(data, witness)
    assert [v["kind"] for v in ref.violation_list] == ["link"], ref.violation_list
    (violation,) = ref.violation_list
    (backhaul,) = [e for e in data["links"] if cloud in (e["source"], e["target"])]
    assert violation["link"] == backhaul.get("id", f"{backhaul['source']}-{backhaul['target']}")
    # by hand: every request's input goes up and its output comes back down the
    # (undirected) backhaul, whose capacity both directions share
    per_request = model["input_bytes"] + model["layers"][-1]["output_bytes"]
    load = sum(w["rate"] * per_request for w in data["workloads"])
    assert violation["value"] == pytest.approx(load, rel=1e-9)
    assert load > backhaul["bandwidth"]
    assert row.proven_optimal and row.bound is not None
    assert ref.objective < row.bound * (1 - 1e-9)


# --------------------------------------------------------------------------- #
# check on a tiny library
# --------------------------------------------------------------------------- #


def test_tiny_library_passes_and_objective_is_the_hand_value(tmp_path):
    root = make_library(tmp_path / "lib")
    [check] = check_library(root)
    assert check.ok, check.problems
    assert check.objective == pytest.approx(ON_A, rel=1e-12)
    make_library(tmp_path / "lib2", node="b", objective=ON_B)
    [check] = check_library(tmp_path / "lib2")
    assert check.ok and check.objective == pytest.approx(ON_B, rel=1e-12)


def test_traces_and_solutions_folders_are_not_instances(tmp_path):
    root = make_library(tmp_path / "lib")
    (root / "traces").mkdir()
    (root / "traces" / "x.json").write_text("{}")
    assert problems_of(root) == {"tiny-s-1": ()}


def test_changed_objective_fails_naming_the_instance(tmp_path):
    root = make_library(tmp_path / "lib")
    write_index(root / "index.csv", [IndexRow("tiny-s-1", "tiny", 3, 2, 1, 1, 1, ON_A * (1 + 1e-6), None,
                                              False, "hand", 0.0)])
    [problem] = problems_of(root)["tiny-s-1"]
    assert "best_objective" in problem and "evaluator gives 1.0" in problem
    result = run("bks", "--check", "--instances", root)
    assert result.exit_code == 1
    assert "tiny-s-1: best_objective" in result.output


def test_objective_within_tolerance_passes(tmp_path):
    root = make_library(tmp_path / "lib")
    write_index(root / "index.csv", [IndexRow("tiny-s-1", "tiny", 3, 2, 1, 1, 1, ON_A * (1 + 1e-12), None,
                                              False, "hand", 0.0)])
    assert problems_of(root) == {"tiny-s-1": ()}


def test_infeasible_solution_fails(tmp_path):
    # c holds 1 byte, the layer's weights are 1e6 bytes.  Objective on c, by hand:
    # a->c route a-b-c: 0.011 + 1e4/1e6 = 0.021; compute 1e-3; back 0.011 + 1e3/1e6 = 0.012.
    on_c = 0.021 + 0.001 + 0.012
    root = make_library(tmp_path / "lib", node="c", objective=on_c)
    [problem] = problems_of(root)["tiny-s-1"]
    assert "infeasible" in problem and "memory" in problem
    result = run("bks", "--check", "--instances", root)
    assert result.exit_code == 1 and "tiny-s-1: stored solution is infeasible" in result.output


def test_missing_solution_file_fails(tmp_path):
    root = make_library(tmp_path / "lib")
    (root / "solutions" / "tiny-s-1.json").unlink()
    assert problems_of(root)["tiny-s-1"] == ("solution file solutions/tiny-s-1.json is missing",)
    assert run("bks", "--check", "--instances", root).exit_code == 1


def test_instance_not_in_index_fails(tmp_path):
    root = make_library(tmp_path / "lib")
    shutil.copy(root / "tiny-s-1.json", root / "tiny-s-2.json")
    problems = problems_of(root)
    assert problems["tiny-s-1"] == ()
    assert problems["tiny-s-2"] == ("instance file tiny-s-2.json is not in index.csv",)
    result = run("bks", "--check", "--instances", root)
    assert result.exit_code == 1 and "tiny-s-2: instance file tiny-s-2.json is not in index.csv" in result.output


def test_wrong_size_column_and_bound_above_objective_fail(tmp_path):
    root = make_library(tmp_path / "lib")
    write_index(root / "index.csv", [IndexRow("tiny-s-1", "tiny", 4, 2, 1, 1, 1, ON_A, 1.5, True, "hand", 0.0)])
    problems = problems_of(root)["tiny-s-1"]
    assert "nodes: index says 4, instance has 3" in problems
    assert any("bound 1.5 exceeds best_objective 1.0" in p for p in problems)


def test_proven_optimal_needs_a_matching_bound(tmp_path):
    root = make_library(tmp_path / "lib")
    write_index(root / "index.csv", [IndexRow("tiny-s-1", "tiny", 3, 2, 1, 1, 1, ON_A, ON_B, True, "hand", 0.0)])
    assert any("proven_optimal" in p for p in problems_of(root)["tiny-s-1"])


def test_malformed_index_is_bad_input_exit_2(tmp_path):
    root = make_library(tmp_path / "lib")
    text = (root / "index.csv").read_text().replace(",3,2,1,1,1,", ",three,2,1,1,1,")
    (root / "index.csv").write_text(text)
    with pytest.raises(IndexError_, match=r"line 2: nodes: not a number: 'three'"):
        read_index(root / "index.csv")
    result = run("bks", "--check", "--instances", root)
    assert result.exit_code == 2
    assert "line 2: nodes" in result.output


@pytest.mark.parametrize("args", [["bks"], ["bks", "--check", "--update"], ["bks", "--check", "--instances", "nowhere"],
                                  ["bks", "--update", "--solvers", "milpp", "--instances", "."]])
def test_bad_command_lines_exit_2(args):
    assert run(*args).exit_code == 2


# --------------------------------------------------------------------------- #
# update
# --------------------------------------------------------------------------- #


def fixed_solver(node: str, objective: float, status=SolveStatus.FEASIBLE, bound=None):
    calls = []

    def solve_fn(problem, solver, **kwargs):
        calls.append((solver, kwargs))
        return Solution({"w": (node,)}, status, objective, bound, solver, 0.5, True)

    solve_fn.calls = calls
    return solve_fn


def test_update_keeps_the_better_solution(tmp_path):
    root = make_library(tmp_path / "lib")  # stored: on a, 1.0
    better = fixed_solver("b", ON_B, bound=0.12)
    [outcome] = update_library(root, solvers=["fake"], time_limit=1.0, solve_fn=better)
    assert outcome.improved and outcome.new_objective == pytest.approx(ON_B)
    # each solver run is warm-started with the stored solution
    assert better.calls[0][1]["warm_start"].assignment == {"w": ("a",)}
    [row] = read_index(root / "index.csv")
    assert row.best_objective == pytest.approx(ON_B, rel=1e-12) and row.solver == "fake"
    assert row.bound == 0.12
    assert check_library(root)[0].ok

    worse = fixed_solver("a", ON_A, bound=0.125)
    [outcome] = update_library(root, solvers=["fake2"], time_limit=1.0, solve_fn=worse)
    assert not outcome.improved
    [row] = read_index(root / "index.csv")
    assert row.best_objective == pytest.approx(ON_B, rel=1e-12) and row.solver == "fake"
    assert row.bound == 0.125  # the larger valid bound is kept
    saved = json.loads((root / "solutions" / "tiny-s-1.json").read_text())
    assert saved["assignment"] == {"w": ["b"]}
    assert check_library(root)[0].ok


def test_update_ignores_an_infeasible_candidate(tmp_path):
    root = make_library(tmp_path / "lib")

    def infeasible(problem, solver, **kwargs):
        return Solution({"w": ("c",)}, SolveStatus.FEASIBLE, 0.034, None, solver, 0.1, False)

    [outcome] = update_library(root, solvers=["fake"], time_limit=1.0, solve_fn=infeasible)
    assert not outcome.improved
    assert read_index(root / "index.csv")[0].best_objective == ON_A


def test_update_with_a_real_exact_solver_finds_the_hand_optimum(tmp_path):
    root = make_library(tmp_path / "lib")
    result = run("bks", "--update", "tiny-s-1", "--instances", root, "--solvers", "brute-force,milp",
                 "--time-limit", "20")
    assert result.exit_code == 0, result.output
    [row] = read_index(root / "index.csv")
    assert row.best_objective == pytest.approx(ON_B, rel=1e-12)
    assert row.proven_optimal and row.bound == pytest.approx(ON_B, rel=1e-9)
    assert run("bks", "--check", "--instances", root).exit_code == 0


def test_update_of_an_unknown_instance_is_bad_input(tmp_path):
    root = make_library(tmp_path / "lib")
    result = run("bks", "--update", "tiny-s-9", "--instances", root)
    assert result.exit_code == 2 and "tiny-s-9" in result.output


def test_index_round_trip_and_header(tmp_path):
    rows = [IndexRow("b", "f", 1, 2, 3, 4, 5, 0.1 + 0.2, None, False, "milp", 1.234),
            IndexRow("a", "f", 1, 2, 3, 4, 5, 1 / 3, 0.3, True, "cpsat", 2.0)]
    write_index(tmp_path / "index.csv", rows)
    with open(tmp_path / "index.csv", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == INDEX_COLUMNS
    back = read_index(tmp_path / "index.csv")
    assert [r.name for r in back] == ["a", "b"]
    assert back[1].best_objective == 0.1 + 0.2 and back[0].best_objective == 1 / 3  # exact round trip
    assert back[1].bound is None and back[0].proven_optimal
