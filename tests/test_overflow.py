"""Numbers near the float limits: refused at load time, or harmless downstream.

Numbers of valid instances are pushed to extremes: around the documented
limits (docs/decisions.md, "Ranges"), the float maximum, subnormals, tiny
positives, 0 and -0.0 -- a few at a time in random instances
(``tests/strategies.py``, hypothesis), and each field alone at each extreme in
the hand-computed fixture.  Then either loading refuses the instance, naming
exactly the fields that break their range, or the evaluator and the greedy
heuristic run with numpy's floating-point errors and Python warnings turned
into exceptions and produce no NaN, and ``inf`` only where the docs define it:
the latency of a transfer without a route, and compute on a node with
``flops`` 0 (both make the solution infeasible).  Last, instances with every
number at its worst allowed extreme check the bound worked out in the docs.

Underflow is left to numpy's default (ignored): it rounds to 0 or a subnormal,
never to inf or NaN, and the routing lifts zero link latencies to the smallest
normal float on purpose (``placement_opt/routing.py``), which underflows when
scaled by the tie tolerance.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import placement_opt as po
from placement_opt.errors import format_path
from placement_opt.instance import MAX_INTEGER, MAX_NUMBER, MIN_POSITIVE
from tests.paths import FIXTURES
from tests.strategies import instances

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = {"max_nodes": 5, "max_models": 2, "max_layers": 4, "max_workloads": 3}

# --------------------------------------------------------------------------- #
# Which field has which range: the table in docs/decisions.md, written out
# independently of placement_opt/instance.py.
# --------------------------------------------------------------------------- #

NODE_FIELDS = {"flops": "amount", "memory": "amount", "cost": "amount", "energy_per_flop": "amount",
               "utilization": "fraction", "trust": "int0"}
LINK_FIELDS = {"bandwidth": "positive", "latency": "amount", "energy_per_byte": "amount"}
LAYER_FIELDS = {"flops": "amount", "param_bytes": "amount", "output_bytes": "amount", "state_bytes": "amount"}
WORKLOAD_FIELDS = {"rate": "amount", "weight": "amount", "slo": "positive", "min_trust": "int0",
                   "private_layers": "int0", "max_segments": "int1"}
TERMS = ("latency", "max_latency", "bottleneck", "cost", "energy", "migration")


def in_range(kind: str, v: float) -> bool:
    if kind == "amount":
        return v == 0 or MIN_POSITIVE <= v <= MAX_NUMBER
    if kind == "positive":
        return MIN_POSITIVE <= v <= MAX_NUMBER
    if kind == "fraction":
        return 0 <= v < 1
    if kind == "max_utilization":
        return MIN_POSITIVE <= v <= 1
    low = 1 if kind == "int1" else 0
    return low <= v <= MAX_INTEGER


def number_fields(inst: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(path, kind) of every number field the instance has or could have."""
    out: list[tuple[tuple, str]] = []
    for k, _ in enumerate(inst["nodes"]):
        out += [(("nodes", k, f), kind) for f, kind in NODE_FIELDS.items()]
    for k, _ in enumerate(inst["links"]):
        out += [(("links", k, f), kind) for f, kind in LINK_FIELDS.items()]
    for m, model in enumerate(inst["models"]):
        out.append((("models", m, "input_bytes"), "amount"))
        for l, _ in enumerate(model["layers"]):
            out += [(("models", m, "layers", l, f), kind) for f, kind in LAYER_FIELDS.items()]
        for dev, times in model.get("layer_times", {}).items():
            out += [(("models", m, "layer_times", dev, l), "amount") for l in range(len(times))]
    for k, _ in enumerate(inst["workloads"]):
        out += [(("workloads", k, f), kind) for f, kind in WORKLOAD_FIELDS.items()]
    out += [(("objective", t), "amount") for t in TERMS]
    out.append((("settings", "max_utilization"), "max_utilization"))
    return out


