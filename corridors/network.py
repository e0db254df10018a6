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

__all__ = ["CostParameters", "Network", "load_network", "build_graph", "LAYERS"]

LAYERS = ("rail1435", "rail1520", "road", "sea")
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
        Number of distinct alternative routes considered per OD pair.
    max_detour : float
        Alternatives costing more than ``max_detour`` x the best route are dropped.
    max_overlap : float
        An alternative sharing more than this part of its length with a cheaper kept
        route is not a distinct alternative (0..1).
    candidate_factor : int
        Yen's algorithm looks ``k_routes * candidate_factor`` paths deep for distinct ones.
    year : int
        Model year: links and nodes are in the network if operating, or if their
        ``opening_year`` is not later than this year.
    bpr_alpha, bpr_beta : float
        BPR volume-delay parameters of links with a capacity (``ue``/``sue`` methods).
    queue_period_h : float
        Flow period T (hours) of the queueing delay at nodes with a capacity (border
        posts, gauge-change yards, ports); the delay at capacity is
        ``T / 4 * sqrt(queue_beta)`` hours.
    queue_beta : float
        Akcelik's ``8 J / (Q T)`` term of the queueing delay, in (0, 4].
    border_penalty_usd : float
        USD per TEU added to the generalised cost of every border crossing (link between
        two countries, ferry legs included): the risk, paperwork and unreliability that
        dwell times and fees do not capture.  A calibration parameter (default 0).
    transfer_penalty_usd : float
        USD per TEU added to every gauge change or mode transfer, likewise (default 0).
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
    border_penalty_usd: float = 0.0
    transfer_penalty_usd: float = 0.0

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str = "parameters") -> CostParameters:
        """Build parameters from a (possibly nested) mapping such as ``parameters.toml``."""
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(flat) - known)
        if unknown:
            raise LayerError(f"{source}: unknown parameter '{unknown[0]}'{suggest(unknown[0], known)}")
        kwargs = {}
        for key, value in flat.items():
            default = getattr(cls, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise LayerError(f"{source}: parameter '{key}': expected a number >= 0, got {value!r}")
            kwargs[key] = type(default)(value)
        if kwargs.get("k_routes", 1) < 1:
            raise LayerError(f"{source}: parameter 'k_routes': must be at least 1")
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _layer_of(link: dict) -> str:
    if link["mode"] == "rail":
        return f"rail{link['gauge_mm']}"
    return "road" if link["mode"] == "road" else "sea"


def _in_service(record: dict, year: int) -> bool:
    if record.get("status", "operating") == "operating":
        return True
    opening = record.get("opening_year")
    return opening is not None and opening <= year


def link_time_h(link: dict) -> float:
    """Hours to traverse a link: running time plus half the headway between departures."""
    if link.get("running_h") is not None:
        hours = float(link["running_h"])
    else:
        hours = link["length_km"] / float(link["speed_kmh"])
    if link.get("frequency_per_week"):
        hours += 0.5 * _HOURS_PER_WEEK / float(link["frequency_per_week"])
    return hours


def link_money_usd(link: dict) -> float:
    """USD per TEU to traverse a link: per-km tariff x length + flat leg tariff."""
    money = float(link.get("tariff_usd") or 0.0)
    if link.get("tariff_usd_per_teu_km") is not None:
        money += float(link["tariff_usd_per_teu_km"]) * link["length_km"]
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
        attrs["gen_cost"] = attrs["money_usd"] + vot * attrs["time_h"] + penalty_usd
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
            penalty_usd=params.border_penalty_usd if _crosses_border(link, active_nodes) else 0.0,
        )
        for u, v, direction in ((a, b, "ab"), (b, a, "ba")):
            if link.get("oneway") and direction == "ba":
                continue
            add((u, layer, "out"), (v, layer, "in"), direction=direction, **common)

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
    """

    geodata: Path
    params: CostParameters
    graph: Any = field(repr=False)
    node_records: dict[str, dict] = field(repr=False)
    link_records: dict[str, dict] = field(repr=False)
    country_names: dict[str, str] = field(repr=False)
    demand_rows: list[dict] = field(repr=False, default_factory=list)
    fingerprint: str | None = field(default=None, repr=False)
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
        )


def _cache_dir() -> Path:
    from corridors import _cache

    return _cache.cache_dir()


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
    key = _fingerprint(geodata)
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
            flat.update(value if isinstance(value, dict) else {key: value})
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
