"""Float comparisons with explicit tolerances: the one place they are defined.

Two machines may compute the same quantity with different last bits (numpy
picks SIMD kernels by CPU; summation orders differ).  So no verdict and no
choice may depend on those bits:

- **Feasibility** (SPEC 5, ``docs/decisions.md``): a value is within a limit
  when ``value <= limit + FEASIBILITY_RTOL * |limit|``.  The evaluator, the
  candidate pruning, the heuristics' capacity checks and the exact models'
  right-hand sides all use :func:`within` / :func:`threshold`.
- **Choices** (heuristics, dynamic programs, tie-breaks in the exact
  solvers): values within ``TIE_RTOL`` (relative, plus an optional absolute
  ``atol``) of each other are *equal*, and among equals the lowest index wins
  (:func:`argmin`, :func:`order`).  A move or a candidate counts as better only
  when it gains more than ``IMPROVEMENT_RTOL`` relative (:func:`improves`).

A perturbation of the inputs far below these tolerances (say 1e-12 relative)
therefore leaves every answer unchanged, except in the rare case that a
difference lands within rounding of a tolerance boundary.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Relative excess over a limit that still counts as within it.
FEASIBILITY_RTOL = 1e-9
#: Values this close (relative) count as equal when choosing.
TIE_RTOL = 1e-9
#: Smallest relative gain that counts as an improvement.
IMPROVEMENT_RTOL = 1e-9
#: Tolerances are clamped to this, so that ``best + tol`` keeps an infinite
#: ``best`` infinite (and never makes NaN).
_FINITE_MAX = float(np.finfo(float).max)


@overload
def threshold(limit: float) -> float: ...


@overload
def threshold(limit: ArrayLike) -> np.ndarray | float: ...


def threshold(limit: ArrayLike) -> np.ndarray | float:
    """The largest value that is still within ``limit``."""
    lim = np.asarray(limit, dtype=float)
    out = lim + FEASIBILITY_RTOL * np.abs(lim)
    return float(out) if out.ndim == 0 else out


def within(value: ArrayLike, limit: ArrayLike) -> np.ndarray | bool:
    """``value <= limit`` up to :data:`FEASIBILITY_RTOL` (elementwise; NaN is not within)."""
    out = np.asarray(value) <= threshold(limit)
    return bool(out) if np.ndim(out) == 0 else out


def exceeds(value: ArrayLike, limit: ArrayLike) -> np.ndarray | bool:
    """``value > limit`` beyond :data:`FEASIBILITY_RTOL` (elementwise; NaN exceeds)."""
    out = ~np.asarray(within(value, limit))
    return bool(out) if np.ndim(out) == 0 else out


def improves(new: float, old: float, rtol: float = IMPROVEMENT_RTOL, atol: float = 0.0) -> bool:
    """Whether ``new`` is better (smaller) than ``old`` by more than the
    tolerance; anything finite improves on ``inf``, nothing improves on ``-inf``."""
    if math.isinf(old):
        return old > 0 and new < old
    return new < old - max(rtol * abs(old), atol)


def improves_mask(new: ArrayLike, old: ArrayLike, rtol: float = IMPROVEMENT_RTOL, atol: float = 0.0) -> np.ndarray:
    """:func:`improves`, elementwise."""
    old = np.asarray(old, dtype=float)
    # margin clamped to the largest float: inf - margin stays inf (anything
    # finite improves on it), -inf - margin stays -inf (nothing does).
    margin = np.abs(old)
    margin *= rtol
    if atol:
        np.maximum(margin, atol, out=margin)
    np.minimum(margin, _FINITE_MAX, out=margin)
    return np.asarray(new, dtype=float) < old - margin


def same(a: float, b: float, rtol: float = TIE_RTOL, atol: float = 0.0) -> bool:
    """Whether ``a`` and ``b`` count as equal (both infinite of one sign, or close)."""
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= max(rtol * max(abs(a), abs(b)), atol)


def _tol(best: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    tol = np.abs(best) * rtol
    if atol:
        tol = np.maximum(tol, atol)
    return np.minimum(tol, _FINITE_MAX)


def near_min(values: ArrayLike, axis: int | None = None, rtol: float = TIE_RTOL,
             atol: float = 0.0) -> NDArray[np.bool_]:
    """Mask of the entries within tolerance of the minimum (along ``axis``)."""
    v = values if isinstance(values, np.ndarray) and values.dtype == np.float64 else np.asarray(values, dtype=float)
    if not v.size:
        return np.zeros(v.shape, dtype=bool)
    best = np.minimum.reduce(v, axis=axis, keepdims=True)
    limit = np.abs(best)  # then, in place (a hot path): best + min(max(rtol |best|, atol), max float)
    limit *= rtol
    if atol:
        np.maximum(limit, atol, out=limit)
    np.minimum(limit, _FINITE_MAX, out=limit)
    limit += best
    return v <= limit


@overload
def argmin(values: ArrayLike, axis: None = None, rtol: float = TIE_RTOL, atol: float = 0.0) -> int: ...


@overload
def argmin(values: ArrayLike, axis: int, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray: ...


def argmin(values: ArrayLike, axis: int | None = None, rtol: float = TIE_RTOL,
           atol: float = 0.0) -> np.ndarray | int:
    """Index of the minimum, the lowest index among values within tolerance of it.

    With ``axis=None`` the flat index (as :func:`numpy.argmin`), else an array
    along the other axes.  An all-``inf`` slice gives index 0 (as numpy does).
    """
    v = values if isinstance(values, np.ndarray) and values.dtype == np.float64 else np.asarray(values, dtype=float)
    if axis is None:
        return int(near_min(v.ravel(), None, rtol, atol).argmax())
    return near_min(v, axis, rtol, atol).argmax(axis=axis)


@overload
def argmax(values: ArrayLike, axis: None = None, rtol: float = TIE_RTOL, atol: float = 0.0) -> int: ...


@overload
def argmax(values: ArrayLike, axis: int, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray: ...


def argmax(values: ArrayLike, axis: int | None = None, rtol: float = TIE_RTOL,
           atol: float = 0.0) -> np.ndarray | int:
    """:func:`argmin` of ``-values``: the lowest index among near-maxima."""
    return argmin(-np.asarray(values, dtype=float), axis, rtol, atol)


def tie_groups(values: ArrayLike, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray:
    """Rank of each value's group of near-equal values (0 for the smallest).

    Sorted values are cut wherever the step from one to the next exceeds the
    tolerance of the smaller (``max(rtol |v|, atol)``); equal infinities
    share a group.
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    order_ = np.argsort(v, kind="stable")
    sv = v[order_]
    with np.errstate(invalid="ignore"):
        step = np.diff(sv)
    cut = ~(step <= _tol(sv[:-1], rtol, atol)) & (sv[1:] != sv[:-1])
    group = np.concatenate(([0], np.cumsum(cut)))
    out = np.empty(v.size, dtype=np.int64)
    out[order_] = group
    return out


def order(*keys: ArrayLike, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray:
    """Indices that sort by ``keys`` (first key first), each compared with
    tolerance (near-equal values are equal), then by index."""
    groups = [tie_groups(k, rtol, atol) for k in keys]
    size = groups[0].size if groups else 0
    return np.lexsort([np.arange(size)] + groups[::-1])


def smallest(values: ArrayLike, k: int, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray:
    """Indices of the ``k`` smallest values in :func:`order` (deterministic
    under ties, unlike :func:`numpy.argpartition`)."""
    return order(values, rtol=rtol, atol=atol)[:k]


__all__ = ["FEASIBILITY_RTOL", "IMPROVEMENT_RTOL", "TIE_RTOL", "argmax", "argmin", "exceeds", "improves",
           "improves_mask", "near_min", "order", "same", "smallest", "threshold", "tie_groups", "within"]
