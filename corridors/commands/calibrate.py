"""Calibration commands: ``calibrate`` (fit the route choice) and ``validate-model`` (model vs observed)."""

from __future__ import annotations

import argparse
import json
import sys

from corridors.commands.core import YEAR_TYPE, add_geodata_option, check_output


def register(subparsers) -> None:
    """Register ``calibrate`` and ``validate-model``."""
    p = subparsers.add_parser(
        "calibrate", help="fit the route-choice parameters to observed gateway volumes",
        description="Fit the logit scale of every demand segment and any declared gateway constants (weighted "
        "least squares on log volumes, SciPy least_squares within sourced bounds) to the observed figures of "
        "geodata/observed.csv; print the fit per segment, the parameters with their standard errors (one line "
        "names any parameter the figures do not identify: it keeps its shipped value) and their sensitivity, "
        "and optionally write a parameter file for --params.",
    )
    p.add_argument("--year", type=YEAR_TYPE, default=None, help="base year (default: the model year, 2024)")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the calibrated parameters to this TOML file (usable with --params)")
    p.add_argument("--observed", metavar="FILE", default=None,
                   help="observed-figures CSV (default: observed.csv in the geodata folder)")
    p.add_argument("--fit", default="segments",
                   help="comma-separated parameters to fit: segments (the logit scale of every demand segment and "
                   "the gateway constants declared in parameters.toml), theta:<segment>, asc:<segment>:<node>, "
                   "theta (the common scale), vot, beta, border, transfer (default segments)")
    p.add_argument("--report", metavar="FILE", default=None,
                   help="also write the HTML validation report of the calibrated model, with the fit and its "
                   "sensitivity")
    p.add_argument("--write-default", action="store_true",
                   help="also write the calibrated values into the geodata folder's parameters.toml (comments and "
                   "other values are kept), making them the default of every command")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_geodata_option(p)
    p.set_defaults(handler=run_calibrate)

    p = subparsers.add_parser(
        "validate-model", help="compare the model with every observed figure; HTML report",
        description="Assign the base-year demand and compare every observed figure of geodata/observed.csv with "
        "the model output that measures the same thing: absolute and relative error, and why a figure cannot be "
        "matched. Optionally write a self-contained HTML report with a bar chart per gateway and the flow map.",
    )
    p.add_argument("--year", type=YEAR_TYPE, default=None, help="base year (default: the model year, 2024)")
    p.add_argument("--observed", metavar="FILE", default=None,
                   help="observed-figures CSV (default: observed.csv in the geodata folder)")
    p.add_argument("--method", default="logit", choices=("shortest", "logit", "ue", "sue"),
                   help="route choice of the assignment (default logit, the calibrated one)")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write an HTML report to this file")
    p.add_argument("--no-map", action="store_true", help="leave the flow map out of the HTML report")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_geodata_option(p)
    p.set_defaults(handler=run_validate_model)


def _network(args: argparse.Namespace):
    from corridors.commands.core import load_params_file
    from corridors.network import load_network

    scenario = None
    if args.scenario:
        from corridors.layers import default_geodata
        from corridors.scenarios import load_scenario

        # read (and refuse) the scenario before the network is built
        scenario = load_scenario(args.scenario, geodata=args.geodata or default_geodata())
    params = load_params_file(args.params) or {}
    if args.year is not None:
        params = {**params, "year": args.year}
    network = load_network(args.geodata, params=params or None)
    if scenario is not None:
        from corridors.scenarios import apply_scenario

        network = apply_scenario(network, scenario)
    return network


def run_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from corridors._errors import QueryError
    from corridors._io import atomic_path
    from corridors.calibration import calibrate
    from corridors.report import params_toml, update_parameters_file, write_covariance, write_report
    from corridors.validation import validate_model

    check_output(args.output)
    check_output(args.report)
    if args.write_default and args.scenario:
        raise QueryError("--write-default writes the shipped parameters: calibrate on a scenario's network "
                         "with -o FILE instead")
    _fitted_year_only(args.year)
    network = _network(args)
    result = calibrate(network, args.observed, fit=[f for f in args.fit.split(",") if f.strip()])
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    if args.output:
        target = Path(args.output)
        with atomic_path(target) as tmp:
            tmp.write_text(params_toml(result), encoding="utf-8")
        print(f"wrote calibrated parameters to {target} (use with --params {target})", file=sys.stderr)
    if args.report:
        validation = validate_model(network.with_changes(params=result.params), args.observed)
        target = write_report(validation, args.report, calibration=result)
        print(f"wrote the validation report to {target}", file=sys.stderr)
    if args.write_default:
        identified = {n: v for n, v in result.fitted.items() if n not in result.not_identified}
        if identified:
            target = update_parameters_file(network.geodata / "parameters.toml", identified)
            print(f"updated {', '.join(identified)} in {target}", file=sys.stderr)
        if result.covariance:
            target = write_covariance(network.geodata / "calibration.json", result)
            print(f"wrote the estimates and their covariance to {target}", file=sys.stderr)
    return 0


def _fitted_year_only(year) -> None:
    """Refuse to fit on a year whose figures are predictions (fitting discipline, issue 11)."""
    from corridors._errors import QueryError
    from corridors.years import FITTED_YEARS, MODEL_YEARS

    if year is not None and year in MODEL_YEARS and year not in FITTED_YEARS:
        raise QueryError(f"calibrate --year {year}: the figures of {year} are predictions, never fitted; "
                         f"fit on {' or '.join(map(str, FITTED_YEARS))}")


def _validate_year(args: argparse.Namespace) -> int:
    """``validate-model --year Y`` for a year other than 2024: that year's observed figures of
    ``geodata/years/observed_years.csv`` against the model of the year (as ``corridors backcast``)."""
    from corridors.backcast import backcast
    from corridors.commands.core import load_params_file

    (year,) = backcast((args.year,), geodata=args.geodata, method=args.method, params=load_params_file(args.params))
    if args.json:
        print(json.dumps({"years": [year]}, indent=2))
        return 0
    print(f"{year['year']}: {'fitted' if year['fitted'] else 'predicted'} year (mode choice, then route choice)")
    for fig in year["figures"]:
        error = "" if fig["error"] is None else f"{fig['error']:+.0%}"
        print(f"  {fig['id']:<24} {fig['role']:<9} {fig['bound']:<7} observed {fig['observed_teu']:>11,.0f} TEU  "
              f"model {fig['model_teu']:>11,.0f} TEU  {error}")
    return 0


def run_validate_model(args: argparse.Namespace) -> int:
    from corridors.report import write_report
    from corridors.validation import validate_model

    check_output(args.output)
    if args.year is not None and args.year != 2024 and args.observed is None and args.output is None:
        return _validate_year(args)
    validation = validate_model(_network(args), args.observed, method=args.method)
    if args.json:
        print(json.dumps(validation.to_dict(), indent=2))
    else:
        print(validation.summary())
    if args.output:
        target = write_report(validation, args.output, with_map=not args.no_map)
        print(f"wrote the validation report to {target}", file=sys.stderr)
    return 0
