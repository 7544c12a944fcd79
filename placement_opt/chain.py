"""An exact lower bound for one workload under a pure ``bottleneck`` objective.

A pipeline's slowest stage (PipeEdge, Helix's per-pipeline view) is the
``bottleneck`` term of SPEC 6 when a single workload runs: the largest
utilisation of a node (its segment's compute times the rate) or of a link (a
transfer's bytes times the rate over the bandwidth).  Its LP relaxation is
weak: spread fractionally, layers balance perfectly.  This module solves the
problem as a dynamic program over *segments* instead:

``f[e, S, k]`` is the least largest stage cost of covering layers ``[0, e)``
with the hosts counted in ``S`` (how many of each class of interchangeable
nodes are used, :mod:`placement_opt.symmetry`; other hosts are classes of
one), the last segment on a host of class ``k``.  A step appends a segment
``[e, e')`` on a new host of class ``k'``; its cost is the larger of the
segment's compute utilisation on that host and the utilisation of every link
of the transfer into it.  Under ``one_segment_per_node`` a host is used at
most once; otherwise ``S`` counts segments only.

**Why the value is a lower bound.**  Take any feasible solution.  Its
segments, in order, are a path of the program: each segment fits its host on
its own (memory, compute, trust, and every single transfer fits its links),
the hosts of one class are interchangeable, and the program charges each
segment and each transfer on its own, never more than the solution's real
loads (which add the other segments and transfers on the same node or link).
So the program's minimum is at most the solution's bottleneck.  The SLO and
link sharing are relaxed.

**When it is the optimum.**  The program also returns the plan that attains
its minimum (hosts of a class in index order, the canonical form of
:mod:`placement_opt.symmetry`).  When the evaluator finds that plan feasible
with the same objective, it is optimal: this proves PipeEdge's schedules in a
fraction of a second, where the MILP's bound stalls several per cent below.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .evaluate import evaluate_array
from .problem import Problem
from .symmetry import NodeClasses
from .tolerance import TIE_RTOL, argmin, improves_mask, threshold

INF = math.inf

#: The program is skipped when states x classes x layers exceed this.
MAX_WORK = 5e6


@dataclass(frozen=True)
class ChainBound:
    """What :func:`chain_bound` found.

    Attributes
    ----------
    bound
        A lower bound on the objective (``inf``: no plan fits at all).
    x
        The program's plan as a flat assignment (None when none fits).
    objective
        The evaluator's objective of ``x`` (None when ``x`` is None or infeasible).
    states
        Program states (count vectors x classes).
    """

    bound: float
    x: np.ndarray | None
    objective: float | None
    states: int

    @property
    def proves(self) -> bool:
        """Whether the plan meets the bound: then it is optimal."""
        return self.objective is not None and self.objective <= threshold(self.bound)


def applies(problem: Problem) -> bool:
    """Whether the bound is valid for ``problem``: one workload, and every
    objective weight but ``bottleneck`` zero."""
    weights = problem.objective_weights
    return (problem.num_workloads == 1 and weights.get("bottleneck", 0.0) > 0
            and all(v == 0 for k, v in weights.items() if k != "bottleneck"))


def chain_bound(problem: Problem, classes: NodeClasses, previous_keys: np.ndarray | None = None,
                deadline: float = INF) -> ChainBound | None:
    """The segment program's lower bound and plan (see the module docstring).

    Returns None when it does not apply (:func:`applies`), the state space
    exceeds :data:`MAX_WORK`, or the deadline passes.
    """
    if not applies(problem):
        return None
    prog = _Program(problem, classes)
    if prog.work > MAX_WORK:
        return None
    best = prog.solve(deadline)
    if best is None:
        return None
    value, x = best
    # shaded by 1e-12 (relative) so that rounding in the sums never lifts it over the optimum
    bound = float(problem.objective_weights["bottleneck"]) * value * (1 - 1e-12)
    objective = None
    if x is not None:
        ev = evaluate_array(problem, x, previous_keys)
        objective = ev.objective if ev.feasible else None
    return ChainBound(bound, x, objective, prog.num_states * len(prog.members))


class _Program:
    """The segment program of one problem (see the module docstring)."""

    def __init__(self, p: Problem, classes: NodeClasses):
        self.p = p
        w = 0
        self.gl = p.flat.global_layers(w)
        self.L = int(self.gl.size)
        self.rate = float(p.workload_rate[w])
        self.src, self.snk = int(p.workload_source[w]), int(p.workload_sink[w])
        hosts = set(np.flatnonzero(p.can_host).tolist())
        grouped = [tuple(c) for c in classes.classes if set(c) <= hosts]
        inside = {i for c in grouped for i in c}
        self.members = grouped + [(i,) for i in sorted(hosts - inside)]
        self.one_seg = bool(p.one_segment_per_node)
        self.max_seg = int(min(p.workload_max_segments[w], self.L))
        K = len(self.members)
        if self.one_seg:
            sizes = [len(m) for m in self.members]
        else:  # segments are counted, not hosts: one "class" of max_seg uses
            sizes = [self.max_seg]
        self.radix = np.concatenate(([1], np.cumprod([s + 1 for s in sizes]))).astype(np.int64)
        self.sizes = np.asarray(sizes)
        self.num_states = int(self.radix[-1])
        self.work = float(self.num_states) * K * self.L * self.L
        self.K = K

    # ------------------------------------------------------------ costs
    def _stage(self, k: int) -> np.ndarray:
        """``cost[s, e]`` of segment ``[s, e)`` on class ``k``'s first host
        (``inf`` where it does not fit the host alone)."""
        p, gl, L = self.p, self.gl, self.L
        i = self.members[k][0]
        comp = np.concatenate(([0.0], np.cumsum(p.compute_time[gl, i])))
        need = np.concatenate(([0.0], np.cumsum(p.layer_param_bytes[gl] + p.layer_state_bytes[gl])))
        s, e = np.meshgrid(np.arange(L + 1), np.arange(L + 1), indexing="ij")
        util = self.rate * (comp[e] - comp[s]) if self.rate > 0 else np.zeros((L + 1, L + 1))
        ok = (e > s) & (util <= threshold(p.max_utilization)) & (need[e] - need[s] <= threshold(p.node_memory[i]))
        private = int(p.workload_private_layers[0])
        if p.node_trust[i] < p.workload_min_trust[0]:
            ok &= s >= private
        return np.where(ok, util, INF)

    def _transfer(self, a: int, b: int, nbytes: float) -> float:
        """Largest link utilisation of sending ``nbytes`` from node ``a`` to
        ``b`` at the workload's rate (``inf``: no route, or a link it overloads alone)."""
        if a == b or nbytes <= 0 or self.rate <= 0:
            return 0.0 if a == b or self.p.routes.hops[a, b] >= 0 else INF
        p = self.p
        if p.routes.hops[a, b] < 0:
            return INF
        worst = 0.0
        for e in p.routes.path_links(a, b):
            load = self.rate * nbytes
            if load > threshold(p.max_utilization * p.link_bandwidth[e]):
                return INF
            worst = max(worst, load / float(p.link_bandwidth[e]))
        return worst

    def _between(self, k: int, k2: int, nbytes: float) -> float:
        """Transfer from a host of class ``k`` to another of class ``k2``."""
        a, b = self.members[k], self.members[k2]
        if k != k2:
            return self._transfer(a[0], b[0], nbytes)
        # Consecutive segments are on different hosts (else they would be one segment).
        return self._transfer(a[0], a[1], nbytes) if len(a) > 1 else INF

    # -------------------------------------------------------------- program
    def _next_state(self) -> np.ndarray:
        """``nxt[S, k]``: the state after one more segment on class ``k`` (-1: none)."""
        S = np.arange(self.num_states)
        cls = np.arange(self.K) if self.one_seg else np.zeros(self.K, dtype=np.int64)
        digits = (S[:, None] // self.radix[:-1][None, :]) % (self.sizes + 1)[None, :]
        segments = digits.sum(axis=1)
        room = (digits[:, cls] < self.sizes[cls][None, :]) & (segments < self.max_seg)[:, None]
        return np.where(room, S[:, None] + self.radix[cls][None, :], -1)

    def solve(self, deadline: float) -> tuple[float, np.ndarray | None] | None:
        p, L, K = self.p, self.L, self.K
        stage = [self._stage(k) for k in range(K)]
        out = p.layer_output_bytes[self.gl]
        model = int(p.workload_model[0])
        nxt = self._next_state()
        f = np.full((L + 1, self.num_states, K), INF)
        parent = np.full((L + 1, self.num_states, K, 3), -1, dtype=np.int64)
        for k in range(K):
            start = self._transfer(self.src, self.members[k][0], float(p.input_bytes[model]))
            s1 = nxt[0, k]
            if s1 >= 0:
                f[1:, s1, k] = np.maximum(start, stage[k][0, 1:])
        for e in range(1, L):
            if time.perf_counter() > deadline:
                return None
            move = {(k, k2): self._between(k, k2, float(out[e - 1])) for k in range(K) for k2 in range(K)}
            for S, k in zip(*np.nonzero(np.isfinite(f[e]))):
                here = f[e, S, k]
                for k2 in range(K):
                    S2 = nxt[S, k2]
                    if S2 < 0:
                        continue
                    cost = np.maximum(max(here, move[k, k2]), stage[k2][e, e + 1:])
                    better = improves_mask(cost, f[e + 1:, S2, k2], rtol=TIE_RTOL)
                    if better.any():
                        ends = e + 1 + np.flatnonzero(better)
                        f[ends, S2, k2] = cost[better]
                        parent[ends, S2, k2] = (e, S, k)
        last = float(out[-1])
        final = np.full((self.num_states, K), INF)
        for k in range(K):
            final[:, k] = np.maximum(f[L, :, k], self._transfer(self.members[k][0], self.snk, last))
        best_s, best_k = (int(v) for v in np.unravel_index(argmin(final), final.shape))
        value = float(final[best_s, best_k])
        if not math.isfinite(value):
            return INF, None
        return value, self._plan(parent, best_s, best_k)

    def _plan(self, parent: np.ndarray, S: int, k: int) -> np.ndarray:
        """The flat assignment of the optimal path, hosts of a class in index order."""
        segments = []
        e = self.L
        while e > 0:
            s, S_prev, k_prev = (int(v) for v in parent[e, S, k])
            segments.append((max(s, 0), e, k))
            if s < 0:
                break
            e, S, k = s, S_prev, k_prev
        segments.reverse()
        used = [0] * self.K
        x = np.empty(self.L, dtype=np.int64)
        for s, e, k in segments:
            members = self.members[k]
            x[s:e] = members[used[k] % len(members)]
            used[k] += 1
        return x


__all__ = ["ChainBound", "MAX_WORK", "applies", "chain_bound"]
