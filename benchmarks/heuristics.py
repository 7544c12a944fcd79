"""Every heuristic against the exact optimum: gap, time, feasibility, performance profile.

Instances are generated (seeded) over scenario families, sizes and objective
mixes.  Each is solved by every heuristic of the registry
(``list_solvers(exact=False)``, ``auto`` only with ``--include-auto``) and, once,
by the reference exact solver (``milp`` with ``--milp-time``).  Reference results
are cached in a CSV (``--reference``, default
``benchmarks/results/heuristics-reference.csv``), keyed by the instance and a
fingerprint of its content, so re-runs only pay for the heuristics.  Times are
reported as wall clock and as CPU time of the process (``cpu``), which is less
sensitive to other jobs on a loaded machine.

    python benchmarks/heuristics.py                                  # default, a few minutes
    python benchmarks/heuristics.py --sizes s m --seeds 0 1 2 --objectives latency cost all \\
        --milp-time 60 --plot profile.png --csv rows.csv
    python benchmarks/heuristics.py --large                          # + 30-, 200- and 1000-node rows
    python benchmarks/heuristics.py --replan                         # re-plan after single node failures

A size is a preset of the generators (``s``, ``m``, ``l``) or
``NODES:WORKLOADS:MODEL[:LAYERS]``.  Gap = ``(obj - opt) / |opt|`` on instances
where the reference proved optimality; where it did not, the gap to its bound
(an upper bound on the true gap) is shown separately.  The performance profile
(Dolan–Moré, ``placement_opt.perfprofile``) counts, per heuristic, the
instances whose objective is within ``tau`` of the best known (best heuristic or
reference incumbent).  Times are wall-clock seconds of ``solve()``, every solver
run one after the other in the same process on the same instance (ratios are
comparable; absolute times depend on the machine's load).

Contract checks on every run (listed at the end): status ``error`` (an assignment
the evaluator finds infeasible) or an exception; the solver's own objective
differing from the evaluator's by more than 1e-6 (relative); a run longer than
its time limit (+10 % + 0.5 s); a feasible answer where the reference proved
infeasibility, or one better than a proven optimum; with ``--check-seeds``, a
second run with the same seed giving a different assignment.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import placement_opt as po  # noqa: E402
from placement_opt.evaluate import evaluate  # noqa: E402
from placement_opt.generators import FAMILIES, SIZES, generate  # noqa: E402
from placement_opt.perfprofile import DEFAULT_TAUS, performance_profile  # noqa: E402
from placement_opt.solve import list_solvers, solve  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_search import OBJECTIVES as LS_OBJECTIVES  # noqa: E402

#: Objective mixes (weights of SPEC 6 terms), shared with benchmarks/local_search.py.
OBJECTIVES: dict[str, dict[str, float]] = LS_OBJECTIVES
#: Target sizes of issue 4: local-search <= 1 s, <= 5 s; some heuristic feasible at 1000 nodes in < 30 s.
LARGE = ["30:12:llama-2-13b:42", "200:50:llama-2-70b:80", "1000:200:llama-2-70b:100"]
REL_TOL = 1e-6


# --------------------------------------------------------------------------- #
# Instances
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Size:
    """A generator preset (``s``) or explicit ``NODES:WORKLOADS:MODEL[:LAYERS]``."""

    text: str

    @property
    def params(self) -> dict[str, Any]:
        if self.text in SIZES:
            return {}
        nodes, workloads, model, *layers = self.text.split(":")
        out: dict[str, Any] = {"nodes": int(nodes), "workloads": int(workloads), "model": model}
        if layers:
            out["layers"] = int(layers[0])
        return out

    @property
    def preset(self) -> str:
        return self.text if self.text in SIZES else "m"

    @property
    def label(self) -> str:
        if self.text in SIZES:
            return self.text
        p = self.params
        return f"{p['nodes']}n{p['workloads']}w" + (f"{p['layers']}l" if "layers" in p else "")


def parse_size(text: str) -> Size:
    if text in SIZES:
        return Size(text)
    parts = text.split(":")
    if len(parts) not in (3, 4) or not all(p.isdigit() for p in parts[:2] + parts[3:]):
        raise argparse.ArgumentTypeError(f"size {text!r}: expected one of {', '.join(SIZES)} "
                                         "or NODES:WORKLOADS:MODEL[:LAYERS]")
    return Size(text)


@dataclass(frozen=True)
class Case:
    """One generated instance."""

    family: str
    size: Size
    objective: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.family}/{self.size.label}/{self.objective}/s{self.seed}"

    def generate(self) -> po.Problem:
        return generate(self.family, seed=self.seed, size=self.size.preset, objective=OBJECTIVES[self.objective],
                        **self.size.params)


def cases(families: Sequence[str], sizes: Sequence[Size], objectives: Sequence[str],
          seeds: Sequence[int]) -> Iterator[tuple[Case, po.Problem]]:
    """Every (family, size, objective, seed) the generator accepts, with its problem."""
    for size in sizes:
        for family in families:
            for objective in objectives:
                for seed in seeds:
                    case = Case(family, size, objective, seed)
                    try:
                        yield case, case.generate()
                    except ValueError as exc:  # a combination the generator refuses
                        print(f"skip {case.key}: {exc}", file=sys.stderr)


def fingerprint(problem: po.Problem) -> str:
    """Short hash of the instance content: a changed generator invalidates the cache."""
    text = json.dumps(problem.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- #
# Reference (exact) results, cached
# --------------------------------------------------------------------------- #

REF_FIELDS = ("key", "fingerprint", "solver", "status", "objective", "bound", "proven", "seconds", "time_limit")


@dataclass
class Reference:
    """The exact solver's answer for one instance."""

    status: str
    objective: float | None
    bound: float | None
    proven: bool
    solver: str
    seconds: float
    time_limit: float
    cached: bool = False

    @property
    def optimum(self) -> float | None:
        return self.objective if self.proven and self.status == "optimal" else None

    @property
    def infeasible(self) -> bool:
        return self.proven and self.status == "infeasible"


