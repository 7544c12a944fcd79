"""Import PipeEdge's scheduler profiles (``models.yml``, ``device_types.yml``, ``devices.yml``).

PipeEdge (Hu et al., "PipeEdge: Pipeline Parallelism for Large-Scale Model
Inference on Heterogeneous Edge Devices", DSD 2022; github.com/usc-isi/PipeEdge,
BSD-3-Clause) schedules one model as a pipeline over edge hosts.  Its scheduler
(``src-native/schedule.cpp``) reads three YAML files and uses this cost model:

* a stage is one contiguous range of layers ``[l, r]`` on one host;
* its time is ``max(compute, send)``: ``compute = sum(time_s[l-1 .. r-1])`` of the
  host's device type, ``send = parameters_out[r-1] * batch * dtype_size`` bytes
  over ``min(bw_u, bw_v)`` with ``bw = bw_Mbps * 1024 * 1024 / 8`` bytes/s; the last
  stage has no send; the input of the first stage is not transferred;
* the objective is the slowest stage (seconds per micro-batch of ``batch_size``);
* a stage fits when ``mem_MB * 2**20`` of its device type is strictly larger than its
  weights (``sum(mem_MB[l-1 .. r-1]) * 2**20``) plus its activation buffers:
  ``in * buffers_in`` (not for the first stage) + ``out * buffers_out`` + ``in + out``,
  with ``in``/``out`` the stage's input/output bytes and 2 buffers each by default.

:func:`load` turns the files into a :class:`~placement_opt.Problem` whose
``bottleneck`` objective equals that slowest-stage time; every mapping choice is
in ``docs/pipeedge.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Issue
from ..instance import read_data_file
from ..problem import Problem

#: PipeEdge's MB and Mbps: its code multiplies by ``1024 * 1024``.
MIB = 2.0**20
#: bytes/s per PipeEdge "Mbps" (``mbits_sec * 1024 * 1024 / 8``)
MBPS = MIB / 8
#: bytes per element; PipeEdge's ``sched-pipeline`` itself accepts only ``torch.float32``
DTYPE_SIZES: dict[str, int] = {"torch.float32": 4, "torch.float16": 2, "torch.bfloat16": 2, "torch.float64": 8}
#: PipeEdge's defaults (``DATA_BUFFERS_IN_DEFAULT``, ``DATA_BUFFERS_OUT_DEFAULT``)
BUFFERS_IN, BUFFERS_OUT = 2, 2
#: id of the switch that joins every host, the workload's id
SWITCH_ID, WORKLOAD_ID = "switch", "pipeedge"
#: default rate (micro-batches/s); the objective weight is its inverse
DEFAULT_RATE = 1e-3


@dataclass(frozen=True)
class PipeEdgeModel:
    """One entry of ``models.yml`` (lists already of length ``layers``)."""

    name: str
    mem_mb: tuple[float, ...]
    parameters_in: int
    parameters_out: tuple[int, ...]


@dataclass(frozen=True)
class PipeEdgeDeviceType:
    """One entry of ``device_types.yml`` with the profile matching the request."""

    name: str
    mem_mb: float
    bw_mbps: float
    time_s: tuple[float, ...]


@dataclass(frozen=True)
class PipeEdgeCluster:
    """Everything PipeEdge's scheduler reads, as it reads it.

    ``types`` are PipeEdge's ``ctx.dev_types``: the types with a profile for the
    model, batch size and dtype, in ``std::map`` order (sorted by name), hosts or
    not; ``hosts[type]`` in ``devices.yml`` order (empty for a type without hosts).
    """

    model: PipeEdgeModel
    types: tuple[PipeEdgeDeviceType, ...]
    hosts: Mapping[str, tuple[str, ...]]
    batch_size: int
    dtype_size: int
    buffers_in: int = BUFFERS_IN
    buffers_out: int = BUFFERS_OUT

    def bytes_out(self, layer: int) -> int:
        """Bytes sent after 0-based ``layer``: ``parameters_out * batch * dtype``."""
        return self.model.parameters_out[layer] * self.batch_size * self.dtype_size

    @property
    def bytes_in(self) -> int:
        """Bytes of the model input: ``parameters_in * batch * dtype``."""
        return self.model.parameters_in * self.batch_size * self.dtype_size

    def _in_part(self, first: int) -> int:
        data_in = self.bytes_in if first == 0 else self.bytes_out(first - 1)
        return data_in * (1 + (self.buffers_in if first > 0 else 0))

    def _out_part(self, last: int) -> int:
        return self.bytes_out(last) * (1 + self.buffers_out)

    def buffer_bytes(self, first: int, last: int) -> int:
        """PipeEdge's activation buffers of a stage of 0-based layers ``first..last``:
        ``in * buffers_in`` (not for the first stage) + ``out * buffers_out`` + ``in + out``."""
        return self._in_part(first) + self._out_part(last)

    def buffer_reserve(self) -> int:
        """The largest :meth:`buffer_bytes` of any stage (the input and output
        parts are independent, so their maxima add up)."""
        n = len(self.model.mem_mb)
        return max(self._in_part(f) for f in range(n)) + max(self._out_part(r) for r in range(n))


# --------------------------------------------------------------------------- #
# Reading the YAML files
# --------------------------------------------------------------------------- #


def _fail(file: str, path: str, message: str, hint: str | None = None) -> InputError:
    return InputError(Issue(path, message, hint), file)


def _read(path: str | Path) -> tuple[str, Any]:
    name = str(path)
    return name, read_data_file(path, InputError)


def _mapping(data: Any, file: str, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(file, path, f"must be a mapping, got {type(data).__name__}")
    return data


def _numbers(data: Any, file: str, path: str, integer: bool = False) -> tuple[Any, ...]:
    kind = int if integer else (int, float)
    if not isinstance(data, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in data):
        raise _fail(file, path, f"must be a list of {'integers' if integer else 'numbers'}")
    bad = [k for k, v in enumerate(data) if not math.isfinite(v) or v < 0]
    if bad:
        raise _fail(file, f"{path}[{bad[0]}]", f"must be a finite number >= 0, got {data[bad[0]]!r}")
    return tuple(data)


def _number(data: Any, file: str, path: str) -> float:
    if not isinstance(data, (int, float)) or isinstance(data, bool) or not math.isfinite(data) or data < 0:
        raise _fail(file, path, f"must be a finite number >= 0, got {data!r}")
    return float(data)


def read_model(models_yml: str | Path, model: str) -> PipeEdgeModel:
    """Read one model of ``models.yml`` with PipeEdge's checks (``load_model``).

    ``parameters_out`` shorter than ``layers`` is repeated (PipeEdge warns);
    longer, or ``mem_MB`` of another length, is an error.
    """
    file, data = _read(models_yml)
    models = _mapping(data, file, "")
    if model not in models:
        from ..errors import did_you_mean

        raise _fail(file, model, "model not found", did_you_mean(model, [str(k) for k in models]))
    entry = _mapping(models[model], file, model)
    for key in ("layers", "mem_MB", "parameters_in", "parameters_out"):
        if key not in entry:
            raise _fail(file, f"{model}.{key}", "missing")
    layers = entry["layers"]
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
        raise _fail(file, f"{model}.layers", f"must be a positive integer, got {layers!r}")
    mem = _numbers(entry["mem_MB"], file, f"{model}.mem_MB")
    if len(mem) != layers:
        raise _fail(file, f"{model}.mem_MB", f"has {len(mem)} entries but layers is {layers}")
    out = _numbers(entry["parameters_out"], file, f"{model}.parameters_out", integer=True)
    if not out or len(out) > layers:
        raise _fail(file, f"{model}.parameters_out", f"has {len(out)} entries; need 1..{layers}")
    if len(out) < layers:
        warnings.warn(f"{file}: {model}.parameters_out has {len(out)} < {layers} entries: repeated (as PipeEdge does)",
                      stacklevel=3)
    params_in = entry["parameters_in"]
    if not isinstance(params_in, int) or isinstance(params_in, bool) or params_in < 0:
        raise _fail(file, f"{model}.parameters_in", f"must be an integer >= 0, got {params_in!r}")
    return PipeEdgeModel(model, mem, params_in, tuple(out[k % len(out)] for k in range(layers)))


def _matching_profile(profiles: Any, file: str, path: str, batch_size: int, dtype: str) -> tuple[float, ...] | None:
    if not isinstance(profiles, list):
        raise _fail(file, path, "must be a list of {batch_size, dtype, time_s}")
    found = None
    for k, prof in enumerate(profiles):
        prof = _mapping(prof, file, f"{path}[{k}]")
        if prof.get("batch_size") == batch_size and prof.get("dtype") == dtype:
            found = _numbers(prof.get("time_s"), file, f"{path}[{k}].time_s")  # the last match wins, as in PipeEdge
    return found


def read_device_types(device_types_yml: str | Path, model: PipeEdgeModel, batch_size: int,
                      dtype: str) -> list[PipeEdgeDeviceType]:
    """Device types with a profile for ``model`` at ``batch_size``/``dtype``,
    sorted by name (PipeEdge's ``std::map`` order); others are skipped, as
    PipeEdge does (:func:`read_cluster` warns when a skipped type has hosts)."""
    file, data = _read(device_types_yml)
    types = []
    for name, entry in sorted(_mapping(data, file, "").items(), key=lambda kv: str(kv[0]).encode()):
        entry = _mapping(entry, file, str(name))
        profiles = entry.get("model_profiles") or {}
        profiles = _mapping(profiles, file, f"{name}.model_profiles")
        times = None
        if model.name in profiles:
            times = _matching_profile(profiles[model.name], file, f"{name}.model_profiles[{model.name!r}]",
                                      batch_size, dtype)
        if times is None:
            continue
        if len(times) != len(model.mem_mb):
            raise _fail(file, f"{name}.model_profiles[{model.name!r}].time_s",
                        f"has {len(times)} entries but the model has {len(model.mem_mb)} layers")
        for key in ("mem_MB", "bw_Mbps"):
            if key not in entry:
                raise _fail(file, f"{name}.{key}", "missing")
        bw = _number(entry["bw_Mbps"], file, f"{name}.bw_Mbps")
        if bw <= 0:
            raise _fail(file, f"{name}.bw_Mbps", "must be > 0 for a device type that can be scheduled")
        types.append(PipeEdgeDeviceType(str(name), _number(entry["mem_MB"], file, f"{name}.mem_MB"), bw, times))
    return types


def read_devices(devices_yml: str | Path) -> dict[str, tuple[str, ...]]:
    """``devices.yml``: device type -> host names (file order)."""
    file, data = _read(devices_yml)
    hosts: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for name, entry in _mapping(data, file, "").items():
        if entry is None:
            entry = []
        if not isinstance(entry, list) or not all(isinstance(h, str) and h for h in entry):
            raise _fail(file, str(name), "must be a list of host names")
        for host in entry:
            if host in seen:
                raise _fail(file, str(name), f"host {host!r} is listed twice (also under {seen[host]!r})")
            seen[host] = str(name)
        hosts[str(name)] = tuple(entry)
    return hosts


def read_cluster(models_yml: str | Path, device_types_yml: str | Path, devices_yml: str | Path,
                 model: str = "google/vit-base-patch16-224", batch_size: int = 8,
                 dtype: str = "torch.float32") -> PipeEdgeCluster:
    """Read the three files as PipeEdge's ``load_files`` does.

    Raises
    ------
    InputError
        Naming the file, the entry and what is wrong (missing file, bad YAML,
        unknown model, wrong list lengths, no schedulable host).
    """
    if dtype not in DTYPE_SIZES:
        raise InputError(Issue("dtype", f"unsupported dtype {dtype!r}", "one of " + ", ".join(DTYPE_SIZES)))
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputError(Issue("batch_size", f"must be a positive integer, got {batch_size!r}"))
    spec = read_model(models_yml, model)
    types = read_device_types(device_types_yml, spec, batch_size, dtype)
    hosts = read_devices(devices_yml)
    for name in sorted(set(hosts) - {t.name for t in types}):
        if hosts[name]:
            warnings.warn(f"{devices_yml}: hosts of {name!r} are ignored (as PipeEdge does): no profile for "
                          f"{model} at batch_size {batch_size}, {dtype} in {device_types_yml}", stacklevel=3)
    if not any(hosts.get(t.name) for t in types):
        raise _fail(str(devices_yml), "", f"no host of a device type with a profile for {model}")
    return PipeEdgeCluster(spec, tuple(types), {t.name: hosts.get(t.name, ()) for t in types}, batch_size,
                           DTYPE_SIZES[dtype])


# --------------------------------------------------------------------------- #
# The instance
# --------------------------------------------------------------------------- #


def _layers(cluster: PipeEdgeCluster) -> list[dict[str, Any]]:
    n = len(cluster.model.mem_mb)
    return [{"name": f"L{k + 1}", "flops": 0.0, "param_bytes": cluster.model.mem_mb[k] * MIB,
             "output_bytes": float(cluster.bytes_out(k)) if k < n - 1 else 0.0} for k in range(n)]


def _nodes_and_links(cluster: PipeEdgeCluster, reserve: float) -> tuple[list[dict], list[dict]]:
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for dev in cluster.types:
        for host in cluster.hosts[dev.name]:
            nodes.append({"id": host, "flops": 1.0, "memory": max(dev.mem_mb * MIB - reserve, 0.0),
                          "type": dev.name, "tier": "edge"})
            bw = dev.bw_mbps * MBPS
            links.append({"source": host, "target": SWITCH_ID, "bandwidth": bw, "latency": 0.0, "directed": True})
            links.append({"source": SWITCH_ID, "target": host, "bandwidth": bw, "latency": 0.0, "directed": True})
    nodes.append({"id": SWITCH_ID, "flops": 0.0, "memory": 0.0, "tier": "network"})
    return nodes, links


def cluster_to_data(cluster: PipeEdgeCluster, rate: float = DEFAULT_RATE) -> dict[str, Any]:
    """Instance data (SPEC 3) for a cluster read by :func:`read_cluster`."""
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0):
        raise InputError(Issue("rate", f"must be a finite number > 0, got {rate!r}"))
    nodes, links = _nodes_and_links(cluster, float(cluster.buffer_reserve()))
    model = {"id": cluster.model.name, "input_bytes": 0.0, "layers": _layers(cluster),
             "layer_times": {t.name: list(t.time_s) for t in cluster.types}}
    short = cluster.model.name.rsplit("/", 1)[-1]
    return {
        "name": f"pipeedge-{short}-b{cluster.batch_size}",
        "nodes": nodes,
        "links": links,
        "models": [model],
        "workloads": [{"id": WORKLOAD_ID, "model": cluster.model.name, "source": SWITCH_ID, "rate": float(rate)}],
        "objective": {"bottleneck": 1.0 / float(rate)},
        "settings": {"one_segment_per_node": True},
    }


def load(models_yml: str | Path, device_types_yml: str | Path, devices_yml: str | Path,
         model: str = "google/vit-base-patch16-224", batch_size: int = 8, dtype: str = "torch.float32",
         *, rate: float = DEFAULT_RATE) -> Problem:
    """A :class:`~placement_opt.Problem` with PipeEdge's cost model.

    Parameters
    ----------
    models_yml, device_types_yml, devices_yml
        PipeEdge's scheduler inputs (``README_Scheduler.md``).
    model, batch_size, dtype
        Which model and which ``model_profiles`` entry to use (PipeEdge's
        ``-m``, ``-b``, ``-d``).
    rate
        Micro-batches/s of the one workload; the objective is
        ``{"bottleneck": 1 / rate}``, so it reads in seconds per micro-batch.

    Returns
    -------
    Problem
        Hosts keep PipeEdge's names and carry their device ``type``
        (``layer_times`` = ``time_s``); each host joins a ``switch`` node by two
        directed links of its ``bw_Mbps``; host memory is ``mem_MB`` minus the
        largest activation-buffer footprint of any stage; one workload
        ``pipeedge`` from and to the switch, with zero-byte input and result;
        ``one_segment_per_node: true``.  Its objective equals PipeEdge's slowest
        stage time for any schedule.

    Raises
    ------
    InputError
        For a missing or malformed file, naming the file and the entry.
    """
    cluster = read_cluster(models_yml, device_types_yml, devices_yml, model, batch_size, dtype)
    return Problem.from_dict(cluster_to_data(cluster, rate), source=str(models_yml))
