"""The ``placement-opt`` command line: one module per command.

:mod:`.common` holds the Typer app, the console and the bad-input exit (status
2); each command module adds its command to the app when imported.
"""

from __future__ import annotations

from . import (
    batch,
    bks,
    demo,
    evaluate,
    generate,
    info,
    replay,
    schema,
    solve,
    solvers,
    validate,
    version,
)
from .common import app

COMMANDS = (validate, info, evaluate, solve, solvers, schema, generate, demo, version, batch, bks, replay)


def main() -> None:
    """Run the command line."""
    app()


__all__ = ["COMMANDS", "app", "main"]
