"""Routes between two nodes: the least-cost route, the complete choice set, path-size logit.

A *route* is a path in the virtual-link graph from an origin zone to a destination
zone, summarised by the physical links and nodes it uses.  Two graph paths that use
the same physical links in the same order (differing only in where a transfer happens)
are the same route; the cheaper one stands for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from corridors._errors import QueryError

__all__ = ["Route", "best_routes", "route_from_path", "path_size", "logit_probabilities", "reachable"]


@dataclass(frozen=True)
class Route:
    """One route between an origin and a destination node.

    Attributes
    ----------
    origin, destination : str
        Node ids.
    edges : tuple of (u, v)
        The graph edges used, in order.
    link_ids : tuple of str
        Physical links used, in order of travel.
    node_ids : tuple of str
        Physical nodes passed, in order (origin first, destination last).
    countries : tuple of str
        ISO3 codes of the countries the route passes through, in order, no repeats.
    crossings : tuple of (str, str, str)
        ``(link_id, from_country, to_country)`` for every border crossed, in order
        (ferry legs between two countries' ports count as crossings).
    gen_cost_usd, money_usd, time_h, length_km : float
        Generalised cost (USD/TEU), money cost (USD/TEU), time (hours), length (km).
    km_by_country : tuple of (str, float)
        Kilometres run in each country (ferry legs under ``"SEA"``).
    corridor, route : str
        The corridor and its branch, named from the countries crossed (see
        :func:`_corridor_signature`), else the family carrying most transit kilometres.
    legs : tuple of dict
        One dict per physical link and per node stop, for display.
    """

    origin: str
    destination: str
    edges: tuple
    link_ids: tuple[str, ...]
    node_ids: tuple[str, ...]
    countries: tuple[str, ...]
    crossings: tuple[tuple[str, str, str], ...]
    gen_cost_usd: float
    money_usd: float
    time_h: float
    length_km: float
    km_by_country: tuple[tuple[str, float], ...]
    corridor: str
    route: str
    legs: tuple[dict, ...]

    @property
    def days(self) -> float:
        """Door-to-door time in days."""
        return self.time_h / 24.0

    def passes_through(self, codes: Iterable[str]) -> bool:
        """True if the route runs through any of the given ISO3 codes."""
        codes = set(codes)
        return any(c in codes for c in self.countries)

    def gateway(self, region: Iterable[str]) -> str | None:
        """The link id of the border crossing where the route leaves ``region`` first."""
        region = set(region)
        for link_id, src, dst in self.crossings:
            if src in region and dst not in region:
                return link_id
        return None


#: The country a China–Europe route enters first names its Belt and Road branch.
_BRANCH_BY_NEIGHBOUR = {"KAZ": "northern_kaz", "MNG": "central_mng", "RUS": "eastern_transsib"}


def _corridor_signature(countries: list[str], transit_routes: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Name the corridor of a route by the countries it crosses, as the corridors are defined.

    The link families alone cannot tell the corridors apart: the Kazakh trunk lines serve
    the Northern route and the Middle Corridor alike.  So a route through Azerbaijan and
    Georgia is the Middle Corridor (Trans-Caspian); one through Iran the southern route of
    the North–South corridor; one through Russia, Belarus or Mongolia a Belt and Road
    northern branch, named by the country it enters from China.  Other routes (China to
    Central Asia, say) fall back to the family with most transit kilometres (None here).
    """
    present = set(countries)
    if {"AZE", "GEO"} <= present:
        route = next((r for c, r in transit_routes if c == "middle_corridor"), "titr")
        return "middle_corridor", route
    if "IRN" in present and "CHN" in present:
        return "north_south", "via_iran"
    if present & {"RUS", "BLR", "MNG"} and "CHN" in (countries[0], countries[-1]) and len(countries) > 1:
        neighbour = countries[1] if countries[0] == "CHN" else countries[-2]
        if neighbour in _BRANCH_BY_NEIGHBOUR:
            return "belt_and_road", _BRANCH_BY_NEIGHBOUR[neighbour]
    return None


def _edge_facts(graph, node_records: dict, link_records: dict) -> dict:
    """What :func:`route_from_path` needs of every graph edge, computed once per graph.

    Kept in the graph's attribute dict (a graph belongs to one network and is not changed
    after it is built).  Every route through an edge then shares the same edge tuple and the
    same leg dict (read-only), which also keeps the pickled choice sets small.
    """
    memo = graph.graph.get("_edge_facts")
    if memo is not None:
        return memo
    memo = {}
    for u, v, data in graph.edges(data=True):
        kind = data["kind"]
        leg = link = None
        if kind == "link":
            link_id = data["link_id"]
            record = link_records[link_id]
            a, b = u[0], v[0]
            parts = ("SEA",) if record["mode"] == "ferry" else tuple(str(record["country"]).split("|"))
            leg = dict(kind="link", id=link_id, from_=a, to=b, mode=record["mode"], country=record.get("country"),
                       km=data["length_km"], hours=data["time_h"], usd=data["money_usd"], corridor=record["corridor"])
            link = (link_id, b, data["length_km"], node_records[a]["country"], node_records[b]["country"],
                    record["mode"] == "ferry", parts, record["corridor"], record["route"])
        elif kind in ("dwell", "transfer") and (data["time_h"] or data["money_usd"]):
            leg = dict(kind=kind, id=data["node_id"], from_=data["node_id"], to=data["node_id"], mode=None,
                       country=data["country"], km=0.0, hours=data["time_h"], usd=data["money_usd"], corridor=None)
        memo[u, v] = ((u, v), data["money_usd"], data["time_h"], data["gen_cost"], link, leg)
    graph.graph["_edge_facts"] = memo
    return memo


def route_from_path(graph, path: Sequence, node_records: dict, link_records: dict) -> Route:
    """Summarise a graph path (list of virtual nodes) as a :class:`Route`."""
    facts = _edge_facts(graph, node_records, link_records)
    origin, destination = path[0][1], path[-1][1]
    link_ids: list[str] = []
    node_ids: list[str] = [origin]
    countries: list[str] = [node_records[origin]["country"]]
    crossings: list[tuple[str, str, str]] = []
    km: dict[str, float] = {}
    family_km: dict[str, float] = {}
    transit_routes: list[tuple[str, str]] = []
    legs: list[dict] = []
    edges: list[tuple] = []
    money = time = length = gen = 0.0
    end_countries = {node_records[origin]["country"], node_records[destination]["country"]}
    for edge in zip(path[:-1], path[1:], strict=True):
        key, e_money, e_time, e_gen, link, leg = facts[edge]
        edges.append(key)
        money += e_money
        time += e_time
        gen += e_gen
        if link is not None:
            link_id, b, e_km, ca, cb, ferry, parts, corridor, route_name = link
            link_ids.append(link_id)
            node_ids.append(b)
            length += e_km
            if ca != cb:
                crossings.append((link_id, ca, cb))
            if ca not in countries:
                countries.append(ca)
            if cb not in countries:
                countries.append(cb)
            for part in parts:
                km[part] = km.get(part, 0.0) + e_km / len(parts)
            if ferry or not set(parts) <= end_countries:
                family_km[corridor] = family_km.get(corridor, 0.0) + e_km
                transit_routes.append((corridor, route_name))
        if leg is not None:
            legs.append(leg)
    edges = tuple(edges)
    signature = _corridor_signature(countries, transit_routes)
    if signature is not None:
        corridor, route = signature
    elif family_km:
        corridor = max(sorted(family_km), key=family_km.__getitem__)
        # The finer route is named where the corridor starts: the first transit link of
        # the family.
        route = next(r for c, r in transit_routes if c == corridor)
    elif link_ids:
        corridor = link_records[link_ids[0]]["corridor"]
        route = link_records[link_ids[0]]["route"]
    else:
        corridor = route = "none"
    return Route(
        origin=origin,
        destination=destination,
        edges=edges,
        link_ids=tuple(link_ids),
        node_ids=tuple(node_ids),
        countries=tuple(countries),
        crossings=tuple(crossings),
        gen_cost_usd=gen,
        money_usd=money,
        time_h=time,
        length_km=length,
        km_by_country=tuple(sorted(km.items())),
        corridor=corridor,
        route=route,
        legs=tuple(legs),
    )


def _compiled(graph, weight: str, closed: frozenset = frozenset()):
    """CSR matrix of the graph for ``weight`` without the ``closed`` edges, and the node index.

    Built once per graph and closure set and kept in the graph's own attribute dict (the
    graph belongs to one network and is never changed after it is built).
    """
    cache = graph.graph.setdefault("_compiled", {})
    key = (weight, closed)
    if key not in cache:
        from scipy.sparse import csr_matrix

        nodes = list(graph.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        edges = [(u, v, w) for u, v, w in graph.edges(data=weight) if (u, v) not in closed]
        matrix = csr_matrix(
            ([float(w) for _, _, w in edges], ([index[u] for u, _, _ in edges], [index[v] for _, v, _ in edges])),
            shape=(len(nodes), len(nodes)),
        )
        cache[key] = (matrix, nodes, index)
    return cache[key]


#: Gateways: the crossings and transfers where corridors part.  Pairs of them (an exit,
#: then an entry) make the combinations of the choice set.
_GATEWAY_KINDS = ("border", "gauge_change", "port")
#: Junctions where branches part (a second track beside the old line, a cut-off): the
#: least-cost path through each one joins the choice set, not their combinations.
_VIA_KINDS = ("junction",)


def _link_of_edge(graph, weight: str) -> dict[tuple[int, int], str]:
    """Physical link id of each link edge, by (tail, head) node index, built once per graph."""
    cache = graph.graph.setdefault("_compiled", {})
    key = f"{weight}:links"
    if key not in cache:
        _, _, index = _compiled(graph, weight)
        cache[key] = {
            (index[u], index[v]): d["link_id"] for u, v, d in graph.edges(data=True) if d["kind"] == "link"
        }
    return cache[key]


class _ClassPaths:
    """All-pairs least costs and paths of one closure class (the graph without ``closed``).

    The virtual-link graph has under a few thousand nodes: one compiled all-pairs Dijkstra
    per closure class costs less than the per-pair searches it replaces.  Paths between
    the gateways, from an origin and to a destination are walked once and kept, with their
    node sets packed as bits so that loops are found for many gateway combinations at once.
    """

    _POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)

    def __init__(self, network, weight: str, closed: frozenset):
        from scipy.sparse.csgraph import dijkstra

        matrix, nodes, _ = _compiled(network.graph, weight, closed)
        self.dist, self.pred = dijkstra(matrix, directed=True, return_predecessors=True)
        kind = [network.node_records[n[0]]["kind"] if len(n) == 3 and n[2] == "in" else None for n in nodes]
        self.gates = np.array([i for i, k in enumerate(kind) if k in _GATEWAY_KINDS], dtype=np.intp)
        self.vias = np.array([i for i, k in enumerate(kind) if k in _VIA_KINDS], dtype=np.intp)
        self.between = self.dist[np.ix_(self.gates, self.gates)]
        self.n = len(nodes)
        self._paths: dict[tuple[int, int], list[int]] = {}
        self._heads: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._tails: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._mid: tuple[np.ndarray, np.ndarray] | None = None

    def path(self, a: int, b: int) -> list[int]:
        """The least-cost path from node ``a`` to node ``b`` (indices, both included)."""
        key = (a, b)
        if key not in self._paths:
            if not np.isfinite(self.dist[a, b]):
                self._paths[key] = []
            else:
                path = [b]
                row = self.pred[a]
                while path[-1] != a:
                    path.append(int(row[path[-1]]))
                path.reverse()
                self._paths[key] = path
        return self._paths[key]

    def _masks(self, ends: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        bits = np.zeros((len(ends), self.n), dtype=bool)
        for row, (a, b) in enumerate(ends):
            bits[row, self.path(a, b)] = True
        return np.packbits(bits, axis=1), bits.sum(axis=1)

    def head(self, src: int) -> tuple[np.ndarray, np.ndarray]:
        """Packed node sets and node counts of the paths from ``src`` to every gateway, then every via."""
        if src not in self._heads:
            self._heads[src] = self._masks([(src, int(g)) for g in np.r_[self.gates, self.vias]])
        return self._heads[src]

    def tail(self, dst: int) -> tuple[np.ndarray, np.ndarray]:
        """Packed node sets and node counts of the paths from every gateway, then every via, to ``dst``."""
        if dst not in self._tails:
            self._tails[dst] = self._masks([(int(g), dst) for g in np.r_[self.gates, self.vias]])
        return self._tails[dst]

    def mid(self) -> tuple[np.ndarray, np.ndarray]:
        """Packed node sets ``(G, G, bytes)`` and counts ``(G, G)`` of the gateway-to-gateway paths."""
        if self._mid is None:
            g = len(self.gates)
            packed, count = self._masks([(int(a), int(b)) for a in self.gates for b in self.gates])
            self._mid = packed.reshape(g, g, -1), count.reshape(g, g)
        return self._mid

    def popcount(self, packed: np.ndarray) -> np.ndarray:
        return self._POPCOUNT[packed].sum(axis=-1)


def _all_pairs(network, weight: str, closed: frozenset = frozenset()) -> _ClassPaths:
    """The :class:`_ClassPaths` of a closure class, cached on the graph."""
    cache = network.graph.graph.setdefault("_all_pairs", {})
    key = (weight, closed)
    if key not in cache:
        cache[key] = _ClassPaths(network, weight, closed)
    return cache[key]


def _combination_paths(network, weight: str, src: int, dst: int, limit: float,
                       closed: frozenset = frozenset()) -> list[tuple[float, list[int]]]:
    """The least-cost path through every gateway and every ordered pair of gateways, within ``limit``.

    Gateways are the border posts, gauge-change stations and ports.  The least-cost path
    through one gateway brings in each exit or entry crossing at its best; through an
    ordered pair (an exit, then an entry further on) each combination of exit, branch and
    entry; through one junction each branch that parts there (a second track beside the old
    line).  A pair whose least cost equals that of the path through one of its two gateways
    alone is that path (the other gateway lies on it) and is not walked again.  Paths that
    pass a node twice are dropped.  Deterministic: candidates are ordered by cost, then by
    gateway indices.
    """
    paths = _all_pairs(network, weight, closed)
    dist = paths.dist
    gates = np.r_[paths.gates, paths.vias]  # the first len(paths.gates) combine in pairs
    n_pair = len(paths.gates)
    if not np.isfinite(dist[src, dst]):
        return []
    head = dist[src, gates]
    tail = dist[gates, dst]
    single = head + tail
    tol = 1e-9 * max(1.0, abs(limit))
    with np.errstate(invalid="ignore"):
        pair = head[:n_pair, None] + paths.between + tail[None, :n_pair]
        keep = (pair <= limit + tol) & (pair > single[:n_pair, None] + tol) & (pair > single[None, :n_pair] + tol)
    np.fill_diagonal(keep, False)
    ones = np.flatnonzero(single <= limit + tol)
    g1, g2 = np.nonzero(keep)
    # Each piece is a least-cost path, hence loopless; the whole is loopless if the pieces
    # share only their joints: the node count of the union is the sum less the joints.
    head_bits, head_count = paths.head(src)
    tail_bits, tail_count = paths.tail(dst)
    one_bits = head_bits[ones] | tail_bits[ones]
    ok_one = paths.popcount(one_bits) == head_count[ones] + tail_count[ones] - 1
    ones, one_bits = ones[ok_one], one_bits[ok_one]
    two_bits = np.zeros((0, head_bits.shape[1]), dtype=np.uint8)
    if g1.size:
        mid_bits, mid_count = paths.mid()
        two_bits = head_bits[g1] | mid_bits[g1, g2] | tail_bits[g2]
        ok_two = paths.popcount(two_bits) == head_count[g1] + mid_count[g1, g2] + tail_count[g2] - 2
        g1, g2, two_bits = g1[ok_two], g2[ok_two], two_bits[ok_two]
    # (cost, first gateway, second gateway, node set) of every candidate; -1: none
    best_bits = np.zeros((1, head_bits.shape[1]), dtype=np.uint8)
    best_path = paths.path(src, dst)
    best_bits[0] = np.packbits(np.isin(np.arange(paths.n), best_path))
    cost = np.concatenate(([dist[src, dst]], single[ones], pair[g1, g2]))
    first = np.concatenate(([-1], ones, g1))
    second = np.concatenate(([-1], ones, g2))
    bits = np.concatenate((best_bits, one_bits, two_bits))
    # Many gateway combinations lie on one and the same path (an exit and an entry of
    # the same route): a path, known by its cost and its node set, is walked once.  Two
    # paths of equal cost through different nodes (a second track beside the old line)
    # are both kept.
    rounded = np.round(cost / tol)
    _, unique = np.unique(np.column_stack((rounded.view(np.uint64)[:, None].view(np.uint8), bits)), axis=0,
                          return_index=True)
    unique = unique[np.lexsort((second[unique], first[unique], cost[unique]))]
    out: list[tuple[float, list[int]]] = []
    for i in unique.tolist():
        a, b = int(first[i]), int(second[i])
        if a < 0:
            out.append((float(cost[i]), paths.path(src, dst)))
            continue
        u, v = int(gates[a]), int(gates[b])
        path = list(paths.path(src, u))
        if v != u:
            path += paths.path(u, v)[1:]
        path += paths.path(v, dst)[1:]
        out.append((float(cost[i]), path))
    return out


def best_routes(
    network,
    origin: str,
    destination: str,
    *,
    k: int | None = None,
    max_detour: float | None = None,
    max_overlap: float | None = None,
    weight: str = "gen_cost",
    closed: frozenset | None = None,
    mode: str | None = None,
) -> list[Route]:
    """Return the choice set of an OD pair: every distinct gateway combination within the detour limit.

    Candidates are the least-cost path, the least-cost path through each gateway (border
    post, gauge-change station, port) and through each ordered pair of gateways (an exit
    crossing, then an entry crossing or gauge change further on), so every feasible
    combination of exit gateway, corridor branch and entry point appears at its best
    (:func:`_combination_paths`).  Candidates dearer than ``max_detour`` times the best are
    dropped; candidates using the same physical links in the same order (differing only in
    where a transfer happens) are one route, the cheapest standing for both.  The set is
    generated deterministically and is not capped, so a small change of cost changes it
    only where a route crosses the detour limit or its gateway combination finds a cheaper
    path; overlap between routes is left to the path-size term of the logit.

    With ``k`` the set is cut to ``k`` routes for a listing: first the best route of each
    corridor branch and exit gateway, then the cheapest others, skipping those that run for
    more than ``max_overlap`` of their length on the links of a route already taken.

    Parameters
    ----------
    network : Network
    origin, destination : str
        Node ids.
    k : int, optional
        Largest number of routes (default: no limit, the complete choice set).
    max_detour : float, optional
        Cost ratio cut-off (default ``network.params.max_detour``).
    max_overlap : float, optional
        With ``k``: largest share (0..1) of a route's length that may run on the links of
        a cheaper kept route (default ``network.params.max_overlap``).
    weight : str
        Edge attribute to minimise (default ``"gen_cost"``, USD per TEU).
    closed : frozenset of (u, v), optional
        Graph edges this OD pair may not use (infinite cost).  Default: those the
        network's OD-segment closures and the demand ``mode`` close to this pair
        (:meth:`corridors.network.Network.closed_edges`).
    mode : str, optional
        The demand's mode (``"rail"``: rail links, rail ferries and the rail layers only;
        see :data:`corridors.network.MODE_LINKS`); ignored when ``closed`` is given.

    Raises
    ------
    QueryError
        If a node id is unknown, or no route joins the two nodes.
    """
    network.node(origin)
    network.node(destination)
    if origin == destination:
        raise QueryError(f"origin and destination are the same node '{origin}'")
    if k is not None:
        k = int(k)
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
    max_detour = network.params.max_detour if max_detour is None else max_detour
    if closed is None:
        closed = network.closed_edges(network.closures_for(origin, destination), mode)
    graph = network.graph
    source, target = ("o", origin), ("d", destination)
    if source not in graph or target not in graph:
        missing = origin if source not in graph else destination
        raise QueryError(f"node '{missing}' is not in service in {network.params.year} or has no link")
    max_overlap = network.params.max_overlap if max_overlap is None else max_overlap
    _, nodes, index = _compiled(graph, weight, closed)
    src, dst = index[source], index[target]
    dist = _all_pairs(network, weight, closed).dist
    best = float(dist[src, dst])
    if not np.isfinite(best):
        raise QueryError(f"no route from '{origin}' to '{destination}' in the network of {network.params.year}")
    limit = best * max_detour
    candidates = _combination_paths(network, weight, src, dst, limit, closed)
    link_of = _link_of_edge(graph, weight)  # the node index does not depend on closures
    summaries: list[Route] = []
    seen: set[tuple[str, ...]] = set()
    for cost, path in candidates:
        if cost > limit + 1e-9 * max(1.0, limit):
            continue
        links = tuple(filter(None, (link_of.get(e) for e in zip(path[:-1], path[1:], strict=True))))
        if links in seen:  # the same links, changing gauge or mode elsewhere: one route
            continue
        seen.add(links)
        summaries.append(route_from_path(graph, [nodes[i] for i in path], network.node_records, network.link_records))
    if k is None:
        return sorted(summaries, key=lambda r: (r.gen_cost_usd, r.link_ids))
    origin_country = {network.node_records[origin]["country"]}
    # First the best route of each corridor branch and exit gateway: a different border
    # crossing is a different alternative however much track the routes share, and a cheap
    # corridor's many variants must not crowd the others out.  Then the cheapest remaining
    # routes, skipping those that mostly repeat a route already taken.
    chosen: list[Route] = []
    kept_km: list[dict[str, float]] = []
    signatures: set[tuple] = set()

    def take(route: Route, *, check_overlap: bool = True) -> None:
        km = {leg["id"]: leg["km"] for leg in route.legs if leg["kind"] == "link"}
        total = sum(km.values()) or 1.0
        if check_overlap and any(
            sum(v for link, v in km.items() if link in other) / total > max_overlap for other in kept_km
        ):
            return
        kept_km.append(km)
        chosen.append(route)

    for route in summaries:
        signature = (route.corridor, route.route, route.gateway(origin_country))
        if len(chosen) < k and signature not in signatures:
            signatures.add(signature)
            take(route, check_overlap=False)
    for route in summaries:
        if len(chosen) >= k:
            break
        if route not in chosen:
            take(route)
    return sorted(chosen, key=lambda r: (r.gen_cost_usd, r.link_ids))


def path_size(routes: Sequence[Route]) -> list[float]:
    """Path-size factors (Ben-Akiva and Bierlaire) of a set of routes, by link length.

    ``PS_i = sum over links a of route i of (l_a / L_i) / N_a`` where ``N_a`` is the
    number of routes in the set using link ``a``.  1.0 for a route sharing nothing.
    """
    usage: dict[str, int] = {}
    for route in routes:
        for link_id in set(route.link_ids):
            usage[link_id] = usage.get(link_id, 0) + 1
    factors = []
    for route in routes:
        lengths = {leg["id"]: leg["km"] for leg in route.legs if leg["kind"] == "link"}
        total = sum(lengths.values())
        if total <= 0:
            factors.append(1.0)
            continue
        factors.append(sum(km / total / usage[link_id] for link_id, km in lengths.items()))
    return factors


def logit_probabilities(costs: Sequence[float], sizes: Sequence[float], *, theta: float, beta: float) -> list[float]:
    """Path-size logit choice probabilities of one choice set (:func:`corridors.kernel.logit_shares`).

    ``P_i ∝ exp(-theta * c_i + beta * ln PS_i)`` with ``c_i`` in USD per TEU and
    ``theta`` per USD.
    """
    from corridors import kernel

    n = len(costs)
    shares = kernel.logit_shares(np.asarray(costs, dtype=float), kernel.log_path_sizes(sizes), theta, beta,
                                 np.zeros(1, dtype=np.intp), np.zeros(n, dtype=np.intp))
    return [float(p) for p in shares]


def reachable(network, od_pairs: Iterable[tuple]) -> dict[tuple, bool]:
    """Whether each OD pair has a path, with the network's OD-segment closures applied.

    ``od_pairs`` holds ``(origin, destination)`` or ``(origin, destination, mode)`` keys
    (the demand mode's mask applied, see :meth:`corridors.network.Network.closed_edges`);
    the answer is keyed the same way.  A node closed or not in service in the model year
    has no zone in the graph, so pairs at it are unreachable (never an error).
    """
    from corridors.network import route_mode

    groups: dict[tuple, list[tuple]] = {}
    for key in od_pairs:
        o, d = key[0], key[1]
        mode = route_mode(key[2]) if len(key) > 2 else None
        closures = network.closures_for(o, d) if o in network.node_records and d in network.node_records else ()
        groups.setdefault((closures, mode), []).append(key)
    out: dict[tuple, bool] = {}
    for (closures, mode), keys in groups.items():
        closed = network.closed_edges(closures, mode)
        dist = _all_pairs(network, "gen_cost", closed).dist
        _, _, index = _compiled(network.graph, "gen_cost", closed)
        for key in keys:
            src, dst = index.get(("o", key[0])), index.get(("d", key[1]))
            out[key] = src is not None and dst is not None and bool(np.isfinite(dist[src, dst]))
    return out
