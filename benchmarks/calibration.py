"""Print how well the shipped device catalog predicts Helix's measured layer times.

For every usable Helix measurement (one transformer block of LLaMA-30B or
Llama-2-70B, prefill or decode, on A100/V100/L4/T4 and the multi-GPU nodes) the
table shows the measured and predicted milliseconds and the relative error, then
the mean absolute percentage error (MAPE) per device and mode::

    .venv/bin/python benchmarks/calibration.py [--data /work/shared/data] [--all] [--summary] [--compare]

``--all`` also lists points that are too coarsely rounded to be fitted;
``--compare`` refits with the classic roofline (``max`` instead of ``+``) and
prints its MAPE next to the catalog's.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import replace
from pathlib import Path

from placement_opt.calibration import (
    Row,
    calibration_rows,
    catalog_calibration,
    fit_all,
    helix_measurements,
    mape,
    predict_rows,
)
from placement_opt.profiles import device

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def print_rows(rows: list[Row]) -> None:
    print(f"{'device':10} {'model':12} {'mode':8} {'tokens':>6} "
          f"{'measured ms':>11} {'predicted ms':>12} {'rel err':>8}")
    for r in rows:
        p = r.point
        print(
            f"{p.device:10} {p.model:12} {p.mode:8} {p.tokens:6d} {p.seconds * 1e3:11.2f} "
            f"{r.predicted * 1e3:12.2f} {r.rel_error:+8.1%}{'' if p.usable else '  (not fitted)'}"
        )


SMALL_BATCH = 16


def with_small_batch_group(rows: list[Row]) -> list[Row]:
    """The rows, plus decode rows with at most SMALL_BATCH sequences relabelled
    ``decode<=16`` (the regime of interactive serving, where decode is bound by
    streaming the weights)."""
    small = [
        Row(replace(r.point, mode=f"decode<={SMALL_BATCH}"), r.predicted)
        for r in rows
        if r.point.mode == "decode" and r.point.tokens <= SMALL_BATCH
    ]
    return rows + small


def classic_roofline_mape(helix_root: Path) -> dict[tuple[str, str], float]:
    """MAPE of the same fit with the classic (overlapping) roofline."""
    points = [p for p in helix_measurements(helix_root) if p.usable]
    context, fitted = fit_all(points, {p.device: device(p.device) for p in points}, overlap=True)
    devices = {d: replace(device(d), efficiency=e, mem_efficiency=m) for d, (e, m) in fitted.items()}
    factors = ", ".join(f"{d} {e:.3f}/{m:.3f}" for d, (e, m) in fitted.items())
    print(f"classic roofline fit: decode context {context}; efficiency/mem_efficiency {factors}")
    return mape(with_small_batch_group(predict_rows(points, devices, context, overlap=True)))


def print_summary(rows: list[Row], compare: dict[tuple[str, str], float] | None) -> None:
    usable = with_small_batch_group([r for r in rows if r.point.usable])
    context = catalog_calibration()["decode_context"]
    print(f"\nMAPE per device and mode (fitted points only; decode context {context})")
    header = f"{'device':10} {'mode':10} {'points':>6} {'efficiency':>10} {'mem_eff':>7} {'MAPE %':>7}"
    print(header + (f" {'classic max %':>13}" if compare else ""))
    counts = Counter((r.point.device, r.point.mode) for r in usable)
    for key, value in sorted(mape(usable).items()):
        spec = device(key[0])
        line = (f"{key[0]:10} {key[1]:10} {counts[key]:6d} "
                f"{spec.efficiency:10.3f} {spec.mem_efficiency:7.3f} {value:7.1f}")
        print(line + (f" {compare[key]:13.1f}" if compare else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--all", action="store_true", help="also list points too coarse to fit")
    parser.add_argument("--summary", action="store_true", help="only the MAPE table")
    parser.add_argument("--compare", action="store_true", help="also fit the classic max roofline")
    args = parser.parse_args(argv)
    helix_root = args.data / "profiles_helix_llm_layer_latency"
    rows = calibration_rows(helix_root, usable_only=not args.all)
    if not args.summary:
        print_rows(rows)
    print_summary(rows, classic_roofline_mape(helix_root) if args.compare else None)


if __name__ == "__main__":
    main()
