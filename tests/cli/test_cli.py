"""The command line: clear errors with exit status 2 for bad input, and results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import placement_opt as po
from placement_opt.cli import app
from placement_opt.instance import instance_json_schema

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def hand_file(tmp_path, hand_data):
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(hand_data))
    return path


MALFORMED = {
    "syntax.json": '{"nodes": [',
    "empty.json": "",
    "list.json": "[1, 2, 3]",
    "unknown_field.json": None,  # filled from the fixture below
    "wrong_type.json": None,
    "bad_ref.json": None,
    "bad.yaml": "nodes: [\n  - id: a\n   flops: 1\n",
}


def malformed(name, hand_data):
    data = json.loads(json.dumps(hand_data))
    if name == "unknown_field.json":
        data["workloads"][0]["colour"] = "red"
        return json.dumps(data), "workloads[0].colour: unknown field 'colour'"
    if name == "wrong_type.json":
        data["links"][2]["bandwidth"] = "fast"
        return json.dumps(data), "links[2].bandwidth: must be a number"
    if name == "bad_ref.json":
        data["workloads"][1]["source"] = "phon"
        return json.dumps(data), "workloads[1].source: unknown node 'phon' (did you mean 'phone'?)"
    return MALFORMED[name], {"syntax.json": "not valid JSON", "empty.json": "not valid JSON",
                             "list.json": "must be an object", "bad.yaml": "not valid YAML"}[name]


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["solve", "validate", "info"])
def test_malformed_instances_exit_2_with_a_clear_message(tmp_path, hand_data, name, command):
    text, expected = malformed(name, hand_data)
    path = tmp_path / name
    path.write_text(text)
    out_file = tmp_path / "sol.json"
    args = [command, path] + (["--output", out_file] if command == "solve" else [])
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and expected in result.output
    assert "Traceback" not in result.output
    assert not out_file.exists()  # nothing written half-way


def test_missing_file_exit_2(tmp_path):
    result = run("solve", tmp_path / "nope.json")
    assert result.exit_code == 2 and "file not found" in result.output


def test_a_real_process_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"nodes": 5}')
    proc = subprocess.run([sys.executable, "-m", "placement_opt", "solve", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nodes: must be a list" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_and_info(hand_file):
    assert run("validate", hand_file).exit_code == 0
    result = run("info", hand_file, "--json")
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["nodes"] == 5 and stats["workloads"] == 2
    # weights of the one model once (750) plus each workload's state (15 each)
    assert stats["memory_demand_bytes"] == pytest.approx(750 + 2 * 15)


def test_solve_writes_a_solution_the_evaluator_agrees_with(tmp_path, hand_file):
    out_file = tmp_path / "sol.json"
    result = run("solve", hand_file, "--solver", "brute-force", "--output", out_file, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    sol = po.load_solution(out_file)
    assert printed["status"] == sol.status.value == "optimal"
    ev = po.evaluate(po.load_instance(hand_file), sol)
    assert ev.feasible and ev.objective == pytest.approx(sol.objective, rel=1e-12)
    result = run("evaluate", hand_file, out_file, "--json")
    assert json.loads(result.output)["objective"] == pytest.approx(sol.objective, rel=1e-12)


def test_solve_prints_a_summary(hand_file):
    result = run("solve", hand_file, "--solver", "milp", "--time-limit", "30")
    assert result.exit_code == 0, result.output
    for word in ("status", "objective", "bound", "gap", "time", "segments"):
        assert word in result.output


def test_unknown_solver_exit_2(hand_file):
    result = run("solve", hand_file, "--solver", "milpp")
    assert result.exit_code == 2 and "unknown solver 'milpp' (did you mean 'milp'?)" in result.output


def test_evaluate_bad_solution_exit_2(tmp_path, hand_file):
    sol = tmp_path / "sol.json"
    sol.write_text(json.dumps({"assignment": {"A": ["phone", "edge", "edgy"], "B": ["edge"] * 3}}))
    result = run("evaluate", hand_file, sol)
    assert result.exit_code == 2
    assert "assignment.A[2]: unknown node 'edgy' (did you mean 'edge'?)" in result.output


def test_generate_and_bad_parameters(tmp_path):
    path = tmp_path / "gen.json"
    result = run("generate", "industrial", "--seed", 4, "--out", path)
    assert result.exit_code == 0, result.output
    p = po.load_instance(path)
    assert any(w.min_trust > 0 for w in p.workloads)
    result = run("generate", "smart-citty", "--out", path)
    assert result.exit_code == 2 and "smart-city" in result.output
    result = run("generate", "v2x", "--set", "nodez=3", "--out", tmp_path / "x.json")
    assert result.exit_code == 2 and "did you mean 'nodes'?" in result.output
    assert not (tmp_path / "x.json").exists()


def test_schema_command_prints_the_schema():
    result = run("schema")
    assert json.loads(result.output) == instance_json_schema()


def _demo_rows(output):
    """The comparison table of ``demo``: {solver: cells}, in printed order."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 9 and cells[0] in po.list_solvers():
            rows[cells[0]] = dict(zip(("kind", "status", "objective", "bound", "gap", "feasible", "time", "vs"),
                                      cells[1:]))
    return rows


