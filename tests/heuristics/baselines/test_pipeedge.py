"""PipeEdge importer and the ``pipeedge-dp`` baseline.

Expected values come from PipeEdge's YAML files read here with ``yaml`` and
PipeEdge's formulas written out by hand (``pipeedge_stage_times``), from an
exhaustive search written independently of the DP (every type sequence, then a
plain minimax partition), and from brute force / the exact solvers.
"""

from __future__ import annotations

import itertools
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

import placement_opt as po
from placement_opt.errors import InputError
from placement_opt.importers.pipeedge import load
from placement_opt.solve import solve
from tests.paths import SHARED_DATA
from tests.tiny import tiny_instance

DATA = SHARED_DATA
PE = DATA / "pipeedge_profiles"
FILES = (PE / "models.yml", PE / "device_types.yml", PE / "devices.yml")
VIT = "google/vit-base-patch16-224"
MIB = 1024 * 1024
BYTES_PER_MBPS = 1024 * 1024 / 8  # PipeEdge: mbits_sec * 1024 * 1024 / 8
needs_data = pytest.mark.skipif(not PE.is_dir(), reason=f"PipeEdge profiles {PE} are absent")

# PipeEdge's own printed example schedule (README_Scheduler.md), 1-based inclusive
README_SCHEDULE = [("mb-0", 1, 6), ("mb-1", 7, 12), ("mb-2", 13, 18), ("mb-3", 19, 24),
                   ("rcc-0", 25, 30), ("rcc-1", 31, 36), ("rcc-2", 37, 42), ("rcc-3", 43, 48)]


# --------------------------------------------------------------------------- #
# Independent reading of the YAML and PipeEdge's formulas
# --------------------------------------------------------------------------- #


def raw(folder: Path = PE, model: str = VIT) -> dict:
    """The numbers PipeEdge uses, straight from the YAML (batch 8, float32)."""
    models = yaml.safe_load((folder / "models.yml").read_text())
    types = yaml.safe_load((folder / "device_types.yml").read_text())
    devices = yaml.safe_load((folder / "devices.yml").read_text())
    m = models[model]
    host_type = {h: t for t, hosts in devices.items() for h in (hosts or [])}
    prof = {t: e["model_profiles"][model][0]["time_s"] for t, e in types.items()
            if e.get("model_profiles") and model in e["model_profiles"]}
    return {"m": m, "types": types, "host_type": host_type, "time": prof, "devices": devices}


def pipeedge_stage_times(r: dict, schedule: list[tuple[str, int, int]]) -> list[float]:
    """max(sum time_s, out bytes / min bw) per stage; the last stage compute only."""
    out = []
    for k, (host, first, last) in enumerate(schedule):
        t = r["host_type"][host]
        comp = sum(r["time"][t][first - 1:last])
        if k + 1 < len(schedule):
            nxt = r["host_type"][schedule[k + 1][0]]
            bw = min(r["types"][t]["bw_Mbps"], r["types"][nxt]["bw_Mbps"]) * BYTES_PER_MBPS
            comp = max(comp, r["m"]["parameters_out"][last - 1] * 8 * 4 / bw)
        out.append(comp)
    return out


def assignment(schedule: list[tuple[str, int, int]], layers: int) -> dict:
    nodes = [None] * layers
    for host, first, last in schedule:
        nodes[first - 1:last] = [host] * (last - first + 1)
    return {"pipeedge": nodes}


def stages_of(sol: po.Solution) -> list[tuple[str, int, int]]:
    return [(s.node, s.first + 1, s.last + 1) for s in sol.segments("pipeedge")]


def exhaustive_optimum(r: dict, counts: dict[str, int]) -> float:
    """Best slowest-stage time over every sequence of device types (at most
    ``counts[t]`` stages of type ``t``) and every contiguous partition, with
    PipeEdge's stage formula; memory is not checked (the caller checks it
    cannot bind)."""
    names = list(counts)
    length = r["m"]["layers"]
    out_bytes = np.array(r["m"]["parameters_out"], dtype=float) * 32
    prefix = {t: np.concatenate([[0.0], np.cumsum(r["time"][t])]) for t in names}
    bw = {t: r["types"][t]["bw_Mbps"] * BYTES_PER_MBPS for t in names}
    best = np.inf
    for k in range(1, min(sum(counts.values()), length) + 1):
        for seq in itertools.product(names, repeat=k):
            if any(seq.count(t) > counts[t] for t in names):
                continue
            g = np.full(length + 1, np.inf)  # g[j]: best max over stages covering layers [0, j)
            g[0] = 0.0
            for s, t in enumerate(seq):
                new = np.full(length + 1, np.inf)
                for j in range(1, length + 1):
                    comp = prefix[t][j] - prefix[t][:j]
                    if s + 1 < k:
                        comp = np.maximum(comp, out_bytes[j - 1] / min(bw[t], bw[seq[s + 1]]))
                    new[j] = np.min(np.maximum(g[:j], comp))
                g = new
            best = min(best, g[length])
    return float(best)


