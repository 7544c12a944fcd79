"""``placement-opt list-solvers``: the registered solvers and their options."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .common import app, console


def _shown(value: object) -> str:
    if callable(value):
        return getattr(value, "__name__", repr(value))
    return repr(value)


@app.command("list-solvers")
def list_solvers_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the solvers, each with its options (name, type and default).

    Pass an option as ``solve(problem, NAME, option=value)`` in Python.
    """
    from ..backend import list_solvers, param_types, solver_info

    rows: list[dict[str, Any]] = []  # as printed with --json
    for name in list_solvers():
        s = solver_info(name)
        types = param_types(s.params)
        options = [{"name": k, "type": types[k], "default": _shown(v)} for k, v in s.defaults().items()]
        rows.append({"solver": name, "kind": s.kind, "description": s.description, "options": options})
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("solver", "kind", "description", "options (type = default)")
    for row in rows:
        opts = "\n".join(f"{o['name']}: {o['type']} = {o['default']}" for o in row["options"]) or "-"
        table.add_row(row["solver"], row["kind"], escape(row["description"]), escape(opts))
    console.print(table)
