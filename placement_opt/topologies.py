"""Network building blocks for the scenario generators (:mod:`placement_opt.generators`).

Everything here returns SI units (bytes/s, seconds, metres, J/byte).

Data shipped with the package (built from the real data by
``scripts/build_generator_data.py``; see ``docs/generators.md``):

* ``data/net_5gophers.json``: quantile tables of commercial 5G smartphone
  throughput and RTT from 5Gophers 1.0 (Narayanan et al., "A First Look at
  Commercial 5G Performance on Smartphones", WWW 2020; CC-BY-4.0).  Radio links
  sample their bandwidth and first-hop latency from these tables.
* ``data/topology_zoo.json``: nine Internet Topology Zoo networks (Knight et al.,
  "The Internet Topology Zoo", IEEE JSAC 29(9), 2011; CC-BY-4.0) as PoPs with
  coordinates and links with a speed where the source gives one.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from .errors import did_you_mean

# --------------------------------------------------------------------------- #
# Units and physical constants
# --------------------------------------------------------------------------- #

MBIT_S = 1e6 / 8  #: bytes/s in one Mbit/s
GBIT_S = 1e9 / 8  #: bytes/s in one Gbit/s
MS = 1e-3  #: seconds in one millisecond

FIBER_SPEED = 2.0e8  #: m/s, light in optical fibre (refractive index ~1.5)
HOP_DELAY = 1e-4  #: s, switching/forwarding delay added to every wired WAN/metro link
LAN_LATENCY = 5e-5  #: s, one hop inside a rack or a building (cut-through switch + cable)
DC_LATENCY = 1e-5  #: s, one hop inside a data centre fabric
EARTH_RADIUS = 6_371_008.8  #: m, mean Earth radius (IUGG)

#: Wired link bandwidths, bytes/s.
ETH_1G = 1 * GBIT_S
ETH_10G = 10 * GBIT_S
ETH_100G = 100 * GBIT_S

#: Default bandwidth of a Topology Zoo link whose speed the source does not give:
#: 10 Gbit/s, the most common stated speed among the converted links (and the
#: OC-192 of Abilene).
ZOO_DEFAULT_BANDWIDTH = 10 * GBIT_S

#: Energy per byte carried, J/byte, by link kind.  Order-of-magnitude assumptions
#: (not measured here): a cellular radio link costs ~100 nJ/bit at the device,
#: a wired LAN/metro hop ~1 nJ/bit, a long-haul WAN path ~10 nJ/bit.
ENERGY_PER_BYTE = {
    "radio": 8e-7,
    "lan": 8e-9,
    "metro": 8e-9,
    "wan": 8e-8,
}


# --------------------------------------------------------------------------- #
# Package data
# --------------------------------------------------------------------------- #


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("placement_opt").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


def net5g_data() -> dict[str, Any]:
    """The 5Gophers quantile tables (Mbit/s, ms), with their source and notes."""
    return _load("net_5gophers.json")


def zoo_data() -> dict[str, Any]:
    """All converted Topology Zoo networks, with source, license and notes."""
    return _load("topology_zoo.json")


# --------------------------------------------------------------------------- #
# Sampling from measured quantiles
# --------------------------------------------------------------------------- #


def sample_quantiles(rng: np.random.Generator, levels: Sequence[float], values: Sequence[float],
                     size: int) -> np.ndarray:
    """Draw ``size`` values by inverse-CDF sampling from a quantile table.

    ``values[k]`` is the ``levels[k]`` quantile; the CDF is interpolated linearly
    between them and the tails beyond the first and last level are cut, so every
    draw lies in ``[values[0], values[-1]]``.
    """
    lv = np.asarray(levels, dtype=float)
    u = rng.uniform(lv[0], lv[-1], size)
    return np.interp(u, lv, np.asarray(values, dtype=float))


#: Radio profiles: (throughput table, first-hop RTT table) in net_5gophers.json.
RADIO_PROFILES: dict[str, tuple[str, str]] = {
    "5g": ("throughput_5g_mbps", "rtt_5g_first_hop_ms"),
    "5g-driving": ("throughput_5g_driving_mbps", "rtt_5g_first_hop_ms"),
}


def _radio_profile(profile: str) -> tuple[str, str]:
    if profile not in RADIO_PROFILES:
        raise ValueError(f"unknown radio profile {profile!r}"
                         + _hint(profile, RADIO_PROFILES))
    return RADIO_PROFILES[profile]


def radio_bandwidth_range(profile: str = "5g") -> tuple[float, float]:
    """Smallest and largest bandwidth (bytes/s) that :func:`sample_radio` can draw."""
    table = net5g_data()[_radio_profile(profile)[0]]
    return table[0] * MBIT_S, table[-1] * MBIT_S


def sample_radio(rng: np.random.Generator, size: int, profile: str = "5g") -> tuple[np.ndarray, np.ndarray]:
    """Bandwidth (bytes/s) and one-way latency (s) of ``size`` device-to-edge radio links.

    Bandwidth is drawn from the measured per-second throughput distribution of the
    profile (5Gophers, Narayanan et al. WWW 2020); latency is half a first-hop RTT
    drawn from the measured 5G ping traces (median RTT 25.8 ms).  Bandwidth and
    latency are drawn independently.
    """
    thr_key, rtt_key = _radio_profile(profile)
    data = net5g_data()
    levels = data["levels"]
    bw = sample_quantiles(rng, levels, data[thr_key], size) * MBIT_S
    lat = sample_quantiles(rng, levels, data[rtt_key], size) * MS / 2
    return bw, lat


def measured_backhaul_latency() -> float:
    """One-way latency (s) from the radio first hop to a regional cloud.

    Half the difference between the median 5G RTT to a US-East server and the
    median 5G first-hop RTT in 5Gophers: (53.5 - 25.8) / 2 ms = 13.85 ms.
    """
    data = net5g_data()
    mid = data["levels"].index(0.5)
    return (data["rtt_5g_us_east_ms"][mid] - data["rtt_5g_first_hop_ms"][mid]) * MS / 2


# --------------------------------------------------------------------------- #
# Geometry
# --------------------------------------------------------------------------- #


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))


def fiber_latency(distance_m: float, hop_delay: float = HOP_DELAY, speed: float = FIBER_SPEED) -> float:
    """One-way latency (s) of a fibre link: propagation plus one switching delay."""
    return distance_m / speed + hop_delay


def points_in_disc(rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
    """``n`` points uniformly distributed in a disc of ``radius`` metres, shape (n, 2)."""
    r = radius * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


def nearest(points: np.ndarray, sites: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of the ``k`` nearest sites to every point, shape (n, k), nearest first."""
    d = np.linalg.norm(points[:, None, :] - sites[None, :, :], axis=2)
    k = min(k, sites.shape[0])
    return np.argsort(d, axis=1, kind="stable")[:, :k]


