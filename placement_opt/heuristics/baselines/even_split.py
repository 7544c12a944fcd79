"""``even-split``: equal layer counts over the k nodes nearest the source."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...problem import Problem
from .common import Packer, best_over_k, pack

INF = np.inf


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
    return nodes[tol.order(lat, nodes)]


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


@dataclass(frozen=True)
class EvenSplitParams:
    """Options of ``even-split``: ``k``, the number of pieces (default: the
    ``k`` with the best objective)."""

    k: int | None = None

    def __post_init__(self) -> None:
        if self.k is not None and self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


def solve_even_split(problem: Problem, options: SolveOptions) -> RawResult:
    """Equal pieces over the nearest nodes; ``k`` from :class:`EvenSplitParams`
    or, by default, the ``k`` with the best objective."""
    t0 = time.perf_counter()
    p = problem
    fixed = options.params_as(EvenSplitParams).k
    most = min(int(p.workload_num_layers.max()), int(p.can_host.sum()))
    ks = [fixed] if fixed is not None else list(range(1, most + 1))
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
