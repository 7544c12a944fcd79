"""Every exact solver against the textbook MILP, whole ``solve()`` call against
whole ``solve()`` call.

The yardstick is ``milp-textbook``: the textbook layered-graph MILP built
directly as sparse matrices and solved by HiGHS through highspy
(``placement_opt/milp/textbook.py``), so a speedup measures the formulation
and the solver, not model-building overhead.  It runs against ``milp``,
``cpsat``, ``auto`` and every other solver of
``list_solvers(exact=True)`` except ``brute-force``, on:

(a) the loose generated families (``smart-city``, ``v2x``, ``industrial``,
    ``topology-zoo``) at 10 to 120 nodes (``--sizes``; each size has a fixed
    workload count, model and size preset, see ``SHAPES``);
(b) the hard families: ``memory-tight``, ``compute-tight``, ``multi-model``,
    ``symmetric-cluster`` and any other family the generators know
    (``generators.FAMILIES`` and, where present, ``generators.HARD_FAMILIES``,
    e.g. ``edge-cluster``); names they do not know are skipped with a note.  A
    hard family's recipe keeps its own workload count and models where it sets
    them.  Any family may carry generator parameters as JSON values:
    ``--families 'v2x:memory_supply=1.2'``;
(c) the PipeEdge instances ``instances/pipeedge-vit-base.json`` and
    ``instances/pipeedge-vit-large.json``, plus every instance named with
    ``--instances`` (a library name such as ``smart-city-m-1``, or a path);
    ``--no-pipeedge`` leaves the PipeEdge ones out.

Every solver runs on the same instance in the same process, one after the
other, so ratios are measured under the same machine load; imports are warmed
up first so that no solver pays for them.  The textbook gets its own time
limit (``--textbook-time-limit``, default 120 s), the others ``--time-limit``.

    python benchmarks/exact.py                          # the full run (hours)
    python benchmarks/exact.py --quick                  # a 2-minute smoke run
    python benchmarks/exact.py --families v2x --sizes 16 20 24 --seeds 0 1 2
    python benchmarks/exact.py --csv -                  # rows as CSV on stdout

``--quick``: smart-city, v2x and memory-tight at 10 and 16 nodes, seed 0, and
``pipeedge-vit-base``, with limits of 10 s (textbook 15 s); any option given
overrides its quick default.

Columns: status; objective (always the evaluator's), bound and gap as
reported; ``build`` = the solver's ``info["build_time"]`` (the textbook:
matrices and hand-over to HiGHS; ``milp``: pruning, LP pre-pass and the Pyomo
model; ``cpsat``: the CP-SAT model; ``-`` where a solver reports none),
``solve`` = total - build, ``total`` = wall clock of ``solve()``.  ``speedup``
= textbook total / the solver's total, where both prove the same optimum;
``>`` marks a textbook run that hit its time limit while the solver proved
optimality (a lower bound on the ratio).

Summary: per solver, the geometric-mean speedup over the instances the
textbook proves within its limit (and the solver too), and counts of wrong
claims on any instance: an ``optimal`` whose objective is above another
solver's feasible objective by more than 1e-6 relative, or a bound above a
feasible objective by more than 1e-6 relative (each listed on its own line).
Results go to stdout only (``--csv FILE`` also writes the rows to FILE).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import placement_opt as po  # noqa: E402
from placement_opt import generators  # noqa: E402
from placement_opt.generators import FAMILIES, generate  # noqa: E402
from placement_opt.solve import list_solvers, solve  # noqa: E402
from placement_opt.versions import versions  # noqa: E402

TEXTBOOK = "milp-textbook"
#: nodes -> (workloads, model, size preset) of the generated instances; the
#: preset sets the family's other size-dependent defaults (and a hard family's
#: recipe for that size)
SHAPES: dict[int, tuple[int, str, str]] = {
    10: (4, "llama-2-7b", "s"),
    16: (8, "llama-2-7b", "m"),
    20: (10, "llama-2-13b", "m"),
    24: (12, "llama-2-13b", "m"),
    40: (16, "llama-2-13b", "m"),
    60: (20, "llama-2-70b", "l"),
    120: (40, "llama-2-70b", "l"),
}
LOOSE_FAMILIES = ("smart-city", "v2x", "industrial", "topology-zoo")
#: the hard families asked for; those the generators do not know are skipped
HARD_NAMES = ("memory-tight", "compute-tight", "multi-model", "symmetric-cluster")
PIPEEDGE = ("pipeedge-vit-base", "pipeedge-vit-large")
#: relative excess that makes an ``optimal`` or a bound a wrong claim
CLAIM_RTOL = 1e-6
#: a textbook run that took this share of its limit is taken to have hit it
LIMIT_SHARE = 0.9

FULL = dict(families=None, sizes=[str(n) for n in SHAPES], seeds=[0, 1, 2],
            instances=[], time_limit=120.0, textbook_time_limit=120.0)
QUICK = dict(families=["smart-city", "v2x", "memory-tight"], sizes=["10", "16"], seeds=[0], instances=[],
             time_limit=10.0, textbook_time_limit=15.0)


# ---------------------------------------------------------------- instances
@dataclass(frozen=True)
class Case:
    """One benchmark instance."""

    name: str
    problem: po.Problem
    group: str


def parse_family(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``"name:key=value,key=value"``; each value is read as JSON
    if it is (numbers, ``true``, lists, objects), else as text."""
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in _split_top(rest):
        key, _, value = item.partition("=")
        params[key.strip()] = _value(value.strip())
    return name.strip(), params


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets and braces."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        depth += (ch in "[{") - (ch in "]}")
        if ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_size(spec: str) -> tuple[int, int, str, str]:
    """``"16"`` (a row of ``SHAPES``) or ``"nodes:workloads:model[:size]"``."""
    parts = spec.split(":")
    if len(parts) in (3, 4):
        nodes = int(parts[0])
        size = parts[3] if len(parts) == 4 else "s" if nodes <= 12 else "l" if nodes >= 60 else "m"
        return nodes, int(parts[1]), parts[2], size
    nodes = int(spec)
    if nodes not in SHAPES:
        raise SystemExit(f"--sizes: no shape for {nodes} nodes (known: {sorted(SHAPES)}; "
                         "or give nodes:workloads:model[:size]")
    return (nodes, *SHAPES[nodes])


