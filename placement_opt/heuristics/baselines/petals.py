"""``petals``: Petals' block selection by the servers, then min-latency routing."""

from __future__ import annotations

import time

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...candidates import candidates
from ...problem import Problem
from .common import Packer, TransferCache, layered_dp, pack, to_raw
from .neurosurgeon import servers

INF = np.inf


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


def choose_best_start(throughputs: np.ndarray, blocks: int, starts: np.ndarray) -> int:
    """Petals' ``choose_best_start``: the span whose sorted throughputs are
    lexicographically smallest (it covers the weakest blocks), ties to the
    smaller start; only ``starts`` are considered."""
    spans = np.sort(np.stack([throughputs[i:i + blocks] for i in starts]), axis=1)
    return int(starts[tol.order(*spans.T, starts)[0]])


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
            start = choose_best_start(throughputs, blocks, np.flatnonzero(fit >= blocks))
            throughputs[start:start + blocks] += _server_throughput(p, m, i, blocks)
            placed[rows[start:start + blocks], i] = True
            free[i] -= block_bytes[start:start + blocks].sum()
            spans[model.id][p.node_ids[i]] = (start, start + blocks - 1)
    return placed, spans


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
