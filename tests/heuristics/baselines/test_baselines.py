"""Literature baselines (placement_opt/heuristics/baselines.py).

Every baseline must be honest: ``feasible`` with the evaluator's objective, or
``no_solution``; never better than the brute-force optimum; and each must keep
the structure its source defines (checked on the returned assignments, not on
the code's internals).
"""

from __future__ import annotations

import copy
import itertools
import time

import numpy as np
import pytest

import placement_opt as po
from placement_opt.generators import generate
from placement_opt.heuristics.baselines.common import node_tiers
from placement_opt.heuristics.baselines.exo import exo_partition
from placement_opt.heuristics.baselines.petals import choose_best_start
from placement_opt.solve import solve
from tests.tiny import FEATURES, tiny_instance

BASELINES = ("random", "neurosurgeon", "even-split", "memory-proportional", "device-only",
             "edge-only", "cloud-only", "edgeshard-dp", "petals")
FAST = {"random": {"iterations": 15}}
REL = 1e-9


def run(problem: po.Problem, name: str, **kwargs) -> po.Solution:
    return solve(problem, name, **{**FAST.get(name, {}), **kwargs})


def assert_honest(problem: po.Problem, sol: po.Solution, previous=None) -> None:
    assert sol.status.value in ("feasible", "no_solution"), (sol.status, dict(sol.info))
    if sol.status.value == "feasible":
        ev = po.evaluate(problem, sol.assignment, previous)
        assert ev.feasible, ev.violations[:3]
        assert sol.objective == pytest.approx(ev.objective, rel=REL, abs=1e-15)
    else:
        assert sol.objective is None and not sol.assignment


def segments(path) -> list[tuple[str, int]]:
    """(node, length) of each maximal run."""
    return [(node, len(list(run))) for node, run in itertools.groupby(path)]


def with_tiers(data: dict) -> dict:
    """Tag a tiny instance: workload sources are devices, the fastest other
    host is the cloud, the remaining hosts are edge."""
    d = copy.deepcopy(data)
    sources = {w["source"] for w in d["workloads"]}
    hosts = [n for n in d["nodes"] if n["flops"] > 0 and n["id"] not in sources]
    cloud = max(hosts, key=lambda n: n["flops"])["id"] if hosts else None
    for n in d["nodes"]:
        if n["flops"] > 0:
            n["tier"] = "device" if n["id"] in sources else "cloud" if n["id"] == cloud else "edge"
    return d


def single_workload(data: dict) -> dict:
    """One workload, ample memory, negligible load, latency only: no capacity
    interaction, so the best path of that workload alone is the optimum."""
    d = copy.deepcopy(data)
    d["workloads"] = d["workloads"][:1]
    d["workloads"][0]["rate"] = 1e-6
    for n in d["nodes"]:
        if n["flops"] > 0:
            n["memory"] = 1e12
    d["objective"] = {"latency": 1.0}
    d.pop("settings", None)
    return d


# ------------------------------------------------------------------ tiny
def test_every_baseline_is_honest_and_never_beats_brute_force():
    feasible = dict.fromkeys(BASELINES, 0)
    for feature in FEATURES:
        for seed in range(2):
            data, previous = tiny_instance(seed, feature)
            p = po.Problem.from_dict(with_tiers(data))
            best = solve(p, "brute-force", previous=previous)
            for name in BASELINES:
                sol = run(p, name, previous=previous, seed=seed)
                assert_honest(p, sol, previous)
                if sol.objective is None:
                    continue
                feasible[name] += 1
                assert best.status.value == "optimal", (feature, seed, name)
                assert sol.objective >= best.objective * (1 - REL) - 1e-15, (feature, seed, name)
    # each baseline returns a solution somewhere, so the checks above bite
    assert all(feasible.values()), feasible


@pytest.mark.parametrize("feature", ["memory", "privacy", "slo", "max_segments", "layer_times", "sink",
                                     "unavailable", "one_segment"])
