"""Folium maps of the corridor network, assigned flows and scenario differences.

Three map kinds, each a plain function returning a :class:`folium.Map`:

- :func:`network_map`: the corridor layers (one toggleable layer per corridor family,
  coloured by corridor, planned links dashed) and the nodes styled by kind;
- :func:`flow_map`: assigned TEU/year as line widths, countries shaded by transit TEU and
  the headline share ("through Kazakhstan: NN% of China–EU land TEU") in a title box;
- :func:`compare_map`: the difference between two assignments on a diverging scale.

The ``maritime`` family (sea lanes via Suez and the Cape, port legs) has its own colour and
layer after the land families; its sea lanes are thin and dashed, one per port pair and
passage (:func:`merge_sea_lanes`), and every map opens on the land network.

Every kind has a toggleable layer of name labels for hubs, ports and gateways (border and
gauge-change nodes; overlapping labels give way to the more important ones until zoomed in),
compact tooltips (the full attributes are in the popup) and credits in the attribution line
(Natural Earth outlines, the sources of ``geodata/SOURCES.md``).  Country outlines are
simplified for display (:data:`COUNTRY_SIMPLIFY_DEG`), so any outline resolution works.

Maps are *self-contained* by default: Leaflet and jQuery are read at run time from the
installed ``XStatic-Leaflet`` / ``XStatic-jQuery`` packages and inlined, Leaflet's images are
inlined as ``data:`` URIs, and folium's other default assets (Bootstrap, Font Awesome,
Leaflet.awesome-markers) are not used at all.  The base map is drawn from the shipped country
polygons, so a map is meaningful offline; web tiles are opt-in (``tiles=``).
:func:`save_map` refuses (:class:`~corridors._errors.CorridorsError`) to write a
self-contained map that still references an external script or stylesheet, and writes
atomically through :func:`corridors._io.atomic_path`.

This module assembles the map kinds; the drawing blocks are in :mod:`corridors._mapdraw`
and the escaping, asset inlining and output in :mod:`corridors._mapbase` (their public
names are re-exported here).

Every string that comes from a data file (names, ids, sources, country names ...) is
HTML-escaped before it reaches a tooltip, popup, layer name or title, and further escaped
for the JavaScript template literals folium embeds it in.

folium, branca and geopandas are imported inside the functions, so importing this module is
cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from corridors._mapbase import (
    _compact,
    _css_class,
    _legend_samples,
    _missing,
    _num,
    _pct,
    escape,
    external_assets,
    map_html,
    save_map,
    tip_html,
)
from corridors._mapdraw import (
    _DASHES,
    _LAND,
    _MAX_WIDTH,
    _MIN_WIDTH,
    _NO_FLOW,
    CORRIDOR_COLOURS,
    LABEL_KINDS,
    MARITIME,
    NODE_STYLES,
    _add_attribution,
    _add_countries,
    _add_labels,
    _add_link_layers,
    _add_nodes,
    _base_map,
    _circle_symbol,
    _corridor_colours,
    _countries_of,
    _country_names,
    _family_symbol,
    _finish,
    _land_bounds,
    _legend,
    _line_symbol,
    _network_of,
    _node_names,
    _place_name,
    _ramp,
    _row,
    _title_box,
    _to_4326,
    attribution_html,
    corridor_label,
    merge_sea_lanes,
)

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import pandas as pd

__all__ = [
    "MAP_KINDS",
    "CORRIDOR_COLOURS",
    "NODE_STYLES",
    "network_map",
    "flow_map",
    "compare_map",
    "map_html",
    "save_map",
    "external_assets",
    "escape",
    "tip_html",
    "attribution_html",
    "LABEL_KINDS",
    "corridor_label",
    "merge_sea_lanes",
    "MARITIME",
]

#: Re-exported helpers of the split modules (tests and the report use them).
_REEXPORTED = (_css_class, _LAND)

#: The map kinds of ``corridors map --kind``.
MAP_KINDS = ("network", "flows", "compare")

# ---------------------------------------------------------------------------
# public map kinds
# ---------------------------------------------------------------------------


def network_map(
    network: Any,
    *,
    tiles: str | None = None,
    self_contained: bool = True,
) -> folium.Map:
    """Return a map of the corridor network: links by corridor family, nodes by kind.

    Each corridor family (``links/<family>.geojson``) is one toggleable layer in the layer
    control, drawn in its own colour; links that are planned or under construction are
    dashed.  Nodes are circle markers styled by kind (hub, port, border crossing, gauge
    change, junction) with a short tooltip (name, kind, country, dwell time) and a popup
    with every attribute; hubs, ports and gateways are named in a toggleable "Labels" layer.
    Every text from the data is HTML-escaped.

    Parameters
    ----------
    network : Network
        From :func:`corridors.load_network`; uses ``nodes``, ``links`` and ``countries``.
    tiles : str, optional
        A folium tile name or URL template for a web base map (needs network access when
        the map is viewed).  Default: none; the land is drawn from ``network.countries``.
    self_contained : bool, default True
        Inline Leaflet and jQuery from the installed XStatic packages, so the saved file
        makes no network request; False keeps CDN links.

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`; in Jupyter it displays itself.

    Examples
    --------
    >>> import corridors
    >>> from corridors.maps import network_map, save_map
    >>> m = network_map(corridors.load_network())  # doctest: +SKIP
    >>> save_map(m, "maps/network.html")  # doctest: +SKIP
    """
    links, nodes, countries = network.links, network.nodes, _countries_of(network)
    drawn, _ = merge_sea_lanes(links)
    m = _base_map(_land_bounds(links, nodes), tiles=tiles, self_contained=self_contained)
    _add_countries(m, countries, over_tiles=bool(tiles))
    counts = _add_link_layers(
        m,
        drawn,
        node_names=_node_names(network),
        style_of=lambda _id, _link: {},
        rows_of=lambda _id, _link: [],
    )
    _add_nodes(m, nodes)
    _add_labels(m, nodes)
    _add_attribution(m, network)
    colours = _corridor_colours(counts)
    corridors_html = "".join(
        _row(_family_symbol(f, colours[f]), f"{escape(corridor_label(f))} ({n})" + _sea_note(f, drawn))
        for f, n in counts.items()
    )
    status_html = "".join(
        _row(_line_symbol("#566573", 3, dash), label)
        for dash, label in (
            (None, "operating"),
            (_DASHES["under_construction"], "under construction"),
            (_DASHES["planned"], "planned"),
        )
    )
    kinds = [k for k in NODE_STYLES if k in set(nodes["kind"].astype(str))] if len(nodes) else []
    nodes_html = "".join(_row(_circle_symbol(NODE_STYLES[k]), NODE_STYLES[k]["label"]) for k in kinds)
    legend = _legend([("Corridors (links)", corridors_html), ("Link status", status_html), ("Nodes", nodes_html)])
    sea = _family_mask(links, MARITIME)
    title = _title_box(
        "Eurasian freight corridors",
        f"{int((~sea).sum())} land links, {len(nodes)} nodes"
        + (f", {int(sea.sum())} maritime links (zoom out for the sea lanes)" if sea.any() else "")
        + "; click a feature for details",
    )
    return _finish(m, legend, title)


def _family_mask(links: Any, family: str) -> Any:
    """Boolean Series: the links of a corridor family."""
    return links["corridor"].astype(str) == family


def _sea_note(family: str, drawn: Any) -> str:
    """Legend note of the maritime family: how many of its drawn links are sea lanes."""
    if family != MARITIME or "mode" not in drawn.columns:
        return ""
    family_links = _family_mask(drawn, family)
    lanes = int((family_links & (drawn["mode"].astype(str) == "sea")).sum())
    return f": {lanes} sea lanes, {int(family_links.sum()) - lanes} port legs"


def _od_link_share(
    paths: pd.DataFrame,
    node_country: Mapping[str, str],
    origins: frozenset[str],
    destinations: frozenset[str],
) -> tuple[dict[str, float], float]:
    """TEU of the origins→destinations flow on each link, and that flow's total TEU."""
    if paths is None or len(paths) == 0 or not node_country:
        return {}, 0.0
    o = paths["origin"].map(lambda n: node_country.get(n))
    d = paths["destination"].map(lambda n: node_country.get(n))
    sel = paths[o.isin(origins) & d.isin(destinations)]
    total = float(sel["teu"].sum())
    on_link: dict[str, float] = {}
    for teu, link_ids in zip(sel["teu"], sel["link_ids"], strict=True):
        for link_id in set(link_ids or ()):
            on_link[link_id] = on_link.get(link_id, 0.0) + float(teu)
    return on_link, total


def _transit_teu(paths: pd.DataFrame | None) -> dict[str, float]:
    """TEU/year crossing each country as a transit country (neither first nor last)."""
    transit: dict[str, float] = {}
    if paths is None or len(paths) == 0 or "countries" not in paths.columns:
        return transit
    for teu, countries in zip(paths["teu"], paths["countries"], strict=True):
        seq = [c for c in (countries or ()) if c]
        if len(seq) < 3:
            continue
        for code in set(seq[1:-1]) - {seq[0], seq[-1]}:
            transit[code] = transit.get(code, 0.0) + float(teu)
    return transit


def _region(name: str, known: Iterable[str]) -> frozenset[str]:
    from corridors.regions import resolve_region

    return resolve_region(name, known)


def _headline(result: Any, through: str, from_: str, to: str, names: Mapping[str, str]) -> tuple[str, Any]:
    """Return the escaped headline sentence and the ShareResult (or None)."""
    share = result.share_through(through, from_=from_, to=to)
    text = (
        f"through {escape(_place_name(through, names))}: "
        f"{_pct(share.share, 0)} of {escape(_place_name(from_, names))}–"
        f"{escape(_place_name(to, names))} land TEU"
    )
    return text, share


def flow_map(
    result: Any,
    through: str = "KAZ",
    from_: str = "CHN",
    to: str = "EU",
    *,
    network: Any = None,
    tiles: str | None = None,
    self_contained: bool = True,
    title: str | None = None,
) -> folium.Map:
    """Return a map of assigned flows: line width proportional to TEU/year.

    Every link is drawn (links without flow thin and grey), in one toggleable layer per
    corridor family.  Tooltips give the TEU/year in each direction, the share of the
    ``from_``→``to`` flow that uses the link and the utilisation of its capacity.  Countries
    are shaded by the TEU/year that crosses them in transit, and a title box gives the
    headline share, e.g. "through Kazakhstan: 47% of China–EU land TEU".

    Parameters
    ----------
    result : AssignmentResult
        From :func:`corridors.assign`; uses ``link_flows``, ``paths``, ``node_flows`` and
        ``share_through``.
    through : str, default "KAZ"
        Country or region of the headline share.
    from_, to : str, default "CHN", "EU"
        Origin and destination country or region of the headline share and the per-link
        OD share.
    network : Network, optional
        The network assigned on (node names, country polygons); default
        ``result.network``.
    tiles : str, optional
        Web tiles (see :func:`network_map`); default none.
    self_contained : bool, default True
        Inline all JavaScript and CSS (see :func:`network_map`).
    title : str, optional
        Plain-text title line above the headline (escaped); default names the method.

    Returns
    -------
    folium.Map

    Raises
    ------
    QueryError
        If ``through``, ``from_`` or ``to`` is not a known country or region.
    """
    import branca.colormap as cm

    network = _network_of(result, network)
    links, merged = merge_sea_lanes(_to_4326(result.link_flows))
    nodes = getattr(network, "nodes", None)
    countries = _countries_of(network)
    names = _country_names(countries)
    node_names = _node_names(network)
    paths = getattr(result, "paths", None)

    headline, share = _headline(result, through, from_, to, names)
    node_country = {str(k): str(v) for k, v in nodes["country"].items()} if nodes is not None else {}
    known = set(names) | set(node_country.values())
    on_link, od_total = _od_link_share(paths, node_country, _region(from_, known), _region(to, known))
    for dropped, kept in merged.items():  # one drawn sea lane carries both directions
        on_link[kept] = on_link.get(kept, 0.0) + on_link.pop(dropped, 0.0)
    od_label = f"{_place_name(from_, names)}→{_place_name(to, names)}"

    teu = links["teu"].fillna(0.0).astype(float)
    max_teu = float(teu.max()) if len(teu) and teu.max() > 0 else 1.0

    def width(value: float) -> float:
        return max(_MIN_WIDTH, _MAX_WIDTH * value / max_teu) if value > 0 else 1.0

    def style_of(link_id: str, link: Mapping[str, Any]) -> dict[str, Any]:
        value = float(link.get("teu") or 0.0)
        if value > 0:
            return {"weight": width(value), "opacity": 0.85}
        return {"weight": 1.0, "color": _NO_FLOW, "opacity": 0.8, "dashArray": "2 4"}

    def rows_of(link_id: str, link: Mapping[str, Any]) -> list[tuple[str, str]]:
        util = link.get("utilisation")
        rows = [
            (
                "TEU/year",
                _num(link.get("teu"), "TEU/yr") + f" (→ {_num(link.get('teu_ab'))} / ← {_num(link.get('teu_ba'))})",
            ),
            (f"Share of {od_label} TEU", _pct(on_link.get(link_id, 0.0) / od_total) if od_total > 0 else "–"),
            ("Utilisation", _pct(util, 0) + " of capacity" if not _missing(util) else "capacity not binding"),
        ]
        return rows

    through_node = None
    node_flows = getattr(result, "node_flows", None)
    if node_flows is not None and "teu" in getattr(node_flows, "columns", ()):
        through_node = {str(k): float(v) for k, v in node_flows["teu"].items()}

    transit = _transit_teu(paths)
    vmax = max(transit.values(), default=0.0) or 1.0
    shade = cm.LinearColormap(["#faf6ec", "#f1dfb0", "#dfbd72", "#bf9445"], vmin=0, vmax=vmax)

    m = _base_map(_land_bounds(links, nodes), tiles=tiles, self_contained=self_contained)
    _add_countries(m, countries, values=transit, colormap=shade, value_label="Transit TEU", over_tiles=bool(tiles))
    counts = _add_link_layers(m, links, node_names=node_names, style_of=style_of, rows_of=rows_of)
    if nodes is not None:
        _add_nodes(m, nodes, through_teu=through_node, scale=0.75)
        _add_labels(m, nodes, weight=through_node)
    _add_attribution(m, network)

    colours = _corridor_colours(counts)
    samples = _legend_samples(max_teu)
    width_html = "".join(
        _row(_line_symbol("#566573", round(width(s), 1)), _compact(s, "TEU/yr")) for s in samples
    ) + _row(_line_symbol(_NO_FLOW, 1, "2 4"), "no flow")
    corridors_html = "".join(
        _row(_family_symbol(f, colours[f]), f"{escape(corridor_label(f))} ({n})" + _sea_note(f, links))
        for f, n in counts.items()
    )
    legend = _legend(
        [
            ("Line width ∝ TEU/year", width_html),
            ("Corridors", corridors_html),
            ("Countries: transit TEU/year", _ramp(shade, 0, vmax, "TEU/yr")),
        ]
    )
    method = getattr(result, "method", None)
    heading = (
        escape(title) if title else "Assigned container flows, TEU/year" + (f" ({escape(method)})" if method else "")
    )
    subtitle = f"<b>{headline}</b><br>{_num(share.through_teu)} of {_num(share.total_teu)} TEU/yr"
    return _finish(m, legend, _title_box(heading, subtitle))


def compare_map(
    result: Any,
    baseline: Any,
    *,
    through: str | None = "KAZ",
    from_: str = "CHN",
    to: str = "EU",
    labels: tuple[str, str] = ("scenario", "baseline"),
    network: Any = None,
    tiles: str | None = None,
    self_contained: bool = True,
) -> folium.Map:
    """Return a map of flow differences ``result - baseline`` on a diverging colour scale.

    Links are coloured from blue (fewer TEU than the baseline) through grey to red (more)
    on a scale symmetric about zero, and their width is proportional to the absolute
    change.  Links present in only one of the two results count as zero in the other.

    Parameters
    ----------
    result, baseline : AssignmentResult
        The scenario and the reference assignment.
    through, from_, to : str
        The headline share compared in the title box (``through=None`` for none).
    labels : (str, str), default ("scenario", "baseline")
        Names of the two results in tooltips and the title (escaped).
    network : Network, optional
        Node names and country polygons; default ``result.network`` or
        ``baseline.network``.
    tiles, self_contained
        As for :func:`network_map`.

    Returns
    -------
    folium.Map
    """
    import branca.colormap as cm
    import geopandas as gpd
    import pandas as pd

    network = _network_of(result, network) or _network_of(baseline, None)
    names = _country_names(_countries_of(network))
    (new, _), (old, _) = merge_sea_lanes(_to_4326(result.link_flows)), merge_sea_lanes(_to_4326(baseline.link_flows))
    index = new.index.union(old.index, sort=False)
    base = pd.concat([new, old[~old.index.isin(new.index)]])
    base = gpd.GeoDataFrame(base.loc[index], geometry="geometry", crs=new.crs)
    teu_new = new["teu"].reindex(index).fillna(0.0).astype(float)
    teu_old = old["teu"].reindex(index).fillna(0.0).astype(float)
    diff = teu_new - teu_old
    vmax = float(diff.abs().max()) if len(diff) else 0.0
    vmax = vmax if vmax > 0 else 1.0
    scale = cm.LinearColormap(["#2166ac", "#92c5de", "#e5e7e9", "#f4a582", "#b2182b"], vmin=-vmax, vmax=vmax)
    label_new, label_old = (str(x) for x in labels)

    def width(value: float) -> float:
        return max(_MIN_WIDTH, _MAX_WIDTH * abs(value) / vmax)

    def style_of(link_id: str, link: Mapping[str, Any]) -> dict[str, Any]:
        change = float(diff.get(link_id, 0.0))
        if abs(change) < 0.5:
            return {"weight": 1.0, "color": _NO_FLOW, "opacity": 0.8, "dashArray": "2 4"}
        return {"weight": width(change), "color": scale(change), "opacity": 0.9, "dashArray": None}

    def rows_of(link_id: str, link: Mapping[str, Any]) -> list[tuple[str, str]]:
        a, b = float(teu_new[link_id]), float(teu_old[link_id])
        change = a - b
        rel = _pct(change / b) if b > 0 else "new" if a > 0 else "–"
        sign = "+" if change > 0 else ""
        return [
            ("Change", f"{sign}{_num(change, 'TEU/yr')} ({'+' if b > 0 and change > 0 else ''}{rel})"),
            (f"{label_new}", _num(a, "TEU/yr")),
            (f"{label_old}", _num(b, "TEU/yr")),
        ]

    nodes = getattr(network, "nodes", None)
    m = _base_map(_land_bounds(base, nodes), tiles=tiles, self_contained=self_contained)
    _add_countries(m, _countries_of(network), over_tiles=bool(tiles))
    # lines are drawn in gain/loss colours: no corridor colour in the layer control
    _add_link_layers(m, base, node_names=_node_names(network), style_of=style_of, rows_of=rows_of, swatch=False)
    if nodes is not None:
        _add_nodes(m, nodes, scale=0.75)
        _add_labels(m, nodes)
    _add_attribution(m, network)
    samples = _legend_samples(vmax)
    width_html = "".join(
        _row(_line_symbol("#566573", round(width(s), 1)), _compact(s, "TEU/yr")) for s in samples
    ) + _row(_line_symbol(_NO_FLOW, 1, "2 4"), "no change")
    legend = _legend(
        [
            (
                f"Change in TEU/year ({escape(label_new)} − {escape(label_old)})",
                _ramp(scale, -vmax, vmax, "TEU/yr: blue fewer, red more"),
            ),
            ("Line width ∝ |change|", width_html),
        ]
    )
    gains, losses = int((diff >= 0.5).sum()), int((diff <= -0.5).sum())
    subtitle = f"{gains} links gain, {losses} links lose TEU; largest change {_num(vmax, 'TEU/yr')}"
    if through:
        text_new, share_new = _headline(result, through, from_, to, names)
        _, share_old = _headline(baseline, through, from_, to, names)
        pp = 100 * (float(share_new.share) - float(share_old.share))
        subtitle = f"<b>{text_new}</b> ({escape(label_old)}: {_pct(share_old.share, 0)}, {pp:+.1f} pp)<br>{subtitle}"
    heading = f"Flow change: {escape(label_new)} vs {escape(label_old)}"
    return _finish(m, legend, _title_box(heading, subtitle))
