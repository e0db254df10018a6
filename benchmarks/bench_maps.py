"""Build time and file size of each map kind on the shipped data.

Run: python benchmarks/bench_maps.py [--repeat N] [--geodata DIR] [--method logit] [--json]

For each kind (network, flows, compare) it reports the median over ``--repeat`` runs of:
- build: the map function (``network_map``, ``flow_map``, ``compare_map``), i.e. GeoJSON,
  styles, tooltips and legends, given a loaded network and assignment results;
- render + save: rendering the page (inlining Leaflet and jQuery, checking for external
  assets) and writing it atomically;
and the size of the self-contained HTML file (and of the same map with CDN links).
Loading the network and assigning the demand are timed once, separately: they are the
model's cost, not the map's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def _median_time(function, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median; default 5)")
    parser.add_argument("--geodata", default=None, help="geodata folder (default: the shipped one)")
    parser.add_argument("--method", default="logit", help="route choice of the flow maps (default logit)")
    parser.add_argument("--baseline-method", default="shortest", help="baseline of the compare map")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    start = time.perf_counter()
    import corridors
    from corridors import maps

    network = corridors.load_network(args.geodata)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    result = corridors.assign(network, method=args.method)
    baseline = corridors.assign(network, method=args.baseline_method)
    assign_s = time.perf_counter() - start

    builders = {
        "network": lambda sc: maps.network_map(network, self_contained=sc),
        "flows": lambda sc: maps.flow_map(result, self_contained=sc),
        "compare": lambda sc: maps.compare_map(
            result, baseline, labels=(args.method, args.baseline_method), self_contained=sc
        ),
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, build in builders.items():
            build_s, m = _median_time(lambda build=build: build(True), args.repeat)
            target = Path(folder) / f"{kind}.html"
            save_s, _ = _median_time(lambda m=m, target=target: maps.save_map(m, target), args.repeat)
            size = target.stat().st_size
            cdn = Path(folder) / f"{kind}-cdn.html"
            maps.save_map(build(False), cdn)
            rows.append(
                {
                    "kind": kind,
                    "build_s": round(build_s, 4),
                    "render_save_s": round(save_s, 4),
                    "size_kb": round(size / 1024, 1),
                    "size_cdn_kb": round(cdn.stat().st_size / 1024, 1),
                }
            )
    summary = {
        "links": len(network.links),
        "nodes": len(network.nodes),
        "countries": len(network.countries),
        "load_network_s": round(load_s, 3),
        "assign_s": round(assign_s, 3),
        "repeat": args.repeat,
        "maps": rows,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"shipped data: {summary['links']} links, {summary['nodes']} nodes, {summary['countries']} countries; "
        f"load_network {load_s:.2f} s, assign ({args.method} + {args.baseline_method}) {assign_s:.2f} s (not map time)"
    )
    print(f"median of {args.repeat} runs")
    print(f"{'kind':<9} {'build':>9} {'render+save':>12} {'file (inlined)':>15} {'file (CDN)':>11}")
    for row in rows:
        print(
            f"{row['kind']:<9} {row['build_s'] * 1000:7.0f} ms {row['render_save_s'] * 1000:9.0f} ms "
            f"{row['size_kb']:12,.0f} kB {row['size_cdn_kb']:8,.0f} kB"
        )


if __name__ == "__main__":
    main()