class ReferenceCache:
    """CSV file: instance key -> exact objective, bound, proven flag, solver, seconds."""

    def __init__(self, path: Path | None):
        self.path = path
        self.rows: dict[str, dict[str, str]] = {}
        if path is not None and path.exists():
            with path.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    self.rows[row["key"]] = row

    def get(self, key: str, print_: str, solver: str, time_limit: float) -> Reference | None:
        row = self.rows.get(key)
        if row is None or row["fingerprint"] != print_ or row["solver"] != solver:
            return None
        proven = row["proven"] == "True"
        if not proven and float(row["time_limit"]) < time_limit:
            return None  # a longer limit may prove it now
        return Reference(row["status"], _float(row["objective"]), _float(row["bound"]), proven, row["solver"],
                         float(row["seconds"]), float(row["time_limit"]), cached=True)

    def put(self, key: str, print_: str, ref: Reference) -> None:
        self.rows[key] = {"key": key, "fingerprint": print_, "solver": ref.solver, "status": ref.status,
                          "objective": _str(ref.objective), "bound": _str(ref.bound), "proven": str(ref.proven),
                          "seconds": f"{ref.seconds:.3f}", "time_limit": f"{ref.time_limit:g}"}
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=REF_FIELDS)
            writer.writeheader()
            writer.writerows(self.rows[k] for k in sorted(self.rows))
        tmp.replace(self.path)


def reference(problem: po.Problem, case: Case, cache: ReferenceCache, solver: str, time_limit: float) -> Reference:
    """The cached exact result for ``case``, or a new exact solve (then cached)."""
    print_ = fingerprint(problem)
    ref = cache.get(case.key, print_, solver, time_limit)
    if ref is not None:
        return ref
    t0 = time.perf_counter()
    sol = solve(problem, solver, time_limit=time_limit, seed=0)
    seconds = time.perf_counter() - t0
    status = sol.status.value
    ref = Reference(status, sol.objective, sol.bound, status in ("optimal", "infeasible"), solver, seconds,
                    time_limit)
    cache.put(case.key, print_, ref)
    return ref


