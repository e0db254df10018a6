"""Core commands: share, route, assign, layers, validate."""

from __future__ import annotations

import argparse
import json
import re
import sys

from corridors._errors import QueryError

#: Largest ``route --k``: distinct routes between two nodes (the busiest pair of the shipped
#: network has 26 within any sensible detour); the same bound as the ``k_routes`` parameter.
MAX_ROUTE_K = 100
#: Largest ``sweep --draws`` (one million draws take about an hour in one process and a
#: per-draw table of a few hundred MB).
MAX_DRAWS = 1_000_000
#: Largest random seed (NumPy seeds are non-negative; 2**63 - 1 keeps them 64-bit).
MAX_SEED = 2**63 - 1
#: Largest number of local Dask workers.
MAX_WORKERS = 256


def bounded_int(lo: int, hi: int, what: str = "an integer"):
    """An argparse ``type``: an integer in ``[lo, hi]``, refused in one line otherwise."""

    span = f"{lo:,} and {hi:,}" if hi >= 10_000 else f"{lo} and {hi}"

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""))
        except (ValueError, AttributeError):
            raise argparse.ArgumentTypeError(f"expected {what} between {span}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected {what} between {span}, got {text}")
        return value

    parse.__name__ = "integer"
    return parse


def finite_float(lo: float, hi: float, what: str = "a number"):
    """An argparse ``type``: a finite number in ``[lo, hi]`` (NaN and inf refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} between {lo:g} and {hi:g}, got {text!r}") from None
        if not lo <= value <= hi:  # NaN fails too
            raise argparse.ArgumentTypeError(f"expected {what} between {lo:g} and {hi:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _year_type() -> object:
    from corridors.layers import YEAR_RANGE

    return bounded_int(YEAR_RANGE[0], YEAR_RANGE[1], "a year")


#: argparse ``type`` of ``--year`` options: an integer year in the range layers accept.
YEAR_TYPE = _year_type()

_SCHEDULER = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?"  # scheme (Dask's default is tcp)
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"  # host or [IPv6]
    r"(?::(?P<port>\d{1,5}))?/?$"
)


def scheduler_address(text: str) -> str:
    """An argparse ``type``: a Dask scheduler address such as ``tcp://127.0.0.1:8786``."""
    match = _SCHEDULER.match(text.strip())
    if not match or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise argparse.ArgumentTypeError(
            f"expected a Dask scheduler address such as tcp://127.0.0.1:8786, got {text!r}"
        )
    return text.strip()


def check_output(path) -> None:
    """Refuse an output path that cannot be written, before any work (one line)."""
    if path is not None:
        from corridors._io import check_target

        check_target(path)


def add_geodata_option(parser: argparse.ArgumentParser, *, model: bool = True, scenario: bool = True) -> None:
    """Add ``--geodata DIR``; for model commands also ``--params FILE`` and (if ``scenario``)
    ``--scenario``.  A command is only offered the options it uses."""
    parser.add_argument(
        "--geodata",
        metavar="DIR",
        default=None,
        help="geodata folder with the layout of the shipped one (default: the shipped data)",
    )
    if not model:
        return
    parser.add_argument(
        "--params",
        metavar="FILE",
        default=None,
        help="TOML file of model parameters overriding geodata/parameters.toml (e.g. from 'corridors calibrate')",
    )
    if not scenario:
        return
    parser.add_argument(
        "--scenario",
        metavar="NAME_OR_PATH",
        default=None,
        help="apply a scenario (bundled name, see 'corridors scenario list', or a .toml file) to the network",
    )


def add_method_option(parser: argparse.ArgumentParser, default: str | None = "logit") -> None:
    """Add ``--method`` (route choice); ``default=None``: the ``--scenario``'s method, else logit
    (resolved by :func:`assign_for`)."""
    parser.add_argument(
        "--method",
        default=default,
        choices=("shortest", "logit", "ue", "sue"),
        help="route choice: least cost, path-size logit, user equilibrium, stochastic UE (default "
        + (default or "the --scenario's method, else logit; with --scenario and --year the scenario's method, "
           "else sue, which honours the declared capacities")
        + ")",
    )


