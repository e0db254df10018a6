"""Path-based stochastic user equilibrium, and the routes each OD pair uses in an equilibrium.

Split from :mod:`corridors.equilibrium` (which re-exports :func:`stochastic_user_equilibrium`
and :func:`paths_for`); the loaders, link costs and result records are that module's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from corridors import _shortest
from corridors._errors import CorridorsError
from corridors.equilibrium import (
    EquilibriumResult,
    IterationRecord,
    LinkArrays,
    Route,
    _check_cost,
    _demand,
    _graph,
    _Loader,
    _PathStore,
    beckmann,
    link_cost,
    user_equilibrium,  # noqa: F401  (used by the examples)
)

__all__ = ["paths_for", "stochastic_user_equilibrium"]


# --------------------------------------------------------------------------------------
# Stochastic user equilibrium: path-based logit (Fisk line search or MSA)
# --------------------------------------------------------------------------------------


def _tree_path(graph: _shortest.Graph, tree: np.ndarray, source: int, dest: int
               ) -> tuple[int, ...]:
    """Links of the tree path between internal nodes ``source`` and ``dest``."""
    links = graph.path_links(tree, source, dest)
    if links is None:
        raise CorridorsError(f"no path to internal node {dest}")
    return links


def _nodes_of(net: LinkArrays, links: tuple[int, ...], origin: int) -> tuple[int, ...]:
    if not links:
        return (origin,)
    return (int(net.tail[links[0]]),) + tuple(int(net.head[e]) for e in links)


def stochastic_user_equilibrium(
        net: LinkArrays, origins: Any, destinations: Any, demand: Any, *, theta: float,
        gap: float = 1e-4, max_iter: int = 200, max_routes: int = 10,
        route_penalty: float = 0.5, step_rule: str = "fisk",
        fixed_cost: np.ndarray | None = None,
        callback: Callable[[IterationRecord], Any] | None = None) -> EquilibriumResult:
    """Solve a logit stochastic user equilibrium with congestion (path-based).

    Route choice is multinomial logit over each OD pair's route set, ``P(r) =
    exp(-theta c_r) / sum_s exp(-theta c_s)``, with link costs from the volume-delay
    functions at the current flows.  Route sets are generated as the assignment runs
    (column generation): they start with the routes found by a link-penalty search at
    free-flow costs (see ``route_penalty``), and each iteration adds each OD pair's shortest route at the current
    costs if it is new, up to ``max_routes`` routes.  Route flows move towards the logit
    loading at the current costs, ``h <- h + step (h_logit - h)``, with the step either from
    an exact line search on Fisk's (1980) SUE objective ``sum_a int_0^x_a c_a(w) dw +
    (1 / theta) sum_r h_r ln(h_r / q_od)``, which is convex and minimal at the SUE
    (``step_rule="fisk"``, the default, much faster), or ``1 / (k + 1)`` by the method of
    successive averages (``step_rule="msa"``).  Path-based bookkeeping suits
    the small route sets of the corridor model (a Python step per new route); for
    city-sized networks use :func:`user_equilibrium`.

    Parameters
    ----------
    net : LinkArrays
        The network.
    origins, destinations, demand
        As for :func:`all_or_nothing`.
    theta : float
        Logit scale (per cost unit), ``> 0``; larger is closer to deterministic.
    gap : float
        Target for the fixed-point criterion ``sum |y - x| / sum x`` between the flows and
        the logit loading at their costs (dimensionless).
    max_iter : int
        Maximum number of iterations.
    max_routes : int
        Maximum routes per OD pair.
    route_penalty : float
        Initial route sets: up to ``max_routes - 1`` rounds of shortest paths in which each
        link already used by an origin's routes costs ``(1 + route_penalty) ** uses`` times
        more (the link-penalty method); ``0`` starts from the shortest route only.
    step_rule : {"fisk", "msa"}
        Exact line search on Fisk's objective, or the method of successive averages.
    fixed_cost : array of float, optional
        Flow-independent cost per link (cost unit).
    callback : callable, optional
        Called with each :class:`IterationRecord`.

    Returns
    -------
    EquilibriumResult
        ``relative_gap`` is the UE relative gap of the final flows (positive at an SUE);
        ``converged`` refers to the fixed-point criterion (``IterationRecord.flow_change``).
        :func:`paths_for` returns the routes and their shares.
    """
    from scipy.sparse import csr_matrix

    if not theta > 0:
        raise ValueError("theta must be > 0")
    if step_rule not in ("fisk", "msa"):
        raise ValueError(f"step_rule must be 'fisk' or 'msa', got {step_rule!r}")
    start = time.perf_counter()
    fixed = _check_cost("fixed_cost", fixed_cost, net.n_links)
    dem = _demand(net, origins, destinations, demand)
    graph = _graph(net, dem)
    loader = _Loader(net, dem, graph, 1)
    rows = np.repeat(np.arange(dem.origins.size), np.diff(dem.ptr))
    od_demand = dem.value
    od_src = graph.node_of[dem.origins[rows]]
    od_dst = graph.node_of[dem.dest]
    n_od = rows.size
    route_links: list[tuple[int, ...]] = []
    route_od: list[int] = []
    known: list[dict[tuple[int, ...], int]] = [{} for _ in range(n_od)]
    h = np.zeros(0)
    records: list[IterationRecord] = []
    converged = False
    x = np.zeros(net.n_links)

    def shortest_trees(cost: np.ndarray, which: slice = slice(None)) -> np.ndarray:
        return _shortest.trees(graph, graph.weights(cost), loader.sources[which])

    def add_shortest(cost: np.ndarray, pred: np.ndarray | None = None) -> bool:
        if pred is None:
            pred = shortest_trees(cost)
        added = False
        for i in range(n_od):
            if len(known[i]) >= max_routes:
                continue
            links = _tree_path(graph, pred[rows[i]], int(od_src[i]), int(od_dst[i]))
            if links not in known[i]:
                known[i][links] = len(route_links)
                route_links.append(links)
                route_od.append(i)
                added = True
        return added

    def incidence() -> Any:
        lengths = np.array([len(r) for r in route_links])
        ptr = np.concatenate([[0], np.cumsum(lengths)])
        idx = np.fromiter((e for r in route_links for e in r), dtype=np.int64, count=ptr[-1])
        return csr_matrix((np.ones(idx.size), idx, ptr), shape=(len(route_links), net.n_links))

    def logit(cost: np.ndarray, delta: Any, rod: np.ndarray) -> np.ndarray:
        rc = delta @ cost
        cmin = np.full(n_od, np.inf)
        np.minimum.at(cmin, rod, rc)
        e = np.exp(-theta * (rc - cmin[rod]))
        tot = np.bincount(rod, weights=e, minlength=n_od)
        return od_demand[rod] * e / tot[rod]

    def fisk_step(h: np.ndarray, dh: np.ndarray, dx: np.ndarray) -> float:
        """Step in [0, 1] minimising Fisk's objective along h + step * dh (bisection on
        its derivative; the ln(q_od) terms cancel as dh sums to zero per OD pair)."""

        def slope(tau: float) -> float:
            hh = h + tau * dh
            pos = hh > 0
            return (float(link_cost(net, x + tau * dx, fixed) @ dx)
                    + float(dh[pos] @ np.log(hh[pos])) / theta)

        if slope(1.0) <= 0.0:
            return 1.0
        lo, hi = 0.0, 1.0
        while hi - lo > 1e-12:
            mid = 0.5 * (lo + hi)
            if slope(mid) > 0.0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    c = link_cost(net, x, fixed)
    add_shortest(c)
    # initial route sets by link penalties: each origin's used links cost (1 + penalty)
    # times more per route through them, which uncovers distinct alternatives
    if route_penalty > 0 and max_routes > 1:
        uses = np.zeros((dem.origins.size, net.n_links))
        for r, links in enumerate(route_links):
            uses[rows[route_od[r]], list(links)] += 1.0
        idle = 0
        for _ in range(4 * max_routes):
            preds = np.empty((dem.origins.size, graph.n_nodes), dtype=np.int32)
            for o in range(dem.origins.size):
                pen = c * (1.0 + route_penalty) ** uses[o]
                preds[o] = shortest_trees(pen, slice(o, o + 1))[0]
            for i in range(n_od):
                links = _tree_path(graph, preds[rows[i]], int(od_src[i]), int(od_dst[i]))
                uses[rows[i], list(links)] += 1.0
            idle = 0 if add_shortest(c, preds) else idle + 1
            if idle >= max_routes or all(len(k) >= max_routes for k in known):
                break
    delta = incidence()
    rod = np.asarray(route_od)
    h = logit(c, delta, rod)
    x = delta.T @ h
    step = 1.0
    for k in range(1, max_iter + 1):
        c = link_cost(net, x, fixed)
        y_aon = loader.load(c)[0]
        tx = float(c @ x)
        rg = (tx - float(c @ y_aon)) / tx if tx > 0 else 0.0
        new_routes = add_shortest(c)  # column generation at the current costs
        if new_routes:
            delta = incidence()
            rod = np.asarray(route_od)
            h = np.pad(h, (0, len(route_links) - h.size))
        aux = logit(c, delta, rod)
        y = delta.T @ aux
        change = float(np.abs(y - x).sum() / x.sum()) if x.sum() > 0 else 0.0
        rec = IterationRecord(k, rg, beckmann(net, x, fixed), time.perf_counter() - start,
                              step, change)
        records.append(rec)
        if callback is not None:
            callback(rec)
        if change <= gap and not new_routes and k > 1:
            converged = True
            break
        if k == max_iter:
            break
        if step_rule == "msa":
            step = 1.0 / (k + 1)
        else:
            step = fisk_step(h, aux - h, delta.T @ (aux - h))
        h = h + step * (aux - h)
        x = delta.T @ h
    costs = link_cost(net, x, fixed)
    routes: dict[tuple[int, int], list[tuple[tuple[int, ...], float]]] = {}
    for r, links in enumerate(route_links):
        i = route_od[r]
        key = (int(dem.origins[rows[i]]), int(dem.dest[i]))
        routes.setdefault(key, []).append((links, float(h[r])))
    store = _PathStore(net=net, graph=graph, dem=dem, routes=routes)
    last = records[-1]
    return EquilibriumResult(
        flows=x, costs=costs, iterations=tuple(records), converged=converged,
        relative_gap=last.relative_gap, beckmann=last.beckmann,
        seconds=time.perf_counter() - start, algorithm=f"sue-{step_rule}", paths=store)


# --------------------------------------------------------------------------------------
# Routes per OD pair
# --------------------------------------------------------------------------------------


def _distinct_trees(store: _PathStore, row: int) -> list[tuple[float, np.ndarray]]:
    """The distinct shortest-path trees of one origin with their summed weights (cached)."""
    cached = store.tree_cache.get(row)
    if cached is None:
        groups: dict[bytes, list] = {}
        for w, tree in zip(store.weights, store.trees, strict=True):
            if w > 0:
                pred = tree[row]
                entry = groups.setdefault(pred.tobytes(), [0.0, pred])
                entry[0] += float(w)
        cached = store.tree_cache[row] = [(w, pred) for w, pred in groups.values()]
    return cached


def paths_for(result: EquilibriumResult, origin: int, destination: int, *,
              min_share: float = 1e-9) -> list[Route]:
    """Return the routes an OD pair uses in an equilibrium, largest share first.

    Parameters
    ----------
    result : EquilibriumResult
        From :func:`user_equilibrium` with ``track_paths=True`` or from
        :func:`stochastic_user_equilibrium`.
    origin, destination : int
        Node indices of an OD pair with demand.
    min_share : float
        Drop routes with a smaller share of the OD demand.

    Returns
    -------
    list of Route
        Routes with their share of the OD demand, flow and cost at ``result.costs``.  The
        route flows of all OD pairs add up to the link flows.

    Raises
    ------
    ValueError
        If the result kept no route information or the pair has no demand.

    Examples
    --------
    >>> net = LinkArrays(
    ...     tail=[0, 0], head=[1, 1], free_cost=[10.0, 20.0], capacity=[1000.0, 1000.0],
    ...     alpha=[1.0, 0.0], beta=[1.0, 1.0], vdf=[0, 0], n_nodes=2)
    >>> res = user_equilibrium(net, [0], [1], [1500.0], gap=1e-9, track_paths=True)
    >>> [(r.links, round(r.share, 4), round(r.cost, 4)) for r in paths_for(res, 0, 1)]
    [((0,), 0.6667, 20.0), ((1,), 0.3333, 20.0)]
    """
    store = result.paths
    if store is None:
        raise ValueError("paths_for needs user_equilibrium(..., track_paths=True) or an SUE "
                         "result")
    origin, destination = int(origin), int(destination)
    flows: dict[tuple[int, ...], float] = {}
    if store.routes:
        for links, flow in store.routes.get((origin, destination), []):
            flows[links] = flows.get(links, 0.0) + flow
    else:
        origins = store.dem.origins
        row = int(np.searchsorted(origins, origin))
        if row >= origins.size or origins[row] != origin:
            raise ValueError(f"node {origin} is not an origin with demand")
        dem = store.dem.amount(row, destination)
        if dem > 0:
            src = int(store.graph.node_of[origin])
            dst = int(store.graph.node_of[destination])
            for w, pred in _distinct_trees(store, row):
                links = _tree_path(store.graph, pred, src, dst)
                flows[links] = flows.get(links, 0.0) + w * dem
    total = sum(flows.values())
    if total <= 0:
        raise ValueError(f"no demand from node {origin} to node {destination}")
    out = [Route(links, _nodes_of(store.net, links, origin), f / total, f,
                 float(result.costs[list(links)].sum()) if links else 0.0)
           for links, f in flows.items() if f / total >= min_share]
    out.sort(key=lambda r: (-r.share, r.cost))
    return out
