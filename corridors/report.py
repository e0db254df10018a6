"""Presentation of calibration and validation: parameter files (TOML) and the HTML report.

Parameter files are written and edited with :mod:`tomlkit`, which keeps comments, order
and layout of a hand-written file; the report is rendered from a Jinja2 template
(``corridors/templates/validation_report.html.j2``) with autoescaping, so every value
from the data is escaped.  Files are written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corridors._errors import LayerError
from corridors.calibration import CalibrationResult, format_se
from corridors.observed import TOLERANCE
from corridors.validation import ValidationResult

__all__ = ["params_toml", "update_parameters_file", "report_html", "write_report"]

#: Choice-set settings written with the fitted values, so that a parameter file reproduces the fit.
_CHOICE_SET_SETTINGS = ("path_size_beta", "k_routes", "max_detour", "max_overlap", "candidate_factor")


def _toml_number(value: float | int):
    """A TOML value: integers as they are, floats to 6 significant digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return float(f"{value:.6g}")


def params_toml(result: CalibrationResult, *, header: str | None = None) -> str:
    """A parameter file (TOML) with the calibrated values, readable by ``--params``.

    Only the value of time and the route-choice parameters are written (the fitted ones and
    the choice-set settings the fit assumed: ``path_size_beta``, ``k_routes``,
    ``max_detour``, ``max_overlap``, ``candidate_factor``); everything else keeps the values
    of ``geodata/parameters.toml``.
    """
    import tomlkit

    p = result.params
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Route-choice parameters calibrated by `corridors calibrate` to the observed volumes "
                            f"of {result.year}"))
    doc.add(tomlkit.comment(f"(objective {result.objective:.4f}, was {result.start_objective:.4f}; "
                            f"{sum(t['within'] for t in result.table())}/{len(result.figures)} figures within "
                            f"{TOLERANCE:.0%})."))
    doc.add(tomlkit.comment("Use with: corridors share --params FILE (also scenario, sweep)."))
    for line in (header or "").splitlines():
        doc.add(tomlkit.comment(line))
    doc.add(tomlkit.nl())
    cost = tomlkit.table()
    cost.add("value_of_time_usd_per_teu_h", _toml_number(p.value_of_time_usd_per_teu_h))
    doc.add("cost", cost)
    choice = tomlkit.table()
    choice.add("logit_theta_per_usd", _toml_number(p.logit_theta_per_usd))
    for name in _CHOICE_SET_SETTINGS:
        choice.add(name, _toml_number(getattr(p, name)))
    if p.sanctions_transit_usd:
        choice.add("sanctions_transit_usd", _toml_number(p.sanctions_transit_usd))
    if p.segments:
        segments = tomlkit.table(is_super_table=True)
        for name, theta, consts in p.segments:
            table = tomlkit.table()
            if theta is not None:
                table.add("logit_theta_per_usd", _toml_number(theta))
            if consts:
                table.add("gateway_asc_usd", {node: _toml_number(v) for node, v in consts})
            segments.add(name, table)
        choice.add("segments", segments)
    doc.add("route_choice", choice)
    return tomlkit.dumps(doc)


def _segment_home(doc, name: str):
    """The table and key of a segment parameter (``theta:<segment>``, ``asc:<segment>:<node>``), created
    under ``[route_choice.segments]`` when missing."""
    import tomlkit

    kind, segment, *node = name.split(":")
    if "route_choice" not in doc:
        doc.add("route_choice", tomlkit.table())
    choice = doc["route_choice"]
    if "segments" not in choice:
        choice.add("segments", tomlkit.table(is_super_table=True))
    if segment not in choice["segments"]:
        choice["segments"].add(segment, tomlkit.table())
    table = choice["segments"][segment]
    if kind == "theta":
        return table, "logit_theta_per_usd"
    if "gateway_asc_usd" not in table:
        table.add("gateway_asc_usd", tomlkit.table())
    return table["gateway_asc_usd"], node[0]


