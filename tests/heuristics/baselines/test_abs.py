"""``abs``: Adaptive Bilevel Search (placement_opt/heuristics/abs_search.py).

Contract: feasible with the evaluator's objective, or honest ``no_solution``;
never better than brute force and usually equal to it on tiny instances;
seeded; time limits respected.  The parts (partition, fragmentation score,
swarm decoding) are checked against hand computations.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

import placement_opt as po
from placement_opt.candidates import candidates
from placement_opt.errors import SolverError
from placement_opt.generators import generate
from placement_opt.heuristics.baselines.abs import DEFAULTS, Groups, Swarm, fragmentation, partition
from placement_opt.solve import solve, solver_info
from tests.heuristics.baselines.test_baselines import assert_honest
from tests.tiny import FEATURES, tiny_instance

REL = 1e-9
#: A small swarm keeps the tests fast; the defaults are measured in docs/abs.md.
FAST = {"swarm": 3, "iterations": 3, "patience": 2}


def two_hosts(memory: tuple[float, float], flops: tuple[float, float] = (1e9, 1e9)) -> po.Problem:
    """Two hosts ``a`` (the source) and ``b`` and a switch; one 2-layer workload."""
    nodes = [{"id": "a", "flops": flops[0], "memory": memory[0]},
             {"id": "b", "flops": flops[1], "memory": memory[1]},
             {"id": "sw", "flops": 0.0, "memory": 0.0}]
    links = [{"source": n, "target": "sw", "bandwidth": 1e6, "latency": 0.001} for n in ("a", "b")]
    layers = [{"name": f"l{k}", "flops": 1e8, "param_bytes": 100.0, "output_bytes": 1e3} for k in range(2)]
    return po.Problem.from_dict({
        "nodes": nodes, "links": links,
        "models": [{"id": "m", "input_bytes": 1e3, "layers": layers}],
        "workloads": [{"id": "w", "model": "m", "source": "a", "rate": 1.0}]})


# ------------------------------------------------------------------ parts
def test_registered_as_a_heuristic_with_its_source():
    info = solver_info("abs")
    assert not info.exact
    assert "2507.07535" in info.source


def test_fragmentation_by_hand():
    p = two_hosts((1000.0, 3000.0), (1e9, 3e9))
    # memory free 1000 and 3000: 1 - 3000/4000; compute free 1e9 and 3e9 FLOP/s: the same
    assert fragmentation(p, np.zeros(3), np.zeros(3)) == pytest.approx(0.25)
    # a half busy, b full of memory: memory 1 - 1000/1000 = 0; compute free 0.5e9, 3e9: 1 - 3/3.5
    used = np.array([0.0, 3000.0, 0.0])
    busy = np.array([0.5, 0.0, 0.0])
    assert fragmentation(p, used, busy) == pytest.approx(0.5 * (1 - 3 / 3.5))
    # everything used: no free piece, no fragmentation
    assert fragmentation(p, np.array([1000.0, 3000.0, 0.0]), np.array([1.0, 1.0, 0.0])) == 0.0


def test_partition_keeps_the_nearest_hosts_and_the_source():
    p = generate("smart-city", seed=0, size="s")
    cand = candidates(p)
    f = p.flat
    # score: the fastest complete path through each node (independent recomputation)
    c = np.where(cand.mask, p.compute_time[f.global_layer], 0.0)
    score = np.where(cand.mask, cand.forward + cand.backward - c, np.inf)
    groups = partition(p, cand, 3)
    for w in range(p.num_workloads):
        rows = slice(int(f.offset[w]), int(f.offset[w] + f.length[w]))
        hosts = groups.hosts[w]
        assert hosts.size <= 3 and len(set(hosts.tolist())) == hosts.size
        if cand.mask[rows, p.workload_source[w]].any():
            assert p.workload_source[w] in hosts
        # every host left out is no nearer than the farthest kept one other than the source
        best = np.where(cand.mask[rows], score[rows], np.inf).min(axis=0)
        kept = [i for i in hosts.tolist() if i != p.workload_source[w]]
        out = [i for i in np.flatnonzero(cand.mask[rows].any(axis=0)) if i not in hosts]
        if kept and out:
            assert max(best[kept]) <= min(best[out])
        mask = groups.masks[w]
        assert not (mask & ~cand.mask[rows]).any()  # never outside the candidates
        assert mask.any(axis=1).all()  # every layer keeps a host


def test_swarm_decodes_order_and_biases():
    groups = Groups([np.array([2, 0]), np.array([1])], [np.ones((2, 3), bool), np.ones((3, 3), bool)])
    swarm = Swarm(groups, 2, np.random.default_rng(0), {**DEFAULTS, "swarm": 1, "bias": 2.0})
    swarm.positions[0] = [0.1, 0.7, 0.5, -1.0, 0.3, 0.9]  # keys; biases of w0 (hosts 2, 0), of w1 (host 1, pad)
    assert swarm.order(0) == [1, 0]
    noise = swarm.noise(0, 3, [2, 3])
    assert noise[0].shape == (2, 3) and noise[1].shape == (3, 3)
    np.testing.assert_allclose(noise[0][0], [np.exp(2.0), 1.0, np.exp(-1.0)])
    np.testing.assert_allclose(noise[1][2], [1.0, np.exp(-0.6), 1.0])
    swarm.move(swarm.positions.copy(), swarm.positions[0].copy(), 0.9)
    assert (np.abs(swarm.positions) <= 1.0).all() and (np.abs(swarm.velocities) <= DEFAULTS["vmax"]).all()


def test_bad_options_are_refused():
    p = two_hosts((1e6, 1e6))
    with pytest.raises(SolverError, match="swarm"):
        solve(p, "abs", swarm=0)
    with pytest.raises(SolverError, match="no option 'swarms' \\(did you mean 'swarm'\\?\\)"):
        solve(p, "abs", swarms=4)


# -------------------------------------------------------------- contract
@pytest.mark.slow
def test_never_better_than_brute_force_and_usually_optimal_on_tiny_instances():
    optimal = found = 0
    for feature in FEATURES:
        for seed in range(2):
            data, previous = tiny_instance(seed, feature)
            p = po.Problem.from_dict(data)
            best = solve(p, "brute-force", previous=previous)
            sol = solve(p, "abs", previous=previous, seed=seed, **FAST)
            assert_honest(p, sol, previous)
            if best.status.value == "infeasible":
                assert sol.status.value == "no_solution", (feature, seed)
                continue
            assert best.status.value == "optimal"
            if sol.objective is None:
                continue
            found += 1
            assert sol.objective >= best.objective * (1 - REL) - 1e-15, (feature, seed)
            assert sol.objective <= 2.0 * best.objective + 1e-12, (feature, seed)  # close
            optimal += sol.objective <= best.objective * (1 + 1e-7) + 1e-15
    assert found >= 25, found
    assert optimal >= 0.9 * found, (optimal, found)


def test_the_swarm_finds_what_the_lower_level_alone_misses():
    """``bottleneck`` is not additive along a path, so the lower level's DP
    does not see it: one unbiased particle (the plain sequential DP) ends
    far from the optimum on this tiny instance; the swarm's biases and
    orders, ranked by the real objective, reach it."""
    data, _ = tiny_instance(0, "bottleneck")
    p = po.Problem.from_dict(data)
    best = solve(p, "brute-force")
    single = solve(p, "abs", swarm=1, iterations=1)
    swarm = solve(p, "abs")
    assert single.objective > 1.2 * best.objective
    assert swarm.objective == pytest.approx(best.objective, rel=1e-9)


def test_capacity_infeasible_instance_gives_no_solution():
    """Each workload fits on the only host alone, both together do not (two
    models, no shared weights): candidates keep the host, the search must fail."""
    data, _ = tiny_instance(0, "memory")
    data = copy.deepcopy(data)
    data["nodes"] = [data["nodes"][0]]
    data["links"] = []
    data["models"].append({**copy.deepcopy(data["models"][0]), "id": "m2"})
    data["workloads"] = [{"id": "w0", "model": "m", "source": "n0", "rate": 1.0},
                         {"id": "w1", "model": "m2", "source": "n0", "rate": 1.0}]
    total = sum(layer["param_bytes"] for layer in data["models"][0]["layers"])
    data["nodes"][0]["memory"] = 1.5 * total
    p = po.Problem.from_dict(data)
    assert solve(p, "brute-force").status.value == "infeasible"
    sol = solve(p, "abs", **FAST)
    assert sol.status.value == "no_solution" and sol.objective is None
    assert "reason" in sol.info


@pytest.mark.parametrize("family,objective", [
    ("smart-city", {"latency": 1, "cost": 1e-3}),
    ("v2x", {"latency": 1, "energy": 1e-3, "bottleneck": 0.05}),
    ("industrial", {"max_latency": 1}),
])
def test_feasible_and_scored_exactly_on_generated_instances(family, objective):
    p = generate(family, seed=1, size="s", workloads=6, objective=objective, max_segments=2)
    sol = solve(p, "abs", **FAST)
    assert sol.status.value == "feasible"
    assert_honest(p, sol)
    ls = solve(p, "local-search")  # an upper bound to compare with: abs should not be far off
    assert sol.objective <= 1.5 * ls.objective


def test_same_seed_same_answer_and_seeds_change_the_swarm():
    p = generate("v2x", seed=2, size="s", workloads=4, objective={"latency": 1, "cost": 1e-3})
    a = solve(p, "abs", seed=3, **FAST)
    b = solve(p, "abs", seed=3, **FAST)
    assert a.assignment == b.assignment and a.objective == b.objective
    assert a.info["evaluations"] == b.info["evaluations"]
    groups = Groups([np.arange(3)] * 2, [np.ones((2, 3), bool)] * 2)
    s1, s2, s3 = (Swarm(groups, 2, np.random.default_rng(s), {**DEFAULTS, "swarm": 3}) for s in (3, 3, 4))
    assert np.array_equal(s1.positions, s2.positions)
    assert not np.array_equal(s1.positions, s3.positions)


def test_migration_weight_keeps_the_previous_weights():
    """With a huge migration weight (1 per byte, against latencies of
    hundredths of a second) and a feasible but poor ``previous`` (everything
    on the cloud), loading any weight costs more than any latency
    gain: abs must load none; without the term it moves weights."""
    p = generate("smart-city", seed=0, size="s")
    q = p.replace(objective={"latency": 1.0, "migration": 1.0})
    previous = solve(p, "cloud-only").assignment
    assert po.evaluate(p, previous).feasible
    sol = solve(q, "abs", previous=previous, **FAST)
    assert_honest(q, sol, previous)
    assert po.evaluate(q, sol.assignment, previous).terms["migration"] == 0.0
    free = solve(p, "abs", **FAST)
    assert po.evaluate(q, free.assignment, previous).terms["migration"] > 0.0


def test_time_limit_is_respected():
    p = generate("v2x", seed=0, size="m", nodes=30, workloads=16)
    _ = p.routes, p.compute_time  # derived once per problem, not part of a solve
    limit = 0.6
    t0 = time.perf_counter()
    sol = solve(p, "abs", time_limit=limit, swarm=20, iterations=50, patience=50)
    elapsed = time.perf_counter() - t0
    assert elapsed < limit + 0.5
    assert sol.info["timed_out"]
    assert_honest(p, sol)
