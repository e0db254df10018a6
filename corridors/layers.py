"""Read and validate the geo layers, the demand table and the model parameters.

Everything the model knows comes through this module, and is checked here once:
past :func:`load_layers` the rest of the package trusts its input.  Problems are
collected (``corridors validate`` reports them all) and each names the file, the
feature and the field.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridors._errors import LayerError, suggest

__all__ = [
    "CORRIDORS",
    "Problem",
    "Layers",
    "default_geodata",
    "load_layers",
    "validate_geodata",
    "geodata_files",
    "source_keys",
]

#: Corridor families, one link layer each (``geodata/links/<family>.geojson``).
#: ``maritime`` holds the sea lanes and the inland legs to the ports (issue 11); the land
#: route choice leaves it out (:func:`corridors.network.build_graph`).
CORRIDORS = ("belt_and_road", "middle_corridor", "north_south", "east_west", "maritime")
NODE_KINDS = ("hub", "border", "gauge_change", "port", "junction")
MODES = ("rail", "road", "ferry", "sea")
#: The passage a sea lane takes between Asia and Europe.
PASSAGES = ("suez", "cape")
GAUGES = (1435, 1520)
STATUSES = ("operating", "under_construction", "planned")
DEMAND_COLUMNS = ("origin", "destination", "teu", "year", "segment", "basis")

#: How far (km) a single-country link may stray outside its country's polygon.  Natural
#: Earth 1:110m borders are generalised by tens of km, and border stations sit on them.
COUNTRY_TOLERANCE_KM = 25.0
#: How far (km) a link's first/last vertex may lie from its end nodes.
ENDPOINT_TOLERANCE_KM = 2.0

_SLUG = re.compile(r"^[a-z0-9_]+$")
_LINK_SLUG = re.compile(r"^[a-z0-9_-]+$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
# An equidistant conic fitted to Eurasia (standard parallels 35N/60N): distances along
# the lines we test deviate by a few percent at most, plenty for a 25 km tolerance.
_EURASIA_EQDC = "+proj=eqdc +lat_0=0 +lon_0=70 +lat_1=35 +lat_2=60 +datum=WGS84 +units=m"

_NODE_NUMERIC = {
    "dwell_h": (True, False),  # (required, may be null)
    "handling_usd": (True, False),
    "transfer_h": (False, True),
    "transfer_usd": (False, True),
    "capacity_teu": (False, True),
}
_LINK_NUMERIC = (
    "speed_kmh",
    "running_h",
    "frequency_per_week",
    "tariff_usd_per_teu_km",
    "tariff_usd",
    "capacity_teu",
)


@dataclass(frozen=True)
class Problem:
    """One validation finding: which file, which feature, which field, what is wrong."""

    file: str
    feature: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.feature is not None:
            where += f": {self.feature}"
        if self.field is not None:
            where += f": field '{self.field}'"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Layers:
    """Validated contents of a geodata folder, as plain records.

    Attributes
    ----------
    geodata : Path
        The folder read.
    nodes : dict
        Node id -> properties (plus ``lon``, ``lat`` in degrees).
    links : dict
        Link id -> properties (plus ``coords``: tuple of (lon, lat), ``length_km``
        computed geodesically on WGS84).
    countries : dict
        ISO3 -> name.
    demand : list of dict
        Demand rows: origin, destination, teu (TEU/year), year, segment, basis.
    parameters : dict
        The parsed ``parameters.toml``.
    """

    geodata: Path
    nodes: dict[str, dict[str, Any]]
    links: dict[str, dict[str, Any]]
    countries: dict[str, str]
    demand: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)


def default_geodata() -> Path:
    """Return the geodata folder shipped with the package.

    In a source checkout (or an editable install) that is ``<repo>/geodata``; in an
    installed wheel it is ``corridors/geodata`` inside the package.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "geodata", here.parent / "geodata"):
        if (candidate / "nodes.geojson").is_file():
            return candidate
    raise LayerError(
        f"{here}: the shipped geodata folder is missing (looked in {here / 'geodata'} "
        f"and {here.parent / 'geodata'}); reinstall corridors or pass --geodata DIR"
    )


