"""Plots of problems, solutions, replays and benchmark results (matplotlib).

Every ``plot_*`` function draws on the ``Axes`` it is given (or on a new figure
when ``ax`` is None) and returns that ``Axes``.  matplotlib is an optional
dependency (``pip install placement_opt[plot]``); it is imported on first use, so
the rest of the package works without it.

::

    import placement_opt as po
    from placement_opt.plot import plot_topology, plot_segments

    ax = plot_topology(problem, solution)           # nodes by hosted segments, routes
    ax = plot_segments(problem, solution)           # a Gantt of layers over nodes

Drawn artists carry a ``gid`` (``"route:<workload>:<a>-><b>"``,
``"compute:<workload>"``, ``"transfer:<workload>"``, ``"event:<kind>"``,
``"down:<workload>"``) so that tests and callers can find them.
Choices (units, colours, what counts as a bar) are listed in ``docs/plots.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from .errors import InputError, Issue, PlacementOptError, did_you_mean
from .problem import Problem
from .solution import Solution

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .replay import ReplayResult

__all__ = [
    "MissingDependencyError",
    "TIER_MARKERS",
    "plot_latency",
    "plot_migration",
    "plot_performance_profile",
    "plot_segments",
    "plot_topology",
    "plot_utilization",
    "segment_bars",
    "workload_colors",
]

#: Marker per node tier; other tiers get ``"^"``.
TIER_MARKERS: Mapping[str, str] = {"device": "o", "edge": "s", "cloud": "D", "network": "h"}
#: Tiers from the users up, for the ``"tier"`` layout; unknown tiers come last.
TIER_ORDER: tuple[str, ...] = ("device", "network", "edge", "cloud")
OTHER_MARKER = "^"
IDLE_COLOR = "#f2f2f2"
SHARED_COLOR = "#ffd92f"
UNAVAILABLE_COLOR = "#9e9e9e"
TRANSFER_COLOR = "#d0d0d0"
#: How many hosted segments a node label lists before "+k more".
MAX_LABEL_LINES = 3


class MissingDependencyError(PlacementOptError, ImportError):
    """An optional dependency (matplotlib) is not installed."""


# ------------------------------------------------------------------ helpers
def _pyplot() -> Any:
    """``matplotlib.pyplot``, or a clear error when matplotlib is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "placement_opt.plot needs matplotlib: pip install 'placement_opt[plot]' (or matplotlib>=3.8)"
        ) from exc
    return plt


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 5.0)) -> Axes:
    if ax is not None:
        return ax
    _, new_ax = _pyplot().subplots(figsize=figsize)
    return new_ax


def _palette(n: int) -> list[Any]:
    """``n`` distinct colours (tab10, then tab20, then hsv)."""
    plt = _pyplot()
    name = "tab10" if n <= 10 else "tab20" if n <= 20 else "hsv"
    cmap = plt.get_cmap(name)
    if name == "hsv":
        return [cmap(k / n) for k in range(n)]
    return [cmap(k) for k in range(n)]


def workload_colors(workload_ids: Sequence[str]) -> dict[str, Any]:
    """A stable colour per workload id, in the given order (problem order)."""
    return dict(zip(workload_ids, _palette(len(workload_ids))))


def _bad_input(path: str, message: str, hint: str | None = None) -> InputError:
    return InputError(Issue(path, message, hint))


def _pick(requested: Iterable[str] | None, known: Sequence[str], what: str = "workloads") -> list[str]:
    """The requested ids in the given order (all known ones when None)."""
    if requested is None:
        return list(known)
    if isinstance(requested, str):
        requested = [requested]
    picked = list(requested)
    for wid in picked:
        if wid not in known:
            raise _bad_input(what, f"unknown id {wid!r}", did_you_mean(wid, known))
    return picked


def _as_solution(problem: Problem, solution: Solution | Mapping[str, Sequence[str]]) -> Solution:
    """A Solution whose assignment fits ``problem`` (SolutionError otherwise)."""
    if isinstance(solution, Solution):
        sol = solution
    else:
        sol = Solution(assignment={w: tuple(nodes) for w, nodes in solution.items()})
    if not sol.assignment:
        raise _bad_input("solution", f"has no assignment (status {sol.status.value})")
    problem.assignment_to_array(sol.assignment)
    return sol


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _bad_input(name, f"missing column(s) {', '.join(missing)}; has {', '.join(map(str, frame.columns))}")


