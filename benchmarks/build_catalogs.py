"""Build the package's model and device catalogs from the shared real data.

Reads ``model_hyperparams.csv`` and ``device_specs.csv`` (facts, with a source per
row) and the Helix per-layer latency profiles (Apache-2.0), and writes
``placement_opt/data/models.json`` and ``placement_opt/data/devices.json``.
The JSON files are committed; re-run this script only when the data or the
calibration method changes::

    .venv/bin/python benchmarks/build_catalogs.py [--data /work/shared/data]

Numbers that the CSVs give as free text (``"8 GB LPDDR5"``, ``"40 INT8 TOPS
sparse"``) are chosen by hand in :data:`DEVICES` below, each with the derivation
written next to it; the script checks that every number it takes directly from a
row really occurs in that row's text.  The efficiency factors are fitted by
:func:`placement_opt.calibration.fit_catalog` against the Helix
measurements (see ``docs/profiles.md``).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from placement_opt.calibration import fit_catalog
from placement_opt.profiles.devices import DeviceSpec

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
OUT_DIR = REPO / "placement_opt" / "data"
GIB = 2**30
GB_S = 1e9

# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #

#: canonical name -> (row label in model_hyperparams.csv, architecture facts that
#: the CSV does not list; from the same configs the row cites)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "llama-2-7b": ("Llama-2-7B", {}),
    "llama-2-13b": ("Llama-2-13B", {}),
    "llama-2-70b": ("Llama-2-70B", {}),
    "llama-1-30b": ("LLaMA-1-30B", {}),
    "llama-3-8b": ("Llama-3-8B", {}),
    "mistral-7b": ("Mistral-7B-v0.1", {}),
    "qwen2.5-7b": ("Qwen2.5-7B", {"qkv_bias": True}),
    "phi-3-mini": ("Phi-3-mini-4k", {}),
    "vit-b16": ("ViT-B/16 (224)", {"kind": "vit"}),
    "vit-l16": ("ViT-L/16 (224)", {"kind": "vit"}),
    "bert-base": ("BERT-base-uncased", {"kind": "bert"}),
    "bert-large": ("BERT-large-uncased", {"kind": "bert"}),
}

#: defaults per kind: decoders use RMSNorm, no biases, untied embeddings (true of
#: every decoder listed); ViT and BERT use LayerNorm and biased linears.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "decoder": {"norm": "rmsnorm", "linear_bias": False, "qkv_bias": False},
    "vit": {
        "norm": "layernorm",
        "linear_bias": True,
        "qkv_bias": False,
        "image_size": 224,
        "patch_size": 16,
        "channels": 3,
        "num_classes": 1000,
    },
    "bert": {"norm": "layernorm", "linear_bias": True, "qkv_bias": False, "type_vocab_size": 2, "num_classes": 2},
}


def _leading_int(text: str) -> int | None:
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) if match else None


def model_entry(name: str, row: dict[str, str]) -> dict[str, Any]:
    """One models.json entry from a CSV row plus the hand-kept facts."""
    label, extra = MODELS[name]
    kind = extra.get("kind", "decoder")
    entry: dict[str, Any] = {
        "name": name,
        "label": label,
        "family": row["family"],
        "kind": kind,
        "num_hidden_layers": int(row["num_hidden_layers"]),
        "hidden_size": int(row["hidden_size"]),
        "intermediate_size": int(row["intermediate_size"]),
        "num_attention_heads": int(row["num_attention_heads"]),
        "num_key_value_heads": int(row["num_key_value_heads"]),
        "head_dim": int(row["head_dim"]),
        "vocab_size": _leading_int(row["vocab_size"]) if kind != "vit" else 0,
        "max_position_embeddings": _leading_int(row["max_position_embeddings"]) or 0,
        "mlp": "swiglu" if row["mlp"].lower().startswith("swiglu") else "gelu",
        "source": row["source"],
    }
    entry.update(KIND_DEFAULTS[kind])
    entry.update({k: v for k, v in extra.items() if k != "kind"})
    return entry


def build_models(csv_path: Path) -> list[dict[str, Any]]:
    rows = {r["model"]: r for r in csv.DictReader(csv_path.open())}
    return [model_entry(name, rows[label]) for name, (label, _) in MODELS.items()]


# --------------------------------------------------------------------------- #
# Devices
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class DeviceRow:
    """Hand-chosen numbers for one catalog device, with their derivation."""

    label: str  # row in device_specs.csv
    peak_flops: float  # dense FP16 FLOP/s (see peak_note)
    memory_gib: float
    mem_bandwidth_gbs: float  # decimal GB/s
    power_w: float
    tier: str
    peak_note: str
    quoted: tuple[str, ...]  # numbers that must occur verbatim in the CSV row


def _orin(tensor_cores: int, clock_ghz: float) -> float:
    """Dense FP16 tensor FLOP/s of an Orin GPU: 512 FLOP/clock per tensor core."""
    return tensor_cores * clock_ghz * 1e9 * 512


DEVICES: dict[str, DeviceRow] = {
    "jetson-orin-nano": DeviceRow(
        "Jetson Orin Nano 8GB", _orin(32, 0.625), 8, 68, 15, "device",
        "GPU only: 32 tensor cores x 625 MHz x 512 dense FP16 FLOP/clk = 10.2 TFLOPS "
        "(x4 = the datasheet's 40 sparse INT8 TOPS); original (non-Super) clocks and 68 GB/s",
        ("40", "32 Tensor", "68", "15"),
    ),
    "jetson-orin-nx": DeviceRow(
        "Jetson Orin NX 16GB", _orin(32, 0.918), 16, 102.4, 25, "device",
        "GPU only (the DLAs are not used by LLM runtimes): 32 tensor cores x 918 MHz x 512 "
        "= 15.0 TFLOPS dense FP16 (60 sparse INT8 TOPS of the module's 100)",
        ("32 Tensor", "102.4", "25"),
    ),
    "jetson-agx-orin": DeviceRow(
        "Jetson AGX Orin 64GB", _orin(64, 1.3), 64, 204.8, 60, "edge",
        "GPU only: 64 tensor cores x 1.3 GHz x 512 = 42.6 TFLOPS dense FP16 "
        "(170 sparse INT8 TOPS of the module's 275)",
        ("64 Tensor", "204.8", "60"),
    ),
    "raspberry-pi-5": DeviceRow(
        "Raspberry Pi 5", 154e9, 8, 17.07, 25, "device",
        "CPU: 4 x 2.4 GHz x 16 FLOP/cycle NEON FMA = 154 GFLOPS (FP32; CPU runtimes compute "
        "FP16 weights in FP32); 8 GB model; power is the 5 V / 5 A supply rating (an upper bound)",
        ("154", "4267", "8"),
    ),
    "apple-m1": DeviceRow(
        "Apple M1", 2.6e12, 16, 68.25, 20, "device",
        "8-core GPU 2.6 TFLOPS (Apple GPUs run FP16 at the FP32 rate); 16 GB; upper end of ~10-20 W",
        ("2.6", "16 GB", "68.25", "20"),
    ),
    "apple-m2": DeviceRow(
        "Apple M2", 3.6e12, 24, 100, 20, "device",
        "10-core GPU ~3.6 TFLOPS (FP16 at the FP32 rate); 24 GB; ~20 W",
        ("3.6", "24 GB", "100", "20"),
    ),
    "rtx-3060": DeviceRow(
        "RTX 3060 12GB", 112 * 1.777e9 * 128, 12, 360, 170, "edge",
        "dense FP16 tensor with FP32 accumulation (what FP16 inference GEMMs use): GeForce Ampere "
        "runs it at half the FP16-accumulate rate: 101 sparse / 2 / 2 = 112 tensor cores x 1.777 GHz "
        "x 128 FLOP/clock = 25.5 TFLOPS",
        ("101", "12 GB", "360", "170"),
    ),
    "rtx-4090": DeviceRow(
        "RTX 4090", 165e12, 24, 1008, 450, "edge",
        "165 TFLOPS dense FP16 tensor (FP32 accumulation; 330 sparse)",
        ("165", "24 GB", "1008", "450"),
    ),
    "t4": DeviceRow(
        "NVIDIA T4 (Helix profiles)", 65e12, 16, 320, 70, "edge",
        "65 TFLOPS FP16 tensor (mixed precision, dense)",
        ("65", "16 GB", "320", "70"),
    ),
    "l4": DeviceRow(
        "NVIDIA L4 (Helix profiles)", 121e12, 24, 300, 72, "edge",
        "121 TFLOPS FP16 tensor dense (242 sparse)",
        ("121", "24 GB", "300", "72"),
    ),
    "v100": DeviceRow(
        "NVIDIA V100 16GB", 125e12, 16, 900, 300, "cloud",
        "125 TFLOPS FP16 tensor, SXM2 (the Google Cloud V100 that Helix measured is SXM2); 300 W",
        ("125", "16 GB", "900", "300"),
    ),
    "a100-40gb": DeviceRow(
        "NVIDIA A100 40GB SXM", 312e12, 40, 1555, 400, "cloud",
        "312 TFLOPS FP16/BF16 tensor dense",
        ("312", "40 GB", "1555", "400"),
    ),
    "a100-80gb": DeviceRow(
        "NVIDIA A100 80GB SXM", 312e12, 80, 2039, 400, "cloud",
        "312 TFLOPS FP16/BF16 tensor dense",
        ("312", "80 GB", "2039", "400"),
    ),
    "h100-sxm": DeviceRow(
        "NVIDIA H100 SXM 80GB", 989e12, 80, 3350, 700, "cloud",
        "989 TFLOPS FP16/BF16 tensor dense (1979 sparse)",
        ("989", "80 GB", "3350", "700"),
    ),
    "h100-pcie": DeviceRow(
        "NVIDIA H100 PCIe 80GB", 756e12, 80, 2000, 350, "cloud",
        "756 TFLOPS FP16/BF16 tensor dense; upper end of 300-350 W",
        ("756", "80 GB", "2000", "350"),
    ),
}

#: Helix's multi-GPU nodes: ``N`` GPUs of one type, tensor-parallel in one VM.
#: Modelled as one device with N times the peak, bandwidth, memory and power; the
#: fitted efficiencies absorb the all-reduce overhead of tensor parallelism.
MULTI_GPU: dict[str, tuple[str, int]] = {"l4x2": ("l4", 2), "t4x2": ("t4", 2), "t4x4": ("t4", 4)}


def check_quoted(name: str, row: DeviceRow, csv_row: dict[str, str]) -> None:
    text = " ".join(csv_row.values())
    missing = [q for q in row.quoted if q not in text]
    if missing:
        raise SystemExit(f"{name}: {missing} not found in device_specs.csv row {row.label!r}")


def base_device(name: str, row: DeviceRow, csv_row: dict[str, str]) -> DeviceSpec:
    """A catalog device before calibration (efficiencies still unset)."""
    source = f"{csv_row['source']} | peak: {row.peak_note}"
    return DeviceSpec(
        name=name,
        peak_flops=row.peak_flops,
        efficiency=1.0,
        memory=row.memory_gib * GIB,
        mem_bandwidth=row.mem_bandwidth_gbs * GB_S,
        mem_efficiency=1.0,
        power_w=float(row.power_w),
        tier=row.tier,
        source=source,
    )


def multi_gpu_device(name: str, single: DeviceSpec, n: int) -> DeviceSpec:
    return DeviceSpec(
        name=name,
        multi_gpu=True,
        peak_flops=n * single.peak_flops,
        efficiency=1.0,
        memory=n * single.memory,
        mem_bandwidth=n * single.mem_bandwidth,
        mem_efficiency=1.0,
        power_w=n * single.power_w,
        tier=single.tier,
        source=f"{n} x {single.name} in one node, tensor-parallel (Helix {name} profiles); {single.source}",
    )


def build_base_devices(csv_path: Path) -> dict[str, DeviceSpec]:
    rows = {r["device"]: r for r in csv.DictReader(csv_path.open())}
    devices = {}
    for name, row in DEVICES.items():
        check_quoted(name, row, rows[row.label])
        devices[name] = base_device(name, row, rows[row.label])
    for name, (single, n) in MULTI_GPU.items():
        devices[name] = multi_gpu_device(name, devices[single], n)
    return devices


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    helix = args.data / "profiles_helix_llm_layer_latency"

    models = build_models(args.data / "model_hyperparams.csv")
    write_json(
        OUT_DIR / "models.json",
        {"generated_by": "benchmarks/build_catalogs.py", "source": "model_hyperparams.csv", "models": models},
    )

    base = build_base_devices(args.data / "device_specs.csv")
    fitted, meta = fit_catalog(base, helix)
    records = []
    for spec in fitted.values():
        records.append(asdict(spec))
    meta.update(
        {
            "generated_by": "benchmarks/build_catalogs.py",
            "source": "device_specs.csv; efficiencies fitted to Helix profiles (Apache-2.0)",
        }
    )
    write_json(OUT_DIR / "devices.json", {"calibration": meta, "devices": records})
    print(f"wrote {len(models)} models and {len(records)} devices to {OUT_DIR}")


if __name__ == "__main__":
    main()
