"""The freight network: validated layers -> a NetworkX graph with explicit transfers.

Each physical node ``n`` becomes one pair of virtual nodes per *layer* that meets
there (``rail1435``, ``rail1520``, ``road``, ``sea``): ``(n, layer, "in")`` and
``(n, layer, "out")``.  The edge between them is the node's *gate*: its dwell time
(border formalities, yard and queue time), handling charge and throughput capacity.
Edges between layers of the same node are *transfers* (gauge change, port handling,
rail-road transshipment), in the spirit of the virtual links of NODUS.  Origins and
destinations are separate zone nodes ``("o", n)`` and ``("d", n)`` so that a zone is
never a through node.  Closing a border or adding a line is therefore a data change.

Generalised cost per TEU (USD) = money (tariffs, handling, transshipment) + value of
time (USD per TEU-hour) x hours (running, dwell, waiting for a departure) + optional
calibrated penalties per border crossing and per transfer.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corridors import __version__
from corridors._errors import LayerError, QueryError, suggest
from corridors.layers import Layers, default_geodata, geodata_files, load_layers

__all__ = ["CostParameters", "Network", "ODClosure", "load_network", "build_graph", "LAYERS", "MODE_LINKS",
           "MODE_LAYERS", "route_mode"]

LAYERS = ("rail1435", "rail1520", "road", "sea")
#: The link modes and graph layers demand of each mode may use (the demand's ``mode``
#: column).  Rail services stay on rail but take the rail ferries (Caspian, Black Sea) and
#: the port dwell those need; a mode not listed here (or no mode) may use the whole graph.
MODE_LINKS = {"rail": frozenset({"rail", "ferry"}), "road": frozenset({"road", "ferry"})}
MODE_LAYERS = {"rail": frozenset({"rail1435", "rail1520", "sea"}), "road": frozenset({"road", "sea"})}
_HOURS_PER_WEEK = 168.0


@dataclass(frozen=True)
class CostParameters:
    """Parameters of the generalised cost and of the route choice.

    Attributes
    ----------
    value_of_time_usd_per_teu_h : float
        USD per TEU-hour a shipper would pay to arrive one hour earlier.
    logit_theta_per_usd : float
        Scale of the logit route choice, per USD of generalised cost per TEU.
    path_size_beta : float
        Weight of the path-size correction (1.0 = the classic PSL).
    k_routes : int
        Not used by the assignment any more: choice sets hold every gateway combination
        within ``max_detour`` (:func:`corridors.routing.best_routes`, issue 10), uncapped.
        Kept (and validated) so parameter files and calibration reports stay readable.
    max_detour : float
        Alternatives costing more than ``max_detour`` x the best route are dropped.
    max_overlap : float
        In a listing cut to ``k`` routes (``best_routes(k=...)``, ``corridors route``), an
        alternative sharing more than this part of its length with a cheaper kept route is
        skipped (0..1).  The assignment's choice sets leave overlap to the path-size term.
    candidate_factor : int
        Not used any more (the search depth of the former k-shortest-path generation); kept
        like ``k_routes``.
    year : int
        Model year: links and nodes are in the network if their ``opening_year`` is not
        later than this year (without an opening year: if operating).
    bpr_alpha, bpr_beta : float
        BPR volume-delay parameters of links with a capacity (``ue``/``sue`` methods).
    queue_period_h : float
        Flow period T (hours) of the queueing delay at nodes with a capacity (border
        posts, gauge-change yards, ports); the delay at capacity is
        ``T / 4 * sqrt(queue_beta)`` hours.
    queue_beta : float
        Akcelik's ``8 J / (Q T)`` term of the queueing delay, in (0, 4].
    capacity_barrier_h : float
        Hours ``J`` of the capacity barrier ``J z / (1 - z)`` added on every link and node
        gate with a capacity (``ue``/``sue``), ``z`` the utilisation: it keeps loads below
        capacity (0 switches it off).
    border_penalty_usd : float
        USD per TEU added to the generalised cost of every border crossing (link between
        two countries, ferry legs included): the risk, paperwork and unreliability that
        dwell times and fees do not capture.  A calibration parameter (default 0).
    transfer_penalty_usd : float
        USD per TEU added to every gauge change or mode transfer, likewise (default 0).
    sanctions_transit_usd : float
        The sanctions-transit term: USD per TEU added to the logit cost of every route of the
        China↔EU demand (segment ``eu``) that crosses a country under sanctions binding EU
        shippers, banks and insurers: Iran in every model year, Russia and Belarus in the years
        the Russia-transit term is active (``russia_transit_term_active`` of
        ``geodata/years/year_inputs.csv``: from 2022, A417; a scenario's
        ``[sea] russia_transit_term`` switches that part).  It enters the mode choice's land
        nest through the same route costs.  Fitted by ``corridors calibrate`` (A423); default 0.
    segments : tuple
        Route choice by demand segment (``[route_choice.segments.<segment>]``):
        ``((segment, logit_theta_per_usd or None, ((gateway node, USD per TEU), ...)), ...)``.
        A segment's logit scale replaces ``logit_theta_per_usd`` for its demand; a gateway
        constant (alternative-specific, USD per TEU, negative = preferred) is added to the
        logit cost of that segment's routes through the node.  Default: none.
    """

    value_of_time_usd_per_teu_h: float = 3.0
    logit_theta_per_usd: float = 0.002
    path_size_beta: float = 1.0
    k_routes: int = 6
    max_detour: float = 1.6
    max_overlap: float = 0.8
    candidate_factor: int = 3
    year: int = 2024
    bpr_alpha: float = 0.15
    bpr_beta: float = 4.0
    queue_period_h: float = 168.0
    queue_beta: float = 0.5
    capacity_barrier_h: float = 2.0
    border_penalty_usd: float = 0.0
    transfer_penalty_usd: float = 0.0
    sanctions_transit_usd: float = 0.0
    segments: tuple = ()

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str = "parameters") -> CostParameters:
        """Build parameters from a (possibly nested) mapping such as ``parameters.toml``.

        Every value must be a finite number in the range of :data:`corridors.layers.PARAMETERS`
        (``k_routes``, ``candidate_factor`` and ``year`` integral; ``2027.0`` counts).

        Raises
        ------
        LayerError
            For an unknown key or a bad value: one line naming ``source``, the key and the
            valid range.
        """
        from corridors.layers import MAX_SEARCH_DEPTH, check_parameters, search_depth_message

        values, problems = check_parameters(data, source)
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LayerError(f"{problems[0]}{more}")
        # the [mode_choice] keys are validated with the rest but belong to corridors.modes
        params = cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})
        if params.k_routes * params.candidate_factor > MAX_SEARCH_DEPTH:
            raise LayerError(f"{source}: {search_depth_message(params.k_routes, params.candidate_factor)}")
        return params

    def as_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (``segments`` as nested tables, as in the TOML)."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        out["segments"] = {name: ({"logit_theta_per_usd": theta} if theta is not None else {})
                           | ({"gateway_asc_usd": dict(consts)} if consts else {})
                           for name, theta, consts in self.segments}
        return out

    def theta_of(self, segment: str | None) -> float:
        """Logit scale (per USD) of a demand segment: its own if set, else ``logit_theta_per_usd``."""
        for name, theta, _ in self.segments:
            if name == segment and theta is not None:
                return theta
        return self.logit_theta_per_usd

    def asc_of(self, segment: str | None) -> dict[str, float]:
        """Gateway constants (node id -> USD per TEU) of a demand segment."""
        for name, _, consts in self.segments:
            if name == segment:
                return dict(consts)
        return {}

    def with_segment_values(self, values: dict[str, float]) -> CostParameters:
        """A copy with segment values replaced: keys ``theta:<segment>`` and ``asc:<segment>:<node>``."""
        table = {name: [theta, dict(consts)] for name, theta, consts in self.segments}
        for key, value in values.items():
            kind, segment, *node = key.split(":")
            entry = table.setdefault(segment, [None, {}])
            if kind == "theta":
                entry[0] = float(value)
            else:
                entry[1][node[0]] = float(value)
        return replace(self, segments=tuple((n, t, tuple(sorted(c.items()))) for n, (t, c) in sorted(table.items())))


def generalised_cost_usd(money_usd, hours, value_of_time_usd_per_teu_h, penalty_usd=0.0):
    """Generalised cost in USD per TEU: money + value of time x hours + penalties.

    The one definition: :func:`build_graph` prices every edge with it, and
    :func:`corridors.kernel.generalised_cost` applies it to arrays and batches.  Works on
    floats and on NumPy arrays that broadcast.
    """
    return money_usd + value_of_time_usd_per_teu_h * hours + penalty_usd


def route_mode(mode: str | None) -> str | None:
    """The routing mode of a demand row's ``mode``: a key of :data:`MODE_LINKS`, else None (any edge)."""
    return mode if mode in MODE_LINKS else None


