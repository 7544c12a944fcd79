"""Import Helix (ASPLOS'25) per-layer latency profiles and cluster configs.

Helix (https://github.com/Thesys-lab/Helix-ASPLOS25, Apache-2.0) publishes, per
model and GPU type, ``prompt_bs2time.csv`` and ``decode_bs2time.csv``: two
columns without a header, the number of tokens in a batch and the measured
milliseconds to run **one** transformer layer on it (prefill: total prompt
tokens; decode: sequences, one new token each).  Its cluster configs are ``.ini``
files: ``[ComputeNode-k]`` with a GPU ``type``, ``[SourceNode]`` and
``[SinkNode]``, and ``[Link-a-b]`` with ``bandwidth = 1000 * mbps`` (bits/s) and
``latency = 1 * MilliSec``; ``google_machine_profiles.ini`` gives each machine
type's VRAM and NIC speeds.

Choices (``docs/profiles.md``):

* the ``0,0`` row of every profile is a sentinel, not a measurement, and is
  dropped; between measured token counts times are interpolated linearly; below
  the smallest one the first value is held (a layer is never faster than at its
  smallest measured batch: its weights are streamed once per step); beyond the
  largest one we refuse to extrapolate;
* Helix profiles only transformer blocks; the embedding and head layers get
  the calibrated analytical estimate
  (:func:`placement_opt.profiles.layer_time`) for the same request shape;
* Helix GPU names map onto catalog device types (:data:`HELIX_GPU_TYPES`); the
  multi-GPU nodes ``l4x2``, ``t4x2``, ``t4x4`` are catalog devices of their own;
* ``mbps``/``gbps`` are bits/s (the configs' headers print
  ``1000000000 (1000.0 mbps)``) and become bytes/s; ``GB`` in the machine
  profiles is ``2**30`` bytes, like the catalog's GPU memory sizes.
"""

from __future__ import annotations

import configparser
import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..problem import Problem
from ..profiles import model_record, node_record
from ..profiles.devices import layer_time
from ..profiles.models import Shape, layer_costs

#: Helix GPU folder / machine type (lower case) -> catalog device type
HELIX_GPU_TYPES: dict[str, str] = {
    "a100": "a100-40gb",
    "v100": "v100",
    "l4": "l4",
    "l4x2": "l4x2",
    "t4": "t4",
    "t4x2": "t4x2",
    "t4x4": "t4x4",
}
#: Helix model folder -> catalog model
HELIX_MODELS: dict[str, str] = {"llama1_30b": "llama-1-30b", "llama2_70b": "llama-2-70b"}
#: Helix profile file -> our mode
PROFILE_FILES: dict[str, str] = {"prompt_bs2time.csv": "prefill", "decode_bs2time.csv": "decode"}

#: Helix unit names -> SI (bandwidths in bytes/s, sizes in bytes, times in s)
UNITS: dict[str, float] = {
    "gbps": 1e9 / 8,
    "mbps": 1e6 / 8,
    "kbps": 1e3 / 8,
    "bps": 1 / 8,
    "GB": 2.0**30,
    "MB": 2.0**20,
    "KB": 2.0**10,
    "Sec": 1.0,
    "MilliSec": 1e-3,
    "MicroSec": 1e-6,
}

SOURCE_ID, SINK_ID = "source", "sink"

# --------------------------------------------------------------------------- #
# Layer latency profiles
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class LatencyProfile:
    """Measured seconds per transformer layer against batch tokens.

    Attributes
    ----------
    mode
        ``"prefill"`` or ``"decode"``.
    tokens
        Measured token counts, increasing (the ``0`` sentinel removed).
    seconds
        Seconds per layer at each token count.
    resolution
        Rounding step of each value as written in the file (s): Helix writes
        ``1.4`` (0.1 ms) or ``12`` (1 ms).
    source
        The file it was read from.
    """

    mode: str
    tokens: np.ndarray
    seconds: np.ndarray
    resolution: np.ndarray
    source: str

    def at(self, tokens: float) -> float:
        """Seconds per layer at ``tokens``, interpolated linearly.

        Below the smallest measured count the first value is held; above the
        largest a ``ValueError`` is raised.
        """
        if tokens > self.tokens[-1]:
            raise ValueError(f"{self.source}: {tokens} tokens is beyond the largest measured {self.tokens[-1]}")
        return float(np.interp(tokens, self.tokens, self.seconds))


