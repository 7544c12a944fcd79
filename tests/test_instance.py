"""Instance files: validation messages for bad input, lossless round trips, schema."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import jsonschema
import pytest
from pydantic import ValidationError

import placement_opt as po
from placement_opt.errors import format_path
from placement_opt.instance import MAX_INTEGER, MAX_NUMBER, MIN_POSITIVE, instance_json_schema
from tests.paths import ROOT

SCHEMA_FILE = ROOT / "placement_opt" / "schema" / "instance.schema.json"


def errors_of(data) -> str:
    with pytest.raises(po.InstanceError) as err:
        po.Problem.from_dict(data)
    return str(err.value)


def edit(data, path, value=None, delete=False):
    d = copy.deepcopy(data)
    target = d
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


BAD = [
    # (path, value, expected fragment)
    (["workloads", 1, "source"], "phne", "workloads[1].source: unknown node 'phne' (did you mean 'phone'?)"),
    (["workloads", 0, "sink"], "nowhere", "workloads[0].sink: unknown node 'nowhere'"),
    (["workloads", 0, "model"], "gpt", "workloads[0].model: unknown model 'gpt'"),
    (["links", 0, "target"], "swx", "links[0].target: unknown node 'swx' (did you mean 'sw'?)"),
    (["links", 1, "bandwidth"], -5, "links[1].bandwidth: must be >= 1e-30, got -5 (allowed: [1e-30, 1e30]; "
                                    "to take a link down, set available: false)"),
    (["links", 1, "bandwidth"], 0, "links[1].bandwidth: must be >= 1e-30, got 0"),
    (["links", 1, "latency"], "fast", "links[1].latency: must be a number, got the string 'fast'"),
    (["nodes", 1, "utilization"], 1.0, "nodes[1].utilization: must be < 1, got 1.0 (allowed: [0, 1); "
                                       "a node with no capacity left should be marked available: false)"),
    (["nodes", 1, "utilization"], -0.1, "nodes[1].utilization: must be >= 0, got -0.1"),
    (["nodes", 0, "flops"], float("nan"), "nodes[0].flops: must be a finite number, got nan"),
    (["nodes", 0, "memory"], float("inf"), "nodes[0].memory: must be a finite number, got inf"),
    (["nodes", 0, "flops"], True, "nodes[0].flops: must be a number, got the boolean true"),
    (["nodes", 0, "trust"], 1.5, "nodes[0].trust: must be an integer, got 1.5"),
    (["nodes", 0, "available"], "yes", "nodes[0].available: must be true or false, got the string 'yes'"),
    (["nodes", 0, "id"], 7, "nodes[0].id: must be a string, got 7"),
    (["nodes", 0, "bandwith"], 3, "nodes[0].bandwith: unknown field 'bandwith'"),
    (["links", 0, "bandwith"], 3, "links[0].bandwith: unknown field 'bandwith' (did you mean 'bandwidth'?)"),
    (["workloads", 0, "rate"], -1, "workloads[0].rate: must be >= 0, got -1"),
    (["workloads", 0, "slo"], 0, "workloads[0].slo: must be >= 1e-30, got 0 (allowed: [1e-30, 1e30]; "
                                 "leave slo out for no latency bound)"),
    (["workloads", 1, "private_layers"], 4, "workloads[1].private_layers: is 4 but model 'm' has only 3 layers"),
    (["workloads", 0, "max_segments"], 0, "workloads[0].max_segments: must be >= 1, got 0"),
    (["models", 0, "layers", 2, "flops"], -1, "models[0].layers[2].flops: must be >= 0, got -1"),
    (["models", 0, "layer_times", "gpu"], [0.1, 0.2],
     "models[0].layer_times.gpu: has 2 values but model 'm' has 3 layers"),
    (["models", 0, "layers"], [], "models[0].layers: must not be empty"),
    (["models", 0, "origin"], "clod", "models[0].origin: unknown node 'clod' (did you mean 'cloud'?)"),
    (["objective", "latncy"], 1, "objective.latncy: unknown objective term 'latncy' (did you mean 'latency'?)"),
    (["objective", "cost"], -1, "objective.cost: must be >= 0, got -1"),
    (["settings", "max_utilization"], 1.5, "settings.max_utilization: must be <= 1, got 1.5"),
    (["settings", "one_segment_per_node"], 1, "settings.one_segment_per_node: must be true or false, got 1"),
    (["workloads"], [], "workloads: must not be empty"),
    (["nodes"], "none", "nodes: must be a list, got the string 'none'"),
]


@pytest.mark.parametrize("path, value, expected", BAD, ids=[".".join(map(str, b[0])) for b in BAD])
def test_bad_values_name_the_field(hand_data, path, value, expected):
    assert expected in errors_of(edit(hand_data, path, value))


def test_missing_required_field(hand_data):
    msg = errors_of(edit(hand_data, ["links", 2, "latency"], delete=True))
    assert "links[2].latency: is required but missing" in msg


def test_duplicate_ids(hand_data):
    d = copy.deepcopy(hand_data)
    d["nodes"][3]["id"] = "edge"
    msg = errors_of(d)
    assert "nodes[3].id: duplicate id 'edge' (also nodes[1])" in msg


def test_parallel_links_need_explicit_ids(hand_data):
    d = copy.deepcopy(hand_data)
    d["links"].append(dict(d["links"][0]))
    assert "two links join the same nodes; give each an explicit 'id'" in errors_of(d)
    d["links"][-1]["id"] = "backup"
    assert po.Problem.from_dict(d).link_ids[-1] == "backup"


def test_self_loop(hand_data):
    d = edit(hand_data, ["links", 0, "target"], "phone")
    assert "links[0].target: link joins node 'phone' to itself" in errors_of(d)


def test_all_problems_are_reported_at_once(hand_data):
    d = edit(hand_data, ["workloads", 1, "source"], "x")
    d = edit(d, ["links", 1, "bandwidth"], -1)
    msg = errors_of(d)
    assert "links[1].bandwidth" in msg and "invalid instance" in msg


def test_a_bad_only_item_does_not_also_report_an_empty_list(hand_data):
    d = copy.deepcopy(hand_data)
    d["workloads"] = d["workloads"][:1]
    d["workloads"][0]["rate"] = -1
    msg = errors_of(d)
    assert "workloads[0].rate: must be >= 0" in msg
    assert "must not be empty" not in msg


def test_zero_weights_with_latency_objective(hand_data):
    d = copy.deepcopy(hand_data)
    for w in d["workloads"]:
        w["weight"] = 0
    assert "every workload has weight 0" in errors_of(d)


def test_top_level_must_be_an_object():
    assert "the instance must be an object" in errors_of([1, 2])


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(po.InstanceError) as err:
        po.load_instance(missing)
    assert str(missing) in str(err.value) and "file not found" in str(err.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [\n  {"id": "a",}\n]}')
    with pytest.raises(po.InstanceError) as err:
        po.load_instance(broken)
    assert "broken.json" in str(err.value) and "line 2" in str(err.value) and "not valid JSON" in str(err.value)


def test_duplicate_json_keys_are_refused(tmp_path, hand_data):
    text = json.dumps(hand_data).replace('"name": "hand"', '"name": "hand", "name": "again"')
    path = tmp_path / "dup.json"
    path.write_text(text)
    with pytest.raises(po.InstanceError, match="duplicate key 'name'"):
        po.load_instance(path)


def test_bad_value_in_a_file_names_file_and_path(tmp_path, hand_data):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(edit(hand_data, ["workloads", 1, "source"], "phne")))
    with pytest.raises(po.InstanceError) as err:
        po.load_instance(path)
    assert f"{path}: workloads[1].source: unknown node 'phne'" in str(err.value)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip_is_lossless(tmp_path, hand, suffix):
    path = tmp_path / f"copy{suffix}"
    po.save_instance(hand, path)
    again = po.load_instance(path)
    assert again.instance == hand.instance
    assert po.evaluate(again, {"A": ["phone", "edge", "edge"], "B": ["edge", "cloud", "cloud"]}).objective == \
        po.evaluate(hand, {"A": ["phone", "edge", "edge"], "B": ["edge", "cloud", "cloud"]}).objective


def test_yaml_reads_scientific_notation(tmp_path):
    path = tmp_path / "sci.yaml"
    path.write_text(
        "nodes:\n  - {id: a, flops: 1e9, memory: 2E10}\n"
        "models:\n  - id: m\n    input_bytes: 1e3\n"
        "    layers: [{name: l, flops: 1e6, param_bytes: 1e6, output_bytes: 1e2}]\n"
        "workloads:\n  - {id: w, model: m, source: a, rate: 1}\n"
    )
    p = po.load_instance(path)
    assert p.nodes[0].flops == 1e9 and p.nodes[0].memory == 2e10
    assert p.name == "sci"


def test_yaml_errors_have_line_numbers(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("nodes:\n  - id: a\n   flops: [\n")
    with pytest.raises(po.InstanceError) as err:
        po.load_instance(path)
    assert "not valid YAML" in str(err.value) and "line" in str(err.value)


def test_defaults_resolve_but_are_not_written(hand):
    assert hand.link_ids[0] == "phone-sw"
    assert hand.sink_of(hand.workloads[0]) == "phone"
    assert hand.origin_of(hand.models[0]) == "cloud"  # the available node with the most memory
    data = hand.to_dict()
    assert "id" not in data["links"][0] and "sink" not in data["workloads"][0]


def test_problem_is_immutable(hand):
    with pytest.raises(ValidationError):
        hand.nodes[0].flops = 5
    with pytest.raises(ValueError):
        hand.node_memory[0] = 1.0


def test_replace_revalidates(hand):
    changed = hand.replace(nodes={"edge": {"utilization": 0.75}})
    assert changed.effective_flops[1] == pytest.approx(1e9)
    assert hand.effective_flops[1] == pytest.approx(2e9)
    with pytest.raises(po.InstanceError, match="must be < 1"):
        hand.replace(nodes={"edge": {"utilization": 1.0}})


def test_shipped_schema_is_current():
    assert json.loads(SCHEMA_FILE.read_text()) == instance_json_schema()


def test_schema_accepts_valid_and_rejects_bad_files(hand_data):
    schema = instance_json_schema()
    jsonschema.validate(hand_data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(edit(hand_data, ["links", 0, "bandwidth"], -1), schema)


# --------------------------------------------------------------------------- #
# Magnitude limits (docs/decisions.md, "Ranges"): every number is bounded so
# that nothing computed from an instance can overflow.
# --------------------------------------------------------------------------- #

AMOUNT_FIELDS = [  # 0, or [1e-30, 1e30]
    ["nodes", 0, "flops"], ["nodes", 0, "memory"], ["nodes", 0, "cost"], ["nodes", 0, "energy_per_flop"],
    ["links", 0, "latency"], ["links", 0, "energy_per_byte"],
    ["models", 0, "input_bytes"], ["models", 0, "layers", 1, "flops"], ["models", 0, "layers", 1, "param_bytes"],
    ["models", 0, "layers", 1, "output_bytes"], ["models", 0, "layers", 1, "state_bytes"],
    ["models", 0, "layer_times", "gpu", 2], ["workloads", 0, "rate"], ["workloads", 0, "weight"],
    ["objective", "latency"], ["objective", "energy"],
]
POSITIVE_FIELDS = [["links", 0, "bandwidth"], ["workloads", 0, "slo"]]  # [1e-30, 1e30]
ABOVE_MAX = math.nextafter(MAX_NUMBER, math.inf)
BELOW_MIN = math.nextafter(MIN_POSITIVE, 0.0)


def path_text(path) -> str:
    return format_path(path)


def ids(paths) -> list[str]:
    return [".".join(map(str, p)) for p in paths]


def accepted(data) -> bool:
    """Whether both the loader and the shipped JSON schema accept ``data``."""
    try:
        po.Problem.from_dict(data)
        loads = True
    except po.InstanceError:
        loads = False
    schema_ok = not list(jsonschema.Draft202012Validator(instance_json_schema()).iter_errors(data))
    assert loads == schema_ok, "the loader and the JSON schema disagree"
    return loads


@pytest.mark.parametrize("path", AMOUNT_FIELDS + POSITIVE_FIELDS, ids=ids(AMOUNT_FIELDS + POSITIVE_FIELDS))
def test_values_at_the_limits_are_accepted(hand_data, path):
    for value in (MAX_NUMBER, MIN_POSITIVE, 1e29, 1e-29) + ((0.0, 0) if path in AMOUNT_FIELDS else ()):
        assert accepted(edit(hand_data, path, value)), value


@pytest.mark.parametrize("path", AMOUNT_FIELDS + POSITIVE_FIELDS, ids=ids(AMOUNT_FIELDS + POSITIVE_FIELDS))
def test_too_large_values_are_refused_with_the_range(hand_data, path):
    zero = "0 or " if path in AMOUNT_FIELDS else ""
    for value in (ABOVE_MAX, 1e31, 1e308, 10**31):
        msg = errors_of(edit(hand_data, path, value))
        assert f"{path_text(path)}: must be <= 1e30, got " in msg
        assert f"allowed: {zero}[1e-30, 1e30]" in msg and "check the units" in msg
        assert not accepted(edit(hand_data, path, value))


@pytest.mark.parametrize("path", AMOUNT_FIELDS, ids=ids(AMOUNT_FIELDS))
def test_tiny_positive_amounts_are_refused(hand_data, path):
    for value in (BELOW_MIN, 1e-300, 5e-324, math.ulp(0.0) * 3):
        msg = errors_of(edit(hand_data, path, value))
        assert f"{path_text(path)}: must be 0 or >= 1e-30, got {value!r} (allowed: 0 or [1e-30, 1e30]; " \
               "use 0 if you mean none)" in msg
        assert not accepted(edit(hand_data, path, value))


@pytest.mark.parametrize("path", POSITIVE_FIELDS, ids=ids(POSITIVE_FIELDS))
def test_tiny_positive_divisors_are_refused(hand_data, path):
    for value in (BELOW_MIN, 1e-300, 5e-324, 0.0, -1.0):
        msg = errors_of(edit(hand_data, path, value))
        assert f"{path_text(path)}: must be >= 1e-30, got {value!r} (allowed: [1e-30, 1e30]; " in msg
        assert not accepted(edit(hand_data, path, value))


def test_bandwidth_hint_suggests_taking_the_link_down(hand_data):
    assert "to take a link down, set available: false" in errors_of(edit(hand_data, ["links", 0, "bandwidth"], 1e-300))


def test_utilization_may_come_as_close_to_1_as_floats_allow(hand_data):
    # the largest float below 1: 1 - u is 2**-53, so compute times grow by 9e15 at most
    below_one = math.nextafter(1.0, 0.0)
    assert accepted(edit(hand_data, ["nodes", 0, "utilization"], below_one))
    assert accepted(edit(hand_data, ["nodes", 0, "utilization"], 5e-324))
    assert "nodes[0].utilization: must be < 1, got 1.0 (allowed: [0, 1);" in \
        errors_of(edit(hand_data, ["nodes", 0, "utilization"], 1.0))


def test_max_utilization_limits(hand_data):
    for value in (MIN_POSITIVE, 1.0, 0.5):
        assert accepted(edit(hand_data, ["settings", "max_utilization"], value))
    for value in (BELOW_MIN, 1e-300, 0.0, math.nextafter(1.0, 2.0)):
        msg = errors_of(edit(hand_data, ["settings", "max_utilization"], value))
        assert "settings.max_utilization: must be" in msg and "allowed: [1e-30, 1]" in msg
        assert not accepted(edit(hand_data, ["settings", "max_utilization"], value))


INT_FIELDS = [(["nodes", 0, "trust"], 0), (["workloads", 0, "min_trust"], 0), (["workloads", 0, "max_segments"], 1)]


@pytest.mark.parametrize("path, low", INT_FIELDS, ids=ids(p for p, _ in INT_FIELDS))
def test_integer_limits(hand_data, path, low):
    for value in (low, MAX_INTEGER):
        assert accepted(edit(hand_data, path, value))
    for value in (MAX_INTEGER + 1, 2**63, 2**70):
        msg = errors_of(edit(hand_data, path, value))
        assert f"{path_text(path)}: must be <= 1000000000, got {value}" in msg
        assert f"allowed: [{low}, 1000000000]" in msg
        assert not accepted(edit(hand_data, path, value))
    assert f"{path_text(path)}: must be >= {low}, got {low - 1}" in errors_of(edit(hand_data, path, low - 1))


def test_private_layers_has_an_upper_limit_too(hand_data):
    msg = errors_of(edit(hand_data, ["workloads", 0, "private_layers"], 2**64))
    assert "workloads[0].private_layers: must be <= 1000000000, got 18446744073709551616" in msg


def test_integers_too_large_for_a_float_are_refused(hand_data):
    msg = errors_of(edit(hand_data, ["nodes", 0, "flops"], 10**400))
    assert "nodes[0].flops: must be a number <= 1e30, got an integer of 401 digits" in msg
    msg = errors_of(edit(hand_data, ["nodes", 0, "trust"], 10**400))
    assert "nodes[0].trust: must be <= 1000000000, got an integer of 401 digits" in msg


def test_every_number_field_has_an_upper_limit_in_the_schema():
    """No number or integer in the schema is left without a maximum."""
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") in ("number", "integer"):
                assert "maximum" in node or "exclusiveMaximum" in node, where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for k, value in enumerate(node):
                walk(value, f"{where}[{k}]")

    walk(instance_json_schema(), "schema")


def test_cli_validate_refuses_an_overflowing_value(tmp_path, hand_data):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(edit(hand_data, ["nodes", 3, "flops"], 1e-300)))
    proc = subprocess.run([sys.executable, "-m", "placement_opt", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"{path}: nodes[3].flops: must be 0 or >= 1e-30, got 1e-300 (allowed: 0 or [1e-30, 1e30]" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("section", "field", "value"), [
    ("workloads", "split", True), ("workloads", "max_paths", 2), ("workloads", "admission", "partial"),
    ("models", "capacity", {"t4": [1.0]}),
])
def test_spec_section_8_fields_are_refused_as_not_supported_yet(hand_data, section, field, value):
    """SPEC 8 is not implemented: its fields must not be silently ignored, and
    the message says why (docs/decisions.md)."""
    hand_data[section][0][field] = value
    with pytest.raises(po.InstanceError, match=rf"{section}\[0\]\.{field}: '{field}' belongs to split workloads"):
        po.Problem.from_dict(hand_data, "x.json")
