"""The instance file format (SPEC section 3): schema, validation, loading and saving.

The pydantic models below *are* the file format.  They are frozen, refuse unknown
fields and accept only values of the right type (no silent string-to-number
conversion).  Rules that span several records (ids that must exist, unique ids,
``private_layers`` within the model, ...) are checked by :func:`check_references`.
Every problem is reported at once, each with its field path.

Optional fields that default to *another field's value* (``link.id``,
``workload.sink``, ``model.origin``) are stored as ``None`` and resolved by
:class:`placement_opt.Problem`, so that saving an instance writes back what was
read.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError, core_schema

from .errors import InputError, InstanceError, Issue, did_you_mean, format_path

OBJECTIVE_TERMS: tuple[str, ...] = (
    "latency",
    "max_latency",
    "bottleneck",
    "cost",
    "energy",
    "migration",
)
ObjectiveTerm = Literal["latency", "max_latency", "bottleneck", "cost", "energy", "migration"]

# --------------------------------------------------------------------------- #
# Number ranges
# --------------------------------------------------------------------------- #

#: Largest value of any (non-integer) number in an instance.
MAX_NUMBER = 1e30
#: Smallest positive value of a number (0 is allowed where it has a meaning).
MIN_POSITIVE = 1e-30
#: Largest value of an integer field (trust levels, layer and segment counts).
MAX_INTEGER = 10**9

# Why these limits (worked out in docs/decisions.md, "Why these limits"): with
# every input 0 or in [1e-30, 1e30] and 1 - utilization >= 2**-53 (the largest
# float below 1 is 1 - 2**-53), a compute time is at most 1e30 / (1e-30 * 2**-53)
# ~ 1e76 s and a transfer at most ~1e60 s; summed over 1e12 layers, weighted and
# totalled over every term, the objective stays below ~1e149, and no nonzero
# quantity the evaluator forms falls below ~1e-170: far from float overflow
# (1.8e308) and from subnormals (2.2e-308).  No real cluster is near either end.


def _num(x: float) -> str:
    """1e30 -> '1e30', 1e-30 -> '1e-30', 1000000000 -> '1000000000', 0.5 -> '0.5'."""
    if isinstance(x, int):
        return str(x)
    mantissa, _, exponent = f"{x:g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


@dataclass(frozen=True)
class Range:
    """Allowed values of a number field: ``low <= x <= high`` (``x < high``
    when ``high_open``), and also exactly 0 when ``zero``.

    Used as ``Annotated[StrictFloat, Range(...)]``: checked on load, with an
    error that names the violated bound and the whole range, and written to
    the JSON schema.
    """

    low: float
    high: float
    high_open: bool = False
    zero: bool = False

    @property
    def text(self) -> str:
        interval = f"[{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}"
        return f"0 or {interval}" if self.zero else interval

    def violated(self, x: float) -> str | None:
        """The bound ``x`` breaks, as text (None when ``x`` is allowed)."""
        if self.high_open and x >= self.high:
            return f"< {_num(self.high)}"
        if x > self.high:
            return f"<= {_num(self.high)}"
        if x >= self.low or (self.zero and x == 0):
            return None
        if self.zero:
            return ">= 0" if x < 0 else f"0 or >= {_num(self.low)}"
        return f">= {_num(self.low)}"

    def _check(self, x: float) -> float:
        rule = self.violated(x)
        if rule is not None:
            side = "high" if rule.startswith("<") else "low"
            raise PydanticCustomError("number_range", "must be {rule}", {"rule": rule, "allowed": self.text,
                                                                         "side": side})
        if x == 0 and isinstance(x, float):
            return 0.0  # -0.0 would turn a later division into -inf
        return x

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        out = handler(schema)
        out["minimum"] = 0 if self.zero else self.low
        out["exclusiveMaximum" if self.high_open else "maximum"] = self.high
        if self.zero and self.low > 0:
            out["not"] = {"exclusiveMinimum": 0, "exclusiveMaximum": self.low}
        return out


#: A quantity that may be 0 (none, or a switch for node flops).
AMOUNT = Range(MIN_POSITIVE, MAX_NUMBER, zero=True)
#: A quantity that something divides by and that has no meaning at 0.
POSITIVE = Range(MIN_POSITIVE, MAX_NUMBER)

Id = Annotated[StrictStr, Field(min_length=1)]
NonNegative = Annotated[StrictFloat, AMOUNT]
Positive = Annotated[StrictFloat, POSITIVE]
#: A share in [0, 1) (background utilisation).
FRACTION = Range(0, 1, high_open=True)
Fraction = Annotated[StrictFloat, FRACTION]
NonNegativeInt = Annotated[StrictInt, Range(0, MAX_INTEGER)]
PositiveInt = Annotated[StrictInt, Range(1, MAX_INTEGER)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Node(_Record):
    """A compute node, or a switch/router when ``flops`` is 0."""

    id: Id
    flops: NonNegative = Field(description="peak compute, FLOP/s; 0 for a switch that only forwards")
    memory: NonNegative = Field(description="memory for weights and state, bytes")
    utilization: Fraction = Field(0.0, description="background load in [0, 1)")
    trust: NonNegativeInt = Field(0, description="privacy level; higher is more trusted")
    cost: NonNegative = Field(0.0, description="money per second while the node hosts anything")
    energy_per_flop: NonNegative = Field(0.0, description="J/FLOP")
    available: StrictBool = True
    tier: StrictStr | None = Field(None, description="free text: device, edge, cloud, ...")
    type: StrictStr | None = Field(None, description="device type name, keys model.layer_times")


class Link(_Record):
    """A network link; undirected links share their capacity between both directions."""

    id: Id | None = Field(None, description="defaults to 'source-target'")
    source: Id
    target: Id
    bandwidth: Positive = Field(description="bytes/s")
    latency: NonNegative = Field(description="seconds")
    energy_per_byte: NonNegative = Field(0.0, description="J/byte")
    directed: StrictBool = False
    available: StrictBool = True

    @property
    def resolved_id(self) -> str:
        return self.id if self.id is not None else f"{self.source}-{self.target}"


class Layer(_Record):
    """One layer of a model, in execution order."""

    name: StrictStr
    flops: NonNegative = Field(description="FLOP per inference")
    param_bytes: NonNegative = Field(description="weight bytes, stored once per node")
    output_bytes: NonNegative = Field(description="activation bytes sent to the next layer (or the sink)")
    state_bytes: NonNegative = Field(0.0, description="per-workload memory: KV cache, buffers")


class Model(_Record):
    """A model: a chain of layers."""

    id: Id
    input_bytes: NonNegative = Field(description="bytes of one raw input")
    layers: Annotated[tuple[Layer, ...], Field(min_length=1)]
    origin: Id | None = Field(None, description="node that always holds the full weights")
    layer_times: dict[StrictStr, tuple[NonNegative, ...]] | None = Field(
        None, description="measured seconds per layer on an idle node of each device type"
    )


class Workload(_Record):
    """A request stream from ``source`` to ``sink``."""

    id: Id
    model: Id
    source: Id
    sink: Id | None = Field(None, description="defaults to the source")
    rate: NonNegative = Field(description="inferences/s")
    slo: Positive | None = Field(None, description="latency bound, seconds")
    min_trust: NonNegativeInt = 0
    private_layers: NonNegativeInt = 0
    weight: NonNegative = 1.0
    max_segments: PositiveInt | None = None


class Settings(_Record):
    max_utilization: Annotated[StrictFloat, Range(MIN_POSITIVE, 1)] = 1.0
    one_segment_per_node: StrictBool = False


def _default_objective() -> dict[ObjectiveTerm, float]:
    return {"latency": 1.0}


class Instance(_Record):
    """A whole instance file (SPEC section 3)."""

    name: StrictStr | None = None
    nodes: Annotated[tuple[Node, ...], Field(min_length=1)]
    links: tuple[Link, ...] = ()
    models: Annotated[tuple[Model, ...], Field(min_length=1)]
    workloads: Annotated[tuple[Workload, ...], Field(min_length=1)]
    objective: dict[ObjectiveTerm, NonNegative] = Field(default_factory=_default_objective)
    settings: Settings = Field(default_factory=Settings)


# --------------------------------------------------------------------------- #
# Cross-record checks
# --------------------------------------------------------------------------- #


def _unique(records: typing.Sequence[Any], section: str, key) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for k, rec in enumerate(records):
        rid = key(rec)
        if rid in seen:
            field = "id" if section != "links" or rec.id is not None else "source"
            hint = "ids must be unique"
            if section == "links" and rec.id is None:
                hint = "two links join the same nodes; give each an explicit 'id'"
            issues.append(
                Issue(f"{section}[{k}].{field}", f"duplicate id {rid!r} (also {section}[{seen[rid]}])", hint)
            )
        else:
            seen[rid] = k
    return issues


def _ref(value: str, known: Mapping[str, Any], path: str, what: str) -> list[Issue]:
    if value in known:
        return []
    return [Issue(path, f"unknown {what} {value!r}", did_you_mean(value, known) or f"define it in {what}s[]")]


def check_references(inst: Instance) -> list[Issue]:
    """Rules that span several records; returns every issue found."""
    issues: list[Issue] = []
    issues += _unique(inst.nodes, "nodes", lambda n: n.id)
    issues += _unique(inst.links, "links", lambda e: e.resolved_id)
    issues += _unique(inst.models, "models", lambda m: m.id)
    issues += _unique(inst.workloads, "workloads", lambda w: w.id)
    nodes = {n.id: k for k, n in enumerate(inst.nodes)}
    models = {m.id: m for m in inst.models}

    for k, link in enumerate(inst.links):
        issues += _ref(link.source, nodes, f"links[{k}].source", "node")
        issues += _ref(link.target, nodes, f"links[{k}].target", "node")
        if link.source == link.target:
            issues.append(Issue(f"links[{k}].target", f"link joins node {link.source!r} to itself"))

    for k, model in enumerate(inst.models):
        if model.origin is not None:
            issues += _ref(model.origin, nodes, f"models[{k}].origin", "node")
        n_layers = len(model.layers)
        for dev, times in (model.layer_times or {}).items():
            if len(times) != n_layers:
                issues.append(
                    Issue(
                        format_path(["models", k, "layer_times", dev]),
                        f"has {len(times)} values but model {model.id!r} has {n_layers} layers",
                        "give one time per layer, in execution order",
                    )
                )

    for k, wl in enumerate(inst.workloads):
        issues += _ref(wl.model, models, f"workloads[{k}].model", "model")
        issues += _ref(wl.source, nodes, f"workloads[{k}].source", "node")
        if wl.sink is not None:
            issues += _ref(wl.sink, nodes, f"workloads[{k}].sink", "node")
        used = models.get(wl.model)
        if used is not None:
            n_layers = len(used.layers)
            if wl.private_layers > n_layers:
                issues.append(
                    Issue(
                        f"workloads[{k}].private_layers",
                        f"is {wl.private_layers} but model {used.id!r} has only {n_layers} layers",
                    )
                )

    if inst.objective.get("latency", 0) > 0 and all(w.weight == 0 for w in inst.workloads):
        issues.append(
            Issue(
                "objective.latency",
                "the latency term is a weighted mean, but every workload has weight 0",
                "give some workload a positive weight, or drop the latency term",
            )
        )
    return issues


# --------------------------------------------------------------------------- #
# Turning pydantic errors into issues
# --------------------------------------------------------------------------- #


def _field_type(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            current = _element_type(current)
            if current is None:
                return None
        current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _strip(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0]
        else:
            return tp


def _element_type(tp: Any) -> Any:
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    return None


_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}

_UNITS_HINT = "larger values could overflow; check the units, which are SI: bytes, FLOP, seconds"
_HINTS = {
    ("utilization", "high"): "a node with no capacity left should be marked available: false",
    ("bandwidth", "low"): "to take a link down, set available: false",
    ("slo", "low"): "leave slo out for no latency bound",
}


def _range_hint(field: str, ctx: Mapping[str, Any]) -> str:
    """The allowed range, and how to fix the value where that is obvious."""
    parts = [f"allowed: {ctx['allowed']}"]
    specific = _HINTS.get((field, ctx["side"]))
    if specific:
        parts.append(specific)
    elif ctx["rule"] == f"<= {_num(MAX_NUMBER)}":
        parts.append(_UNITS_HINT)
    elif ctx["rule"].startswith("0 or"):
        parts.append("use 0 if you mean none")
    return "; ".join(parts)


def _big_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30


def _describe(value: Any) -> str:
    if _big_int(value):
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return repr(value)


def _cascade(err: Mapping[str, Any]) -> bool:
    """A "too short" error on a non-empty list: pydantic counts only the items
    that validated, so it follows from the items' own errors (already reported)."""
    value = err.get("input")
    return err["type"] == "too_short" and isinstance(value, list) and len(value) > 0


