"""What every command shares: the Typer app, the console and the bad-input exit.

Every command that reads a file reports bad input as one clear message (file,
field path, what is wrong) on stderr and exits with status 2, never with a
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from ..errors import InputError
from ..problem import Problem, load_instance

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Joint placement and partitioning of AI models across edge networks.",
)
# Wide enough for the tables when output is piped (rich assumes 80 columns then).
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``message`` on stderr and exit with status 2 (bad input)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(EXIT_BAD_INPUT)


def load_problem(path: Path) -> Problem:
    """Load an instance file, or exit 2 with the loader's message."""
    try:
        return load_instance(path)
    except InputError as exc:
        fail(str(exc))


def number(x: float | None, digits: int = 9) -> str:
    """A number for a table: ``digits`` significant digits, ``-`` for None."""
    return "-" if x is None else f"{x:.{digits}g}"
