"""An independent reference implementation of docs/SPEC.md sections 4-6.

This is a *test oracle*: plain, loop-based Python written from the contract
(``docs/SPEC.md``) and the recorded choices (``docs/decisions.md``) only, without
looking at the package's evaluator, routing or problem internals.  Clarity beats
speed everywhere.  It works on the plain instance data (a ``dict`` as read from
JSON) and on assignments ``{workload id: [node id per layer]}``.

Conventions where SPEC + decisions.md leave room (each marked "ORACLE CHOICE"
below, and listed in the report that introduced this file):

* compute time on a ``flops == 0`` node without a matching ``layer_times`` entry is
  ``inf`` (``flops_l / 0``; also for a 0-FLOP layer: the node cannot run anything);
* a workload with ``rate == 0`` puts no load on nodes, links and energy
  (``0 * inf`` is taken as 0: no requests, no load);
* a workload with ``weight == 0`` does not enter the weighted mean latency, even
  when its latency is ``inf``;
* an objective term with weight 0 (or absent) contributes nothing, even when its
  value is ``inf``;
* a transfer without a route crosses no link: it adds no link load and no energy
  (its time is ``inf``, SPEC/decisions);
* privacy: the private prefix is checked on every node, the source included
  (decisions.md: only the raw input's origin is exempt, a layer run there is not);
* routing ties: paths whose latency is within relative 1e-9 of the least latency
  are tied; among those, fewest hops, then widest bottleneck, then the smallest
  link file index on the last hop, with the prefix being *the route* to that
  hop's start (routes are prefix-consistent, a tree per source, as
  decisions.md states).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REL_TOL = 1e-9
INF = math.inf

TERMS = ("latency", "max_latency", "bottleneck", "cost", "energy", "migration")

#: which Violation fields identify *where* a violation is, per kind
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "unavailable": ("workload", "layer", "node"),
    "no_compute": ("workload", "layer", "node"),
    "privacy": ("workload", "layer", "node"),
    "no_route": ("workload", "node", "to_node"),
    "memory": ("node",),
    "compute": ("node",),
    "link": ("link",),
    "slo": ("workload",),
    "max_segments": ("workload",),
    "one_segment_per_node": ("workload", "node"),
}


def within(value: float, limit: float) -> bool:
    """decisions.md "Feasibility tolerance": ``value <= limit * (1 + 1e-9)``."""
    return value <= limit * (1.0 + REL_TOL)


def latencies_tied(x: float, y: float) -> bool:
    """Route latencies within a relative 1e-9 count as equal."""
    return abs(x - y) <= REL_TOL * max(abs(x), abs(y))


# --------------------------------------------------------------------------- #
# Instance data with defaults resolved (SPEC section 3, decisions.md)
# --------------------------------------------------------------------------- #


@dataclass
class RNode:
    id: str
    flops: float
    memory: float
    utilization: float
    trust: int
    cost: float
    energy_per_flop: float
    available: bool
    type: str | None


@dataclass
class RLink:
    index: int
    id: str
    source: str
    target: str
    bandwidth: float
    latency: float
    energy_per_byte: float
    directed: bool
    available: bool


@dataclass
class RLayer:
    flops: float
    param_bytes: float
    output_bytes: float
    state_bytes: float


@dataclass
class RModel:
    id: str
    input_bytes: float
    layers: list[RLayer]
    layer_times: dict[str, list[float]]


@dataclass
class RWorkload:
    id: str
    model: str
    source: str
    sink: str
    rate: float
    slo: float | None
    min_trust: int
    private_layers: int
    weight: float
    max_segments: int | None


@dataclass
class RPath:
    links: tuple[int, ...]  # link file indices, from a to b
    nodes: tuple[str, ...]  # a, ..., b
    latency: float
    bandwidth: float


@dataclass
class RefEvaluation:
    feasible: bool
    violations: set[tuple]
    objective: float
    terms: dict[str, float]
    latency: dict[str, float]
    node_utilization: dict[str, float]
    link_utilization: dict[str, float]
    node_memory: dict[str, float]
    #: every violation as a dict: kind, where fields and, for the capacity kinds
    #: (memory, compute, link, slo, max_segments), ``value`` and ``limit`` in the
    #: units of the SPEC 5 constraint (bytes, utilisation, bytes/s, s, segments)
    violation_list: list[dict[str, Any]] = field(default_factory=list)


def violation_key(*args: Any, **where: Any) -> tuple:
    """``(kind, (field, value), ...)`` with the fields of KEY_FIELDS[kind];
    called as ``violation_key(kind, **where)`` or ``violation_key(**violation)``."""
    kind = args[0] if args else where["kind"]
    return (kind,) + tuple((f, where.get(f)) for f in KEY_FIELDS[kind])


class Reference:
    """The reference evaluator for one instance (plain data)."""

    def __init__(self, data: Mapping[str, Any]):
        self.nodes: list[RNode] = []
        for n in data["nodes"]:
            self.nodes.append(
                RNode(
                    id=n["id"],
                    flops=float(n["flops"]),
                    memory=float(n["memory"]),
                    utilization=float(n.get("utilization", 0.0)),
                    trust=int(n.get("trust", 0)),
                    cost=float(n.get("cost", 0.0)),
                    energy_per_flop=float(n.get("energy_per_flop", 0.0)),
                    available=bool(n.get("available", True)),
                    type=n.get("type"),
                )
            )
        self.node = {n.id: n for n in self.nodes}

        self.links: list[RLink] = []
        for k, e in enumerate(data.get("links", [])):
            self.links.append(
                RLink(
                    index=k,
                    id=e.get("id") or f"{e['source']}-{e['target']}",
                    source=e["source"],
                    target=e["target"],
                    bandwidth=float(e["bandwidth"]),
                    latency=float(e["latency"]),
                    energy_per_byte=float(e.get("energy_per_byte", 0.0)),
                    directed=bool(e.get("directed", False)),
                    available=bool(e.get("available", True)),
                )
            )

        self.models: dict[str, RModel] = {}
        for m in data["models"]:
            layers = [
                RLayer(
                    flops=float(l["flops"]),
                    param_bytes=float(l["param_bytes"]),
                    output_bytes=float(l["output_bytes"]),
                    state_bytes=float(l.get("state_bytes", 0.0)),
                )
                for l in m["layers"]
            ]
            lt = {k: [float(x) for x in v] for k, v in (m.get("layer_times") or {}).items()}
            self.models[m["id"]] = RModel(m["id"], float(m["input_bytes"]), layers, lt)

        self.workloads: list[RWorkload] = []
        for w in data["workloads"]:
            self.workloads.append(
                RWorkload(
                    id=w["id"],
                    model=w["model"],
                    source=w["source"],
                    sink=w.get("sink") or w["source"],
                    rate=float(w["rate"]),
                    slo=None if w.get("slo") is None else float(w["slo"]),
                    min_trust=int(w.get("min_trust", 0)),
                    private_layers=int(w.get("private_layers", 0)),
                    weight=float(w.get("weight", 1.0)),
                    max_segments=w.get("max_segments"),
                )
            )

        self.objective: dict[str, float] = dict(data.get("objective", {"latency": 1.0}))
        settings = data.get("settings", {}) or {}
        self.max_utilization = float(settings.get("max_utilization", 1.0))
        self.one_segment_per_node = bool(settings.get("one_segment_per_node", False))
        self._routes: dict[str, dict[str, RPath]] = {}
        self._paths: dict[str, dict[str, list[RPath]]] = {}

    # ------------------------------------------------------------------ #
    # SPEC 4: routes
    # ------------------------------------------------------------------ #

    def link_usable(self, link: RLink) -> bool:
        return link.available and self.node[link.source].available and self.node[link.target].available

    def arcs_from(self, u: str) -> list[tuple[int, str]]:
        """(link index, next node) for every usable way out of ``u``."""
        out = []
        for link in self.links:
            if not self.link_usable(link):
                continue
            if link.source == u:
                out.append((link.index, link.target))
            if not link.directed and link.target == u:
                out.append((link.index, link.source))
        return out

    def simple_paths_from(self, a: str) -> dict[str, list[RPath]]:
        """Every simple path from ``a`` to each other node.

        The best route is always simple: latencies are >= 0, so removing a cycle
        never makes a path longer and always removes hops.
        """
        if a in self._paths:
            return self._paths[a]
        found: dict[str, list[RPath]] = {}
        self._paths[a] = found
        if not self.node[a].available:
            return found

        def dfs(u: str, nodes: tuple[str, ...], links: tuple[int, ...]) -> None:
            for idx, v in self.arcs_from(u):
                if v in nodes:
                    continue
                found.setdefault(v, []).append(self._measure(links + (idx,), nodes + (v,)))
                dfs(v, nodes + (v,), links + (idx,))

        dfs(a, (a,), ())
        return found

    def _measure(self, links: tuple[int, ...], nodes: tuple[str, ...]) -> RPath:
        lat = 0.0
        for k in links:  # summed from a, in path order
            lat += self.links[k].latency
        bw = min(self.links[k].bandwidth for k in links)
        return RPath(links, nodes, lat, bw)

    @staticmethod
    def _tied(paths: list[RPath]) -> list[RPath]:
        """Rules 1-3: least latency (relative 1e-9), fewest hops, widest."""
        best_lat = min(p.latency for p in paths)
        tied = [p for p in paths if latencies_tied(p.latency, best_lat)]
        fewest = min(len(p.links) for p in tied)
        tied = [p for p in tied if len(p.links) == fewest]
        widest = max(p.bandwidth for p in tied)
        return [p for p in tied if p.bandwidth == widest]

    def routes_from(self, a: str) -> dict[str, RPath]:
        """Rule 4 as decisions.md states it: the smallest last-hop link index among
        the tied candidates, the prefix being the route to that hop's start."""
        if a not in self._routes:
            out = {}
            for b, paths in self.simple_paths_from(a).items():
                links = self.route_prefix_consistent(a, b)
                ids = [next(k for k, e in enumerate(self.links) if e.id == lid) for lid in links]
                out[b] = next(p for p in paths if list(p.links) == ids)
            self._routes[a] = out
        return self._routes[a]

    def route_path(self, a: str, b: str) -> RPath | None:
        """The route a -> b (a != b), or None when there is none."""
        return self.routes_from(a).get(b)

    def route_prefix_consistent(self, a: str, b: str) -> list[str] | None:
        """decisions.md's rule 4: "then the smallest link index on the last hop,
        and recursively on the route to that hop's start", where the prefix is
        *the route* from ``a`` to the hop's start, chosen by all the rules on its
        own (routes are prefix-consistent)."""
        if a == b:
            return []
        paths = self.simple_paths_from(a).get(b)
        if not paths:
            return None
        tied = self._tied(paths)
        last = min(p.links[-1] for p in tied)
        hop_start = next(p for p in tied if p.links[-1] == last).nodes[-2]
        prefix = self.route_prefix_consistent(a, hop_start)
        return None if prefix is None else prefix + [self.links[last].id]

    def recursion_engaged(self, a: str, b: str) -> bool:
        """Whether rule 4 has to look past the last hop for a -> b: several
        candidates tied by rules 1-3 share the smallest last-hop link index.
        Only then can the two readings of "recursively" pick different routes
        (otherwise the last hop alone decides and both readings agree)."""
        paths = self.simple_paths_from(a).get(b) if a != b else None
        if not paths:
            return False
        tied = self._tied(paths)
        last = min(p.links[-1] for p in tied)
        return sum(p.links[-1] == last for p in tied) > 1

    def disputed_pairs(self) -> set[tuple[str, str]]:
        """Pairs whose route may depend on how rule 4's "recursively" is read
        (decided structurally, without using either reading's answer)."""
        return {(a, b) for a in self.node for b in self.node if self.recursion_engaged(a, b)}

    def route(self, a: str, b: str) -> list[str] | None:
        """Link ids of the route (``[]`` when a == b, None when there is no route)."""
        if a == b:
            return []
        p = self.route_path(a, b)
        return None if p is None else [self.links[k].id for k in p.links]

    def transfer_time(self, a: str, b: str, nbytes: float) -> float:
        if a == b:
            return 0.0
        p = self.route_path(a, b)
        if p is None:
            return INF
        return p.latency + nbytes / p.bandwidth

    # ------------------------------------------------------------------ #
    # SPEC 4: compute
    # ------------------------------------------------------------------ #

    def effective_flops(self, node: RNode) -> float:
        return node.flops * (1.0 - node.utilization)

    def compute_time(self, model: RModel, l: int, node_id: str) -> float:
        node = self.node[node_id]
        if node.type is not None and node.type in model.layer_times:
            return model.layer_times[node.type][l] / (1.0 - node.utilization)
        f = self.effective_flops(node)
        if f == 0.0:
            return INF  # ORACLE CHOICE: a node with no compute cannot run a layer
        return model.layers[l].flops / f

    # ------------------------------------------------------------------ #
    # SPEC 5 + 6: evaluation
    # ------------------------------------------------------------------ #

    def transfers(self, w: RWorkload, nodes: Sequence[str]) -> list[tuple[str, str, float]]:
        """(from, to, bytes) of every transfer of one inference of ``w``."""
        model = self.models[w.model]
        out = [(w.source, nodes[0], model.input_bytes)]
        for l in range(len(nodes) - 1):
            out.append((nodes[l], nodes[l + 1], model.layers[l].output_bytes))
        out.append((nodes[-1], w.sink, model.layers[-1].output_bytes))
        return out

    def workload_latency(self, w: RWorkload, nodes: Sequence[str]) -> float:
        model = self.models[w.model]
        trs = self.transfers(w, nodes)
        total = self.transfer_time(*trs[0])
        for l, n in enumerate(nodes):
            total += self.compute_time(model, l, n)
        for a, b, nbytes in trs[1:]:
            total += self.transfer_time(a, b, nbytes)
        return total

    @staticmethod
    def segments(nodes: Sequence[str]) -> list[str]:
        """Node of each maximal run of consecutive layers on one node."""
        segs: list[str] = []
        for n in nodes:
            if not segs or segs[-1] != n:
                segs.append(n)
        return segs

    def placed(self, assignment: Mapping[str, Sequence[str]]) -> set[tuple[str, int, str]]:
        out = set()
        for w in self.workloads:
            for l, n in enumerate(assignment[w.id]):
                out.add((w.model, l, n))
        return out

    def evaluate(
        self,
        assignment: Mapping[str, Sequence[str]],
        previous: Mapping[str, Sequence[str]] | None = None,
    ) -> RefEvaluation:
        viol: list[dict[str, Any]] = []

        def add(kind: str, **where: Any) -> None:
            viol.append(dict(kind=kind, **where))

        # ---- latency per workload
        latency: dict[str, float] = {}
        for w in self.workloads:
            latency[w.id] = self.workload_latency(w, assignment[w.id])

        # ---- placed layers, memory
        placed = self.placed(assignment)
        memory = {n.id: 0.0 for n in self.nodes}
        for model_id, l, n in sorted(placed):
            memory[n] += self.models[model_id].layers[l].param_bytes
        for w in self.workloads:
            model = self.models[w.model]
            for l, n in enumerate(assignment[w.id]):
                memory[n] += model.layers[l].state_bytes

        # ---- node compute load (utilisation of effective compute)
        node_util = {n.id: 0.0 for n in self.nodes}
        for w in self.workloads:
            if w.rate == 0:
                continue  # ORACLE CHOICE: no requests, no load (even on a switch)
            model = self.models[w.model]
            for l, n in enumerate(assignment[w.id]):
                node_util[n] += w.rate * self.compute_time(model, l, n)

        # ---- link loads (bytes/s), both directions together
        link_load = {e.id: 0.0 for e in self.links}
        for w in self.workloads:
            for a, b, nbytes in self.transfers(w, assignment[w.id]):
                if a == b:
                    continue
                p = self.route_path(a, b)
                if p is None:
                    continue
                for k in p.links:
                    link_load[self.links[k].id] += w.rate * nbytes
        link_util = {e.id: link_load[e.id] / e.bandwidth for e in self.links}

        # ---- violations
        for w in self.workloads:
            nodes = assignment[w.id]
            prefix = max(w.private_layers, 1)
            for l, n in enumerate(nodes):
                node = self.node[n]
                if not node.available:
                    add("unavailable", workload=w.id, layer=l, node=n)
                if node.flops == 0:
                    add("no_compute", workload=w.id, layer=l, node=n)
                if l < prefix and node.trust < w.min_trust:
                    add("privacy", workload=w.id, layer=l, node=n)
            for a, b, _ in self.transfers(w, nodes):
                if a != b and self.route_path(a, b) is None:
                    add("no_route", workload=w.id, node=a, to_node=b)
        for n in self.nodes:
            if not within(memory[n.id], n.memory):
                add("memory", node=n.id, value=memory[n.id], limit=n.memory)
        for n in self.nodes:
            if not within(node_util[n.id], self.max_utilization):
                add("compute", node=n.id, value=node_util[n.id], limit=self.max_utilization)
        for e in self.links:
            if not within(link_load[e.id], self.max_utilization * e.bandwidth):
                add("link", link=e.id, value=link_load[e.id], limit=self.max_utilization * e.bandwidth)
        for w in self.workloads:
            if w.slo is not None and not within(latency[w.id], w.slo):
                add("slo", workload=w.id, value=latency[w.id], limit=w.slo)
            segs = self.segments(assignment[w.id])
            if w.max_segments is not None and len(segs) > w.max_segments:
                add("max_segments", workload=w.id, value=len(segs), limit=w.max_segments)
            if self.one_segment_per_node:
                for n in sorted(set(segs)):
                    if segs.count(n) > 1:
                        add("one_segment_per_node", workload=w.id, node=n)

        # ---- objective terms
        terms: dict[str, float] = {}
        wsum = 0.0
        wlat = 0.0
        for w in self.workloads:
            if w.weight > 0:  # ORACLE CHOICE: weight-0 workloads do not count
                wsum += w.weight
                wlat += w.weight * latency[w.id]
        terms["latency"] = wlat / wsum if wsum > 0 else 0.0
        terms["max_latency"] = max(latency.values()) if latency else 0.0
        utils = list(node_util.values()) + list(link_util.values())
        terms["bottleneck"] = max(utils) if utils else 0.0
        hosting = {n for _, _, n in placed}
        terms["cost"] = sum(self.node[n].cost for n in sorted(hosting))
        energy = 0.0
        for w in self.workloads:
            if w.rate == 0:
                continue
            model = self.models[w.model]
            per_inference = 0.0
            for l, n in enumerate(assignment[w.id]):
                per_inference += model.layers[l].flops * self.node[n].energy_per_flop
            for a, b, nbytes in self.transfers(w, assignment[w.id]):
                if a == b:
                    continue
                p = self.route_path(a, b)
                if p is None:
                    continue  # ORACLE CHOICE: crosses no link
                for k in p.links:
                    per_inference += nbytes * self.links[k].energy_per_byte
            energy += w.rate * per_inference
        terms["energy"] = energy
        if previous is not None:
            wl = {w.id: w for w in self.workloads}
            before = set()
            for wid, nodes in previous.items():
                if wid not in wl:
                    continue  # decisions.md: unknown workloads are ignored
                for l, n in enumerate(nodes):
                    if n in self.node:  # decisions.md: unknown node ids are ignored
                        before.add((wl[wid].model, l, n))
            mig = 0.0
            for model_id, l, _node in sorted(placed - before):
                mig += self.models[model_id].layers[l].param_bytes
            terms["migration"] = mig

        objective = 0.0
        for term, weight in self.objective.items():
            if weight > 0:  # ORACLE CHOICE: weight 0 terms contribute nothing (no 0*inf)
                objective += weight * terms.get(term, 0.0)

        keys = {violation_key(v["kind"], **v) for v in viol}
        return RefEvaluation(
            feasible=not viol,
            violations=keys,
            objective=objective,
            terms=terms,
            latency=latency,
            node_utilization=node_util,
            link_utilization=link_util,
            node_memory=memory,
            violation_list=viol,
        )


def evaluate(
    data: Mapping[str, Any],
    assignment: Mapping[str, Sequence[str]],
    previous: Mapping[str, Sequence[str]] | None = None,
) -> RefEvaluation:
    """Convenience: ``Reference(data).evaluate(assignment, previous)``."""
    return Reference(data).evaluate(assignment, previous)