def geodata_files(geodata: Path) -> list[Path]:
    """Return the files of a geodata folder that the model reads, in a stable order."""
    geodata = Path(geodata)
    files = [geodata / "nodes.geojson", geodata / "countries.geojson"]
    files += sorted((geodata / "links").glob("*.geojson"))
    files += [geodata / "demand.csv", *sorted(geodata.glob("demand_*.csv")), geodata / "parameters.toml"]
    files += sorted((geodata / "years").glob("*.csv"))
    return [f for f in files if f.is_file()]


# --------------------------------------------------------------------------- readers


def _rel(path: Path, geodata: Path) -> str:
    try:
        return str(Path(geodata.name) / path.relative_to(geodata))
    except ValueError:
        return str(path)


def _read_geojson(path: Path, label: str, problems: list[Problem]) -> list[dict] | None:
    if not path.is_file():
        problems.append(Problem(label, None, None, "file not found"))
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not UTF-8 text ({exc.reason})"))
        return None
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(label, None, None, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
        )
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problems.append(Problem(label, None, None, "expected a GeoJSON FeatureCollection"))
        return None
    crs = data.get("crs")
    if crs is not None:
        name = json.dumps(crs)
        if "4326" not in name and "CRS84" not in name.upper():
            problems.append(Problem(label, None, "crs", f"declares CRS {name}; layers must be in EPSG:4326 (lon/lat)"))
            return None
    features = data.get("features")
    if not isinstance(features, list):
        problems.append(Problem(label, None, "features", "missing or not a list"))
        return None
    return features


def _identify(feature: Any, index: int, kind: str, slug: re.Pattern, seen: dict, label: str,
              problems: list[Problem]) -> tuple[str, dict, str] | None:
    """Name a feature and check its properties and id; None (with a Problem) if unusable."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    named = isinstance(props, dict) and isinstance(props.get("id"), str) and props.get("id")
    feat = f"{kind} '{props['id']}'" if named else f"feature #{index}"
    if not isinstance(props, dict):
        problems.append(Problem(label, feat, "properties", "missing"))
        return None
    feature_id = props.get("id")
    if not isinstance(feature_id, str) or not slug.match(feature_id):
        problems.append(Problem(label, feat, "id", f"expected a lowercase ASCII slug, got {feature_id!r}"))
        return None
    if feature_id in seen:
        where = " (ids are unique across all layers)" if kind == "link" else ""
        problems.append(Problem(label, feat, "id", f"duplicate id{where}"))
        return None
    return feat, props, feature_id


def _coords_ok(coords: Any, depth: int) -> bool:
    """True if ``coords`` is a nesting of [lon, lat] pairs ``depth`` levels deep."""
    if depth == 0:
        return (
            isinstance(coords, list | tuple)
            and len(coords) >= 2
            and all(isinstance(c, int | float) and math.isfinite(c) for c in coords[:2])
        )
    return isinstance(coords, list | tuple) and all(_coords_ok(c, depth - 1) for c in coords)


def _in_lonlat_range(points: Iterable) -> bool:
    return all(-180.0 <= p[0] <= 180.0 and -90.0 <= p[1] <= 90.0 for p in points)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _check_numeric(
    props: dict,
    name: str,
    label: str,
    feat: str,
    problems: list[Problem],
    *,
    required: bool,
    nullable: bool,
    positive: bool = False,
) -> float | None:
    if name not in props:
        if required:
            problems.append(Problem(label, feat, name, "missing"))
        return None
    value = props[name]
    if value is None:
        if not nullable:
            problems.append(Problem(label, feat, name, "is null; a number is required"))
        return None
    number = _number(value)
    if number is None:
        problems.append(Problem(label, feat, name, f"expected a number, got {value!r}"))
        return None
    if number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        problems.append(Problem(label, feat, name, f"must be {bound}, got {value!r}"))
        return None
    return number


def _check_status(props: dict, label: str, feat: str, problems: list[Problem]) -> None:
    status = props.get("status")
    if status not in STATUSES:
        problems.append(Problem(label, feat, "status", f"expected one of {', '.join(STATUSES)}, got {status!r}"))
    year = props.get("opening_year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1850 <= year <= 2100):
        problems.append(Problem(label, feat, "opening_year", f"expected a year or null, got {year!r}"))
    if status in ("under_construction", "planned") and year is None:
        problems.append(Problem(label, feat, "opening_year", f"a {status} feature needs its expected opening year"))


def _check_sources(props: dict, label: str, feat: str, problems: list[Problem], keys: set[str] | None) -> None:
    sources = props.get("sources")
    if not isinstance(sources, str) or not sources.strip():
        problems.append(Problem(label, feat, "sources", "missing: every figure needs a source key from SOURCES.md"))
        return
    if keys is None:
        return
    for key in (s.strip() for s in sources.split(",")):
        if key and key not in keys:
            problems.append(Problem(label, feat, "sources", f"key '{key}' is not defined in SOURCES.md"))


def _source_keys(geodata: Path, problems: list[Problem] | None = None) -> set[str] | None:
    """Keys (``S12``, ``A3``) defined in ``SOURCES.md``; None if there is no such file."""
    path = geodata / "SOURCES.md"
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        if problems is not None:
            problems.append(Problem(_rel(path, geodata), None, None, f"not UTF-8 text ({exc.reason})"))
        return None
    # A key is defined where it opens a line, a table row, a list item or a heading:
    # "| S12 |", "- **A3**", "### A4", "S5:".
    return set(re.findall(r"^[\s|#*\-]*`?([SA]\d+)\b", text, flags=re.MULTILINE))


def source_keys(geodata: str | Path | None = None) -> set[str]:
    """Return the source and assumption keys defined in a geodata folder's ``SOURCES.md``."""
    return _source_keys(Path(geodata) if geodata is not None else default_geodata()) or set()