def write_tiny(folder: Path, times: dict[str, list[float]], hosts: dict[str, list[str]],
               mem_mb: float = 1000.0, bw: float = 1000.0, out: list[int] | None = None) -> tuple[Path, Path, Path]:
    """PipeEdge files for a small model of ``len(times[...])`` layers."""
    n = len(next(iter(times.values())))
    models = {"tiny": {"layers": n, "mem_MB": [10.0] * n, "parameters_in": 100,
                       "parameters_out": out or [1000] * n}}
    types = {t: {"bw_Mbps": bw, "mem_MB": mem_mb,
                 "model_profiles": {"tiny": [{"batch_size": 8, "dtype": "torch.float32", "time_s": ts}]}}
             for t, ts in times.items()}
    paths = (folder / "models.yml", folder / "device_types.yml", folder / "devices.yml")
    for path, data in zip(paths, (models, types, hosts)):
        path.write_text(yaml.safe_dump(data))
    return paths


@pytest.fixture(scope="module")
def vit() -> po.Problem:
    return load(*FILES)


# --------------------------------------------------------------------------- #
# Importer
# --------------------------------------------------------------------------- #


@needs_data
def test_importer_maps_units_and_topology(vit):
    r = raw()
    m = r["m"]
    assert vit.node_ids == ("mb-0", "mb-1", "mb-2", "mb-3", "rcc-0", "rcc-1", "rcc-2", "rcc-3", "switch")
    assert [n.type for n in vit.nodes[:8]] == ["Minnowboard-E3845"] * 4 + ["RCC-VE-C2000"] * 4
    # buffers: largest activation 756480 elements * 8 * 4 B, 2 + 1 copies on each side
    reserve = 2 * 3 * 756480 * 32
    assert vit.nodes[0].memory == 2048 * MIB - reserve
    assert vit.nodes[4].memory == 8192 * MIB - reserve
    assert vit.nodes[8].flops == 0.0
    # 1000 "Mbps" = 1000 * 2**20 / 8 bytes/s, both directions through the switch
    assert all(link.bandwidth == 131_072_000.0 and link.directed and link.latency == 0 for link in vit.links)
    assert vit.route("mb-1", "rcc-2") == ["mb-1-switch", "switch-rcc-2"]
    layers = vit.models[0].layers
    assert [x.param_bytes for x in layers] == [v * MIB for v in m["mem_MB"]]
    assert [x.output_bytes for x in layers[:-1]] == [v * 32.0 for v in m["parameters_out"][:-1]]
    assert layers[-1].output_bytes == 0 and vit.models[0].input_bytes == 0
    assert vit.models[0].layer_times["RCC-VE-C2000"] == tuple(r["time"]["RCC-VE-C2000"])
    assert vit.one_segment_per_node
    assert vit.objective_weights == {"bottleneck": 1 / vit.workloads[0].rate}


@needs_data
@pytest.mark.parametrize("schedule", [
    README_SCHEDULE,
    [("rcc-3", 1, 20), ("mb-0", 21, 21), ("rcc-0", 22, 48)],
    [("mb-2", 1, 48)],
])
def test_objective_is_pipeedge_slowest_stage(vit, schedule):
    ev = po.evaluate(vit, assignment(schedule, 48))
    assert ev.feasible
    assert ev.objective == pytest.approx(max(pipeedge_stage_times(raw(), schedule)), rel=1e-12)


def test_objective_counts_the_send_when_it_dominates(tmp_path):
    # 10 "Mbps": 1000 elements * 32 B / 1310720 B/s = 0.0244 s > every compute time
    files = write_tiny(tmp_path, {"A": [0.01, 0.01, 0.01]}, {"A": ["a0", "a1"]}, bw=10.0)
    p = load(*files, model="tiny")
    ev = po.evaluate(p, {"pipeedge": ["a0", "a1", "a1"]})  # stages: max(0.01, 0.0244), 0.02
    assert ev.objective == pytest.approx(32000 / (10 * BYTES_PER_MBPS), rel=1e-12)


