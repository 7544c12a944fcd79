"""Model records of a run: catalog models in the run's mode and dtype, optionally
resized to a number of layers, and the memory they need."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..profiles import model_record
from .family import Config


def model_records(cfg: Config, device_types: Sequence[str] | None) -> list[dict[str, Any]]:
    """Instance-format records of the run's models (``cfg.model``), in order.

    Parameters
    ----------
    cfg
        The run's configuration (model names, mode, tokens, context, batch, dtype, layers).
    device_types
        Catalog device types to add calibrated ``layer_times`` for; None or empty: none.
    """
    records = []
    for name in cfg.model:
        mid = name if cfg.layers is None else f"{name}-{cfg.layers}l"
        rec = model_record(name, mode=cfg.mode, tokens=cfg.tokens, context=cfg.context, batch=cfg.batch,
                           dtype=cfg.dtype, model_id=mid,
                           device_types=sorted(device_types) if device_types else None)
        if cfg.layers is not None:
            rec = resize(rec, cfg.layers)
        records.append(rec)
    return records


def resize(rec: dict[str, Any], n: int) -> dict[str, Any]:
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


def workload_counts(cfg: Config) -> list[int]:
    """Workloads per model: workloads cycle through ``cfg.model``."""
    n_models = len(cfg.model)
    return [len(range(k, cfg.workloads, n_models)) for k in range(n_models)]


def model_demand(models: Sequence[dict[str, Any]], counts: Sequence[int]) -> float:
    """Bytes to hold every model once plus the state of its workloads."""
    total = 0.0
    for rec, w in zip(models, counts):
        total += sum(layer["param_bytes"] + w * layer.get("state_bytes", 0.0) for layer in rec["layers"])
    return total


def memory_demand(data: Mapping[str, Any]) -> float:
    """Memory demand of an instance document, as ``placement_opt.stats`` counts it:
    the weights of every model that some workload uses, once, plus the state of
    every workload."""
    by_id = {rec["id"]: rec for rec in data["models"]}
    used = {wl["model"] for wl in data["workloads"]}
    weights = sum(layer["param_bytes"] for mid in used for layer in by_id[mid]["layers"])
    state = sum(layer.get("state_bytes", 0.0) for wl in data["workloads"] for layer in by_id[wl["model"]]["layers"])
    return float(weights + state)


def scale_memory_supply(data: dict[str, Any], ratio: float) -> float:
    """Scale the memory of every host (available, non-zero compute) of an instance
    document by one factor, rounded down to whole bytes, so that the memory supply
    is at most ``ratio`` times :func:`memory_demand`.  A supply already below that
    is left alone.  Returns the factor (at most 1)."""
    hosts = [n for n in data["nodes"] if n["flops"] > 0 and n.get("available", True)]
    supply = sum(float(n["memory"]) for n in hosts)
    factor = min(1.0, ratio * memory_demand(data) / supply) if supply > 0 else 1.0
    if factor < 1.0:
        for n in hosts:
            n["memory"] = float(math.floor(float(n["memory"]) * factor))
    return factor
