"""Importers for published profiles and cluster descriptions.

* :mod:`placement_opt.importers.helix`: Helix (ASPLOS'25) per-layer latency
  profiles and 24-node cluster configs.
"""

from .helix import helix_layer_times, helix_model_record, load_cluster, load_layer_latencies

__all__ = ["helix_layer_times", "helix_model_record", "load_cluster", "load_layer_latencies"]
