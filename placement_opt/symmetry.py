"""Interchangeable nodes: classes of nodes that any solution may permute.

Two nodes are interchangeable when swapping them (and their links) maps the
problem onto itself: the same attributes, neither is a workload's source or
sink nor a model's weight origin, neither holds weights of the previous
solution, and the swap maps every link onto a link with the same attributes
and every route onto the swapped route (so loads, latencies and energies are
the same).  Swapping nodes of one class in a feasible solution then gives a
feasible solution with the same objective, so an exact solver may search only
*canonical* solutions: within each class, nodes in index order carry
non-increasing numbers of (workload, layer) positions (:meth:`NodeClasses.canonical`).

PipeEdge's clusters and Helix's are made of such classes (several boards or
GPUs of one type behind one switch); without this an exact solver proves the
same optimum once per permutation of each class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem


@dataclass(frozen=True)
class NodeClasses:
    """Classes of interchangeable nodes (each at least two, ascending indices)."""

    classes: tuple[tuple[int, ...], ...]

    @property
    def count(self) -> int:
        """Number of nodes in some class."""
        return sum(len(c) for c in self.classes)

    def canonical(self, x: np.ndarray) -> np.ndarray:
        """``x`` (a flat node array) with the nodes of each class relabelled so
        that, in index order, they carry non-increasing numbers of positions
        (ties keep their order).  Same objective, same feasibility."""
        if not self.classes:
            return x
        usage = np.bincount(x, minlength=int(max(max(c) for c in self.classes)) + 1)
        relabel = np.arange(max(int(x.max(initial=0)), len(usage) - 1) + 1)
        for members in self.classes:
            m = np.asarray(members)
            order = m[np.argsort(-usage[m], kind="stable")]  # integer counts: no float ties
            relabel[order] = m
        return relabel[x]

    def is_canonical(self, x: np.ndarray) -> bool:
        """Whether ``x`` satisfies the ordering :meth:`canonical` produces."""
        usage = np.bincount(x, minlength=max((max(c) for c in self.classes), default=0) + 1)
        return all(bool(np.all(np.diff(usage[list(c)]) <= 0)) for c in self.classes)


def node_classes(problem: Problem, previous_keys: np.ndarray | None = None) -> NodeClasses:
    """The classes of interchangeable nodes of ``problem`` (see the module docstring).

    Parameters
    ----------
    problem
        The problem.
    previous_keys
        Placed keys of the previous solution (``migration``): nodes holding any
        are not interchangeable with others.
    """
    p = problem
    fixed = _pinned(p, previous_keys)
    groups: dict[tuple, list[int]] = {}
    for i, node in enumerate(p.nodes):
        if i in fixed:
            continue
        key = tuple(sorted((k, repr(v)) for k, v in node.model_dump().items() if k != "id"))
        groups.setdefault(key, []).append(i)
    classes = []
    for members in groups.values():
        while len(members) > 1:
            rep, rest = members[0], members[1:]
            same = [j for j in rest if _swap_is_symmetry(p, rep, j)]
            if same:
                classes.append((rep, *same))
            members = [j for j in rest if j not in same]
    return NodeClasses(tuple(sorted(classes)))


def _pinned(p: Problem, previous_keys: np.ndarray | None) -> set[int]:
    """Nodes that a workload or model names, or that hold previous weights."""
    out = set(p.workload_source.tolist()) | set(p.workload_sink.tolist())
    index = p.node_index
    for model in p.models:
        origin = getattr(model, "origin", None)
        if origin is not None:
            out.add(index[origin])
    if previous_keys is not None and len(previous_keys):
        out |= set((np.asarray(previous_keys) % p.num_nodes).tolist())
    return out


def _link_record(p: Problem, e: int) -> tuple:
    rec = p.links[e].model_dump()
    return tuple(sorted((k, repr(v)) for k, v in rec.items() if k not in ("id", "source", "target")))


def _swap_is_symmetry(p: Problem, a: int, b: int) -> bool:
    """Whether exchanging nodes ``a`` and ``b`` (and their links) maps the
    network, and every route, onto itself."""
    perm = np.arange(p.num_nodes)
    perm[a], perm[b] = b, a
    link_perm = _link_permutation(p, perm)
    if link_perm is None:
        return False
    r = p.routes
    if not (np.array_equal(r.hops[np.ix_(perm, perm)], r.hops)
            and np.array_equal(r.latency[np.ix_(perm, perm)], r.latency)
            and np.array_equal(r.bandwidth[np.ix_(perm, perm)], r.bandwidth)
            and np.array_equal(r.energy_per_byte[np.ix_(perm, perm)], r.energy_per_byte)):
        return False
    # Routes are defined by their last hops: route(perm a, perm b) is the image
    # of route(a, b) exactly when every last hop maps.
    pred = r.pred_node
    mapped_pred = np.where(pred >= 0, perm[np.maximum(pred, 0)], -1)
    if not np.array_equal(pred[np.ix_(perm, perm)], mapped_pred):
        return False
    pl = r.pred_link
    mapped_link = np.where(pl >= 0, link_perm[np.maximum(pl, 0)], -1)
    return bool(np.array_equal(pl[np.ix_(perm, perm)], mapped_link))


def _link_permutation(p: Problem, perm: np.ndarray) -> np.ndarray | None:
    """The permutation of links induced by the node permutation ``perm``, or
    None when some link has no image with the same attributes (or the image
    is ambiguous: parallel links)."""
    src, dst = p.link_source, p.link_target
    by_ends: dict[tuple[int, int], list[int]] = {}
    for e in range(p.num_links):
        by_ends.setdefault((int(src[e]), int(dst[e])), []).append(e)
    if any(len(v) > 1 for v in by_ends.values()):
        return None
    out = np.empty(p.num_links, dtype=np.int64)
    for e in range(p.num_links):
        ends = (int(perm[src[e]]), int(perm[dst[e]]))
        image = by_ends.get(ends)
        if image is None and not p.links[e].directed:
            image = by_ends.get((ends[1], ends[0]))
        if image is None or _link_record(p, image[0]) != _link_record(p, e):
            return None
        out[e] = image[0]
    return out


__all__ = ["NodeClasses", "node_classes"]