# ------------------------------------------------------------------ topology
def _layout(problem: Problem, layout: str | Mapping[str, Any] | Callable[..., Any], seed: int) -> dict[str, np.ndarray]:
    """Node positions: a networkx layout by name, a callable, or given positions."""
    graph = nx.Graph(problem.graph.to_undirected())
    if isinstance(layout, Mapping):
        missing = [n for n in problem.node_ids if n not in layout]
        if missing:
            raise _bad_input("layout", f"no position for node(s) {', '.join(missing[:5])}")
        return {n: np.asarray(layout[n], dtype=float) for n in problem.node_ids}
    if callable(layout):
        return dict(layout(graph))
    if layout == "spring":
        return nx.spring_layout(graph, seed=seed)
    if layout == "kamada_kawai":
        return nx.kamada_kawai_layout(graph)
    if layout == "tier":
        for node in problem.nodes:
            tier = node.tier or ""
            graph.nodes[node.id]["rank"] = TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)
        return nx.multipartite_layout(graph, subset_key="rank", align="horizontal")
    raise _bad_input("layout", f"unknown layout {layout!r}", "one of spring, kamada_kawai, tier, "
                     "a {node id: (x, y)} mapping or a networkx layout function")


def _hosted(problem: Problem, solution: Solution, workloads: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """``{node id: [(workload id, "L<first>-<last>"), ...]}`` (1-based layers)."""
    out: dict[str, list[tuple[str, str]]] = {n: [] for n in problem.node_ids}
    for wid in workloads:
        for seg in solution.segments(wid):
            span = f"L{seg.first + 1}" if seg.first == seg.last else f"L{seg.first + 1}-{seg.last + 1}"
            out[seg.node].append((wid, span))
    return out


def _node_label(node_id: str, hosted: list[tuple[str, str]]) -> str:
    lines = [node_id] + [f"{w}: {span}" for w, span in hosted[:MAX_LABEL_LINES]]
    if len(hosted) > MAX_LABEL_LINES:
        lines.append(f"+{len(hosted) - MAX_LABEL_LINES} more")
    return "\n".join(lines)


def _node_color(problem: Problem, node_id: str, hosted: list[tuple[str, str]], colors: Mapping[str, Any]) -> Any:
    if not problem.nodes[problem.node_index[node_id]].available:
        return UNAVAILABLE_COLOR
    owners = {w for w, _ in hosted}
    if not owners:
        return IDLE_COLOR
    return colors[next(iter(owners))] if len(owners) == 1 else SHARED_COLOR


def route_hops(problem: Problem, solution: Solution, workload: str) -> list[tuple[str, str]]:
    """Every link hop ``(from node, to node)`` the transfers of ``workload`` cross,
    in travel order: raw input, between segments, result (SPEC 5).

    Transfers without a route are skipped.
    """
    wl = problem.workloads[problem.workload_index[workload]]
    nodes = [wl.source] + [s.node for s in solution.segments(workload)] + [problem.sink_of(wl)]
    hops: list[tuple[str, str]] = []
    for a, b in zip(nodes[:-1], nodes[1:]):
        if a == b:
            continue
        try:
            path = problem.routes.path_nodes(problem.node_index[a], problem.node_index[b])
        except ValueError:
            continue
        ids = [problem.node_ids[i] for i in path]
        hops += list(zip(ids[:-1], ids[1:]))
    return hops


def _draw_links(problem: Problem, pos: Mapping[str, Any], ax: Axes) -> None:
    usable = [(e.source, e.target) for k, e in enumerate(problem.links) if _link_usable(problem, k)]
    broken = [(e.source, e.target) for k, e in enumerate(problem.links) if not _link_usable(problem, k)]
    graph = nx.Graph()
    graph.add_nodes_from(problem.node_ids)
    nx.draw_networkx_edges(graph, pos, edgelist=usable, ax=ax, edge_color="#b0b0b0", width=1.0)
    if broken:
        nx.draw_networkx_edges(graph, pos, edgelist=broken, ax=ax, edge_color=UNAVAILABLE_COLOR,
                               width=1.0, style="dotted")


def _link_usable(problem: Problem, k: int) -> bool:
    return bool(problem.link_available[k] and problem.node_available[problem.link_source[k]]
                and problem.node_available[problem.link_target[k]])


def _draw_nodes(problem: Problem, pos: Mapping[str, Any], ax: Axes, fill: Mapping[str, Any], size: float) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(problem.node_ids)
    by_marker: dict[str, list[str]] = {}
    for node in problem.nodes:
        by_marker.setdefault(TIER_MARKERS.get(node.tier or "", OTHER_MARKER), []).append(node.id)
    for marker, ids in by_marker.items():
        coll = nx.draw_networkx_nodes(graph, pos, nodelist=ids, ax=ax, node_shape=marker, node_size=size,
                                      node_color=[fill[n] for n in ids], edgecolors="#333333", linewidths=0.8)
        coll.set_gid(f"nodes:{marker}")


def _draw_routes(problem: Problem, solution: Solution, workloads: Sequence[str], pos: Mapping[str, Any],
                 ax: Axes, colors: Mapping[str, Any], size: float) -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(problem.node_ids)
    for k, wid in enumerate(workloads):
        hops = route_hops(problem, solution, wid)
        if not hops:
            continue
        rad = 0.08 * (1 + k // 2) * (1 if k % 2 == 0 else -1)
        arrows = nx.draw_networkx_edges(graph, pos, edgelist=hops, ax=ax, edge_color=[colors[wid]] * len(hops),
                                        width=2.0, arrows=True, arrowstyle="-|>", arrowsize=12,
                                        connectionstyle=f"arc3,rad={rad}", node_size=size)
        for (a, b), arrow in zip(hops, arrows):
            arrow.set_gid(f"route:{wid}:{a}->{b}")


def _topology_legend(problem: Problem, ax: Axes, colors: Mapping[str, Any], workloads: Sequence[str]) -> None:
    from matplotlib.lines import Line2D

    handles = []
    for tier in dict.fromkeys(n.tier or "" for n in problem.nodes):
        handles.append(Line2D([], [], linestyle="", marker=TIER_MARKERS.get(tier, OTHER_MARKER),
                              markerfacecolor="white", markeredgecolor="#333333", label=tier or "(no tier)"))
    for wid in workloads:
        handles.append(Line2D([], [], color=colors[wid], linewidth=2, label=wid))
    if len(workloads) > 1:
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor=SHARED_COLOR,
                              markeredgecolor="#333333", label="shared"))
    if not problem.node_available.all():
        handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor=UNAVAILABLE_COLOR,
                              markeredgecolor="#333333", label="unavailable"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", framealpha=0.8)


