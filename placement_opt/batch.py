"""Batch runs: solve many instances with several solvers, one result row per pair.

:func:`run_batch` validates everything first (instance files, solver names,
limits, output format), then solves every (instance, solver) task in worker
processes -- a local process pool by default, or a Ray cluster -- and writes one
row per finished task to the output file as soon as it finishes:

* CSV: the row is appended, flushed and fsync'ed (the header is written once);
* Parquet and JSON: the whole table is rewritten atomically (temp file +
  ``os.replace``), at most once per :data:`REWRITE_INTERVAL` seconds and always
  at the end or on Ctrl-C.

Rows already in the output (same :data:`KEY_COLUMNS`) are skipped, so running
the same command again resumes an interrupted batch. See ``docs/batch.md``.
"""

from __future__ import annotations

import csv
import glob
import importlib
import importlib.util
import io
import json
import math
import os
import platform
import signal
import socket
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError, Issue, PlacementOptError, SolverError
from .files import atomic_path
from .problem import Problem, load_instance
from .solution import SolveStatus

#: Output columns, in file order.
COLUMNS: tuple[str, ...] = (
    "instance", "solver", "status", "objective", "bound", "gap", "feasible", "solve_time",
    "seed", "time_limit", "threads", "error", "file", "placement_opt_version", "versions",
    "backend", "host",
)
#: A task is done when a row with these values is in the output already.
KEY_COLUMNS: tuple[str, ...] = ("instance", "solver", "seed", "time_limit")
#: Columns that do not depend on where or when a task ran.
RESULT_COLUMNS: tuple[str, ...] = ("instance", "solver", "status", "objective", "bound", "gap", "feasible")
FORMATS: tuple[str, ...] = (".csv", ".parquet", ".json")
#: ``local``: a process pool; ``ray``: Ray tasks; ``inline``: this process (debugging, tests).
BACKENDS: tuple[str, ...] = ("local", "ray", "inline")
#: Shortest time between two rewrites of a Parquet or JSON output, seconds.
REWRITE_INTERVAL = 1.0
#: Objectives within this relative distance of the best count as a win (ties).
WIN_RTOL = 1e-9

_FLOAT_COLUMNS = ("objective", "bound", "gap", "solve_time", "time_limit")
_INT_COLUMNS = ("seed", "threads")
_BOOL_COLUMNS = ("feasible",)
_INSTANCE_SUFFIXES = (".json", ".yaml", ".yml")
_SKIPPED_FOLDERS = {"solutions", "traces"}


class BatchInputError(InputError):
    """Bad input to a batch: options, file lists or an unreadable output table."""

    kind = "batch input"


class BatchAborted(PlacementOptError):
    """The batch machinery failed (a worker process died, the Ray cluster went
    away); finished rows are on disk and running the batch again resumes it."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch; finished rows are on disk.

    Attributes
    ----------
    done
        Tasks of this batch with a row (including rows found when resuming).
    total
        Tasks in this batch.
    output
        The output file, or None.
    """

    def __init__(self, done: int, total: int, output: Path | None):
        self.done, self.total, self.output = done, total, output
        super().__init__(f"interrupted: {done} of {total} tasks done")


