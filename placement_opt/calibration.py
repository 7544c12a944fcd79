"""Fit the catalog's efficiency factors to Helix's measured layer latencies.

Every Helix measurement is the time of one transformer block of LLaMA-30B or
Llama-2-70B on one GPU type for one batch.  For a device with peak compute ``P``
and bandwidth ``W`` the roofline
(:func:`~placement_opt.profiles.devices.layer_time`) predicts it from
``efficiency * P`` and ``mem_efficiency * W``; both factors are fitted per device
by least squares on ``log(predicted / measured)`` over all its usable points
(both models, both modes: prefill pins ``efficiency``, small-batch decode pins
``mem_efficiency``).

Assumptions about how Helix measured (its repository does not say):

* a prefill batch of ``T`` tokens is ``T / 250`` prompts of 250 tokens
  (:data:`HELIX_PREFILL_PROMPT`; every measured ``T`` is a multiple of 250,
  and the measured time is linear in ``T``, which rules out one long prompt);
* every decode sequence attends over the same KV context, one value for all
  devices and models, fitted together with the efficiencies (a grid over
  :data:`CONTEXT_GRID`);
* points are used only where the rounding of the file (0.1 ms or 1 ms) is at
  most a tenth of the value (:data:`MIN_VALUE_OVER_RESOLUTION`).

Devices without measurements get defaults (:func:`default_efficiencies`).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from .profiles.devices import DeviceSpec, device, roofline_time
from .profiles.models import DATA_DIR, Shape, block_cost, model_spec

HELIX_PREFILL_PROMPT = 250
CONTEXT_GRID = range(64, 4097, 32)
MIN_VALUE_OVER_RESOLUTION = 10.0
#: catalog devices measured by Helix as single GPUs: they set the defaults
SINGLE_GPUS = ("a100-40gb", "v100", "l4", "t4")
#: board power separating the two classes of default compute efficiency
POWER_CLASS_W = 100.0
EFFICIENCY_BOUNDS = (0.01, 1.0)


@dataclass(frozen=True)
class Measurement:
    """One Helix measurement: seconds for one block of ``model`` on ``device``."""

    device: str
    model: str
    mode: str
    tokens: int
    seconds: float
    resolution: float

    @property
    def usable(self) -> bool:
        """Rounding in the file is at most a tenth of the value."""
        return self.seconds >= MIN_VALUE_OVER_RESOLUTION * self.resolution


def helix_measurements(helix_root: str | Path) -> list[Measurement]:
    """Every measurement under Helix's profile folder, mapped onto catalog names."""
    from .importers.helix import HELIX_GPU_TYPES, HELIX_MODELS, load_layer_latencies

    out = []
    for helix_model, model in HELIX_MODELS.items():
        for gpu, dev in HELIX_GPU_TYPES.items():
            for mode, prof in load_layer_latencies(Path(helix_root) / helix_model / gpu).items():
                for t, s, r in zip(prof.tokens, prof.seconds, prof.resolution):
                    out.append(Measurement(dev, model, mode, int(t), float(s), float(r)))
    return out


