"""Summary statistics of an instance (``placement-opt info``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .problem import Problem


def instance_stats(problem: Problem) -> dict[str, Any]:
    """Sizes, and supply against demand for memory and compute.

    ``memory_demand`` counts each used model's weights once plus every
    workload's state; ``compute_demand`` is FLOP/s at the workloads' rates.
    Supplies count nodes that can host, at ``max_utilization``.
    """
    p = problem
    host = p.can_host
    used_models = sorted(set(p.workload_model.tolist()))
    weights = sum(p.layer_param_bytes[p.model_offset[m]:p.model_offset[m + 1]].sum() for m in used_models)
    state = sum(
        p.layer_state_bytes[p.model_offset[m]:p.model_offset[m + 1]].sum() for m in p.workload_model.tolist()
    )
    per_model_flops = np.array([p.layer_flops[p.model_offset[m]:p.model_offset[m + 1]].sum()
                                for m in range(len(p.models))])
    demand_flops = float(p.workload_rate @ per_model_flops[p.workload_model])
    supply_flops = float(p.effective_flops[host].sum() * p.max_utilization)
    memory = float(p.node_memory[host].sum())
    reach = p.routes.reachable
    tiers = Counter(n.tier or "-" for n in p.nodes)
    stats: dict[str, Any] = {
        "name": p.name,
        "nodes": p.num_nodes,
        "compute_nodes": int((p.node_flops > 0).sum()),
        "available_hosts": int(host.sum()),
        "tiers": ", ".join(f"{k}: {v}" for k, v in sorted(tiers.items())),
        "links": p.num_links,
        "models": len(p.models),
        "workloads": p.num_workloads,
        "layers_total": p.num_global_layers,
        "workload_layers": p.flat.size,
        "memory_supply_bytes": memory,
        "memory_demand_bytes": float(weights + state),
        "memory_supply_over_demand": memory / float(weights + state) if weights + state else float("inf"),
        "compute_supply_flops": supply_flops,
        "compute_demand_flops": demand_flops,
        "compute_supply_over_demand": supply_flops / demand_flops if demand_flops else float("inf"),
        "node_pairs_connected": float(reach.mean()),
        "objective": ", ".join(f"{k}={v:g}" for k, v in p.objective_weights.items()),
    }
    return stats