@dataclass(frozen=True)
class Task:
    """One (instance, solver) pair, shipped to a worker."""

    problem: Problem
    file: str
    solver: str
    seed: int
    time_limit: float | None
    threads: int | None
    options: Mapping[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    backend: str = "local"

    @property
    def key(self) -> tuple:
        return _key(self.problem.name, self.solver, self.seed, self.time_limit)


# --------------------------------------------------------------------------- #
# Input validation
def expand_inputs(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, directories and glob patterns into instance files.

    A directory stands for every ``*.json``/``*.yaml``/``*.yml`` below it,
    except inside ``solutions/`` and ``traces/`` folders. Duplicates are
    dropped; order is kept (sorted within a directory or pattern).

    Raises
    ------
    BatchInputError
        If an item matches nothing.
    """
    found: dict[Path, None] = {}
    issues = []
    for item in items:
        paths = _expand_one(str(item))
        if not paths:
            issues.append(Issue(str(item), "no such file, directory or matching instance file"))
        for path in paths:
            found.setdefault(path, None)
    if issues:
        raise BatchInputError(issues)
    if not found:
        raise BatchInputError(Issue("FILES", "no instance files given"))
    return list(found)


def _expand_one(item: str) -> list[Path]:
    path = Path(item)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if _is_instance_file(p, path))
    if path.exists() or not glob.has_magic(item):
        return [path] if path.exists() else []
    return sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())


def _is_instance_file(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts[:-1]
    return path.is_file() and path.suffix.lower() in _INSTANCE_SUFFIXES and not _SKIPPED_FOLDERS & set(parts)


def load_instances(files: Sequence[Path]) -> list[Problem]:
    """Load and validate every instance; all errors are reported together.

    Raises
    ------
    InputError
        If any file is invalid (the message names each bad file and field), or
        two files hold instances with the same name (the name is the key that
        rows are matched on when resuming).
    """
    problems, errors = [], []
    for path in files:
        try:
            problems.append(load_instance(path))
        except InputError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BatchInputError([Issue(str(e.file or ""), str(e).replace("\n", "\n    ")) for e in errors])
    _check_unique_names(problems)
    return problems


def _check_unique_names(problems: Sequence[Problem]) -> None:
    seen: dict[str, str] = {}
    issues = []
    for problem in problems:
        if problem.name in seen:
            issues.append(Issue(str(problem.source), f"instance name {problem.name!r} is also the name in "
                                f"{seen[problem.name]}", hint="names identify rows; give each instance its own name"))
        seen.setdefault(problem.name, str(problem.source))
    if issues:
        raise BatchInputError(issues)


def check_solvers(solvers: Sequence[str], plugins: Sequence[str] = ()) -> list[str]:
    """Check solver names (after importing plugin modules); duplicates are dropped."""
    from .solve import solver_info

    _import_plugins(plugins)
    names = [s.strip() for s in solvers if s.strip()]
    if not names:
        raise BatchInputError(Issue("--solvers", "no solver given", hint="e.g. --solvers greedy,milp"))
    issues = []
    for name in dict.fromkeys(names):
        try:
            solver_info(name)
        except SolverError as exc:
            issues.append(Issue("--solvers", str(exc)))
    if issues:
        raise BatchInputError(issues)
    return list(dict.fromkeys(names))


def _import_plugins(plugins: Sequence[str]) -> None:
    for module in plugins:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BatchInputError(Issue("--plugin", f"cannot import {module!r}: {exc}")) from None


def _check_options(time_limit: float | None, jobs: int, threads: int | None, backend: str) -> None:
    issues = []
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0
                                       and math.isfinite(time_limit)):
        issues.append(Issue("--time-limit", f"must be a positive number of seconds, got {time_limit!r}"))
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        issues.append(Issue("--jobs", f"must be an integer >= 1, got {jobs!r}"))
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        issues.append(Issue("--threads", f"must be an integer >= 1, got {threads!r}"))
    if backend not in BACKENDS:
        issues.append(Issue("--backend", f"unknown backend {backend!r}", hint="local, ray or inline"))
    elif backend == "ray" and importlib.util.find_spec("ray") is None:
        issues.append(Issue("--backend", "Ray is not installed", hint="pip install 'placement_opt[ray]'"))
    if issues:
        raise BatchInputError(issues)


def check_output(output: str | os.PathLike | None) -> Path | None:
    """Check that the output's extension is supported and its writer installed."""
    if output is None:
        return None
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise BatchInputError(Issue("--output", f"{path}: unsupported extension {path.suffix or '(none)'!r}",
                                    hint="use .csv, .parquet or .json"))
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise BatchInputError(Issue("--output", f"{path}: writing Parquet needs pyarrow",
                                    hint="pip install 'placement_opt[parquet]', or use .csv or .json"))
    if path.is_dir():
        raise BatchInputError(Issue("--output", f"{path} is a directory"))
    return path


def _check_solver_options(solver_options: Mapping[str, Mapping[str, Any]] | None,
                          solvers: Sequence[str]) -> dict[str, dict[str, Any]]:
    options = {str(k): dict(v) for k, v in (solver_options or {}).items()}
    unknown = sorted(set(options) - set(solvers))
    if unknown:
        raise BatchInputError(Issue("solver_options", f"options for solvers not in the batch: {', '.join(unknown)}"))
    from .backend import solver_info

    issues = []
    for name, given in options.items():
        try:
            solver_info(name).make_params(given)
        except SolverError as exc:
            issues.append(Issue(f"solver_options.{name}", str(exc)))
    if issues:
        raise BatchInputError(issues)
    return options


def _validate_options(solvers: Sequence[str], plugins: tuple[str, ...], time_limit: float | None, jobs: int,
                      threads: int | None, backend: str, output: str | os.PathLike | None,
                      solver_options: Mapping[str, Mapping[str, Any]] | None,
                      ) -> tuple[list[str], Path | None, dict[str, dict[str, Any]]]:
    """Run every option check and report all their issues in one error."""
    issues: list[Issue] = []

    def collect(check: Callable[[], Any]) -> Any:
        try:
            return check()
        except BatchInputError as exc:
            issues.extend(exc.issues)
            return None

    names = collect(lambda: check_solvers(solvers, plugins)) or []
    collect(lambda: _check_options(time_limit, jobs, threads, backend))
    path = collect(lambda: check_output(output))
    options = collect(lambda: _check_solver_options(solver_options, names)) if names else {}
    if issues:
        raise BatchInputError(issues)
    return names, path, options or {}


# --------------------------------------------------------------------------- #
# Rows and tables
def _key(instance: Any, solver: Any, seed: Any, time_limit: Any) -> tuple:
    limit = None if time_limit is None or pd.isna(time_limit) else float(time_limit)
    return (str(instance), str(solver), int(seed), limit)


def normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Give a results table the standard columns (in order) and dtypes.

    Missing standard columns are added (empty); extra columns are kept at the
    end. Floats are ``float64``, ``seed``/``threads`` nullable ``Int64``,
    ``feasible`` nullable ``boolean``, everything else nullable ``string``.
    """
    out = table.copy()
    for col in COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out[list(COLUMNS) + [c for c in out.columns if c not in COLUMNS]]
    for col in COLUMNS:
        out[col] = _cast(out[col], col)
    return out.reset_index(drop=True)


def _cast(column: pd.Series, name: str) -> pd.Series:
    if name in _FLOAT_COLUMNS:
        return pd.to_numeric(column, errors="coerce").astype("float64")
    if name in _INT_COLUMNS:
        return pd.to_numeric(column, errors="coerce").astype("Int64")
    if name in _BOOL_COLUMNS:
        mapping = {"True": True, "False": False, "true": True, "false": False, True: True, False: False}
        return column.map(lambda v: mapping.get(v) if not _missing(v) else None).astype("boolean")
    return column.map(lambda v: None if _missing(v) else str(v)).astype("string")


def _missing(value: Any) -> bool:
    if isinstance(value, str):
        return value == ""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """Read a results table written by :func:`run_batch` (CSV, Parquet or JSON).

    An incomplete last CSV line (a hard kill in the middle of a write) is
    ignored. A missing or empty file gives an empty table.

    Raises
    ------
    BatchInputError
        If the file cannot be read as a results table.
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return normalise(pd.DataFrame(columns=list(COLUMNS)))
    try:
        table = _read_table(path)
    except Exception as exc:  # noqa: BLE001 - any reader error means "not a results table"
        raise BatchInputError(Issue("", f"cannot read the existing results table: {exc}",
                                    hint="move it away or choose another --output"), str(path)) from None
    missing = [c for c in KEY_COLUMNS + ("status",) if c not in table.columns]
    if missing:
        raise BatchInputError(Issue("", f"not a batch results table (missing columns {', '.join(missing)})",
                                    hint="move it away or choose another --output"), str(path))
    return normalise(table)


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".json":
        records = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("expected a JSON list of records")
        return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=list(COLUMNS))
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])


