"""File readers shared by the layers, the parameters and the scenarios.

Text is read as UTF-8 (a byte-order mark dropped; CRLF is fine), JSON and TOML nested too
deeply are refused before parsing, and each failure is one :class:`~corridors.limits.Problem`
(or one ``ValueError`` line) naming the file, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from corridors._errors import suggest
from corridors.limits import (
    DEMAND_COLUMNS,
    DEMAND_OPTIONAL,
    MAX_DEMAND_TEU,
    MAX_JSON_DEPTH,
    MODES,
    YEAR_RANGE,
    Problem,
)


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



# --------------------------------------------------------------------------- demand


def _read_demand_file(
    path: Path, geodata: Path, nodes: dict, keys: set[str] | None, problems: list[Problem],
    bad_nodes: set[str] | None = frozenset(),
) -> list[dict]:
    label = _rel(path, geodata)
    text = _read_text(path, label, problems)
    if text is None:
        return []
    rows: list[dict] = []
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