def add_year_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--year``: the model year 2019-2025 (its network, demand by mode and inputs)."""
    parser.add_argument(
        "--year", type=YEAR_TYPE, default=None,
        help="model year 2019-2025: the network of that year, its all-mode China-EU27 demand split between sea "
        "and land by the mode choice, and its sea rates, Suez/Cape status and Russia-transit term (default: the "
        "shipped 2024 demand without mode choice)",
    )


def register(subparsers) -> None:
    """Register share, route, assign, layers and validate."""
    p = subparsers.add_parser(
        "share",
        help="share of TEU between two regions that passes through a country",
        description="Share of the assigned TEU from one region to another whose route passes through a "
        "country or region, with the breakdown by corridor and by border crossing (gateway).",
    )
    p.add_argument("--through", metavar="REGION", default="KAZ",
                   help="ISO3 code or region the routes pass through (default KAZ)")
    p.add_argument("--from", dest="from_", metavar="REGION", default="CHN",
                   help="origin country or region (default CHN)")
    p.add_argument("--to", metavar="REGION", default="EU",
                   help="destination country or region: EU, EUROPE, RUS ... (default EU)")
    add_method_option(p, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_year_option(p)
    add_geodata_option(p)
    p.set_defaults(handler=run_share)

    p = subparsers.add_parser("route", help="best routes between two nodes with legs, days and USD/TEU")
    p.add_argument("origin", help="origin node id, e.g. xian")
    p.add_argument("destination", help="destination node id, e.g. duisburg")
    p.add_argument(
        "--k",
        metavar="N",
        type=bounded_int(1, MAX_ROUTE_K),
        default=3,
        help=f"number of distinct routes, 1-{MAX_ROUTE_K} (default 3)",
    )
    p.add_argument(
        "--mode",
        choices=("any", "rail", "road"),
        default="any",
        help="links the routes may use: rail (rail and train ferries, as CR Express and China-Central Asia "
        "trains; what the assignment gives rail demand), road (road and ferries) or any (default)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_year_option(p)
    add_geodata_option(p)
    p.set_defaults(handler=run_route)

    p = subparsers.add_parser(
        "assign",
        help="assign the demand and write link, node and route layers",
        description="Assign the demand and write three GIS layers in EPSG:4326: links (TEU/year by direction, "
        "utilisation), nodes (TEU/year passing) and routes (one line per OD route with TEU/year, corridor, "
        "gateway and segment). The format follows the suffix: FILE.gpkg is one GeoPackage with the layers "
        "links, nodes and routes; .geojson, .parquet (GeoParquet) and .csv (geometry as WKT) hold one layer per "
        "file, so -o flows.geojson writes the links to flows.geojson and flows.nodes.geojson and flows.routes.geojson "
        "beside it.",
    )
    add_method_option(p, default=None)
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file (.gpkg, .parquet, .geojson, .csv)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (files, layers, TEU) on stdout")
    add_year_option(p)
    add_geodata_option(p)
    p.set_defaults(handler=run_assign)

    p = subparsers.add_parser("layers", help="list the geo layers and their feature counts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_geodata_option(p, model=False)
    p.set_defaults(handler=run_layers)

    p = subparsers.add_parser(
        "validate",
        help="check a geodata folder and report every problem",
        description="Check a geodata folder as every model command does: layers, demand tables, "
        "parameters.toml and the scenarios in its scenarios/ folder. Lists every problem (one line each, "
        "naming file, feature and field) and exits 2 if there is any; a folder that passes loads.",
    )
    p.add_argument("path", nargs="?", default=None, metavar="DIR", help="geodata folder (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print one JSON object (problems and notes)")
    p.add_argument("--geodata", metavar="DIR", default=None,
                   help="the same as DIR, as other commands name it (giving both with different folders is an error)")
    p.set_defaults(handler=run_validate)


def load_params_file(path):
    """Read a parameter TOML file into a dict (``None`` passes through)."""
    if path is None:
        return None
    from pathlib import Path

    from corridors._errors import LayerError
    from corridors.layers import check_parameters, parse_toml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayerError(f"{path}: parameter file not found") from None
    except UnicodeDecodeError as exc:
        raise LayerError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:  # a directory, no permission, ...
        raise LayerError(f"{path}: cannot read the parameter file ({exc.strerror or exc})") from None
    try:
        data = parse_toml(text)
    except ValueError as exc:
        raise LayerError(f"{path}: not valid TOML ({exc})") from None
    problems = check_parameters(data, str(path))[1]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise LayerError(f"{problems[0]}{more}")
    return data


def _network(args):
    from corridors.network import load_network

    params = load_params_file(getattr(args, "params", None))
    year = getattr(args, "year", None)
    if year is not None:
        from corridors.modes import year_network

        network = year_network(args.geodata, year, params)
    else:
        network = load_network(args.geodata, params=params)
    if getattr(args, "scenario", None):
        from corridors.scenarios import apply_scenario, load_scenario

        network = apply_scenario(network, load_scenario(args.scenario, geodata=network.geodata))
    return network


def assign_for(args, network):
    """Assign ``network``: with ``--year``, the mode choice of that year first; returns ``(result, split)``."""
    from corridors.assignment import assign

    scenario = getattr(network, "scenario", None)
    if getattr(args, "year", None) is None:
        args.method = args.method or getattr(scenario, "method", None) or "logit"
        return assign(network, method=args.method), None
    from corridors.modes import assign_year, load_mode_parameters, scenario_method

    # a scenario in a model year: as 'scenario run --year' (capacities honoured by default)
    args.method = args.method or (scenario_method(scenario) if scenario is not None else "logit")

    mode = load_mode_parameters(network.geodata, load_params_file(getattr(args, "params", None)))
    return assign_year(network, args.year, method=args.method, mode=mode)


def _by_mode(split, network, from_: str, to: str) -> dict:
    """TEU by mode of the China<->EU27 direction the query asks about (both if neither)."""
    from corridors.regions import EU27, resolve_region

    origin = resolve_region(from_, network.country_codes)
    destination = resolve_region(to, network.country_codes)
    out = {"year": split.year}
    if "CHN" in origin and destination & EU27:
        out |= {"direction": "china_europe", **split.by_mode("china_europe")}
    elif "CHN" in destination and origin & EU27:
        out |= {"direction": "europe_china", **split.by_mode("europe_china")}
    else:
        out |= {d: split.by_mode(d) for d in ("china_europe", "europe_china")}
    return out


def run_share(args) -> int:
    result, split = assign_for(args, _network(args))
    share = result.share_through(args.through, from_=args.from_, to=args.to)
    by_mode = _by_mode(split, result.network, args.from_, args.to) if split is not None else None
    if args.json:
        out = share.to_dict()
        if by_mode is not None:
            out["by_mode"] = by_mode
        print(json.dumps(out, indent=2))
        return 0
    print(share.summary())
    if by_mode is not None:
        parts = [by_mode] if "land" in by_mode else [by_mode[d] | {"direction": d} for d in ("china_europe",
                                                                                               "europe_china")]
        for part in parts:
            name = "China->EU27" if part["direction"] == "china_europe" else "EU27->China"
            print(f"by mode ({name}, {split.year}): land {part['land']:,.0f} TEU, sea {part['sea']:,.0f} TEU "
                  f"({part['sea'] / part['all']:.1%} of {part['all']:,.0f} TEU went by sea; the share above is of "
                  "land TEU)")
    return 0


def run_route(args) -> int:
    from corridors.routing import best_routes

    network = _network(args)
    mode = None if args.mode == "any" else args.mode
    routes = best_routes(network, args.origin, args.destination, k=args.k, mode=mode)
    names = {n: r["name"] for n, r in network.node_records.items()}
    if args.json:
        out = []
        for rank, r in enumerate(routes, start=1):
            out.append(
                dict(
                    rank=rank,
                    origin=r.origin,
                    destination=r.destination,
                    days=r.days,
                    time_h=r.time_h,
                    usd_per_teu=r.money_usd,
                    gen_cost_usd=r.gen_cost_usd,
                    length_km=r.length_km,
                    corridor=r.corridor,
                    route=r.route,
                    countries=list(r.countries),
                    legs=[{("from" if k == "from_" else k): v for k, v in leg.items()} for leg in r.legs],
                )
            )
        print(json.dumps(out, indent=2))
        return 0
    for rank, r in enumerate(routes, start=1):
        print(
            f"#{rank}  {names[r.origin]} -> {names[r.destination]}: {r.days:.1f} days, {r.money_usd:,.0f} USD/TEU, "
            f"{r.length_km:,.0f} km, generalised cost {r.gen_cost_usd:,.0f} USD/TEU  [{r.corridor}/{r.route}]"
        )
        print(f"    via {' - '.join(r.countries)}")
        for leg in r.legs:
            if leg["kind"] == "link":
                print(
                    f"    {names[leg['from_']]:>22} -> {names[leg['to']]:<22} {leg['mode']:<5} {leg['km']:>7,.0f} km "
                    f"{leg['hours']:>6.1f} h {leg['usd']:>7,.0f} USD"
                )
            else:
                print(
                    f"    {'[' + leg['kind'] + ' at ' + names[leg['id']] + ']':>47} {leg['hours']:>17.1f} h "
                    f"{leg['usd']:>7,.0f} USD"
                )
    return 0


def run_assign(args) -> int:
    from corridors._io import check_target, layer_targets, write_layers

    names = ("links", "nodes", "routes")
    for path in dict.fromkeys(layer_targets(args.output, names).values()):
        check_target(path)  # before the assignment, not after it
    result, _ = assign_for(args, _network(args))
    layers = result.gis_layers()
    files = write_layers(args.output, layers)
    counts = {name: len(frame) for name, frame in layers.items()}
    if args.json:
        print(json.dumps({"method": args.method, "total_teu": result.total_teu, "stranded_teu": result.stranded_teu,
                          "files": [str(f) for f in files], "layers": counts}, indent=2))
        return 0
    where = ", ".join(str(f) for f in files)
    print(f"wrote {counts['links']} links, {counts['nodes']} nodes and {counts['routes']} OD routes with assigned "
          f"TEU/year ({args.method}) to {where}", file=sys.stderr)
    return 0


def run_layers(args) -> int:
    from corridors.network import load_network

    network = load_network(args.geodata)
    counts: dict[str, int] = {}
    for link in network.link_records.values():
        counts[link["layer"]] = counts.get(link["layer"], 0) + 1
    rows = [("nodes", len(network.node_records))]
    rows += [(f"links/{layer}", count) for layer, count in sorted(counts.items())]
    rows += [("countries", len(network.country_names)), ("demand rows", len(network.demand_rows))]
    if args.json:
        print(json.dumps({"geodata": str(network.geodata), "layers": dict(rows)}, indent=2))
        return 0
    print(f"{'layer':<28} {'features':>8}")
    for name, count in rows:
        print(f"{name:<28} {count:>8}")
    return 0


def _validate_folder(args):
    from pathlib import Path

    if args.path is not None and args.geodata is not None:
        same = Path(args.path).resolve() == Path(args.geodata).resolve()
        if not same:
            raise QueryError(
                f"validate: two folders given ({args.path} and --geodata {args.geodata}); name the geodata folder once"
            )
    return args.path if args.path is not None else args.geodata


def _scenario_problems(geodata) -> tuple[list[dict], int]:
    """Load and apply every scenario of ``<geodata>/scenarios`` as ``scenario run`` would."""
    from corridors._errors import CorridorsError
    from corridors.network import load_network
    from corridors.scenarios import apply_scenario, load_scenario

    folder = geodata / "scenarios"
    paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not paths:
        return [], 0
    network = load_network(geodata)
    found = []
    for path in paths:
        try:
            apply_scenario(network, load_scenario(path, geodata=geodata))
        except CorridorsError as exc:
            text = str(exc)
        except (OSError, RecursionError) as exc:  # the scenario loader lets these through
            text = f"{path}: cannot read the scenario ({getattr(exc, 'strerror', None) or type(exc).__name__})"
        else:
            continue
        found.append({"file": str(path), "feature": None, "field": None, "message": text, "text": text})
    return found, len(paths)


def run_validate(args) -> int:
    from corridors.layers import check_geodata

    layers, problems = check_geodata(_validate_folder(args))
    found = [
        {"file": p.file, "feature": p.feature, "field": p.field, "message": p.message, "text": str(p)}
        for p in problems
    ]
    scenarios = 0
    if not found:
        # Scenarios are checked against the network, so only once the layers load.
        extra, scenarios = _scenario_problems(layers.geodata)
        found += extra
    if args.json:
        print(
            json.dumps(
                {
                    "geodata": str(layers.geodata),
                    "valid": not found,
                    "problems": found,
                    "notes": list(layers.notes),
                    "scenarios_checked": scenarios,
                },
                indent=2,
            )
        )
        return 2 if found else 0
    for note in layers.notes:
        print(note, file=sys.stderr)
    for problem in found:
        print(problem["text"], file=sys.stderr)
    if found:
        print(f"{len(found)} problem(s) found", file=sys.stderr)
        return 2
    extra = f" ({scenarios} scenario(s) checked)" if scenarios else ""
    print(f"geodata is valid{extra}")
    return 0
