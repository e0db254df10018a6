"""Runtime of `corridors calibrate` on the shipped data, and of one objective evaluation.

Run: python benchmarks/bench_calibration.py [--repeat N]

Figures printed:
- the whole calibration (route enumeration at the start and after each round included), with an
  empty route cache, for ``--fit theta,vot`` (the CLI default) and ``--fit theta`` (how the shipped
  parameters were made), and whether repeated runs give identical parameters (determinism);
- the route enumeration alone (the choice set of every base-year demand row);
- one evaluation of the objective (route costs and path-size logit shares of every route,
  vectorised; no route is rebuilt), median of many.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="full calibrations to run (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CORRIDORS_CACHE_DIR"] = cache
        import numpy as np

        import corridors
        from corridors.calibration import DEFAULT_FIT, _Objective, build_choice_set, calibrate
        from corridors.observed import read_observed

        start = time.perf_counter()
        network = corridors.load_network()
        print(f"load_network:                         {time.perf_counter() - start:7.2f} s")
        figures = read_observed(network.geodata / "observed.csv", network=network, year=network.params.year)
        start = time.perf_counter()
        choice = build_choice_set(network, figures)
        print(f"choice set (route enumeration):       {time.perf_counter() - start:7.2f} s "
              f"({len(choice.rows)} demand rows, {len(choice.routes)} routes, {len(figures)} figures)")

        base = {n: float(getattr(network.params, n)) for n in
                ("logit_theta_per_usd", "value_of_time_usd_per_teu_h", "path_size_beta")}
        objective = _Objective(choice, DEFAULT_FIT, base)
        x = np.log([base[n] for n in DEFAULT_FIT])
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            objective.residuals(x)
            times.append(time.perf_counter() - t0)
        print(f"one objective evaluation:             {statistics.median(times) * 1e3:7.3f} ms (median of 200)")

        for fit in (("theta", "vot"), ("theta",)):
            results = []
            for run in range(args.repeat):
                os.environ["CORRIDORS_CACHE_DIR"] = tempfile.mkdtemp(dir=cache)  # an empty route cache each run
                network = corridors.load_network()
                start = time.perf_counter()
                result = calibrate(network, fit=fit)
                elapsed = time.perf_counter() - start
                results.append(result)
                print(f"calibrate --fit {','.join(fit)}, run {run + 1} (empty route cache): {elapsed:7.2f} s  "
                      f"({result.rounds} round(s), {result.evaluations} evaluations, converged {result.converged})")
            fitted = results[0].fitted
            print("  calibrated: " + ", ".join(f"{k} = {v:.6g}" for k, v in fitted.items()))
            same = all(r.fitted == fitted for r in results[1:])
            print(f"  deterministic (identical parameters in every run): {same}")


if __name__ == "__main__":
    main()
