"""``local-search`` against ``greedy`` and the proven MILP optimum.

Instances are generated (seeded) over families, sizes and objective mixes;
each is solved by ``greedy``, ``local-search`` (no time limit: it stops at its
own local optimum) and ``milp`` (with a time limit).  The gap is
``(local-search - optimum) / optimum`` where the MILP proved optimality;
otherwise the row shows the gap to the MILP's bound (an upper bound on the
true gap) and is left out of the means.

    python benchmarks/local_search.py                         # default table, a few minutes
    python benchmarks/local_search.py --sizes 10:4:llama-2-7b 20:10:llama-2-13b \\
        --objectives latency cost energy max bottleneck --variants base tight prefill --milp-time 120
    python benchmarks/local_search.py --large                 # + 30- and 200-node timing rows
    python benchmarks/local_search.py --replan                # re-plan after single node failures
    python benchmarks/local_search.py --csv rows.csv

A size is ``NODES:WORKLOADS:MODEL[:LAYERS]``.  ``--variants`` adds copies of each
instance with scarce edge and device memory (more splitting and sharing),
512-token prefill, uplink-limited radio, or tight SLOs (``VARIANTS``).
Times are wall-clock seconds of ``solve()`` on this machine, run one after the
other in the same process.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from placement_opt.evaluate import evaluate  # noqa: E402
from placement_opt.generators import generate  # noqa: E402
from placement_opt.solve import solve  # noqa: E402

OBJECTIVES = {
    "latency": {"latency": 1.0},
    "cost": {"latency": 1.0, "cost": 100.0},
    "energy": {"latency": 1.0, "energy": 1e-3},
    "max": {"latency": 1.0, "max_latency": 1.0},
    "bottleneck": {"latency": 1.0, "bottleneck": 0.05},
    "all": {"latency": 1.0, "max_latency": 0.5, "bottleneck": 0.02, "cost": 50.0, "energy": 5e-4},
}
#: Instance variants: extra generator parameters.
VARIANTS = {
    "base": {},
    "tight": {"memory_free": {"edge": (0.3, 0.5), "device": (0.2, 0.4)}},  # scarce memory: more splits
    "prefill": {"mode": "prefill"},  # 512-token prompts: compute and transfers weigh more
    "lowbw": {"radio_bandwidth_scale": 0.1},  # uplink-limited radio
    "slo": {"slo_slack": (1.05, 1.3)},  # tight SLOs
}
LARGE = ["30:12:llama-2-13b", "200:50:llama-2-70b:80"]


def parse_size(text: str) -> tuple[int, int, str, int | None]:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(f"size {text!r}: expected NODES:WORKLOADS:MODEL[:LAYERS]")
    return int(parts[0]), int(parts[1]), parts[2], int(parts[3]) if len(parts) == 4 else None


def instances(args, sizes):
    for nodes, workloads, model, layers in sizes:
        for family in args.families:
            for objective in args.objectives:
                for variant in args.variants:
                    for seed in args.seeds:
                        kw = dict(nodes=nodes, workloads=workloads, model=model, layers=layers,
                                  objective=OBJECTIVES[objective], **VARIANTS[variant])
                        try:
                            p = generate(family, seed=seed, size="m", **kw)
                        except ValueError as exc:  # a combination the generator refuses
                            print(f"skip {family} {nodes}n {objective} {variant}: {exc}", file=sys.stderr)
                            continue
                        tag = "" if variant == "base" else f"-{variant}"
                        yield f"{family}-{nodes}n-{objective}{tag}-s{seed}", p


def timed(p, solver, **kw):
    t0 = time.perf_counter()
    sol = solve(p, solver, **kw)
    return sol, time.perf_counter() - t0


def compare(args, console):
    sizes = list(args.sizes) + ([parse_size(s) for s in LARGE] if args.large else [])
    table = Table(title="local-search vs greedy vs MILP")
    cols = ("instance", "nodes", "wl", "layers", "greedy", "s", "local-search", "s", "milp", "bound", "s",
            "gap %")
    for c in cols:
        table.add_column(c, justify="left" if c == "instance" else "right")
    rows = []
    for name, p in instances(args, sizes):
        _ = p.routes, p.compute_time  # derived arrays, shared by all solvers
        g, tg = timed(p, "greedy")
        ls, tl = timed(p, "local-search", seed=0)
        assert ls.objective is None or ls.feasible, name
        big = p.num_nodes > args.milp_max_nodes
        m, tm = (None, None) if big else timed(p, "milp", time_limit=args.milp_time)
        optimal = m is not None and m.status.value == "optimal"
        gap = gap_bound = None
        if ls.objective is not None and m is not None and m.objective is not None:
            ref = m.objective if optimal else m.bound
            if ref:
                gap = (ls.objective - ref) / abs(ref)
                gap_bound = not optimal
        row = dict(instance=name, nodes=p.num_nodes, workloads=p.num_workloads,
                   layers=int(p.workload_num_layers.max()), greedy=g.objective, greedy_s=tg,
                   local_search=ls.objective, local_search_s=tl, ls_moves=ls.info.get("moves"),
                   milp=None if m is None else m.objective, milp_status=None if m is None else m.status.value,
                   milp_bound=None if m is None else m.bound, milp_s=tm, gap=gap, gap_is_bound=gap_bound)
        rows.append(row)
        gap_txt = "-" if gap is None else ("<=" if gap_bound else "") + f"{100 * gap:.3f}"
        cells = (name, str(row["nodes"]), str(row["workloads"]), str(row["layers"]), _fmt(g.objective),
                 f"{tg:.2f}", _fmt(ls.objective), f"{tl:.2f}",
                 "-" if m is None else _fmt(m.objective) + ("" if optimal else "*"),
                 "-" if m is None else _fmt(m.bound), "-" if tm is None else f"{tm:.1f}", gap_txt)
        table.add_row(*cells)
        console.print("  ".join(cells), style="dim", markup=False)
    console.print(table)
    summarise(rows, console)
    return rows


def summarise(rows, console):
    proven = [r for r in rows if r["gap"] is not None and not r["gap_is_bound"]]
    if proven:
        gaps = [r["gap"] for r in proven]
        small = [r["gap"] for r in proven if r["nodes"] <= 20]
        hit = sum(g <= 1e-6 for g in gaps)
        console.print(f"gap to the proven optimum over {len(gaps)} instances: "
                      f"mean {100 * statistics.fmean(gaps):.3f} %, max {100 * max(gaps):.3f} %, "
                      f"optimum reached on {hit}")
        if small:
            console.print(f"  up to 20 nodes ({len(small)}): mean {100 * statistics.fmean(small):.3f} %,"
                          f" max {100 * max(small):.3f} %")
        gg = [(r["greedy"] - r["milp"]) / abs(r["milp"]) for r in proven if r["greedy"] is not None]
        if gg:
            console.print(f"  greedy on the same instances: mean {100 * statistics.fmean(gg):.3f} %,"
                          f" max {100 * max(gg):.3f} %")
    for lo, hi in ((0, 30), (31, 10**9)):
        ts = [r["local_search_s"] for r in rows if lo <= r["nodes"] <= hi]
        if ts:
            console.print(f"local-search time, {lo}-{hi if hi < 10**9 else 'inf'} nodes: "
                          f"mean {statistics.fmean(ts):.2f} s, max {max(ts):.2f} s")


def replan(args, console):
    """Re-plan with the old placement as warm start after each single failure
    of a node it uses (sources and sinks excepted)."""
    table = Table(title="re-plan after a single node failure (warm start + previous)")
    for c in ("instance", "failed", "status", "objective", "cold objective", "migrated GB", "s", "cold s"):
        table.add_column(c, justify="left" if c in ("instance", "failed", "status") else "right")
    times = []
    nodes, workloads, model, layers = args.replan_size
    for family in args.families:
        for seed in args.seeds:
            p = generate(family, seed=seed, size="m", nodes=nodes, workloads=workloads, model=model,
                         layers=layers, objective={"latency": 1.0, "migration": args.migration_weight})
            base = solve(p, "local-search")
            ends = {p.sink_of(w) for w in p.workloads} | {w.source for w in p.workloads}
            used = sorted({n for path in base.assignment.values() for n in path} - ends)
            for nid in used[:args.failures]:
                q = p.replace(nodes={nid: {"available": False}})
                _ = q.routes, q.compute_time  # the replay builds these when the event arrives
                sol, t = timed(q, "local-search", warm_start=base.assignment, previous=base.assignment)
                cold, tc = timed(q, "local-search", previous=base.assignment)
                times.append(t)
                migrated = None if sol.objective is None else evaluate(q, sol, previous=base).terms["migration"]
                table.add_row(f"{family}-{nodes}n-s{seed}", nid, sol.status.value, _fmt(sol.objective),
                              _fmt(cold.objective), "-" if migrated is None else f"{migrated / 1e9:.2f}",
                              f"{1000 * t:.0f} ms", f"{1000 * tc:.0f} ms")
    console.print(table)
    if times:
        console.print(f"re-plan time over {len(times)} failures: median {1000 * statistics.median(times):.0f} ms, "
                      f"max {1000 * max(times):.0f} ms")


def _fmt(x):
    return "-" if x is None else f"{x:.7g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=parse_size, nargs="*",
                    default=[parse_size("10:4:llama-2-7b"), parse_size("16:8:llama-2-7b")])
    ap.add_argument("--families", nargs="+", default=["smart-city", "v2x", "industrial"])
    ap.add_argument("--objectives", nargs="+", default=["latency", "cost", "max"], choices=sorted(OBJECTIVES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--variants", nargs="+", default=["base"], choices=sorted(VARIANTS),
                    help="instance variants (base, tight memory, prefill, low radio bandwidth, tight SLOs)")
    ap.add_argument("--milp-time", type=float, default=60.0, help="MILP time limit per instance (s)")
    ap.add_argument("--milp-max-nodes", type=int, default=40, help="no MILP above this many nodes")
    ap.add_argument("--large", action="store_true", help=f"also the timing sizes {', '.join(LARGE)}")
    ap.add_argument("--replan", action="store_true", help="only the node-failure re-plan table")
    ap.add_argument("--replan-size", type=parse_size, default=parse_size("30:12:llama-2-13b"))
    ap.add_argument("--failures", type=int, default=4, help="failed nodes per instance in --replan")
    ap.add_argument("--migration-weight", type=float, default=1e-12,
                    help="objective weight of a migrated byte in --replan")
    ap.add_argument("--csv", help="also write the comparison rows to this CSV file")
    args = ap.parse_args(argv)
    console = Console(width=200)
    solve(generate("smart-city", seed=0, size="s"), "local-search")  # warm up imports
    if args.replan:
        replan(args, console)
        return
    rows = compare(args, console)
    if args.csv and rows:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
