"""Seeded scenario generators: realistic, feasible instances in four families.

::

    import placement_opt as po
    from placement_opt.generators import generate, FAMILIES

    problem = generate("smart-city", seed=3, size="m")           # a Problem
    problem = generate("topology-zoo", seed=0, topology="Geant2012", nodes=200, workloads=50)
    po.save_instance(problem, "city-m.json")

Families (``docs/generators.md`` describes each one, its parameters and the data
behind it):

``smart-city``
    A metro aggregation ring/mesh of sites (switches) with MEC GPU servers, user
    devices on 5G, a regional cloud behind a backhaul.
``v2x``
    Vehicles (Jetson Orin class) on a road, road-side units with edge GPUs along
    it, a zonal MEC and a regional cloud.
``industrial``
    A factory on private 5G and industrial Ethernet: cameras and sensors as
    sources, PLCs as sinks, trusted on-premise servers, an untrusted cloud;
    every workload keeps its first layers on premise.
``topology-zoo``
    The same edge layering over a real Topology Zoo network: PoPs host MEC
    servers, link latency from great-circle distance.

Every generator is deterministic in ``seed``: the same seed and parameters give
the same instance (with the same numpy version).  Random draws come from
independent streams (network, nodes, radio, workloads, SLOs), so changing the
workload count does not change the network (unless the cloud needs more nodes to
hold the workloads' state).

Feasibility by construction: the generator builds a *reference placement*
(:func:`reference_assignment`: each workload's private prefix on a trusted
non-cloud node, the rest on a chain of cloud nodes), caps the request rates so
that it loads no node or link above ``reference_load * max_utilization``, and
sets every SLO to ``slack`` times the workload's latency under that placement
(``slack`` drawn from ``slo_slack``, >= 1).  The reference placement is
therefore feasible; better placements usually exist.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import did_you_mean
from .problem import Problem
from .topologies import (
    DC_LATENCY,
    ENERGY_PER_BYTE,
    ETH_1G,
    ETH_10G,
    ETH_100G,
    LAN_LATENCY,
    ZOO_DEFAULT_BANDWIDTH,
    NetBuilder,
    fiber_latency,
    great_circle_m,
    list_topologies,
    measured_backhaul_latency,
    nearest,
    points_in_disc,
    sample_radio,
    slug,
    zoo_topology,
)

__all__ = [
    "COMMON_PARAMS",
    "FAMILIES",
    "PRESETS",
    "SIZES",
    "Param",
    "family_params",
    "generate",
    "industrial",
    "list_topologies",
    "reference_assignment",
    "smart_city",
    "topology_zoo",
    "v2x",
]

SIZES = ("s", "m", "l")

# --------------------------------------------------------------------------- #
# Node attributes by tier
# --------------------------------------------------------------------------- #

#: Background utilisation ranges, by tier (uniform draws).
DEFAULT_UTILIZATION: dict[str, tuple[float, float]] = {
    "device": (0.0, 0.3),
    "edge": (0.1, 0.5),
    "cloud": (0.0, 0.2),
}

#: Fraction of a device's memory that the model may use (runtime, OS and other
#: tenants take the rest), by tier (uniform draws).  Devices run their own
#: applications; MEC servers are shared; cloud GPUs are dedicated.
DEFAULT_MEMORY_FREE: dict[str, tuple[float, float]] = {
    "device": (0.3, 0.6),
    "edge": (0.6, 0.9),
    "cloud": (0.85, 0.95),
}

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

#: Multiplier on :data:`COST_PER_HOUR` by tier: user devices are not billed, MEC
#: capacity carries a premium over the same hardware in a cloud region.
DEFAULT_COST_FACTOR: dict[str, float] = {"device": 0.0, "edge": 1.5, "cloud": 1.0}

#: Default request rates per workload, inferences/s: decode = tokens/s of one
#: stream; prefill = prompts/s; encoders (ViT, BERT) = images or sequences/s.
DEFAULT_RATE: dict[str, tuple[float, float]] = {
    "decode": (0.5, 2.0),
    "prefill": (0.05, 0.2),
    "encoder": (1.0, 5.0),
}

#: Workload weights (priorities) in the latency objective and their probabilities.
WEIGHT_CHOICES = ((1.0, 0.6), (2.0, 0.3), (4.0, 0.1))


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Param:
    """A generator parameter: its default (a value, or ``{size: value}``) and what it means."""

    default: Any
    doc: str

    def value(self, size: str) -> Any:
        if isinstance(self.default, dict) and set(self.default) == set(SIZES):
            return self.default[size]
        return self.default


COMMON_PARAMS: dict[str, Param] = {
    "nodes": Param(None, "total number of nodes, switches included (default: the size preset)"),
    "workloads": Param(None, "number of workloads (default: the size preset)"),
    "model": Param(None, "catalog model name, or a list of names (workloads cycle through them)"),
    "mode": Param("decode", "'decode' (one token per inference) or 'prefill' (a prompt of `tokens`)"),
    "tokens": Param(None, "prompt length for prefill, sequence length for BERT (default 512 for prefill, else 1)"),
    "context": Param(1024, "KV-cache context length of decoders"),
    "batch": Param(1, "sequences per inference"),
    "dtype": Param("fp16", "weight dtype: 'fp16', 'int8' or 'int4'"),
    "layers": Param(None, "resize the model to this many layers by repeating/truncating its "
                          "transformer blocks (synthetic; id gets a '-<n>l' suffix)"),
    "layer_times": Param(True, "add the catalog's calibrated per-layer times for the device types present"),
    "rate": Param(None, "(lo, hi) uniform range of request rates, inferences/s, or a number "
                        "(default by mode: decode (0.5, 2), prefill (0.05, 0.2), encoders (1, 5))"),
    "reference_load": Param(0.8, "rates are scaled down so the reference placement loads no node or link "
                                 "above this fraction of max_utilization"),
    "slo_slack": Param((1.2, 2.0), "(lo, hi): SLO = slack x latency of the reference placement; False: no SLOs"),
    "slo_fraction": Param(1.0, "fraction of workloads that get an SLO"),
    "private_fraction": Param(None, "fraction of workloads with a privacy constraint"),
    "private_layers": Param(None, "(lo, hi) integer range of private_layers for private workloads"),
    "min_trust": Param(None, "min_trust of private workloads (default: the trust of the edge tier)"),
    "sink_other_fraction": Param(None, "fraction of workloads whose sink differs from the source"),
    "weights": Param(True, "draw workload weights from {1: 60%, 2: 30%, 4: 10%}; False: all 1"),
    "max_segments": Param(None, "max_segments of every workload"),
    "utilization": Param(None, "{tier: (lo, hi)} background utilisation ranges (partial overrides)"),
    "memory_free": Param(None, "{tier: (lo, hi)} fraction of device memory available (partial overrides)"),
    "cost_factor": Param(None, "{tier: factor} multipliers on the device price table (partial overrides)"),
    "energy_per_byte": Param(None, "{kind: J/byte} for link kinds radio, lan, metro, wan (partial overrides)"),
    "objective": Param(None, "objective weights, e.g. {'latency': 1, 'cost': 100} (default {'latency': 1})"),
    "max_utilization": Param(None, "settings.max_utilization (default 1)"),
    "one_segment_per_node": Param(False, "settings.one_segment_per_node"),
    "radio": Param(None, "radio profile of device links: '5g' (stationary) or '5g-driving'"),
    "radio_bandwidth_scale": Param(1.0, "multiply sampled radio bandwidths (e.g. 0.1 for uplink-limited links)"),
    "radio_latency_scale": Param(1.0, "multiply sampled radio latencies"),
    "backhaul_bandwidth": Param(None, "bytes/s of the link(s) to the cloud"),
    "backhaul_latency": Param(None, "one-way latency (s) to the cloud (default: 13.85 ms, from 5Gophers RTTs)"),
    "cloud_nodes": Param(None, "number of cloud nodes (default: ~3% of nodes, at least what the model needs)"),
    "device_types": Param(None, "catalog device names for user devices (list, or {name: weight})"),
    "edge_types": Param(None, "catalog device names for edge servers (list, or {name: weight})"),
    "cloud_types": Param(None, "catalog device names for cloud servers (list, or {name: weight})"),
    "name": Param(None, "instance name (default '<family>-<size>-seed<seed>')"),
}

SMART_CITY_PARAMS: dict[str, Param] = {
    "sites": Param(None, "aggregation sites (switches) of the metro ring (default ~10% of nodes)"),
    "mec": Param(None, "MEC servers (default ~30% of nodes)"),
    "metro_radius": Param({"s": 5e3, "m": 10e3, "l": 20e3}, "radius (m) of the metro area"),
    "metro_bandwidth": Param(ETH_10G, "bytes/s of metro ring links"),
}

V2X_PARAMS: dict[str, Param] = {
    "rsus": Param(None, "road-side units (default ~25% of nodes)"),
    "mec": Param(None, "zonal MEC servers at the core (default ~5% of nodes)"),
    "rsu_spacing": Param((300.0, 800.0), "(lo, hi) metres between consecutive RSUs"),
    "uplink_every": Param(4, "every n-th RSU (and the last) has a fibre uplink to the core"),
    "dual_attach": Param(0.3, "fraction of vehicles also attached to their second-nearest RSU"),
}

INDUSTRIAL_PARAMS: dict[str, Param] = {
    "cells": Param(None, "private 5G small cells (switches; default ~8% of nodes)"),
    "servers": Param(None, "on-premise edge servers (default ~12% of nodes)"),
    "plc_fraction": Param(0.2, "fraction of floor devices that are PLCs (sinks, no compute)"),
    "camera_fraction": Param(0.5, "fraction of floor devices that are smart cameras (the rest: sensor gateways)"),
    "wired_fraction": Param(0.3, "fraction of cameras on industrial Ethernet instead of 5G (PLCs are all wired)"),
}

TOPOLOGY_ZOO_PARAMS: dict[str, Param] = {
    "topology": Param({"s": "Abilene", "m": "Abilene", "l": "Geant2012"}, "Topology Zoo network name"),
    "pops": Param(None, "PoPs to use: a connected subset grown from a random PoP (default: about half "
                        "the non-cloud nodes, at most all PoPs)"),
    "mec_fraction": Param(0.6, "fraction of PoPs that host a MEC server (the rest are routers)"),
    "cloud_pop": Param(None, "label of the PoP hosting the cloud (default: highest degree)"),
    "hop_delay": Param(1e-4, "switching delay (s) added to every PoP-PoP link"),
    "fiber_speed": Param(2e8, "signal speed in fibre, m/s"),
    "default_link_bandwidth": Param(ZOO_DEFAULT_BANDWIDTH, "bytes/s of links without a LinkSpeed"),
}

#: Size presets per family (override any of them with a parameter).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "smart-city": {
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 20, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    "v2x": {
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 22, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    "industrial": {
        "s": {"nodes": 10, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 22, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
    "topology-zoo": {
        "s": {"nodes": 11, "workloads": 4, "model": "llama-2-7b"},
        "m": {"nodes": 24, "workloads": 10, "model": "llama-2-13b"},
        "l": {"nodes": 120, "workloads": 40, "model": "llama-2-70b"},
    },
}

#: Catalog device mixes per family, role and size.
DEVICE_MIX: dict[str, dict[str, dict[str, Any]]] = {
    "smart-city": {
        "device": {"s": ["apple-m1", "apple-m2", "jetson-orin-nano", "jetson-orin-nx", "raspberry-pi-5"]},
        "edge": {"s": ["l4", "rtx-4090", "t4"], "l": ["l4", "rtx-4090", "t4", "jetson-agx-orin", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    "v2x": {
        "device": {"s": ["jetson-agx-orin", "jetson-orin-nx"]},
        "edge": {"s": ["t4", "l4", "jetson-orin-nx"], "l": ["jetson-agx-orin", "t4", "l4"]},
        "mec": {"s": ["l4", "t4"], "l": ["l4", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    "industrial": {
        "camera": {"s": ["jetson-orin-nano", "jetson-orin-nx"]},
        "sensor": {"s": ["raspberry-pi-5"]},
        "edge": {"s": ["l4", "rtx-4090", "t4"], "l": ["l4", "rtx-4090", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
    "topology-zoo": {
        "device": {"s": ["apple-m1", "apple-m2", "jetson-orin-nano", "jetson-orin-nx", "raspberry-pi-5"]},
        "edge": {"s": ["l4", "rtx-4090", "t4"], "l": ["l4", "rtx-4090", "t4", "jetson-agx-orin", "a100-40gb"]},
        "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
    },
}

#: Per-family defaults of the common parameters that differ between families.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "smart-city": {"private_fraction": 0.25, "private_layers": (1, 4), "sink_other_fraction": 0.25,
                   "radio": "5g", "backhaul_bandwidth": ETH_10G},
    "v2x": {"private_fraction": 0.2, "private_layers": (1, 4), "sink_other_fraction": 0.5,
            "radio": "5g-driving", "backhaul_bandwidth": ETH_10G,
            # a vehicle's computer runs the driving stack first
            "memory_free": {"device": (0.2, 0.4)}},
    "industrial": {"private_fraction": 1.0, "private_layers": (2, 6), "sink_other_fraction": 0.5,
                   "radio": "5g", "backhaul_bandwidth": ETH_1G},
    "topology-zoo": {"private_fraction": 0.25, "private_layers": (1, 4), "sink_other_fraction": 0.3,
                     "radio": "5g", "backhaul_bandwidth": ETH_100G},
}

#: Trust levels by tier, per family (higher is more trusted).  Other users'
#: devices are not trusted with anyone's data (a workload's own source is exempt,
#: see docs/decisions.md); operator MEC and RSUs are trusted more than a public
#: cloud; in a factory every on-premise node is trusted.
TRUST: dict[str, dict[str, int]] = {
    "smart-city": {"device": 0, "edge": 2, "cloud": 1},
    "v2x": {"device": 0, "edge": 2, "cloud": 1},
    "industrial": {"device": 3, "edge": 3, "cloud": 1},
    "topology-zoo": {"device": 0, "edge": 2, "cloud": 1},
}

_TIER_MAPS: dict[str, Mapping[str, Any]] = {
    "utilization": DEFAULT_UTILIZATION,
    "memory_free": DEFAULT_MEMORY_FREE,
    "cost_factor": DEFAULT_COST_FACTOR,
    "energy_per_byte": ENERGY_PER_BYTE,
}

_FAMILY_PARAMS = {
    "smart-city": SMART_CITY_PARAMS,
    "v2x": V2X_PARAMS,
    "industrial": INDUSTRIAL_PARAMS,
    "topology-zoo": TOPOLOGY_ZOO_PARAMS,
}


def family_params(family: str) -> dict[str, Param]:
    """All parameters a family accepts (common and family-specific), with docs."""
    _check_family(family)
    return {**COMMON_PARAMS, **_FAMILY_PARAMS[family]}


# --------------------------------------------------------------------------- #
# Resolved configuration
# --------------------------------------------------------------------------- #


class _Config:
    """Parameters of one generation run, with presets and defaults resolved."""

    def __init__(self, family: str, seed: int, size: str, params: Mapping[str, Any]):
        _check_family(family)
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
        known = family_params(family)
        for key in params:
            if key not in known:
                hint = did_you_mean(key, list(known)) or "see placement_opt.generators.family_params"
                raise ValueError(f"unknown parameter {key!r} for family {family!r} ({hint})")
        self.family, self.seed, self.size = family, int(seed), size
        values: dict[str, Any] = {}
        preset = PRESETS[family][size]
        fam = FAMILY_DEFAULTS[family]
        for key, spec in known.items():
            given = params.get(key)
            if key in _TIER_MAPS:
                values[key] = (fam.get(key), given)  # merged with the defaults in _check
            elif given is not None:
                values[key] = given
            elif key in preset:
                values[key] = preset[key]
            elif key in fam:
                values[key] = fam[key]
            else:
                values[key] = spec.value(size)
        self.v = values
        self._check()

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["v"][key]
        except KeyError:
            raise AttributeError(key) from None

    def _check(self) -> None:
        v = self.v
        for key in ("nodes", "workloads", "cloud_nodes", "layers", "max_segments", "sites", "mec", "rsus",
                    "cells", "servers", "pops", "context", "batch"):
            if key in v and v[key] is not None:
                x = v[key]
                if not isinstance(x, (int, np.integer)) or isinstance(x, bool) or x < 1:
                    raise ValueError(f"{key} must be a positive integer, not {x!r}")
                v[key] = int(x)
        if v["mode"] not in ("decode", "prefill"):
            raise ValueError(f"mode must be 'decode' or 'prefill', not {v['mode']!r}")
        if v["tokens"] is None:
            v["tokens"] = 512 if v["mode"] == "prefill" else 1
        if v["layers"] is not None and v["layers"] < 3:
            raise ValueError(f"layers must be at least 3 (embedding, one block, head), not {v['layers']}")
        for key in ("private_fraction", "sink_other_fraction", "slo_fraction", "plc_fraction",
                    "camera_fraction", "wired_fraction", "dual_attach", "mec_fraction"):
            if key in v and v[key] is not None and not (0.0 <= float(v[key]) <= 1.0):
                raise ValueError(f"{key} must be in [0, 1], not {v[key]!r}")
        if not 0 < float(v["reference_load"]) <= 1:
            raise ValueError(f"reference_load must be in (0, 1], not {v['reference_load']!r}")
        if v["slo_slack"] is False:
            v["slo_slack"] = None
        if v["slo_slack"] is not None:
            lo, hi = _range(v["slo_slack"], "slo_slack")
            if lo < 1.0:
                raise ValueError(f"slo_slack must be >= 1 (the reference placement must meet its SLO), not {lo}")
            v["slo_slack"] = (lo, hi)
        lo, hi = _range(v["private_layers"], "private_layers")
        v["private_layers"] = (int(lo), int(hi))
        if v["private_layers"][0] < 0:
            raise ValueError("private_layers must be >= 0")
        for key, base in _TIER_MAPS.items():
            fam, given = v[key]
            merged = {**base, **(fam or {})}
            if given is not None and not isinstance(given, Mapping):
                raise ValueError(f"{key} must be a mapping, e.g. {{{next(iter(base))!r}: ...}}, not {given!r}")
            if key == "utilization":
                v[key] = _tier_ranges(merged, given, key, upper=1.0, open_upper=True)
            elif key == "memory_free":
                v[key] = _tier_ranges(merged, given, key, upper=1.0)
            else:
                v[key] = _merge(merged, given, key)
        models = v["model"] if isinstance(v["model"], (list, tuple)) else [v["model"]]
        if not models:
            raise ValueError("model must name at least one catalog model")
        from .profiles import list_models

        for m in models:
            if m not in list_models():
                hint = did_you_mean(str(m), list_models()) or "known: " + ", ".join(list_models())
                raise ValueError(f"unknown model {m!r} ({hint})")
        v["model"] = list(models)
        if self.family == "topology-zoo":
            zoo_topology(v["topology"])  # raises a clear error for unknown names

    def rng(self, stream: str) -> np.random.Generator:
        """An independent random stream for one purpose, fixed by (seed, stream name)."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    def types(self, role: str, override_key: str | None = None) -> tuple[list[str], np.ndarray]:
        """Device types of a role and their probabilities."""
        given = self.v.get(override_key) if override_key else None
        if given is None:
            mix = DEVICE_MIX[self.family][role]
            given = mix.get(self.size, mix["s"])
        if isinstance(given, str):
            given = [given]
        if isinstance(given, Mapping):
            names, w = list(given), np.array([float(x) for x in given.values()])
        else:
            names, w = list(given), np.ones(len(given))
        from .profiles import list_devices

        for name in names:
            if name not in list_devices():
                hint = did_you_mean(str(name), list_devices()) or "known: " + ", ".join(list_devices())
                raise ValueError(f"unknown device type {name!r} ({hint})")
        if not names or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{override_key or role}: give at least one device type with a positive weight")
        return names, w / w.sum()


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        hint = did_you_mean(str(family), list(FAMILIES)) or "known: " + ", ".join(FAMILIES)
        raise ValueError(f"unknown scenario family {family!r} ({hint})")