def _layer_of(link: dict) -> str:
    if link["mode"] == "rail":
        return f"rail{link['gauge_mm']}"
    return "road" if link["mode"] == "road" else "sea"


def _in_service(record: dict, year: int) -> bool:
    """True if the feature is in service in ``year``: opened by then, whatever its status.

    A feature without an opening year is in service if it is ``operating`` (the layers
    require the year of every planned or under-construction feature).  An ``operating``
    feature that opened after ``year`` is not in service: the model year is honoured for
    every status (a scenario's ``open`` moves the opening year to its model year).
    """
    opening = record.get("opening_year")
    if opening is None:
        return record.get("status", "operating") == "operating"
    return opening <= year


def _run_km(link: dict) -> float:
    """Running distance in km: the published ``distance_km`` where given, else the drawn length."""
    return float(link["distance_km"]) if link.get("distance_km") is not None else link["length_km"]


def link_time_h(link: dict) -> float:
    """Hours to traverse a link: running time plus half the headway between departures."""
    if link.get("running_h") is not None:
        hours = float(link["running_h"])
    else:
        hours = _run_km(link) / float(link["speed_kmh"])
    if link.get("frequency_per_week"):
        hours += 0.5 * _HOURS_PER_WEEK / float(link["frequency_per_week"])
    return hours