# --------------------------------------------------------------------------- #
# Extreme values
# --------------------------------------------------------------------------- #

SUBNORMAL = 5e-324
SMALLEST_NORMAL = sys.float_info.min
FLOAT_MAX = sys.float_info.max
FLOATS_INSIDE = (0.0, -0.0, MIN_POSITIVE, math.nextafter(MIN_POSITIVE, 1.0), 1e-29, 1e-12, 1.0, 1e29,
                 math.nextafter(MAX_NUMBER, 0.0), MAX_NUMBER)
FLOATS_OUTSIDE = (SUBNORMAL, SMALLEST_NORMAL, 1e-300, math.nextafter(MIN_POSITIVE, 0.0), 1e-31,
                  math.nextafter(MAX_NUMBER, math.inf), 1e31, 1e300, FLOAT_MAX, -MIN_POSITIVE, -1.0, -FLOAT_MAX)
BELOW_ONE = math.nextafter(1.0, 0.0)  # 1 - 2**-53: the largest utilization
MENUS = {
    "amount": FLOATS_INSIDE + FLOATS_INSIDE + FLOATS_OUTSIDE,  # twice as many inside: more instances load
    "positive": FLOATS_INSIDE[2:] + FLOATS_INSIDE[2:] + FLOATS_OUTSIDE + (0.0, -0.0),
    "fraction": (0.0, -0.0, SUBNORMAL, 1e-300, 0.5, 0.999999, 1 - 2**-52, BELOW_ONE, 1.0, -SUBNORMAL),
    "max_utilization": (MIN_POSITIVE, 1e-12, 0.5, 1.0, 1.0, math.nextafter(MIN_POSITIVE, 0.0), SUBNORMAL, 0.0,
                        math.nextafter(1.0, 2.0)),
}
INTS = (0, 1, 2, 3, MAX_INTEGER, MAX_INTEGER + 1, 2**63 - 1, 2**63, 2**64, -1)


def values(kind: str) -> st.SearchStrategy[Any]:
    if kind.startswith("int"):
        return st.one_of(st.sampled_from(INTS), st.integers(-(2**70), 2**70))
    return st.one_of(st.sampled_from(MENUS[kind]), st.floats(allow_nan=False, allow_infinity=False))


