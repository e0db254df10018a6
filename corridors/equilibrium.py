"""Array engine for static traffic assignment.

All-or-nothing loading, capacity-constrained user equilibrium by the Frank-Wolfe family
(Frank-Wolfe, conjugate Frank-Wolfe, bi-conjugate Frank-Wolfe) and a path-based stochastic
user equilibrium (logit route choice with congestion; steps by exact line search on Fisk's
objective, or by the method of successive averages).

The engine works on plain NumPy arrays (:class:`LinkArrays`), built once from whatever
modelling representation the caller uses (a NetworkX graph, a TNTP file).  It knows nothing
about either.  Before the iterations start, the network is reduced once for the demand's
origins and destinations (dead ends removed, degree-2 chains contracted; exact, see
:mod:`corridors._shortest`); each all-or-nothing loading then runs one compiled Dijkstra
search per origin that stops once the origin's destinations are settled and loads its
demand in reverse settling order.  Link costs, the line search and the conjugate directions
stay on the original links, so flows, costs and objectives are those of the full network.

Memory is linear in the network and the demand: the reduced graph, the OD entries, one work
vector per node and one volume vector per chunk of origins (at most 16); nothing grows with
origins x nodes unless ``track_paths`` keeps every iteration's trees.

Units
-----
Costs are in any one unit (minutes in the TNTP networks, USD per TEU in the corridor model);
flows in any one unit (vehicles per hour, TEU per year); capacities in the flow unit.

Volume-delay functions
----------------------
Each link has a code ``vdf`` choosing its flow-dependent cost ``t(x)``; ``z = x / capacity``
and ``t0`` is the link's ``free_cost``.

``vdf = 0``, BPR
    ``t(x) = t0 * (1 + alpha * z**beta)``, with the integral
    ``T(x) = t0 * x + t0 * alpha * capacity * z**(beta + 1) / (beta + 1)``.
    ``alpha >= 0``, ``beta >= 0``; a link with ``alpha > 0`` needs ``capacity > 0``.

``vdf = 1``, queueing delay after Akcelik (1991)
    ``t(x) = t0 + alpha * ((z - 1) + sqrt((z - 1)**2 + beta * z))``.
    This is Akcelik's time-dependent queueing delay ``0.25 T ((z - 1) + sqrt((z - 1)**2 +
    8 J z / (Q T)))`` with ``alpha = T / 4`` (a quarter of the flow period, in cost units, so
    the delay does *not* scale with ``t0``: a border post's queue does not depend on its
    dwell time) and ``beta = 8 J / (Q T)``.  The delay is zero at zero flow, ``alpha *
    sqrt(beta)`` at capacity and grows like ``2 * alpha * (z - 1)`` when oversaturated: it
    stays finite for every flow (unlike Davidson's function), so an overloaded border crossing
    is expensive, never impassable.  It is convex for ``0 < beta <= 4`` (its second derivative
    is ``alpha * beta * (4 - beta) / (4 * capacity**2 * q**1.5)`` with ``q = (z - 1)**2 + beta
    * z``), which the engine requires.  Its integral (for the Beckmann objective), with
    ``b = beta / 2 - 1``, ``k2 = beta - beta**2 / 4`` and ``s = sqrt(q(z))``, is
    ``T(x) = t0 * x + alpha * capacity * (z**2 / 2 - z + S(z))``, where
    ``S(z) = ((z + b) * s - b + k2 * log((z + b + s) / (beta / 2))) / 2``.

A fixed, flow-independent cost per link (``fixed_cost``: a toll, a distance charge, a
handling fee) is added outside the volume-delay function, so it is not multiplied by BPR's
congestion term.  The link cost is ``c(x) = fixed_cost + t(x)``; the Beckmann objective is
``sum(fixed_cost * x + T(x))``.

Demand
------
Either OD pairs, three 1-D arrays ``origins``, ``destinations``, ``demand`` of equal length
(repeated pairs add up), or an origin x destination matrix (dense array or any
``scipy.sparse`` matrix) whose rows and columns are labelled by the node indices in
``origins`` and ``destinations``.  Intra-zonal demand (origin == destination) is ignored.

Zones
-----
Nodes flagged ``no_through`` (zones, centroids) may start or end a path but never be passed
through: the search does not continue from such a node unless it is the search's source.
Each tree records the link by which it reaches a node, so parallel links each carry their
own flow.

Routes
------
Link-based Frank-Wolfe keeps no paths.  With ``track_paths=True``,
:func:`user_equilibrium` stores every iteration's shortest-path trees and the weight of each
all-or-nothing loading in the final flows (the weights of the FW/CFW/BFW combinations are
non-negative), so :func:`paths_for` returns each OD pair's routes with their shares and the
route flows add up to the link flows.  :func:`stochastic_user_equilibrium` is path-based
and always keeps its routes.

Convergence
-----------
Every iteration reports the standard relative gap ``(sum c(x) x - sum c(x) y) / sum c(x) x``,
where ``y`` is the all-or-nothing loading at the costs ``c(x)`` of the current flows, the
Beckmann objective and the elapsed time.

Examples
--------
Two parallel links from node 0 to node 1; the fast one congests:

>>> import numpy as np
>>> net = LinkArrays(
...     tail=[0, 0], head=[1, 1], free_cost=[10.0, 20.0], capacity=[1000.0, 1000.0],
...     alpha=[1.0, 0.0], beta=[1.0, 1.0], vdf=[0, 0], n_nodes=2)
>>> res = user_equilibrium(net, [0], [1], [1500.0], gap=1e-9)
>>> np.round(res.flows, 3)
array([1000.,  500.])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from corridors import _shortest
from corridors._errors import CorridorsError

__all__ = [
    "BPR",
    "QUEUE",
    "EquilibriumResult",
    "IterationRecord",
    "LinkArrays",
    "Route",
    "all_or_nothing",
    "beckmann",
    "link_cost",
    "paths_for",  # noqa: F822  (from corridors.sue, see __getattr__)
    "relative_gap",
    "stochastic_user_equilibrium",  # noqa: F822
    "user_equilibrium",
]

from corridors import kernel  # noqa: E402  (volume-delay functions)
from corridors.kernel import BPR, QUEUE  # noqa: E402,F401  (codes, re-exported)

_ALGORITHMS = ("fw", "cfw", "bfw")


# --------------------------------------------------------------------------------------
# Network arrays
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LinkArrays:
    """A directed network as link arrays, the engine's input (built once).

    Parameters
    ----------
    tail, head : array of int
        Node index (``0 <= i < n_nodes``) at which each link starts and ends.
    free_cost : array of float
        Flow-dependent cost at zero flow, ``t0`` of the volume-delay function (cost unit,
        e.g. minutes or hours), ``>= 0``.
    capacity : array of float
        Capacity (flow unit), ``>= 0``; must be ``> 0`` where the link congests.
    alpha, beta : array of float
        Volume-delay parameters; their meaning depends on ``vdf`` (see the module notes).
    vdf : array of int
        Volume-delay function per link: ``0`` BPR, ``1`` Akcelik-type queueing delay.
    n_nodes : int
        Number of nodes.
    no_through : array of bool, optional
        Per node: ``True`` if paths may start or end at the node but not pass through it
        (zones/centroids).  Default: every node may be passed through.
    barrier, group : array, optional
        Capacity barrier weight per link (cost unit, ``>= 0``) and capacity group per link
        (int, ``-1`` none), see :func:`corridors.kernel.vdf_cost`.  Default: no barrier
        (the TNTP networks use plain BPR).

    Raises
    ------
    ValueError
        If the arrays disagree in length or hold values the functions cannot use.
    """

    tail: np.ndarray
    head: np.ndarray
    free_cost: np.ndarray
    capacity: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    vdf: np.ndarray
    n_nodes: int
    no_through: np.ndarray | None = None
    barrier: np.ndarray | None = None
    group: np.ndarray | None = None

    def __post_init__(self) -> None:
        conv = {
            "tail": np.int32, "head": np.int32, "free_cost": np.float64,
            "capacity": np.float64, "alpha": np.float64, "beta": np.float64, "vdf": np.int8,
        }
        for name, dtype in conv.items():
            arr = np.ascontiguousarray(np.asarray(getattr(self, name)), dtype=dtype)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        n_links = self.tail.shape[0]
        for name in conv:
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != n_links:
                raise ValueError(f"LinkArrays.{name}: expected {n_links} values, got {arr.shape}")
        n = int(self.n_nodes)
        object.__setattr__(self, "n_nodes", n)
        if n_links and (min(self.tail.min(), self.head.min()) < 0
                        or max(self.tail.max(), self.head.max()) >= n):
            raise ValueError(f"LinkArrays: node index outside 0..{n - 1}")
        for name in ("free_cost", "capacity", "alpha", "beta"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                bad = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])
                raise ValueError(f"LinkArrays.{name}: link {bad} has {arr[bad]!r}, expected >= 0")
        if np.any((self.vdf != BPR) & (self.vdf != QUEUE)):
            raise ValueError("LinkArrays.vdf: codes must be 0 (BPR) or 1 (queueing)")
        congests = (self.alpha > 0) | (self.vdf == QUEUE)
        if np.any(congests & (self.capacity <= 0)):
            bad = int(np.flatnonzero(congests & (self.capacity <= 0))[0])
            raise ValueError(f"LinkArrays.capacity: link {bad} congests but has capacity 0")
        q = self.vdf == QUEUE
        if np.any(q & ((self.beta <= 0) | (self.beta > 4))):
            bad = int(np.flatnonzero(q & ((self.beta <= 0) | (self.beta > 4)))[0])
            raise ValueError(f"LinkArrays.beta: queueing link {bad} needs 0 < beta <= 4")
        if self.barrier is not None:
            bar = np.ascontiguousarray(np.asarray(self.barrier, dtype=np.float64))
            if bar.shape != (n_links,) or not np.all(np.isfinite(bar)) or np.any(bar < 0):
                raise ValueError(f"LinkArrays.barrier: expected {n_links} finite values >= 0")
            if np.any((bar > 0) & (self.capacity <= 0)):
                raise ValueError("LinkArrays.barrier: a link with a barrier needs a capacity > 0")
            grp = np.full(n_links, -1) if self.group is None else np.asarray(self.group, dtype=np.int64)
            if grp.shape != (n_links,):
                raise ValueError(f"LinkArrays.group: expected {n_links} values")
            object.__setattr__(self, "barrier", bar)
            object.__setattr__(self, "group", grp)
        if self.no_through is not None:
            nt = np.ascontiguousarray(np.asarray(self.no_through, dtype=bool))
            if nt.shape != (n,):
                raise ValueError(f"LinkArrays.no_through: expected {n} values")
            nt.flags.writeable = False
            object.__setattr__(self, "no_through", nt)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return int(self.tail.shape[0])


# --------------------------------------------------------------------------------------
# Volume-delay functions
# --------------------------------------------------------------------------------------


# The formulas live in corridors.kernel (one copy for the engine, the corridor model, the
# sweep and the calibration); these wrappers keep the engine's LinkArrays interface.


def _queue_mask(net: LinkArrays) -> np.ndarray:
    return net.vdf == QUEUE


def link_cost(net: LinkArrays, flows: np.ndarray, fixed_cost: np.ndarray | None = None
              ) -> np.ndarray:
    """Return the cost of each link at the given flows.

    Parameters
    ----------
    net : LinkArrays
        The network.
    flows : array of float
        Link flows (flow unit).
    fixed_cost : array of float, optional
        Flow-independent cost added per link (cost unit).

    Returns
    -------
    numpy.ndarray
        ``fixed_cost + t(flows)`` per link (cost unit); see :func:`corridors.kernel.vdf_cost`.
    """
    t = kernel.vdf_cost(flows, net.free_cost, net.capacity, net.alpha, net.beta, _queue_mask(net), net.barrier,
                        net.group)
    if fixed_cost is not None:
        t += fixed_cost
    return t


def _link_cost_derivative(net: LinkArrays, flows: np.ndarray) -> np.ndarray:
    """d cost / d flow per link (cost unit per flow unit)."""
    return kernel.vdf_derivative(flows, net.free_cost, net.capacity, net.alpha, net.beta, _queue_mask(net),
                                 net.barrier, net.group)


def beckmann(net: LinkArrays, flows: np.ndarray, fixed_cost: np.ndarray | None = None
             ) -> float:
    """Return the Beckmann objective ``sum(integral_0^x c(w) dw)`` of link flows.

    Parameters
    ----------
    net : LinkArrays
        The network.
    flows : array of float
        Link flows (flow unit).
    fixed_cost : array of float, optional
        Flow-independent cost per link (cost unit), integrated as ``fixed_cost * x``.

    Returns
    -------
    float
        Objective value (cost unit times flow unit).
    """
    flows = np.asarray(flows, dtype=np.float64)
    total = float(kernel.vdf_integral(flows, net.free_cost, net.capacity, net.alpha, net.beta,
                                      _queue_mask(net), net.barrier, net.group).sum())
    if fixed_cost is not None:
        total += float(np.dot(fixed_cost, flows))
    return total


# --------------------------------------------------------------------------------------
# Demand and the loader (shortest paths and loading in corridors._shortest)
# --------------------------------------------------------------------------------------


class _Demand(NamedTuple):
    origins: np.ndarray        # original node per origin row (unique, ascending)
    ptr: np.ndarray            # CSR row pointers over the entries (int64)
    dest: np.ndarray           # original destination node per entry (ascending per row)
    value: np.ndarray          # demand per entry (flow unit, > 0)
    total: float

    def amount(self, row: int, dest: int) -> float:
        """Demand of origin row ``row`` to original node ``dest`` (0 if none)."""
        lo, hi = int(self.ptr[row]), int(self.ptr[row + 1])
        k = lo + int(np.searchsorted(self.dest[lo:hi], dest))
        return float(self.value[k]) if k < hi and self.dest[k] == dest else 0.0


def _demand(net: LinkArrays, origins: Any, destinations: Any, demand: Any) -> _Demand:
    """Normalise OD input to one CSR row of (destination, demand) entries per origin."""
    origins = np.asarray(origins, dtype=np.int64).ravel()
    destinations = np.asarray(destinations, dtype=np.int64).ravel()
    if hasattr(demand, "tocoo"):  # scipy sparse matrix
        coo = demand.tocoo()
        oi, di, val = origins[coo.row], destinations[coo.col], np.asarray(coo.data, float)
    else:
        dem = np.asarray(demand, dtype=np.float64)
        if dem.ndim == 2:
            if dem.shape != (origins.size, destinations.size):
                raise ValueError(f"demand matrix shape {dem.shape} does not match "
                                 f"{origins.size} origins x {destinations.size} destinations")
            r, c = np.nonzero(dem)
            oi, di, val = origins[r], destinations[c], dem[r, c]
        elif dem.ndim == 1:
            if not (dem.size == origins.size == destinations.size):
                raise ValueError("demand as OD pairs needs origins, destinations and demand "
                                 "of equal length")
            oi, di, val = origins, destinations, dem
        else:
            raise ValueError("demand must be 1-D (OD pairs) or 2-D (origin x destination)")
    for name, arr in (("origin", oi), ("destination", di)):
        if arr.size and (arr.min() < 0 or arr.max() >= net.n_nodes):
            raise ValueError(f"{name} node index outside 0..{net.n_nodes - 1}")
    if np.any(~np.isfinite(val)) or np.any(val < 0):
        raise ValueError("demand must be finite and >= 0")
    keep = (val > 0) & (oi != di)
    oi, di, val = oi[keep], di[keep], val[keep]
    # repeated pairs add up: one entry per (origin, destination), sorted
    key, inv = np.unique(oi * net.n_nodes + di, return_inverse=True)
    amount = np.bincount(inv, weights=val, minlength=key.size)
    o_key, d_key = key // net.n_nodes, key % net.n_nodes
    uo, row = np.unique(o_key, return_inverse=True)
    ptr = np.zeros(uo.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=uo.size), out=ptr[1:])
    return _Demand(uo, ptr, d_key, amount, float(val.sum()))


def _graph(net: LinkArrays, dem: _Demand) -> _shortest.Graph:
    """The network reduced for shortest paths between the demand's terminals."""
    terminals = np.union1d(dem.origins, dem.dest)
    return _shortest.build(net.n_nodes, net.tail, net.head, terminals, net.no_through)


