#!/usr/bin/env python
"""Build the package data files used by the scenario generators.

Reads the read-only real data in ``../shared/data`` (relative to the repository,
or ``--data DIR``) and writes two small JSON files that the package ships:

``placement_opt/data/topology_zoo.json``
    Nine Internet Topology Zoo networks (Knight et al., IEEE JSAC 2011,
    CC-BY-4.0) as PoPs with latitude/longitude and links with a speed in
    bits/s where the source gives one.
``placement_opt/data/net_5gophers.json``
    Quantile tables of commercial 5G/4G smartphone throughput and RTT from
    5Gophers 1.0 (Narayanan et al., "A First Look at Commercial 5G Performance
    on Smartphones", WWW 2020, CC-BY-4.0).

The package never reads ``../shared`` at run time; re-run this script only to
regenerate the committed output::

    .venv/bin/python scripts/build_generator_data.py

Conversion rules are documented in ``docs/generators.md`` and repeated in each
output file's ``notes``.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "placement_opt" / "data"

# Topologies with usable coordinates.  Internet2.graphml has no coordinates at
# all (and is the same network as Abilene), so it is left out.
TOPOLOGIES = ["Abilene", "Bics", "Cogentco", "Garr201201", "Geant2012", "GtsCe", "Nordu2010", "Sinet", "Switch"]

QUANTILE_LEVELS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
                   0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99]


# --------------------------------------------------------------------------- #
# Topology Zoo
# --------------------------------------------------------------------------- #

_LABEL_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kMGT])bps\s*$", re.I)
_OC = re.compile(r"\bOC-?(\d+)c?\b", re.I)
_UNITS = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def _edge_speed(data: dict) -> tuple[float | None, str | None]:
    """Speed in bits/s of one GraphML edge, and where it came from."""
    raw = data.get("LinkSpeedRaw")
    if raw is not None and float(raw) > 0:
        return float(raw), "LinkSpeedRaw"
    label = str(data.get("LinkLabel") or "")
    m = _LABEL_SPEED.match(label)
    if m:
        return float(m.group(1)) * _UNITS[m.group(2).lower()], "LinkLabel"
    m = _OC.search(label)
    if m:  # SONET OC-n: n x 51.84 Mbit/s
        return int(m.group(1)) * 51.84e6, "LinkLabel"
    return None, None


def convert_topology(path: Path) -> dict:
    g = nx.read_graphml(path)
    simple = nx.MultiGraph(g)
    # 1. Drop external nodes (peers and upstreams of other networks: Internal == 0).
    keep = [n for n, d in simple.nodes(data=True) if d.get("Internal", 1) != 0]
    h = simple.subgraph(keep).copy()
    h.remove_edges_from(list(nx.selfloop_edges(h)))
    # 2. Drop leaves without coordinates; place other coordinate-less nodes at the
    #    centroid of their located neighbours (repeat until nothing changes).
    located = {n: (d["Latitude"], d["Longitude"]) for n, d in h.nodes(data=True)
               if "Latitude" in d and "Longitude" in d}
    leaves = [n for n in h.nodes if n not in located and h.degree(n) <= 1]
    h.remove_nodes_from(leaves)
    approx: set = set()
    changed = True
    while changed:
        changed = False
        for n in h.nodes:
            if n in located:
                continue
            nbrs = [located[m] for m in h.neighbors(n) if m in located and m != n]
            if nbrs:
                located[n] = (float(np.mean([p[0] for p in nbrs])), float(np.mean([p[1] for p in nbrs])))
                approx.add(n)
                changed = True
    h.remove_nodes_from([n for n in list(h.nodes) if n not in located])
    # 3. Largest connected component.
    comp = max(nx.connected_components(h), key=len)
    h = h.subgraph(comp).copy()
    order = sorted(h.nodes, key=lambda n: int(n) if str(n).isdigit() else str(n))
    index = {n: k for k, n in enumerate(order)}
    nodes = []
    for n in order:
        lat, lon = located[n]
        label = str(h.nodes[n].get("label") or f"node{n}")
        rec = {"label": label, "lat": round(float(lat), 5), "lon": round(float(lon), 5)}
        if n in approx:
            rec["approx"] = True
        nodes.append(rec)
    # 4. Merge parallel edges: speeds of the known parallel links add up.
    merged: dict[tuple[int, int], dict] = {}
    for u, v, d in h.edges(data=True):
        a, b = sorted((index[u], index[v]))
        speed, origin = _edge_speed(d)
        rec = merged.setdefault((a, b), {"source": a, "target": b, "bps": None, "speed_from": None, "parallel": 0})
        rec["parallel"] += 1
        if speed is not None:
            rec["bps"] = (rec["bps"] or 0.0) + speed
            rec["speed_from"] = origin if rec["speed_from"] in (None, origin) else "mixed"
    edges = []
    for key in sorted(merged):
        rec = merged[key]
        out = {"source": rec["source"], "target": rec["target"]}
        if rec["bps"] is not None:
            out["bps"] = rec["bps"]
            out["speed_from"] = rec["speed_from"]
        if rec["parallel"] > 1:
            out["parallel"] = rec["parallel"]
        edges.append(out)
    return {
        "network": str(g.graph.get("Network", path.stem)).strip(),
        "date": str(g.graph.get("NetworkDate", "")),
        "geo_extent": str(g.graph.get("GeoExtent", "")),
        "nodes": nodes,
        "edges": edges,
    }


def build_topologies(data_dir: Path) -> dict:
    src = data_dir / "topology_zoo" / "graphml_selected"
    out = {
        "source": "The Internet Topology Zoo, Knight et al., IEEE JSAC 29(9), 2011; GraphML from "
                  "https://github.com/mroughan/InternetTopologyZoo (commit a725bbc4763bf1d0eaea64089ba00c2fe9427fe3)",
        "license": "CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/); converted by "
                   "scripts/build_generator_data.py",
        "notes": [
            "External nodes (Internal == 0) are dropped; self-loops are dropped.",
            "Leaves without coordinates are dropped; other nodes without coordinates are placed at the "
            "centroid of their located neighbours and marked approx.",
            "Only the largest connected component is kept.",
            "bps: link speed in bits/s from LinkSpeedRaw, else parsed from LinkLabel ('10 Gbps', 'OC-192'); "
            "absent when unknown. Parallel links are merged, their known speeds added.",
            "Internet2.graphml is not included: it has no coordinates.",
        ],
        "topologies": {},
    }
    for name in TOPOLOGIES:
        out["topologies"][name] = convert_topology(src / f"{name}.graphml")
    return out


# --------------------------------------------------------------------------- #
# 5Gophers
# --------------------------------------------------------------------------- #


def _q(values, levels=QUANTILE_LEVELS) -> list[float]:
    return [round(float(x), 4) for x in np.quantile(np.asarray(values, dtype=float), levels)]


def build_net5g(data_dir: Path) -> dict:
    base = data_dir / "net_5gophers_5g"
    thr = pd.read_csv(base / "All-Carriers" / "01-Throughput" / "data.csv")
    stationary = thr[(thr.seq_num > 0) & (thr.throughput_mbps > 0)].throughput_mbps
    drive = []
    zero = total = 0
    for f in sorted(glob.glob(str(base / "All-Carriers" / "03-User-Mobility" / "car-driving-trace-*.csv"))):
        d = pd.read_csv(f)
        for col in [c for c in d.columns if c.endswith("_throughput_mbps")]:
            total += len(d[col])
            zero += int((d[col] <= 0).sum())
            drive.extend(d[col][d[col] > 0].tolist())
    ping_logs = sorted(glob.glob(str(base / "mmWave-only" / "04-Ping-Traces-Latency-Tests" / "*.log")))
    pings = pd.concat([pd.read_csv(f) for f in ping_logs])

    def rtt(net, target):
        return pings[(pings.network_type == net) & (pings.target_server == target)].rtt_in_ms

    return {
        "source": "5Gophers 1.0: Narayanan, Ramadan, Carpenter, Liu, Liu, Qian, Zhang, 'A First Look at "
                  "Commercial 5G Performance on Smartphones', The Web Conference (WWW) 2020, "
                  "doi:10.1145/3366423.3380169; copy from https://github.com/jhzuo/Offloading-FL "
                  "(commit 7133b70d7dd75e9234e26d9df3b4896f52a0ea4b, trace_data/5Gophers-v1.0/)",
        "license": "CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/); quantiles computed by "
                   "scripts/build_generator_data.py",
        "levels": QUANTILE_LEVELS,
        "notes": [
            "Quantiles at 'levels' of the pooled samples; throughput in Mbit/s, RTT in ms (the generators "
            "convert to bytes/s and seconds).",
            "throughput_5g: All-Carriers/01-Throughput, per-second downlink throughput of all 120 runs "
            "(Sprint, T-Mobile, Verizon; 1 and 8 TCP connections; US-East and US-West servers), without "
            "the first second of each run (TCP slow start) and without zero-throughput seconds (outages).",
            "throughput_5g_driving: All-Carriers/03-User-Mobility car-driving-trace-1/2, per-second, three "
            "carriers pooled, zero seconds excluded (outage_fraction gives their share).",
            "rtt_*: mmWave-only/04-Ping-Traces, ICMP RTT to the first hop and to US-East/US-West servers.",
        ],
        "throughput_5g_mbps": _q(stationary),
        "throughput_5g_driving_mbps": _q(drive),
        "rtt_5g_first_hop_ms": _q(rtt("5G", "First-Hop")),
        "rtt_4g_first_hop_ms": _q(rtt("4G", "First-Hop")),
        "rtt_5g_us_east_ms": _q(rtt("5G", "US-East")),
        "rtt_5g_us_west_ms": _q(rtt("5G", "US-West")),
        "counts": {
            "throughput_5g": int(len(stationary)),
            "throughput_5g_driving": len(drive),
            "rtt_5g_first_hop": int(len(rtt("5G", "First-Hop"))),
            "rtt_5g_us_east": int(len(rtt("5G", "US-East"))),
        },
        "driving_outage_fraction": round(zero / total, 4) if total else 0.0,
    }


def _dump(data: dict, path: Path) -> None:
    text = json.dumps(data, indent=1, sort_keys=False, allow_nan=False)
    # Keep node and edge records on one line each: the file stays small and diffable.
    text = re.sub(r"\{\n\s+([^{}\[\]]*?)\n\s+\}", lambda m: "{" + re.sub(r"\n\s+", " ", m.group(1)) + "}", text)
    text = re.sub(r"\[\n\s+([-\d., \n]*?)\n\s+\]", lambda m: "[" + re.sub(r"\n\s+", " ", m.group(1)) + "]", text)
    path.write_text(text + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # round-trip check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    topo = build_topologies(args.data)
    _dump(topo, args.out / "topology_zoo.json")
    net = build_net5g(args.data)
    _dump(net, args.out / "net_5gophers.json")
    for name, t in topo["topologies"].items():
        known = sum(1 for e in t["edges"] if "bps" in e)
        print(f"{name:12s} {len(t['nodes']):4d} PoPs {len(t['edges']):4d} links ({known} with speed)")
    print("5G median throughput (Mbit/s):", net["throughput_5g_mbps"][QUANTILE_LEVELS.index(0.5)],
          " first-hop RTT median (ms):", net["rtt_5g_first_hop_ms"][QUANTILE_LEVELS.index(0.5)])
    assert not math.isnan(net["throughput_5g_mbps"][0])


if __name__ == "__main__":
    main()
