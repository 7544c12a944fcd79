"""The benchmark instance library and its best-known solutions (BKS).

A library is a folder (``instances/`` in the repository)::

    instances/<name>.json             instance files (SPEC section 3)
    instances/solutions/<name>.json   best-known solution of each instance
    instances/index.csv               one row per instance (:data:`INDEX_COLUMNS`)
    instances/traces/                 replay traces (ignored here)

:func:`check_library` re-evaluates every stored solution with the evaluator and
compares it with the index; :func:`update_library` re-solves instances and keeps
the better solution.  Both are behind ``placement-opt bks``.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError, Issue
from .evaluate import evaluate
from .files import write_atomically
from .problem import Problem, load_instance
from .solution import Solution, SolveStatus, load_solution, save_solution

__all__ = [
    "INDEX_COLUMNS",
    "OBJECTIVE_RTOL",
    "PROVEN_GAP",
    "IndexError_",
    "IndexRow",
    "InstanceCheck",
    "UpdateOutcome",
    "check_library",
    "instance_sizes",
    "read_index",
    "update_instance",
    "update_library",
    "write_index",
]

INDEX_COLUMNS = ("name", "family", "nodes", "links", "models", "workloads", "layers",
                 "best_objective", "bound", "proven_optimal", "solver", "seconds")
SIZE_COLUMNS = ("nodes", "links", "models", "workloads", "layers")

#: Relative tolerance between a stored ``best_objective`` and the evaluator's value.
OBJECTIVE_RTOL = 1e-9
#: Largest relative gap between ``bound`` and ``best_objective`` that a row marked
#: ``proven_optimal`` may have (CP-SAT certifies optimality to 1e-4, HiGHS to 1e-9).
PROVEN_GAP = 1e-4

INDEX_FILE = "index.csv"
SOLUTIONS_DIR = "solutions"


class IndexError_(InputError):
    """A library whose ``index.csv`` is missing or malformed."""

    kind = "library index"


# --------------------------------------------------------------------------- #
# Index rows
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class IndexRow:
    """One row of ``index.csv``.

    ``layers`` is the total number of layers over all models of the instance;
    ``bound`` is a proven lower bound on the optimum (None when unknown);
    ``seconds`` is the wall-clock time of the solve that found the stored solution.
    """

    name: str
    family: str
    nodes: int
    links: int
    models: int
    workloads: int
    layers: int
    best_objective: float
    bound: float | None
    proven_optimal: bool
    solver: str
    seconds: float

    def to_csv(self) -> list[str]:
        return [self.name, self.family, str(self.nodes), str(self.links), str(self.models),
                str(self.workloads), str(self.layers), repr(float(self.best_objective)),
                "" if self.bound is None else repr(float(self.bound)),
                "true" if self.proven_optimal else "false", self.solver, f"{self.seconds:.2f}"]


def instance_sizes(problem: Problem) -> dict[str, int]:
    """The size columns of the index for one problem."""
    return {
        "nodes": problem.num_nodes,
        "links": problem.num_links,
        "models": len(problem.models),
        "workloads": problem.num_workloads,
        "layers": sum(len(m.layers) for m in problem.models),
    }


def _parse_cell(column: str, text: str, line: int, file: str):
    text = text.strip()
    try:
        if column in ("name", "family", "solver"):
            if not text:
                raise ValueError("must not be empty")
            return text
        if column in SIZE_COLUMNS:
            value = int(text)
            if value < 0:
                raise ValueError("must be >= 0")
            return value
        if column == "proven_optimal":
            if text.lower() not in ("true", "false"):
                raise ValueError("must be true or false")
            return text.lower() == "true"
        if column == "bound" and text == "":
            return None
        number = float(text)
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return number
    except ValueError as exc:
        reason = str(exc) if "must" in str(exc) else f"not a number: {text!r}"
        raise IndexError_(Issue(column, reason, line=line), file) from None


def read_index(path: str | Path) -> list[IndexRow]:
    """Read ``index.csv``.

    Raises
    ------
    IndexError_
        If the file is missing, has other columns, a malformed cell (naming the
        line and column) or a duplicate name.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexError_(Issue("", f"cannot read: {exc.strerror or exc}"), file) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != INDEX_COLUMNS:
        raise IndexError_(Issue("", f"header must be {','.join(INDEX_COLUMNS)}", line=1), file)
    rows: list[IndexRow] = []
    seen: set[str] = set()
    for line, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(INDEX_COLUMNS):
            raise IndexError_(Issue("", f"expected {len(INDEX_COLUMNS)} cells, got {len(cells)}", line=line), file)
        values = {c: _parse_cell(c, v, line, file) for c, v in zip(INDEX_COLUMNS, cells)}
        if values["name"] in seen:
            raise IndexError_(Issue("name", f"duplicate instance {values['name']!r}", line=line), file)
        seen.add(values["name"])
        rows.append(IndexRow(**values))
    return rows


