"""Solver-agnostic layered-graph formulation shared by the MILP and CP-SAT models.

Variables (all indexed by integers, described by numpy arrays):

``x[v]``  binary, ``v < num_x``: flat position ``x_pos[v]`` runs on node ``x_node[v]``.
    Only candidate (position, node) pairs exist (:mod:`placement_opt.candidates`).
``y[t]``  transition, ``t < num_y``: between positions ``y_pos[t]`` and
    ``y_pos[t] + 1`` the workload moves from ``y_from[t]`` to ``y_to[t] != y_from[t]``.
    With binary ``x`` the flow constraints below force ``y`` to 0/1, so MILPs may
    keep it continuous.
``z[p]``  binary: layer ``z_layer[p]`` (global index) is placed on ``z_node[p]``.

Constraints every backend must state:

- one node per position: ``sum_{v at k} x[v] = 1``;
- flow at each boundary ``k -> k+1`` and node ``j``:
  ``x[k+1, j] - x[k, j] = in_j - out_j`` with ``in``/``out`` the transitions into
  and out of ``j`` there, and at most one transition per boundary;
- placement: ``z[layer, i] >= x[v]`` for every ``v`` running that layer on ``i``.

Costs are precomputed per variable: latency contributions, node busy time, state
bytes, energy, and a sparse link-load matrix over (x, y) variables.  The layers'
raw-input and result transfers are folded into the first and last positions'
``x`` variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix

from .candidates import Candidates, candidates, transfer_matrix
from .problem import Problem
from .tolerance import argmax, within


@dataclass(frozen=True, eq=False)
class Formulation:
    problem: Problem
    cand: Candidates
    # x variables
    x_pos: np.ndarray
    x_node: np.ndarray
    x_start: np.ndarray  # x ids of position k are x_start[k] .. x_start[k+1]-1
    x_latency: np.ndarray  # compute time + raw-input / result transfer time
    x_busy: np.ndarray  # rate * compute time: share of the node's capacity
    x_state: np.ndarray
    x_energy: np.ndarray
    x_z: np.ndarray  # placement variable of each x
    # y variables (transitions between consecutive positions of one workload)
    y_pos: np.ndarray
    y_from: np.ndarray
    y_to: np.ndarray
    y_latency: np.ndarray
    y_energy: np.ndarray
    # z variables (placed weights)
    z_layer: np.ndarray
    z_node: np.ndarray
    z_param: np.ndarray
    #: link load (bytes/s) per unit of each variable: shape (num_links, num_x + num_y)
    link_load: csr_matrix

    @property
    def num_x(self) -> int:
        return int(self.x_pos.size)

    @property
    def num_y(self) -> int:
        return int(self.y_pos.size)

    @property
    def num_z(self) -> int:
        return int(self.z_layer.size)

    @cached_property
    def x_workload(self) -> np.ndarray:
        return self.problem.flat.workload[self.x_pos]

    @cached_property
    def y_workload(self) -> np.ndarray:
        return self.problem.flat.workload[self.y_pos]

    @cached_property
    def x_index(self) -> dict[tuple[int, int], int]:
        """``(position, node) -> x id``."""
        return {(int(k), int(i)): v for v, (k, i) in enumerate(zip(self.x_pos, self.x_node))}

    @cached_property
    def boundaries(self) -> np.ndarray:
        """Flat positions ``k`` that have a next position ``k+1`` in the same workload."""
        f = self.problem.flat
        last = f.offset + f.length - 1
        keep = np.ones(f.size, dtype=bool)
        keep[last] = False
        return np.flatnonzero(keep)

    @cached_property
    def y_by_boundary(self) -> dict[int, np.ndarray]:
        order = np.argsort(self.y_pos, kind="stable")
        pos = self.y_pos[order]
        cuts = np.flatnonzero(np.diff(pos)) + 1
        return {int(pos[g[0]]): g for g in np.split(order, cuts) if g.size}

    def x_of(self, k: int) -> range:
        return range(int(self.x_start[k]), int(self.x_start[k + 1]))

    def assignment_from_x(self, x_values: np.ndarray) -> np.ndarray:
        """Flat node array from (near-)binary x values: the largest per position
        (near-ties to the first candidate)."""
        out = np.empty(self.problem.flat.size, dtype=np.int64)
        for k in range(self.problem.flat.size):
            ids = self.x_of(k)
            out[k] = self.x_node[ids.start + argmax(x_values[ids.start:ids.stop])]
        return out

    def x_values_of(self, assignment: np.ndarray) -> np.ndarray | None:
        """0/1 x vector for a flat assignment; None if some pair is not a candidate."""
        vals = np.zeros(self.num_x)
        for k, i in enumerate(assignment.tolist()):
            v = self.x_index.get((k, i))
            if v is None:
                return None
            vals[v] = 1.0
        return vals

    def y_values_of(self, assignment: np.ndarray) -> np.ndarray | None:
        """0/1 y vector for a flat assignment; None if a transition is missing."""
        lookup = {(int(k), int(i), int(j)): t for t, (k, i, j) in enumerate(zip(self.y_pos, self.y_from, self.y_to))}
        vals = np.zeros(self.num_y)
        for k in self.boundaries.tolist():
            i, j = int(assignment[k]), int(assignment[k + 1])
            if i != j:
                t = lookup.get((k, i, j))
                if t is None:
                    return None
                vals[t] = 1.0
        return vals

    def z_values_of(self, assignment: np.ndarray) -> np.ndarray:
        vals = np.zeros(self.num_z)
        x = self.x_values_of(assignment)
        if x is not None:
            vals[self.x_z[x > 0.5]] = 1.0
        return vals


def build_formulation(problem: Problem, cand: Candidates | None = None) -> Formulation:
    """Index sets and coefficients of the layered-graph model for a problem."""
    p = problem
    f = p.flat
    cand = cand or candidates(p)
    mask = cand.mask
    x_pos, x_node = np.nonzero(mask)
    x_start = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    gl = f.global_layer[x_pos]
    w_of = f.workload[x_pos]
    rate = p.workload_rate[w_of]
    c = p.compute_time[gl, x_node]
    first = f.layer[x_pos] == 0
    last = f.layer[x_pos] == f.length[w_of] - 1
    src, snk = p.workload_source[w_of], p.workload_sink[w_of]
    in_bytes = p.input_bytes[p.workload_model[w_of]]
    out_bytes = p.layer_output_bytes[gl]
    routes = p.routes
    with np.errstate(divide="ignore", invalid="ignore"):
        t_in = np.where(x_node == src, 0.0, routes.latency[src, x_node] + in_bytes / routes.bandwidth[src, x_node])
        t_out = np.where(x_node == snk, 0.0, routes.latency[x_node, snk] + out_bytes / routes.bandwidth[x_node, snk])
    x_latency = c + np.where(first, t_in, 0.0) + np.where(last, t_out, 0.0)
    x_busy = np.where(rate > 0, rate * c, 0.0)
    x_state = p.layer_state_bytes[gl]
    e_in = np.where(first, rate * in_bytes * routes.energy_per_byte[src, x_node], 0.0)
    e_out = np.where(last, rate * out_bytes * routes.energy_per_byte[x_node, snk], 0.0)
    x_energy = rate * p.layer_flops[gl] * p.node_energy_per_flop[x_node] + e_in + e_out

    z_keys, x_z = np.unique(gl * p.num_nodes + x_node, return_inverse=True)
    z_layer, z_node = np.divmod(z_keys, p.num_nodes)

    y_parts = _transitions(p, cand, x_start, x_node)
    y_pos, y_from, y_to, y_latency = y_parts
    y_w = f.workload[y_pos]
    y_bytes = p.layer_output_bytes[f.global_layer[y_pos]]
    y_rate = p.workload_rate[y_w]
    y_energy = y_rate * y_bytes * routes.energy_per_byte[y_from, y_to]

    # Link loads: raw input (first x), result (last x), transitions (y).
    n_x = x_pos.size
    var = np.concatenate([np.flatnonzero(first), np.flatnonzero(last), n_x + np.arange(y_pos.size)])
    a = np.concatenate([src[first], x_node[last], y_from])
    b = np.concatenate([x_node[first], snk[last], y_to])
    load = np.concatenate([rate[first] * in_bytes[first], rate[last] * out_bytes[last], y_rate * y_bytes])
    link_load = _incidence(p, var, a, b, load, n_x + y_pos.size)

    return Formulation(
        p, cand, x_pos, x_node, x_start, x_latency, x_busy, x_state, x_energy, x_z,
        y_pos, y_from, y_to, y_latency, y_energy, z_layer, z_node, p.layer_param_bytes[z_layer], link_load,
    )


def _transitions(p: Problem, cand: Candidates, x_start, x_node):
    """Candidate transitions (k, i, j), i != j, with their transfer times."""
    f = p.flat
    mask = cand.mask
    reach = p.routes.reachable
    parts = []
    cache: dict[float, np.ndarray] = {}
    last = set((f.offset + f.length - 1).tolist())
    for k in range(f.size):
        if k in last:
            continue
        nbytes = float(p.layer_output_bytes[f.global_layer[k]])
        if nbytes not in cache:
            cache[nbytes] = transfer_matrix(p, nbytes)
        t = cache[nbytes]
        ii = np.flatnonzero(mask[k])
        jj = np.flatnonzero(mask[k + 1])
        ok = reach[np.ix_(ii, jj)] & (ii[:, None] != jj[None, :])
        if cand.forward is not None and cand.backward is not None and cand.limit is not None:
            w = f.workload[k]
            through = cand.forward[k][ii][:, None] + t[np.ix_(ii, jj)] + cand.backward[k + 1][jj][None, :]
            limit = cand.limit[w]
            ok &= within(through, limit)
        a, b = np.nonzero(ok)
        if a.size:
            parts.append((np.full(a.size, k), ii[a], jj[b], t[ii[a], jj[b]]))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        return empty_i, empty_i, empty_i, np.zeros(0)
    return tuple(np.concatenate([pt[n] for pt in parts]) for n in range(4))


def _incidence(p: Problem, var, a, b, load, n_vars) -> csr_matrix:
    """Sparse (links x vars) matrix: bytes/s each variable puts on each link."""
    routes = p.routes
    rows, cols, vals = [], [], []
    active = (a != b) & (load != 0) & (routes.hops[a, b] > 0)
    var, a, cur, load = var[active], a[active], b[active], load[active]
    while cur.size:
        rows.append(routes.pred_link[a, cur])
        cols.append(var)
        vals.append(load)
        cur = routes.pred_node[a, cur]
        keep = cur != a
        var, a, cur, load = var[keep], a[keep], cur[keep], load[keep]
    if rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    return csr_matrix((v, (r, c)), shape=(p.num_links, n_vars))