def plot_topology(
    problem: Problem,
    solution: Solution | Mapping[str, Sequence[str]] | None = None,
    ax: Axes | None = None,
    workloads: Iterable[str] | None = None,
    layout: str | Mapping[str, Any] | Callable[..., Any] = "spring",
    seed: int = 0,
    node_size: float = 300.0,
    labels: bool = True,
    legend: bool = True,
) -> Axes:
    """Draw the network, the segments each node hosts and the workloads' routes.

    Parameters
    ----------
    problem
        The problem whose network is drawn.
    solution
        A solution or assignment; without one only the network is drawn.
    ax
        Axes to draw on; a new figure when None.
    workloads
        Workload ids whose segments and routes are drawn (default: all).
    layout
        ``"spring"`` (seeded), ``"kamada_kawai"``, ``"tier"`` (rows by tier:
        devices, network, edge, cloud), a ``{node id: (x, y)}`` mapping, or a
        networkx layout function of an undirected graph.
    seed
        Seed of the spring layout.
    node_size
        Marker area, points^2.
    labels
        Label nodes with their id and hosted layer ranges.
    legend
        Draw a legend of tiers and workloads.

    Returns
    -------
    Axes
        Nodes are drawn with the tier's marker (:data:`TIER_MARKERS`): grey when
        unavailable, in the workload's colour when they host layers of one
        workload, yellow when shared by several, light grey when idle.  Each
        route hop is an arrow in the workload's colour with gid
        ``route:<workload>:<a>-><b>``.
    """
    ax = _axes(ax)
    sol = None if solution is None else _as_solution(problem, solution)
    chosen = _pick(workloads, problem.workload_ids) if sol is not None else []
    colors = workload_colors(problem.workload_ids)
    pos = _layout(problem, layout, seed)
    hosted = _hosted(problem, sol, chosen) if sol is not None else {n: [] for n in problem.node_ids}
    fill = {n: _node_color(problem, n, hosted[n], colors) for n in problem.node_ids}
    _draw_links(problem, pos, ax)
    _draw_nodes(problem, pos, ax, fill, node_size)
    if sol is not None:
        _draw_routes(problem, sol, chosen, pos, ax, colors, node_size)
    if labels:
        for n in problem.node_ids:
            x, y = pos[n]
            ax.annotate(_node_label(n, hosted[n]), (x, y), xytext=(6, 6), textcoords="offset points",
                        fontsize="x-small", va="bottom", gid=f"label:{n}")
    if legend:
        _topology_legend(problem, ax, colors, chosen)
    ax.set_title(problem.name if sol is None else f"{problem.name}: {sol.solver or 'solution'}")
    ax.set_axis_off()
    return ax


