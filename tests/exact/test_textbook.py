"""The textbook MILP (``milp-textbook``), built as matrices for highspy.

It is the yardstick of the exact solvers, so it is checked on its own: against
brute force on the tiny instances of tests/tiny.py (every feature, several
seeds), row by row against the evaluator (the column values of any assignment
satisfy the rows exactly when the evaluator finds it feasible, and the cost
vector gives the evaluator's objective), for honest statuses (infeasible,
time limits, a model too large to build) and for building no Pyomo model.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import placement_opt as po
from placement_opt.backend import SolveOptions
from placement_opt.evaluate import evaluate_array, placed_keys
from placement_opt.generators import generate
from placement_opt.milp import textbook
from placement_opt.solve import solve
from tests.paths import ROOT
from tests.tiny import FEATURES, tiny_instance

SEEDS = range(4)
RTOL = 1e-6


def agree(reference: po.Solution, sol: po.Solution) -> None:
    assert sol.status == reference.status, (sol.status, reference.status, dict(sol.info))
    if reference.objective is None:
        return
    assert sol.feasible
    assert sol.objective == pytest.approx(reference.objective, rel=RTOL, abs=1e-12)
    assert sol.bound is not None and sol.bound <= reference.objective * (1 + RTOL) + 1e-12
    assert sol.info["objective_mismatch"] <= RTOL
    assert sol.info["solver_objective"] == pytest.approx(sol.objective, rel=RTOL, abs=1e-9)


@pytest.mark.parametrize("feature", FEATURES)
def test_textbook_matches_brute_force(feature):
    """Same status and optimum as enumeration on every seed (infeasible
    instances too: tests/exact/test_exact.py also runs the textbook on
    instances whose SLOs cannot be met)."""
    proven = []
    for seed in SEEDS:
        data, previous = tiny_instance(seed, feature)
        p = po.Problem.from_dict(data)
        reference = solve(p, "brute-force", previous=previous)
        sol = solve(p, "milp-textbook", previous=previous, time_limit=60)
        agree(reference, sol)
        if sol.status is po.SolveStatus.OPTIMAL:
            proven.append(sol.objective)
            # its assignment scores, by the evaluator, exactly the optimum it reports
            assert po.evaluate(p, sol.assignment, previous=previous).objective == \
                pytest.approx(reference.objective, rel=RTOL, abs=1e-12)
    assert proven, f"no seed of {feature} had an optimum to compare"


def test_a_model_that_fits_nowhere_is_infeasible():
    data, _ = tiny_instance(0, "memory")
    for node in data["nodes"]:
        node["memory"] = min(node["memory"], 1e5)
    sol = solve(po.Problem.from_dict(data), "milp-textbook", time_limit=60)
    assert sol.status is po.SolveStatus.INFEASIBLE and sol.objective is None


def _row_feasible(model: textbook.TextbookModel, v: np.ndarray) -> bool:
    tol = 1e-9
    Av = model.A @ v
    rows = np.all(Av <= model.row_upper + tol * np.maximum(1.0, np.abs(model.row_upper))) and np.all(
        Av >= model.row_lower - tol * np.maximum(1.0, np.abs(model.row_lower)))
    cols = np.all(v >= model.lower) and np.all(v <= model.upper + tol * np.maximum(1.0, np.abs(model.upper)))
    return bool(rows and cols)


@pytest.mark.parametrize("feature", FEATURES)
def test_rows_and_costs_agree_with_the_evaluator(feature):
    """Any assignment: its columns satisfy every row and bound exactly when the
    evaluator finds it feasible, and ``c @ v`` is the evaluator's objective."""
    rng = np.random.default_rng(FEATURES.index(feature))
    feasible = infeasible = 0
    for seed in range(3):
        data, previous = tiny_instance(seed, feature)
        p = po.Problem.from_dict(data)
        prev = None if previous is None else placed_keys(p, previous)
        model = textbook.build_textbook(p, prev)
        hosts = np.flatnonzero(p.node_flops > 0)
        for _ in range(40):
            x = rng.choice(hosts, size=p.flat.size)
            ev = evaluate_array(p, x, prev)
            v = textbook.column_values(model, x, prev)
            assert _row_feasible(model, v) == ev.feasible, (seed, x, ev.violations)
            if ev.feasible:
                assert model.c @ v == pytest.approx(ev.objective, rel=1e-9, abs=1e-12)
                feasible += 1
            else:
                infeasible += 1
    assert feasible and infeasible


def test_warm_start_is_handed_to_highs():
    data, _ = tiny_instance(1, "link")
    p = po.Problem.from_dict(data)
    reference = solve(p, "brute-force")
    sol = solve(p, "milp-textbook", warm_start=reference, time_limit=60)
    assert sol.info["warm_start"] == "given to HiGHS"
    agree(reference, sol)


