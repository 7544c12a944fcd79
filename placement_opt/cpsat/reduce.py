"""Exact column reduction for CP-SAT: the LP relaxation of the CP-SAT model,
a Lagrangian bound and reduced-cost fixing.

The same idea as :mod:`placement_opt.milp.reduce` (which ``cpsat`` may not
import: both solvers sit on one layer of the import contracts), applied to the
CP-SAT model's own rows, before the CP-SAT model is built:

1. :func:`relaxation` states the model's rows as an LP over its columns (``x``,
   ``y``, ``z``, ``active``) and the objective's auxiliaries, from the same
   arrays the model is built from: one node per position, the flow equalities,
   at most one move per boundary, ``y <= x`` on both sides, ``x <= z``, ``z <=
   active``, and every scaled row the model states
   (:meth:`placement_opt.cpsat.constraints.Constraints.real_rows`: capacities,
   SLOs, segments, symmetry).  Rows the model states that the LP leaves out
   (``z => OR(x)``, ``active => OR(z)``) only make it weaker.  Its objective is
   the *real* one (:class:`placement_opt.cpsat.objective.ObjectiveTerms`), with
   ``M >= a x`` rows for the max terms.  Rows are divided by powers of two
   (exact) so that HiGHS sees coefficients near 1.
2. HiGHS solves that LP once.  From its row duals ``y``, our own arithmetic
   computes the Lagrangian bound ``L(y) = sum_r h_r(y_r) + sum_j min(d_j l_j,
   d_j u_j)``, ``d = c - A'y``, valid for *any* ``y`` by weak duality, minus a
   margin for the floating-point sums (:func:`lagrangian_bound`).

Why that is valid for the real problem: every real-feasible assignment
satisfies every scaled row (they are relaxations, see
:mod:`placement_opt.cpsat.scaling`), so its columns are feasible for the LP
and ``L <= f*``.  A 0/1 column whose forced bound ``L + max(d_j, 0)`` exceeds
the objective ``f_inc`` of a known feasible solution is 0 in every
real-feasible solution with ``f <= f_inc`` (likewise a column with ``L -
min(d_j, 0) > f_inc`` is 1 in all of them).  Fixing those keeps every solution
at least as good as the incumbent, so CP-SAT's proof on the reduced model is a
proof for the problem, and its bound stays a bound.  With symmetry breaking
the LP and the model admit only canonical plans; the incumbent is canonical
and some optimum is, so both statements hold for the canonical plans, which is
all the model admits anyway.  When ``L`` meets ``f_inc`` (relative 1e-7) the
incumbent is optimal and no CP-SAT model is built at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from ..highs import lp_highs
from .objective import ObjectiveTerms
from .variables import Layout

#: relative slack on the incumbent's objective before a column is fixed
FIX_RTOL = 1e-7
#: relative error allowed for in the floating-point sums of ``L(y)``
SUM_RTOL = 1e-12
_INF = float("inf")


@dataclass(frozen=True)
class Relaxation:
    """The LP ``min c x + offset  s.t.  lower <= A x <= upper,  lb <= x <= ub``
    over every variable of a CP-SAT model (variable index = column)."""

    A: csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    c: np.ndarray
    offset: float
    lb: np.ndarray
    ub: np.ndarray


def relaxation(V: Layout, le_rows: list[tuple[np.ndarray, np.ndarray, float]], terms: ObjectiveTerms) -> Relaxation:
    """The LP relaxation of a CP-SAT model (see the module docstring), built from
    the same arrays as the model: columns are the model's columns (``x``, ``y``,
    ``z``, ``active``) followed by the objective's auxiliaries; ``le_rows`` are
    :meth:`placement_opt.cpsat.constraints.Constraints.real_rows`."""
    F = V.F
    p = F.problem
    n = p.num_nodes
    nc = V.num_columns
    aux_rows = [g for g in (terms.latency_rows, terms.load_rows) if g]  # the order of Objective.aux
    nv = nc + len(aux_rows)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    count = 0

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        nonlocal count
        rows.append(np.asarray(r, dtype=np.int64) + count)
        cols.append(np.asarray(c, dtype=np.int64))
        vals.append(np.asarray(v, dtype=float))
        lower.append(np.asarray(lo, dtype=float))
        upper.append(np.asarray(hi, dtype=float))
        count += len(lower[-1])

    size = p.flat.size
    ones = np.ones
    # one node per position
    add(F.x_pos, np.arange(F.num_x), ones(F.num_x), ones(size), ones(size))
    b = F.boundaries
    if b.size:
        # flow: x[k+1,j] - x[k,j] = in_j - out_j at every boundary k and node j
        is_b = np.zeros(size, dtype=bool)
        is_b[b] = True
        out_x = np.flatnonzero(is_b[F.x_pos])
        in_x = np.flatnonzero((F.x_pos > 0) & is_b[np.maximum(F.x_pos - 1, 0)])
        yy = np.arange(F.num_y)
        keys = np.concatenate([F.x_pos[out_x] * n + F.x_node[out_x], (F.x_pos[in_x] - 1) * n + F.x_node[in_x],
                               F.y_pos * n + F.y_to, F.y_pos * n + F.y_from])
        uniq, r = np.unique(keys, return_inverse=True)
        add(r, np.concatenate([out_x, in_x, V.y_offset + yy, V.y_offset + yy]),
            np.concatenate([-ones(out_x.size), ones(in_x.size), -ones(F.num_y), ones(F.num_y)]),
            np.zeros(uniq.size), np.zeros(uniq.size))
        if F.num_y:
            # at most one move per boundary
            uniq, r = np.unique(F.y_pos, return_inverse=True)
            add(r, V.y_offset + yy, ones(F.num_y), np.full(uniq.size, -_INF), ones(uniq.size))
            # y[k,i,j] <= x[k,i] and y[k,i,j] <= x[k+1,j]
            x_keys = F.x_pos * n + F.x_node
            for side in (np.searchsorted(x_keys, F.y_pos * n + F.y_from),
                         np.searchsorted(x_keys, (F.y_pos + 1) * n + F.y_to)):
                add(np.concatenate([yy, yy]), np.concatenate([V.y_offset + yy, side]),
                    np.concatenate([ones(F.num_y), -ones(F.num_y)]), np.full(F.num_y, -_INF), np.zeros(F.num_y))
    # x <= z
    xx = np.arange(F.num_x)
    add(np.concatenate([xx, xx]), np.concatenate([xx, V.z_offset + F.x_z]),
        np.concatenate([ones(F.num_x), -ones(F.num_x)]), np.full(F.num_x, -_INF), np.zeros(F.num_x))
    # z <= active (nodes whose activation costs)
    if V.active_nodes.size:
        zs = np.flatnonzero(np.isin(F.z_node, V.active_nodes))
        act = V.a_offset + np.searchsorted(V.active_nodes, F.z_node[zs])
        rz = np.arange(zs.size)
        add(np.concatenate([rz, rz]), np.concatenate([V.z_offset + zs, act]),
            np.concatenate([ones(zs.size), -ones(zs.size)]), np.full(zs.size, -_INF), np.zeros(zs.size))
    # capacities, SLOs, segments, symmetry: the scaled rows as stated
    le = list(le_rows)
    # the objective's max rows, with the real coefficients: sum a x - aux <= 0
    for k, group in enumerate(aux_rows):
        for c, a in group:
            le.append((np.append(c, nc + k), np.append(a, -1.0), 0.0))
    if le:
        add(np.concatenate([np.full(c.size, r) for r, (c, _, _) in enumerate(le)]),
            np.concatenate([c for c, _, _ in le]), np.concatenate([a for _, a, _ in le]),
            np.full(len(le), -_INF), np.array([rhs for _, _, rhs in le]))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    lo, hi = np.concatenate(lower), np.concatenate(upper)
    # divide every row by a power of two near its largest coefficient (exact)
    top = np.zeros(count)
    np.maximum.at(top, r, np.abs(v))
    e = -np.frexp(np.where(top > 0, top, 1.0))[1]
    v = np.ldexp(v, e[r])
    lo, hi = np.ldexp(lo, e), np.ldexp(hi, e)
    A = csr_matrix((v, (r, c)), shape=(count, nv))
    A.sum_duplicates()
    # the real objective (not the scaled one, which is lower by up to its rounding)
    cost = np.zeros(nv)
    cost[:nc] = terms.linear
    cost[nc:] = 1.0
    lb = np.zeros(nv)
    ub = np.concatenate([ones(nc), [min(terms.row_max(g), cap) * (1 + 1e-9) + 1e-300
                                    for g, cap in ((terms.latency_rows, terms.latency_cap),
                                                   (terms.load_rows, terms.load_cap)) if g]])
    return Relaxation(A, lo, hi, cost, 0.0, lb, ub)


def lagrangian_bound(lp: Relaxation, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``L(y)`` (minus a margin for rounding), the reduced costs ``d = c - A'y``
    and a bound on the rounding error of each ``d_j``."""
    lo, hi = lp.lower, lp.upper
    y = np.where((y > 0) & np.isinf(lo), 0.0, y)
    y = np.where((y < 0) & np.isinf(hi), 0.0, y)
    d = lp.c - lp.A.T @ y
    rounding = SUM_RTOL * max(1.0, math.log2(max(lp.A.nnz, 2)))
    d_err = rounding * (np.abs(lp.c) + abs(lp.A).T @ np.abs(y))
    rows = np.where(y > 0, y * np.where(np.isinf(lo), 0.0, lo), y * np.where(np.isinf(hi), 0.0, hi))
    # an infinite column bound on the wrong side of d makes L = -inf
    if np.any((d > -d_err) & np.isinf(lp.lb)) or np.any((d < d_err) & np.isinf(lp.ub)):
        return -_INF, d, d_err
    cl = np.where(np.isinf(lp.lb), 0.0, lp.lb)
    cu = np.where(np.isinf(lp.ub), 0.0, lp.ub)
    cols = np.where(d >= 0, d * cl, d * cu)
    total = float(rows.sum() + cols.sum()) + lp.offset
    error = rounding * float(np.abs(rows).sum() + np.abs(cols).sum() + abs(total)) \
        + float((d_err * np.maximum(np.abs(cl), np.abs(cu))).sum())
    return total - error, d, d_err


