"""Observed figures: the published volumes the model is compared with, and how it measures each.

Observed figures
----------------
``geodata/observed.csv`` lists the published figures the model is compared with, one per
row, each with its year, unit, definition, source and reliability, and with a *mapping*
that says which model output measures the same thing (columns in :data:`OBSERVED_COLUMNS`):

``measure = through``
    TEU/year (both directions unless the segments say otherwise) of the demand
    ``segments`` listed (all segments when empty) whose route passes at least one of the
    ``nodes`` (a border station pair such as ``alashankou|dostyk``; any node when empty)
    and every one of the ``countries`` (no condition when empty).
``measure = transit``
    As ``through``, but only routes whose origin and destination both lie outside all
    of the ``countries``: the transit traffic of those countries (``KAZ``; or
    ``KAZ|RUS|BLR`` for traffic in transit through all three, as ERAI counts it).

The observed value is converted to TEU with ``teu_per_unit`` (TEU per train for train
counts, TEU per tonne for tonnages; 1 for TEU), so that like is compared with like.

:func:`compare` sets a model volume beside a figure; :mod:`corridors.calibration` fits the
route choice to the figures, :mod:`corridors.validation` checks the model against them.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridors._errors import LayerError, QueryError, suggest

__all__ = [
    "OBSERVED_COLUMNS",
    "TOLERANCE",
    "ObservedFigure",
    "read_observed",
    "default_observed",
    "demand_for_year",
    "figures_for",
    "compare",
    "figure_table",
]

OBSERVED_COLUMNS = (
    "id", "kind", "name", "year", "value", "unit", "teu_per_unit", "measure", "segments", "nodes", "countries",
    "weight", "reliability", "definition", "caveat", "sources",
)
KINDS = ("gateway", "total", "corridor", "transit")
UNITS = ("TEU", "trains", "t")
MEASURES = ("through", "transit")
RELIABILITY = ("strong", "derived", "weak")

#: Relative error within which a model figure counts as reproduced.
TOLERANCE = 0.15
_SLUG = re.compile(r"^[a-z0-9_]+$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class ObservedFigure:
    """One published figure and the model output that measures the same thing.

    Attributes
    ----------
    id : str
        Slug, unique in the file.
    kind : str
        ``gateway`` (one border crossing), ``total`` (a national aggregate), ``corridor``
        or ``transit``; the report draws the ``gateway`` figures as bars.
    name : str
        Short label.
    year : int
        Year the figure describes.
    value : float
        The published value, in ``unit``.
    unit : str
        ``TEU``, ``trains`` or ``t`` (tonnes).
    teu_per_unit : float
        TEU per unit (TEU per train, TEU per tonne; 1 for TEU).
    measure : str
        ``through`` or ``transit`` (see the module docstring).
    segments, nodes, countries : tuple of str
        Filters of the mapping: the route's demand segment is one of ``segments``, the
        route passes one of ``nodes`` and all of ``countries``; empty means no condition.
    weight : float
        Weight in the calibration objective (0: reported only).
    reliability : str
        ``strong``, ``derived`` or ``weak`` (as in the facts file).
    definition : str
        What the figure counts (trains or TEU, direction, which OD pairs).
    caveat : str
        Why the model may not reproduce it (definition mismatch, data conflict), or "".
    sources : str
        Keys into ``geodata/SOURCES.md``.
    """

    id: str
    kind: str
    name: str
    year: int
    value: float
    unit: str
    teu_per_unit: float
    measure: str
    segments: tuple[str, ...]
    nodes: tuple[str, ...]
    countries: tuple[str, ...]
    weight: float
    reliability: str
    definition: str
    caveat: str
    sources: str

    @property
    def observed_teu(self) -> float:
        """The observed value in TEU/year."""
        return self.value * self.teu_per_unit

    def to_unit(self, teu: float) -> float:
        """Convert a model volume (TEU/year) to the figure's unit."""
        return teu / self.teu_per_unit

    def counts(self, route, segment: str | None, node_country: dict[str, dict]) -> bool:
        """True if TEU of ``segment`` on ``route`` count towards this figure."""
        if self.segments and segment not in self.segments:
            return False
        if self.nodes and not any(n in self.nodes for n in route.node_ids):
            return False
        if self.countries and not all(c in route.countries for c in self.countries):
            return False
        if self.measure == "transit":
            ends = (node_country[route.origin]["country"], node_country[route.destination]["country"])
            if any(c in self.countries for c in ends):
                return False
        return True


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split("|") if part.strip())


