"""Importers for published profiles and cluster descriptions.

* :mod:`placement_opt.importers.helix`: Helix (ASPLOS'25) per-layer latency
  profiles and 24-node cluster configs.
* :mod:`placement_opt.importers.pipeedge`: PipeEdge's scheduler profiles
  (models, device types, hosts) with its pipeline cost model
  (``pipeedge.load(models_yml, device_types_yml, devices_yml) -> Problem``).
"""

from . import pipeedge
from .helix import (
    helix_layer_times,
    helix_model_record,
    load_cluster,
    load_layer_latencies,
)

__all__ = ["pipeedge", "helix_layer_times", "helix_model_record", "load_cluster", "load_layer_latencies"]
