"""Tests of the replay (SPEC 7): every expected number is computed by hand in the
comments, or by the evaluator on a snapshot built independently with
``Problem.replace`` (which re-validates from scratch)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from placement_opt import Problem, evaluate
from placement_opt.errors import SolverError, TraceError
from placement_opt.replay import (
    DEFAULT_THRESHOLD,
    POLICIES,
    POLICY_CLASSES,
    Policy,
    ReplayOptions,
    coarsen,
    replay,
    segments_of,
    weighted_quantile,
)
from placement_opt.replay.policies import REACTIVE_RETRY, Oracle, Periodic, Reactive, Static
from placement_opt.trace import Trace

# --------------------------------------------------------------------------- #
# A hand-made instance
#
#   A (source, flops 0) --0.01 s, 1e6 B/s-- B, C        B --0.015 s, 1e6-- C
#   O (weight store, flops 0, origin):  B --0.1 s, 1e6-- O,  C --1.0 s, 2e6-- O
#
# Two layers of 1e8 FLOP, 1e6 weight bytes and 1e3 output bytes; input 1e3 bytes.
# Hosts B and C have 2e9 FLOP/s.  Latency of [C, C] (and of [B, B] when idle):
#   t(A,C,1e3) + 2 * 1e8/2e9 + t(C,A,1e3) = 0.011 + 0.1 + 0.011 = 0.122 s.
# With B at utilisation 0.9: compute 2 * 1e8/2e8 = 1.0 s, latency 1.022 s.
# --------------------------------------------------------------------------- #


def hand_data(workloads: int = 2, layers: int = 2) -> dict:
    return {
        "name": "hand",
        "nodes": [
            {"id": "A", "flops": 0.0, "memory": 0.0},
            {"id": "B", "flops": 2e9, "memory": 1e8},
            {"id": "C", "flops": 2e9, "memory": 1e8},
            {"id": "O", "flops": 0.0, "memory": 1e10},
        ],
        "links": [
            {"source": "A", "target": "B", "bandwidth": 1e6, "latency": 0.01},
            {"source": "A", "target": "C", "bandwidth": 1e6, "latency": 0.01},
            {"source": "B", "target": "C", "bandwidth": 1e6, "latency": 0.015},
            {"source": "B", "target": "O", "bandwidth": 1e6, "latency": 0.1},
            {"source": "C", "target": "O", "bandwidth": 2e6, "latency": 1.0},
        ],
        "models": [{
            "id": "m", "input_bytes": 1e3, "origin": "O",
            "layers": [{"name": f"l{k}", "flops": 1e8, "param_bytes": 1e6, "output_bytes": 1e3}
                       for k in range(layers)],
        }],
        "workloads": [{"id": f"w{k}", "model": "m", "source": "A", "rate": 1.0} for k in range(workloads)],
    }


@pytest.fixture
def hand() -> Problem:
    return Problem.from_dict(hand_data())


ON_B = {"w0": ["B", "B"], "w1": ["B", "B"]}


def rows_of(result, workload: str) -> pd.DataFrame:
    tl = result.timeline
    return tl[tl["workload"] == workload].reset_index(drop=True)


# --------------------------------------------------------------------------- #
# static == evaluate() at every snapshot
# --------------------------------------------------------------------------- #

STATIC_EVENTS = [
    (5.0, "node", "B", "utilization", 0.5),
    (7.0, "link", "A-B", "bandwidth", 5e5),
    (7.0, "workload", "w1", "rate", 3.0),
    (9.0, "link", "B-C", "latency", 0.5),
    (10.0, "node", "B", "available", 0.0),
    (20.0, "node", "B", "available", 1.0),
    (25.0, "link", "A-B", "available", 0.0),  # B is still reached via C ...
    (25.0, "link", "A-C", "available", 0.0),  # ... until A is cut off
]


def test_static_rows_equal_evaluate_on_every_snapshot(hand):
    trace = Trace.from_records(STATIC_EVENTS)
    result = replay(hand, trace, policy="static", initial=ON_B, horizon=30.0)
    changes: dict[str, dict] = {"nodes": {}, "links": {}, "workloads": {}}
    times = sorted({e[0] for e in STATIC_EVENTS})
    assert sorted(result.timeline["time"].unique()) == [0.0] + times
    for t in [0.0] + times:
        for when, kind, rid, attr, value in STATIC_EVENTS:
            if when == t:
                changes[kind + "s"].setdefault(rid, {})[attr] = bool(value) if attr == "available" else value
        snapshot = hand.replace(**{k: v for k, v in changes.items() if v})
        ev = evaluate(snapshot, ON_B)
        rows = result.timeline[result.timeline["time"] == t].set_index("workload")
        for wid in ("w0", "w1"):
            up = bool(snapshot.node_available[snapshot.node_index["B"]]) and math.isfinite(ev.latency[wid])
            assert rows.loc[wid, "up"] == up
            expected = ev.latency[wid] if up else math.inf
            assert rows.loc[wid, "latency"] == pytest.approx(expected, rel=1e-12)
        util = result.utilization[result.utilization["time"] == t].set_index("id")["utilization"]
        assert util["B"] == pytest.approx(ev.node_utilization["B"], rel=1e-12)
        assert util["A-B"] == pytest.approx(ev.link_utilization["A-B"], rel=1e-12)


def test_incremental_snapshot_matches_a_validated_rebuild(hand):
    from placement_opt.replay import Snapshots

    trace = Trace.from_records(STATIC_EVENTS)
    snaps = Snapshots(hand, trace.events)
    snaps.advance(0.0)
    _ = snaps.problem.routes, snaps.problem.compute_time, snaps.problem.flat  # fill the caches
    snaps.advance(9.0)
    rebuilt = hand.replace(nodes={"B": {"utilization": 0.5}},
                           links={"A-B": {"bandwidth": 5e5}, "B-C": {"latency": 0.5}},
                           workloads={"w1": {"rate": 3.0}})
    got, want = snaps.problem, rebuilt
    for name in ("compute_time", "effective_flops", "workload_rate", "link_bandwidth"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    np.testing.assert_array_equal(got.routes.latency, want.routes.latency)
    np.testing.assert_array_equal(got.routes.bandwidth, want.routes.bandwidth)
    assert got.instance == want.instance


def test_a_workload_subset_keeps_the_routes_and_matches_a_fresh_build(hand):
    """``with_records`` (the replay's restriction to servable workloads) reuses
    the routes and compute times, and rebuilds every workload array: they equal
    those of a Problem validated from scratch without the dropped workload."""
    _ = hand.routes, hand.compute_time, hand.flat, hand.workload_source  # fill the caches
    sub = hand.with_records(workloads=[hand.workloads[1]])
    data = hand.to_dict()
    data["workloads"] = [data["workloads"][1]]
    fresh = Problem.from_dict(data)
    assert sub.routes is hand.routes and sub.compute_time is hand.compute_time
    assert sub.workload_ids == fresh.workload_ids == (hand.workload_ids[1],)
    for name in ("workload_source", "workload_sink", "workload_rate", "workload_slo"):
        np.testing.assert_array_equal(getattr(sub, name), getattr(fresh, name))
    np.testing.assert_array_equal(sub.flat.global_layer, fresh.flat.global_layer)
    np.testing.assert_array_equal(sub.flat.transfer_to, fresh.flat.transfer_to)
    with pytest.raises(ValueError, match="keep their ids"):
        hand.with_records(nodes=hand.nodes[:-1])


def test_static_failure_and_recovery_downtime(hand):
    # B fails at 10 and recovers at 20; A is cut off at 25 (horizon 30): both
    # workloads are down on [10, 20) and [25, 30) -> 2 * 15 workload-seconds.
    trace = Trace.from_records(STATIC_EVENTS)
    result = replay(hand, trace, policy="static", initial=ON_B, horizon=30.0)
    w0 = rows_of(result, "w0")
    down = w0.loc[~w0["up"], "time"].tolist()
    assert down == [10.0, 25.0]
    assert result.summary["downtime"] == pytest.approx(2 * 15.0)
    assert list(w0["duration"]) == [5.0, 2.0, 2.0, 1.0, 10.0, 5.0, 5.0]
    assert np.isinf(w0.loc[~w0["up"], "latency"]).all()
    ev = result.events
    assert ev[ev["event"] == "failure"][["time", "id"]].values.tolist() == [[10.0, "B"], [25.0, "A-B"], [25.0, "A-C"]]
    assert ev[ev["event"] == "recovery"][["time", "id"]].values.tolist() == [[20.0, "B"]]
    assert result.summary["replans"] == 0 and result.summary["bytes_migrated"] == 0


def test_mean_and_p95_are_time_weighted(hand):
    # B at utilisation 0.9 from t=4 (horizon 10): latency 0.122 for 4 s, 1.022 for 6 s.
    trace = Trace.from_records([(4.0, "node", "B", "utilization", 0.9)])
    result = replay(hand, trace, policy="static", initial=ON_B, horizon=10.0)
    assert result.summary["mean_latency"] == pytest.approx((4 * 0.122 + 6 * 1.022) / 10)
    assert result.summary["p95_latency"] == pytest.approx(1.022)
    assert result.summary["downtime"] == 0.0


def test_slo_miss_time_counts_late_and_down_time(hand):
    data = hand_data()
    data["workloads"][0]["slo"] = 0.5
    problem = Problem.from_dict(data)
    # latency 1.022 > 0.5 on [4, 8); down on [8, 10)
    trace = Trace.from_records([(4.0, "node", "B", "utilization", 0.9), (8.0, "node", "B", "available", 0.0)])
    result = replay(problem, trace, policy="static", initial=ON_B, horizon=10.0)
    # w0 (SLO 0.5) is late on [4, 8) and down on [8, 10): 6 s missed, 4 s of it late;
    # w1 has no SLO, so its down time is downtime but never SLO-miss time.
    assert result.summary["slo_miss_time"] == pytest.approx(6.0)
    assert result.summary["slo_late_time"] == pytest.approx(4.0)
    assert result.summary["downtime"] == pytest.approx(2 * 2.0)
    w0 = rows_of(result, "w0")
    assert w0["slo_ok"].tolist() == [True, False, False]
    assert rows_of(result, "w1")["slo_ok"].tolist() == [True, True, False]


# --------------------------------------------------------------------------- #
# make-before-break and migration bytes
# --------------------------------------------------------------------------- #


def test_make_before_break_old_plan_serves_while_loading(hand):
    # At 10, B goes to utilisation 0.9: over capacity (2 workloads * 1.0 s of compute per s)
    # and latency 1.022 > 1.2 * 0.122 -> re-plan to [C, C].
    # Loads of (l0, C) and (l1, C): from holder B, t(B,C,1e6) = 0.015 + 1e6/1e6 = 1.015 s;
    # from the origin O the route is O-B-C: 0.1 + 0.015 + 1e6/1e6 = 1.115 s.  B is nearer.
    # Until 11.015 the old plan serves (latency 1.022); then [C, C] (0.122).
    trace = Trace.from_records([(10.0, "node", "B", "utilization", 0.9)])
    result = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=20.0)
    w0 = rows_of(result, "w0")
    assert w0["time"].tolist() == pytest.approx([0.0, 10.0, 11.015])
    assert w0["latency"].tolist() == pytest.approx([0.122, 1.022, 0.122])
    assert w0["up"].all()
    mig = result.migrations
    assert sorted(zip(mig["layer"], mig["node"], mig["source"])) == [(0, "C", "B"), (1, "C", "B")]
    assert mig["end"].tolist() == pytest.approx([11.015, 11.015])
    assert (mig["status"] == "complete").all()
    # shared weights are loaded once for both workloads: 2 layers * 1e6 bytes
    assert result.summary["bytes_migrated"] == pytest.approx(2e6)
    assert result.summary["replans"] == 1
    assert result.summary["downtime"] == 0.0
    loads = result.events[result.events["event"] == "load_complete"]
    assert sorted(loads["id"]) == ["w0", "w1"] and (loads["time"] == 11.015).all()
    assert result.plans[-1][1].assignment["w0"] == ("C", "C")


def test_workload_down_while_loading_when_old_plan_is_broken(hand):
    # B fails at 10: the holder is gone, so the weights come from the origin O over
    # the direct C-O link: 1.0 + 1e6/2e6 = 1.5 s -> down on [10, 11.5).
    # B recovers at 15; the plan on C is fine, so reactive does not re-plan again.
    trace = Trace.from_records([(10.0, "node", "B", "available", 0.0), (15.0, "node", "B", "available", 1.0)])
    result = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=20.0)
    w0 = rows_of(result, "w0")
    assert w0["time"].tolist() == pytest.approx([0.0, 10.0, 11.5, 15.0])
    assert w0["up"].tolist() == [True, False, True, True]
    assert result.summary["downtime"] == pytest.approx(2 * 1.5)
    assert set(result.migrations["source"]) == {"O"}
    assert result.summary["bytes_migrated"] == pytest.approx(2e6)
    assert result.summary["replans"] == 1
    static = replay(hand, trace, policy="static", initial=ON_B, horizon=20.0)
    assert static.summary["downtime"] == pytest.approx(2 * 5.0)


def test_loads_in_flight_at_the_horizon_are_not_counted(hand):
    trace = Trace.from_records([(10.0, "node", "B", "available", 0.0)])
    result = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=11.0)
    assert result.summary["bytes_migrated"] == 0.0
    assert result.summary["bytes_started"] == pytest.approx(2e6)
    assert (result.migrations["status"] == "in_flight").all()
    assert result.summary["downtime"] == pytest.approx(2 * 1.0)


def test_partial_move_loads_only_new_layers():
    # Three layers on [B, B, C]; B slows down at 5 (utilisation 0.95), the re-plan
    # is [C, C, C] (0.011 + 3 * 0.05 + 0.011 = 0.172 s).  Layer 2 is already on C:
    # only layers 0 and 1 are loaded, from B (1.015 s each) -> 2e6 bytes.
    problem = Problem.from_dict(hand_data(workloads=1, layers=3))
    trace = Trace.from_records([(5.0, "node", "B", "utilization", 0.95)])
    result = replay(problem, trace, policy="reactive", solver="brute-force",
                    initial={"w0": ["B", "B", "C"]}, horizon=10.0)
    assert result.plans[-1][1].assignment["w0"] == ("C", "C", "C")
    assert result.summary["bytes_migrated"] == pytest.approx(2e6)
    assert sorted(result.migrations["layer"]) == [0, 1]
    assert rows_of(result, "w0")["latency"].iloc[-1] == pytest.approx(0.172)
    assert rows_of(result, "w0")["time"].iloc[-1] == pytest.approx(6.015)


def test_unservable_workload_does_not_block_the_others():
    # w1 starts at device D (links to B and C); D fails at 5, so no plan can serve
    # w1.  B slows down at 6: w0 must still be re-planned to [C, C] (loads from B,
    # 1.015 s, switch at 7.015) while w1 keeps its plan and stays down.
    data = hand_data()
    data["nodes"].append({"id": "D", "flops": 0.0, "memory": 0.0})
    data["links"] += [{"source": "D", "target": "B", "bandwidth": 1e6, "latency": 0.01},
                      {"source": "D", "target": "C", "bandwidth": 1e6, "latency": 0.01}]
    data["workloads"][1]["source"] = "D"
    problem = Problem.from_dict(data)
    trace = Trace.from_records([(5.0, "node", "D", "available", 0.0), (6.0, "node", "B", "utilization", 0.9)])
    result = replay(problem, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=10.0)
    w0, w1 = rows_of(result, "w0"), rows_of(result, "w1")
    assert w0["time"].tolist() == pytest.approx([0.0, 5.0, 6.0, 7.015])
    assert w0["latency"].tolist() == pytest.approx([0.122, 0.122, 1.022, 0.122])
    assert w1["up"].tolist() == [True, False, False, False]
    assert result.plans[-1][1].assignment == {"w0": ("C", "C"), "w1": ("B", "B")}
    assert result.summary["downtime"] == pytest.approx(5.0)


def test_best_effort_plan_when_no_plan_meets_the_slo(hand):
    # Every plan takes >= 0.122 s, the SLO is 0.1 s: the initial solve drops the
    # SLO instead of failing, and the whole horizon is SLO-miss time (2 workloads * 10 s).
    data = hand_data()
    for w in data["workloads"]:
        w["slo"] = 0.1
    result = replay(Problem.from_dict(data), Trace.from_records([]), solver="brute-force", horizon=10.0)
    assert result.timeline["latency"].tolist() == pytest.approx([0.122, 0.122])
    assert not result.timeline["slo_ok"].any()
    assert result.summary["slo_miss_time"] == pytest.approx(20.0)


def test_budget_stops_replanning(hand):
    trace = Trace.from_records([(10.0, "node", "B", "available", 0.0)])
    result = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=20.0, budget=0.0)
    assert result.summary["replans"] == 0
    assert result.summary["downtime"] == pytest.approx(2 * 10.0)


# --------------------------------------------------------------------------- #
# migrate mode
# --------------------------------------------------------------------------- #


def test_coarsen_fuses_segments_by_hand():
    data = hand_data(workloads=2, layers=3)
    data["models"][0]["layers"][2]["output_bytes"] = 7e3
    data["models"][0]["layer_times"] = {"gpu": [0.1, 0.2, 0.4]}
    data["workloads"][0]["private_layers"] = 2
    problem = Problem.from_dict(data)
    segs = {"w0": ((0, 1), (2, 2)), "w1": ((0, 1), (2, 2))}
    coarse = coarsen(problem, segs)
    assert len(coarse.problem.models) == 1  # same model and cuts: weights stay shared
    model = coarse.problem.models[0]
    assert [layer.flops for layer in model.layers] == [2e8, 1e8]
    assert [layer.param_bytes for layer in model.layers] == [2e6, 1e6]
    assert [layer.output_bytes for layer in model.layers] == [1e3, 7e3]
    assert model.layer_times["gpu"] == pytest.approx((0.3, 0.4))
    # the first 2 layers are private: only segment 0 contains a private layer
    assert coarse.problem.workloads[0].private_layers == 1
    assert coarse.expand({"w0": ("B", "C"), "w1": ("C", "C")}) == {"w0": ("B", "B", "C"), "w1": ("C", "C", "C")}
    different = coarsen(problem, {"w0": ((0, 1), (2, 2)), "w1": ((0, 0), (1, 2))})
    assert len(different.problem.models) == 2


def test_segments_of():
    assert segments_of(("a", "a", "b", "a")) == ((0, 1), (2, 2), (3, 3))


def test_migrate_mode_keeps_cut_points():
    from placement_opt.generators import generate

    problem = generate("smart-city", seed=0, size="s")
    n_layers = len(problem.models[0].layers)
    cut = n_layers // 2
    initial = dict.fromkeys(problem.workload_ids, ("mec-1",) * cut + ("mec-2",) * (n_layers - cut))
    trace = Trace.from_records([(10.0, "node", "mec-1", "available", 0.0),
                                (30.0, "node", "mec-2", "available", 0.0)])
    result = replay(problem, trace, policy="reactive", mode="migrate", initial=initial, horizon=50.0, time_limit=5)
    assert result.summary["replans"] >= 1
    for _, plan in result.plans:
        for nodes in plan.assignment.values():
            bounds = {b for _, b in segments_of(nodes)[:-1]}
            assert bounds <= {cut - 1}
            assert "mec-1" not in nodes or plan is result.plans[0][1]
    # both segments moved off the failed nodes, so the workloads are up at the end
    last = result.timeline[result.timeline["time"] == result.timeline["time"].max()]
    assert last["up"].all()


# --------------------------------------------------------------------------- #
# policies
# --------------------------------------------------------------------------- #


def test_trigger_counts(hand):
    quiet = Trace.from_records([(3.0, "node", "C", "utilization", 0.1), (3.0, "link", "B-C", "latency", 0.02),
                                (7.0, "node", "C", "utilization", 0.2)])
    common = {"solver": "brute-force", "initial": ON_B, "horizon": 20.0}
    periodic = replay(hand, quiet, policy="periodic", interval=4.0, **common)
    assert periodic.summary["replans"] == 4  # at 4, 8, 12, 16
    assert periodic.events[periodic.events["event"] == "replan"]["time"].tolist() == [4.0, 8.0, 12.0, 16.0]
    oracle = replay(hand, quiet, policy="oracle", **common)
    assert oracle.summary["replans"] == 2  # distinct event times 3 and 7
    reactive = replay(hand, quiet, policy="reactive", **common)
    assert reactive.summary["replans"] == 0  # the plan on B is untouched
    # nothing better than staying on B (migration is weighted), so nothing moves
    for result in (periodic, oracle, reactive):
        assert result.summary["bytes_migrated"] == 0
        assert result.summary["decision_time_max"] >= result.summary["decision_time_mean"] >= 0


def test_reactive_threshold(hand):
    # utilisation 0.3: compute 2 * 1e8 / 1.4e9 = 0.142857 s, latency 0.164857 s,
    # 1.351 times 0.122: above a 0.2 threshold, below 0.5.
    trace = Trace.from_records([(5.0, "node", "B", "utilization", 0.3)])
    low = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=10.0, threshold=0.2)
    high = replay(hand, trace, policy="reactive", solver="brute-force", initial=ON_B, horizon=10.0, threshold=0.5)
    assert low.summary["replans"] == 1 and high.summary["replans"] == 0
    assert low.events[low.events["event"] == "replan"]["id"].tolist() == ["reactive:degraded"]


def test_reactive_trigger_names(hand):
    data = hand_data()
    data["workloads"][0]["slo"] = 0.5
    for w in data["workloads"]:
        w["rate"] = 0.4  # B at utilisation 0.9 stays within compute: 2 * 0.4 * 1.0 s = 0.8
    slo = Problem.from_dict(data)
    slow = Trace.from_records([(5.0, "node", "B", "utilization", 0.9)])  # 1.022 s > 0.5 s
    down = Trace.from_records([(5.0, "node", "B", "available", 0.0)])
    common = {"policy": "reactive", "solver": "brute-force", "initial": ON_B, "horizon": 10.0}
    for problem, trace, trigger in ((slo, slow, "reactive:slo"), (hand, down, "reactive:infeasible")):
        result = replay(problem, trace, **common)
        assert result.events[result.events["event"] == "replan"]["id"].tolist() == [trigger]


def test_initial_plan_is_solved_when_not_given(hand):
    result = replay(hand, Trace.from_records([]), solver="brute-force", horizon=1.0)
    assert result.plans[0][1].assignment["w0"] in (("B", "B"), ("C", "C"))
    assert result.timeline["latency"].tolist() == pytest.approx([0.122, 0.122])


def test_weighted_quantile():
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 8.0]), 0.95) == 3.0
    assert weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([10.0, 1.0, 0.0]), 0.9) == 1.0
    assert math.isnan(weighted_quantile(np.array([1.0]), np.array([0.0]), 0.5))


# --------------------------------------------------------------------------- #
# policy objects, chosen by name from one table
# --------------------------------------------------------------------------- #


def test_policy_table_picks_one_class_per_name():
    assert POLICIES == ("static", "periodic", "reactive", "oracle") == tuple(POLICY_CLASSES)
    expected = {"static": Static, "periodic": Periodic, "reactive": Reactive, "oracle": Oracle}
    for name, cls in expected.items():
        options = ReplayOptions(policy=name, interval=4.0, threshold=0.5, initial=ON_B)
        first, second = options.make_policy(), options.make_policy()
        assert type(first) is cls
        assert first is not second  # a fresh object per replay: policies may keep state
    assert ReplayOptions(policy="periodic", interval=4.0).make_policy() == Periodic(4.0)
    assert ReplayOptions(policy="reactive", threshold=0.5).make_policy() == Reactive(0.5)
    assert ReplayOptions(policy="reactive").make_policy().threshold == DEFAULT_THRESHOLD == 0.2


def test_periodic_ticks_and_static_never():
    periodic = Periodic(4.0)
    # the next tick after t, with ticks within 1e-9 (relative) of t counted as t
    assert [periodic.next_decision(t) for t in (0.0, 3.0, 4.0, 4.0 - 1e-12, 5.0)] == [4.0, 4.0, 8.0, 8.0, 8.0]
    assert [periodic.trigger(t, [], None) for t in (4.0, 6.0, 8.0 + 1e-12)] == ["periodic", None, "periodic"]
    assert Static().next_decision(0.0) == math.inf and Static().trigger(5.0, [], None) is None
    assert not Static.replans and Periodic.replans and Reactive.replans and Oracle.replans


class FakeState:
    """A ReplayState whose latest plan has the given violations and objective."""

    def __init__(self, kinds=(), objective=1.0, servable=(0,), relaxed=False, planned_at=0.0):
        self.evaluation = type("Ev", (), {"violations": [type("V", (), {"kind": k}) for k in kinds],
                                          "objective": objective})
        self._servable = list(servable)
        self.relaxed, self.planned_at, self.plan_objective = relaxed, planned_at, 1.0

    def latest_evaluation(self):
        return self.evaluation

    def servable(self):
        return list(self._servable)

    def is_event_time(self, t):
        return t in (3.0, 7.0)


def test_reactive_reasons_and_threshold():
    policy = Reactive(threshold=0.2)
    assert policy.trigger(5.0, [], FakeState(kinds=("memory", "slo"))) == "reactive:infeasible"
    assert policy.trigger(5.0, [], FakeState(kinds=("slo",))) == "reactive:slo"
    # objective 1.2 = (1 + threshold) * plan objective: not above it (1e-9 tolerance)
    assert policy.trigger(5.0, [], FakeState(objective=1.2)) is None
    assert policy.trigger(5.0, [], FakeState(objective=1.2 * (1 + 1e-8))) == "reactive:degraded"
    # after a best-effort plan at 10, SLO misses are ignored for REACTIVE_RETRY seconds
    relaxed = FakeState(kinds=("slo",), relaxed=True, planned_at=10.0)
    assert policy.trigger(10.0 + REACTIVE_RETRY - 1, [], relaxed) is None
    assert policy.trigger(10.0 + REACTIVE_RETRY, [], relaxed) == "reactive:slo"


def test_reactive_waits_after_a_failed_replan():
    policy = Reactive(threshold=0.2)
    broken = FakeState(kinds=("memory",), servable=(0,))
    policy.replan_failed(10.0, broken)
    assert policy.failed_at == 10.0 and policy.failed_servable == [0]
    assert policy.trigger(20.0, [], broken) is None  # nothing changed: wait
    assert policy.trigger(20.0, [("link", "A-B", True)], broken) is None  # a link recovery is not enough
    assert policy.trigger(20.0, [("node", "B", False)], broken) is None  # nor a failure
    assert policy.trigger(20.0, [("node", "B", True)], broken) == "reactive:infeasible"  # a node is back
    assert policy.trigger(20.0, [], FakeState(kinds=("memory",), servable=(0, 1))) == "reactive:infeasible"
    assert policy.trigger(10.0 + REACTIVE_RETRY, [], broken) == "reactive:infeasible"  # waited long enough


def test_oracle_replans_at_event_times_only():
    assert [Oracle().trigger(t, [], FakeState()) for t in (3.0, 4.0, 7.0)] == ["oracle", None, "oracle"]


def test_a_new_policy_is_one_class_and_one_table_entry(hand, monkeypatch):
    class AfterFive(Policy):
        """Re-plans at event times after 5 s, and at t = 12 (a decision point of its own)."""

        def next_decision(self, t):
            return 12.0 if t < 12.0 else math.inf

        def trigger(self, t, flips, state):
            return "after-five" if t > 5.0 and (state.is_event_time(t) or t == 12.0) else None

    monkeypatch.setitem(POLICY_CLASSES, "after-five", AfterFive)
    trace = Trace.from_records([(3.0, "node", "C", "utilization", 0.1), (7.0, "node", "C", "utilization", 0.2)])
    result = replay(hand, trace, policy="after-five", solver="brute-force", initial=ON_B, horizon=20.0)
    replans = result.events[result.events["event"] == "replan"]
    assert replans["time"].tolist() == [7.0, 12.0] and set(replans["id"]) == {"after-five"}
    assert sorted(result.timeline["time"].unique()) == [0.0, 3.0, 7.0, 12.0]
    with pytest.raises(ValueError, match="unknown policy 'after-six'.*after-five"):
        ReplayOptions(policy="after-six")


# --------------------------------------------------------------------------- #
# ReplayOptions: every setting, checked in one place
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("settings, words", [
    ({"policy": "sometimes"}, "unknown policy 'sometimes': one of static, periodic, reactive, oracle"),
    ({"mode": "teleport"}, "unknown mode 'teleport': one of migrate, resplit"),
    ({"policy": "periodic"}, "policy 'periodic' needs interval"),
    ({"interval": 0.0}, "interval must be a finite number of seconds > 0"),
    ({"interval": math.inf}, "interval must be"),
    ({"threshold": -1.0}, "threshold must be a number >= 0"),
    ({"threshold": math.nan}, "threshold must be"),
    ({"horizon": -5.0}, "horizon must be a finite number of seconds >= 0"),
    ({"horizon": "soon"}, "horizon must be"),
    ({"migration_weight": -1.0}, "migration_weight must be a finite number >= 0"),
    ({"migration_weight": math.inf}, "migration_weight must be"),
    ({"time_limit": 0.0}, "time_limit must be a number of seconds > 0"),
    ({"budget": -1.0}, "budget must be a number of seconds >= 0"),
    ({"solver_options": ["limit"]}, "solver_options must be a mapping"),
    ({"policy": "reactive", "solver": "brute-force", "solver_options": {"seed": 1}}, "cannot set 'seed'"),
])
def test_options_refuse_bad_settings(settings, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        ReplayOptions(**({"initial": ON_B} | settings))


def test_options_check_the_solver_and_its_options_when_it_will_run():
    with pytest.raises(SolverError, match="unknown solver 'local-serch' .*did you mean 'local-search'"):
        ReplayOptions(solver="local-serch")  # no initial plan: the solver makes it
    with pytest.raises(SolverError, match="unknown solver 'nope'"):
        ReplayOptions(policy="reactive", solver="nope", initial=ON_B)
    with pytest.raises(SolverError, match="no option 'max_pases' .*did you mean 'max_passes'"):
        ReplayOptions(policy="oracle", solver_options={"max_pases": 3}, initial=ON_B)
    with pytest.raises(SolverError, match="option 'limit'"):
        ReplayOptions(solver="brute-force", solver_options={"limit": "many"})
    # static with an initial plan never calls the solver, so its name is not checked
    assert ReplayOptions(policy="static", solver="nope", initial=ON_B).solver == "nope"
    # solve()'s common options are not solver parameters, and pass
    ok = ReplayOptions(solver="brute-force", solver_options={"threads": 1, "limit": 10})
    assert dict(ok.solver_options) == {"threads": 1, "limit": 10}


def test_options_normalise_and_are_frozen():
    given = {"limit": 10}
    options = ReplayOptions(solver="brute-force", threshold=1, seed=3.0, horizon=5, solver_options=given,
                            progress=0)
    assert options.threshold == 1.0 and isinstance(options.threshold, float)
    assert options.seed == 3 and isinstance(options.seed, int)
    assert options.horizon == 5.0 and isinstance(options.horizon, float)
    assert options.progress is False
    given["limit"] = 99  # the options hold their own read-only copy
    assert options.solver_options["limit"] == 10
    with pytest.raises(TypeError):
        options.solver_options["limit"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        options.policy = "oracle"  # type: ignore[misc]
    assert ReplayOptions(mode="migrate").keeps_cut_points and not ReplayOptions().keeps_cut_points


def test_options_horizon_for_a_trace():
    events = [(2.0, "node", "B", "utilization", 0.1), (9.0, "node", "B", "utilization", 0.2)]
    assert ReplayOptions(initial=ON_B).horizon_for(Trace.from_records(events)) == 9.0  # last event
    assert ReplayOptions(initial=ON_B).horizon_for(Trace.from_records(events, end=30.0)) == 30.0  # trace end
    assert ReplayOptions(initial=ON_B, horizon=4).horizon_for(Trace.from_records(events, end=30.0)) == 4.0
    assert ReplayOptions(initial=ON_B).horizon_for(Trace.from_records([])) == 0.0


def test_replay_takes_options_or_settings_not_both(hand):
    trace = Trace.from_records([(10.0, "node", "B", "utilization", 0.9)])
    settings = {"policy": "reactive", "solver": "brute-force", "initial": ON_B, "horizon": 20.0}
    by_settings = replay(hand, trace, **settings)
    by_options = replay(hand, trace, options=ReplayOptions(**settings))
    pd.testing.assert_frame_equal(by_options.timeline, by_settings.timeline)
    pd.testing.assert_frame_equal(by_options.events, by_settings.events)
    pd.testing.assert_frame_equal(by_options.migrations, by_settings.migrations)
    assert by_options.summary["replans"] == by_settings.summary["replans"] == 1
    options = ReplayOptions(**settings)
    with pytest.raises(TypeError, match="either options= or individual settings.*got policy"):
        replay(hand, trace, policy="static", options=options)  # even a default value is refused
    with pytest.raises(TypeError, match="got policy, solver"):
        replay(hand, trace, "reactive", "brute-force", options=options)
    with pytest.raises(TypeError, match="got budget"):
        replay(hand, trace, budget=None, options=options)


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kwargs, words", [
    ({"policy": "sometimes"}, "unknown policy"),
    ({"mode": "teleport"}, "unknown mode"),
    ({"policy": "periodic"}, "needs interval"),
    ({"policy": "periodic", "interval": 0.0}, "interval"),
    ({"threshold": -1.0}, "threshold"),
    ({"horizon": -5.0}, "horizon"),
])
def test_bad_arguments(hand, kwargs, words):
    with pytest.raises(ValueError, match=words):
        replay(hand, Trace.from_records([]), initial=ON_B, **kwargs)


def test_bad_trace_names_the_row(hand):
    trace = Trace.from_records([(1.0, "node", "B", "utilization", 0.2), (2.0, "node", "Z", "available", 0.0)])
    with pytest.raises(TraceError, match="Z"):
        replay(hand, trace, initial=ON_B)


def test_bad_initial_plan(hand):
    from placement_opt.errors import SolutionError

    with pytest.raises(SolutionError, match="w1"):
        replay(hand, Trace.from_records([]), initial={"w0": ["B", "B"]}, horizon=1.0)


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #


def _write(tmp_path, problem_data: dict, trace_text: str):
    import json

    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(problem_data))
    trace = tmp_path / "trace.csv"
    trace.write_text(trace_text)
    return inst, trace


def test_cli_replay_writes_timeline(tmp_path):
    from placement_opt.cli import app

    inst, trace = _write(tmp_path, hand_data(), "time,kind,id,attribute,value\n10,node,B,available,0\n")
    out = tmp_path / "out" / "timeline.csv"
    res = CliRunner().invoke(app, ["replay", str(inst), str(trace), "--policy", "static", "--solver", "brute-force",
                                   "--horizon", "20", "--output", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert list(frame.columns[:5]) == ["time", "workload", "latency", "up", "slo_ok"]
    assert "downtime" in res.output
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize("trace_text", ["time,kind,id,attribute,value\n1,node,Z,available,0\n",
                                        "not,a,trace\n"])
def test_cli_bad_trace_exits_2(tmp_path, trace_text):
    from placement_opt.cli import app

    inst, trace = _write(tmp_path, hand_data(), trace_text)
    res = CliRunner().invoke(app, ["replay", str(inst), str(trace), "--solver", "brute-force"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_cli_bad_instance_and_option_exit_2(tmp_path):
    from placement_opt.cli import app

    bad = hand_data()
    bad["links"][0]["bandwidth"] = -1.0
    inst, trace = _write(tmp_path, bad, "time,kind,id,attribute,value\n")
    assert CliRunner().invoke(app, ["replay", str(inst), str(trace)]).exit_code == 2
    inst, trace = _write(tmp_path, hand_data(), "time,kind,id,attribute,value\n")
    res = CliRunner().invoke(app, ["replay", str(inst), str(trace), "--policy", "periodic"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["replay", str(inst), str(trace), "--solver", "nope"])
    assert res.exit_code == 2


@pytest.mark.parametrize("option, words", [
    (["--policy", "sometimes"], "unknown policy"),
    (["--policy", "periodic", "--interval", "-3"], "interval must be"),
    (["--time-limit", "0"], "time_limit must be"),
    (["--budget", "-1"], "budget must be"),
    (["--policy", "reactive", "--solver", "local-serch"], "did you mean 'local-search'"),
])
def test_cli_bad_replay_options_exit_2_before_reading_the_trace(tmp_path, option, words):
    from placement_opt.cli import app

    inst, trace = _write(tmp_path, hand_data(), "not,a,trace\n")  # never read: the options fail first
    res = CliRunner().invoke(app, ["replay", str(inst), str(trace), *option])
    assert res.exit_code == 2
    assert words in " ".join(res.output.split()) and "Traceback" not in res.output


def test_cli_defaults_and_choices_are_the_replay_ones():
    import inspect

    from placement_opt.cli import app
    from placement_opt.cli.replay import replay_cmd
    from placement_opt.replay import DEFAULT_TIME_LIMIT

    params = inspect.signature(replay_cmd).parameters
    assert params["threshold"].default == DEFAULT_THRESHOLD
    assert params["time_limit"].default == DEFAULT_TIME_LIMIT
    help_text = " ".join(CliRunner().invoke(app, ["replay", "--help"]).output.replace("│", " ").split())
    assert "static, periodic, reactive or oracle" in help_text and "migrate or resplit" in help_text