def link_money_usd(link: dict) -> float:
    """USD per TEU to traverse a link: per-km tariff x running distance + flat leg tariff."""
    money = float(link.get("tariff_usd") or 0.0)
    if link.get("tariff_usd_per_teu_km") is not None:
        money += float(link["tariff_usd_per_teu_km"]) * _run_km(link)
    return money


def _crosses_border(link: dict, nodes: dict) -> bool:
    return nodes[link["from"]]["country"] != nodes[link["to"]]["country"]


def _land_only(link: dict) -> bool:
    """True for links of the land route choice: not a sea lane, not a leg of the maritime layer."""
    return link["mode"] != "sea" and link.get("layer", link.get("corridor")) != "maritime"


def build_graph(nodes: dict[str, dict], links: dict[str, dict], params: CostParameters, *, include_sea: bool = False):
    """Build the virtual-link graph from node and link records.

    Parameters
    ----------
    nodes, links : dict
        Records as returned by :func:`corridors.layers.load_layers` (possibly changed by
        a scenario).  Records with ``closed=True`` and features not in service in
        ``params.year`` are left out.
    params : CostParameters
    include_sea : bool
        Whether the sea lanes and the rest of the ``maritime`` layer (port access legs) are
        in the graph.  Off by default: the land route choice must not send rail demand to
        sea until mode choice is modelled (issue 11).

    A DiGraph holds one edge per pair of virtual nodes: of two links between the same nodes
    in the same layer (the Suez and the Cape lanes between two ports, with ``include_sea``)
    the graph keeps the one of least generalised cost (ties: the smaller link id), whatever
    the order of the records, so routes and flows are those of the cheaper link.  The mode
    choice reads every lane from the link records (:mod:`corridors.modes`).

    Returns
    -------
    networkx.DiGraph
        See the module docstring for its structure; every edge has ``kind``,
        ``time_h``, ``money_usd``, ``length_km``, ``capacity_teu``, ``country``,
        ``corridor``, ``route``, ``mode``, ``penalty_usd``, ``gen_cost`` (USD/TEU), and
        ``link_id`` or ``node_id``.
    """
    import networkx as nx

    vot = params.value_of_time_usd_per_teu_h
    graph = nx.DiGraph(value_of_time_usd_per_teu_h=vot, year=params.year)
    active_nodes = {n: r for n, r in nodes.items() if not r.get("closed") and _in_service(r, params.year)}
    layers_at: dict[str, set[str]] = {n: set() for n in active_nodes}

    def add(u, v, *, penalty_usd: float = 0.0, **attrs):
        attrs["penalty_usd"] = penalty_usd
        attrs["gen_cost"] = generalised_cost_usd(attrs["money_usd"], attrs["time_h"], vot, penalty_usd)
        graph.add_edge(u, v, **attrs)

    for link_id, link in links.items():
        if link.get("closed") or not _in_service(link, params.year):
            continue
        if not include_sea and not _land_only(link):
            continue
        a, b = link["from"], link["to"]
        if a not in active_nodes or b not in active_nodes:
            continue
        layer = _layer_of(link)
        layers_at[a].add(layer)
        layers_at[b].add(layer)
        common = dict(
            kind="link",
            link_id=link_id,
            time_h=link_time_h(link),
            money_usd=link_money_usd(link),
            length_km=link["length_km"],
            capacity_teu=link.get("capacity_teu"),
            country=link.get("country"),
            corridor=link["corridor"],
            route=link["route"],
            mode=link["mode"],
            node_id=None,
            crosses_border=_crosses_border(link, active_nodes),
            penalty_usd=params.border_penalty_usd if _crosses_border(link, active_nodes) else 0.0,
        )
        for u, v, direction in ((a, b, "ab"), (b, a, "ba")):
            if link.get("oneway") and direction == "ba":
                continue
            edge = ((u, layer, "out"), (v, layer, "in"))
            if edge in graph.edges and not _displaces(graph.edges[edge], link_id, common, vot):
                continue
            add(*edge, direction=direction, **common)

    for node_id, layers in layers_at.items():
        node = active_nodes[node_id]
        base = dict(
            node_id=node_id, link_id=None, length_km=0.0, country=node["country"], corridor=None, route=None, mode=None
        )
        for layer in layers:
            add(
                (node_id, layer, "in"),
                (node_id, layer, "out"),
                kind="dwell",
                time_h=float(node["dwell_h"]),
                money_usd=float(node["handling_usd"]),
                capacity_teu=node.get("capacity_teu"),
                **base,
            )
            add(
                ("o", node_id),
                (node_id, layer, "out"),
                kind="access",
                time_h=0.0,
                money_usd=0.0,
                capacity_teu=None,
                **base,
            )
            add(
                (node_id, layer, "in"),
                ("d", node_id),
                kind="egress",
                time_h=0.0,
                money_usd=0.0,
                capacity_teu=None,
                **base,
            )
        if node.get("transfer_h") is not None and len(layers) > 1:
            for src in layers:
                for dst in layers:
                    if src != dst:
                        add(
                            (node_id, src, "in"),
                            (node_id, dst, "in"),
                            kind="transfer",
                            penalty_usd=params.transfer_penalty_usd,
                            time_h=float(node["transfer_h"]),
                            money_usd=float(node["transfer_usd"]),
                            capacity_teu=node.get("capacity_teu"),
                            **base,
                        )
    return graph


