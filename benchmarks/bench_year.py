"""Issue 11 targets: `share --year` warm, a 7-year `backcast` warm, a 1,000-draw sweep with mode choice.

Run: python benchmarks/bench_year.py [--repeat N] [--draws N] [--workers N] [--year Y] [--json]

Figures printed (each CLI run is a new process, as a user runs it; "warm" means the cache
folder, a fresh temporary one, was filled by a first run that is not counted):

- ``corridors share --through KAZ --from CHN --to EU`` with and without ``--year`` (median
  of ``--repeat`` runs); target < 1 s;
- ``corridors backcast`` over 2019-2025 (median of ``--repeat`` runs); target < 10 s;
- ``corridors sweep baseline-2024-uncertainty --year Y --draws 1000 --workers 2``: the mode
  choice inside every draw (mode-choice estimates and the year's demand drawn), the whole
  command (start-up, model, starting the 2-worker Dask cluster, draws); target < 60 s on
  2 cores.  The same sweep in-process (``--workers 0``) is the reference; the two tables
  must be identical (results depend on the seed only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _run(args: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "corridors.cli", *args], check=True, env=env,
                          stdout=subprocess.PIPE, text=True)
    return time.perf_counter() - start, done.stdout


def _median(args: list[str], env: dict, repeat: int) -> tuple[float, float, float]:
    _run(args, env)  # fills the cache (not counted)
    times = [_run(args, env)[0] for _ in range(repeat)]
    return statistics.median(times), min(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--draws", type=int, default=1000, help="draws of the mode-choice sweep (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers of the sweep (default 2)")
    parser.add_argument("--year", type=int, default=2024, help="model year of share and the sweep (default 2024)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CORRIDORS_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte-compiled modules
        share = ["share", "--through", "KAZ", "--from", "CHN", "--to", "EU", "--json"]
        for label, cmd, target in (("share", share, 1.0), (f"share --year {args.year}", [*share, "--year",
                                                                                         str(args.year)], 1.0),
                                   ("backcast 2019-2025", ["backcast", "--json"], 10.0)):
            med, lo, hi = _median(cmd, env, args.repeat)
            rows.append(dict(what=label, seconds=med, min=lo, max=hi, runs=args.repeat, target=target))
            print(f"{label:<44} warm, new process: median {med:6.2f} s (min {lo:.2f}, max {hi:.2f}, "
                  f"{args.repeat} runs); target < {target:g} s", file=sys.stderr)
        sweep = ["sweep", "baseline-2024-uncertainty", "--year", str(args.year), "--draws", str(args.draws),
                 "--no-progress", "--json", "-o"]
        with tempfile.TemporaryDirectory() as out:
            ref_path, par_path = os.path.join(out, "ref.parquet"), os.path.join(out, "par.parquet")
            seconds, text = _run([*sweep, ref_path, "--workers", "0"], env)  # also fills the cache
            ref = json.loads(text)
            rows.append(dict(what=f"sweep {args.draws} draws --year {args.year}, in-process", seconds=seconds,
                             draws_seconds=ref["seconds"], target=None))
            seconds, text = _run([*sweep, par_path, "--workers", str(args.workers)], env)
            par = json.loads(text)
            rows.append(dict(what=f"sweep {args.draws} draws --year {args.year}, {args.workers} workers",
                             seconds=seconds, draws_seconds=par["seconds"], target=60.0))
            import pandas as pd
            import pandas.testing as pdt

            pdt.assert_frame_equal(pd.read_parquet(ref_path), pd.read_parquet(par_path))
            land = ref["percentiles"]["land_teu:china_europe"]
        for row in rows[-2:]:
            print(f"{row['what']:<44} whole command {row['seconds']:6.2f} s (draws {row['draws_seconds']:.2f} s)"
                  + (f"; target < {row['target']:g} s" if row["target"] else ""), file=sys.stderr)
        print(f"identical tables in-process and on {args.workers} workers: yes; China->EU27 land TEU "
              f"p5 {land['p5']:,.0f}, p50 {land['p50']:,.0f}, p95 {land['p95']:,.0f}", file=sys.stderr)
    if args.json:
        print(json.dumps(dict(cpus=os.cpu_count(), load=os.getloadavg(), runs=rows), indent=2))
    else:
        print(f"{'what':<44} {'seconds':>8} {'target':>8}")
        for row in rows:
            target = f"< {row['target']:g}" if row["target"] else ""
            print(f"{row['what']:<44} {row['seconds']:>8.2f} {target:>8}")
        print(f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
