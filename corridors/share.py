"""Route-share queries on an assignment: through a country, by corridor, by gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corridors._errors import QueryError
from corridors.regions import describe_region, resolve_region

__all__ = [
    "ShareResult",
    "share_through",
    "corridor_name",
    "best_routes",
    "route_geometry",
    "routes_frame",
    "table_frame",
    "html_card",
    "CORRIDOR_NAMES",
    "ROUTE_NAMES",
]

ROUTE_NAMES = {
    "northern_kaz": "Northern route via Kazakhstan",
    "central_mng": "Central route via Mongolia",
    "eastern_transsib": "Eastern route via Trans-Siberian",
    "transsib": "Trans-Siberian",
    "via_iran": "Southern route via Iran",
}

CORRIDOR_NAMES = {
    "belt_and_road": "Belt and Road northern routes",
    "middle_corridor": "Middle Corridor (Trans-Caspian)",
    "north_south": "North–South (INSTC)",
    "east_west": "East–West",
}


_SHARE_COLUMNS = ("teu", "through_teu", "share_of_total")


def table_frame(rows: dict[str, dict[str, float]], index: str, columns: tuple[str, ...]):
    """A ``name -> {column: value}`` table as a DataFrame indexed by ``index`` (order kept).

    Parameters
    ----------
    rows : dict
        Row name -> values; the order of the dict is the order of the frame.
    index : str
        Name of the index (``corridor``, ``gateway`` ...).
    columns : tuple of str
        Columns, in order (missing values are NaN).

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns)) if rows else pd.DataFrame(
        columns=list(columns), dtype=float)
    frame.index.name = index
    return frame


