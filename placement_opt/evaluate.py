"""The evaluator: the one truth for every number (SPEC sections 4-6).

``evaluate(problem, solution)`` scores any assignment exactly as the spec says and
lists every violated constraint.  It is vectorised over the problem's flat
(workload, layer) layout, so a 200-node, 80-layer, 50-workload solution is scored
in about a millisecond (see ``benchmarks/evaluator.py``).

Feasibility uses a relative tolerance of ``FEASIBILITY_RTOL`` (1e-9,
:mod:`placement_opt.tolerance`): a load of ``limit * (1 + 1e-9)`` still counts as
within ``limit``, so that rounding in the last bits never flips an answer.
Utilisations are reported as the quantities the spec caps: node utilisation is
``sum_w rate_w * sum c_{l,i}`` (a fraction of the node's effective compute
``F_i``), link utilisation is bytes/s over bandwidth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import segments
from .instance import OBJECTIVE_TERMS
from .problem import Problem
from .solution import Solution
from .tolerance import exceeds

#: Violation kinds, in the order they are reported.
VIOLATION_KINDS = (
    "unavailable",
    "no_compute",
    "privacy",
    "no_route",
    "memory",
    "compute",
    "link",
    "slo",
    "max_segments",
    "one_segment_per_node",
)


@dataclass(frozen=True)
class Violation:
    """One violated constraint.

    Attributes
    ----------
    kind
        One of :data:`VIOLATION_KINDS`.
    value, limit
        The constrained quantity and its limit (bytes, utilisation, bytes/s,
        seconds, segments, trust level).
    amount
        By how much the limit is exceeded (``value - limit``; for ``privacy`` the
        missing trust levels; 1 for ``unavailable``, ``no_compute``, ``no_route``).
    workload, layer, node, link, to_node
        Where: ids (``layer`` is the 0-based layer index).
    """

    kind: str
    value: float
    limit: float
    amount: float
    workload: str | None = None
    layer: int | None = None
    node: str | None = None
    link: str | None = None
    to_node: str | None = None

    @property
    def where(self) -> str:
        parts = []
        if self.workload is not None:
            parts.append(f"workload {self.workload!r}")
        if self.layer is not None:
            parts.append(f"layer {self.layer}")
        if self.node is not None:
            parts.append(f"node {self.node!r}" if self.to_node is None else f"from {self.node!r}")
        if self.to_node is not None:
            parts.append(f"to {self.to_node!r}")
        if self.link is not None:
            parts.append(f"link {self.link!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.value:.6g} > {self.limit:.6g} (by {self.amount:.6g})"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        return out


@dataclass(frozen=True)
class Evaluation:
    """The evaluator's verdict on one assignment.

    Attributes
    ----------
    feasible
        True when no constraint is violated.
    violations
        Every violated constraint.
    objective
        ``sum_term weight_term * value_term`` (SPEC 6).
    terms
        Value of every term of SPEC 6 (``migration`` only when a previous
        solution was given), unweighted.
    latency
        ``T_w`` per workload id, seconds (``inf`` when a transfer has no route).
    node_utilization, link_utilization
        Per node / link id, the quantities that ``max_utilization`` caps.
    node_memory
        Bytes used per node id (weights once per placed layer, plus state).
    """

    feasible: bool
    violations: tuple[Violation, ...]
    objective: float
    terms: Mapping[str, float]
    latency: Mapping[str, float]
    node_utilization: Mapping[str, float]
    link_utilization: Mapping[str, float]
    node_memory: Mapping[str, float]
    arrays: Mapping[str, np.ndarray] = field(repr=False, default_factory=dict)

    def summary(self) -> str:
        lines = [f"feasible   {self.feasible}", f"objective  {self.objective:.9g}"]
        for term, value in self.terms.items():
            lines.append(f"  {term:<12} {value:.9g}")
        lines.append("latency per workload (s)")
        for wid, lat in self.latency.items():
            lines.append(f"  {wid:<20} {lat:.6g}")
        if self.violations:
            lines.append(f"violations ({len(self.violations)})")
            lines += [f"  {v}" for v in self.violations[:50]]
            if len(self.violations) > 50:
                lines.append(f"  ... and {len(self.violations) - 50} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | str:
            return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")

        return {
            "feasible": self.feasible,
            "objective": num(self.objective),
            "terms": {k: num(v) for k, v in self.terms.items()},
            "latency": {k: num(v) for k, v in self.latency.items()},
            "node_utilization": {k: num(v) for k, v in self.node_utilization.items()},
            "link_utilization": {k: num(v) for k, v in self.link_utilization.items()},
            "node_memory": dict(self.node_memory),
            "violations": [v.to_dict() for v in self.violations],
        }


def evaluate(
    problem: Problem,
    solution: Solution | Mapping[str, Any] | np.ndarray,
    previous: Solution | Mapping[str, Any] | np.ndarray | None = None,
) -> Evaluation:
    """Score an assignment exactly as SPEC sections 4-6 say.

    Parameters
    ----------
    problem
        The problem.
    solution
        A :class:`Solution`, an assignment ``{workload id: [node id per layer]}``,
        or a flat node-index array in the problem's layout.
    previous
        The solution before a re-plan; enables the ``migration`` term (bytes of
        weights placed now but not before).  Workloads of ``previous`` that the
        problem does not have are ignored.

    Returns
    -------
    Evaluation

    Raises
    ------
    SolutionError
        If the assignment does not fit the problem (missing workloads, wrong
        lengths, unknown nodes).
    """
    x = as_array(problem, solution)
    prev = None if previous is None else placed_keys(problem, previous)
    return evaluate_array(problem, x, prev)


def as_array(problem: Problem, solution: Solution | Mapping[str, Any] | np.ndarray) -> np.ndarray:
    """Flat node-index array of a solution, assignment or array."""
    if isinstance(solution, np.ndarray):
        if solution.shape != (problem.flat.size,):
            raise ValueError(f"expected an array of {problem.flat.size} node indices, got shape {solution.shape}")
        return solution.astype(np.int64, copy=False)
    if isinstance(solution, Solution):
        solution = solution.assignment
    return problem.assignment_to_array(solution)


def placed_keys(problem: Problem, solution: Solution | Mapping[str, Any] | np.ndarray) -> np.ndarray:
    """Sorted unique ``global_layer * N + node`` of every placed (layer, node).

    For a mapping, workloads unknown to ``problem`` and node ids it does not have
    are skipped: those placements cannot be reused now anyway.
    """
    n = problem.num_nodes
    if isinstance(solution, np.ndarray):
        return np.unique(problem.flat.global_layer * n + solution)
    if isinstance(solution, Solution):
        solution = solution.assignment
    keys = []
    for wid, nodes in solution.items():
        w = problem.workload_index.get(wid)
        if w is None:
            continue
        base = problem.model_offset[problem.workload_model[w]]
        for layer, node in enumerate(nodes):
            i = problem.node_index.get(node)
            if i is not None and layer < problem.workload_num_layers[w]:
                keys.append((base + layer) * n + i)
    return np.unique(np.asarray(keys, dtype=np.int64))


def evaluate_array(problem: Problem, x: np.ndarray, previous_keys: np.ndarray | None = None) -> Evaluation:
    """Evaluate a flat node-index array (fast path for solvers)."""
    p = problem
    f = p.flat
    n_nodes, n_links, n_work = p.num_nodes, p.num_links, p.num_workloads
    routes = p.routes
    gl = f.global_layer
    w_of = f.workload
    rate = p.workload_rate

    # --- latency (SPEC 5) ---------------------------------------------------
    comp = p.compute_time[gl, x]
    ext = np.concatenate([x, p.workload_source, p.workload_sink])
    t_src = ext[f.transfer_from]
    t_dst = ext[f.transfer_to]
    moves = t_src != t_dst
    routed = routes.hops[t_src, t_dst] >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_time = routes.latency[t_src, t_dst] + f.transfer_bytes / routes.bandwidth[t_src, t_dst]
    t_time = np.where(moves, np.where(routed, t_time, np.inf), 0.0)
    latency = np.bincount(w_of, comp, n_work) + np.bincount(f.transfer_workload, t_time, n_work)

    # --- loads ----------------------------------------------------------------
    rate_k = rate[w_of]
    with np.errstate(invalid="ignore"):
        busy = np.where(rate_k > 0, rate_k * comp, 0.0)
    node_util = np.bincount(x, busy, n_nodes)
    keys = _placed(gl * n_nodes + x, p.num_global_layers * n_nodes)
    key_layer, key_node = np.divmod(keys, n_nodes)
    weights = np.bincount(key_node, p.layer_param_bytes[key_layer], n_nodes)
    memory = weights + np.bincount(x, p.layer_state_bytes[gl], n_nodes)
    t_rate = rate[f.transfer_workload]
    t_load = t_rate * f.transfer_bytes
    link_load = routes.link_loads(t_src, t_dst, t_load, n_links)
    link_util = link_load / p.link_bandwidth if n_links else link_load

    # --- terms (SPEC 6) ---------------------------------------------------------
    weight = p.workload_weight
    wsum = weight.sum()
    # a weight-0 workload does not count, even when its latency is inf
    weighted = np.multiply(weight, latency, out=np.zeros_like(latency), where=weight > 0)
    terms = {
        "latency": float(weighted.sum() / wsum) if wsum > 0 else 0.0,
        "max_latency": float(latency.max()),
        "bottleneck": float(max(node_util.max(), link_util.max() if n_links else 0.0, 0.0)),
        "cost": float(p.node_cost @ (np.bincount(x, minlength=n_nodes) > 0)),
        "energy": float(
            rate_k @ (p.layer_flops[gl] * p.node_energy_per_flop[x])
            + t_load @ np.where(moves & routed, routes.energy_per_byte[t_src, t_dst], 0.0)
        ),
    }
    if previous_keys is not None:
        fresh = ~np.isin(keys, previous_keys, assume_unique=True)
        terms["migration"] = float(p.layer_param_bytes[key_layer[fresh]].sum())
    objective = 0.0
    for term, coef in p.objective_weights.items():
        if coef:
            objective += coef * terms.get(term, 0.0)

    violations = _violations(p, x, comp, t_src, t_dst, moves & ~routed, latency, node_util, memory, link_load)
    ids = p.node_ids
    return Evaluation(
        feasible=not violations,
        violations=tuple(violations),
        objective=float(objective),
        terms={t: terms[t] for t in OBJECTIVE_TERMS if t in terms},
        latency=dict(zip(p.workload_ids, latency.tolist())),
        node_utilization=dict(zip(ids, node_util.tolist())),
        link_utilization=dict(zip(p.link_ids, link_util.tolist())),
        node_memory=dict(zip(ids, memory.tolist())),
        arrays={
            "latency": latency,
            "node_utilization": node_util,
            "link_load": link_load,
            "node_memory": memory,
            "placed_keys": keys,
        },
    )


def _placed(keys: np.ndarray, space: int) -> np.ndarray:
    """Sorted unique keys; a bitmap beats hashing while the key space is small."""
    if space > 8 * keys.size + 100_000:
        return np.unique(keys)
    seen = np.zeros(space, dtype=bool)
    seen[keys] = True
    return np.flatnonzero(seen)


def _violations(p, x, comp, t_src, t_dst, no_route, latency, node_util, memory, link_load) -> list[Violation]:
    f = p.flat
    w_of = f.workload
    wids, nids, lids = p.workload_ids, p.node_ids, p.link_ids
    out: list[Violation] = []

    def at(kind, mask, value, limit, amount):
        for k in np.flatnonzero(mask):
            out.append(Violation(kind, float(value[k]), float(limit[k]), float(amount[k]),
                                 workload=wids[w_of[k]], layer=int(f.layer[k]), node=nids[x[k]]))

    one = np.ones(x.size)
    at("unavailable", ~p.node_available[x], one, 0 * one, one)
    at("no_compute", p.node_flops[x] <= 0, 0 * one, one, one)
    private = f.layer < p.workload_private_layers[w_of]
    trust, need = p.node_trust[x], p.workload_min_trust[w_of]
    at("privacy", private & (trust < need), trust, need, need - trust)
    for t in np.flatnonzero(no_route):
        out.append(Violation("no_route", 1.0, 0.0, 1.0, workload=wids[f.transfer_workload[t]],
                             node=nids[t_src[t]], to_node=nids[t_dst[t]]))

    for i in np.flatnonzero(exceeds(memory, p.node_memory)):
        out.append(Violation("memory", float(memory[i]), float(p.node_memory[i]),
                             float(memory[i] - p.node_memory[i]), node=nids[i]))
    cap = p.max_utilization
    for i in np.flatnonzero(exceeds(node_util, cap)):
        out.append(Violation("compute", float(node_util[i]), cap, float(node_util[i] - cap), node=nids[i]))
    if p.num_links:
        link_cap = cap * p.link_bandwidth
        for e in np.flatnonzero(exceeds(link_load, link_cap)):
            out.append(Violation("link", float(link_load[e]), float(link_cap[e]),
                                 float(link_load[e] - link_cap[e]), link=lids[e]))

    slo = p.workload_slo
    for w in np.flatnonzero(exceeds(latency, slo)):
        out.append(Violation("slo", float(latency[w]), float(slo[w]), float(latency[w] - slo[w]), workload=wids[w]))

    starts = segments.starts(x, w_of)
    count_of = np.bincount(w_of[starts], minlength=p.num_workloads)
    limit = p.workload_max_segments
    for w in np.flatnonzero(count_of > limit):
        out.append(Violation("max_segments", float(count_of[w]), float(limit[w]),
                             float(count_of[w] - limit[w]), workload=wids[w]))
    if p.one_segment_per_node:
        n = p.num_nodes
        pair, count = np.unique(w_of[starts] * n + x[starts], return_counts=True)
        for key, c in zip(pair[count > 1], count[count > 1]):
            w, i = divmod(int(key), n)
            out.append(Violation("one_segment_per_node", float(c), 1.0, float(c - 1),
                                 workload=wids[w], node=nids[i]))
    return out