def _displaces(existing: dict, link_id: str, attrs: dict, vot: float) -> bool:
    """Whether a link's edge should replace the edge of a parallel link already in the graph."""
    cost = generalised_cost_usd(attrs["money_usd"], attrs["time_h"], vot, attrs["penalty_usd"])
    return (cost, link_id) < (existing["gen_cost"], existing["link_id"] or "")


@dataclass(frozen=True)
class ODClosure:
    """Features closed to the OD pairs between two regions only (a scenario's ``[[close]]``
    with ``from``/``to``).

    Attributes
    ----------
    key : str
        Where it was defined (``close[0]``), for messages.
    from_codes, to_codes : frozenset of str or None
        ISO3 codes of the origin and destination regions (None: any).
    both_ways : bool
        Also close the reverse direction (``to`` -> ``from``).
    nodes, links : frozenset of str
        The node and link ids closed to those OD pairs.
    """

    key: str
    from_codes: frozenset[str] | None
    to_codes: frozenset[str] | None
    both_ways: bool
    nodes: frozenset[str]
    links: frozenset[str]

    def applies(self, origin_country: str, destination_country: str) -> bool:
        """True if the closure applies to an OD pair between these countries."""

        def match(o: str, d: str) -> bool:
            return (self.from_codes is None or o in self.from_codes) and (self.to_codes is None or d in self.to_codes)

        return match(origin_country, destination_country) or (
            self.both_ways and match(destination_country, origin_country))