#: Fields of SPEC section 8 (split workloads, throughput tables), which this
#: version does not support yet: named as such rather than as unknown.
SPEC8_FIELDS = frozenset({"split", "max_paths", "admission", "capacity", "one_range_per_node", "whole_ranges"})


def _issue_from_pydantic(err: Mapping[str, Any]) -> Issue:
    loc = tuple(p for p in err["loc"] if p != "[key]")
    path = format_path(loc)
    kind = err["type"]
    value = err.get("input")
    field = loc[-1] if loc else ""
    hint = None
    if kind == "extra_forbidden" and field in SPEC8_FIELDS:
        return Issue(path, f"{field!r} belongs to split workloads and throughput tables (SPEC section 8), "
                           "which this version does not support yet",
                     "remove the field; see docs/decisions.md, 'SPEC section 8'")
    if kind == "extra_forbidden":
        owner = _field_type(Instance, err["loc"])
        known = list(owner.model_fields) if owner else []
        hint = did_you_mean(str(field), known)
        if hint is None and known:
            hint = "known fields: " + ", ".join(known)
        return Issue(path, f"unknown field {field!r}", hint)
    if kind == "missing":
        return Issue(path, "is required but missing")
    if kind == "number_range":
        ctx = err["ctx"]
        shown = _describe(value) if _big_int(value) else repr(value)
        return Issue(path, f"must be {ctx['rule']}, got {shown}", _range_hint(str(field), ctx))
    if kind in _BOUNDS:
        bound = _num(next(iter(err["ctx"].values())))
        return Issue(path, f"must be {_BOUNDS[kind]} {bound}, got {value!r}")
    if kind == "finite_number":
        return Issue(path, f"must be a finite number, got {value!r}")
    if kind in ("float_type", "float_parsing") and _big_int(value):
        return Issue(path, f"must be a number <= {_num(MAX_NUMBER)}, got {_describe(value)}",
                     _UNITS_HINT)
    if kind in ("float_type", "float_parsing"):
        return Issue(path, f"must be a number, got {_describe(value)}")
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return Issue(path, f"must be an integer, got {_describe(value)}")
    if kind == "bool_type":
        return Issue(path, f"must be true or false, got {_describe(value)}")
    if kind == "string_type":
        return Issue(path, f"must be a string, got {_describe(value)}")
    if kind == "string_too_short":
        return Issue(path, "must not be empty")
    if kind == "too_short":
        return Issue(path, "must not be empty")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Issue(path, f"must be an object (mapping), got {_describe(value)}")
    if kind in ("tuple_type", "list_type"):
        return Issue(path, f"must be a list, got {_describe(value)}")
    if kind == "literal_error":
        hint = did_you_mean(str(value), OBJECTIVE_TERMS) or "known terms: " + ", ".join(OBJECTIVE_TERMS)
        return Issue(path, f"unknown objective term {value!r}", hint)
    return Issue(path, err["msg"])


