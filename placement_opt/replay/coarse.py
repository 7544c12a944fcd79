"""``migrate`` mode: a problem whose layers are each workload's segments.

Each workload's segments (runs of layers on one node, SPEC 5) are fused into
single layers, so that any solver keeps the cut points; its answer is expanded
back (every layer on its segment's node).  See docs/replay.md, migrate mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..instance import Layer, Model
from ..problem import Problem
from ..segments import runs

#: ``(first, last)`` layer ranges (inclusive) of one workload's segments.
Segments = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Coarse:
    """A coarsened problem: each workload's segments fused into single layers.

    Attributes
    ----------
    problem
        The coarse problem.
    segments
        ``segments[w]``: the ``(first, last)`` layer ranges (inclusive) of workload ``w``.
    """

    problem: Problem
    segments: Mapping[str, Segments]

    def shrink(self, assignment: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """The coarse assignment of a real one (node of each segment's first layer)."""
        return {w: tuple(assignment[w][a] for a, _ in segs) for w, segs in self.segments.items()}

    def expand(self, coarse: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """The real assignment of a coarse one (every layer on its segment's node)."""
        out = {}
        for w, segs in self.segments.items():
            out[w] = tuple(node for (a, b), node in zip(segs, coarse[w]) for _ in range(b - a + 1))
        return out


def segments_of(nodes: Sequence[str]) -> Segments:
    """Maximal runs of equal nodes as ``(first, last)`` (SPEC 5 segments), as a tuple."""
    return tuple(runs(nodes))


def coarsen(problem: Problem, segments: Mapping[str, Segments]) -> Coarse:
    """Fuse each workload's segments into layers (see docs/replay.md, migrate mode).

    Workloads with the same model and the same segments share one fused model, so
    that their weights stay shared.

    Parameters
    ----------
    problem
        The real problem.
    segments
        The segments of every workload of ``problem``, by workload id.

    Returns
    -------
    Coarse
    """
    fused: dict[tuple[str, Segments], Model] = {}
    workloads = []
    models = {m.id: m for m in problem.models}
    for wl in problem.workloads:
        segs = segments[wl.id]
        key = (wl.model, segs)
        if key not in fused:
            fused[key] = _fuse(models[wl.model], segs, f"{wl.model}@segments{len(fused)}")
        private = sum(1 for a, _ in segs if a < wl.private_layers)
        workloads.append(wl.model_copy(update={"model": fused[key].id, "private_layers": private}))
    inst = problem.instance.model_copy(update={"models": tuple(fused.values()), "workloads": tuple(workloads)})
    return Coarse(Problem.from_instance(inst, problem.source), dict(segments))


def _fuse(model: Model, segs: Segments, new_id: str) -> Model:
    """One layer per segment: flops, weights and state summed, the last layer's output."""
    layers = model.layers
    fused_layers = tuple(
        Layer.model_construct(
            name=f"{layers[a].name}..{layers[b].name}",
            flops=float(sum(x.flops for x in layers[a:b + 1])),
            param_bytes=float(sum(x.param_bytes for x in layers[a:b + 1])),
            output_bytes=float(layers[b].output_bytes),
            state_bytes=float(sum(x.state_bytes for x in layers[a:b + 1])),
        )
        for a, b in segs
    )
    times = None
    if model.layer_times:
        times = {t: tuple(float(sum(v[a:b + 1])) for a, b in segs) for t, v in model.layer_times.items()}
    return model.model_copy(update={"id": new_id, "layers": fused_layers, "layer_times": times})


__all__ = ["Coarse", "Segments", "coarsen", "segments_of"]
