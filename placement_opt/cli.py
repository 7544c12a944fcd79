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
# Wide enough for the tables when output is piped (rich assumes 80 columns then).
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
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
            console.print(f"{path}: ok ({problem!r})", markup=False, highlight=False)
        except InputError as exc:
            bad += 1
            sys.stderr.write(str(exc) + "\n")
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
        console.print_json(json.dumps(stats))
        return
    table = Table(title=f"{problem.name}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, _number(value, 6) if isinstance(value, float) else str(value))
    console.print(table)


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
        console.print_json(json.dumps(ev.to_dict()))
        return
    console.print(ev.summary(), markup=False, highlight=False)


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
        console.print_json(json.dumps(result.to_dict()))
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
    console.print(table)
    if sol.assignment:
        seg = Table(title="segments (layers are 1-based)")
        seg.add_column("workload")
        seg.add_column("segments")
        for wid in sol.assignment:
            seg.add_row(wid, ", ".join(f"{s.node}[{s.first + 1}-{s.last + 1}]" for s in sol.segments(wid)))
        console.print(seg)


@app.command("list-solvers")
def list_solvers_cmd() -> None:
    """List the registered solvers."""
    from .solve import list_solvers, solver_info

    table = Table("solver", "kind", "description")
    for name in list_solvers():
        s = solver_info(name)
        table.add_row(name, "exact" if s.exact else "heuristic", s.description)
    console.print(table)


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


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@app.command()
def generate(
    family: Annotated[str, typer.Argument(help="smart-city, v2x, industrial or topology-zoo")],
    out: Annotated[Path, typer.Option("--out", "-o", help="instance file to write (.json or .yaml)")],
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    size: Annotated[str, typer.Option(help="size preset: s, m or l")] = "s",
    nodes: Annotated[Optional[int], typer.Option(help="number of nodes")] = None,
    workloads: Annotated[Optional[int], typer.Option(help="number of workloads")] = None,
    model: Annotated[Optional[str], typer.Option(help="catalog model name")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--set", help="other parameter, key=value (JSON value)")] = None,
) -> None:
    """Generate a seeded scenario instance (see docs/generators.md)."""
    from .generators import FAMILIES, family_params, generate as make
    from .problem import save_instance

    params = {"nodes": nodes, "workloads": workloads, "model": model}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            _fail(f"--set {item!r}: expected key=value")
        params[key.strip()] = _parse_value(value)
    try:
        problem = make(family, seed=seed, size=size, **params)
    except ValueError as exc:
        known = ", ".join(family_params(family)) if family in FAMILIES else ", ".join(FAMILIES)
        _fail(f"generate: {exc}\n  known: {known}")
    save_instance(problem, out)
    console.print(f"{out}: {problem!r}", markup=False, highlight=False)


@app.command()
def demo(
    instance: Annotated[Optional[Path], typer.Argument(help="instance file (default: a generated smart-city instance)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds per solver")] = 60.0,
) -> None:
    """Solve one instance with every solver and print the comparison."""
    from .generators import generate as make
    from .solve import list_solvers, solve, solver_info

    problem = _load(instance) if instance else make("smart-city", seed=0, size="s")
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
                      _number(sol.objective, 7), _number(sol.bound, 7),
                      "-" if gap is None else f"{100 * gap:.3f} %", str(sol.feasible), f"{sol.solve_time:.2f}")
    console.print(table)
    if best is not None:
        console.print(f"best plan ({best.solver}):", markup=False)
        console.print(best.summary(), markup=False, highlight=False)


@app.command()
def version() -> None:
    """Print the package and solver versions."""
    from .versions import versions

    for name, ver in versions().items():
        console.print(f"{name} {ver}", markup=False, highlight=False)


# Commands that live in their own modules; each module defines ``register(app)``.
_COMMAND_MODULES = ("placement_opt.cli_replay", "placement_opt.cli_batch", "placement_opt.cli_bks")


def _register_commands() -> None:
    import importlib

    for module in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(app)


_register_commands()


def main() -> None:
    app()


__all__ = ["app", "main", "dump_data"]
