"""``random``: seeded random feasible construction, best of N (a floor)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...candidates import candidates
from ...problem import Problem
from .common import Packer, pack, to_raw

INF = np.inf


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
        ok = np.all(mask[piece], axis=0)
        if p.one_segment_per_node and used:
            ok[list(used)] = False
        choices = np.flatnonzero(ok)
        if not choices.size:
            return None
        i = int(rng.choice(choices))
        path[piece] = i
        used.add(i)
    return path


@dataclass(frozen=True)
class RandomParams:
    """Options of ``random``: ``iterations`` constructions, each workload
    taking the first of up to ``tries`` random paths that fits, with at most
    ``max_random_segments`` segments each."""

    iterations: int = 100
    tries: int = 30
    max_random_segments: int = 4

    def __post_init__(self) -> None:
        for name in ("iterations", "tries", "max_random_segments"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def solve_random(problem: Problem, options: SolveOptions) -> RawResult:
    """Best of ``iterations`` (default 100) random
    constructions: workloads in random order, each taking the first of up to
    ``tries`` (default 30) random paths that fits.  Deterministic for a seed
    unless the deadline cuts the iterations short."""
    t0 = time.perf_counter()
    p = problem
    params = options.params_as(RandomParams)
    iterations, tries, cap = params.iterations, params.tries, params.max_random_segments
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
        obj = to_raw(p, x, options, {}, t0).solver_objective  # None: infeasible
        if obj is not None and (best is None or tol.improves(obj, best[0])):
            best = (obj, done, x)
    info = {"iterations": done, "seed": options.seed}
    if best is None:
        return to_raw(p, None, options, info, t0)
    info["best_iteration"] = best[1]
    return to_raw(p, best[2], options, info, t0)