def _read_countries(geodata: Path, problems: list[Problem]):
    import shapely

    label = _rel(geodata / "countries.geojson", geodata)
    features = _read_geojson(geodata / "countries.geojson", label, problems)
    polygons: dict[str, Any] = {}
    names: dict[str, str] = {}
    for i, feature in enumerate(features or []):
        props = feature.get("properties") or {}
        iso = props.get("iso_a3")
        if not isinstance(iso, str) or not _ISO3.match(iso):
            problems.append(Problem(label, f"feature #{i}", "iso_a3", f"expected an ISO3 code, got {iso!r}"))
            continue
        try:
            geom = shapely.geometry.shape(feature.get("geometry"))
        except Exception as exc:  # noqa: BLE001 - shapely raises several types here
            problems.append(Problem(label, f"country '{iso}'", "geometry", f"invalid geometry ({exc})"))
            continue
        polygons[iso] = shapely.make_valid(geom) if not geom.is_valid else geom
        names[iso] = str(props.get("name") or iso)
    return polygons, names


def _read_nodes(geodata: Path, countries: set[str], keys: set[str] | None, problems: list[Problem]):
    path = geodata / "nodes.geojson"
    label = _rel(path, geodata)
    features = _read_geojson(path, label, problems)
    nodes: dict[str, dict] = {}
    for i, feature in enumerate(features or []):
        head = _identify(feature, i, "node", _SLUG, nodes, label, problems)
        if head is None:
            continue
        feat, props, node_id = head
        geometry = feature.get("geometry")
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not _coords_ok(geometry.get("coordinates"), 0)
        ):
            problems.append(Problem(label, feat, "geometry", "expected a Point with [lon, lat]"))
            continue
        lon, lat = (float(c) for c in geometry["coordinates"][:2])
        if not _in_lonlat_range([(lon, lat)]):
            problems.append(
                Problem(
                    label,
                    feat,
                    "geometry",
                    f"coordinates ({lon}, {lat}) are not lon/lat degrees: "
                    "the layer looks projected or has a missing CRS; expected EPSG:4326",
                )
            )
            continue
        ok = True
        for name in ("name",):
            if not isinstance(props.get(name), str) or not props[name].strip():
                problems.append(Problem(label, feat, name, "missing or empty"))
                ok = False
        if props.get("kind") not in NODE_KINDS:
            problems.append(
                Problem(label, feat, "kind", f"expected one of {', '.join(NODE_KINDS)}, got {props.get('kind')!r}")
            )
            ok = False
        country = props.get("country")
        if not isinstance(country, str) or not _ISO3.match(country):
            problems.append(Problem(label, feat, "country", f"expected an ISO 3166 alpha-3 code, got {country!r}"))
            ok = False
        elif countries and country not in countries:
            problems.append(
                Problem(
                    label,
                    feat,
                    "country",
                    f"unknown country '{country}'{suggest(country, countries)} (not in countries.geojson)",
                )
            )
            ok = False
        values = {}
        for name, (required, nullable) in _NODE_NUMERIC.items():
            values[name] = _check_numeric(
                props,
                name,
                label,
                feat,
                problems,
                required=required,
                nullable=nullable,
                positive=(name == "capacity_teu"),
            )
        if (props.get("transfer_h") is None) != (props.get("transfer_usd") is None):
            problems.append(
                Problem(label, feat, "transfer_usd", "transfer_h and transfer_usd must be both set or both null")
            )
        _check_status(props, label, feat, problems)
        _check_sources(props, label, feat, problems, keys)
        if ok:
            record = dict(props)
            record.update(values)
            record.update(lon=lon, lat=lat)
            nodes[node_id] = record
    return nodes


