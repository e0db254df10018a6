"""The cost-and-choice kernel: one copy of every formula the route choice uses.

Everything here works on NumPy arrays and broadcasts over leading batch axes, so the
single run (:func:`corridors.assignment.assign`), the Monte Carlo sweep
(:mod:`corridors.sweep_model`, a batch of draws) and the calibration
(:mod:`corridors.calibration`, many parameter values) evaluate the same expressions.
Defaults live in :class:`corridors.network.CostParameters` only; nothing here has one.

Edge arrays
    :class:`EdgeArrays` lays the virtual-link graph of a network out as arrays (tail, head,
    hours, USD, capacity, which edges are border crossings and transfers, which congest by
    BPR and which by a queueing delay).
Volume-delay functions
    :func:`vdf_cost`, :func:`vdf_derivative`, :func:`vdf_integral`: BPR on links and
    Akcelik's queueing delay on node gates and transfers (formulas in
    :mod:`corridors.equilibrium`, whose ``link_cost`` and ``beckmann`` call these), plus,
    on every declared capacity, a Davidson-type barrier ``J z / (1 - z)`` that grows
    without bound near capacity (continued linearly past :data:`BARRIER_KNEE` so that line
    searches stay finite), so that capacities bind in ``ue`` and ``sue``.
Generalised cost
    :func:`generalised_cost`: USD per TEU = money + value of time x hours + border and
    transfer penalties.
Grouped path-size logit
    :func:`logit_shares`, :func:`least_cost_shares` over ``(..., routes)`` arrays whose
    routes are grouped by OD pair (contiguous groups, ``starts``).
Step rules
    :func:`msa_step`, :func:`sra_step` (self-regulated averaging).
Route equilibrium
    :func:`route_equilibrium`: stochastic (or deterministic) equilibrium over fixed route
    sets with congestion, for a batch of cost vectors at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corridors.network import generalised_cost_usd

__all__ = [
    "BPR",
    "QUEUE",
    "SRA_GROW",
    "SRA_SHRINK",
    "EdgeArrays",
    "edge_arrays",
    "vdf_cost",
    "vdf_derivative",
    "vdf_integral",
    "vdf_parameters",
    "vdf_barrier",
    "group_load",
    "BARRIER_KNEE",
    "generalised_cost",
    "penalties",
    "logit_shares",
    "least_cost_shares",
    "logit_logsums",
    "choice_shares",
    "msa_step",
    "sra_step",
    "route_equilibrium",
    "RouteEquilibrium",
    "log_path_sizes",
]

#: Volume-delay function code: BPR.
BPR = 0
#: Volume-delay function code: Akcelik-type queueing delay.
QUEUE = 1
#: Utilisation beyond which the capacity barrier ``J z / (1 - z)`` continues as its tangent:
#: finite for every flow (a line search may step past capacity), steep enough to bind.
BARRIER_KNEE = 0.99

#: Self-regulated averaging (Liu, Ban, Ran and Mirchandani 2009): the step 1/eta shrinks
#: fast while the residual grows and slowly while it falls, which converges far faster
#: than the method of successive averages' 1/k.
SRA_GROW, SRA_SHRINK = 1.8, 0.3


# --------------------------------------------------------------------------- volume-delay


def _ratio(flows: np.ndarray, capacity) -> np.ndarray:
    shape = np.broadcast_shapes(flows.shape, np.shape(capacity))
    return np.divide(flows, capacity, out=np.zeros(shape), where=np.asarray(capacity) > 0)


def _at(values, mask: np.ndarray, shape: tuple) -> np.ndarray:
    """``values`` broadcast to ``shape``, at the True entries of ``mask`` (of that shape)."""
    return np.broadcast_to(values, shape)[mask]


def vdf_cost(flows, free_cost, capacity, alpha, beta, queue, barrier=None, group=None) -> np.ndarray:
    """Flow-dependent cost ``t(x)`` of every link (cost unit of ``free_cost``).

    BPR ``t0 (1 + alpha z**beta)``, or where ``queue`` is True Akcelik's queueing delay
    ``t0 + alpha ((z - 1) + sqrt((z - 1)**2 + beta z))``; ``z = x / capacity`` (0 where the
    capacity is 0).  Every argument broadcasts against ``flows`` (``(..., links)``).

    ``barrier`` (cost unit, optional) adds the capacity barrier ``J b(z)`` of
    :func:`barrier_cost` on the links where it is positive, with ``z`` the utilisation of
    the link's ``group`` (optional int per link, ``-1`` for none): the links of one group
    (the gates of one node, one per gauge or mode layer) share one capacity, so their flows
    add up before the barrier is evaluated.
    """
    flows = np.asarray(flows, dtype=np.float64)
    z = _ratio(flows, capacity)
    t = free_cost * (1.0 + alpha * np.power(z, beta))
    if np.any(queue):
        q = np.broadcast_to(queue, t.shape)
        zq, bq = _at(z, q, t.shape), _at(beta, q, t.shape)
        u = zq - 1.0
        t[q] = _at(free_cost, q, t.shape) + _at(alpha, q, t.shape) * (u + np.sqrt(u * u + bq * zq))
    if barrier is not None:
        t += barrier * _barrier(_ratio(group_load(flows, group)[0], capacity))
    return t


def vdf_derivative(flows, free_cost, capacity, alpha, beta, queue, barrier=None, group=None) -> np.ndarray:
    """``d t / d x`` of every link (cost unit per flow unit); broadcasts as :func:`vdf_cost`.

    For a grouped barrier this is ``d t_i / d x_i``, the diagonal of the (then
    non-diagonal) Jacobian: the engine uses it only for Newton steps inside a bracketing
    line search and for conjugate directions, where an approximation costs iterations,
    not accuracy.
    """
    flows = np.asarray(flows, dtype=np.float64)
    z = _ratio(flows, capacity)
    cap = np.where(np.asarray(capacity) > 0, capacity, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = free_cost * alpha * beta * np.power(z, beta - 1.0) / cap
    d[~np.isfinite(d)] = 0.0
    if np.any(queue):
        shape = d.shape
        q = np.broadcast_to(queue, shape)
        zq, bq = _at(z, q, shape), _at(beta, q, shape)
        u = zq - 1.0
        s = np.sqrt(u * u + bq * zq)
        d[q] = _at(alpha, q, shape) * (1.0 + (u + 0.5 * bq) / s) / _at(cap, q, shape)
    if barrier is not None:
        d += barrier * _barrier_slope(_ratio(group_load(flows, group)[0], capacity)) / cap
    return d


def vdf_integral(flows, free_cost, capacity, alpha, beta, queue, barrier=None, group=None) -> np.ndarray:
    """``integral_0^x t(w) dw`` of every link (the Beckmann terms); broadcasts as :func:`vdf_cost`.

    A group's barrier integral ``J c B(z)`` (of the group's total flow) is counted once, on
    the group's first link, so the sum over links is the Beckmann objective of the shared
    capacity (its gradient is the grouped cost of :func:`vdf_cost`).
    """
    flows = np.asarray(flows, dtype=np.float64)
    z = _ratio(flows, capacity)
    integ = free_cost * flows + free_cost * alpha * capacity * np.power(z, beta + 1.0) / (beta + 1.0)
    if np.any(queue):
        shape = integ.shape
        q = np.broadcast_to(queue, shape)
        zq, bq = _at(z, q, shape), _at(beta, q, shape)
        u = zq - 1.0
        s = np.sqrt(u * u + bq * zq)
        b = 0.5 * bq - 1.0
        k2 = bq - 0.25 * bq * bq
        big_s = 0.5 * ((zq + b) * s - b + k2 * np.log((zq + b + s) / (0.5 * bq)))
        integ[q] = _at(free_cost, q, shape) * _at(flows, q, shape) + _at(alpha, q, shape) * _at(
            capacity, q, shape) * (0.5 * zq * zq - zq + big_s)
    if barrier is not None:
        load, counted = group_load(flows, group)
        part = barrier * np.asarray(capacity, dtype=float) * _barrier_integral(_ratio(load, capacity))
        integ += np.where(counted, part, 0.0)
    return integ


def _barrier(z):
    """``b(z) = z / (1 - z)`` up to :data:`BARRIER_KNEE`, then its tangent."""
    k = BARRIER_KNEE
    inner = np.minimum(z, k)
    return inner / (1.0 - inner) + np.maximum(z - k, 0.0) / (1.0 - k) ** 2


def _barrier_slope(z):
    """``b'(z)``: ``1 / (1 - z)**2``, constant past the knee."""
    return 1.0 / (1.0 - np.minimum(z, BARRIER_KNEE)) ** 2


