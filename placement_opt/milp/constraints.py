"""MILP constraints (SPEC section 5) as sparse row blocks.

Each block is a set of rows ``lower <= A @ columns <= upper`` built with numpy
over the column space of :mod:`placement_opt.milp.variables`; the Pyomo model
names its constraints after the blocks (``m.assign``, ``m.flow``, ``m.memory``
...), indexed by ids.  Capacity rows are normalised so that their right-hand
side is the utilisation cap (memory and link rows are divided by the
capacity), which keeps HiGHS's tolerances meaningful.  A capacity row that
cannot bind (all its candidate demand fits) is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..formulation import Formulation
from ..tolerance import threshold
from .variables import BOTTLENECK, HOSTING, LATENCY, MAX_LATENCY, Columns, X, Y


@dataclass(frozen=True, eq=False)
class RowBlock:
    """Rows ``lower[r] <= sum_k val[k] * column[col[k]] (row[k] == r) <= upper[r]``."""

    name: str
    num_rows: int
    row: np.ndarray
    col: np.ndarray
    val: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    keys: Callable[[], list]


def block(name: str, keys: Callable[[], list], num_rows: int, row, col, val, lower, upper) -> RowBlock:
    return RowBlock(
        name, num_rows, np.asarray(row, dtype=np.int64), np.asarray(col, dtype=np.int64),
        np.asarray(val, dtype=float),
        np.broadcast_to(np.asarray(-np.inf if lower is None else lower, dtype=float), (num_rows,)).copy(),
        np.broadcast_to(np.asarray(np.inf if upper is None else upper, dtype=float), (num_rows,)).copy(),
        keys,
    )


# ----------------------------------------------------------------- row keys
def position_keys(F: Formulation, positions: np.ndarray) -> Callable[[], list]:
    p, f = F.problem, F.problem.flat
    return lambda: [(p.workload_ids[f.workload[k]], int(f.layer[k])) for k in positions.tolist()]


def node_keys(F: Formulation, nodes: np.ndarray) -> Callable[[], list]:
    return lambda: [F.problem.node_ids[i] for i in nodes.tolist()]


def workload_keys(F: Formulation, ws: np.ndarray) -> Callable[[], list]:
    return lambda: [F.problem.workload_ids[w] for w in ws.tolist()]


def x_keys(F: Formulation, xs: np.ndarray) -> Callable[[], list]:
    p, f = F.problem, F.problem.flat
    return lambda: [(p.workload_ids[f.workload[k]], int(f.layer[k]), p.node_ids[i])
                    for k, i in zip(F.x_pos[xs].tolist(), F.x_node[xs].tolist())]


def _select(n: int, chosen: np.ndarray) -> np.ndarray:
    """Row position of each chosen item, -1 for the others."""
    pos = -np.ones(n, dtype=np.int64)
    pos[chosen] = np.arange(chosen.size)
    return pos


# ------------------------------------------------------------------- blocks
def constraint_blocks(F: Formulation, cols: Columns) -> list[RowBlock]:
    """All of SPEC 5 (candidates already exclude what can never be feasible)."""
    blocks = [_assignment(F, cols), *_flow(F, cols), _placement(F, cols), _latency(F, cols)]
    blocks += _capacities(F, cols)
    blocks += _segments(F, cols)
    split = _split_cut(F, cols)
    if split is not None:
        blocks.append(split)
    return [b for b in blocks if b.num_rows]


def _assignment(F: Formulation, cols: Columns) -> RowBlock:
    """Every layer of every workload runs on exactly one node."""
    positions = np.arange(F.problem.flat.size)
    return block("assign", position_keys(F, positions), positions.size, F.x_pos,
                 cols.first(X) + np.arange(F.num_x), np.ones(F.num_x), 1.0, 1.0)


def _flow(F: Formulation, cols: Columns) -> list[RowBlock]:
    """Between layers ``l`` and ``l+1`` a workload stays or makes one transition:
    ``x[l+1, j] - x[l, j] = in_j - out_j`` and at most one transition (a relay
    through a third node is not a route)."""
    p = F.problem
    n = p.num_nodes
    is_boundary = np.zeros(p.flat.size + 1, dtype=bool)
    is_boundary[F.boundaries] = True
    xv = np.arange(F.num_x)
    out_x = is_boundary[F.x_pos]
    in_x = (F.x_pos > 0) & is_boundary[np.maximum(F.x_pos - 1, 0)]
    yv = cols.first(Y) + np.arange(F.num_y)
    row_key = np.concatenate([F.x_pos[out_x] * n + F.x_node[out_x], (F.x_pos[in_x] - 1) * n + F.x_node[in_x],
                              F.y_pos * n + F.y_to, F.y_pos * n + F.y_from])
    col = np.concatenate([cols.first(X) + xv[out_x], cols.first(X) + xv[in_x], yv, yv])
    val = np.concatenate([-np.ones(out_x.sum()), np.ones(in_x.sum()), -np.ones(F.num_y), np.ones(F.num_y)])
    uniq, row = np.unique(row_key, return_inverse=True)
    pos, node = np.divmod(uniq, n)

    def flow_keys():
        return [k + (p.node_ids[j],) for k, j in zip(position_keys(F, pos)(), node.tolist())]

    ypos, yrow = np.unique(F.y_pos, return_inverse=True)
    return [
        block("flow", flow_keys, uniq.size, row, col, val, 0.0, 0.0),
        block("one_move", position_keys(F, ypos), ypos.size, yrow, yv, np.ones(F.num_y), None, 1.0),
        move_out_rows(F, cols),
    ]


def move_out_rows(F: Formulation, cols: Columns) -> RowBlock:
    """A workload leaves ``i`` after layer ``l`` only if it ran ``l`` there:
    ``sum_j y[l, i, j] <= x[l, i]``.  Implied by integral ``x``, but without
    these rows the LP relaxation circulates flow (``i -> j`` and ``j -> i`` at
    one boundary, away from where the workload is) to meet the "must leave"
    cuts for free.  With the flow rows they also give
    ``sum_i y[l, i, j] <= x[l+1, j]``: the LP of the textbook's stay-or-move
    flow, without its stay columns."""
    n = F.problem.num_nodes
    keys, y_row = np.unique(F.y_pos * n + F.y_from, return_inverse=True)
    x_key = F.x_pos * n + F.x_node
    order = np.argsort(x_key, kind="stable")
    x_of_key = order[np.searchsorted(x_key[order], keys)]  # every move leaves a candidate x
    pos, node = np.divmod(keys, n)

    def keys_of():
        return [k + (F.problem.node_ids[i],) for k, i in zip(position_keys(F, pos)(), node.tolist())]

    return block("move_out", keys_of, keys.size, np.concatenate([y_row, np.arange(keys.size)]),
                 np.concatenate([cols.first(Y) + np.arange(F.num_y), cols.first(X) + x_of_key]),
                 np.concatenate([np.ones(F.num_y), -np.ones(keys.size)]), None, 0.0)


def _placement(F: Formulation, cols: Columns) -> RowBlock:
    """Weights of a layer are on a node whenever some workload runs it there."""
    xv = np.flatnonzero(cols.z_col[F.x_z] >= 0)
    r = np.arange(xv.size)
    return block("place", x_keys(F, xv), xv.size, np.concatenate([r, r]),
                 np.concatenate([cols.z_col[F.x_z[xv]], cols.first(X) + xv]),
                 np.concatenate([np.ones(xv.size), -np.ones(xv.size)]), 0.0, None)


def _latency(F: Formulation, cols: Columns) -> RowBlock:
    """``latency[w]`` = compute + transfers (SPEC 5); SLOs are its upper bound."""
    p = F.problem
    n_w = p.num_workloads
    row = np.concatenate([np.arange(n_w), F.x_workload, F.y_workload])
    col = np.concatenate([cols.of(LATENCY), cols.first(X) + np.arange(F.num_x), cols.first(Y) + np.arange(F.num_y)])
    val = np.concatenate([np.ones(n_w), -F.x_latency, -F.y_latency])
    return block("latency_def", workload_keys(F, np.arange(n_w)), n_w, row, col, val, 0.0, 0.0)


def _capacities(F: Formulation, cols: Columns) -> list[RowBlock]:
    """Memory (shared weights + state), compute and link capacity.

    Right-hand sides are the exact limits: with HiGHS's feasibility tolerance of
    1e-9 on these normalised rows, the MILP accepts what the evaluator accepts.
    """
    p = F.problem
    cap = p.max_utilization
    out = []
    # memory: weights once per (layer, node) + state per workload, divided by memory
    zid = np.flatnonzero(cols.z_col >= 0)
    mem = p.node_memory
    demand = np.bincount(F.z_node[zid], F.z_param[zid], p.num_nodes) + np.bincount(F.x_node, F.x_state, p.num_nodes)
    nodes = np.flatnonzero(demand > threshold(mem))
    if nodes.size:
        pos = _select(p.num_nodes, nodes)
        zsel = zid[pos[F.z_node[zid]] >= 0]
        xsel = np.flatnonzero((pos[F.x_node] >= 0) & (F.x_state > 0))
        on = np.concatenate([F.z_node[zsel], F.x_node[xsel]])
        scale = np.maximum(mem[on], 1.0)
        out.append(block("memory", node_keys(F, nodes), nodes.size, pos[on],
                         np.concatenate([cols.z_col[zsel], cols.first(X) + xsel]),
                         np.concatenate([F.z_param[zsel], F.x_state[xsel]]) / scale,
                         None, mem[nodes] / np.maximum(mem[nodes], 1.0)))
    # compute: rate * c summed per node <= cap
    demand = np.bincount(F.x_node, F.x_busy, p.num_nodes)
    nodes = np.flatnonzero(demand > threshold(cap))
    if nodes.size:
        pos = _select(p.num_nodes, nodes)
        xsel = np.flatnonzero(pos[F.x_node] >= 0)
        out.append(block("compute", node_keys(F, nodes), nodes.size, pos[F.x_node[xsel]],
                         cols.first(X) + xsel, F.x_busy[xsel], None, cap))
    # links: bytes/s routed over the link <= cap * bandwidth (rows divided by bandwidth)
    L = F.link_load.tocoo()
    if L.nnz:
        bw = p.link_bandwidth
        demand = np.bincount(L.row, L.data, p.num_links)
        links = np.flatnonzero(demand > threshold(cap * bw))
        if links.size:
            pos = _select(p.num_links, links)
            sel = pos[L.row] >= 0
            out.append(block("link", lambda: [p.link_ids[e] for e in links.tolist()], links.size,
                             pos[L.row[sel]], L.col[sel], L.data[sel] / bw[L.row[sel]], None, cap))
    return out


def _segments(F: Formulation, cols: Columns) -> list[RowBlock]:
    """``max_segments`` and ``one_segment_per_node``."""
    p = F.problem
    out = []
    limit = p.workload_max_segments
    ws = np.flatnonzero(limit < p.workload_num_layers)
    if ws.size:
        pos = _select(p.num_workloads, ws)
        sel = np.flatnonzero(pos[F.y_workload] >= 0)
        out.append(block("max_segments", workload_keys(F, ws), ws.size, pos[F.y_workload[sel]],
                         cols.first(Y) + sel, np.ones(sel.size), None, limit[ws] - 1.0))
    if p.one_segment_per_node:
        # entering node i (first layer there, or a transition into i) at most once
        n = p.num_nodes
        xs = np.flatnonzero(p.flat.layer[F.x_pos] == 0)
        key = np.concatenate([F.x_workload[xs] * n + F.x_node[xs], F.y_workload * n + F.y_to])
        col = np.concatenate([cols.first(X) + xs, cols.first(Y) + np.arange(F.num_y)])
        uniq, row = np.unique(key, return_inverse=True)
        keep = np.bincount(row)[row] > 1
        kept, row2 = np.unique(row[keep], return_inverse=True)
        w, i = np.divmod(uniq[kept], n)
        out.append(block("one_segment",
                         lambda: [(p.workload_ids[a], p.node_ids[b]) for a, b in zip(w.tolist(), i.tolist())],
                         kept.size, row2, col[keep], np.ones(int(keep.sum())), None, 1.0))
    return out


def workload_memory_need(F: Formulation) -> np.ndarray:
    """Bytes of weights and state of each workload's whole model."""
    p, f = F.problem, F.problem.flat
    per_layer = p.layer_param_bytes[f.global_layer] + p.layer_state_bytes[f.global_layer]
    return np.bincount(f.workload, per_layer, p.num_workloads)