def html_card(title: str, lines: list[str], tables: list[tuple[str, Any]] = ()) -> str:
    """A small HTML block for notebooks: a title, lines of text and titled tables.

    Parameters
    ----------
    title : str
        Class name or heading, shown in bold.
    lines : list of str
        Plain-text lines (escaped).
    tables : list of (str, pandas.DataFrame)
        Titled tables, rendered with :meth:`pandas.DataFrame.to_html` (TEU rounded).

    Returns
    -------
    str
    """
    import html

    parts = [f"<div class='corridors-result'><strong>{html.escape(title)}</strong>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in lines]
    for caption, frame in tables:
        parts.append(f"<p><em>{html.escape(caption)}</em></p>")
        parts.append(frame.to_html(float_format=lambda v: f"{v:,.3f}" if abs(v) < 1 else f"{v:,.0f}",
                                   max_rows=30, border=0))
    parts.append("</div>")
    return "\n".join(parts)


@dataclass(frozen=True)
class ShareResult:
    """The answer to "what share of the TEU from A to B passes through C?".

    Attributes
    ----------
    share : float
        ``through_teu / total_teu`` (0..1).
    through, from_, to : str
        The query, as given.
    total_teu : float
        TEU/year assigned from ``from_`` to ``to``.
    through_teu : float
        Of which TEU/year on routes passing through ``through``.
    share_teu_km : float
        The same share weighted by route length (TEU-km).
    teu_km_in_country : float
        TEU-km/year run inside ``through``.
    by_corridor, by_gateway, by_route : pandas.DataFrame
        One row per corridor, gateway or ``corridor/route`` (the index, ordered by TEU) with
        columns ``teu`` and ``through_teu`` (TEU/year) and ``share_of_total`` (0..1);
        gateways are the border crossings where the flow leaves ``from_``.
    method : str
        The route-choice method of the assignment.
    stranded_teu : float
        TEU/year of the queried demand that found no route.
    """

    share: float
    through: str
    from_: str
    to: str
    total_teu: float
    through_teu: float
    share_teu_km: float
    teu_km_in_country: float
    corridor_rows: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    gateway_rows: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    route_rows: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    method: str = ""
    stranded_teu: float = 0.0

    @property
    def by_corridor(self):
        """DataFrame: TEU/year by corridor (index ``corridor``), largest first."""
        return table_frame(self.corridor_rows, "corridor", _SHARE_COLUMNS)

    @property
    def by_gateway(self):
        """DataFrame: TEU/year by border crossing out of ``from_`` (index ``gateway``)."""
        return table_frame(self.gateway_rows, "gateway", _SHARE_COLUMNS)

    @property
    def by_route(self):
        """DataFrame: TEU/year by ``corridor/route`` of the layers (index ``route``)."""
        return table_frame(self.route_rows, "route", _SHARE_COLUMNS)

    def __repr__(self) -> str:
        return (
            f"<ShareResult {self.share:.1%} of {self.total_teu:,.0f} TEU/year {self.from_}->{self.to} "
            f"through {self.through} (method {self.method})>"
        )

    def _repr_html_(self) -> str:
        head = (
            f"{self.share:.1%} of {self.total_teu:,.0f} TEU/year from {describe_region(self.from_)} to "
            f"{describe_region(self.to)} passes through {describe_region(self.through)} "
            f"({self.through_teu:,.0f} TEU/year; {self.share_teu_km:.1%} of TEU-km; method {self.method})"
        )
        notes = [f"stranded (no route): {self.stranded_teu:,.0f} TEU/year"] if self.stranded_teu else []
        return html_card(
            "ShareResult",
            [head, *notes],
            [("by corridor", self.by_corridor), (f"by gateway (leaving {self.from_})", self.by_gateway)],
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (keys ``share``, ``through``, ``from``, ``to`` ...)."""
        return {
            "share": self.share,
            "through": self.through,
            "from": self.from_,
            "to": self.to,
            "method": self.method,
            "total_teu": self.total_teu,
            "through_teu": self.through_teu,
            "share_teu_km": self.share_teu_km,
            "teu_km_in_country": self.teu_km_in_country,
            "stranded_teu": self.stranded_teu,
            "by_corridor": self.corridor_rows,
            "by_gateway": self.gateway_rows,
            "by_route": self.route_rows,
        }

    def summary(self) -> str:
        """A few lines of plain text for the terminal."""
        lines = [
            f"{self.share:.1%} of {self.total_teu:,.0f} TEU/year from {describe_region(self.from_)} to "
            f"{describe_region(self.to)} passes through {describe_region(self.through)} "
            f"({self.through_teu:,.0f} TEU/year; {self.share_teu_km:.1%} of TEU-km; method {self.method})",
        ]
        if self.stranded_teu:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year")
        for title, table in (
            ("by corridor", self.corridor_rows),
            ("by gateway (leaving " + self.from_ + ")", self.gateway_rows),
        ):
            lines.append(f"{title}:")
            for name, row in table.items():
                lines.append(
                    f"  {name:<44} {row['teu']:>12,.0f} TEU  {row['share_of_total']:>6.1%}   "
                    f"through {self.through}: {row['through_teu']:>10,.0f}"
                )
        return "\n".join(lines)


def corridor_name(route) -> str:
    """Display name of a route's corridor; Belt and Road routes are named by their branch."""
    if route.corridor in ("belt_and_road", "north_south") and route.route in ROUTE_NAMES:
        return ROUTE_NAMES[route.route]
    return CORRIDOR_NAMES.get(route.corridor, route.corridor)


def _add(table: dict, name: str, teu: float, through: float) -> None:
    row = table.setdefault(name, {"teu": 0.0, "through_teu": 0.0})
    row["teu"] += teu
    row["through_teu"] += through


def _finish(table: dict, total: float) -> dict:
    ordered = dict(sorted(table.items(), key=lambda item: -item[1]["teu"]))
    for row in ordered.values():
        row["share_of_total"] = row["teu"] / total if total else 0.0
    return ordered


def gateway_name(network, link_id: str | None, region: set[str]) -> str:
    """Readable name of a border-crossing link, the end inside ``region`` first (``Alashankou–Dostyk``)."""
    if link_id is None:
        return "none (stays in region)"
    link = network.link_records[link_id]
    a, b = network.node_records[link["from"]], network.node_records[link["to"]]
    if a["country"] not in region:
        a, b = b, a
    return f"{a['name']}–{b['name']}"


def share_through(result, through: str, *, from_: str = "CHN", to: str = "EU") -> ShareResult:
    """Share of the TEU between two regions whose routes pass through a country or region.

    Parameters
    ----------
    result : AssignmentResult
    through, from_, to : str
        ISO3 codes or region names; see :func:`corridors.regions.resolve_region`.

    Raises
    ------
    QueryError
        For an unknown country or region, or if no demand joins ``from_`` and ``to``.
    """
    network = result.network
    known = network.country_codes
    through_codes = resolve_region(through, known)
    from_codes = resolve_region(from_, known)
    to_codes = resolve_region(to, known)
    nodes = network.node_records
    total = through_teu = teu_km = through_teu_km = in_country_km = 0.0
    by_corridor: dict = {}
    by_gateway: dict = {}
    by_route: dict = {}
    for flow in result.flows:
        route = flow.route
        if nodes[route.origin]["country"] not in from_codes or nodes[route.destination]["country"] not in to_codes:
            continue
        passes = route.passes_through(through_codes)
        teu = flow.teu
        total += teu
        teu_km += teu * route.length_km
        if passes:
            through_teu += teu
            through_teu_km += teu * route.length_km
        in_country_km += teu * sum(km for c, km in route.km_by_country if c in through_codes)
        _add(by_corridor, corridor_name(route), teu, teu if passes else 0.0)
        _add(by_route, f"{route.corridor}/{route.route}", teu, teu if passes else 0.0)
        gateway = route.gateway(from_codes)
        _add(by_gateway, gateway_name(network, gateway, from_codes), teu, teu if passes else 0.0)
    stranded = sum(
        r["teu"]
        for r in result.stranded
        if nodes[r["origin"]]["country"] in from_codes and nodes[r["destination"]]["country"] in to_codes
    )
    if total <= 0 and stranded <= 0:
        raise QueryError(
            f"no demand from {from_} to {to} in the demand table (origins must lie in {from_}, destinations in {to})"
        )
    return ShareResult(
        share=through_teu / total if total else 0.0,
        through=through,
        from_=from_,
        to=to,
        total_teu=total,
        through_teu=through_teu,
        share_teu_km=through_teu_km / teu_km if teu_km else 0.0,
        teu_km_in_country=in_country_km,
        corridor_rows=_finish(by_corridor, total),
        gateway_rows=_finish(by_gateway, total),
        route_rows=_finish(by_route, total),
        method=result.method,
        stranded_teu=stranded,
    )


def route_geometry(network, route):
    """The LineString of a route, joined from the geometries of its links (EPSG:4326).

    Links run in their drawing direction in the layers; a link a route travels backwards
    is reversed, and the shared point of two consecutive links is kept once.

    Returns
    -------
    shapely.LineString or None
        None for a route without links.
    """
    from shapely.geometry import LineString

    points: list[tuple[float, float]] = []
    records = network.link_records
    for leg in route.legs:
        if leg.get("kind") != "link":
            continue
        record = records[leg["id"]]
        coords = [tuple(c) for c in record["coords"]]
        if leg.get("from_") != record["from"]:
            coords.reverse()
        if points and coords and points[-1] == coords[0]:
            coords = coords[1:]
        points.extend(coords)
    return LineString(points) if len(points) >= 2 else None


#: Columns of :func:`routes_frame`, in order (``geometry`` last).
ROUTE_COLUMNS = (
    "origin",
    "destination",
    "origin_name",
    "destination_name",
    "corridor",
    "corridor_id",
    "route_id",
    "gateway",
    "countries",
    "days",
    "time_h",
    "money_usd",
    "gen_cost_usd",
    "length_km",
    "links",
)


def routes_frame(network, routes, extra: list[dict] | None = None):
    """Routes as a GeoDataFrame, one row per route, with readable columns.

    Parameters
    ----------
    network : Network
    routes : sequence of corridors.routing.Route
    extra : list of dict, optional
        Further columns per route (e.g. ``teu``, ``segment``), one dict per route.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`ROUTE_COLUMNS` (countries as ``"CHN-KAZ-RUS"``, links as a
        space-separated list of link ids, gateway as ``Alashankou–Dostyk``: the border
        crossing out of the origin's country), the ``extra`` columns, and ``geometry``
        (LineString from the link geometries, EPSG:4326).
    """
    import geopandas as gpd

    nodes = network.node_records
    rows = []
    for i, route in enumerate(routes):
        origin_country = nodes[route.origin]["country"]
        row = {
            "origin": route.origin,
            "destination": route.destination,
            "origin_name": nodes[route.origin]["name"],
            "destination_name": nodes[route.destination]["name"],
            "corridor": corridor_name(route),
            "corridor_id": route.corridor,
            "route_id": route.route,
            "gateway": gateway_name(network, route.gateway({origin_country}), {origin_country}),
            "countries": "-".join(route.countries),
            "days": route.days,
            "time_h": route.time_h,
            "money_usd": route.money_usd,
            "gen_cost_usd": route.gen_cost_usd,
            "length_km": route.length_km,
            "links": " ".join(route.link_ids),
        }
        if extra is not None:
            row.update(extra[i])
        row["geometry"] = route_geometry(network, route)
        rows.append(row)
    columns = list(ROUTE_COLUMNS) + [c for c in (extra[0] if extra else {}) if c not in ROUTE_COLUMNS]
    return gpd.GeoDataFrame(rows, columns=[*columns, "geometry"], geometry="geometry", crs="EPSG:4326")


def best_routes(network, origin: str, destination: str, *, k: int | None = None, **options):
    """The best distinct routes between two nodes, as a GeoDataFrame (one row per route).

    The routes are those of :func:`corridors.routing.best_routes` (least generalised cost
    first; ``k`` distinct alternatives within the detour and overlap limits of the
    parameters).

    Parameters
    ----------
    network : Network
    origin, destination : str
        Node ids (``xian``, ``duisburg``).
    k : int, optional
        Number of routes (default: the ``k_routes`` parameter).
    **options
        ``max_detour``, ``max_overlap``, ``weight``: passed to
        :func:`corridors.routing.best_routes`.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``rank`` (1 = best); columns of :func:`routes_frame`: names, corridor,
        gateway, countries, days, hours, USD/TEU, generalised cost (USD/TEU), km, link ids,
        and the route's LineString (EPSG:4326).

    Raises
    ------
    QueryError
        For an unknown node or no route between the two.
    """
    from corridors.routing import best_routes as _best_routes

    routes = _best_routes(network, origin, destination, k=k, **options)
    frame = routes_frame(network, routes)
    frame.index = range(1, len(frame) + 1)
    frame.index.name = "rank"
    return frame