def _barrier_integral(z):
    """``B(z) = integral_0^z b``: ``-z - ln(1 - z)``, then the tangent's integral."""
    k = BARRIER_KNEE
    inner = np.minimum(z, k)
    over = np.maximum(z - k, 0.0)
    return -inner - np.log1p(-inner) + over * k / (1.0 - k) + 0.5 * over * over / (1.0 - k) ** 2


def group_load(flows: np.ndarray, group) -> tuple[np.ndarray, np.ndarray]:
    """Per link the flow of its capacity group, and where the group's integral is counted.

    Parameters
    ----------
    flows : numpy.ndarray
        ``(..., links)`` flows.
    group : numpy.ndarray of int or None
        Capacity group per link (``-1``: none; see :func:`vdf_cost`).

    Returns
    -------
    load : numpy.ndarray
        Like ``flows``: the sum of the flows of the link's group (its own flow if ungrouped).
    counted : numpy.ndarray of bool
        ``(links,)``: the group's first link, and every ungrouped link.
    """
    if group is None:
        return flows, np.ones(flows.shape[-1], dtype=bool)
    group = np.asarray(group)
    member = group >= 0
    counted = ~member
    if not member.any():
        return flows, counted
    where = np.flatnonzero(member)
    ids = group[where]
    _, first = np.unique(ids, return_index=True)
    counted[where[first]] = True
    size = int(ids.max()) + 1
    lead = flows.shape[:-1]
    part = flows[..., where].reshape(-1, where.size)
    # one bincount over (row, group) pairs sums every row's groups at once
    keys = (np.arange(part.shape[0])[:, None] * size + ids[None, :]).ravel()
    sums = np.bincount(keys, weights=part.ravel(), minlength=part.shape[0] * size).reshape(part.shape[0], size)
    load = flows.copy()
    load[..., where] = sums[:, ids].reshape(*lead, where.size)
    return load, counted


