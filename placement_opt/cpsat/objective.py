"""The objective of SPEC section 6, weighted, in real and in scaled integer form.

Real objective ``f`` of a model solution (``W`` = sum of workload weights)::

    f =   sum_v cx[v] x[v] + sum_t cy[t] y[t]          latency (weighted mean) + energy
        + sum_p cz[p] z[p]                              migration: fresh (layer, node) pairs
        + sum_i ca[i] active[i]                         cost: node activation
        + w_max_latency * max_w T_w                     max_latency
        + w_bottleneck * max(0, node utilisations, link utilisations)

with ``cx = w_latency * weight_w / W * latency_x + w_energy * energy_x`` (the
formulation folds raw-input and result transfers into the first and last
position's ``x``), likewise ``cy``, ``cz = w_migration * param_bytes`` for the
(layer, node) pairs not in ``SolveOptions.previous_keys``, and ``ca = w_cost *
cost_i``.

Max terms: ``M >= T_w`` for every workload and ``B >= load row`` for every node
and link, as linear inequalities, rather than ``AddMaxEquality``.  The
objective pushes ``M`` and ``B`` down, so ``M = max_w T_w`` at every optimum,
and the inequalities already carry all the propagation that matters when
minimising: the objective's upper bound (from the incumbent) bounds ``M`` and
``B`` from above, and each inequality then bounds its row, which fixes ``x``/``y``
literals.  ``AddMaxEquality`` would add the reverse direction (``M <= some
row``), a disjunction with a weak LP relaxation that only costs search effort.
The domains of ``M`` and ``B`` are capped by the SLOs and by
``max_utilization`` where those apply (a valid cap: a real-feasible solution
never exceeds them), which keeps them small.

Scaled objective ``g``: the same with every coefficient multiplied by ``S =
2**e`` and rounded down; ``M`` and ``B`` are scaled integer variables (see
:mod:`placement_opt.cpsat.scaling` for the error bound and the certificate).
"""

from __future__ import annotations

import math

import numpy as np
from ortools.sat.python import cp_model

from ..formulation import Formulation
from ..tolerance import threshold
from . import scaling
from .constraints import split_by, weighted
from .scaling import (
    MAX_BITS,
    MIN_CONSTRAINT_SLACK,
    OBJECTIVE_MARGIN,
    SUM_BITS,
    count_groups,
    exponent_at_least,
    exponent_for,
    floor_scaled,
    max_activity,
)