def put(data: dict[str, Any], path: tuple, value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    target[path[-1]] = value


@st.composite
def mutated(draw) -> tuple[dict[str, Any], dict[str, tuple[str, Any]]]:
    """A valid instance with 1-4 number fields set to extremes; also
    ``{field path: (kind, value)}`` of the changes."""
    inst = copy.deepcopy(draw(instances(**SMALL)))
    fields = number_fields(inst)
    changes: dict[str, tuple[str, Any]] = {}
    for _ in range(draw(st.integers(1, 4))):
        path, kind = fields[draw(st.integers(0, len(fields) - 1))]
        value = draw(values(kind))
        put(inst, path, value)
        changes[format_path(path)] = (kind, value)
    return inst, changes


# --------------------------------------------------------------------------- #
# Checks
# --------------------------------------------------------------------------- #


def note(what: str) -> None:
    """Count loaded and refused examples (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(what)


@contextmanager
def strict_floats() -> Iterator[None]:
    """Overflow, invalid operations and division by zero raise, as do warnings."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


def load(inst: dict[str, Any], changes: dict[str, tuple[str, Any]]) -> po.Problem | None:
    """Load; if refused, the refusal must name exactly the out-of-range fields."""
    bad = {path for path, (kind, value) in changes.items() if not in_range(kind, value)}
    try:
        problem = po.Problem.from_dict(inst, "fuzz.json")
    except po.InstanceError as err:
        named = {issue.path for issue in err.issues}
        assert bad <= named, f"out-of-range fields not named: {bad - named}\n{err}"
        # besides those: a cross-record rule that a changed value broke
        # (private_layers beyond the model; every weight 0 under a latency objective)
        assert named <= set(changes) | {"objective.latency"}, str(err)
        assert all("fuzz.json" in line for line in str(err).splitlines()[1:])
        note("refused")
        return None
    assert not bad, f"accepted out-of-range values: {bad}"
    note("loaded")
    return problem


def no_nan(values: Any) -> bool:
    return not np.isnan(np.asarray(list(values), dtype=float)).any()


def check_evaluation(problem: po.Problem, ev: po.Evaluation) -> None:
    """No NaN anywhere; inf only for a workload without a route or with a
    layer on a ``flops`` 0 node, and in what sums or weighs those."""
    for group in (ev.latency.values(), ev.node_utilization.values(), ev.link_utilization.values(),
                  ev.node_memory.values(), ev.terms.values(), [ev.objective]):
        assert no_nan(group)
    for v in ev.violations:
        assert no_nan([v.value, v.limit, v.amount]), v
    down = {v.workload for v in ev.violations if v.kind in ("no_route", "no_compute")}
    lat_inf = {w for w, t in ev.latency.items() if math.isinf(t)}
    assert lat_inf <= down, f"inf latency without a missing route or a switch: {lat_inf - down}"
    switches = {n.id for n in problem.nodes if n.flops == 0}
    util_inf = {i for i, u in ev.node_utilization.items() if math.isinf(u)}
    assert util_inf <= switches
    for group in (ev.link_utilization.values(), ev.node_memory.values()):
        assert np.isfinite(list(group)).all()
    for term in ("cost", "energy", "migration"):
        assert math.isfinite(ev.terms.get(term, 0.0)), term
    if math.isinf(ev.terms["latency"]) or math.isinf(ev.terms["max_latency"]):
        assert lat_inf
    if math.isinf(ev.terms["bottleneck"]):
        assert util_inf
    weights = problem.objective_weights
    if math.isinf(ev.objective):
        assert any(w > 0 and math.isinf(ev.terms.get(t, 0.0)) for t, w in weights.items())
    if ev.feasible:
        assert math.isfinite(ev.objective) and not lat_inf and not util_inf


def on_source(problem: po.Problem) -> dict[str, list[str]]:
    """Every layer of every workload on its own source node."""
    return {w.id: [w.source] * len(problem.model_of(w.id).layers) for w in problem.workloads}


def spread(problem: po.Problem, picks: list[int]) -> dict[str, list[str]]:
    """Layer k of every workload on node ``picks[k]`` (any node, maybe a switch)."""
    ids = problem.node_ids
    return {w.id: [ids[picks[k % len(picks)] % len(ids)] for k in range(len(problem.model_of(w.id).layers))]
            for w in problem.workloads}


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #


@FUZZ
@given(case=mutated(), picks=st.lists(st.integers(0, 6), min_size=1, max_size=4))
def test_extreme_numbers_are_refused_or_evaluate_cleanly(case, picks):
    inst, changes = case
    problem = load(inst, changes)
    if problem is None:
        return
    with strict_floats():
        for assignment in (on_source(problem), spread(problem, picks)):
            check_evaluation(problem, po.evaluate(problem, assignment))
            check_evaluation(problem, po.evaluate(problem, assignment, previous=on_source(problem)))


@settings(FUZZ, max_examples=300)
@given(case=mutated())
def test_extreme_numbers_are_refused_or_greedy_runs_cleanly(case):
    inst, changes = case
    problem = load(inst, changes)
    if problem is None:
        return
    with strict_floats():
        result = po.solve(problem, "greedy")
        if result.assignment:
            ev = po.evaluate(problem, result.assignment)
            check_evaluation(problem, ev)
            assert ev.feasible and math.isfinite(ev.objective)
            assert result.objective == pytest.approx(ev.objective, rel=1e-6)


# --------------------------------------------------------------------------- #
# Every field alone at every extreme (deterministic)
# --------------------------------------------------------------------------- #

HAND = json.loads((FIXTURES / "hand.json").read_text())  # switches, layer_times, privacy, SLOs
HAND_FIELDS = number_fields(HAND)


def extremes(kind: str) -> tuple:
    return INTS if kind.startswith("int") else tuple(dict.fromkeys(MENUS[kind] + FLOATS_OUTSIDE))


@pytest.mark.parametrize("path, kind", HAND_FIELDS, ids=[format_path(p) for p, _ in HAND_FIELDS])
def test_each_field_at_each_extreme(path, kind):
    for value in extremes(kind):
        inst = copy.deepcopy(HAND)
        put(inst, path, value)
        problem = load(inst, {format_path(path): (kind, value)})
        if problem is None:
            continue
        with strict_floats():
            for assignment in (on_source(problem), spread(problem, [1, 3, 0])):
                check_evaluation(problem, po.evaluate(problem, assignment, previous=on_source(problem)))
            result = po.solve(problem, "greedy")
            if result.assignment:
                check_evaluation(problem, po.evaluate(problem, result.assignment))


# --------------------------------------------------------------------------- #
# The worst cases the limits allow, all at once
# --------------------------------------------------------------------------- #

BIG, TINY = MAX_NUMBER, MIN_POSITIVE


def extreme_instance(big: float, tiny: float, n_layers: int = 6) -> dict[str, Any]:
    """Numerators at ``big``, divisors at ``tiny`` (and utilization next to 1):
    the largest times, loads and energies the limits allow."""
    node = {"memory": big, "cost": big, "energy_per_flop": big, "utilization": BELOW_ONE}
    nodes = [{"id": f"n{k}", "flops": tiny, **node} for k in range(3)] + [{"id": "sw", "flops": 0.0, "memory": 0.0}]
    links = [{"source": a, "target": b, "bandwidth": tiny, "latency": big, "energy_per_byte": big}
             for a, b in (("n0", "sw"), ("sw", "n1"), ("n1", "n2"))]
    layer = {"flops": big, "param_bytes": big, "output_bytes": big, "state_bytes": big}
    model = {"id": "m", "input_bytes": big, "layers": [{"name": f"l{l}", **layer} for l in range(n_layers)],
             "layer_times": {"gpu": [big] * n_layers}}
    nodes[2]["type"] = "gpu"
    workloads = [{"id": f"w{k}", "model": "m", "source": "n0", "sink": "n2", "rate": big, "weight": big,
                  "slo": tiny} for k in range(3)]
    objective = dict.fromkeys(TERMS, big)
    return {"nodes": nodes, "links": links, "models": [model], "workloads": workloads, "objective": objective,
            "settings": {"max_utilization": min(tiny, 1.0)}}


def test_largest_values_allowed_stay_far_from_overflow():
    problem = po.Problem.from_dict(extreme_instance(BIG, TINY))
    layers = len(problem.models[0].layers)
    with strict_floats():
        for picks in ([0], [1], [2], [0, 1, 2], [2, 1, 0], [3, 0]):
            for previous in (None, {w.id: ["n1"] * layers for w in problem.workloads}):
                ev = po.evaluate(problem, spread(problem, picks), previous=previous)
                check_evaluation(problem, ev)
                finite = [x for x in [ev.objective, *ev.terms.values()] if math.isfinite(x)]
                assert max(finite) < 1e160  # the bound worked out in docs/decisions.md
        result = po.solve(problem, "greedy")  # nothing fits: no solution, but no overflow either
    assert not result.assignment


def test_smallest_values_allowed_stay_normal():
    """Tiny numerators over huge divisors: nothing underflows into subnormals."""
    problem = po.Problem.from_dict(extreme_instance(TINY, BIG))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for picks in ([0], [0, 1, 2], [2, 1]):
            ev = po.evaluate(problem, spread(problem, picks))
            check_evaluation(problem, ev)
            positive = [x for x in [*ev.terms.values(), *ev.latency.values()] if x > 0]
            assert positive and min(positive) > 1e-200