def write_index(path: str | Path, rows: Iterable[IndexRow]) -> None:
    """Write ``index.csv`` atomically (complete or untouched), rows sorted by name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    for row in sorted(rows, key=lambda r: r.name):
        writer.writerow(row.to_csv())
    write_atomically(path, buffer.getvalue())


# --------------------------------------------------------------------------- #
# Check
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class InstanceCheck:
    """The verdict on one instance of the library.

    ``objective`` and ``feasible`` are the evaluator's, on the stored solution
    (None when it could not be evaluated); ``problems`` lists every mismatch.
    """

    name: str
    row: IndexRow | None
    objective: float | None = None
    feasible: bool | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _instance_files(directory: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(directory.glob("*.json"))}


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def _check_row(directory: Path, row: IndexRow, instance_file: Path | None) -> InstanceCheck:
    if instance_file is None:
        return InstanceCheck(row.name, row, problems=(f"instance file {row.name}.json is missing",))
    solution_file = directory / SOLUTIONS_DIR / f"{row.name}.json"
    if not solution_file.exists():
        return InstanceCheck(row.name, row, problems=(f"solution file {SOLUTIONS_DIR}/{row.name}.json is missing",))
    try:
        problem = load_instance(instance_file)
        ev = evaluate(problem, load_solution(solution_file))
    except InputError as exc:
        return InstanceCheck(row.name, row, problems=(str(exc),))
    problems = _row_problems(row, problem, ev.objective, ev.feasible)
    if not ev.feasible:
        problems.insert(0, "stored solution is infeasible: " + "; ".join(str(v) for v in ev.violations[:3]))
    return InstanceCheck(row.name, row, ev.objective, ev.feasible, tuple(problems))


def _row_problems(row: IndexRow, problem: Problem, objective: float, feasible: bool) -> list[str]:
    problems = []
    if problem.name != row.name:
        problems.append(f"instance name is {problem.name!r}, index says {row.name!r}")
    for column, actual in instance_sizes(problem).items():
        if getattr(row, column) != actual:
            problems.append(f"{column}: index says {getattr(row, column)}, instance has {actual}")
    if not _close(objective, row.best_objective, OBJECTIVE_RTOL):
        problems.append(f"best_objective: index says {row.best_objective!r}, evaluator gives {objective!r}")
    if row.bound is not None and row.bound > row.best_objective * (1 + OBJECTIVE_RTOL) + 1e-300:
        problems.append(f"bound {row.bound!r} exceeds best_objective {row.best_objective!r}")
    if row.proven_optimal and (row.bound is None or
                               row.best_objective - row.bound > PROVEN_GAP * max(abs(row.best_objective), 1e-12)):
        problems.append(f"proven_optimal but bound {row.bound!r} is not within {PROVEN_GAP:g} of the objective")
    return problems


def check_library(directory: str | Path) -> list[InstanceCheck]:
    """Re-evaluate every stored solution of a library against its index.

    Every ``*.json`` directly in ``directory`` is an instance (``solutions/`` and
    ``traces/`` are not looked into).  An instance without an index row, a row
    without an instance or solution file, an infeasible solution, an objective
    that differs from ``best_objective`` (relative :data:`OBJECTIVE_RTOL`), size
    columns that differ from the instance, or a bound above the objective are
    reported as problems of that instance.

    Returns
    -------
    list[InstanceCheck]
        One per instance, sorted by name; the library passes when all are ``ok``.

    Raises
    ------
    IndexError_
        If ``index.csv`` is missing or malformed.
    """
    directory = Path(directory)
    rows = read_index(directory / INDEX_FILE)
    files = _instance_files(directory)
    checks = [_check_row(directory, row, files.get(row.name)) for row in rows]
    indexed = {row.name for row in rows}
    checks += [InstanceCheck(name, None, problems=(f"instance file {name}.json is not in {INDEX_FILE}",))
               for name in files if name not in indexed]
    return sorted(checks, key=lambda c: c.name)


# --------------------------------------------------------------------------- #
# Update
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class UpdateOutcome:
    """What :func:`update_library` did for one instance."""

    name: str
    old_objective: float | None
    new_objective: float | None
    improved: bool
    row: IndexRow | None
    runs: tuple[tuple[str, str, float | None, float], ...] = field(default=())
    """``(solver, status, objective, seconds)`` of every run."""


SolveFn = Callable[..., Solution]


def _default_solve(problem: Problem, solver: str, **kwargs) -> Solution:
    from .solve import solve

    return solve(problem, solver, **kwargs)


def _better(candidate: Solution, incumbent_objective: float | None) -> bool:
    if not candidate.feasible or candidate.objective is None:
        return False
    if incumbent_objective is None:
        return True
    return candidate.objective < incumbent_objective and not _close(candidate.objective, incumbent_objective,
                                                                    OBJECTIVE_RTOL)


def _stored(directory: Path, name: str, problem: Problem) -> tuple[Solution | None, float | None]:
    """The stored solution and its evaluator objective, or (None, None) if absent or infeasible."""
    path = directory / SOLUTIONS_DIR / f"{name}.json"
    if not path.exists():
        return None, None
    sol = load_solution(path)
    ev = evaluate(problem, sol)
    return (sol, ev.objective) if ev.feasible else (None, None)


def _merge_bound(*bounds: float | None) -> float | None:
    known = [b for b in bounds if b is not None and math.isfinite(b)]
    return max(known) if known else None


def update_instance(
    directory: Path,
    name: str,
    family: str,
    solvers: Sequence[str],
    time_limit: float,
    old_row: IndexRow | None,
    seed: int = 0,
    solve_fn: SolveFn = _default_solve,
) -> UpdateOutcome:
    """Re-solve one instance with every solver in turn; keep the best solution.

    Each solver is warm-started with the best solution so far.  The bound kept
    is the largest valid bound seen (the stored one included); the instance is
    proven optimal when an exact solver said ``optimal`` for a solution no
    better than the kept one.
    """
    problem = load_instance(directory / f"{name}.json")
    incumbent, best = _stored(directory, name, problem)
    old_objective = best
    bound = old_row.bound if old_row is not None and incumbent is not None else None
    proven = bool(old_row and old_row.proven_optimal and incumbent is not None)
    solver_name = old_row.solver if old_row and incumbent is not None else ""
    seconds = old_row.seconds if old_row and incumbent is not None else 0.0
    runs = []
    for solver in solvers:
        start = time.perf_counter()
        sol = solve_fn(problem, solver, time_limit=time_limit, seed=seed, warm_start=incumbent)
        elapsed = time.perf_counter() - start
        runs.append((solver, sol.status.value, sol.objective, elapsed))
        if sol.status is not SolveStatus.ERROR:
            bound = _merge_bound(bound, sol.bound)
        if _better(sol, best):
            incumbent, best, solver_name, seconds = sol, sol.objective, solver, elapsed
            proven = sol.status is SolveStatus.OPTIMAL
            save_solution(sol, directory / SOLUTIONS_DIR / f"{name}.json")
        elif sol.status is SolveStatus.OPTIMAL and best is not None and sol.objective is not None \
                and _close(sol.objective, best, PROVEN_GAP):
            proven = True
    if incumbent is None or best is None:
        return UpdateOutcome(name, old_objective, None, False, old_row, tuple(runs))
    if bound is not None:
        bound = min(bound, best)
    row = IndexRow(name=name, family=family, **instance_sizes(problem), best_objective=best, bound=bound,
                   proven_optimal=proven, solver=solver_name, seconds=seconds)
    improved = old_objective is None or best < old_objective
    return UpdateOutcome(name, old_objective, best, improved, row, tuple(runs))


def update_library(
    directory: str | Path,
    names: Sequence[str] | None = None,
    solvers: Sequence[str] = ("milp", "local-search"),
    time_limit: float = 60.0,
    seed: int = 0,
    families: dict[str, str] | None = None,
    solve_fn: SolveFn = _default_solve,
    on_done: Callable[[UpdateOutcome], None] | None = None,
) -> list[UpdateOutcome]:
    """Re-solve instances of a library and keep the better solutions.

    Parameters
    ----------
    directory
        The library folder.
    names
        Instances to re-solve (default: every instance file).
    solvers
        Solver names, run in this order, each warm-started with the best so far.
    time_limit
        Seconds per solver run.
    seed
        Random seed passed to every solver.
    families
        ``{name: family}`` for instances not yet in the index (default: the
        index's family, else the name up to its size part).
    solve_fn
        ``solve(problem, solver, **options) -> Solution`` (tests replace it).
    on_done
        Called after each instance (for progress output).

    Returns
    -------
    list[UpdateOutcome]

    Notes
    -----
    A solution file is only replaced by a strictly better feasible solution,
    and ``index.csv`` is rewritten atomically after each instance, so an
    interrupted update leaves a consistent library.
    """
    directory = Path(directory)
    index_path = directory / INDEX_FILE
    rows = {r.name: r for r in read_index(index_path)} if index_path.exists() else {}
    files = _instance_files(directory)
    wanted = list(names) if names else sorted(files)
    unknown = [n for n in wanted if n not in files]
    if unknown:
        raise InputError([Issue("names", f"no instance file {n}.json in {directory}") for n in unknown])
    outcomes = []
    for name in wanted:
        family = (families or {}).get(name) or (rows[name].family if name in rows else _family_from_name(name))
        outcome = update_instance(directory, name, family, solvers, time_limit, rows.get(name), seed, solve_fn)
        if outcome.row is not None:
            rows[name] = replace(outcome.row, family=family)
            write_index(index_path, rows.values())
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes


def _family_from_name(name: str) -> str:
    parts = name.split("-")
    for k, part in enumerate(parts):
        if part in ("s", "m", "l") and k:
            return "-".join(parts[:k])
    return parts[0]