class _Loader:
    """All-or-nothing loader on a fixed OD set over the reduced graph."""

    def __init__(self, net: LinkArrays, dem: _Demand, graph: _shortest.Graph,
                 workers: int) -> None:
        self.net, self.dem, self.graph, self.threads = net, dem, graph, workers
        self.sources = graph.node_of[dem.origins]
        self.dnode = graph.node_of[dem.dest]

    def load(self, cost: np.ndarray, keep_tree: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
        """Return link volumes of the AON loading at ``cost`` (and the trees if asked:
        origin rows x internal nodes, the internal edge into each node)."""
        g = self.graph
        edge_vol, trees, bad = _shortest.aon(
            g, g.weights(cost), self.sources, self.dem.ptr, self.dnode, self.dem.value,
            threads=self.threads, keep_trees=keep_tree)
        if bad >= 0:
            row = int(np.searchsorted(self.dem.ptr, bad, side="right")) - 1
            raise CorridorsError(
                f"demand {self.dem.value[bad]:g} from node {self.dem.origins[row]} to node "
                f"{self.dem.dest[bad]} cannot be routed: no path")
        return g.link_volumes(edge_vol), trees


def _workers(workers: int | None) -> int:
    if workers is None:
        return 1
    if workers <= 0:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else (os.cpu_count() or 1))
    return int(workers)


