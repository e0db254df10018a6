"""Fit the mode choice (sea against land) on 2019 and 2024 and write its covariance.

Run: python tools/fit_mode_choice.py [--geodata DIR] [--write]

Fits ``mode_scale_per_usd`` and ``land_constant_usd`` with
:func:`corridors.modes.fit_mode_parameters` on the land TEU by direction of the fitted years
(A422), starting from ``[mode_choice]`` of ``parameters.toml``; prints the estimates (to
copy into ``parameters.toml``), the residuals and the covariance.  ``--write`` writes
``<geodata>/mode_calibration.json`` (A426), which sweeps with a model year draw from.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geodata", default=None, help="geodata folder (default: the shipped one)")
    parser.add_argument("--write", action="store_true", help="write <geodata>/mode_calibration.json")
    args = parser.parse_args()

    from corridors import modes
    from corridors.years import FITTED_YEARS, load_year_tables

    tables = load_year_tables(args.geodata)
    models = {y: modes.YearModel.build(modes.year_network(args.geodata, y), y, tables) for y in FITTED_YEARS}
    start = modes.load_mode_parameters(tables.geodata)
    fitted, report = modes.fit_mode_parameters(models, tables, start=start)
    print("[mode_choice]")
    for name, value in fitted.as_dict().items():
        print(f"{name} = {value:.6g}")
    print(json.dumps({k: report[k] for k in ("residuals", "residual_sd", "names", "covariance", "not_identified")},
                     indent=2), file=sys.stderr)
    if args.write:
        path = modes.write_mode_calibration(tables.geodata / modes.MODE_CALIBRATION_FILE, fitted, report)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