# ------------------------------------------------------------------ segments
@dataclass(frozen=True)
class Bar:
    """One piece of a workload's latency: a transfer or a segment's compute."""

    kind: str  # "input", "compute", "transfer", "result"
    start: float
    duration: float
    node: str  # the node computing, or the receiving node of a transfer
    label: str

    @property
    def end(self) -> float:
        return self.start + self.duration


def segment_bars(problem: Problem, solution: Solution | Mapping[str, Sequence[str]], workload: str) -> list[Bar]:
    """The pieces of ``T_w`` in time order (SPEC 5), back to back from 0.

    Raw input transfer, each segment's compute, each transfer between segments,
    the result transfer.  Transfers of zero duration (source or sink on the
    segment's node) are left out; the last bar ends at ``T_w``.  A transfer
    without a route has an infinite duration and ends the list.
    """
    sol = _as_solution(problem, solution)
    if workload not in problem.workload_index:
        raise _bad_input("workloads", f"unknown id {workload!r}", did_you_mean(workload, problem.workload_ids))
    w = problem.workload_index[workload]
    wl = problem.workloads[w]
    base = int(problem.model_offset[problem.workload_model[w]])
    model = problem.model_of(w)
    segments = sol.segments(workload)
    pieces: list[tuple[str, float, str, str]] = []
    first = segments[0].node
    pieces.append(("input", problem.transfer_time(wl.source, first, model.input_bytes), first, "input"))
    for k, seg in enumerate(segments):
        node = problem.node_index[seg.node]
        compute = float(problem.compute_time[base + seg.first: base + seg.last + 1, node].sum())
        span = f"L{seg.first + 1}" if seg.first == seg.last else f"L{seg.first + 1}-{seg.last + 1}"
        pieces.append(("compute", compute, seg.node, f"{seg.node}\n{span}"))
        out_bytes = model.layers[seg.last].output_bytes
        if k + 1 < len(segments):
            nxt = segments[k + 1].node
            pieces.append(("transfer", problem.transfer_time(seg.node, nxt, out_bytes), nxt, f"->{nxt}"))
        else:
            sink = problem.sink_of(wl)
            pieces.append(("result", problem.transfer_time(seg.node, sink, out_bytes), sink, "result"))
    return _stack(pieces)


def _stack(pieces: Sequence[tuple[str, float, str, str]]) -> list[Bar]:
    bars: list[Bar] = []
    t = 0.0
    for kind, duration, node, label in pieces:
        if kind != "compute" and duration == 0:
            continue
        bars.append(Bar(kind, t, duration, node, label))
        if not math.isfinite(duration):
            break
        t += duration
    return bars


