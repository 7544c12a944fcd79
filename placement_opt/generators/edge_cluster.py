"""The ``edge-cluster`` family: an on-premise cluster of interchangeable hosts (a
few GPU or board types, several identical hosts of each behind a rack switch), as
in PipeEdge's and Helix's clusters, serving user devices at high load."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..problem import Problem
from ..topologies import DC_LATENCY, ETH_10G, ETH_100G, LAN_LATENCY
from .build import Builder, backhaul_latency, cloud_count, sink_to_other_device
from .family import Config, Family, Network
from .params import METRO_DEVICE_MIX, Param, count_param
from .workloads import make_problem


def edge_cluster(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """An edge cluster of interchangeable hosts serving user devices.

    Nodes: ``spine`` (the cluster's switch and the devices' access point);
    ``rack-<type>`` rack switches (100 GbE to the spine), one per host type;
    ``<type>-k`` hosts (edge tier, e.g. ``l4-0``), all hosts of a type with the same
    free memory and background utilisation and the same link to their rack
    (``host_bandwidth``, 50 us), so that they are interchangeable; ``dev-k``
    user devices (the workload sources and sinks) on 5G to the spine;
    ``cloud-k`` (+ ``dc-gw``) behind a backhaul from the spine.  By default the
    rates load the spread reference to ``compute_load`` 0.9, so the cluster
    must carry most of the load.

    Parameters
    ----------
    seed, size, **params
        As for :func:`~placement_opt.generators.generate`; the family's own
        parameters are in ``FAMILY.params``.
    """
    return make_problem(FAMILY, seed, size, params)


def build(cfg: Config) -> Network:
    """The edge-cluster network of one run."""
    names, shares = cfg.type_choices("edge", "edge_types")
    n_cloud = cloud_count(cfg)
    per_type, n_dev = _counts(cfg, shares, n_cloud)
    b = Builder(cfg)
    spine = b.switch("spine")
    rng = cfg.rng("hosts")
    for dev, count in zip(names, per_type):
        drawn = b.draw_tier("edge", rng)  # one draw per host type: identical hosts
        if count == 0:
            continue
        rack = b.switch(f"rack-{dev}")
        b.wired(rack, spine, ETH_100G, DC_LATENCY, "lan")
        for k in range(count):
            hid = b.compute(f"{dev}-{k}", dev, "edge", drawn=drawn)
            b.wired(hid, rack, cfg.host_bandwidth, LAN_LATENCY, "lan")
    devices = []
    for k, dev in enumerate(b.pick("device", "device_types", n_dev)):
        devices.append(b.compute(f"dev-{k}", dev, "device"))
        b.radio(devices[-1], spine)
    b.cloud(n_cloud, [spine], cfg.backhaul_bandwidth, backhaul_latency(cfg))
    return b.network(devices, sink_to_other_device(devices))


def _counts(cfg: Config, shares: np.ndarray, n_cloud: int) -> tuple[list[int], int]:
    """Hosts per type and the number of user devices, adding up to ``cfg.nodes``.

    Without an explicit ``hosts``, hosts are removed (from the largest type) until
    at least one device fits.

    Raises
    ------
    ValueError
        If ``nodes`` is too small.
    """
    hosts = int(cfg.hosts)
    fixed = cfg.family.presets[cfg.size]["hosts"] != hosts  # given explicitly
    while True:
        per_type = split_counts(hosts, shares)
        racks = sum(1 for c in per_type if c > 0)
        n_dev = cfg.nodes - n_cloud - (1 if n_cloud >= 2 else 0) - 1 - racks - hosts
        if n_dev >= 1:
            return per_type, n_dev
        if fixed or hosts <= 1:
            need = cfg.nodes - n_dev + 1
            raise ValueError(f"nodes={cfg.nodes} is too small for this family and these parameters "
                             f"(needs at least {need})")
        hosts -= 1


def split_counts(total: int, shares: np.ndarray) -> list[int]:
    """``total`` split in proportion to ``shares`` by largest remainder (ties to the
    first); every share gets at least its floor."""
    exact = total * np.asarray(shares, dtype=float)
    counts = np.floor(exact).astype(int)
    order = sorted(range(len(counts)), key=lambda k: (-(exact[k] - counts[k]), k))
    for k in order[: total - int(counts.sum())]:
        counts[k] += 1
    return [int(c) for c in counts]


FAMILY = Family(
    name="edge-cluster",
    build=build,
    params={
        "hosts": count_param("cluster hosts, split over the host types in proportion to their weights "
                             "(edge_types; default: the size preset, s 6, m 18, l 80)"),
        "host_bandwidth": Param(ETH_10G, "bytes/s of every host's link to its rack switch"),
    },
    presets={
        "s": {"nodes": 14, "workloads": 8, "model": "llama-2-7b", "hosts": 6},
        "m": {"nodes": 27, "workloads": 10, "model": "llama-2-13b", "hosts": 18},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b", "hosts": 80},
    },
    device_mix={
        "device": METRO_DEVICE_MIX["device"],
        # PipeEdge-like boards and Helix's GPU types: s two, m and l three host types.
        "edge": {"s": ["l4", "t4"], "m": ["a100-40gb", "l4", "t4"], "l": ["a100-40gb", "l4", "t4"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    trust={"device": 0, "edge": 2, "cloud": 1},
    defaults={"private_fraction": 0.0, "private_layers": (1, 4), "sink_other_fraction": 0.25,
              "radio": "5g", "backhaul_bandwidth": ETH_10G, "compute_load": 0.9,
              # dedicated hosts: most of their memory is free, little background load
              "memory_free": {"edge": (0.85, 0.95)}, "utilization": {"edge": (0.0, 0.1)}},
)