class Memo(dict):
    """An explicit per-network cache (choice sets, edge arrays, closure masks).

    Frozen networks never have attributes written into them; whatever is computed once per
    network is kept here and dropped with the network.
    """

    def __repr__(self) -> str:
        return f"Memo({len(self)} entries)"


#: Demand segment the sanctions-transit term applies to (China↔EU, ``demand.csv``).
SANCTIONS_SEGMENT = "eu"
#: Countries under sanctions in every model year (US secondary sanctions on Iran from 2018).
SANCTIONED_ALWAYS = frozenset({"IRN"})
#: Countries under sanctions in the years the Russia-transit term is active.
RUSSIA_TERM_COUNTRIES = frozenset({"RUS", "BLR"})
#: First year of the Russia part where the year tables do not say (EU sanctions of 2022, A417).
RUSSIA_TERM_FROM = 2022


def russia_term_active(network, year: int) -> bool:
    """Whether the Russia-transit term applies in ``year`` on ``network`` (scenario, then year tables)."""
    sea = getattr(getattr(getattr(network, "scenario", None), "spec", None), "sea", None)
    if sea is not None and getattr(sea, "russia_transit_term", None) is not None:
        return sea.russia_transit_term == "on"
    from corridors.years import load_year_tables

    # a geodata folder without year tables (a user's own network) follows the calendar rule;
    # a malformed table is an error, named in one line, rather than silently ignored
    if (network.geodata / "years").is_dir():
        tables = load_year_tables(network.geodata)
        if int(year) in tables.years:
            return bool(tables.inputs(int(year))["russia_transit_term_active"])
    return int(year) >= RUSSIA_TERM_FROM


def sanctioned_route(route, segment, russia_active: bool) -> bool:
    """True for a route of the ``eu`` segment the sanctions-transit term applies to: it crosses
    Iran, or Russia or Belarus in a year the Russia part is active."""
    if segment != SANCTIONS_SEGMENT:
        return False
    countries = set(route.countries)
    return bool(SANCTIONED_ALWAYS & countries) or (russia_active and bool(RUSSIA_TERM_COUNTRIES & countries))