@dataclass(frozen=True)
class Reduction:
    bound: float  # L(y) in real objective units (a valid lower bound)
    reduced_cost: np.ndarray  # per model variable
    reduced_cost_error: np.ndarray  # bound on the rounding error of each reduced cost
    seconds: float
    status: str
    rows: int

    def fixings(self, upper_bound: float, binary: np.ndarray, keep_one: np.ndarray,
                keep_zero: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Variables (indices) that are 0, and those that are 1, in every solution of
        objective ``<= upper_bound``.  ``binary`` marks the 0/1 variables that may
        be fixed; ``keep_one`` / ``keep_zero`` mark variables never fixed to 0 / to 1
        (the incumbent's ones / zeros, so that it stays inside the model)."""
        limit = upper_bound + FIX_RTOL * abs(upper_bound) + 1e-12
        d, err = self.reduced_cost, self.reduced_cost_error
        zero = binary & ~keep_one & (self.bound + np.maximum(d - err, 0.0) > limit)
        one = binary & ~keep_zero & (self.bound - np.minimum(d + err, 0.0) > limit)
        return np.flatnonzero(zero), np.flatnonzero(one & ~zero)


def reduce_lp(lp: Relaxation, time_limit: float, seed: int = 0, threads: int | None = None) -> Reduction | None:
    """Solve the LP relaxation and return its Lagrangian bound and reduced costs;
    None if HiGHS gives no dual solution in time."""
    t0 = time.perf_counter()
    h = lp_highs(lp.c, lp.lb, lp.ub, lp.A.tocsc(), lp.lower, lp.upper, time_limit, seed, threads)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    if not sol.dual_valid or time.perf_counter() - t0 > time_limit:
        return None
    y = np.asarray(sol.row_dual, dtype=float)
    # HiGHS's sign convention for row duals may differ from ours; both give valid bounds.
    first, second = lagrangian_bound(lp, y), lagrangian_bound(lp, -y)
    bound, d, err = first if first[0] >= second[0] else second
    return Reduction(bound, d, err, time.perf_counter() - t0, status, int(lp.lower.size))