# --------------------------------------------------------------------------- edge arrays


@dataclass(frozen=True, eq=False)
class EdgeArrays:
    """The virtual-link graph of a network as arrays, one entry per graph edge.

    Attributes
    ----------
    nodes : list
        Graph nodes; ``tail``/``head`` index into it.
    edges : list of (u, v)
        Graph edges in array order.
    index : dict
        ``(u, v)`` -> position.
    tail, head : numpy.ndarray of int
    time_h : numpy.ndarray
        Hours per TEU at free flow.
    money_usd : numpy.ndarray
        USD per TEU (tariffs, handling, transshipment).
    border, transfer : numpy.ndarray of float
        1.0 on border-crossing links and on gauge/mode transfers (where penalties apply).
    capacity : numpy.ndarray
        TEU/year; 0 where not binding.
    gate : numpy.ndarray of bool
        Node gates and transfers (queueing delay where they have a capacity); links use BPR.
    kind : tuple of str
        Edge kind (``link``, ``dwell``, ``transfer``, ``access``, ``egress``).
    zone : numpy.ndarray of bool
        Per node: origin or destination zone (may start or end a path, never be passed).
    group : numpy.ndarray of int
        Capacity group of every edge (``-1``: none): the dwell gates of one node with a
        capacity, one per gauge or mode layer, whose flows add up to the node's throughput
        (every path through the node passes exactly one of them).
    """

    nodes: list = field(repr=False)
    edges: list = field(repr=False)
    index: dict = field(repr=False)
    tail: np.ndarray = field(repr=False)
    head: np.ndarray = field(repr=False)
    time_h: np.ndarray = field(repr=False)
    money_usd: np.ndarray = field(repr=False)
    border: np.ndarray = field(repr=False)
    transfer: np.ndarray = field(repr=False)
    capacity: np.ndarray = field(repr=False)
    gate: np.ndarray = field(repr=False)
    kind: tuple = field(repr=False)
    zone: np.ndarray = field(repr=False)
    group: np.ndarray = field(default=None, repr=False)

    @property
    def n_edges(self) -> int:
        """Number of graph edges."""
        return len(self.edges)

    @property
    def barrier_mask(self) -> np.ndarray:
        """Edges whose declared capacity binds (capacity barrier): links and node gates
        with a capacity.  Gauge and mode transfers keep their queueing delay only: the
        node's throughput is counted once, on its gates."""
        return (self.capacity > 0) & np.array([k in ("link", "dwell") for k in self.kind], dtype=bool)


