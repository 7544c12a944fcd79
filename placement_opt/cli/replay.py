"""``placement-opt replay``: replay a plan against a trace (SPEC 7).

Bad input (instance, trace, initial solution, options) is reported as one clear
message on stderr with exit status 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InputError, SolverError
from ..replay import DEFAULT_THRESHOLD, DEFAULT_TIME_LIMIT, MODES, POLICIES, ReplayOptions, replay
from .common import app, console, fail, load_problem


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"replay: {summary['policy']} / {summary['mode']} / {summary['solver']}", show_header=False)
    rows = [
        ("horizon", f"{summary['horizon']:g} s"),
        ("mean latency", _seconds(summary["mean_latency"])),
        ("p95 latency", _seconds(summary["p95_latency"])),
        ("downtime", f"{summary['downtime']:.6g} workload-s"),
        ("SLO-miss time", f"{summary['slo_miss_time']:.6g} workload-s "
                          f"(late {summary['slo_late_time']:.6g}, the rest down)"),
        ("re-plans", str(summary["replans"])),
        ("bytes migrated", f"{summary['bytes_migrated'] / 1e9:.6g} GB"),
        ("decision time", f"mean {summary['decision_time_mean']:.3g} s, max {summary['decision_time_max']:.3g} s"),
        ("decision points", str(summary["decision_points"])),
        ("wall time", f"{summary['wall_time']:.3g} s"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def _one_of(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _seconds(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x * 1e3:.6g} ms"


@app.command("replay")
def replay_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    trace: Annotated[Path, typer.Argument(help="trace CSV: time,kind,id,attribute,value")],
    policy: Annotated[str, typer.Option(help=_one_of(POLICIES))] = "static",
    solver: Annotated[str, typer.Option(help="solver for the initial plan and re-plans")] = "local-search",
    mode: Annotated[str, typer.Option(help=f"{_one_of(MODES)} (migrate keeps the cut points)")] = "resplit",
    interval: Annotated[float | None, typer.Option(help="re-plan period for periodic, s")] = None,
    threshold: Annotated[float, typer.Option(help="reactive: relative degradation")] = DEFAULT_THRESHOLD,
    horizon: Annotated[float | None, typer.Option(help="end of the replay, s (default: trace end)")] = None,
    initial: Annotated[Path | None, typer.Option(help="solution file: the plan at time 0")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="solver seconds per decision")] = DEFAULT_TIME_LIMIT,
    budget: Annotated[float | None, typer.Option(help="wall-clock seconds for the whole replay")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="timeline CSV to write")] = None,
    utilization_output: Annotated[
        Path | None, typer.Option("--utilization-output", help="utilisation CSV to write")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Replay a plan against a trace, re-planning as the policy says."""
    from ..files import write_atomically
    from ..solution import load_solution
    from ..trace import load_trace

    problem = load_problem(instance)
    try:
        plan = load_solution(initial) if initial else None
        options = ReplayOptions(policy=policy, solver=solver, mode=mode, interval=interval, threshold=threshold,
                                initial=plan, horizon=horizon, seed=seed, time_limit=time_limit, budget=budget,
                                progress=progress)  # checked before the trace is read
        events = load_trace(trace, problem)
        result = replay(problem, events, options=options)
    except (InputError, SolverError, ValueError) as exc:
        fail(str(exc))
    if output:
        write_atomically(output, result.timeline.to_csv(index=False, lineterminator="\n"))
    if utilization_output:
        write_atomically(utilization_output, result.utilization.to_csv(index=False, lineterminator="\n"))
    console.print(_summary_table(result.summary))