class ObjectiveTerms:
    """Real-valued objective coefficients of a formulation (no model needed).

    Columns follow :class:`placement_opt.cpsat.variables.Variables`: ``x``,
    ``y``, ``z``, then the activation of :attr:`active_nodes`.
    """

    def __init__(self, F: Formulation, previous_keys: np.ndarray | None = None):
        p = F.problem
        self.F = F
        weights = {t: float(v) for t, v in p.objective_weights.items() if v and v > 0}
        self.weights = weights
        wsum = float(p.workload_weight.sum())
        w_lat = weights.get("latency", 0.0) if wsum > 0 else 0.0
        w_en = weights.get("energy", 0.0)
        xw = p.workload_weight[F.x_workload] / wsum if wsum > 0 else np.zeros(F.num_x)
        yw = p.workload_weight[F.y_workload] / wsum if wsum > 0 else np.zeros(F.num_y)
        self.cx = w_lat * xw * F.x_latency + w_en * F.x_energy
        self.cy = w_lat * yw * F.y_latency + w_en * F.y_energy
        w_mig = weights.get("migration", 0.0)
        if w_mig > 0 and previous_keys is not None:
            keys = F.z_layer * p.num_nodes + F.z_node
            fresh = ~np.isin(keys, np.asarray(previous_keys, dtype=np.int64))
            self.cz = w_mig * F.z_param * fresh
        else:
            self.cz = np.zeros(F.num_z)
        w_cost = weights.get("cost", 0.0)
        hosts = np.unique(F.x_node)
        cost = w_cost * p.node_cost[hosts]
        self.active_nodes = hosts[cost > 0]
        self.ca = cost[cost > 0]

        size = p.flat.size
        self.num_columns = F.num_x + F.num_y + F.num_z + self.active_nodes.size
        self.groups = np.concatenate([
            F.x_pos, size + F.y_pos, 2 * size + np.arange(F.num_z + self.active_nodes.size)
        ]).astype(np.int64)
        self.linear = np.concatenate([self.cx, self.cy, self.cz, self.ca])

        # max_latency rows: one per workload, over its x and y columns.
        self.w_max_latency = weights.get("max_latency", 0.0)
        self.latency_rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.latency_cap = math.inf
        if self.w_max_latency > 0:
            keys = np.concatenate([F.x_workload, F.y_workload])
            cols = np.concatenate([np.arange(F.num_x), F.num_x + np.arange(F.num_y)])
            lat = np.concatenate([F.x_latency, F.y_latency])
            self.latency_rows = [(c, self.w_max_latency * a) for _, (c, a) in split_by(keys, cols, lat)]
            slo = p.workload_slo
            self.latency_cap = self.w_max_latency * threshold(float(slo.max()))

        # bottleneck rows: one per node (compute share) and per link (bytes/s over bandwidth).
        self.w_bottleneck = weights.get("bottleneck", 0.0)
        self.load_rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.load_cap = math.inf
        if self.w_bottleneck > 0:
            for _, (c, a) in split_by(F.x_node, np.arange(F.num_x), F.x_busy):
                self.load_rows.append((c, self.w_bottleneck * a))
            L = F.link_load
            for e in range(p.num_links):
                lo, hi = L.indptr[e], L.indptr[e + 1]
                if hi > lo:
                    self.load_rows.append(
                        (L.indices[lo:hi].astype(np.int64), self.w_bottleneck * L.data[lo:hi] / p.link_bandwidth[e])
                    )
            self.load_cap = self.w_bottleneck * threshold(p.max_utilization)
        self.latency_rows = [(c, a) for c, a in self.latency_rows if np.any(a != 0)]
        self.load_rows = [(c, a) for c, a in self.load_rows if np.any(a != 0)]

    # ------------------------------------------------------------- bounds
    def row_max(self, rows) -> float:
        """Largest value of any of ``rows`` (max latency or load rows)."""
        return max((max_activity(a, self.groups[c]) for c, a in rows), default=0.0)

    def max_value(self) -> float:
        """An upper bound of ``f`` over every solution of the model."""
        linear = max_activity(self.linear, self.groups)
        lat = min(self.row_max(self.latency_rows), self.latency_cap)
        load = min(self.row_max(self.load_rows), self.load_cap)
        return linear + lat + load

    def coefficient_sum(self) -> float:
        """Largest sum of absolute coefficients over the objective and its max rows
        (with the auxiliaries' upper bounds): what CP-SAT's overflow check adds up."""
        lat_ub = min(self.row_max(self.latency_rows), self.latency_cap)
        load_ub = min(self.row_max(self.load_rows), self.load_cap)
        sums = [float(self.linear.sum()) + lat_ub + load_ub]
        sums += [float(a.sum()) + lat_ub for _, a in self.latency_rows]
        sums += [float(a.sum()) + load_ub for _, a in self.load_rows]
        return max(sums) * (1 + 1e-9)

    def rounding_terms(self) -> int:
        """``E``: how many rounded-down terms can be active at once (each loses < 1 unit)."""
        F = self.F
        size = F.problem.flat.size
        x_terms = count_groups(self.cx, F.x_pos)
        y_terms = count_groups(self.cy, F.y_pos)
        z_terms = min(int(np.count_nonzero(self.cz)), size)
        a_terms = min(int(self.ca.size), size)
        lat = max((count_groups(a, self.groups[c]) for c, a in self.latency_rows), default=0)
        load = max((count_groups(a, self.groups[c]) for c, a in self.load_rows), default=0)
        return x_terms + y_terms + z_terms + a_terms + lat + load

    def lower_bound(self) -> float:
        """A cheap valid lower bound on the optimum (0 when nothing better is known).

        Per position the cheapest candidate (latency mean, energy); per global
        layer the cheapest placement (migration); per position the cheapest
        node to activate (cost); per workload the fastest path ignoring
        capacities (max latency); per position the smallest compute share
        (bottleneck).  Each term's bound is valid on its own, so their sum is.
        """
        F = self.F
        p = F.problem
        starts = F.x_start[:-1]
        if F.num_x == 0:
            return 0.0
        lb = float(np.minimum.reduceat(self.cx, starts).sum())
        if np.any(self.cz):
            per_layer: dict[int, float] = {}
            for g, c in zip(F.z_layer.tolist(), self.cz.tolist()):
                per_layer[g] = min(per_layer.get(g, math.inf), c)
            lb += sum(per_layer.values())
        if self.ca.size:
            cost_of = np.zeros(p.num_nodes)
            cost_of[self.active_nodes] = self.ca
            lb += float(np.minimum.reduceat(cost_of[F.x_node], starts).max())
        if self.w_max_latency > 0:
            per_pos = np.minimum.reduceat(F.x_latency, starts)
            per_w = np.bincount(p.flat.workload, per_pos, p.num_workloads)
            exact = F.cand.min_latency()
            if exact is not None:
                per_w = np.maximum(per_w, exact)
            lb += self.w_max_latency * float(per_w.max())
        if self.w_bottleneck > 0:
            lb += self.w_bottleneck * float(np.minimum.reduceat(F.x_busy, starts).max())
        return max(lb * (1 - 1e-12), 0.0)

    def initial_exponent(self, lower_bound: float) -> tuple[int, int, str]:
        """``(e, e_max, why)``: the scale to start with and the largest allowed."""
        top = self.max_value()
        if not (top > 0):
            return 0, 0, "objective is identically 0"
        e_max = min(exponent_for(top * (1 + 1e-9), MAX_BITS), exponent_for(self.coefficient_sum(), SUM_BITS))
        if lower_bound > 0:
            e = exponent_at_least(max(self.rounding_terms(), 1) / (scaling.OBJECTIVE_TARGET_RTOL * lower_bound))
            if e <= e_max:
                return e, e_max, f"worst-case rounding <= {scaling.OBJECTIVE_TARGET_RTOL:g} x lower bound"
            return e_max, e_max, "capped by magnitude (2**52)"
        return max(e_max - 20, min(e_max, 0)), e_max, "no positive lower bound: 2**32 x max objective, refined"

    def refined_exponent(self, e: int, e_max: int, bound: float) -> int | None:
        """A finer exponent after a failed certificate, or None if none is allowed."""
        if e >= e_max:
            return None
        if bound > 0:
            want = exponent_at_least(max(self.rounding_terms(), 1) / (scaling.OBJECTIVE_TARGET_RTOL * bound))
        else:
            want = e + 16
        return min(max(want, e + 4), e_max)

    # ---------------------------------------------------------- evaluation
    def real_value(self, cols: np.ndarray) -> float:
        """``f`` of a column vector (0/1) with the unscaled coefficients."""
        cols = np.asarray(cols, dtype=float)
        val = float(self.linear @ cols)
        if self.latency_rows:
            val += max(float(a @ cols[c]) for c, a in self.latency_rows)
        if self.load_rows:
            val += max(0.0, max(float(a @ cols[c]) for c, a in self.load_rows))
        return val