# --------------------------------------------------------------------------- #
# Heuristic runs and contract checks
# --------------------------------------------------------------------------- #


@dataclass
class Run:
    """One heuristic on one instance."""

    key: str
    family: str
    size: str
    objective_mix: str
    seed: int
    nodes: int
    workloads: int
    layers: int
    solver: str
    status: str
    objective: float | None
    seconds: float
    cpu: float
    issues: list[str] = field(default_factory=list)
    opt: float | None = None
    bound: float | None = None
    ref_status: str | None = None

    @property
    def feasible(self) -> bool:
        return self.objective is not None and self.status in ("feasible", "optimal")

    @property
    def gap(self) -> float | None:
        """Gap to the proven optimum."""
        return _gap(self.objective, self.opt) if self.feasible else None

    @property
    def bound_gap(self) -> float | None:
        """Gap to the reference bound, where optimality was not proven."""
        if self.opt is not None or not self.feasible:
            return None
        return _gap(self.objective, self.bound)

    def as_row(self) -> dict[str, Any]:
        return {"instance": self.key, "family": self.family, "size": self.size, "objective_mix": self.objective_mix,
                "seed": self.seed, "nodes": self.nodes, "workloads": self.workloads, "layers": self.layers,
                "solver": self.solver, "status": self.status, "objective": self.objective,
                "seconds": round(self.seconds, 4), "cpu_seconds": round(self.cpu, 4), "optimum": self.opt,
                "bound": self.bound,
                "reference_status": self.ref_status, "gap": self.gap, "bound_gap": self.bound_gap,
                "issues": "; ".join(self.issues)}


def _gap(objective: float | None, ref: float | None) -> float | None:
    if objective is None or ref is None or not math.isfinite(ref):
        return None
    if ref == 0:
        return 0.0 if abs(objective) <= REL_TOL else math.inf
    return (objective - ref) / abs(ref)


def run_heuristic(problem: po.Problem, case: Case, solver: str, args: argparse.Namespace) -> Run:
    """Solve, time and check the contract of one heuristic on one instance."""
    issues: list[str] = []
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        sol = solve(problem, solver, time_limit=args.time_limit, seed=args.seed)
    except Exception as exc:  # noqa: BLE001 - a crash is a finding to report, not a reason to stop
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        return _run(problem, case, solver, "crash", None, seconds, cpu, [f"crash: {type(exc).__name__}: {exc}"])
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    issues += contract_issues(sol, seconds, args.time_limit)
    if args.check_seeds and sol.status.has_solution:
        again = solve(problem, solver, time_limit=args.time_limit, seed=args.seed)
        if dict(again.assignment) != dict(sol.assignment):
            issues.append(f"seed {args.seed} not respected: a second run gave another assignment "
                          f"({sol.objective!r} vs {again.objective!r})")
    return _run(problem, case, solver, sol.status.value, sol.objective if sol.feasible else None, seconds, cpu,
                issues)


def contract_issues(sol: po.Solution, seconds: float, time_limit: float | None) -> list[str]:
    """What a solution breaks of the solver contract (empty when nothing)."""
    issues = []
    if sol.status.value == "error":
        issues.append(f"error: {sol.info.get('error', 'status error')}")
    mismatch = sol.info.get("objective_mismatch")
    if mismatch is not None and mismatch > REL_TOL:
        issues.append(f"own objective {sol.info.get('solver_objective')!r} != evaluator's {sol.objective!r} "
                      f"(relative {mismatch:.2e})")
    if time_limit is not None and seconds > 1.1 * time_limit + 0.5:
        issues.append(f"time limit {time_limit:g} s overrun: {seconds:.2f} s")
    if sol.status.has_solution and sol.feasible is False:
        issues.append("status says solution but the evaluator finds it infeasible")
    return issues


