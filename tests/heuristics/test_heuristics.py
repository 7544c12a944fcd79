"""Heuristics: feasible whenever a feasible solution is easy to find."""

from __future__ import annotations

import numpy as np
import pytest

import placement_opt as po
from placement_opt.generators import FAMILIES, generate, reference_assignment
from placement_opt.heuristics.greedy import Greedy, Residual
from placement_opt.solve import solve


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("size", ["s", "m"])
def test_greedy_is_feasible_where_the_generator_guarantees_a_solution(family, size):
    p = generate(family, seed=1, size=size)
    assert po.evaluate(p, reference_assignment(p)).feasible  # a feasible solution is easy to find
    sol = solve(p, "greedy")
    assert sol.status.value == "feasible" and sol.feasible
    assert sol.objective == pytest.approx(po.evaluate(p, sol).objective, rel=1e-12)


def test_greedy_is_deterministic():
    p = generate("v2x", seed=3, size="m")
    assert solve(p, "greedy").assignment == solve(p, "greedy").assignment


def test_greedy_says_no_solution_when_there_is_none(hand_data):
    for w in hand_data["workloads"]:
        w["slo"] = 1e-6
    sol = solve(po.Problem.from_dict(hand_data), "greedy")
    assert sol.status.value == "no_solution" and sol.objective is None


def test_reservations_are_drawn_by_later_workloads(hand):
    """The first workload to place a layer sets aside state memory for the
    model's other workloads; the next one draws from it, not from free memory."""
    g = Greedy(hand, reserve=1.0)
    res = Residual.empty(hand)
    g.pending[:] = 2
    path = np.array([1, 1, 1])  # all on edge
    free = res.memory[1]
    g.commit(0, path, res)
    g.pending[:] = 1
    # weights 750 + A's state 15 + B's reserved state 15
    assert res.memory[1] == pytest.approx(free - 750 - 30)
    g.commit(1, path, res)
    assert res.memory[1] == pytest.approx(free - 750 - 30)  # B used its reservation
    assert res.reserved[:, 1].sum() == pytest.approx(0)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_path_dp_is_the_cheapest_path_by_enumeration(seed):
    """The DP (run over the nodes that can take some layer only) returns a path
    whose cost equals the least cost over every path, enumerated."""
    import itertools

    from tests.tiny import tiny_instance

    data, _ = tiny_instance(seed, ("memory", "layer_times", "energy", "sink", "one_segment", "unavailable")[seed])
    p = po.Problem.from_dict(data)
    g = Greedy(p)
    res = Residual.empty(p)
    rng = np.random.default_rng(seed)
    for w in range(p.num_workloads):
        f = p.flat
        start, length = int(f.offset[w]), int(f.length[w])
        allowed = g.cand.mask[start:start + length] & (rng.random(p.num_nodes) < 0.7)[None, :]
        node_cost = g._node_costs(w, res, allowed, False)
        gl = f.global_layer[start:start + length]
        m = p.workload_model[w]
        src, snk = p.workload_source[w], p.workload_sink[w]

        def cost(path):
            total = g._move_cost(w, float(p.input_bytes[m]))[src, path[0]]
            total += sum(node_cost[k, i] for k, i in enumerate(path))
            total += sum(g._move_cost(w, float(p.layer_output_bytes[gl[k]]))[path[k], path[k + 1]]
                         for k in range(length - 1))
            return total + g._move_cost(w, float(p.layer_output_bytes[gl[-1]]))[path[-1], snk]

        best = min(cost(path) for path in itertools.product(range(p.num_nodes), repeat=length))
        path = g._dp(w, allowed, set(), res)
        if not np.isfinite(best):
            assert path is None
            continue
        assert path is not None and allowed[np.arange(length), path].all()
        assert cost(tuple(path)) == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("family", ["smart-city", "v2x"])
def test_narrowed_greedy_keeps_the_contract(monkeypatch, family):
    """With the large-network narrowing forced on a small instance (few nodes per
    tier), greedy still answers feasible with the evaluator's objective, and a
    workload that fits nowhere in a narrow tier falls through to the full mask."""
    import sys

    greedy_module = sys.modules["placement_opt.heuristics.greedy"]  # the package re-exports the function
    p = generate(family, seed=2, size="m")
    monkeypatch.setattr(greedy_module, "NARROW_ABOVE", 0)
    monkeypatch.setattr(greedy_module, "NARROW_WIDTHS", (1, 3))
    seen = []
    real = greedy_module.Greedy._place

    def spy(self, w, res, allowed):
        seen.append(int(allowed.any(axis=0).sum()))
        return real(self, w, res, allowed)

    monkeypatch.setattr(greedy_module.Greedy, "_place", spy)
    sol = solve(p, "greedy")
    assert sol.status.value == "feasible"
    assert sol.objective == pytest.approx(po.evaluate(p, sol).objective, rel=1e-12)
    assert min(seen) < p.num_nodes  # narrow tiers were searched
