"""``placement-opt demo``: every solver on one instance, side by side.

Without an argument it solves the bundled instance :data:`DEFAULT_INSTANCE`
(``instances/`` of a source checkout): a factory floor where privacy forces
every model to be cut, and where the solvers visibly differ (some find the
optimum, some a worse cut, some nothing at all).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .. import tolerance
from .common import app, console, fail, load_problem, number

if TYPE_CHECKING:
    from ..problem import Problem
    from ..solution import Solution

#: The bundled instance solved when no INSTANCE is given.
DEFAULT_INSTANCE = "industrial-s-2"
#: Seconds per solver; the exact solvers prove the default instance optimal in ~1-2 s.
DEFAULT_TIME_LIMIT = 10.0
#: The repository's instance library (present in a source checkout, not in an installed wheel).
LIBRARY = Path(__file__).resolve().parents[2] / "instances"
#: Single-node baselines the summary compares the best plan with.
SINGLE_TIER = ("device-only", "edge-only", "cloud-only")

#: What a bundled instance is and what binds in it (checked by scripts/build_instances.py,
#: see instances/README.md).  Shown only for the library's own files.
STORIES = {
    "industrial-s-2": (
        "private-5G factory floor, 4 Llama-2-7B workloads fed by cameras and sensors. Privacy binds: each keeps "
        "its first 2-3 layers on premise (the A100 cloud is untrusted), and the on-premise T4 alone would overflow "
        "its memory and miss every SLO, so every model must be cut."
    ),
    "v2x-s-privacy": (
        "vehicles, road-side units and a cloud: 4 private Llama-2-7B workloads. Privacy binds: each workload's "
        "first 1-4 layers must run on a trusted RSU/MEC server, neither on the (untrusted) vehicle nor in the cloud."
    ),
    "industrial-s-link": (
        "8 wired smart cameras streaming ViT-L/16 batches. Link capacity binds: the latency-optimal all-cloud "
        "placement needs 122 % of the 250 Mbit/s backhaul core-cloud-0, so some streams must stay on premise."
    ),
}


def bundled_instance(name: str) -> Path:
    """Path of a bundled instance file (it may not exist outside a checkout)."""
    return LIBRARY / f"{name}.json"


@dataclass
class Run:
    """One solver's answer (``sol`` is None when the solver raised ``error``)."""

    name: str
    order: int
    kind: str
    sol: Solution | None
    error: str | None = None

    @property
    def feasible(self) -> bool:
        return self.sol is not None and bool(self.sol.feasible) and self.sol.objective is not None

    @property
    def objective(self) -> float:
        """The objective (``inf`` without an answer)."""
        return math.inf if self.sol is None else self.sol.cost()

    @property
    def cuts(self) -> bool:
        """Whether its plan splits some workload over several nodes."""
        return self.sol is not None and any(_is_cut(self.sol, w) for w in self.sol.assignment)


@app.command()
def demo(
    instance: Annotated[Path | None, typer.Argument(
        help=f"instance file (default: the bundled {DEFAULT_INSTANCE}, instances/ of a source checkout)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds per solver")] = DEFAULT_TIME_LIMIT,
) -> None:
    """Solve one instance with every solver (brute force aside), compare them and show the best plan."""
    from ..solve import list_solvers, solve, solver_info
    from .solve import print_segments

    if not (time_limit > 0) or not math.isfinite(time_limit):
        fail(f"demo: --time-limit must be a positive number of seconds, got {time_limit!r}")
    if instance is None:
        instance = bundled_instance(DEFAULT_INSTANCE)
        if not instance.is_file():
            fail(f"demo: the default instance {DEFAULT_INSTANCE} is not at {instance} (the instance library "
                 "ships with a source checkout, not with an installed package); pass an instance file: "
                 "placement-opt demo INSTANCE")
    problem = load_problem(instance)
    console.print(_headline(problem, instance), markup=False, highlight=False)

    names = [n for n in list_solvers() if n != "brute-force"]
    runs: list[Run] = []
    start = time.perf_counter()
    for order, name in enumerate(names):
        kind = solver_info(name).kind
        with console.status(f"{name} ({order + 1}/{len(names)}) ..."):
            try:
                runs.append(Run(name, order, kind, solve(problem, name, time_limit=time_limit)))
            except Exception as exc:  # a demo reports a failing solver and goes on with the others
                runs.append(Run(name, order, kind, None, f"{type(exc).__name__}: {exc}"))
    total = time.perf_counter() - start

    ranked = rank(runs)
    best = ranked[0].sol if ranked and ranked[0].feasible else None
    console.print(_table(problem, ranked, best, time_limit))
    console.print(f"{len(runs)} solvers in {total:.1f} s", markup=False, highlight=False)
    for run in ranked:
        error = run.error or (run.sol.info.get("error") if run.sol is not None else None)
        if error:
            console.print(f"{run.name} failed: {error}", markup=False, highlight=False)
    if best is None:
        console.print("no solver found a feasible plan", markup=False, highlight=False)
        return
    print_segments(best, title=f"best plan: {best.solver}, {best.status.value}, objective {number(best.objective)}"
                               " (layers are 1-based)")
    console.print(_cut_summary(best, ranked), markup=False, highlight=False)


