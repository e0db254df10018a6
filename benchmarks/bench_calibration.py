"""Runtime of `corridors calibrate` on the shipped data, and of one objective evaluation.

Run: python benchmarks/bench_calibration.py [--repeat N]

Figures printed:
- the whole calibration (route enumeration at the start and after each round included), with an
  empty route cache, for ``--fit segments`` (the CLI default: every segment's logit scale and the
  declared gateway constants, jointly; how the shipped parameters are made) and ``--fit theta,vot``,
  and whether repeated runs give identical parameters (determinism);
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
        from corridors.calibration import _base_values, _Objective, _resolve_fit, build_choice_set, calibrate
        from corridors.observed import read_observed

        start = time.perf_counter()
        network = corridors.load_network()
        print(f"load_network:                         {time.perf_counter() - start:7.2f} s")
        figures = read_observed(network.geodata / "observed.csv", network=network, year=network.params.year)
        start = time.perf_counter()
        choice = build_choice_set(network, figures)
        print(f"choice set (route enumeration):       {time.perf_counter() - start:7.2f} s "
              f"({len(choice.rows)} demand rows, {len(choice.routes)} routes, {len(figures)} figures)")

        names = _resolve_fit(["segments"], type(network.params), network.params, choice.rows)
        base = _base_values(network.params, choice.rows)
        base.update({n: base.get(n, network.params.logit_theta_per_usd) for n in names if n.startswith("theta:")})
        objective = _Objective(choice, names, base)
        x = np.array([np.log(base[n]) if n.startswith("theta:") else base[n] for n in names])
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            objective.residuals(x)
            times.append(time.perf_counter() - t0)
        print(f"one objective evaluation:             {statistics.median(times) * 1e3:7.3f} ms (median of 200)")

        for fit in (("segments",), ("theta", "vot")):
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
