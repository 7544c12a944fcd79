"""Which node may run which layer of which workload: exact pruning shared by solvers.

A node ``i`` is a *candidate* for layer ``l`` of workload ``w`` unless some
constraint of SPEC 5 rules it out whatever the rest of the solution is:

- it cannot host (unavailable, or ``flops == 0``);
- ``l`` is private for ``w`` and ``trust_i < min_trust_w``;
- there is no route from ``w``'s source to ``i`` or from ``i`` to ``w``'s sink;
- the layer alone overloads it: ``rate_w * c_{l,i} > max_utilization``, or
  ``param_bytes_l + state_bytes_l > memory_i``;
- the fastest way through ``(l, i)``, ignoring capacities, already misses the
  SLO (layered-graph shortest paths, computed when ``w`` has an SLO).

Nothing here depends on a heuristic or an incumbent, so an exact solver
restricted to candidates is still exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .problem import Problem
from .tolerance import smallest, within


def transfer_matrix(problem: Problem, nbytes: float) -> np.ndarray:
    """``t(i, j, nbytes)`` for all node pairs; ``inf`` without a route."""
    r = problem.routes
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r.latency + nbytes / r.bandwidth
    t = np.where(r.hops >= 0, t, np.inf)
    np.fill_diagonal(t, 0.0)
    return t


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate mask per flat (workload, layer) position: ``mask[k, i]``."""

    problem: Problem
    mask: np.ndarray
    #: earliest arrival: least latency from the source up to finishing flat position k on node i
    forward: np.ndarray | None = None
    #: least latency from starting flat position k on node i to the sink (compute of k included)
    backward: np.ndarray | None = None
    #: per-workload latency limit used for pruning (SLO, or a tighter cap)
    limit: np.ndarray | None = None

    @cached_property
    def nodes(self) -> list[np.ndarray]:
        """Candidate node indices per flat position."""
        return [np.flatnonzero(row) for row in self.mask]

    def count(self) -> int:
        return int(self.mask.sum())

    def infeasible_workloads(self) -> list[int]:
        """Workloads with a layer that has no candidate at all."""
        empty = ~self.mask.any(axis=1)
        return sorted(set(self.problem.flat.workload[empty].tolist()))

    def min_latency(self) -> np.ndarray | None:
        """Least possible latency per workload, ignoring capacities (None if the
        layered shortest paths were not computed)."""
        if self.forward is None:
            return None
        p, f = self.problem, self.problem.flat
        last = f.offset + f.length - 1
        out = np.empty(p.num_workloads)
        for w in range(p.num_workloads):
            nbytes = p.layer_output_bytes[f.global_layer[last[w]]]
            out[w] = np.min(self.forward[last[w]] + transfer_matrix(p, nbytes)[:, p.workload_sink[w]])
        return out


def candidates(problem: Problem, with_paths: bool | None = None,
               latency_cap: np.ndarray | None = None) -> Candidates:
    """Compute the candidate mask (see the module docstring).

    Parameters
    ----------
    with_paths
        Also compute layered-graph shortest paths (``forward``/``backward``) and
        prune by SLO.  Default: when some workload has an SLO or a latency cap
        and the problem has at most 400 nodes.
    latency_cap
        Optional extra per-workload latency limit, used like an SLO (a caller
        that derives it from an incumbent keeps every solution at least as
        good as that incumbent).
    """
    p = problem
    f = p.flat
    n = p.num_nodes
    w_of, gl = f.workload, f.global_layer
    reach = p.routes.reachable
    mask = np.broadcast_to(p.can_host, (f.size, n)).copy()
    private = f.layer < p.workload_private_layers[w_of]
    trusted = p.node_trust[None, :] >= p.workload_min_trust[w_of][:, None]
    mask &= ~private[:, None] | trusted
    mask &= reach[p.workload_source[w_of], :] & reach[:, p.workload_sink[w_of]].T
    rate = p.workload_rate[w_of][:, None]
    c = p.compute_time[gl]
    with np.errstate(invalid="ignore"):
        busy = np.where(rate > 0, rate * c, 0.0)
    mask &= within(busy, p.max_utilization)
    need = (p.layer_param_bytes[gl] + p.layer_state_bytes[gl])[:, None]
    mask &= within(need, p.node_memory[None, :])

    limit = p.workload_slo if latency_cap is None else np.minimum(p.workload_slo, latency_cap)
    if with_paths is None:
        with_paths = bool(np.isfinite(limit).any()) and n <= 400
    if not with_paths:
        return Candidates(p, mask, limit=limit)
    forward, backward = _layered_paths(p, mask)
    through = forward + backward - np.where(mask, c, 0.0)
    mask &= within(through, limit[w_of][:, None])
    return Candidates(p, mask, forward, backward, limit)


