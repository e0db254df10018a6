"""The ``scenario`` and ``sweep`` commands: what-if runs and Monte Carlo sweeps.

``corridors scenario list [--geodata DIR] [--json]``
``corridors scenario run NAME_OR_PATH [--method M] [--through KAZ --from CHN --to EU] [--links N] [--json]``
``corridors sweep NAME_OR_PATH --draws N [--seed S] [--workers W | --scheduler tcp://HOST:PORT]
[-o results.parquet] [--method M] [--through KAZ --from CHN --to EU] [--json]``

pandas, dask and the model are imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import json
import sys

from corridors.commands.core import MAX_DRAWS, MAX_SEED, MAX_WORKERS, bounded_int, check_output, scheduler_address

METHODS = ("shortest", "logit", "ue", "sue")


def _common(p: argparse.ArgumentParser, *, query: bool = True) -> None:
    p.add_argument("--geodata", metavar="DIR", default=None,
                   help="geodata folder with the layout of the shipped one (default: the shipped data); its "
                   "scenarios/ folder is searched for scenario names first")
    if query:
        p.add_argument("--params", metavar="FILE", default=None,
                       help="TOML file of model parameters overriding geodata/parameters.toml")
        p.add_argument("--method", default=None, choices=METHODS,
                       help="route choice (default: the scenario's 'method', else logit; with --year, else sue, "
                       "the mode and route equilibrium that honours the declared capacities)")
        p.add_argument("--through", metavar="REGION", default="KAZ",
                       help="country or region of the share (default KAZ)")
        p.add_argument("--from", dest="from_", metavar="REGION", default="CHN",
                       help="origin country or region (default CHN)")
        p.add_argument("--to", metavar="REGION", default="EU", help="destination country or region (default EU)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register(subparsers) -> None:
    """Register ``scenario list``, ``scenario run`` and ``sweep``."""
    p = subparsers.add_parser(
        "scenario", help="list bundled scenarios or run one against the baseline",
        description="What-if scenarios: closures, openings, capacity, tariff, dwell and demand changes against "
        "the baseline. 'run' prints the share through a country, TEU by corridor and gateway, and the biggest "
        "link changes, scenario against baseline.",
    )
    sub = p.add_subparsers(dest="scenario_command", metavar="ACTION")
    q = sub.add_parser("list", help="list the bundled scenarios (and those in --geodata DIR/scenarios)")
    _common(q, query=False)
    q.set_defaults(handler=run_list)
    q = sub.add_parser("run", help="run a scenario and compare it with the baseline")
    q.add_argument("scenario_name", metavar="NAME_OR_PATH", help="bundled scenario name or path to a .toml file")
    q.add_argument("--links", type=bounded_int(0, 100_000), default=10, metavar="N",
                   help="number of biggest link changes (default 10)")
    _common(q)
    from corridors.commands.core import add_year_option

    add_year_option(q)
    q.set_defaults(handler=run_run)
    p.set_defaults(handler=lambda args, parser=p: _usage(parser))

    p = subparsers.add_parser(
        "sweep", help="Monte Carlo sweep over a scenario's uncertain inputs",
        description="Monte Carlo sweep over the [[uncertain]] inputs of a scenario: in this process by default "
        "(the fastest on one machine), on a local Dask cluster with --workers W, or on a running Dask scheduler "
        "with --scheduler. Results depend on --seed only, never on the number of workers. Writes one row per "
        "draw (inputs and outputs) to Parquet and prints p5/p50/p95.",
    )
    p.add_argument("scenario_name", metavar="NAME_OR_PATH", help="bundled scenario name or path to a .toml file")
    p.add_argument("--draws", metavar="N", type=bounded_int(1, MAX_DRAWS), default=1000,
                   help=f"number of draws, 1-{MAX_DRAWS:,} (default 1000)")
    p.add_argument("--seed", metavar="N", type=bounded_int(0, MAX_SEED, "a seed"), default=0,
                   help="random seed, a non-negative integer (default 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=bounded_int(0, MAX_WORKERS), default=None, metavar="W",
                       help=f"start a local Dask cluster of W worker processes, 1-{MAX_WORKERS} (default: no "
                       "cluster, the draws run in this process; 0 means the same)")
    where.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="Parquet file of the per-draw table")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (as -q, but keeps the summary)")
    _common(p)
    from corridors.commands.core import add_year_option

    add_year_option(p)
    p.set_defaults(handler=run_sweep)


def _usage(parser: argparse.ArgumentParser) -> int:
    # one line, like every other refusal of the CLI (corridors.cli.OneLineParser)
    command = parser.prog.partition(" ")[2]
    print(f"corridors: error: {command}: an ACTION is required (see '{parser.prog} --help')", file=sys.stderr)
    return 2


def _network(args):
    from corridors.commands.core import load_params_file
    from corridors.network import load_network

    return load_network(args.geodata, params=load_params_file(args.params))


def run_list(args) -> int:
    from corridors.scenarios import list_scenarios

    scenarios = list_scenarios(args.geodata)
    if args.json:
        print(json.dumps([{"name": s.name, "title": s.title, "path": s.label, "sources": list(s.sources),
                           "uncertain": list(s.uncertain)} for s in scenarios], indent=2))
        return 0
    for s in scenarios:
        extra = f"  [{len(s.uncertain)} uncertain inputs]" if s.uncertain else ""
        print(f"{s.name:<30} {s.title}{extra}")
    return 0


def _run_year(args) -> int:
    """``scenario run --year Y``: baseline and scenario of that year, both with the mode choice."""
    from corridors.commands.core import load_params_file
    from corridors.modes import load_mode_parameters, scenario_year, year_network

    params = load_params_file(args.params)
    network = year_network(args.geodata, args.year, params)
    out = scenario_year(network, args.scenario_name, args.year, method=args.method,
                        mode=load_mode_parameters(network.geodata, params), through=args.through,
                        from_=args.from_, to=args.to)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"scenario {out['name']} in {out['year']} (mode choice sea/land, then route choice, method "
          f"{out['method']})")
    for key in ("baseline", "scenario"):
        part = out[key]
        ce, ec = part["by_mode"]["china_europe"], part["by_mode"]["europe_china"]
        print(f"  {key:<9} China->EU27 land {ce['land']:>10,.0f} sea {ce['sea']:>12,.0f} TEU; EU27->China land "
              f"{ec['land']:>9,.0f} sea {ec['sea']:>11,.0f} TEU; share of land TEU {args.from_}->{args.to} through "
              f"{args.through} {part['share']:.1%}")
    print(f"  China->EU27 land TEU change: {out['change']:+.1%}")
    diversion = out["diversion"]
    if diversion["off_russia_teu"] > 0:
        print(f"  China<->EU27 land TEU moved off Russia/Belarus: {diversion['off_russia_teu']:,.0f}; to sea: "
              f"{diversion['to_sea_teu']:,.0f} ({diversion['to_sea_share']:.0%})")
    print(f"  largest utilisation of a capacity the scenario loads more: {diversion['max_raised_utilisation']:.0%}"
          + ("" if out["method"] in ("ue", "sue") else f" (method {out['method']} ignores capacities; --method sue "
             "honours them)"))
    return 0


def run_run(args) -> int:
    from corridors.scenarios import run_scenario

    if getattr(args, "year", None) is not None:
        return _run_year(args)
    network = _network(args)
    result = run_scenario(args.scenario_name, network=network, geodata=args.geodata, method=args.method,
                          through=args.through, from_=args.from_, to=args.to)
    if args.json:
        print(json.dumps(result.to_dict(args.links), indent=2))
    else:
        print(result.summary(args.links))
    return 0


def run_sweep(args) -> int:
    from corridors._errors import QueryError
    from corridors.scenarios import sweep

    if args.workers is not None and args.workers < 0:
        raise QueryError(f"--workers must be >= 0, got {args.workers}")
    if args.output and not args.output.lower().endswith(".parquet"):
        raise QueryError(f"{args.output}: the sweep table is written as Parquet; use a .parquet file name")
    check_output(args.output)
    year = getattr(args, "year", None)
    mode = None
    if year is not None:  # the mode choice of that year inside every draw
        from corridors.commands.core import load_params_file
        from corridors.modes import load_mode_parameters, year_network

        params = load_params_file(args.params)
        network = year_network(args.geodata, year, params)
        mode = load_mode_parameters(network.geodata, params)
    else:
        network = _network(args)
    result = sweep(args.scenario_name, draws=args.draws, seed=args.seed, method=args.method, workers=args.workers,
                   scheduler=args.scheduler, network=network, geodata=args.geodata, through=args.through,
                   from_=args.from_, to=args.to, progress=False if args.no_progress else None, year=year, mode=mode)
    if args.output:
        path = result.to_parquet(args.output)
        print(f"wrote {result.draws} draws to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
    else:
        print(result.summary())
    return 0