def _read_links(geodata: Path, nodes: dict, countries: set[str], keys: set[str] | None, problems: list[Problem]):
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    links: dict[str, dict] = {}
    link_dir = geodata / "links"
    files = sorted(link_dir.glob("*.geojson")) if link_dir.is_dir() else []
    if not files:
        problems.append(Problem(_rel(link_dir, geodata), None, None, "no link layers (*.geojson) found"))
    for path in files:
        label = _rel(path, geodata)
        family = path.stem
        if family not in CORRIDORS:
            problems.append(
                Problem(
                    label,
                    None,
                    None,
                    f"unknown corridor layer '{family}'{suggest(family, CORRIDORS)}; "
                    f"expected one of {', '.join(CORRIDORS)}",
                )
            )
            continue
        for i, feature in enumerate(_read_geojson(path, label, problems) or []):
            head = _identify(feature, i, "link", _LINK_SLUG, links, label, problems)
            if head is None:
                continue
            feat, props, link_id = head
            geometry = feature.get("geometry")
            if (
                not isinstance(geometry, dict)
                or geometry.get("type") != "LineString"
                or not _coords_ok(geometry.get("coordinates"), 1)
                or len(geometry["coordinates"]) < 2
            ):
                problems.append(
                    Problem(label, feat, "geometry", "expected a LineString of at least two [lon, lat] positions")
                )
                continue
            coords = tuple((float(c[0]), float(c[1])) for c in geometry["coordinates"])
            if not _in_lonlat_range(coords):
                problems.append(
                    Problem(
                        label,
                        feat,
                        "geometry",
                        "coordinates are not lon/lat degrees: the layer looks "
                        "projected or has a missing CRS; expected EPSG:4326",
                    )
                )
                continue
            ok = True
            ends = {}
            for end in ("from", "to"):
                node_id = props.get(end)
                if not isinstance(node_id, str) or node_id not in nodes:
                    problems.append(Problem(label, feat, end, f"unknown node {node_id!r}{suggest(node_id, nodes)}"))
                    ok = False
                else:
                    ends[end] = nodes[node_id]
            if props.get("corridor") != family:
                problems.append(
                    Problem(label, feat, "corridor", f"is {props.get('corridor')!r} but the layer is '{family}'")
                )
            if not isinstance(props.get("route"), str) or not props["route"]:
                problems.append(Problem(label, feat, "route", "missing or empty"))
            mode = props.get("mode")
            gauge = props.get("gauge_mm")
            if mode not in MODES:
                problems.append(Problem(label, feat, "mode", f"expected one of {', '.join(MODES)}, got {mode!r}"))
                ok = False
            elif mode == "rail" and gauge not in GAUGES:
                problems.append(
                    Problem(label, feat, "gauge_mm", f"a rail link needs gauge 1435 or 1520, got {gauge!r}")
                )
                ok = False
            elif mode != "rail" and gauge is not None:
                problems.append(Problem(label, feat, "gauge_mm", f"a {mode} link has no gauge, got {gauge!r}"))
            values = {}
            for name in _LINK_NUMERIC:
                values[name] = _check_numeric(
                    props,
                    name,
                    label,
                    feat,
                    problems,
                    required=False,
                    nullable=True,
                    positive=name in ("speed_kmh", "running_h", "frequency_per_week", "capacity_teu"),
                )
            if values["speed_kmh"] is None and values["running_h"] is None:
                problems.append(Problem(label, feat, "speed_kmh", "needs speed_kmh or running_h"))
                ok = False
            if values["tariff_usd_per_teu_km"] is None and values["tariff_usd"] is None:
                problems.append(
                    Problem(label, feat, "tariff_usd_per_teu_km", "needs tariff_usd_per_teu_km or tariff_usd")
                )
                ok = False
            _check_status(props, label, feat, problems)
            _check_sources(props, label, feat, problems, keys)
            country = props.get("country")
            if ok and len(ends) == 2:
                a, b = ends["from"], ends["to"]
                for end, node, pos in (("from", a, coords[0]), ("to", b, coords[-1])):
                    _, _, dist = geod.inv(node["lon"], node["lat"], pos[0], pos[1])
                    if dist / 1000.0 > ENDPOINT_TOLERANCE_KM:
                        problems.append(
                            Problem(
                                label,
                                feat,
                                "geometry",
                                f"{'first' if end == 'from' else 'last'} vertex lies "
                                f"{dist / 1000.0:.1f} km from node '{props[end]}' "
                                f"(tolerance {ENDPOINT_TOLERANCE_KM:g} km)",
                            )
                        )
                if mode in ("ferry", "sea"):
                    if country is not None:
                        problems.append(
                            Problem(label, feat, "country", f"a {mode} leg crosses water: country must be null")
                        )
                    for end, node in (("from", a), ("to", b)):
                        if node["kind"] != "port":
                            problems.append(
                                Problem(label, feat, end, f"{mode} leg ends at '{props[end]}', which is not a port")
                            )
                    if mode == "sea":
                        _check_sea_lane(props, label, feat, problems)
                elif not isinstance(country, str):
                    problems.append(
                        Problem(
                            label,
                            feat,
                            "country",
                            f"expected an ISO3 code (or AAA|BBB for a border link), got {country!r}",
                        )
                    )
                    ok = False
                else:
                    parts = country.split("|")
                    bad = [p for p in parts if not _ISO3.match(p) or (countries and p not in countries)]
                    if bad or len(parts) > 2:
                        problems.append(Problem(label, feat, "country", f"unknown country code(s) {country!r}"))
                        ok = False
                    elif len(parts) == 1 and {a["country"], b["country"]} != {country}:
                        problems.append(
                            Problem(
                                label,
                                feat,
                                "country",
                                f"is {country} but its end nodes lie in "
                                f"{a['country']} and {b['country']}: split the link at the border",
                            )
                        )
                    elif len(parts) == 2 and {a["country"], b["country"]} != set(parts):
                        problems.append(
                            Problem(
                                label,
                                feat,
                                "country",
                                f"border link {country} must join a node in each "
                                f"country, but joins {a['country']} and {b['country']}",
                            )
                        )
            if ok:
                record = dict(props)
                record.update(values)
                record["coords"] = coords
                lons, lats = zip(*coords, strict=True)
                record["length_km"] = float(geod.line_length(lons, lats)) / 1000.0
                record["layer"] = family
                links[link_id] = record
    return links


