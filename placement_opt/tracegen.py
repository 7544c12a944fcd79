"""Trace builders from real measurements (``../shared/data``) and seeded failures.

Each builder maps real time series onto a given :class:`~placement_opt.Problem`'s
ids and returns a :class:`~placement_opt.trace.Trace` covering
``[start, start + duration)`` with an event only where a value changes:

* :func:`bandwidth_from_5g`: link bandwidth from 5Gophers per-second 5G
  throughput (stationary runs, driving or walking traces);
* :func:`latency_from_ping`: link latency from 5Gophers ping traces (half the RTT);
* :func:`utilization_from_azure`: node utilisation from the delivered CPU
  throughput of long-lived Azure VMs, rescaled;
* :func:`failures`: node or link availability from an alternating renewal
  process (exponential time to failure, log-normal or exponential repair);
* :func:`scenario_trace`: all of the above on sensible defaults, merged.

Randomness (which series, where in it to start, failure times) comes from
``numpy.random.default_rng([seed, crc32(builder), crc32(id)])``: the same seed
gives the same trace, and adding an element does not change the others' series.
Units are converted to SI (bytes/s, s).  Distributions, data sources and
licenses are documented in ``docs/traces.md``.
"""

from __future__ import annotations

import math
import numbers
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .errors import Issue, PlacementOptError, TraceError, did_you_mean
from .topologies import MBIT_S, MS
from .trace import Trace

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem

#: Environment variable naming the shared real-data folder.
SHARED_DATA_ENV = "PLACEMENT_OPT_SHARED_DATA"

#: 5G throughput sources: ``throughput`` (120 stationary runs of ~60 s, grouped by
#: carrier), ``driving`` (2 drives x 3 carriers, 120 s each, with outages) and
#: ``walking`` (one 603 s walk, 4G/5G handoffs).
FiveGSource = Literal["throughput", "driving", "walking"]

FIVE_G_DIR = "net_5gophers_5g"
AZURE_DIR = "compute_azure_vmnoise"
PING_DIR = Path("mmWave-only") / "04-Ping-Traces-Latency-Tests"


class DataNotFoundError(PlacementOptError, FileNotFoundError):
    """The shared real-data folder (or a file in it) is missing."""


# --------------------------------------------------------------------------- #
# Data location and raw readers (cached, SI units)
# --------------------------------------------------------------------------- #