def min_segments(F: Formulation) -> np.ndarray:
    """A lower bound on each workload's number of segments from memory alone.

    The distinct nodes a workload uses must together hold its layers' weights
    and state, and it has at least as many segments as distinct nodes, so it
    needs at least the smallest ``s`` for which its ``s`` largest candidate
    nodes' memories add up to that need.
    """
    p = F.problem
    need = workload_memory_need(F)
    out = np.ones(p.num_workloads, dtype=np.int64)
    for w in range(p.num_workloads):
        nodes = np.unique(F.x_node[F.x_workload == w])
        mem = np.sort(p.node_memory[nodes])[::-1]
        enough = np.flatnonzero(threshold(np.cumsum(mem)) >= need[w])
        out[w] = enough[0] + 1 if enough.size else len(nodes) + 1
    return out


def _split_cut(F: Formulation, cols: Columns) -> RowBlock | None:
    """Cuts that make the LP pay for splitting a model that fits nowhere whole.

    Without them the LP relaxation spreads such a model fractionally over
    whole-model placements on several nodes and never pays for a transfer.
    For each workload ``w``, with ``B_w`` the nodes that can hold all of ``w``:
    ``sum of w's transitions + sum_{i in B_w} x[w, first layer, i] >= 1`` (no
    transition means one node, which must be in ``B_w``), and, when ``B_w`` is
    empty, ``sum of w's transitions >= min_segments(w) - 1``.
    """
    p = F.problem
    need = workload_memory_need(F)
    seg = min_segments(F)
    rows, cols_, lower = [], [], []
    ws: list[int] = []
    for w in range(p.num_workloads):
        xs = np.asarray(F.x_of(int(p.flat.offset[w])))
        big = xs[threshold(p.node_memory[F.x_node[xs]]) >= need[w]]
        if big.size == xs.size:
            continue  # every first-layer candidate can hold the whole model
        ys = np.flatnonzero(F.y_workload == w)
        rows.append(np.full(ys.size + big.size, len(ws)))
        cols_ += [cols.first(Y) + ys, cols.first(X) + big]
        lower.append(max(float(seg[w] - 1), 1.0) if big.size == 0 else 1.0)
        ws.append(w)
    if not ws:
        return None
    col = np.concatenate(cols_)
    return block("split_cut", workload_keys(F, np.array(ws)), len(ws), np.concatenate(rows), col,
                 np.ones(col.size), np.array(lower), None)