def _check_sea_lane(props: dict, label: str, feat: str, problems: list[Problem]) -> None:
    """A sea lane names its passage and carries its sourced sailing distance (nautical miles)."""
    if props.get("passage") not in PASSAGES:
        problems.append(
            Problem(label, feat, "passage", f"expected one of {', '.join(PASSAGES)}, got {props.get('passage')!r}")
        )
    _check_numeric(props, "distance_nm", label, feat, problems, required=True, nullable=False, positive=True)
    if props.get("oneway") not in (None, True, False):
        problems.append(Problem(label, feat, "oneway", f"expected true or false, got {props.get('oneway')!r}"))


def _projector():
    import numpy as np
    from pyproj import Transformer

    to_m = Transformer.from_crs("EPSG:4326", _EURASIA_EQDC, always_xy=True)

    def project(xy):
        x, y = to_m.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return project


def _check_link_countries(links: dict, polygons: dict, geodata: Path, problems: list[Problem]) -> None:
    """Check that every single-country link lies within tolerance of its country polygon."""
    if not polygons:
        return
    import shapely

    project = _projector()
    buffered: dict[str, Any] = {}
    for link_id, link in links.items():
        country = link.get("country")
        if link["mode"] == "ferry" or not isinstance(country, str):
            continue
        codes = country.split("|")
        if any(c not in polygons for c in codes):
            continue
        if country not in buffered:
            polys = [shapely.transform(polygons[c], project) for c in codes]
            buffered[country] = shapely.union_all(polys).buffer(COUNTRY_TOLERANCE_KM * 1000.0)
            shapely.prepare(buffered[country])
        line = shapely.transform(shapely.LineString(link["coords"]), project)
        if not buffered[country].contains(line):
            km = line.difference(buffered[country]).length / 1000.0
            label = _rel(geodata / "links" / f"{link['layer']}.geojson", geodata)
            problems.append(
                Problem(
                    label,
                    f"link '{link_id}'",
                    "geometry",
                    f"{km:.0f} km of the line lie more than {COUNTRY_TOLERANCE_KM:g} km outside its country {country}",
                )
            )