def all_or_nothing(net: LinkArrays, origins: Any, destinations: Any, demand: Any, *,
                   cost: np.ndarray | None = None, workers: int | None = None) -> np.ndarray:
    """Load all demand on shortest paths.

    Parameters
    ----------
    net : LinkArrays
        The network.
    origins, destinations : array of int
        Node indices.  With ``demand`` 1-D they are OD pairs (three arrays of equal
        length); with ``demand`` 2-D (dense or scipy sparse) they label its rows and columns.
    demand : array of float or scipy.sparse matrix
        Demand (flow unit), ``>= 0``.  Intra-zonal demand (origin == destination) is ignored.
    cost : array of float, optional
        Link costs (cost unit, ``>= 0``); default ``net.free_cost``.
    workers : int, optional
        Threads for the shortest paths (``0``: one per CPU).  Default 1.  The result does
        not depend on it.

    Returns
    -------
    numpy.ndarray
        Link volumes (flow unit).

    Raises
    ------
    corridors._errors.CorridorsError
        If some demand has no path.
    """
    dem = _demand(net, origins, destinations, demand)
    c = net.free_cost if cost is None else np.asarray(cost, dtype=np.float64)
    if c.shape != (net.n_links,) or np.any(c < 0):
        raise ValueError("cost: expected one value >= 0 per link")
    return _Loader(net, dem, _graph(net, dem), _workers(workers)).load(c)[0]


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IterationRecord:
    """Convergence figures of one iteration.

    Attributes
    ----------
    iteration : int
        1 for the initial all-or-nothing flows.
    relative_gap : float
        ``(sum c x - sum c y) / sum c x`` at the iteration's flows (dimensionless).
    beckmann : float
        Beckmann objective (cost unit times flow unit).
    seconds : float
        Wall time since the start of the run (seconds).
    step : float
        Step size that produced these flows (1.0 for the first iteration).
    flow_change : float
        For SUE: ``sum |y - x| / sum x`` between the flows and the logit loading at their
        costs (the fixed-point criterion); NaN for UE.
    """

    iteration: int
    relative_gap: float
    beckmann: float
    seconds: float
    step: float = 1.0
    flow_change: float = math.nan