@dataclass(frozen=True)
class Network:
    """The freight network of a geodata folder, ready for assignment.

    Attributes
    ----------
    geodata : Path
        Folder the layers came from.
    params : CostParameters
    graph : networkx.DiGraph
        The virtual-link graph (see :func:`build_graph`).
    node_records, link_records : dict
        Validated records by id (link records carry ``length_km`` in km and ``coords``).
    country_names : dict
        ISO3 -> country name, from ``countries.geojson``.
    demand_rows : list of dict
        The demand table (TEU/year by origin and destination node).
    fingerprint : str or None
        Hash of the files and changes the network was built from (keys on-disk caches).
    od_closures : tuple of ODClosure
        Closures for some OD pairs only (a scenario's segment closures).  Every method
        honours them: routes of those pairs never use the closed features
        (:meth:`closed_edges`).
    memo : Memo
        Per-network cache (not part of the network's value).
    """

    geodata: Path
    params: CostParameters
    graph: Any = field(repr=False)
    node_records: dict[str, dict] = field(repr=False)
    link_records: dict[str, dict] = field(repr=False)
    country_names: dict[str, str] = field(repr=False)
    demand_rows: list[dict] = field(repr=False, default_factory=list)
    fingerprint: str | None = field(default=None, repr=False)
    od_closures: tuple[ODClosure, ...] = field(default=(), repr=False)
    memo: Memo = field(default_factory=Memo, repr=False, compare=False)

    def sanctions_term(self) -> tuple[float, bool]:
        """The sanctions-transit term of the model year: (USD per TEU, whether its Russia part is active).

        The Russia part is active as ``russia_transit_term_active`` of the year tables says for
        ``params.year`` (years outside the tables: from :data:`RUSSIA_TERM_FROM`), unless the
        network's scenario sets ``[sea] russia_transit_term``.
        """
        if not self.params.sanctions_transit_usd:
            return 0.0, False  # no term: no need to read the year tables
        key = ("russia_transit_active", self.params.year)
        if key not in self.memo:
            self.memo[key] = russia_term_active(self, self.params.year)
        return float(self.params.sanctions_transit_usd), bool(self.memo[key])

    def closures_for(self, origin: str, destination: str) -> tuple[int, ...]:
        """Indices into ``od_closures`` of the closures that apply to an OD pair."""
        if not self.od_closures:
            return ()
        oc = self.node_records[origin]["country"]
        dc = self.node_records[destination]["country"]
        return tuple(i for i, c in enumerate(self.od_closures) if c.applies(oc, dc))

    def closed_edges(self, closures: tuple[int, ...], mode: str | None = None) -> frozenset:
        """Graph edges ``(u, v)`` closed by the given ``od_closures`` and by ``mode`` (empty for none).

        A closed node closes every edge at it (gates, transfers, access, egress and the
        links ending there); a closed link its two directed edges.  A demand ``mode`` with
        a mask (:data:`MODE_LINKS`) closes the links of other modes and every edge at a
        graph layer it may not enter (rail demand: the road layer's gates, transfers,
        access and egress).  Routing treats these as edges of infinite cost for the OD
        pairs (of that mode) the closures apply to.
        """
        mode = route_mode(mode)
        if not closures and mode is None:
            return frozenset()
        key = ("closed_edges", closures, mode)
        if key not in self.memo:
            nodes = set().union(*(self.od_closures[i].nodes for i in closures)) if closures else set()
            links = set().union(*(self.od_closures[i].links for i in closures)) if closures else set()
            modes = MODE_LINKS.get(mode)
            layers = MODE_LAYERS.get(mode)

            def physical(n) -> str:
                return n[1] if len(n) == 2 else n[0]

            closed = set()
            for u, v, data in self.graph.edges(data=True):
                if data.get("link_id") in links or physical(u) in nodes or physical(v) in nodes:
                    closed.add((u, v))
                elif modes is not None and (
                        (data["kind"] == "link" and data["mode"] not in modes)
                        or (len(u) == 3 and u[1] not in layers) or (len(v) == 3 and v[1] not in layers)):
                    closed.add((u, v))
            self.memo[key] = frozenset(closed)
        return self.memo[key]

    include_sea: bool = field(default=False, repr=False)

    @functools.cached_property
    def nodes(self):
        """GeoDataFrame of the nodes (EPSG:4326), indexed by id."""
        import geopandas as gpd
        import shapely

        records = [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in self.node_records.values()]
        geometry = [shapely.Point(r["lon"], r["lat"]) for r in self.node_records.values()]
        frame = gpd.GeoDataFrame(records, geometry=geometry, crs="EPSG:4326")
        return frame.set_index("id", drop=False).rename_axis(None)

    @functools.cached_property
    def links(self):
        """GeoDataFrame of the links (EPSG:4326), indexed by id, with ``length_km``,
        ``time_h`` (hours) and ``money_usd`` (USD per TEU)."""
        import geopandas as gpd
        import shapely

        records = []
        for record in self.link_records.values():
            row = {k: v for k, v in record.items() if k != "coords"}
            row["time_h"] = link_time_h(record)
            row["money_usd"] = link_money_usd(record)
            row["in_service"] = _in_service(record, self.params.year) and not record.get("closed")
            records.append(row)
        geometry = [shapely.LineString(r["coords"]) for r in self.link_records.values()]
        frame = gpd.GeoDataFrame(records, geometry=geometry, crs="EPSG:4326")
        return frame.set_index("id", drop=False).rename_axis(None)

    @functools.cached_property
    def countries(self):
        """GeoDataFrame of the shipped country polygons (``iso_a3``, ``name``)."""
        import geopandas as gpd

        path = self.geodata / "countries.geojson"
        frame = gpd.read_file(path)
        return frame.set_index("iso_a3", drop=False).rename_axis(None)

    @property
    def country_codes(self) -> frozenset[str]:
        """ISO3 codes known to the model (countries layer and node countries)."""
        return frozenset(self.country_names) | {r["country"] for r in self.node_records.values()}

    def node(self, node_id: str) -> dict:
        """Return a node record; raise :class:`QueryError` for an unknown id."""
        try:
            return self.node_records[node_id]
        except KeyError:
            raise QueryError(f"unknown node '{node_id}'{suggest(node_id, self.node_records)}") from None

    def with_changes(
        self,
        *,
        node_records: dict[str, dict] | None = None,
        link_records: dict[str, dict] | None = None,
        params: CostParameters | None = None,
        demand_rows: list[dict] | None = None,
    ) -> Network:
        """Return a new network with changed records or parameters (the graph is rebuilt)."""
        nodes = self.node_records if node_records is None else node_records
        links = self.link_records if link_records is None else link_records
        params = self.params if params is None else params
        graph = build_graph(nodes, links, params, include_sea=self.include_sea)
        return replace(
            self,
            graph=graph,
            node_records=nodes,
            link_records=links,
            params=params,
            demand_rows=self.demand_rows if demand_rows is None else demand_rows,
            fingerprint=None,
            memo=Memo(),
        )


