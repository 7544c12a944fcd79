"""``placement-opt replay``: replay a plan against a trace (SPEC 7).

Bad input (instance, trace, initial solution, options) is reported as one clear
message on stderr with exit status 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from ..errors import InputError, SolverError
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


def _seconds(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x * 1e3:.6g} ms"


@app.command("replay")
def replay_cmd(
    instance: Annotated[Path, typer.Argument(help="instance file")],
    trace: Annotated[Path, typer.Argument(help="trace CSV: time,kind,id,attribute,value")],
    policy: Annotated[str, typer.Option(help="static, periodic, reactive or oracle")] = "static",
    solver: Annotated[str, typer.Option(help="solver for the initial plan and re-plans")] = "local-search",
    mode: Annotated[str, typer.Option(help="migrate (keep cut points) or resplit")] = "resplit",
    interval: Annotated[Optional[float], typer.Option(help="re-plan period for periodic, s")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="reactive: relative degradation")] = None,
    horizon: Annotated[Optional[float], typer.Option(help="end of the replay, s (default: trace end)")] = None,
    initial: Annotated[Optional[Path], typer.Option(help="solution file: the plan at time 0")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="solver seconds per decision")] = 10.0,
    budget: Annotated[Optional[float], typer.Option(help="wall-clock seconds for the whole replay")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="timeline CSV to write")] = None,
    utilization_output: Annotated[
        Optional[Path], typer.Option("--utilization-output", help="utilisation CSV to write")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Replay a plan against a trace, re-planning as the policy says."""
    from ..instance import write_atomically
    from ..replay import replay
    from ..solution import load_solution
    from ..trace import load_trace

    problem = load_problem(instance)
    try:
        events = load_trace(trace, problem)
        plan = load_solution(initial) if initial else None
        result = replay(problem, events, policy=policy, solver=solver, mode=mode, interval=interval,
                        threshold=threshold, initial=plan, horizon=horizon, seed=seed,
                        time_limit=time_limit, budget=budget, progress=progress)
    except (InputError, SolverError, ValueError) as exc:
        fail(str(exc))
    if output:
        write_atomically(output, result.timeline.to_csv(index=False, lineterminator="\n"))
    if utilization_output:
        write_atomically(utilization_output, result.utilization.to_csv(index=False, lineterminator="\n"))
    console.print(_summary_table(result.summary))
