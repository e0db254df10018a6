"""Read and validate the geo layers, the demand table and the model parameters.

Everything the model knows comes through this module, and is checked here once:
past :func:`load_layers` the rest of the package trusts its input.  Problems are
collected (``corridors validate`` reports them all) and each names the file, the
feature and the field.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridors._errors import LayerError, one_line, suggest

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
#: Optional demand columns, passed through when present: direction (``from_china``/``to_china``),
#: service (``cr_express``, ``china_central_asia``) and the mode the service runs on.
DEMAND_OPTIONAL = ("direction", "service", "mode")

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

#: Valid ranges of the numeric fields: name -> (required, may be null, lower, upper,
#: lower bound excluded, unit).  The bounds are sanity limits, far outside any real value
#: (the shipped layers span dwell 0-48 h, handling 0-108 USD, speeds 18-59 km/h, tariffs
#: 0.2-0.6 USD/TEU-km, capacities 15,000-1.1 million TEU/year), so that a typo such as
#: ``1e-320`` km/h or ``1e308`` TEU is caught at load and not as NaN in a result.
_NODE_NUMERIC = {
    "dwell_h": (True, False, 0.0, 8760.0, False, "hours"),
    "handling_usd": (True, False, 0.0, 1e5, False, "USD per TEU"),
    "transfer_h": (False, True, 0.0, 8760.0, False, "hours"),
    "transfer_usd": (False, True, 0.0, 1e5, False, "USD per TEU"),
    "capacity_teu": (False, True, 0.0, 1e9, True, "TEU/year"),
}
_LINK_NUMERIC = {
    "speed_kmh": (False, True, 0.5, 1000.0, False, "km/h"),
    "running_h": (False, True, 0.01, 8760.0, False, "hours"),
    "frequency_per_week": (False, True, 0.01, 10000.0, False, "departures per week"),
    "tariff_usd_per_teu_km": (False, True, 0.0, 100.0, False, "USD per TEU-km"),
    "tariff_usd": (False, True, 0.0, 1e6, False, "USD per TEU"),
    "capacity_teu": (False, True, 0.0, 1e9, True, "TEU/year"),
    # published (tariff or timetable) running distance, used instead of the drawn length
    "distance_km": (False, True, 0.0, 60000.0, True, "km"),  # sea lanes round the Cape: ~30,000
}
#: Largest TEU/year of one demand row: world container port throughput is under a billion
#: TEU a year, so a bigger row is a typo (``1e308`` would give inf totals).
MAX_DEMAND_TEU = 1e9
#: Largest ``k_routes x candidate_factor``: how deep Yen's algorithm searches per OD pair.
#: At 300 the shipped network's 584 demand rows take about 70 s of CPU to build their
#: choice sets (18 with the defaults); deeper searches are refused rather than left to
#: run for minutes or exhaust memory.
MAX_SEARCH_DEPTH = 300
#: Years a layer, demand row or parameter file may name.
YEAR_RANGE = (1850, 2100)
#: Deepest nesting of JSON that is read (GeoJSON needs 7 levels for a MultiPolygon).
MAX_JSON_DEPTH = 64

#: The model parameters of ``parameters.toml`` (and ``--params`` files): name ->
#: (integer, lower, upper, lower bound excluded, unit).  :class:`corridors.network.CostParameters`
#: has exactly these fields and checks them with :func:`parameter_problem`.
PARAMETERS: dict[str, tuple[bool, float, float, bool, str]] = {
    "value_of_time_usd_per_teu_h": (False, 0.0, 1e4, False, "USD per TEU-hour"),
    "logit_theta_per_usd": (False, 0.0, 10.0, True, "per USD"),
    "path_size_beta": (False, 0.0, 10.0, False, ""),
    "k_routes": (True, 1, 100, False, "routes per OD pair"),
    "max_detour": (False, 1.0, 100.0, True, "x the best route's cost"),
    "max_overlap": (False, 0.0, 1.0, False, "share of the length"),
    "candidate_factor": (True, 1, 10, False, ""),
    "year": (True, YEAR_RANGE[0], YEAR_RANGE[1], False, ""),
    "bpr_alpha": (False, 0.0, 100.0, False, ""),
    "bpr_beta": (False, 0.0, 16.0, False, ""),
    "queue_period_h": (False, 0.0, 8784.0, True, "hours"),
    "queue_beta": (False, 0.0, 4.0, True, ""),
    "border_penalty_usd": (False, 0.0, 1e5, False, "USD per TEU"),
    "transfer_penalty_usd": (False, 0.0, 1e5, False, "USD per TEU"),
    # [mode_choice] (corridors/modes.py, A422): sea against land, nested above the route choice
    "mode_scale_per_usd": (False, 0.0, 10.0, True, "per USD"),
    "land_constant_usd": (False, -1e5, 1e5, False, "USD per TEU"),
    "russia_transit_usd": (False, 0.0, 3000.0, False, "USD per TEU"),
}
#: The keys of :data:`PARAMETERS` read by the mode choice (not by :class:`corridors.network.CostParameters`).
MODE_CHOICE_PARAMETERS = ("mode_scale_per_usd", "land_constant_usd", "russia_transit_usd")


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
        return one_line(f"{where}: {self.message}")


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


def _rel(path: Path, geodata: Path) -> str:
    try:
        return str(Path(geodata.name) / path.relative_to(geodata))
    except ValueError:
        return str(path)


def _read_text(path: Path, label: str, problems: list[Problem]) -> str | None:
    """The file's UTF-8 text (a byte-order mark dropped), or None with one Problem."""
    if not path.is_file():
        problems.append(Problem(label, None, None, "file not found"))
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not UTF-8 text ({exc.reason})"))
    except MemoryError:
        problems.append(Problem(label, None, None, "too large to read"))
    except OSError as exc:  # no permission, a special file, an I/O error
        problems.append(Problem(label, None, None, f"cannot read the file ({exc.strerror or exc})"))
    return None


