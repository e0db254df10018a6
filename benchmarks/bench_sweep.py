"""Draws per second of `corridors sweep` for the logit and equilibrium methods, 1 and 2 workers.

Run: python benchmarks/bench_sweep.py [--scenario NAME] [--draws N] [--eq-draws N]
     [--workers 1,2] [--methods logit,sue,ue] [--geodata DIR] [--json]

For each method and worker count it runs the same sweep (same seed) on a Dask
``LocalCluster`` of worker processes and reports:

- cold: wall time of the draws including starting the cluster (what ``corridors sweep``
  costs on the command line, model building excluded), and draws per second;
- warm: the same draws on a cluster that is already running (scatter of the model, tasks,
  gathering), and draws per second;
- in-process: the draws in this process without Dask (``--workers 0``), as the reference.

The model (scenario network, choice sets, arrays) is built once before timing and its
build time is reported separately.  Every run must give the identical table: the script
checks it (results depend on the seed only, never on the number of workers).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline-2024-uncertainty", help="scenario with [[uncertain]] inputs")
    parser.add_argument("--draws", type=int, default=1000, help="draws for logit (default 1000)")
    parser.add_argument("--eq-draws", type=int, default=100, help="draws for ue/sue (default 100)")
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--methods", default="logit,sue,ue", help="methods (default logit,sue,ue)")
    parser.add_argument("--geodata", default=None, help="geodata folder (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    import logging

    import pandas.testing as pdt
    from dask.distributed import Client, LocalCluster

    from corridors.network import load_network
    from corridors.scenarios import sweep

    cache = os.environ.get("CORRIDORS_CACHE_DIR") or tempfile.mkdtemp(prefix="corridors-bench-")
    os.environ["CORRIDORS_CACHE_DIR"] = cache
    start = time.perf_counter()
    network = load_network(args.geodata)
    load_s = time.perf_counter() - start
    rows = []
    print(f"cpus: {os.cpu_count()}; scenario {args.scenario}; load_network {load_s:.1f} s", file=sys.stderr)
    for method in methods:
        draws = args.draws if method in ("logit", "shortest") else args.eq_draws
        reference = sweep(args.scenario, network=network, draws=draws, seed=args.seed, method=method, workers=0)
        rows.append(dict(method=method, workers=0, mode="in-process", draws=draws, seconds=reference.seconds,
                         draws_per_second=reference.draws_per_second, setup_seconds=reference.setup_seconds))
        for n in workers:
            cold = sweep(args.scenario, network=network, draws=draws, seed=args.seed, method=method, workers=n)
            pdt.assert_frame_equal(cold.table, reference.table)
            rows.append(dict(method=method, workers=n, mode="cold", draws=draws, seconds=cold.seconds,
                             draws_per_second=cold.draws_per_second, setup_seconds=cold.setup_seconds))
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
                warm = sweep(args.scenario, network=network, draws=draws, seed=args.seed, method=method,
                             scheduler=client)
            pdt.assert_frame_equal(warm.table, reference.table)
            rows.append(dict(method=method, workers=n, mode="warm", draws=draws, seconds=warm.seconds,
                             draws_per_second=warm.draws_per_second, setup_seconds=warm.setup_seconds))
        for row in rows[-(1 + 2 * len(workers)):]:
            print(f"{row['method']:<8} {row['mode']:<10} workers={row['workers']} {row['draws']:>5} draws "
                  f"{row['seconds']:8.2f} s {row['draws_per_second']:10.1f} draws/s "
                  f"(model build {row['setup_seconds']:.1f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps(dict(scenario=args.scenario, cpus=os.cpu_count(), load_seconds=load_s, runs=rows), indent=2))
    else:
        print(f"{'method':<8} {'mode':<10} {'workers':>7} {'draws':>6} {'seconds':>9} {'draws/s':>10}")
        for row in rows:
            print(f"{row['method']:<8} {row['mode']:<10} {row['workers']:>7} {row['draws']:>6} "
                  f"{row['seconds']:>9.2f} {row['draws_per_second']:>10.1f}")
        print("identical tables for every worker count: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
