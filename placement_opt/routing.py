"""Fixed routes between nodes (SPEC section 4), computed once into arrays.

The route from ``a`` to ``b`` (``a != b``) is the path of least total latency over
usable links (a link is usable when it and both its end nodes are available).
Ties are broken deterministically, in this order:

1. least total latency, where two totals within a relative 1e-9 count as equal
   (so that ``0.1 + 0.2`` and ``0.3`` are the same latency);
2. fewest hops;
3. widest path: the largest bottleneck bandwidth;
4. the smallest link index (file order) on the last hop, then recursively on the
   route to that hop's start.

Rules 2-4 never change ``lat(a, b)``; rule 3 makes an equal-latency route the
widest one, as an operator of a fabric with equal-cost paths would expect.
``lat(a, b)`` is the sum of link latencies along the chosen route, ``bw(a, b)``
its smallest bandwidth; a transfer from a node to itself costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

TIE_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class Routes:
    """All-pairs routes as arrays indexed by node position.

    Attributes
    ----------
    latency
        ``lat(a, b)`` in seconds; 0 on the diagonal, ``inf`` where there is no route.
    bandwidth
        ``bw(a, b)`` in bytes/s; ``inf`` on the diagonal, 0 where there is no route.
    energy_per_byte
        Sum of ``energy_per_byte`` of the links on the route, J/byte.
    hops
        Number of links on the route; -1 where there is no route.
    pred_node, pred_link
        Last hop of the route ``a -> b``: the node before ``b`` and the link index
        (position in ``instance.links``) used; -1 on the diagonal and where there is
        no route.
    """

    latency: np.ndarray
    bandwidth: np.ndarray
    energy_per_byte: np.ndarray
    hops: np.ndarray
    pred_node: np.ndarray
    pred_link: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        return self.hops >= 0

    def path_links(self, a: int, b: int) -> list[int]:
        """Link indices on the route from ``a`` to ``b``, in travel order."""
        if self.hops[a, b] < 0:
            raise ValueError(f"no route from node {a} to node {b}")
        out = []
        cur = b
        while cur != a:
            out.append(int(self.pred_link[a, cur]))
            cur = int(self.pred_node[a, cur])
        return out[::-1]

    def path_nodes(self, a: int, b: int) -> list[int]:
        """Node indices on the route from ``a`` to ``b``, both ends included."""
        if self.hops[a, b] < 0:
            raise ValueError(f"no route from node {a} to node {b}")
        out = [b]
        cur = b
        while cur != a:
            cur = int(self.pred_node[a, cur])
            out.append(cur)
        return out[::-1]

    def transfer_time(self, a: int, b: int, nbytes: float) -> float:
        """``t(a, b, nbytes)``; ``inf`` when there is no route."""
        if a == b:
            return 0.0
        if self.hops[a, b] < 0:
            return float("inf")
        return float(self.latency[a, b] + nbytes / self.bandwidth[a, b])

    def link_loads(self, src: np.ndarray, dst: np.ndarray, load: np.ndarray, n_links: int) -> np.ndarray:
        """Add ``load[k]`` to every link on the route ``src[k] -> dst[k]``.

        Transfers without a route, or from a node to itself, add nothing.  The
        walk is vectorised over transfers: one numpy step per hop.
        """
        total = np.zeros(n_links)
        active = (src != dst) & (self.hops[src, dst] > 0) & (load != 0)
        src, cur, load = src[active], dst[active], load[active]
        n = self.hops.shape[0]
        if src.size > 64 and n * n <= 4 * src.size + 1_000_000:
            # walk each (source, destination) pair once with its summed load
            pair_load = np.bincount(src * n + cur, load, n * n)
            pairs = np.flatnonzero(pair_load)
            src, cur = np.divmod(pairs, n)
            load = pair_load[pairs]
        while cur.size:
            total += np.bincount(self.pred_link[src, cur], weights=load, minlength=n_links)
            cur = self.pred_node[src, cur]
            keep = cur != src
            src, cur, load = src[keep], cur[keep], load[keep]
        return total


def compute_routes(
    n_nodes: int,
    node_available: np.ndarray,
    link_source: np.ndarray,
    link_target: np.ndarray,
    link_latency: np.ndarray,
    link_bandwidth: np.ndarray,
    link_energy: np.ndarray,
    link_directed: np.ndarray,
    link_available: np.ndarray,
) -> Routes:
    """Compute all-pairs routes; see the module docstring for the rules."""
    n = n_nodes
    usable = link_available & node_available[link_source] & node_available[link_target]
    ids = np.flatnonzero(usable)
    back = ids[~link_directed[ids]]
    arc_link = np.concatenate([ids, back])
    arc_u = np.concatenate([link_source[ids], link_target[back]])
    arc_v = np.concatenate([link_target[ids], link_source[back]])
    arc_lat = link_latency[arc_link]
    arc_bw = link_bandwidth[arc_link]

    hops = np.full((n, n), -1, dtype=np.int64)
    np.fill_diagonal(hops, 0)
    pred_node = np.full((n, n), -1, dtype=np.int64)
    pred_link = np.full((n, n), -1, dtype=np.int64)
    latency = np.full((n, n), np.inf)
    np.fill_diagonal(latency, 0.0)
    bandwidth = np.zeros((n, n))
    np.fill_diagonal(bandwidth, np.inf)
    energy = np.zeros((n, n))

    if arc_link.size:
        dist = _shortest_latencies(n, arc_u, arc_v, arc_lat)
        du = dist[:, arc_u]
        dv = dist[:, arc_v]
        tight = np.isfinite(du) & (du + arc_lat <= dv + TIE_RTOL * dv + 1e-300)
        rows, arcs = np.nonzero(tight)
        # Breadth-first levels over tight arcs give the fewest hops among
        # least-latency paths; each level then picks the widest, smallest-index arc.
        level = 0
        while rows.size:
            from_level = hops[rows, arc_u[arcs]] == level
            r, a = rows[from_level], arcs[from_level]
            v = arc_v[a]
            fresh = hops[r, v] == -1
            r, a, v = r[fresh], a[fresh], v[fresh]
            if r.size == 0:
                break
            hops[r, v] = level + 1
            width = np.minimum(bandwidth[r, arc_u[a]], arc_bw[a])
            np.maximum.at(bandwidth, (r, v), width)
            best = width == bandwidth[r, v]
            r, a, v = r[best], a[best], v[best]
            chosen = np.full((n, n), np.iinfo(np.int64).max)
            np.minimum.at(chosen, (r, v), arc_link[a])
            pick = chosen[r, v] == arc_link[a]
            r, a, v = r[pick], a[pick], v[pick]
            u = arc_u[a]
            pred_node[r, v] = u
            pred_link[r, v] = arc_link[a]
            latency[r, v] = latency[r, u] + arc_lat[a]
            energy[r, v] = energy[r, u] + link_energy[arc_link[a]]
            keep = hops[rows, arc_v[arcs]] == -1
            rows, arcs = rows[keep], arcs[keep]
            level += 1

    for arr in (latency, bandwidth, energy, hops, pred_node, pred_link):
        arr.setflags(write=False)
    return Routes(latency, bandwidth, energy, hops, pred_node, pred_link)


def _shortest_latencies(n: int, arc_u: np.ndarray, arc_v: np.ndarray, arc_lat: np.ndarray) -> np.ndarray:
    """All-pairs least latency (Dijkstra).  Parallel arcs keep their minimum."""
    order = np.lexsort((arc_lat, arc_v, arc_u))
    u, v, lat = arc_u[order], arc_v[order], arc_lat[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, lat = u[first], v[first], lat[first]
    # csgraph drops explicit zeros; a zero-latency link is still a link, so lift it
    # to the smallest positive float and let the tie tolerance absorb it.
    lat = np.where(lat > 0, lat, np.finfo(float).tiny)
    graph = csr_matrix((lat, (u, v)), shape=(n, n))
    return dijkstra(graph, directed=True)
