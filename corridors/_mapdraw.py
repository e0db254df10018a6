"""Drawing blocks of the maps: styles, base map, countries, nodes, labels, links, legends.

:mod:`corridors.maps` assembles the map kinds from these.  Each corridor family is one
toggleable layer in its own colour (:data:`CORRIDOR_COLOURS`); the sea lanes of the
``maritime`` family are drawn thin and dashed, one lane per port pair and passage.

The public names are re-exported by :mod:`corridors.maps`.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridors._errors import QueryError
from corridors._mapbase import (
    _compact,
    _configure_assets,
    _css_class,
    _html_element,
    _missing,
    _num,
    _tip,
    escape,
)

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import geopandas as gpd

#: Line colour of each corridor family (links/<family>.geojson).
CORRIDOR_COLOURS: dict[str, str] = {
    "belt_and_road": "#c0392b",
    "middle_corridor": "#1f6fb2",
    "north_south": "#1e8449",
    "east_west": "#7d3c98",
    "maritime": "#0e7c86",
}
_EXTRA_COLOURS = ("#d35400", "#117a65", "#b7950b", "#5d6d7e", "#a04000", "#2471a3")

_CORRIDOR_LABELS = {
    "belt_and_road": "Belt and Road",
    "middle_corridor": "Middle Corridor",
    "north_south": "North–South",
    "east_west": "East–West",
    "maritime": "Maritime",
}

#: The family of the sea lanes and the inland legs to the ports (links/maritime.geojson):
#: drawn after the land families, out of the initial view, its sea lanes thin and dashed.
MARITIME = "maritime"
_SEA_STYLE = {"weight": 1.5, "dashArray": "6 5", "opacity": 0.7}

#: Marker style and legend label of each node kind.
NODE_STYLES: dict[str, dict[str, Any]] = {
    "hub": {"radius": 5.5, "fillColor": "#212f3d", "color": "#ffffff", "label": "Hub / terminal"},
    "port": {"radius": 5.5, "fillColor": "#17a589", "color": "#0b5345", "label": "Port"},
    "border": {"radius": 4.5, "fillColor": "#f39c12", "color": "#784212", "label": "Border crossing"},
    "gauge_change": {
        "radius": 4.5,
        "fillColor": "#e84393",
        "color": "#641e16",
        "label": "Gauge change",
    },
    "junction": {"radius": 2.5, "fillColor": "#aab7b8", "color": "#566573", "label": "Junction"},
}
_OTHER_NODE = {"radius": 3.5, "fillColor": "#ffffff", "color": "#34495e", "label": "Other"}

#: Dash pattern by link status (None: solid).
_DASHES = {"operating": None, "under_construction": "4 6", "planned": "10 8"}

#: Node kinds that get a name label, in order of priority when labels overlap.
LABEL_KINDS = ("port", "hub", "gauge_change", "border")

#: Tolerance of the simplification of country outlines for display, degrees (about 1 km):
#: below a pixel up to zoom 7, and it keeps a Natural Earth 1:50m file as light as 1:110m.
COUNTRY_SIMPLIFY_DEG = 0.01
_COUNTRY_DECIMALS = 3

_LAND = "#f7f5f0"
_NO_FLOW = "#a6acaf"
_MIN_WIDTH = 1.5
_MAX_WIDTH = 14.0
_COORD_DECIMALS = 4

_BASE_CSS = """
.leaflet-container { background: #dde8ef; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, Helvetica, Arial, sans-serif; }
.corridors-box { position: absolute; z-index: 1000; font-family: system-ui, -apple-system,
  "Segoe UI", Roboto, Helvetica, Arial, sans-serif; background: rgba(255,255,255,0.94);
  border: 1px solid #99a3a4; border-radius: 4px; padding: 6px 10px; font-size: 12px;
  line-height: 1.35; box-shadow: 0 1px 4px rgba(0,0,0,0.25); color: #1c2833; }
.corridors-title { top: 10px; left: 50%; transform: translateX(-50%); max-width: 60%;
  text-align: center; }
.corridors-title h1 { font-size: 16px; margin: 0 0 2px 0; }
.corridors-title p { margin: 0; color: #4d5656; }
.corridors-legend { bottom: 44px; left: 10px; max-width: 300px; }
.corridors-legend h2 { font-size: 12px; margin: 4px 0 2px 0; }
.corridors-legend .row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.corridors-legend .ramp { height: 10px; width: 220px; border: 1px solid #99a3a4; }
.corridors-legend .ticks { display: flex; justify-content: space-between; width: 222px; }
.corridors-tip { font-size: 11px; line-height: 1.3; width: max-content; max-width: 290px;
  white-space: normal; }
.corridors-tip table { border-collapse: collapse; margin-top: 2px; }
.corridors-tip th { text-align: left; font-weight: normal; color: #566573; padding: 0 6px 0 0;
  vertical-align: top; white-space: nowrap; }
.corridors-tip td { font-weight: 600; padding: 0; overflow-wrap: break-word; }
.corridors-tip b { font-size: 12px; }
.leaflet-tooltip.corridors-tooltip { padding: 4px 7px; white-space: normal; max-width: 300px; }
.leaflet-popup-content .corridors-tip { max-width: none; }
.corridors-label { white-space: nowrap; font-size: 11px; line-height: 1; color: #1c2833;
  margin: -6px 0 0 7px; pointer-events: none; background: none; border: none;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff, 0 0 3px #fff; }
.corridors-label-hub, .corridors-label-port { font-weight: 700; }
.corridors-label-border, .corridors-label-gauge_change { font-style: italic; color: #4d3319; }
.leaflet-control-attribution { font-size: 10px; max-width: 70%; }
"""


def corridor_label(corridor: str) -> str:
    """Return the readable (unescaped) name of a corridor family."""
    return _CORRIDOR_LABELS.get(corridor, str(corridor).replace("_", " ").capitalize())


def _corridor_colours(corridors: Iterable[str]) -> dict[str, str]:
    """Return a colour for every corridor family, known ones first."""
    colours: dict[str, str] = {}
    extra = 0
    for name in corridors:
        if name in colours:
            continue
        if name in CORRIDOR_COLOURS:
            colours[name] = CORRIDOR_COLOURS[name]
        else:
            colours[name] = _EXTRA_COLOURS[extra % len(_EXTRA_COLOURS)]
            extra += 1
    return colours


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


def _round_geometries(
    geoseries: gpd.GeoSeries, *, decimals: int = _COORD_DECIMALS, simplify: float | None = None
) -> list[dict]:
    """Return GeoJSON geometry dicts with coordinates rounded (4 decimals: about 10 m).

    ``simplify`` (degrees) first simplifies each geometry (topology-preserving
    Douglas-Peucker), for display only.
    """
    import numpy as np
    import shapely

    geoms = np.asarray(geoseries.values, dtype=object)
    if simplify:
        geoms = shapely.simplify(geoms, simplify, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    return [shapely.geometry.mapping(g) if g is not None and not g.is_empty else None for g in geoms]


def _feature_collection(
    geoseries: gpd.GeoSeries,
    properties: list[dict],
    *,
    decimals: int = _COORD_DECIMALS,
    simplify: float | None = None,
) -> dict:
    features = []
    geometries = _round_geometries(geoseries, decimals=decimals, simplify=simplify)
    for fid, geom, props in zip(geoseries.index, geometries, properties, strict=True):
        if geom is None:
            continue
        features.append({"type": "Feature", "id": str(fid), "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "features": features}


_BIND_JS = """function(feature, layer) {
    var p = feature.properties;
    var tip = function (extra) {
        return '<div class="corridors-tip"><b>' + p.title + '</b><table>' + p.rows + extra + '</table></div>';
    };
    if (p.rows !== undefined) {
        layer.bindTooltip(tip(""), {sticky: true, className: "corridors-tooltip"});
    }
    if (p.more !== undefined) { layer.bindPopup(tip(p.more), {maxWidth: 380}); }
    if (%(highlight)s && p.style) {
        layer.on("mouseover", function () {
            layer.setStyle({weight: p.style.weight + 4, opacity: 1.0});
        });
        layer.on("mouseout", function () { layer.setStyle(p.style); });
    }
}"""

_STYLE_JS = "function(feature) { return feature.properties.style; }"

_COUNTRY_STYLE_JS = """function(feature) {
    return {fillColor: feature.properties.fill, fillOpacity: feature.properties.opacity, color: "#99a3a4",
            weight: 0.6,
            className: "corridors-country"};
}"""


def _bind(highlight: bool = False):
    """Return the onEachFeature function: tooltip and popup from the feature's properties."""
    from folium.utilities import JsCode

    return JsCode(_BIND_JS % {"highlight": "true" if highlight else "false"})


def _js(code: str):
    from folium.utilities import JsCode

    return JsCode(code)


def _to_4326(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        return frame.to_crs(4326)
    return frame


def _country_names(countries: gpd.GeoDataFrame | None) -> dict[str, str]:
    if countries is None or len(countries) == 0:
        return {}
    codes = countries["iso_a3"] if "iso_a3" in countries.columns else countries.index.to_series()
    names = countries["name"] if "name" in countries.columns else codes
    return {str(c): str(n) for c, n in zip(codes, names, strict=True)}


def _place_name(code: str, names: Mapping[str, str]) -> str:
    """Readable name of a country code or region (unescaped)."""
    if code in names:
        return names[code]
    return str(code)


def _base_map(
    bounds: Sequence[float],
    *,
    tiles: str | None,
    self_contained: bool,
) -> folium.Map:
    """Return an empty map fitted to ``bounds`` (minx, miny, maxx, maxy), with panes and CSS."""
    import folium
    from branca.element import Element
    from folium.map import CustomPane

    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (minx, miny, maxx, maxy)):
        minx, miny, maxx, maxy = 0.0, 20.0, 130.0, 65.0
    kwargs: dict[str, Any] = {}
    if tiles and re.match(r"^(https?:)?//", tiles):
        kwargs["attr"] = f"Tiles: {html.escape(tiles.split('/')[2] if '//' in tiles else tiles)}"
    try:
        m = folium.Map(
            location=[(miny + maxy) / 2, (minx + maxx) / 2],
            zoom_start=3,
            tiles=tiles or None,
            control_scale=True,
            **kwargs,
        )
    except ValueError as exc:
        raise QueryError(
            f"--tiles {tiles!r}: not a tile provider folium knows ({exc}); use a name such as "
            "'OpenStreetMap', or a URL template https://.../{z}/{x}/{y}.png"
        ) from exc
    _configure_assets(m, self_contained)
    m.get_root().header.add_child(Element(f"<style>{_BASE_CSS}</style>"), name="corridors_css")
    CustomPane("corridors_countries", z_index=350, pointer_events=True).add_to(m)
    CustomPane("corridors_nodes", z_index=450, pointer_events=True).add_to(m)
    # labels never catch the mouse: hovering a node or link under a label still works
    CustomPane("corridors_labels", z_index=460, pointer_events=False).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(40, 40))
    return m


def _add_countries(
    m: folium.Map,
    countries: gpd.GeoDataFrame | None,
    *,
    values: Mapping[str, float] | None = None,
    colormap: Any = None,
    value_label: str = "",
    over_tiles: bool = False,
) -> None:
    """Draw the country polygons (optionally shaded by ``values``) below everything else.

    Over web tiles the unshaded land is transparent (outlines only) and shaded countries
    half-transparent, so that the tiles show through.
    """
    import folium

    if countries is None or len(countries) == 0:
        return
    countries = _to_4326(countries)
    names = _country_names(countries)
    codes = list(names)
    props = []
    for code in codes:
        value = None if values is None else values.get(code)
        fill, opacity = _LAND, (0.0 if over_tiles else 1.0)
        if colormap is not None and value is not None and value > 0:
            fill, opacity = colormap(value), (0.55 if over_tiles else 1.0)
        prop = {"fill": fill, "opacity": opacity}
        if values is not None:
            rows = [("Country", escape(code)), (value_label, _num(value or 0.0, "TEU/yr"))]
            prop.update(_tip(escape(names[code]), rows))
        props.append(prop)
    frame = countries.set_axis(codes, axis=0) if len(codes) == len(countries) else countries
    # Outlines are simplified for display whatever the resolution of the file (Natural Earth
    # 1:110m or 1:50m): ~1 km is below a pixel up to zoom 7 and keeps the page light.
    data = _feature_collection(
        frame.geometry, props, decimals=_COUNTRY_DECIMALS, simplify=COUNTRY_SIMPLIFY_DEG
    )
    folium.GeoJson(
        data,
        name="Countries",
        control=False,
        style=_js(_COUNTRY_STYLE_JS),
        on_each_feature=_bind() if values is not None else None,
        pane="corridors_countries",
        interactive=values is not None,
    ).add_to(m)


def _node_rows(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Tooltip rows of a node: kind and country, dwell time (the rest is in the popup)."""
    kind = str(node.get("kind"))
    return [
        ("Kind", escape(NODE_STYLES.get(kind, {}).get("label", kind)) + ", " + escape(node.get("country"))),
        ("Dwell time", _num(node.get("dwell_h"), "h", 1)),
    ]


def _add_nodes(
    m: folium.Map,
    nodes: gpd.GeoDataFrame,
    *,
    through_teu: Mapping[str, float] | None = None,
    name: str = "Nodes",
    scale: float = 1.0,
) -> None:
    """Draw nodes as circle markers styled by kind, with tooltips and popups."""
    import folium

    if nodes is None or len(nodes) == 0:
        return
    nodes = _to_4326(nodes)
    props = []
    for node_id, node in nodes.iterrows():
        node = node.to_dict()
        kind = str(node.get("kind"))
        style = NODE_STYLES.get(kind, _OTHER_NODE)
        rows = _node_rows(node)
        if through_teu is not None:
            rows.insert(0, ("Passing through", _num(through_teu.get(node_id, 0.0), "TEU/yr")))
        more = [
            (
                "Capacity",
                _num(node.get("capacity_teu"), "TEU/yr") if not _missing(node.get("capacity_teu")) else "not binding",
            ),
            ("Handling", _num(node.get("handling_usd"), "USD/TEU")),
            ("Transfer", _num(node.get("transfer_h"), "h", 1) + " / " + _num(node.get("transfer_usd"), "USD/TEU")),
            ("Status", escape(node.get("status"))),
            ("Opening year", escape(_int_or(node.get("opening_year")))),
            ("Local name", escape(node.get("name_local"))),
            ("Sources", escape(node.get("sources"))),
            ("Id", escape(node_id)),
        ]
        title = escape(node.get("name", node_id))
        props.append(
            {
                "kind": kind,
                "style": {
                    "radius": style["radius"] * scale,
                    "fillColor": style["fillColor"],
                    "color": style["color"],
                    "weight": 1.5,
                    "fill": True,
                    "fillOpacity": 0.95 if scale >= 1 else 0.8,
                    "pane": "corridors_nodes",
                    "className": f"corridors-node corridors-node-{_css_class(kind)} "
                    f"corridors-node-id-{_css_class(node_id)}",
                },
                **_tip(title, rows, more),
            }
        )
    data = _feature_collection(nodes.geometry, props)
    folium.GeoJson(
        data,
        name=escape(name),
        style=_js(_STYLE_JS),
        marker=folium.CircleMarker(radius=5),
        on_each_feature=_bind(),
        pane="corridors_nodes",
    ).add_to(m)


_LABELS_JS = """
(function (map, group, labels) {
    var markers = labels.map(function (l) {
        return L.marker([l[0], l[1]], {
            icon: L.divIcon({className: "corridors-label corridors-label-" + l[3], html: l[2], iconSize: null}),
            interactive: false, keyboard: false, pane: "corridors_labels"
        }).addTo(group);
    });
    // Labels come in order of priority; one that would overlap a label already shown is
    // hidden until zooming in makes room for it.
    var declutter = function () {
        if (!map.hasLayer(group)) { return; }
        var shown = [];
        markers.forEach(function (marker) {
            var el = marker.getElement();
            if (!el) { return; }
            el.style.visibility = "visible";
            var r = el.getBoundingClientRect();
            var hit = shown.some(function (o) {
                return r.left < o.right + 2 && r.right + 2 > o.left && r.top < o.bottom && r.bottom > o.top;
            });
            if (hit) { el.style.visibility = "hidden"; } else { shown.push(r); }
        });
    };
    map.on("zoomend overlayadd", declutter);
    map.whenReady(function () { setTimeout(declutter, 0); });
})(%(map)s, %(group)s, %(labels)s);
"""


def _label_layer(labels: list[list[Any]], name: str = "Labels"):
    """Return a toggleable folium layer of permanent name labels.

    ``labels`` rows are ``[lat, lon, escaped text, kind]`` in order of priority.
    """
    import json

    from branca.element import Template
    from folium.map import Layer

    class _Labels(Layer):
        _template = Template(
            "{% macro script(this, kwargs) %}var {{ this.get_name() }} = L.layerGroup();"
            "{{ this.code }}{% endmacro %}"
        )

    layer = _Labels(name=name, overlay=True, control=True, show=True)
    # JSON of escaped text: no "<" or quote reaches the script, see escape()
    layer.code = _LABELS_JS % {
        "map": "{{MAP}}",
        "group": layer.get_name(),
        "labels": json.dumps(labels, ensure_ascii=False).replace("</", "<\\/"),
    }
    return layer


def _add_labels(
    m: folium.Map,
    nodes: gpd.GeoDataFrame | None,
    *,
    weight: Mapping[str, float] | None = None,
) -> int:
    """Add the toggleable name labels of hubs, ports and gateways (border and gauge-change
    nodes); return their number.

    Priority when labels overlap: kind (ports, hubs, gauge changes, borders), then
    ``weight`` (e.g. TEU/year through the node), larger first.
    """
    if nodes is None or len(nodes) == 0 or "kind" not in nodes.columns:
        return 0
    nodes = _to_4326(nodes)
    rank = {kind: i for i, kind in enumerate(LABEL_KINDS)}
    rows = []
    for node_id, node in nodes.iterrows():
        kind = str(node.get("kind"))
        point = node.geometry
        if kind not in rank or point is None or point.is_empty:
            continue
        name = node.get("name")
        text = escape(node_id if _missing(name) else name)
        order = (rank[kind], -float((weight or {}).get(str(node_id), 0.0)), text)
        rows.append((order, [round(point.y, _COORD_DECIMALS), round(point.x, _COORD_DECIMALS), text, _css_class(kind)]))
    rows.sort(key=lambda row: row[0])
    layer = _label_layer([row for _, row in rows])
    layer.code = layer.code.replace("{{MAP}}", m.get_name())
    layer.add_to(m)
    return len(rows)


def _source_summary(geodata: Any) -> tuple[str | None, int]:
    """The Natural Earth product named in ``geodata/SOURCES.md`` (e.g. "1:50m") and the number
    of published sources listed there (0 when the file is absent)."""
    if geodata is None:
        return None, 0
    try:
        text = (Path(geodata) / "SOURCES.md").read_text(encoding="utf-8")
    except OSError:
        return None, 0
    scale = re.search(r"Natural Earth\s+(1:\d+\s*m)", text)
    natural_earth = scale.group(1).replace(" ", "") if scale else ("" if "Natural Earth" in text else None)
    sources = set(re.findall(r"^\|\s*(S\d+)\s*\|", text, flags=re.M))
    return natural_earth, len(sources)


def attribution_html(network: Any) -> str:
    """Return the map credits: Natural Earth outlines and the data sources of the geodata.

    Parameters
    ----------
    network : Network or None
        Its ``geodata`` folder's ``SOURCES.md`` says which Natural Earth product the country
        outlines come from and how many published sources the data rest on.

    Returns
    -------
    str
        Trusted HTML for Leaflet's attribution control (links are plain ``<a href>``, not
        assets: nothing is fetched).
    """
    natural_earth, n_sources = _source_summary(getattr(network, "geodata", None))
    parts = []
    if natural_earth is not None:
        product = f" {natural_earth}" if natural_earth else ""
        parts.append(
            f'Outlines: made with <a href="https://www.naturalearthdata.com/">Natural Earth</a>{product} '
            "(public domain), simplified"
        )
    if n_sources:
        plural = "s" if n_sources != 1 else ""
        parts.append(f"Network, costs and demand: corridors geodata, {n_sources} published source{plural} (SOURCES.md)")
    else:
        parts.append("Network, costs and demand: corridors geodata")
    return " | ".join(parts)


def _add_attribution(m: folium.Map, network: Any) -> None:
    """Add the credits of :func:`attribution_html` to the map's attribution control."""
    import json

    from branca.element import MacroElement, Template

    credits = json.dumps(attribution_html(network)).replace("</", "<\\/")
    element = MacroElement()
    element._template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")
    element.code = (
        f"(function () {{ var c = {m.get_name()}.attributionControl; if (c) {{ c.addAttribution({credits}); }} }})();"
    )
    m.add_child(element, name="corridors_attribution")


def _int_or(value: Any) -> Any:
    if _missing(value):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _link_title(link: Mapping[str, Any], node_names: Mapping[str, str]) -> str:
    a, b = link.get("from"), link.get("to")
    return f"{escape(node_names.get(a, a))} – {escape(node_names.get(b, b))}"


def _link_rows(link: Mapping[str, Any], *, brief: bool = False) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Tooltip rows and popup-only rows of a link's attributes.

    ``brief`` (flow and compare maps, whose tooltips lead with their own figures) keeps only
    the corridor in the tooltip and moves mode, status and length to the popup.
    """
    gauge = link.get("gauge_mm")
    status = escape(link.get("status")) + (
        "" if _missing(link.get("opening_year")) else f" ({escape(_int_or(link.get('opening_year')))})"
    )
    corridor = ("Corridor", escape(corridor_label(str(link.get("corridor")))) + " / " + escape(link.get("route")))
    mode = ("Mode", escape(link.get("mode")) + ("" if _missing(gauge) else f", {int(gauge)} mm") + " · " + status)
    length = ("Length", _num(link.get("length_km"), "km"))
    cap = link.get("capacity_teu")
    capacity = ("Capacity", "not binding" if _missing(cap) else _num(cap, "TEU/yr per direction"))
    more = [capacity, ("Sources", escape(link.get("sources")))]
    if brief:
        return [corridor], [mode, length, *more]
    return [corridor, mode, length], more


def _add_link_layers(
    m: folium.Map,
    links: gpd.GeoDataFrame,
    *,
    node_names: Mapping[str, str],
    style_of: Any,
    rows_of: Any,
    highlight: bool = True,
    swatch: bool = True,
) -> dict[str, int]:
    """Add one toggleable GeoJson layer per corridor family; return features per family.

    ``style_of(link_id, link) -> dict`` gives colour/weight/dash; ``rows_of(link_id, link)``
    gives the leading tooltip rows (escaped values); when it gives any, the link's own
    attributes are cut to the corridor in the tooltip (the rest is in the popup).
    ``swatch`` puts the corridor colour in the layer control: only where the lines are drawn
    in it (not on compare maps).
    """
    import folium

    links = _to_4326(links)
    # land families first: the layer control and the legend lead with the land network
    families = sorted(dict.fromkeys(str(c) for c in links["corridor"]), key=lambda f: f == MARITIME)
    colours = _corridor_colours(families)
    counts: dict[str, int] = {}
    for family in families:
        subset = links[links["corridor"].astype(str) == family]
        props = []
        for link_id, link in subset.iterrows():
            link = link.to_dict()
            style = {
                "color": colours[family],
                "weight": 3,
                "opacity": 0.9,
                "dashArray": _DASHES.get(str(link.get("status")), "10 8"),
                "lineCap": "round",
                **(_SEA_STYLE if _is_sea(link) else {}),
                **style_of(link_id, link),
            }
            style["className"] = (
                f"corridors-link corridors-link-{_css_class(family)} corridors-link-id-{_css_class(link_id)}"
            )
            title = _link_title(link, node_names)
            lead = list(rows_of(link_id, link))
            own, extra = _link_rows(link, brief=bool(lead))
            rows = lead + own
            more = [
                *extra,
                ("Country", escape(link.get("country"), missing="– (water)")),
                ("From / to", escape(link.get("from")) + " → " + escape(link.get("to"))),
                ("Id", escape(link_id)),
            ]
            if not _missing(link.get("lane_ids")):
                more.append(("Lanes", "both directions: " + escape(link.get("lane_ids"))))
            props.append(
                {
                    "style": style,
                    **_tip(title, rows, more),
                }
            )
        data = _feature_collection(subset.geometry, props)
        counts[family] = len(data["features"])
        colour = colours[family]
        fill = (
            f"repeating-linear-gradient(90deg,{colour} 0 6px,transparent 6px 10px)" if family == MARITIME else colour
        )
        mark = (
            f'<span style="display:inline-block;width:22px;height:{2 if family == MARITIME else 4}px;'
            f'margin:0 4px 3px 2px;vertical-align:middle;background:{fill}"></span>'
            if swatch
            else ""
        )
        folium.GeoJson(
            data,
            name=f"{mark}{escape(corridor_label(family))} ({counts[family]})",
            style=_js(_STYLE_JS),
            on_each_feature=_bind(highlight),
            smooth_factor=0.5,
        ).add_to(m)
    return counts


def _legend(sections: Sequence[tuple[str, str]]) -> str:
    """Return legend HTML from (escaped heading, trusted body HTML) sections."""
    body = "".join(f"<h2>{heading}</h2>{content}" for heading, content in sections)
    return f'<div class="corridors-box corridors-legend">{body}</div>'


def _row(symbol: str, label: str) -> str:
    return f'<div class="row">{symbol}<span>{label}</span></div>'


def _line_symbol(colour: str, width: float = 3, dash: str | None = None) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<svg width="34" height="{max(8, int(width) + 4)}"><line x1="2" x2="32" y1="50%" '
        f'y2="50%" stroke="{colour}" stroke-width="{width}"{dash_attr}/></svg>'
    )


def _circle_symbol(style: Mapping[str, Any]) -> str:
    r = style["radius"]
    size = 2 * r + 4
    return (
        f'<svg width="34" height="{size}"><circle cx="17" cy="{size / 2}" r="{r}" '
        f'fill="{style["fillColor"]}" stroke="{style["color"]}" stroke-width="1.5"/></svg>'
    )


def _ramp(colormap: Any, vmin: float, vmax: float, unit: str, n: int = 9) -> str:
    """Return a CSS gradient bar with tick labels for a branca colormap."""
    stops = [colormap(vmin + (vmax - vmin) * i / (n - 1)) for i in range(n)]
    gradient = ", ".join(stops)
    ticks = [vmin, (vmin + vmax) / 2, vmax]
    labels = "".join(f"<span>{_compact(t)}</span>" for t in ticks)
    return (
        f'<div class="ramp" style="background: linear-gradient(to right, {gradient})"></div>'
        f'<div class="ticks">{labels}</div><div>{escape(unit)}</div>'
    )


def _title_box(title: str, subtitle: str = "") -> str:
    sub = f"<p>{subtitle}</p>" if subtitle else ""
    return f'<div class="corridors-box corridors-title"><h1>{title}</h1>{sub}</div>'


def _finish(m: folium.Map, legend: str, title: str | None = None) -> folium.Map:
    import folium

    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_html_element(legend), name="corridors_legend")
    if title:
        m.add_child(_html_element(title), name="corridors_title")
    return m


def _is_sea(link: Mapping[str, Any]) -> bool:
    """True for a sea lane (``mode = "sea"``)."""
    return str(link.get("mode")) == "sea"


def merge_sea_lanes(links: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Return ``links`` with one sea lane per port pair and passage, and the merged ids.

    The maritime layer has one lane per direction (a→b and b→a, same course).  Drawn both,
    they would lie on top of each other; the map keeps the lane with the smaller id, adds
    the other's TEU (``teu``, and ``teu_ab``/``teu_ba`` turned to the kept lane's direction;
    ``utilisation`` the larger of the two) and lists both ids in ``lane_ids``.

    Returns
    -------
    (GeoDataFrame, dict)
        The links to draw, and ``{dropped id: kept id}``.
    """
    if len(links) == 0 or "mode" not in links.columns:
        return links, {}
    sea = links["mode"].astype(str) == "sea"
    if not sea.any():
        return links, {}
    passage = links["passage"] if "passage" in links.columns else links["route"]
    groups: dict[tuple, list[str]] = {}
    for link_id, a, b, via in zip(
        links.index[sea], links.loc[sea, "from"], links.loc[sea, "to"], passage[sea], strict=True
    ):
        groups.setdefault((frozenset((str(a), str(b))), str(via)), []).append(link_id)
    frame = links.copy()
    frame["lane_ids"] = None
    alias: dict[str, str] = {}
    flows = {"teu", "teu_ab", "teu_ba"} <= set(frame.columns)
    for ids in groups.values():
        if len(ids) < 2:
            continue
        kept, *others = sorted(ids, key=str)
        frame.at[kept, "lane_ids"] = ", ".join(str(i) for i in sorted(ids, key=str))
        for other in others:
            alias[other] = kept
            if not flows:
                continue
            same = str(links.at[other, "from"]) == str(links.at[kept, "from"])
            turned = ("teu_ab", "teu_ba") if same else ("teu_ba", "teu_ab")
            for column, other_column in (*zip(("teu_ab", "teu_ba"), turned, strict=True), ("teu", "teu")):
                frame.at[kept, column] = _teu(frame.at[kept, column]) + _teu(links.at[other, other_column])
            if "utilisation" in frame.columns:
                values = [v for v in (frame.at[kept, "utilisation"], links.at[other, "utilisation"]) if not _missing(v)]
                frame.at[kept, "utilisation"] = max(values) if values else None
    return frame.drop(index=list(alias)), alias


def _teu(value: Any) -> float:
    return 0.0 if _missing(value) else float(value)


def _land_bounds(links: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame | None) -> list[float]:
    """Bounds of the land network (links outside the maritime family, and the nodes).

    The sea lanes reach the Cape of Good Hope; the initial view stays on the corridors and
    the lanes are a zoom out away.
    """
    land = links
    if len(links) and "corridor" in links.columns:
        keep = links["corridor"].astype(str) != MARITIME
        if "mode" in links.columns:
            keep &= links["mode"].astype(str) != "sea"
        land = links[keep] if keep.any() else links
    return _bounds(_to_4326(land), _to_4326(nodes) if nodes is not None else None)


def _family_symbol(family: str, colour: str) -> str:
    """Legend line of a corridor family (the maritime family thin and dashed, as drawn)."""
    if family == MARITIME:
        return _line_symbol(colour, _SEA_STYLE["weight"], _SEA_STYLE["dashArray"])
    return _line_symbol(colour)


def _bounds(*frames: Any) -> list[float]:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    if not boxes:
        return [math.nan] * 4
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def _network_of(result: Any, network: Any) -> Any:
    network = network if network is not None else getattr(result, "network", None)
    return network


def _node_names(network: Any) -> dict[str, str]:
    nodes = getattr(network, "nodes", None)
    if nodes is None or "name" not in nodes.columns:
        return {}
    return {str(k): str(v) for k, v in nodes["name"].items()}


def _countries_of(network: Any) -> gpd.GeoDataFrame | None:
    return getattr(network, "countries", None)
