"""Folium maps of the corridor network, assigned flows and scenario differences.

Three map kinds, each a plain function returning a :class:`folium.Map`:

- :func:`network_map`: the corridor layers (one toggleable layer per corridor family,
  coloured by corridor, planned links dashed) and the nodes styled by kind;
- :func:`flow_map`: assigned TEU/year as line widths, countries shaded by transit TEU and
  the headline share ("through Kazakhstan: NN% of China–EU land TEU") in a title box;
- :func:`compare_map`: the difference between two assignments on a diverging scale.

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
atomically.

Every string that comes from a data file (names, ids, sources, country names ...) is
HTML-escaped before it reaches a tooltip, popup, layer name or title, and further escaped
for the JavaScript template literals folium embeds it in.

folium, branca and geopandas are imported inside the functions, so importing this module is
cheap.
"""

from __future__ import annotations

import base64
import contextlib
import html
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridors._errors import CorridorsError, QueryError

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import geopandas as gpd
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
]

#: The map kinds of ``corridors map --kind``.
MAP_KINDS = ("network", "flows", "compare")

#: Line colour of each corridor family (links/<family>.geojson).
CORRIDOR_COLOURS: dict[str, str] = {
    "belt_and_road": "#c0392b",
    "middle_corridor": "#1f6fb2",
    "north_south": "#1e8449",
    "east_west": "#7d3c98",
}
_EXTRA_COLOURS = ("#d35400", "#117a65", "#b7950b", "#5d6d7e", "#a04000", "#2471a3")

_CORRIDOR_LABELS = {
    "belt_and_road": "Belt and Road",
    "middle_corridor": "Middle Corridor",
    "north_south": "North–South",
    "east_west": "East–West",
}

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


# ---------------------------------------------------------------------------
# escaping and formatting
# ---------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    """True for None, NaN, pandas.NA and NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str | int | bool):
        return False
    import numpy as np
    import pandas as pd

    try:
        result = pd.isna(value)
    except (TypeError, ValueError):  # pragma: no cover - exotic objects
        return False
    return isinstance(result, bool | np.bool_) and bool(result)


def escape(value: Any, missing: str = "–") -> str:
    """Return ``value`` as text that is safe inside HTML and a JavaScript template literal.

    HTML special characters are escaped (``<`` becomes ``&lt;``, quotes become entities), and
    so are the characters that would end or interpolate a JavaScript template literal
    (backtick, ``$``, backslash), because folium embeds tooltip and popup HTML in such
    literals.

    Parameters
    ----------
    value : Any
        The value; converted with ``str``.
    missing : str, default "–"
        Returned for None and NaN (already safe).

    Returns
    -------
    str
        Escaped text.

    Examples
    --------
    >>> escape("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape(None)
    '–'
    """
    if _missing(value):
        return missing
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _num(value: Any, unit: str = "", digits: int = 0) -> str:
    """Format a number with thousands separators and a unit ("–" when missing)."""
    if _missing(value):
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return escape(value)
    text = f"{number:,.{digits}f}"
    return f"{text} {unit}".strip()


def _pct(value: Any, digits: int = 1) -> str:
    """Format a fraction as a percentage ("–" when missing)."""
    if _missing(value):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def _compact(value: float, unit: str = "") -> str:
    """Format a number with two significant digits and k/M suffixes (legends)."""
    number = float(value)
    size = abs(number)
    if size >= 1e6:
        text = f"{number / 1e6:.2g} M"
    elif size >= 1e3:
        text = f"{number / 1e3:.3g} k"
    else:
        text = f"{number:.3g}"
    return f"{text} {unit}".strip()


def _legend_samples(vmax: float) -> list[float]:
    """Three round values at most ``vmax`` (about vmax, vmax/2, vmax/8) for width legends."""
    samples = []
    for fraction in (1.0, 0.5, 0.125):
        value = vmax * fraction
        if value <= 0:
            continue
        magnitude = 10 ** math.floor(math.log10(value))
        samples.append(math.floor(value / magnitude * 2) / 2 * magnitude or value)
    return samples


def _rows_html(rows: Iterable[tuple[str, str]]) -> str:
    """Return table rows from (label, already-escaped value) pairs."""
    return "".join(f"<tr><th>{escape(label)}</th><td>{value}</td></tr>" for label, value in rows)


