"""How fast the evaluator scores a solution.

Instances come from the scenario generators at several sizes, up to 1000 nodes.
For each, the one-off derived data (routes, flat layout, compute times) is
timed, then the evaluation of a random assignment over the candidate nodes
(feasible or not, every term computed), through the fast array path and through
the public ``evaluate()`` with an id assignment (which adds validation of the
ids).  Times are medians over repeated runs.

    python benchmarks/evaluator.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import placement_opt as po  # noqa: E402
from placement_opt.candidates import candidates  # noqa: E402
from placement_opt.evaluate import evaluate_array  # noqa: E402
from placement_opt.generators import generate, reference_assignment  # noqa: E402

SIZES = [  # nodes, workloads, layers
    (30, 12, 42),
    (200, 50, 80),
    (1000, 200, 100),
]


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    table = Table(title="evaluator timing (median)")
    for col in ("nodes", "links", "workloads", "layers", "(w,l) pairs", "derive ms", "solution",
                "evaluate_array ms", "evaluate(dict) ms", "violations"):
        table.add_column(col, justify="right")
    rng = np.random.default_rng(0)
    for nodes, workloads, layers in SIZES:
        p = generate("smart-city", seed=0, size="l", nodes=nodes, workloads=workloads, model="llama-2-7b",
                     layers=layers)
        t0 = time.perf_counter()
        _ = p.routes, p.flat, p.compute_time
        derive = time.perf_counter() - t0
        cand = candidates(p, with_paths=False)
        solutions = {
            "reference (feasible)": p.assignment_to_array(reference_assignment(p)),
            "random candidates": np.array([rng.choice(np.flatnonzero(row)) for row in cand.mask], dtype=np.int64),
        }
        for label, x in solutions.items():
            assignment = p.array_to_assignment(x)
            fast = median_time(lambda p=p, x=x: evaluate_array(p, x), 30)
            full = median_time(lambda p=p, a=assignment: po.evaluate(p, a), 30)
            table.add_row(str(p.num_nodes), str(p.num_links), str(p.num_workloads), str(layers),
                          str(p.flat.size), f"{1e3 * derive:.1f}", label, f"{1e3 * fast:.2f}", f"{1e3 * full:.2f}",
                          str(len(evaluate_array(p, x).violations)))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
