"""The textbook layered-graph MILP, kept as a reference (solver ``milp-textbook``).

This is the formulation found in the literature, written independently of
:mod:`placement_opt.formulation`, and built directly for the solver: sparse
matrices (:mod:`scipy.sparse`) handed to HiGHS through ``highspy``, with no
modelling layer in between, so that timing it measures the formulation and
HiGHS, not model-building overhead.

Columns, for every workload ``w``, layer ``l`` of it and node ``i``:

- ``x[w, l, i]`` binary: layer ``l`` of ``w`` runs on ``i``.  Forbidden ones are
  fixed to 0 (upper bound 0): nodes that cannot host (unavailable, switches),
  untrusted nodes for private layers, first layers on nodes the source cannot
  reach and last layers on nodes that cannot reach the sink;
- ``y[w, l, i, j]`` in [0, 1] for *every* ordered pair of nodes between layers
  ``l`` and ``l + 1`` (``i == j`` included; fixed to 0 for ``i != j`` without a
  route);
- ``z[m, l, i]`` binary for every layer of every model that a workload runs
  (shared weights, placed once per node);
- ``T[w] >= 0``: the latency of ``w``, bounded above by its SLO;
- ``M`` (max latency), ``B`` (bottleneck) and ``u[i]`` binary (node ``i`` hosts
  something) when the ``max_latency``, ``bottleneck`` and ``cost`` terms are
  weighted.

Rows (SPEC 5 and 6):

- ``assign``: ``sum_i x[w, l, i] = 1``;
- ``flow_out`` / ``flow_in``: ``sum_j y[w, l, i, j] = x[w, l, i]`` and
  ``sum_i y[w, l, i, j] = x[w, l + 1, j]``;
- ``place``: ``z[m, l, i] >= x[w, l, i]``;
- ``latency``: ``T[w] =`` raw-input transfer + compute + inter-layer transfers
  (over ``y``, ``i != j``) + result transfer;
- ``memory``: ``sum param * z + sum state * x <= memory`` (divided by the memory);
- ``compute``: ``sum rate * c * x <= max_utilization``;
- ``link``: bytes/s of every transfer routed over the link (fixed routes, both
  directions of an undirected link together) ``<= max_utilization * bandwidth``
  (divided by the bandwidth);
- ``max_segments``: ``sum_{l, i != j} y[w, l, i, j] <= max_segments - 1``;
- ``one_segment``: ``x[w, 0, i] + sum_{l, j != i} y[w, l, j, i] <= 1``;
- ``max_latency``: ``M >= T[w]``; ``bottleneck_node`` / ``bottleneck_link``:
  ``B >=`` each node's and link's utilisation; ``activation``:
  ``u[i] >= x[w, l, i]``.

The objective is every weighted term of SPEC 6: ``latency`` (weighted mean of
``T``), ``max_latency`` (``M``), ``bottleneck`` (``B``), ``cost`` (over ``u``),
``energy`` (per ``x`` and ``y``) and ``migration`` (over ``z`` not placed
before).

No pruning beyond the fixed ``x`` and ``y`` above, no aggregation, no cuts, no
symmetry breaking, no incumbent of ours (a user's ``warm_start`` is handed to
HiGHS as its first solution).  It is exact, and it is the yardstick that
``benchmarks/exact.py`` measures the exact solvers against; the tests also use
it as a second formulation.

Statuses are those of ``milp``: ``optimal`` only when HiGHS closed the gap
(relative :data:`placement_opt.highs.PROOF_GAP`, absolute 0, or the user's ``gap``) and the
objective is within 1e-6 of HiGHS's dual bound; ``feasible`` when a limit cut
in with a solution; ``no_solution`` when it cut in without one, or when the
model is too large to build (:data:`MAX_NONZEROS`).  The time limit covers the
whole call: the deadline is checked while the matrices are built, and HiGHS
gets what is left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix, csc_matrix

from ..backend import RawResult, SolveOptions
from ..evaluate import evaluate_array
from ..highs import new_highs, pass_matrices, result, run_in_time, set_mip_options, set_start
from ..problem import Problem
from ..solution import SolveStatus
from ..tolerance import argmax
from ..versions import versions

#: Larger models are not built (about 40 bytes per nonzero at the peak); the
#: answer is ``no_solution`` with the reason.
MAX_NONZEROS = 40_000_000
#: boundaries per chunk of the link rows (the deadline is checked between chunks)
LINK_CHUNK = 64


class _OutOfTime(Exception):
    """The deadline passed while the matrices were being built."""


# ------------------------------------------------------------------ columns
@dataclass(frozen=True, eq=False)
class Layout:
    """Where each variable lives in the column vector.

    ``x`` of flat position ``k`` and node ``i`` is column ``k * N + i``; ``y`` of
    boundary ``b`` (between flat positions ``boundary[b]`` and
    ``boundary[b] + 1``), from ``i`` to ``j``, is ``y0 + (b * N + i) * N + j``;
    ``z`` of global layer ``layers[g]`` on ``i`` is ``z0 + g * N + i``
    (``z_of[k]`` is ``g`` for flat position ``k``); ``T[w]`` is ``t0 + w``;
    ``m``, ``b`` and ``u0`` are -1 when their term is not weighted.
    """

    nodes: int
    positions: int
    boundary: np.ndarray
    layers: np.ndarray
    z_of: np.ndarray
    y0: int
    z0: int
    t0: int
    m: int
    b: int
    u0: int
    size: int

    @property
    def num_y(self) -> int:
        return int(self.boundary.size) * self.nodes * self.nodes

    def x(self, k: np.ndarray, i: np.ndarray) -> np.ndarray:
        return np.asarray(k, dtype=np.int64) * self.nodes + i

    def y(self, b: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        n = self.nodes
        return self.y0 + (np.asarray(b, dtype=np.int64) * n + i) * n + j

    def z(self, g: np.ndarray, i: np.ndarray) -> np.ndarray:
        return self.z0 + np.asarray(g, dtype=np.int64) * self.nodes + i


def _weights(problem: Problem) -> dict[str, float]:
    return {k: float(v) for k, v in problem.objective_weights.items() if v > 0}


def layout(problem: Problem) -> Layout:
    """The column layout of ``problem``'s textbook model."""
    f = problem.flat
    n = problem.num_nodes
    weights = _weights(problem)
    last = f.offset + f.length - 1
    boundary = np.setdiff1d(np.arange(f.size), last)
    layers, z_of = np.unique(f.global_layer, return_inverse=True)
    y0 = f.size * n
    z0 = y0 + boundary.size * n * n
    t0 = z0 + layers.size * n
    end = t0 + problem.num_workloads
    m = end if "max_latency" in weights else -1
    end += m >= 0
    b = end if "bottleneck" in weights else -1
    end += b >= 0
    u0 = end if "cost" in weights else -1
    end += n if u0 >= 0 else 0
    return Layout(n, f.size, boundary, layers, z_of.ravel(), y0, z0, t0, m, b, u0, int(end))


