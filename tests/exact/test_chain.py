"""The segment program for one workload under a bottleneck objective
(placement_opt/chain.py): its value is a lower bound, checked against brute
force on random tiny pipelines; where its plan meets the bound, the MILP's
``optimal`` rests on it."""

from __future__ import annotations

import numpy as np
import pytest

import placement_opt as po
from placement_opt.chain import applies, chain_bound
from placement_opt.symmetry import node_classes
from tests.paths import INSTANCES


def pipeline(seed: int, one_segment: bool, hosts: int = 4, layers: int = 4) -> dict:
    """A source behind a switch and ``hosts`` boards of two kinds (so some are
    interchangeable), directed links; memory, trust, max_segments, SLOs and an
    undirected shortcut vary with the seed so that some constraints bind."""
    rng = np.random.default_rng(seed)
    kinds = [{"flops": float(f), "memory": float(m), "trust": int(t)}
             for f, m, t in zip(rng.choice([1e9, 2e9, 3e9], 2), rng.choice([4e6, 8e6, 3e7], 2), rng.choice([0, 2], 2))]
    nodes = [{"id": "src", "flops": 0.0, "memory": 0.0}, {"id": "sw", "flops": 0.0, "memory": 0.0}]
    links = [{"source": "src", "target": "sw", "bandwidth": 1e7, "latency": 0.001}]
    for k in range(hosts):
        kind = kinds[k % 2]
        nodes.append({"id": f"h{k}", "type": f"t{k % 2}", **kind})
        bw = 2e5 if k % 2 else 5e5
        links += [{"source": f"h{k}", "target": "sw", "bandwidth": bw, "latency": 0.001, "directed": True},
                  {"source": "sw", "target": f"h{k}", "bandwidth": bw, "latency": 0.001, "directed": True}]
    if seed % 3 == 0:  # a shortcut between two hosts: routes differ, fewer symmetries
        links.append({"source": "h0", "target": "h1", "bandwidth": 1e6, "latency": 0.0005})
    mlayers = [{"name": f"l{k}", "flops": float(rng.uniform(5e7, 4e8)), "param_bytes": float(rng.uniform(1e6, 5e6)),
                "output_bytes": float(rng.uniform(1e3, 8e4)), "state_bytes": float(rng.choice([0.0, 5e5]))}
               for k in range(layers)]
    workload = {"id": "w", "model": "m", "source": "src", "rate": float(rng.uniform(0.5, 3))}
    if seed % 4 == 1:
        workload["max_segments"] = 2
    if seed % 5 == 2:
        workload.update(min_trust=2, private_layers=1)
    if seed % 7 == 3:
        workload["slo"] = 0.5
    return {"name": f"pipeline-{seed}", "nodes": nodes, "links": links,
            "models": [{"id": "m", "input_bytes": 1e4, "layers": mlayers}], "workloads": [workload],
            "objective": {"bottleneck": float(rng.choice([1.0, 100.0]))},
            "settings": {"one_segment_per_node": one_segment}}


@pytest.mark.parametrize("one_segment", [True, False])
def test_the_bound_never_exceeds_the_brute_force_optimum(one_segment):
    proven = checked = 0
    for seed in range(30):
        p = po.Problem.from_dict(pipeline(seed, one_segment))
        assert applies(p)
        brute = po.solve(p, "brute-force")
        res = chain_bound(p, node_classes(p))
        assert res is not None
        if brute.status.value == "infeasible":
            assert res.x is None or not res.proves
            continue
        assert brute.status.value == "optimal"
        checked += 1
        assert res.bound <= brute.objective * (1 + 1e-9), seed
        if res.proves:
            proven += 1
            assert res.objective == pytest.approx(brute.objective, rel=1e-9), seed
    assert checked >= 20 and proven >= 10  # the check is not vacuous


@pytest.mark.parametrize("solver", ["milp", "cpsat"])
def test_exact_claims_agree_with_brute_force(solver):
    for seed in range(12):
        p = po.Problem.from_dict(pipeline(seed, seed % 2 == 0))
        brute, sol = po.solve(p, "brute-force"), po.solve(p, solver)
        assert sol.status == brute.status, seed
        if brute.status.value == "optimal":
            assert sol.objective == pytest.approx(brute.objective, rel=1e-4), seed
            assert sol.bound <= brute.objective * (1 + 1e-9)


def test_it_does_not_apply_beyond_one_workload_and_a_pure_bottleneck():
    data = pipeline(0, True)
    data["objective"]["latency"] = 1.0
    assert not applies(po.Problem.from_dict(data))
    data = pipeline(0, True)
    data["workloads"].append(dict(data["workloads"][0], id="w2"))
    assert not applies(po.Problem.from_dict(data))


@pytest.mark.parametrize(("name", "optimum"), [("pipeedge-vit-base", 1.5487600088119506),
                                               ("pipeedge-vit-large", 5.042833018302917)])
@pytest.mark.parametrize("solver", ["milp", "cpsat", "auto"])
def test_pipeedge_schedules_are_proven(name, optimum, solver):
    """The optima: ViT-Base by the exhaustive search of
    tests/heuristics/baselines/test_pipeedge.py; both are PipeEdge's DP with
    its lookup bug fixed (instances/index.csv)."""
    p = po.load_instance(INSTANCES / f"{name}.json")
    sol = po.solve(p, solver, time_limit=30)
    assert sol.status.value == "optimal"
    assert sol.objective == pytest.approx(optimum, rel=1e-9)
    proof = sol.info["proof"]
    assert "chain DP" in proof
