"""Build the replay traces shipped in ``instances/traces/`` (deterministic).

Each trace is ``tracegen.scenario_trace`` on a library instance: real 5Gophers
5G throughput and ping latency on the radio links, Azure VM compute variation
on the edge nodes, seeded server and wired-link failures (docs/traces.md).
Needs the shared data folder (``PLACEMENT_OPT_SHARED_DATA`` or ``../shared/data``);
the written CSVs do not.

    python scripts/build_traces.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from placement_opt.problem import load_instance  # noqa: E402
from placement_opt.tracegen import scenario_trace  # noqa: E402

#: (instance, duration s, resolution s, seed)
TRACES = [
    ("smart-city-s-1", 3600.0, 1.0, 0),
    ("v2x-s-1", 3600.0, 1.0, 0),
    ("industrial-s-1", 3600.0, 1.0, 0),
    ("smart-city-m-1", 600.0, 1.0, 0),
]


def main() -> None:
    out = ROOT / "instances" / "traces"
    out.mkdir(exist_ok=True)
    for name, duration, resolution, seed in TRACES:
        problem = load_instance(ROOT / "instances" / f"{name}.json")
        trace = scenario_trace(problem, duration=duration, seed=seed, resolution=resolution,
                               node_mtbf=1800.0, node_mttr=300.0, link_mtbf=3600.0, link_mttr=120.0)
        path = out / f"{name}-{int(duration)}s.csv"
        trace.to_csv(path)
        print(f"{path.relative_to(ROOT)}: {len(trace)} events, {trace.duration:g} s")


if __name__ == "__main__":
    main()
