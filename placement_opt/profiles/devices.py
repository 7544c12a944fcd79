"""The device catalog, node records and the calibrated roofline layer time.

Every device has a peak dense FP16 throughput (tensor cores where the device has
them; see ``source`` for what was taken), a memory size and bandwidth, a power
draw, and two efficiency factors fitted to measured layer latencies
(``docs/profiles.md``):

* ``efficiency`` = sustained / peak compute (compute-bound work: prefill),
* ``mem_efficiency`` = achieved / peak memory bandwidth (memory-bound work:
  decode streams every weight once per step).

The time of a layer on an idle device adds up its operator groups
(:class:`~placement_opt.profiles.models.Op`: weight-streaming linear layers,
attention over the KV cache), each costing its compute time plus its memory
time at the sustained rates::

    t = sum_ops (op.flops / sustained_flops + op.bytes / (mem_efficiency * mem_bandwidth))

This is the roofline without compute/memory overlap; the classic roofline
(``max`` instead of ``+``) fits the Helix measurements about half as well, see
:func:`roofline_time` and ``docs/profiles.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .models import DATA_DIR, WEIGHT_BYTES, LayerCost

TIERS = ("device", "edge", "cloud")


@dataclass(frozen=True)
class DeviceSpec:
    """One catalog device.

    Attributes
    ----------
    name
        Canonical name, e.g. ``"a100-40gb"``.
    peak_flops
        Peak dense FP16 FLOP/s (tensor cores with FP32 accumulation where
        present; ``source`` says what was taken).
    efficiency
        Sustained over peak compute, in (0, 1].
    memory
        Bytes (GPU memory sizes are binary: 16 GB = 16 * 2**30 bytes).
    mem_bandwidth
        Peak memory bandwidth, bytes/s.
    mem_efficiency
        Achieved over peak bandwidth, in (0, 1].
    power_w
        Board (or module, SoC) power at full load, watts.
    tier
        ``"device"``, ``"edge"`` or ``"cloud"``.
    source
        Where the numbers come from, and how the peak was derived.
    calibrated
        True when the efficiencies were fitted to this device's own
        measurements; otherwise they are the documented defaults.
    multi_gpu
        True for Helix's tensor-parallel multi-GPU nodes (``l4x2``, ``t4x2``,
        ``t4x4``).
    sustained_flops
        ``peak_flops * efficiency`` (derived).
    """

    name: str
    peak_flops: float
    efficiency: float
    memory: float
    mem_bandwidth: float
    mem_efficiency: float
    power_w: float
    tier: str
    source: str
    calibrated: bool = False
    multi_gpu: bool = False
    sustained_flops: float = field(init=False)

    def __post_init__(self) -> None:
        for name in ("efficiency", "mem_efficiency"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{self.name}: {name} must be in (0, 1], not {getattr(self, name)}")
        if self.tier not in TIERS:
            raise ValueError(f"{self.name}: tier must be one of {TIERS}, not {self.tier!r}")
        object.__setattr__(self, "sustained_flops", self.peak_flops * self.efficiency)

    @property
    def sustained_bandwidth(self) -> float:
        """``mem_efficiency * mem_bandwidth``, bytes/s."""
        return self.mem_efficiency * self.mem_bandwidth


def _init_fields() -> set[str]:
    return {f.name for f in fields(DeviceSpec) if f.init}


@cache
def _catalog() -> dict[str, DeviceSpec]:
    text = (DATA_DIR / "devices.json").read_text()
    keep = _init_fields()
    specs = [DeviceSpec(**{k: v for k, v in rec.items() if k in keep}) for rec in json.loads(text)["devices"]]
    return {s.name: s for s in specs}


def list_devices(*, multi_gpu: bool = False) -> list[str]:
    """Canonical names of the catalog devices.

    Parameters
    ----------
    multi_gpu
        Also list Helix's multi-GPU nodes (``l4x2``, ``t4x2``, ``t4x4``), which
        :func:`device` knows in any case.
    """
    return [name for name, spec in _catalog().items() if multi_gpu or not spec.multi_gpu]


def device(name: str | DeviceSpec) -> DeviceSpec:
    """A catalog device by name (a :class:`DeviceSpec` is returned unchanged).

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    """
    if isinstance(name, DeviceSpec):
        return name
    try:
        return _catalog()[name]
    except KeyError:
        raise KeyError(f"unknown device {name!r}; known: {', '.join(_catalog())}") from None


def node_record(device_name: str, node_id: str, *, dtype: str = "fp16", **overrides: Any) -> dict[str, Any]:
    """An instance-format node of a catalog device type.

    Parameters
    ----------
    device_name
        A catalog device (becomes the node's ``type``, so that models'
        ``layer_times`` for it apply).
    node_id
        The node's ``id``.
    dtype
        Weight dtype of the models it will serve.  Weight-only quantisation
        keeps FP16 arithmetic, so ``flops`` is the sustained FP16 rate for every
        dtype; the argument is checked for consistency with
        :func:`~placement_opt.profiles.models.model_record`.
    **overrides
        Any other node field (``utilization``, ``trust``, ``cost``,
        ``available``, ...), or a replacement for a computed one.

    Returns
    -------
    dict
        ``{"id", "flops", "memory", "energy_per_flop", "type", "tier", **overrides}``
        where ``flops`` is the sustained FLOP/s and ``energy_per_flop`` is
        ``power_w / flops`` (J/FLOP at full load).
    """
    if dtype not in WEIGHT_BYTES:
        raise ValueError(f"dtype must be one of {sorted(WEIGHT_BYTES)}, not {dtype!r}")
    spec = device(device_name)
    record: dict[str, Any] = {
        "id": node_id,
        "flops": float(spec.sustained_flops),
        "memory": float(spec.memory),
        "energy_per_flop": spec.power_w / spec.sustained_flops,
        "type": spec.name,
        "tier": spec.tier,
    }
    record.update(overrides)
    return record


def roofline_time(
    flops: ArrayLike, moved: ArrayLike, compute: float, bandwidth: float, *, overlap: bool = False
) -> np.ndarray:
    """Time of operator groups that run one after the other (sum over the last axis).

    Parameters
    ----------
    flops, moved
        FLOPs and DRAM bytes, one value per operator group on the last axis.
    compute, bandwidth
        Sustained FLOP/s and bytes/s.
    overlap
        ``True``: the classic roofline, ``max(flops / compute, moved /
        bandwidth)`` per group (compute and memory traffic overlap perfectly).
        ``False`` (what the catalog is calibrated for): ``flops / compute +
        moved / bandwidth``; it fits Helix's measurements about twice as well
        (``docs/profiles.md``), because decode time grows with the batch from
        the first sequence on, long before the max would let compute matter.
    """
    flops, moved = np.asarray(flops, dtype=float), np.asarray(moved, dtype=float)
    t_compute, t_memory = flops / compute, moved / bandwidth
    per_op = np.maximum(t_compute, t_memory) if overlap else t_compute + t_memory
    return per_op.sum(axis=-1)


def layer_time(layer: LayerCost | Mapping[str, float], dev: str | DeviceSpec) -> float:
    """Seconds to run one layer on an idle device: the calibrated roofline.

    Parameters
    ----------
    layer
        A :class:`~placement_opt.profiles.models.LayerCost` (each operator group
        gets its own roofline, and the times add up), or an instance-format
        layer record, treated as one operator group that reads its weights and
        state and writes its output.
    dev
        A catalog device name or a :class:`DeviceSpec`.

    Returns
    -------
    float
        ``sum_ops (flops / sustained_flops + bytes / (mem_efficiency * mem_bandwidth))``
        (:func:`roofline_time` with ``overlap=False``, as calibrated).
    """
    spec = device(dev)
    if isinstance(layer, LayerCost):
        flops, moved = [op.flops for op in layer.ops], [op.bytes for op in layer.ops]
    else:
        flops = [layer["flops"]]
        moved = [layer["param_bytes"] + layer.get("state_bytes", 0.0) + layer["output_bytes"]]
    return float(roofline_time(flops, moved, spec.sustained_flops, spec.sustained_bandwidth))


def layer_times(costs: Sequence[LayerCost], dev: str | DeviceSpec) -> list[float]:
    """:func:`layer_time` of every layer, in order."""
    return [layer_time(c, dev) for c in costs]