def rank(runs: list[Run]) -> list[Run]:
    """Feasible runs by objective, then the rest (infeasible answers, then no
    answer).  Near-equal objectives tie (:func:`placement_opt.tolerance.order`)
    and ties keep solver-table order, so the first run is the best plan."""
    feasible = [r for r in runs if r.feasible]
    ranked = [feasible[k] for k in tolerance.order([r.objective for r in feasible], [r.order for r in feasible])]
    rest = sorted((r for r in runs if not r.feasible), key=lambda r: (r.sol is None or not r.sol.assignment, r.order))
    return ranked + rest


def _headline(problem: Problem, path: Path) -> str:
    """One line: what the instance is and, for a bundled one, what binds."""
    story = STORIES.get(path.stem) if path.resolve() == bundled_instance(path.stem).resolve() else None
    if story:
        return f"{problem.name}: {story}"
    private = int((problem.workload_min_trust > 0).sum())
    slo = int(sum(math.isfinite(s) for s in problem.workload_slo))
    terms = " + ".join(f"{w:g} x {k}" if w != 1 else k for k, w in problem.objective_weights.items() if w)
    return (f"{problem.name}: {problem.num_nodes} nodes, {len(problem.links)} links, {problem.num_workloads} "
            f"workloads of {', '.join(problem.model_ids)} ({problem.num_global_layers} layers); {private} private, "
            f"{slo} with an SLO; objective {terms or '0'}")


def _table(problem: Problem, ranked: list[Run], best: Solution | None, time_limit: float) -> Table:
    table = Table(title=f"{problem.name}: {len(ranked)} solvers, time limit {time_limit:g} s each, best first")
    for col in ("solver", "kind", "status", "objective", "bound", "gap", "feasible", "time s", "vs best"):
        table.add_column(col, justify="right" if col in ("objective", "bound", "gap", "time s", "vs best") else "left")
    for run in ranked:
        sol = run.sol
        if sol is None:
            table.add_row(run.name, run.kind, "error", "-", "-", "-", "-", "-", "-")
            continue
        gap = sol.gap
        vs = "-"
        if run.feasible and best is not None:
            vs = f"+{_percent(run.objective - best.cost(), best.cost()):.3f} %"
        table.add_row(run.name, run.kind, sol.status.value, number(sol.objective, 7), number(sol.bound, 7),
                      "-" if gap is None else f"{100 * gap:.3f} %", "-" if sol.feasible is None else str(sol.feasible),
                      "-" if sol.solve_time is None else f"{sol.solve_time:.2f}", vs)
    return table


def _is_cut(sol: Solution, wid: str) -> bool:
    return len(sol.segments(wid)) > 1


def _percent(diff: float, of: float) -> float:
    return 100 * diff / max(abs(of), 1e-300)


def _cut_summary(best: Solution, ranked: list[Run]) -> str:
    """One line: which workloads the best plan cuts, over which nodes, and what
    that gains over the best plan without cuts and the single-node baselines."""
    groups: dict[str, list[str]] = {}
    for wid in best.assignment:
        if _is_cut(best, wid):
            groups.setdefault(" -> ".join(s.node for s in best.segments(wid)), []).append(wid)
    if not groups:
        return "no cut: the best plan runs every workload whole on one node"
    cut = sum(len(w) for w in groups.values())
    parts = [f"cut: {cut} of {len(best.assignment)} workloads split ("
             + "; ".join(f"{', '.join(ws)} over {nodes}" for nodes, ws in groups.items()) + ")"]
    whole = [r for r in ranked if r.feasible and not r.cuts]
    if whole:
        w = whole[0]
        gain = _percent(w.objective - best.cost(), w.objective)
        parts.append(f"objective {number(best.objective, 6)} vs {number(w.objective, 6)} for the best plan "
                     f"without cuts ({w.name}): {gain:.1f} % lower")
    else:
        parts.append(f"objective {number(best.objective, 6)}; no solver found a feasible plan without cuts")
    singles = []
    for run in ranked:
        if run.name in SINGLE_TIER:
            if run.feasible:
                singles.append(f"{run.name} {number(run.objective, 6)}" + (" (only with cuts)" if run.cuts else ""))
            else:
                singles.append(f"{run.name} {'error' if run.sol is None else run.sol.status.value}")
    if singles:
        parts.append("single-node baselines: " + ", ".join(singles))
    return "; ".join(parts)