def test_the_time_limit_covers_building():
    p = generate("smart-city", seed=0, size="m", nodes=24, workloads=12, model="llama-2-13b")
    t0 = time.perf_counter()
    sol = solve(p, "milp-textbook", time_limit=1e-4)
    assert time.perf_counter() - t0 < 30
    assert sol.status is po.SolveStatus.NO_SOLUTION
    assert "time limit" in sol.info["reason"]


def test_a_short_time_limit_gives_an_honest_status():
    p = generate("smart-city", seed=0, size="m", nodes=24, workloads=12, model="llama-2-13b")
    t0 = time.perf_counter()
    sol = solve(p, "milp-textbook", time_limit=2.0)
    assert time.perf_counter() - t0 < 30
    assert sol.status in (po.SolveStatus.FEASIBLE, po.SolveStatus.NO_SOLUTION, po.SolveStatus.OPTIMAL)
    if sol.status is po.SolveStatus.FEASIBLE:
        assert sol.feasible and sol.bound is not None and sol.bound <= sol.objective
    if sol.status is po.SolveStatus.NO_SOLUTION:
        assert sol.objective is None and "reason" in sol.info


def test_a_model_too_large_is_not_built(monkeypatch):
    monkeypatch.setattr(textbook, "MAX_NONZEROS", 10)
    data, _ = tiny_instance(0, "memory")
    sol = solve(po.Problem.from_dict(data), "milp-textbook")
    assert sol.status is po.SolveStatus.NO_SOLUTION and "too large" in sol.info["reason"]


def test_nonzero_estimate_is_an_upper_bound():
    for family in ("smart-city", "v2x"):
        p = generate(family, seed=1, size="s")
        assert textbook.estimated_nonzeros(p) >= textbook.build_textbook(p).A.nnz


def test_shape_is_the_textbook_one():
    """x for every (workload, layer, node), y for every node pair (i == j too)."""
    data, _ = tiny_instance(0, "cost")
    p = po.Problem.from_dict(data)
    model = textbook.build_textbook(p)
    lay = model.layout
    n, K = p.num_nodes, p.flat.size
    boundaries = K - p.num_workloads
    assert lay.y0 == K * n and lay.num_y == boundaries * n * n
    assert model.rows["flow_out"] == model.rows["flow_in"] == boundaries * n
    assert model.rows["place"] == model.rows["activation"] == K * n
    assert model.integer[:lay.y0].all() and not model.integer[lay.y0:lay.z0].any()
    # the switch never hosts: its x are fixed to 0
    sw = p.node_index["sw"]
    assert (model.upper[lay.x(np.arange(K), sw)] == 0).all()


def test_highs_gets_the_milp_tolerances(hand):
    """The textbook's HiGHS runs with the gap and tolerances ``milp`` uses."""
    from placement_opt import highs as solver

    h = textbook._highs(textbook.build_textbook(hand), SolveOptions())

    def option(name: str) -> float:
        return h.getOptionValue(name)[1]

    assert option("mip_rel_gap") == solver.PROOF_GAP
    assert option("mip_abs_gap") == 0.0
    assert option("mip_feasibility_tolerance") == solver.FEASIBILITY_TOL
    assert option("primal_feasibility_tolerance") == solver.FEASIBILITY_TOL


def test_no_pyomo_model_is_built(monkeypatch):
    """The module imports no Pyomo, and a solve constructs no Pyomo model."""
    tree = ast.parse(inspect.getsource(textbook))
    imported = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not any("pyomo" in name for name in imported)
    from pyomo.core.base.PyomoModel import ConcreteModel

    def refuse(*args, **kwargs):
        raise AssertionError("a Pyomo model was built")

    monkeypatch.setattr(ConcreteModel, "__init__", refuse)
    data, _ = tiny_instance(2, "energy")
    sol = solve(po.Problem.from_dict(data), "milp-textbook", time_limit=60)
    assert sol.status is po.SolveStatus.OPTIMAL


def test_pyomo_is_not_even_imported():
    """Only meaningful while importing ``placement_opt.milp`` does not load Pyomo
    (today its ``__init__`` imports the Pyomo-based ``milp`` solver): skipped
    otherwise."""
    script = textwrap.dedent("""
        import sys
        import placement_opt.milp.textbook
        if "pyomo" in sys.modules:
            print("SKIP")
            raise SystemExit
        import placement_opt as po
        from tests.tiny import tiny_instance
        sol = po.solve(po.Problem.from_dict(tiny_instance(0, "link")[0]), "milp-textbook")
        print(sol.status.value, "pyomo" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    if out.stdout.strip() == "SKIP":
        pytest.skip("importing placement_opt.milp loads Pyomo (the milp solver), so the check cannot hold")
    assert out.stdout.split()[-1] == "False"
