"""Compiled shortest paths and all-or-nothing loading on a contracted graph.

The equilibrium engine (:mod:`corridors.equilibrium`) spends nearly all its time in one
operation, repeated every iteration: shortest-path trees from every origin at the current
link costs, and the demand loaded along them.  This module does that operation in compiled
code (Numba), on a graph reduced once before the iterations start:

* **Dead ends** are removed: a node that is neither an origin nor a destination and whose
  links all lead to one single neighbour (or that has no way in or no way out) is never on a
  shortest path (a tree path is simple), so its links always carry zero flow.  Removal
  repeats until no such node is left (a cul-de-sac street of many nodes goes at once).
* **Degree-2 chains** are contracted: a node that is not a terminal and that either has one
  link in and one out (a one-way street), or links in from and out to the same two
  neighbours (a two-way street), is bypassed; each maximal chain of links through such
  nodes becomes one internal edge whose cost is the sum of its links' costs.  Every link
  of a chain carries the chain's flow, so link flows are recovered exactly.

Zones that may not be passed through (``block``) are kept and never relaxed except as the
source of their own tree.  Parallel edges need no dummy nodes: a tree records the *edge*
by which it reaches each node.

The kernel runs one Dijkstra search per origin with a binary heap and loads the origin's
demand in reverse settling order (every node is settled after its tree predecessor, so the
order is topological even across zero-cost edges and ties).  Origins are split into a
fixed number of chunks, each with its own volume vector, summed in chunk order: the result
does not depend on the number of threads.  The kernel releases the GIL, so chunks run on
plain Python threads (no OpenMP or TBB threading layer: nothing spins between iterations,
and it is safe to call from several threads at once).

Why Numba: the search and the loading are sequential per origin (a priority queue, a pass
in settling order); NumPy cannot express either without log-depth passes over origins x
nodes, and SciPy's ``csgraph.dijkstra`` returns neither the settling order nor the edge of
each tree link.  A compiled loop does both in one pass over the reached nodes and edges.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["Graph", "aon", "build", "trees"]

#: Bound on the per-chunk volume buffers (float64 values in total); more chunks balance
#: threads better, fewer save memory on very large networks.
_CHUNK_BUFFER = 2**22
#: Most chunks (and so most useful threads) per loading.
_MAX_CHUNKS = 16


# --------------------------------------------------------------------------------------
# Contraction
# --------------------------------------------------------------------------------------


@njit(cache=True)
def _prune(n, tail, head, out_ptr, out_lnk, in_ptr, in_lnk, keep, drop, alive):  # pragma: no cover
    """Remove dead ends in place (``alive`` per link); return the removed-node mask."""
    removed = np.zeros(n, dtype=np.bool_)
    queued = np.ones(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    for v in range(n):
        stack[v] = n - 1 - v
    top = n
    while top > 0:
        top -= 1
        v = stack[top]
        queued[v] = False
        if removed[v] or keep[v]:
            continue
        n_in = 0
        n_out = 0
        nb = -1
        multi = False
        for j in range(in_ptr[v], in_ptr[v + 1]):
            lk = in_lnk[j]
            if alive[lk]:
                n_in += 1
                u = tail[lk]
                if nb == -1:
                    nb = u
                elif u != nb:
                    multi = True
        for j in range(out_ptr[v], out_ptr[v + 1]):
            lk = out_lnk[j]
            if alive[lk]:
                n_out += 1
                u = head[lk]
                if nb == -1:
                    nb = u
                elif u != nb:
                    multi = True
        if not (drop[v] or n_in == 0 or n_out == 0 or not multi):
            continue
        removed[v] = True
        for j in range(in_ptr[v], in_ptr[v + 1]):
            lk = in_lnk[j]
            if alive[lk]:
                alive[lk] = False
                u = tail[lk]
                if not queued[u] and not removed[u]:
                    queued[u] = True
                    stack[top] = u
                    top += 1
        for j in range(out_ptr[v], out_ptr[v + 1]):
            lk = out_lnk[j]
            if alive[lk]:
                alive[lk] = False
                u = head[lk]
                if not queued[u] and not removed[u]:
                    queued[u] = True
                    stack[top] = u
                    top += 1
    return removed


@njit(cache=True)
def _chains(n, tail, head, out_ptr, out_lnk, in_ptr, in_lnk, keep, removed, alive):  # pragma: no cover
    """Contract degree-2 chains; return (edge tail, edge head, edge_ptr, edge_links,
    link_edge, through-node mask) with edges grouped by tail in node order."""
    m = tail.size
    nxt = np.full(m, -1, dtype=np.int64)
    through = np.zeros(n, dtype=np.bool_)
    ins = np.empty(3, dtype=np.int64)
    outs = np.empty(3, dtype=np.int64)
    for v in range(n):
        if keep[v] or removed[v]:
            continue
        n_in = 0
        for j in range(in_ptr[v], in_ptr[v + 1]):
            if alive[in_lnk[j]]:
                if n_in < 3:
                    ins[n_in] = in_lnk[j]
                n_in += 1
        n_out = 0
        for j in range(out_ptr[v], out_ptr[v + 1]):
            if alive[out_lnk[j]]:
                if n_out < 3:
                    outs[n_out] = out_lnk[j]
                n_out += 1
        if n_in == 1 and n_out == 1:
            if tail[ins[0]] != head[outs[0]]:
                through[v] = True
                nxt[ins[0]] = outs[0]
        elif n_in == 2 and n_out == 2:
            a0 = tail[ins[0]]
            a1 = tail[ins[1]]
            b0 = head[outs[0]]
            b1 = head[outs[1]]
            if a0 != a1:
                if a0 == b0 and a1 == b1:
                    through[v] = True
                    nxt[ins[0]] = outs[1]
                    nxt[ins[1]] = outs[0]
                elif a0 == b1 and a1 == b0:
                    through[v] = True
                    nxt[ins[0]] = outs[0]
                    nxt[ins[1]] = outs[1]
    e_tail = np.empty(m, dtype=np.int64)
    e_head = np.empty(m, dtype=np.int64)
    edge_ptr = np.empty(m + 1, dtype=np.int64)
    edge_links = np.empty(m, dtype=np.int64)
    link_edge = np.full(m, -1, dtype=np.int64)
    ne = 0
    k = 0
    for v in range(n):
        if removed[v] or through[v]:
            continue
        for j in range(out_ptr[v], out_ptr[v + 1]):
            cur = out_lnk[j]
            if not alive[cur]:
                continue
            e_tail[ne] = v
            edge_ptr[ne] = k
            # nxt is injective and a chain starts at a link out of a kept node, so the
            # walk never revisits a link and ends at a kept node
            while True:
                edge_links[k] = cur
                link_edge[cur] = ne
                k += 1
                h = head[cur]
                if through[h]:
                    cur = nxt[cur]
                else:
                    break
            e_head[ne] = h
            ne += 1
    edge_ptr[ne] = k
    return e_tail[:ne], e_head[:ne], edge_ptr[:ne + 1], edge_links[:k], link_edge, through


@dataclass(frozen=True, eq=False)
class Graph:
    """A network reduced for shortest paths, with the map back to its links.

    Attributes
    ----------
    n_nodes : int
        Internal nodes (terminals and junctions that survive the reduction).
    node_of : numpy.ndarray of int64
        Internal node of each original node, ``-1`` if removed or bypassed.
    indptr : numpy.ndarray of int64
        CSR row pointers of the internal edges by tail.
    tail, head : numpy.ndarray of int64
        Internal nodes at which each internal edge starts and ends.
    block : numpy.ndarray of bool
        Per internal node: paths may start or end there but not pass through.
    edge_ptr, edge_links : numpy.ndarray of int64
        The original links of internal edge ``e``, in travel order, are
        ``edge_links[edge_ptr[e]:edge_ptr[e + 1]]``.
    link_edge : numpy.ndarray of int64
        Internal edge of each original link, ``-1`` for a link that can never carry flow.
    n_links : int
        Number of original links.
    """

    n_nodes: int
    node_of: np.ndarray
    indptr: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    block: np.ndarray
    edge_ptr: np.ndarray
    edge_links: np.ndarray
    link_edge: np.ndarray
    n_links: int

    @property
    def n_edges(self) -> int:
        """Number of internal edges."""
        return int(self.head.size)

    def weights(self, cost: np.ndarray) -> np.ndarray:
        """Internal edge weights from link costs (sum over each chain, cost unit)."""
        used = self.edge_links
        return np.bincount(self.link_edge[used], weights=cost[used], minlength=self.n_edges)

    def link_volumes(self, edge_vol: np.ndarray) -> np.ndarray:
        """Link volumes from internal edge volumes (every link of a chain carries it)."""
        vol = np.zeros(self.n_links)
        used = self.edge_links
        vol[used] = edge_vol[self.link_edge[used]]
        return vol

    def path_links(self, tree: np.ndarray, source: int, dest: int) -> tuple[int, ...] | None:
        """Original links of the tree path from internal ``source`` to ``dest`` (None if
        ``dest`` is unreached)."""
        parts: list[np.ndarray] = []
        v = dest
        while v != source:
            e = int(tree[v])
            if e < 0:
                return None
            parts.append(self.edge_links[self.edge_ptr[e]:self.edge_ptr[e + 1]])
            v = int(self.tail[e])
        if not parts:
            return ()
        return tuple(int(x) for x in np.concatenate(parts[::-1]))


def build(n_nodes: int, tail: np.ndarray, head: np.ndarray, terminals: np.ndarray,
          no_through: np.ndarray | None) -> Graph:
    """Reduce a network for shortest paths between ``terminals`` (exactly; see the module).

    Parameters
    ----------
    n_nodes : int
        Number of original nodes.
    tail, head : array of int
        Original link end nodes.
    terminals : array of int
        Nodes where demand starts or ends; always kept.
    no_through : array of bool or None
        Per original node: may not be passed through.  Such nodes that are not terminals
        can carry no flow and are removed.

    Returns
    -------
    Graph
    """
    tail = np.ascontiguousarray(tail, dtype=np.int64)
    head = np.ascontiguousarray(head, dtype=np.int64)
    m = tail.size
    keep = np.zeros(n_nodes, dtype=bool)
    keep[np.asarray(terminals, dtype=np.int64)] = True
    blocked = (np.zeros(n_nodes, dtype=bool) if no_through is None
               else np.asarray(no_through, dtype=bool))
    drop = blocked & ~keep
    out_lnk = np.argsort(tail, kind="stable")
    in_lnk = np.argsort(head, kind="stable")
    out_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    in_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n_nodes), out=out_ptr[1:])
    np.cumsum(np.bincount(head, minlength=n_nodes), out=in_ptr[1:])
    alive = tail != head  # a self-loop is never on a tree path
    removed = _prune(n_nodes, tail, head, out_ptr, out_lnk, in_ptr, in_lnk, keep, drop, alive)
    e_tail, e_head, edge_ptr, edge_links, link_edge, through = _chains(
        n_nodes, tail, head, out_ptr, out_lnk, in_ptr, in_lnk, keep, removed, alive)
    kept = ~(removed | through)
    node_of = np.full(n_nodes, -1, dtype=np.int64)
    node_of[kept] = np.arange(int(kept.sum()))
    n_int = int(kept.sum())
    i_tail, i_head = node_of[e_tail], node_of[e_head]
    indptr = np.zeros(n_int + 1, dtype=np.int64)
    np.cumsum(np.bincount(i_tail, minlength=n_int), out=indptr[1:])
    return Graph(n_nodes=n_int, node_of=node_of, indptr=indptr, tail=i_tail, head=i_head,
                 block=np.ascontiguousarray(blocked[kept]), edge_ptr=edge_ptr,
                 edge_links=edge_links, link_edge=link_edge, n_links=m)


# --------------------------------------------------------------------------------------
# Shortest-path trees and loading
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _sssp(indptr, head, w, block, src, dist, pred, hkey, hnode, order, target, n_target
          ):  # pragma: no cover
    """Dijkstra from ``src`` with a 4-ary heap of (key ``hkey``, node ``hnode``) entries.

    An improved node is pushed again rather than moved, and an entry whose key exceeds its
    node's distance is skipped when popped (a stale copy): with the keys stored in the heap
    and four children per slot this is about a quarter faster than an indexed binary heap
    on city networks.  Stops once the ``n_target`` nodes flagged in ``target`` are settled
    (never if ``n_target <= 0``); then zones that may not be passed through and are not
    targets are not even queued (they are leaves).  Returns the number of settled nodes,
    whose settling order is in ``order``, and the number of entries left in the heap; the
    caller resets ``dist`` and ``pred`` of both.
    """
    early = n_target > 0
    dist[src] = 0.0
    hkey[0] = 0.0
    hnode[0] = src
    size = 1
    n_set = 0
    while size > 0:
        v = hnode[0]
        kv = hkey[0]
        size -= 1
        if size > 0:
            lk = hkey[size]
            ln = hnode[size]
            i = 0
            while True:
                c = 4 * i + 1
                if c >= size:
                    break
                best = c
                bk = hkey[c]
                end = c + 4
                if end > size:
                    end = size
                for cc in range(c + 1, end):
                    if hkey[cc] < bk:
                        bk = hkey[cc]
                        best = cc
                if bk < lk:
                    hkey[i] = bk
                    hnode[i] = hnode[best]
                    i = best
                else:
                    break
            hkey[i] = lk
            hnode[i] = ln
        if kv > dist[v]:
            continue  # a stale copy of a node settled earlier
        order[n_set] = v
        n_set += 1
        if early and target[v]:
            n_target -= 1
            if n_target == 0:
                break  # every destination is settled: the rest of the tree is not needed
        if block[v] and v != src:
            continue
        for e in range(indptr[v], indptr[v + 1]):
            u = head[e]
            nd = kv + w[e]
            # weights are >= 0, so a settled node never improves
            if nd < dist[u]:
                if early and block[u] and not target[u]:
                    continue
                dist[u] = nd
                pred[u] = e
                i = size
                size += 1
                while i > 0:
                    par = (i - 1) >> 2
                    if hkey[par] > nd:
                        hkey[i] = hkey[par]
                        hnode[i] = hnode[par]
                        i = par
                    else:
                        break
                hkey[i] = nd
                hnode[i] = u
    return n_set, size


@njit(cache=True, nogil=True)
def _chunk(indptr, head, tail, w, block, sources, dptr, dnode, dval, lo, hi, vol, trees,
           want):  # pragma: no cover
    """Trees of origins ``lo..hi-1`` and their demand loaded onto ``vol`` (edge volumes);
    return the first demand entry whose destination is unreached, or -1."""
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    hkey = np.empty(head.size + 1)  # one entry per improvement at most
    hnode = np.empty(head.size + 1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    f = np.zeros(n)
    target = np.zeros(n, dtype=np.bool_)
    bad = -1
    for o in range(lo, hi):
        src = sources[o]
        n_target = 0
        for j in range(dptr[o], dptr[o + 1]):
            t = dnode[j]
            if not target[t]:
                target[t] = True
                n_target += 1
        k, left = _sssp(indptr, head, w, block, src, dist, pred, hkey, hnode, order,
                        target, n_target)
        for j in range(dptr[o], dptr[o + 1]):
            target[dnode[j]] = False
        for j in range(dptr[o], dptr[o + 1]):
            t = dnode[j]
            if dist[t] == np.inf:  # all reachable targets are settled when the search stops
                if bad < 0:
                    bad = j
            else:
                f[t] += dval[j]
        # reverse settling order is leaves first: push each node's flow to its tree edge
        for i in range(k - 1, 0, -1):
            v = order[i]
            fv = f[v]
            if fv != 0.0:
                e = pred[v]
                vol[e] += fv
                f[tail[e]] += fv
                f[v] = 0.0
        f[src] = 0.0
        if want:
            row = trees[o]
            row[:] = -1
            for i in range(k):
                v = order[i]
                row[v] = pred[v]
        for i in range(k):
            v = order[i]
            dist[v] = np.inf
            pred[v] = -1
        for i in range(left):
            v = hnode[i]
            dist[v] = np.inf
            pred[v] = -1
    return bad


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """A thread pool per thread count, kept for the process (idle threads cost nothing).

    Keyed by process id too: a forked child (a Dask or multiprocessing worker) inherits the
    dict but not the threads, so it builds its own pool.
    """
    key = (os.getpid(), threads)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = ThreadPoolExecutor(max_workers=threads,
                                                thread_name_prefix="corridors-aon")
    return pool


def _n_chunks(n_origins: int, n_edges: int) -> int:
    """Fixed for a given problem (never for a thread count): results stay identical."""
    return max(1, min(n_origins, _MAX_CHUNKS, _CHUNK_BUFFER // max(n_edges, 1)))


def aon(graph: Graph, weights: np.ndarray, sources: np.ndarray, dptr: np.ndarray,
        dnode: np.ndarray, dval: np.ndarray, *, threads: int = 1, keep_trees: bool = False
        ) -> tuple[np.ndarray, np.ndarray | None, int]:
    """All-or-nothing loading of demand from each source along its shortest-path tree.

    Parameters
    ----------
    graph : Graph
        The reduced network.
    weights : array of float
        Internal edge weights (cost unit, ``>= 0``).
    sources : array of int
        Internal source node per origin row.
    dptr, dnode, dval : arrays
        Demand as CSR over origin rows: internal destination nodes and amounts (flow unit).
    threads : int
        Threads to use (Python threads; the compiled kernel releases the GIL).  The result
        does not depend on it.
    keep_trees : bool
        Also return the tree of each row: the internal edge into each node, ``-1`` where
        none (source, unreached).

    Returns
    -------
    edge_vol : numpy.ndarray
        Internal edge volumes (flow unit).
    trees : numpy.ndarray of int32 or None
        ``(rows x n_nodes)`` if asked.
    bad : int
        Index of the first demand entry whose destination is unreachable, or -1.
    """
    n_o = int(sources.size)
    n_chunks = _n_chunks(n_o, graph.n_edges)
    trees = (np.empty((n_o, graph.n_nodes), dtype=np.int32) if keep_trees
             else np.empty((0, 0), dtype=np.int32))
    w = np.ascontiguousarray(weights, dtype=np.float64)
    src = np.ascontiguousarray(sources, dtype=np.int64)
    vols = np.zeros((n_chunks, graph.n_edges))
    bads = np.full(n_chunks, -1, dtype=np.int64)

    def run(c: int) -> None:
        bads[c] = _chunk(graph.indptr, graph.head, graph.tail, w, graph.block, src, dptr,
                         dnode, dval, c * n_o // n_chunks, (c + 1) * n_o // n_chunks,
                         vols[c], trees, keep_trees)

    if threads > 1 and n_chunks > 1:
        # the kernel releases the GIL: plain Python threads run chunks side by side, with no
        # threading layer (no spinning OpenMP threads, safe to call from several threads)
        for fut in [_pool(threads).submit(run, c) for c in range(n_chunks)]:
            fut.result()
    else:
        for c in range(n_chunks):
            run(c)
    edge_vol = vols[0].copy()
    for row in vols[1:]:
        edge_vol += row  # in chunk order: the sum never depends on the thread count
    hit = bads[bads >= 0]
    return edge_vol, (trees if keep_trees else None), int(hit.min()) if hit.size else -1


def trees(graph: Graph, weights: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Shortest-path trees (internal edge into each node, -1 for none) from each source."""
    sources = np.asarray(sources, dtype=np.int64)
    empty_ptr = np.zeros(sources.size + 1, dtype=np.int64)
    none_i = np.zeros(0, dtype=np.int64)
    _, out, _ = aon(graph, weights, sources, empty_ptr, none_i, np.zeros(0), keep_trees=True)
    return out