def hard_recipes() -> dict[str, Any]:
    """The generators' hard families (name -> recipe), where they have them."""
    return dict(getattr(generators, "HARD_FAMILIES", {}))


def known_families() -> list[str]:
    return [*FAMILIES, *hard_recipes()]


def default_families() -> list[str]:
    """The loose families, then the hard ones: those asked for and any other the
    generators know."""
    others = [f for f in known_families() if f not in LOOSE_FAMILIES and f not in HARD_NAMES]
    return [*LOOSE_FAMILIES, *HARD_NAMES, *others]


def _shape(family: str, nodes: int, workloads: int, model: str, size: str) -> dict[str, Any]:
    """Generator parameters of a size; a hard family's recipe keeps its own
    workload count and models where it sets them."""
    recipe = hard_recipes().get(family)
    fixed = recipe.params_for(size) if recipe is not None else {}
    shape = {"nodes": nodes, "workloads": workloads, "model": model}
    return {k: v for k, v in shape.items() if k == "nodes" or k not in fixed}


def generated(families: Sequence[str], sizes: Sequence[str], seeds: Sequence[int],
              notes: list[str]) -> Iterator[Case]:
    known = known_families()
    for spec in families:
        family, params = parse_family(spec)
        if family not in known:
            notes.append(f"skipped family {family!r}: the generators do not know it (known: {', '.join(known)})")
            continue
        tag = family + (f"[{','.join(f'{k}={json.dumps(v)}' for k, v in params.items())}]" if params else "")
        tag = tag.replace(" ", "")
        group = "loose" if family in LOOSE_FAMILIES and not params else "hard"
        for nodes, workloads, model, size in map(parse_size, sizes):
            for seed in seeds:
                try:
                    shape = _shape(family, nodes, workloads, model, size)
                    p = generate(family, seed=seed, size=size, **{**shape, **params})
                except ValueError as exc:
                    notes.append(f"skipped {tag}-{nodes}n-s{seed}: {exc}")
                    continue
                yield Case(f"{tag}-{nodes}n-{p.num_workloads}w-s{seed}", p, group)


def library(names: Sequence[str], notes: list[str]) -> Iterator[Case]:
    for name in names:
        path = Path(name)
        if not path.exists():
            path = ROOT / "instances" / (name if name.endswith((".json", ".yaml", ".yml")) else f"{name}.json")
        if not path.exists():
            notes.append(f"skipped instance {name!r}: no such file")
            continue
        yield Case(path.stem, po.load_instance(path), "library")


# ---------------------------------------------------------------- running
@dataclass
class Run:
    """One (instance, solver) run."""

    case: Case
    solver: str
    sol: po.Solution
    total: float
    limit: float
    speedup: str = ""
    ratio: float | None = None
    wrong: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.sol.status.value

    @property
    def build(self) -> float | None:
        b = self.sol.info.get("build_time")
        return None if b is None else float(b)

    def row(self) -> dict[str, Any]:
        p, info = self.case.problem, self.sol.info
        return dict(instance=self.case.name, group=self.case.group, nodes=p.num_nodes, workloads=p.num_workloads,
                    layers=int(p.workload_num_layers.max()), solver=self.solver, status=self.status,
                    objective=self.sol.objective, bound=self.sol.bound, gap=self.sol.gap, build=self.build,
                    solve=None if self.build is None else self.total - self.build, total=self.total,
                    time_limit=self.limit, speedup=self.speedup, variables=info.get("variables"),
                    nonzeros=info.get("nonzeros"), reason=info.get("reason", ""), wrong="; ".join(self.wrong))


