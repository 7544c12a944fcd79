"""Shared network-building machinery of the family builders: the :class:`Builder`
(nodes with tier attributes, wired/radio/cloud links), node counts by role, the
cloud size, and the common sink rule."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..profiles import device, node_record
from ..topologies import DC_LATENCY, ETH_100G, NetBuilder, measured_backhaul_latency, sample_radio
from .family import Config, Network, Sink
from .models import model_demand, model_records, workload_counts

#: Rough price of one device, USD per hour.  GPUs: order of 2024 on-demand cloud
#: prices per GPU; embedded boards and consumer GPUs: hardware amortised over
#: three years plus power.  For *relative* comparisons only.
COST_PER_HOUR: dict[str, float] = {
    "raspberry-pi-5": 0.005,
    "jetson-orin-nano": 0.02,
    "jetson-orin-nx": 0.04,
    "jetson-agx-orin": 0.08,
    "apple-m1": 0.05,
    "apple-m2": 0.06,
    "rtx-3060": 0.10,
    "rtx-4090": 0.40,
    "t4": 0.35,
    "l4": 0.70,
    "v100": 2.50,
    "a100-40gb": 3.70,
    "a100-80gb": 5.00,
    "h100-pcie": 8.00,
    "h100-sxm": 10.00,
}

#: Default share of nodes in the cloud (more if the models need it).
CLOUD_SHARE = 0.03


class Builder(NetBuilder):
    """A NetBuilder that knows the run's configuration (tiers, trust, prices, energy).

    Node attributes are drawn from the ``nodes`` stream, radio links from the
    ``radio`` stream.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.rng_nodes = cfg.rng("nodes")
        self.rng_radio = cfg.rng("radio")

    def compute(self, nid: str, dev: str, tier: str, drawn: tuple[float, float] | None = None) -> str:
        """A compute node of catalog type ``dev`` in ``tier``: free memory, background
        utilisation, trust and price by tier.  Returns its id.

        ``drawn`` gives the (free memory fraction, utilisation) instead of drawing
        them from the ``nodes`` stream (:meth:`draw_tier`): identical hosts."""
        cfg = self.cfg
        free, util = drawn if drawn is not None else self.draw_tier(tier, self.rng_nodes)
        rec = node_record(dev, nid, dtype=cfg.dtype)
        rec.update({
            "memory": float(math.floor(rec["memory"] * free)),
            "utilization": round(float(util), 4),
            "trust": int(cfg.family.trust[tier]),
            "cost": COST_PER_HOUR.get(dev, 0.0) * cfg.cost_factor[tier] / 3600.0,
            "tier": tier,
        })
        for key in ("cost", "utilization", "trust"):  # zero is the spec default: leave it out
            if rec[key] == 0:
                del rec[key]
        return self.add_node(rec)

    def draw_tier(self, tier: str, rng: np.random.Generator) -> tuple[float, float]:
        """A free memory fraction and a background utilisation from the ranges of ``tier``."""
        lo, hi = self.cfg.memory_free[tier]
        ulo, uhi = self.cfg.utilization[tier]
        free = rng.uniform(lo, hi)
        return float(free), float(rng.uniform(ulo, uhi))

    def switch(self, nid: str, tier: str = "network", **extra: Any) -> str:
        """A node without compute (a switch, or e.g. a PLC with ``tier="device"``)."""
        return self.add_node({"id": nid, "flops": 0.0, "memory": 0.0, "tier": tier, **extra})

    def wired(self, a: str, b: str, bandwidth: float, latency: float, kind: str) -> str:
        """A wired link; ``kind`` (lan, metro, wan) sets its energy per byte."""
        return self.add_link(a, b, bandwidth, latency, self.cfg.energy_per_byte[kind])

    def radio(self, a: str, b: str) -> str:
        """A radio link with bandwidth and latency sampled from the run's radio profile."""
        cfg = self.cfg
        bw, lat = sample_radio(self.rng_radio, 1, cfg.radio)
        return self.add_link(a, b, float(bw[0]) * cfg.radio_bandwidth_scale,
                             float(lat[0]) * cfg.radio_latency_scale, cfg.energy_per_byte["radio"])

    def cloud(self, count: int, attach: Sequence[str], backhaul_bw: float, backhaul_lat: float,
              kind: str = "wan") -> list[str]:
        """``count`` cloud nodes, joined to each of ``attach`` by a backhaul; with two
        or more, a data-centre gateway switch ``dc-gw`` joins them."""
        names, p = self.cfg.type_choices("cloud", "cloud_types")
        kinds = self.rng_nodes.choice(len(names), size=count, p=p)
        ids = [self.compute(f"cloud-{k}", names[kinds[k]], "cloud") for k in range(count)]
        if count == 1:
            hub = ids[0]
        else:
            hub = self.switch("dc-gw")
            for cid in ids:
                self.wired(cid, hub, ETH_100G, DC_LATENCY, "lan")
        for site in attach:
            self.wired(site, hub, backhaul_bw, backhaul_lat, kind)
        return ids

    def pick(self, role: str, override_key: str | None, count: int) -> list[str]:
        """``count`` catalog device types drawn from the mix of ``role``."""
        names, p = self.cfg.type_choices(role, override_key)
        return [names[k] for k in self.rng_nodes.choice(len(names), size=count, p=p)]

    def network(self, sources: Sequence[str], sink: Sink) -> Network:
        """The finished network, with its workload sources and sink rule."""
        return Network(self.nodes, self.links, sources, sink)


