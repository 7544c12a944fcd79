"""The ``smart-city`` family: a metro aggregation ring of sites (switches) with MEC
GPU servers, user devices on 5G, a regional cloud behind a backhaul."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..problem import Problem
from ..topologies import ETH_10G, LAN_LATENCY, fiber_latency, nearest, points_in_disc
from .build import Builder, backhaul_latency, cloud_count, fit_counts, sink_to_other_device
from .family import Config, Family, Network
from .params import METRO_DEVICE_MIX, Param, count_param
from .workloads import make_problem


def smart_city(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """A metro smart city: MEC servers at the sites of an aggregation ring, user
    devices on 5G, a regional cloud behind a backhaul.

    Nodes: ``agg-k`` aggregation sites (switches, a ring with chords), ``mec-k``
    MEC servers (10 GbE to their site), ``dev-k`` user devices (5G to the nearest
    site; bandwidth and latency sampled from 5Gophers), ``cloud-k`` (+ ``dc-gw``)
    behind a backhaul (10 Gbit/s, 13.85 ms) from ``agg-0`` (and a second site on
    rings of four or more).

    Parameters
    ----------
    seed, size, **params
        As for :func:`~placement_opt.generators.generate`; the family's own
        parameters are in ``FAMILY.params``.
    """
    return make_problem(FAMILY, seed, size, params)


def build(cfg: Config) -> Network:
    """The smart-city network of one run."""
    counts = _counts(cfg)
    b = Builder(cfg)
    rng = cfg.rng("network")
    radius = float(cfg.metro_radius)
    site_xy, sites = _metro_ring(cfg, b, rng, counts["sites"], radius)
    for k, dev in enumerate(b.pick("edge", "edge_types", counts["mec"])):
        mid = b.compute(f"mec-{k}", dev, "edge")
        b.wired(mid, sites[k % len(sites)], ETH_10G, LAN_LATENCY, "lan")
    dev_xy = points_in_disc(rng, counts["dev"], radius)
    home = nearest(dev_xy, site_xy)[:, 0]
    devices = []
    for k, dev in enumerate(b.pick("device", "device_types", counts["dev"])):
        did = b.compute(f"dev-{k}", dev, "device")
        b.radio(did, sites[int(home[k])])
        devices.append(did)
    attach = [sites[0]] + ([sites[len(sites) // 2]] if len(sites) >= 4 else [])
    b.cloud(counts["cloud"], attach, cfg.backhaul_bandwidth, backhaul_latency(cfg))
    return b.network(devices, sink_to_other_device(devices))


def _counts(cfg: Config) -> dict[str, int]:
    n = cfg.nodes
    c = cloud_count(cfg)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "sites": cfg.sites or max(1, round(0.1 * n)),
        "mec": cfg.mec or max(1, round(0.3 * n)),
        "dev": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "sites": 1, "mec": 1, "dev": 1}
    fixed = ["cloud", "dcgw"] + [k for k in ("sites", "mec") if cfg.values[k] is not None]
    return fit_counts(counts, minimum, "dev", n, fixed)


def _metro_ring(cfg: Config, b: Builder, rng: np.random.Generator, n_sites: int,
                radius: float) -> tuple[np.ndarray, list[str]]:
    """Aggregation sites in angular order, joined in a ring plus ``n_sites // 4``
    random chords when there are six or more."""
    site_xy = points_in_disc(rng, n_sites, radius * 0.7)
    site_xy = site_xy[np.argsort(np.arctan2(site_xy[:, 1], site_xy[:, 0]), kind="stable")]
    sites = [b.switch(f"agg-{k}") for k in range(n_sites)]

    def metro(i: int, j: int) -> None:
        d = float(np.linalg.norm(site_xy[i] - site_xy[j]))
        b.wired(sites[i], sites[j], cfg.metro_bandwidth, fiber_latency(d), "metro")

    if n_sites >= 2:
        for k in range(n_sites if n_sites >= 3 else 1):
            metro(k, (k + 1) % n_sites)
    if n_sites >= 6:
        for _ in range(n_sites // 4):
            i, j = (int(x) for x in rng.choice(n_sites, size=2, replace=False))
            if abs(i - j) % n_sites not in (1, n_sites - 1) and not b.has_link(sites[i], sites[j]):
                metro(i, j)
    return site_xy, sites


FAMILY = Family(
    name="smart-city",
    build=build,
    params={
        "sites": count_param("aggregation sites (switches) of the metro ring (default ~10% of nodes)"),
        "mec": count_param("MEC servers (default ~30% of nodes)"),
        "metro_radius": Param({"s": 5e3, "m": 10e3, "l": 20e3}, "radius (m) of the metro area"),
        "metro_bandwidth": Param(ETH_10G, "bytes/s of metro ring links"),
    },
    presets={
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 20, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    device_mix=METRO_DEVICE_MIX,
    # Other users' devices are trusted with nobody's data (a workload's own source
    # is exempt, docs/decisions.md); operator MEC is trusted more than a public cloud.
    trust={"device": 0, "edge": 2, "cloud": 1},
    defaults={"private_fraction": 0.25, "private_layers": (1, 4), "sink_other_fraction": 0.25,
              "radio": "5g", "backhaul_bandwidth": ETH_10G},
)
