"""Generator parameters: the :class:`Param` declaration, the parameters common to
every family, per-tier defaults, and the checks of range and tier-map values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import did_you_mean
from ..topologies import ENERGY_PER_BYTE

SIZES = ("s", "m", "l")

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

#: Multiplier on the device price table by tier: user devices are not billed, MEC
#: capacity carries a premium over the same hardware in a cloud region.
DEFAULT_COST_FACTOR: dict[str, float] = {"device": 0.0, "edge": 1.5, "cloud": 1.0}

#: Parameters given as a partial ``{key: value}`` override of these defaults.
TIER_MAPS: dict[str, Mapping[str, Any]] = {
    "utilization": DEFAULT_UTILIZATION,
    "memory_free": DEFAULT_MEMORY_FREE,
    "cost_factor": DEFAULT_COST_FACTOR,
    "energy_per_byte": ENERGY_PER_BYTE,
}


@dataclass(frozen=True)
class Param:
    """A generator parameter.

    Parameters
    ----------
    default
        The default value, or ``{size: value}`` for a default per size preset.
    doc
        What the parameter means (shown by ``family_params`` and the CLI).
    kind
        ``"count"``: a positive integer; ``"fraction"``: a number in [0, 1];
        None: checked where it is used.
    """

    default: Any
    doc: str
    kind: Literal["count", "fraction"] | None = None

    def value(self, size: str) -> Any:
        """The default for a size preset."""
        if isinstance(self.default, dict) and set(self.default) == set(SIZES):
            return self.default[size]
        return self.default


def count_param(doc: str, default: int | None = None) -> Param:
    """A parameter that must be a positive integer."""
    return Param(default, doc, kind="count")


def fraction_param(doc: str, default: float | None = None) -> Param:
    """A parameter that must be a number in [0, 1]."""
    return Param(default, doc, kind="fraction")


COMMON_PARAMS: dict[str, Param] = {
    "nodes": count_param("total number of nodes, switches included (default: the size preset)"),
    "workloads": count_param("number of workloads (default: the size preset)"),
    "model": Param(None, "catalog model name, or a list of names (workloads cycle through them)"),
    "mode": Param("decode", "'decode' (one token per inference) or 'prefill' (a prompt of `tokens`)"),
    "tokens": Param(None, "prompt length for prefill, sequence length for BERT (default 512 for prefill, else 1)"),
    "context": count_param("KV-cache context length of decoders", 1024),
    "batch": count_param("sequences per inference", 1),
    "dtype": Param("fp16", "weight dtype: 'fp16', 'int8' or 'int4'"),
    "layers": count_param("resize the model to this many layers by repeating/truncating its "
                          "transformer blocks (synthetic; id gets a '-<n>l' suffix)"),
    "layer_times": Param(True, "add the catalog's calibrated per-layer times for the device types present"),
    "rate": Param(None, "(lo, hi) uniform range of request rates, inferences/s, or a number "
                        "(default by mode: decode (0.5, 2), prefill (0.05, 0.2), encoders (1, 5))"),
    "reference_load": Param(0.8, "rates are scaled down so the reference placement loads no node or link "
                                 "above this fraction of max_utilization"),
    "memory_supply": Param(None, "hard regime: scale every host's memory by one factor so that memory supply is "
                                 "this multiple of the demand (weights once per model + state per workload; "
                                 "> 1, e.g. 1.3); None or False: as drawn"),
    "compute_load": Param(None, "hard regime: scale each workload's rate (up or down) so that the busiest node on "
                                "its path in the spread reference placement runs at this fraction of "
                                "max_utilization (in (0, 1], e.g. 0.95; replaces reference_load); False: off"),
    "slo_slack": Param((1.2, 2.0), "(lo, hi): SLO = slack x latency of the reference placement; False: no SLOs"),
    "slo_fraction": fraction_param("fraction of workloads that get an SLO", 1.0),
    "private_fraction": fraction_param("fraction of workloads with a privacy constraint"),
    "private_layers": Param(None, "(lo, hi) integer range of private_layers for private workloads"),
    "min_trust": Param(None, "min_trust of private workloads (default: the trust of the edge tier)"),
    "sink_other_fraction": fraction_param("fraction of workloads whose sink differs from the source"),
    "weights": Param(True, "draw workload weights from {1: 60%, 2: 30%, 4: 10%}; False: all 1"),
    "max_segments": count_param("max_segments of every workload"),
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
    "cloud_nodes": count_param("number of cloud nodes (default: ~3% of nodes, at least what the model needs)"),
    "device_types": Param(None, "catalog device names for user devices (list, or {name: weight})"),
    "edge_types": Param(None, "catalog device names for edge servers (list, or {name: weight})"),
    "cloud_types": Param(None, "catalog device names for cloud servers (list, or {name: weight})"),
    "name": Param(None, "instance name (default '<family>-<size>-seed<seed>')"),
}


# --------------------------------------------------------------------------- #
# Value checks
# --------------------------------------------------------------------------- #


def parse_range(x: Any, name: str) -> tuple[float, float]:
    """A number ``x`` as ``(x, x)``, or a ``(lo, hi)`` pair with ``lo <= hi``.

    Raises
    ------
    ValueError
        For anything else, naming the parameter ``name``.
    """
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


def tier_ranges(base: Mapping[str, tuple[float, float]], given: Any, name: str, upper: float,
                open_upper: bool = False) -> dict[str, tuple[float, float]]:
    """``base`` with the ``{tier: (lo, hi)}`` ranges of ``given`` in ``[0, upper]`` (or ``[0, upper)``)."""
    out = dict(base)
    for tier, value in (given or {}).items():
        if tier not in base:
            hint = did_you_mean(str(tier), list(base)) or "tiers: " + ", ".join(base)
            raise ValueError(f"{name}: unknown tier {tier!r} ({hint})")
        lo, hi = parse_range(value, f"{name}[{tier}]")
        if lo < 0 or hi > upper or (open_upper and hi >= upper) or (name == "memory_free" and lo <= 0):
            raise ValueError(f"{name}[{tier}] = {value!r} is out of range")
        out[tier] = (lo, hi)
    return out


def merge_numbers(base: Mapping[str, float], given: Any, name: str) -> dict[str, float]:
    """``base`` with the non-negative numbers of ``given`` (known keys only)."""
    out = dict(base)
    for key, value in (given or {}).items():
        if key not in base:
            hint = did_you_mean(str(key), list(base)) or "known: " + ", ".join(base)
            raise ValueError(f"{name}: unknown key {key!r} ({hint})")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name}[{key}] must be a number >= 0, not {value!r}")
        out[key] = float(value)
    return out


def resolve_tier_map(key: str, family_default: Mapping[str, Any] | None, given: Any) -> dict[str, Any]:
    """A tier-map parameter: the common defaults, then the family's, then ``given``."""
    base = TIER_MAPS[key]
    merged = {**base, **(family_default or {})}
    if given is not None and not isinstance(given, Mapping):
        raise ValueError(f"{key} must be a mapping, e.g. {{{next(iter(base))!r}: ...}}, not {given!r}")
    if key == "utilization":
        return tier_ranges(merged, given, key, upper=1.0, open_upper=True)
    if key == "memory_free":
        return tier_ranges(merged, given, key, upper=1.0)
    return merge_numbers(merged, given, key)


#: Device types per role of a metro operator network (smart-city, topology-zoo).
METRO_DEVICE_MIX: dict[str, dict[str, list[str]]] = {
    "device": {"s": ["apple-m1", "apple-m2", "jetson-orin-nano", "jetson-orin-nx", "raspberry-pi-5"]},
    "edge": {"s": ["l4", "rtx-4090", "t4"], "l": ["l4", "rtx-4090", "t4", "jetson-agx-orin", "a100-40gb"]},
    "cloud": {"s": ["a100-80gb"], "l": ["a100-80gb", "h100-sxm"]},
}