def _json_depth_ok(text: str) -> bool:
    """False if brackets nest deeper than :data:`MAX_JSON_DEPTH` (checked before parsing:
    deep nesting makes the parser recurse until the interpreter gives up)."""
    depth = 0
    for char in re.finditer(r'[\[\]{}]|"(?:[^"\\]|\\.)*"', text):
        c = char.group()
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif c in "]}":
            depth -= 1
    return True


def _read_geojson(path: Path, label: str, problems: list[Problem]) -> list[dict] | None:
    text = _read_text(path, label, problems)
    if text is None:
        return None
    if not _json_depth_ok(text):
        problems.append(Problem(label, None, None, f"not a GeoJSON layer (nested deeper than {MAX_JSON_DEPTH} levels)"))
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(label, None, None, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
        )
        return None
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. an integer of 5,000 digits
        problems.append(Problem(label, None, None, f"not valid JSON ({str(exc).splitlines()[0][:120]})"))
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problems.append(Problem(label, None, None, "expected a GeoJSON FeatureCollection"))
        return None
    features = data.get("features")
    if not isinstance(features, list):
        problems.append(Problem(label, None, "features", "missing or not a list"))
        return None
    crs = data.get("crs")
    if crs is not None and not _to_lonlat(crs, features, label, problems):
        return None
    if crs is None and not _lonlat_extent_ok(features):
        problems.append(
            Problem(
                label,
                None,
                "geometry",
                "coordinates are not lon/lat degrees: the layer looks projected and declares no CRS; "
                "save it in EPSG:4326 or with its CRS",
            )
        )
        return None
    return features