# --------------------------------------------------------------------------- #
# Topology Zoo
# --------------------------------------------------------------------------- #


def list_topologies() -> list[str]:
    """Names of the Topology Zoo networks shipped with the package."""
    return list(zoo_data()["topologies"])


def zoo_topology(name: str) -> dict[str, Any]:
    """One converted Topology Zoo network: ``nodes`` (label, lat, lon[, approx]) and
    ``edges`` (source, target indices[, bps]).  Names match case-insensitively."""
    topos = zoo_data()["topologies"]
    if name in topos:
        return topos[name]
    folded = {k.lower(): k for k in topos}
    if name.lower() in folded:
        return topos[folded[name.lower()]]
    extra = ""
    if name.lower() == "internet2":
        extra = " (Internet2.graphml has no coordinates; it is the same network as 'Abilene')"
    prefix = [k for k in topos if k.lower().startswith(name.lower())]
    if len(prefix) == 1:
        hint = f"; did you mean {prefix[0]!r}?"
    else:
        close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
        hint = f"; did you mean {folded[close[0]]!r}?" if close else "; known: " + ", ".join(topos)
    raise ValueError(f"unknown topology {name!r}{extra}{hint}")


def slug(text: str) -> str:
    """Lower-case id fragment: ``'New York'`` -> ``'new-york'``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "x"


# --------------------------------------------------------------------------- #
# Building an instance's network
# --------------------------------------------------------------------------- #


@dataclass
class NetBuilder:
    """Collects node and link records in the instance format, keeping ids unique."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    _node_ids: dict[str, int] = field(default_factory=dict)
    _link_ids: set[str] = field(default_factory=set)
    _pairs: set[tuple[str, str]] = field(default_factory=set)

    def add_node(self, record: dict[str, Any]) -> str:
        nid = record["id"]
        if nid in self._node_ids:
            raise ValueError(f"duplicate node id {nid!r}")
        self._node_ids[nid] = len(self.nodes)
        self.nodes.append(record)
        return nid

    def has_link(self, a: str, b: str) -> bool:
        return (a, b) in self._pairs or (b, a) in self._pairs

    def add_link(self, a: str, b: str, bandwidth: float, latency: float,
                 energy_per_byte: float = 0.0) -> str:
        """An undirected link; its id is ``a-b`` (the spec default) unless taken."""
        if a == b:
            raise ValueError(f"link joins node {a!r} to itself")
        for end in (a, b):
            if end not in self._node_ids:
                raise ValueError(f"link to unknown node {end!r}")
        rec: dict[str, Any] = {"source": a, "target": b, "bandwidth": float(bandwidth), "latency": float(latency)}
        if energy_per_byte:
            rec["energy_per_byte"] = float(energy_per_byte)
        lid = f"{a}-{b}"
        if lid in self._link_ids:
            k = 2
            while f"{lid}#{k}" in self._link_ids:
                k += 1
            lid = f"{lid}#{k}"
            rec = {"id": lid, **rec}
        self._link_ids.add(lid)
        self._pairs.add((a, b))
        self.links.append(rec)
        return lid



def _hint(name: str, known) -> str:
    hint = did_you_mean(name, list(known))
    if hint:
        return f"; {hint}"
    return "; known: " + ", ".join(known)