def exact_solvers(requested: Sequence[str] | None) -> list[str]:
    """The solvers compared with the textbook."""
    if requested:
        unknown = [s for s in requested if s not in list_solvers()]
        if unknown:
            raise SystemExit(f"unknown solvers: {', '.join(unknown)}")
        return [s for s in requested if s != TEXTBOOK]
    names = ["milp", "cpsat", "auto"] + list_solvers(exact=True)
    out = [s for s in dict.fromkeys(names) if s in list_solvers() and s not in (TEXTBOOK, "brute-force")]
    if os.environ.get("SKIP_CPSAT") and "cpsat" in out:
        out.remove("cpsat")
    return out


def warm_up(solvers: Sequence[str]) -> None:
    tiny = po.Problem.from_dict({
        "nodes": [{"id": "a", "flops": 1e9, "memory": 1e9}],
        "models": [{"id": "m", "input_bytes": 1, "layers": [{"name": "l", "flops": 1, "param_bytes": 1,
                                                              "output_bytes": 1}]}],
        "workloads": [{"id": "w", "model": "m", "source": "a", "rate": 1}],
    })
    for s in solvers:
        solve(tiny, s, time_limit=10)


def run_case(case: Case, solvers: Sequence[str], time_limit: float, textbook_limit: float) -> dict[str, Run]:
    runs = {}
    for s in [TEXTBOOK, *solvers]:
        limit = textbook_limit if s == TEXTBOOK else time_limit
        t0 = time.perf_counter()
        sol = solve(case.problem, s, time_limit=limit, seed=0)
        runs[s] = Run(case, s, sol, time.perf_counter() - t0, limit)
    judge(runs)
    return runs


def _above(value: float, reference: float) -> bool:
    return value - reference > CLAIM_RTOL * max(abs(reference), 1e-12)


def judge(runs: dict[str, Run]) -> None:
    """Speedups against the textbook and wrong claims of every run."""
    feasible = {s: r.sol.objective for s, r in runs.items()
                if r.sol.objective is not None and r.sol.feasible and math.isfinite(r.sol.objective)}
    for r in runs.values():
        for other, obj in feasible.items():
            if r.status == "optimal" and r.sol.objective is not None and _above(r.sol.objective, obj):
                r.wrong.append(f"optimal {r.sol.objective:.9g} above {other}'s feasible {obj:.9g}")
            if r.sol.bound is not None and _above(r.sol.bound, obj):
                r.wrong.append(f"bound {r.sol.bound:.9g} above {other}'s feasible {obj:.9g}")
    tb = runs[TEXTBOOK]
    for s, r in runs.items():
        if s == TEXTBOOK or r.status != "optimal":
            continue
        if tb.status == "optimal":
            same = r.sol.objective is not None and tb.sol.objective is not None and not (
                _above(r.sol.objective, tb.sol.objective) or _above(tb.sol.objective, r.sol.objective))
            if same:
                r.ratio = tb.total / r.total
                r.speedup = f"{r.ratio:.1f}x"
            else:
                r.speedup = "optima differ"
        elif tb.status in ("feasible", "no_solution") and tb.total >= LIMIT_SHARE * tb.limit:
            r.speedup = f">{tb.total / r.total:.1f}x"


# ---------------------------------------------------------------- output
def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.7g}"


def cells(r: Run) -> list[str]:
    row = r.row()
    gap = "-" if row["gap"] is None else f"{100 * row['gap']:.4f}"
    timing = [_fmt_s(row["build"]), _fmt_s(row["solve"]), f"{row['total']:.2f}"]
    return [row["instance"], str(row["nodes"]), str(row["layers"]), r.solver, r.status, _fmt(row["objective"]),
            _fmt(row["bound"]), gap, *timing, r.speedup]


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


COLUMNS = ("instance", "nodes", "layers", "solver", "status", "objective", "bound", "gap %", "build s", "solve s",
           "total s", "speedup")


