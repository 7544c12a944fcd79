"""Single-tier baselines: ``device-only``, ``edge-only`` and ``cloud-only``."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...problem import Problem
from .common import Packer, TransferCache, node_tiers, pack, to_raw

INF = np.inf


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
    return nodes[tol.order(lat, nodes)]


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
    heads, tails = trusted[a[keep]], pool[b[keep]]
    for k in tol.order(lat[keep], heads, tails).tolist():
        t, i = int(heads[k]), int(tails[k])
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
        paths: Iterator[np.ndarray] = (np.full(length, i) for i in single_node_ranking(p, w, pool))
        if p.workload_min_trust[w] > 0:
            paths = itertools.chain(paths, privacy_split_ranking(p, w, pool))
        return packer.first_fit(w, paths)

    x, more = pack(p, choose, deadline=options.deadline)
    if x is not None:
        split = [p.workload_ids[w] for w in range(p.num_workloads)
                 if np.unique(x[p.flat.offset[w]:p.flat.offset[w] + p.flat.length[w]]).size > 1]
        info["privacy_splits"] = split
    return to_raw(p, x, options, {**info, **more}, t0)


def solve_device_only(problem: Problem, options: SolveOptions) -> RawResult:
    """All layers of every workload on its source node (no offloading)."""
    t0 = time.perf_counter()

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        path = np.full(int(problem.flat.length[w]), problem.workload_source[w])
        return path if packer.violation(w, path) is None else None

    x, info = pack(problem, choose, attempts=1, deadline=options.deadline)
    return to_raw(problem, x, options, info, t0)


def solve_edge_only(problem: Problem, options: SolveOptions) -> RawResult:
    """Each workload entirely on one edge node: its fastest one that still fits."""
    return _single_tier(problem, options, "edge")


def solve_cloud_only(problem: Problem, options: SolveOptions) -> RawResult:
    """Each workload entirely on one cloud node: its fastest one that still fits."""
    return _single_tier(problem, options, "cloud")
