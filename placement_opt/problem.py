"""The validated, immutable problem and its derived arrays (SPEC sections 3-4).

A :class:`Problem` wraps a validated :class:`~placement_opt.instance.Instance` and
computes, once and lazily, everything the evaluator and the solvers need as numpy
arrays: effective compute, per-layer compute times, routes, and a *flat layout*
of all (workload, layer) pairs.  Arrays are read-only; solvers never mutate a
Problem.  :meth:`Problem.replace` builds a changed copy, validated again;
:meth:`Problem.with_records` a copy from already valid records, keeping the
derived arrays the change cannot affect (the replay's fast path).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .errors import InstanceError, Issue, SolutionError, did_you_mean, format_path
from .files import write_atomically
from .instance import (
    Instance,
    Link,
    Model,
    Node,
    ObjectiveTerm,
    Workload,
    dump_data,
    instance_to_data,
    parse_instance,
    read_data_file,
)
from .routing import Routes, compute_routes


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class FlatLayout:
    """All (workload, layer) pairs of a problem laid end to end.

    Position ``k`` in ``0 .. size-1`` is layer ``layer[k]`` of workload
    ``workload[k]``; a workload's layers are consecutive, starting at
    ``offset[w]``.  ``global_layer[k]`` indexes the problem's global layer arrays
    (all models' layers laid end to end).

    Transfers: for every workload, ``L + 1`` transfers (raw input, between layers,
    result to the sink).  Their endpoints index an *extended* node vector
    ``concat(assignment, sources, sinks)`` through ``transfer_from`` and
    ``transfer_to``.
    """

    workload: np.ndarray
    layer: np.ndarray
    global_layer: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    transfer_workload: np.ndarray
    transfer_from: np.ndarray
    transfer_to: np.ndarray
    transfer_bytes: np.ndarray

    @property
    def size(self) -> int:
        return int(self.workload.size)

    def span(self, w: int) -> slice:
        """Flat positions of workload ``w``'s layers."""
        start = int(self.offset[w])
        return slice(start, start + int(self.length[w]))

    def global_layers(self, w: int) -> np.ndarray:
        """Global layer indices of workload ``w``, in order."""
        return self.global_layer[self.span(w)]


class Problem:
    """A validated placement-partitioning problem.

    Build one with :func:`load_instance`, :meth:`Problem.from_dict` or
    :meth:`Problem.from_instance`.  All attributes are read-only.

    Attributes
    ----------
    instance
        The validated instance (frozen pydantic model).
    source
        File the instance came from, if any.
    """

    def __init__(self, instance: Instance, source: str | None = None):
        self._instance = instance
        self._source = source

    # ----------------------------------------------------------------- build
    @classmethod
    def from_instance(cls, instance: Instance, source: str | None = None) -> Problem:
        return cls(instance, source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Problem:
        """Validate plain data (as in an instance file) into a Problem.

        Raises
        ------
        InstanceError
            Naming the field path and what is wrong, for every problem found.
        """
        return cls(parse_instance(data, source), source)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the instance file format."""
        return instance_to_data(self._instance)

    def __getstate__(self) -> dict[str, Any]:
        return {"instance": self._instance, "source": self._source}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._instance = state["instance"]
        self._source = state["source"]

    def __repr__(self) -> str:
        return (
            f"Problem({self.name!r}: {self.num_nodes} nodes, {self.num_links} links, "
            f"{len(self.models)} models, {self.num_workloads} workloads)"
        )

    # ----------------------------------------------------------- the records
    @property
    def instance(self) -> Instance:
        return self._instance

    @property
    def source(self) -> str | None:
        return self._source

    @property
    def name(self) -> str:
        if self._instance.name:
            return self._instance.name
        return Path(self._source).stem if self._source else "unnamed"

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self._instance.nodes

    @property
    def links(self) -> tuple[Link, ...]:
        return self._instance.links

    @property
    def models(self) -> tuple[Model, ...]:
        return self._instance.models

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return self._instance.workloads

    @property
    def objective_weights(self) -> Mapping[ObjectiveTerm, float]:
        return self._instance.objective

    @property
    def max_utilization(self) -> float:
        return self._instance.settings.max_utilization

    @property
    def one_segment_per_node(self) -> bool:
        return self._instance.settings.one_segment_per_node

    @property
    def num_nodes(self) -> int:
        return len(self._instance.nodes)

    @property
    def num_links(self) -> int:
        return len(self._instance.links)

    @property
    def num_workloads(self) -> int:
        return len(self._instance.workloads)

    @cached_property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes)

    @cached_property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(e.resolved_id for e in self.links)

    @cached_property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    @cached_property
    def workload_ids(self) -> tuple[str, ...]:
        return tuple(w.id for w in self.workloads)

    @cached_property
    def node_index(self) -> Mapping[str, int]:
        return {nid: k for k, nid in enumerate(self.node_ids)}

    @cached_property
    def link_index(self) -> Mapping[str, int]:
        return {lid: k for k, lid in enumerate(self.link_ids)}

    @cached_property
    def model_index(self) -> Mapping[str, int]:
        return {mid: k for k, mid in enumerate(self.model_ids)}

    @cached_property
    def workload_index(self) -> Mapping[str, int]:
        return {wid: k for k, wid in enumerate(self.workload_ids)}

    def model_of(self, workload: str | int) -> Model:
        w = self.workload_index[workload] if isinstance(workload, str) else workload
        return self.models[self.workload_model[w]]

    def sink_of(self, workload: Workload) -> str:
        return workload.sink if workload.sink is not None else workload.source

    def origin_of(self, model: Model) -> str:
        """The node that always holds the model's full weights (SPEC 3)."""
        if model.origin is not None:
            return model.origin
        # Default: the available node with the most memory; ties -> file order.
        best = max(
            range(self.num_nodes),
            key=lambda i: (self.nodes[i].available, self.nodes[i].memory, -i),
        )
        return self.node_ids[best]

    # ------------------------------------------------------------ node arrays
    @cached_property
    def node_flops(self) -> np.ndarray:
        return _frozen(np.array([n.flops for n in self.nodes], dtype=float))

    @cached_property
    def node_utilization(self) -> np.ndarray:
        return _frozen(np.array([n.utilization for n in self.nodes], dtype=float))

    @cached_property
    def effective_flops(self) -> np.ndarray:
        """``F_i = flops_i * (1 - utilization_i)`` (SPEC 4)."""
        return _frozen(self.node_flops * (1.0 - self.node_utilization))

    @cached_property
    def node_memory(self) -> np.ndarray:
        return _frozen(np.array([n.memory for n in self.nodes], dtype=float))

    @cached_property
    def node_trust(self) -> np.ndarray:
        return _frozen(np.array([n.trust for n in self.nodes], dtype=np.int64))

    @cached_property
    def node_cost(self) -> np.ndarray:
        return _frozen(np.array([n.cost for n in self.nodes], dtype=float))

    @cached_property
    def node_energy_per_flop(self) -> np.ndarray:
        return _frozen(np.array([n.energy_per_flop for n in self.nodes], dtype=float))

    @cached_property
    def node_available(self) -> np.ndarray:
        return _frozen(np.array([n.available for n in self.nodes], dtype=bool))

    @cached_property
    def can_host(self) -> np.ndarray:
        """Nodes that may host layers: available and with non-zero compute."""
        return _frozen(self.node_available & (self.node_flops > 0))

    # ------------------------------------------------------------ link arrays
    @cached_property
    def link_source(self) -> np.ndarray:
        return _frozen(np.array([self.node_index[e.source] for e in self.links], dtype=np.int64))

    @cached_property
    def link_target(self) -> np.ndarray:
        return _frozen(np.array([self.node_index[e.target] for e in self.links], dtype=np.int64))

    @cached_property
    def link_bandwidth(self) -> np.ndarray:
        return _frozen(np.array([e.bandwidth for e in self.links], dtype=float))

    @cached_property
    def link_latency(self) -> np.ndarray:
        return _frozen(np.array([e.latency for e in self.links], dtype=float))

    @cached_property
    def link_energy_per_byte(self) -> np.ndarray:
        return _frozen(np.array([e.energy_per_byte for e in self.links], dtype=float))

    @cached_property
    def link_directed(self) -> np.ndarray:
        return _frozen(np.array([e.directed for e in self.links], dtype=bool))

    @cached_property
    def link_available(self) -> np.ndarray:
        return _frozen(np.array([e.available for e in self.links], dtype=bool))

    @cached_property
    def routes(self) -> Routes:
        """All-pairs routes (SPEC 4); see :mod:`placement_opt.routing` for ties."""
        return compute_routes(
            self.num_nodes,
            self.node_available,
            self.link_source,
            self.link_target,
            self.link_latency,
            self.link_bandwidth,
            self.link_energy_per_byte,
            self.link_directed,
            self.link_available,
        )

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The network as a networkx multigraph (one edge per link and direction
        of travel), with node and link attributes; unusable links included,
        marked ``usable=False``."""
        g = nx.MultiDiGraph(name=self.name)
        for node in self.nodes:
            g.add_node(node.id, **node.model_dump(exclude={"id"}))
        for k, link in enumerate(self.links):
            usable = bool(link.available and self.node_available[self.link_source[k]]
                          and self.node_available[self.link_target[k]])
            attrs = link.model_dump(exclude={"id", "source", "target"})
            attrs.update(id=link.resolved_id, index=k, usable=usable)
            g.add_edge(link.source, link.target, key=link.resolved_id, **attrs)
            if not link.directed:
                g.add_edge(link.target, link.source, key=link.resolved_id, **attrs)
        return g

    def transfer_time(self, a: str, b: str, nbytes: float) -> float:
        """``t(a, b, nbytes)`` between two node ids (SPEC 4)."""
        return self.routes.transfer_time(self.node_index[a], self.node_index[b], nbytes)

    def route(self, a: str, b: str) -> list[str]:
        """Link ids on the route from node ``a`` to node ``b``."""
        return [self.link_ids[k] for k in self.routes.path_links(self.node_index[a], self.node_index[b])]

    # ----------------------------------------------------------- layer arrays
    @cached_property
    def model_offset(self) -> np.ndarray:
        """Start of each model in the global layer arrays."""
        sizes = [len(m.layers) for m in self.models]
        return _frozen(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))

    @property
    def num_global_layers(self) -> int:
        return int(self.model_offset[-1])

    def _layer_field(self, field: str) -> np.ndarray:
        return _frozen(np.array([getattr(layer, field) for m in self.models for layer in m.layers], dtype=float))

    @cached_property
    def layer_flops(self) -> np.ndarray:
        return self._layer_field("flops")

    @cached_property
    def layer_param_bytes(self) -> np.ndarray:
        return self._layer_field("param_bytes")

    @cached_property
    def layer_output_bytes(self) -> np.ndarray:
        return self._layer_field("output_bytes")

    @cached_property
    def layer_state_bytes(self) -> np.ndarray:
        return self._layer_field("state_bytes")

    @cached_property
    def layer_model(self) -> np.ndarray:
        sizes = [len(m.layers) for m in self.models]
        return _frozen(np.repeat(np.arange(len(self.models)), sizes))

    @cached_property
    def compute_time(self) -> np.ndarray:
        """``c[g, i]``: seconds for global layer ``g`` on node ``i`` (SPEC 4).

        Uses ``layer_times[type] / (1 - utilization)`` where the model has a
        profile for the node's type, ``flops / F_i`` otherwise (``inf`` on a
        switch, ``F_i = 0``).  Either way a switch hosts nothing (``can_host``)."""
        flops_eff = self.effective_flops
        with np.errstate(divide="ignore", invalid="ignore"):
            c = self.layer_flops[:, None] / flops_eff[None, :]
        c[:, flops_eff <= 0] = np.inf
        types = [n.type for n in self.nodes]
        for m, model in enumerate(self.models):
            if not model.layer_times:
                continue
            rows = slice(self.model_offset[m], self.model_offset[m + 1])
            for i, node_type in enumerate(types):
                if node_type in model.layer_times:
                    c[rows, i] = np.asarray(model.layer_times[node_type]) / (1.0 - self.node_utilization[i])
        return _frozen(c)

    # -------------------------------------------------------- workload arrays
    @cached_property
    def workload_model(self) -> np.ndarray:
        return _frozen(np.array([self.model_index[w.model] for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_source(self) -> np.ndarray:
        return _frozen(np.array([self.node_index[w.source] for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_sink(self) -> np.ndarray:
        return _frozen(np.array([self.node_index[self.sink_of(w)] for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_rate(self) -> np.ndarray:
        return _frozen(np.array([w.rate for w in self.workloads], dtype=float))

    @cached_property
    def workload_weight(self) -> np.ndarray:
        return _frozen(np.array([w.weight for w in self.workloads], dtype=float))

    @cached_property
    def workload_slo(self) -> np.ndarray:
        """SLO per workload; ``inf`` where none is given."""
        return _frozen(np.array([w.slo if w.slo is not None else np.inf for w in self.workloads]))

    @cached_property
    def workload_max_segments(self) -> np.ndarray:
        """``max_segments`` per workload; a large number where none is given."""
        big = np.iinfo(np.int64).max
        return _frozen(np.array([w.max_segments or big for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_min_trust(self) -> np.ndarray:
        return _frozen(np.array([w.min_trust for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_private_layers(self) -> np.ndarray:
        """Layers that must run on trusted nodes.

        The raw input may only go to a node with ``trust >= min_trust`` (SPEC 3),
        and the node that receives it runs layer 1, so layer 1 is always
        private: the effective count is ``max(private_layers, 1)``.  With the
        default ``min_trust`` of 0 this constrains nothing.
        """
        return _frozen(np.array([max(w.private_layers, 1) for w in self.workloads], dtype=np.int64))

    @cached_property
    def workload_num_layers(self) -> np.ndarray:
        sizes = np.array([len(m.layers) for m in self.models], dtype=np.int64)
        return _frozen(sizes[self.workload_model])

    @cached_property
    def input_bytes(self) -> np.ndarray:
        return _frozen(np.array([m.input_bytes for m in self.models], dtype=float))

    @cached_property
    def flat(self) -> FlatLayout:
        lengths = self.workload_num_layers
        n_w = self.num_workloads
        offset = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        size = int(lengths.sum())
        workload = np.repeat(np.arange(n_w), lengths)
        layer = np.arange(size) - np.repeat(offset, lengths)
        global_layer = self.model_offset[self.workload_model][workload] + layer
        # Transfers: per workload L+1 of them; endpoints index concat(x, sources, sinks).
        t_workload = np.repeat(np.arange(n_w), lengths + 1)
        t_pos = np.arange(size + n_w) - np.repeat(offset + np.arange(n_w), lengths + 1)
        t_len = lengths[t_workload]
        t_off = offset[t_workload]
        first = t_pos == 0
        last = t_pos == t_len
        t_from = np.where(first, size + t_workload, t_off + t_pos - 1)
        t_to = np.where(last, size + n_w + t_workload, t_off + t_pos)
        gl_prev = self.model_offset[self.workload_model][t_workload] + t_pos - 1
        t_bytes = np.where(first, self.input_bytes[self.workload_model][t_workload],
                           self.layer_output_bytes[np.maximum(gl_prev, 0)])
        arrays = [workload, layer, global_layer, offset, lengths, t_workload, t_from, t_to, t_bytes]
        return FlatLayout(*[_frozen(np.ascontiguousarray(a)) for a in arrays])

    # ----------------------------------------------------------- assignments
    def assignment_to_array(self, assignment: Mapping[str, Any], file: str | None = None) -> np.ndarray:
        """Flat node-index array for an assignment ``{workload id: [node ids]}``.

        Raises
        ------
        SolutionError
            Naming (with ``file``, if given) each missing or unknown workload,
            list of the wrong length and unknown node.
        """
        issues: list[Issue] = []
        flat = self.flat
        x = np.empty(flat.size, dtype=np.int64)
        index = self.node_index
        for wid in assignment:
            if wid not in self.workload_index:
                issues.append(Issue(format_path(["assignment", str(wid)]), f"unknown workload {wid!r}",
                                    did_you_mean(str(wid), self.workload_ids)))
        for w, wid in enumerate(self.workload_ids):
            path = format_path(["assignment", wid])
            if wid not in assignment:
                issues.append(Issue(path, "missing: every workload needs one node per layer"))
                continue
            nodes = assignment[wid]
            if isinstance(nodes, str) or not isinstance(nodes, Sequence):
                issues.append(Issue(path, "must be a list of node ids"))
                continue
            length = int(flat.length[w])
            if len(nodes) != length:
                issues.append(Issue(path, f"has {len(nodes)} entries but model "
                                          f"{self.models[self.workload_model[w]].id!r} has {length} layers"))
                continue
            start = int(flat.offset[w])
            row = [index.get(node, -1) if isinstance(node, str) else -1 for node in nodes]
            x[start:start + length] = row
            for k, node in enumerate(nodes):
                if row[k] == -1:
                    issues.append(Issue(format_path(["assignment", wid, k]), f"unknown node {node!r}",
                                        did_you_mean(str(node), self.node_ids)))
        if issues:
            raise SolutionError(issues, file)
        return x

    def array_to_assignment(self, x: np.ndarray) -> dict[str, tuple[str, ...]]:
        """Inverse of :meth:`assignment_to_array`."""
        ids = self.node_ids
        flat = self.flat
        out = {}
        for w, wid in enumerate(self.workload_ids):
            start = flat.offset[w]
            out[wid] = tuple(ids[i] for i in x[start : start + flat.length[w]])
        return out

    # --------------------------------------------------------------- changes
    def with_records(
        self,
        nodes: Sequence[Node] | None = None,
        links: Sequence[Link] | None = None,
        workloads: Sequence[Workload] | None = None,
    ) -> Problem:
        """A copy with node, link or workload records replaced by already valid ones.

        Nothing is validated again, and derived arrays that the change cannot
        affect are kept rather than rebuilt (routes survive a workload or rate
        change, the layer layout a node or link change): the fast path for a
        replay, which applies checked trace events at every decision point.

        Parameters
        ----------
        nodes, links
            Every record, same ids in the same order; only the attributes a
            trace may change (SPEC 7) may differ.
        workloads
            Every record with changed attributes (same ids, same order), or a
            subset of the workloads in their order.

        Raises
        ------
        ValueError
            When nodes or links do not keep their ids.
        """
        update: dict[str, tuple] = {}
        stale: set[str] = set()
        for section, records, ids in (("nodes", nodes, self.node_ids), ("links", links, self.link_ids),
                                      ("workloads", workloads, self.workload_ids)):
            if records is None:
                continue
            update[section] = tuple(records)
            stale |= _TRACED_ARRAYS[section]
            new_ids = tuple(_record_id(r) for r in update[section])
            if new_ids != ids:
                if section != "workloads":
                    raise ValueError(f"with_records: {section} must keep their ids and order")
                stale |= _FIXED_ARRAYS[section]
        new = Problem(self._instance.model_copy(update=update), self._source)
        for name, value in vars(self).items():
            if name in _CARRIED and name not in stale:
                vars(new)[name] = value
        return new

    def replace(
        self,
        nodes: Mapping[str, Mapping[str, Any]] | None = None,
        links: Mapping[str, Mapping[str, Any]] | None = None,
        workloads: Mapping[str, Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> Problem:
        """A copy with some attributes changed, validated again.

        Parameters
        ----------
        nodes, links, workloads
            ``{id: {attribute: value}}`` for the records to change.
        **fields
            Top-level fields to replace (``objective``, ``settings``, ``name``).
        """
        data = self._instance.model_dump(mode="python")
        for section, changes in (("nodes", nodes), ("links", links), ("workloads", workloads)):
            if not changes:
                continue
            index = {"nodes": self.node_index, "links": self.link_index, "workloads": self.workload_index}[section]
            for rid, attrs in changes.items():
                if rid not in index:
                    raise InstanceError(Issue(section, f"unknown id {rid!r}"), self._source)
                data[section][index[rid]].update(attrs)
        data.update(fields)
        return Problem(parse_instance(data, self._source), self._source)


#: Derived arrays (cached properties) computed from attributes that no trace
#: event changes, by instance section (see :meth:`Problem.with_records`).
_FIXED_ARRAYS: dict[str, frozenset[str]] = {
    "nodes": frozenset({"node_ids", "node_index", "node_trust", "node_cost", "node_energy_per_flop"}),
    "links": frozenset({"link_ids", "link_index", "link_source", "link_target", "link_energy_per_byte",
                        "link_directed"}),
    "models": frozenset({"model_ids", "model_index", "model_offset", "layer_flops", "layer_param_bytes",
                         "layer_output_bytes", "layer_state_bytes", "layer_model", "input_bytes"}),
    "workloads": frozenset({"workload_ids", "workload_index", "workload_model", "workload_source",
                            "workload_sink", "workload_num_layers", "workload_weight", "workload_slo",
                            "workload_max_segments", "workload_min_trust", "workload_private_layers",
                            "flat"}),
}
#: Derived arrays that depend on attributes a trace may change (SPEC 7), by section.
_TRACED_ARRAYS: dict[str, frozenset[str]] = {
    "nodes": frozenset({"node_flops", "node_utilization", "effective_flops", "node_memory", "node_available",
                        "can_host", "compute_time", "routes", "graph"}),
    "links": frozenset({"link_bandwidth", "link_latency", "link_available", "routes", "graph"}),
    "workloads": frozenset({"workload_rate"}),
}
_CARRIED = frozenset().union(*_FIXED_ARRAYS.values(), *_TRACED_ARRAYS.values())


def _record_id(record: Node | Link | Workload) -> str:
    return record.resolved_id if isinstance(record, Link) else record.id


def load_instance(path: str | os.PathLike) -> Problem:
    """Read and validate an instance file (JSON or YAML).

    Raises
    ------
    InstanceError
        If the file cannot be read or is invalid; the message names the file,
        the field path and what is wrong.
    """
    name = str(path)
    return Problem(parse_instance(read_data_file(path), name), name)


def save_instance(problem: Problem | Instance, path: str | os.PathLike) -> None:
    """Write an instance as JSON (or YAML for .yaml/.yml), atomically.

    ``load_instance(path)`` gives back an equal instance.
    """
    inst = problem.instance if isinstance(problem, Problem) else problem
    data = instance_to_data(inst)
    write_atomically(path, dump_data(data, path))