def summary(console: Console, runs: list[Run], solvers: Sequence[str]) -> None:
    for s in solvers:
        mine = [r for r in runs if r.solver == s]
        ratios = [r.ratio for r in mine if r.ratio is not None]
        lower = [r for r in mine if r.speedup.startswith(">")]
        text = f"{s} vs {TEXTBOOK}: "
        if ratios:
            gm = math.exp(statistics.fmean(math.log(x) for x in ratios))
            text += (f"geometric-mean speedup {gm:.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x) over "
                     f"{len(ratios)} instances the textbook proves within its limit")
        else:
            text += "no instance where both prove the optimum"
        text += f"; {len(lower)} more where only {s} proves it"
        console.print(text, markup=False)
    for s in [TEXTBOOK, *solvers]:
        mine = [r for r in runs if r.solver == s]
        wrong_opt = sum(any(w.startswith("optimal") for w in r.wrong) for r in mine)
        wrong_bound = sum(any(w.startswith("bound") for w in r.wrong) for r in mine)
        errors = sum(r.status == "error" for r in mine)
        proven = sum(r.status == "optimal" for r in mine)
        console.print(f"{s}: {proven}/{len(mine)} optimal; wrong claims: {wrong_opt} optimal, {wrong_bound} bound; "
                      f"{errors} errors", markup=False)
    for r in runs:
        for w in r.wrong:
            console.print(f"WRONG CLAIM {r.case.name} {r.solver}: {w}", markup=False)


def header(console: Console, args: argparse.Namespace, solvers: Sequence[str]) -> None:
    v = versions()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"exact solvers vs {TEXTBOOK}: {', '.join(solvers)}; time limit {args.time_limit:g} s, "
                  f"textbook {args.textbook_time_limit:g} s; {os.cpu_count()} cores, load {load:.2f}; "
                  f"placement_opt {v['placement_opt']}, highspy {v['highspy']}, ortools {v['ortools']}",
                  markup=False)


def run(args: argparse.Namespace) -> list[Run]:
    solvers = exact_solvers(args.solvers)
    console = Console(width=200)
    header(console, args, solvers)
    warm_up([TEXTBOOK, *solvers])
    notes: list[str] = []
    cases = [*generated(args.families, args.sizes, args.seeds, notes), *library(args.instances, notes)]
    for note in notes:
        console.print(f"note: {note}", markup=False)
    runs: list[Run] = []
    for case in cases:
        for r in run_case(case, solvers, args.time_limit, args.textbook_time_limit).values():
            runs.append(r)
            console.print("  ".join(cells(r)), markup=False, highlight=False)
    if args.csv == "-":
        write_csv(sys.stdout, runs)
    else:
        table = Table(title=f"exact solvers vs {TEXTBOOK} (whole solve() calls)")
        for col in COLUMNS:
            table.add_column(col, justify="left" if col in ("instance", "solver", "status") else "right")
        for r in runs:
            table.add_row(*cells(r))
        console.print(table)
        if args.csv:
            with open(args.csv, "w", newline="") as fh:
                write_csv(fh, runs)
    summary(console, runs, solvers)
    return runs


def write_csv(fh: Any, runs: Sequence[Run]) -> None:
    if not runs:
        return
    writer = csv.DictWriter(fh, fieldnames=list(runs[0].row()))
    writer.writeheader()
    writer.writerows(r.row() for r in runs)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a 2-minute smoke run (smaller defaults for the rest)")
    ap.add_argument("--time-limit", type=float, help="seconds per run of the other solvers (default 120; quick 10)")
    ap.add_argument("--textbook-time-limit", type=float, help="seconds per textbook run (default 120; quick 15)")
    ap.add_argument("--families", nargs="*", help="generator families, optionally name:key=value,... (default: "
                                                  "the loose and the hard ones; quick: smart-city v2x memory-tight)")
    ap.add_argument("--sizes", nargs="*", help=f"node counts from {sorted(SHAPES)} or nodes:workloads:model[:size] "
                                               "(default: all; quick: 10 16)")
    ap.add_argument("--seeds", type=int, nargs="*", help="generator seeds (default 0 1 2; quick 0)")
    ap.add_argument("--instances", nargs="*", help="library instances or paths, in addition to the PipeEdge ones "
                                                   "(quick: pipeedge-vit-base only)")
    ap.add_argument("--no-pipeedge", action="store_true", help="leave out the PipeEdge instances")
    ap.add_argument("--solvers", nargs="*", help="compare only these solvers (default: every exact one)")
    ap.add_argument("--csv", nargs="?", const="-", help="the rows as CSV: on stdout instead of the table "
                                                        "(no value or '-'), or into this file")
    args = ap.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.families is None:
        args.families = default_families()
    pipeedge = [] if args.no_pipeedge else [PIPEEDGE[0]] if args.quick else list(PIPEEDGE)
    args.instances = list(dict.fromkeys([*pipeedge, *args.instances]))
    return args


def main(argv: Sequence[str] | None = None) -> None:
    run(parse(argv))


if __name__ == "__main__":
    main()