def test_memory_is_weights_plus_largest_buffers(tmp_path):
    # 3 layers of 10 MB, 1000-element activations: reserve = 2 * 3 * 32000 B
    files = write_tiny(tmp_path, {"A": [1.0, 1.0, 1.0]}, {"A": ["a0"]}, mem_mb=20.0)
    p = load(*files, model="tiny")
    assert p.nodes[0].memory == 20 * MIB - 192_000
    assert not po.evaluate(p, {"pipeedge": ["a0"] * 3}).feasible  # 30 MB of weights
    assert solve(p, "pipeedge-dp").status.value == "no_solution"


@pytest.mark.parametrize("broken, where", [
    ("missing", "models.yml"),
    ("yaml", "device_types.yml"),
    ("model", "models.yml"),
    ("length", "models.yml"),
    ("hosts", "devices.yml"),
])
def test_bad_files_raise_input_error_naming_the_file(tmp_path, broken, where):
    files = write_tiny(tmp_path, {"A": [1.0, 2.0]}, {"A": ["a0"]})
    model = "tiny"
    if broken == "missing":
        files[0].unlink()
    elif broken == "yaml":
        files[1].write_text("A: [1, 2\n")
    elif broken == "model":
        model = "tinny"
    elif broken == "length":
        files[0].write_text(yaml.safe_dump({"tiny": {"layers": 2, "mem_MB": [1.0], "parameters_in": 1,
                                                     "parameters_out": [1, 1]}}))
    elif broken == "hosts":
        files[2].write_text(yaml.safe_dump({"B": ["b0"]}))
    with pytest.raises(InputError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(*files, model=model)
    text = str(err.value)
    assert where in text
    expected = {"missing": "file not found", "yaml": "not valid YAML", "model": "did you mean 'tiny'",
                "length": "tiny.mem_MB", "hosts": "no host"}[broken]
    assert expected in text


# --------------------------------------------------------------------------- #
# The DP on PipeEdge's instance
# --------------------------------------------------------------------------- #


@needs_data
def test_memory_cannot_bind_on_vit_base(vit):
    """Premise of the exhaustive comparison: every host holds the whole model."""
    assert vit.layer_param_bytes.sum() < vit.node_memory[:8].min()


@needs_data
def test_dp_is_optimal_on_vit_base(vit):
    sol = solve(vit, "pipeedge-dp")
    best = exhaustive_optimum(raw(), {"Minnowboard-E3845": 4, "RCC-VE-C2000": 4})
    assert sol.status.value == "feasible"
    assert sol.objective == pytest.approx(best, rel=1e-9)
    assert sol.info["dp_objective"]["pipeedge"] == pytest.approx(sol.objective, rel=1e-9)
    assert max(pipeedge_stage_times(raw(), stages_of(sol))) == pytest.approx(sol.objective, rel=1e-12)


@needs_data
def test_published_variant_is_pipeedge_own_schedule(vit):
    """The bug reads RCC as a Minnowboard: the DP plans for 8 Minnowboards."""
    pub = solve(vit, "pipeedge-dp", published=True)
    assert stages_of(pub) == README_SCHEDULE
    r = raw()
    all_mb = dict(r, host_type=dict.fromkeys(r["host_type"], "Minnowboard-E3845"))
    believed = exhaustive_optimum(all_mb, {"Minnowboard-E3845": 8})
    assert pub.info["dp_objective"]["pipeedge"] == pytest.approx(believed, rel=1e-9)
    assert pub.objective == pytest.approx(max(pipeedge_stage_times(r, README_SCHEDULE)), rel=1e-12)
    fixed = solve(vit, "pipeedge-dp")
    assert fixed.objective < pub.objective * 0.95  # the published schedule is >5 % slower


def test_published_equals_fixed_when_every_type_has_one_host(tmp_path):
    files = write_tiny(tmp_path, {"A": [3.0, 1.0, 2.0, 2.0], "B": [1.0, 2.0, 1.0, 3.0]}, {"A": ["a0"], "B": ["b0"]})
    p = load(*files, model="tiny")
    a, b = solve(p, "pipeedge-dp"), solve(p, "pipeedge-dp", published=True)
    assert a.assignment == b.assignment


def test_published_is_worse_when_a_type_has_several_hosts(tmp_path):
    # type A (slow) has two hosts, B (fast) one: the published code reads B as A
    files = write_tiny(tmp_path, {"A": [4.0, 4.0, 4.0, 4.0], "B": [1.0, 1.0, 1.0, 1.0]},
                       {"A": ["a0", "a1"], "B": ["b0"]})
    p = load(*files, model="tiny")
    fixed, pub = solve(p, "pipeedge-dp"), solve(p, "pipeedge-dp", published=True)
    assert fixed.objective == pytest.approx(4.0)  # all on b0 = 4 s; any stage on an A host is >= 4 s
    best = solve(p, "brute-force")
    assert fixed.objective == pytest.approx(best.objective, rel=1e-9)
    # the published DP believes three 4 s/layer hosts: best is 8 s (two layers on one host)
    assert pub.info["dp_objective"]["pipeedge"] == pytest.approx(8.0)
    assert pub.objective == pytest.approx(8.0) and pub.objective > fixed.objective


@pytest.mark.slow
def test_dp_matches_brute_force_and_exact_solvers_on_small_files(tmp_path):
    times = {"A": [0.3, 0.1, 0.4, 0.2, 0.5, 0.1], "B": [0.2, 0.2, 0.2, 0.3, 0.2, 0.1]}
    files = write_tiny(tmp_path, times, {"A": ["a0", "a1"], "B": ["b0", "b1"]}, bw=0.5,
                       out=[1000, 4000, 500, 3000, 1000, 10])
    p = load(*files, model="tiny")
    r = raw(tmp_path, "tiny")
    r["m"]["parameters_out"] = [1000, 4000, 500, 3000, 1000, 10]
    best = exhaustive_optimum(r, {"A": 2, "B": 2})
    brute = solve(p, "brute-force")
    assert brute.objective == pytest.approx(best, rel=1e-9)
    for name in ("pipeedge-dp", "milp", "cpsat"):
        sol = solve(p, name)
        assert sol.objective == pytest.approx(best, rel=1e-6), name
        hosts = [s.node for s in sol.segments("pipeedge")]
        assert len(hosts) == len(set(hosts)), name  # one contiguous range per host


# --------------------------------------------------------------------------- #
# Contract on general instances
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("feature", ["memory", "compute", "link", "privacy", "max_segments", "one_segment",
                                     "layer_times", "sink", "unavailable", "bottleneck"])
def test_honest_on_tiny_general_instances(feature):
    data, _ = tiny_instance(0, feature)
    p = po.Problem.from_dict(data)
    sol = solve(p, "pipeedge-dp")
    assert sol.status.value in ("feasible", "no_solution")
    if sol.status.value == "feasible":
        ev = po.evaluate(p, sol.assignment)
        assert ev.feasible and sol.objective == pytest.approx(ev.objective, rel=1e-9)
        exact = solve(p, "brute-force")
        assert sol.objective >= exact.objective * (1 - 1e-9)
    again = solve(p, "pipeedge-dp")
    assert again.assignment == sol.assignment


@needs_data
@pytest.mark.slow
def test_exact_optimum_next_to_pipeedge_schedule_on_vit_base_2_plus_2(tmp_path):
    """ViT-Base on two hosts of each type: cpsat proves the optimum; the fixed
    DP reaches it, PipeEdge's own schedule is slower."""
    devices = tmp_path / "devices.yml"
    devices.write_text(yaml.safe_dump({"Minnowboard-E3845": ["mb-0", "mb-1"], "RCC-VE-C2000": ["rcc-0", "rcc-1"]}))
    p = load(FILES[0], FILES[1], devices)
    dp, pub = solve(p, "pipeedge-dp"), solve(p, "pipeedge-dp", published=True)
    exact = solve(p, "cpsat", warm_start=dp, time_limit=60)
    assert exact.status.value == "optimal"
    best = exhaustive_optimum(raw(), {"Minnowboard-E3845": 2, "RCC-VE-C2000": 2})
    assert exact.objective == pytest.approx(best, rel=1e-6)
    assert dp.objective == pytest.approx(best, rel=1e-9)
    assert pub.objective > dp.objective * 1.05


def test_pipeedge_dp_respects_its_time_limit_on_a_large_state_space():
    """Heterogeneous nodes make every host its own type (a state space of
    2^types): the DP stops at the deadline and says no_solution honestly."""
    from placement_opt.generators import generate

    p = generate("smart-city", seed=0, size="s")
    t0 = time.perf_counter()
    sol = solve(p, "pipeedge-dp", time_limit=0.5)
    assert time.perf_counter() - t0 < 0.5 * 1.1 + 0.5
    assert sol.status.value in ("feasible", "no_solution")
    if sol.status.value == "no_solution":
        assert sol.objective is None
