"""Literature baselines, registered as solvers (see docs/heuristics.md, *Baselines*).

Each baseline first does what its source does; it is then adapted to the spec
only as far as needed to return a feasible solution: workloads are placed one
at a time against residual memory, compute and link capacity
(:class:`~placement_opt.heuristics._bl_common.Packer`), and where a baseline's
first choice breaks a constraint it takes its next choice of the same kind
(the next split point, the next server).  When it runs out of choices it says
``no_solution``; an array the evaluator finds infeasible is never returned.

- ``device-only``: everything on the workload's source;
- ``edge-only`` / ``cloud-only``: everything on the best single edge / cloud node;
- ``neurosurgeon``: best split point between the source and one server;
- ``even-split``: equal layer counts over the k nodes nearest the source;
- ``memory-proportional``: exo's ring, layer shares in proportion to memory;
- ``edgeshard-dp``: EdgeShard's latency DP over (layer, node) with memory limits;
- ``petals``: Petals' block selection by the servers, then min-latency routing;
- ``random``: seeded random feasible construction, best of N (a floor).

Tiers (device, edge, cloud) are read by
:func:`~placement_opt.heuristics._bl_common.node_tiers`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..candidates import candidates
from ..problem import Problem
from ..solve import RawResult, SolveOptions, register_solver
from ._bl_common import Packer, TransferCache, layered_dp, node_tiers, pack, to_raw

__all__ = [
    "best_over_k",
    "chunks",
    "even_split_path",
    "exo_partition",
    "petals_spans",
    "privacy_split_ranking",
    "single_node_ranking",
    "split_ranking",
    "nearest_nodes",
    "random_path",
    "ring_order",
    "servers",
]

INF = np.inf


# --------------------------------------------------------------- single tier
def single_node_ranking(problem: Problem, w: int, nodes: np.ndarray) -> np.ndarray:
    """``nodes`` sorted by the latency of workload ``w`` run entirely on each
    (ties: file order); nodes it cannot run on at all are dropped.

    Parameters
    ----------
    problem
        The problem.
    w
        Workload index.
    nodes
        Node indices to rank.

    Returns
    -------
    numpy.ndarray
        Node indices, fastest first.
    """
    p = problem
    nodes = np.asarray(nodes, dtype=np.int64)
    nodes = nodes[p.can_host[nodes]]
    if not nodes.size:
        return nodes
    tm = TransferCache(p)
    gl = p.flat.global_layers(w)
    m = p.workload_model[w]
    lat = (tm(p.input_bytes[m])[p.workload_source[w], nodes] + p.compute_time[gl][:, nodes].sum(axis=0)
           + tm(p.layer_output_bytes[gl[-1]])[nodes, p.workload_sink[w]])
    keep = np.isfinite(lat)
    nodes, lat = nodes[keep], lat[keep]
    return nodes[np.lexsort((nodes, lat))]


def privacy_split_ranking(problem: Problem, w: int, pool: np.ndarray) -> Iterator[np.ndarray]:
    """Paths that run workload ``w``'s private prefix on one trusted host and
    the rest on one node of ``pool``, best latency first (ties: file order).

    The adaptation of the single-tier baselines to the spec's privacy rule:
    tried only after every single-node path, for workloads with a
    ``min_trust``.

    Yields
    ------
    numpy.ndarray
        Node per layer.
    """
    p = problem
    gl = p.flat.global_layers(w)
    length = gl.size
    pre = int(p.workload_private_layers[w])
    trusted = np.flatnonzero(p.can_host & (p.node_trust >= p.workload_min_trust[w]))
    pool = np.asarray(pool, dtype=np.int64)
    pool = pool[p.can_host[pool]]
    if pre >= length or not trusted.size or not pool.size:
        return
    tm = TransferCache(p)
    src, snk, m = int(p.workload_source[w]), int(p.workload_sink[w]), int(p.workload_model[w])
    head = tm(p.input_bytes[m])[src, trusted] + p.compute_time[gl[:pre]][:, trusted].sum(axis=0)
    tail = p.compute_time[gl[pre:]][:, pool].sum(axis=0) + tm(p.layer_output_bytes[gl[-1]])[pool, snk]
    lat = head[:, None] + tm(p.layer_output_bytes[gl[pre - 1]])[np.ix_(trusted, pool)] + tail[None, :]
    a, b = np.meshgrid(np.arange(trusted.size), np.arange(pool.size), indexing="ij")
    keep = np.isfinite(lat) & (trusted[a] != pool[b])
    entries = sorted(zip(lat[keep].tolist(), trusted[a[keep]].tolist(), pool[b[keep]].tolist()))
    for _, t, i in entries:
        path = np.full(length, i, dtype=np.int64)
        path[:pre] = t
        yield path


def _single_tier(problem: Problem, options: SolveOptions, tier: str) -> RawResult:
    t0 = time.perf_counter()
    p = problem
    pool = np.flatnonzero(node_tiers(p) == tier)
    info: dict = {"tier_nodes": [p.node_ids[i] for i in pool]}
    if not pool.size:
        info["reason"] = f"no node of tier {tier!r}"
        return to_raw(p, None, options, info, t0)

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        length = int(p.flat.length[w])
        paths = (np.full(length, i) for i in single_node_ranking(p, w, pool))
        if p.workload_min_trust[w] > 0:
            paths = itertools.chain(paths, privacy_split_ranking(p, w, pool))
        return packer.first_fit(w, paths)

    x, more = pack(p, choose, deadline=options.deadline)
    if x is not None:
        split = [p.workload_ids[w] for w in range(p.num_workloads)
                 if np.unique(x[p.flat.offset[w]:p.flat.offset[w] + p.flat.length[w]]).size > 1]
        info["privacy_splits"] = split
    return to_raw(p, x, options, {**info, **more}, t0)


@register_solver("device-only", exact=False, description="every layer on the workload's source device",
                 source="single-tier baseline (all-local execution), e.g. Kang et al., Neurosurgeon, ASPLOS 2017")
def solve_device_only(problem: Problem, options: SolveOptions) -> RawResult:
    """All layers of every workload on its source node (no offloading)."""
    t0 = time.perf_counter()

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        path = np.full(int(problem.flat.length[w]), problem.workload_source[w])
        return path if packer.violation(w, path) is None else None

    x, info = pack(problem, choose, attempts=1, deadline=options.deadline)
    return to_raw(problem, x, options, info, t0)


@register_solver("edge-only", exact=False, description="every workload whole on its fastest edge node that fits",
                 source="single-tier baseline (full offloading to the edge), "
                        "e.g. Kang et al., Neurosurgeon, ASPLOS 2017")
def solve_edge_only(problem: Problem, options: SolveOptions) -> RawResult:
    """Each workload entirely on one edge node: its fastest one that still fits."""
    return _single_tier(problem, options, "edge")


@register_solver("cloud-only", exact=False, description="every workload whole on its fastest cloud node that fits",
                 source="single-tier baseline (full offloading to the cloud), "
                        "e.g. Kang et al., Neurosurgeon, ASPLOS 2017")
def solve_cloud_only(problem: Problem, options: SolveOptions) -> RawResult:
    """Each workload entirely on one cloud node: its fastest one that still fits."""
    return _single_tier(problem, options, "cloud")


# --------------------------------------------------------------- neurosurgeon
def servers(problem: Problem) -> np.ndarray:
    """Nodes that act as servers: hosts whose tier is not ``device``."""
    return np.flatnonzero(problem.can_host & (node_tiers(problem) != "device"))


def split_ranking(problem: Problem, w: int, pool: np.ndarray) -> Iterator[np.ndarray]:
    """Neurosurgeon's candidates for workload ``w``, best latency first.

    Layers ``[0, k)`` run on the source and ``[k, L)`` on one server ``s`` of
    ``pool`` (``k = L``: all local; ``k = 0``: all on ``s``).  Ties: smaller ``k``, then file
    order of ``s``.

    Yields
    ------
    numpy.ndarray
        Node per layer.
    """
    p = problem
    gl = p.flat.global_layers(w)
    length = gl.size
    src, snk = int(p.workload_source[w]), int(p.workload_sink[w])
    pool = np.asarray([s for s in pool if s != src], dtype=np.int64)
    tm = TransferCache(p)
    local = np.concatenate([[0.0], np.cumsum(p.compute_time[gl, src])])  # compute of [0, k) on the source
    entries = [(local[length] + tm(p.layer_output_bytes[gl[-1]])[src, snk], length, src)]
    if pool.size:
        remote = p.compute_time[gl][:, pool]
        suffix = np.vstack([np.cumsum(remote[::-1], axis=0)[::-1], np.zeros((1, pool.size))])  # [k, L) on s
        out = tm(p.layer_output_bytes[gl[-1]])[pool, snk]
        for k in range(length):
            nbytes = p.input_bytes[p.workload_model[w]] if k == 0 else p.layer_output_bytes[gl[k - 1]]
            lat = local[k] + tm(nbytes)[src, pool] + suffix[k] + out
            entries += [(float(t), k, int(s)) for t, s in zip(lat, pool)]
    for lat, k, s in sorted(e for e in entries if np.isfinite(e[0])):
        path = np.full(length, s, dtype=np.int64)
        path[:k] = src
        yield path


@register_solver("neurosurgeon", exact=False,
                 description="best single split point between the source device and one server, per workload",
                 source="Y. Kang et al., 'Neurosurgeon: Collaborative Intelligence Between the Cloud and Mobile "
                        "Edge', ASPLOS 2017")
def solve_neurosurgeon(problem: Problem, options: SolveOptions) -> RawResult:
    """Per workload the latency-best (split point, server) pair that fits."""
    t0 = time.perf_counter()
    pool = servers(problem)

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        return packer.first_fit(w, split_ranking(problem, w, pool))

    x, info = pack(problem, choose, deadline=options.deadline)
    info["servers"] = [problem.node_ids[i] for i in pool]
    return to_raw(problem, x, options, info, t0)


# ----------------------------------------------------------------- even split
def chunks(length: int, parts: int) -> list[np.ndarray]:
    """``range(length)`` cut into ``parts`` contiguous pieces whose sizes
    differ by at most one (the longer ones first)."""
    return [a for a in np.array_split(np.arange(length), parts) if a.size]


def nearest_nodes(problem: Problem, w: int) -> np.ndarray:
    """Hosts that the source reaches and that reach the sink, by route latency
    from the source (the source itself first), ties in file order."""
    p = problem
    r = p.routes
    src, snk = int(p.workload_source[w]), int(p.workload_sink[w])
    ok = p.can_host & r.reachable[src] & r.reachable[:, snk]
    nodes = np.flatnonzero(ok)
    lat = np.where(nodes == src, 0.0, r.latency[src, nodes])
    return nodes[np.lexsort((nodes, lat))]


def even_split_path(packer: Packer, w: int, parts: int, order: np.ndarray) -> np.ndarray | None:
    """Workload ``w``'s layers in ``parts`` equal pieces, piece ``j`` on the
    ``j``-th nearest node of ``order`` that can take it (skipping nodes that
    cannot: untrusted for a private layer, or out of memory or compute).

    Returns
    -------
    numpy.ndarray or None
        Node per layer, or None if the nodes run out.
    """
    length = int(packer.p.flat.length[w])
    path = np.empty(length, dtype=np.int64)
    nodes = iter(order.tolist())
    for piece in chunks(length, parts):
        for i in nodes:
            if packer.node_fits(w, piece, i):
                path[piece] = i
                break
        else:
            return None
    return path


def best_over_k(problem: Problem, options: SolveOptions, ks: list[int],
                build: Callable[[int], tuple[np.ndarray | None, dict]], t0: float) -> RawResult:
    """Run ``build(k)`` for each ``k`` (while the deadline allows; the first
    always runs) and keep the feasible array with the best objective (ties:
    the smaller ``k``).  ``info["k"]`` is the chosen ``k``; ``info["failures"]``
    says, per ``k`` that failed, which workload and why."""
    best: tuple[float, int, np.ndarray, dict] | None = None
    tried: list[int] = []
    failures: dict[int, dict] = {}
    for k in ks:
        if tried and time.perf_counter() > options.deadline:
            break
        tried.append(k)
        x, info = build(k)
        raw = to_raw(problem, x, options, info, t0)
        if raw.x is None:
            failures[k] = {key: info[key] for key in ("failed", "rejected", "stopped") if key in info}
            continue
        if best is None or raw.solver_objective < best[0]:
            best = (raw.solver_objective, k, raw.x, info)
    info = {"k_tried": tried, "failures": failures}
    if best is None:
        return to_raw(problem, None, options, info, t0)
    info.update(best[3], k=best[1])
    return to_raw(problem, best[2], options, info, t0)


@register_solver("even-split", exact=False,
                 description="equal layer counts over the k nodes nearest to the source (best k)",
                 source="uniform (equal layer count) pipeline partitioning: Megatron-LM pipeline stages "
                        "(Narayanan et al., SC 2021), DeepSpeed partition_method='uniform'; the even-partition "
                        "baseline of edge DNN partitioning studies")
def solve_even_split(problem: Problem, options: SolveOptions) -> RawResult:
    """Equal pieces over the nearest nodes; ``k`` fixed by ``options.extra["k"]``
    or, by default, the ``k`` with the best objective."""
    t0 = time.perf_counter()
    p = problem
    fixed = options.extra.get("k")
    most = min(int(p.workload_num_layers.max()), int(p.can_host.sum()))
    ks = [int(fixed)] if fixed is not None else list(range(1, most + 1))
    order = {w: nearest_nodes(p, w) for w in range(p.num_workloads)}

    def build(k: int) -> tuple[np.ndarray | None, dict]:
        def choose(w: int, packer: Packer) -> np.ndarray | None:
            parts = min(k, int(p.flat.length[w]), int(p.workload_max_segments[w]))
            path = even_split_path(packer, w, parts, order[w])
            if path is None:
                packer.rejected["no_node_fits"] += 1
                return None
            return path if packer.violation(w, path) is None else None

        return pack(p, choose, deadline=options.deadline)

    return best_over_k(p, options, ks, build, t0)


# --------------------------------------------------------------------- exo
def exo_partition(memory: np.ndarray, length: int) -> list[tuple[int, int]]:
    """exo's ``RingMemoryWeightedPartitioningStrategy`` + ``map_partitions_to_shards``.

    Ring member ``r`` (already in ring order) owns the fraction
    ``[start, end)`` of the model with ``end = round(start + memory_r / total, 5)``;
    its layers are ``int(start * L) .. int(end * L) - 1``; the last member's
    shard is extended to the last layer; empty shards are dropped.

    Returns
    -------
    list of (member position, layer count)
        In ring order; members without layers are left out.
    """
    total = float(np.sum(memory))
    out: list[tuple[int, int, int]] = []
    start = 0.0
    for r, mem in enumerate(memory):
        end = round(start + float(mem) / total, 5)
        first, last = int(start * length), int(end * length) - 1
        if r == len(memory) - 1:
            last = length - 1
        if first <= last:
            out.append((r, first, last))
        start = end
    if out and out[-1][2] < length - 1:
        out[-1] = (out[-1][0], out[-1][1], length - 1)
    return [(r, last - first + 1) for r, first, last in out]


def ring_order(problem: Problem, members: np.ndarray, min_trust: int) -> np.ndarray:
    """exo's ring order: memory descending, then node id descending.  When the
    model has private layers, nodes trusted with them go first (our adaptation)."""
    p = problem
    members = sorted(members.tolist(), key=lambda i: (p.node_memory[i], p.node_ids[i]), reverse=True)
    if min_trust > 0:
        members = sorted(members, key=lambda i: p.node_trust[i] < min_trust)  # stable
    return np.asarray(members, dtype=np.int64)


def _ring_candidates(problem: Problem, m: int) -> np.ndarray:
    """Hosts that every workload of model ``m`` can reach and be answered from,
    by memory (largest first), ties by node id descending (exo's order)."""
    p = problem
    r = p.routes.reachable
    ws = np.flatnonzero(p.workload_model == m)
    ok = p.can_host & r[p.workload_source[ws]].all(axis=0) & r[:, p.workload_sink[ws]].all(axis=1)
    return ring_order(p, np.flatnonzero(ok), 0)


def _ring_paths(problem: Problem, k: int) -> tuple[dict[int, np.ndarray], dict[str, list[str]]]:
    """The ring of each model over its ``k`` largest-memory candidate nodes,
    as a path over the model's layers."""
    p = problem
    paths, rings = {}, {}
    for m, model in enumerate(p.models):
        ws = np.flatnonzero(p.workload_model == m)
        if not ws.size:
            continue
        cand = _ring_candidates(p, m)[:k]
        ring = ring_order(p, cand, int(p.workload_min_trust[ws].max()))
        shards = exo_partition(p.node_memory[ring], len(model.layers))
        paths[m] = np.repeat(ring[[r for r, _ in shards]], [c for _, c in shards])
        rings[model.id] = [p.node_ids[i] for i in ring]
    return paths, rings


@register_solver("memory-proportional", exact=False,
                 description="exo's ring: contiguous layer ranges in proportion to node memory (best ring size)",
                 source="exo-explore/exo, RingMemoryWeightedPartitioningStrategy ('ring memory weighted "
                        "partitioning strategy')")
def solve_memory_proportional(problem: Problem, options: SolveOptions) -> RawResult:
    """One ring per model over its ``k`` largest-memory reachable hosts, shared
    by all its workloads; ``k`` from ``options.extra["k"]`` or the best."""
    t0 = time.perf_counter()
    p = problem
    most = max((len(_ring_candidates(p, m)) for m in set(p.workload_model.tolist())), default=0)
    fixed = options.extra.get("k")
    ks = [int(fixed)] if fixed is not None else list(range(1, most + 1))

    def build(k: int) -> tuple[np.ndarray | None, dict]:
        paths, rings = _ring_paths(p, k)

        def choose(w: int, packer: Packer) -> np.ndarray | None:
            path = paths[int(p.workload_model[w])]
            return path if packer.violation(w, path) is None else None

        x, info = pack(p, choose, attempts=1, deadline=options.deadline)
        return x, {**info, "ring": rings}

    return best_over_k(p, options, ks, build, t0)


# ---------------------------------------------------------------- EdgeShard
@register_solver("edgeshard-dp", exact=False,
                 description="EdgeShard's latency dynamic program over (layer, node) with memory limits, per workload",
                 source="M. Zhang, J. Cao, X. Shen, Z. Cui, 'EdgeShard: Efficient LLM Inference via Collaborative "
                        "Edge Computing', arXiv:2405.14371, 2024 (IEEE IoT Journal 2025)")
def solve_edgeshard(problem: Problem, options: SolveOptions) -> RawResult:
    """EdgeShard's latency DP for each workload in turn, against residual
    capacity.  ``options.extra["pin_source"]``: run layer 0 on the source, as
    the paper does for privacy (default False: the spec's trust rule instead)."""
    t0 = time.perf_counter()
    p = problem
    cand = candidates(p)
    tm = TransferCache(p)
    pin = bool(options.extra.get("pin_source", False))

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        start, length = int(p.flat.offset[w]), int(p.flat.length[w])
        allowed = cand.mask[start:start + length].copy()
        if pin:
            keep = allowed[0, p.workload_source[w]]
            allowed[0] = False
            allowed[0, p.workload_source[w]] = keep
        path = layered_dp(packer, w, allowed, tm)
        return path if path is not None and packer.violation(w, path) is None else None

    x, info = pack(p, choose, deadline=options.deadline)
    return to_raw(p, x, options, info, t0)


# ------------------------------------------------------------------- Petals
def _server_throughput(problem: Problem, m: int, i: int, blocks: int) -> float:
    """Petals' reported throughput of server ``i`` holding ``blocks`` blocks:
    ``min(compute_rps / ((blocks + 1) / 2), network_rps)``, requests/s.

    ``compute_rps`` is one block's inferences per second (1 / mean layer time
    on ``i``); ``network_rps`` the node's fastest usable link over the mean
    activation size (infinite for a node without links)."""
    p = problem
    rows = slice(p.model_offset[m], p.model_offset[m + 1])
    compute_rps = 1.0 / float(np.mean(p.compute_time[rows, i]))
    usable = p.link_available & p.node_available[p.link_source] & p.node_available[p.link_target]
    touching = usable & ((p.link_source == i) | (p.link_target == i))
    act = float(np.mean(p.layer_output_bytes[rows]))
    network_rps = INF if not touching.any() or act <= 0 else float(p.link_bandwidth[touching].max()) / act
    return min(compute_rps / ((blocks + 1) / 2), network_rps)


def _longest_spans(block_bytes: np.ndarray, memory: float) -> np.ndarray:
    """For each start, how many consecutive blocks fit in ``memory``."""
    ends = np.concatenate([[0.0], np.cumsum(block_bytes)])
    length = block_bytes.size
    fit = np.searchsorted(ends, ends[:length] + memory, side="right") - 1
    return fit - np.arange(length)


def _choose_best_start(throughputs: np.ndarray, blocks: int, starts: np.ndarray) -> int:
    """Petals' ``_choose_best_start``: the span whose sorted throughputs are
    lexicographically smallest (it covers the weakest blocks), ties to the
    smaller start; only ``starts`` are considered."""
    return min((sorted(throughputs[i:i + blocks].tolist()), int(i)) for i in starts)[1]


def petals_spans(problem: Problem, pool: np.ndarray) -> tuple[np.ndarray, dict[str, dict[str, tuple[int, int]]]]:
    """Petals' block selection for every model: servers of ``pool`` join in
    file order; each takes as many consecutive blocks as its free memory holds
    (weights plus the state of all the model's workloads) and puts them where
    the swarm's per-block throughput is weakest.

    Returns
    -------
    (placed, spans)
        ``placed[g, i]``: global layer ``g`` is served by node ``i``;
        ``spans[model][node] = (first, last)`` (0-based, inclusive).
    """
    p = problem
    placed = np.zeros((p.num_global_layers, p.num_nodes), dtype=bool)
    free = p.node_memory.astype(float).copy()
    spans: dict[str, dict[str, tuple[int, int]]] = {}
    for m, model in enumerate(p.models):
        users = int(np.count_nonzero(p.workload_model == m))
        if not users:
            continue
        rows = np.arange(p.model_offset[m], p.model_offset[m + 1])
        block_bytes = p.layer_param_bytes[rows] + users * p.layer_state_bytes[rows]
        throughputs = np.zeros(rows.size)
        spans[model.id] = {}
        for i in pool.tolist():
            fit = _longest_spans(block_bytes, free[i])
            blocks = int(fit.max())
            if blocks <= 0:
                continue
            start = _choose_best_start(throughputs, blocks, np.flatnonzero(fit >= blocks))
            throughputs[start:start + blocks] += _server_throughput(p, m, i, blocks)
            placed[rows[start:start + blocks], i] = True
            free[i] -= block_bytes[start:start + blocks].sum()
            spans[model.id][p.node_ids[i]] = (start, start + blocks - 1)
    return placed, spans


@register_solver("petals", exact=False,
                 description="Petals' greedy block selection over the servers, then min-latency routing per workload",
                 source="A. Borzunov et al., 'Petals: Collaborative Inference and Fine-tuning of Large Models', "
                        "ACL 2023 (demo); 'Distributed Inference and Fine-tuning of Large Language Models "
                        "Over the Internet', NeurIPS 2023")
def solve_petals(problem: Problem, options: SolveOptions) -> RawResult:
    """Servers (non-device hosts) pick their block spans; then each workload
    takes the least-latency route through servers that hold its blocks."""
    t0 = time.perf_counter()
    p = problem
    placed, spans = petals_spans(p, servers(p))
    cand = candidates(p)
    tm = TransferCache(p)
    info: dict = {"spans": spans}

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        start, length = int(p.flat.offset[w]), int(p.flat.length[w])
        allowed = cand.mask[start:start + length] & placed[packer.layers(w)]
        path = layered_dp(packer, w, allowed, tm, track_memory=False)
        return path if path is not None and packer.violation(w, path) is None else None

    missing = [model.id for m, model in enumerate(p.models)
               if np.any(p.workload_model == m)
               and not placed[p.model_offset[m]:p.model_offset[m + 1]].any(axis=1).all()]
    if missing:
        info["reason"] = f"the servers do not cover every block of {missing}"
        return to_raw(p, None, options, info, t0)
    x, more = pack(p, choose, deadline=options.deadline)
    return to_raw(p, x, options, {**info, **more}, t0)


# ------------------------------------------------------------------- random
def random_path(rng: np.random.Generator, packer: Packer, w: int, mask: np.ndarray,
                max_parts: int) -> np.ndarray | None:
    """A random path: a uniform number of segments (1 .. ``max_parts``),
    uniform cut points, and for each segment a uniform node among those that
    are candidates for all its layers (under ``one_segment_per_node``, not one
    used before).  None when a segment has no such node."""
    p = packer.p
    length = mask.shape[0]
    parts = int(rng.integers(1, max_parts + 1))
    cuts = np.sort(rng.choice(np.arange(1, length), parts - 1, replace=False)) if parts > 1 else np.zeros(0, int)
    path = np.empty(length, dtype=np.int64)
    used: set[int] = set()
    for piece in np.split(np.arange(length), cuts):
        ok = mask[piece].all(axis=0)
        if p.one_segment_per_node and used:
            ok[list(used)] = False
        choices = np.flatnonzero(ok)
        if not choices.size:
            return None
        i = int(rng.choice(choices))
        path[piece] = i
        used.add(i)
    return path


@register_solver("random", exact=False,
                 description="seeded random feasible construction (random cuts and nodes), best of N; a floor",
                 source="random placement baseline (common floor in placement/partitioning studies)")
def solve_random(problem: Problem, options: SolveOptions) -> RawResult:
    """Best of ``options.extra["iterations"]`` (default 100) random
    constructions: workloads in random order, each taking the first of up to
    ``tries`` (default 30) random paths that fits.  Deterministic for a seed
    unless the deadline cuts the iterations short."""
    t0 = time.perf_counter()
    p = problem
    iterations = int(options.extra.get("iterations", 100))
    tries = int(options.extra.get("tries", 30))
    cap = int(options.extra.get("max_random_segments", 4))
    rng = np.random.default_rng(options.seed)
    cand = candidates(p)
    best, done = None, 0
    for done in range(1, iterations + 1):
        if done > 1 and time.perf_counter() > options.deadline:
            done -= 1
            break
        order = rng.permutation(p.num_workloads).tolist()

        def choose(w: int, packer: Packer) -> np.ndarray | None:
            start, length = int(p.flat.offset[w]), int(p.flat.length[w])
            mask = cand.mask[start:start + length]
            parts = max(1, min(length, int(p.workload_max_segments[w]), cap))
            for _ in range(tries):
                path = random_path(rng, packer, w, mask, parts)
                if path is not None and packer.violation(w, path) is None:
                    return path
            return None

        x, _ = pack(p, choose, order=order, attempts=1)
        if x is None:
            continue
        raw = to_raw(p, x, options, {}, t0)
        if raw.x is not None and (best is None or raw.solver_objective < best[0]):
            best = (raw.solver_objective, done, x)
    info = {"iterations": done, "seed": options.seed}
    if best is None:
        return to_raw(p, None, options, info, t0)
    info["best_iteration"] = best[1]
    return to_raw(p, best[2], options, info, t0)
