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

import numpy as np
from scipy.sparse import coo_matrix

from ..highs import lp_highs
from .constraints import leave_cuts, stay_limits
from .model import MatrixModel
from .variables import X, Y

#: relative slack added to the incumbent objective before pruning
PRUNE_RTOL = 1e-7


@dataclass(frozen=True)
class LPBound:
    bound: float  # Lagrangian bound L(y)
    lp_objective: float  # HiGHS's LP objective (for information)
    reduced_cost: np.ndarray  # d = c - A'y
    seconds: float
    status: str
    model: MatrixModel  # the matrix model with the cuts that were added
    cuts: int = 0
    rounds: int = 0

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


#: separation rounds of "must leave" cuts in the LP pre-pass
CUT_ROUNDS = 12
#: a cut is added when the LP violates it by more than this
CUT_VIOLATION = 1e-4


def _violated_leave_cuts(mm: MatrixModel, values: np.ndarray, limit: np.ndarray, to_end: np.ndarray,
                         done: np.ndarray) -> np.ndarray:
    """x columns whose "must leave" cut the LP solution violates."""
    F, cols = mm.F, mm.cols
    p = F.problem
    n = p.num_nodes
    xv = values[cols.of(X)]
    yv = values[cols.of(Y)]
    out = np.zeros((p.flat.size + 1, n))
    np.add.at(out, (F.y_pos + 1, F.y_from), yv)
    cum = np.cumsum(out, axis=0)  # cum[k, i] = flow leaving i after positions < k
    a = F.x_pos
    window = cum[a + limit, F.x_node] - cum[a, F.x_node]
    return np.flatnonzero(~to_end & ~done & (xv - window > CUT_VIOLATION))


def lp_bound(mm: MatrixModel, time_limit: float, seed: int = 0, threads: int | None = None,
             cuts: bool = True) -> LPBound | None:
    """Solve the LP relaxation with HiGHS, strengthened by rounds of violated
    "must leave" cuts (:func:`placement_opt.milp.constraints.leave_cuts`), and
    turn its duals into :class:`LPBound`.  Returns None when the LP could not be
    solved within the time limit."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    h = lp_highs(mm.c, mm.cols.lower, mm.cols.upper, mm.A.tocsc(), mm.row_lower, mm.row_upper,
                 time_limit, seed, threads)
    h.run()
    # (without cuts there are no cut rounds, and the stay limits are not needed)
    limit, to_end = stay_limits(mm.F) if cuts else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    added = np.zeros(mm.F.num_x, dtype=bool)
    order_added: list[np.ndarray] = []
    rounds = 0
    model = mm
    while cuts and rounds < CUT_ROUNDS and time.perf_counter() < deadline:
        sol = h.getSolution()
        if not sol.value_valid:
            break
        new = _violated_leave_cuts(mm, np.asarray(sol.col_value), limit, to_end, added)
        if new.size == 0:
            break
        blk = leave_cuts(mm.F, mm.cols, new, limit[new])
        A = coo_matrix((blk.val, (blk.row, blk.col)), shape=(blk.num_rows, mm.cols.size)).tocsr()
        h.addRows(blk.num_rows, blk.lower, blk.upper, A.nnz, A.indptr[:-1].astype(np.int32),
                  A.indices.astype(np.int32), A.data)
        h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
        h.run()
        added[new] = True
        order_added.append(new)
        rounds += 1
    if added.any():
        xs = np.flatnonzero(added)
        model = mm.with_blocks([leave_cuts(mm.F, mm.cols, xs, limit[xs])])
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if not sol.dual_valid or time.perf_counter() > deadline:
        return None
    order = np.concatenate(order_added) if order_added else np.zeros(0, dtype=np.int64)
    y = _cut_duals_by_column(mm.A.shape[0], np.asarray(sol.row_dual), order)
    # HiGHS's sign convention for row duals may differ from ours; both signs
    # give valid bounds, so take the better.
    (b1, d1), (b2, d2) = lagrangian_bound(model, y), lagrangian_bound(model, -y)
    bound, d = (b1, d1) if b1 >= b2 else (b2, d2)
    info = h.getInfo()
    return LPBound(bound, float(info.objective_function_value), d, time.perf_counter() - t0, status, model,
                   int(added.sum()), rounds)


def _cut_duals_by_column(base_rows: int, duals: np.ndarray, order_added: np.ndarray) -> np.ndarray:
    """HiGHS holds the cut rows in the order they were added, round by round;
    the final model lists them by x column.  Reorder the duals to match."""
    if order_added.size == 0:
        return duals
    return np.concatenate([duals[:base_rows], duals[base_rows:][np.argsort(order_added)]])
