"""``placement-opt schema``: the JSON Schema of the instance format."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..files import write_atomically
from ..instance import instance_json_schema
from .common import app


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
) -> None:
    """Print the JSON Schema of the instance file format."""
    text = json.dumps(instance_json_schema(), indent=2) + "\n"
    if output:
        write_atomically(output, text)
    else:
        sys.stdout.write(text)
