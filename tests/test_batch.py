"""The batch engine and ``placement-opt batch``: rows, formats, resume, Ctrl-C, Ray.

Test solvers are defined below and registered during each test only; worker
processes import this module as a plugin (``plugins=("tests.test_batch",)`` /
``--plugin tests.test_batch``) and register them at import. Each call appends a line to the file named
by ``$PLACEMENT_OPT_BATCH_TEST_CALLS`` so tests can count solver calls across
processes.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import placement_opt as po
from placement_opt import batch as batch_mod
from placement_opt.backend import NoParams, RawResult, register_solver
from placement_opt.batch import (
    COLUMNS,
    RESULT_COLUMNS,
    expand_inputs,
    read_results,
    run_batch,
    summarize,
)
from placement_opt.cli import app
from placement_opt.evaluate import as_array
from tests.paths import FIXTURES, ROOT

backend = importlib.import_module("placement_opt.backend")
PLUGIN = "tests.test_batch"
CALLS_ENV = "PLACEMENT_OPT_BATCH_TEST_CALLS"
SLEEP_ENV = "PLACEMENT_OPT_BATCH_TEST_SLEEP"
PLUGIN_ENV = "PLACEMENT_OPT_BATCH_TEST_PLUGIN"

# The plan of tests/test_evaluate.py on hand.json, worked out there by hand:
# latency (1*0.248 + 3*0.213)/4 = 0.22175, max_latency 0.248, bottleneck 0.22,
# cost 7, energy 0.460148, migration 0 (no previous solution). Weights from the file.
HAND_PLAN = {"A": ["phone", "edge", "edge"], "B": ["edge", "cloud", "cloud"]}
HAND_PLAN_OBJECTIVE = 0.22175 + 0.5 * 0.248 + 2 * 0.22 + 0.01 * 7 + 0.1 * 0.460148
FIXED_BOUND = 0.5
NO_SOLUTION_BOUND = 1.5


def _record(problem: po.Problem, solver: str, opts) -> None:
    path = os.environ.get(CALLS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"instance": problem.name, "solver": solver, "seed": opts.seed,
                                 "threads": opts.threads, "extra": dataclasses.asdict(opts.params)}) + "\n")


def _fixed_solver(problem, opts):
    _record(problem, "batch-fixed", opts)
    if set(problem.workload_ids) == set(HAND_PLAN):
        return RawResult(po.SolveStatus.FEASIBLE, as_array(problem, HAND_PLAN), bound=FIXED_BOUND)
    return RawResult(po.SolveStatus.NO_SOLUTION, bound=NO_SOLUTION_BOUND)


def _failing_solver(problem, opts):
    _record(problem, "batch-fail", opts)
    raise RuntimeError("boom")


def _slow_solver(problem, opts):
    _record(problem, "batch-slow", opts)
    time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
    return RawResult(po.SolveStatus.NO_SOLUTION, bound=NO_SOLUTION_BOUND)


@dataclasses.dataclass(frozen=True)
class FlagParams:
    """The one option of the test solver ``batch-fixed``."""

    flag: int = 0


TEST_SOLVERS = {
    "batch-fixed": (_fixed_solver, "test: the hand plan on hand.json copies, none elsewhere", FlagParams),
    "batch-fail": (_failing_solver, "test: always raises", NoParams),
    "batch-slow": (_slow_solver, "test: sleeps $PLACEMENT_OPT_BATCH_TEST_SLEEP seconds", NoParams),
}

# Worker processes import this module as a plugin with $PLUGIN_ENV set (inherited
# from the test); the pytest process itself registers the test solvers only for
# the duration of each test (fixture below), so other test files never see them.
if os.environ.get(PLUGIN_ENV):
    for _name, (_func, _description, _params) in TEST_SOLVERS.items():
        register_solver(_name, exact=False, description=_description, params=_params)(_func)


@pytest.fixture(autouse=True)
def _register_test_solvers(monkeypatch):
    monkeypatch.setenv(PLUGIN_ENV, "1")
    for name, (func, description, params) in TEST_SOLVERS.items():
        monkeypatch.setitem(backend._REGISTRY, name, backend.SolverInfo(name, func, "heuristic", description, params))


# --------------------------------------------------------------------------- helpers
def hand_copies(folder: Path, count: int) -> list[Path]:
    """Copies of hand.json named hand-0 .. hand-{count-1}."""
    data = json.loads((FIXTURES / "hand.json").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = folder / f"hand-{k}.json"
        path.write_text(json.dumps({**data, "name": f"hand-{k}"}))
        paths.append(path)
    return paths


@pytest.fixture
def calls(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv(CALLS_ENV, str(path))
    return path


def read_calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def data_rows(path: Path) -> int:
    return len(read_results(path))


runner = CliRunner()


def cli(*args):
    return runner.invoke(app, ["batch", *[str(a) for a in args]])


# --------------------------------------------------------------------------- rows
def test_rows_carry_the_hand_computed_values(tmp_path, calls):
    files = [FIXTURES / "hand.json", FIXTURES / "tiny.json"]
    table = run_batch(files, "batch-fixed,batch-fail", time_limit=5, seed=7, threads=2, backend="inline",
                      solver_options={"batch-fixed": {"flag": 3}})
    assert list(table.columns) == list(COLUMNS)
    assert list(zip(table["instance"], table["solver"])) == [
        ("hand", "batch-fixed"), ("hand", "batch-fail"), ("tiny", "batch-fixed"), ("tiny", "batch-fail")]
    hand = table.iloc[0]
    assert hand["status"] == "feasible" and bool(hand["feasible"])
    assert hand["objective"] == pytest.approx(HAND_PLAN_OBJECTIVE, rel=1e-12)
    assert hand["bound"] == FIXED_BOUND
    assert hand["gap"] == pytest.approx((HAND_PLAN_OBJECTIVE - FIXED_BOUND) / HAND_PLAN_OBJECTIVE, rel=1e-12)
    tiny = table.iloc[2]
    assert tiny["status"] == "no_solution" and pd.isna(tiny["objective"]) and pd.isna(tiny["feasible"])
    assert tiny["bound"] == NO_SOLUTION_BOUND
    failed = table[table["solver"] == "batch-fail"]
    assert (failed["status"] == "error").all()
    assert all(e == "RuntimeError: boom" for e in failed["error"])
    assert (table["seed"] == 7).all() and (table["threads"] == 2).all() and (table["time_limit"] == 5).all()
    assert list(table["file"]) == [str(f) for f in files for _ in range(2)]
    assert (table["placement_opt_version"] == po.__version__).all()
    assert json.loads(table["versions"][0])["placement_opt"] == po.__version__
    # the solver got seed, threads and its own options (and only its own)
    got = read_calls(calls)
    assert len(got) == 4 and all(c["seed"] == 7 and c["threads"] == 2 for c in got)
    assert [c["extra"] for c in got if c["solver"] == "batch-fixed"] == [{"flag": 3}, {"flag": 3}]
    assert [c["extra"] for c in got if c["solver"] == "batch-fail"] == [{}, {}]


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet"])
def test_every_format_round_trips(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"results{suffix}"
    table = run_batch([FIXTURES / "hand.json", FIXTURES / "tiny.json"], ["batch-fixed", "batch-fail"],
                      time_limit=5, output=out, backend="inline")
    pd.testing.assert_frame_equal(read_results(out), table, check_like=False)
    if suffix == ".csv":
        assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    elif suffix == ".json":
        records = json.loads(out.read_text())
        assert [r["solver"] for r in records] == ["batch-fixed", "batch-fail"] * 2
        assert records[0]["objective"] == pytest.approx(HAND_PLAN_OBJECTIVE, rel=1e-15)
    else:
        assert list(pd.read_parquet(out).columns) == list(COLUMNS)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_resume_skips_done_rows(tmp_path, calls, suffix):
    files = hand_copies(tmp_path / "inst", 2)
    out = tmp_path / f"out{suffix}"
    first = run_batch(files, "batch-fixed,batch-slow", time_limit=5, output=out, backend="inline")
    assert len(read_calls(calls)) == 4 and first.attrs["skipped"] == 0
    again = run_batch(files, "batch-fixed,batch-slow", time_limit=5, output=out, backend="inline")
    assert len(read_calls(calls)) == 4, "nothing may be solved again"
    assert again.attrs["skipped"] == 4
    pd.testing.assert_frame_equal(again, first)
    # a new solver runs only its own tasks; a new time limit re-runs everything
    run_batch(files, "batch-fixed,batch-slow,batch-fail", time_limit=5, output=out, backend="inline")
    assert len(read_calls(calls)) == 6
    run_batch(files, "batch-fixed", time_limit=9, output=out, backend="inline")
    assert len(read_calls(calls)) == 8
    assert data_rows(out) == 8


def test_resume_ignores_a_half_written_last_csv_line(tmp_path, calls):
    files = hand_copies(tmp_path / "inst", 2)
    out = tmp_path / "out.csv"
    run_batch(files[:1], "batch-fixed", time_limit=5, output=out, backend="inline")
    with open(out, "a") as fh:
        fh.write("hand-1,batch-fixed,feas")  # a hard kill in the middle of a row
    assert data_rows(out) == 1
    table = run_batch(files, "batch-fixed", time_limit=5, output=out, backend="inline")
    assert len(read_calls(calls)) == 2 and table.attrs["skipped"] == 1
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(line.count(",") >= len(COLUMNS) - 1 for line in lines)
    assert list(read_results(out)["instance"]) == ["hand-0", "hand-1"]


def test_a_failing_worker_stops_the_batch_but_keeps_finished_rows(tmp_path, monkeypatch):
    files = hand_copies(tmp_path / "inst", 3)
    out = tmp_path / "out.json"
    real = batch_mod.run_task

    def dies_on_the_second_instance(task):
        if task.problem.name == "hand-1":
            raise OSError("worker lost")  # what a dead worker or cluster looks like to the loop
        return real(task)

    monkeypatch.setattr(batch_mod, "run_task", dies_on_the_second_instance)
    with pytest.raises(batch_mod.BatchAborted, match="OSError: worker lost; 1 of 3 tasks done"):
        run_batch(files, "batch-fixed", time_limit=5, output=out, backend="inline")
    assert list(read_results(out)["instance"]) == ["hand-0"]
    monkeypatch.setattr(batch_mod, "run_task", real)
    assert run_batch(files, "batch-fixed", time_limit=5, output=out, backend="inline").attrs["skipped"] == 1


# --------------------------------------------------------------------------- summary
def test_summary_by_hand():
    table = pd.DataFrame.from_records([
        # instance a: best feasible 10 (s1); s3's 5 is infeasible and does not count
        {"instance": "a", "solver": "s1", "status": "feasible", "objective": 10.0, "feasible": True, "solve_time": 1.0},
        {"instance": "a", "solver": "s2", "status": "feasible", "objective": 12.0, "feasible": True, "solve_time": 2.0},
        {"instance": "a", "solver": "s3", "status": "error", "objective": 5.0, "feasible": False, "solve_time": 3.0},
        # instance b: s1 and s2 tie at 4 (within the 1e-9 relative tolerance)
        {"instance": "b", "solver": "s1", "status": "optimal", "objective": 4.0, "feasible": True, "solve_time": 3.0},
        {"instance": "b", "solver": "s2", "status": "feasible", "objective": 4.0 * (1 + 1e-12), "feasible": True,
         "solve_time": 4.0},
        {"instance": "b", "solver": "s3", "status": "error", "solve_time": 5.0},
    ]).assign(seed=0)
    summary = summarize(table)
    assert list(summary.index) == ["s1", "s2", "s3"]
    assert summary["tasks"].tolist() == [2, 2, 2]
    assert summary["feasible"].tolist() == [2, 2, 0]
    assert summary["wins"].tolist() == [2, 1, 0]
    assert summary.loc["s1", "mean_gap"] == 0
    assert summary.loc["s2", "mean_gap"] == pytest.approx((0.2 + 0.0) / 2)
    assert math.isnan(summary.loc["s3", "mean_gap"])
    assert summary["mean_time"].tolist() == [2.0, 3.0, 4.0]
    assert summary["total_time"].tolist() == [4.0, 6.0, 8.0]


# --------------------------------------------------------------------------- inputs
def test_directories_and_globs_expand_to_instance_files(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "traces").mkdir()
    (tmp_path / "sub").mkdir()
    for name in ("a.json", "b.yaml", "sub/c.yml", "solutions/s.json", "traces/t.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    found = expand_inputs([tmp_path, str(tmp_path / "*.json"), tmp_path / "b.yaml"])
    assert found == [tmp_path / "a.json", tmp_path / "b.yaml", tmp_path / "sub" / "c.yml"]


def _bad_instance(tmp_path: Path) -> Path:
    data = json.loads((FIXTURES / "hand.json").read_text())
    data["workloads"][1]["source"] = "phon"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


BAD_INPUTS = {
    "unknown solver": (["--solvers", "greedy,gredy"], "--solvers: unknown solver 'gredy' (did you mean 'greedy'?)"),
    "time limit": (["--time-limit", "0"], "--time-limit: must be a positive number of seconds"),
    "jobs": (["--jobs", "0"], "--jobs: must be an integer >= 1"),
    "threads": (["--threads", "0"], "--threads: must be an integer >= 1"),
    "extension": (["--output", "{tmp}/out.xlsx"], "unsupported extension '.xlsx' (use .csv, .parquet or .json)"),
    "backend": (["--backend", "spark"], "--backend: unknown backend 'spark'"),
    "missing file": (["{tmp}/nope.json"], "nope.json: no such file, directory or matching instance file"),
    "bad instance": (["{bad}"], "workloads[1].source: unknown node 'phon' (did you mean 'phone'?)"),
    "same name": (["{fixtures}/hand.json"], "instance name 'hand' is also the name in"),
    "plugin": (["--plugin", "no_such_module_xyz"], "--plugin: cannot import 'no_such_module_xyz'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_and_writes_nothing(tmp_path, calls, case):
    extra, expected = BAD_INPUTS[case]
    bad = _bad_instance(tmp_path)
    hand_copy = tmp_path / "copy" / "hand.json"
    hand_copy.parent.mkdir()
    hand_copy.write_text((FIXTURES / "hand.json").read_text())
    out = tmp_path / "out.csv"
    args = {"--solvers": "batch-fixed", "--output": str(out), "--time-limit": "5", "--backend": "inline"}
    files = [str(hand_copy)]
    it = iter(extra)
    for item in it:
        item = item.format(tmp=tmp_path, bad=bad, fixtures=FIXTURES)
        if item.startswith("--"):
            args[item] = next(it).format(tmp=tmp_path)
        else:
            files.append(item)
    result = cli(*files, "--plugin", PLUGIN, *[x for kv in args.items() for x in kv])
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("out.*")) and not calls.exists()


def test_an_existing_file_that_is_not_a_results_table_is_left_alone(tmp_path, calls):
    out = tmp_path / "out.csv"
    out.write_text("a,b\n1,2\n")
    result = cli(FIXTURES / "hand.json", "--solvers", "batch-fixed", "--output", out, "--backend", "inline",
                 "--plugin", PLUGIN)
    assert result.exit_code == 2 and "not a batch results table (missing columns instance" in result.output
    assert out.read_text() == "a,b\n1,2\n" and not calls.exists()


def test_missing_optional_packages_are_clear_errors(tmp_path, monkeypatch):
    real = batch_mod.importlib.util.find_spec
    monkeypatch.setattr(batch_mod.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("ray", "pyarrow") else real(name, *a))
    result = cli(FIXTURES / "hand.json", "--solvers", "greedy", "--output", tmp_path / "o.parquet",
                 "--backend", "ray")
    assert result.exit_code == 2
    assert "Ray is not installed (pip install 'placement_opt[ray]')" in result.output
    assert "writing Parquet needs pyarrow (pip install 'placement_opt[parquet]'" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_cli_prints_the_summary(tmp_path):
    files = hand_copies(tmp_path / "inst", 2)
    out = tmp_path / "out.json"
    result = cli(tmp_path / "inst", "--solvers", "batch-fixed,batch-fail", "--output", out, "--backend", "inline",
                 "--plugin", PLUGIN, "--no-progress")
    assert result.exit_code == 0, result.output
    assert f"4 rows for this batch in {out} (4 solved now, 0 already there)" in result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.startswith("│")}
    # tasks, feasible, wins, mean gap
    assert rows["batch-fixed"][:4] == ["2", "2", "2", "0.000 %"]
    assert rows["batch-fail"][:4] == ["2", "0", "0", "-"]
    assert "error: hand-0 / batch-fail: RuntimeError: boom" in result.output
    assert len(files) == data_rows(out) // 2


# --------------------------------------------------------------------------- backends
@pytest.mark.slow
def test_process_pool_gives_the_same_rows_as_one_process(tmp_path, calls):
    files = [FIXTURES / "hand.json", FIXTURES / "tiny.json"]
    solvers = ["greedy", "batch-fixed", "batch-fail"]
    inline = run_batch(files, solvers, time_limit=20, backend="inline")
    pooled = run_batch(files, solvers, time_limit=20, jobs=2, output=tmp_path / "out.csv", plugins=[PLUGIN])
    pd.testing.assert_frame_equal(pooled[list(RESULT_COLUMNS)], inline[list(RESULT_COLUMNS)])
    assert (pooled["backend"] == "local").all()
    assert len(read_calls(calls)) == 8  # 4 inline + 4 from the worker processes
    assert (pooled["status"] != "error").sum() == 4  # greedy and batch-fixed ran, not just failed


@pytest.mark.slow
def test_ray_backend_gives_the_same_rows(tmp_path):
    pytest.importorskip("ray")
    files = [FIXTURES / "hand.json", FIXTURES / "tiny.json"]
    solvers = ["greedy", "random"]
    order = {"hand": 0, "tiny": 1, "greedy": 0, "random": 1}
    inline = run_batch(files, solvers, time_limit=20, backend="inline")
    out = tmp_path / "out.csv"
    on_ray = run_batch(files, solvers, time_limit=20, jobs=2, backend="ray", output=out)
    pd.testing.assert_frame_equal(on_ray[list(RESULT_COLUMNS)], inline[list(RESULT_COLUMNS)])
    assert (on_ray["backend"] == "ray").all()
    on_disk = read_results(out).sort_values(["instance", "solver"], key=lambda c: c.map(order.get))
    pd.testing.assert_frame_equal(on_disk.reset_index(drop=True), on_ray)  # the file is in finishing order


# --------------------------------------------------------------------------- Ctrl-C
def _wait_for_rows(path: Path, proc: subprocess.Popen, timeout: float) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            if path.exists() and data_rows(path) >= 1:
                return data_rows(path)
        except batch_mod.BatchInputError:
            pass  # should not happen: the file is always complete
        time.sleep(0.1)
    raise AssertionError(f"no row on disk after {timeout} s (exit {proc.poll()})")


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_the_next_run_resumes(tmp_path):
    # CSV only: the JSON/Parquet path (atomic rewrite, final flush) is the same code
    # as a normal end of batch, covered by the resume and format tests.
    hand_copies(tmp_path / "inst", 4)
    out = tmp_path / "out.csv"
    command = [sys.executable, "-m", "placement_opt", "batch", str(tmp_path / "inst"), "--solvers",
               "batch-fixed,batch-slow", "--output", str(out), "--jobs", "1", "--time-limit", "100",
               "--plugin", PLUGIN, "--no-progress"]
    # batch-fixed is instant, batch-slow sleeps: the first row (hand-0, batch-fixed) comes
    # quickly, then a worker sleeps in hand-0/batch-slow when Ctrl-C arrives.
    env = {**os.environ, SLEEP_ENV: "60", CALLS_ENV: str(tmp_path / "calls.jsonl")}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_rows(out, proc, timeout=60)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)  # far less than the 60 s sleep: workers were stopped
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted: 1 of 8 tasks done" in stderr and "Traceback" not in stderr
    first = read_results(out)
    assert list(zip(first["instance"], first["solver"])) == [("hand-0", "batch-fixed")]
    assert first["objective"][0] == pytest.approx(HAND_PLAN_OBJECTIVE, rel=1e-12)

    env[SLEEP_ENV] = "0"
    command[command.index("--jobs") + 1] = "2"
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "8 rows for this batch" in done.stdout and "(7 solved now, 1 already there)" in done.stdout
    final = read_results(out)
    assert len(final) == 8 and not final.duplicated(["instance", "solver"]).any()
    assert final["solve_time"][0] == first["solve_time"][0]  # the finished row was not redone
