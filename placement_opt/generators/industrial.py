"""The ``industrial`` family: a factory on private 5G and industrial Ethernet, with
cameras and sensors as sources, PLCs as sinks, trusted on-premise servers and an
untrusted cloud; every workload keeps its first layers on premise."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..problem import Problem
from ..topologies import ETH_1G, ETH_10G, LAN_LATENCY, nearest
from .build import Builder, backhaul_latency, cloud_count, fit_counts
from .family import Config, Family, Network
from .params import count_param, fraction_param
from .workloads import make_problem

HALL = np.array([200.0, 100.0])  #: factory hall, metres


def industrial(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """A factory on private 5G and industrial Ethernet with strict privacy.

    Nodes: ``cam-k`` smart cameras (Jetson Orin Nano/NX) and ``sensor-k`` sensor
    gateways (Raspberry Pi 5) as sources, ``plc-k`` PLCs (no compute) as sinks;
    ``cell-k`` private 5G small cells (switches) and the on-premise ``core``
    switch; ``edge-k`` on-premise servers (trust 3); ``cloud-k`` (trust 1) behind
    a 1 Gbit/s enterprise uplink.  Every workload has ``min_trust`` 3 and 2-6
    ``private_layers`` by default: its first layers must stay on premise.

    Parameters
    ----------
    seed, size, **params
        As for :func:`~placement_opt.generators.generate`; the family's own
        parameters are in ``FAMILY.params``.
    """
    return make_problem(FAMILY, seed, size, params)


def build(cfg: Config) -> Network:
    """The industrial network of one run."""
    counts = _counts(cfg)
    b = Builder(cfg)
    rng = cfg.rng("network")
    n_cells = counts["cells"]
    cols = math.ceil(math.sqrt(n_cells * 2))
    rows = math.ceil(n_cells / cols)
    cell_xy = np.array([[(k % cols + 0.5) * HALL[0] / cols, (k // cols + 0.5) * HALL[1] / rows]
                        for k in range(n_cells)])
    core = b.switch("core")
    cells = []
    for k in range(n_cells):
        cells.append(b.switch(f"cell-{k}"))
        b.wired(cells[-1], core, ETH_10G, LAN_LATENCY, "lan")
    for k, dev in enumerate(b.pick("edge", "edge_types", counts["servers"])):
        sid = b.compute(f"edge-{k}", dev, "edge")
        b.wired(sid, core, ETH_10G, LAN_LATENCY, "lan")
    sources, plcs = _floor(cfg, b, rng, core, cells, cell_xy, counts["dev"])
    b.cloud(counts["cloud"], [core], cfg.backhaul_bandwidth, backhaul_latency(cfg))

    def sink(rng: np.random.Generator, src: str) -> str:
        return str(rng.choice(plcs)) if plcs else src

    return b.network(sources, sink)


def _counts(cfg: Config) -> dict[str, int]:
    n = cfg.nodes
    c = cloud_count(cfg)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "core": 1,
        "cells": cfg.cells or max(1, round(0.08 * n)),
        "servers": cfg.servers or max(1, round(0.12 * n)),
        "dev": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "core": 1, "cells": 1, "servers": 1, "dev": 2}
    given = [k for k in ("cells", "servers") if cfg.values[k] is not None]
    return fit_counts(counts, minimum, "dev", n, ["cloud", "dcgw", "core", *given])


def _floor_roles(cfg: Config, n_dev: int) -> tuple[int, int, int]:
    """Cameras, sensor gateways and PLCs among ``n_dev`` floor devices (a PLC once
    there are two devices, a camera once there is room)."""
    n_plc = max(1, round(float(cfg.plc_fraction) * n_dev)) if n_dev >= 3 else (1 if n_dev >= 2 else 0)
    n_cam = max(1, round(float(cfg.camera_fraction) * n_dev)) if n_dev - n_plc >= 1 else 0
    n_cam = min(n_cam, n_dev - n_plc)
    return n_cam, n_dev - n_plc - n_cam, n_plc


def _floor(cfg: Config, b: Builder, rng: np.random.Generator, core: str, cells: list[str],
           cell_xy: np.ndarray, n_dev: int) -> tuple[list[str], list[str]]:
    """Cameras, sensor gateways (the sources) and PLCs (the sinks) on the factory
    floor; PLCs and some cameras are wired, the rest use 5G to the nearest cell."""
    n_cam, n_sensor, _ = _floor_roles(cfg, n_dev)
    xy = rng.uniform(0, 1, (n_dev, 2)) * HALL
    home = nearest(xy, cell_xy)[:, 0]
    wired = rng.uniform(0, 1, n_dev) < float(cfg.wired_fraction)
    sources: list[str] = []
    plcs: list[str] = []
    cam_types = b.pick("camera", "device_types", n_cam)
    sensor_types = b.pick("sensor", "device_types", n_sensor)
    for k in range(n_dev):
        if k < n_cam:
            nid = b.compute(f"cam-{k}", cam_types[k], "device")
            sources.append(nid)
        elif k < n_cam + n_sensor:
            nid = b.compute(f"sensor-{k - n_cam}", sensor_types[k - n_cam], "device")
            sources.append(nid)
        else:
            nid = b.switch(f"plc-{k - n_cam - n_sensor}", tier="device", type="plc", trust=cfg.family.trust["device"])
            plcs.append(nid)
        if nid in plcs or (k < n_cam and wired[k]):
            b.wired(nid, core, ETH_1G, 2 * LAN_LATENCY, "lan")
        else:
            b.radio(nid, cells[int(home[k])])
    return sources, plcs


FAMILY = Family(
    name="industrial",
    build=build,
    params={
        "cells": count_param("private 5G small cells (switches; default ~8% of nodes)"),
        "servers": count_param("on-premise edge servers (default ~12% of nodes)"),
        "plc_fraction": fraction_param("fraction of floor devices that are PLCs (sinks, no compute)", 0.2),
        "camera_fraction": fraction_param(
            "fraction of floor devices that are smart cameras (the rest: sensor gateways)", 0.5),
        "wired_fraction": fraction_param(
            "fraction of cameras on industrial Ethernet instead of 5G (PLCs are all wired)", 0.3),
    },
    presets={
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 22, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    device_mix={
        "camera": {"s": ["jetson-orin-nano", "jetson-orin-nx"]},
        "sensor": {"s": ["raspberry-pi-5"]},
        "edge": {"s": ["l4", "rtx-4090", "t4"], "l": ["l4", "rtx-4090", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    # In a factory every on-premise node is trusted; the cloud is not.
    trust={"device": 3, "edge": 3, "cloud": 1},
    defaults={"private_fraction": 1.0, "private_layers": (2, 6), "sink_other_fraction": 0.5,
              "radio": "5g", "backhaul_bandwidth": ETH_1G},
)