class ResultWriter:
    """Writes finished rows to the output as they come (see module docstring)."""

    def __init__(self, path: Path | None, existing: pd.DataFrame):
        self.path = path
        self.rows: list[dict[str, Any]] = existing.to_dict("records")
        self.columns = list(existing.columns)
        self._dirty = False
        self._last_rewrite = -math.inf
        if path is not None and path.suffix.lower() == ".csv":
            self._prepare_csv(path)

    def _prepare_csv(self, path: Path) -> None:
        if path.exists() and path.stat().st_size > 0 and self._csv_header(path) == self.columns:
            self._truncate_partial_line(path)
        else:  # new file, or older columns: rewrite in the current layout
            self._rewrite(path)

    def _csv_header(self, path: Path) -> list[str]:
        with open(path, newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])

    def _truncate_partial_line(self, path: Path) -> None:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            with open(path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def add(self, row: dict[str, Any]) -> None:
        """Record a finished row and put it on disk (CSV) or schedule a rewrite."""
        self.rows.append(row)
        if self.path is None:
            return
        if self.path.suffix.lower() == ".csv":
            self._append_csv(self.path, row)
        else:
            self._dirty = True
            if time.monotonic() - self._last_rewrite >= REWRITE_INTERVAL:
                self.flush()

    def _append_csv(self, path: Path, row: dict[str, Any]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([_csv_cell(row.get(c)) for c in self.columns])
        with open(path, "a", encoding="utf-8", newline="") as fh:
            fh.write(buffer.getvalue())
            fh.flush()
            os.fsync(fh.fileno())

    def flush(self) -> None:
        """Rewrite a Parquet/JSON output if rows were added since the last write."""
        if self.path is not None and self._dirty:
            self._rewrite(self.path)

    def _rewrite(self, path: Path) -> None:
        table = normalise(pd.DataFrame.from_records(self.rows, columns=self.columns or list(COLUMNS)))
        self.columns = list(table.columns)
        _write_atomically(table, path)
        self._dirty = False
        self._last_rewrite = time.monotonic()

    def table(self) -> pd.DataFrame:
        return normalise(pd.DataFrame.from_records(self.rows, columns=self.columns or list(COLUMNS)))


def _csv_cell(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write_atomically(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        _write_table(table, tmp, path.suffix.lower())


def _write_table(table: pd.DataFrame, path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        table.to_parquet(path, index=False)
    elif suffix == ".json":
        records = [{k: _json_cell(v) for k, v in r.items()} for r in table.to_dict("records")]
        path.write_text(json.dumps(records, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    else:
        lines = io.StringIO()
        writer = csv.writer(lines, lineterminator="\n")
        writer.writerow(table.columns)
        for row in table.itertuples(index=False):
            writer.writerow([_csv_cell(v) for v in row])
        path.write_text(lines.getvalue(), encoding="utf-8")


def _json_cell(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


# --------------------------------------------------------------------------- #
# Workers
def run_task(task: Task) -> dict[str, Any]:
    """Solve one task and return its row; solver exceptions become ``error`` rows."""
    from .solve import solve
    from .versions import __version__, versions

    _import_plugins(task.plugins)
    row: dict[str, Any] = {
        "instance": task.problem.name, "solver": task.solver, "seed": task.seed,
        "time_limit": task.time_limit, "threads": task.threads, "file": task.file,
        "placement_opt_version": __version__,
        "versions": json.dumps({**versions(), "python": platform.python_version()}, sort_keys=True),
        "backend": task.backend, "host": socket.gethostname(),
    }
    start = time.perf_counter()
    try:
        sol = solve(task.problem, task.solver, time_limit=task.time_limit, threads=task.threads,
                    seed=task.seed, **task.options)
    except Exception as exc:  # noqa: BLE001 - the batch goes on; the row says what happened
        row.update(status=SolveStatus.ERROR.value, solve_time=time.perf_counter() - start,
                   error=f"{type(exc).__name__}: {exc}")
        return row
    row.update(status=sol.status.value, objective=sol.objective, bound=sol.bound, gap=sol.gap,
               feasible=sol.feasible, solve_time=sol.solve_time, error=sol.info.get("error"))
    return row


def _ignore_sigint(plugins: tuple[str, ...]) -> None:
    """Worker initialiser: Ctrl-C is the parent's business (it terminates us)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _import_plugins(plugins)


def _run_inline(tasks: Sequence[Task]) -> Generator[dict[str, Any], None, None]:
    for task in tasks:
        yield run_task(task)


def _run_local(tasks: Sequence[Task], jobs: int, plugins: tuple[str, ...]) -> Generator[dict[str, Any], None, None]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_ignore_sigint, initargs=(plugins,))
    pending = {pool.submit(run_task, t) for t in tasks}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        if pending:
            _terminate_pool(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _terminate_pool(pool: Any) -> None:
    # concurrent.futures has no public terminate before Python 3.14.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()


def _run_ray(tasks: Sequence[Task], jobs: int, address: str | None) -> Generator[dict[str, Any], None, None]:
    import ray

    started = not ray.is_initialized()
    if started:
        # a local instance gets enough CPUs for `jobs` tasks of `threads` threads each
        init = {"address": address} if address else {"num_cpus": jobs * max(t.threads or 1 for t in tasks)}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **init)
    remote = ray.remote(num_cpus=1)(run_task)
    queue = list(tasks)
    running: list[ray.ObjectRef] = []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                task = queue.pop(0)
                running.append(remote.options(num_cpus=task.threads or 1).remote(task))
            ready, running = ray.wait(running, num_returns=1)
            for ref in ready:
                yield ray.get(ref)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- #
# The batch
def run_batch(
    files: Sequence[str | os.PathLike],
    solvers: Sequence[str] | str,
    time_limit: float | None = None,
    jobs: int = 1,
    threads: int | None = None,
    seed: int = 0,
    output: str | os.PathLike | None = None,
    backend: str = "local",
    address: str | None = None,
    progress: bool = False,
    solver_options: Mapping[str, Mapping[str, Any]] | None = None,
    plugins: Sequence[str] = (),
) -> pd.DataFrame:
    """Solve every instance with every solver; one row per (instance, solver).

    Parameters
    ----------
    files
        Instance files, directories (every ``*.json``/``*.yaml`` below, except
        in ``solutions/`` and ``traces/``) or glob patterns.
    solvers
        Solver names, or one comma-separated string.
    time_limit
        Seconds per solve (None: no limit).
    jobs
        Tasks run at the same time (worker processes, or Ray tasks in flight).
    threads
        Threads inside each solver (None: the solver's default).
    seed
        Seed passed to every solve.
    output
        ``.csv``, ``.parquet`` or ``.json`` file; rows already there are skipped
        (resume) and new rows are added as tasks finish. None: nothing written.
    backend
        ``"local"`` (process pool of ``jobs`` spawned workers), ``"ray"`` or
        ``"inline"`` (one task after another in this process; for debugging).
    address
        Ray cluster address (None: start a local Ray instance).
    progress
        Show a progress bar on stderr.
    solver_options
        Extra options per solver: ``{solver: {option: value}}``.
    plugins
        Modules to import in every worker first (e.g. ones that register
        custom solvers).

    Returns
    -------
    pandas.DataFrame
        The rows of this batch (resumed ones included), in task order, with the
        columns of :data:`COLUMNS` (see :func:`normalise` for dtypes);
        ``attrs["skipped"]`` counts the tasks found done in the output.

    Raises
    ------
    InputError
        For any bad input; raised before anything runs or is written.
    BatchInterrupted
        On Ctrl-C, after finished rows are on disk and workers are stopped.
    BatchAborted
        If a worker process dies or the Ray cluster fails; finished rows are
        on disk.
    """
    plugins = tuple(plugins)
    solver_list = solvers.split(",") if isinstance(solvers, str) else list(solvers)
    names, path, options = _validate_options(solver_list, plugins, time_limit, jobs, threads, backend,
                                             output, solver_options)
    problems = load_instances(expand_inputs(files))
    existing = read_results(path) if path is not None else normalise(pd.DataFrame(columns=list(COLUMNS)))
    limit = None if time_limit is None else float(time_limit)
    tasks = [Task(p, str(p.source), s, int(seed), limit, threads, options.get(s, {}), plugins, backend)
             for p in problems for s in names]
    done = {_row_key(r) for r in existing.to_dict("records")}
    todo = [t for t in tasks if t.key not in done]
    writer = ResultWriter(path, existing)
    _execute(todo, writer, jobs, backend, address, progress, len(tasks))
    table = _batch_rows(writer.table(), tasks)
    table.attrs.update(tasks=len(tasks), skipped=len(tasks) - len(todo))
    return table


def _row_key(row: Mapping[str, Any]) -> tuple:
    return _key(row["instance"], row["solver"], row["seed"], row["time_limit"])


def _execute(todo: Sequence[Task], writer: ResultWriter, jobs: int, backend: str, address: str | None,
             progress: bool, total: int) -> None:
    if not todo:
        return
    if backend == "ray":
        rows = _run_ray(todo, jobs, address)
    elif backend == "inline":
        rows = _run_inline(todo)
    else:
        rows = _run_local(todo, jobs, todo[0].plugins)
    finished = 0
    try:
        with _progress_bar(progress, len(todo)) as advance:
            for row in rows:
                writer.add(row)
                finished += 1
                advance()
    except KeyboardInterrupt:
        rows.close()
        writer.flush()
        raise BatchInterrupted(total - len(todo) + finished, total, writer.path) from None
    except Exception as exc:  # noqa: BLE001 - solver errors are rows already; this is the machinery
        rows.close()
        writer.flush()
        raise BatchAborted(f"batch stopped: {type(exc).__name__}: {exc}; {total - len(todo) + finished} of "
                           f"{total} tasks done, rows are in {writer.path}; run it again to resume") from exc
    finally:
        writer.flush()


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    """Yield ``advance()``; with ``enabled``, a rich progress bar on stderr."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("batch", total=total)
        yield lambda: bar.advance(task)


def _batch_rows(table: pd.DataFrame, tasks: Sequence[Task]) -> pd.DataFrame:
    order = {t.key: i for i, t in enumerate(tasks)}
    keys = [_row_key(r) for r in table.to_dict("records")]
    position = pd.Series([order.get(k, -1) for k in keys], index=table.index)
    mine = table[position >= 0].assign(_order=position[position >= 0])
    mine = mine.sort_values("_order", kind="stable").drop_duplicates("_order", keep="last")
    return mine.drop(columns="_order").reset_index(drop=True)


# --------------------------------------------------------------------------- #
# Summary
def gap_to_best(objective: float, best: float) -> float:
    """``(objective - best) / |best|`` (0 when equal; ``|best|`` floored at 1e-12)."""
    diff = max(objective - best, 0.0)
    return 0.0 if diff == 0 else diff / max(abs(best), 1e-12)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per solver: tasks, feasible, wins, mean gap to the best, mean and total time.

    A solver *wins* an instance when its feasible objective is the best among
    all solvers on that instance (within a relative :data:`WIN_RTOL`; ties count
    for every tied solver). ``mean_gap`` is the mean over the solver's feasible
    rows of ``(objective - best) / |best|``, where ``best`` is the best feasible
    objective any solver in ``table`` found for that instance (not a bound).

    Returns
    -------
    pandas.DataFrame
        Index ``solver`` (in first-appearance order); columns ``tasks``,
        ``feasible``, ``wins``, ``mean_gap`` (NaN without feasible rows),
        ``mean_time``, ``total_time``.
    """
    table = normalise(table)
    ok = table[table["feasible"].fillna(False).astype(bool) & table["objective"].notna()]
    best = ok.groupby("instance")["objective"].min()
    records = []
    for solver in dict.fromkeys(table["solver"]):
        rows = table[table["solver"] == solver]
        mine = ok[ok["solver"] == solver]
        gaps = [gap_to_best(o, best[i]) for i, o in zip(mine["instance"], mine["objective"])]
        wins = sum(g <= WIN_RTOL for g in gaps)
        records.append({"solver": solver, "tasks": len(rows), "feasible": len(mine), "wins": wins,
                        "mean_gap": float(pd.Series(gaps, dtype="float64").mean()) if gaps else math.nan,
                        "mean_time": float(rows["solve_time"].mean()), "total_time": float(rows["solve_time"].sum())})
    columns = ["solver", "tasks", "feasible", "wins", "mean_gap", "mean_time", "total_time"]
    return pd.DataFrame.from_records(records, columns=columns).set_index("solver")


__all__ = [
    "BACKENDS", "COLUMNS", "FORMATS", "KEY_COLUMNS", "RESULT_COLUMNS", "BatchAborted", "BatchInputError",
    "BatchInterrupted",
    "Task", "expand_inputs", "load_instances", "normalise", "read_results", "run_batch", "run_task", "summarize",
]
