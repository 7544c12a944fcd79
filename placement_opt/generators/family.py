"""The record of a scenario family, what its builder returns, and the configuration
of one generation run (parameters resolved from presets and defaults, checked)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import did_you_mean
from ..profiles import list_devices, list_models
from .params import COMMON_PARAMS, SIZES, TIER_MAPS, Param, parse_range, resolve_tier_map

#: Picks the sink of a workload from its source (draws from the given stream).
Sink = Callable[[np.random.Generator, str], str]

#: Common parameters without a common default: every family sets them in ``defaults``.
REQUIRED_DEFAULTS = ("private_fraction", "private_layers", "sink_other_fraction", "radio", "backhaul_bandwidth")


@dataclass(frozen=True)
class Network:
    """What a family builder returns: the instance's nodes and links (instance-format
    records), the nodes that may be workload sources, and how sinks are chosen."""

    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]
    sources: Sequence[str]
    sink: Sink


# Compared by identity: the mapping fields make a field-wise hash impossible.
@dataclass(frozen=True, eq=False)
class Family:
    """Everything about one scenario family.

    Attributes
    ----------
    name
        The family's name in :data:`~placement_opt.generators.FAMILIES`, e.g. ``"smart-city"``.
    build
        Builds the network of one run from its :class:`Config`.
    params
        Parameters of this family only (the common ones are in ``COMMON_PARAMS``).
    presets
        ``{size: {"nodes": ..., "workloads": ..., "model": ...}}``.
    device_mix
        Catalog device types per node role: ``{role: {size: [names]}}``; a size
        without an entry uses the ``"s"`` mix.
    trust
        Trust level per tier (``device``, ``edge``, ``cloud``); higher is more trusted.
    defaults
        This family's defaults of common parameters (a tier-map parameter such as
        ``memory_free`` overrides only the tiers it names); it must set those
        in ``REQUIRED_DEFAULTS``.

    Raises
    ------
    ValueError
        When created incomplete: required defaults or size presets missing, or an
        own parameter named like a common one.
    """

    name: str
    build: Callable[[Config], Network]
    params: Mapping[str, Param]
    presets: Mapping[str, Mapping[str, Any]]
    device_mix: Mapping[str, Mapping[str, Sequence[str]]]
    trust: Mapping[str, int]
    defaults: Mapping[str, Any]

    def __post_init__(self) -> None:
        missing = [key for key in REQUIRED_DEFAULTS if key not in self.defaults]
        if missing:
            raise ValueError(f"family {self.name!r}: defaults must set {', '.join(missing)}")
        if set(self.presets) != set(SIZES):
            raise ValueError(f"family {self.name!r}: presets must have the sizes {', '.join(SIZES)}")
        if set(self.params) & set(COMMON_PARAMS):
            raise ValueError(f"family {self.name!r}: parameters {sorted(set(self.params) & set(COMMON_PARAMS))} "
                             "are common parameters (set their family default in defaults)")

    @property
    def all_params(self) -> dict[str, Param]:
        """Every parameter the family accepts: the common ones, then its own."""
        return {**COMMON_PARAMS, **self.params}


class Config:
    """Parameters of one generation run, with presets and defaults resolved and checked.

    Parameter values are attributes (``cfg.nodes``, ``cfg.metro_radius``, ...).

    Raises
    ------
    ValueError
        For an unknown size or parameter, a bad seed or a bad parameter value.
    """

    def __init__(self, family: Family, seed: int, size: str, params: Mapping[str, Any]):
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
        known = family.all_params
        for key in params:
            if key not in known:
                hint = did_you_mean(key, list(known)) or "see placement_opt.generators.family_params"
                raise ValueError(f"unknown parameter {key!r} for family {family.name!r} ({hint})")
        self.family, self.seed, self.size = family, int(seed), size
        self.values = {key: self._resolve(key, spec, params.get(key)) for key, spec in known.items()}
        self._check(known)

    def _resolve(self, key: str, spec: Param, given: Any) -> Any:
        if key in TIER_MAPS or given is not None:
            return given  # tier maps are merged with the defaults in _check
        preset, defaults = self.family.presets[self.size], self.family.defaults
        if key in preset:
            return preset[key]
        if key in defaults:
            return defaults[key]
        return spec.value(self.size)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def rng(self, stream: str) -> np.random.Generator:
        """An independent random stream for one purpose, fixed by (seed, stream name)."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    def type_choices(self, role: str, override_key: str | None = None) -> tuple[list[str], np.ndarray]:
        """Catalog device types for a node role and their probabilities.

        Parameters
        ----------
        role
            A role of the family's ``device_mix`` (``"edge"``, ``"cloud"``, ...).
        override_key
            The parameter that overrides the mix (``"edge_types"``, ...), if any.
        """
        given = self.values.get(override_key) if override_key else None
        if given is None:
            mix = self.family.device_mix[role]
            given = mix.get(self.size, mix["s"])
        if isinstance(given, str):
            given = [given]
        if isinstance(given, Mapping):
            names, w = list(given), np.array([float(x) for x in given.values()])
        else:
            names, w = list(given), np.ones(len(given))
        for name in names:
            if name not in list_devices():
                hint = did_you_mean(str(name), list_devices()) or "known: " + ", ".join(list_devices())
                raise ValueError(f"unknown device type {name!r} ({hint})")
        if not names or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{override_key or role}: give at least one device type with a positive weight")
        return names, w / w.sum()

    # ----------------------------------------------------------------------- #
    # Checks (they also normalise: ints, tuples, merged tier maps)
    # ----------------------------------------------------------------------- #

    def _check(self, known: Mapping[str, Param]) -> None:
        self._check_kind("count", known)
        self._check_request()
        self._check_kind("fraction", known)
        self._check_load_slo_privacy()
        self._check_hard_regime()
        for key in TIER_MAPS:
            self.values[key] = resolve_tier_map(key, self.family.defaults.get(key), self.values[key])
        self._check_models()

    def _check_kind(self, kind: str, known: Mapping[str, Param]) -> None:
        v = self.values
        for key, spec in known.items():
            x = v[key]
            if spec.kind != kind or x is None:
                continue
            if kind == "fraction" and not (0.0 <= float(x) <= 1.0):
                raise ValueError(f"{key} must be in [0, 1], not {x!r}")
            if kind == "count":
                if not isinstance(x, (int, np.integer)) or isinstance(x, bool) or x < 1:
                    raise ValueError(f"{key} must be a positive integer, not {x!r}")
                v[key] = int(x)

    def _check_request(self) -> None:
        v = self.values
        if v["mode"] not in ("decode", "prefill"):
            raise ValueError(f"mode must be 'decode' or 'prefill', not {v['mode']!r}")
        if v["tokens"] is None:
            v["tokens"] = 512 if v["mode"] == "prefill" else 1
        if v["layers"] is not None and v["layers"] < 3:
            raise ValueError(f"layers must be at least 3 (embedding, one block, head), not {v['layers']}")

    def _check_load_slo_privacy(self) -> None:
        v = self.values
        if not 0 < float(v["reference_load"]) <= 1:
            raise ValueError(f"reference_load must be in (0, 1], not {v['reference_load']!r}")
        if v["slo_slack"] is False:
            v["slo_slack"] = None
        if v["slo_slack"] is not None:
            lo, hi = parse_range(v["slo_slack"], "slo_slack")
            if lo < 1.0:
                raise ValueError(f"slo_slack must be >= 1 (the reference placement must meet its SLO), not {lo}")
            v["slo_slack"] = (lo, hi)
        lo, hi = parse_range(v["private_layers"], "private_layers")
        v["private_layers"] = (int(lo), int(hi))
        if v["private_layers"][0] < 0:
            raise ValueError("private_layers must be >= 0")

    def _check_hard_regime(self) -> None:
        v = self.values
        for key in ("memory_supply", "compute_load"):  # False: off, even where a family default sets it
            if v[key] is False:
                v[key] = None
        supply, load = v["memory_supply"], v["compute_load"]
        if supply is not None and (not _is_number(supply) or not 1.0 < float(supply) <= 100.0):
            raise ValueError(f"memory_supply must be a number in (1, 100], not {supply!r}")
        if load is not None and (not _is_number(load) or not 0.0 < float(load) <= 1.0):
            raise ValueError(f"compute_load must be a number in (0, 1], not {load!r}")

    def _check_models(self) -> None:
        model = self.values["model"]
        models = model if isinstance(model, (list, tuple)) else [model]
        if not models:
            raise ValueError("model must name at least one catalog model")
        for m in models:
            if m not in list_models():
                hint = did_you_mean(str(m), list_models()) or "known: " + ", ".join(list_models())
                raise ValueError(f"unknown model {m!r} ({hint})")
        self.values["model"] = list(models)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
