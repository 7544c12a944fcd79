"""Versions of the package and the solvers, recorded in every result."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

#: The package version (also ``placement_opt.__version__``).
__version__ = "0.1.0"


@cache
def versions() -> dict[str, str]:
    out = {}
    for dist in ("placement_opt", "highspy", "pyomo", "ortools", "numpy", "networkx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out
