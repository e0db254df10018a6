"""Read and validate the geo layers, the demand table and the model parameters.

Everything the model knows comes through this module, and is checked here once:
past :func:`load_layers` the rest of the package trusts its input.  Problems are
collected (``corridors validate`` reports them all) and each names the file, the
feature and the field.  The valid ranges and vocabularies live in
:mod:`corridors.limits`, the file readers in :mod:`corridors.readers`; their names are
re-exported here for the modules that import them from ``corridors.layers``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridors._errors import LayerError, suggest
from corridors.limits import (  # noqa: F401  (re-exported: other modules import them from here)
    _LINK_NUMERIC,
    _NODE_NUMERIC,
    CORRIDORS,
    DEMAND_COLUMNS,
    DEMAND_OPTIONAL,
    GAUGES,
    MAX_DEMAND_TEU,
    MAX_JSON_DEPTH,
    MAX_SEARCH_DEPTH,
    MODE_CHOICE_PARAMETERS,
    MODES,
    NODE_KINDS,
    PARAMETERS,
    PASSAGES,
    SEGMENTS,
    STATUSES,
    YEAR_RANGE,
    Problem,
    _check_numeric,
    _integer,
    _number,
    _range_text,
    check_parameters,
    check_segments,
    parameter_problem,
    search_depth_message,
)
from corridors.readers import (  # noqa: F401  (re-exported)
    _demand_row,
    _json_depth_ok,
    _read_demand,
    _read_demand_file,
    _read_geojson,
    _read_text,
    _rel,
    _to_lonlat,
    parse_toml,
)

_log = logging.getLogger("corridors")

__all__ = [
    "CORRIDORS",
    "Problem",
    "Layers",
    "default_geodata",
    "load_layers",
    "validate_geodata",
    "check_geodata",
    "check_parameters",
    "PARAMETERS",
    "geodata_files",
    "source_keys",
]

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


class _Findings(list):
    """Problems found so far, plus ``notes``: lines that inform but do not fail the load
    (a layer reprojected from another CRS)."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []


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
    notes : tuple of str
        Informational lines of the load (e.g. a layer reprojected to EPSG:4326).
    """

    geodata: Path
    nodes: dict[str, dict[str, Any]]
    links: dict[str, dict[str, Any]]
    countries: dict[str, str]
    demand: list[dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


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


def _identify(feature: Any, index: int, kind: str, slug: re.Pattern, seen: dict, label: str,
              problems: list[Problem]) -> tuple[str, dict, str] | None:
    """Name a feature and check its properties and id; None (with a Problem) if unusable."""
    if not isinstance(feature, dict):
        problems.append(Problem(label, f"feature #{index}", None, f"expected a GeoJSON Feature object, got "
                                f"{type(feature).__name__}"))
        return None
    props = feature.get("properties")
    named = isinstance(props, dict) and isinstance(props.get("id"), str) and props.get("id")
    feat = f"{kind} '{props['id']}'" if named else f"feature #{index}"
    if not isinstance(props, dict):
        got = "missing" if props is None else f"expected an object, got {type(props).__name__}"
        problems.append(Problem(label, feat, "properties", got))
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
            and all(_number(c) is not None for c in coords[:2])
        )
    return isinstance(coords, list | tuple) and all(_coords_ok(c, depth - 1) for c in coords)


def _in_lonlat_range(points: Iterable) -> bool:
    return all(-180.0 <= p[0] <= 180.0 and -90.0 <= p[1] <= 90.0 for p in points)


def _check_status(props: dict, label: str, feat: str, problems: list[Problem]) -> int | None:
    """Check ``status`` and ``opening_year``; return the year as an int (or None)."""
    status = props.get("status")
    if status not in STATUSES:
        problems.append(Problem(label, feat, "status", f"expected one of {', '.join(STATUSES)}, got {status!r}"))
    raw = props.get("opening_year")
    year = _integer(raw)
    if raw is not None and (year is None or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]):
        problems.append(
            Problem(
                label,
                feat,
                "opening_year",
                f"expected a year {YEAR_RANGE[0]}-{YEAR_RANGE[1]} or null, got {raw!r}",
            )
        )
        year = None
    elif status in ("under_construction", "planned") and raw is None:
        problems.append(Problem(label, feat, "opening_year", f"a {status} feature needs its expected opening year"))
    return year


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
    text = _read_text(path, _rel(path, geodata), problems if problems is not None else [])
    if text is None:
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
    rejected: set[str] = set()
    for i, feature in enumerate(features or []):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            got = "missing" if props is None else f"expected an object, got {type(props).__name__}"
            problems.append(Problem(label, f"feature #{i}", "properties", got))
            continue
        iso = props.get("iso_a3")
        if not isinstance(iso, str) or not _ISO3.match(iso):
            problems.append(Problem(label, f"feature #{i}", "iso_a3", f"expected an ISO3 code, got {iso!r}"))
            continue
        if iso in names or iso in rejected:
            problems.append(Problem(label, f"country '{iso}'", "iso_a3", f"duplicate country (feature #{i})"))
            continue
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(label, f"country '{iso}'", "geometry", "expected a Polygon or MultiPolygon"))
            rejected.add(iso)
            continue
        try:
            geom = shapely.geometry.shape(geometry)
            if geom.is_empty or not all(math.isfinite(v) for v in geom.bounds):
                raise ValueError("empty or not finite")
        except Exception as exc:  # noqa: BLE001 - shapely raises several types here
            problems.append(Problem(label, f"country '{iso}'", "geometry", f"invalid geometry ({exc})"))
            rejected.add(iso)
            continue
        polygons[iso] = shapely.make_valid(geom) if not geom.is_valid else geom
        name = props.get("name")
        names[iso] = name if isinstance(name, str) and name.strip() else iso
    return polygons, names, rejected


def _read_nodes(geodata: Path, countries: set[str], keys: set[str] | None, problems: list[Problem],
                bad_countries: frozenset[str] | set[str] = frozenset()):
    """Read ``nodes.geojson``; return (nodes, rejected) where ``rejected`` holds the ids of
    features already reported (links and demand rows naming them are not blamed again), or
    None if the whole file failed."""
    path = geodata / "nodes.geojson"
    label = _rel(path, geodata)
    features = _read_geojson(path, label, problems)
    nodes: dict[str, dict] = {}
    rejected: set[str] | None = None if features is None else set()
    for i, feature in enumerate(features or []):
        head = _identify(feature, i, "node", _SLUG, nodes, label, problems)
        if head is None:
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict) and isinstance(props.get("id"), str) and props["id"] not in nodes:
                rejected.add(props["id"])
            continue
        feat, props, node_id = head
        rejected.add(node_id)  # until accepted below
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
        elif country in bad_countries:
            ok = False  # countries.geojson already reports this country
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
        values: dict[str, Any] = {}
        before = len(problems)
        for name, (required, nullable, lo, hi, lo_open, unit) in _NODE_NUMERIC.items():
            values[name] = _check_numeric(
                props,
                name,
                label,
                feat,
                problems,
                required=required,
                nullable=nullable,
                lo=lo,
                hi=hi,
                lo_open=lo_open,
                unit=unit,
            )
        if (props.get("transfer_h") is None) != (props.get("transfer_usd") is None):
            problems.append(
                Problem(label, feat, "transfer_usd", "transfer_h and transfer_usd must be both set or both null")
            )
        values["opening_year"] = _check_status(props, label, feat, problems)
        ok = ok and len(problems) == before
        _check_sources(props, label, feat, problems, keys)
        if ok:
            record = dict(props)
            record.update(values)
            record.update(lon=lon, lat=lat)
            nodes[node_id] = record
            rejected.discard(node_id)
    return nodes, rejected


def _read_links(geodata: Path, nodes: dict, countries: set[str], keys: set[str] | None, problems: list[Problem],
                bad_nodes: set[str] | None = frozenset(), bad_countries: frozenset[str] | set[str] = frozenset()):
    """Read ``links/*.geojson``.  Ends in ``bad_nodes`` (None: every unknown end, as when
    ``nodes.geojson`` itself failed) and countries in ``bad_countries`` were reported where
    they are defined and are not blamed on the link again."""
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
                if isinstance(node_id, str) and node_id in nodes:
                    ends[end] = nodes[node_id]
                elif bad_nodes is None or (isinstance(node_id, str) and node_id in bad_nodes):
                    ok = False  # nodes.geojson reports this node
                else:
                    shown = suggest(node_id, nodes) if isinstance(node_id, str) else ""
                    problems.append(Problem(label, feat, end, f"unknown node {node_id!r}{shown}"))
                    ok = False
            if len(ends) == 2 and props.get("from") == props.get("to"):
                problems.append(Problem(label, feat, "to", f"starts and ends at the same node {props['to']!r}"))
                ok = False
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
            elif mode == "rail" and _integer(gauge) not in GAUGES:
                problems.append(
                    Problem(label, feat, "gauge_mm", f"a rail link needs gauge 1435 or 1520, got {gauge!r}")
                )
                ok = False
            elif mode != "rail" and gauge is not None:
                problems.append(Problem(label, feat, "gauge_mm", f"a {mode} link has no gauge, got {gauge!r}"))
            values: dict[str, Any] = {"gauge_mm": _integer(gauge) if mode == "rail" else None}
            before = len(problems)
            for name, (required, nullable, lo, hi, lo_open, unit) in _LINK_NUMERIC.items():
                values[name] = _check_numeric(
                    props,
                    name,
                    label,
                    feat,
                    problems,
                    required=required,
                    nullable=nullable,
                    lo=lo,
                    hi=hi,
                    lo_open=lo_open,
                    unit=unit,
                )
            if len(problems) > before:
                ok = False
            if props.get("speed_kmh") is None and props.get("running_h") is None:
                problems.append(Problem(label, feat, "speed_kmh", "needs speed_kmh or running_h"))
                ok = False
            if props.get("tariff_usd_per_teu_km") is None and props.get("tariff_usd") is None:
                problems.append(
                    Problem(label, feat, "tariff_usd_per_teu_km", "needs tariff_usd_per_teu_km or tariff_usd")
                )
                ok = False
            before = len(problems)
            oneway = props.get("oneway")
            values["oneway"] = bool(oneway) if _integer(oneway) in (0, 1) else oneway  # 0/1 from GIS tools
            if oneway is not None and not isinstance(values["oneway"], bool):
                problems.append(Problem(label, feat, "oneway", f"expected true, false or null, got {oneway!r}"))
            values["opening_year"] = _check_status(props, label, feat, problems)
            if len(problems) > before:
                ok = False
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
                    if bad and all(p in bad_countries for p in bad) and len(parts) <= 2:
                        ok = False  # countries.geojson reports the country
                    elif bad or len(parts) > 2:
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
    _check_numeric(props, "distance_nm", label, feat, problems, required=True, nullable=False, lo=0.0, hi=30000.0,
                   lo_open=True, unit="nautical miles")


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


def _read_parameters(geodata: Path, problems: list[Problem]) -> dict:
    path = geodata / "parameters.toml"
    if not path.is_file():
        return {}
    label = _rel(path, geodata)
    text = _read_text(path, label, problems)
    if text is None:
        return {}
    try:
        data = parse_toml(text)
    except ValueError as exc:
        problems.append(Problem(label, None, None, f"not valid TOML ({exc})"))
        return {}
    problems.extend(check_parameters(data, label)[1])
    return data


def _collect(geodata: Path) -> tuple[Layers, list[Problem]]:
    geodata = Path(geodata)
    problems = _Findings()
    if not geodata.is_dir():
        problems.append(Problem(str(geodata), None, None, "geodata folder not found"))
        return Layers(geodata, {}, {}, {}, [], {}), problems
    keys = _source_keys(geodata, problems)
    polygons, names, bad_countries = _read_countries(geodata, problems)
    codes = set(names)
    nodes, bad_nodes = _read_nodes(geodata, codes, keys, problems, bad_countries)
    links = _read_links(geodata, nodes, codes, keys, problems, bad_nodes, bad_countries)
    _check_nodes_in_countries(nodes, polygons, geodata, problems)
    _check_link_countries(links, polygons, geodata, problems)
    _check_transfers(nodes, links, geodata, problems)
    demand = _read_demand(geodata, nodes, keys, problems, bad_nodes)
    parameters = _read_parameters(geodata, problems)
    if (geodata / "years").is_dir():
        from corridors.years import check_year_tables

        problems += check_year_tables(geodata, keys)
    return Layers(geodata, nodes, links, names, demand, parameters, tuple(problems.notes)), problems


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


def check_geodata(geodata: str | Path | None = None) -> tuple[Layers, list[Problem]]:
    """Check a geodata folder; return the layers read and every problem found.

    Like :func:`validate_geodata`, but the :class:`Layers` (with their ``notes``, such as
    a layer reprojected from another CRS) come back too, for ``corridors validate``.
    """
    layers, problems = _collect(Path(geodata) if geodata is not None else default_geodata())
    return layers, list(problems)


def load_layers(geodata: str | Path | None = None) -> Layers:
    """Read and validate a geodata folder.

    Raises
    ------
    LayerError
        On the first problem found, naming file, feature and field (with a count of
        further problems; ``corridors validate`` lists them all).
    """
    layers, problems = _collect(Path(geodata) if geodata is not None else default_geodata())
    for note in layers.notes:
        _log.warning("%s", note)
    if problems:
        more = f" (+{len(problems) - 1} more problems; run 'corridors validate')" if len(problems) > 1 else ""
        raise LayerError(f"{problems[0]}{more}")
    return layers
