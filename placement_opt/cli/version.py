"""``placement-opt version``: package and solver versions."""

from __future__ import annotations

from .common import app, console


@app.command()
def version() -> None:
    """Print the package and solver versions."""
    from ..versions import versions

    for name, ver in versions().items():
        console.print(f"{name} {ver}", markup=False, highlight=False)
