"""The evaluator against values computed by hand from SPEC sections 4-6.

The instance is tests/fixtures/hand.json:

    phone --(1000 B/s, 10 ms, 1e-6 J/B)-- sw --(1e4 B/s, 2 ms)-- edge
                                          sw --(1e5 B/s, 20 ms)-- cloud -- down (unavailable)
    edge --(1000 B/s, 1 ms, directed)--> cloud

Assignment A = [phone, edge, edge] (sink phone), B = [edge, cloud, cloud] (sink cloud).

Routes: phone<->edge 12 ms via sw at 1000 B/s (epb 1e-6); edge->cloud 1 ms via the
shortcut at 1000 B/s; cloud->edge must go back through sw (22 ms).
Compute: phone L0 = 1e8/1e9 = 0.1 s; edge has type gpu and utilisation 0.5, so
its layer_times double: L0 0.02, L1 0.04, L2 0.06; cloud L1 0.02, L2 0.04.

T_A = 0 + 0.1 + (0.012 + 20/1000) + 0.04 + 0 + 0.06 + (0.012 + 4/1000) = 0.248
T_B = (0.012 + 100/1000) + 0.02 + (0.001 + 20/1000) + 0.02 + 0.04 + 0 = 0.213
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import placement_opt as po

A = ["phone", "edge", "edge"]
B = ["edge", "cloud", "cloud"]
PREVIOUS = {"A": ["cloud", "cloud", "cloud"], "B": ["edge", "edge", "edge"]}


def kinds(ev):
    return sorted({v.kind for v in ev.violations})


def test_latency_per_workload_by_hand(hand):
    ev = po.evaluate(hand, {"A": A, "B": B})
    assert ev.latency["A"] == pytest.approx(0.248, rel=1e-12)
    assert ev.latency["B"] == pytest.approx(0.213, rel=1e-12)
    assert ev.feasible, ev.violations


def test_every_term_by_hand(hand):
    ev = po.evaluate(hand, {"A": A, "B": B}, previous=PREVIOUS)
    t = ev.terms
    assert t["latency"] == pytest.approx((1 * 0.248 + 3 * 0.213) / 4, rel=1e-12)
    assert t["max_latency"] == pytest.approx(0.248, rel=1e-12)
    # node loads: phone 2*0.1, edge 2*(0.04+0.06) + 1*0.02, cloud 1*(0.02+0.04)
    assert t["bottleneck"] == pytest.approx(0.22, rel=1e-12)
    assert t["cost"] == pytest.approx(2 + 5)
    # energy: A: 2 * (1e8*1e-9 + 2e8*2e-10 + 4e8*2e-10 + 20*1e-6 + 4*1e-6)
    #         B: 1 * (1e8*2e-10 + 100*1e-6)
    assert t["energy"] == pytest.approx(2 * (0.1 + 0.04 + 0.08 + 24e-6) + (0.02 + 1e-4), rel=1e-12)
    # only (L0, phone) is new: 50 bytes of weights
    assert t["migration"] == pytest.approx(50)
    expected = 0.22175 + 0.5 * 0.248 + 2 * 0.22 + 0.01 * 7 + 0.1 * 0.460148 + 0.001 * 50
    assert ev.objective == pytest.approx(expected, rel=1e-12)


def test_migration_term_only_with_previous(hand):
    ev = po.evaluate(hand, {"A": A, "B": B})
    assert "migration" not in ev.terms
    expected = 0.22175 + 0.5 * 0.248 + 2 * 0.22 + 0.01 * 7 + 0.1 * 0.460148
    assert ev.objective == pytest.approx(expected, rel=1e-12)


def test_utilisation_and_memory_by_hand(hand):
    ev = po.evaluate(hand, {"A": A, "B": B})
    assert ev.node_utilization == pytest.approx({"phone": 0.2, "edge": 0.22, "sw": 0, "cloud": 0.06, "down": 0})
    # phone-sw carries phone->edge (A: 2*20, B: 1*100) and edge->phone (A: 2*4): both directions
    assert ev.link_utilization["phone-sw"] == pytest.approx(148 / 1000)
    assert ev.link_utilization["sw-edge"] == pytest.approx(148 / 10000)
    assert ev.link_utilization["shortcut"] == pytest.approx(20 / 1000)
    assert ev.link_utilization["sw-cloud"] == 0
    # weights once per placed layer, state per workload
    assert ev.node_memory["phone"] == pytest.approx(50 + 5)
    assert ev.node_memory["edge"] == pytest.approx(50 + 300 + 400 + 5 + 10)
    assert ev.node_memory["cloud"] == pytest.approx(300 + 400 + 10)


def test_weights_are_shared_between_workloads(hand):
    both_on_edge = {"A": ["edge"] * 3, "B": ["edge"] * 3}
    ev = po.evaluate(hand, both_on_edge)
    assert ev.node_memory["edge"] == pytest.approx(750 + 2 * 15)


def test_layer_times_override_flops(hand_data):
    hand_data["models"][0].pop("layer_times")
    p = po.Problem.from_dict(hand_data)
    ev = po.evaluate(p, {"A": A, "B": B})
    # without profiles the edge runs L1 in 2e8 / (4e9 * 0.5) = 0.1 s and L2 in 0.2 s
    assert ev.latency["A"] == pytest.approx(0.1 + 0.032 + 0.1 + 0.2 + 0.016, rel=1e-12)


def test_memory_violation(hand_data):
    hand_data["nodes"][1]["memory"] = 700
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    (v,) = ev.violations
    assert (v.kind, v.node, v.value, v.limit) == ("memory", "edge", 765, 700)
    assert v.amount == pytest.approx(65)
    assert not ev.feasible


def test_compute_violation(hand_data):
    hand_data["settings"] = {"max_utilization": 0.21}
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    (v,) = ev.violations
    assert (v.kind, v.node) == ("compute", "edge")
    assert v.amount == pytest.approx(0.01)


@pytest.mark.parametrize("bandwidth, violated", [(147.9, True), (148.0, False)])
def test_undirected_link_capacity_is_shared_by_both_directions(hand_data, bandwidth, violated):
    # phone->edge carries 140 B/s and edge->phone 8 B/s: each alone fits 147.9
    hand_data["links"][0]["bandwidth"] = bandwidth
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    link = [v for v in ev.violations if v.kind == "link"]
    assert bool(link) == violated
    if violated:
        assert link[0].link == "phone-sw" and link[0].value == pytest.approx(148)


def test_directed_link_is_not_used_backwards(hand):
    assert hand.route("edge", "cloud") == ["shortcut"]
    assert hand.route("cloud", "edge") == ["sw-cloud", "sw-edge"]
    assert hand.transfer_time("cloud", "edge", 10) == pytest.approx(0.022 + 10 / 10000)


def test_privacy(hand_data):
    hand_data["workloads"][1]["min_trust"] = 2
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    (v,) = ev.violations
    assert (v.kind, v.workload, v.layer, v.node) == ("privacy", "B", 0, "edge")
    assert (v.value, v.limit) == (1, 2)


def test_raw_input_is_private_even_without_private_layers(hand_data):
    hand_data["workloads"][1].update(min_trust=2, private_layers=0)
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    assert [(v.kind, v.layer) for v in ev.violations] == [("privacy", 0)]


def test_private_layers_beyond_the_first(hand_data):
    hand_data["workloads"][1].update(min_trust=1, private_layers=2)
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    # layer 1 of B runs on the cloud (trust 0)
    assert [(v.kind, v.layer, v.node) for v in ev.violations] == [("privacy", 1, "cloud")]


def test_slo(hand_data):
    hand_data["workloads"][0]["slo"] = 0.2
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    (v,) = ev.violations
    assert (v.kind, v.workload) == ("slo", "A")
    assert v.amount == pytest.approx(0.048)


def test_max_segments(hand_data):
    hand_data["workloads"][0]["max_segments"] = 1
    ev = po.evaluate(po.Problem.from_dict(hand_data), {"A": A, "B": B})
    (v,) = ev.violations
    assert (v.kind, v.workload, v.value, v.limit) == ("max_segments", "A", 2, 1)


def test_one_segment_per_node(hand_data):
    hand_data["settings"] = {"one_segment_per_node": True}
    p = po.Problem.from_dict(hand_data)
    ev = po.evaluate(p, {"A": ["edge", "cloud", "edge"], "B": B})
    assert [(v.kind, v.workload, v.node) for v in ev.violations] == [("one_segment_per_node", "A", "edge")]
    assert po.evaluate(p, {"A": A, "B": B}).feasible


def test_unavailable_node_and_switch_host_nothing(hand):
    ev = po.evaluate(hand, {"A": ["phone", "sw", "down"], "B": B})
    found = {(v.kind, v.node) for v in ev.violations}
    assert ("no_compute", "sw") in found
    assert ("unavailable", "down") in found
    # the unavailable node is unreachable too: sw -> down and down -> phone have no route
    assert ("no_route", "sw") in found and ("no_route", "down") in found
    assert math.isinf(ev.latency["A"])


def test_unavailable_link_cuts_routes(hand_data):
    hand_data["links"][1]["available"] = False  # sw-edge
    p = po.Problem.from_dict(hand_data)
    ev = po.evaluate(p, {"A": A, "B": B})
    # phone -> edge is cut for both workloads; A's latency becomes infinite and misses its SLO
    assert sorted((v.kind, v.workload, v.node, v.to_node) for v in ev.violations) == [
        ("no_route", "A", "phone", "edge"),
        ("no_route", "B", "phone", "edge"),
        ("slo", "A", None, None),
    ]
    # the way back still exists: edge -> cloud over the directed shortcut, then sw -> phone
    assert p.route("edge", "phone") == ["shortcut", "sw-cloud", "phone-sw"]
    assert p.transfer_time("edge", "phone", 0) == pytest.approx(0.001 + 0.02 + 0.01)


def test_evaluator_accepts_solutions_and_arrays(hand):
    sol = po.Solution({"A": A, "B": B})
    x = hand.assignment_to_array({"A": A, "B": B})
    assert po.evaluate(hand, sol).objective == po.evaluate(hand, x).objective
    assert np.array_equal(hand.assignment_to_array(hand.array_to_assignment(x)), x)


@pytest.mark.parametrize(
    "assignment, message",
    [
        ({"A": A}, "assignment.B: missing"),
        ({"A": A, "B": B, "C": A}, "assignment.C: unknown workload"),
        ({"A": A[:2], "B": B}, "assignment.A: has 2 entries"),
        ({"A": ["phone", "edg", "edge"], "B": B}, "assignment.A[1]: unknown node 'edg' (did you mean 'edge'?)"),
    ],
)
def test_bad_assignments_are_named(hand, assignment, message):
    with pytest.raises(po.SolutionError) as err:
        po.evaluate(hand, assignment)
    assert message in str(err.value)
