"""Replay benchmark: policies x re-plan modes on the scenario families (issue 5).

Each family's instance (``generate(family, seed, size)``) is replayed against
``tracegen.scenario_trace``: real 5G bandwidth (and ping latency) on the radio
links, Azure VM compute variation on the edge nodes, seeded failures of servers
and wired links (MTBF 30 min, MTTR 5 min here, so that an hour sees failures),
plus one scripted outage of the most used server of the initial plan.

Sections:

1. one hour at 1-s resolution: ``static``, ``periodic`` (every 300 s) and
   ``reactive`` with ``local-search``, in ``migrate`` and ``resplit`` modes;
2. a 10-minute slice at 10-s resolution: ``oracle`` with ``milp`` (the
   adaptivity reference) next to ``static`` and ``reactive`` on the same slice;
3. the timing target: one hour at 1 s on a 30-node smart-city instance,
   ``reactive`` + ``local-search`` (wall and CPU seconds).

    python benchmarks/replay.py                      # everything (~20-40 min on a loaded machine)
    python benchmarks/replay.py --families smart-city --skip-oracle
    python benchmarks/replay.py --synthetic          # seeded synthetic trace, no real data needed

Latencies in ms, down and SLO-miss times in workload-seconds (SLO miss = late or
down, for workloads with an SLO; "of it late" = up but late), bytes in GB,
decision times (solver seconds per re-plan) and wall times in s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from placement_opt.generators import generate  # noqa: E402
from placement_opt.problem import Problem  # noqa: E402
from placement_opt.replay import ReplayResult, replay  # noqa: E402
from placement_opt.solve import solve  # noqa: E402
from placement_opt.trace import Trace  # noqa: E402

FAMILIES = ("smart-city", "v2x", "industrial")
RESULTS = Path(__file__).resolve().parent / "results" / "replay-2026-11-24.txt"
COLUMNS = ("family", "trace", "policy", "mode", "solver", "downtime", "slo miss", "of it late", "mean ms", "p95 ms",
           "replans", "GB migrated", "decision s mean/max", "wall s")


def busiest_server(problem: Problem, plan: dict) -> str:
    """The non-device node that hosts the most layers in ``plan``."""
    tiers = {n.id: (n.tier or "") for n in problem.nodes}
    count = Counter(node for nodes in plan.values() for node in nodes if tiers[node] not in ("device", "camera",
                                                                                               "sensor"))
    return count.most_common(1)[0][0]


def scenario(problem: Problem, duration: float, resolution: float, seed: int, outage: tuple[float, float],
             plan: dict, synthetic: bool) -> Trace:
    """Real-data scenario trace (or a synthetic one) plus a scripted server outage."""
    node = busiest_server(problem, plan)
    scripted = Trace.from_records([(outage[0], "node", node, "available", 0.0),
                                   (outage[1], "node", node, "available", 1.0)], end=duration)
    if synthetic:
        base = synthetic_trace(problem, duration, resolution, seed)
    else:
        from placement_opt.tracegen import scenario_trace

        base = scenario_trace(problem, duration=duration, seed=seed, resolution=resolution,
                              node_mtbf=1800.0, node_mttr=300.0, link_mtbf=3600.0, link_mttr=120.0)
    merged = Trace.merge(base, scripted)
    return Trace(merged.events, f"{base.source} + outage of {node}", duration)


def synthetic_trace(problem: Problem, duration: float, resolution: float, seed: int) -> Trace:
    """Seeded stand-in: log-normal bandwidth on device links, uniform utilisation on servers."""
    rng = np.random.default_rng(seed)
    tiers = {n.id: n.tier for n in problem.nodes}
    radio = [e for e in problem.links if "device" in (tiers[e.source], tiers[e.target])]
    servers = [n for n in problem.nodes if n.tier not in ("device", None) and n.flops > 0]
    rows = []
    for t in np.arange(resolution, duration, resolution):
        for link in radio:
            bandwidth = float(link.bandwidth * rng.lognormal(0, 0.3))
            rows.append((float(t), "link", link.resolved_id, "bandwidth", bandwidth))
        if int(t) % 60 == 0:
            for node in servers:
                rows.append((float(t), "node", node.id, "utilization", float(rng.uniform(0, 0.5))))
    return Trace.from_records(rows, f"synthetic seed={seed}", duration)


def row(family: str, trace_label: str, result: ReplayResult, wall: float) -> tuple[str, ...]:
    s = result.summary
    return (family, trace_label, s["policy"], s["mode"] if s["policy"] != "static" else "-", s["solver"],
            f"{s['downtime']:.0f}", f"{s['slo_miss_time']:.0f}", f"{s['slo_late_time']:.0f}",
            f"{1e3 * s['mean_latency']:.2f}", f"{1e3 * s['p95_latency']:.2f}", str(s["replans"]),
            f"{s['bytes_migrated'] / 1e9:.2f}",
            f"{s['decision_time_mean']:.2f}/{s['decision_time_max']:.2f}", f"{wall:.1f}")


def run(problem: Problem, trace: Trace, initial: dict, **kwargs) -> tuple[ReplayResult, float]:
    start = time.perf_counter()
    result = replay(problem, trace, initial=initial, **kwargs)
    return result, time.perf_counter() - start


def hour_section(family: str, args, console: Console, table: Table) -> None:
    problem = generate(family, seed=args.seed, size=args.size)
    initial = dict(solve(problem, "local-search", seed=args.seed).assignment)
    trace = scenario(problem, 3600.0, 1.0, args.seed, (700.0, 1500.0), initial, args.synthetic)
    configs = [("static", "resplit", None)]
    configs += [(policy, mode, 300.0 if policy == "periodic" else None)
                for policy in ("periodic", "reactive") for mode in ("migrate", "resplit")]
    for policy, mode, interval in configs:
        result, wall = run(problem, trace, initial, policy=policy, mode=mode, interval=interval,
                           solver="local-search", seed=args.seed, time_limit=args.time_limit)
        table.add_row(*row(family, "1 h @ 1 s", result, wall))
        console.print(*row(family, "1 h @ 1 s", result, wall), sep=" | ", markup=False)


def slice_section(family: str, args, console: Console, table: Table) -> None:
    problem = generate(family, seed=args.seed, size=args.size)
    initial = dict(solve(problem, "milp", seed=args.seed, time_limit=60).assignment)
    trace = scenario(problem, 600.0, 10.0, args.seed, (130.0, 430.0), initial, args.synthetic)
    configs = [("static", "resplit", "milp"), ("reactive", "resplit", "local-search"),
               ("oracle", "migrate", "milp"), ("oracle", "resplit", "milp")]
    for policy, mode, solver in configs:
        result, wall = run(problem, trace, initial, policy=policy, mode=mode, solver=solver, seed=args.seed,
                           time_limit=args.time_limit)
        table.add_row(*row(family, "10 min @ 10 s", result, wall))
        console.print(*row(family, "10 min @ 10 s", result, wall), sep=" | ", markup=False)


def timing_section(args, console: Console) -> str:
    problem = generate("smart-city", seed=args.seed, size="m", nodes=30)
    initial = dict(solve(problem, "local-search", seed=args.seed).assignment)
    trace = scenario(problem, 3600.0, 1.0, args.seed, (700.0, 1500.0), initial, args.synthetic)
    cpu = time.process_time()
    result, wall = run(problem, trace, initial, policy="reactive", mode="resplit", solver="local-search",
                       seed=args.seed, time_limit=args.time_limit)
    cpu = time.process_time() - cpu
    s = result.summary
    text = (f"timing: {problem!r}, {len(trace)} events, {s['decision_points']} decision points, reactive + "
            f"local-search (resplit): wall {wall:.1f} s, CPU {cpu:.1f} s, {s['replans']} re-plans "
            f"(mean {s['decision_time_mean']:.2f} s, max {s['decision_time_max']:.2f} s), "
            f"downtime {s['downtime']:.0f} workload-s")
    console.print(text, markup=False)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--size", default="s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=10.0, help="solver seconds per decision")
    parser.add_argument("--synthetic", action="store_true", help="seeded synthetic trace instead of real data")
    parser.add_argument("--skip-hour", action="store_true")
    parser.add_argument("--skip-oracle", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    console = Console(width=200)
    table = Table(*COLUMNS, title=f"replay benchmark (seed {args.seed}, size {args.size})")
    for family in args.families:
        if not args.skip_hour:
            hour_section(family, args, console, table)
        if not args.skip_oracle:
            slice_section(family, args, console, table)
    timing = "" if args.skip_timing else timing_section(args, console)
    console.print(table)
    out = Console(record=True, width=200, file=open("/dev/null", "w"))
    out.print(table)
    text = out.export_text() + ("\n" + timing + "\n" if timing else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(__doc__.split("\n\n")[0] + "\n\n" + text)
    console.print(f"saved {args.out}", markup=False)


if __name__ == "__main__":
    main()
