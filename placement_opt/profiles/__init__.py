"""Model profiles and the device catalog.

* :func:`list_models`, :func:`model_spec`, :func:`model_record`: hyper-parameters
  of catalog models and instance-format model records (FLOPs, weights,
  activations, KV cache per layer), optionally with ``layer_times`` from the
  calibrated roofline;
* :func:`list_devices`, :func:`device`, :func:`node_record`: the device catalog
  (peak compute, memory, bandwidth, power, fitted efficiency factors) and
  instance-format nodes;
* :func:`layer_time`: the calibrated per-layer time of one layer on one device.

Formulas, data sources and the calibration are described in ``docs/profiles.md``.
"""

from .devices import (
    DeviceSpec,
    device,
    layer_time,
    layer_times,
    list_devices,
    node_record,
)
from .models import (
    LayerCost,
    ModelSpec,
    Shape,
    layer_costs,
    list_models,
    model_spec,
)
from .records import model_record

__all__ = [
    "DeviceSpec",
    "LayerCost",
    "ModelSpec",
    "Shape",
    "device",
    "layer_costs",
    "layer_time",
    "layer_times",
    "list_devices",
    "list_models",
    "model_record",
    "model_spec",
    "node_record",
]