def test_edgeshard_is_optimal_for_one_workload_without_capacity_interaction(feature):
    for seed in range(3):
        data, _ = tiny_instance(seed, feature)
        p = po.Problem.from_dict(single_workload(data))
        best = solve(p, "brute-force")
        sol = solve(p, "edgeshard-dp")
        if best.status.value == "infeasible":
            assert sol.status.value == "no_solution"
            continue
        if feature == "one_segment":  # settings dropped: plain optimum
            assert not p.one_segment_per_node
        assert sol.status.value == "feasible"
        assert sol.objective == pytest.approx(best.objective, rel=REL), (feature, seed)


def crossing_instance(max_segments: int | None) -> po.Problem:
    """Layers 0 and 2 are fast on ``a``, layer 1 on ``b``: unconstrained, the
    best path is a, b, a (three segments), so ``max_segments`` binds."""
    nodes = [{"id": "dev", "flops": 1e9, "memory": 1e12, "type": "slow"},
             {"id": "a", "flops": 1e9, "memory": 1e12, "type": "ta"},
             {"id": "b", "flops": 1e9, "memory": 1e12, "type": "tb"},
             {"id": "sw", "flops": 0.0, "memory": 0.0}]
    links = [{"source": n, "target": "sw", "bandwidth": 1e9, "latency": 0.001} for n in ("dev", "a", "b")]
    layers = [{"name": f"l{k}", "flops": 1e9, "param_bytes": 1e3, "output_bytes": 1e3} for k in range(3)]
    times = {"slow": [0.5, 0.5, 0.5], "ta": [0.01, 0.3, 0.01], "tb": [0.2, 0.01, 0.2]}
    workload = {"id": "w", "model": "m", "source": "dev", "rate": 1e-6}
    if max_segments is not None:
        workload["max_segments"] = max_segments
    return po.Problem.from_dict({"nodes": nodes, "links": links, "workloads": [workload],
                                 "models": [{"id": "m", "input_bytes": 1e3, "layers": layers, "layer_times": times}]})


def test_edgeshard_is_optimal_when_max_segments_binds():
    free = solve(crossing_instance(None), "brute-force")
    assert free.assignment["w"] == ("a", "b", "a")
    for limit in (1, 2, 3):
        p = crossing_instance(limit)
        best = solve(p, "brute-force")
        sol = solve(p, "edgeshard-dp")
        assert sol.objective == pytest.approx(best.objective, rel=REL), limit
        assert len(segments(sol.assignment["w"])) <= limit
        if limit < 3:
            assert best.objective > free.objective


def test_neurosurgeon_is_the_best_feasible_split_for_one_workload():
    """Independent enumeration: every (k, server) split scored by the evaluator."""
    for feature, seed in itertools.product(["privacy", "slo", "sink", "layer_times"], range(3)):
        data, _ = tiny_instance(seed, feature)
        data = with_tiers(single_workload(data))
        p = po.Problem.from_dict(data)
        src = p.workloads[0].source
        length = len(p.models[0].layers)
        servers = [n.id for n in p.nodes if n.flops > 0 and n.tier != "device"]
        best = np.inf
        for k, s in itertools.product(range(length + 1), servers):
            path = [src] * k + [s] * (length - k)
            ev = po.evaluate(p, {p.workloads[0].id: path})
            if ev.feasible:
                best = min(best, ev.objective)
        sol = solve(p, "neurosurgeon")
        if np.isfinite(best):
            assert sol.objective == pytest.approx(best, rel=REL), (feature, seed)
        else:
            assert sol.status.value == "no_solution"


# ------------------------------------------------------------- generated
GENERATED = [("smart-city", {}), ("v2x", {}), ("industrial", {}), ("topology-zoo", {}),
             ("smart-city", {"slo_slack": False, "private_fraction": 0.0}),
             ("topology-zoo", {"slo_slack": False}), ("industrial", {"slo_slack": False})]