def _run(problem: po.Problem, case: Case, solver: str, status: str, objective: float | None, seconds: float,
         cpu: float, issues: list[str]) -> Run:
    return Run(case.key, case.family, case.size.label, case.objective, case.seed, problem.num_nodes,
               problem.num_workloads, int(problem.workload_num_layers.max()), solver, status, objective, seconds,
               cpu, issues)


def attach_reference(run: Run, ref: Reference | None) -> None:
    """Fill the reference fields of a run and flag contradictions with a proof."""
    if ref is None:
        return
    run.opt, run.bound, run.ref_status = ref.optimum, ref.bound, ref.status
    if ref.infeasible and run.feasible:
        run.issues.append(f"feasible ({run.objective!r}) where {ref.solver} proved infeasibility")
    if run.opt is not None and run.feasible and run.objective < run.opt - REL_TOL * max(abs(run.opt), 1e-12):
        run.issues.append(f"objective {run.objective!r} below the proven optimum {run.opt!r} of {ref.solver}")


def heuristics(args: argparse.Namespace) -> list[str]:
    names = args.solvers or [s for s in list_solvers(exact=False) if args.include_auto or s != "auto"]
    unknown = sorted(set(names) - set(list_solvers()))
    if unknown:
        print(f"unknown solver(s): {', '.join(unknown)}; known: {', '.join(list_solvers())}", file=sys.stderr)
        raise SystemExit(2)
    return names


def warm_up(solvers: Sequence[str]) -> None:
    """Pay every solver's imports and first-call costs outside the timings."""
    p = generate("smart-city", seed=0, size="s")
    for s in solvers:
        try:
            solve(p, s, time_limit=10)
        except Exception:  # noqa: BLE001 - reported when it happens in the benchmark proper
            pass


# --------------------------------------------------------------------------- #
# Main comparison
# --------------------------------------------------------------------------- #


def compare(args: argparse.Namespace, console: Console, solvers: Sequence[str]) -> tuple[list[Run], dict]:
    cache = ReferenceCache(None if args.no_reference else Path(args.reference))
    runs: list[Run] = []
    refs: dict[str, Reference] = {}
    for case, problem in cases(args.families, args.sizes, args.objectives, args.seeds):
        _ = problem.routes, problem.compute_time  # derived arrays, shared by all solvers
        ref = None
        if not args.no_milp and problem.num_nodes <= args.milp_max_nodes:
            ref = reference(problem, case, cache, args.exact, args.milp_time)
            refs[case.key] = ref
        line = [case.key, f"{args.exact}: {_ref_text(ref)}"]
        for solver in solvers:
            run = run_heuristic(problem, case, solver, args)
            attach_reference(run, ref)
            runs.append(run)
            line.append(f"{solver}={_fmt(run.objective)}({run.seconds:.2f}s)")
        console.print("  ".join(line), style="dim", markup=False, soft_wrap=True)
    return runs, refs


def _ref_text(ref: Reference | None) -> str:
    if ref is None:
        return "-"
    tag = " cached" if ref.cached else ""
    return f"{ref.status} {_fmt(ref.objective)} bound {_fmt(ref.bound)} {ref.seconds:.1f}s{tag}"


def group_table(runs: Sequence[Run], solvers: Sequence[str], title: str, by_group: bool = True) -> Table:
    """Per solver (and family, size): feasibility, gaps and times."""
    table = Table(title=title)
    cols = ("solver", "family", "size", "n", "feasible", "proven", "gap mean %", "gap max %", "at opt",
            "bound-gap mean % (n)", "time mean s", "time median s", "time max s", "cpu median s")
    for c in cols:
        table.add_column(c, justify="left" if c in ("solver", "family", "size") else "right")
    keys = sorted({(r.family, r.size) for r in runs}) if by_group else [("all", "all")]
    for solver in solvers:
        for family, size in keys:
            rows = [r for r in runs if r.solver == solver and (not by_group or (r.family, r.size) == (family, size))]
            if rows:
                table.add_row(solver, family, size, *_stats_cells(rows))
        if by_group and len(keys) > 1:
            table.add_section()
    return table


