"""Hypothesis strategies: small random *valid* instances and assignments.

Everything is plain data (``dict``/``list``/``str``/``float``), as read from an
instance file, so other tests can feed it to ``Problem.from_dict`` or write it
to disk.  Public strategies:

* ``instances(...)``                         -> instance dict
* ``assignments(instance, ...)``             -> ``{workload id: [node id, ...]}``
* ``previous_assignments(instance)``         -> a previous assignment, possibly
  with unknown workloads and node ids (decisions.md: they are ignored)
* ``instance_and_assignment(...)``           -> ``(instance, assignment)``, with
  node memories, SLOs and ``max_utilization`` sometimes set right at (or 1e-12 /
  1e-6 around) what that assignment needs
* ``instance_assignment_previous(...)``      -> ``(instance, assignment, previous)``

Values are drawn from small menus on purpose: equal link latencies and
bandwidths create routing ties, ``0.1 + 0.2`` vs ``0.15 + 0.15`` vs ``0.3``
exercise the relative 1e-9 latency tolerance, and capacities are on the scale of
the loads so that verdicts flip both ways.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from hypothesis import strategies as st

DEVICE_TYPES = ("gpu", "cpu", "npu")
TERMS = ("latency", "max_latency", "bottleneck", "cost", "energy", "migration")
# latencies: many ties; 0.1+0.2 != 0.3 in floats but is "equal" under the 1e-9 rule
LATENCIES = (0.0, 0.001, 0.002, 0.003, 0.005, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
BANDWIDTHS = (1e5, 1e6, 1e6, 1e7, 1e8)


_RANGE_STEPS = 1000
_ABSENT = object()


def _value(draw, menu: tuple, lo: float, hi: float, *, optional: bool = False) -> Any:
    """One integer draw: a menu value (3 times in 4) or a value in [lo, hi].

    Shrinks towards ``menu[0]``; with ``optional``, towards "field absent"
    (absent about 1 time in 3).  Single draws keep generation fast (hypothesis
    pays per draw).
    """
    span = 4 * _RANGE_STEPS
    absent = span // 2 if optional else 0
    k = draw(_ints(0, absent + span - 1))
    if k < absent:
        return _ABSENT
    k -= absent
    if k < 3 * _RANGE_STEPS:
        return menu[k % len(menu)]
    return lo + (hi - lo) * (k - 3 * _RANGE_STEPS) / (_RANGE_STEPS - 1)


@functools.cache
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def _maybe(draw, d: dict, key: str, menu: tuple, lo: float, hi: float) -> None:
    v = _value(draw, menu, lo, hi, optional=True)
    if v is not _ABSENT:
        d[key] = v


def _chance(draw, one_in: int) -> bool:
    """True with probability about 1/one_in (shrinks to False)."""
    return draw(_ints(0, one_in - 1)) == one_in - 1


def _node(draw, k: int) -> dict[str, Any]:
    switch = _chance(draw, 5)
    node: dict[str, Any] = {
        "id": f"n{k}",
        "flops": 0.0 if switch else _value(draw, (1e9, 2e9, 5e9, 1e10), 1e8, 2e10),
        "memory": _value(draw, (1e9, 1e9, 5e8, 0.0, 1e7, 5e7, 1e8), 0.0, 1e9),
    }
    _maybe(draw, node, "utilization", (0.0, 0.25, 0.5, 0.9), 0.0, 0.95)
    trust = draw(_ints(0, 7))
    if trust >= 4:
        node["trust"] = trust - 4
    _maybe(draw, node, "cost", (0.0, 1.0, 2.0, 5.0), 0.0, 10.0)
    _maybe(draw, node, "energy_per_flop", (0.0, 1e-10, 1e-9), 0.0, 1e-9)
    if _chance(draw, 6):
        node["available"] = False
    extras = draw(_ints(0, 15))  # tier and type, in one draw
    if extras & 1:
        node["tier"] = ("device", "edge", "cloud", "switch")[(extras >> 1) % 4]
    if extras >= 4:
        node["type"] = (DEVICE_TYPES + ("fpga",))[extras % 4]
    return node


# per-instance palettes: (latencies, bandwidths); small ones make routing ties common
PALETTES = (
    (LATENCIES, BANDWIDTHS),
    ((0.001, 0.002), (1e6, 1e7)),
    ((0.001,), (1e6, 1e6, 1e7)),
    ((0.1, 0.2, 0.15, 0.05, 0.25, 0.3), (1e6, 1e7)),  # sums equal only up to rounding
)


def _links(draw, node_ids: list[str]) -> list[dict[str, Any]]:
    n = len(node_ids)
    latencies, bandwidths = PALETTES[draw(_ints(0, len(PALETTES) - 1))]
    # usually start with a spanning tree (link k joins node k+1 to an earlier
    # node), so that most transfers have a route; shrinks to "no tree"
    tree = n - 1 if draw(_ints(0, 3)) else 0
    count = tree + draw(_ints(0, min(10 - tree, 2 * n + 1) if tree < 10 else 0))
    links: list[dict[str, Any]] = []
    used_ids: set[str] = set()
    for k in range(count):
        if k < tree:
            j = draw(_ints(0, k))
            s, t = node_ids[k + 1], node_ids[j]
            if draw(_ints(0, 1)):
                s, t = t, s
        elif links and _chance(draw, 4):
            # a parallel link (same ends, maybe reversed) with an explicit id
            other = links[draw(_ints(0, len(links) - 1))]
            s, t = other["source"], other["target"]
            if draw(_ints(0, 1)):
                s, t = t, s
        else:
            i = draw(_ints(0, n - 1))
            j = draw(_ints(0, n - 2))
            s, t = node_ids[i], node_ids[j if j < i else j + 1]
        link: dict[str, Any] = {
            "source": s,
            "target": t,
            "bandwidth": _value(draw, bandwidths, 1e4, 1e8),
            "latency": _value(draw, latencies, 0.0, 0.3),
        }
        default_id = f"{s}-{t}"
        flags = draw(_ints(0, 63))  # explicit id, directed, unavailable, energy
        if default_id in used_ids or flags & 3 == 3:
            link["id"] = f"L{k}"
        used_ids.add(link.get("id", default_id))
        if flags & 12 == 12:
            link["directed"] = True
        if flags >= 56:
            link["available"] = False
        _maybe(draw, link, "energy_per_byte", (0.0, 1e-8, 1e-7), 0.0, 1e-6)
        links.append(link)
    if n >= 4 and draw(_ints(0, 1)):
        links += _diamond(draw, node_ids, bandwidths, len(links))
    return links


# pairs of link latencies whose sums agree only up to rounding: 0.1 + 0.2 is
# 0.30000000000000004, 0.15 + 0.15 is 0.3; likewise 1e-4 + 2e-4 vs 1.5e-4 + 1.5e-4
# (short enough to be the best route even next to 1 ms links)
_EQUAL_SUMS = ((0.1, 0.2), (0.15, 0.15), (0.2, 0.1), (0.05, 0.25), (0.0005, 0.0005))
_SHORT_EQUAL_SUMS = ((0.0001, 0.0002), (0.00015, 0.00015), (0.0002, 0.0001))


def _diamond(draw, node_ids: list[str], bandwidths: tuple, first: int) -> list[dict[str, Any]]:
    """Two 2-hop paths p-q-s and p-r-s whose latencies are equal up to rounding,
    listed in a random order: the relative 1e-9 tolerance, the bottleneck and the
    last-hop-first link order (rules 1-4) all get their say."""
    rest = list(node_ids)
    p, q, r, s = (rest.pop(draw(_ints(0, len(rest) - 1))) for _ in range(4))
    menu = _SHORT_EQUAL_SUMS if draw(_ints(0, 1)) else _EQUAL_SUMS
    lat_q = menu[draw(_ints(0, len(menu) - 1))]
    lat_r = lat_q if lat_q[0] == 0.0005 else menu[draw(_ints(0, min(3, len(menu)) - 1))]
    hops = [(p, q, lat_q[0]), (q, s, lat_q[1]), (p, r, lat_r[0]), (r, s, lat_r[1])]
    order = []
    while hops:  # a random order of the four links
        order.append(hops.pop(draw(_ints(0, len(hops) - 1))))
    return [
        {
            "id": f"D{first + k}",
            "source": a,
            "target": b,
            "bandwidth": bandwidths[draw(_ints(0, len(bandwidths) - 1))],
            "latency": lat,
        }
        for k, (a, b, lat) in enumerate(order)
    ]


def _model(draw, k: int, node_ids: list[str], max_layers: int) -> dict[str, Any]:
    n_layers = draw(_ints(1, max_layers))
    layers = []
    for l in range(n_layers):
        layer = {
            "name": f"l{l}",
            "flops": _value(draw, (1e8, 0.0, 1e7, 5e7, 5e8, 1e9), 0.0, 2e9),
            "param_bytes": _value(draw, (1e6, 0.0, 1e7, 5e7), 0.0, 1e8),
            "output_bytes": _value(draw, (1e3, 0.0, 1e4, 1e5, 1e6), 0.0, 1e6),
        }
        _maybe(draw, layer, "state_bytes", (0.0, 1e5, 1e6), 0.0, 1e7)
        layers.append(layer)
    model: dict[str, Any] = {
        "id": f"m{k}",
        "input_bytes": _value(draw, (1e3, 0.0, 1e4, 1e5, 1e6), 0.0, 1e6),
        "layers": layers,
    }
    types_mask = draw(_ints(0, 15))  # which of gpu/cpu/npu/tpu have profiles
    if types_mask:
        model["layer_times"] = {
            t: [_value(draw, (0.001, 0.0, 0.01, 0.1), 0.0, 0.5) for _ in range(n_layers)]
            for b, t in enumerate(DEVICE_TYPES + ("tpu",))
            if types_mask >> b & 1
        }
    origin = draw(_ints(0, 3 * len(node_ids)))
    if origin < len(node_ids):
        model["origin"] = node_ids[origin]
    return model


def _workload(draw, k: int, nodes: list[dict[str, Any]], models: list[dict[str, Any]]) -> dict[str, Any]:
    model = models[draw(_ints(0, len(models) - 1))]
    n_layers = len(model["layers"])
    # end points: usually available nodes (shrinks to "any node")
    node_ids = [n["id"] for n in nodes]
    if draw(_ints(0, 3)):
        node_ids = [n["id"] for n in nodes if n.get("available", True)] or node_ids
    i = draw(_ints(0, len(node_ids) - 1))
    source = node_ids[i]
    wl: dict[str, Any] = {
        "id": f"w{k}",
        "model": model["id"],
        "source": source,
        "rate": _value(draw, (1.0, 0.0, 0.5, 0.1, 2.0, 10.0), 0.0, 20.0),
    }
    sink = draw(_ints(0, 2 * len(node_ids)))
    if sink < len(node_ids):
        wl["sink"] = node_ids[sink]  # the source itself, sometimes
    elif sink < 2 * len(node_ids) - 1:
        j = sink - len(node_ids)
        wl["sink"] = node_ids[j if j < i else j + 1]  # a different node
    _maybe(draw, wl, "slo", (0.01, 0.1, 0.5, 1.0, 5.0), 1e-3, 10.0)
    privacy = draw(_ints(0, 4 * (n_layers + 1) * 2 - 1))
    if privacy < 4 * (n_layers + 1):
        wl["min_trust"] = privacy % 4
        wl["private_layers"] = privacy // 4
    _maybe(draw, wl, "weight", (1.0, 0.0, 0.5, 0.0, 3.0), 0.0, 5.0)
    segs = draw(_ints(0, 8))
    if segs < 4:
        wl["max_segments"] = segs + 1
    return wl


@st.composite
def instances(
    draw,
    min_nodes: int = 2,
    max_nodes: int = 7,
    max_models: int = 2,
    max_layers: int = 5,
    max_workloads: int = 4,
) -> dict[str, Any]:
    """A small random valid instance, as plain data.

    2-7 nodes (some switches with ``flops`` 0, some unavailable, device types),
    links (usually a spanning tree plus extras; directed, unavailable, parallel
    with explicit ids, sometimes a "diamond" of two equal-latency 2-hop paths),
    1-2 models of 1-5 layers (often with ``layer_times``), 1-4 workloads, an
    objective mixing the six terms (or the default), and settings.
    """
    n_nodes = draw(_ints(min_nodes, max_nodes))
    nodes = [_node(draw, k) for k in range(n_nodes)]
    if all(n["flops"] == 0 for n in nodes):
        nodes[0]["flops"] = 1e9
    node_ids = [n["id"] for n in nodes]
    links = _links(draw, node_ids)
    models = [_model(draw, k, node_ids, max_layers) for k in range(draw(_ints(1, max_models)))]
    workloads = [_workload(draw, k, nodes, models) for k in range(draw(_ints(1, max_workloads)))]

    inst: dict[str, Any] = {"name": "random", "nodes": nodes, "links": links, "models": models, "workloads": workloads}
    terms_mask = draw(_ints(0, 2 ** len(TERMS)))  # the top value: no objective (the default)
    if terms_mask < 2 ** len(TERMS):
        inst["objective"] = {
            t: _value(draw, (1.0, 0.0, 2.0, 1e-6), 0.0, 10.0) for b, t in enumerate(TERMS) if terms_mask >> b & 1
        }
    effective = inst.get("objective", {"latency": 1.0})  # SPEC default objective
    if effective.get("latency", 0) > 0 and all(w.get("weight", 1.0) == 0 for w in workloads):
        workloads[0]["weight"] = 1.0
    settings: dict[str, Any] = {}
    _maybe(draw, settings, "max_utilization", (1.0, 0.8, 0.5), 0.05, 1.0)
    osp = draw(_ints(0, 2))
    if osp:
        settings["one_segment_per_node"] = osp == 2
    if settings:
        inst["settings"] = settings
    return inst


def _hostable(inst: dict[str, Any]) -> list[str]:
    return [n["id"] for n in inst["nodes"] if n["flops"] > 0 and n.get("available", True)] or [
        n["id"] for n in inst["nodes"]
    ]


def _reference(inst: dict[str, Any]):
    if __package__:  # imported as tests.strategies
        from .reference_spec import Reference
    else:
        from reference_spec import Reference
    return Reference(inst)


def _careful(inst: dict[str, Any], ref, wl: dict[str, Any]) -> list[str]:
    """Available compute nodes that are trusted enough and reachable from the
    source and towards the sink (falls back to any compute node)."""
    source, sink = wl["source"], wl.get("sink") or wl["source"]
    out = []
    for n in inst["nodes"]:
        i = n["id"]
        if n["flops"] <= 0 or not n.get("available", True):
            continue
        if i != source and n.get("trust", 0) < wl.get("min_trust", 0):
            continue
        if i != source and ref.route(source, i) is None:
            continue
        if i != sink and ref.route(i, sink) is None:
            continue
        out.append(i)
    return out or _hostable(inst)


STYLES = ("careful", "careful", "segments", "careful", "single", "any")


def _assignment(draw, inst: dict[str, Any], mode: str | None = None) -> dict[str, list[str]]:
    node_ids = [n["id"] for n in inst["nodes"]]
    hostable = _hostable(inst)
    ref = _reference(inst)
    n_layers = {m["id"]: len(m["layers"]) for m in inst["models"]}
    out: dict[str, list[str]] = {}
    for wl in inst["workloads"]:
        L = n_layers[wl["model"]]
        style = mode or STYLES[draw(_ints(0, len(STYLES) - 1))]
        if style == "any":
            out[wl["id"]] = [node_ids[draw(_ints(0, len(node_ids) - 1))] for _ in range(L)]
        elif style == "single":
            out[wl["id"]] = [hostable[draw(_ints(0, len(hostable) - 1))]] * L
        else:  # contiguous segments on available compute nodes
            pool = _careful(inst, ref, wl) if style == "careful" else hostable
            nodes = [pool[draw(_ints(0, len(pool) - 1))]]
            for _ in range(L - 1):
                k = draw(_ints(0, 2 * len(pool) - 1))
                nodes.append(nodes[-1] if k < len(pool) else pool[k - len(pool)])
            out[wl["id"]] = nodes
    return out


@st.composite
def assignments(draw, inst: dict[str, Any], mode: str | None = None) -> dict[str, list[str]]:
    """One node per layer for every workload.

    Mixes four styles per workload (or only ``mode``): ``"any"`` node for each
    layer (often infeasible), contiguous ``"segments"`` on available compute
    nodes, ``"careful"`` segments on compute nodes that are trusted enough and
    routable from the source and to the sink, and everything on a ``"single"``
    compute node.
    """
    return _assignment(draw, inst, mode)


def _previous(draw, inst: dict[str, Any]) -> dict[str, list[str]]:
    prev = _assignment(draw, inst)
    flags = draw(_ints(0, 7))
    if flags & 1 and prev:  # a workload the previous solution did not have
        del prev[sorted(prev)[draw(_ints(0, len(prev) - 1))]]
    if flags & 2 and prev:  # a node id the current problem does not have
        wid = sorted(prev)[draw(_ints(0, len(prev) - 1))]
        nodes = list(prev[wid])
        nodes[draw(_ints(0, len(nodes) - 1))] = "gone-node"
        prev[wid] = nodes
    if flags & 4:  # a workload the current problem does not have
        prev["gone-workload"] = [inst["nodes"][0]["id"]]
    return prev


@st.composite
def previous_assignments(draw, inst: dict[str, Any]) -> dict[str, list[str]]:
    """A previous solution: a random assignment, sometimes with a workload and node
    ids that the instance does not have (decisions.md: those are ignored)."""
    return _previous(draw, inst)


def _tighten(draw, inst: dict[str, Any], assignment: dict[str, list[str]]) -> dict[str, Any]:
    """Sometimes set node memories and SLOs right at (or just around) what the
    assignment needs, as computed by the reference implementation."""
    if not _chance(draw, 3):
        return inst
    inst = copy.deepcopy(inst)
    ref = _reference(inst).evaluate(assignment)
    # None: leave alone; within / just outside the relative 1e-9 tolerance
    factors = (None, 1.0, 1.0, 1.0 - 1e-12, 1.0 + 1e-12, 1.0 - 1e-6, 1.0 + 1e-6)
    for node in inst["nodes"]:
        used = ref.node_memory[node["id"]]
        f = factors[draw(_ints(0, len(factors) - 1))]
        if used > 0 and f is not None:
            node["memory"] = used * f
    for wl in inst["workloads"]:
        t = ref.latency[wl["id"]]
        f = factors[draw(_ints(0, len(factors) - 1))]
        if 0 < t < float("inf") and f is not None:
            wl["slo"] = t * f
    # max_utilization right at the load of one node or link
    loads = [u for u in list(ref.node_utilization.values()) + list(ref.link_utilization.values()) if 0 < u < 1]
    f = factors[draw(_ints(0, len(factors) - 1))]
    if loads and f is not None:
        u = loads[draw(_ints(0, len(loads) - 1))]
        inst.setdefault("settings", {})["max_utilization"] = min(1.0, u * f)
    return inst


@st.composite
def instance_and_assignment(draw, **instance_kwargs) -> tuple[dict[str, Any], dict[str, list[str]]]:
    inst = draw(instances(**instance_kwargs))
    assignment = _assignment(draw, inst)
    return _tighten(draw, inst, assignment), assignment


@st.composite
def instance_assignment_previous(
    draw, **instance_kwargs
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, list[str]]]:
    inst, assignment = draw(instance_and_assignment(**instance_kwargs))
    if _chance(draw, 4):
        prev = copy.deepcopy(assignment)  # nothing to migrate
    else:
        prev = _previous(draw, inst)
    return inst, assignment, prev