def _range(x: Any, name: str) -> tuple[float, float]:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x), float(x)
    try:
        lo, hi = x
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (lo, hi) pair, not {x!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name} must be a (lo, hi) pair with lo <= hi, not {x!r}")
    return lo, hi


def _tier_ranges(base: Mapping[str, tuple[float, float]], given: Any, name: str, upper: float,
                 open_upper: bool = False) -> dict[str, tuple[float, float]]:
    out = dict(base)
    for tier, value in (given or {}).items():
        if tier not in base:
            hint = did_you_mean(str(tier), list(base)) or "tiers: " + ", ".join(base)
            raise ValueError(f"{name}: unknown tier {tier!r} ({hint})")
        lo, hi = _range(value, f"{name}[{tier}]")
        if lo < 0 or hi > upper or (open_upper and hi >= upper) or (name == "memory_free" and lo <= 0):
            raise ValueError(f"{name}[{tier}] = {value!r} is out of range")
        out[tier] = (lo, hi)
    return out


def _merge(base: Mapping[str, float], given: Any, name: str) -> dict[str, float]:
    out = dict(base)
    for key, value in (given or {}).items():
        if key not in base:
            hint = did_you_mean(str(key), list(base)) or "known: " + ", ".join(base)
            raise ValueError(f"{name}: unknown key {key!r} ({hint})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name}[{key}] must be a number >= 0, not {value!r}")
        out[key] = float(value)
    return out


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #


