"""Tests of placement_opt.plot: what is drawn, checked against hand computations.

The tiny network (all numbers chosen so that times are exact by hand)::

    a (device, 1e9 FLOP/s) --[1e6 B/s, 10 ms]-- b (edge, 4e9 at 50 % load = 2e9)
    b --[2e6 B/s, 20 ms]-- c (cloud, 4e9)        d (edge, unavailable) -- c

Model m: input 1e4 B; layers (flops, output bytes) = (1e8, 2e4), (2e8, 1e4), (4e8, 100).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

import placement_opt as po  # noqa: E402
from placement_opt import plot as pl  # noqa: E402
from placement_opt.errors import InputError, SolutionError  # noqa: E402
from placement_opt.replay import ReplayResult  # noqa: E402

TINY = {
    "name": "plot-tiny",
    "nodes": [
        {"id": "a", "flops": 1e9, "memory": 1e9, "tier": "device"},
        {"id": "b", "flops": 4e9, "utilization": 0.5, "memory": 1e9, "tier": "edge"},
        {"id": "c", "flops": 4e9, "memory": 1e9, "tier": "cloud"},
        {"id": "d", "flops": 4e9, "memory": 1e9, "tier": "edge", "available": False},
    ],
    "links": [
        {"source": "a", "target": "b", "bandwidth": 1e6, "latency": 0.01},
        {"source": "b", "target": "c", "bandwidth": 2e6, "latency": 0.02},
        {"source": "c", "target": "d", "bandwidth": 2e6, "latency": 0.02},
    ],
    "models": [{"id": "m", "input_bytes": 1e4, "layers": [
        {"name": "l0", "flops": 1e8, "param_bytes": 1e3, "output_bytes": 2e4},
        {"name": "l1", "flops": 2e8, "param_bytes": 1e3, "output_bytes": 1e4},
        {"name": "l2", "flops": 4e8, "param_bytes": 1e3, "output_bytes": 100},
    ]}],
    "workloads": [
        {"id": "w", "model": "m", "source": "a", "rate": 0.1},
        {"id": "v", "model": "m", "source": "b", "sink": "c", "rate": 0.1, "slo": 0.5},
        {"id": "u", "model": "m", "source": "a", "rate": 0.1},
    ],
}
ASSIGNMENT = {"w": ["a", "b", "c"], "v": ["b", "b", "b"], "u": ["c", "c", "c"]}

# Hand computation (SPEC 4/5): compute = flops / F, transfer = lat + bytes / bw.
HAND_BARS = {
    # w: a->a input is 0 (left out); a: 1e8/1e9; a->b: .01 + 2e4/1e6; b: 2e8/2e9;
    #    b->c: .02 + 1e4/2e6; c: 4e8/4e9; result c->b->a: .03 + 100/1e6
    "w": [("compute", 0.1), ("transfer", 0.03), ("compute", 0.1), ("transfer", 0.025),
          ("compute", 0.1), ("result", 0.0301)],
    # v: b runs all (7e8 / 2e9), result b->c: .02 + 100/2e6
    "v": [("compute", 0.35), ("result", 0.02005)],
    # u: input a->b->c: .03 + 1e4/1e6; c: 7e8/4e9; result c->a: .03 + 100/1e6
    "u": [("input", 0.04), ("compute", 0.175), ("result", 0.0301)],
}
HAND_LATENCY = {w: sum(d for _, d in bars) for w, bars in HAND_BARS.items()}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def tiny() -> po.Problem:
    return po.Problem.from_dict(TINY)


@pytest.fixture
def ax():
    return plt.subplots()[1]


def patches_with(ax, prefix: str) -> list:
    return [p for p in ax.patches if (p.get_gid() or "").startswith(prefix)]


def lines_with(ax, gid: str) -> list:
    return [line for line in ax.lines if line.get_gid() == gid]


# ------------------------------------------------------------------ segments
def test_segment_bars_match_hand_computation(tiny):
    for wid, expected in HAND_BARS.items():
        bars = pl.segment_bars(tiny, ASSIGNMENT, wid)
        assert [b.kind for b in bars] == [k for k, _ in expected]
        assert [b.duration for b in bars] == pytest.approx([d for _, d in expected], rel=1e-12)
        starts = np.concatenate([[0.0], np.cumsum([d for _, d in expected])[:-1]])
        assert [b.start for b in bars] == pytest.approx(starts, rel=1e-12, abs=1e-15)


def test_gantt_bars_have_hand_computed_extents(tiny, ax):
    out = pl.plot_segments(tiny, ASSIGNMENT, ax=ax)
    assert out is ax
    for wid, expected in HAND_BARS.items():
        compute = patches_with(ax, f"compute:{wid}")
        transfer = patches_with(ax, f"transfer:{wid}")
        assert [p.get_width() for p in compute] == pytest.approx([d for k, d in expected if k == "compute"])
        assert [p.get_width() for p in transfer] == pytest.approx([d for k, d in expected if k != "compute"])
    # one row per workload, first workload on top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["u", "v", "w"]
    assert [p.get_y() + p.get_height() / 2 for p in patches_with(ax, "compute:w")] == pytest.approx([2, 2, 2])


def test_gantt_ends_at_the_evaluator_latency(tiny, ax):
    evaluation = po.evaluate(tiny, ASSIGNMENT)
    pl.plot_segments(tiny, ASSIGNMENT, ax=ax)
    for wid in ASSIGNMENT:
        end = max(p.get_x() + p.get_width() for p in patches_with(ax, f"compute:{wid}")
                  + patches_with(ax, f"transfer:{wid}"))
        assert end == pytest.approx(evaluation.latency[wid], rel=1e-12)
        assert end == pytest.approx(HAND_LATENCY[wid], rel=1e-12)


def test_gantt_ends_at_latency_on_a_generated_instance():
    from placement_opt.generators import generate

    problem = generate("smart-city", seed=4, size="s")
    solution = po.solve(problem, solver="random", seed=1)
    latency = po.evaluate(problem, solution).latency
    for wid in problem.workload_ids:
        bars = pl.segment_bars(problem, solution, wid)
        assert bars[-1].end == pytest.approx(latency[wid], rel=1e-9)
        assert sum(b.kind == "compute" for b in bars) == len(solution.segments(wid))


def test_gantt_draws_selected_workloads_and_slo(tiny, ax):
    pl.plot_segments(tiny, ASSIGNMENT, ax=ax, workloads=["v"])
    assert patches_with(ax, "compute:w") == []
    assert len(patches_with(ax, "compute:v")) == 1
    (slo,) = lines_with(ax, "slo:v")
    assert list(slo.get_xdata()) == [0.5, 0.5]


def test_gantt_creates_a_figure_without_ax(tiny):
    ax = pl.plot_segments(tiny, ASSIGNMENT)
    assert len(patches_with(ax, "compute:")) == 3 + 1 + 1


# ------------------------------------------------------------------ topology
def test_topology_routes_follow_problem_routes(tiny, ax):
    out = pl.plot_topology(tiny, ASSIGNMENT, ax=ax)
    assert out is ax
    gids = sorted(p.get_gid() for p in patches_with(ax, "route:"))
    # w: a->b, b->c (segments), c->b->a (result); u: a->b->c (input), c->b->a; v: b->c (result)
    expected = sorted(["route:w:a->b", "route:w:b->c", "route:w:c->b", "route:w:b->a",
                       "route:u:a->b", "route:u:b->c", "route:u:c->b", "route:u:b->a",
                       "route:v:b->c"])
    assert gids == expected


def test_topology_route_hops_agree_with_problem_route(tiny):
    hops = pl.route_hops(tiny, po.Solution(assignment=ASSIGNMENT), "u")
    link_of = {frozenset((e.source, e.target)): e.resolved_id for e in tiny.links}
    assert [link_of[frozenset(h)] for h in hops] == tiny.route("a", "c") + tiny.route("c", "a")


def _face(ax, marker: str, node_ids: list[str], node: str):
    (coll,) = [c for c in ax.collections if c.get_gid() == f"nodes:{marker}"]
    colors = coll.get_facecolors()
    return tuple(colors[node_ids.index(node)]) if len(colors) > 1 else tuple(colors[0])


def test_topology_colours_nodes_by_hosted_segments(tiny, ax):
    pl.plot_topology(tiny, ASSIGNMENT, ax=ax, workloads=["w", "v"])
    colors = pl.workload_colors(tiny.workload_ids)
    assert _face(ax, "o", ["a"], "a") == pytest.approx(to_rgba(colors["w"]))  # only w on a
    assert _face(ax, "s", ["b", "d"], "b") == pytest.approx(to_rgba(pl.SHARED_COLOR))  # w and v
    assert _face(ax, "s", ["b", "d"], "d") == pytest.approx(to_rgba(pl.UNAVAILABLE_COLOR))
    assert _face(ax, "D", ["c"], "c") == pytest.approx(to_rgba(colors["w"]))  # u not drawn
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["label:b"] == "b\nw: L2\nv: L1-3"
    assert labels["label:d"] == "d"


def test_topology_without_solution_draws_no_routes(tiny, ax):
    pl.plot_topology(tiny, ax=ax, layout="tier")
    assert patches_with(ax, "route:") == []
    assert {c.get_gid() for c in ax.collections if (c.get_gid() or "").startswith("nodes:")} == {
        "nodes:o", "nodes:s", "nodes:D"}


def test_topology_layout_by_positions(tiny, ax):
    pos = {"a": (0, 0), "b": (1, 0), "c": (2, 0), "d": (3, 0)}
    pl.plot_topology(tiny, ASSIGNMENT, ax=ax, layout=pos, workloads=["v"])
    (coll,) = [c for c in ax.collections if c.get_gid() == "nodes:D"]
    assert coll.get_offsets().tolist() == [[2.0, 0.0]]


def test_topology_refuses_bad_input(tiny, ax):
    with pytest.raises(InputError, match="unknown id 'x'"):
        pl.plot_topology(tiny, ASSIGNMENT, ax=ax, workloads=["x"])
    with pytest.raises(InputError, match="unknown layout"):
        pl.plot_topology(tiny, ASSIGNMENT, ax=ax, layout="circle-ish")
    with pytest.raises(SolutionError):
        pl.plot_topology(tiny, {"w": ["a", "b"]}, ax=ax)
    with pytest.raises(InputError, match="no assignment"):
        pl.plot_segments(tiny, po.Solution(status="no_solution"), ax=ax)


# ------------------------------------------------------------------ replay
def _result(migrations: pd.DataFrame | None = None) -> ReplayResult:
    times = [0.0, 10.0, 20.0, 30.0]
    timeline = pd.DataFrame({
        "time": times * 2,
        "workload": ["w1"] * 4 + ["w2"] * 4,
        "latency": [0.1, 0.2, np.inf, 0.15, 0.3, 0.3, 0.3, 0.3],
        "up": [True, True, False, True] + [True] * 4,
        "slo_ok": [True, True, False, True, True, False, True, True],
    })
    util = pd.DataFrame({
        "time": [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 30.0, 30.0, 30.0],
        "kind": ["node", "node", "link"] * 3,
        "id": ["n2", "n1", "e1"] * 3,
        "utilization": [0.5, 0.25, 0.9, 0.75, 0.0, 0.1, 1.5, 0.2, 0.3],
    })
    events = pd.DataFrame({
        "time": [10.0, 12.0, 18.0, 25.0, 26.0],
        "event": ["replan", "load_complete", "failure", "recovery", "replan"],
        "id": ["periodic", "w1", "n1", "n1", "reactive"],
        "detail": ["", "", "node", "node", ""],
    })
    if migrations is None:
        migrations = pd.DataFrame({
            "start": [4.0, 1.0, 6.0], "end": [12.0, 5.0, 8.0], "model": ["m"] * 3,
            "layer": [0, 1, 2], "node": ["n1", "n2", "n2"], "source": ["n2", "n1", "n1"],
            "bytes": [250.0, 100.0, 50.0],
        })
    return ReplayResult(timeline, util, [], events, migrations, {})


def test_latency_lines_gaps_and_markers(ax):
    out = pl.plot_latency(_result(), ax=ax)
    assert out is ax
    lines = {line.get_label(): line for line in ax.lines if line.get_label() in ("w1", "w2")}
    assert set(lines) == {"w1", "w2"}
    x, y = np.asarray(lines["w1"].get_xdata(), float), np.asarray(lines["w1"].get_ydata(), float)
    assert x.tolist() == [0, 10, 20, 30, 30]  # last value held to the last time
    assert np.isnan(y[2]) and y[[0, 1, 3]].tolist() == [0.1, 0.2, 0.15]
    assert [line.get_xdata()[0] for line in lines_with(ax, "event:replan")] == [10.0, 26.0]
    assert [line.get_xdata()[0] for line in lines_with(ax, "event:failure")] == [18.0]
    assert [line.get_xdata()[0] for line in lines_with(ax, "event:recovery")] == [25.0]
    assert lines_with(ax, "event:load_complete") == []
    (down,) = patches_with(ax, "down:w1")
    assert (down.get_x(), down.get_x() + down.get_width()) == (20.0, 30.0)
    assert patches_with(ax, "down:w2") == []
    (miss,) = lines_with(ax, "slo_miss:w2")
    assert list(miss.get_xdata()) == [10.0]


def test_latency_selected_workloads(ax):
    pl.plot_latency(_result(), ax=ax, workloads=["w2"])
    assert [line.get_label() for line in ax.lines if not (line.get_gid() or "").startswith(("event", "slo"))] == ["w2"]
    with pytest.raises(InputError, match="unknown id 'w3'"):
        pl.plot_latency(_result(), ax=ax, workloads=["w3"])


def test_utilization_heat_map_equals_pivot(ax):
    result = _result()
    out = pl.plot_utilization(result, ax=ax)
    assert out is ax
    (mesh,) = [c for c in ax.collections if c.__class__.__name__ == "QuadMesh"]
    expected = np.array([[0.5, 0.75, 1.5], [0.25, 0.0, 0.2]])  # rows n2, n1 (order of appearance)
    assert np.asarray(mesh.get_array()).reshape(2, 3) == pytest.approx(expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["n2", "n1"]
    # columns span [0, 10), [10, 30), [30, 50)
    xs = np.unique(np.asarray(mesh.get_coordinates())[..., 0])
    assert xs.tolist() == [0.0, 10.0, 30.0, 50.0]
    assert mesh.norm.vmax == 1.5


def test_utilization_links_and_bad_kind(ax):
    pl.plot_utilization(_result(), kind="link", ax=ax)
    (mesh,) = [c for c in ax.collections if c.__class__.__name__ == "QuadMesh"]
    assert np.asarray(mesh.get_array()).ravel().tolist() == pytest.approx([0.9, 0.1, 0.3])
    with pytest.raises(InputError, match="must be 'node' or 'link'"):
        pl.plot_utilization(_result(), kind="switch")


def test_migration_curve_ends_at_total_bytes(ax):
    out = pl.plot_migration(_result(), ax=ax)
    assert out is ax
    (line,) = lines_with(ax, "migration")
    # loads count at completion: 5 -> 100, 8 -> +50, 12 -> +250; held to the last time (30)
    assert list(line.get_xdata()) == [0.0, 5.0, 8.0, 12.0, 30.0]
    assert list(line.get_ydata()) == [0.0, 100.0, 150.0, 400.0, 400.0]


def test_migration_at_start_and_empty():
    ax = pl.plot_migration(_result(), at="start")
    (line,) = lines_with(ax, "migration")
    assert list(line.get_xdata()) == [0.0, 1.0, 4.0, 6.0, 30.0]
    assert list(line.get_ydata()) == [0.0, 100.0, 350.0, 400.0, 400.0]
    empty = pd.DataFrame(columns=["start", "end", "model", "layer", "node", "source", "bytes"])
    ax2 = pl.plot_migration(_result(empty))
    (line2,) = lines_with(ax2, "migration")
    assert list(line2.get_ydata()) == [0.0, 0.0]
    with pytest.raises(InputError, match="missing column"):
        pl.plot_migration(_result(pd.DataFrame({"start": [1.0]})))


# ------------------------------------------------------------------ performance profile
OBJECTIVES = pd.DataFrame({"A": [1.0, 2.0, np.nan], "B": [2.0, 2.0, 3.0]}, index=["i1", "i2", "i3"])
# ratios to the best: A = 1, 1, inf; B = 2, 1, 1
HAND_PROFILE = {"A": [2 / 3, 2 / 3, 2 / 3, 2 / 3], "B": [2 / 3, 2 / 3, 1.0, 1.0]}
TAUS = [1.0, 1.5, 2.0, 4.0]


def test_performance_profile_plots_the_profile_it_is_given(monkeypatch, ax):
    import types

    fake = types.ModuleType("placement_opt.perfprofile")
    fake.performance_profile = lambda objectives, taus=None: pd.DataFrame(
        HAND_PROFILE, index=pd.Index(TAUS, name="tau"))
    monkeypatch.setitem(sys.modules, "placement_opt.perfprofile", fake)
    out = pl.plot_performance_profile(OBJECTIVES, ax=ax, taus=TAUS)
    assert out is ax
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"A", "B"}
    for name, values in HAND_PROFILE.items():
        assert list(lines[name].get_xdata()) == TAUS
        assert list(lines[name].get_ydata()) == pytest.approx(values)
    assert ax.get_xscale() == "log"


def test_performance_profile_end_to_end(ax):
    pytest.importorskip("placement_opt.perfprofile")
    pl.plot_performance_profile(OBJECTIVES, ax=ax, taus=TAUS)
    lines = {line.get_label(): line for line in ax.lines}
    for name, values in HAND_PROFILE.items():
        assert list(lines[name].get_ydata()) == pytest.approx(values)


# ------------------------------------------------------------------ dependency
def test_missing_matplotlib_is_a_clear_error(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(pl.MissingDependencyError, match=r"pip install 'placement_opt\[plot\]'"):
        pl.plot_segments(tiny, ASSIGNMENT)


def test_performance_profile_passes_best_on(monkeypatch, ax):
    import types

    seen = {}

    def fake(objectives, taus=None, best=None):
        seen["best"] = best
        return pd.DataFrame({"A": [0.5, 1.0]}, index=pd.Index([1.0, 2.0], name="tau"))

    module = types.ModuleType("placement_opt.perfprofile")
    module.performance_profile = fake
    monkeypatch.setitem(sys.modules, "placement_opt.perfprofile", module)
    best = pd.Series([1.0, 2.0, 3.0], index=OBJECTIVES.index)
    pl.plot_performance_profile(OBJECTIVES, ax=ax, best=best)
    assert seen["best"] is best
    (line,) = ax.lines
    assert list(line.get_ydata()) == [0.5, 1.0]


def test_migration_counts_only_completed_loads_at_end():
    migrations = pd.DataFrame({
        "start": [1.0, 2.0, 3.0, 4.0], "end": [5.0, 9.0, 7.0, np.inf], "model": ["m"] * 4,
        "layer": [0, 1, 2, 0], "node": ["n1"] * 4, "source": ["n2", "n2", "n2", None],
        "bytes": [100.0, 20.0, 3.0, 7000.0], "status": ["complete", "cancelled", "complete", "no_route"],
    })
    ax = pl.plot_migration(_result(migrations))
    (line,) = lines_with(ax, "migration")
    assert list(line.get_xdata()) == [0.0, 5.0, 7.0, 30.0]
    assert list(line.get_ydata()) == [0.0, 100.0, 103.0, 103.0]  # complete only: 100 + 3
    ax = pl.plot_migration(_result(migrations), at="start")
    (line,) = lines_with(ax, "migration")
    assert list(line.get_ydata()) == [0.0, 100.0, 120.0, 123.0, 123.0]  # all but no_route


def test_replay_plots_on_a_real_replay():
    """b fails at 10 s and recovers at 15 s: w (a -> b -> c) is down in between,
    since a's only link goes to b."""
    replay_module = pytest.importorskip("placement_opt.replay")
    if not hasattr(replay_module, "replay"):
        pytest.skip("the replay engine is not there yet")
    from placement_opt.trace import Trace

    data = dict(TINY, workloads=[TINY["workloads"][0]])
    problem = po.Problem.from_dict(data)
    trace = Trace.from_records([(10.0, "node", "b", "available", 0.0), (15.0, "node", "b", "available", 1.0)])
    result = replay_module.replay(problem, trace, policy="static", initial={"w": ASSIGNMENT["w"]}, horizon=20.0)
    ax = pl.plot_latency(result)
    assert [line.get_xdata()[0] for line in lines_with(ax, "event:failure")] == [10.0]
    assert [line.get_xdata()[0] for line in lines_with(ax, "event:recovery")] == [15.0]
    (down,) = patches_with(ax, "down:w")
    assert (down.get_x(), down.get_x() + down.get_width()) == pytest.approx((10.0, 15.0))
    (line,) = [line for line in ax.lines if line.get_label() == "w"]
    up_values = np.asarray(line.get_ydata(), float)
    assert np.nanmax(up_values) == pytest.approx(HAND_LATENCY["w"])  # the plan's latency while up
    ax = pl.plot_migration(result)
    (mig,) = lines_with(ax, "migration")
    assert mig.get_ydata()[-1] == pytest.approx(result.summary["bytes_migrated"])
