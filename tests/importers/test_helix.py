"""The Helix importer: layer latency profiles and cluster configs.

Expected values are read from Helix's files with the ``csv`` and
``configparser`` modules here, independently of the importer.
"""

from __future__ import annotations

import configparser
import csv
import re
from collections import Counter
from pathlib import Path

import pytest

import placement_opt as po
from placement_opt.importers import helix_layer_times, load_cluster, load_layer_latencies
from placement_opt.importers.helix import parse_quantity
from placement_opt.profiles import device, layer_costs, layer_time
from tests.paths import SHARED_DATA

DATA = SHARED_DATA
HELIX = DATA / "profiles_helix_llm_layer_latency"
pytestmark = pytest.mark.skipif(not HELIX.is_dir(), reason=f"Helix profiles {HELIX} are absent")

GPUS = {"a100": "a100-40gb", "v100": "v100", "l4": "l4", "l4x2": "l4x2", "t4": "t4", "t4x2": "t4x2", "t4x4": "t4x4"}
GIB = 2**30


def read_ms(model: str, gpu: str, kind: str) -> dict[int, float]:
    with (HELIX / model / gpu / f"{kind}_bs2time.csv").open() as f:
        return {int(t): float(v) for t, v in csv.reader(f)}


def raw_ini(path: Path) -> configparser.ConfigParser:
    ini = configparser.ConfigParser()
    ini.optionxform = str
    ini.read(path)
    return ini


# --------------------------------------------------------------------------- #
# Profiles
# --------------------------------------------------------------------------- #


def test_load_layer_latencies_reads_both_modes_in_seconds():
    profiles = load_layer_latencies(HELIX / "llama2_70b" / "a100")
    assert set(profiles) == {"prefill", "decode"}
    decode = read_ms("llama2_70b", "a100", "decode")
    assert 0 not in profiles["decode"].tokens  # the 0,0 sentinel is dropped
    for t, s in zip(profiles["decode"].tokens, profiles["decode"].seconds):
        assert s == pytest.approx(decode[int(t)] * 1e-3)
    single = load_layer_latencies(HELIX / "llama2_70b" / "a100" / "prompt_bs2time.csv")
    assert list(single) == ["prefill"]
    assert single["prefill"].at(250) == pytest.approx(2e-3)  # "250,2" in the file


@pytest.mark.parametrize("gpu", list(GPUS))
def test_layer_times_equal_the_csv_at_measured_points(gpu):
    decode = read_ms("llama2_70b", gpu, "decode")
    times = helix_layer_times(HELIX / "llama2_70b", gpus=[gpu], mode="decode", batch=40)
    blocks = times[GPUS[gpu]][1:-1]
    assert len(blocks) == 80 and blocks == [pytest.approx(decode[40] * 1e-3)] * 80
    prompt = read_ms("llama1_30b", gpu, "prompt")
    # prefill: Helix counts all prompt tokens of the batch: 2 prompts x 250 tokens = 500
    times = helix_layer_times(HELIX / "llama1_30b", gpus=[gpu], mode="prefill", tokens=250, batch=2)
    assert times[GPUS[gpu]][5] == pytest.approx(prompt[500] * 1e-3)


def test_layer_times_interpolate_linearly_between_measured_points():
    prompt = read_ms("llama2_70b", "t4", "prompt")  # 1000 -> 59 ms, 1250 -> 74 ms
    times = helix_layer_times(HELIX / "llama2_70b", gpus=["t4"], mode="prefill", tokens=1100)
    expected = prompt[1000] + (prompt[1250] - prompt[1000]) * 100 / 250
    assert times["t4"][1] == pytest.approx(expected * 1e-3)


def test_below_the_first_point_holds_and_beyond_the_last_refuses():
    decode = read_ms("llama2_70b", "l4", "decode")
    times = helix_layer_times(HELIX / "llama2_70b", gpus=["l4"], mode="decode", batch=1)
    assert times["l4"][1] == pytest.approx(decode[2] * 1e-3)  # not halfway to the 0,0 sentinel
    with pytest.raises(ValueError, match="beyond"):
        helix_layer_times(HELIX / "llama2_70b", gpus=["l4"], mode="decode", batch=501)


def test_embedding_and_head_use_the_analytical_estimate():
    times = helix_layer_times(HELIX / "llama2_70b", mode="decode", batch=4)
    assert set(times) == set(GPUS.values())
    costs = layer_costs("llama-2-70b", mode="decode", batch=4)
    for dev, values in times.items():
        assert len(values) == 82
        assert values[0] == layer_time(costs[0], dev) and values[-1] == layer_time(costs[-1], dev)
        # the head streams 32000 x 8192 fp16 weights: at least 524 MB / peak bandwidth
        assert values[-1] >= 32000 * 8192 * 2 / device(dev).mem_bandwidth