def _forbidden_x(problem: Problem) -> np.ndarray:
    """``(K, N)`` mask of the x fixed to 0 (module docstring)."""
    p, f = problem, problem.flat
    reach = p.routes.reachable
    w = f.workload
    private = f.layer < p.workload_private_layers[w]
    untrusted = p.node_trust[None, :] < p.workload_min_trust[w][:, None]
    out = ~p.can_host[None, :] | (private[:, None] & untrusted)
    first, last = f.offset, f.offset + f.length - 1
    out[first] |= ~reach[p.workload_source]
    out[last] |= ~reach[:, p.workload_sink].T
    return out


def _bounds(problem: Problem, lay: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column lower and upper bounds and integrality."""
    n = lay.nodes
    lower = np.zeros(lay.size)
    upper = np.full(lay.size, np.inf)
    upper[:lay.t0] = 1.0
    upper[:lay.y0] = np.where(_forbidden_x(problem), 0.0, 1.0).ravel()
    unroutable = ~problem.routes.reachable
    np.fill_diagonal(unroutable, False)
    ys = upper[lay.y0:lay.z0].reshape(-1, n, n)
    ys[:, unroutable] = 0.0
    upper[lay.t0:lay.t0 + problem.num_workloads] = problem.workload_slo
    integer = np.zeros(lay.size, dtype=bool)
    integer[:lay.y0] = True
    integer[lay.z0:lay.t0] = True
    if lay.u0 >= 0:
        upper[lay.u0:lay.u0 + n] = 1.0
        integer[lay.u0:lay.u0 + n] = True
    return lower, upper, integer


# --------------------------------------------------------------------- rows
@dataclass(eq=False)
class _Rows:
    """Row blocks collected as triplets, with the deadline checked per block."""

    size: int
    deadline: float
    count: int = 0
    names: dict[str, int] = field(default_factory=dict)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)

    def check(self, stage: str) -> None:
        if time.perf_counter() > self.deadline:
            raise _OutOfTime(stage)

    def add(self, name: str, num: int, row, col, val, lower: float | np.ndarray, upper: float | np.ndarray) -> None:
        """Rows ``lower <= sum val * column[col] <= upper`` (``row`` numbered from 0)."""
        row = np.asarray(row, dtype=np.int64)
        col, val = np.asarray(col, dtype=np.int64), np.asarray(val, dtype=float)
        keep = val != 0
        self.parts.append((self.count + row[keep], col[keep], val[keep]))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (num,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (num,)))
        self.names[name] = self.names.get(name, 0) + num
        self.count += num
        self.check(name)

    def matrix(self) -> tuple[csc_matrix, np.ndarray, np.ndarray]:
        row = np.concatenate([r for r, _, _ in self.parts])
        col = np.concatenate([c for _, c, _ in self.parts])
        val = np.concatenate([v for _, _, v in self.parts])
        self.parts.clear()
        A = coo_matrix((val, (row, col)), shape=(self.count, self.size)).tocsc()
        A.sum_duplicates()
        return A, np.concatenate(self.lower), np.concatenate(self.upper)


@dataclass(frozen=True, eq=False)
class _Data:
    """Per-variable quantities shared by several row blocks."""

    xlat: np.ndarray  # (K, N) latency per x: compute + raw-input / result transfer
    busy: np.ndarray  # (K, N) rate * compute time
    ylat: np.ndarray  # (nb, N, N) transfer time per y
    load_in: np.ndarray  # (W,) bytes/s of the raw input
    load_out: np.ndarray  # (W,) bytes/s of the result
    load_y: np.ndarray  # (nb,) bytes/s of each boundary's activation
    route_pair: np.ndarray  # a * N + b of every (route, link) entry, sorted
    route_link: np.ndarray  # the link of each entry
    route_start: np.ndarray  # entries of pair q are route_start[q] .. route_start[q + 1] - 1


def _transfer_times(problem: Problem, nbytes: np.ndarray) -> np.ndarray:
    """``t(a, b, nbytes[k])`` for every k, a, b: shape ``(len(nbytes), N, N)``."""
    r = problem.routes
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r.latency[None] + nbytes[:, None, None] / r.bandwidth[None]
    t = np.where(r.reachable[None], t, np.inf)
    diag = np.arange(problem.num_nodes)
    t[:, diag, diag] = 0.0
    return t


def _routes(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (route, link) pair: routes ``a -> b`` as ``a * N + b``, sorted."""
    r = problem.routes
    n = problem.num_nodes
    src, cur = np.nonzero(r.hops > 0)
    pair = src * n + cur
    pairs, links = [], []
    while cur.size:
        pairs.append(pair)
        links.append(r.pred_link[src, cur])
        cur = r.pred_node[src, cur]
        keep = cur != src
        src, cur, pair = src[keep], cur[keep], pair[keep]
    pair = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
    link = np.concatenate(links) if links else np.zeros(0, dtype=np.int64)
    order = np.argsort(pair, kind="stable")
    pair, link = pair[order], link[order]
    return pair, link, np.searchsorted(pair, np.arange(n * n + 1))


def _data(problem: Problem, lay: Layout) -> _Data:
    p, f = problem, problem.flat
    gl = f.global_layer
    model_in = p.input_bytes[p.workload_model]
    last_bytes = p.layer_output_bytes[gl[f.offset + f.length - 1]]
    xlat = p.compute_time[gl].copy()
    xlat[f.offset] += _transfer_times(p, model_in)[np.arange(p.num_workloads), p.workload_source]
    xlat[f.offset + f.length - 1] += _transfer_times(p, last_bytes)[np.arange(p.num_workloads), :, p.workload_sink]
    rate = p.workload_rate
    with np.errstate(invalid="ignore"):
        busy = np.where(rate[f.workload][:, None] > 0, rate[f.workload][:, None] * p.compute_time[gl], 0.0)
    out_bytes = p.layer_output_bytes[gl[lay.boundary]]
    pair, link, start = _routes(p)
    return _Data(xlat, busy, _transfer_times(p, out_bytes), rate * model_in, rate * last_bytes,
                 rate[f.workload[lay.boundary]] * out_bytes, pair, link, start)


def _route_entries(d: _Data, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For routes ``pairs``: (index into ``pairs``, link) of every link on them."""
    counts = d.route_start[pairs + 1] - d.route_start[pairs]
    owner = np.repeat(np.arange(pairs.size), counts)
    first = np.repeat(d.route_start[pairs] - (np.cumsum(counts) - counts), counts)
    return owner, d.route_link[first + np.arange(counts.sum())]


def _assignment_and_flow(lay: Layout, rows: _Rows) -> None:
    n, K = lay.nodes, lay.positions
    xs = np.arange(K * n)
    rows.add("assign", K, xs // n, xs, np.ones(xs.size), 1.0, 1.0)
    nb = lay.boundary.size
    b, i, j = (a.ravel() for a in np.meshgrid(np.arange(nb), np.arange(n), np.arange(n), indexing="ij"))
    ycol = lay.y(b, i, j)
    # flow_out row (b, i): sum_j y - x[boundary[b], i] = 0
    bi = np.repeat(np.arange(nb), n), np.tile(np.arange(n), nb)
    rows.add("flow_out", nb * n, np.concatenate([b * n + i, bi[0] * n + bi[1]]),
             np.concatenate([ycol, lay.x(lay.boundary[bi[0]], bi[1])]),
             np.concatenate([np.ones(ycol.size), -np.ones(nb * n)]), 0.0, 0.0)
    rows.add("flow_in", nb * n, np.concatenate([b * n + j, bi[0] * n + bi[1]]),
             np.concatenate([ycol, lay.x(lay.boundary[bi[0]] + 1, bi[1])]),
             np.concatenate([np.ones(ycol.size), -np.ones(nb * n)]), 0.0, 0.0)


def _placement(lay: Layout, rows: _Rows) -> None:
    n, K = lay.nodes, lay.positions
    k, i = np.divmod(np.arange(K * n), n)
    r = np.arange(K * n)
    rows.add("place", K * n, np.concatenate([r, r]), np.concatenate([lay.z(lay.z_of[k], i), lay.x(k, i)]),
             np.concatenate([np.ones(r.size), -np.ones(r.size)]), 0.0, np.inf)


def _latency(problem: Problem, lay: Layout, d: _Data, rows: _Rows) -> None:
    W = problem.num_workloads
    w_of = problem.flat.workload
    k, i = np.nonzero(np.isfinite(d.xlat))
    b, yi, yj = np.nonzero(np.isfinite(d.ylat) & (d.ylat > 0))
    rows.add("latency", W, np.concatenate([np.arange(W), w_of[k], w_of[lay.boundary[b]]]),
             np.concatenate([lay.t0 + np.arange(W), lay.x(k, i), lay.y(b, yi, yj)]),
             np.concatenate([np.ones(W), -d.xlat[k, i], -d.ylat[b, yi, yj]]), 0.0, 0.0)


def _memory_and_compute(problem: Problem, lay: Layout, d: _Data, rows: _Rows) -> None:
    p, n = problem, lay.nodes
    scale = np.maximum(p.node_memory, 1.0)
    g, zi = np.divmod(np.arange(lay.layers.size * n), n)
    k, xi = np.divmod(np.arange(lay.positions * n), n)
    state = p.layer_state_bytes[p.flat.global_layer[k]]
    rows.add("memory", n, np.concatenate([zi, xi]), np.concatenate([lay.z(g, zi), lay.x(k, xi)]),
             np.concatenate([p.layer_param_bytes[lay.layers[g]], state]) / scale[np.concatenate([zi, xi])],
             -np.inf, p.node_memory / scale)
    hosts = np.flatnonzero(p.node_flops > 0)
    pos = -np.ones(n, dtype=np.int64)
    pos[hosts] = np.arange(hosts.size)
    k, i = np.nonzero(np.isfinite(d.busy) & (d.busy > 0) & (pos >= 0)[None, :])
    rows.add("compute", hosts.size, pos[i], lay.x(k, i), d.busy[k, i], -np.inf, p.max_utilization)


def _link_entries(problem: Problem, lay: Layout, d: _Data, rows: _Rows) -> Iterator[tuple[np.ndarray, ...]]:
    """(link, column, utilisation per unit) of every transfer, in chunks."""
    p, f, n = problem, problem.flat, lay.nodes
    bw = p.link_bandwidth
    nodes = np.arange(n)
    ws = np.flatnonzero(d.load_in > 0)
    owner, link = _route_entries(d, (p.workload_source[ws][:, None] * n + nodes).ravel())
    w, i = ws[owner // n], owner % n
    yield link, lay.x(f.offset[w], i), d.load_in[w] / bw[link]
    ws = np.flatnonzero(d.load_out > 0)
    owner, link = _route_entries(d, (nodes[None, :] * n + p.workload_sink[ws][:, None]).ravel())
    w, i = ws[owner // n], owner % n
    yield link, lay.x(f.offset[w] + f.length[w] - 1, i), d.load_out[w] / bw[link]
    carrying = np.flatnonzero(d.load_y > 0)
    per_bw = 1.0 / bw[d.route_link]
    for c in range(0, carrying.size, LINK_CHUNK):
        rows.check("link")
        bs = carrying[c:c + LINK_CHUNK]
        cols = (lay.y0 + bs[:, None] * (n * n) + d.route_pair[None, :]).ravel()
        vals = (d.load_y[bs][:, None] * per_bw[None, :]).ravel()
        yield np.tile(d.route_link, bs.size), cols, vals


def _links(problem: Problem, lay: Layout, d: _Data, rows: _Rows, bottleneck: bool) -> None:
    parts = list(_link_entries(problem, lay, d, rows))
    link = np.concatenate([e for e, _, _ in parts])
    col = np.concatenate([c for _, c, _ in parts])
    val = np.concatenate([v for _, _, v in parts])
    parts.clear()
    used = np.unique(link)
    pos = -np.ones(problem.num_links, dtype=np.int64)
    pos[used] = np.arange(used.size)
    rows.add("link", used.size, pos[link], col, val, -np.inf, problem.max_utilization)
    if bottleneck:
        e = np.arange(problem.num_links)
        rows.add("bottleneck_link", e.size, np.concatenate([e, link]),
                 np.concatenate([np.full(e.size, lay.b), col]), np.concatenate([np.ones(e.size), -val]), 0.0, np.inf)


def _segments(problem: Problem, lay: Layout, rows: _Rows) -> None:
    p, f, n = problem, problem.flat, lay.nodes
    w_of_b = f.workload[lay.boundary]
    b, i, j = np.nonzero(~np.eye(n, dtype=bool)[None].repeat(lay.boundary.size, axis=0))
    limit = p.workload_max_segments
    ws = np.flatnonzero(limit < f.length)
    if ws.size:
        pos = -np.ones(p.num_workloads, dtype=np.int64)
        pos[ws] = np.arange(ws.size)
        sel = pos[w_of_b[b]] >= 0
        rows.add("max_segments", ws.size, pos[w_of_b[b[sel]]], lay.y(b[sel], i[sel], j[sel]), np.ones(int(sel.sum())),
                 -np.inf, (limit[ws] - 1).astype(float))
    if p.one_segment_per_node:
        W = p.num_workloads
        w, node = np.divmod(np.arange(W * n), n)
        rows.add("one_segment", W * n, np.concatenate([w * n + node, w_of_b[b] * n + j]),
                 np.concatenate([lay.x(f.offset[w], node), lay.y(b, i, j)]), np.ones(W * n + b.size), -np.inf, 1.0)


def _objective_rows(problem: Problem, lay: Layout, d: _Data, rows: _Rows) -> None:
    n, W = lay.nodes, problem.num_workloads
    if lay.m >= 0:
        w = np.arange(W)
        rows.add("max_latency", W, np.concatenate([w, w]), np.concatenate([np.full(W, lay.m), lay.t0 + w]),
                 np.concatenate([np.ones(W), -np.ones(W)]), 0.0, np.inf)
    if lay.b >= 0:
        k, i = np.nonzero(np.isfinite(d.busy))
        rows.add("bottleneck_node", n, np.concatenate([np.arange(n), i]),
                 np.concatenate([np.full(n, lay.b), lay.x(k, i)]), np.concatenate([np.ones(n), -d.busy[k, i]]),
                 0.0, np.inf)
    if lay.u0 >= 0:
        k, i = np.divmod(np.arange(lay.positions * n), n)
        r = np.arange(k.size)
        rows.add("activation", r.size, np.concatenate([r, r]), np.concatenate([lay.u0 + i, lay.x(k, i)]),
                 np.concatenate([np.ones(r.size), -np.ones(r.size)]), 0.0, np.inf)


def _objective(problem: Problem, lay: Layout, d: _Data, previous_keys: np.ndarray | None) -> np.ndarray:
    """The cost vector: every weighted term of SPEC 6."""
    p, n = problem, lay.nodes
    weights = _weights(p)
    c = np.zeros(lay.size)
    wsum = p.workload_weight.sum()
    if "latency" in weights and wsum > 0:
        c[lay.t0:lay.t0 + p.num_workloads] += weights["latency"] * p.workload_weight / wsum
    if lay.m >= 0:
        c[lay.m] += weights["max_latency"]
    if lay.b >= 0:
        c[lay.b] += weights["bottleneck"]
    if lay.u0 >= 0:
        c[lay.u0:lay.u0 + n] += weights["cost"] * p.node_cost
    if "energy" in weights:
        c[:lay.z0] += weights["energy"] * _energy(p, lay, d)
    if "migration" in weights and previous_keys is not None:
        keys = lay.layers[:, None] * n + np.arange(n)[None, :]
        fresh = ~np.isin(keys, previous_keys)
        c[lay.z0:lay.t0] += weights["migration"] * (p.layer_param_bytes[lay.layers][:, None] * fresh).ravel()
    return c


def _energy(p: Problem, lay: Layout, d: _Data) -> np.ndarray:
    """Watts per unit of every x and y column."""
    f = p.flat
    epb = np.where(p.routes.reachable, p.routes.energy_per_byte, 0.0)
    np.fill_diagonal(epb, 0.0)
    rate = p.workload_rate[f.workload]
    x = rate[:, None] * p.layer_flops[f.global_layer][:, None] * p.node_energy_per_flop[None, :]
    x[f.offset] += d.load_in[:, None] * epb[p.workload_source]
    x[f.offset + f.length - 1] += d.load_out[:, None] * epb[:, p.workload_sink].T
    y = d.load_y[:, None, None] * epb[None]
    return np.concatenate([x.ravel(), y.ravel()])


# ------------------------------------------------------------ the model
@dataclass(frozen=True, eq=False)
class TextbookModel:
    """``min c'v`` subject to ``row_lower <= A v <= row_upper``, column bounds
    and integrality; ``rows`` counts the rows of each block."""

    problem: Problem
    layout: Layout
    c: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    A: csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: dict[str, int]

    @property
    def num_fixed_x(self) -> int:
        return int((self.upper[:self.layout.y0] == 0).sum())


def estimated_nonzeros(problem: Problem) -> int:
    """Nonzeros of the textbook model of ``problem`` (an estimate, on the high
    side: every row block counted as if present)."""
    lay = layout(problem)
    n = lay.nodes
    hops = int(np.maximum(problem.routes.hops, 0).sum())
    per_boundary = 3 * n * n + hops * (2 if lay.b >= 0 else 1) + (2 * n * n if problem.one_segment_per_node else n * n)
    return int(lay.boundary.size * per_boundary + lay.positions * n * 10 + lay.layers.size * n)


def build_textbook(problem: Problem, previous_keys: np.ndarray | None = None,
                   deadline: float = float("inf")) -> TextbookModel:
    """The textbook model of ``problem`` as matrices (module docstring).

    Raises
    ------
    _OutOfTime
        When ``deadline`` (a ``time.perf_counter()`` value) passes while building.
    """
    lay = layout(problem)
    lower, upper, integer = _bounds(problem, lay)
    d = _data(problem, lay)
    rows = _Rows(lay.size, deadline)
    _assignment_and_flow(lay, rows)
    _placement(lay, rows)
    _latency(problem, lay, d, rows)
    _memory_and_compute(problem, lay, d, rows)
    _links(problem, lay, d, rows, lay.b >= 0)
    _segments(problem, lay, rows)
    _objective_rows(problem, lay, d, rows)
    c = _objective(problem, lay, d, previous_keys)
    A, row_lower, row_upper = rows.matrix()
    rows.check("matrix")
    return TextbookModel(problem, lay, c, lower, upper, integer, A, row_lower, row_upper, dict(rows.names))


# ------------------------------------------------------------ HiGHS
def _highs(model: TextbookModel, options: SolveOptions) -> highspy.Highs:
    """A HiGHS instance holding the model, with our tolerances and limits set."""
    h = new_highs(options.log, options.seed, options.threads)
    set_mip_options(h, options)
    pass_matrices(h, model.c, model.lower, model.upper, model.A, model.row_lower, model.row_upper, model.integer)
    return h


def column_values(model: TextbookModel, x: np.ndarray, previous_keys: np.ndarray | None = None) -> np.ndarray:
    """The value of every column for a flat assignment ``x`` (for a warm start)."""
    p, lay = model.problem, model.layout
    ev = evaluate_array(p, x, previous_keys)
    v = np.zeros(lay.size)
    k = np.arange(lay.positions)
    v[lay.x(k, x)] = 1.0
    v[lay.y(np.arange(lay.boundary.size), x[lay.boundary], x[lay.boundary + 1])] = 1.0
    v[lay.z(lay.z_of, x)] = 1.0
    latency = ev.arrays["latency"]
    v[lay.t0:lay.t0 + p.num_workloads] = latency
    if lay.m >= 0:
        v[lay.m] = latency.max()
    if lay.b >= 0:
        links = ev.arrays["link_load"] / p.link_bandwidth if p.num_links else np.zeros(1)
        v[lay.b] = max(float(ev.arrays["node_utilization"].max()), float(links.max(initial=0.0)), 0.0)
    if lay.u0 >= 0:
        v[lay.u0 + np.unique(x)] = 1.0
    return v


def _warm_start(h: highspy.Highs, model: TextbookModel, options: SolveOptions) -> str:
    set_start(h, column_values(model, np.asarray(options.warm_start, dtype=np.int64), options.previous_keys))
    return "given to HiGHS"


def _decode(model: TextbookModel, values: np.ndarray) -> np.ndarray:
    lay = model.layout
    return np.asarray(argmax(values[:lay.y0].reshape(lay.positions, lay.nodes), axis=1), dtype=np.int64)


def solve_textbook(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``milp-textbook`` backend: build the matrices, solve with HiGHS."""
    t0 = time.perf_counter()
    info: dict = {"versions": versions()}
    nnz = estimated_nonzeros(problem)
    if nnz > MAX_NONZEROS:
        return RawResult(SolveStatus.NO_SOLUTION, info={
            **info, "estimated_nonzeros": nnz,
            "reason": f"the textbook model is too large to build ({nnz} > {MAX_NONZEROS} nonzeros)"})
    try:
        model = build_textbook(problem, options.previous_keys, options.deadline)
    except _OutOfTime as exc:
        return RawResult(SolveStatus.NO_SOLUTION, info={
            **info, "build_time": time.perf_counter() - t0,
            "reason": f"time limit reached while building the model ({exc})"})
    info.update(matrix_time=time.perf_counter() - t0, variables=model.c.size, constraints=model.A.shape[0],
                nonzeros=model.A.nnz, fixed_x=model.num_fixed_x, rows=model.rows)
    h = _highs(model, options)
    if options.warm_start is not None:
        info["warm_start"] = _warm_start(h, model, options)
    info["build_time"] = time.perf_counter() - t0
    stopped = run_in_time(h, options, info)
    if stopped is not None:
        return stopped
    return result(h, lambda values: _decode(model, values), info)