# --------------------------------------------------- rows for objective terms
def max_latency_block(F: Formulation, cols: Columns) -> RowBlock:
    """``max_latency >= latency[w]`` for every workload."""
    n_w = F.problem.num_workloads
    r = np.arange(n_w)
    return block("max_latency_def", workload_keys(F, r), n_w, np.concatenate([r, r]),
                 np.concatenate([np.full(n_w, cols.first(MAX_LATENCY)), cols.of(LATENCY)]),
                 np.concatenate([np.ones(n_w), -np.ones(n_w)]), 0.0, None)


def bottleneck_blocks(F: Formulation, cols: Columns) -> list[RowBlock]:
    """``bottleneck >=`` every node's and link's utilisation."""
    p = F.problem
    b = cols.first(BOTTLENECK)
    nodes = np.unique(F.x_node[F.x_busy > 0])
    pos = _select(p.num_nodes, nodes)
    xs = np.flatnonzero(F.x_busy > 0)
    out = [block("bottleneck_node", node_keys(F, nodes), nodes.size,
                 np.concatenate([np.arange(nodes.size), pos[F.x_node[xs]]]),
                 np.concatenate([np.full(nodes.size, b), cols.first(X) + xs]),
                 np.concatenate([np.ones(nodes.size), -F.x_busy[xs]]), 0.0, None)]
    L = F.link_load.tocoo()
    links = np.unique(L.row)
    if links.size:
        pos = _select(p.num_links, links)
        out.append(block("bottleneck_link", lambda: [p.link_ids[e] for e in links.tolist()], links.size,
                         np.concatenate([np.arange(links.size), pos[L.row]]),
                         np.concatenate([np.full(links.size, b), L.col]),
                         np.concatenate([np.ones(links.size), -L.data / p.link_bandwidth[L.row]]), 0.0, None))
    return out


