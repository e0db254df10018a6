"""The ``map`` command: write an interactive, self-contained HTML map.

``corridors map --kind network|flows|compare [-o PATH] [--geodata DIR] [--params FILE] [--method M]
[--baseline-method M] [--scenario NAME_OR_PATH] [--through KAZ --from CHN --to EU] [--tiles NAME]
[--self-contained/--no-self-contained]``

folium, geopandas and the model are imported inside the handler only.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from corridors._errors import QueryError

KINDS = ("network", "flows", "compare")
METHODS = ("shortest", "logit", "ue", "sue")


def register(subparsers) -> None:
    """Register the ``map`` command."""
    p = subparsers.add_parser(
        "map",
        help="write an interactive HTML map: network, flows or compare",
        description="Write an interactive Leaflet map as one HTML file. network: corridors and nodes; "
        "flows: assigned TEU/year, transit TEU by country and the headline share; compare: the change in "
        "flows between a scenario (or a route-choice method) and a baseline. By default every script "
        "and stylesheet is inlined and no web tiles are used, so the file works offline.",
    )
    p.add_argument("--kind", choices=KINDS, default="network", help="map kind (default network)")
    p.add_argument("-o", "--output", metavar="PATH", default=None, help="HTML file to write (default maps/<kind>.html)")
    p.add_argument(
        "--geodata",
        metavar="DIR",
        default=None,
        help="geodata folder with the layout of the shipped one (default: the shipped data)",
    )
    p.add_argument(
        "--params",
        metavar="FILE",
        default=None,
        help="TOML file of model parameters overriding geodata/parameters.toml (e.g. from 'corridors calibrate')",
    )
    p.add_argument(
        "--method",
        default=None,
        choices=METHODS,
        help="route choice for flows/compare (default: the scenario's method, else logit; a scenario with --year: "
        "else sue, which honours the declared capacities)",
    )
    p.add_argument(
        "--baseline-method",
        default="shortest",
        choices=METHODS,
        help="compare without --scenario: route choice of the baseline, compared with --method (default shortest)",
    )
    p.add_argument(
        "--scenario",
        metavar="NAME_OR_PATH",
        default=None,
        help="bundled scenario name or .toml file (see 'corridors scenario list'): network and flows show the "
        "scenario, compare shows scenario minus its baseline",
    )
    p.add_argument(
        "--through", metavar="REGION", default="KAZ", help="country or region of the headline share (default KAZ)"
    )
    p.add_argument(
        "--from", dest="from_", metavar="REGION", default="CHN", help="origin of the headline share (default CHN)"
    )
    p.add_argument("--to", metavar="REGION", default="EU", help="destination of the headline share (default EU)")
    p.add_argument(
        "--tiles",
        metavar="NAME",
        default=None,
        help="web tiles under the map, e.g. OpenStreetMap or a URL template .../{z}/{x}/{y}.png (needs network when "
        "viewed; default: none, land drawn from geodata/countries.geojson)",
    )
    p.add_argument(
        "--self-contained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="inline Leaflet and jQuery so the file makes no network request (default on); "
        "--no-self-contained keeps CDN links",
    )
    from corridors.commands.core import add_year_option

    add_year_option(p)
    p.set_defaults(handler=run_map)


def _run_scenario(args, network):
    """Run ``args.scenario`` against the network with :mod:`corridors.scenarios`.

    Returns the :class:`~corridors.scenarios.ScenarioResult` (``.result``: the scenario's
    assignment, ``.baseline``: the base case with the same method).
    """
    if importlib.util.find_spec("corridors.scenarios") is None:  # pragma: no cover - always shipped now
        raise QueryError(
            f"--scenario {args.scenario}: scenarios are not available in this version; "
            "use --kind compare --baseline-method METHOD to compare route-choice methods"
        )
    from corridors.scenarios import run_scenario

    if getattr(args, "year", None) is not None:
        return _YearRun(args, network)
    return run_scenario(
        args.scenario, network=network, method=args.method, through=args.through, from_=args.from_, to=args.to
    )


class _YearRun:
    """A scenario and its baseline in a model year, both with the mode choice (``--year``)."""

    def __init__(self, args, network):
        from corridors.modes import assign_year, load_mode_parameters, scenario_method
        from corridors.scenarios import apply_scenario, load_scenario

        self.scenario = load_scenario(args.scenario, geodata=network.geodata)
        self.method = scenario_method(self.scenario, args.method)
        self.baseline_name = f"baseline {args.year}"
        mode = load_mode_parameters(network.geodata)
        self.result = assign_year(apply_scenario(network, self.scenario), args.year, method=self.method, mode=mode,
                                  on_unreachable="strand")[0]
        self.baseline = assign_year(network, args.year, method=self.method, mode=mode)[0]


def _assign(args, network, method):
    """Assign ``network``; with ``--year`` after the mode choice of that year."""
    from corridors.assignment import assign

    if getattr(args, "year", None) is None:
        return assign(network, method=method)
    from corridors.modes import assign_year

    return assign_year(network, args.year, method=method)[0]


def run_map(args) -> int:
    """Build the requested map and write it atomically."""
    from corridors._io import check_target
    from corridors._progress import progress_bar
    from corridors.commands.core import load_params_file
    from corridors.maps import compare_map, flow_map, network_map, save_map
    from corridors.network import load_network

    output = Path(args.output) if args.output else Path("maps") / f"{args.kind}.html"
    check_target(output)  # a bad -o fails before the network is loaded and assigned
    steps = {"network": 3, "flows": 4, "compare": 5}[args.kind]
    with progress_bar(total=steps, desc=f"map {args.kind}", unit="step") as bar:
        bar.set_postfix_str("loading the network")
        if getattr(args, "year", None) is not None:
            from corridors.modes import year_network

            network = year_network(args.geodata, args.year, load_params_file(args.params))
        else:
            network = load_network(args.geodata, params=load_params_file(args.params))
        bar.update()
        common = {"tiles": args.tiles, "self_contained": args.self_contained}
        query = {"through": args.through, "from_": args.from_, "to": args.to}
        if args.kind == "network":
            if args.scenario:
                from corridors.scenarios import apply_scenario, load_scenario

                network = apply_scenario(network, load_scenario(args.scenario, geodata=network.geodata))
            bar.set_postfix_str("drawing")
            m = network_map(network, **common)
        elif args.kind == "flows":
            bar.set_postfix_str("assigning the demand")
            if args.scenario:
                result = _run_scenario(args, network).result
            else:
                result = _assign(args, network, args.method or "logit")
            bar.update()
            bar.set_postfix_str("drawing")
            m = flow_map(result, **query, **common)
        else:
            if args.scenario:
                bar.set_postfix_str("running the scenario and its baseline")
                run = _run_scenario(args, network)
                result, baseline = run.result, run.baseline
                labels = (run.scenario.name, f"{run.baseline_name} ({run.method})")
                bar.update(2)
            else:
                method = args.method or "logit"
                if method == args.baseline_method:
                    raise QueryError(
                        f"--kind compare: --method and --baseline-method are both '{method}'; "
                        "pass --scenario NAME_OR_PATH or a different --baseline-method"
                    )
                bar.set_postfix_str(f"assigning the demand ({method})")
                result = _assign(args, network, method)
                bar.update()
                bar.set_postfix_str(f"assigning the demand ({args.baseline_method})")
                baseline = _assign(args, network, args.baseline_method)
                bar.update()
                labels = (method, args.baseline_method)
            bar.set_postfix_str("drawing")
            m = compare_map(result, baseline, labels=labels, **query, **common)
        bar.update()
        bar.set_postfix_str("writing")
        path = save_map(m, output, check=args.self_contained)
        bar.update()
    size_kb = path.stat().st_size / 1024
    assets = "self-contained" if args.self_contained else "CDN assets"
    print(f"wrote {path} ({args.kind} map, {size_kb:,.0f} kB, {assets})")
    return 0
