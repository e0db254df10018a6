"""Mode choice and route choice in one equilibrium, with the declared capacities honoured.

:func:`corridors.modes.assign_year` with ``method="sue"`` solves the sea/land mode choice of
a model year together with the stochastic user equilibrium of the land routes:

* the land routes of every demand row (the China↔EU27 rows' land TEU, every other row's
  TEU) are loaded by the path-size logit of :func:`corridors.assignment.assign` (segment
  scales and gateway constants of :func:`corridors.assignment.segment_choice`);
* every edge costs its volume-delay cost at the current flows, computed by the kernel's
  :func:`corridors.kernel.vdf_cost` (with the kernel's capacity barrier where the kernel
  has one);
* on top, every declared capacity (a link direction's ``capacity_teu``; a node's
  ``capacity_teu``, shared by its gates) is a hard constraint: its *capacity price*
  (USD/TEU, the Lagrange multiplier of ``load <= capacity``) is what a box pays to get a
  slot on a full ferry or through a full border post, the wait for the next free
  departure or crossing.  Prices rise while a capacity is exceeded and fall while it has
  room, until no capacity is exceeded and every priced one is full;
* the land nest's composite cost of the mode choice (:meth:`corridors.modes.YearModel.split`)
  includes the congestion and the capacity prices of the routes, so the China↔EU27
  boxes that do not fit on the land routes left go by sea, and TEU by mode add up to the
  year's demand.

Rows other than China↔EU27 (Russia, Belarus, Central Asia, Türkiye) have no sea
alternative in the model: they pay the prices too and move between land routes, and
their demand stays on land (a capacity their demand alone exceeds cannot be cleared; the
result then reports it in ``convergence``).

Route flows are averaged by self-regulated averaging (:func:`corridors.kernel.sra_step`)
at fixed prices until they change by less than ``tol`` of the demand; the prices then
take a step on ``ln(load / capacity)`` over the largest route-choice scale (no load responds
faster to its price), shared among the capacities one route passes in series, lengthened
while a capacity stays on one side of its limit and shortened when it crosses.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

__all__ = ["capacity_groups", "capacity_loads", "capacity_utilisation", "eu_land_via_russia", "scenario_year",
           "solve"]

#: Utilisation above which a declared capacity counts as exceeded at the solution.
CAPACITY_TOL = 0.005
#: Utilisation a priced capacity must reach (complementary slackness: a capacity with a
#: positive price is full).
FULL = 0.98


def capacity_groups(network) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The declared capacities of ``network`` as groups of edges of :func:`corridors.assignment.edge_arrays`.

    A link direction with ``capacity_teu`` is one group (the link's capacity is per
    direction, as ``AssignmentResult.link_flows`` reports its utilisation); a node with
    ``capacity_teu`` is one group of all its dwell gates (one per gauge or mode layer;
    every path through the node passes exactly one of them).  Transfers between layers
    keep their queueing delay only: the node's throughput is counted on its gates.

    Returns
    -------
    edge_group : numpy.ndarray of int
        Group of every edge, ``-1`` for none.
    capacity : numpy.ndarray
        TEU/year of every group.
    names : list of str
        ``link:<id>:<ab|ba>`` or ``node:<id>`` of every group.
    """
    from corridors.assignment import edge_arrays

    edges = edge_arrays(network)
    graph = network.graph
    edge_group = np.full(edges.n_edges, -1, dtype=np.intp)
    index: dict[str, int] = {}
    capacity: list[float] = []
    for k, ((u, v), kind) in enumerate(zip(edges.edges, edges.kind, strict=True)):
        if kind not in ("link", "dwell") or not edges.capacity[k] > 0:
            continue
        data = graph.edges[u, v]
        name = f"link:{data['link_id']}:{data['direction']}" if kind == "link" else f"node:{data['node_id']}"
        if name not in index:
            index[name] = len(capacity)
            capacity.append(float(edges.capacity[k]))
        edge_group[k] = index[name]
    return edge_group, np.array(capacity, dtype=float), list(index)


def capacity_loads(edge_flows: np.ndarray, edge_group: np.ndarray, n_groups: int) -> np.ndarray:
    """TEU/year of every capacity group (:func:`capacity_groups`) at the edge flows."""
    member = edge_group >= 0
    return np.bincount(edge_group[member], weights=np.asarray(edge_flows)[member], minlength=n_groups)


def _vdf(edges, params, vot: float):
    """Volume-delay arguments of the kernel for the network's edges (barrier if the kernel has one)."""
    from corridors import kernel

    alpha, beta, queue = kernel.vdf_parameters(edges.gate, edges.capacity, vot, params)
    args = (edges.capacity, alpha[0], beta[0], queue[0])
    extra: dict[str, Any] = {}
    # The capacity barrier of the kernel (Davidson-type) where it has one: the congestion
    # seen by the mode choice is then the one ``assign(method="sue")`` uses.
    if hasattr(kernel, "vdf_barrier") and hasattr(edges, "barrier_mask"):
        extra["barrier"] = np.asarray(kernel.vdf_barrier(edges.barrier_mask, vot, params)).reshape(-1)
        extra["group"] = getattr(edges, "group", None)
    return args, extra


