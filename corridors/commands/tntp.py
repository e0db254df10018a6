"""The ``tntp`` command: solve a TNTP test network to user equilibrium."""

from __future__ import annotations

import argparse
import json
import sys

from corridors._errors import TNTPError


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
        if out[key] < 0:
            raise argparse.ArgumentTypeError(f"{key}: weight must be >= 0")
    return out


def register(subparsers) -> None:
    """Register the ``tntp`` command."""
    p = subparsers.add_parser(
        "tntp", help="solve a TNTP test network (user equilibrium) and write link flows",
        description="Read a TNTP network and trip table, solve the user equilibrium by Frank-Wolfe, "
        "conjugate or bi-conjugate Frank-Wolfe, print the convergence and write one row per "
        "link: init_node,term_node,volume,cost.  Exits 1 if --max-iter is reached before "
        "--gap only with --strict.",
    )
    p.add_argument("net", metavar="NET", help="*_net.tntp file")
    p.add_argument("trips", metavar="TRIPS", help="*_trips.tntp file")
    p.add_argument("--algorithm", choices=("fw", "cfw", "bfw"), default="bfw",
                   help="Frank-Wolfe, conjugate or bi-conjugate Frank-Wolfe (default bfw)")
    p.add_argument("--gap", type=float, default=1e-4, help="target relative gap (default 1e-4)")
    p.add_argument("--max-iter", type=int, default=1000, metavar="N",
                   help="maximum iterations (default 1000)")
    p.add_argument("--cost-weights", type=_weights, default={}, metavar="toll=W,distance=W",
                   help="generalised cost: time units per toll unit and per distance unit, added "
                   "to the fixed part of the link cost (Chicago Sketch: toll=0.02,distance=0.04)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes for shortest paths (0: one per CPU; default 1)")
    p.add_argument("--compare", metavar="FLOW", default=None,
                   help="a *_flow.tntp best-known solution to compare the volumes with")
    p.add_argument("--out", metavar="CSV", default=None, help="write link volumes and costs here")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if the gap is not reached within --max-iter")
    p.set_defaults(handler=run_tntp)


def run_tntp(args: argparse.Namespace) -> int:
    """Handle ``corridors tntp``."""
    import numpy as np

    from corridors import equilibrium as eq
    from corridors import tntp

    if args.gap <= 0:
        raise TNTPError(f"--gap must be > 0, got {args.gap}")
    if args.max_iter < 1:
        raise TNTPError(f"--max-iter must be >= 1, got {args.max_iter}")
    net = tntp.read_network(args.net)
    trips = tntp.read_trips(args.trips, net)
    arrays = net.link_arrays()
    fixed = net.fixed_cost(toll=args.cost_weights.get("toll", 0.0),
                           distance=args.cost_weights.get("distance", 0.0))

    def show(rec: eq.IterationRecord) -> None:
        print(f"{rec.iteration:5d}  gap {rec.relative_gap:.3e}  beckmann {rec.beckmann:.10g}  "
              f"step {rec.step:.4f}  {rec.seconds:7.2f} s", flush=True)

    res = eq.user_equilibrium(
        arrays, trips.origins - 1, trips.destinations - 1, trips.demand,
        algorithm=args.algorithm, gap=args.gap, max_iter=args.max_iter,
        fixed_cost=fixed if fixed.any() else None, workers=args.workers,
        callback=None if args.json else show)
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
    if args.compare:
        best = tntp.read_flows(args.compare).aligned(net)
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
        print(f"{args.algorithm}: {state} after {report['iterations']} iterations, relative gap "
              f"{res.relative_gap:.3e}, Beckmann {res.beckmann:.10g}, {res.seconds:.2f} s")
        if args.compare:
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
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("init_node,term_node,volume,cost\n")
            for a, b, v, c in zip(net.init_node, net.term_node, flows, costs, strict=True):
                fh.write(f"{a},{b},{v:.10g},{c:.10g}\n")
    except OSError as exc:
        raise TNTPError(f"{path}: cannot write: {exc.strerror}") from None