# --------------------------------------------------------------------------- #
# Cluster configs
# --------------------------------------------------------------------------- #


def test_parse_quantity():
    assert parse_quantity("1000 * mbps", "x") == 125e6  # bits/s -> bytes/s
    assert parse_quantity("10 * gbps", "x") == 1.25e9
    assert parse_quantity("16 * GB", "x") == 16 * GIB
    assert parse_quantity("54 * MilliSec", "x") == pytest.approx(0.054)
    assert parse_quantity("-1", "x") is None
    with pytest.raises(ValueError, match="furlongs"):
        parse_quantity("3 * furlongs", "x")


@pytest.mark.parametrize("config", ["single24.ini", "3cluster24.ini"])
def test_cluster_has_24_typed_compute_nodes_and_validates(config):
    path = HELIX / "cluster_configs" / config
    ini = raw_ini(path)
    expected = {f"compute-{s.split('-')[1]}": ini[s]["type"] for s in ini.sections() if s.startswith("ComputeNode-")}
    problem = load_cluster(path, as_problem=True)
    assert isinstance(problem, po.Problem)
    compute = {n.id: n for n in problem.nodes if n.id.startswith("compute-")}
    assert len(compute) == 24
    vram = {"A100": 40, "T4": 16, "L4": 24}  # google_machine_profiles.ini, GB
    for node_id, helix_type in expected.items():
        node = compute[node_id]
        assert node.type == GPUS[helix_type.lower()]
        assert node.memory == vram[helix_type] * GIB
        assert node.flops == pytest.approx(device(node.type).sustained_flops)
    assert {n.id: n.flops for n in problem.nodes if not n.id.startswith("compute-")} == {"source": 0, "sink": 0}
    model = problem.models[0]
    assert set(model.layer_times) == {GPUS[t.lower()] for t in expected.values()}
    (workload,) = problem.workloads
    assert (workload.source, problem.sink_of(workload)) == ("source", "sink")
    assert problem.transfer_time("source", "sink", 1.0) < float("inf")


def test_single24_has_the_header_type_mix():
    # header: node_type_percentage: {'A100': 4, 'T4': 12, 'L4': 8}
    data = load_cluster(HELIX / "cluster_configs" / "single24.ini")
    assert Counter(n.get("type") for n in data["nodes"] if "type" in n) == {"a100-40gb": 4, "t4": 12, "l4": 8}


def test_links_convert_bits_to_bytes_and_keep_latency():
    path = HELIX / "cluster_configs" / "3cluster24.ini"
    ini = raw_ini(path)
    data = load_cluster(path)
    links = {(e["source"], e["target"]): e for e in data["links"]}
    mbps = float(re.match(r"([0-9.]+) \* mbps", ini["Link-0-4"]["bandwidth"]).group(1))  # 11.2 mbps
    ms = float(re.match(r"([0-9.]+) \* MilliSec", ini["Link-0-4"]["latency"]).group(1))  # 54 ms
    for key in [("compute-0", "compute-4"), ("compute-4", "compute-0")]:  # full duplex
        assert links[key]["bandwidth"] == pytest.approx(mbps * 1e6 / 8)
        assert links[key]["latency"] == pytest.approx(ms * 1e-3)
    assert ("source", "compute-3") in links and ("compute-3", "source") not in links
    assert ("compute-3", "sink") in links and ("sink", "compute-3") not in links
    # 24 source links + 24 sink links + 276 compute pairs, each pair both ways
    n_pairs = sum(1 for s in ini.sections() if re.fullmatch(r"Link-\d+-\d+", s))
    assert n_pairs == 276 and len(data["links"]) == 48 + 2 * n_pairs
    shared = load_cluster(path, duplex=False)
    assert len(shared["links"]) == 48 + n_pairs


def test_cluster_with_measured_profiles():
    decode = read_ms("llama2_70b", "t4", "decode")
    problem = load_cluster(
        HELIX / "cluster_configs" / "single24.ini",
        profiles_dir=HELIX / "llama2_70b",
        mode="decode",
        batch=8,
        rate=2.0,
        slo=5.0,
        as_problem=True,
    )
    times = problem.models[0].layer_times
    assert set(times) == {"a100-40gb", "t4", "l4"}
    assert times["t4"][1] == pytest.approx(decode[8] * 1e-3)
    t4_node = next(i for i, n in enumerate(problem.nodes) if n.type == "t4")
    assert problem.compute_time[1, t4_node] == pytest.approx(decode[8] * 1e-3)
    assert problem.workloads[0].rate == 2.0 and problem.workloads[0].slo == 5.0