def hosting_block(F: Formulation, cols: Columns) -> RowBlock:
    """``hosting[i] >= x[v]`` for every x on a node with a cost."""
    p = F.problem
    host_col = -np.ones(p.num_nodes, dtype=np.int64)
    host_col[cols.ref[cols.of(HOSTING)]] = cols.of(HOSTING)
    xs = np.flatnonzero(host_col[F.x_node] >= 0)
    r = np.arange(xs.size)
    return block("activation", x_keys(F, xs), xs.size, np.concatenate([r, r]),
                 np.concatenate([host_col[F.x_node[xs]], cols.first(X) + xs]),
                 np.concatenate([np.ones(xs.size), -np.ones(xs.size)]), 0.0, None)


def stay_limits(F: Formulation) -> tuple[np.ndarray, np.ndarray]:
    """For each x column: how many consecutive layers, from its own on, its
    workload can run on its node before the node overflows with that
    workload's weights and state (or its compute load) alone.

    Returns ``(limit, to_end)`` where ``to_end`` marks columns whose workload can
    stay on the node until its last layer.
    """
    p = F.problem
    f = p.flat
    gl = f.global_layer
    need = p.layer_param_bytes[gl] + p.layer_state_bytes[gl]
    rate = p.workload_rate[f.workload]
    limit = np.zeros(F.num_x, dtype=np.int64)
    to_end = np.zeros(F.num_x, dtype=bool)
    for w in range(p.num_workloads):
        k0, k1 = int(f.offset[w]), int(f.offset[w] + f.length[w])
        cols = np.flatnonzero(F.x_workload == w)
        cum_need = np.concatenate([[0.0], np.cumsum(need[k0:k1])])
        for i in np.unique(F.x_node[cols]).tolist():
            sel = cols[F.x_node[cols] == i]
            a = F.x_pos[sel] - k0
            fit = np.searchsorted(cum_need, cum_need[a] + threshold(p.node_memory[i]), side="right") - 1 - a
            if rate[k0] > 0:
                busy = np.concatenate([[0.0], np.cumsum(rate[k0] * p.compute_time[gl[k0:k1], i])])
                busy_max = busy[a] + threshold(p.max_utilization)
                fit = np.minimum(fit, np.searchsorted(busy, busy_max, side="right") - 1 - a)
            limit[sel] = fit
            to_end[sel] = a + fit >= k1 - k0
    return limit, to_end