def shared_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The real-data folder: ``data_dir``, else ``$PLACEMENT_OPT_SHARED_DATA``,
    else ``../shared/data`` next to the repository.

    Raises
    ------
    DataNotFoundError
        If the folder does not exist.
    """
    if data_dir is None:
        env = os.environ.get(SHARED_DATA_ENV)
        data_dir = env if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    path = Path(data_dir)
    if not path.is_dir():
        raise DataNotFoundError(f"real-data folder {str(path)!r} not found; set {SHARED_DATA_ENV} "
                                "or pass data_dir= (see docs/traces.md)")
    return path


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataNotFoundError(f"real-data file {str(path)!r} not found")
    return pd.read_csv(path)


def _frozen(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def five_g_series(source: str = "throughput", warmup: int = 10,
                  data_dir: Path | None = None) -> Mapping[str, tuple[np.ndarray, ...]]:
    """Per-second 5Gophers throughput in bytes/s, as ``{group: (series, ...)}``.

    ``throughput``: one series per run (sorted by ``seq_num``, the first
    ``warmup`` seconds of TCP slow start dropped), grouped by carrier.
    ``driving``: one series per carrier column of each car-driving trace, grouped
    by carrier.  ``walking``: the walking trace, one group.  Zeros are outages.
    """
    base = shared_data_dir(data_dir) / FIVE_G_DIR / "All-Carriers"
    if source == "throughput":
        d = _read_csv(base / "01-Throughput" / "data.csv").sort_values(
            ["carrier", "num_tcp_conn", "server_location", "run_num", "seq_num"], kind="stable")
        groups: dict[str, list[np.ndarray]] = {}
        for (carrier, *_), run in d.groupby(["carrier", "num_tcp_conn", "server_location", "run_num"], sort=True):
            values = run["throughput_mbps"].to_numpy()[warmup:]
            if values.size:
                groups.setdefault(str(carrier), []).append(_frozen(values * MBIT_S))
        return {g: tuple(v) for g, v in groups.items()}
    if source == "driving":
        groups = {}
        for k in (1, 2):
            d = _read_csv(base / "03-User-Mobility" / f"car-driving-trace-{k}.csv").sort_values("seq_num")
            for col in [c for c in d.columns if c.endswith("_throughput_mbps")]:
                groups.setdefault(col.split("_")[0].upper(), []).append(_frozen(d[col].to_numpy() * MBIT_S))
        return {g: tuple(v) for g, v in groups.items()}
    if source == "walking":
        d = _read_csv(base / "03-User-Mobility" / "walking-trace.csv").sort_values("seq_num")
        return {"WALK": (_frozen(d["throughput_mbps"].to_numpy() * MBIT_S),)}
    hint = did_you_mean(source, ("throughput", "driving", "walking")) or "use throughput, driving or walking"
    raise ValueError(f"unknown 5G source {source!r} ({hint})")


@lru_cache(maxsize=16)
def ping_series(network: str = "5G", target: str = "First-Hop",
                data_dir: Path | None = None) -> tuple[np.ndarray, ...]:
    """RTTs in seconds of every 5Gophers ping log with this network and target,
    one series per log (probes in order, one per second)."""
    folder = shared_data_dir(data_dir) / FIVE_G_DIR / PING_DIR
    logs = sorted(folder.glob("ping-trace-*.log"))
    if not logs:
        raise DataNotFoundError(f"no ping-trace-*.log files in {str(folder)!r}")
    out = []
    for log in logs:
        d = _read_csv(log)
        d = d[(d["network_type"] == network) & (d["target_server"] == target)].sort_values("probe_num")
        if len(d):
            out.append(_frozen(d["rtt_in_ms"].to_numpy() * MS))
    if not out:
        raise ValueError(f"no ping traces for network {network!r} and target {target!r} "
                         "(networks: 4G, 5G; targets: First-Hop, US-East, US-West)")
    return tuple(out)


@lru_cache(maxsize=16)
def azure_series(sku: str = "B8ms", data_dir: Path | None = None) -> tuple[tuple[str, np.ndarray, float, float], ...]:
    """Sysbench CPU throughput (events/s) of each long-lived Azure VM of a SKU.

    Returns ``(name, values in start-time order, file minimum, file maximum)``
    per VM, over both regions; ``name`` is ``<region>_<sku>/vm<k>``.
    """
    folder = shared_data_dir(data_dir) / AZURE_DIR
    files = sorted(folder.glob(f"sysbench_cpu_events_per_sec_long_*_{sku}.csv"))
    if not files:
        hint = did_you_mean(sku, ("B8ms", "D8s_v5")) or "skus: B8ms, D8s_v5"
        raise ValueError(f"no Azure VM-noise file for sku {sku!r} in {str(folder)!r} ({hint})")
    out = []
    for path in files:
        d = _read_csv(path)
        d = d.assign(start=pd.to_datetime(d["starttime"])).sort_values(["VM_id", "start"], kind="stable")
        lo, hi = float(d["value"].min()), float(d["value"].max())
        region = path.stem.removeprefix("sysbench_cpu_events_per_sec_long_")
        for vm, rows in d.groupby("VM_id", sort=True):
            out.append((f"{region}/vm{vm}", _frozen(rows["value"].to_numpy()), lo, hi))
    return tuple(out)


# --------------------------------------------------------------------------- #
# Choosing elements
# --------------------------------------------------------------------------- #


def _tier(problem: Problem, node: str) -> str | None:
    return problem.nodes[problem.node_index[node]].tier


def radio_links(problem: Problem) -> list[str]:
    """Available links with an end node of tier ``device`` (the access links)."""
    return [lid for lid, link in zip(problem.link_ids, problem.links, strict=True)
            if link.available and "device" in (_tier(problem, link.source), _tier(problem, link.target))]


def wired_links(problem: Problem) -> list[str]:
    """Available links that are not :func:`radio_links`."""
    radio = set(radio_links(problem))
    return [lid for lid, link in zip(problem.link_ids, problem.links, strict=True)
            if link.available and lid not in radio]


def edge_nodes(problem: Problem) -> list[str]:
    """Available hosting nodes (flops > 0) of tier ``edge``; if the instance has
    none, every available hosting node that is not of tier ``device``."""
    hosts = [n for n in problem.nodes if n.available and n.flops > 0]
    edge = [n.id for n in hosts if n.tier == "edge"]
    return edge or [n.id for n in hosts if n.tier != "device"]


def server_nodes(problem: Problem) -> list[str]:
    """Available hosting nodes (flops > 0) that are not of tier ``device``."""
    return [n.id for n in problem.nodes if n.available and n.flops > 0 and n.tier != "device"]


def _select(problem: Problem, kind: str, given: Sequence[str] | None,
            default: Callable[[Problem], list[str]]) -> list[str]:
    if given is None:
        return default(problem)
    if isinstance(given, str):
        given = [given]
    known = problem.node_index if kind == "node" else problem.link_index
    issues = [Issue(f"{kind}s", f"unknown {kind} {rid!r}", did_you_mean(rid, known)) for rid in given
              if rid not in known]
    if issues:
        raise TraceError(issues, problem.source)
    return list(dict.fromkeys(given))


# --------------------------------------------------------------------------- #
# Shared machinery
# --------------------------------------------------------------------------- #


def _rng(seed: int, builder: str, rid: str) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng([int(seed), zlib.crc32(builder.encode()), zlib.crc32(rid.encode())])


def _check_window(start: float, duration: float, step: float, step_name: str) -> int:
    for name, value in (("start", start), ("duration", duration), (step_name, step)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if start < 0 or duration <= 0 or step <= 0:
        raise ValueError(f"need start >= 0, duration > 0 and {step_name} > 0 "
                         f"(got {start!r}, {duration!r}, {step!r})")
    return max(1, math.ceil(duration / step - 1e-9))


def _chain(rng: np.random.Generator, groups: Mapping[str, Sequence[np.ndarray]], need: int) -> np.ndarray:
    """``need`` consecutive samples: one group picked at random, its series
    concatenated in random order (re-shuffled each round), starting at a random
    position of the first series."""
    names = sorted(groups)
    pool = groups[names[int(rng.integers(len(names)))]]
    pieces: list[np.ndarray] = []
    total = 0
    while total < need:
        for k in rng.permutation(len(pool)):
            piece = pool[k] if pieces else pool[k][int(rng.integers(len(pool[k]))):]
            pieces.append(piece)
            total += len(piece)
            if total >= need:
                break
    return np.concatenate(pieces)[:need]


def _window_means(per_second: np.ndarray, n_steps: int, resolution: float) -> np.ndarray:
    """Mean of a per-second series over each step ``[k r, (k+1) r)`` (at least
    one sample per step, so a resolution below 1 s repeats samples)."""
    k = np.arange(n_steps)
    lo = np.floor(k * resolution + 1e-9).astype(int)
    hi = np.maximum(np.floor((k + 1) * resolution + 1e-9).astype(int), lo + 1)
    if np.all(hi - lo == 1):  # one sample per step: the measured values, exactly
        return np.asarray(per_second, dtype=float)[lo]
    csum = np.concatenate([[0.0], np.cumsum(per_second)])
    return (csum[hi] - csum[lo]) / (hi - lo)


def _seconds_needed(n_steps: int, resolution: float) -> int:
    return int(max(math.floor(n_steps * resolution + 1e-9), math.floor((n_steps - 1) * resolution + 1e-9) + 1))


def _grid_events(times: np.ndarray, kind: str, ids: Sequence[str], attribute: str,
                 values: np.ndarray) -> pd.DataFrame:
    """Events of a ``len(ids) x len(times)`` value matrix, only where a value changes."""
    if not len(ids):
        return pd.DataFrame(columns=["time", "kind", "id", "attribute", "value"])
    change = np.ones_like(values, dtype=bool)
    change[:, 1:] = values[:, 1:] != values[:, :-1]
    row, col = np.nonzero(change)
    return pd.DataFrame({"time": times[col], "kind": kind, "id": np.asarray(ids, dtype=object)[row],
                         "attribute": attribute, "value": values[row, col]})


def _trace(frames: Sequence[pd.DataFrame], source: str, end: float, problem: Problem) -> Trace:
    frames = [f for f in frames if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["time", "kind", "id", "attribute", "value"])
    return Trace.from_frame(frame, source, end).compact(problem)


# --------------------------------------------------------------------------- #
# Builders
# --------------------------------------------------------------------------- #


def bandwidth_from_5g(problem: Problem, links: Sequence[str] | None = None, *, source: FiveGSource = "throughput",
                      start: float = 0.0, duration: float = 3600.0, resolution: float = 1.0, scale: float = 1.0,
                      warmup: int = 10, outage: Literal["unavailable", "floor"] = "unavailable",
                      floor: float = 125.0, seed: int = 0, data_dir: str | os.PathLike | None = None) -> Trace:
    """Link bandwidth from real 5G per-second throughput (5Gophers, WWW 2020).

    Each link gets its own series: a carrier chosen at random, that carrier's
    runs (or traces) chained in random order from a random starting second.
    Throughput (Mbit/s) becomes bandwidth in bytes/s, times ``scale``.

    Parameters
    ----------
    problem
        The instance whose link ids are used.
    links
        Link ids; default :func:`radio_links` (links to ``device``-tier nodes).
    source
        ``throughput`` (stationary runs), ``driving`` or ``walking``.
    start, duration
        The trace covers ``[start, start + duration)`` s; before ``start`` the
        instance's values hold.
    resolution
        Seconds per step; each step takes the mean throughput over its seconds
        (at ``resolution=1`` the measured samples themselves).
    scale
        Multiplier on bandwidth (e.g. 0.1 for an uplink-limited link).
    warmup
        Seconds of TCP slow start dropped from the start of each ``throughput``
        run (ignored by the other sources).
    outage
        Steps with zero throughput: ``unavailable`` sets the link's
        ``available`` to 0 (bandwidth keeps its last positive value);
        ``floor`` sets bandwidth to ``floor`` bytes/s instead.
    seed
        Same seed, same trace.
    data_dir
        Real-data folder (default :func:`shared_data_dir`).

    Returns
    -------
    Trace
        ``bandwidth`` (and, with outages, ``available``) events of the links,
        ending at ``start + duration``.
    """
    if outage not in ("unavailable", "floor"):
        raise ValueError(f"outage must be 'unavailable' or 'floor', got {outage!r}")
    if not (scale > 0 and floor > 0):
        raise ValueError(f"scale and floor must be > 0, got {scale!r} and {floor!r}")
    ids = _select(problem, "link", links, radio_links)
    n_steps = _check_window(start, duration, resolution, "resolution")
    groups = five_g_series(source, warmup if source == "throughput" else 0, _dir_key(data_dir))
    need = _seconds_needed(n_steps, resolution)
    bw = np.empty((len(ids), n_steps))
    for r, lid in enumerate(ids):
        bw[r] = _window_means(_chain(_rng(seed, "bandwidth_from_5g", lid), groups, need), n_steps, resolution)
    bw *= scale
    times = start + np.arange(n_steps) * resolution
    down = bw <= 0
    frames = []
    if outage == "floor":
        bw[down] = floor
    else:
        bw = _fill_outages(bw, ids, problem)
        has_outage = np.any(down, axis=1)
        frames.append(_grid_events(times, "link", [i for i, o in zip(ids, has_outage, strict=True) if o],
                                   "available", (~down[has_outage]).astype(float)))
    frames.insert(0, _grid_events(times, "link", ids, "bandwidth", bw))
    return _trace(frames, f"5Gophers 5G {source} (CC-BY-4.0)", start + duration, problem)


def _fill_outages(bw: np.ndarray, ids: Sequence[str], problem: Problem) -> np.ndarray:
    """Zeros replaced by the last positive value (leading zeros: the first one,
    or the instance's bandwidth when the whole series is zero)."""
    out = bw.copy()
    for r, lid in enumerate(ids):
        row = pd.Series(np.where(out[r] > 0, out[r], np.nan)).ffill().bfill()
        out[r] = row.fillna(problem.links[problem.link_index[lid]].bandwidth).to_numpy()
    return out


def latency_from_ping(problem: Problem, links: Sequence[str] | None = None, *, network: str = "5G",
                      target: str = "First-Hop", start: float = 0.0, duration: float = 3600.0,
                      resolution: float = 1.0, scale: float = 1.0, seed: int = 0,
                      data_dir: str | os.PathLike | None = None) -> Trace:
    """Link latency from real ping traces (5Gophers mmWave ping logs).

    One-way latency is half the measured RTT (as in the generators), times
    ``scale``.  Probes are taken as one per second; each link chains the logs of
    the chosen ``network`` (``4G``/``5G``) and ``target`` (``First-Hop``,
    ``US-East``, ``US-West``) in random order from a random starting probe.
    Other parameters as in :func:`bandwidth_from_5g`; ``links`` defaults to
    :func:`radio_links`.
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    ids = _select(problem, "link", links, radio_links)
    n_steps = _check_window(start, duration, resolution, "resolution")
    groups = {"ping": ping_series(network, target, _dir_key(data_dir))}
    need = _seconds_needed(n_steps, resolution)
    lat = np.empty((len(ids), n_steps))
    for r, lid in enumerate(ids):
        lat[r] = _window_means(_chain(_rng(seed, "latency_from_ping", lid), groups, need), n_steps, resolution)
    lat *= scale / 2
    times = start + np.arange(n_steps) * resolution
    return _trace([_grid_events(times, "link", ids, "latency", lat)],
                  f"5Gophers ping {network} {target} (CC-BY-4.0)", start + duration, problem)


def utilization_from_azure(problem: Problem, nodes: Sequence[str] | None = None, *,
                           rescale: tuple[float, float] | None = (0.0, 0.5), sku: str = "B8ms",
                           step: float = 60.0, start: float = 0.0, duration: float = 3600.0, seed: int = 0,
                           data_dir: str | os.PathLike | None = None) -> Trace:
    """Node utilisation from the real CPU-throughput variation of Azure VMs.

    Each node follows one long-lived VM of the SKU (chosen at random over both
    regions) from a random measurement on; consecutive measurements (taken
    about every 100 minutes) are played ``step`` seconds apart, wrapping around
    at the end of the series.  A measurement ``v`` of a file with range
    ``[vmin, vmax]`` becomes utilisation
    ``lo + (hi - lo) * (vmax - v) / (vmax - vmin)`` with ``rescale=(lo, hi)``
    (the fastest measurement of the file is ``lo``, the slowest ``hi``), or,
    with ``rescale=None``, the measured slowdown ``1 - v / vmax``.

    Parameters
    ----------
    nodes
        Node ids; default :func:`edge_nodes`.
    rescale
        ``(lo, hi)`` with ``0 <= lo <= hi < 1``, or None.
    sku
        ``B8ms`` (burstable, up to 14-18 % slowdown) or ``D8s_v5`` (within 5 %).
    step
        Trace seconds per measurement.
    """
    if rescale is not None:
        lo, hi = (float(x) for x in rescale)
        if not (0 <= lo <= hi < 1):
            raise ValueError(f"rescale must be (lo, hi) with 0 <= lo <= hi < 1, got {rescale!r}")
    ids = _select(problem, "node", nodes, edge_nodes)
    n_steps = _check_window(start, duration, step, "step")
    vms = azure_series(sku, _dir_key(data_dir))
    util = np.empty((len(ids), n_steps))
    for r, nid in enumerate(ids):
        rng = _rng(seed, "utilization_from_azure", nid)
        _, values, vmin, vmax = vms[int(rng.integers(len(vms)))]
        v = np.take(values, int(rng.integers(len(values))) + np.arange(n_steps), mode="wrap")
        if rescale is None:
            util[r] = 1.0 - v / vmax
        else:
            util[r] = lo + (hi - lo) * (vmax - v) / (vmax - vmin) if vmax > vmin else lo
    times = start + np.arange(n_steps) * step
    return _trace([_grid_events(times, "node", ids, "utilization", util)],
                  f"Azure VM noise {sku} (CC-BY-4.0)", start + duration, problem)


def failures(problem: Problem, kind: Literal["node", "link"] = "node", ids: Sequence[str] | None = None, *,
             mtbf: float = 3600.0, mttr: float = 120.0, repair: Literal["lognormal", "exponential"] = "lognormal",
             sigma: float = 1.0, start: float = 0.0, duration: float = 3600.0, seed: int = 0) -> Trace:
    """Seeded failures and recoveries: ``available`` events of nodes or links.

    Every element alternates independently between up and down, starting up at
    ``start``: time to failure ~ Exponential(mean ``mtbf``); time to repair ~
    LogNormal with mean ``mttr`` and log-standard deviation ``sigma``
    (``mu = ln(mttr) - sigma**2 / 2``) or Exponential(mean ``mttr``).  A
    failure emits ``available = 0``, a repair ``available = 1``; events at or
    after ``start + duration`` are dropped.  Times are not rounded to a grid.

    Parameters
    ----------
    kind
        ``node`` or ``link``.
    ids
        Element ids; default :func:`server_nodes` for nodes, :func:`wired_links`
        for links.
    mtbf, mttr
        Mean time between failures (up time) and mean time to repair, seconds.
    """
    if kind not in ("node", "link"):
        raise ValueError(f"kind must be 'node' or 'link', got {kind!r}")
    if repair not in ("lognormal", "exponential"):
        raise ValueError(f"repair must be 'lognormal' or 'exponential', got {repair!r}")
    if not (mtbf > 0 and mttr > 0 and sigma > 0):
        raise ValueError(f"mtbf, mttr and sigma must be > 0, got {mtbf!r}, {mttr!r}, {sigma!r}")
    _check_window(start, duration, 1.0, "step")
    chosen = _select(problem, kind, ids, server_nodes if kind == "node" else wired_links)
    end = start + duration
    rows: list[tuple[float, str, str, str, float]] = []
    for rid in chosen:
        rng = _rng(seed, f"failures-{kind}", rid)
        t = start
        while True:
            t += rng.exponential(mtbf)
            if t >= end:
                break
            rows.append((t, kind, rid, "available", 0.0))
            t += rng.lognormal(math.log(mttr) - sigma ** 2 / 2, sigma) if repair == "lognormal" \
                else rng.exponential(mttr)
            if t >= end:
                break
            rows.append((t, kind, rid, "available", 1.0))
    return Trace.from_records(rows, f"failures {kind} mtbf={mtbf:g}s mttr={mttr:g}s ({repair})", end)


def scenario_trace(problem: Problem, duration: float = 3600.0, seed: int = 0, *, resolution: float = 1.0,
                   bandwidth_source: FiveGSource = "throughput", latency: bool = True,
                   utilization: tuple[float, float] | None = (0.0, 0.5), utilization_step: float = 60.0,
                   node_mtbf: float = 4 * 3600.0, node_mttr: float = 300.0,
                   link_mtbf: float = 8 * 3600.0, link_mttr: float = 120.0,
                   data_dir: str | os.PathLike | None = None) -> Trace:
    """A realistic trace for ``problem``: real 5G, real compute noise, failures.

    * :func:`bandwidth_from_5g` (and, with ``latency``, :func:`latency_from_ping`)
      on the radio links (:func:`radio_links`);
    * :func:`utilization_from_azure` on the edge nodes (:func:`edge_nodes`),
      rescaled to ``utilization`` (``None``: the measured slowdown), one
      measurement every ``utilization_step`` s;
    * :func:`failures` of the server nodes (:func:`server_nodes`) and of the
      wired links (:func:`wired_links`); a zero ``*_mtbf`` disables them.

    Radio links get their outages from the 5G data, not from the failure
    process, so no two parts set the same attribute.  Every part uses ``seed``.
    """
    parts = []
    if radio_links(problem):
        parts.append(bandwidth_from_5g(problem, source=bandwidth_source, duration=duration,
                                       resolution=resolution, seed=seed, data_dir=data_dir))
        if latency:
            parts.append(latency_from_ping(problem, duration=duration, resolution=resolution, seed=seed,
                                           data_dir=data_dir))
    if edge_nodes(problem):
        parts.append(utilization_from_azure(problem, rescale=utilization, step=utilization_step,
                                            duration=duration, seed=seed, data_dir=data_dir))
    if node_mtbf > 0 and server_nodes(problem):
        parts.append(failures(problem, "node", mtbf=node_mtbf, mttr=node_mttr, duration=duration, seed=seed))
    if link_mtbf > 0 and wired_links(problem):
        parts.append(failures(problem, "link", mtbf=link_mtbf, mttr=link_mttr, duration=duration, seed=seed))
    merged = Trace.merge(*parts)
    return Trace(merged.events, f"scenario seed={seed}", float(duration))


def _dir_key(data_dir: str | os.PathLike | None) -> Path | None:
    """A hashable cache key for the data folder (resolved once, checked to exist)."""
    return shared_data_dir(data_dir).resolve()
