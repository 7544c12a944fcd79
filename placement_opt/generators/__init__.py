"""Seeded scenario generators: realistic, feasible instances in four families.

::

    import placement_opt as po
    from placement_opt.generators import generate, FAMILIES

    problem = generate("smart-city", seed=3, size="m")           # a Problem
    problem = generate("topology-zoo", seed=0, topology="Geant2012", nodes=200, workloads=50)
    po.save_instance(problem, "city-m.json")

Families (``docs/generators.md`` describes each one, its parameters and the data
behind it):

``smart-city``
    A metro aggregation ring/mesh of sites (switches) with MEC GPU servers, user
    devices on 5G, a regional cloud behind a backhaul.
``v2x``
    Vehicles (Jetson Orin class) on a road, road-side units with edge GPUs along
    it, a zonal MEC and a regional cloud.
``industrial``
    A factory on private 5G and industrial Ethernet: cameras and sensors as
    sources, PLCs as sinks, trusted on-premise servers, an untrusted cloud;
    every workload keeps its first layers on premise.
``topology-zoo``
    The same edge layering over a real Topology Zoo network: PoPs host MEC
    servers, link latency from great-circle distance.

Layout: each family is one module (``smart_city``, ``v2x``, ``industrial``,
``topology_zoo``) holding its record ``FAMILY`` (a :class:`Family`: parameters,
size presets, device mix, trust levels, defaults and network builder) and its
builder; :data:`FAMILIES` maps names to these records.  The shared machinery
lives in ``params`` (parameters and their checks), ``family`` (the record and the
resolved configuration of a run), ``models`` (model records), ``build`` (nodes,
links, node counts), ``workloads`` (workloads, rates, SLOs) and ``reference``
(:func:`reference_assignment`).  Family modules import only the shared ones.

Every generator is deterministic in ``seed``: the same seed and parameters give
the same instance (with the same numpy version).  Random draws come from
independent streams (network, nodes, radio, workloads, SLOs), so changing the
workload count does not change the network (unless the cloud needs more nodes to
hold the workloads' state).

Feasibility by construction: the generator builds a *reference placement*
(:func:`reference_assignment`: each workload's private prefix on a trusted
non-cloud node, the rest on a chain of cloud nodes), caps the request rates so
that it loads no node or link above ``reference_load * max_utilization``, and
sets every SLO to ``slack`` times the workload's latency under that placement
(``slack`` drawn from ``slo_slack``, >= 1).  The reference placement is
therefore feasible; better placements usually exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import did_you_mean
from ..problem import Problem
from ..topologies import list_topologies
from .family import Family
from .industrial import FAMILY as INDUSTRIAL
from .industrial import industrial
from .params import COMMON_PARAMS, SIZES, Param
from .reference import reference_assignment
from .smart_city import FAMILY as SMART_CITY
from .smart_city import smart_city
from .topology_zoo import FAMILY as TOPOLOGY_ZOO
from .topology_zoo import topology_zoo
from .v2x import FAMILY as V2X
from .v2x import v2x
from .workloads import make_problem

# The functions smart_city, v2x, industrial and topology_zoo shadow their modules
# as package attributes (as placement_opt.solve does); import a family's module
# with ``from placement_opt.generators.v2x import FAMILY``.

__all__ = [
    "COMMON_PARAMS",
    "FAMILIES",
    "PRESETS",
    "SIZES",
    "Family",
    "Param",
    "family_params",
    "generate",
    "industrial",
    "list_topologies",
    "reference_assignment",
    "smart_city",
    "topology_zoo",
    "v2x",
]

#: The scenario families, name -> record.
FAMILIES: dict[str, Family] = {f.name: f for f in (SMART_CITY, V2X, INDUSTRIAL, TOPOLOGY_ZOO)}

#: Size presets per family: ``PRESETS[family][size]`` holds ``nodes``,
#: ``workloads`` and ``model`` (override any of them with a parameter).
PRESETS: dict[str, Mapping[str, Mapping[str, Any]]] = {name: f.presets for name, f in FAMILIES.items()}


def _family(name: str) -> Family:
    if name not in FAMILIES:
        hint = did_you_mean(str(name), list(FAMILIES)) or "known: " + ", ".join(FAMILIES)
        raise ValueError(f"unknown scenario family {name!r} ({hint})")
    return FAMILIES[name]


def family_params(family: str) -> dict[str, Param]:
    """All parameters a family accepts, with their defaults and meaning.

    Parameters
    ----------
    family
        A name in :data:`FAMILIES`.

    Returns
    -------
    dict
        ``{name: Param}``: :data:`COMMON_PARAMS` first, then the family's own.

    Raises
    ------
    ValueError
        For an unknown family (with a did-you-mean hint).
    """
    return _family(family).all_params


def generate(family: str, seed: int = 0, size: str = "s", **params: Any) -> Problem:
    """Generate an instance of a scenario family.

    Parameters
    ----------
    family
        One of :data:`FAMILIES`: ``"smart-city"``, ``"v2x"``, ``"industrial"``,
        ``"topology-zoo"``.
    seed
        Non-negative integer; the same seed and parameters give the same instance.
    size
        Preset ``"s"`` (~10 nodes), ``"m"`` (~20-24) or ``"l"`` (~120).
    **params
        Overrides: see :func:`family_params` (``nodes``, ``workloads``, ``model``,
        ``mode``, ``dtype``, ``objective``, ``utilization``, ...).

    Raises
    ------
    ValueError
        For an unknown family, size or parameter (with a did-you-mean hint), or
        parameters that leave no feasible instance (e.g. too few nodes).
    """
    return make_problem(_family(family), seed, size, params)
