"""``corridors backcast``: the model years 2019–2025 against their observed figures."""

from __future__ import annotations

import argparse
import json
import sys

from corridors.commands.core import add_geodata_option, add_method_option, check_output, load_params_file


def _years(text: str) -> tuple[int, ...]:
    from corridors.years import MODEL_YEARS

    try:
        if "-" in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            years = tuple(range(lo, hi + 1))
        else:
            years = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected years such as 2019-2025 or 2019,2024, got {text!r}") from None
    bad = [y for y in years if y not in MODEL_YEARS]
    if bad or not years:
        raise argparse.ArgumentTypeError(
            f"no data for year {bad[0] if bad else text}; years available: {MODEL_YEARS[0]}–{MODEL_YEARS[-1]}")
    return years


def register(subparsers) -> None:
    """Register ``backcast``."""
    p = subparsers.add_parser(
        "backcast",
        help="run the model years 2019-2025 and compare them with the observed figures",
        description="Per year: China->EU27 and EU27->China TEU by mode, the share through Kazakhstan, the TEU "
        "through Russia, the Middle Corridor TEU, and every observed figure of the year with its error, marked "
        "fitted (2019, 2024) or predicted.",
    )
    p.add_argument("--years", type=_years, default=None, help="years, e.g. 2019-2025 (default) or 2019,2024")
    p.add_argument("--json", action="store_true", help="print one JSON object with a 'years' member")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write an offline HTML report")
    add_method_option(p)
    add_geodata_option(p, scenario=False)
    p.set_defaults(handler=run_backcast)


def run_backcast(args) -> int:
    from pathlib import Path

    from corridors.backcast import backcast, backcast_html
    from corridors.years import MODEL_YEARS

    check_output(args.output)
    years = backcast(args.years or MODEL_YEARS, geodata=args.geodata, method=args.method,
                     params=load_params_file(args.params))
    if args.output is not None:
        from corridors._io import atomic_path

        with atomic_path(Path(args.output)) as tmp:
            tmp.write_text(backcast_html(years), encoding="utf-8")
        print(f"wrote the backcast report to {args.output}", file=sys.stderr)
    if args.json:
        print(json.dumps({"years": years}, indent=2))
        return 0
    print(f"{'year':<6}{'role':<10}{'CN->EU land':>12}{'observed':>10}{'CN->EU sea':>12}{'EU->CN land':>12}"
          f"{'observed':>10}{'via KAZ':>9}{'via RUS':>10}{'Middle C.':>10}")
    for y in years:
        ce, ec = y["by_mode"]["china_europe"], y["by_mode"]["europe_china"]
        print(f"{y['year']:<6}{'fitted' if y['fitted'] else 'predicted':<10}{ce['land']:>12,.0f}"
              f"{y['observed_land']['china_europe']:>10,.0f}{ce['sea']:>12,.0f}{ec['land']:>12,.0f}"
              f"{y['observed_land']['europe_china']:>10,.0f}{y['share_through_kaz']:>9.1%}"
              f"{y['teu_through_russia']:>10,.0f}{y['middle_corridor_teu']:>10,.0f}")
    return 0