def _check_nodes_in_countries(nodes: dict, polygons: dict, geodata: Path, problems: list[Problem]) -> None:
    if not polygons:
        return
    import shapely

    project = _projector()
    projected: dict[str, Any] = {}
    for node_id, node in nodes.items():
        code = node["country"]
        if code not in polygons:
            continue
        if code not in projected:
            projected[code] = shapely.transform(polygons[code], project)
        point = shapely.transform(shapely.Point(node["lon"], node["lat"]), project)
        dist = projected[code].distance(point) / 1000.0
        if dist > COUNTRY_TOLERANCE_KM:
            problems.append(
                Problem(
                    _rel(geodata / "nodes.geojson", geodata),
                    f"node '{node_id}'",
                    "country",
                    f"the node lies {dist:.0f} km outside {code} (tolerance {COUNTRY_TOLERANCE_KM:g} km)",
                )
            )


def _check_transfers(nodes: dict, links: dict, geodata: Path, problems: list[Problem]) -> None:
    gauges: dict[str, set] = {}
    for link in links.values():
        if link["mode"] == "rail":
            for end in (link["from"], link["to"]):
                gauges.setdefault(end, set()).add(link["gauge_mm"])
    for node_id, found in gauges.items():
        node = nodes[node_id]
        if len(found) > 1 and node.get("transfer_h") is None:
            problems.append(
                Problem(
                    _rel(geodata / "nodes.geojson", geodata),
                    f"node '{node_id}'",
                    "transfer_h",
                    "1435 mm and 1520 mm lines meet here but no gauge-change time/cost is given",
                )
            )


