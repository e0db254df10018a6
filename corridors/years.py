"""Year tables of the sea alternative and the 2019–2025 backcast (``geodata/years/*.csv``).

These tables hold what changes from one model year to the next: the China↔EU27 container
demand by mode and direction, the sea rates, the Suez/Cape status, the Russia-transit
term, the CR Express subsidy cap, the network changes, the cargo classes and the observed
figures of each year (marked fitted or predicted).  They are checked together with the
layers (:func:`corridors.layers.validate_geodata` calls :func:`check_year_tables`), so a
bad table fails ``corridors validate`` with one line naming the file, the row and the
field.  :func:`load_year_tables` returns the validated records.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridors._errors import LayerError
from corridors.layers import Problem, _rel, _source_keys, default_geodata

__all__ = [
    "MODEL_YEARS",
    "FITTED_YEARS",
    "YearTables",
    "check_year_tables",
    "load_year_tables",
]

#: Years the tables cover, each one complete.
MODEL_YEARS = tuple(range(2019, 2026))
#: Years whose observed figures the model may be fitted to; every other year is a prediction.
FITTED_YEARS = (2019, 2024)
DIRECTIONS = ("china_europe", "europe_china")
#: Variables ``year_inputs.csv`` must give for every model year.
REQUIRED_INPUTS = (
    "sea_rate_wb_north_europe_usd_per_feu",
    "sea_rate_wb_mediterranean_usd_per_feu",
    "sea_rate_eb_usd_per_feu",
    "sea_rate_wb_usd_per_teu",
    "sea_rate_eb_usd_per_teu",
    "suez_open",
    "cape_share",
    "russia_transit_term_active",
    "russia_dual_use_transit_ban_eastbound",
    "cr_express_subsidy_cap_share",
)
#: Relative tolerance of the sums checked (all = sea + land; shares add up to 1).
SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class _Column:
    kind: str  # "str", "year", "number", "choice", "text"
    choices: tuple[str, ...] = ()
    required: bool = True  # may not be empty
    minimum: float | None = 0.0


@dataclass(frozen=True)
class _Table:
    columns: dict[str, _Column]
    key: tuple[str, ...]  # columns that identify a row (no duplicates)


_YEAR = _Column("year")
_NUM = _Column("number")
_TEXT = _Column("text", required=False)
_STR = _Column("str")
_DIR = _Column("choice", DIRECTIONS)

TABLES: dict[str, _Table] = {
    "demand_all_modes.csv": _Table(
        {"year": _YEAR, "direction": _DIR, "mode": _Column("choice", ("sea", "land", "all")),
         "origin_region": _STR, "destination_region": _STR, "teu": _NUM, "definition": _TEXT},
        ("year", "direction", "mode", "origin_region", "destination_region"),
    ),
    "sea_regions.csv": _Table(
        {"year": _YEAR, "direction": _DIR, "side": _Column("choice", ("origin", "destination")),
         "region": _STR, "country_group": _STR, "share": _NUM},
        ("year", "direction", "side", "region"),
    ),
    "year_inputs.csv": _Table(
        {"year": _YEAR, "variable": _STR, "value": _NUM, "unit": _STR, "definition": _TEXT},
        ("year", "variable"),
    ),
    "cargo_classes.csv": _Table(
        {"class": _STR, "direction": _DIR, "teu_share": _NUM, "value_usd_per_teu": _NUM,
         "vot_low_usd_per_teu_h": _NUM, "vot_high_usd_per_teu_h": _NUM, "vot_prior_usd_per_teu_h": _NUM},
        ("class", "direction"),
    ),
    "observed_years.csv": _Table(
        {"id": _STR, "year": _YEAR, "value": _Column("number", minimum=None), "unit": _STR,
         "teu_per_unit": _NUM, "bound": _Column("choice", ("exact", "lower", "partial")),
         "direction": _Column("choice", ("both", "westbound", "eastbound")), "segment": _TEXT,
         "crossing": _TEXT, "definition": _TEXT, "role": _Column("choice", ("fitted", "predicted")),
         "reliability": _Column("choice", ("strong", "weak", "derived"))},
        ("id", "year"),
    ),
    "network_changes.csv": _Table(
        {"year": _YEAR, "date": _STR, "until": _TEXT, "kind": _STR, "elements": _TEXT,
         "value": _Column("number", required=False), "description": _STR},
        ("year", "date", "kind", "elements"),
    ),
}


@dataclass(frozen=True)
class YearTables:
    """Validated year tables of a geodata folder.

    Attributes
    ----------
    geodata : Path
        The folder read.
    tables : dict
        File name (``demand_all_modes.csv``, ...) -> list of row dicts; numbers are floats,
        years ints, empty optional cells None.
    """

    geodata: Path
    tables: dict[str, list[dict[str, Any]]] = field(repr=False)

    @property
    def years(self) -> tuple[int, ...]:
        """Model years the tables cover."""
        return MODEL_YEARS

    def demand(self, year: int) -> dict[tuple[str, str], float]:
        """TEU/year of ``year`` by (direction, mode), mode ``sea``, ``land`` or ``all``."""
        self._check_year(year)
        return {
            (r["direction"], r["mode"]): r["teu"] for r in self.tables["demand_all_modes.csv"] if r["year"] == year
        }

    def inputs(self, year: int) -> dict[str, float]:
        """Year-specific inputs of ``year`` (sea rates, Suez status, Russia term, ...) by variable."""
        self._check_year(year)
        return {r["variable"]: r["value"] for r in self.tables["year_inputs.csv"] if r["year"] == year}

    def observed(self, year: int) -> list[dict[str, Any]]:
        """Observed figures of ``year``, each with its definition and ``role`` (fitted/predicted)."""
        self._check_year(year)
        return [r for r in self.tables["observed_years.csv"] if r["year"] == year]

    def _check_year(self, year: int) -> None:
        if year not in MODEL_YEARS:
            raise LayerError(
                f"{_rel(self.geodata / 'years', self.geodata)}: no data for year {year}; "
                f"years available: {MODEL_YEARS[0]}–{MODEL_YEARS[-1]}"
            )


def _read_table(path: Path, geodata: Path, spec: _Table, keys: set[str] | None,
                problems: list[Problem]) -> list[dict[str, Any]]:
    label = _rel(path, geodata)
    if not path.is_file():
        problems.append(Problem(label, None, None, "file not found"))
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(label, None, None, f"not UTF-8 text ({exc.reason})"))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    wanted = [*spec.columns, "basis"]
    missing = [c for c in wanted if c not in (reader.fieldnames or [])]
    if missing:
        problems.append(Problem(label, None, missing[0], f"missing column(s) {', '.join(missing)}"))
        return []
    rows: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for line_no, raw in enumerate(reader, start=2):
        feat = f"row {line_no}"
        row: dict[str, Any] = {"line": line_no}
        ok = True
        for name, col in spec.columns.items():
            cell = (raw.get(name) or "").strip()
            if not cell:
                if col.required:
                    problems.append(Problem(label, feat, name, "missing or empty"))
                    ok = False
                row[name] = None
                continue
            if col.kind == "year":
                try:
                    value: Any = int(cell)
                except ValueError:
                    problems.append(Problem(label, feat, name, f"expected a year, got {cell!r}"))
                    ok = False
                    continue
                if value not in MODEL_YEARS:
                    problems.append(
                        Problem(label, feat, name, f"year {value} is outside {MODEL_YEARS[0]}–{MODEL_YEARS[-1]}")
                    )
                    ok = False
            elif col.kind == "number":
                try:
                    value = float(cell)
                    if not math.isfinite(value):
                        raise ValueError
                except ValueError:
                    problems.append(Problem(label, feat, name, f"expected a number, got {cell!r}"))
                    ok = False
                    continue
                if col.minimum is not None and value < col.minimum:
                    problems.append(Problem(label, feat, name, f"must be >= {col.minimum:g}, got {cell!r}"))
                    ok = False
            elif col.kind == "choice":
                value = cell
                if cell not in col.choices:
                    problems.append(
                        Problem(label, feat, name, f"expected one of {', '.join(col.choices)}, got {cell!r}")
                    )
                    ok = False
            else:
                value = cell
            row[name] = value
        basis = [k.strip() for k in (raw.get("basis") or "").replace(";", ",").split(",") if k.strip()]
        if not basis:
            problems.append(Problem(label, feat, "basis", "missing: name the source or assumption keys of SOURCES.md"))
            ok = False
        elif keys is not None:
            for key in basis:
                if key not in keys:
                    problems.append(Problem(label, feat, "basis", f"key '{key}' is not defined in SOURCES.md"))
                    ok = False
        row["basis"] = ",".join(basis)
        if not ok:
            continue
        ident = tuple(row[c] for c in spec.key)
        if ident in seen:
            problems.append(
                Problem(label, feat, spec.key[-1], f"duplicate of row {seen[ident]} ({', '.join(map(str, ident))})")
            )
            continue
        seen[ident] = line_no
        rows.append(row)
    return rows


def _check_demand(rows: list[dict], label: str, problems: list[Problem]) -> None:
    by: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        by[(r["year"], r["direction"], r["origin_region"], r["destination_region"])][r["mode"]] = r
    for year in MODEL_YEARS:
        for direction in DIRECTIONS:
            if not any(k[0] == year and k[1] == direction for k in by):
                problems.append(Problem(label, f"year {year}", "direction", f"no {direction} demand"))
    for (year, direction, _o, _d), modes in sorted(by.items()):
        lacking = [m for m in ("sea", "land", "all") if m not in modes]
        if lacking:
            problems.append(Problem(label, f"year {year} {direction}", "mode", f"no '{lacking[0]}' row"))
            continue
        total, parts = modes["all"]["teu"], modes["sea"]["teu"] + modes["land"]["teu"]
        if abs(total - parts) > SUM_TOLERANCE * max(total, 1.0):
            problems.append(
                Problem(label, f"row {modes['all']['line']}", "teu",
                        f"all modes {total:,.0f} TEU is not sea + land = {parts:,.0f} TEU ({year} {direction})")
            )


def _check_shares(rows: list[dict], group: tuple[str, ...], share: str, label: str,
                  problems: list[Problem]) -> None:
    sums: dict[tuple, list] = defaultdict(lambda: [0.0, 0])
    for r in rows:
        entry = sums[tuple(r[c] for c in group)]
        entry[0] += r[share]
        entry[1] = r["line"]
    for ident, (total, line) in sorted(sums.items()):
        if abs(total - 1.0) > 2 * SUM_TOLERANCE:
            group_name = ", ".join(map(str, ident))
            message = f"shares of {group_name} add up to {total:.4f}, not 1"
            problems.append(Problem(label, f"row {line}", share, message))


def check_year_tables(geodata: str | Path, keys: set[str] | None = None) -> list[Problem]:
    """Check the year tables of ``geodata/years`` and return every problem found."""
    return _collect(Path(geodata), keys)[1]


def _collect(geodata: Path, keys: set[str] | None) -> tuple[dict[str, list[dict]], list[Problem]]:
    problems: list[Problem] = []
    folder = geodata / "years"
    tables = {
        name: _read_table(folder / name, geodata, spec, keys, problems) for name, spec in TABLES.items()
    }
    lab = {name: _rel(folder / name, geodata) for name in TABLES}
    _check_demand(tables["demand_all_modes.csv"], lab["demand_all_modes.csv"], problems)
    _check_shares(tables["sea_regions.csv"], ("year", "direction", "side"), "share", lab["sea_regions.csv"], problems)
    _check_shares(tables["cargo_classes.csv"], ("direction",), "teu_share", lab["cargo_classes.csv"], problems)
    given = {(r["year"], r["variable"]) for r in tables["year_inputs.csv"]}
    for year in MODEL_YEARS:
        for variable in REQUIRED_INPUTS:
            if (year, variable) not in given:
                problems.append(Problem(lab["year_inputs.csv"], f"year {year}", "variable", f"no '{variable}' row"))
        if not any(r["year"] == year for r in tables["observed_years.csv"]):
            problems.append(Problem(lab["observed_years.csv"], f"year {year}", "year", "no observed figure"))
    for r in tables["observed_years.csv"]:
        expected = "fitted" if r["year"] in FITTED_YEARS else "predicted"
        if r["role"] != expected:
            fitted = " and ".join(map(str, FITTED_YEARS))
            problems.append(
                Problem(lab["observed_years.csv"], f"row {r['line']}", "role",
                        f"is '{r['role']}' but {r['year']} figures are {expected} (only {fitted} are fitted)")
            )
    for r in tables["cargo_classes.csv"]:
        if not r["vot_low_usd_per_teu_h"] <= r["vot_prior_usd_per_teu_h"] <= r["vot_high_usd_per_teu_h"]:
            problems.append(
                Problem(lab["cargo_classes.csv"], f"row {r['line']}", "vot_prior_usd_per_teu_h",
                        "must lie between vot_low_usd_per_teu_h and vot_high_usd_per_teu_h")
            )
    return tables, problems


def load_year_tables(geodata: str | Path | None = None) -> YearTables:
    """Read and validate the year tables of a geodata folder.

    Raises
    ------
    LayerError
        On the first problem (one line naming file, row and field), with a count of
        further problems.
    """
    folder = Path(geodata) if geodata is not None else default_geodata()
    tables, problems = _collect(folder, _source_keys(folder))
    if problems:
        more = f" (+{len(problems) - 1} more problems; run 'corridors validate')" if len(problems) > 1 else ""
        raise LayerError(f"{problems[0]}{more}")
    return YearTables(folder, tables)