@pytest.fixture(scope="module")
def generated():
    return [generate(family, seed=2, size="s", **params) for family, params in GENERATED]


def test_every_baseline_is_honest_on_generated_instances(generated):
    feasible = dict.fromkeys(BASELINES, 0)
    for p in generated:
        for name in BASELINES:
            sol = run(p, name)
            assert_honest(p, sol)
            feasible[name] += sol.objective is not None
            check_structure(p, name, sol)
    # device-only cannot hold a 7B model on a phone-class device: no count for it
    assert all(v for k, v in feasible.items() if k != "device-only"), feasible


def check_structure(p: po.Problem, name: str, sol: po.Solution) -> None:
    """The properties each baseline's source defines, on a feasible answer."""
    if sol.objective is None:
        return
    tiers = dict(zip(p.node_ids, node_tiers(p)))
    for w in p.workloads:
        path = sol.assignment[w.id]
        segs = segments(path)
        if name == "neurosurgeon":
            assert len(segs) <= 2
            assert len(segs) == 1 or segs[0][0] == w.source
        elif name == "device-only":
            assert set(path) == {w.source}
        elif name == "even-split":
            lengths = [n for _, n in segs]
            assert max(lengths) - min(lengths) <= 1
            assert len({node for node, _ in segs}) == len(segs)
        elif name in ("edge-only", "cloud-only"):
            tier = name.split("-")[0]
            if w.id not in sol.info["privacy_splits"]:
                assert len(segs) == 1 and tiers[path[0]] == tier
            else:  # private prefix on a trusted node, the rest in the tier
                assert len(segs) == 2 and tiers[path[-1]] == tier
                assert p.nodes[p.node_index[path[0]]].trust >= w.min_trust
        elif name == "petals":
            spans = sol.info["spans"][w.model]
            for layer, node in enumerate(path):
                assert tiers[node] != "device"
                first, last = spans[node]
                assert first <= layer <= last
        elif name == "memory-proportional":
            check_memory_proportional(p, w, path, sol.info["ring"][w.model])


def check_memory_proportional(p: po.Problem, w, path, ring: list[str]) -> None:
    memory = {n.id: n.memory for n in p.nodes}
    total = sum(memory[i] for i in ring)
    length = len(path)
    counts = {node: path.count(node) for node in ring}
    assert set(path) <= set(ring)
    for node in ring:
        assert abs(counts[node] - length * memory[node] / total) < 1.01, (node, counts, ring)
    assert [node for node, _ in segments(path)] == [i for i in ring if counts[i]]


def test_structure_on_tiny_instances():
    for feature, seed in itertools.product(FEATURES, range(2)):
        data, previous = tiny_instance(seed, feature)
        p = po.Problem.from_dict(with_tiers(data))
        for name in ("neurosurgeon", "device-only", "even-split", "edge-only", "cloud-only", "petals",
                     "memory-proportional"):
            check_structure(p, name, solve(p, name, previous=previous))


# ------------------------------------------------------------ hand checks
def test_exo_partition_by_hand():
    # shares 1/2, 1/4, 1/4 of 8 layers
    assert exo_partition(np.array([8.0, 4.0, 4.0]), 8) == [(0, 4), (1, 2), (2, 2)]
    # 3:1 of 2 layers: [0, 0.75) -> layer 0; [0.75, 1) -> layer 1
    assert exo_partition(np.array([3.0, 1.0]), 2) == [(0, 1), (1, 1)]
    # thirds of 2 layers: the first member's [0, 1/3) holds no whole layer and is dropped
    assert exo_partition(np.array([1.0, 1.0, 1.0]), 2) == [(1, 1), (2, 1)]


def test_petals_choose_best_start_by_hand():
    # spans of 2: sorted (0,0)@0, (0,5)@1, (1,5)@2 -> the weakest blocks, start 0
    assert choose_best_start(np.array([0.0, 0.0, 5.0, 1.0]), 2, np.arange(3)) == 0
    # (0,3)@0, (0,0)@1, (0,1)@2 -> start 1
    assert choose_best_start(np.array([3.0, 0.0, 0.0, 1.0]), 2, np.arange(3)) == 1


