"""``placement-opt solve``: solve one instance and print the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import InputError, SolverError
from ..problem import Problem
from ..solution import Solution, load_solution, save_solution
from .common import app, console, fail, load_problem, number


@app.command("solve")
def solve_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    solver: Annotated[str, typer.Option(help="solver name (see list-solvers)")] = "milp",
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds")] = 60.0,
    gap: Annotated[float | None, typer.Option(help="relative gap to stop at")] = None,
    threads: Annotated[int | None, typer.Option(help="solver threads")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    warm_start: Annotated[Path | None, typer.Option("--warm-start", help="solution file to start from")] = None,
    previous: Annotated[Path | None, typer.Option(help="previous solution (migration term)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the solution here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    log: Annotated[bool, typer.Option(help="show the solver log")] = False,
) -> None:
    """Solve an instance and print status, objective, bound, gap, time and segments."""
    from ..solve import solve, solver_info

    problem = load_problem(instance)
    try:
        solver_info(solver)
        warm = load_solution(warm_start) if warm_start else None
        prev = load_solution(previous) if previous else None
        result = solve(problem, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                       seed=seed, warm_start=warm, previous=prev, log=log)
    except (InputError, SolverError) as exc:
        fail(str(exc))
    if output:
        save_solution(result, output)
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
    else:
        _print_solution(problem, result)
    if result.status.value == "error":
        raise typer.Exit(1)


def _print_solution(problem: Problem, sol: Solution) -> None:
    table = Table(title=f"{problem.name}: {sol.solver}", show_header=False)
    table.add_row("status", sol.status.value)
    table.add_row("objective", number(sol.objective))
    table.add_row("bound", number(sol.bound))
    gap = sol.gap
    table.add_row("gap", "-" if gap is None else f"{100 * gap:.4f} %")
    table.add_row("time", f"{sol.solve_time:.3f} s")
    if "error" in sol.info:
        table.add_row("error", str(sol.info["error"]))
    console.print(table)
    print_segments(sol)


def print_segments(sol: Solution, title: str = "segments (layers are 1-based)") -> None:
    """Print a solution's segments per workload, ``node[first-last]`` with
    1-based layers (nothing without an assignment).  Shared with ``demo``."""
    if not sol.assignment:
        return
    seg = Table(title=title)
    seg.add_column("workload")
    seg.add_column("segments")
    for wid in sol.assignment:
        seg.add_row(wid, ", ".join(f"{s.node}[{s.first + 1}-{s.last + 1}]" for s in sol.segments(wid)))
    console.print(seg)
