"""Seeded scenario generators: realistic, feasible instances in five families, and
four hard families that run them in the regimes that matter.

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
``edge-cluster``
    An on-premise cluster of interchangeable hosts (a few GPU types, several
    identical hosts of each behind a rack switch) serving user devices at high
    load, as in PipeEdge's and Helix's clusters.

Hard families (:data:`HARD_FAMILIES`, recipes over a network family with the
common parameters ``memory_supply``, ``compute_load`` and ``model``):
``memory-tight`` (smart-city, supply 1.3 x demand), ``compute-tight`` (v2x, rates
saturating the reference), ``multi-model`` (topology-zoo, two Llama sizes and a
ViT) and ``symmetric-cluster`` (edge-cluster as it is).  ``generate`` accepts
their names.

Layout: each family is one module (``smart_city``, ``v2x``, ``industrial``,
``topology_zoo``, ``edge_cluster``) holding its record ``FAMILY`` (a :class:`Family`: parameters,
size presets, device mix, trust levels, defaults and network builder) and its
builder; :data:`FAMILIES` maps names to these records.  The shared machinery
lives in ``params`` (parameters and their checks), ``family`` (the record and the
resolved configuration of a run), ``models`` (model records), ``build`` (nodes,
links, node counts), ``workloads`` (workloads, rates, SLOs), ``reference``
(:func:`reference_assignment`) and ``hard`` (the hard recipes).  Family modules
import only the shared ones.

Every generator is deterministic in ``seed``: the same seed and parameters give
the same instance (with the same numpy version).  Random draws come from
independent streams (network, nodes, radio, workloads, SLOs), so changing the
workload count does not change the network (unless the cloud needs more nodes to
hold the workloads' state).

Feasibility by construction: the generator builds a *reference placement*
(:func:`reference_assignment`: each workload's private prefix on a trusted
non-cloud node, the rest on a chain of cloud nodes, or in the hard regimes on
chains spread over all hosts), caps the request rates so that it loads no node
or link above ``reference_load * max_utilization`` (with ``compute_load``:
scales them so that it saturates), and
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
from .edge_cluster import FAMILY as EDGE_CLUSTER
from .edge_cluster import edge_cluster
from .family import Family
from .hard import HARD_FAMILIES, HardFamily
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

# The functions smart_city, v2x, industrial, topology_zoo and edge_cluster shadow their modules
# as package attributes (as placement_opt.solve does); import a family's module
# with ``from placement_opt.generators.v2x import FAMILY``.

__all__ = [
    "COMMON_PARAMS",
    "FAMILIES",
    "HARD_FAMILIES",
    "PRESETS",
    "SIZES",
    "Family",
    "HardFamily",
    "Param",
    "edge_cluster",
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
FAMILIES: dict[str, Family] = {f.name: f for f in (SMART_CITY, V2X, INDUSTRIAL, TOPOLOGY_ZOO, EDGE_CLUSTER)}

#: Size presets per family: ``PRESETS[family][size]`` holds ``nodes``,
#: ``workloads`` and ``model`` (override any of them with a parameter).
PRESETS: dict[str, Mapping[str, Mapping[str, Any]]] = {name: f.presets for name, f in FAMILIES.items()}


def _family(name: str) -> Family:
    if name in HARD_FAMILIES:
        return FAMILIES[HARD_FAMILIES[name].base]
    if name not in FAMILIES:
        known = [*FAMILIES, *HARD_FAMILIES]
        hint = did_you_mean(str(name), known) or "known: " + ", ".join(known)
        raise ValueError(f"unknown scenario family {name!r} ({hint})")
    return FAMILIES[name]


def family_params(family: str) -> dict[str, Param]:
    """All parameters a family accepts, with their defaults and meaning.

    Parameters
    ----------
    family
        A name in :data:`FAMILIES` or :data:`HARD_FAMILIES` (a hard family
        accepts the parameters of its network family).

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
        One of :data:`FAMILIES` (``"smart-city"``, ``"v2x"``, ``"industrial"``,
        ``"topology-zoo"``, ``"edge-cluster"``) or of :data:`HARD_FAMILIES`
        (``"memory-tight"``, ``"compute-tight"``, ``"multi-model"``,
        ``"symmetric-cluster"``: a network family with the recipe's parameters,
        which ``params`` override).
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
    if family in HARD_FAMILIES:
        hard = HARD_FAMILIES[family]
        given = {key: value for key, value in params.items() if value is not None}
        params = {"name": f"{family}-{size}-seed{seed}", **hard.params_for(size), **given}
    return make_problem(_family(family), seed, size, params)
