"""The ``v2x`` family: vehicles (Jetson Orin class) on a road, road-side units with
edge GPUs along it, a zonal MEC and a regional cloud."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..problem import Problem
from ..topologies import ETH_10G, LAN_LATENCY, fiber_latency, nearest
from .build import Builder, backhaul_latency, cloud_count, fit_counts
from .family import Config, Family, Network, Sink
from .params import Param, count_param, fraction_param, parse_range
from .workloads import make_problem

#: Of the workloads whose sink is another node, the share that deliver to the
#: nearest other vehicle (cooperative perception); the rest go to the vehicle's RSU.
TO_NEAREST_VEHICLE = 0.6


def v2x(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Vehicles on a road, road-side units with edge GPUs, a zonal MEC, a regional cloud.

    Nodes: ``rsu-k`` road-side units (edge tier, Jetson AGX Orin / T4 / L4) every
    300-800 m along the road, joined in a fibre chain (10 GbE), every 4th with an
    uplink to the ``core`` switch; ``mec-k`` zonal MEC servers at the core;
    ``veh-k`` vehicles (Jetson AGX Orin / Orin NX) on 5G to their nearest RSU
    (bandwidth from the 5Gophers *driving* traces), some also to the second
    nearest; ``cloud-k`` behind a backhaul from the core.  Sinks: the vehicle
    itself, the nearest other vehicle (cooperative perception) or its RSU.

    Parameters
    ----------
    seed, size, **params
        As for :func:`~placement_opt.generators.generate`; the family's own
        parameters are in ``FAMILY.params``.
    """
    return make_problem(FAMILY, seed, size, params)


def build(cfg: Config) -> Network:
    """The v2x network of one run."""
    counts = _counts(cfg)
    b = Builder(cfg)
    rng = cfg.rng("network")
    core = b.switch("core")
    rsu_x, rsus, road_end = _road(cfg, b, rng, core, counts["rsu"])
    for k, dev in enumerate(b.pick("mec", None, counts["mec"])):
        mid = b.compute(f"mec-{k}", dev, "edge")
        b.wired(mid, core, ETH_10G, LAN_LATENCY, "lan")

    n_veh = counts["veh"]
    veh_x = rng.uniform(0, road_end, n_veh)
    dual = rng.uniform(0, 1, n_veh) < float(cfg.dual_attach)
    near = nearest(np.column_stack([veh_x, np.zeros(n_veh)]), np.column_stack([rsu_x, np.zeros(len(rsus))]), k=2)
    vehicles = []
    for k, dev in enumerate(b.pick("device", "device_types", n_veh)):
        vid = b.compute(f"veh-{k}", dev, "device")
        b.radio(vid, rsus[int(near[k, 0])])
        if dual[k] and near.shape[1] > 1:
            b.radio(vid, rsus[int(near[k, 1])])
        vehicles.append(vid)
    b.cloud(counts["cloud"], [core], cfg.backhaul_bandwidth, backhaul_latency(cfg))
    home = {v: rsus[int(near[k, 0])] for k, v in enumerate(vehicles)}
    return b.network(vehicles, _sink(dict(zip(vehicles, veh_x)), home))


def _counts(cfg: Config) -> dict[str, int]:
    n = cfg.nodes
    c = cloud_count(cfg)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "core": 1,
        "rsu": cfg.rsus or max(2, round(0.25 * n)),
        "mec": cfg.mec or max(1, round(0.05 * n)),
        "veh": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "core": 1, "rsu": 1, "mec": 1, "veh": 1}
    given = [k for k, p in (("rsu", "rsus"), ("mec", "mec")) if cfg.values[p] is not None]
    return fit_counts(counts, minimum, "veh", n, ["cloud", "dcgw", "core", *given])


def _road(cfg: Config, b: Builder, rng: np.random.Generator, core: str,
          n_rsu: int) -> tuple[np.ndarray, list[str], float]:
    """RSUs along the road in a fibre chain, every ``uplink_every``-th (and the last)
    with an uplink to ``core``, 2 km off the road at mid-length.  Returns their
    positions, ids and the road length."""
    lo, hi = parse_range(cfg.rsu_spacing, "rsu_spacing")
    gaps = rng.uniform(lo, hi, n_rsu)
    rsu_x = np.cumsum(gaps) - gaps[0] + hi / 2
    road_end = float(rsu_x[-1] + hi / 2)
    core_xy = np.array([road_end / 2, 2000.0])
    rsus = [b.compute(f"rsu-{k}", dev, "edge") for k, dev in enumerate(b.pick("edge", "edge_types", n_rsu))]
    for k in range(n_rsu - 1):
        b.wired(rsus[k], rsus[k + 1], ETH_10G, fiber_latency(float(rsu_x[k + 1] - rsu_x[k])), "metro")
    every = int(cfg.uplink_every)
    for k in range(n_rsu):
        if k % every == 0 or k == n_rsu - 1:
            d = float(np.hypot(rsu_x[k] - core_xy[0], core_xy[1]))
            b.wired(rsus[k], core, ETH_10G, fiber_latency(d), "metro")
    return rsu_x, rsus, road_end


def _sink(position: dict[str, float], home: dict[str, str]) -> Sink:
    """The nearest other vehicle, or the vehicle's RSU."""

    def sink(rng: np.random.Generator, src: str) -> str:
        others = [v for v in position if v != src]
        if others and rng.uniform() < TO_NEAREST_VEHICLE:
            return min(others, key=lambda v: (abs(position[v] - position[src]), v))
        return home[src]

    return sink


FAMILY = Family(
    name="v2x",
    build=build,
    params={
        "rsus": count_param("road-side units (default ~25% of nodes)"),
        "mec": count_param("zonal MEC servers at the core (default ~5% of nodes)"),
        "rsu_spacing": Param((300.0, 800.0), "(lo, hi) metres between consecutive RSUs"),
        "uplink_every": count_param("every n-th RSU (and the last) has a fibre uplink to the core", 4),
        "dual_attach": fraction_param("fraction of vehicles also attached to their second-nearest RSU", 0.3),
    },
    presets={
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 22, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    device_mix={
        "device": {"s": ["jetson-agx-orin", "jetson-orin-nx"]},
        "edge": {"s": ["t4", "l4", "jetson-orin-nx"], "l": ["jetson-agx-orin", "t4", "l4"]},
        "mec": {"s": ["l4", "t4"], "l": ["l4", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    # Other vehicles are trusted with nobody's data; operator RSUs and MEC are
    # trusted more than a public cloud.
    trust={"device": 0, "edge": 2, "cloud": 1},
    defaults={"private_fraction": 0.2, "private_layers": (1, 4), "sink_other_fraction": 0.5,
              "radio": "5g-driving", "backhaul_bandwidth": ETH_10G,
              # a vehicle's computer runs the driving stack first
              "memory_free": {"device": (0.2, 0.4)}},
)
