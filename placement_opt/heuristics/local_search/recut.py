"""Minimax re-cut: the best cut points of one workload for a fixed node order.

With a ``bottleneck`` objective (the largest utilisation over nodes and links),
moving one cut point at a time stalls: shifting a layer off the slowest stage
overloads its neighbour before the chain of stages behind it can follow.  For
one workload whose segments run on distinct nodes ``n_1 .. n_k`` in that
order, the cut points that minimise the largest utilisation the workload
touches (its stages' nodes and the links between consecutive stages, on top
of what every other workload puts there) solve a linear-partition dynamic
program, ``O(k * layers^2)``.  A candidate is kept only when the evaluator finds
it feasible with a lower objective than before, so the post-pass never makes
an answer worse and every other term (latency, SLOs, memory, ...) still counts.
"""

from __future__ import annotations

import time

import numpy as np

from ... import segments
from ... import tolerance as tol
from ...evaluate import evaluate_array
from ...problem import Problem

INF = np.inf


def _base_loads(p: Problem, x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node busy time, link load and memory of everything but ``w``'s layers
    and ``w``'s transfers between its own layers; and which weights others place."""
    f = p.flat
    mask = f.workload != w
    gl, xo = f.global_layer[mask], x[mask]
    rate = p.workload_rate[f.workload[mask]]
    busy = np.bincount(xo, np.where(rate > 0, rate * p.compute_time[gl, xo], 0.0), p.num_nodes)
    keys = np.unique(gl * p.num_nodes + xo)
    placed = np.zeros(p.num_global_layers * p.num_nodes, dtype=bool)
    placed[keys] = True
    k_layer, k_node = np.divmod(keys, p.num_nodes)
    memory = np.bincount(k_node, p.layer_param_bytes[k_layer], p.num_nodes) \
        + np.bincount(xo, p.layer_state_bytes[gl], p.num_nodes)
    ext = np.concatenate([x, p.workload_source, p.workload_sink])
    t_src, t_dst = ext[f.transfer_from], ext[f.transfer_to]
    span = f.span(w)
    inner = np.zeros(f.transfer_from.size, dtype=bool)
    own = np.flatnonzero(f.transfer_workload == w)
    inner[own[(f.transfer_from[own] >= span.start) & (f.transfer_to[own] < span.stop)]] = True
    load = np.where(inner, 0.0, p.workload_rate[f.transfer_workload] * f.transfer_bytes)
    links = p.routes.link_loads(t_src, t_dst, load, p.num_links) if p.num_links else np.zeros(0)
    return busy, links, memory, placed.reshape(p.num_global_layers, p.num_nodes)


def recut(p: Problem, x: np.ndarray, w: int) -> np.ndarray | None:
    """New node-per-layer path of ``w`` with the same node order and the
    minimax cut points, or None when ``w`` revisits a node or nothing fits."""
    path = x[p.flat.span(w)]
    length = path.size
    nodes = path[segments.starts(path)]
    k = nodes.size
    if k < 2 or np.unique(nodes).size < k:
        return None
    gl = p.flat.global_layers(w)
    rate = float(p.workload_rate[w])
    busy, link_load, memory, placed = _base_loads(p, x, w)
    # Prefix sums per stage node: busy time and memory of layers [0, e).
    c = p.compute_time[gl][:, nodes] * rate if rate > 0 else np.zeros((length, k))
    load = np.vstack([np.zeros(k), np.cumsum(c, axis=0)])
    need = p.layer_state_bytes[gl][:, None] + np.where(placed[gl][:, nodes], 0.0, p.layer_param_bytes[gl][:, None])
    mem = np.vstack([np.zeros(k), np.cumsum(need, axis=0)])
    room = tol.threshold(p.node_memory[nodes]) - memory[nodes]
    base_util = busy[nodes]
    # Link utilisation of the transfer into stage j when the cut is before layer s (1 <= s < L).
    out = p.layer_output_bytes[gl]
    cut_util = np.full((k, length + 1), INF)
    for j in range(1, k):
        hops = p.routes.path_links(int(nodes[j - 1]), int(nodes[j]))
        if not hops:  # no route between the two stages
            continue
        u = np.zeros(length - 1)
        for e in hops:
            u = np.maximum(u, (link_load[e] + rate * out[:-1]) / p.link_bandwidth[e])
        cut_util[j, 1:length] = u
    best = np.full((k, length + 1), INF)  # best[j, e]: stages 0..j cover layers [0, e)
    back = np.zeros((k, length + 1), dtype=np.int64)
    ok0 = mem[:, 0] <= room[0]
    best[0] = np.where(ok0, base_util[0] + load[:, 0], INF)
    best[0, 0] = INF
    for j in range(1, k):
        for e in range(j + 1, length - (k - 1 - j) + 1):
            s = np.arange(j, e)
            util = base_util[j] + load[e, j] - load[s, j]
            fits = mem[e, j] - mem[s, j] <= room[j]
            val = np.where(fits, np.maximum(np.maximum(best[j - 1, s], cut_util[j, s]), util), INF)
            i = tol.argmin(val)
            best[j, e], back[j, e] = val[i], s[i]
    if not np.isfinite(best[k - 1, length]):
        return None
    new = np.empty(length, dtype=np.int64)
    e = length
    for j in range(k - 1, -1, -1):
        first = int(back[j, e]) if j else 0
        new[first:e] = nodes[j]
        e = first
    return new


def recut_pass(p: Problem, x: np.ndarray, previous_keys: np.ndarray | None, objective: float,
               deadline: float, rounds: int = 3) -> tuple[np.ndarray, float]:
    """Re-cut every workload in turn while it lowers the evaluator's objective
    (and the result stays feasible); at most ``rounds`` sweeps or the deadline."""
    x = x.copy()
    for _ in range(rounds):
        improved = False
        for w in range(p.num_workloads):
            if time.perf_counter() > deadline:
                return x, objective
            new = recut(p, x, w)
            span = p.flat.span(w)
            if new is None or np.array_equal(new, x[span]):
                continue
            y = x.copy()
            y[span] = new
            ev = evaluate_array(p, y, previous_keys)
            if ev.feasible and tol.improves(ev.objective, objective):
                x, objective, improved = y, ev.objective, True
        if not improved:
            break
    return x, objective
