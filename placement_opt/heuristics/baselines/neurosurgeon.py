"""``neurosurgeon``: the best single split between the source and one server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...problem import Problem
from .common import Packer, TransferCache, node_tiers, pack, to_raw

INF = np.inf


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
    entries = [e for e in entries if np.isfinite(e[0])]
    keys = np.array(entries, dtype=float).T if entries else np.zeros((3, 0))
    for k, s in (entries[i][1:] for i in tol.order(*keys).tolist()):
        path = np.full(length, s, dtype=np.int64)
        path[:k] = src
        yield path


def solve_neurosurgeon(problem: Problem, options: SolveOptions) -> RawResult:
    """Per workload the latency-best (split point, server) pair that fits."""
    t0 = time.perf_counter()
    pool = servers(problem)

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        return packer.first_fit(w, split_ranking(problem, w, pool))

    x, info = pack(problem, choose, deadline=options.deadline)
    info["servers"] = [problem.node_ids[i] for i in pool]
    return to_raw(problem, x, options, info, t0)