class Route(NamedTuple):
    """A route used by an OD pair in an equilibrium.

    Attributes
    ----------
    links : tuple of int
        Link indices in travel order.
    nodes : tuple of int
        Node indices from origin to destination.
    share : float
        Share of the OD demand on this route (0..1).
    flow : float
        OD flow on this route (flow unit).
    cost : float
        Route cost at the equilibrium link costs (cost unit).
    """

    links: tuple[int, ...]
    nodes: tuple[int, ...]
    share: float
    flow: float
    cost: float


@dataclass(frozen=True, eq=False)
class _PathStore:
    """Route bookkeeping: either weighted AON trees (UE) or explicit routes (SUE)."""

    net: LinkArrays
    graph: _shortest.Graph
    dem: _Demand
    trees: tuple[np.ndarray, ...] = ()       # per AON iteration: (origins x internal nodes)
    weights: np.ndarray | None = None        # weight of each AON iteration
    routes: dict[tuple[int, int], list[tuple[tuple[int, ...], float]]] = field(
        default_factory=dict)                # SUE: (o, d) -> [(links, flow)]
    tree_cache: dict[int, list[tuple[float, np.ndarray]]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class EquilibriumResult:
    """Outcome of an assignment.

    Attributes
    ----------
    flows : numpy.ndarray
        Link flows (flow unit).
    costs : numpy.ndarray
        Link costs at those flows, fixed cost included (cost unit).
    iterations : tuple of IterationRecord
        Convergence history, one record per iteration.
    converged : bool
        Whether the target gap was reached before ``max_iter``.
    relative_gap : float
        Final relative gap (UE definition, dimensionless).
    beckmann : float
        Final Beckmann objective (cost unit times flow unit).
    seconds : float
        Wall time of the run (seconds).
    algorithm : str
        ``"fw"``, ``"cfw"``, ``"bfw"``, ``"sue-fisk"`` or ``"sue-msa"``.
    paths : object or None
        Route bookkeeping for :func:`paths_for` (``track_paths=True`` or SUE), else None.
    """

    flows: np.ndarray
    costs: np.ndarray
    iterations: tuple[IterationRecord, ...]
    converged: bool
    relative_gap: float
    beckmann: float
    seconds: float
    algorithm: str = "bfw"
    paths: _PathStore | None = field(default=None, repr=False, compare=False)


def relative_gap(net: LinkArrays, origins: Any, destinations: Any, demand: Any,
                 flows: np.ndarray, *, fixed_cost: np.ndarray | None = None) -> float:
    """Return the standard relative gap of given link flows.

    Parameters
    ----------
    net : LinkArrays
        The network.
    origins, destinations, demand
        As for :func:`all_or_nothing`.
    flows : array of float
        Link flows to check (flow unit).
    fixed_cost : array of float, optional
        Flow-independent cost per link (cost unit).

    Returns
    -------
    float
        ``(sum c x - sum c y) / sum c x`` with ``c = c(flows)`` and ``y`` the all-or-nothing
        loading at ``c`` (dimensionless, >= 0 up to rounding for feasible flows).
    """
    flows = np.asarray(flows, dtype=np.float64)
    c = link_cost(net, flows, fixed_cost)
    y = all_or_nothing(net, origins, destinations, demand, cost=c)
    tx = float(c @ flows)
    return (tx - float(c @ y)) / tx if tx > 0 else 0.0


# --------------------------------------------------------------------------------------
# User equilibrium: Frank-Wolfe family
# --------------------------------------------------------------------------------------


def _line_search(net: LinkArrays, fixed: np.ndarray | None, x: np.ndarray, d: np.ndarray
                 ) -> float:
    """Exact step in [0, 1] minimising the Beckmann objective along ``x + tau d``."""

    def slope(tau: float) -> float:
        return float(link_cost(net, x + tau * d, fixed) @ d)

    if slope(1.0) <= 0.0:
        return 1.0
    if slope(0.0) >= 0.0:
        return 0.0
    lo, hi, tau = 0.0, 1.0, 0.5
    for _ in range(100):
        g = slope(tau)
        if g > 0:
            hi = tau
        else:
            lo = tau
        h = float(_link_cost_derivative(net, x + tau * d) @ (d * d))
        new = tau - g / h if h > 0 else 0.5 * (lo + hi)
        if not (lo < new < hi):
            new = 0.5 * (lo + hi)
        if abs(new - tau) <= 1e-15 or hi - lo <= 1e-15:
            return new
        tau = new
    return tau


def _check_cost(name: str, arr: np.ndarray | None, n: int) -> np.ndarray | None:
    if arr is None:
        return None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name}: expected {n} finite values >= 0")
    return arr