def update_parameters_file(path: str | Path, values: dict[str, float]) -> Path:
    """Rewrite some parameter values of a TOML parameter file in place.

    Comments, sections and every other key are kept; a key that is not in the file yet is
    appended in a ``[calibration]`` section.  The result is checked to parse as model
    parameters before it replaces the file (atomically).

    Parameters
    ----------
    path : path
        E.g. ``geodata/parameters.toml``.
    values : dict
        Parameter name -> value (units as in :class:`~corridors.network.CostParameters`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    LayerError
        If the file is missing or the result would not be valid parameters.
    """
    import tomllib

    import tomlkit

    from corridors._io import atomic_path
    from corridors.network import CostParameters

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayerError(f"{path}: parameter file not found") from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise LayerError(f"{path}: not valid TOML ({exc})") from None
    for name, value in values.items():
        if name.startswith(("theta:", "asc:")):
            home, key = _segment_home(doc, name)
            home[key] = _toml_number(value)
            continue
        tables = [doc] + [doc[k] for k in doc if isinstance(doc[k], dict)]
        home = next((t for t in tables if name in t and not isinstance(t[name], dict)), None)
        if home is None:
            if "calibration" not in doc:
                doc.add("calibration", tomlkit.table())
            home = doc["calibration"]
        home[name] = _toml_number(value)  # tomlkit keeps the line's comment
    text = tomlkit.dumps(doc)
    CostParameters.from_mapping(tomllib.loads(text), source=str(path))
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_covariance(path: str | Path, result: CalibrationResult) -> Path:
    """Write the calibration's estimates and covariance beside ``parameters.toml`` (JSON, atomically).

    The sweep draws route-choice parameters from it (:mod:`corridors.sweep_model`):
    ``names``, ``values`` (natural units), ``coordinates`` (``log`` for logit scales and the
    value of time, ``usd`` for constants and penalties) and ``covariance`` of the fitted
    coordinates.  Parameters that are not identified are not in it.
    """
    import json

    from corridors._io import atomic_path
    from corridors.calibration import _is_log

    names = list(result.covariance_names)
    data = {
        "written_by": "corridors calibrate --write-default",
        "year": result.year,
        "objective": result.objective,
        "figures_fitted": [f.id for f, used in zip(result.figures, result.in_fit, strict=True) if used],
        "names": names,
        "values": [result.fitted[n] for n in names],
        "coordinates": ["log" if _is_log(n) else "linear" for n in names],
        "covariance": result.covariance,
        "not_identified": list(result.not_identified),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _chart(rows: Sequence[dict]) -> dict[str, Any] | None:
    """Geometry of the SVG bar chart: observed and model TEU/year, one pair of bars per gateway."""
    gates = [r for r in rows if r["kind"] == "gateway"]
    if not gates:
        return None
    top = max(max(r["observed_teu"], r["model_teu"]) for r in gates) or 1.0
    bar, gap, label_w, chart_w = 14, 12, 230, 560
    y = 10
    out = []
    for r in gates:
        bars = []
        label_y = y + bar + 4
        for value, colour, what in ((r["observed_teu"], "#7f8c8d", "observed"), (r["model_teu"], "#2e86c1", "model")):
            bars.append(dict(y=y, width=max(chart_w * value / top, 0.5), value=value, colour=colour, what=what))
            y += bar
        y += gap
        out.append(dict(name=r["name"], label_y=label_y, bars=bars))
    return dict(gates=out, bar=bar, label_w=label_w, width=label_w + chart_w + 120,
                height=len(gates) * (2 * bar + gap) + 40, legend_y=y)


def report_html(validation: ValidationResult, *, map_page: str | None = None, map_note: str = "",
                calibration: CalibrationResult | None = None) -> str:
    """A self-contained HTML validation report (every value HTML-escaped).

    Parameters
    ----------
    validation : ValidationResult
    map_page : str, optional
        A complete HTML page (the flow map) embedded with ``<iframe srcdoc>``.
    map_note : str
        Shown instead of (or under) the map.
    calibration : CalibrationResult, optional
        Adds the fitted parameters and their sensitivity.
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("corridors", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    fitted = []
    if calibration is not None:
        c = calibration
        for name, value in c.fitted.items():
            lo, hi = c.bounds[name]
            minus, plus = c.objective_pm10[name]
            fitted.append(dict(name=name, start=c.start[name], value=value, lo=lo, hi=hi, minus=minus, plus=plus,
                               se=format_se(name, c.rel_std_error.get(name, math.nan))))
    return env.get_template("validation_report.html.j2").render(
        v=validation, p=validation.params, h=validation.headline, c=calibration, fitted=fitted,
        chart=_chart(validation.rows), map_page=map_page, map_note=map_note, num=_num,
        signed=lambda x: f"{x:+,.0f}", signed_pct=lambda x: f"{x:+.1%}", pct0=lambda x: f"{x:.0%}",
        pct1=lambda x: f"{x:.1%}",
    )


def write_report(validation: ValidationResult, path: str | Path, *, with_map: bool = True,
                 calibration: CalibrationResult | None = None) -> Path:
    """Write the HTML validation report atomically, with the flow map unless ``with_map`` is False.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from corridors import maps
    from corridors._io import atomic_path

    map_page = None
    note = ""
    if with_map:
        map_page = maps.map_html(maps.flow_map(validation.assignment, "KAZ", "CHN", "EU"))
    else:
        note = "Flow map left out (--no-map)."
    page = report_html(validation, map_page=map_page, map_note=note, calibration=calibration)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
