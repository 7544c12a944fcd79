"""``placement-opt generate``: a seeded scenario instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import app, console, fail


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@app.command()
def generate(
    family: Annotated[str, typer.Argument(
        help="smart-city, v2x, industrial, topology-zoo, edge-cluster; "
             "hard: memory-tight, compute-tight, multi-model, symmetric-cluster")],
    out: Annotated[Path, typer.Option("--out", "-o", help="instance file to write (.json or .yaml)")],
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    size: Annotated[str, typer.Option(help="size preset: s, m or l")] = "s",
    nodes: Annotated[int | None, typer.Option(help="number of nodes")] = None,
    workloads: Annotated[int | None, typer.Option(help="number of workloads")] = None,
    model: Annotated[str | None, typer.Option(help="catalog model name")] = None,
    param: Annotated[list[str] | None, typer.Option("--set", help="other parameter, key=value (JSON value)")] = None,
) -> None:
    """Generate a seeded scenario instance (see docs/generators.md)."""
    from ..generators import FAMILIES, HARD_FAMILIES, family_params
    from ..generators import generate as make
    from ..problem import save_instance

    params = {"nodes": nodes, "workloads": workloads, "model": model}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--set {item!r}: expected key=value")
        params[key.strip()] = _parse_value(value)
    try:
        problem = make(family, seed=seed, size=size, **params)
    except ValueError as exc:
        names = [*FAMILIES, *HARD_FAMILIES]
        if family in names:
            fail(f"generate: {exc}\n  parameters of {family}: {', '.join(family_params(family))}")
        fail(f"generate: {exc}")
    save_instance(problem, out)
    console.print(f"{out}: {problem!r}", markup=False, highlight=False)