def helix_shape(mode: str, tokens: int, context: int) -> Shape:
    """Our request shape for a Helix batch of ``tokens`` tokens."""
    if mode == "prefill":
        if tokens % HELIX_PREFILL_PROMPT:
            raise ValueError(f"prefill batch of {tokens} tokens is not a multiple of {HELIX_PREFILL_PROMPT}")
        return Shape("prefill", tokens=HELIX_PREFILL_PROMPT, batch=tokens // HELIX_PREFILL_PROMPT, context=1)
    return Shape("decode", tokens=1, batch=tokens, context=context)


def _op_arrays(points: list[Measurement], context: int) -> tuple[np.ndarray, np.ndarray]:
    """FLOPs and bytes of each point's operator groups, shape (points, ops)."""
    costs = [block_cost(model_spec(p.model), helix_shape(p.mode, p.tokens, context), 0) for p in points]
    flops = np.array([[op.flops for op in c.ops] for c in costs])
    moved = np.array([[op.bytes for op in c.ops] for c in costs])
    return flops, moved


def fit_device(
    points: list[Measurement], base: DeviceSpec, context: int, *, overlap: bool = False
) -> tuple[float, float, float]:
    """Least-squares ``(efficiency, mem_efficiency, sum of squared log errors)``.

    ``overlap`` selects the time model (:func:`~placement_opt.profiles.devices.roofline_time`).
    """
    flops, moved = _op_arrays(points, context)
    measured = np.log([p.seconds for p in points])

    def residuals(x: np.ndarray) -> np.ndarray:
        compute, bandwidth = math.exp(x[0]) * base.peak_flops, math.exp(x[1]) * base.mem_bandwidth
        pred = roofline_time(flops, moved, compute, bandwidth, overlap=overlap)
        return np.log(pred) - measured

    lo, hi = (math.log(b) for b in EFFICIENCY_BOUNDS)
    fit = least_squares(residuals, x0=[math.log(0.5)] * 2, bounds=([lo, lo], [hi, hi]))
    return math.exp(fit.x[0]), math.exp(fit.x[1]), float(np.sum(fit.fun**2))


def _by_device(points: Iterable[Measurement]) -> dict[str, list[Measurement]]:
    groups: dict[str, list[Measurement]] = defaultdict(list)
    for p in points:
        groups[p.device].append(p)
    return dict(groups)


def fit_all(
    points: list[Measurement], base: Mapping[str, DeviceSpec], *, overlap: bool = False
) -> tuple[int, dict[str, tuple[float, float]]]:
    """Fit the shared decode context and every measured device's efficiencies.

    ``overlap`` selects the time model; the catalog uses ``False``.

    Returns
    -------
    tuple
        ``(context, {device: (efficiency, mem_efficiency)})`` minimising the
        total squared log error over the usable points.
    """
    groups = _by_device(p for p in points if p.usable)
    best: tuple[float, int, dict[str, tuple[float, float]]] | None = None
    for context in CONTEXT_GRID:
        fits = {dev: fit_device(pts, base[dev], context, overlap=overlap) for dev, pts in groups.items()}
        total = sum(f[2] for f in fits.values())
        if best is None or total < best[0]:
            best = (total, context, {dev: (f[0], f[1]) for dev, f in fits.items()})
    assert best is not None
    return best[1], best[2]


def _geomean(values: Iterable[float]) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def default_efficiencies(fitted: Mapping[str, tuple[float, float]], base: Mapping[str, DeviceSpec]) -> dict:
    """Efficiencies for devices without measurements.

    Compute: the geometric mean of the fitted single GPUs of the same power
    class (board power up to :data:`POWER_CLASS_W`: T4 and L4, whose sustained
    tensor throughput is limited by their 70-72 W budget; above: A100 and
    V100).  Memory: the geometric mean over the four single GPUs (achievable
    bandwidth is a property of the memory system, not of the power budget).

    Returns
    -------
    dict
        ``{"low_power": (eff, mem_eff), "high_power": (eff, mem_eff)}``.
    """
    singles = {d: fitted[d] for d in SINGLE_GPUS}
    mem = _geomean(m for _, m in singles.values())
    low = [e for d, (e, _) in singles.items() if base[d].power_w <= POWER_CLASS_W]
    high = [e for d, (e, _) in singles.items() if base[d].power_w > POWER_CLASS_W]
    return {"low_power": (_geomean(low), mem), "high_power": (_geomean(high), mem)}


def fit_catalog(base: Mapping[str, DeviceSpec], helix_root: str | Path) -> tuple[dict[str, DeviceSpec], dict]:
    """Calibrate a catalog: fitted factors where measured, defaults elsewhere.

    Returns
    -------
    tuple
        ``(devices with efficiencies set, metadata for devices.json)``.
    """
    context, fitted = fit_all(helix_measurements(helix_root), base)
    defaults = default_efficiencies(fitted, base)
    out = {}
    for name, spec in base.items():
        cls = "low_power" if spec.power_w <= POWER_CLASS_W else "high_power"
        eff, mem = fitted.get(name, defaults[cls])
        out[name] = replace(spec, efficiency=round(eff, 4), mem_efficiency=round(mem, 4), calibrated=name in fitted)
    meta = {
        "method": "per-device least squares on log(predicted/measured), Helix per-layer profiles",
        "calibrated": sorted(fitted),
        "decode_context": context,
        "prefill_prompt": HELIX_PREFILL_PROMPT,
        "defaults": {k: [round(v, 4) for v in pair] for k, pair in defaults.items()},
        "power_class_w": POWER_CLASS_W,
    }
    return out, meta


# --------------------------------------------------------------------------- #
# Evaluation against the shipped catalog
# --------------------------------------------------------------------------- #


def catalog_calibration() -> dict:
    """The ``calibration`` metadata stored in the shipped ``devices.json``."""
    return json.loads((DATA_DIR / "devices.json").read_text())["calibration"]


@dataclass(frozen=True)
class Row:
    """One measurement next to the catalog's prediction."""

    point: Measurement
    predicted: float

    @property
    def rel_error(self) -> float:
        return self.predicted / self.point.seconds - 1.0


def predict_rows(
    points: list[Measurement], devices: Mapping[str, DeviceSpec], context: int, *, overlap: bool = False
) -> list[Row]:
    """Predict each measurement with the given (calibrated) devices."""
    rows = []
    for dev, pts in _by_device(points).items():
        spec = devices[dev]
        flops, moved = _op_arrays(pts, context)
        pred = roofline_time(flops, moved, spec.sustained_flops, spec.sustained_bandwidth, overlap=overlap)
        rows += [Row(p, float(t)) for p, t in zip(pts, pred)]
    return rows


def calibration_rows(helix_root: str | Path, *, usable_only: bool = True) -> list[Row]:
    """Predict every Helix measurement with the shipped catalog."""
    points = [p for p in helix_measurements(helix_root) if p.usable or not usable_only]
    devices = {p.device: device(p.device) for p in points}
    return predict_rows(points, devices, catalog_calibration()["decode_context"])


def mape(rows: Iterable[Row]) -> dict[tuple[str, str], float]:
    """Mean absolute percentage error per ``(device, mode)``, in percent."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r.point.device, r.point.mode)].append(abs(r.rel_error))
    return {key: 100.0 * float(np.mean(errs)) for key, errs in groups.items()}