# --------------------------------------------------------------------------- #
# Reading and writing files
# --------------------------------------------------------------------------- #


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that reads 1e9 as a number and refuses duplicate keys."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _construct_mapping(loader: _YamlLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out


def read_data_file(path: str | os.PathLike, error: type[InputError] = InstanceError) -> Any:
    """Parse a JSON or YAML file into plain Python data, with clear errors."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(Issue("", "file not found"), name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(Issue("", f"cannot read the file: {exc}"), name) from None
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _parse_yaml(text, name, error)
    try:
        return json.loads(text, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        if suffix == ".json":
            raise error(Issue("", f"not valid JSON: {exc.msg}", line=exc.lineno), name) from None
        return _parse_yaml(text, name, error)
    except ValueError as exc:
        raise error(Issue("", str(exc)), name) from None


def _parse_yaml(text: str, name: str, error: type[InputError]) -> Any:
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise error(Issue("", f"not valid YAML: {problem}", line=line), name) from None


def parse_instance(data: Any, file: str | None = None) -> Instance:
    """Validate plain data (as read from JSON/YAML) into an :class:`Instance`.

    Raises
    ------
    InstanceError
        Listing every problem found, each with its field path.
    """
    if not isinstance(data, Mapping):
        raise InstanceError(Issue("", f"the instance must be an object (mapping), got {_describe(data)}"), file)
    try:
        inst = Instance.model_validate(data)
    except ValidationError as exc:
        raise InstanceError([_issue_from_pydantic(e) for e in exc.errors() if not _cascade(e)], file) from None
    issues = check_references(inst)
    if issues:
        raise InstanceError(issues, file)
    return inst


def instance_to_data(inst: Instance) -> dict[str, Any]:
    """Plain data for an instance; ``parse_instance(instance_to_data(i)) == i``."""
    return inst.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


def dump_data(data: Any, path: str | os.PathLike) -> str:
    """Serialise data as YAML for .yaml/.yml paths, JSON otherwise."""
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        return yaml.safe_dump(data, sort_keys=False)
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def instance_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the instance file format."""
    schema = Instance.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "placement_opt instance"
    schema["description"] = (
        "Instance file of placement_opt (SPEC section 3). Cross-record rules (ids exist "
        "and are unique, private_layers within the model, layer_times lengths) are "
        "checked by placement_opt on load. Numbers are 0 or within [1e-30, 1e30] "
        "(docs/decisions.md, Ranges) so that nothing computed from them overflows."
    )
    return schema