def plot_segments(
    problem: Problem,
    solution: Solution | Mapping[str, Sequence[str]],
    ax: Axes | None = None,
    workloads: Iterable[str] | None = None,
) -> Axes:
    """A Gantt of each workload's latency: transfers and segments along time.

    One row per workload (the first at the top).  Compute bars are coloured by
    node and labelled with the node and 1-based layer range; transfers are grey
    and hatched.  The x axis is in seconds; each row ends at ``T_w`` and its SLO,
    where given, is a red tick.

    Parameters
    ----------
    problem
        The problem.
    solution
        A solution or assignment for ``problem``.
    ax
        Axes to draw on; a new figure when None.
    workloads
        Workload ids to draw (default: all, in problem order).

    Returns
    -------
    Axes
        Bars are Rectangles with gid ``compute:<workload>`` or
        ``transfer:<workload>`` (input, between segments and result).
    """
    sol = _as_solution(problem, solution)
    chosen = _pick(workloads, problem.workload_ids)
    ax = _axes(ax, figsize=(9.0, 0.6 * len(chosen) + 1.5))
    node_colors = dict(zip(problem.node_ids, _palette(problem.num_nodes)))
    for row, wid in enumerate(chosen):
        y = len(chosen) - 1 - row
        _draw_row(ax, y, wid, segment_bars(problem, sol, wid), node_colors)
        slo = problem.workloads[problem.workload_index[wid]].slo
        if slo is not None:
            ax.plot([slo, slo], [y - 0.4, y + 0.4], color="red", linewidth=2, gid=f"slo:{wid}")
    ax.set_yticks(range(len(chosen)), list(reversed(chosen)))
    ax.set_ylim(-0.6, len(chosen) - 0.4)
    ax.set_xlabel("time since the request (s)")
    ax.set_title(f"{problem.name}: per-workload latency")
    return ax


def _draw_row(ax: Axes, y: float, wid: str, bars: Sequence[Bar], node_colors: Mapping[str, Any]) -> None:
    for bar in bars:
        if not math.isfinite(bar.duration):
            ax.text(bar.start, y, "  no route", va="center", color="red", fontsize="small")
            continue
        if bar.kind == "compute":
            ax.barh(y, bar.duration, left=bar.start, height=0.7, color=node_colors[bar.node],
                    edgecolor="#333333", gid=f"compute:{wid}")
            ax.text(bar.start + bar.duration / 2, y, bar.label, ha="center", va="center",
                    fontsize="x-small", clip_on=True)
        else:
            ax.barh(y, bar.duration, left=bar.start, height=0.35, color=TRANSFER_COLOR, hatch="///",
                    edgecolor="#666666", gid=f"transfer:{wid}")


# ------------------------------------------------------------------ replay
def _horizon(result: ReplayResult) -> float:
    """The last time any frame of ``result`` mentions."""
    times = [result.timeline["time"].max() if len(result.timeline) else -math.inf]
    if len(result.events):
        times.append(result.events["time"].max())
    if len(result.migrations):
        times.append(result.migrations["end"].max())
    if result.summary.get("horizon") is not None:
        times.append(float(result.summary["horizon"]))
    finite = [float(t) for t in times if np.isfinite(t)]
    return max(finite) if finite else 0.0


def _down_intervals(times: np.ndarray, up: np.ndarray, end: float) -> list[tuple[float, float]]:
    """Intervals ``[t_k, t_{k+1})`` where the workload is down (merged)."""
    out: list[tuple[float, float]] = []
    nxt = np.append(times[1:], end)
    for t0, t1, ok in zip(times, nxt, up):
        if ok:
            continue
        if out and out[-1][1] == t0:
            out[-1] = (out[-1][0], float(t1))
        else:
            out.append((float(t0), float(t1)))
    return out


def plot_latency(result: ReplayResult, ax: Axes | None = None, workloads: Iterable[str] | None = None) -> Axes:
    """Latency over time per workload, with re-plans, failures and down time.

    Each workload is a step line (a value holds until the next decision time;
    the last one until the replay's last time).  While a workload is down its
    line has a gap and the interval is shaded in its colour.  SLO misses while
    up are marked with a red ``x``.  Vertical lines mark events: re-plans
    (dashed, black), failures (solid, red) and recoveries (dotted, green).

    Parameters
    ----------
    result
        A replay result (``timeline`` and ``events`` frames are used).
    ax
        Axes to draw on; a new figure when None.
    workloads
        Workload ids to draw (default: all, in order of first appearance).

    Returns
    -------
    Axes
        Lines have the workload id as label; event lines gid ``event:<kind>``;
        shaded intervals gid ``down:<workload>``.
    """
    timeline = result.timeline
    _require_columns(timeline, ["time", "workload", "latency", "up"], "timeline")
    known = list(dict.fromkeys(timeline["workload"]))
    chosen = _pick(workloads, known)
    ax = _axes(ax)
    colors = workload_colors(known)
    end = _horizon(result)
    for wid in chosen:
        _latency_line(ax, timeline[timeline["workload"] == wid].sort_values("time"), wid, colors[wid], end)
    _event_lines(ax, result.events)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("latency (s)")
    ax.set_title("latency per workload")
    ax.legend(fontsize="small", loc="best")
    return ax


