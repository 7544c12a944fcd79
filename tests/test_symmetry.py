"""Interchangeable nodes (placement_opt/symmetry.py) and the exact solvers'
symmetry breaking: checked against brute force, which knows nothing of it."""

from __future__ import annotations

import numpy as np
import pytest

import placement_opt as po
from placement_opt.evaluate import placed_keys
from placement_opt.symmetry import node_classes


def cluster(seed: int, objective: dict, hosts: int = 3, layers: int = 3, memory_tight: bool = False,
            one_segment: bool = False) -> dict:
    """A source device, ``hosts`` identical boards behind a switch, and one
    different (faster, farther) server: only the boards are interchangeable."""
    rng = np.random.default_rng(seed)
    board = {"flops": float(rng.choice([1e9, 2e9])), "memory": 1e7, "type": "board", "cost": 1.0}
    nodes = [{"id": "src", "flops": 5e8, "memory": 1e7}, {"id": "sw", "flops": 0.0, "memory": 0.0},
             {"id": "srv", "flops": 4e9, "memory": 1e7, "cost": 3.0}]
    nodes += [{"id": f"b{k}", **board} for k in range(hosts)]
    bw = float(rng.choice([2e5, 1e6]))
    links = [{"source": "src", "target": "sw", "bandwidth": 1e6, "latency": 0.002},
             {"source": "srv", "target": "sw", "bandwidth": 5e5, "latency": 0.01}]
    links += [{"source": f"b{k}", "target": "sw", "bandwidth": bw, "latency": 0.001} for k in range(hosts)]
    mlayers = [{"name": f"l{k}", "flops": float(rng.uniform(5e7, 3e8)), "param_bytes": float(rng.uniform(2e6, 4e6)),
                "output_bytes": float(rng.uniform(1e3, 4e4)), "state_bytes": 0.0} for k in range(layers)]
    if memory_tight:
        for node in nodes:
            if node["memory"]:
                node["memory"] = 1.2 * max(layer["param_bytes"] for layer in mlayers)
    data = {"name": f"cluster-{seed}", "nodes": nodes, "links": links,
            "models": [{"id": "m", "input_bytes": 2e4, "layers": mlayers}],
            "workloads": [{"id": f"w{k}", "model": "m", "source": "src", "rate": float(rng.uniform(0.5, 2))}
                          for k in range(2)],
            "objective": objective}
    if one_segment:
        data["settings"] = {"one_segment_per_node": True}
    return data


def test_the_identical_boards_form_one_class():
    p = po.Problem.from_dict(cluster(0, {"latency": 1.0}))
    classes = node_classes(p)
    assert [[p.node_ids[i] for i in c] for c in classes.classes] == [["b0", "b1", "b2"]]


@pytest.mark.parametrize("change", ["link", "node", "source", "previous"])
def test_any_difference_breaks_the_class(change):
    data = cluster(0, {"latency": 1.0})
    previous = None
    if change == "link":
        data["links"][3]["bandwidth"] *= 2  # b1's link
    elif change == "node":
        data["nodes"][4]["memory"] *= 2  # b1
    elif change == "source":
        data["workloads"][0]["source"] = "b1"
    p = po.Problem.from_dict(data)
    if change == "previous":
        previous = placed_keys(p, {w.id: ["b1"] * 3 for w in p.workloads})
    classes = node_classes(p, previous)
    members = {p.node_ids[i] for c in classes.classes for i in c}
    assert members == {"b0", "b2"}


def test_canonical_relabelling_keeps_objective_and_feasibility():
    p = po.Problem.from_dict(cluster(3, {"latency": 1.0, "bottleneck": 1.0, "cost": 0.1}))
    classes = node_classes(p)
    rng = np.random.default_rng(0)
    hosts = [p.node_index[n] for n in ("src", "srv", "b0", "b1", "b2")]
    for _ in range(50):
        x = rng.choice(hosts, size=p.flat.size)
        y = classes.canonical(x)
        assert classes.is_canonical(y)
        a, b = po.evaluate(p, p.array_to_assignment(x)), po.evaluate(p, p.array_to_assignment(y))
        assert a.feasible == b.feasible
        assert b.objective == pytest.approx(a.objective, rel=1e-12)


@pytest.mark.parametrize("solver", ["milp", "cpsat"])
@pytest.mark.parametrize("objective", [{"latency": 1.0}, {"bottleneck": 1.0}, {"latency": 1.0, "cost": 0.05},
                                       {"max_latency": 1.0, "bottleneck": 0.5}])
@pytest.mark.parametrize(("seed", "tight", "one_segment"), [(0, False, False), (1, True, False), (2, True, True)])
def test_symmetry_breaking_agrees_with_brute_force(solver, objective, seed, tight, one_segment):
    p = po.Problem.from_dict(cluster(seed, objective, memory_tight=tight, one_segment=one_segment))
    assert node_classes(p).count == 3
    brute = po.solve(p, "brute-force")
    sol = po.solve(p, solver)
    assert brute.status.value == "optimal" and sol.status.value == "optimal"
    assert sol.objective == pytest.approx(brute.objective, rel=1e-4 if solver == "cpsat" else 1e-6)
    assert sol.info["symmetric_nodes"] == 3
    assert node_classes(p).is_canonical(p.assignment_to_array(sol.assignment))


@pytest.mark.parametrize("solver", ["milp", "cpsat"])
def test_a_warm_start_off_the_canonical_form_is_relabelled(solver):
    """The MILP relabels a warm start before using it (its symmetry rows admit
    only canonical plans)."""
    p = po.Problem.from_dict(cluster(1, {"latency": 1.0}, memory_tight=True))
    best = po.solve(p, "brute-force")
    x = p.assignment_to_array(best.assignment)
    classes = node_classes(p)
    # move everything from the first board onto the last one: same objective, not canonical
    b0, b2 = p.node_index["b0"], p.node_index["b2"]
    swapped = np.where(x == b0, b2, np.where(x == b2, b0, x))
    assert not classes.is_canonical(swapped)
    warm = p.array_to_assignment(swapped)
    assert po.evaluate(p, warm).objective == pytest.approx(best.objective, rel=1e-12)
    sol = po.solve(p, solver, warm_start=warm)
    assert sol.status.value == "optimal" and sol.objective == pytest.approx(best.objective, rel=1e-4)
    assert classes.is_canonical(p.assignment_to_array(sol.assignment))