def test_demo_prints_the_smallest_objective_first_and_its_segments(hand_file):
    result = run("demo", hand_file, "--time-limit", 5)
    assert result.exit_code == 0, result.output
    rows = _demo_rows(result.output)
    assert "brute-force" not in rows and len(rows) == len(po.list_solvers()) - 1
    objectives = [float(r["objective"]) for r in rows.values() if r["feasible"] == "True"]
    assert objectives == sorted(objectives) and len(set(objectives)) > 1
    first, cells = next(iter(rows.items()))
    assert cells["vs"] == "+0.000 %" and float(cells["objective"]) == min(objectives)
    assert f"best plan: {first}, " in result.output
    # the segments printed are those of that solver's own solution
    expected = po.solve(po.load_instance(hand_file), first, time_limit=5)
    assert expected.objective == pytest.approx(min(objectives), rel=1e-6)
    for wid in expected.assignment:
        segs = ", ".join(f"{s.node}[{s.first + 1}-{s.last + 1}]" for s in expected.segments(wid))
        assert f"│ {wid} " in result.output and segs in result.output
    assert "cut: 2 of 2 workloads split" in result.output
    assert "best plan without cuts (edge-only)" in result.output


def test_demo_ranks_ties_by_solver_table_order():
    from placement_opt.cli.demo import Run, rank

    def run_(name, order, obj, feasible=True):
        sol = po.Solution({"w": ("n",)} if obj is not None else {}, "feasible" if obj is not None else "no_solution",
                          obj, None, name, 0.0, feasible if obj is not None else None)
        return Run(name, order, "heuristic", sol)

    runs = [run_("a", 0, 2.0), run_("b", 1, 1.0 + 1e-12), run_("c", 2, None), run_("d", 3, 1.0),
            run_("e", 4, 0.5, feasible=False), Run("f", 5, "baseline", None, "boom"), run_("g", 6, 1.5)]
    assert [r.name for r in rank(runs)] == ["b", "d", "g", "a", "e", "c", "f"]
    assert [r.name for r in rank(runs[::-1])] == ["b", "d", "g", "a", "e", "c", "f"]


def test_demo_default_instance_is_bundled_and_proven(monkeypatch, tmp_path):
    import csv

    import placement_opt.cli.demo as demo_module
    from tests.paths import INSTANCES

    path = demo_module.bundled_instance(demo_module.DEFAULT_INSTANCE)
    assert path == INSTANCES / f"{demo_module.DEFAULT_INSTANCE}.json" and path.is_file()
    with (INSTANCES / "index.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["name"] == demo_module.DEFAULT_INSTANCE)
    assert row["proven_optimal"] == "true"
    # without the library (an installed package) and no INSTANCE: a clear message and status 2
    monkeypatch.setattr(demo_module, "LIBRARY", tmp_path / "no-library")
    result = run("demo")
    assert result.exit_code == 2
    assert str(tmp_path / "no-library") in result.output and "placement-opt demo INSTANCE" in result.output
    assert "Traceback" not in result.output
    result = run("demo", tmp_path / "nope.json")
    assert result.exit_code == 2 and "file not found" in result.output
    assert run("demo", path, "--time-limit", 0).exit_code == 2
