"""``placement-opt validate``: check instance files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..problem import load_instance
from .common import EXIT_BAD_INPUT, app, console


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
