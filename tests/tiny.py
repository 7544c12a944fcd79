"""Seeded tiny instances for checking exact solvers against brute force.

``tiny_instance(seed, feature)`` returns an instance dict small enough to
enumerate (3-4 hosts, 2-3 layers, 2 workloads) in which ``feature`` is made to
matter: a constraint kind is tightened around the instance's loads, or an
objective term gets a large weight.  ``relaxed(data, feature)`` removes the
feature again, so tests can check that it really changes the optimum.
"""

from __future__ import annotations

import copy

import numpy as np

FEATURES = (
    "memory", "compute", "link", "privacy", "slo", "max_segments", "one_segment",
    "layer_times", "sink", "unavailable",
    "max_latency", "bottleneck", "cost", "energy", "migration",
)


def tiny_instance(seed: int, feature: str) -> tuple[dict, dict | None]:
    """An instance dict and, for ``migration``, a previous assignment."""
    rng = np.random.default_rng([seed, FEATURES.index(feature)])
    n = 4
    layers = 3 if feature in ("one_segment", "max_segments", "memory") else 2
    nodes = [{"id": f"n{i}", "flops": float(rng.choice([1e9, 2e9, 4e9])), "memory": 1e7,
              "type": str(rng.choice(["gpu", "cpu"]))} for i in range(n)]
    nodes.append({"id": "sw", "flops": 0.0, "memory": 0.0})
    links = [{"source": f"n{i}", "target": "sw", "bandwidth": float(rng.choice([1e5, 5e5, 2e6])),
              "latency": float(rng.choice([0.001, 0.002, 0.004]))} for i in range(n)]
    links += [{"source": "n0", "target": "n1", "bandwidth": 1e6, "latency": 0.003}]
    model_layers = [{"name": f"l{k}", "flops": float(rng.uniform(2e7, 2e8)),
                     "param_bytes": float(rng.uniform(1e6, 3e6)), "output_bytes": float(rng.uniform(1e3, 5e4)),
                     "state_bytes": float(rng.choice([0.0, 2e5]))} for k in range(layers)]
    model = {"id": "m", "input_bytes": float(rng.uniform(1e3, 5e4)), "layers": model_layers}
    workloads = [{"id": f"w{k}", "model": "m", "source": f"n{rng.integers(n)}", "rate": float(rng.uniform(1, 5))}
                 for k in range(2)]
    data = {"name": f"tiny-{feature}-{seed}", "nodes": nodes, "links": links, "models": [model],
            "workloads": workloads, "objective": {"latency": 1.0}}
    total_params = sum(layer["param_bytes"] for layer in model_layers)
    previous = None
    if feature in ("memory", "max_segments", "one_segment"):
        for node in nodes[:n]:
            node["memory"] = float(rng.uniform(0.4, 1.1) * total_params)
        if feature == "max_segments":
            workloads[0]["max_segments"] = int(rng.integers(1, 3))
        if feature == "one_segment":
            data["settings"] = {"one_segment_per_node": True}
    elif feature == "compute":
        data["settings"] = {"max_utilization": float(rng.uniform(0.3, 0.7))}
        for w in workloads:
            w["rate"] = float(rng.uniform(3, 8))
    elif feature == "link":
        for link in links:
            link["bandwidth"] = float(rng.uniform(2e4, 2e5))
        for w in workloads:
            w["rate"] = float(rng.uniform(2, 6))
    elif feature == "privacy":
        for node in nodes[:n]:
            node["trust"] = int(rng.integers(0, 3))
        for w in workloads:
            w["min_trust"] = int(rng.integers(1, 3))
            w["private_layers"] = int(rng.integers(0, layers + 1))
    elif feature == "slo":
        for w in workloads:
            w["slo"] = float(rng.uniform(0.03, 0.25))
    elif feature == "layer_times":
        model["layer_times"] = {"gpu": [float(rng.uniform(0.001, 0.2)) for _ in range(layers)]}
    elif feature == "sink":
        for w in workloads:
            w["sink"] = f"n{rng.integers(n)}"
    elif feature == "unavailable":
        sources = {w["source"] for w in workloads}
        others = [i for i in range(n) if f"n{i}" not in sources]
        if others:
            nodes[int(rng.choice(others))]["available"] = False
        links[-1]["available"] = False  # the n0-n1 shortcut
    elif feature in ("max_latency", "bottleneck", "cost", "energy", "migration"):
        for node in nodes[:n]:
            node["cost"] = float(rng.choice([0.0, 1.0, 3.0]))
            node["energy_per_flop"] = float(rng.choice([0.0, 1e-10, 1e-9]))
        for link in links:
            link["energy_per_byte"] = float(rng.choice([0.0, 1e-7]))
        for w in workloads:
            w["weight"] = float(rng.choice([1.0, 3.0]))
        scale = {"max_latency": 2.0, "bottleneck": 1.0, "cost": 0.05, "energy": 5.0, "migration": 1e-7}[feature]
        data["objective"] = {"latency": 1.0, feature: scale}
        if feature == "migration":
            previous = {w["id"]: [f"n{rng.integers(n)}" for _ in range(layers)] for w in workloads}
    return data, previous


def relaxed(data: dict, feature: str) -> dict:
    """The same instance without the feature (to check that it matters)."""
    d = copy.deepcopy(data)
    if feature in ("memory", "max_segments", "one_segment"):
        for node in d["nodes"]:
            if node["flops"] > 0:
                node["memory"] = 1e12
        for w in d["workloads"]:
            w.pop("max_segments", None)
        d.pop("settings", None)
    elif feature in ("compute", "link"):
        # rates change loads but no latency: near-zero rates lift the constraint alone
        for w in d["workloads"]:
            w["rate"] = 1e-9
    elif feature == "privacy":
        for w in d["workloads"]:
            w.pop("min_trust", None)
            w.pop("private_layers", None)
    elif feature == "slo":
        for w in d["workloads"]:
            w.pop("slo", None)
    elif feature == "layer_times":
        d["models"][0].pop("layer_times")
    elif feature == "sink":
        for w in d["workloads"]:
            w.pop("sink", None)
    elif feature == "unavailable":
        for rec in d["nodes"] + d["links"]:
            rec.pop("available", None)
    else:
        d["objective"] = {"latency": 1.0}
    return d
