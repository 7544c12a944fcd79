"""Traces: loading and validation, cut/shift/concat/merge, real-data builders.

Expected values come from hand computation or from reading the raw data files
independently of ``placement_opt.tracegen``.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import placement_opt as po
from placement_opt.errors import InputError, TraceError
from placement_opt.trace import MAX_ISSUES, Trace, load_trace
from tests.paths import SHARED_DATA

DATA = SHARED_DATA
needs_data = pytest.mark.skipif(not (DATA / "net_5gophers_5g").is_dir(), reason="shared data not available")


def _problem() -> po.Problem:
    """dev0 (device) -radio- sw -wired- mec0, mec1 (edge), cloud0 (cloud)."""
    nodes = [
        {"id": "dev0", "flops": 1e9, "memory": 1e9, "tier": "device"},
        {"id": "sw", "flops": 0.0, "memory": 0.0, "tier": "network"},
        {"id": "mec0", "flops": 1e12, "memory": 1e10, "tier": "edge", "utilization": 0.25},
        {"id": "mec1", "flops": 1e12, "memory": 1e10, "tier": "edge"},
        {"id": "cloud0", "flops": 1e14, "memory": 1e11, "tier": "cloud"},
    ]
    links = [
        {"source": "dev0", "target": "sw", "bandwidth": 1e7, "latency": 0.01},
        {"id": "radio2", "source": "sw", "target": "dev0", "bandwidth": 1e7, "latency": 0.01},
        {"source": "mec0", "target": "sw", "bandwidth": 1e9, "latency": 0.001},
        {"source": "mec1", "target": "sw", "bandwidth": 1e9, "latency": 0.001},
        {"source": "cloud0", "target": "sw", "bandwidth": 1e9, "latency": 0.02},
    ]
    model = {"id": "m", "input_bytes": 1e3, "layers": [{"name": "l0", "flops": 1e9, "param_bytes": 1e6,
                                                        "output_bytes": 1e3}]}
    workloads = [{"id": "w0", "model": "m", "source": "dev0", "rate": 1.0}]
    return po.Problem.from_dict({"name": "trace-test", "nodes": nodes, "links": links, "models": [model],
                                 "workloads": workloads})


PROBLEM = _problem()


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _lines_of(error: TraceError) -> list[tuple[int | None, str]]:
    return [(i.line, i.path) for i in error.issues]


# --------------------------------------------------------------------------- #
# Loading and validation
# --------------------------------------------------------------------------- #


def test_load_valid_file_sorts_stably_and_reads_booleans(tmp_path):
    path = _write(tmp_path, "# a comment\n# end: 20\ntime,kind,id,attribute,value\n"
                            "5,node,mec0,utilization,0.5\n"
                            "0,link,dev0-sw,available,false\n"
                            "0,link,dev0-sw,bandwidth,2e6\n"
                            "\n"
                            "3,workload,w0,rate,2.5\n"
                            "7,link,dev0-sw,available,TRUE\n")
    trace = load_trace(path, PROBLEM)
    ev = trace.events
    assert list(ev.columns) == ["time", "kind", "id", "attribute", "value"]
    assert ev["time"].tolist() == [0.0, 0.0, 3.0, 5.0, 7.0]
    assert ev["attribute"].tolist() == ["available", "bandwidth", "rate", "utilization", "available"]
    assert ev["value"].tolist() == [0.0, 2e6, 2.5, 0.5, 1.0]
    assert trace.end == 20.0 and trace.duration == 20.0
    assert trace.source == str(path)


def test_load_fast_and_careful_readers_agree(tmp_path):
    rows = "time,kind,id,attribute,value\n0,node,mec0,utilization,0.5\n2,link,radio2,latency,0.02\n"
    fast = load_trace(_write(tmp_path, rows, "a.csv"))
    careful = load_trace(_write(tmp_path, rows.replace("0.5", " 0.5 ").replace("\n2,", "\n\n2,"), "b.csv"))
    assert fast == careful
    assert fast.duration == 2.0  # no explicit end: the last event time


def test_load_reports_every_bad_row_with_line_and_column(tmp_path):
    text = ("time,kind,id,attribute,value\n"          # line 1
            "0,node,mec0,utilization,0.5\n"           # 2 ok
            "1,nod,mec0,utilization,0.5\n"            # 3 kind
            "abc,node,mec0,utilization,0.5\n"         # 4 time not a number
            "2,node,mec9,utilization,0.5\n"           # 5 unknown id
            "3,node,mec0,bandwidth,1e6\n"             # 6 attribute of another kind
            "4,link,dev0-sw,bandwidth,0\n"            # 7 bandwidth > 0
            "-1,link,dev0-sw,latency,0.1\n"           # 8 negative time
            "5,link,dev0-sw,available,maybe\n"        # 9 not a boolean
            "6,node,mec0,utilization,nan\n"           # 10 NaN
            "7,node,mec0,utilization,1.0\n"           # 11 utilization must be < 1
            "8,workload,w0,rate\n"                    # 12 four fields
            "9,workload,w0,rate,inf\n"                # 13 infinite
            "10,link,dev0-sw,available,2\n")          # 14 not 0/1
    path = _write(tmp_path, text)
    with pytest.raises(TraceError) as info:
        load_trace(path, PROBLEM)
    err = info.value
    assert isinstance(err, InputError)
    assert _lines_of(err) == [(3, "kind"), (4, "time"), (5, "id"), (6, "attribute"), (7, "value"), (8, "time"),
                              (9, "value"), (10, "value"), (11, "value"), (12, ""), (13, "value"), (14, "value")]
    text = str(err)
    assert str(path) in text
    assert "line 3: kind: unknown kind 'nod' (did you mean 'node'?)" in text
    assert "unknown node 'mec9' (did you mean 'mec" in text
    assert "'bandwidth' is a link attribute" in text
    assert "bandwidth 0.0 must be >= 1e-30 (allowed: [1e-30, 1e30])" in text
    assert "expected 5 fields, found 4" in text


@pytest.mark.parametrize(("row", "message"), [
    ("link,dev0-sw,bandwidth,1e-300", "bandwidth 1e-300 must be >= 1e-30"),
    ("workload,w0,rate,1e308", "rate 1e+308 must be <= 1e30"),
    ("node,mec0,flops,1e-40", "flops 1e-40 must be 0 or >= 1e-30"),
])
def test_values_obey_the_instance_file_ranges(tmp_path, row, message):
    """A trace may not set what an instance file could not hold: such values
    would overflow in the replay (the instance's limits, docs/decisions.md)."""
    path = _write(tmp_path, "time,kind,id,attribute,value\n" f"1,{row}\n")
    with pytest.raises(TraceError, match=re.escape(message)):
        load_trace(path, PROBLEM)


def test_without_problem_ids_are_not_checked(tmp_path):
    path = _write(tmp_path, "time,kind,id,attribute,value\n0,node,nowhere,flops,1e9\n")
    assert load_trace(path).events["id"].tolist() == ["nowhere"]
    with pytest.raises(TraceError, match="unknown node 'nowhere'"):
        load_trace(path, PROBLEM)


def test_link_ids_are_the_resolved_ids(tmp_path):
    path = _write(tmp_path, "time,kind,id,attribute,value\n0,link,sw-dev0,latency,0.1\n")
    with pytest.raises(TraceError) as info:
        load_trace(path, PROBLEM)
    assert info.value.issues[0].line == 2 and "unknown link 'sw-dev0'" in info.value.issues[0].message


def test_duplicate_rows_are_an_error_naming_both_lines(tmp_path):
    path = _write(tmp_path, "time,kind,id,attribute,value\n1,node,mec0,flops,1e9\n"
                            "2,node,mec0,flops,1e9\n1,node,mec0,flops,2e9\n")
    with pytest.raises(TraceError) as info:
        load_trace(path)
    (issue,) = info.value.issues
    assert issue.line == 4 and "also line 2" in issue.message


@pytest.mark.parametrize("header, expected", [
    ("time,kind,id,attribute", "missing column 'value'"),
    ("time,kind,id,attribute,valu", "did you mean 'value'?"),
    ("time,kind,id,attribute,value,extra", "unknown column 'extra'"),
])
def test_bad_header(tmp_path, header, expected):
    with pytest.raises(TraceError, match=expected) as info:
        load_trace(_write(tmp_path, header + "\n0,node,mec0,flops,1\n"))
    assert all(i.line == 1 for i in info.value.issues)


def test_columns_in_another_order_are_accepted(tmp_path):
    trace = load_trace(_write(tmp_path, "value,time,id,kind,attribute\n0.5,3,mec0,node,utilization\n"))
    assert trace.events.iloc[0].tolist() == [3.0, "node", "mec0", "utilization", 0.5]


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(TraceError, match="no header"):
        load_trace(_write(tmp_path, "\n\n"))
    with pytest.raises(TraceError, match="cannot read"):
        load_trace(tmp_path / "absent.csv")
    assert len(load_trace(_write(tmp_path, "time,kind,id,attribute,value\n", "h.csv"))) == 0


def test_error_collection_is_capped(tmp_path):
    rows = "".join(f"{k},node,mec0,utilization,2\n" for k in range(MAX_ISSUES + 50))
    with pytest.raises(TraceError) as info:
        load_trace(_write(tmp_path, "time,kind,id,attribute,value\n" + rows))
    issues = info.value.issues
    assert len(issues) == MAX_ISSUES + 1
    assert issues[0].line == 2 and issues[MAX_ISSUES - 1].line == MAX_ISSUES + 1
    assert "stopped after" in issues[-1].message


def test_validate_python_trace_names_rows():
    good = Trace.from_records([(0, "node", "mec0", "utilization", 0.1), (1, "link", "radio2", "available", 0)])
    assert good.validate(PROBLEM) is good
    bad = Trace.from_records([(0, "node", "mec0", "utilization", 0.1), (1, "link", "radio2", "latency", -1.0),
                              (2, "workload", "w1", "rate", 1.0), (math.inf, "node", "mec1", "memory", 1.0)])
    with pytest.raises(TraceError) as info:
        bad.validate(PROBLEM)
    assert [i.path for i in info.value.issues] == ["events[1].value", "events[2].id", "events[3].time"]
    assert "unknown workload 'w1' (the instance has 1 workloads: w0)" in str(info.value)


def test_csv_round_trip_is_exact_and_atomic(tmp_path):
    trace = Trace.from_records([(0.1, "node", "mec0", "utilization", 1 / 3), (2.5, "link", "radio2", "available", 0.0),
                                (2.5, "link", "radio2", "bandwidth", 123456.789)], end=7.25)
    path = tmp_path / "out" / "trace.csv"
    trace.to_csv(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["trace.csv"]
    again = load_trace(path, PROBLEM)
    assert again == trace and again.end == 7.25
    assert again.events["value"].iloc[0] == 1 / 3


# --------------------------------------------------------------------------- #
# cut / shift / concat / merge / compact
# --------------------------------------------------------------------------- #


def _rows(trace: Trace) -> list[tuple]:
    return [tuple(r) for r in trace.events.itertuples(index=False)]


BASE = Trace.from_records([
    (0, "node", "mec0", "utilization", 0.1),
    (2, "link", "radio2", "bandwidth", 1e6),
    (4, "node", "mec0", "utilization", 0.2),
    (5, "link", "radio2", "bandwidth", 2e6),
    (5, "node", "mec1", "available", 0.0),
    (8, "node", "mec1", "available", 1.0),
], end=10)


def test_cut_carries_values_in_and_rebases():
    part = BASE.cut(4, 8)
    # in effect at 4: mec0 0.2 (set at 4, not carried), radio2 1e6 (carried); mec1 never set before 4
    assert _rows(part) == [
        (0.0, "link", "radio2", "bandwidth", 1e6),
        (0.0, "node", "mec0", "utilization", 0.2),
        (1.0, "link", "radio2", "bandwidth", 2e6),
        (1.0, "node", "mec1", "available", 0.0),
    ]
    assert part.end == 4.0 and part.duration == 4.0
    tail = BASE.cut(6)
    assert _rows(tail) == [(0.0, "node", "mec0", "utilization", 0.2), (0.0, "link", "radio2", "bandwidth", 2e6),
                           (0.0, "node", "mec1", "available", 0.0), (2.0, "node", "mec1", "available", 1.0)]
    assert tail.end == 4.0


def test_cut_state_matches_original_everywhere():
    part = BASE.cut(3, 9)
    for t in np.arange(0, 6, 0.5):
        assert part.values_at(t) == BASE.values_at(t + 3)


def test_cut_rejects_bad_bounds():
    with pytest.raises(ValueError):
        BASE.cut(5, 2)
    with pytest.raises(ValueError):
        BASE.cut(-1)


def test_shift():
    moved = BASE.shift(3)
    assert moved.events["time"].tolist() == [3, 5, 7, 8, 8, 11] and moved.end == 13
    assert moved.shift(-3) == BASE
    with pytest.raises(ValueError, match="before time 0"):
        BASE.shift(-0.5)


def test_concat_follows_by_duration():
    a = Trace.from_records([(0, "node", "mec0", "flops", 1.0), (1, "node", "mec0", "flops", 2.0)], end=3)
    b = Trace.from_records([(0, "node", "mec0", "flops", 5.0), (2, "node", "mec1", "flops", 6.0)], end=4)
    both = a + b
    assert both.events["time"].tolist() == [0, 1, 3, 5]
    assert both.events["value"].tolist() == [1, 2, 5, 6]
    assert both.end == 7 and Trace.concat(a, b, a).duration == 10
    assert Trace.concat(a, b, a).events["time"].tolist() == [0, 1, 3, 5, 7, 8]


def test_concat_without_end_uses_last_event_and_later_wins():
    a = Trace.from_records([(0, "node", "mec0", "flops", 1.0), (2, "node", "mec0", "flops", 2.0)])
    b = Trace.from_records([(0, "node", "mec0", "flops", 9.0), (1, "node", "mec0", "flops", 3.0)])
    assert a.duration == 2.0
    assert _rows(a + b) == [(0.0, "node", "mec0", "flops", 1.0), (2.0, "node", "mec0", "flops", 9.0),
                            (3.0, "node", "mec0", "flops", 3.0)]


def test_cut_pieces_concatenate_back_to_the_original_state():
    again = BASE.cut(0, 4) + BASE.cut(4, 10)
    assert again.duration == BASE.duration
    for t in np.arange(0, 10, 0.5):
        assert again.values_at(t) == BASE.values_at(t)


def test_times_merge_and_compact():
    assert BASE.times().tolist() == [0, 2, 4, 5, 8]
    extra = Trace.from_records([(1, "workload", "w0", "rate", 2.0)], end=12)
    merged = Trace.merge(BASE, extra)
    assert merged.events["time"].tolist() == [0, 1, 2, 4, 5, 5, 8] and merged.duration == 12
    noisy = Trace.from_records([(0, "node", "mec0", "utilization", 0.25), (1, "node", "mec0", "utilization", 0.25),
                                (2, "node", "mec0", "utilization", 0.5), (3, "node", "mec1", "available", 1.0)])
    assert noisy.compact().events["time"].tolist() == [0, 2, 3]
    # mec0 starts at 0.25 and mec1 is available in the instance: both first events are redundant
    assert noisy.compact(PROBLEM).events["time"].tolist() == [2]


# --------------------------------------------------------------------------- #
# Builders from real data
# --------------------------------------------------------------------------- #


def _per_second(trace: Trace, kind: str, rid: str, attribute: str, duration: int, initial: float) -> np.ndarray:
    """The value in effect at each whole second, from the events alone."""
    ev = trace.events
    ev = ev[(ev["kind"] == kind) & (ev["id"] == rid) & (ev["attribute"] == attribute)]
    out = np.full(duration, initial)
    for t, v in zip(ev["time"], ev["value"], strict=True):
        out[int(math.ceil(t)):] = v
    return out


def _raw_runs_bytes(warmup: int) -> list[np.ndarray]:
    d = pd.read_csv(DATA / "net_5gophers_5g" / "All-Carriers" / "01-Throughput" / "data.csv")
    runs = []
    for _, run in d.groupby(["carrier", "num_tcp_conn", "server_location", "run_num"]):
        runs.append(run.sort_values("seq_num")["throughput_mbps"].to_numpy()[warmup:] * 125000.0)
    return runs


@needs_data
def test_bandwidth_reproduces_measured_runs_in_order():
    from placement_opt.tracegen import bandwidth_from_5g

    runs = _raw_runs_bytes(warmup=10)
    values = set(np.concatenate(runs).tolist())
    follows: dict[float, set[float]] = {}
    for run in runs:
        for a, b in zip(run[:-1], run[1:], strict=True):
            follows.setdefault(a, set()).add(b)
    firsts = {run[0] for run in runs}
    trace = bandwidth_from_5g(PROBLEM, ["dev0-sw", "radio2"], duration=300, outage="floor", floor=0.5, seed=3,
                              data_dir=DATA)
    assert trace.end == 300 and set(trace.events["attribute"]) == {"bandwidth"}
    for lid in ("dev0-sw", "radio2"):
        s = _per_second(trace, "link", lid, "bandwidth", 300, math.nan)
        s[s == 0.5] = 0.0  # floor marks the measured zero-throughput seconds
        assert set(s.tolist()) <= values
        # each second follows the previous one within a run, or starts a new run
        assert all(b in follows.get(a, ()) or b in firsts for a, b in zip(s[:-1], s[1:], strict=True))


@needs_data
def test_bandwidth_outages_become_unavailability():
    from placement_opt.tracegen import bandwidth_from_5g

    d1 = pd.read_csv(DATA / "net_5gophers_5g" / "All-Carriers" / "03-User-Mobility" / "car-driving-trace-1.csv")
    d2 = pd.read_csv(DATA / "net_5gophers_5g" / "All-Carriers" / "03-User-Mobility" / "car-driving-trace-2.csv")
    raw = pd.concat([d1, d2]).filter(like="_throughput_mbps").to_numpy().ravel() * 125000.0
    trace = bandwidth_from_5g(PROBLEM, ["dev0-sw"], source="driving", duration=1200, seed=1, data_dir=DATA)
    trace.validate(PROBLEM)
    bw = _per_second(trace, "link", "dev0-sw", "bandwidth", 1200, math.nan)
    up = _per_second(trace, "link", "dev0-sw", "available", 1200, 1.0)
    assert set(bw.tolist()) <= set(raw[raw > 0].tolist())
    # raw driving data has 15.6% zero seconds: 1200 s must show some outages, far fewer than half
    assert 0 < (up == 0).sum() < 600
    # during an outage the bandwidth keeps its last value
    down = np.flatnonzero(up == 0)
    assert all(bw[k] == bw[k - 1] for k in down if k > 0)


@needs_data
def test_bandwidth_resolution_averages_and_scale_multiplies():
    from placement_opt.tracegen import bandwidth_from_5g

    fine = bandwidth_from_5g(PROBLEM, ["dev0-sw"], duration=60, outage="floor", floor=1e-9, seed=2, data_dir=DATA)
    coarse = bandwidth_from_5g(PROBLEM, ["dev0-sw"], duration=60, resolution=4, outage="floor", floor=1e-9,
                               seed=2, data_dir=DATA, scale=0.5)
    s = _per_second(fine, "link", "dev0-sw", "bandwidth", 60, math.nan)
    s[s == 1e-9] = 0.0
    expected = 0.5 * s.reshape(15, 4).mean(axis=1)
    c = _per_second(coarse, "link", "dev0-sw", "bandwidth", 60, math.nan)[::4]
    np.testing.assert_allclose(c, np.maximum(expected, 1e-9), rtol=1e-12)


@needs_data
def test_latency_is_half_the_measured_rtt():
    from placement_opt.tracegen import latency_from_ping

    folder = DATA / "net_5gophers_5g" / "mmWave-only" / "04-Ping-Traces-Latency-Tests"
    pings = pd.concat([pd.read_csv(f) for f in sorted(folder.glob("*.log"))])
    rtt = pings[(pings.network_type == "5G") & (pings.target_server == "First-Hop")].rtt_in_ms.to_numpy()
    expected = np.unique(rtt / 1000 / 2)
    trace = latency_from_ping(PROBLEM, duration=200, seed=0, data_dir=DATA)
    assert set(trace.events["id"]) == {"dev0-sw", "radio2"}  # the default: links to device-tier nodes
    got = trace.events["value"].to_numpy()
    nearest = expected[np.clip(np.searchsorted(expected, got), 0, len(expected) - 1)]
    below = expected[np.clip(np.searchsorted(expected, got) - 1, 0, len(expected) - 1)]
    assert np.all(np.minimum(abs(nearest - got), abs(below - got)) < 1e-12)


def _azure_vms(sku: str) -> list[tuple[np.ndarray, float, float]]:
    out = []
    for path in sorted((DATA / "compute_azure_vmnoise").glob(f"*_{sku}.csv")):
        d = pd.read_csv(path)
        d["t"] = pd.to_datetime(d.starttime)
        for _, vm in d.groupby("VM_id"):
            out.append((vm.sort_values("t").value.to_numpy(), d.value.min(), d.value.max()))
    return out


@needs_data
@pytest.mark.parametrize("rescale", [(0.1, 0.6), None])
def test_azure_utilization_follows_one_vm_in_time_order(rescale):
    from placement_opt.tracegen import utilization_from_azure

    trace = utilization_from_azure(PROBLEM, rescale=rescale, step=30, duration=600, seed=4, data_dir=DATA)
    assert set(trace.events["id"]) == {"mec0", "mec1"}  # the default: edge-tier nodes
    assert trace.events["time"].max() <= 570 and trace.end == 600
    vms = _azure_vms("B8ms")
    for nid in ("mec0", "mec1"):
        u = _per_second(trace, "node", nid, "utilization", 600, math.nan)[::30]
        assert not np.isnan(u).any()
        matched = False
        for values, vmin, vmax in vms:
            if rescale is None:
                v = vmax * (1 - u)
            else:
                v = vmax - (u - rescale[0]) / (rescale[1] - rescale[0]) * (vmax - vmin)
            doubled = np.concatenate([values, values])  # the builder wraps around
            for k in np.flatnonzero(np.isclose(values, v[0], rtol=0, atol=1e-6)):
                if np.allclose(doubled[k:k + len(v)], v, rtol=0, atol=1e-6):
                    matched = True
        assert matched, nid
        if rescale is not None:
            assert u.min() >= 0.1 - 1e-12 and u.max() <= 0.6 + 1e-12


@needs_data
def test_builders_are_seeded():
    from placement_opt.tracegen import scenario_trace

    a = scenario_trace(PROBLEM, duration=300, seed=5, data_dir=DATA)
    b = scenario_trace(PROBLEM, duration=300, seed=5, data_dir=DATA)
    c = scenario_trace(PROBLEM, duration=300, seed=6, data_dir=DATA)
    assert a == b and a != c


def test_failures_follow_the_stated_distributions():
    from placement_opt.tracegen import failures

    ids = ["mec0", "mec1", "cloud0"]
    mtbf, mttr, sigma = 100.0, 10.0, 0.8
    trace = failures(PROBLEM, "node", ids, mtbf=mtbf, mttr=mttr, sigma=sigma, duration=60_000, seed=11)
    trace.validate(PROBLEM)
    ups, downs = [], []
    for nid in ids:
        ev = trace.events[trace.events["id"] == nid]
        values = ev["value"].to_numpy()
        assert values[0] == 0 and np.all(values[1:] != values[:-1])  # starts up, then alternates
        t = np.concatenate([[0.0], ev["time"].to_numpy()])
        gaps = np.diff(t)  # complete intervals only: the one cut by the end is not an event
        ups += gaps[0::2].tolist()
        downs += gaps[1::2].tolist()
    ups, downs = np.array(ups), np.array(downs)
    assert len(ups) > 1000
    assert ups.mean() == pytest.approx(mtbf, rel=0.1)
    assert stats.kstest(ups, "expon", args=(0, mtbf)).pvalue > 1e-3
    assert downs.mean() == pytest.approx(mttr, rel=0.1)
    assert np.log(downs).std() == pytest.approx(sigma, rel=0.1)
    assert np.median(downs) == pytest.approx(mttr * math.exp(-sigma ** 2 / 2), rel=0.1)


def test_failures_exponential_repair_and_defaults():
    from placement_opt.tracegen import failures

    trace = failures(PROBLEM, "node", mtbf=50, mttr=20, repair="exponential", duration=20_000, seed=1)
    assert set(trace.events["id"]) == {"mec0", "mec1", "cloud0"}  # servers, not the device or the switch
    ev = trace.events[trace.events["id"] == "mec0"]
    downs = np.diff(ev["time"].to_numpy())[0::2]
    assert downs.mean() == pytest.approx(20, rel=0.15)
    assert stats.kstest(downs, "expon", args=(0, 20)).pvalue > 1e-3
    links = failures(PROBLEM, "link", mtbf=50, mttr=5, duration=2000, seed=1)
    assert set(links.events["id"]) == {"mec0-sw", "mec1-sw", "cloud0-sw"}  # wired links only
    assert links.events["time"].max() < 2000 and links.end == 2000


def test_failure_seeds_are_per_element():
    from placement_opt.tracegen import failures

    both = failures(PROBLEM, "node", ["mec0", "mec1"], mtbf=100, mttr=10, duration=5000, seed=3)
    alone = failures(PROBLEM, "node", ["mec1"], mtbf=100, mttr=10, duration=5000, seed=3)
    sub = both.events[both.events["id"] == "mec1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(sub, alone.events)


def test_builders_refuse_unknown_ids_and_bad_parameters(tmp_path):
    from placement_opt.tracegen import DataNotFoundError, bandwidth_from_5g, failures

    with pytest.raises(TraceError, match="unknown link 'dev0-sx'") as info:
        failures(PROBLEM, "link", ["dev0-sx"])
    assert "did you mean 'dev0-sw'?" in str(info.value)
    with pytest.raises(ValueError, match="mtbf"):
        failures(PROBLEM, "node", mtbf=0)
    with pytest.raises(ValueError, match="seed"):
        failures(PROBLEM, "node", seed=-1)
    with pytest.raises(DataNotFoundError, match="PLACEMENT_OPT_SHARED_DATA"):
        bandwidth_from_5g(PROBLEM, data_dir=tmp_path / "nowhere")


@needs_data
def test_scenario_trace_targets_the_right_elements():
    from placement_opt.tracegen import scenario_trace

    trace = scenario_trace(PROBLEM, duration=900, seed=0, node_mtbf=300, link_mtbf=300, data_dir=DATA)
    trace.validate(PROBLEM)
    ev = trace.events
    by = ev.groupby(["kind", "attribute"])["id"].agg(lambda s: set(s)).to_dict()
    assert by[("link", "bandwidth")] == {"dev0-sw", "radio2"}
    assert by[("link", "latency")] == {"dev0-sw", "radio2"}
    assert by[("node", "utilization")] == {"mec0", "mec1"}
    assert by[("node", "available")] <= {"mec0", "mec1", "cloud0"}
    assert by.get(("link", "available"), set()) <= {"dev0-sw", "radio2", "mec0-sw", "mec1-sw", "cloud0-sw"}
    assert trace.duration == 900 and ev["time"].max() < 900


@needs_data
def test_one_hour_thirty_nodes_builds_fast_and_compact():
    from placement_opt.generators import generate
    from placement_opt.tracegen import radio_links, scenario_trace

    problem = generate("smart-city", seed=0, nodes=30, workloads=8)
    scenario_trace(problem, duration=60, seed=0, data_dir=DATA)  # warm the data cache
    start = time.perf_counter()
    trace = scenario_trace(problem, duration=3600, seed=0, data_dir=DATA)
    elapsed = time.perf_counter() - start
    assert elapsed < 10  # about 0.4 s on an idle core; generous for a shared machine
    # compact: no event repeats the value already in effect
    ev = trace.events
    prev = ev.groupby(["kind", "id", "attribute"])["value"].shift(1)
    assert not (ev["value"] == prev).any()
    assert len(ev) <= 2 * 3600 * len(radio_links(problem)) + 10_000


def test_extra_fields_and_quoted_rows_keep_line_numbers(tmp_path):
    text = ('time,kind,id,attribute,value\n0,node,mec0,flops,1\n"1",node,mec0,flops,1,extra\n'
            '2,node,"mec\n0",flops,1\n3,node,mec0,memory,-1\n')
    with pytest.raises(TraceError) as info:
        load_trace(_write(tmp_path, text), PROBLEM)
    assert [(i.line, i.path) for i in info.value.issues] == [(3, ""), (5, "id"), (6, "value")]
    assert "found 6" in info.value.issues[0].message
