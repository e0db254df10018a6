"""Cold-start time of `corridors share` and the time of one `assign` call on the shipped data.

Run: python benchmarks/bench_share.py [--repeat N]

Figures printed:
- CLI cold start, first run ever (empty cache: layers validated, routes enumerated);
- CLI cold start, later runs (a new process each time; the layer and route caches are warm);
- the route enumeration (choice sets of every OD pair, no disk cache), then one `assign`
  call per method in the same process (choice sets already built, as when a user assigns
  twice or compares methods).
Target (issue 2): under 1.0 s for the CLI cold start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _cli(env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "corridors.cli", "share", "--through", "KAZ", "--from", "CHN", "--to", "EU", "--json"],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CORRIDORS_CACHE_DIR": cache}
        first = _cli(env)
        warm = [_cli(env) for _ in range(args.repeat)]
        print(f"corridors share (CLI, new process, empty cache):  {first:6.2f} s")
        print(f"corridors share (CLI, new process, warm cache):   {statistics.median(warm):6.2f} s "
              f"(median of {args.repeat}; min {min(warm):.2f}, max {max(warm):.2f}); target < 1.0 s")

    os.environ["CORRIDORS_NO_CACHE"] = "1"
    import corridors
    from corridors.assignment import route_key, route_sets

    start = time.perf_counter()
    net = corridors.load_network()
    load = time.perf_counter() - start
    print(f"load_network (validate layers, build graph):       {load:6.2f} s "
          f"({len(net.node_records)} nodes, {len(net.link_records)} links, "
          f"{net.graph.number_of_nodes()} graph nodes, {net.graph.number_of_edges()} graph edges)")
    pairs = {route_key(r) for r in net.demand_rows}
    start = time.perf_counter()
    sets = route_sets(net, pairs)
    seconds = time.perf_counter() - start
    sizes = sorted(len(s) for s in sets.values())
    print(f"route sets ({len(pairs)} OD pairs, the demand's mode masks):  {seconds:6.2f} s "
          f"({sum(sizes)} routes; per pair min {sizes[0]}, median {sizes[len(sizes) // 2]}, max {sizes[-1]})")
    for method in ("shortest", "logit", "ue", "sue"):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            result = corridors.assign(net, method=method)
            share = result.share_through("KAZ", from_="CHN", to="EU")
            times.append(time.perf_counter() - start)
        print(f"assign(method={method!r:<10}) + share (choice sets built): {statistics.median(times):6.2f} s "
              f"-> {share.share:.1%} of CHN->EU TEU through KAZ")


if __name__ == "__main__":
    main()