def edge_arrays(graph) -> EdgeArrays:
    """Lay out a network's virtual-link graph (:func:`corridors.network.build_graph`) as arrays."""
    nodes = list(graph.nodes)
    node_index = {n: i for i, n in enumerate(nodes)}
    data = list(graph.edges(data=True))
    kinds = tuple(d["kind"] for _, _, d in data)
    return EdgeArrays(
        nodes=nodes,
        edges=[(u, v) for u, v, _ in data],
        index={(u, v): i for i, (u, v, _) in enumerate(data)},
        tail=np.array([node_index[u] for u, _, _ in data], dtype=np.int64),
        head=np.array([node_index[v] for _, v, _ in data], dtype=np.int64),
        time_h=np.array([d["time_h"] for _, _, d in data], dtype=float),
        money_usd=np.array([d["money_usd"] for _, _, d in data], dtype=float),
        border=np.array([k == "link" and d.get("crosses_border", False) for k, (_, _, d) in zip(kinds, data,
                                                                                               strict=True)],
                        dtype=float),
        transfer=np.array([k == "transfer" for k in kinds], dtype=float),
        capacity=np.array([d["capacity_teu"] or 0.0 for _, _, d in data], dtype=float),
        gate=np.array([k in ("dwell", "transfer") for k in kinds], dtype=bool),
        kind=kinds,
        zone=np.array([n[0] in ("o", "d") and len(n) == 2 for n in nodes], dtype=bool),
        group=_gate_groups(data, kinds),
    )


def _gate_groups(data: list, kinds: tuple) -> np.ndarray:
    """Capacity group per edge: the dwell gates of one node with a capacity share one."""
    ids: dict = {}
    group = np.full(len(data), -1, dtype=np.int64)
    for i, ((_, _, d), kind) in enumerate(zip(data, kinds, strict=True)):
        if kind == "dwell" and d.get("capacity_teu"):
            group[i] = ids.setdefault(d["node_id"], len(ids))
    return group


def vdf_barrier(barrier_mask: np.ndarray, vot, params) -> np.ndarray:
    """Capacity-barrier weight ``J`` in USD per TEU: ``vot x capacity_barrier_h`` on the
    edges of ``barrier_mask``, 0 elsewhere; ``vot`` may be a batch ``(draws,)``."""
    vot = np.asarray(vot, dtype=float)[..., None]
    return np.where(barrier_mask, vot * params.capacity_barrier_h, 0.0)


def vdf_parameters(gate: np.ndarray, capacity: np.ndarray, vot, params) -> tuple[np.ndarray, ...]:
    """Volume-delay parameters in USD: ``(free-flow factor, alpha, beta, queue)``.

    Links with a capacity congest by BPR (``bpr_alpha``, ``bpr_beta``); node gates and
    transfers with a capacity by the queueing delay, whose ``alpha`` is a quarter of the
    flow period in USD (``vot x queue_period_h / 4``) and whose ``beta`` is ``queue_beta``.
    ``vot`` (USD per TEU-hour) may be a batch ``(draws,)``; the arrays then gain that axis.
    """
    vot = np.asarray(vot, dtype=float)[..., None]
    congests = np.asarray(capacity) > 0
    queue = gate & congests
    alpha = np.where(queue, vot * params.queue_period_h / 4.0, np.where(congests, params.bpr_alpha, 0.0))
    beta = np.where(queue, params.queue_beta, params.bpr_beta) + np.zeros_like(alpha)
    return alpha, beta, np.broadcast_to(queue, alpha.shape)


