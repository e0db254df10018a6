"""Runtime of the 2019–2025 backcast and of ``share --year`` (mode choice, issue 11).

Run: python benchmarks/bench_backcast.py [--repeat N]

Figures printed (warm: the layer and route caches filled by a first run):
- ``corridors backcast`` over the seven years, in one process (network of each year, mode
  choice, route choice, every observed figure);
- ``corridors share --year 2024`` in one process (CLI start-up excluded);
- one evaluation of the mode split of a year for new parameters (what the fit repeats).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm runs to time (default 3)")
    args = parser.parse_args()
    from corridors import modes
    from corridors.backcast import backcast
    from corridors.cli import main as cli

    start = time.perf_counter()
    backcast()
    print(f"backcast 2019-2025, first run in this process: {time.perf_counter() - start:.2f} s")
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        backcast()
        runs.append(time.perf_counter() - start)
    print(f"backcast 2019-2025, warm: median {statistics.median(runs):.2f} s over {len(runs)} runs")
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        cli(["share", "--year", "2024", "--json"])
        runs.append(time.perf_counter() - start)
    print(f"share --year 2024, warm: median {statistics.median(runs):.2f} s")
    model = modes.YearModel.build(modes.year_network(None, 2024), 2024)
    mode = modes.load_mode_parameters()
    start = time.perf_counter()
    n = 200
    for _ in range(n):
        model.split(mode)
    print(f"mode split of one year: {(time.perf_counter() - start) / n * 1e3:.2f} ms per evaluation")


if __name__ == "__main__":
    main()