def leave_cuts(F: Formulation, cols: Columns, xs: np.ndarray, limit: np.ndarray) -> RowBlock:
    """"Must leave" cuts for the x columns ``xs``: whoever runs layer ``a`` on
    node ``i`` and cannot hold the next ``limit`` layers there alone must move
    away from ``i`` after one of layers ``a .. a+limit-1``:
    ``x[w,a,i] <= sum_{l=a}^{a+limit-1} sum_j y[w,l,i,j]``.  Valid for every
    integer solution; the LP relaxation, which spreads a model fractionally
    over nodes too small for it, violates them.  ``limit[r]`` is the stay limit
    of ``xs[r]`` (:func:`stay_limits`)."""
    rows: list[np.ndarray] = []
    col: list[np.ndarray] = []
    val: list[np.ndarray] = []
    by_from: dict[tuple[int, int], np.ndarray] = {}
    order = np.lexsort((F.y_pos, F.y_from))
    for (pos, node), idx in _group(F.y_pos[order], F.y_from[order], order).items():
        by_from[(pos, node)] = idx
    for r, v in enumerate(xs.tolist()):
        a, i = int(F.x_pos[v]), int(F.x_node[v])
        parts = [by_from[(pos, i)] for pos in range(a, a + int(limit[r])) if (pos, i) in by_from]
        ys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        rows.append(np.full(ys.size + 1, r))
        col += [np.array([cols.first(X) + v]), cols.first(Y) + ys]
        val += [np.ones(1), -np.ones(ys.size)]
    return block("leave_cut", x_keys(F, xs), xs.size, np.concatenate(rows) if rows else [],
                 np.concatenate(col) if col else [], np.concatenate(val) if val else [], None, 0.0)


def _group(pos: np.ndarray, node: np.ndarray, idx: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    out: dict[tuple[int, int], list[int]] = {}
    for a, b, t in zip(pos.tolist(), node.tolist(), idx.tolist()):
        out.setdefault((a, b), []).append(t)
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def symmetry_block(F: Formulation, cols: Columns, classes: Sequence[Sequence[int]]) -> RowBlock:
    """Symmetry breaking for classes of interchangeable nodes
    (:mod:`placement_opt.symmetry`): within a class, nodes in index order run
    non-increasing numbers of (workload, layer) positions.  Any solution can be
    relabelled so (:meth:`~placement_opt.symmetry.NodeClasses.canonical`), so the
    optimum is kept while every permutation of a class but one is cut off."""
    pairs = [(a, b) for members in classes for a, b in zip(members[:-1], members[1:])]
    rows, col, val = [], [], []
    for r, (a, b) in enumerate(pairs):
        for node, sign in ((a, 1.0), (b, -1.0)):
            xs = np.flatnonzero(F.x_node == node)
            rows.append(np.full(xs.size, r))
            col.append(cols.first(X) + xs)
            val.append(np.full(xs.size, sign))
    nids = F.problem.node_ids
    return block("symmetry", lambda: [(nids[a], nids[b]) for a, b in pairs], len(pairs),
                 _cat(rows), _cat(col), _cat(val), 0.0, None)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)