def _read_profile(path: Path, mode: str) -> LatencyProfile:
    rows = [r for r in csv.reader(path.open()) if r and r[0].strip()]
    try:
        points = [(int(t), float(v), 1e-4 if "." in v else 1e-3) for t, v in rows]
    except ValueError as exc:
        raise ValueError(f"{path}: expected 'tokens,milliseconds' rows ({exc})") from None
    points = sorted(p for p in points if p[0] > 0)
    if not points:
        raise ValueError(f"{path}: no measurements")
    tokens, ms, res = (np.array(col) for col in zip(*points))
    return LatencyProfile(mode, tokens, ms * 1e-3, res, str(path))


def load_layer_latencies(path: str | Path) -> dict[str, LatencyProfile]:
    """Read Helix per-layer latency profiles.

    Parameters
    ----------
    path
        A ``<model>/<gpu>`` folder holding ``prompt_bs2time.csv`` and
        ``decode_bs2time.csv``, or one of those files.

    Returns
    -------
    dict
        ``{"prefill": LatencyProfile, "decode": LatencyProfile}`` (only the
        mode of the file when given a file).
    """
    path = Path(path)
    if path.is_file():
        if path.name not in PROFILE_FILES:
            raise ValueError(f"{path}: not a Helix profile (expected one of {sorted(PROFILE_FILES)})")
        return {PROFILE_FILES[path.name]: _read_profile(path, PROFILE_FILES[path.name])}
    found = {mode: _read_profile(path / f, mode) for f, mode in PROFILE_FILES.items() if (path / f).is_file()}
    if not found:
        raise FileNotFoundError(f"{path}: no {' or '.join(PROFILE_FILES)}")
    return found


def helix_tokens(shape: Shape) -> int:
    """Helix's batch token count for one of our request shapes.

    Prefill: all prompt tokens of the batch (``tokens * batch``); decode: the
    number of sequences (``batch``).
    """
    return shape.tokens * shape.batch if shape.mode == "prefill" else shape.batch


def helix_layer_times(
    model_dir: str | Path,
    *,
    model: str | None = None,
    gpus: Sequence[str] | None = None,
    mode: str = "decode",
    tokens: int = 1,
    context: int = 1024,
    batch: int = 1,
) -> dict[str, list[float]]:
    """``layer_times`` for a catalog model from Helix's measured profiles.

    Parameters
    ----------
    model_dir
        A Helix model folder (``.../llama2_70b``) with one sub-folder per GPU.
    model
        Catalog model name (default: from the folder name, :data:`HELIX_MODELS`).
    gpus
        Helix GPU folders to use (default: all present).
    mode, tokens, context, batch
        The request shape, as in :func:`placement_opt.profiles.model_record`
        (weights are fp16, as measured).

    Returns
    -------
    dict
        ``{catalog device type: [seconds per layer]}``: the embedding and head
        from the calibrated analytical model, every block the Helix value at
        :func:`helix_tokens` (ms converted to s).
    """
    model_dir = Path(model_dir)
    name = model or HELIX_MODELS[model_dir.name]
    shape = Shape(mode=mode, tokens=tokens, context=context, batch=batch)  # type: ignore[arg-type]
    costs = layer_costs(name, shape)
    times = {}
    for gpu in gpus or sorted(p.name for p in model_dir.iterdir() if p.name in HELIX_GPU_TYPES):
        dev = HELIX_GPU_TYPES[gpu]
        block = load_layer_latencies(model_dir / gpu)[mode].at(helix_tokens(shape))
        times[dev] = [layer_time(costs[0], dev)] + [block] * (len(costs) - 2) + [layer_time(costs[-1], dev)]
    return times


def helix_model_record(
    model_dir: str | Path,
    *,
    model: str | None = None,
    gpus: Sequence[str] | None = None,
    model_id: str | None = None,
    mode: str = "decode",
    tokens: int = 1,
    context: int = 1024,
    batch: int = 1,
) -> dict[str, Any]:
    """A catalog model record whose ``layer_times`` come from Helix profiles.

    Parameters are those of :func:`helix_layer_times`, plus ``model_id`` (the
    record's ``id``, default the catalog name).
    """
    name = model or HELIX_MODELS[Path(model_dir).name]
    shape: dict[str, Any] = {"mode": mode, "tokens": tokens, "context": context, "batch": batch}
    record = model_record(name, model_id=model_id, **shape)
    record["layer_times"] = helix_layer_times(model_dir, model=name, gpus=gpus, **shape)
    return record