def read_observed(path: str | Path, *, network=None, year: int | None = None) -> list[ObservedFigure]:
    """Read and validate an observed-figures table (``geodata/observed.csv``).

    Parameters
    ----------
    path : path
        CSV file with the columns :data:`OBSERVED_COLUMNS`.
    network : Network, optional
        If given, node ids, country codes and segments are checked against it.
    year : int, optional
        Keep only the figures of this year.

    Returns
    -------
    list of ObservedFigure

    Raises
    ------
    LayerError
        One line naming the file, the row (line number and id) and the field at fault.
    """
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise LayerError(f"{label}: observed-figures file not found")
    nodes = set(network.node_records) if network is not None else None
    countries = set(network.country_codes) if network is not None else None
    segments = {r.get("segment") for r in network.demand_rows} if network is not None else None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LayerError(f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    figures: list[ObservedFigure] = []
    seen: set[str] = set()
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in OBSERVED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LayerError(f"{label}: missing column '{missing[0]}' (expected {', '.join(OBSERVED_COLUMNS)})")
        for line_no, row in enumerate(reader, start=2):
            ident = (row.get("id") or "").strip()
            where = f"{label}: row {line_no} ('{ident}')"

            def fail(column: str, expected: str, value: Any = None, hint: str = "", row: dict = row,
                     where: str = where) -> LayerError:
                got = row.get(column) if value is None else value
                return LayerError(f"{where}: field '{column}': expected {expected}, got {got!r}{hint}")

            if None in row or any(v is None for v in row.values()):
                raise LayerError(f"{where}: wrong number of fields (expected {len(OBSERVED_COLUMNS)})")
            if not _SLUG.match(ident):
                raise fail("id", "a lowercase slug [a-z0-9_]+")
            if ident in seen:
                raise fail("id", "a unique id (this one is repeated)")
            seen.add(ident)
            kind = row["kind"].strip()
            if kind not in KINDS:
                raise fail("kind", "one of " + ", ".join(KINDS), hint=suggest(kind, KINDS))
            try:
                fig_year = int(row["year"])
            except ValueError:
                raise fail("year", "a year such as 2024") from None
            numbers: dict[str, float] = {}
            for column, lower, strict in (("value", 0.0, True), ("teu_per_unit", 0.0, True), ("weight", 0.0, False)):
                try:
                    number = float(row[column])
                except ValueError:
                    number = math.nan
                ok = math.isfinite(number) and (number > lower if strict else number >= lower)
                if not ok:
                    raise fail(column, f"a number {'>' if strict else '>='} {lower:g}")
                numbers[column] = number
            unit = row["unit"].strip()
            if unit not in UNITS:
                raise fail("unit", "one of " + ", ".join(UNITS), hint=suggest(unit, UNITS))
            if unit == "TEU" and numbers["teu_per_unit"] != 1.0:
                raise fail("teu_per_unit", "1 for a figure in TEU")
            measure = row["measure"].strip()
            if measure not in MEASURES:
                raise fail("measure", "one of " + ", ".join(MEASURES), hint=suggest(measure, MEASURES))
            fig_nodes = _split(row["nodes"])
            for node in fig_nodes:
                if nodes is not None and node not in nodes:
                    raise fail("nodes", "node ids of nodes.geojson", node, suggest(node, nodes))
            fig_countries = _split(row["countries"])
            for code in fig_countries:
                if not _ISO3.match(code) or (countries is not None and code not in countries):
                    raise fail("countries", "ISO3 codes of the model", code,
                               suggest(code, countries) if countries else "")
            if measure == "transit" and not fig_countries:
                raise fail("countries", "at least one ISO3 code for measure 'transit'")
            fig_segments = _split(row["segments"])
            for segment in fig_segments:
                if segments is not None and segment not in segments:
                    raise fail("segments", "segments of the demand tables", segment, suggest(segment, segments))
            reliability = row["reliability"].strip()
            if reliability not in RELIABILITY:
                raise fail("reliability", "one of " + ", ".join(RELIABILITY), hint=suggest(reliability, RELIABILITY))
            for column in ("name", "definition", "sources"):
                if not row[column].strip():
                    raise fail(column, "a non-empty text")
            figure = ObservedFigure(
                id=ident, kind=kind, name=row["name"].strip(), year=fig_year, value=numbers["value"], unit=unit,
                teu_per_unit=numbers["teu_per_unit"], measure=measure, segments=fig_segments, nodes=fig_nodes,
                countries=fig_countries, weight=numbers["weight"], reliability=reliability,
                definition=row["definition"].strip(), caveat=row["caveat"].strip(), sources=row["sources"].strip(),
            )
            if year is None or figure.year == year:
                figures.append(figure)
    if not figures:
        raise LayerError(f"{label}: no observed figures" + (f" for year {year}" if year is not None else ""))
    return figures


def default_observed(network) -> Path:
    """The observed-figures file of a network's geodata folder."""
    return Path(network.geodata) / "observed.csv"


def demand_for_year(network, year: int | None = None) -> list[dict]:
    """The demand rows of ``year`` (default: the network's model year).

    Raises
    ------
    QueryError
        If no demand row has that year.
    """
    year = network.params.year if year is None else int(year)
    rows = [r for r in network.demand_rows if int(r.get("year", year)) == year and r["teu"] > 0]
    if not rows:
        years = sorted({int(r["year"]) for r in network.demand_rows})
        raise QueryError(f"no demand rows for year {year} (demand years: {', '.join(map(str, years)) or 'none'})")
    return rows


def figures_for(network, observed, year: int) -> list[ObservedFigure]:
    """The figures of ``year``: from ``observed`` (a path, default the geodata's file, or figures)."""
    if observed is None or isinstance(observed, str | Path):
        path = default_observed(network) if observed is None else Path(observed)
        return read_observed(path, network=network, year=year)
    figures = [f for f in observed if f.year == year]
    if not figures:
        raise QueryError(f"no observed figures for year {year}")
    return figures


def compare(fig: ObservedFigure, model_teu: float, tolerance: float = TOLERANCE,
            coverage: tuple[int, int] | None = None) -> dict[str, Any]:
    """One figure against a model volume (TEU/year): errors, within tolerance, explanation."""
    observed = fig.observed_teu
    error = model_teu - observed
    relative = error / observed
    within = abs(relative) <= tolerance
    if within:
        explanation = f"within {tolerance:.0%}"
    else:
        explanation = fig.caveat or f"outside {tolerance:.0%}; no definitional reason recorded"
        if coverage is not None and coverage[0] == 0:
            explanation += (f" [Model: none of the {coverage[1]} demand rows it could count has a route through it "
                            "in its choice set.]")
    extra = {} if coverage is None else {"rows_with_route": coverage[0], "rows_in_scope": coverage[1]}
    return extra | {
        "id": fig.id, "kind": fig.kind, "name": fig.name, "year": fig.year, "unit": fig.unit,
        "observed": fig.value, "model": fig.to_unit(model_teu), "observed_teu": observed, "model_teu": model_teu,
        "abs_error_teu": error, "abs_error": fig.to_unit(error), "rel_error": relative, "within": within,
        "weight": fig.weight, "reliability": fig.reliability, "definition": fig.definition, "caveat": fig.caveat,
        "explanation": explanation, "sources": fig.sources,
    }


def figure_table(rows: list[dict], *, before: bool = False) -> str:
    """Rows of :func:`compare` as a plain-text table."""
    head = f"{'figure':<28} {'unit':>7} {'observed':>12} {'model':>12} {'abs error':>12} {'rel':>8}  {'w':>4}"
    if before:
        head += f" {'before (TEU)':>13}"
    lines = [head]
    for row in rows:
        line = (f"{row['id']:<28} {row['unit']:>7} {row['observed']:>12,.0f} {row['model']:>12,.0f} "
                f"{row['abs_error']:>+12,.0f} {row['rel_error']:>+8.1%}  {row['weight']:>4g}")
        if before:
            line += f" {row['model_before_teu']:>13,.0f}"
        if not row["within"]:
            line += "  *"
        if row.get("in_fit") is False and row["weight"] > 0:
            line += "  (no route counts towards it: left out of the fit)"
        lines.append(line)
    if not all(row["within"] for row in rows):
        lines.append(f"  * outside {TOLERANCE:.0%}; see the caveat in observed.csv / the validation report")
    return "\n".join(lines)
