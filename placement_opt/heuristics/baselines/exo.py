"""``memory-proportional``: exo's ring, layer shares in proportion to memory."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...problem import Problem
from .common import Packer, best_over_k, pack

INF = np.inf


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
    id_rank = np.argsort(np.argsort(np.asarray(p.node_ids, dtype=object)[members]))
    untrusted = (p.node_trust[members] < min_trust) if min_trust > 0 else np.zeros(members.size, dtype=bool)
    return np.asarray(members, dtype=np.int64)[tol.order(untrusted, -p.node_memory[members], -id_rank)]


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


@dataclass(frozen=True)
class ExoParams:
    """Options of ``memory-proportional``: ``k``, the ring size (default: the
    ``k`` with the best objective)."""

    k: int | None = None

    def __post_init__(self) -> None:
        if self.k is not None and self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


def solve_memory_proportional(problem: Problem, options: SolveOptions) -> RawResult:
    """One ring per model over its ``k`` largest-memory reachable hosts, shared
    by all its workloads; ``k`` from :class:`ExoParams` or the best."""
    t0 = time.perf_counter()
    p = problem
    most = max((len(_ring_candidates(p, m)) for m in set(p.workload_model.tolist())), default=0)
    fixed = options.params_as(ExoParams).k
    ks = [fixed] if fixed is not None else list(range(1, most + 1))

    def build(k: int) -> tuple[np.ndarray | None, dict]:
        paths, rings = _ring_paths(p, k)

        def choose(w: int, packer: Packer) -> np.ndarray | None:
            path = paths[int(p.workload_model[w])]
            return path if packer.violation(w, path) is None else None

        x, info = pack(p, choose, attempts=1, deadline=options.deadline)
        return x, {**info, "ring": rings}

    return best_over_k(p, options, ks, build, t0)