# --------------------------------------------------------------------------- #
# Cluster configs
# --------------------------------------------------------------------------- #


def parse_quantity(text: str, where: str) -> float | None:
    """``"1000 * mbps"`` -> SI value; ``"-1"`` (Helix: not applicable) -> None."""
    match = re.fullmatch(r"\s*(-?[0-9.eE+-]+)\s*(?:\*\s*([A-Za-z]+))?\s*", text)
    if not match or (match.group(2) and match.group(2) not in UNITS):
        raise ValueError(f"{where}: cannot read quantity {text!r} (units: {', '.join(UNITS)})")
    value = float(match.group(1))
    if value < 0:
        return None
    return value * (UNITS[match.group(2)] if match.group(2) else 1.0)


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # keep case


def _read_ini(path: Path) -> configparser.ConfigParser:
    parser = _CaseKeepingParser(inline_comment_prefixes=("#",))
    if not parser.read(path):
        raise FileNotFoundError(path)
    return parser


@dataclass(frozen=True)
class Machine:
    """A Helix machine profile (None where Helix writes -1)."""

    vram: float | None
    nic_in: float | None
    nic_out: float | None


def load_machine_profiles(path: str | Path) -> dict[str, Machine]:
    """Read ``google_machine_profiles.ini``: section name -> :class:`Machine`."""
    ini = _read_ini(Path(path))
    keys = ("vram_size", "inbound_nic_speed", "outbound_nic_speed")
    return {
        name: Machine(*(parse_quantity(ini[name][key], f"{path} [{name}] {key}") for key in keys))
        for name in ini.sections()
    }


def _node_id(token: str) -> str:
    return token if token in (SOURCE_ID, SINK_ID) else f"compute-{int(token)}"


def _machine_key(machine_type: str) -> str:
    return {"source": "SourceNode", "sink": "SinkNode"}.get(machine_type, machine_type)


def _cap(bandwidth: float, *nics: float | None) -> float:
    return min([bandwidth] + [n for n in nics if n is not None])


@dataclass(frozen=True)
class _Cluster:
    types: dict[str, str]  # compute node id -> Helix machine type (e.g. "T4")
    links: list[tuple[str, str, float, float]]  # (a, b, bytes/s, s)


def _parse_cluster(path: Path) -> _Cluster:
    ini = _read_ini(path)
    types = {}
    links = []
    for name in ini.sections():
        if name.startswith("ComputeNode-"):
            machine_type = ini[name]["type"]
            if machine_type.lower() not in HELIX_GPU_TYPES:
                known = ", ".join(HELIX_GPU_TYPES)
                raise ValueError(f"{path} [{name}]: unknown type {machine_type!r} (known: {known})")
            types[_node_id(name.split("-", 1)[1])] = machine_type
        elif name.startswith("Link-"):
            a, b = name[len("Link-") :].split("-")
            bw = parse_quantity(ini[name]["bandwidth"], f"{path} [{name}] bandwidth")
            lat = parse_quantity(ini[name]["latency"], f"{path} [{name}] latency")
            if bw is None or lat is None:
                raise ValueError(f"{path} [{name}]: bandwidth and latency must be given")
            links.append((_node_id(a), _node_id(b), bw, lat))
    declared = int(ini["NodeNames"]["total_compute_nodes"]) if ini.has_section("NodeNames") else None
    if declared is not None and declared != len(types):
        raise ValueError(f"{path}: total_compute_nodes={declared} but {len(types)} [ComputeNode-*] sections")
    return _Cluster(types, links)


def _node_records(cluster: _Cluster, machines: dict[str, Machine]) -> list[dict[str, Any]]:
    """Source and sink (forwarding only), then the compute nodes with their VRAM."""
    nodes: list[dict[str, Any]] = [{"id": i, "flops": 0.0, "memory": 0.0} for i in (SOURCE_ID, SINK_ID)]
    for node, machine_type in cluster.types.items():
        record = node_record(HELIX_GPU_TYPES[machine_type.lower()], node)
        vram = machines[machine_type].vram
        if vram is not None:
            record["memory"] = vram
        nodes.append(record)
    return nodes