def _latency_line(ax: Axes, rows: pd.DataFrame, wid: str, color: Any, end: float) -> None:
    times = rows["time"].to_numpy(float)
    up = rows["up"].to_numpy(bool)
    latency = rows["latency"].to_numpy(float)
    shown = np.where(up & np.isfinite(latency), latency, np.nan)
    x = np.append(times, max(end, times[-1]))
    y = np.append(shown, shown[-1])
    ax.step(x, y, where="post", color=color, label=wid)
    for t0, t1 in _down_intervals(times, up, max(end, times[-1])):
        ax.axvspan(t0, t1, color=color, alpha=0.15, linewidth=0, gid=f"down:{wid}")
    if "slo_ok" in rows:
        miss = up & ~rows["slo_ok"].to_numpy(bool) & np.isfinite(latency)
        if miss.any():
            ax.plot(times[miss], latency[miss], "x", color="red", gid=f"slo_miss:{wid}")


_EVENT_STYLE: Mapping[str, dict[str, Any]] = {
    "replan": {"color": "black", "linestyle": "--", "linewidth": 1.0},
    "failure": {"color": "red", "linestyle": "-", "linewidth": 1.2},
    "recovery": {"color": "green", "linestyle": ":", "linewidth": 1.2},
}


def _event_lines(ax: Axes, events: pd.DataFrame) -> None:
    if events is None or not len(events):
        return
    _require_columns(events, ["time", "event"], "events")
    for kind, style in _EVENT_STYLE.items():
        times = events.loc[events["event"] == kind, "time"].to_numpy(float)
        for k, t in enumerate(times):
            ax.axvline(t, label=kind if k == 0 else None, gid=f"event:{kind}", alpha=0.7, **style)


def plot_utilization(result: ReplayResult, kind: str = "node", ax: Axes | None = None,
                     cmap: str = "viridis") -> Axes:
    """Heat map of utilisation: one row per node (or link), one column per decision time.

    Column ``k`` spans ``[t_k, t_{k+1})``; the last one as wide as the one
    before it (1 s when there is a single time).  Colours run from 0 to
    ``max(1, largest value)``, so overloads stand out above 1.

    Parameters
    ----------
    result
        A replay result (its ``utilization`` frame is used).
    kind
        ``"node"`` or ``"link"``.
    ax
        Axes to draw on; a new figure when None.
    cmap
        A matplotlib colormap name.

    Returns
    -------
    Axes
        Holding one ``QuadMesh`` whose array is the pivot
        ``utilization[id, time]`` (ids in order of first appearance).
    """
    frame = result.utilization
    _require_columns(frame, ["time", "kind", "id", "utilization"], "utilization")
    if kind not in ("node", "link"):
        raise _bad_input("kind", f"must be 'node' or 'link', got {kind!r}")
    rows = frame[frame["kind"] == kind]
    if not len(rows):
        raise _bad_input("utilization", f"has no rows of kind {kind!r}")
    grid = utilization_grid(rows)
    ax = _axes(ax, figsize=(9.0, 0.25 * len(grid) + 2.0))
    times = grid.columns.to_numpy(float)
    step = float(times[-1] - times[-2]) if len(times) > 1 else 1.0
    x_edges = np.append(times, times[-1] + step)
    y_edges = np.arange(len(grid) + 1) - 0.5
    top = max(1.0, float(np.nanmax(grid.to_numpy(float))))
    values = np.ma.masked_invalid(grid.to_numpy(float))
    mesh = ax.pcolormesh(x_edges, y_edges, values, cmap=cmap, vmin=0.0, vmax=top, shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label="utilisation")
    ax.set_yticks(range(len(grid)), list(grid.index))
    ax.set_ylim(len(grid) - 0.5, -0.5)
    ax.set_xlabel("time (s)")
    ax.set_title(f"{kind} utilisation")
    return ax


