"""Exact column reduction before the MILP: LP duals, a Lagrangian bound and
reduced-cost fixing.

The LP relaxation of the full matrix model is solved once with HiGHS (through
highspy, on the numpy matrices, so that no Pyomo model of the full size is ever
built).  Its row duals ``y`` give, for *any* ``y``, the Lagrangian bound

    L(y) = sum_r h_r(y_r) + sum_j min(d_j * lower_j, d_j * upper_j),
    d = c - A' y,  h_r(y_r) = y_r * row_lower_r if y_r > 0 else y_r * row_upper_r,

a valid lower bound on every feasible solution (weak duality; our own
arithmetic, so HiGHS's tolerances do not weaken it).  Forcing a 0/1 column ``j``
to 1 raises it to ``L(y) + max(d_j, 0)``.  A column whose forced bound exceeds
the objective of a known solution (the incumbent) is 0 in every solution at
least as good, so it can be dropped: the reduced MILP still contains the
incumbent and every better solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from pyomo.common.tee import capture_output

from .model import MatrixModel

#: relative slack added to the incumbent objective before pruning
PRUNE_RTOL = 1e-7


@dataclass(frozen=True)
class LPBound:
    bound: float  # Lagrangian bound L(y)
    lp_objective: float  # HiGHS's LP objective (for information)
    reduced_cost: np.ndarray  # d = c - A'y
    seconds: float
    status: str

    def keep(self, upper_bound: float, integral: np.ndarray) -> np.ndarray:
        """Columns that may be non-zero in a solution with objective <= upper_bound."""
        limit = upper_bound + PRUNE_RTOL * abs(upper_bound) + 1e-12
        forced = self.bound + np.maximum(self.reduced_cost, 0.0)
        return ~integral | (forced <= limit)


def lagrangian_bound(mm: MatrixModel, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(y)`` and the reduced costs ``d`` (see the module docstring)."""
    lo, hi = mm.row_lower, mm.row_upper
    y = np.where((y > 0) & np.isinf(lo), 0.0, y)
    y = np.where((y < 0) & np.isinf(hi), 0.0, y)
    d = mm.c - mm.A.T @ y
    rows = np.where(y > 0, y * np.where(np.isinf(lo), 0.0, lo), y * np.where(np.isinf(hi), 0.0, hi))
    cl, cu = mm.cols.lower, mm.cols.upper
    cols = np.where(d >= 0, d * cl, d * cu)
    return float(rows.sum() + cols.sum()), d


def lp_bound(mm: MatrixModel, time_limit: float, seed: int = 0, threads: int | None = None) -> LPBound | None:
    """Solve the LP relaxation with HiGHS and turn its duals into :class:`LPBound`.

    Returns None when the LP could not be solved within the time limit.
    """
    t0 = time.perf_counter()
    with capture_output(capture_fd=True):  # highspy prints a banner on creation
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", int(seed) % 2147483647)
    if np.isfinite(time_limit):
        h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    lp = highspy.HighsLp()
    n, m = mm.cols.size, mm.A.shape[0]
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = mm.c
    lp.col_lower_ = mm.cols.lower
    lp.col_upper_ = mm.cols.upper
    lp.row_lower_ = mm.row_lower
    lp.row_upper_ = mm.row_upper
    A = mm.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if not sol.dual_valid:
        return None
    y = np.asarray(sol.row_dual)
    # HiGHS's sign convention for row duals may differ from ours; both signs
    # give valid bounds, so take the better.
    (b1, d1), (b2, d2) = lagrangian_bound(mm, y), lagrangian_bound(mm, -y)
    bound, d = (b1, d1) if b1 >= b2 else (b2, d2)
    info = h.getInfo()
    return LPBound(bound, float(info.objective_function_value), d, time.perf_counter() - t0, status)
