"""``placement-opt info``: sizes, and memory and compute supply against demand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import app, console, load_problem, number


@app.command()
def info(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Sizes of an instance, and memory and compute supply against demand."""
    from ..stats import instance_stats

    problem = load_problem(instance)
    stats = instance_stats(problem)
    if as_json:
        console.print_json(json.dumps(stats))
        return
    table = Table(title=f"{problem.name}", show_header=False)
    for key, value in stats.items():
        table.add_row(key, number(value, 6) if isinstance(value, float) else str(value))
    console.print(table)