def _stats_cells(rows: Sequence[Run]) -> list[str]:
    gaps = [r.gap for r in rows if r.gap is not None]
    proven = [r for r in rows if r.opt is not None]
    bgaps = [r.bound_gap for r in rows if r.bound_gap is not None]
    times = [r.seconds for r in rows]
    return [str(len(rows)), str(sum(r.feasible for r in rows)), str(len(proven)),
            _pct(statistics.fmean(gaps)) if gaps else "-", _pct(max(gaps)) if gaps else "-",
            str(sum(g <= REL_TOL for g in gaps)),
            f"{_pct(statistics.fmean(bgaps))} ({len(bgaps)})" if bgaps else "-",
            f"{statistics.fmean(times):.3f}", f"{statistics.median(times):.3f}", f"{max(times):.3f}",
            f"{statistics.median(r.cpu for r in rows):.3f}"]


def objective_table(runs: Sequence[Run], solvers: Sequence[str]) -> pd.DataFrame:
    """Rows = instances, columns = solvers, values = objective (NaN: no feasible solution)."""
    frame = pd.DataFrame([{"instance": r.key, "solver": r.solver,
                           "objective": r.objective if r.feasible else math.nan} for r in runs])
    return frame.pivot(index="instance", columns="solver", values="objective").reindex(columns=list(solvers))


def profile_table(profile: pd.DataFrame, n_instances: int, title: str) -> Table:
    """Solvers as rows, tau as columns (easier to read with a dozen solvers)."""
    table = Table(title=f"{title} ({n_instances} instances; fraction within tau x best known)")
    table.add_column("solver")
    for tau in profile.index:
        table.add_column(f"{tau:g}", justify="right")
    order = profile.sum(axis=0).sort_values(ascending=False).index  # area under the profile
    for solver in order:
        table.add_row(str(solver), *(f"{v:.2f}" for v in profile[solver]))
    return table


def print_profile(runs: Sequence[Run], refs: dict[str, Reference], solvers: Sequence[str], args, console) -> None:
    objectives = objective_table(runs, solvers)
    best = pd.Series({k: (refs[k].objective if k in refs and refs[k].objective is not None else math.nan)
                      for k in objectives.index}, dtype=float)
    try:
        profile = performance_profile(objectives, args.taus, best=best)
    except po.errors.InputError as exc:
        console.print(f"no performance profile: {exc}")
        return
    n = int((objectives.notna().any(axis=1) | best.notna()).sum())
    console.print(profile_table(profile, n, "performance profile (Dolan-More)"))
    if args.plot:
        save_plot(objectives, best, args.taus, args.plot)
        console.print(f"performance profile saved to {args.plot}")


