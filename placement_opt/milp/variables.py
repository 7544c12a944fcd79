"""MILP columns over the shared layered-graph formulation.

The model is assembled as matrices first (so that it can be reduced cheaply
before Pyomo sees it) and then turned into a Pyomo model whose variables are
indexed by ids, so that users adding constraints can write
``m.x["cam-1", 3, "mec-2"]`` (workload, 0-based layer, node):

- ``m.x[w, l, i]``     binary: layer ``l`` of workload ``w`` runs on node ``i``;
- ``m.y[w, l, i, j]``  in [0, 1]: ``w`` moves from ``i`` to ``j != i`` after layer
  ``l`` (integral whenever ``x`` is, see :mod:`placement_opt.formulation`);
- ``m.z[mdl, l, i]``   binary: layer ``l`` of model ``mdl`` is placed on ``i``
  (only layers with weights);
- ``m.latency[w]``     seconds;
- ``m.max_latency``, ``m.bottleneck`` and ``m.hosting[i]`` (node ``i`` hosts
  something) when the ``max_latency``, ``bottleneck`` and ``cost`` terms are
  weighted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formulation import Formulation

X, Y, Z, LATENCY, MAX_LATENCY, BOTTLENECK, HOSTING = range(7)
KIND_NAMES = ("x", "y", "z", "latency", "max_latency", "bottleneck", "hosting")


@dataclass(frozen=True, eq=False)
class Columns:
    """All columns of the model: kind, index within the kind, bounds, integrality.

    Columns are laid out kind after kind; ``start[kind]`` is the first column of
    a kind (``start[kind + 1]`` ends it).  ``z_col[p]`` is the column of
    placement ``p`` of the formulation (-1 for layers without weights).
    """

    F: Formulation
    kind: np.ndarray
    ref: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    start: np.ndarray
    z_col: np.ndarray

    @property
    def size(self) -> int:
        return int(self.kind.size)

    def of(self, kind: int) -> np.ndarray:
        return np.arange(self.start[kind], self.start[kind + 1])

    def first(self, kind: int) -> int:
        return int(self.start[kind])

    def count(self, kind: int) -> int:
        return int(self.start[kind + 1] - self.start[kind])


def latency_upper_bounds(F: Formulation) -> np.ndarray:
    """A finite upper bound on each workload's latency: its SLO, or the sum of
    the slowest candidate per layer and transition."""
    p = F.problem
    slowest = np.zeros(p.flat.size)
    np.maximum.at(slowest, F.x_pos, F.x_latency)
    moves = np.zeros(p.flat.size)
    np.maximum.at(moves, F.y_pos, F.y_latency)
    total = np.bincount(p.flat.workload, slowest + moves, p.num_workloads)
    return np.minimum(total, p.workload_slo)


def build_columns(F: Formulation, weights: dict[str, float]) -> Columns:
    p = F.problem
    z_ids = np.flatnonzero(F.z_param > 0)
    lat_ub = latency_upper_bounds(F)
    sizes = [F.num_x, F.num_y, z_ids.size, p.num_workloads,
             int(weights.get("max_latency", 0) > 0), int(weights.get("bottleneck", 0) > 0)]
    costly = np.zeros(0, dtype=np.int64)
    if weights.get("cost", 0) > 0:
        used = np.unique(F.x_node)
        costly = used[p.node_cost[used] > 0]
    sizes.append(costly.size)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    kind = np.repeat(np.arange(7), sizes)
    ref = np.concatenate([np.arange(F.num_x), np.arange(F.num_y), z_ids, np.arange(p.num_workloads),
                          np.zeros(sizes[4], dtype=np.int64), np.zeros(sizes[5], dtype=np.int64), costly])
    upper = np.ones(start[-1])
    upper[start[LATENCY]:start[LATENCY + 1]] = lat_ub
    if sizes[4]:
        upper[start[MAX_LATENCY]] = lat_ub.max()
    if sizes[5]:
        upper[start[BOTTLENECK]] = _bottleneck_bound(F)
    integer = np.isin(kind, (X, Z, HOSTING))
    z_col = -np.ones(F.num_z, dtype=np.int64)
    z_col[z_ids] = start[Z] + np.arange(z_ids.size)
    return Columns(F, kind, ref.astype(np.int64), np.zeros(start[-1]), upper, integer, start, z_col)


def _bottleneck_bound(F: Formulation) -> float:
    """Largest utilisation any node or link could reach (all candidates at once)."""
    p = F.problem
    node = np.bincount(F.x_node, F.x_busy, p.num_nodes).max(initial=0.0)
    link = 0.0
    if p.num_links:
        link = (np.asarray(F.link_load.sum(axis=1)).ravel() / p.link_bandwidth).max(initial=0.0)
    return float(max(node, link, 1.0))
