"""Versions of the package and the solvers, recorded in every result."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def versions() -> dict[str, str]:
    out = {}
    for dist in ("placement_opt", "highspy", "pyomo", "ortools", "numpy", "networkx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out