class Objective:
    """The scaled objective ``g`` in a model, at scale ``2**exponent``."""

    def __init__(self, model: cp_model.CpModel, terms: ObjectiveTerms, columns: list, exponent: int):
        self.model = model
        self.terms = terms
        self.exponent = e = exponent
        self.linear = floor_scaled(terms.linear, e, OBJECTIVE_MARGIN)
        self.latency_rows = [(c, floor_scaled(a, e, OBJECTIVE_MARGIN)) for c, a in terms.latency_rows]
        self.load_rows = [(c, floor_scaled(a, e, OBJECTIVE_MARGIN)) for c, a in terms.load_rows]
        groups = terms.groups
        self.max_latency = None
        self.bottleneck = None
        self.aux_ub: list[int] = []
        extra = []
        if self.latency_rows:
            ub = max(max_activity(a.astype(float), groups[c]) for c, a in self.latency_rows)
            ub = min(ub, _cap(terms.latency_cap, e))
            self.max_latency = model.new_int_var(0, int(ub), "max_latency_scaled")
            self.aux_ub.append(int(ub))
            for c, a in self.latency_rows:
                model.add(weighted(columns, c, a) <= self.max_latency)
            extra.append(self.max_latency)
        if self.load_rows:
            ub = max(max_activity(a.astype(float), groups[c]) for c, a in self.load_rows)
            ub = min(ub, _cap(terms.load_cap, e))
            self.bottleneck = model.new_int_var(0, int(ub), "bottleneck_scaled")
            self.aux_ub.append(int(ub))
            for c, a in self.load_rows:
                model.add(weighted(columns, c, a) <= self.bottleneck)
            extra.append(self.bottleneck)
        expr = weighted(columns, np.arange(len(columns)), self.linear)
        self.has_objective = bool(np.any(self.linear)) or bool(extra)
        if self.has_objective:
            model.minimize(expr + sum(extra))

    @property
    def aux(self) -> list:
        return [v for v in (self.max_latency, self.bottleneck) if v is not None]

    def aux_hint(self, cols: np.ndarray) -> list[int]:
        """Values of the auxiliaries for a complete 0/1 column vector."""
        out = []
        if self.max_latency is not None:
            out.append(max(int(a @ cols[c]) for c, a in self.latency_rows))
        if self.bottleneck is not None:
            out.append(max(0, max(int(a @ cols[c]) for c, a in self.load_rows)))
        return out

    def info(self) -> dict:
        t = self.terms
        e = self.exponent
        E = t.rounding_terms()
        return {
            "exponent": e,
            "scale": math.ldexp(1.0, e),
            "max_rounding_terms": E,
            "absolute_error_bound": math.ldexp(E, -e),
            "relative_error_bound": OBJECTIVE_MARGIN,
            "note": "0 <= f(x) - g(x)/scale < absolute_error_bound + relative_error_bound * f(x)",
            "max_scaled_value": int(max_activity(self.linear.astype(float), t.groups)) + sum(self.aux_ub),
        }


def _cap(real_cap: float, e: int) -> float:
    """Scaled upper bound for a max term whose real value is at most ``real_cap``."""
    if not math.isfinite(real_cap):
        return math.inf
    return math.floor(math.ldexp(real_cap * (1 + MIN_CONSTRAINT_SLACK), e))
