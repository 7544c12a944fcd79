"""The ``topology-zoo`` family: the edge layering over a real Topology Zoo network,
PoPs hosting MEC servers, link latency from great-circle distance."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import Any

from ..errors import did_you_mean
from ..problem import Problem
from ..topologies import (
    DC_LATENCY,
    ETH_100G,
    FIBER_SPEED,
    HOP_DELAY,
    ZOO_DEFAULT_BANDWIDTH,
    great_circle_m,
    slug,
    zoo_topology,
)
from .build import Builder, backhaul_latency, cloud_count, sink_to_other_device
from .family import Config, Family, Network
from .params import METRO_DEVICE_MIX, Param, count_param, fraction_param
from .workloads import make_problem

#: PoP index -> [(neighbour, latency s, bandwidth bytes/s)]
Adjacency = Mapping[int, list[tuple[int, float, float]]]


def topology_zoo(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Edge layering over a real Topology Zoo network (Knight et al., JSAC 2011).

    Nodes: one per PoP: ``mec-<city>`` where the PoP hosts a MEC server (edge
    tier), ``pop-<city>`` routers (switches) elsewhere; ``dev-k`` user devices on
    5G to a random PoP; ``cloud-k`` at one PoP (the highest-degree one by default)
    over 100 GbE.  PoP-PoP links: latency = great-circle distance / 2e8 m/s + 0.1
    ms switching, bandwidth = LinkSpeed where the source gives it, else 10 Gbit/s.

    Parameters
    ----------
    seed, size, **params
        As for :func:`~placement_opt.generators.generate`; the family's own
        parameters are in ``FAMILY.params``.
    """
    return make_problem(FAMILY, seed, size, params)


def build(cfg: Config) -> Network:
    """The topology-zoo network of one run."""
    topo = zoo_topology(cfg.topology)  # raises a clear error for unknown names
    n_all = len(topo["nodes"])
    c = cloud_count(cfg)
    n_gw = 1 if c >= 2 else 0
    n_pops = _pop_count(cfg, n_all, cfg.nodes - c - n_gw)
    n_dev = cfg.nodes - c - n_gw - n_pops
    if n_dev < 1:
        raise ValueError(f"nodes={cfg.nodes} is too small: {n_pops} PoPs and {c} cloud nodes leave no user device")

    rng = cfg.rng("network")
    adj = _adjacency(cfg, topo)
    chosen = _grow(adj, int(rng.integers(n_all)), n_pops) if n_pops < n_all else list(range(n_all))
    chosen_set = set(chosen)
    chosen.sort()
    cloud_pop = _cloud_pop(cfg, topo, adj, chosen)
    n_mec = max(1, round(float(cfg.mec_fraction) * n_pops))
    mec_set = {int(x) for x in rng.choice(chosen, size=n_mec, replace=False)}

    b = Builder(cfg)
    pop_id = _pops(b, topo, chosen, mec_set)
    for e in topo["edges"]:
        i, j = e["source"], e["target"]
        if i in chosen_set and j in chosen_set:
            lat = next(lat for k, lat, _ in adj[i] if k == j)
            b.wired(pop_id[i], pop_id[j], _bandwidth(cfg, e), lat, "wan")
    pop_list = [pop_id[i] for i in chosen]
    home = rng.choice(len(pop_list), size=n_dev)
    devices = []
    for k, dev in enumerate(b.pick("device", "device_types", n_dev)):
        did = b.compute(f"dev-{k}", dev, "device")
        b.radio(did, pop_list[int(home[k])])
        devices.append(did)
    b.cloud(c, [pop_id[cloud_pop]], cfg.backhaul_bandwidth, backhaul_latency(cfg, DC_LATENCY), kind="lan")
    return b.network(devices, sink_to_other_device(devices))


def _pop_count(cfg: Config, n_all: int, non_cloud: int) -> int:
    """The ``pops`` parameter, else about half the non-cloud nodes (2 to all PoPs)."""
    if cfg.pops is None:
        return min(n_all, max(2, round(0.5 * non_cloud)))
    if cfg.pops > n_all:
        raise ValueError(f"pops={cfg.pops} but topology {cfg.topology!r} has only {n_all} PoPs")
    return int(cfg.pops)


