"""Routes (SPEC 4) and the documented tie rules (docs/decisions.md)."""

from __future__ import annotations

import numpy as np
import pytest

import placement_opt as po


def net(links, nodes="abcd", available=()):
    return po.Problem.from_dict({
        "nodes": [{"id": n, "flops": 1e9, "memory": 1e9, "available": n not in available} for n in nodes],
        "links": links,
        "models": [{"id": "m", "input_bytes": 1, "layers": [{"name": "l", "flops": 1, "param_bytes": 1,
                                                              "output_bytes": 1}]}],
        "workloads": [{"id": "w", "model": "m", "source": nodes[0], "rate": 1}],
    })


def link(a, b, lat, bw=100.0, **kw):
    return {"source": a, "target": b, "latency": lat, "bandwidth": bw, **kw}


def test_least_latency_wins_over_fewer_hops():
    p = net([link("a", "b", 0.001), link("b", "c", 0.001), link("a", "c", 0.003)])
    assert p.route("a", "c") == ["a-b", "b-c"]
    assert p.transfer_time("a", "c", 50) == pytest.approx(0.002 + 50 / 100)


def test_equal_latency_fewest_hops():
    p = net([link("a", "b", 0.001), link("b", "c", 0.001), link("a", "c", 0.002, bw=1.0)])
    assert p.route("a", "c") == ["a-c"]


def test_equal_latency_and_hops_widest():
    p = net([link("a", "b", 0.001, 10), link("b", "d", 0.001, 10), link("a", "c", 0.001, 50),
             link("c", "d", 0.001, 50)])
    assert p.route("a", "d") == ["a-c", "c-d"]
    assert p.routes.bandwidth[0, 3] == 50


def test_full_tie_smallest_link_index_on_last_hop():
    p = net([link("a", "c", 0.001), link("c", "d", 0.001), link("a", "b", 0.001), link("b", "d", 0.001)])
    # last hops into d: c-d (index 1) and b-d (index 3)
    assert p.route("a", "d") == ["a-c", "c-d"]


def test_latency_ties_within_relative_tolerance():
    # 0.1 + 0.2 = 0.30000000000000004 in floats, 0.15 + 0.15 = 0.3: equal under the 1e-9 rule,
    # so the wider path wins even though it is a hair longer in floating point
    p = net([link("a", "b", 0.1, 100), link("b", "c", 0.2, 100), link("a", "d", 0.15, 10), link("d", "c", 0.15, 10)])
    assert p.route("a", "c") == ["a-b", "b-c"]


def test_parallel_links_widest_then_index():
    p = net([link("a", "b", 0.001, 10, id="slow"), link("a", "b", 0.001, 20, id="fast"),
             link("a", "b", 0.001, 20, id="fast2")], nodes="ab")
    assert p.route("a", "b") == ["fast"]


def test_zero_latency_links_are_links():
    p = net([link("a", "b", 0.0), link("b", "c", 0.0)])
    assert p.route("a", "c") == ["a-b", "b-c"]
    assert p.transfer_time("a", "c", 0) == 0.0


def test_unavailable_nodes_are_not_crossed():
    links = [link("a", "b", 0.001), link("b", "c", 0.001), link("a", "d", 0.005), link("d", "c", 0.005)]
    assert net(links).route("a", "c") == ["a-b", "b-c"]
    assert net(links, available="b").route("a", "c") == ["a-d", "d-c"]
    p = net(links, available="bd")
    assert not p.routes.reachable[0, 2]
    assert p.transfer_time("a", "c", 1) == np.inf


def test_unavailable_links_are_not_used():
    p = net([link("a", "b", 0.001, available=False), link("a", "c", 0.001), link("c", "b", 0.001)])
    assert p.route("a", "b") == ["a-c", "c-b"]


def test_directed_links_only_one_way():
    p = net([link("a", "b", 0.001, directed=True)], nodes="ab")
    assert p.route("a", "b") == ["a-b"]
    assert not p.routes.reachable[1, 0]


def test_route_energy_and_self_transfer():
    p = net([link("a", "b", 0.001, energy_per_byte=2e-6), link("b", "c", 0.001, energy_per_byte=3e-6)])
    assert p.routes.energy_per_byte[0, 2] == pytest.approx(5e-6)
    assert p.transfer_time("b", "b", 1e9) == 0.0
    assert p.routes.path_nodes(0, 2) == [0, 1, 2]


def test_graph_view_matches_links():
    p = net([link("a", "b", 0.001), link("b", "c", 0.001, directed=True)])
    g = p.graph
    assert g.has_edge("a", "b") and g.has_edge("b", "a")
    assert g.has_edge("b", "c") and not g.has_edge("c", "b")