# --------------------------------------------------------------------------- generalised cost


def penalties(border, transfer, border_penalty_usd, transfer_penalty_usd) -> np.ndarray:
    """USD per TEU of the border and transfer penalties (``border``/``transfer`` counts or flags)."""
    bp = np.asarray(border_penalty_usd, dtype=float)[..., None]
    tp = np.asarray(transfer_penalty_usd, dtype=float)[..., None]
    return bp * border + tp * transfer


def generalised_cost(money_usd, hours, vot, penalty_usd=0.0) -> np.ndarray:
    """Generalised cost in USD per TEU: ``money + vot x hours + penalty``.

    The formula is :func:`corridors.network.generalised_cost_usd`, with which the graph's
    edges are priced.  ``vot`` (USD per TEU-hour) is a scalar or a batch ``(...,)`` broadcast over the last
    axis of ``money_usd``/``hours`` (edges or routes).
    """
    return generalised_cost_usd(money_usd, hours, np.asarray(vot, dtype=float)[..., None], penalty_usd)


# --------------------------------------------------------------------------- route choice


def logit_shares(cost, log_path_size, theta, beta, starts, group, *, group_theta=None,
                 asc_usd=None) -> np.ndarray:
    """Path-size logit shares of routes within their OD group, ``(..., routes)``.

    ``P_i = exp(-theta_g (c_i + a_i) + beta ln PS_i) / sum_j exp(...)`` over the routes ``j``
    of the same group ``g``; ``starts`` are the first route of every group (groups
    contiguous) and ``group`` the group of every route.  ``theta`` (per USD) and ``beta``
    broadcast over the leading axes.  ``group_theta`` (``(..., groups)``, per USD), if
    given, replaces ``theta`` with a scale per group (a demand segment's); ``asc_usd``
    (``(..., routes)``, USD per TEU) adds alternative-specific constants to the cost.
    Routes of infinite cost get share 0.
    """
    if group_theta is None:
        theta = np.asarray(theta, dtype=float)[..., None]
    else:
        theta = np.asarray(group_theta, dtype=float)[..., group]
    if asc_usd is not None:
        cost = cost + np.asarray(asc_usd, dtype=float)
    beta = np.asarray(beta, dtype=float)[..., None]
    utility = -theta * cost + beta * log_path_size
    top = np.maximum.reduceat(utility, starts, axis=-1)
    weight = np.exp(utility - top[..., group])
    return weight / np.add.reduceat(weight, starts, axis=-1)[..., group]


def logit_logsums(cost, log_path_size, theta, beta, starts, group, *, group_theta=None) -> np.ndarray:
    """Composite cost (USD per TEU) of every OD group under :func:`logit_shares`, ``(..., groups)``.

    ``-(1 / theta) ln sum_j exp(-theta c_j + beta ln PS_j)``: the expected least perceived
    cost of the group's choice set (the logsum), which a choice nested above the route
    choice (mode choice, :mod:`corridors.modes`) sees as the cost of the nest.
    ``group_theta`` (``(groups,)``), if given, replaces ``theta`` with each group's own scale
    (a demand segment's).
    """
    beta = np.asarray(beta, dtype=float)[..., None]
    if group_theta is not None:
        per_group = np.asarray(group_theta, dtype=float)
        theta_route, theta_group = per_group[group], per_group
    else:
        theta_route = theta_group = np.asarray(theta, dtype=float)[..., None]
    utility = -theta_route * cost + beta * log_path_size
    top = np.maximum.reduceat(utility, starts, axis=-1)
    weight = np.exp(utility - top[..., group])
    return -(top + np.log(np.add.reduceat(weight, starts, axis=-1))) / theta_group


