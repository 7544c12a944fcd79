"""``placement-opt demo``: every solver on one instance, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import app, console, load_problem, number


@app.command()
def demo(
    instance: Annotated[Optional[Path], typer.Argument(help="instance file (default: a generated smart-city instance)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds per solver")] = 60.0,
) -> None:
    """Solve one instance with every solver and print the comparison."""
    from ..generators import generate as make
    from ..solve import list_solvers, solve, solver_info

    problem = load_problem(instance) if instance else make("smart-city", seed=0, size="s")
    console.print(f"instance: {problem!r}", markup=False, highlight=False)
    table = Table(title=f"{problem.name}: solver comparison (time limit {time_limit:g} s)")
    for col in ("solver", "kind", "status", "objective", "bound", "gap", "feasible", "time s"):
        table.add_column(col)
    best = None
    for name in list_solvers():
        if name == "brute-force":
            continue
        sol = solve(problem, name, time_limit=time_limit)
        # Best objective; among equals (1e-9), a proven optimum, then the faster.
        if sol.feasible and (best is None or sol.objective < best.objective * (1 - 1e-9)
                             or (sol.objective <= best.objective * (1 + 1e-9)
                                 and (sol.status.value == "optimal") > (best.status.value == "optimal"))):
            best = sol
        gap = sol.gap
        table.add_row(name, "exact" if solver_info(name).exact else "heuristic", sol.status.value,
                      number(sol.objective, 7), number(sol.bound, 7),
                      "-" if gap is None else f"{100 * gap:.3f} %", str(sol.feasible), f"{sol.solve_time:.2f}")
    console.print(table)
    if best is not None:
        console.print(f"best plan ({best.solver}):", markup=False)
        console.print(best.summary(), markup=False, highlight=False)