def save_plot(objectives: pd.DataFrame, best: pd.Series, taus: Sequence[float], path: str) -> None:
    """Save the profile drawn by ``placement_opt.plot.plot_performance_profile``; line
    styles change every 10 solvers so that repeated colours stay distinguishable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from placement_opt.plot import plot_performance_profile

    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_performance_profile(objectives, ax=ax, taus=taus, best=best)
    for k, line in enumerate(ax.get_lines()):
        line.set_linestyle(("-", "--", ":", "-.")[(k // 10) % 4])
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_issues(runs: Sequence[Run], console: Console) -> None:
    bad = [r for r in runs if r.issues]
    if not bad:
        console.print(f"contract checks: no issue in {len(runs)} runs")
        return
    console.print(f"contract checks: {len(bad)} of {len(runs)} runs with issues")
    for r in bad:
        console.print(f"  {r.key} {r.solver}: {'; '.join(r.issues)}", markup=False, soft_wrap=True)


def print_targets(runs: Sequence[Run], console: Console) -> None:
    """Issue 4 targets that the main comparison measures."""
    ls = [r.gap for r in runs if r.solver == "local-search" and r.gap is not None]
    small = [r.gap for r in runs if r.solver == "local-search" and r.gap is not None and r.nodes <= 20]
    if ls:
        console.print(f"target local-search mean gap <= 2 %: {_pct(statistics.fmean(ls))} % over {len(ls)} "
                      f"proven instances" + (f"; <= 1 % at <= 20 nodes: {_pct(statistics.fmean(small))} % over "
                                              f"{len(small)}" if small else ""))


# --------------------------------------------------------------------------- #
# Large instances: feasibility and time, each run in a child process with a hard stop
# --------------------------------------------------------------------------- #


def _child(conn, problem: po.Problem, solver: str, time_limit: float, seed: int) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        sol = solve(problem, solver, time_limit=time_limit, seed=seed)
        seconds = time.perf_counter() - t0
        out = {"status": sol.status.value, "objective": sol.objective if sol.feasible else None,
               "seconds": seconds, "cpu": time.process_time() - c0,
               "issues": contract_issues(sol, seconds, time_limit)}
    except Exception as exc:  # noqa: BLE001
        out = {"status": "crash", "objective": None, "seconds": time.perf_counter() - t0,
               "cpu": time.process_time() - c0, "issues": [f"crash: {type(exc).__name__}: {exc}"]}
    conn.send(out)
    conn.close()


def run_isolated(problem: po.Problem, case: Case, solver: str, time_limit: float, hard_limit: float,
                 seed: int) -> Run:
    """Run one solve in a forked child; stop it (by its pid) after ``hard_limit`` seconds."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, problem, solver, time_limit, seed), daemon=True)
    t0 = time.perf_counter()
    proc.start()
    child.close()
    out = parent.recv() if parent.poll(hard_limit) else None
    cpu = _cpu_seconds(proc.pid)
    proc.join(timeout=5)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    if out is None:
        seconds = time.perf_counter() - t0
        out = {"status": "killed", "objective": None, "seconds": seconds, "cpu": cpu,
               "issues": [f"time limit {time_limit:g} s overrun: still running at {seconds:.0f} s, stopped"]}
    return _run(problem, case, solver, out["status"], out["objective"], out["seconds"], out["cpu"],
                out["issues"])


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a running process, from /proc (NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def large(args: argparse.Namespace, console: Console, solvers: Sequence[str]) -> list[Run]:
    runs: list[Run] = []
    for size in args.large_sizes:
        for family in args.large_families:
            case = Case(family, size, args.large_objective, args.seed)
            t0 = time.perf_counter()
            problem = case.generate()
            _ = problem.routes, problem.compute_time
            console.print(f"{case.key}: {problem.num_nodes} nodes, {problem.num_workloads} workloads, "
                          f"{int(problem.workload_num_layers.max())} layers, generated in "
                          f"{time.perf_counter() - t0:.1f} s", markup=False)
            limit = args.large_time_limit
            for solver in solvers:
                run = run_isolated(problem, case, solver, limit, args.hard_factor * limit + 10, args.seed)
                runs.append(run)
                console.print(f"  {solver}: {run.status} {_fmt(run.objective)} {run.seconds:.2f}s (cpu {run.cpu:.2f}s)",
                              style="dim", markup=False)
    table = Table(title=f"large instances (time limit {args.large_time_limit:g} s; ratio to the best heuristic)")
    for c in ("instance", "nodes", "wl", "layers", "solver", "status", "objective", "ratio", "time s", "cpu s"):
        table.add_column(c, justify="left" if c in ("instance", "solver", "status") else "right")
    for key in dict.fromkeys(r.key for r in runs):
        rows = [r for r in runs if r.key == key]
        best = min((r.objective for r in rows if r.feasible), default=None)
        for r in sorted(rows, key=lambda r: (not r.feasible, r.objective or 0, r.seconds)):
            ratio = "-" if best is None or not r.feasible else (f"{1 + (_gap(r.objective, best) or 0):.4f}")
            table.add_row(key, str(r.nodes), str(r.workloads), str(r.layers), r.solver, r.status,
                          _fmt(r.objective), ratio, f"{r.seconds:.2f}", f"{r.cpu:.2f}")
        table.add_section()
    console.print(table)
    for key in dict.fromkeys(r.key for r in runs):
        if key.split("/")[1].startswith("1000n"):
            ok = [r for r in runs if r.key == key and r.feasible]
            names = ", ".join(f"{r.solver} ({r.seconds:.1f} s wall, {r.cpu:.1f} s cpu)"
                              for r in sorted(ok, key=lambda r: r.seconds))
            console.print(f"target: feasible at 1000 nodes in < 30 s, {key}: {names or 'no heuristic feasible'}")
    return runs


# --------------------------------------------------------------------------- #
# Re-plan after a single node failure
# --------------------------------------------------------------------------- #


def replan(args: argparse.Namespace, console: Console, solvers: Sequence[str]) -> None:
    """Fail, one at a time, nodes the base placement uses; re-solve with the base as
    warm start and previous solution (migration weighted)."""
    size = args.replan_size
    times: dict[str, list[float]] = {s: [] for s in solvers}
    cpus: dict[str, list[float]] = {s: [] for s in solvers}
    feasible: dict[str, int] = dict.fromkeys(solvers, 0)
    table = Table(title=f"re-plan after a single node failure ({size.label}, warm start + previous)")
    for c in ("instance", "failed", *solvers):
        table.add_column(c, justify="left" if c in ("instance", "failed") else "right")
    weights = {**OBJECTIVES["latency"], "migration": args.migration_weight}
    for family in args.families:
        for seed in args.seeds:
            problem = generate(family, seed=seed, size=size.preset, objective=weights, **size.params)
            base = solve(problem, "local-search", seed=args.seed)
            if not base.feasible:
                console.print(f"{family} s{seed}: no base placement, skipped")
                continue
            ends = {problem.sink_of(w) for w in problem.workloads} | {w.source for w in problem.workloads}
            used = sorted({n for path in base.assignment.values() for n in path} - ends)
            for nid in used[:args.failures]:
                failed = problem.replace(nodes={nid: {"available": False}})
                _ = failed.routes, failed.compute_time  # the replay builds these when the event arrives
                cells = []
                for solver in solvers:
                    t0, c0 = time.perf_counter(), time.process_time()
                    sol = solve(failed, solver, warm_start=base.assignment, previous=base.assignment,
                                seed=args.seed, time_limit=args.time_limit)
                    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                    times[solver].append(seconds)
                    cpus[solver].append(cpu)
                    feasible[solver] += bool(sol.feasible)
                    mig = evaluate(failed, sol, previous=base).terms["migration"] / 1e9 if sol.feasible else None
                    cells.append(f"{_fmt(sol.objective, 5)} {'-' if mig is None else f'{mig:.1f}GB'} "
                                 f"{1000 * seconds:.0f}ms (cpu {1000 * cpu:.0f})")
                table.add_row(f"{family}-s{seed}", nid, *cells)
    console.print(table)
    for solver in solvers:
        ts = times[solver]
        if ts:
            cs = cpus[solver]
            console.print(f"re-plan {solver}: median {1000 * statistics.median(ts):.0f} ms, "
                          f"max {1000 * max(ts):.0f} ms (cpu: median {1000 * statistics.median(cs):.0f} ms, "
                          f"max {1000 * max(cs):.0f} ms), feasible {feasible[solver]} of {len(ts)}")


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #


def _fmt(x: float | None, digits: int = 7) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def _pct(x: float) -> str:
    return "inf" if math.isinf(x) else f"{100 * x:.3f}"


def _str(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _float(text: str) -> float | None:
    return None if text in ("", "None") else float(text)


def write_csv(path: str, runs: Sequence[Run]) -> None:
    rows = [r.as_row() for r in runs]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=["smart-city", "v2x", "industrial"], choices=sorted(FAMILIES))
    ap.add_argument("--sizes", type=parse_size, nargs="+", default=[Size("s")],
                    help="generator presets (s, m, l) or NODES:WORKLOADS:MODEL[:LAYERS]")
    ap.add_argument("--objectives", nargs="+", default=["latency", "cost"], choices=sorted(OBJECTIVES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="instance seeds")
    ap.add_argument("--seed", type=int, default=0, help="solver seed")
    ap.add_argument("--solvers", nargs="+", help="heuristics to run (default: every heuristic but auto)")
    ap.add_argument("--include-auto", action="store_true", help="also run the 'auto' portfolio")
    ap.add_argument("--time-limit", type=float, default=60.0, help="time limit of each heuristic run (s)")
    ap.add_argument("--exact", default="milp", help="reference exact solver")
    ap.add_argument("--milp-time", type=float, default=60.0, help="time limit of the reference solve (s)")
    ap.add_argument("--milp-max-nodes", type=int, default=40, help="no reference solve above this many nodes")
    ap.add_argument("--no-milp", action="store_true", help="no reference solve (profile against the best heuristic)")
    ap.add_argument("--reference", default="benchmarks/results/heuristics-reference.csv",
                    help="CSV cache of reference results (reused when the instance is unchanged)")
    ap.add_argument("--no-reference", action="store_true", help="neither read nor write the reference cache")
    ap.add_argument("--taus", type=float, nargs="+", default=list(DEFAULT_TAUS), help="profile points")
    ap.add_argument("--plot", help="save the performance profile as this image (matplotlib)")
    ap.add_argument("--check-seeds", action="store_true", help="re-run each heuristic: same seed, same answer?")
    ap.add_argument("--csv", help="write one row per (instance, heuristic) to this CSV")
    ap.add_argument("--large", action="store_true", help=f"also the sizes {', '.join(LARGE)} (time, feasibility)")
    ap.add_argument("--large-only", action="store_true", help="only the large rows")
    ap.add_argument("--large-sizes", type=parse_size, nargs="+", default=[parse_size(t) for t in LARGE])
    ap.add_argument("--large-families", nargs="+", default=["v2x"], choices=sorted(FAMILIES))
    ap.add_argument("--large-objective", default="latency", choices=sorted(OBJECTIVES))
    ap.add_argument("--large-time-limit", type=float, default=30.0)
    ap.add_argument("--hard-factor", type=float, default=3.0,
                    help="large runs are stopped at hard-factor x time limit + 10 s")
    ap.add_argument("--replan", action="store_true", help="only the node-failure re-plan table")
    ap.add_argument("--replan-size", type=parse_size, default=parse_size("30:12:llama-2-13b:42"))
    ap.add_argument("--replan-solvers", nargs="+", default=["greedy", "local-search"])
    ap.add_argument("--failures", type=int, default=4, help="failed nodes per instance in --replan")
    ap.add_argument("--migration-weight", type=float, default=1e-12, help="weight of a migrated byte in --replan")
    return ap


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    console = Console(width=220)
    solvers = heuristics(args)
    console.print(f"heuristics: {', '.join(solvers)}", markup=False)
    warm_up(list(dict.fromkeys([*solvers, *args.replan_solvers])))
    if args.replan:
        replan(args, console, args.replan_solvers)
        return
    runs: list[Run] = []
    if not args.large_only:
        runs, refs = compare(args, console, solvers)
        console.print(group_table(runs, solvers, "per solver and (family, size)"))
        console.print(group_table(runs, solvers, "per solver, all instances", by_group=False))
        print_profile(runs, refs, solvers, args, console)
        print_targets(runs, console)
        print_issues(runs, console)
    if args.large or args.large_only:
        big = large(args, console, solvers)
        print_issues(big, console)
        runs += big
    if args.csv and runs:
        write_csv(args.csv, runs)


if __name__ == "__main__":
    main()
