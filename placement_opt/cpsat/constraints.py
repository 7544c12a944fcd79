"""The constraints of SPEC section 5 as CP-SAT constraints.

Structure (pure Boolean, exact):

- one node per position: ``AddExactlyOne`` over the position's ``x``;
- flow at every boundary ``k -> k+1`` and node ``j``:
  ``x[k+1,j] - x[k,j] = sum(y into j) - sum(y out of j)``, plus ``AddAtMostOne``
  over the boundary's ``y`` and the implications ``y[k,i,j] => x[k,i]`` and
  ``y[k,i,j] => x[k+1,j]`` (implied, but binary clauses propagate at once and
  keep learned clauses short).  The equalities give the LP relaxation of a
  shortest-path flow, which is integral per workload;
- placement: ``x => z`` for the layer and node it runs, and ``z => OR(x)`` (no
  weights placed without a use, so ``z`` is exactly "placed");
- activation (only for nodes whose activation costs): ``z => active`` and
  ``active => OR(z)``;
- ``max_segments``: ``sum(y of w) <= max_segments - 1``;
- ``one_segment_per_node``: ``AddAtMostOne(x[first of w, j], y into j of w)``
  for every workload and node: a segment on ``j`` starts either at the first
  position or with a move into ``j``.

Real-valued rows (memory with weights shared through ``z``, compute, link loads
over the fixed routes with undirected capacity shared by both directions, SLOs)
are scaled to integers as a relaxation (:func:`placement_opt.cpsat.scaling.scale_le_row`);
rows that can never be violated are left out.  Privacy, availability and
reachability are not rows at all: :mod:`placement_opt.candidates` already removed
every ``x`` (and ``y``) they forbid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from ..formulation import Formulation
from .scaling import scale_le_row
from .variables import Layout, Variables


def weighted(columns: list, idx: np.ndarray, coefs: np.ndarray) -> cp_model.LinearExpr:
    """``sum coefs[k] * columns[idx[k]]`` over non-zero coefficients."""
    nz = coefs != 0
    idx, coefs = idx[nz], coefs[nz]
    return cp_model.LinearExpr.weighted_sum([columns[c] for c in idx.tolist()], coefs.tolist())


def split_by(keys: np.ndarray, *arrays: np.ndarray):
    """Yield ``(key, arrays restricted to key)`` for every distinct key, ascending."""
    if keys.size == 0:
        return
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    cuts = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [k.size]])
    sorted_arrays = [a[order] for a in arrays]
    for s, e in zip(starts.tolist(), ends.tolist()):
        yield int(k[s]), [a[s:e] for a in sorted_arrays]


class Constraints:
    """Adds every constraint of SPEC 5 to a model (see the module docstring)."""

    def __init__(self, model: cp_model.CpModel | None, F: Formulation, V: Variables | Layout,
                 classes: Sequence[Sequence[int]] = ()):
        #: None: only :meth:`real_rows` may be called
        self.model: Any = model
        self.F = F
        self.V: Any = V
        self.p = F.problem
        #: per row kind: rows stated, rows skipped as never binding, worst relative excess, exponents
        self.scaling: dict[str, dict] = {}
        self.num_no_goods = 0
        self.classes = classes
        #: the rows ``sum coefs * columns[cols] <= rhs`` stated beyond the Boolean
        #: structure (capacities, SLOs, segments, symmetry), for the LP relaxation
        #: of :mod:`placement_opt.cpsat.reduce`
        self.le_rows: list[tuple[np.ndarray, np.ndarray, float]] = []

    # ------------------------------------------------------------------ all
    def add_all(self) -> None:
        self.one_node_per_position()
        self.flow()
        self.placement()
        self.activation()
        self.linear_rows()

    def linear_rows(self) -> None:
        """The rows recorded in :attr:`le_rows` (capacities, SLOs, segments, symmetry)."""
        self.memory()
        self.compute()
        self.links()
        self.slo()
        self.max_segments()
        self.one_segment_per_node()
        self.symmetry()

    def real_rows(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Only the rows of :attr:`le_rows`, without a model (``model`` None)."""
        self.linear_rows()
        return self.le_rows

    # -------------------------------------------------------------- Boolean
    def symmetry(self) -> None:
        """Within a class of interchangeable nodes (:mod:`placement_opt.symmetry`),
        nodes in index order run non-increasing numbers of positions."""
        F = self.F
        for members in self.classes:
            for a, b in zip(members[:-1], members[1:]):
                xa, xb = np.flatnonzero(F.x_node == a), np.flatnonzero(F.x_node == b)
                if self.model is not None:
                    x = self.V.x
                    self.model.add(sum(x[v] for v in xa.tolist()) >= sum(x[v] for v in xb.tolist()))
                self.le_rows.append((np.concatenate([xb, xa]),
                                     np.concatenate([np.ones(xb.size), -np.ones(xa.size)]), 0.0))

    def one_node_per_position(self) -> None:
        x = self.V.x
        starts = self.F.x_start.tolist()
        for k in range(self.p.flat.size):
            self.model.add_exactly_one(x[starts[k] : starts[k + 1]])

    def flow(self) -> None:
        F, V, m = self.F, self.V, self.model
        n = self.p.num_nodes
        b = F.boundaries
        if b.size == 0:
            return
        # x of positions k (-1) and k+1 (+1) per boundary k, by node.
        is_b = np.zeros(self.p.flat.size, dtype=bool)
        is_b[b] = True
        out_x = np.flatnonzero(is_b[F.x_pos])  # x at a boundary's left side
        in_x = np.flatnonzero((F.x_pos > 0) & is_b[np.maximum(F.x_pos - 1, 0)])
        ny = F.num_y
        yy = np.arange(ny)
        rows = np.concatenate([
            F.x_pos[out_x] * n + F.x_node[out_x],
            (F.x_pos[in_x] - 1) * n + F.x_node[in_x],
            F.y_pos * n + F.y_to,
            F.y_pos * n + F.y_from,
        ])
        cols = np.concatenate([out_x, in_x, V.y_offset + yy, V.y_offset + yy])
        coef = np.concatenate([
            -np.ones(out_x.size, dtype=np.int64),
            np.ones(in_x.size, dtype=np.int64),
            -np.ones(ny, dtype=np.int64),
            np.ones(ny, dtype=np.int64),
        ])
        cl = V.columns
        for _, (c, a) in split_by(rows, cols, coef):
            m.add(cp_model.LinearExpr.weighted_sum([cl[i] for i in c.tolist()], a.tolist()) == 0)
        if ny == 0:
            return
        y = V.y
        for _, (ids,) in split_by(F.y_pos, yy):
            if ids.size > 1:
                m.add_at_most_one([y[t] for t in ids.tolist()])
        # y[k,i,j] => x[k,i] and y[k,i,j] => x[k+1,j]
        x_keys = F.x_pos * n + F.x_node
        left = np.searchsorted(x_keys, F.y_pos * n + F.y_from)
        right = np.searchsorted(x_keys, (F.y_pos + 1) * n + F.y_to)
        x = V.x
        for t, i, j in zip(range(ny), left.tolist(), right.tolist()):
            m.add_implication(y[t], x[i])
            m.add_implication(y[t], x[j])

    def placement(self) -> None:
        F, V, m = self.F, self.V, self.model
        x, z = V.x, V.z
        for v, p in enumerate(F.x_z.tolist()):
            m.add_implication(x[v], z[p])
        for p, (vs,) in split_by(F.x_z, np.arange(F.num_x)):
            m.add_bool_or([z[p].Not()] + [x[v] for v in vs.tolist()])

    def activation(self) -> None:
        F, V, m = self.F, self.V, self.model
        if not V.active:
            return
        z = V.z
        for a, i in enumerate(V.active_nodes.tolist()):
            zs = np.flatnonzero(F.z_node == i).tolist()
            act = V.active[a]
            for p in zs:
                m.add_implication(z[p], act)
            m.add_bool_or([act.Not()] + [z[p] for p in zs])

    def max_segments(self) -> None:
        F, V = self.F, self.V
        p = self.p
        limit = p.workload_max_segments
        for w, (ts,) in split_by(F.y_workload, np.arange(F.num_y)):
            moves_allowed = int(limit[w]) - 1
            if moves_allowed < int(p.flat.length[w]) - 1:
                if self.model is not None:
                    self.model.add(sum(V.y[t] for t in ts.tolist()) <= moves_allowed)
                self.le_rows.append((V.y_offset + ts, np.ones(ts.size), float(moves_allowed)))

    def one_segment_per_node(self) -> None:
        if not self.p.one_segment_per_node:
            return
        F, V = self.F, self.V
        n = self.p.num_nodes
        first = F.problem.flat.offset
        is_first = np.zeros(self.p.flat.size, dtype=bool)
        is_first[first] = True
        fx = np.flatnonzero(is_first[F.x_pos])
        keys = np.concatenate([F.x_workload[fx] * n + F.x_node[fx], F.y_workload * n + F.y_to])
        cols = np.concatenate([fx, V.y_offset + np.arange(F.num_y)])
        for _, (c,) in split_by(keys, cols):
            if c.size > 1:
                if self.model is not None:
                    cl = V.columns
                    self.model.add_at_most_one([cl[i] for i in c.tolist()])
                self.le_rows.append((c, np.ones(c.size), 1.0))

    # ---------------------------------------------------------- real rows
    def _row(self, kind: str, cols: np.ndarray, coefs: np.ndarray, limit: float) -> None:
        info = self.scaling.setdefault(kind, {"rows": 0, "never_binding": 0, "max_excess": 0.0,
                                              "exponents": [None, None]})
        cols = np.asarray(cols, dtype=np.int64)
        coefs = np.asarray(coefs, dtype=float)
        row = scale_le_row(coefs, self.V.groups[cols], float(limit))
        if row is None:
            info["never_binding"] += 1
            return
        info["rows"] += 1
        info["max_excess"] = max(info["max_excess"], row.max_excess)
        lo, hi = info["exponents"]
        info["exponents"] = [row.exponent if lo is None else min(lo, row.exponent),
                             row.exponent if hi is None else max(hi, row.exponent)]
        if self.model is not None:
            self.model.add(weighted(self.V.columns, cols, row.coefs) <= row.rhs)
        self.le_rows.append((cols, row.coefs.astype(float), float(row.rhs)))

    def memory(self) -> None:
        F, V, p = self.F, self.V, self.p
        keys = np.concatenate([F.z_node, F.x_node])
        cols = np.concatenate([V.z_offset + np.arange(F.num_z), np.arange(F.num_x)])
        coefs = np.concatenate([F.z_param, F.x_state])
        for i, (c, a) in split_by(keys, cols, coefs):
            self._row("memory", c, a, p.node_memory[i])

    def compute(self) -> None:
        F, p = self.F, self.p
        for _node, (c, a) in split_by(F.x_node, np.arange(F.num_x), F.x_busy):
            self._row("compute", c, a, p.max_utilization)

    def links(self) -> None:
        p, L = self.p, self.F.link_load
        cap = p.max_utilization * p.link_bandwidth
        for e in range(p.num_links):
            lo, hi = L.indptr[e], L.indptr[e + 1]
            if hi > lo:
                self._row("link", L.indices[lo:hi], L.data[lo:hi], cap[e])

    def slo(self) -> None:
        F, V, p = self.F, self.V, self.p
        slo = p.workload_slo
        keys = np.concatenate([F.x_workload, F.y_workload])
        cols = np.concatenate([np.arange(F.num_x), V.y_offset + np.arange(F.num_y)])
        coefs = np.concatenate([F.x_latency, F.y_latency])
        for w, (c, a) in split_by(keys, cols, coefs):
            if np.isfinite(slo[w]):
                self._row("slo", c, a, slo[w])

    # -------------------------------------------------------------- no-good
    def add_no_good(self, assignment: np.ndarray) -> bool:
        """Forbid one assignment (all positions at once).  False if it has a
        position outside the candidates (then the model cannot produce it)."""
        F, n = self.F, self.p.num_nodes
        keys = F.x_pos * n + F.x_node
        want = np.arange(self.p.flat.size) * n + np.asarray(assignment, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, want), F.num_x - 1)
        if not np.array_equal(keys[at], want):
            return False
        self.model.add_bool_or([self.V.x[v].Not() for v in at.tolist()])
        self.num_no_goods += 1
        return True