def _fingerprint(geodata: Path) -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in geodata_files(geodata) + [geodata / "SOURCES.md"]:
        if path.is_file():
            digest.update(str(path.relative_to(geodata)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _load_validated(geodata: Path) -> tuple[Layers, str | None]:
    """Return validated layers, from the on-disk cache when the files are unchanged.

    Validation (geometry tests against country polygons) is the slow part of a cold
    start; its result is cached under ``$CORRIDORS_CACHE_DIR`` (default
    ``~/.cache/corridors``) keyed by a hash of every file read.
    """
    from corridors import _cache

    if not _cache.enabled():
        return load_layers(geodata), None
    try:
        key = _fingerprint(geodata)
    except (OSError, MemoryError):  # an unreadable file: validation names it in one line
        return load_layers(geodata), None
    name = f"layers-{key}.pickle"
    layers = _cache.read(name)
    if isinstance(layers, Layers):
        return replace(layers, geodata=geodata), key
    layers = load_layers(geodata)
    _cache.write(name, layers)
    return layers, key


def load_network(
    geodata: str | Path | None = None, *, params: CostParameters | dict | None = None, include_sea: bool = False
) -> Network:
    """Load, validate and build the freight network of a geodata folder.

    Parameters
    ----------
    geodata : path, optional
        A folder with the layout of the shipped ``geodata/`` (default: the shipped one).
    params : CostParameters or dict, optional
        Overrides of the parameters in ``geodata/parameters.toml``.
    include_sea : bool
        Put the ``maritime`` layer (sea lanes, port access legs) in the graph; off by
        default (see :func:`build_graph`).

    Returns
    -------
    Network

    Raises
    ------
    LayerError
        If a layer is malformed (one line naming file, feature and field).

    Examples
    --------
    >>> import corridors
    >>> net = corridors.load_network()
    >>> net.node("dostyk")["country"]
    'KAZ'
    """
    folder = Path(geodata).resolve() if geodata is not None else default_geodata()
    layers, fingerprint = _load_validated(folder)
    base = CostParameters.from_mapping(layers.parameters, source=str(folder / "parameters.toml"))
    if isinstance(params, dict):
        flat = {}
        for key, value in params.items():
            flat.update(value if isinstance(value, dict) and key != "segments" else {key: value})
        base = CostParameters.from_mapping({**base.as_dict(), **flat}, source="params")
    elif params is not None:
        base = params
    graph = build_graph(layers.nodes, layers.links, base, include_sea=include_sea)
    if include_sea and fingerprint:
        # route sets are cached by fingerprint: keep the sea graph's apart from the land graph's
        fingerprint = hashlib.sha256(f"{fingerprint}/sea".encode()).hexdigest()[:32]
    return Network(
        geodata=folder,
        params=base,
        graph=graph,
        node_records=layers.nodes,
        link_records=layers.links,
        country_names=layers.countries,
        demand_rows=layers.demand,
        fingerprint=fingerprint,
        include_sea=include_sea,
    )