def conjugate_step(net, fixed, x, y, s1, s2, tau_prev: float, n_conj: int, algorithm: str = "bfw"):
    """One direction and step of (conjugate, bi-conjugate) Frank-Wolfe.

    ``y`` is the all-or-nothing load at the current costs, ``s1``/``s2`` the previous two
    search points (None at the start) and ``tau_prev`` the previous step.  ``fw`` always
    moves towards ``y``; ``cfw`` mixes ``y`` with ``s1``; ``bfw`` with ``s1`` and ``s2``
    (Mitradjieva and Lindberg 2013).  A conjugate direction that does not descend falls back
    to Frank-Wolfe.

    Returns
    -------
    (s, coef, n_conj, d, tau)
        The search point, its weights on ``(y, s1, s2)``, the count of conjugate steps in a
        row, the direction ``s - x`` and the step (0: no descent even along Frank-Wolfe).
    """
    if s1 is None or tau_prev >= 1.0 - 1e-12 or algorithm == "fw":
        s, coef = y, (1.0, 0.0, 0.0)
        n_conj = 0
    else:
        hess = _link_cost_derivative(net, x)
        if algorithm == "cfw" or n_conj == 0 or s2 is None:
            dk = s1 - x
            num = float(np.sum(hess * dk * (y - x)))
            den = float(np.sum(hess * dk * (y - s1)))
            a = num / den if den != 0 else 0.0
            a = min(max(a, 0.0), 1.0 - 1e-6)
            s = a * s1 + (1.0 - a) * y
            coef = (1.0 - a, a, 0.0)
        else:
            dbar2 = tau_prev * s1 + (1.0 - tau_prev) * s2 - x
            dbar1 = s1 - x
            ydir = y - x
            den_mu = float(np.sum(hess * dbar2 * (s2 - s1)))
            mu = -float(np.sum(hess * dbar2 * ydir)) / den_mu if den_mu != 0 else 0.0
            mu = max(0.0, mu)
            den_nu = float(np.sum(hess * dbar1 * dbar1))
            nu = (-float(np.sum(hess * dbar1 * ydir)) / den_nu if den_nu != 0 else 0.0)
            nu += mu * tau_prev / (1.0 - tau_prev)
            nu = max(0.0, nu)
            b0 = 1.0 / (1.0 + mu + nu)
            coef = (b0, nu * b0, mu * b0)
            s = coef[0] * y + coef[1] * s1 + coef[2] * s2
        n_conj += 1
    d = s - x
    tau = _line_search(net, fixed, x, d)
    if tau <= 0.0 and coef != (1.0, 0.0, 0.0):
        # a conjugate direction that does not descend: fall back to Frank-Wolfe
        s, coef, n_conj = y, (1.0, 0.0, 0.0), 0
        d = s - x
        tau = _line_search(net, fixed, x, d)
    return s, coef, n_conj, d, tau


