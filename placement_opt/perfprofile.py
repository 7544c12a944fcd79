"""Dolan–Moré performance profiles of solvers over a set of instances.

E. D. Dolan and J. J. Moré, "Benchmarking optimization software with performance
profiles", *Mathematical Programming* 91(2), 2002.  For each solver ``s`` and
factor ``tau >= 1``, the profile ``rho_s(tau)`` is the fraction of instances on
which ``s`` found a solution whose objective is within ``tau`` of the best known.

Objectives are minimised and may be zero or negative (an objective mix with
weights on several terms can be anything), so "within ``tau``" is taken in the
absolute-gap form::

    obj <= best + (tau - 1) * |best|

which is ``obj / best <= tau`` when ``best > 0``.  When ``best == 0`` only
solutions with objective 0 count, for every ``tau``.  Equivalently, each
(instance, solver) gets the ratio ``r = 1 + (obj - best) / |best|`` (``r = 1``
for ``obj == best``, ``inf`` for no solution, or for ``obj > best == 0``), and
``rho_s(tau)`` is the fraction of instances with ``r <= tau``.

Instances on which no solver (and no reference) has a finite objective are left
out: they say nothing about how solvers compare; report feasibility counts
separately.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import InputError, Issue

__all__ = ["DEFAULT_TAUS", "performance_profile", "performance_ratios"]

#: Factors at which the profile is evaluated when none are given: fine near 1,
#: where good heuristics differ (0.1 %, 1 %), coarse further out.
DEFAULT_TAUS: tuple[float, ...] = (1.0, 1.001, 1.005, 1.01, 1.02, 1.05, 1.1, 1.2, 1.5, 2.0, 5.0, 10.0)

#: Relative tolerance within which two objectives count as equal (ratio 1).
DEFAULT_RTOL = 1e-9


def performance_ratios(
    objectives: pd.DataFrame,
    *,
    best: pd.Series | None = None,
    rtol: float = DEFAULT_RTOL,
) -> pd.DataFrame:
    """Performance ratio of every (instance, solver) to the best known objective.

    Parameters
    ----------
    objectives
        Rows = instances, columns = solvers, values = objective (minimised);
        NaN or ``+inf`` where the solver returned no feasible solution.
    best
        Optional best known objective per instance (e.g. an exact solver's
        incumbent), indexed like ``objectives``; NaN where unknown.  The best
        known is the minimum of this and the row's objectives.
    rtol
        Objectives within ``rtol * |best|`` of the best count as equal to it.

    Returns
    -------
    pandas.DataFrame
        Same columns; the instances that have a finite best known objective;
        values ``1 + (obj - best) / |best|`` (``inf`` for no solution, and for
        ``obj > best == 0``).

    Raises
    ------
    InputError
        When ``objectives`` is not a DataFrame of numbers with unique solver
        names, has ``-inf`` values, or no instance has a finite objective.
    """
    values = _objective_matrix(objectives)
    best_known = _best_known(objectives, values, best)
    keep = np.isfinite(best_known)
    if not keep.any():
        raise InputError(Issue("objectives", "no instance has a feasible solution from any solver",
                               "a profile needs at least one instance with a finite objective"))
    values, best_known = values[keep], best_known[keep][:, None]
    scale = np.abs(best_known)
    excess = np.where(np.isfinite(values), values - best_known, np.inf)
    excess = np.where(excess <= rtol * scale, 0.0, excess)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(excess == 0.0, 1.0, np.where(scale > 0, 1.0 + excess / scale, np.inf))
    return pd.DataFrame(ratios, index=objectives.index[keep], columns=objectives.columns)


def performance_profile(
    objectives: pd.DataFrame,
    taus: Sequence[float] | np.ndarray | None = None,
    *,
    best: pd.Series | None = None,
    rtol: float = DEFAULT_RTOL,
) -> pd.DataFrame:
    """Dolan–Moré performance profile: fraction of instances within ``tau`` of the best.

    Parameters
    ----------
    objectives
        Rows = instances, columns = solvers, values = objective (minimised);
        NaN or ``+inf`` where the solver returned no feasible solution.
    taus
        Factors ``>= 1`` at which to evaluate the profile (sorted, duplicates
        dropped); default :data:`DEFAULT_TAUS`.
    best
        Optional best known objective per instance (see :func:`performance_ratios`).
    rtol
        Objectives within ``rtol * |best|`` of the best count as equal to it.

    Returns
    -------
    pandas.DataFrame
        Index ``tau`` (ascending), one column per solver, values the fraction of
        instances (those with a finite best known objective) on which the
        solver's objective is ``<= best + (tau - 1) * |best|``.

    Raises
    ------
    InputError
        For a malformed table (see :func:`performance_ratios`) or a ``tau`` that
        is not a finite number ``>= 1``.

    Examples
    --------
    >>> table = pd.DataFrame({"a": [1.0, 2.0], "b": [1.5, float("nan")]})
    >>> performance_profile(table, [1.0, 2.0])["b"].tolist()
    [0.0, 0.5]
    """
    grid = _check_taus(DEFAULT_TAUS if taus is None else taus)
    ratios = performance_ratios(objectives, best=best, rtol=rtol).to_numpy()
    within = ratios[None, :, :] <= np.asarray(grid)[:, None, None]
    fractions = within.mean(axis=1)
    index = pd.Index(grid, name="tau")
    return pd.DataFrame(fractions, index=index, columns=objectives.columns)


def _objective_matrix(objectives: pd.DataFrame) -> np.ndarray:
    if not isinstance(objectives, pd.DataFrame):
        raise InputError(Issue("objectives", f"expected a pandas DataFrame, got {type(objectives).__name__}"))
    if objectives.shape[1] == 0:
        raise InputError(Issue("objectives.columns", "no solver columns"))
    duplicated = objectives.columns[objectives.columns.duplicated()]
    if len(duplicated):
        raise InputError(Issue("objectives.columns", f"duplicate solver names: {sorted(map(str, set(duplicated)))}"))
    for column in objectives.columns:
        series = objectives[column]
        if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
            raise InputError(Issue(f"objectives[{column!r}]", f"values must be numbers, got dtype {series.dtype}"))
    values = objectives.to_numpy(dtype=float, na_value=np.nan)
    _refuse_minus_inf(values, objectives.index, objectives.columns, "objectives")
    return values


def _best_known(objectives: pd.DataFrame, values: np.ndarray, best: pd.Series | None) -> np.ndarray:
    finite = np.where(np.isfinite(values), values, np.inf)
    row_best = finite.min(axis=1) if values.size else np.full(len(values), np.inf)
    if best is not None:
        if not isinstance(best, pd.Series):
            raise InputError(Issue("best", f"expected a pandas Series, got {type(best).__name__}"))
        missing = objectives.index.difference(best.index)
        if len(missing):
            raise InputError(Issue("best", f"no entry for instance(s) {list(missing[:5])}",
                                   "index it like objectives; use NaN where unknown"))
        if not (pd.api.types.is_numeric_dtype(best) and not pd.api.types.is_bool_dtype(best)):
            raise InputError(Issue("best", f"values must be numbers, got dtype {best.dtype}"))
        ref = best.reindex(objectives.index).to_numpy(dtype=float, na_value=np.nan)
        _refuse_minus_inf(ref[:, None], objectives.index, pd.Index(["best"]), "best")
        row_best = np.minimum(row_best, np.where(np.isfinite(ref), ref, np.inf))
    return row_best


def _refuse_minus_inf(values: np.ndarray, index: pd.Index, columns: pd.Index, name: str) -> None:
    bad = np.argwhere(np.isneginf(values))
    if len(bad):
        row, col = bad[0]
        raise InputError(Issue(f"{name}[{columns[col]!r}][{index[row]!r}]", "objective is -inf",
                               "use NaN or +inf for 'no solution'"))


def _check_taus(taus: Sequence[float] | np.ndarray) -> list[float]:
    try:
        grid = [float(t) for t in taus]
    except (TypeError, ValueError) as exc:
        raise InputError(Issue("taus", f"expected a sequence of numbers ({exc})")) from None
    if not grid:
        raise InputError(Issue("taus", "empty"))
    for k, tau in enumerate(grid):
        if not (math.isfinite(tau) and tau >= 1.0):
            raise InputError(Issue(f"taus[{k}]", f"must be a finite number >= 1, got {taus[k]!r}"))
    return sorted(set(grid))
