"""``edgeshard-dp``: EdgeShard's latency DP over (layer, node) with memory limits."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...backend import RawResult, SolveOptions
from ...candidates import candidates
from ...problem import Problem
from .common import Packer, TransferCache, layered_dp, pack, to_raw

INF = np.inf


@dataclass(frozen=True)
class EdgeShardParams:
    """Options of ``edgeshard-dp``: ``pin_source`` runs layer 0 on the source,
    as the paper does for privacy (default False: the spec's trust rule)."""

    pin_source: bool = False


def solve_edgeshard(problem: Problem, options: SolveOptions) -> RawResult:
    """EdgeShard's latency DP for each workload in turn, against residual
    capacity (options: :class:`EdgeShardParams`)."""
    t0 = time.perf_counter()
    p = problem
    cand = candidates(p)
    tm = TransferCache(p)
    pin = options.params_as(EdgeShardParams).pin_source

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