def _layered_paths(p: Problem, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shortest paths in the layer-by-node graph, per workload, ignoring capacities.

    ``forward[k, i]``: least time from the source until flat position ``k`` has
    finished on node ``i``.  ``backward[k, i]``: least time from starting ``k`` on
    ``i`` until the result reaches the sink.  ``inf`` where impossible.
    """
    f = p.flat
    c = np.where(mask, p.compute_time[f.global_layer], np.inf)
    forward = np.full_like(c, np.inf)
    backward = np.full_like(c, np.inf)
    cache: dict[float, np.ndarray] = {}

    def tm(nbytes: float) -> np.ndarray:
        if nbytes not in cache:
            cache[nbytes] = transfer_matrix(p, nbytes)
        return cache[nbytes]

    for w in range(p.num_workloads):
        start, length = int(f.offset[w]), int(f.length[w])
        src, snk = p.workload_source[w], p.workload_sink[w]
        m = p.workload_model[w]
        forward[start] = tm(float(p.input_bytes[m]))[src] + c[start]
        for k in range(start + 1, start + length):
            t = tm(float(p.layer_output_bytes[f.global_layer[k - 1]]))
            forward[k] = np.min(forward[k - 1][:, None] + t, axis=0) + c[k]
        last = start + length - 1
        backward[last] = c[last] + tm(float(p.layer_output_bytes[f.global_layer[last]]))[:, snk]
        for k in range(last - 1, start - 1, -1):
            t = tm(float(p.layer_output_bytes[f.global_layer[k]]))
            backward[k] = c[k] + np.min(t + backward[k + 1][None, :], axis=1)
    return forward, backward


def transitions_estimate(cand: Candidates) -> int:
    """How many transition variables the layered formulation would have."""
    f = cand.problem.flat
    counts = cand.mask.sum(axis=1)
    nxt = np.roll(counts, -1)
    last = np.zeros(f.size, dtype=bool)
    last[f.offset + f.length - 1] = True
    return int((counts * nxt)[~last].sum())


def capacity_free_bound(problem: Problem, cand: Candidates) -> float:
    """A lower bound on the objective that ignores every capacity.

    Only the latency terms contribute (every other term is >= 0): each workload
    needs at least its fastest layered path (or, when the paths were not
    computed, the sum of its fastest layer compute times).
    """
    p = problem
    lat = cand.min_latency()
    if lat is None:
        c = np.where(cand.mask, p.compute_time[p.flat.global_layer], np.inf)
        lat = np.bincount(p.flat.workload, c.min(axis=1), p.num_workloads)
    w = p.objective_weights
    bound = 0.0
    wsum = p.workload_weight.sum()
    if w.get("latency", 0) > 0 and wsum > 0:
        bound += w["latency"] * float(p.workload_weight @ lat) / wsum
    if w.get("max_latency", 0) > 0:
        bound += w["max_latency"] * float(lat.max())
    return bound


def restrict(cand: Candidates, nodes_per_layer: int, keep: np.ndarray | None = None) -> Candidates:
    """Keep only the ``nodes_per_layer`` most promising candidates per position
    (fastest path through them, or nearest to source and sink), plus the nodes
    of ``keep`` (a flat assignment).  Not exact: for models too large to build."""
    p = cand.problem
    f = p.flat
    if cand.forward is not None:
        score = cand.forward + cand.backward
    else:
        r = p.routes.latency
        score = r[p.workload_source[f.workload]] + r[:, p.workload_sink[f.workload]].T
        score = score + p.compute_time[f.global_layer]
    score = np.where(cand.mask, score, np.inf)
    k = min(nodes_per_layer, p.num_nodes)
    mask = np.zeros_like(cand.mask)
    for row in range(f.size):
        mask[row, smallest(score[row], k)] = True
    mask &= cand.mask
    if keep is not None:
        mask[np.arange(f.size), keep] = True
    return Candidates(p, mask, cand.forward, cand.backward, cand.limit)
