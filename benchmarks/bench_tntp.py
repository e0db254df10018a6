"""Benchmark: user equilibrium on TNTP networks, corridors' engine against AequilibraE.

Solves Chicago Sketch (387 zones, 933 nodes, 2,950 links) and Berlin-Center (865 zones,
12,981 nodes, 28,376 links) with bi-conjugate Frank-Wolfe, once with
:func:`corridors.equilibrium.user_equilibrium` and once with AequilibraE, on one core and
on two, in two modes: exactly 20 iterations, and to a relative gap of 1e-4.  Every run is a
fresh child process pinned to its cores (``os.sched_setaffinity``), so the peak resident
memory it reports (``ru_maxrss``, and in brackets its growth during the solve) and its CPU
time are its own.  On a machine shared with other jobs the wall times are noisy; on one
core the CPU time (user + system) of the solve is the steadier measure.  Each figure is the median of ``--repeat``
runs; runs of the two engines alternate so that a busy machine penalises both alike.

The final flows of every run are checked with the *standard* relative gap
``(sum t x - sum t y) / sum t x`` at their own costs (AequilibraE's reported gap uses the
previous iterate's costs), so "comparable gap" can be judged.  Where a best-known solution
exists (Chicago Sketch), the RMS difference to it is printed as well.

Generalised cost: Chicago Sketch adds 0.04 minutes per mile and 0.02 minutes per cent of
toll as a fixed cost (as for its best-known flows); Berlin-Center is free-flow time + BPR.
AequilibraE refuses links with zero free-flow time, so its copy of those links (zone
connectors) gets 1e-6 minutes; the check of its flows uses the original data.

Usage::

    python benchmarks/bench_tntp.py [--repeat 3] [--cores 1 2] [--networks ChicagoSketch
                                     Berlin-Center] [--no-aequilibrae] [--data FOLDER]

The data are read from ``shared/tntp`` beside the project root (or ``$CORRIDORS_TNTP_DIR``,
or ``--data``).  Timings
exclude reading the files.  Ours cover the whole ``user_equilibrium`` call (graph
reduction, compiled kernels loaded from Numba's cache, which a warm-up run fills);
AequilibraE's cover ``TrafficAssignment.execute()`` (graph and matrix built beforehand).
Neither includes importing the engine; for ours that includes Numba loading its cached
machine code on the first call in a process (about 0.5 s, printed as "start-up").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("AEQ_SHOW_PROGRESS", "FALSE")  # no AequilibraE progress bars in timings
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corridors import equilibrium as eq  # noqa: E402
from corridors import tntp  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CORRIDORS_TNTP_DIR", ROOT.parent / "shared" / "tntp"))
#: Generalised-cost weights per network: minutes per cent of toll, minutes per mile.
WEIGHTS = {"ChicagoSketch": (0.02, 0.04)}
FILES = {"ChicagoSketch": "ChicagoSketch", "Berlin-Center": "berlin-center",
         "SiouxFalls": "SiouxFalls"}


def load(data: Path, name: str):
    """Read a network; return network, trips, fixed costs (or None), best-known volumes."""
    folder, stem = data / name, FILES.get(name, name)
    net = tntp.read_network(folder / f"{stem}_net.tntp")
    trips = tntp.read_trips(folder / f"{stem}_trips.tntp", net)
    toll, distance = WEIGHTS.get(name, (0.0, 0.0))
    fixed = net.fixed_cost(toll=toll, distance=distance)
    flow_file = folder / f"{stem}_flow.tntp"
    best = tntp.read_flows(flow_file).aligned(net) if flow_file.exists() else None
    return net, trips, (fixed if fixed.any() else None), best


def warm_up() -> float:
    """Load Numba's cached machine code once per process, as importing a compiled extension
    would (about half a second); return the seconds it took."""
    t0 = time.perf_counter()
    tiny = eq.LinkArrays(tail=[0, 1], head=[1, 2], free_cost=[1.0, 1.0], capacity=[1.0, 1.0],
                         alpha=[0.15, 0.15], beta=[4.0, 4.0], vdf=[0, 0], n_nodes=3)
    for workers in (1, 2):
        eq.user_equilibrium(tiny, [0, 1], [2, 2], [1.0, 1.0], max_iter=2, workers=workers)
    return time.perf_counter() - t0


def solve_ours(net, trips, fixed, gap: float, max_iter: int, cores: int):
    """Solve with corridors; return (seconds, CPU seconds, iterations, flows, reported gap)."""
    arrays = net.link_arrays()
    t0, c0 = time.perf_counter(), time.process_time()
    res = eq.user_equilibrium(arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
                              algorithm="bfw", gap=gap, max_iter=max_iter, fixed_cost=fixed,
                              workers=cores)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return seconds, cpu, len(res.iterations), res.flows, res.relative_gap


def solve_aequilibrae(net, trips, fixed, gap: float, max_iter: int, cores: int):
    """Solve with AequilibraE BFW; return (seconds, CPU seconds, iterations, flows, reported
    gap)."""
    import logging

    import pandas as pd
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    logging.getLogger("aequilibrae").setLevel(logging.ERROR)
    links = pd.DataFrame({
        "link_id": np.arange(1, net.n_links + 1, dtype=np.int64),
        "a_node": net.init_node, "b_node": net.term_node,
        "direction": np.ones(net.n_links, dtype=np.int8),
        "free_flow_time": np.maximum(net.free_flow_time, 1e-6),
        "capacity": net.capacity, "b": net.b, "power": net.power,
        "fixed": np.zeros(net.n_links) if fixed is None else fixed,
    })
    graph = Graph()
    graph.network = links
    graph.prepare_graph(np.arange(1, net.n_zones + 1, dtype=np.int64))
    graph.set_graph("free_flow_time")
    graph.set_skimming([])
    graph.set_blocked_centroid_flows(net.first_thru_node > 1)
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=net.n_zones, matrix_names=["trips"], memory_only=True)
    matrix.index[:] = np.arange(1, net.n_zones + 1)
    dense = np.zeros((net.n_zones, net.n_zones))
    np.add.at(dense, (trips.origins - 1, trips.destinations - 1), trips.demand)
    matrix.matrix["trips"][:, :] = dense
    matrix.computational_view(["trips"])
    cls = TrafficClass("car", graph, matrix)
    cls.set_fixed_cost("fixed")
    cls.set_vot(1.0)
    assig = TrafficAssignment()
    assig.set_classes([cls])
    assig.set_vdf("BPR")
    assig.set_vdf_parameters({"alpha": "b", "beta": "power"})
    assig.set_capacity_field("capacity")
    assig.set_time_field("free_flow_time")
    assig.set_algorithm("bfw")
    assig.max_iter = max_iter
    assig.rgap_target = gap
    assig.set_cores(cores)
    t0, c0 = time.perf_counter(), time.process_time()
    assig.execute()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = assig.results()
    flows = res["trips_tot"].reindex(np.arange(1, net.n_links + 1)).to_numpy(dtype=float)
    report = assig.assignment.convergence_report
    return seconds, cpu, len(report["rgap"]), flows, float(report["rgap"][-1])


def read_times(net, trips) -> dict[str, float]:
    """Seconds to read the network file, the trips file and to check reachability."""
    out = {}
    t0 = time.perf_counter()
    tntp.read_network(net.path)
    out["network file"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tntp.read_trips(trips.path)
    out["trips file"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tntp.check_reachable(net, trips)
    out["reachability"] = time.perf_counter() - t0
    return out


def child(spec: dict) -> dict:
    """One timed run in this (fresh) process; return its figures."""
    cores = spec["cores"]
    net, trips, fixed, best = load(Path(spec["data"]), spec["network"])
    solve = solve_ours if spec["engine"] == "corridors" else solve_aequilibrae
    startup = warm_up() if spec["engine"] == "corridors" else 0.0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, cpu, iters, flows, reported = solve(net, trips, fixed, spec["gap"],
                                                 spec["max_iter"], cores)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    arrays = net.link_arrays()
    o, d = trips.origins - 1, trips.destinations - 1
    out = {
        "seconds": seconds, "iterations": iters, "reported_gap": reported,
        "standard_gap": eq.relative_gap(arrays, o, d, trips.demand, flows, fixed_cost=fixed),
        "cpu_seconds": cpu, "peak_mb": peak / 1024, "before_mb": before / 1024,
        "startup": startup,
    }
    if best is not None:
        out["rms_pct"] = float(100 * np.sqrt(np.mean((flows - best) ** 2)) / best.mean())
    return out


def run_child(spec: dict) -> dict:
    """Run :func:`child` in a fresh interpreter (own peak memory, own core pinning)."""
    def pin() -> None:  # before the interpreter starts, so every thread inherits it
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:spec["cores"]]))

    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True, check=False, preexec_fn=pin)
    if proc.returncode != 0:
        raise RuntimeError(f"run {spec} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder holding one sub-folder per TNTP network")
    parser.add_argument("--networks", nargs="+", default=["ChicagoSketch", "Berlin-Center"])
    parser.add_argument("--cores", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--gap", type=float, default=1e-4, help="target gap of the gap runs")
    parser.add_argument("--iterations", type=int, default=20,
                        help="iterations of the fixed-iteration runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians reported")
    parser.add_argument("--no-aequilibrae", action="store_true", help="time ours only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    missing = [n for n in args.networks if not (args.data / n).is_dir()]
    if missing:
        print(f"bench_tntp: {', '.join(missing)} not found in {args.data}", file=sys.stderr)
        return 2
    engines = ["corridors"]
    if not args.no_aequilibrae:
        try:
            from importlib.metadata import version

            import aequilibrae  # noqa: F401

            engines.append("aequilibrae")
            aeq_version = version("aequilibrae")
        except ImportError as exc:
            print(f"aequilibrae not run ({exc}); pip install 'corridors[bench]'")
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.repeat} runs each, medians")
    # fill Numba's cache so that no timed run pays for compilation
    run_child({"data": str(args.data), "network": "ChicagoSketch" if "ChicagoSketch" in
               args.networks else args.networks[0], "engine": "corridors", "cores": 2,
               "gap": 1e-2, "max_iter": 2})
    modes = [("20 it", 1e-12, args.iterations), (f"gap {args.gap:g}", args.gap, 1000)]
    rows = []
    for name in args.networks:
        net, trips, _, _ = load(args.data, name)
        print(f"\n{name}: {net.n_zones} zones, {net.n_nodes} nodes, {net.n_links} links, "
              f"{trips.origins.size} OD pairs")
        print("  input: " + ", ".join(f"{k} {v:.3f} s" for k, v in read_times(net, trips).items()))
        for cores in args.cores:
            for label, gap, max_iter in modes:
                runs: dict[str, list[dict]] = {e: [] for e in engines}
                for _ in range(args.repeat):
                    for engine in engines:
                        runs[engine].append(run_child({
                            "data": str(args.data), "network": name, "engine": engine,
                            "cores": cores, "gap": gap, "max_iter": max_iter}))
                med = {}
                for engine in engines:
                    rs = runs[engine]
                    m = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                    med[engine] = m
                    rms = f"  RMS {m['rms_pct']:.3f} %" if "rms_pct" in m else ""
                    if m["startup"]:
                        rms += f"  start-up {m['startup']:.2f} s"
                    print(f"  {cores} core(s) {label:>9}  {engine:<11} {m['seconds']:7.3f} s  "
                          f"(CPU {m['cpu_seconds']:7.3f} s)  {m['iterations']:4.0f} it  "
                          f"{1000 * m['seconds'] / m['iterations']:7.1f} ms/it  std gap "
                          f"{m['standard_gap']:.2e}  peak {m['peak_mb']:4.0f} MB (+"
                          f"{m['peak_mb'] - m['before_mb']:.0f}){rms}")
                    rows.append({"network": name, "cores": cores, "mode": label,
                                 "engine": engine, **m})
                if "aequilibrae" in med:
                    ours, theirs = med["corridors"], med["aequilibrae"]
                    print(f"  {cores} core(s) {label:>9}  ratio corridors / aequilibrae: "
                          f"{ours['seconds'] / theirs['seconds']:.2f} wall, "
                          f"{ours['cpu_seconds'] / theirs['cpu_seconds']:.2f} CPU")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if "aequilibrae" in engines:
        print(f"AequilibraE {aeq_version}")
    per_it = {(r["network"], r["cores"]): r["seconds"] / r["iterations"] for r in rows
              if r["engine"] == "corridors" and r["mode"] == "20 it"}
    nets = list(dict.fromkeys(r["network"] for r in rows))
    if len(nets) == 2 and all((n, 1) in per_it for n in nets):
        size = {}
        for n in nets:
            net, trips, _, _ = load(args.data, n)
            size[n] = net.n_zones * net.n_links
        a, b = nets
        print(f"per-iteration time {b} / {a} (1 core): "
              f"{per_it[(b, 1)] / per_it[(a, 1)]:.1f}x for {size[b] / size[a]:.1f}x zones x links")
    return 0


if __name__ == "__main__":
    sys.exit(main())