def utilization_grid(rows: pd.DataFrame) -> pd.DataFrame:
    """Pivot ``id x time`` of utilisation rows (ids in order of first appearance)."""
    order = list(dict.fromkeys(rows["id"]))
    grid = rows.pivot_table(index="id", columns="time", values="utilization", aggfunc="last")
    return grid.reindex(order)


def plot_migration(result: ReplayResult, ax: Axes | None = None, at: str = "end") -> Axes:
    """Cumulative bytes of weights migrated over time.

    Parameters
    ----------
    result
        A replay result (its ``migrations`` frame is used).
    ax
        Axes to draw on; a new figure when None.
    at
        ``"end"`` (default): a load counts when it completes (its weights are
        then in place; with a ``status`` column only ``complete`` loads, so the
        final value is ``summary["bytes_migrated"]``); ``"start"``: when it
        starts (all but ``no_route`` loads: ``summary["bytes_started"]``).

    Returns
    -------
    Axes
        One step line (gid ``migration``), in bytes (axis ticks with SI
        prefixes), from 0 at the replay's first time to the total at its last.
    """
    if at not in ("start", "end"):
        raise _bad_input("at", f"must be 'start' or 'end', got {at!r}")
    frame = result.migrations
    _require_columns(frame, ["start", "end", "bytes"], "migrations")
    ax = _axes(ax)
    t0 = float(result.timeline["time"].min()) if len(result.timeline) else 0.0
    ordered = _counted_loads(frame, at).sort_values(at)
    times = ordered[at].to_numpy(float)
    if len(times):
        t0 = min(t0, float(times[0]))
    total = np.cumsum(ordered["bytes"].to_numpy(float))
    end = max(_horizon(result), times[-1] if len(times) else t0)
    x = np.concatenate([[t0], times, [end]])
    y = np.concatenate([[0.0], total, [total[-1] if len(total) else 0.0]])
    ax.step(x, y, where="post", color="tab:purple", gid="migration")
    from matplotlib.ticker import EngFormatter

    ax.yaxis.set_major_formatter(EngFormatter(unit="B"))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"weights migrated (cumulative, at load {at})")
    ax.set_title("bytes migrated")
    return ax


def _counted_loads(frame: pd.DataFrame, at: str) -> pd.DataFrame:
    """Loads that count: at ``end`` the completed ones, at ``start`` every one
    that started (all but ``no_route``); always with a finite time."""
    rows = frame[np.isfinite(frame[at].to_numpy(float))]
    if "status" in rows:
        rows = rows[rows["status"] == "complete"] if at == "end" else rows[rows["status"] != "no_route"]
    return rows


# ------------------------------------------------------------------ benchmarks
def plot_performance_profile(objectives: pd.DataFrame, ax: Axes | None = None,
                             taus: Sequence[float] | np.ndarray | None = None,
                             best: pd.Series | None = None) -> Axes:
    """Dolan-More performance profile of solvers over instances.

    Parameters
    ----------
    objectives
        Rows = instances, columns = solvers, values = objective (NaN or inf
        where a solver found no solution); lower is better.
    ax
        Axes to draw on; a new figure when None.
    taus
        Ratios at which to evaluate the profile (default: those of
        :func:`placement_opt.perfprofile.performance_profile`).
    best
        Optional best known objective per instance (e.g. from the BKS table),
        passed on to ``performance_profile``.

    Returns
    -------
    Axes
        One step line per solver (label = solver): the fraction of instances
        on which its objective is within ``tau`` times the best; x on a log2
        scale.
    """
    from .perfprofile import performance_profile

    profile = (performance_profile(objectives, taus=taus) if best is None
               else performance_profile(objectives, taus=taus, best=best))
    ax = _axes(ax)
    tau = profile.index.to_numpy(float)
    for solver in profile.columns:
        ax.step(tau, profile[solver].to_numpy(float), where="post", label=str(solver))
    if tau.size and tau.max() > tau.min() > 0:
        ax.set_xscale("log", base=2)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau (objective / best objective)")
    ax.set_ylabel("fraction of instances")
    ax.set_title("performance profile")
    ax.legend(fontsize="small", loc="lower right")
    return ax
