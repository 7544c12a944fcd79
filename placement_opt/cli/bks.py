"""``placement-opt bks``: check or update the best-known solutions of the instance library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import InputError, SolverError
from .common import app, console, fail, number

DEFAULT_LIBRARY = Path("instances")


def _check(directory: Path) -> None:
    from ..bks import check_library

    try:
        checks = check_library(directory)
    except InputError as exc:
        fail(str(exc))
    table = Table(title=f"best-known solutions in {directory}")
    for col in ("instance", "family", "best_objective", "evaluator", "bound", "proven", "result"):
        table.add_column(col)
    for c in checks:
        row = c.row
        table.add_row(c.name, row.family if row else "-", number(row.best_objective if row else None),
                      number(c.objective), number(row.bound if row else None),
                      str(row.proven_optimal).lower() if row else "-", "ok" if c.ok else "FAIL")
    console.print(table)
    failed = [c for c in checks if not c.ok]
    for c in failed:
        console.print(f"{c.name}: " + "\n  ".join(c.problems), markup=False, highlight=False)
    if failed:
        console.print(f"{len(failed)} of {len(checks)} instances fail the check", markup=False)
        raise typer.Exit(1)
    console.print(f"all {len(checks)} instances match the index", markup=False)


def _update(directory: Path, names: list[str], solvers: str, time_limit: float, seed: int) -> None:
    from ..bks import UpdateOutcome, update_library
    from ..solve import solver_info

    solver_list = [s.strip() for s in solvers.split(",") if s.strip()]
    try:
        for solver in solver_list:
            solver_info(solver)
    except SolverError as exc:
        fail(str(exc))
    if not solver_list:
        fail("--solvers: give at least one solver name")

    def report(outcome: UpdateOutcome) -> None:
        runs = ", ".join(f"{s} {st} {number(obj, 7)} ({sec:.1f} s)" for s, st, obj, sec in outcome.runs)
        verdict = "improved" if outcome.improved else "kept"
        console.print(f"{outcome.name}: {verdict} {number(outcome.new_objective)} "
                          f"(was {number(outcome.old_objective)}); {runs}", markup=False, highlight=False)

    try:
        update_library(directory, names or None, solver_list, time_limit, seed, on_done=report)
    except InputError as exc:
        fail(str(exc))


@app.command("bks")
def bks(
    names: Annotated[list[str] | None, typer.Argument(help="instances to update (default: all)")] = None,
    check: Annotated[bool, typer.Option("--check", help="re-evaluate every stored solution against the index")] = False,
    update: Annotated[bool, typer.Option("--update", help="re-solve and keep the better solution")] = False,
    instances: Annotated[Path, typer.Option("--instances", help="library folder")] = DEFAULT_LIBRARY,
    solvers: Annotated[str, typer.Option(help="comma-separated solvers for --update")] = "milp,local-search",
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds per solver run")] = 60.0,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Check (--check) or improve (--update) the library's best-known solutions.

    --check exits 1 when a stored solution is infeasible, disagrees with
    index.csv, or an instance and its row or solution do not match up.
    """

    if check == update:
        fail("bks: give exactly one of --check or --update")
    if not instances.is_dir():
        fail(f"bks: {instances} is not a folder")
    if check:
        if names:
            fail("bks --check takes no instance names")
        _check(instances)
    else:
        if not time_limit > 0:
            fail("--time-limit must be > 0 seconds")
        _update(instances, list(names or []), solvers, time_limit, seed)