def least_cost_shares(cost, starts, group) -> np.ndarray:
    """Share 1 on the first least-cost route of every group, 0 elsewhere, ``(..., routes)``."""
    cost = np.asarray(cost, dtype=float)
    flat = cost.reshape(-1, cost.shape[-1])
    low = np.minimum.reduceat(flat, starts, axis=1)
    rows, cols = np.nonzero(flat <= low[:, group])
    key = rows * starts.size + group[cols]
    first = np.r_[True, key[1:] != key[:-1]]
    share = np.zeros_like(flat)
    share[rows[first], cols[first]] = 1.0
    return share.reshape(cost.shape)


def choice_shares(method: str, cost, log_path_size, theta, beta, starts, group, *, group_theta=None,
                  asc_usd=None) -> np.ndarray:
    """Route shares by ``method``: ``shortest``/``ue`` least cost, ``logit``/``sue`` path-size logit
    (``group_theta``, ``asc_usd``: see :func:`logit_shares`)."""
    if method in ("shortest", "ue"):
        return least_cost_shares(cost, starts, group)
    return logit_shares(cost, log_path_size, theta, beta, starts, group, group_theta=group_theta, asc_usd=asc_usd)


# --------------------------------------------------------------------------- step rules


def msa_step(iteration: int) -> float:
    """Method of successive averages: step ``1 / iteration``."""
    return 1.0 / iteration


def sra_step(eta, change, previous):
    """Next step denominator of self-regulated averaging (floats or arrays); the step is ``1 / eta``."""
    return eta + np.where(change >= previous, SRA_GROW, SRA_SHRINK)


# --------------------------------------------------------------------------- route equilibrium


@dataclass(frozen=True)
class RouteEquilibrium:
    """Route flows at equilibrium on fixed route sets, for a batch.

    Attributes
    ----------
    flows : numpy.ndarray
        ``(batch, routes)`` TEU/year.
    iterations : numpy.ndarray of int
    criterion : numpy.ndarray
        Final flow change over demand (logit) or relative gap (least cost), per batch row.
    history : list of dict
        Per iteration of the first batch row: ``iteration``, ``step``, ``flow_change``,
        ``beckmann``.
    """

    flows: np.ndarray
    iterations: np.ndarray
    criterion: np.ndarray
    history: list = field(default_factory=list)