def _model_records(cfg: _Config, device_types: Sequence[str] | None) -> list[dict[str, Any]]:
    from .profiles import model_record

    records = []
    for name in cfg.model:
        mid = name if cfg.layers is None else f"{name}-{cfg.layers}l"
        rec = model_record(name, mode=cfg.mode, tokens=cfg.tokens, context=cfg.context, batch=cfg.batch,
                           dtype=cfg.dtype, model_id=mid,
                           device_types=sorted(device_types) if device_types else None)
        if cfg.layers is not None:
            rec = _resize(rec, cfg.layers)
        records.append(rec)
    return records


def _resize(rec: dict[str, Any], n: int) -> dict[str, Any]:
    """Repeat or truncate the blocks between the first and last layer to ``n`` layers."""
    layers = rec["layers"]
    blocks = layers[1:-1]
    if len(layers) == n or not blocks:
        return rec
    idx = [k % len(blocks) for k in range(n - 2)]
    new_layers = [layers[0]] + [{**blocks[k], "name": f"block{j}"} for j, k in enumerate(idx)] + [layers[-1]]
    out = {**rec, "layers": new_layers}
    if "layer_times" in rec:
        out["layer_times"] = {
            dev: [t[0]] + [t[1:-1][k] for k in idx] + [t[-1]] for dev, t in rec["layer_times"].items()
        }
    return out