def _tip(title: str, rows: Iterable[tuple[str, str]], more: Iterable[tuple[str, str]] | None = None) -> dict:
    """Return the feature properties the browser builds tooltip and popup from.

    ``title`` is escaped HTML; ``rows`` go in the tooltip and the popup, ``more`` in the
    popup only.  The page joins them as :func:`tip_html` does (the same HTML is not
    shipped twice).
    """
    props = {"title": title, "rows": _rows_html(rows)}
    if more is not None:
        props["more"] = _rows_html(more)
    return props


def tip_html(properties: Mapping[str, Any], *, popup: bool = False) -> str:
    """Return the tooltip (or popup) HTML the page shows for a feature's properties."""
    extra = properties.get("more", "") if popup else ""
    return f'<div class="corridors-tip"><b>{properties["title"]}</b><table>{properties["rows"]}{extra}</table></div>'


def _css_class(value: Any) -> str:
    """Return a CSS-class-safe slug of ``value``."""
    return re.sub(r"[^a-z0-9_-]", "_", str(value).lower())


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
# assets: inline Leaflet + jQuery from the XStatic packages
# ---------------------------------------------------------------------------

_LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
_LEAFLET_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
_JQUERY_CDN = "https://code.jquery.com/jquery-3.7.1.min.js"