def user_equilibrium(net: LinkArrays, origins: Any, destinations: Any, demand: Any, *,
                     algorithm: str = "bfw", gap: float = 1e-4, max_iter: int = 500,
                     callback: Callable[[IterationRecord], Any] | None = None,
                     fixed_cost: np.ndarray | None = None, workers: int | None = None,
                     track_paths: bool = False) -> EquilibriumResult:
    """Solve the capacity-constrained deterministic user equilibrium.

    Minimises the Beckmann objective by the Frank-Wolfe family: each iteration loads all
    demand on the shortest paths at the current costs (all-or-nothing), forms a search
    direction and moves along it by an exact line search.

    Parameters
    ----------
    net : LinkArrays
        The network.
    origins, destinations, demand
        As for :func:`all_or_nothing` (OD pairs or an origin x destination matrix).
    algorithm : {"bfw", "cfw", "fw"}
        Bi-conjugate Frank-Wolfe (Mitradjieva and Lindberg 2013), conjugate Frank-Wolfe, or
        plain Frank-Wolfe.
    gap : float
        Target relative gap (dimensionless).
    max_iter : int
        Maximum number of iterations (all-or-nothing loadings).
    callback : callable, optional
        Called with each :class:`IterationRecord` as it is computed.
    fixed_cost : array of float, optional
        Flow-independent cost per link (cost unit), added to the volume-delay cost.
    workers : int, optional
        Threads for shortest paths and loading (``0``: one per CPU).  The result does not
        depend on it.  Default 1.
    track_paths : bool
        Keep each iteration's shortest-path trees and their weights so that
        :func:`paths_for` can return the routes of each OD pair (memory grows with
        iterations x origins x nodes: for small networks).

    Returns
    -------
    EquilibriumResult
        Flows, costs, convergence history.

    Raises
    ------
    corridors._errors.CorridorsError
        If some demand has no path.
    ValueError
        For an unknown algorithm or malformed arrays.
    """
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got {algorithm!r}")
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    start = time.perf_counter()
    fixed = _check_cost("fixed_cost", fixed_cost, net.n_links)
    dem = _demand(net, origins, destinations, demand)
    graph = _graph(net, dem)
    records: list[IterationRecord] = []
    trees: list[np.ndarray] = []
    # coefficients of x, s_{k-1}, s_{k-2} over the AON loadings (only with track_paths)
    wx = ws1 = ws2 = np.zeros(0)
    converged = False
    loader = _Loader(net, dem, graph, _workers(workers))
    c = link_cost(net, np.zeros(net.n_links), fixed)
    x, tr = loader.load(c, track_paths)
    if track_paths:
        trees.append(tr)
        wx = np.ones(1)
    s1 = s2 = None            # previous search targets s_{k-1}, s_{k-2}
    tau_prev = 1.0
    step = 1.0
    n_conj = 0                # conjugate steps since the last restart
    while True:
        c = link_cost(net, x, fixed)
        y, tr = loader.load(c, track_paths)
        tx = float(c @ x)
        rg = (tx - float(c @ y)) / tx if tx > 0 else 0.0
        rec = IterationRecord(len(records) + 1, rg, beckmann(net, x, fixed),
                              time.perf_counter() - start, step)
        records.append(rec)
        if callback is not None:
            callback(rec)
        if rg <= gap:
            converged = True
            break
        if len(records) >= max_iter:
            break
        if track_paths:
            trees.append(tr)
            k = len(trees)
            wx, ws1, ws2 = (np.pad(a, (0, k - a.size)) for a in (wx, ws1, ws2))
            ey = np.zeros(k)
            ey[-1] = 1.0
        s, coef, n_conj, d, tau = conjugate_step(net, fixed, x, y, s1, s2, tau_prev, n_conj, algorithm)
        if tau <= 0.0:
            break  # no descent even along Frank-Wolfe: the gap is at rounding level
        if track_paths:
            s_w = coef[0] * ey + coef[1] * ws1 + coef[2] * ws2
            wx = (1.0 - tau) * wx + tau * s_w
            ws1, ws2 = s_w, ws1
        x = x + tau * d
        s2, s1 = s1, s
        tau_prev = step = tau
    costs = link_cost(net, x, fixed)
    store = None
    if track_paths:
        store = _PathStore(net=net, graph=graph, dem=dem, trees=tuple(trees),
                           weights=wx[:len(trees)])
    last = records[-1]
    return EquilibriumResult(
        flows=x, costs=costs, iterations=tuple(records), converged=converged,
        relative_gap=last.relative_gap, beckmann=last.beckmann,
        seconds=time.perf_counter() - start, algorithm=algorithm, paths=store)


def __getattr__(name: str) -> Any:
    # The stochastic equilibrium and the routes per OD pair live in corridors.sue, which
    # builds on this module; they are re-exported here lazily (an import at the top would
    # be circular).
    if name in ("stochastic_user_equilibrium", "paths_for", "_tree_path", "_nodes_of", "_distinct_trees"):
        from corridors import sue

        return getattr(sue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