def _adjacency(cfg: Config, topo: Mapping[str, Any]) -> dict[int, list[tuple[int, float, float]]]:
    """PoP-PoP links of the whole topology, with their latency and bandwidth."""
    hop, speed = float(cfg.hop_delay), float(cfg.fiber_speed)
    pts = topo["nodes"]
    adj: dict[int, list[tuple[int, float, float]]] = {k: [] for k in range(len(pts))}
    for e in topo["edges"]:
        i, j = e["source"], e["target"]
        d = great_circle_m(pts[i]["lat"], pts[i]["lon"], pts[j]["lat"], pts[j]["lon"])
        bw = _bandwidth(cfg, e)
        lat = d / speed + hop
        adj[i].append((j, lat, bw))
        adj[j].append((i, lat, bw))
    return adj


def _bandwidth(cfg: Config, edge: Mapping[str, Any]) -> float:
    """Bytes/s of a Topology Zoo link: its LinkSpeed, else ``default_link_bandwidth``."""
    return edge["bps"] / 8 if "bps" in edge else float(cfg.default_link_bandwidth)


def _grow(adj: Adjacency, start: int, count: int) -> list[int]:
    """The ``count`` PoPs nearest (by latency) to ``start``: a connected subset."""
    dist = {start: 0.0}
    heap = [(0.0, start)]
    out: list[int] = []
    done: set[int] = set()
    while heap and len(out) < count:
        d, i = heapq.heappop(heap)
        if i in done:
            continue
        done.add(i)
        out.append(i)
        for j, lat, _ in adj[i]:
            nd = d + lat
            if j not in done and nd < dist.get(j, math.inf):
                dist[j] = nd
                heapq.heappush(heap, (nd, j))
    return out


def _cloud_pop(cfg: Config, topo: Mapping[str, Any], adj: Adjacency, chosen: list[int]) -> int:
    """The PoP labelled ``cloud_pop``, else the chosen PoP of highest degree among
    the chosen (the first on ties)."""
    if cfg.cloud_pop is None:
        chosen_set = set(chosen)
        degree = {i: sum(1 for j, _, _ in adj[i] if j in chosen_set) for i in chosen}
        return max(chosen, key=lambda i: (degree[i], -i))
    labels = {topo["nodes"][i]["label"]: i for i in chosen}
    if cfg.cloud_pop not in labels:
        hint = did_you_mean(str(cfg.cloud_pop), list(labels)) or "PoPs: " + ", ".join(labels)
        raise ValueError(f"cloud_pop {cfg.cloud_pop!r} is not a PoP of this instance ({hint})")
    return labels[cfg.cloud_pop]


def _pops(b: Builder, topo: Mapping[str, Any], chosen: list[int], mec_set: set[int]) -> dict[int, str]:
    """A node per chosen PoP: ``mec-<city>`` for those in ``mec_set``, else a
    ``pop-<city>`` switch (``-2``, ``-3``, ... for repeated city names)."""
    used: dict[str, int] = {}
    pop_id: dict[int, str] = {}
    edge_types = b.pick("edge", "edge_types", len(mec_set))
    for i in chosen:
        base = slug(topo["nodes"][i]["label"])
        used[base] = used.get(base, 0) + 1
        tag = base if used[base] == 1 else f"{base}-{used[base]}"
        if i in mec_set:
            pop_id[i] = b.compute(f"mec-{tag}", edge_types.pop(0), "edge")
        else:
            pop_id[i] = b.switch(f"pop-{tag}")
    return pop_id


FAMILY = Family(
    name="topology-zoo",
    build=build,
    params={
        "topology": Param({"s": "Abilene", "m": "Abilene", "l": "Geant2012"}, "Topology Zoo network name"),
        "pops": count_param("PoPs to use: a connected subset grown from a random PoP (default: about half "
                            "the non-cloud nodes, at most all PoPs)"),
        "mec_fraction": fraction_param("fraction of PoPs that host a MEC server (the rest are routers)", 0.6),
        "cloud_pop": Param(None, "label of the PoP hosting the cloud (default: highest degree)"),
        "hop_delay": Param(HOP_DELAY, "switching delay (s) added to every PoP-PoP link"),
        "fiber_speed": Param(FIBER_SPEED, "signal speed in fibre, m/s"),
        "default_link_bandwidth": Param(ZOO_DEFAULT_BANDWIDTH, "bytes/s of links without a LinkSpeed"),
    },
    presets={
        "s": {"nodes": 11, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 24, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    device_mix=METRO_DEVICE_MIX,
    # As in smart-city: other users' devices are not trusted, operator MEC is
    # trusted more than a public cloud.
    trust={"device": 0, "edge": 2, "cloud": 1},
    defaults={"private_fraction": 0.25, "private_layers": (1, 4), "sink_other_fraction": 0.3,
              "radio": "5g", "backhaul_bandwidth": ETH_100G},
)
