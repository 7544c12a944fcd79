"""Exact solvers side by side: ``milp`` and ``cpsat`` against the textbook MILP.

Instances are generated (seeded) in the shape the formulation-strength target
names: 16, 20 and 24 nodes with 8 to 12 workloads on a 34- or 42-layer
Llama-like model (``smart-city`` family, decode, fp16).  Every solver runs on the
same instance in the same process, one after the other, so ratios are measured
under the same machine load.  Imports are warmed up first so no solver pays for
them.

    python benchmarks/exact.py                       # the default table
    python benchmarks/exact.py --time-limit 300 --seeds 0 1 2 --csv out.csv

Columns: objective, bound and gap as reported (the objective is always the
evaluator's), ``build`` = model building (incl. pruning and the LP pre-pass),
``solve`` = the rest, ``total`` = wall clock of ``solve()``.  ``speedup`` is the
textbook's total over ours, for instances where both prove optimality (a ``>``
marks a textbook run that hit the time limit, so the ratio is a lower bound).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import placement_opt as po  # noqa: E402
from placement_opt.generators import generate  # noqa: E402
from placement_opt.solve import list_solvers, solve  # noqa: E402

SIZES = [(16, 8, "llama-2-7b"), (20, 10, "llama-2-13b"), (24, 12, "llama-2-13b")]


def build_instances(seeds, families=("smart-city",), nodes_list=None):
    for family in families:
        for nodes, workloads, model in SIZES:
            if nodes_list and nodes not in nodes_list:
                continue
            for seed in seeds:
                p = generate(family, seed=seed, size="m", nodes=nodes, workloads=workloads, model=model)
                yield f"{family}-{nodes}n-{workloads}w-s{seed}", p


def warm_up(solvers):
    tiny = po.Problem.from_dict({
        "nodes": [{"id": "a", "flops": 1e9, "memory": 1e9}],
        "models": [{"id": "m", "input_bytes": 1, "layers": [{"name": "l", "flops": 1, "param_bytes": 1,
                                                              "output_bytes": 1}]}],
        "workloads": [{"id": "w", "model": "m", "source": "a", "rate": 1}],
    })
    for s in solvers:
        solve(tiny, s, time_limit=10)


def run(args):
    solvers = [s for s in args.solvers if s in list_solvers()]
    warm_up(solvers)
    console = Console(width=180)
    table = Table(title=f"exact solvers (time limit {args.time_limit:g} s)")
    for col in ("instance", "layers", "solver", "status", "objective", "bound", "gap %", "build s", "solve s",
                "total s", "speedup"):
        table.add_column(col, justify="right" if col not in ("instance", "solver", "status") else "left")
    rows = []
    speedups = []
    for name, p in build_instances(args.seeds, args.families, args.nodes):
        results = {}
        for s in solvers:
            t0 = time.perf_counter()
            sol = solve(p, s, time_limit=args.time_limit, seed=0)
            total = time.perf_counter() - t0
            build = sol.info.get("build_time", 0.0) or 0.0
            results[s] = (sol, total)
            rows.append(dict(instance=name, nodes=p.num_nodes, workloads=p.num_workloads,
                             layers=int(p.workload_num_layers.max()), solver=s, status=sol.status.value,
                             objective=sol.objective, bound=sol.bound, gap=sol.gap, build=build,
                             solve=total - build, total=total))
        base = results.get("milp-textbook")
        for s in solvers:
            sol, total = results[s]
            ratio = ""
            if base and s != "milp-textbook" and sol.status.value == "optimal":
                b_sol, b_total = base
                if b_sol.status.value == "optimal":
                    ratio = f"{b_total / total:.1f}x"
                    if s == "milp":
                        speedups.append(b_total / total)
                else:
                    ratio = f">{b_total / total:.1f}x"
                    if s == "milp":
                        speedups.append(b_total / total)
            r = next(r for r in rows if r["instance"] == name and r["solver"] == s)
            cells = (name, str(r["layers"]), s, r["status"], _fmt(r["objective"]), _fmt(r["bound"]),
                     "-" if r["gap"] is None else f"{100 * r['gap']:.4f}", f"{r['build']:.2f}",
                     f"{r['solve']:.2f}", f"{r['total']:.2f}", ratio)
            table.add_row(*cells)
            console.print("  ".join(cells), style="dim", markup=False)
    console.print(table)
    if speedups:
        gm = math.exp(statistics.fmean(math.log(x) for x in speedups))
        console.print(f"milp vs textbook: geometric mean speedup {gm:.1f}x, min {min(speedups):.1f}x "
                      f"over {len(speedups)} instances")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _fmt(x):
    return "-" if x is None else f"{x:.7g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--solvers", nargs="+", default=["milp-textbook", "milp", "cpsat"])
    ap.add_argument("--families", nargs="+", default=["smart-city"])
    ap.add_argument("--nodes", type=int, nargs="+", help="only these sizes (16, 20, 24)")
    ap.add_argument("--csv", help="also write the rows to this CSV file")
    run(ap.parse_args(argv))


if __name__ == "__main__":
    main()