def solve(network, model, mode, *, tol: float = 1e-3, max_iter: int = 10000, max_rounds: int = 1000):
    """Mode choice and route equilibrium of a :class:`corridors.modes.YearModel`, capacities honoured.

    Parameters
    ----------
    network : Network
        The year's (scenario) network; ``model`` was built on it.
    model : YearModel
    mode : ModeParameters
    tol : float
        Route flows change by less than this share of the demand between iterations at
        fixed capacity prices.
    max_iter, max_rounds : int
        Iterations in all, and price updates, at most.

    Returns
    -------
    (AssignmentResult, ModeSplit)
        ``result.convergence`` holds one record per price update (``iteration``,
        ``flow_change``, ``max_utilisation``, ``priced``, ``seconds``); the last one also
        ``over_capacity``, the capacities still above 100.5 % (empty when solved; a
        capacity that demand without a sea alternative exceeds on its own stays there),
        ``capacity_price_usd`` (USD/TEU of every priced capacity) and ``utilisation`` (of
        every capacity, :func:`capacity_groups` names).
    """
    from scipy.sparse import csr_matrix

    from corridors import kernel
    from corridors.assignment import (
        AssignmentResult,
        RouteFlow,
        choice_arrays,
        edge_arrays,
        route_key,
        route_sets,
        segment_choice,
    )

    start = time.perf_counter()
    params = network.params
    edges = edge_arrays(network)
    vot = params.value_of_time_usd_per_teu_h
    free = vot * edges.time_h
    fixed = edges.money_usd + kernel.penalties(edges.border, edges.transfer, params.border_penalty_usd,
                                               params.transfer_penalty_usd).reshape(-1)
    vdf_args, vdf_extra = _vdf(edges, params, vot)
    edge_group, capacity, names = capacity_groups(network)
    member = edge_group >= 0

    # Demand groups: the China<->EU27 rows with a land route (their land TEU solved here),
    # then every other row with TEU (fixed demand); rows of neither kind are stranded.
    eu_rows = [model.rows[i] for i in model.land_rows]
    others = [r for r in model.other_rows if float(r["teu"]) > 0]
    sets = route_sets(network, {route_key(r) for r in eu_rows + others}, strict=False)
    stranded = [dict(r) for r in others if not sets.get(route_key(r))]
    others = [r for r in others if sets.get(route_key(r))]
    rows = eu_rows + others
    n_eu = len(eu_rows)
    teu_all = np.array([r["teu_all"] for r in model.rows], dtype=float)
    other_teu = np.array([float(r["teu"]) for r in others], dtype=float)
    if not rows:
        split = model.split(mode)
        return AssignmentResult(network, "sue", (), tuple(stranded), ()), split
    arrays = choice_arrays(network, [sets[route_key(r)] for r in rows])
    # the route choice's constants as assign() prices them, with the model year's sanctions-transit
    # term where the network has one (Network.sanctions_term: the scenario's [sea] switch applied)
    sanctions = (network.sanctions_term(),) if hasattr(network, "sanctions_term") else ()
    group_theta, asc = segment_choice(params, [r.get("segment") for r in rows], arrays.routes, arrays.group,
                                      *sanctions)
    theta = np.full(arrays.starts.size, params.logit_theta_per_usd) if group_theta is None else group_theta
    incidence = arrays.incidence
    incidence_t = incidence.T.tocsr()
    land_incidence = model.arrays.incidence
    # the largest response of a load to its price: no route choice scale exceeds it
    s_max = float(max(theta.max(), params.logit_theta_per_usd))
    price = np.zeros(capacity.size)
    boost = np.ones(capacity.size)
    last_sign = np.zeros(capacity.size)
    # (routes, capacity groups): 1 where the route passes the capacity
    route_groups = (incidence[:, np.flatnonzero(member)] @ csr_matrix(
        (np.ones(int(member.sum())), (np.arange(int(member.sum())), edge_group[member])),
        shape=(int(member.sum()), max(capacity.size, 1)))).tocsc()

    def edge_extra(x: np.ndarray) -> np.ndarray:
        congestion = kernel.vdf_cost(x, free, *vdf_args, **vdf_extra) - free
        out = congestion.copy()
        out[member] += price[edge_group[member]]
        return out

    def demand_of(extra: np.ndarray) -> tuple[np.ndarray, Any]:
        split = model.split(mode, land_incidence @ extra)
        return np.concatenate([split.land_teu[model.land_rows], other_teu]), split

    def target(x: np.ndarray) -> tuple[np.ndarray, Any]:
        extra = edge_extra(x)
        demand, split = demand_of(extra)
        cost = incidence @ (fixed + free + extra)
        shares = kernel.logit_shares(cost, arrays.log_path_size, params.logit_theta_per_usd, params.path_size_beta,
                                     arrays.starts, arrays.group, group_theta=group_theta, asc_usd=asc)
        return shares * demand[arrays.group], split

    h, split = target(np.zeros(edges.n_edges))
    total = max(float(teu_all[model.land_rows].sum() + other_teu.sum()), 1e-12)
    eta, previous = 1.0, math.inf
    records: list[dict] = []
    rounds = 0
    utilisation = np.zeros(capacity.size)
    k = 0
    for k in range(1, max_iter + 1):
        x = np.asarray(incidence_t @ h).ravel()
        aux, split = target(x)
        change = float(np.abs(aux - h).sum() / total)
        if k > 1:
            eta = float(kernel.sra_step(eta, change, previous))
        previous = change
        h = h + (aux - h) / eta
        if change > tol:
            continue
        x = np.asarray(incidence_t @ h).ravel()
        utilisation = capacity_loads(x, edge_group, capacity.size) / capacity
        over = utilisation > 1.0 + CAPACITY_TOL
        slack = (price > 0) & (utilisation < FULL)
        records.append(dict(iteration=k, flow_change=change, max_utilisation=float(utilisation.max(initial=0.0)),
                            priced=int((price > 0).sum()), seconds=time.perf_counter() - start))
        if not (over.any() or slack.any()) or rounds >= max_rounds:
            break
        rounds += 1
        # Newton-like step on ln(load / capacity) at the largest response a price can have
        # (the largest logit scale), shared out among the capacities in need of a change that
        # one route passes in series (a ferry and its two ports): moved all at once, each by
        # the full step, they would overshoot together and oscillate.
        need = over | slack
        used = route_groups.multiply((h > 1e-9)[:, None]).tocsr()
        in_series = np.asarray(used @ need.astype(float)).ravel()
        share_out = np.asarray(used.multiply(in_series[:, None]).max(axis=0).todense()).ravel()
        log_z = np.log(np.clip(utilisation, 0.25, 4.0))
        # Most loads respond far less than the largest scale allows (the mode scale is
        # smaller): a capacity still on the same side as last round takes a longer step,
        # one that crossed over a shorter one (Rprop-like; robust to the coupling).
        sign = np.sign(log_z)
        boost = np.where(need & (sign == last_sign), np.minimum(boost * 1.5, 1e3),
                         np.where(need & (sign != last_sign), np.maximum(boost * 0.5, 0.1), boost))
        last_sign = np.where(need, sign, 0.0)
        step = np.where(need, boost * log_z / (s_max * np.maximum(share_out, 1.0)), 0.0)
        price = np.maximum(price + step, 0.0)
        eta, previous = 1.0, math.inf  # a new price vector: restart the averaging
    # TEU by mode from the route flows the assignment reports (they add up to the demand)
    land = np.zeros(len(model.rows))
    land[model.land_rows] = np.bincount(arrays.group[arrays.group < n_eu], weights=h[arrays.group < n_eu],
                                        minlength=n_eu)
    split = replace(split, land_teu=land, sea_teu=teu_all - land)
    demand = np.bincount(arrays.group, weights=h, minlength=len(rows))
    flows = []
    for route, g, f in zip(arrays.routes, arrays.group, h, strict=True):
        if f > 0:
            row = rows[g]
            flows.append(RouteFlow(route, float(f), float(f / demand[g]) if demand[g] > 0 else 0.0, row.get("segment"),
                                   row.get("direction"), row.get("service")))
    # the state returned, whether the loop converged or ran out of iterations
    utilisation = capacity_loads(np.asarray(incidence_t @ h).ravel(), edge_group, capacity.size) / capacity
    over = [names[i] for i in np.flatnonzero(utilisation > 1.0 + CAPACITY_TOL)]
    if not records or records[-1]["iteration"] != k:
        records.append(dict(iteration=k, flow_change=previous, max_utilisation=float(utilisation.max(initial=0.0)),
                            priced=int((price > 0).sum()), seconds=time.perf_counter() - start))
    records[-1]["over_capacity"] = over
    records[-1]["capacity_price_usd"] = {names[i]: float(price[i]) for i in np.flatnonzero(price > 0)}
    records[-1]["utilisation"] = {names[i]: float(u) for i, u in enumerate(utilisation)}
    return AssignmentResult(network, "sue", tuple(flows), tuple(stranded), tuple(records)), split