def _model_demand(models: Sequence[dict[str, Any]], counts: Sequence[int]) -> float:
    """Bytes to hold every model once plus the state of its workloads."""
    total = 0.0
    for rec, w in zip(models, counts):
        total += sum(layer["param_bytes"] + w * layer.get("state_bytes", 0.0) for layer in rec["layers"])
    return total


def _workload_counts(cfg: _Config) -> list[int]:
    n_models = len(cfg.model)
    return [len(range(k, cfg.workloads, n_models)) for k in range(n_models)]


def _cloud_count(cfg: _Config, n_nodes: int, share: float = 0.03) -> int:
    """Cloud nodes: the override, or ~3% of nodes and at least enough to hold the models."""
    if cfg.cloud_nodes is not None:
        return cfg.cloud_nodes
    from .profiles import device

    names, _ = cfg.types("cloud", "cloud_types")
    smallest = min(device(n).memory for n in names) * cfg.memory_free["cloud"][0]
    models = _model_records(cfg, None)
    counts = _workload_counts(cfg)
    # Each layer must fit whole; allow one largest layer of slack per node.
    largest = max(layer["param_bytes"] + w * layer.get("state_bytes", 0.0)
                  for rec, w in zip(models, counts) for layer in rec["layers"])
    if largest > smallest:
        raise ValueError(
            f"a single layer needs {largest / 1e9:.1f} GB, more than the smallest cloud node holds "
            f"({smallest / 1e9:.1f} GB); use fewer workloads, a shorter context, or larger cloud_types")
    need = math.ceil(_model_demand(models, counts) / max(smallest - largest, smallest * 0.5))
    return max(1, round(share * n_nodes), need)


# --------------------------------------------------------------------------- #
# Nodes and links
# --------------------------------------------------------------------------- #


class _Builder(NetBuilder):
    """A NetBuilder that knows the run's configuration (tiers, trust, prices, energy)."""

    def __init__(self, cfg: _Config):
        super().__init__()
        self.cfg = cfg
        self.rng_nodes = cfg.rng("nodes")
        self.rng_radio = cfg.rng("radio")
        self.trust = TRUST[cfg.family]

    def compute(self, nid: str, dev: str, tier: str, trust: int | None = None) -> str:
        from .profiles import node_record

        cfg, rng = self.cfg, self.rng_nodes
        lo, hi = cfg.memory_free[tier]
        ulo, uhi = cfg.utilization[tier]
        free = rng.uniform(lo, hi)
        util = rng.uniform(ulo, uhi)
        rec = node_record(dev, nid, dtype=cfg.dtype)
        extra = {
            "memory": float(math.floor(rec["memory"] * free)),
            "utilization": round(float(util), 4),
            "trust": int(self.trust[tier] if trust is None else trust),
            "cost": COST_PER_HOUR.get(dev, 0.0) * cfg.cost_factor[tier] / 3600.0,
            "tier": tier,
        }
        rec.update(extra)
        if rec["cost"] == 0:
            del rec["cost"]
        if rec["utilization"] == 0:
            del rec["utilization"]
        if rec["trust"] == 0:
            del rec["trust"]
        return self.add_node(rec)

    def switch(self, nid: str, tier: str = "network", **extra: Any) -> str:
        return self.add_node({"id": nid, "flops": 0.0, "memory": 0.0, "tier": tier, **extra})

    def wired(self, a: str, b: str, bandwidth: float, latency: float, kind: str) -> str:
        return self.add_link(a, b, bandwidth, latency, self.cfg.energy_per_byte[kind])

    def radio(self, a: str, b: str) -> str:
        bw, lat = sample_radio(self.rng_radio, 1, self.cfg.radio)
        return self.add_link(a, b, float(bw[0]) * self.cfg.radio_bandwidth_scale,
                             float(lat[0]) * self.cfg.radio_latency_scale, self.cfg.energy_per_byte["radio"])

    def cloud(self, count: int, attach: Sequence[str], backhaul_bw: float, backhaul_lat: float,
              kind: str = "wan") -> list[str]:
        """``count`` cloud nodes; with two or more, a data-centre gateway switch joins them."""
        names, p = self.cfg.types("cloud", "cloud_types")
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
        names, p = self.cfg.types(role, override_key)
        return [names[k] for k in self.rng_nodes.choice(len(names), size=count, p=p)]