def fit_counts(counts: dict[str, int], minimum: dict[str, int], rest: str, total: int,
               fixed: Sequence[str]) -> dict[str, int]:
    """Node counts by role that add up to ``total``.

    ``rest`` takes what the others leave; if that falls below its minimum, nodes
    are taken from the largest role not in ``fixed`` that is above its minimum.

    Raises
    ------
    ValueError
        If ``total`` is too small for the minimums.
    """
    counts = dict(counts)
    counts[rest] = total - sum(v for k, v in counts.items() if k != rest)
    while counts[rest] < minimum[rest]:
        movable = [k for k in counts if k != rest and k not in fixed and counts[k] > minimum[k]]
        if not movable:
            need = sum(minimum[k] if k not in fixed else counts[k] for k in counts)
            raise ValueError(f"nodes={total} is too small for this family and these parameters "
                             f"(needs at least {need})")
        k = max(movable, key=lambda x: counts[x])
        counts[k] -= 1
        counts[rest] += 1
    return counts


def cloud_count(cfg: Config) -> int:
    """Cloud nodes: the override, or ~3% of nodes and at least enough to hold the models.

    Raises
    ------
    ValueError
        If a single layer (with its workloads' state) does not fit the smallest cloud node.
    """
    if cfg.cloud_nodes is not None:
        return int(cfg.cloud_nodes)
    names, _ = cfg.type_choices("cloud", "cloud_types")
    smallest = min(device(n).memory for n in names) * cfg.memory_free["cloud"][0]
    models = model_records(cfg, None)
    counts = workload_counts(cfg)
    # Each layer must fit whole; allow one largest layer of slack per node.
    largest = max(layer["param_bytes"] + w * layer.get("state_bytes", 0.0)
                  for rec, w in zip(models, counts) for layer in rec["layers"])
    if largest > smallest:
        raise ValueError(
            f"a single layer needs {largest / 1e9:.1f} GB, more than the smallest cloud node holds "
            f"({smallest / 1e9:.1f} GB); use fewer workloads, a shorter context, or larger cloud_types")
    need = math.ceil(model_demand(models, counts) / max(smallest - largest, smallest * 0.5))
    return max(1, round(CLOUD_SHARE * cfg.nodes), need)


def backhaul_latency(cfg: Config, default: float | None = None) -> float:
    """The ``backhaul_latency`` parameter, else ``default``, else the measured 5G backhaul."""
    if cfg.backhaul_latency is not None:
        return float(cfg.backhaul_latency)
    return default if default is not None else measured_backhaul_latency()


def sink_to_other_device(devices: Sequence[str]) -> Sink:
    """The sink rule "another random device" (the source itself if it is the only one)."""

    def sink(rng: np.random.Generator, src: str) -> str:
        others = [d for d in devices if d != src]
        return str(rng.choice(others)) if others else src

    return sink
