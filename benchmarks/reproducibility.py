"""Same instance, same seed, same answer on any machine?

Runs every deterministic solver on a set of instances in separate processes
that differ in what numpy's SIMD kernels may use (``NPY_DISABLE_CPU_FEATURES``:
AVX-512, AVX2/FMA ...), which changes the last bits of sums, exponentials and
the like exactly as another CPU would, and once more on a copy of each
instance whose numbers are perturbed by a relative 1e-12.  It prints, per
solver, how many answers (assignments) differ from the default run.

    python benchmarks/reproducibility.py                   # library s/m + generated
    python benchmarks/reproducibility.py --quick           # fewer instances
    python benchmarks/reproducibility.py --solvers greedy,local-search

No time limits are set: a time limit that cuts a search short is the one
documented exception to reproducibility.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: numpy feature sets to switch off, each standing for another CPU.
MACHINES = {
    "default": "",
    "no-avx512": "X86_V4 AVX512_ICL AVX512_SPR",
    "no-avx2": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
}

DETERMINISTIC = ("greedy", "local-search", "neurosurgeon", "edgeshard-dp", "memory-proportional", "petals",
                 "even-split", "pipeedge-dp", "abs", "device-only", "edge-only", "cloud-only", "random")

PERTURBATION = 1e-12


def perturbed(data: object, rng: np.random.Generator, key: str = "") -> object:
    """``data`` with every float multiplied by ``1 + 1e-12 u``, ``u`` in [-1, 1]
    (``max_utilization`` kept <= 1); integers, strings and booleans unchanged."""
    if isinstance(data, dict):
        return {k: perturbed(v, rng, k) for k, v in data.items()}
    if isinstance(data, list):
        return [perturbed(v, rng, key) for v in data]
    if isinstance(data, float) and data != 0.0:
        value = data * (1.0 + PERTURBATION * rng.uniform(-1.0, 1.0))
        return min(value, 1.0) if key == "max_utilization" else value
    return data


def instances(quick: bool) -> list[tuple[str, object]]:
    """(name, Problem) pairs: the library's small and medium instances and
    some generated ones (``quick``: fewer)."""
    import placement_opt as po
    from placement_opt.generators import generate

    names = sorted(p.stem for p in (ROOT / "instances").glob("*.json"))
    keep = [n for n in names if "-l-" not in n and n != "zoo-geant-l"]
    if quick:
        keep = [n for n in keep if "-s-" in n or n.startswith("pipeedge")]
    out = [(n, po.load_instance(ROOT / "instances" / f"{n}.json")) for n in keep]
    seeds = range(1) if quick else range(3)
    for family in ("smart-city", "v2x", "industrial"):
        for seed in seeds:
            out.append((f"gen-{family}-m-{seed}", generate(family, seed=seed, size="m")))
    return out


def worker(args: argparse.Namespace) -> None:
    """Solve everything once and print ``{instance: {solver: [hash, objective]}}``."""
    import placement_opt as po

    result: dict[str, dict[str, list]] = {}
    for name, problem in instances(args.quick):
        if args.perturb:
            rng = np.random.default_rng(12345)
            problem = po.Problem.from_dict(perturbed(problem.to_dict(), rng), name)
        result[name] = {}
        for solver in args.solvers.split(","):
            sol = po.solve(problem, solver, seed=0)
            text = json.dumps({w: list(nodes) for w, nodes in sol.assignment.items()}, sort_keys=True)
            result[name][solver] = [hashlib.sha256(text.encode()).hexdigest()[:16], sol.objective,
                                    sol.status.value]
    json.dump(result, sys.stdout)


def run(machine: str, perturb: bool, args: argparse.Namespace) -> dict:
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=MACHINES[machine], OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--worker", "--solvers", args.solvers]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--perturb"] if perturb else []
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"the {machine} run failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solvers", default=",".join(DETERMINISTIC))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--perturb", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    t0 = time.perf_counter()
    runs = {m: run(m, False, args) for m in MACHINES}
    runs["perturbed 1e-12"] = run("default", True, args)
    base = runs["default"]
    solvers = args.solvers.split(",")
    print(f"{len(base)} instances x {len(solvers)} solvers; runs: {', '.join(runs)}; "
          f"{time.perf_counter() - t0:.0f} s\n")
    header = f"{'solver':<22}" + "".join(f"{m:>18}" for m in runs if m != "default")
    print(header + "   (assignments that differ from the default run)")
    differing: list[str] = []
    for solver in solvers:
        row = f"{solver:<22}"
        for m, res in runs.items():
            if m == "default":
                continue
            bad = [n for n in base if res[n][solver][0] != base[n][solver][0]]
            row += f"{len(bad):>18}"
            differing += [f"{solver} on {n} ({m}): {base[n][solver][1]!r} -> {res[n][solver][1]!r}" for n in bad]
        print(row)
    if differing:
        print("\ndiffering answers:")
        print("\n".join(differing))


if __name__ == "__main__":
    main()