def _link_records(cluster: _Cluster, machines: dict[str, Machine], duplex: bool) -> list[dict[str, Any]]:
    def machine(node: str) -> Machine:
        return machines[_machine_key(cluster.types.get(node, node))]

    records = []
    for a, b, bw, lat in cluster.links:
        terminal = SOURCE_ID in (a, b) or SINK_ID in (a, b)  # traffic only leaves the source, enters the sink
        directed = terminal or duplex
        pairs = [(a, b), (b, a)] if duplex and not terminal else [(a, b)]
        for src, dst in pairs:
            cap = _cap(bw, machine(src).nic_out, machine(dst).nic_in)
            records.append({"source": src, "target": dst, "bandwidth": cap, "latency": lat, "directed": directed})
    return records


def _default_machine_profiles(config_ini: Path) -> Path:
    for folder in (config_ini.parent, config_ini.parent.parent):
        if (folder / "google_machine_profiles.ini").is_file():
            return folder / "google_machine_profiles.ini"
    raise FileNotFoundError(f"no google_machine_profiles.ini next to {config_ini} or in its parent; pass it")


def load_cluster(
    config_ini: str | Path,
    machine_profiles_ini: str | Path | None = None,
    *,
    model: str = "llama-2-70b",
    profiles_dir: str | Path | None = None,
    mode: str = "decode",
    tokens: int = 1,
    context: int = 1024,
    batch: int = 1,
    rate: float = 1.0,
    slo: float | None = None,
    duplex: bool = True,
    as_problem: bool = False,
) -> dict[str, Any] | Problem:
    """Turn a Helix cluster config into a validated instance.

    Parameters
    ----------
    config_ini
        A Helix cluster ``.ini`` (e.g. ``single24.ini``).
    machine_profiles_ini
        Helix's ``google_machine_profiles.ini`` (default: next to the config or
        in its parent folder).
    model
        Catalog model to serve (one record, one workload).
    profiles_dir
        A Helix model folder (``.../llama2_70b``): when given, ``layer_times``
        come from the measured profiles (:func:`helix_layer_times`); otherwise
        from the calibrated analytical model for the cluster's device types.
    mode, tokens, context, batch
        The request shape (:func:`placement_opt.profiles.model_record`).
    rate, slo
        Of the single workload from Helix's source to its sink.
    duplex
        Links between compute nodes become two directed links, one per
        direction, each with the full bandwidth (full-duplex NICs); with
        ``False`` one undirected link whose capacity both directions share.
        Source links only go out of the source, sink links only into the sink.
    as_problem
        Return a :class:`placement_opt.Problem` instead of the plain dict.

    Returns
    -------
    dict or Problem
        Nodes ``source`` and ``sink`` (``flops`` 0: they only forward) and
        ``compute-k`` (catalog ``type``, sustained ``flops``, ``memory`` = the
        machine profile's VRAM); the links; the model record; one workload
        ``helix`` from ``source`` to ``sink``.  Always validated.
    """
    config_ini = Path(config_ini)
    profiles_ini = Path(machine_profiles_ini or _default_machine_profiles(config_ini))
    machines = load_machine_profiles(profiles_ini)
    cluster = _parse_cluster(config_ini)
    missing = (set(cluster.types.values()) | {"SourceNode", "SinkNode"}) - set(machines)
    if missing:
        raise ValueError(f"{profiles_ini}: no machine profile for {sorted(missing)}")
    types = sorted({HELIX_GPU_TYPES[t.lower()] for t in cluster.types.values()})
    shape: dict[str, Any] = {"mode": mode, "tokens": tokens, "context": context, "batch": batch}
    if profiles_dir is not None:
        gpus = [g for g, d in HELIX_GPU_TYPES.items() if d in types]
        record = helix_model_record(profiles_dir, model=model, gpus=gpus, **shape)
    else:
        record = model_record(model, device_types=types, **shape)
    workload: dict[str, Any] = {"id": "helix", "model": record["id"], "source": SOURCE_ID, "sink": SINK_ID,
                                "rate": rate}
    if slo is not None:
        workload["slo"] = slo
    data = {
        "name": config_ini.stem,
        "nodes": _node_records(cluster, machines),
        "links": _link_records(cluster, machines, duplex),
        "models": [record],
        "workloads": [workload],
    }
    problem = Problem.from_dict(data, source=str(config_ini))
    return problem if as_problem else data
