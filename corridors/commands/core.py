"""Core commands: share, route, assign, layers, validate."""

from __future__ import annotations

import argparse
import json
import sys

from corridors._errors import CorridorsError, QueryError


def add_geodata_option(parser: argparse.ArgumentParser) -> None:
    """Add the ``--geodata DIR`` option every command takes."""
    parser.add_argument(
        "--geodata",
        metavar="DIR",
        default=None,
        help="geodata folder with the layout of the shipped one (default: the shipped data)",
    )
    parser.add_argument(
        "--params",
        metavar="FILE",
        default=None,
        help="TOML file of model parameters overriding geodata/parameters.toml (e.g. from 'corridors calibrate')",
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME_OR_PATH",
        default=None,
        help="apply a scenario (bundled name, see 'corridors scenario list', or a .toml file) to the network",
    )


def add_method_option(parser: argparse.ArgumentParser, default: str = "logit") -> None:
    """Add ``--method`` (route choice)."""
    parser.add_argument(
        "--method",
        default=default,
        choices=("shortest", "logit", "ue", "sue"),
        help=f"route choice: least cost, path-size logit, user equilibrium, stochastic UE (default {default})",
    )


def register(subparsers) -> None:
    """Register share, route, assign, layers and validate."""
    p = subparsers.add_parser(
        "share",
        help="share of TEU between two regions that passes through a country",
        description="Share of the assigned TEU from one region to another whose route passes through a "
        "country or region, with the breakdown by corridor and by border crossing (gateway).",
    )
    p.add_argument("--through", default="KAZ", help="ISO3 code or region the routes pass through (default KAZ)")
    p.add_argument("--from", dest="from_", metavar="REGION", default="CHN",
                   help="origin country or region (default CHN)")
    p.add_argument("--to", default="EU", help="destination country or region: EU, EUROPE, RUS ... (default EU)")
    add_method_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_geodata_option(p)
    p.set_defaults(handler=run_share)

    p = subparsers.add_parser("route", help="best routes between two nodes with legs, days and USD/TEU")
    p.add_argument("origin", help="origin node id, e.g. xian")
    p.add_argument("destination", help="destination node id, e.g. duisburg")
    p.add_argument("--k", type=int, default=3, help="number of distinct routes (default 3)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_geodata_option(p)
    p.set_defaults(handler=run_route)

    p = subparsers.add_parser(
        "assign",
        help="assign the demand and write link flows",
        description="Assign the demand and write the link flows (TEU/year by direction, utilisation). The "
        "format follows the suffix: .gpkg (GeoPackage), .parquet (GeoParquet), .geojson, .csv (no geometry).",
    )
    add_method_option(p)
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="output file (.gpkg, .parquet, .geojson, .csv)"
    )
    add_geodata_option(p)
    p.set_defaults(handler=run_assign)

    p = subparsers.add_parser("layers", help="list the geo layers and their feature counts")
    add_geodata_option(p)
    p.set_defaults(handler=run_layers)

    p = subparsers.add_parser("validate", help="check a geodata folder and report every problem")
    p.add_argument("path", nargs="?", default=None, help="geodata folder (default: the shipped one)")
    add_geodata_option(p)
    p.set_defaults(handler=run_validate)


def load_params_file(path):
    """Read a parameter TOML file into a dict (``None`` passes through)."""
    if path is None:
        return None
    import tomllib
    from pathlib import Path

    from corridors._errors import LayerError

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayerError(f"{path}: parameter file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayerError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise LayerError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:  # a directory, no permission, ...
        raise LayerError(f"{path}: cannot read the parameter file ({exc.strerror or exc})") from None


def _network(args):
    from corridors.network import load_network

    params = load_params_file(getattr(args, "params", None))
    network = load_network(args.geodata, params=params)
    if getattr(args, "scenario", None):
        from corridors.scenarios import apply_scenario, load_scenario, od_closure_note

        network = apply_scenario(network, load_scenario(args.scenario, geodata=network.geodata))
        note = od_closure_note(network, getattr(args, "method", None))
        if note:
            print(note, file=sys.stderr)
    return network


def run_share(args) -> int:
    from corridors.assignment import assign

    result = assign(_network(args), method=args.method).share_through(args.through, from_=args.from_, to=args.to)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    return 0


def run_route(args) -> int:
    from corridors.routing import best_routes

    network = _network(args)
    routes = best_routes(network, args.origin, args.destination, k=args.k)
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


_FORMATS = {".gpkg": "GPKG", ".parquet": "parquet", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "csv"}


def run_assign(args) -> int:
    from pathlib import Path

    from corridors._io import atomic_path
    from corridors.assignment import assign

    target = Path(args.output)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise QueryError(f"{target}: unknown output format '{target.suffix}'; use .gpkg, .parquet, .geojson or .csv")
    if target.is_dir():
        raise QueryError(f"{target}: is a folder; give the output file name")
    result = assign(_network(args), method=args.method)
    flows = result.link_flows
    # Lists and tuples do not fit every format; keep scalar columns only.
    flows = flows[[c for c in flows.columns if c not in ("coords",)]]
    try:
        with atomic_path(target) as tmp:
            if fmt == "csv":
                flows.drop(columns="geometry").to_csv(tmp, index=False)
            elif fmt == "parquet":
                flows.to_parquet(tmp)
            else:
                flows.to_file(tmp, driver=fmt, layer="link_flows" if fmt == "GPKG" else None)
    except OSError as exc:  # the folder is a file, no permission, disk full, ...
        raise CorridorsError(f"{target}: cannot write the output ({exc.strerror or exc})") from None
    print(f"wrote {len(flows)} links with assigned TEU/year ({args.method}) to {target}", file=sys.stderr)
    return 0


def run_layers(args) -> int:
    network = _network(args)
    counts: dict[str, int] = {}
    for link in network.link_records.values():
        counts[link["layer"]] = counts.get(link["layer"], 0) + 1
    print(f"{'layer':<28} {'features':>8}")
    print(f"{'nodes':<28} {len(network.node_records):>8}")
    for layer, count in sorted(counts.items()):
        print(f"{'links/' + layer:<28} {count:>8}")
    print(f"{'countries':<28} {len(network.country_names):>8}")
    print(f"{'demand rows':<28} {len(network.demand_rows):>8}")
    return 0


def run_validate(args) -> int:
    from corridors.layers import validate_geodata

    folder = args.path or args.geodata
    problems = validate_geodata(folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print("geodata is valid")
    return 0