def capacity_utilisation(result) -> dict[str, float]:
    """Utilisation (load / capacity) of every declared capacity (:func:`capacity_groups`) in an assignment."""
    from corridors.assignment import edge_arrays

    network = result.network
    edges = edge_arrays(network)
    edge_group, capacity, names = capacity_groups(network)
    x = np.zeros(edges.n_edges)
    for flow in result.flows:
        for e in flow.route.edges:
            x[edges.index[e]] += flow.teu
    load = capacity_loads(x, edge_group, capacity.size)
    return {name: float(v) for name, v in zip(names, load / capacity, strict=True)}


def eu_land_via_russia(result) -> float:
    """TEU/year of China↔EU27 land boxes (segment ``eu``, both directions) routed through Russia or Belarus."""
    from corridors.modes import RUSSIA_TRANSIT, SEGMENT
    from corridors.regions import EU27

    nodes = result.network.node_records
    total = 0.0
    for flow in result.flows:
        route = flow.route
        ends = {nodes[route.origin]["country"], nodes[route.destination]["country"]}
        if flow.segment == SEGMENT and ends & EU27 and "CHN" in ends and RUSSIA_TRANSIT & set(route.countries):
            total += flow.teu
    return total


def scenario_year(network, scenario, year: int, *, method: str | None = None, mode=None,
                  tables=None, through: str = "KAZ", from_: str = "CHN", to: str = "EU") -> dict[str, Any]:
    """A scenario against the baseline in a model year, both with the mode choice.

    ``network`` is the year's baseline (:func:`year_network`); the scenario is applied to it
    (its ``[sea]`` table changes the year inputs).  Demand the scenario leaves without a land
    route goes by sea, so nothing is stranded.  ``method``: see :func:`corridors.modes.scenario_method`
    (default ``sue``, where the declared capacities are honoured: :func:`solve`).

    Returns
    -------
    dict
        ``year``, ``name`` (the scenario), ``method``, and for ``baseline`` and ``scenario``:
        ``by_mode`` (both directions), ``share`` (of the land TEU ``from_`` -> ``to`` through
        ``through``), ``land_teu`` of that query, ``stranded_teu``, ``eu_land_via_russia_teu``
        (China↔EU27 land TEU through Russia or Belarus), ``max_ferry_utilisation`` and
        ``utilisation`` (load / capacity of every declared capacity,
        ``link:<id>:<ab|ba>`` or ``node:<id>``); ``change`` (relative change of China->EU27
        land TEU); ``diversion``: the China↔EU27 land TEU the scenario moves off Russia and
        Belarus (``off_russia_teu``), how many of all China↔EU27 TEU go to sea instead
        (``to_sea_teu``, ``to_sea_share`` of those moved) and the largest utilisation of a
        capacity whose load the scenario raised (``max_raised_utilisation``).
    """
    from corridors.modes import DIRECTION_OF, assign_year, load_mode_parameters, scenario_method
    from corridors.scenarios import apply_scenario, load_scenario

    scenario = load_scenario(scenario, geodata=network.geodata)
    mode = load_mode_parameters(network.geodata) if mode is None else mode
    method = scenario_method(scenario, method)
    out: dict[str, Any] = {"year": int(year), "name": scenario.name, "method": method}
    for key, net in (("baseline", network), ("scenario", apply_scenario(network, scenario))):
        result, split = assign_year(net, year, method=method, mode=mode, tables=tables, on_unreachable="strand")
        share = result.share_through(through, from_=from_, to=to)
        ferries = result.link_flows
        ferries = ferries[(ferries["mode"] == "ferry") & ferries["capacity_teu"].notna()]
        out[key] = {"by_mode": {d: split.by_mode(d) for d in DIRECTION_OF.values()}, "share": share.share,
                    "land_teu": share.total_teu, "stranded_teu": result.stranded_teu,
                    "eu_land_via_russia_teu": eu_land_via_russia(result),
                    "max_ferry_utilisation": float(ferries["utilisation"].max()) if len(ferries) else 0.0,
                    "utilisation": capacity_utilisation(result)}
    before = out["baseline"]["by_mode"]["china_europe"]["land"]
    after = out["scenario"]["by_mode"]["china_europe"]["land"]
    out["change"] = after / before - 1.0 if before > 0 else math.nan
    base, scen = out["baseline"], out["scenario"]
    off = base["eu_land_via_russia_teu"] - scen["eu_land_via_russia_teu"]
    to_sea = sum(scen["by_mode"][d]["sea"] - base["by_mode"][d]["sea"] for d in DIRECTION_OF.values())
    raised = [u for name, u in scen["utilisation"].items() if u > base["utilisation"].get(name, 0.0) + 1e-9]
    out["diversion"] = {"off_russia_teu": off, "to_sea_teu": to_sea,
                        "to_sea_share": to_sea / off if off > 0 else math.nan,
                        "max_raised_utilisation": max(raised, default=0.0)}
    return out