def _positions(geometry: Any):
    """Yield the coordinate lists ([x, y, ...]) of a GeoJSON geometry, however malformed."""
    if not isinstance(geometry, dict):
        return
    stack = [(geometry.get("coordinates"), 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, list) or depth > 4:
            continue
        if len(item) >= 2 and all(isinstance(c, int | float) and not isinstance(c, bool) for c in item[:2]):
            yield item
        else:
            stack.extend((sub, depth + 1) for sub in item)


def _lonlat_extent_ok(features: list) -> bool:
    """False if most features lie outside lon/lat degrees: a whole layer saved projected
    (one error for the file); a few stray features are named one by one later."""
    outside = 0
    for feature in features:
        for pos in _positions(feature.get("geometry") if isinstance(feature, dict) else None):
            # Natural Earth has a vertex at lon 180.00000000000006.
            if not (abs(pos[0]) <= 180.000001 and abs(pos[1]) <= 90.000001):
                outside += 1
                break
    return outside == 0 or 2 * outside <= len(features)


def _crs_name(crs: Any) -> str | None:
    if isinstance(crs, dict):
        props = crs.get("properties")
        if isinstance(props, dict) and isinstance(props.get("name"), str):
            return props["name"]
    return None


def _to_lonlat(crs: Any, features: list, label: str, problems: list[Problem]) -> bool:
    """Reproject ``features`` in place from the declared ``crs`` to lon/lat; False on failure.

    A layer saved by QGIS or GeoPandas in another CRS (EPSG:3857, a UTM zone) is read as
    if saved in EPSG:4326, with one note instead of one error per feature.
    """
    name = _crs_name(crs)
    if name is None:
        problems.append(Problem(label, None, "crs", f"expected a named CRS, got {json.dumps(crs)[:120]}"))
        return False
    upper = name.upper()
    if upper.endswith(("CRS84", "EPSG::4326", "EPSG:4326")):
        return True
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(name)
        transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
    except CRSError:
        problems.append(Problem(label, None, "crs", f"unknown CRS {name!r}; save the layer in EPSG:4326"))
        return False
    count = 0
    for feature in features:
        for pos in _positions(feature.get("geometry") if isinstance(feature, dict) else None):
            try:
                x, y = transformer.transform(float(pos[0]), float(pos[1]), errcheck=True)
            except Exception:  # noqa: BLE001 - pyproj raises ProjError, OverflowError, ...
                x = y = math.inf
            # Out-of-area positions come back as inf; the geometry checks then name the feature.
            pos[0], pos[1] = x, y
            count += 1
    code = source.to_authority()
    shown = ":".join(code) if code else source.name
    getattr(problems, "notes", []).append(
        f"note: {label}: layer is in {shown}; reprojected {count} positions to EPSG:4326 (lon/lat) on reading"
    )
    return True


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


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, NaN, inf, or too large a JSON integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    """``value`` as an int if it is integral (``2027`` or ``2027.0``, as GeoPandas writes
    integer columns with nulls), else None."""
    number = _number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def _range_text(lo: float, hi: float, lo_open: bool, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    return f"{'>' if lo_open else '>='} {lo:g} and <= {hi:g}{unit}"


def parameter_problem(key: str, value: Any) -> tuple[str, Any] | None:
    """Check one model parameter against :data:`PARAMETERS`.

    Returns
    -------
    tuple or None
        ``(message, value)``: the message of the problem (``None`` if the value is
        valid) and the value converted to ``int``/``float``; or None if ``key`` is not a
        parameter.
    """
    spec = PARAMETERS.get(key)
    if spec is None:
        return None
    integer, lo, hi, lo_open, unit = spec
    number = _number(value)
    if number is None:
        what = "an integer" if integer else "a finite number"
        return f"expected {what}, got {value!r}", value
    if integer and not number.is_integer():
        return f"expected an integer, got {value!r}", value
    converted: Any = int(number) if integer else number
    if number < lo or (lo_open and number == lo) or number > hi:
        return f"must be {_range_text(lo, hi, lo_open, unit)}, got {value!r}", value
    return None, converted

def _check_numeric(
    props: dict,
    name: str,
    label: str,
    feat: str,
    problems: list[Problem],
    *,
    required: bool,
    nullable: bool,
    lo: float = 0.0,
    hi: float = math.inf,
    lo_open: bool = False,
    unit: str = "",
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
        problems.append(Problem(label, feat, name, f"expected a finite number, got {value!r}"))
        return None
    if number < lo or (lo_open and number == lo) or number > hi:
        problems.append(Problem(label, feat, name, f"must be {_range_text(lo, hi, lo_open, unit)}, got {value!r}"))
        return None
    return number


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


def _read_demand_file(
    path: Path, geodata: Path, nodes: dict, keys: set[str] | None, problems: list[Problem],
    bad_nodes: set[str] | None = frozenset(),
) -> list[dict]:
    label = _rel(path, geodata)
    text = _read_text(path, label, problems)
    if text is None:
        return []
    rows: list[dict] = []
    import io

    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            fieldnames = [(f or "").strip() for f in (reader.fieldnames or [])]
            reader.fieldnames = fieldnames
            missing = [c for c in DEMAND_COLUMNS if c not in fieldnames]
            if missing:
                problems.append(Problem(label, None, missing[0], f"missing column(s) {', '.join(missing)}"))
                return []
            for row in reader:
                record = _demand_row(row, reader.line_num, label, nodes, keys, bad_nodes, problems)
                if record is not None:
                    rows.append(record)
        except csv.Error as exc:  # a field over csv.field_size_limit() (128 KiB), a NUL byte, ...
            # line_num counts the lines read before the bad one
            problems.append(Problem(label, f"line {reader.line_num + 1}", None, f"not a valid CSV row ({exc})"))
            return []
    return rows


def _demand_row(row: dict, line_no: int, label: str, nodes: dict, keys: set[str] | None,
                bad_nodes: set[str] | None, problems: list[Problem]) -> dict | None:
    """Check one demand row; return the record, or None (with Problems) if unusable."""
    feat = f"row {line_no} ({row.get('origin')} -> {row.get('destination')})"
    ok = True
    for end in ("origin", "destination"):
        value = row[end]
        if value in nodes:
            continue
        ok = False
        if bad_nodes is None or value in bad_nodes:
            continue  # nodes.geojson reports this node
        shown = suggest(value, nodes) if isinstance(value, str) else ""
        problems.append(Problem(label, feat, end, f"unknown node {value!r}{shown}"))
    if ok and row["origin"] == row["destination"]:
        problems.append(Problem(label, feat, "destination", "equals the origin"))
        ok = False
    try:
        teu = float(row["teu"])
        if not 0 <= teu <= MAX_DEMAND_TEU:  # NaN fails too
            raise ValueError
    except (TypeError, ValueError):
        problems.append(
            Problem(label, feat, "teu", f"expected a number >= 0 and <= {MAX_DEMAND_TEU:g} (TEU/year), "
                    f"got {row['teu']!r}")
        )
        ok = False
    try:
        year = float(row["year"])
        if not (year.is_integer() and YEAR_RANGE[0] <= year <= YEAR_RANGE[1]):
            raise ValueError
        year = int(year)
    except (TypeError, ValueError, OverflowError):
        problems.append(
            Problem(label, feat, "year", f"expected a year {YEAR_RANGE[0]}-{YEAR_RANGE[1]}, got {row['year']!r}")
        )
        ok = False
    basis = [k.strip() for k in (row["basis"] or "").replace(";", ",").split(",") if k.strip()]
    if not basis:
        problems.append(Problem(label, feat, "basis", "missing: name the assumption keys of SOURCES.md"))
    elif keys is not None:
        for key in basis:
            if key not in keys:
                problems.append(Problem(label, feat, "basis", f"key '{key}' is not defined in SOURCES.md"))
    if row.get("mode") and row["mode"] not in MODES:
        problems.append(Problem(label, feat, "mode", f"expected one of {', '.join(MODES)}, got {row['mode']!r}"))
        ok = False
    if not ok:
        return None
    return {
        "origin": row["origin"],
        "destination": row["destination"],
        "teu": teu,
        "year": year,
        "segment": row["segment"],
        "basis": row["basis"],
    } | {c: row[c] for c in DEMAND_OPTIONAL if row.get(c)}


def _read_demand(geodata: Path, nodes: dict, keys: set[str] | None, problems: list[Problem],
                 bad_nodes: set[str] | None = frozenset()) -> list[dict]:
    """Read ``demand.csv`` and any extra segment tables ``demand_*.csv`` beside it."""
    rows = _read_demand_file(geodata / "demand.csv", geodata, nodes, keys, problems, bad_nodes)
    for extra in sorted(geodata.glob("demand_*.csv")):
        rows += _read_demand_file(extra, geodata, nodes, keys, problems, bad_nodes)
    return rows


def parse_toml(text: str) -> dict:
    """Parse TOML text (a byte-order mark dropped); raise ``ValueError`` with a one-line reason.

    Deeply nested arrays make the parser recurse until the interpreter gives up; that
    and a number too long to convert are reported as invalid TOML too.
    """
    text = text.removeprefix("\ufeff")
    if not _json_depth_ok(text):
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    except (RecursionError, ValueError, MemoryError) as exc:
        raise ValueError(str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__) from None


def check_parameters(data: Any, label: str) -> tuple[dict[str, Any], list[Problem]]:
    """Check a parameter mapping (``parameters.toml``, a ``--params`` file, a dict).

    Tables (``[cost]``, ``[route_choice]``) are flattened; every key must be one of
    :data:`PARAMETERS` and every value a finite number in its range (integers for
    ``k_routes``, ``candidate_factor`` and ``year``; ``2027.0`` counts as an integer).

    Returns
    -------
    values : dict
        The valid parameters, flattened, converted to int/float.
    problems : list of Problem
        One per bad key or value, naming ``label``, the table and the key.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    if not isinstance(data, dict):
        return values, [Problem(label, None, None, f"expected a table of parameters, got {type(data).__name__}")]
    items: list[tuple[str | None, str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict) and key not in PARAMETERS:
            items += [(key, sub, v) for sub, v in value.items()]
        else:
            items.append((None, key, value))
    for table, key, value in items:
        where = f"[{table}]" if table else None
        checked = parameter_problem(key, value)
        if checked is None:
            problems.append(Problem(label, where, None, f"unknown parameter '{key}'{suggest(key, PARAMETERS)}"))
            continue
        message, converted = checked
        if message is not None:
            problems.append(Problem(label, where, None, f"parameter '{key}': {message}"))
        elif key in values and values[key] != converted:
            problems.append(
                Problem(label, where, None, f"parameter '{key}': given twice with different values ({values[key]!r})")
            )
        else:
            values[key] = converted
    depth = values.get("k_routes", 1) * values.get("candidate_factor", 1)
    if depth > MAX_SEARCH_DEPTH:
        problems.append(Problem(label, None, None, search_depth_message(values["k_routes"],
                                                                          values["candidate_factor"])))
    return values, problems


def search_depth_message(k_routes: int, candidate_factor: int) -> str:
    """The message for a route search deeper than :data:`MAX_SEARCH_DEPTH`."""
    return (
        f"parameters 'k_routes' x 'candidate_factor' = {k_routes} x {candidate_factor} = "
        f"{k_routes * candidate_factor}: the route search may go at most {MAX_SEARCH_DEPTH} paths deep"
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