def _shrink(counts: dict[str, int], minimum: dict[str, int], rest: str, total: int, fixed: Sequence[str]) -> dict[str, int]:
    """Make ``counts`` add up to ``total`` by changing ``rest``; if ``rest`` falls below
    its minimum, take nodes from the largest shrinkable category."""
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


# --------------------------------------------------------------------------- #
# Families
# --------------------------------------------------------------------------- #


def smart_city(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """A metro smart city: MEC servers at the sites of an aggregation ring, user
    devices on 5G, a regional cloud behind a backhaul.

    Nodes: ``agg-k`` aggregation sites (switches, a ring with chords), ``mec-k``
    MEC servers (10 GbE to their site), ``dev-k`` user devices (5G to the nearest
    site; bandwidth and latency sampled from 5Gophers), ``cloud-k`` (+ ``dc-gw``)
    behind a backhaul (10 Gbit/s, 13.85 ms) from ``agg-0`` (and a second site on
    rings of four or more).  See :data:`COMMON_PARAMS` and :data:`SMART_CITY_PARAMS`.
    """
    cfg = _Config("smart-city", seed, size, params)
    n = cfg.nodes
    c = _cloud_count(cfg, n)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "sites": cfg.sites or max(1, round(0.1 * n)),
        "mec": cfg.mec or max(1, round(0.3 * n)),
        "dev": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "sites": 1, "mec": 1, "dev": 1}
    fixed = ["cloud", "dcgw"] + [k for k in ("sites", "mec") if params.get(k) is not None]
    counts = _shrink(counts, minimum, "dev", n, fixed)

    b = _Builder(cfg)
    rng = cfg.rng("network")
    n_sites = counts["sites"]
    radius = float(cfg.metro_radius)
    site_xy = points_in_disc(rng, n_sites, radius * 0.7)
    order = np.argsort(np.arctan2(site_xy[:, 1], site_xy[:, 0]), kind="stable")
    site_xy = site_xy[order]
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

    for k, dev in enumerate(b.pick("edge", "edge_types", counts["mec"])):
        mid = b.compute(f"mec-{k}", dev, "edge")
        b.wired(mid, sites[k % n_sites], ETH_10G, LAN_LATENCY, "lan")

    dev_xy = points_in_disc(rng, counts["dev"], radius)
    home = nearest(dev_xy, site_xy)[:, 0]
    devices = []
    for k, dev in enumerate(b.pick("device", "device_types", counts["dev"])):
        did = b.compute(f"dev-{k}", dev, "device")
        b.radio(did, sites[int(home[k])])
        devices.append(did)

    attach = [sites[0]] + ([sites[n_sites // 2]] if n_sites >= 4 else [])
    b.cloud(c, attach, cfg.backhaul_bandwidth, _backhaul_latency(cfg))

    def sink(rng: np.random.Generator, src: str) -> str:
        others = [d for d in devices if d != src]
        return str(rng.choice(others)) if others else src

    return _finish(cfg, b, devices, sink)


def v2x(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Vehicles on a road, road-side units with edge GPUs, a zonal MEC, a regional cloud.

    Nodes: ``rsu-k`` road-side units (edge tier, Jetson AGX Orin / T4 / L4) every
    300-800 m along the road, joined in a fibre chain (10 GbE), every 4th with an
    uplink to the ``core`` switch; ``mec-k`` zonal MEC servers at the core;
    ``veh-k`` vehicles (Jetson AGX Orin / Orin NX) on 5G to their nearest RSU
    (bandwidth from the 5Gophers *driving* traces), some also to the second
    nearest; ``cloud-k`` behind a backhaul from the core.  Sinks: the vehicle
    itself, the nearest other vehicle (cooperative perception) or its RSU.
    """
    cfg = _Config("v2x", seed, size, params)
    n = cfg.nodes
    c = _cloud_count(cfg, n)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "core": 1,
        "rsu": cfg.rsus or max(2, round(0.25 * n)),
        "mec": cfg.mec or max(1, round(0.05 * n)),
        "veh": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "core": 1, "rsu": 1, "mec": 1, "veh": 1}
    fixed = ["cloud", "dcgw", "core"] + [k for k, p in (("rsu", "rsus"), ("mec", "mec")) if params.get(p) is not None]
    counts = _shrink(counts, minimum, "veh", n, fixed)

    b = _Builder(cfg)
    rng = cfg.rng("network")
    lo, hi = _range(cfg.rsu_spacing, "rsu_spacing")
    n_rsu = counts["rsu"]
    gaps = rng.uniform(lo, hi, n_rsu)
    rsu_x = np.cumsum(gaps) - gaps[0] + hi / 2
    road_end = float(rsu_x[-1] + hi / 2)
    core_xy = np.array([road_end / 2, 2000.0])
    core = b.switch("core")
    rsus = []
    for k, dev in enumerate(b.pick("edge", "edge_types", n_rsu)):
        rsus.append(b.compute(f"rsu-{k}", dev, "edge"))
    for k in range(n_rsu - 1):
        b.wired(rsus[k], rsus[k + 1], ETH_10G, fiber_latency(float(rsu_x[k + 1] - rsu_x[k])), "metro")
    every = int(cfg.uplink_every)
    for k in range(n_rsu):
        if k % every == 0 or k == n_rsu - 1:
            d = float(np.hypot(rsu_x[k] - core_xy[0], core_xy[1]))
            b.wired(rsus[k], core, ETH_10G, fiber_latency(d), "metro")
    for k, dev in enumerate(b.pick("mec", None, counts["mec"])):
        mid = b.compute(f"mec-{k}", dev, "edge")
        b.wired(mid, core, ETH_10G, LAN_LATENCY, "lan")

    n_veh = counts["veh"]
    veh_x = rng.uniform(0, road_end, n_veh)
    dual = rng.uniform(0, 1, n_veh) < float(cfg.dual_attach)
    rsu_pts = np.column_stack([rsu_x, np.zeros(n_rsu)])
    near = nearest(np.column_stack([veh_x, np.zeros(n_veh)]), rsu_pts, k=2)
    vehicles = []
    for k, dev in enumerate(b.pick("device", "device_types", n_veh)):
        vid = b.compute(f"veh-{k}", dev, "device")
        b.radio(vid, rsus[int(near[k, 0])])
        if dual[k] and near.shape[1] > 1:
            b.radio(vid, rsus[int(near[k, 1])])
        vehicles.append(vid)
    b.cloud(c, [core], cfg.backhaul_bandwidth, _backhaul_latency(cfg))
    position = dict(zip(vehicles, veh_x))
    home = {v: rsus[int(near[k, 0])] for k, v in enumerate(vehicles)}

    def sink(rng: np.random.Generator, src: str) -> str:
        others = [v for v in vehicles if v != src]
        if others and rng.uniform() < 0.6:
            return min(others, key=lambda v: (abs(position[v] - position[src]), v))
        return home[src]

    return _finish(cfg, b, vehicles, sink)


def industrial(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """A factory on private 5G and industrial Ethernet with strict privacy.

    Nodes: ``cam-k`` smart cameras (Jetson Orin Nano/NX) and ``sensor-k`` sensor
    gateways (Raspberry Pi 5) as sources, ``plc-k`` PLCs (no compute) as sinks;
    ``cell-k`` private 5G small cells (switches) and the on-premise ``core``
    switch; ``edge-k`` on-premise servers (trust 3); ``cloud-k`` (trust 1) behind
    a 1 Gbit/s enterprise uplink.  Every workload has ``min_trust`` 3 and 2-6
    ``private_layers`` by default: its first layers must stay on premise.
    """
    cfg = _Config("industrial", seed, size, params)
    n = cfg.nodes
    c = _cloud_count(cfg, n)
    counts = {
        "cloud": c,
        "dcgw": 1 if c >= 2 else 0,
        "core": 1,
        "cells": cfg.cells or max(1, round(0.08 * n)),
        "servers": cfg.servers or max(1, round(0.12 * n)),
        "dev": 0,
    }
    minimum = {"cloud": c, "dcgw": counts["dcgw"], "core": 1, "cells": 1, "servers": 1, "dev": 2}
    fixed = ["cloud", "dcgw", "core"] + [k for k in ("cells", "servers") if params.get(k) is not None]
    counts = _shrink(counts, minimum, "dev", n, fixed)

    b = _Builder(cfg)
    rng = cfg.rng("network")
    hall = np.array([200.0, 100.0])  # factory hall, metres
    n_cells = counts["cells"]
    cols = math.ceil(math.sqrt(n_cells * 2))
    cell_xy = np.array([[(k % cols + 0.5) * hall[0] / cols, (k // cols + 0.5) * hall[1] / math.ceil(n_cells / cols)]
                        for k in range(n_cells)])
    core = b.switch("core")
    cells = []
    for k in range(n_cells):
        cells.append(b.switch(f"cell-{k}"))
        b.wired(cells[-1], core, ETH_10G, LAN_LATENCY, "lan")
    for k, dev in enumerate(b.pick("edge", "edge_types", counts["servers"])):
        sid = b.compute(f"edge-{k}", dev, "edge")
        b.wired(sid, core, ETH_10G, LAN_LATENCY, "lan")

    n_dev = counts["dev"]
    n_plc = max(1, round(float(cfg.plc_fraction) * n_dev)) if n_dev >= 3 else (1 if n_dev >= 2 else 0)
    n_cam = max(1, round(float(cfg.camera_fraction) * n_dev)) if n_dev - n_plc >= 1 else 0
    n_cam = min(n_cam, n_dev - n_plc)
    n_sensor = n_dev - n_plc - n_cam
    xy = rng.uniform(0, 1, (n_dev, 2)) * hall
    home = nearest(xy, cell_xy)[:, 0]
    wired = rng.uniform(0, 1, n_dev) < float(cfg.wired_fraction)
    sources, plcs = [], []
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
            nid = b.switch(f"plc-{k - n_cam - n_sensor}", tier="device", type="plc",
                           trust=TRUST["industrial"]["device"])
            plcs.append(nid)
        if nid in plcs or (k < n_cam and wired[k]):
            b.wired(nid, core, ETH_1G, 2 * LAN_LATENCY, "lan")
        else:
            b.radio(nid, cells[int(home[k])])
    b.cloud(c, [core], cfg.backhaul_bandwidth, _backhaul_latency(cfg))

    def sink(rng: np.random.Generator, src: str) -> str:
        return str(rng.choice(plcs)) if plcs else src

    return _finish(cfg, b, sources, sink)


def topology_zoo(seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Edge layering over a real Topology Zoo network (Knight et al., JSAC 2011).

    Nodes: one per PoP: ``mec-<city>`` where the PoP hosts a MEC server (edge
    tier), ``pop-<city>`` routers (switches) elsewhere; ``dev-k`` user devices on
    5G to a random PoP; ``cloud-k`` at one PoP (the highest-degree one by default)
    over 100 GbE.  PoP-PoP links: latency = great-circle distance / 2e8 m/s + 0.1
    ms switching, bandwidth = LinkSpeed where the source gives it, else 10 Gbit/s.
    """
    cfg = _Config("topology-zoo", seed, size, params)
    topo = zoo_topology(cfg.topology)
    n = cfg.nodes
    c = _cloud_count(cfg, n)
    n_all = len(topo["nodes"])
    if cfg.pops is not None:
        if cfg.pops > n_all:
            raise ValueError(f"pops={cfg.pops} but topology {cfg.topology!r} has only {n_all} PoPs")
        n_pops = cfg.pops
    else:
        n_pops = min(n_all, max(2, round(0.5 * (n - c - (1 if c >= 2 else 0)))))
    n_dev = n - c - (1 if c >= 2 else 0) - n_pops
    if n_dev < 1:
        raise ValueError(f"nodes={n} is too small: {n_pops} PoPs and {c} cloud nodes leave no user device")

    rng = cfg.rng("network")
    hop, speed = float(cfg.hop_delay), float(cfg.fiber_speed)
    pts = topo["nodes"]
    adj: dict[int, list[tuple[int, float, float]]] = {k: [] for k in range(n_all)}
    for e in topo["edges"]:
        i, j = e["source"], e["target"]
        d = great_circle_m(pts[i]["lat"], pts[i]["lon"], pts[j]["lat"], pts[j]["lon"])
        bw = e["bps"] / 8 if "bps" in e else float(cfg.default_link_bandwidth)
        lat = d / speed + hop
        adj[i].append((j, lat, bw))
        adj[j].append((i, lat, bw))
    chosen = _grow(adj, int(rng.integers(n_all)), n_pops) if n_pops < n_all else list(range(n_all))
    chosen_set = set(chosen)
    chosen.sort()
    degree = {i: sum(1 for j, _, _ in adj[i] if j in chosen_set) for i in chosen}
    if cfg.cloud_pop is not None:
        labels = {pts[i]["label"]: i for i in chosen}
        if cfg.cloud_pop not in labels:
            hint = did_you_mean(str(cfg.cloud_pop), list(labels)) or "PoPs: " + ", ".join(labels)
            raise ValueError(f"cloud_pop {cfg.cloud_pop!r} is not a PoP of this instance ({hint})")
        cloud_pop = labels[cfg.cloud_pop]
    else:
        cloud_pop = max(chosen, key=lambda i: (degree[i], -i))
    n_mec = max(1, round(float(cfg.mec_fraction) * n_pops))
    mec_set = set(int(x) for x in rng.choice(chosen, size=n_mec, replace=False))

    b = _Builder(cfg)
    used: dict[str, int] = {}
    pop_id: dict[int, str] = {}
    edge_types = b.pick("edge", "edge_types", n_mec)
    for i in chosen:
        base = slug(pts[i]["label"])
        used[base] = used.get(base, 0) + 1
        tag = base if used[base] == 1 else f"{base}-{used[base]}"
        if i in mec_set:
            pop_id[i] = b.compute(f"mec-{tag}", edge_types.pop(0), "edge")
        else:
            pop_id[i] = b.switch(f"pop-{tag}")
    for e in topo["edges"]:
        i, j = e["source"], e["target"]
        if i in chosen_set and j in chosen_set:
            lat = next(lat for k, lat, _ in adj[i] if k == j)
            bw = e["bps"] / 8 if "bps" in e else float(cfg.default_link_bandwidth)
            b.wired(pop_id[i], pop_id[j], bw, lat, "wan")
    pop_list = [pop_id[i] for i in chosen]
    home = rng.choice(len(pop_list), size=n_dev)
    devices = []
    for k, dev in enumerate(b.pick("device", "device_types", n_dev)):
        did = b.compute(f"dev-{k}", dev, "device")
        b.radio(did, pop_list[int(home[k])])
        devices.append(did)
    backhaul_lat = cfg.backhaul_latency if cfg.backhaul_latency is not None else DC_LATENCY
    b.cloud(c, [pop_id[cloud_pop]], cfg.backhaul_bandwidth, backhaul_lat, kind="lan")

    def sink(rng: np.random.Generator, src: str) -> str:
        others = [d for d in devices if d != src]
        return str(rng.choice(others)) if others else src

    return _finish(cfg, b, devices, sink)


def _grow(adj: Mapping[int, list[tuple[int, float, float]]], start: int, count: int) -> list[int]:
    """The ``count`` PoPs nearest (by latency) to ``start``: a connected subset."""
    import heapq

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


def _backhaul_latency(cfg: _Config) -> float:
    return float(cfg.backhaul_latency) if cfg.backhaul_latency is not None else measured_backhaul_latency()


# --------------------------------------------------------------------------- #
# Workloads, reference placement, SLOs
# --------------------------------------------------------------------------- #


def _finish(cfg: _Config, b: _Builder, sources: Sequence[str], sink_of: Callable[[np.random.Generator, str], str]) -> Problem:
    types = sorted({n["type"] for n in b.nodes if n.get("type") and n["flops"] > 0}) if cfg.layer_times else None
    n_w = cfg.workloads
    models = _model_records(cfg, types)[:n_w]
    rng = cfg.rng("workloads")
    if not sources:
        raise ValueError("the network has no node that can be a workload source")
    # Sources: every source once (random order) before any repeats.
    order: list[str] = []
    while len(order) < n_w:
        order += [sources[k] for k in rng.permutation(len(sources))]
    workloads = []
    for k in range(n_w):
        model = models[k % len(models)]
        catalog_name = cfg.model[k % len(models)]
        src = order[k]
        wl: dict[str, Any] = {"id": f"wl-{k}", "model": model["id"], "source": src}
        other = rng.uniform() < float(cfg.sink_other_fraction)
        sink_rng = cfg.rng(f"sink-{k}")
        if other:
            snk = sink_of(sink_rng, src)
            if snk != src:
                wl["sink"] = snk
        wl["rate"] = _rate(cfg, catalog_name, rng)
        if rng.uniform() < float(cfg.private_fraction):
            lo, hi = cfg.private_layers
            n_layers = len(model["layers"])
            pl = int(rng.integers(lo, hi + 1))
            wl["min_trust"] = int(cfg.min_trust if cfg.min_trust is not None else TRUST[cfg.family]["edge"])
            wl["private_layers"] = min(pl, n_layers - 1)
        if cfg.weights:
            values, probs = zip(*WEIGHT_CHOICES)
            wl["weight"] = float(rng.choice(values, p=probs))
        if cfg.max_segments is not None:
            wl["max_segments"] = cfg.max_segments
        workloads.append(wl)

    data: dict[str, Any] = {
        "name": cfg.name or f"{cfg.family}-{cfg.size}-seed{cfg.seed}",
        "nodes": b.nodes,
        "links": b.links,
        "models": models,
        "workloads": workloads,
    }
    if cfg.objective is not None:
        data["objective"] = dict(cfg.objective)
    settings: dict[str, Any] = {}
    if cfg.max_utilization is not None:
        settings["max_utilization"] = float(cfg.max_utilization)
    if cfg.one_segment_per_node:
        settings["one_segment_per_node"] = True
    if settings:
        data["settings"] = settings

    problem = Problem.from_dict(data)
    ref = reference_assignment(problem)
    if ref is None:
        raise ValueError("the cloud cannot hold the models and their state; raise cloud_nodes, use larger "
                         "cloud_types, fewer workloads or a shorter context")
    from .evaluate import evaluate

    ev = evaluate(problem, ref)
    hard = [v for v in ev.violations if v.kind not in ("compute", "link")]
    if hard:
        raise ValueError(f"could not build a feasible reference placement: {hard[0]}")
    peak = max([0.0, *ev.node_utilization.values(), *ev.link_utilization.values()])
    target = float(cfg.reference_load) * problem.max_utilization
    if peak > target:
        scale = target / peak
        for wl in workloads:
            wl["rate"] = _round_sig(wl["rate"] * scale, down=True)
    if cfg.slo_slack is not None:
        rng_slo = cfg.rng("slo")
        lo, hi = cfg.slo_slack
        for wl in workloads:
            slack = rng_slo.uniform(lo, hi)
            if rng_slo.uniform() < float(cfg.slo_fraction):
                wl["slo"] = _round_sig(ev.latency[wl["id"]] * slack, down=False)
    return Problem.from_dict(data)


def _rate(cfg: _Config, name: str, rng: np.random.Generator) -> float:
    if cfg.rate is not None:
        lo, hi = _range(cfg.rate, "rate")
    else:
        from .profiles.models import model_spec

        kind = "encoder" if not model_spec(name).is_decoder else cfg.mode
        lo, hi = DEFAULT_RATE[kind]
    if lo < 0:
        raise ValueError("rate must be >= 0")
    return _round_sig(float(rng.uniform(lo, hi)), down=False)


def _round_sig(x: float, digits: int = 4, down: bool = False) -> float:
    """Round to ``digits`` significant digits, down or up (never to the other side)."""
    if x <= 0 or not math.isfinite(x):
        return x
    e = math.floor(math.log10(x)) - digits + 1
    n = math.floor(x / 10.0**e) if down else math.ceil(x / 10.0**e)
    v = float(f"{n}e{e}")
    while (down and v > x) or (not down and v < x):
        n += -1 if down else 1
        v = float(f"{n}e{e}")
    return v


def reference_assignment(problem: Problem) -> dict[str, list[str]] | None:
    """A simple placement that is feasible for generated instances (SLOs aside, which
    the generators set from it).

    For every workload with a privacy constraint that the cloud does not meet, its
    private prefix (``max(private_layers, 1)`` layers) goes to the trusted node
    (``trust >= min_trust``, non-zero compute, not cloud) that finishes it
    soonest (latency from the source plus compute time of the prefix) and still has memory for it and whose prefix work, counted at one inference
    per second per workload, stays within half its capacity (so the result does
    not depend on the rates, which the generators scale after calling this).  Everything else runs on a *chain* of
    cloud-tier nodes (in file order; packed by memory, each node holding a
    contiguous run of layers).  When the cloud has room, workloads of a model are
    split round-robin over several replica chains.  Uses only the problem, so it can
    be recomputed from a saved instance.  Returns None when the cloud is too small.
    """
    p = problem
    cloud = [i for i, n in enumerate(p.nodes) if n.tier == "cloud" and p.can_host[i]]
    if not cloud:
        cloud = sorted((i for i in range(p.num_nodes) if p.can_host[i]), key=lambda i: (-p.node_memory[i], i))
    mem_left = {i: float(p.node_memory[i]) for i in range(p.num_nodes)}
    load = np.zeros(p.num_nodes)
    lat = p.routes.latency
    comp = p.compute_time
    cap = p.max_utilization
    assignment: dict[str, list[int]] = {}
    placed: set[tuple[int, int]] = set()  # (global layer, node) whose weights are placed

    # 1. private prefixes
    for w, wl in enumerate(p.workloads):
        m = int(p.workload_model[w])
        n_layers = len(p.models[m].layers)
        assignment[wl.id] = [-1] * n_layers
        if wl.min_trust <= 0 or all(p.node_trust[i] >= wl.min_trust for i in cloud):
            continue
        k = min(max(wl.private_layers, 1), n_layers)
        g0 = int(p.model_offset[m])
        src = int(p.workload_source[w])
        candidates = [i for i in range(p.num_nodes)
                      if p.can_host[i] and p.node_trust[i] >= wl.min_trust and i not in cloud]
        prefix_time = comp[g0 : g0 + k].sum(axis=0)
        candidates.sort(key=lambda i: (lat[src, i] + prefix_time[i], i))
        for i in candidates:
            need = sum(p.layer_param_bytes[g0 + l] for l in range(k) if (g0 + l, i) not in placed)
            need += sum(p.layer_state_bytes[g0 : g0 + k])
            busy = float(comp[g0 : g0 + k, i].sum())  # per unit rate: keeps the result rate-independent
            if need <= mem_left[i] and load[i] + busy <= 0.5 * cap and math.isfinite(lat[src, i]):
                mem_left[i] -= need
                load[i] += busy
                placed.update((g0 + l, i) for l in range(k))
                assignment[wl.id][:k] = [i] * k
                break
        else:
            return None

    # 2. cloud chains, replicas where the cloud has room
    fresh = list(cloud)
    cursor = 0
    by_model: dict[int, list[int]] = {}
    for w in range(p.num_workloads):
        by_model.setdefault(int(p.workload_model[w]), []).append(w)
    remaining_w = p.num_workloads
    for m, ws in sorted(by_model.items()):
        model = p.models[m]
        g0, n_layers = int(p.model_offset[m]), len(model.layers)
        params = p.layer_param_bytes[g0 : g0 + n_layers]
        states = p.layer_state_bytes[g0 : g0 + n_layers]

        def pack(group: Sequence[int], start: int, left: dict[int, float]) -> tuple[list[int], int] | None:
            need = params + len(group) * states
            k = start
            out = []
            for layer in range(n_layers):
                while k < len(fresh) and left[fresh[k]] < need[layer]:
                    k += 1
                if k == len(fresh):
                    return None
                left[fresh[k]] -= need[layer]
                out.append(fresh[k])
            return out, k

        trial = pack(ws, cursor, dict(mem_left))
        if trial is None:
            return None
        per_chain = len(set(trial[0]))
        free_nodes = len(fresh) - cursor
        share = max(1, math.floor(free_nodes * len(ws) / remaining_w))
        replicas = max(1, min(len(ws), share // per_chain))
        while True:
            left = dict(mem_left)
            start = cursor
            chains = []
            for r in range(replicas):
                res = pack(ws[r::replicas], start, left)
                if res is None:
                    break
                chain, start = res
                chains.append(chain)
                if r < replicas - 1:
                    start += 1  # next replica starts on a fresh node
            if len(chains) == replicas:
                break
            replicas -= 1
            if replicas == 0:
                return None
        mem_left = left
        cursor = start + 1 if start + 1 < len(fresh) else start
        remaining_w -= len(ws)
        for r, chain in enumerate(chains):
            for w in ws[r::replicas]:
                wl = p.workloads[w]
                row = assignment[wl.id]
                for layer in range(n_layers):
                    if row[layer] < 0:
                        row[layer] = chain[layer]
    return {wid: [p.node_ids[i] for i in row] for wid, row in assignment.items()}


FAMILIES: dict[str, Callable[..., Problem]] = {
    "smart-city": smart_city,
    "v2x": v2x,
    "industrial": industrial,
    "topology-zoo": topology_zoo,
}


def generate(family: str, seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Generate an instance of a scenario family.

    Parameters
    ----------
    family
        One of :data:`FAMILIES`: ``"smart-city"``, ``"v2x"``, ``"industrial"``,
        ``"topology-zoo"``.
    seed
        Non-negative integer; the same seed and parameters give the same instance.
    size
        Preset ``"s"`` (~10 nodes), ``"m"`` (~20-24) or ``"l"`` (~120).
    **params
        Overrides: see :func:`family_params` (``nodes``, ``workloads``, ``model``,
        ``mode``, ``dtype``, ``objective``, ``utilization``, ...).

    Raises
    ------
    ValueError
        For an unknown family, size or parameter (with a did-you-mean hint), or
        parameters that leave no feasible instance (e.g. too few nodes).
    """
    _check_family(family)
    return FAMILIES[family](seed=seed, size=size, **params)