def route_equilibrium(incidence, fixed_usd, free_usd, capacity, alpha, beta, queue, demand, starts, group,
                      log_path_size, theta, ps_beta, *, choice: str = "logit", tol: float = 1e-4,
                      max_iter: int = 500, history: bool = False, group_theta=None,
                      asc_usd=None, barrier=None, cap_group=None) -> RouteEquilibrium:
    """Equilibrium with congestion over fixed route sets, for a batch of cost vectors.

    Edge cost (USD/TEU) = ``fixed_usd + vdf_cost(x, free_usd, capacity, alpha, beta, queue)``
    with ``x`` the edge flows (TEU/year) of the route flows.  Route shares by path-size
    logit (``choice="logit"``: stochastic user equilibrium) or least cost (``"shortest"``),
    averaged by self-regulated averaging until each batch row's criterion falls below
    ``tol`` (logit: flow change over demand; least cost: relative gap).  Each row iterates
    on its own (a converged row is frozen), so its result never depends on the other rows.

    Parameters
    ----------
    incidence : scipy.sparse matrix
        ``(routes, edges)``, 1 where the route uses the edge.
    fixed_usd, free_usd, capacity, alpha, beta, queue : numpy.ndarray
        ``(batch, edges)`` (or broadcastable): flow-independent USD, free-flow
        flow-dependent USD, TEU/year, and the volume-delay parameters.
    demand : numpy.ndarray
        ``(batch, groups)`` TEU/year of every OD group.
    starts, group, log_path_size : numpy.ndarray
        Route grouping and ``ln PS`` (see :func:`logit_shares`).
    theta, ps_beta : numpy.ndarray
        ``(batch,)`` logit scale (per USD) and path-size weight.
    group_theta, asc_usd : numpy.ndarray, optional
        ``(batch, groups)`` logit scale per group replacing ``theta``, and ``(batch, routes)``
        constants in USD per TEU (see :func:`logit_shares`); broadcast over the batch.
    barrier, cap_group : numpy.ndarray, optional
        Capacity-barrier weight ``(batch, edges)`` (USD) and capacity group per edge (the
        ``group`` of :func:`vdf_cost`).

    Returns
    -------
    RouteEquilibrium
    """
    batch = demand.shape[0]
    n_edges = incidence.shape[1]
    shape = (batch, n_edges)
    fixed_usd, free_usd, capacity, alpha, beta, queue = (
        np.ascontiguousarray(np.broadcast_to(a, shape)) for a in (fixed_usd, free_usd, capacity, alpha, beta, queue))
    barrier = np.zeros(shape) if barrier is None else np.ascontiguousarray(np.broadcast_to(barrier, shape))
    theta = np.broadcast_to(np.asarray(theta, dtype=float), (batch,))
    ps_beta = np.broadcast_to(np.asarray(ps_beta, dtype=float), (batch,))
    if group_theta is not None:
        group_theta = np.broadcast_to(np.asarray(group_theta, dtype=float), (batch, starts.size))
    if asc_usd is not None:
        asc_usd = np.broadcast_to(np.asarray(asc_usd, dtype=float), (batch, group.size))
    incidence_t = incidence.T.tocsr()

    def route_cost(x, rows):
        edge = fixed_usd[rows] + vdf_cost(x, free_usd[rows], capacity[rows], alpha[rows], beta[rows], queue[rows],
                                          barrier[rows], cap_group)
        return np.asarray(incidence @ edge.T).T

    def shares(cost, rows):
        return choice_shares(choice, cost, log_path_size, theta[rows], ps_beta[rows], starts, group,
                             group_theta=None if group_theta is None else group_theta[rows],
                             asc_usd=None if asc_usd is None else asc_usd[rows])

    every = np.arange(batch)
    route_demand = demand[:, group]
    h = shares(route_cost(np.zeros(shape), every), every) * route_demand
    total = np.maximum(demand.sum(axis=1), 1e-12)
    iterations = np.zeros(batch, dtype=np.int64)
    criterion = np.zeros(batch)
    previous = np.full(batch, np.inf)
    eta = np.ones(batch)
    active = np.ones(batch, dtype=bool)
    records: list[dict] = []
    for k in range(1, max_iter + 1):
        rows = np.flatnonzero(active)
        if not rows.size:
            break
        x = np.asarray(incidence_t @ h[rows].T).T
        cost = route_cost(x, rows)
        aux = shares(cost, rows) * route_demand[rows]
        if choice == "logit":
            change = np.abs(aux - h[rows]).sum(axis=1) / total[rows]
        else:
            spent = (h[rows] * cost).sum(axis=1)
            least = (demand[rows] * np.minimum.reduceat(cost, starts, axis=1)).sum(axis=1)
            change = np.divide(spent - least, spent, out=np.zeros_like(spent), where=spent > 0)
        iterations[rows] = k
        criterion[rows] = change
        if k > 1:
            eta[rows] = sra_step(eta[rows], change, previous[rows])
        previous[rows] = change
        if history and rows[0] == 0:
            records.append(dict(iteration=k, step=float(1.0 / eta[0]), flow_change=float(change[0]),
                                beckmann=float(np.sum(fixed_usd[0] * x[0] + vdf_integral(
                                    x[0], free_usd[0], capacity[0], alpha[0], beta[0], queue[0], barrier[0],
                                    cap_group)))))
        done = change <= tol
        go = rows[~done]
        h[go] = h[go] + (aux[~done] - h[go]) / eta[go][:, None]
        active[rows[done]] = False
    return RouteEquilibrium(h, iterations, criterion, records)


def log_path_sizes(sizes) -> np.ndarray:
    """``ln PS`` with path sizes floored at 1e-12 (a route always has some size)."""
    return np.log(np.maximum(np.asarray(sizes, dtype=float), 1e-12))