_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*"""
    r"""((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)
_CSS_URL_RE = re.compile(r"""(?:@import\s+|url\()\s*["']?\s*((?:https?:)?//[^"')\s]+)""", re.I)


def external_assets(page: str) -> list[str]:
    """Return the external (http, https or protocol-relative) asset references in a page.

    Looks at ``src``/``href`` attributes of ``script``, ``link``, ``img``, ``iframe``,
    ``source`` and ``embed`` tags and at CSS ``url(...)`` / ``@import``.  Plain ``<a href>``
    links (attribution text) are not assets and are ignored.

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        The URLs, in order of appearance (empty for a self-contained page).
    """
    return [m.group(1) for m in _EXTERNAL_RE.finditer(page)] + [m.group(1) for m in _CSS_URL_RE.finditer(page)]


def _read_asset(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CorridorsError(
            f"{path}: cannot read the installed asset ({exc.strerror}); reinstall XStatic-Leaflet / XStatic-jQuery"
        ) from exc


def _asset_dirs() -> tuple[Path, Path]:
    try:
        import xstatic.pkg.jquery as xjquery
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:
        raise CorridorsError(
            f"self-contained maps need the XStatic-Leaflet and XStatic-jQuery packages "
            f"({exc}); install them or use --no-self-contained"
        ) from exc
    return Path(xleaflet.BASE_DIR), Path(xjquery.BASE_DIR)


def _inline_script(code: str) -> str:
    code = re.sub(r"^\s*//[#@] sourceMappingURL=.*$", "", code, flags=re.M)
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", code, flags=re.I) + "</script>"


def _inline_assets_html() -> str:
    """Return ``<style>`` and ``<script>`` elements with Leaflet and jQuery inlined."""
    leaflet_dir, jquery_dir = _asset_dirs()
    css = _read_asset(leaflet_dir / "leaflet.css")

    def data_uri(match: re.Match[str]) -> str:
        image = leaflet_dir / "images" / match.group(2)
        try:
            payload = base64.b64encode(image.read_bytes()).decode("ascii")
        except OSError as exc:
            raise CorridorsError(f"{image}: cannot read the installed Leaflet image") from exc
        return f"url(data:image/png;base64,{payload})"

    css = re.sub(r"""url\((["']?)images/([A-Za-z0-9_.-]+\.png)\1\)""", data_uri, css)
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)
    leaflet_js = _read_asset(leaflet_dir / "leaflet.js")
    jquery_js = _read_asset(jquery_dir / "jquery.min.js")
    return f"<style>{css}</style>\n{_inline_script(leaflet_js)}\n{_inline_script(jquery_js)}\n"


def _configure_assets(m: folium.Map, self_contained: bool) -> None:
    """Replace folium's CDN assets by inlined ones (or by the two CDN links we need)."""
    from branca.element import Element

    if self_contained:
        m.default_js = []
        m.default_css = []
        m.get_root().header.add_child(Element(_inline_assets_html()), name="corridors_assets", index=0)
    else:
        m.default_js = [("leaflet", _LEAFLET_CDN), ("jquery", _JQUERY_CDN)]
        m.default_css = [("leaflet_css", _LEAFLET_CSS_CDN)]
    m._corridors_self_contained = self_contained  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


def _html_element(markup: str, *, header: bool = False):
    """Return a branca MacroElement that puts trusted ``markup`` in the page body or head."""
    from branca.element import MacroElement, Template

    where = "header" if header else "html"
    element = MacroElement()
    element._template = Template("{% macro " + where + "(this, kwargs) %}{{ this.markup }}{% endmacro %}")
    element.markup = markup
    return element


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
    families = list(dict.fromkeys(str(c) for c in links["corridor"]))
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
            props.append(
                {
                    "style": style,
                    **_tip(title, rows, more),
                }
            )
        data = _feature_collection(subset.geometry, props)
        counts[family] = len(data["features"])
        mark = (
            f'<span style="display:inline-block;width:22px;height:4px;margin:0 4px 3px 2px;'
            f'vertical-align:middle;background:{colours[family]}"></span>'
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
    m = _base_map(_bounds(_to_4326(links), _to_4326(nodes)), tiles=tiles, self_contained=self_contained)
    _add_countries(m, countries, over_tiles=bool(tiles))
    counts = _add_link_layers(
        m,
        links,
        node_names=_node_names(network),
        style_of=lambda _id, _link: {},
        rows_of=lambda _id, _link: [],
    )
    _add_nodes(m, nodes)
    _add_labels(m, nodes)
    _add_attribution(m, network)
    colours = _corridor_colours(counts)
    corridors_html = "".join(
        _row(_line_symbol(colours[f]), f"{escape(corridor_label(f))} ({n})") for f, n in counts.items()
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
    title = _title_box(
        "Eurasian freight corridors",
        f"{len(links)} links, {len(nodes)} nodes; click a feature for details",
    )
    return _finish(m, legend, title)


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
    links = _to_4326(result.link_flows)
    nodes = getattr(network, "nodes", None)
    countries = _countries_of(network)
    names = _country_names(countries)
    node_names = _node_names(network)
    paths = getattr(result, "paths", None)

    headline, share = _headline(result, through, from_, to, names)
    node_country = {str(k): str(v) for k, v in nodes["country"].items()} if nodes is not None else {}
    known = set(names) | set(node_country.values())
    on_link, od_total = _od_link_share(paths, node_country, _region(from_, known), _region(to, known))
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

    m = _base_map(
        _bounds(links, _to_4326(nodes) if nodes is not None else None), tiles=tiles, self_contained=self_contained
    )
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
        _row(_line_symbol(colours[f]), f"{escape(corridor_label(f))} ({n})") for f, n in counts.items()
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
    new, old = _to_4326(result.link_flows), _to_4326(baseline.link_flows)
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
    m = _base_map(
        _bounds(base, _to_4326(nodes) if nodes is not None else None), tiles=tiles, self_contained=self_contained
    )
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


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def map_html(m: folium.Map, *, check: bool | None = None) -> str:
    """Render a map to a complete HTML page.

    Parameters
    ----------
    m : folium.Map
        A map from this module (or any folium map).
    check : bool, optional
        Raise if an external asset remains.  Default: True for maps built
        ``self_contained=True`` by this module, False otherwise.

    Returns
    -------
    str
        The page.

    Raises
    ------
    CorridorsError
        If ``check`` and the page references an external script, stylesheet or other
        asset (http, https or protocol-relative URL).
    """
    if check is None:
        check = bool(getattr(m, "_corridors_self_contained", False))
    page = m.get_root().render()
    if check:
        found = external_assets(page)
        if found:
            listed = ", ".join(sorted(set(found))[:5])
            raise CorridorsError(
                f"map is not self-contained: {len(found)} external asset reference(s) remain "
                f"({listed}); use --no-self-contained to allow them"
            )
    return page


def save_map(m: folium.Map, path: str | os.PathLike[str], *, check: bool | None = None) -> Path:
    """Write a map to an HTML file atomically.

    The page is rendered (and checked, see :func:`map_html`) first, then written to a
    temporary file in the target folder and moved over ``path`` with :func:`os.replace`, so
    a reader never sees a partial file and an error leaves any previous file untouched.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : str or PathLike
        Target file; missing parent folders are created.
    check : bool, optional
        See :func:`map_html`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CorridorsError
        If the map is not self-contained although it should be, or the file cannot be
        written.
    """
    page = map_html(m, check=check)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise CorridorsError(f"{target}: cannot write the map ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CorridorsError(f"{target}: cannot write the map ({exc.strerror})") from exc
        raise
    return target
