"""The 2019–2025 backcast: every model year with its mode choice and route choice, set
against the observed figures of that year (fitted for 2019 and 2024, predicted otherwise).

:func:`backcast` returns one record per year; :func:`backcast_html` renders the offline
HTML report (Jinja2 template ``backcast_report.html.j2``, inline SVG chart).
"""

from __future__ import annotations

from typing import Any

from corridors.years import FITTED_YEARS, MODEL_YEARS

__all__ = ["backcast", "measure_figure", "backcast_html"]

MIDDLE_CORRIDOR_NODES = frozenset({"aktau", "kuryk", "turkmenbashi"})
_DIRECTION = {"westbound": "from_china", "eastbound": "to_china"}
_CR_EXPRESS_SEGMENTS = frozenset({"eu", "rus_blr"})


def measure_figure(result, figure: dict) -> float:
    """Model TEU/year measured as an observed figure of ``observed_years.csv`` defines it.

    ``crossing``: node ids (the route passes one of them) or ISO3 codes (transit through
    all of them: the route crosses every one, origin and destination outside); ``segment``
    ``china_europe|europe_china``: the CR Express rows (segments ``eu`` and ``rus_blr``),
    empty: every row; ``direction`` ``westbound``/``eastbound`` or both.
    """
    crossing = [c for c in (figure.get("crossing") or "").split("|") if c]
    iso = bool(crossing) and all(c.isupper() for c in crossing)
    records = result.network.node_records
    direction = _DIRECTION.get(figure["direction"])
    total = 0.0
    paths = result.paths
    for flow in result.flows:
        route = flow.route
        if figure.get("segment") and flow.segment not in _CR_EXPRESS_SEGMENTS:
            continue
        if direction is not None:
            origin_cn = records[route.origin]["country"] == "CHN"
            if (direction == "from_china") != origin_cn:
                continue
        if iso:
            ends = {records[route.origin]["country"], records[route.destination]["country"]}
            if ends & set(crossing) or not set(crossing) <= set(route.countries):
                continue
        elif crossing and not set(crossing) & set(route.node_ids):
            continue
        total += flow.teu
    del paths
    return total


def _through(result, split, predicate) -> float:
    return sum(f.teu for f in result.flows if predicate(f.route))


def backcast(years=MODEL_YEARS, *, geodata=None, method: str = "logit", params: dict | None = None) -> list[dict]:
    """Run the model for every year and compare with that year's observed figures.

    Returns
    -------
    list of dict
        Per year: ``year``, ``fitted`` (bool), ``by_mode`` (``china_europe``/``europe_china`` ->
        land, sea, all TEU), ``observed_land`` (the tables' land TEU by direction, the fit
        targets of 2019 and 2024), ``share_through_kaz`` (of China->EU27 land TEU),
        ``teu_through_russia`` (China<->EU27 land TEU crossing Russia), ``middle_corridor_teu``
        (all land TEU through Aktau, Kuryk or Türkmenbaşy), ``figures`` (each observed figure
        with ``model_teu``, ``observed_teu``, ``error`` and ``role``).
    """
    from corridors import modes
    from corridors.regions import EU27
    from corridors.years import load_year_tables

    tables = load_year_tables(geodata)
    mode = modes.load_mode_parameters(tables.geodata, params)
    out = []
    for year in years:
        network = modes.year_network(geodata, year, params)
        result, split = modes.assign_year(network, year, method=method, mode=mode, tables=tables)
        share = result.share_through("KAZ", from_="CHN", to="EU")
        records = network.node_records

        def china_eu(route, records=records):
            ends = {records[route.origin]["country"], records[route.destination]["country"]}
            return "CHN" in ends and bool(ends & EU27)

        figures = []
        for fig in tables.observed(year):
            observed = fig["value"] * fig["teu_per_unit"]
            model = measure_figure(result, fig)
            figures.append({"id": fig["id"], "unit": fig["unit"], "value": fig["value"], "observed_teu": observed,
                            "model_teu": model, "error": model / observed - 1.0 if observed else None,
                            "bound": fig["bound"], "role": fig["role"], "reliability": fig["reliability"],
                            "definition": fig["definition"]})
        out.append({
            "year": year,
            "fitted": year in FITTED_YEARS,
            "by_mode": {d: split.by_mode(d) for d in ("china_europe", "europe_china")},
            "observed_land": modes.observed_land(tables, year),
            "share_through_kaz": share.share,
            "teu_through_russia": _through(result, split, lambda r, ce=china_eu: ce(r) and "RUS" in r.countries),
            "middle_corridor_teu": _through(result, split, lambda r: bool(MIDDLE_CORRIDOR_NODES & set(r.node_ids))),
            "figures": figures,
        })
    return out


def _chart(years: list[dict]) -> dict[str, Any]:
    """Inline SVG geometry: China->EU27 land TEU, model against observed, by year."""
    width, height, pad = 640, 260, 50
    values = [y["by_mode"]["china_europe"]["land"] for y in years] + [y["observed_land"]["china_europe"]
                                                                       for y in years]
    top = max(values) * 1.1 or 1.0
    step = (width - 2 * pad) / max(len(years) - 1, 1)

    def pt(i, v):
        return pad + i * step, height - pad - (height - 2 * pad) * v / top

    model = [pt(i, y["by_mode"]["china_europe"]["land"]) for i, y in enumerate(years)]
    observed = [pt(i, y["observed_land"]["china_europe"]) for i, y in enumerate(years)]
    return {"width": width, "height": height, "pad": pad, "top": top,
            "model": " ".join(f"{x:.1f},{y:.1f}" for x, y in model),
            "observed": [(x, y, yr["fitted"]) for (x, y), yr in zip(observed, years, strict=True)],
            "labels": [(pt(i, 0)[0], y["year"]) for i, y in enumerate(years)]}


def backcast_html(years: list[dict]) -> str:
    """A self-contained HTML backcast report (offline; every value escaped)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("corridors", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template("backcast_report.html.j2").render(
        years=years, chart=_chart(years), fitted=FITTED_YEARS,
        teu=lambda x: f"{x:,.0f}", pct=lambda x: "" if x is None else f"{x:+.0%}", pct1=lambda x: f"{x:.1%}")