def _read_demand_file(
    path: Path, geodata: Path, nodes: dict, keys: set[str] | None, problems: list[Problem]
) -> list[dict]:
    label = _rel(path, geodata)
    if not path.is_file():
        problems.append(Problem(label, None, None, "file not found"))
        return []
    rows: list[dict] = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not UTF-8 text ({exc.reason})"))
        return []
    import io

    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in DEMAND_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            problems.append(Problem(label, None, missing[0], f"missing column(s) {', '.join(missing)}"))
            return []
        for line_no, row in enumerate(reader, start=2):
            feat = f"row {line_no} ({row.get('origin')} -> {row.get('destination')})"
            ok = True
            for end in ("origin", "destination"):
                if row[end] not in nodes:
                    problems.append(Problem(label, feat, end, f"unknown node {row[end]!r}{suggest(row[end], nodes)}"))
                    ok = False
            if ok and row["origin"] == row["destination"]:
                problems.append(Problem(label, feat, "destination", "equals the origin"))
                ok = False
            try:
                teu = float(row["teu"])
                if not math.isfinite(teu) or teu < 0:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(Problem(label, feat, "teu", f"expected a number >= 0 (TEU/year), got {row['teu']!r}"))
                ok = False
            try:
                year = int(row["year"])
            except (TypeError, ValueError):
                problems.append(Problem(label, feat, "year", f"expected a year, got {row['year']!r}"))
                ok = False
            basis = [k.strip() for k in (row["basis"] or "").replace(";", ",").split(",") if k.strip()]
            if not basis:
                problems.append(Problem(label, feat, "basis", "missing: name the assumption keys of SOURCES.md"))
            elif keys is not None:
                for key in basis:
                    if key not in keys:
                        problems.append(Problem(label, feat, "basis", f"key '{key}' is not defined in SOURCES.md"))
            if ok:
                rows.append(
                    {
                        "origin": row["origin"],
                        "destination": row["destination"],
                        "teu": teu,
                        "year": year,
                        "segment": row["segment"],
                        "basis": row["basis"],
                    }
                )
    return rows


def _read_demand(geodata: Path, nodes: dict, keys: set[str] | None, problems: list[Problem]) -> list[dict]:
    """Read ``demand.csv`` and any extra segment tables ``demand_*.csv`` beside it."""
    rows = _read_demand_file(geodata / "demand.csv", geodata, nodes, keys, problems)
    for extra in sorted(geodata.glob("demand_*.csv")):
        rows += _read_demand_file(extra, geodata, nodes, keys, problems)
    return rows


def _read_parameters(geodata: Path, problems: list[Problem]) -> dict:
    path = geodata / "parameters.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(_rel(path, geodata), None, None, f"not UTF-8 text ({exc.reason})"))
        return {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(_rel(path, geodata), None, None, f"not valid TOML ({exc})"))
        return {}


def _collect(geodata: Path) -> tuple[Layers, list[Problem]]:
    geodata = Path(geodata)
    problems: list[Problem] = []
    if not geodata.is_dir():
        problems.append(Problem(str(geodata), None, None, "geodata folder not found"))
        return Layers(geodata, {}, {}, {}, [], {}), problems
    keys = _source_keys(geodata, problems)
    polygons, names = _read_countries(geodata, problems)
    codes = set(names)
    nodes = _read_nodes(geodata, codes, keys, problems)
    links = _read_links(geodata, nodes, codes, keys, problems)
    _check_nodes_in_countries(nodes, polygons, geodata, problems)
    _check_link_countries(links, polygons, geodata, problems)
    _check_transfers(nodes, links, geodata, problems)
    demand = _read_demand(geodata, nodes, keys, problems)
    parameters = _read_parameters(geodata, problems)
    if (geodata / "years").is_dir():
        from corridors.years import check_year_tables

        problems += check_year_tables(geodata, keys)
    return Layers(geodata, nodes, links, names, demand, parameters), problems


def validate_geodata(geodata: str | Path | None = None) -> list[Problem]:
    """Check a geodata folder and return every problem found (empty if valid).

    Parameters
    ----------
    geodata : path, optional
        Folder with ``nodes.geojson``, ``links/*.geojson``, ``countries.geojson``,
        ``demand.csv`` (and optionally ``parameters.toml``, ``SOURCES.md``).
        Defaults to the shipped folder.
    """
    return _collect(Path(geodata) if geodata is not None else default_geodata())[1]


def load_layers(geodata: str | Path | None = None) -> Layers:
    """Read and validate a geodata folder.

    Raises
    ------
    LayerError
        On the first problem found, naming file, feature and field (with a count of
        further problems; ``corridors validate`` lists them all).
    """
    layers, problems = _collect(Path(geodata) if geodata is not None else default_geodata())
    if problems:
        more = f" (+{len(problems) - 1} more problems; run 'corridors validate')" if len(problems) > 1 else ""
        raise LayerError(f"{problems[0]}{more}")
    return layers
