"""``placement-opt evaluate``: score a solution file exactly as the spec says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..evaluate import evaluate
from ..solution import load_solution
from .common import app, console, fail, load_problem


@app.command("evaluate")
def evaluate_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    solution: Annotated[Path, typer.Argument(help="solution file")],
    previous: Annotated[Path | None, typer.Option(help="previous solution (migration term)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score a solution exactly as the spec says."""
    problem = load_problem(instance)
    try:
        sol = load_solution(solution)
        prev = load_solution(previous) if previous else None
        ev = evaluate(problem, sol, prev)
    except InputError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps(ev.to_dict()))
        return
    console.print(ev.summary(), markup=False, highlight=False)