def test_device_only_fails_when_the_source_cannot_hold_the_model(hand):
    # the phone has 100 bytes and the model's weights are 750
    sol = solve(hand, "device-only")
    assert sol.status.value == "no_solution"
    assert sol.info["failed"] == "A" and sol.info["rejected"] == {"memory": 1}


def test_every_baseline_says_no_solution_when_there_is_none(hand_data):
    for w in hand_data["workloads"]:
        w["slo"] = 1e-6
    p = po.Problem.from_dict(hand_data)
    for name in BASELINES:
        sol = run(p, name)
        assert sol.status.value == "no_solution", name
        assert sol.objective is None


def test_tiers_from_field_catalog_type_and_fallback(hand):
    assert list(node_tiers(hand)) == ["device", "edge", "", "cloud", ""]
    data, _ = tiny_instance(0, "sink")
    for n in data["nodes"]:
        n.pop("type", None)
    p = po.Problem.from_dict(data)
    ends = {w.source for w in p.workloads} | {w.sink or w.source for w in p.workloads}
    expect = ["device" if n.id in ends else "edge" for n in p.nodes]
    assert list(node_tiers(p)) == expect
    data["nodes"][0]["type"] = "a100-80gb"  # a catalog type gives its tier
    assert node_tiers(po.Problem.from_dict(data))[0] == "cloud"


# ------------------------------------------------------------------ random
def test_random_is_deterministic_for_a_seed(generated):
    p = generated[4]
    a = solve(p, "random", seed=7, iterations=10)
    b = solve(p, "random", seed=7, iterations=10)
    assert a.status.value == "feasible"
    assert a.assignment == b.assignment and a.objective == b.objective


def test_random_respects_the_time_limit(generated):
    p = generated[4]
    start = time.perf_counter()
    sol = solve(p, "random", time_limit=0.3, iterations=10**6)
    assert time.perf_counter() - start < 3.0
    assert sol.info["iterations"] < 10**6
    assert_honest(p, sol)


@pytest.mark.parametrize("seed", range(5))
def test_layered_dp_finds_the_least_latency_path_by_enumeration(seed):
    """With memory and compute to spare, the EdgeShard DP (run over the nodes
    allowed for some layer only) returns a least-latency path among the allowed
    ones: compared with every path, enumerated and timed by the evaluator."""
    import itertools

    from placement_opt.evaluate import evaluate_array
    from placement_opt.heuristics.baselines.common import Packer, TransferCache, layered_dp
    from tests.tiny import tiny_instance

    data, _ = tiny_instance(seed, ("layer_times", "sink", "energy", "unavailable", "cost")[seed])
    for node in data["nodes"]:
        node["memory"] = node["memory"] * 1e3 if node["flops"] else node["memory"]
    for w in data["workloads"]:
        w.pop("slo", None)
        w["rate"] = 1e-6
    p = po.Problem.from_dict(data)
    packer = Packer(p)
    rng = np.random.default_rng(seed)
    f = p.flat
    w = 0
    start, length = int(f.offset[w]), int(f.length[w])
    allowed = p.can_host[None, :] & (rng.random((length, p.num_nodes)) < 0.8)
    path = layered_dp(packer, w, allowed, TransferCache(p))

    def latency(nodes):
        x = np.array([p.workload_source[v] for v in f.workload], dtype=np.int64)
        x[start:start + length] = nodes
        return float(evaluate_array(p, x).arrays["latency"][w])

    options = [np.flatnonzero(allowed[k]) for k in range(length)]
    best = min((latency(np.array(c)) for c in itertools.product(*options)), default=np.inf)
    if not np.isfinite(best):
        assert path is None
        return
    assert path is not None and allowed[np.arange(length), path].all()
    assert latency(path) == pytest.approx(best, rel=1e-12)
