"""The ``placement-opt`` command line.

Every command that reads a file reports bad input as one clear message (file,
field path, what is wrong) on stderr and exits with status 2, never with a
traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import InputError, SolverError
from .evaluate import evaluate
from .instance import dump_data, instance_json_schema, write_atomically
from .problem import Problem, load_instance
from .solution import Solution, load_solution, save_solution

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Joint placement and partitioning of AI models across edge networks.",
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _load(path: Path) -> Problem:
    try:
        return load_instance(path)
    except InputError as exc:
        _fail(str(exc))
        raise  # unreachable


def _number(x: float | None, digits: int = 9) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


# --------------------------------------------------------------------------- #
@app.command()
def validate(instances: Annotated[list[Path], typer.Argument(help="instance files")]) -> None:
    """Check instance files; exit 2 if any is invalid."""
    bad = 0
    for path in instances:
        try:
            problem = load_instance(path)
            out.print(f"{path}: ok ({problem!r})", markup=False, highlight=False)
        except InputError as exc:
            bad += 1
            err.print(str(exc), markup=False, highlight=False)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def info(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Sizes of an instance, and memory and compute supply against demand."""
    from .stats import instance_stats

    problem = _load(instance)
    stats = instance_stats(problem)
    if as_json:
        out.print_json(json.dumps(stats))
        return
    table = Table(title=f"{problem.name}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, _number(value, 6) if isinstance(value, float) else str(value))
    out.print(table)


@app.command("evaluate")
def evaluate_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    solution: Annotated[Path, typer.Argument(help="solution file")],
    previous: Annotated[Optional[Path], typer.Option(help="previous solution (migration term)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score a solution exactly as the spec says."""
    problem = _load(instance)
    try:
        sol = load_solution(solution)
        prev = load_solution(previous) if previous else None
        ev = evaluate(problem, sol, prev)
    except InputError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps(ev.to_dict()))
        return
    out.print(ev.summary(), markup=False, highlight=False)


@app.command("solve")
def solve_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    solver: Annotated[str, typer.Option(help="solver name (see list-solvers)")] = "milp",
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds")] = 60.0,
    gap: Annotated[Optional[float], typer.Option(help="relative gap to stop at")] = None,
    threads: Annotated[Optional[int], typer.Option(help="solver threads")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    warm_start: Annotated[Optional[Path], typer.Option("--warm-start", help="solution file to start from")] = None,
    previous: Annotated[Optional[Path], typer.Option(help="previous solution (migration term)")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the solution here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    log: Annotated[bool, typer.Option(help="show the solver log")] = False,
) -> None:
    """Solve an instance and print status, objective, bound, gap, time and segments."""
    from .solve import solve, solver_info

    problem = _load(instance)
    try:
        solver_info(solver)
        warm = load_solution(warm_start) if warm_start else None
        prev = load_solution(previous) if previous else None
        result = solve(problem, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                       seed=seed, warm_start=warm, previous=prev, log=log)
    except (InputError, SolverError) as exc:
        _fail(str(exc))
    if output:
        save_solution(result, output)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        _print_solution(problem, result)
    if result.status.value == "error":
        raise typer.Exit(1)


def _print_solution(problem: Problem, sol: Solution) -> None:
    table = Table(title=f"{problem.name}: {sol.solver}", show_header=False)
    table.add_row("status", sol.status.value)
    table.add_row("objective", _number(sol.objective))
    table.add_row("bound", _number(sol.bound))
    gap = sol.gap
    table.add_row("gap", "-" if gap is None else f"{100 * gap:.4f} %")
    table.add_row("time", f"{sol.solve_time:.3f} s")
    if "error" in sol.info:
        table.add_row("error", str(sol.info["error"]))
    out.print(table)
    if sol.assignment:
        seg = Table(title="segments (layers are 1-based)")
        seg.add_column("workload")
        seg.add_column("segments")
        for wid in sol.assignment:
            seg.add_row(wid, ", ".join(f"{s.node}[{s.first + 1}-{s.last + 1}]" for s in sol.segments(wid)))
        out.print(seg)


@app.command("list-solvers")
def list_solvers_cmd() -> None:
    """List the registered solvers."""
    from .solve import list_solvers, solver_info

    table = Table("solver", "kind", "description")
    for name in list_solvers():
        s = solver_info(name)
        table.add_row(name, "exact" if s.exact else "heuristic", s.description)
    out.print(table)


@app.command()
def schema(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write here instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of the instance file format."""
    text = json.dumps(instance_json_schema(), indent=2) + "\n"
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)


@app.command()
def version() -> None:
    """Print the package and solver versions."""
    from .versions import versions

    for name, ver in versions().items():
        out.print(f"{name} {ver}", markup=False, highlight=False)


def main() -> None:
    app()


__all__ = ["app", "main", "dump_data"]
