"""The ``tntp`` command: solve a TNTP test network to user equilibrium."""

from __future__ import annotations

import argparse
import json
import math
import sys

from corridors._errors import TNTPError

#: Upper bounds of the size options (documented in the help).
MAX_ITER_LIMIT = 1_000_000
WORKERS_LIMIT = 1024


def _weights(text: str) -> dict[str, float]:
    """Parse ``toll=0.02,distance=0.04`` into a dict."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("toll", "distance"):
            raise argparse.ArgumentTypeError(
                f"expected toll=NUMBER,distance=NUMBER, got {part!r}")
        try:
            out[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}: expected a number, got {value!r}") from None
        if not math.isfinite(out[key]) or out[key] < 0:
            raise argparse.ArgumentTypeError(f"{key}: weight must be a finite number >= 0, "
                                             f"got {value.strip()!r}")
    return out


def register(subparsers) -> None:
    """Register the ``tntp`` command."""
    p = subparsers.add_parser(
        "tntp", help="solve a TNTP test network (user equilibrium) and write link flows",
        description="Read a TNTP network and trip table, solve the user equilibrium by "
        "Frank-Wolfe, conjugate or bi-conjugate Frank-Wolfe and print a short summary (a "
        "progress bar on a terminal; -v prints every iteration).  NETWORK is a shipped "
        "network's name (SiouxFalls), a folder with one *_net.tntp and one *_trips.tntp file, "
        "or a *_net.tntp file (then TRIPS defaults to the *_trips.tntp file beside it).  "
        "Other networks: https://github.com/bstabler/TransportationNetworks.  Exits 1 if "
        "--max-iter is reached before --gap only with --strict; 2 on bad input.",
    )
    p.add_argument("net", metavar="NETWORK",
                   help="SiouxFalls, a folder of TNTP files, or a *_net.tntp file")
    p.add_argument("trips", metavar="TRIPS", nargs="?", default=None,
                   help="*_trips.tntp file (default: beside the network file)")
    p.add_argument("--algorithm", choices=("fw", "cfw", "bfw"), default="bfw",
                   help="Frank-Wolfe, conjugate or bi-conjugate Frank-Wolfe (default bfw)")
    p.add_argument("--gap", type=float, default=1e-4,
                   help="target relative gap, a finite number > 0 (default 1e-4)")
    p.add_argument("--max-iter", type=int, default=1000, metavar="N",
                   help=f"maximum iterations, 1 to {MAX_ITER_LIMIT:,} (default 1000)")
    p.add_argument("--cost-weights", type=_weights, default={}, metavar="toll=W,distance=W",
                   help="generalised cost: time units per toll unit and per distance unit, added "
                   "to the fixed part of the link cost (Chicago Sketch: toll=0.02,distance=0.04)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help=f"threads for shortest paths (0: one per CPU; at most {WORKERS_LIMIT}; "
                   "default 1); results do not depend on it")
    p.add_argument("--compare", metavar="FLOW", nargs="?", const="auto", default=None,
                   help="compare the volumes with a *_flow.tntp best-known solution (alone: "
                   "the one beside the network file)")
    p.add_argument("-o", "--output", dest="out", metavar="CSV", default=None,
                   help="write link volumes and costs here (init_node,term_node,volume,cost)")
    p.add_argument("--out", dest="out", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if the gap is not reached within --max-iter")
    p.set_defaults(handler=run_tntp)


def _check_options(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.gap) and args.gap > 0):
        raise TNTPError(f"--gap must be a finite number > 0, got {args.gap}")
    if not 1 <= args.max_iter <= MAX_ITER_LIMIT:
        raise TNTPError(f"--max-iter must be 1 to {MAX_ITER_LIMIT:,}, got {args.max_iter}")
    if not 0 <= args.workers <= WORKERS_LIMIT:
        raise TNTPError(f"--workers must be 0 to {WORKERS_LIMIT}, got {args.workers}")


def run_tntp(args: argparse.Namespace) -> int:
    """Handle ``corridors tntp``."""
    import numpy as np

    from corridors import equilibrium as eq
    from corridors import tntp

    _check_options(args)
    net_path, trips_path, flow_path = tntp.locate(args.net, args.trips)
    compare = args.compare
    if compare == "auto":
        if flow_path is None:
            raise TNTPError(f"--compare: no *_flow.tntp file beside {net_path.name}; name one")
        compare = flow_path
    net = tntp.read_network(net_path)
    trips = tntp.read_trips(trips_path, net)
    best = tntp.read_flows(compare).aligned(net) if compare else None
    arrays = net.link_arrays()
    fixed = net.fixed_cost(toll=args.cost_weights.get("toll", 0.0),
                           distance=args.cost_weights.get("distance", 0.0))
    from corridors._progress import progress_bar

    # -v prints every iteration instead; --json keeps stderr for errors only
    bar = progress_bar(total=args.max_iter, unit="it", desc=f"tntp {net_path.name}",
                       enabled=False if (args.json or args.verbose) else None)

    def show(rec: eq.IterationRecord) -> None:
        if args.verbose and not args.json:
            print(f"{rec.iteration:5d}  gap {rec.relative_gap:.3e}  beckmann "
                  f"{rec.beckmann:.10g}  step {rec.step:.4f}  {rec.seconds:7.2f} s", flush=True)
        bar.update(1)
        bar.set_postfix_str(f"gap {rec.relative_gap:.2e}", refresh=False)

    try:
        res = eq.user_equilibrium(
            arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
            algorithm=args.algorithm, gap=args.gap, max_iter=args.max_iter,
            fixed_cost=fixed if fixed.any() else None, workers=args.workers, callback=show)
    finally:
        bar.close()
    if not (np.all(np.isfinite(res.flows)) and math.isfinite(res.relative_gap)):
        raise TNTPError(f"{net_path.name}: the assignment gave non-finite flows; check the "
                        "network's capacities and volume-delay parameters")
    report = {
        "network": net.path.name,
        "algorithm": args.algorithm,
        "iterations": len(res.iterations),
        "relative_gap": res.relative_gap,
        "target_gap": args.gap,
        "beckmann": res.beckmann,
        "seconds": round(res.seconds, 4),
        "converged": res.converged,
        "links": net.n_links,
        "total_demand": float(trips.demand.sum()),
    }
    if best is not None:
        ref = eq.beckmann(arrays, best, fixed if fixed.any() else None)
        report["rms_percent_of_mean"] = float(
            100 * np.sqrt(np.mean((res.flows - best) ** 2)) / best.mean())
        report["beckmann_best_known"] = ref
        report["beckmann_relative_error"] = (res.beckmann - ref) / abs(ref) if ref else 0.0
    if args.out:
        _write_csv(args.out, net, res.flows, res.costs)
        report["out"] = str(args.out)
    if args.json:
        print(json.dumps(report))
    else:
        state = "converged" if res.converged else f"NOT converged (max-iter {args.max_iter})"
        print(f"{net.path.name}: {net.n_zones} zones, {net.n_nodes} nodes, {net.n_links} "
              f"links, {report['total_demand']:.6g} trips")
        print(f"{args.algorithm}: {state} after {report['iterations']} iterations, relative gap "
              f"{res.relative_gap:.3e}, Beckmann {res.beckmann:.10g}, {res.seconds:.2f} s")
        if best is not None:
            print(f"vs best known: RMS {report['rms_percent_of_mean']:.4f} % of mean volume, "
                  f"Beckmann relative error {report['beckmann_relative_error']:.2e}")
        if args.out:
            print(f"wrote {args.out}")
    if not res.converged:
        print(f"corridors: warning: relative gap {res.relative_gap:.3e} above --gap {args.gap:g} "
              f"after --max-iter {args.max_iter} iterations", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


def _write_csv(path: str, net, flows, costs) -> None:
    """Write link volumes and costs atomically (a killed run leaves the old file whole)."""
    from pathlib import Path

    from corridors._io import atomic_path

    target = Path(path)
    if target.exists() and not target.is_file():
        raise TNTPError(f"{path}: not a regular file; give a file name for -o")
    try:
        with atomic_path(target) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write("init_node,term_node,volume,cost\n")
                for a, b, v, c in zip(net.init_node, net.term_node, flows, costs, strict=True):
                    fh.write(f"{a},{b},{v:.10g},{c:.10g}\n")
    except OSError as exc:
        raise TNTPError(f"{path}: cannot write: {exc.strerror or exc}") from None
