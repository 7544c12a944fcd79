"""The hard families: named recipes that run a network family in a hard regime
(memory-tight, compute-tight, several models), with the common parameters
``memory_supply``, ``compute_load`` and ``model``.  The fourth,
``symmetric-cluster``, is the ``edge-cluster`` network family (interchangeable
hosts) as it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: User devices keep almost all their memory for their own applications.
SMALL_DEVICE_MEMORY = {"device": (0.02, 0.05)}


@dataclass(frozen=True, eq=False)
class HardFamily:
    """A hard family: a network family and the parameters that make it hard.

    Attributes
    ----------
    name
        The name ``generate`` accepts, e.g. ``"memory-tight"``.
    base
        The network family (a name in ``FAMILIES``).
    params
        Parameters for every size.
    by_size
        Further parameters per size (``{size: {...}}``), applied after ``params``.
    doc
        What is tight and why.
    """

    name: str
    base: str
    params: Mapping[str, Any]
    by_size: Mapping[str, Mapping[str, Any]]
    doc: str

    def params_for(self, size: str) -> dict[str, Any]:
        """The recipe's parameters for a size preset."""
        return {**self.params, **self.by_size.get(size, {})}


HARD_FAMILIES: dict[str, HardFamily] = {
    hard.name: hard for hard in (
        HardFamily(
            name="memory-tight",
            base="smart-city",
            params={"memory_supply": 1.3, "private_fraction": 0.0, "memory_free": SMALL_DEVICE_MEMORY},
            by_size={},
            doc="memory supply 1.3 x the demand: every host keeps only a slice of its memory free, so a "
                "model spans the cloud and one to three MEC servers and its workloads share one copy "
                "of the weights",
        ),
        HardFamily(
            name="compute-tight",
            base="v2x",
            params={"compute_load": 0.95},
            by_size={"s": {"workloads": 8}},
            doc="rates saturate every reference chain at 95 % of max_utilization: the cloud cannot take "
                "every stream, so the optimum spreads them over the cloud and the RSU GPUs",
        ),
        HardFamily(
            name="multi-model",
            base="topology-zoo",
            params={"model": ["llama-2-7b", "llama-2-13b", "vit-b16"], "memory_free": SMALL_DEVICE_MEMORY},
            by_size={"s": {"workloads": 6, "memory_supply": 1.5}, "m": {"workloads": 12, "memory_supply": 1.8},
                     "l": {"workloads": 30, "memory_supply": 1.8}},
            doc="two Llama sizes and a ViT on one network, memory supply 1.5 (s) / 1.8 (m, l) x the "
                "demand: the cloud cannot hold all three models, which compete for the MEC servers",
        ),
        HardFamily(
            name="symmetric-cluster",
            base="edge-cluster",
            params={},
            by_size={},
            doc="the edge-cluster family as it is (classes of interchangeable hosts, rates saturating the "
                "reference at compute_load 0.9): every optimum has one copy per permutation of a class",
        ),
    )
}
