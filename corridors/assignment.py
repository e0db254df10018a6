"""Assign a demand matrix to the network and keep the routes it took.

Methods
-------
``shortest``
    All-or-nothing: every OD flow takes its least generalised-cost route.
``logit``
    Path-size logit over the k distinct least-cost routes of each OD pair: demand
    spreads over competing routes, overlapping routes are not double counted.
``ue``, ``sue``
    Capacity-constrained user equilibrium and stochastic user equilibrium, solved by
    :mod:`corridors.equilibrium` on the capacities of ``geodata/``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from corridors._errors import QueryError
from corridors.routing import Route, best_routes, logit_probabilities, path_size

__all__ = ["METHODS", "AssignmentResult", "assign", "load_demand", "route_sets"]

METHODS = ("shortest", "logit", "ue", "sue")


def load_demand(geodata=None):
    """Return the demand table of a geodata folder as a DataFrame.

    Columns: ``origin``, ``destination`` (node ids), ``teu`` (TEU/year), ``year``,
    ``segment``, ``basis`` (assumption keys in ``SOURCES.md``).
    """
    import pandas as pd

    from corridors.network import load_network

    return pd.DataFrame(load_network(geodata).demand_rows)


def _demand_rows(network, demand) -> list[dict]:
    if demand is None:
        return list(network.demand_rows)
    if hasattr(demand, "to_dict"):
        rows = demand.to_dict("records")
    else:
        rows = [dict(r) for r in demand]
    out = []
    for i, row in enumerate(rows):
        for key in ("origin", "destination", "teu"):
            if key not in row:
                raise QueryError(f"demand row {i}: missing field '{key}'")
        network.node(row["origin"])
        network.node(row["destination"])
        teu = float(row["teu"])
        if teu < 0:
            raise QueryError(f"demand row {i} ({row['origin']} -> {row['destination']}): field 'teu' is negative")
        out.append({**row, "teu": teu})
    return out


def _cache_path(network, od_pairs: list[tuple[str, str]]):
    fingerprint = getattr(network, "fingerprint", None)
    if not fingerprint or os.environ.get("CORRIDORS_NO_CACHE"):
        return None
    from corridors.network import _cache_dir

    p = network.params
    key = repr((fingerprint, p.value_of_time_usd_per_teu_h, p.k_routes, p.max_detour, p.year, sorted(od_pairs)))
    return _cache_dir() / f"routes-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def route_sets(network, od_pairs: Iterable[tuple[str, str]], *, strict: bool = True) -> dict[tuple[str, str], list[Route]]:
    """Return the choice set (k distinct least-cost routes) of every OD pair.

    Route sets of an unchanged shipped network are cached on disk next to the layer
    cache, keyed by the geodata fingerprint and the cost parameters.

    Parameters
    ----------
    strict : bool
        If True an OD pair with no route raises :class:`QueryError`; otherwise it maps
        to an empty list.
    """
    pairs = sorted(set(od_pairs))
    path = _cache_path(network, pairs)
    if path is not None:
        try:
            with path.open("rb") as handle:
                cached = pickle.load(handle)
            if not strict or all(cached.get(p) for p in pairs):
                return cached
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    sets: dict[tuple[str, str], list[Route]] = {}
    for origin, destination in pairs:
        try:
            sets[(origin, destination)] = best_routes(network, origin, destination)
        except QueryError:
            if strict:
                raise
            sets[(origin, destination)] = []
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(sets, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass
    return sets


@dataclass(frozen=True)
class RouteFlow:
    """TEU/year assigned to one route of one demand row."""

    route: Route
    teu: float
    share_of_od: float
    segment: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    """The outcome of :func:`assign`.

    Attributes
    ----------
    network : Network
    method : str
    flows : tuple of RouteFlow
        Every route used, with its TEU/year and its share of its OD flow.
    stranded : tuple of dict
        Demand rows that found no route (only with ``on_unreachable="strand"``).
    convergence : tuple of dict
        Iteration records for the equilibrium methods (empty otherwise).
    """

    network: Any = field(repr=False)
    method: str
    flows: tuple[RouteFlow, ...] = field(repr=False)
    stranded: tuple[dict, ...] = ()
    convergence: tuple[dict, ...] = field(default=(), repr=False)

    @property
    def total_teu(self) -> float:
        """Assigned TEU/year (demand less stranded)."""
        return sum(f.teu for f in self.flows)

    @property
    def stranded_teu(self) -> float:
        """TEU/year of demand with no route."""
        return sum(r["teu"] for r in self.stranded)

    @functools.cached_property
    def paths(self):
        """DataFrame, one row per (OD, route) used; see docs/DESIGN.md for columns."""
        import pandas as pd

        rows = []
        for flow in self.flows:
            r = flow.route
            origin_country = self.network.node_records[r.origin]["country"]
            rows.append(
                dict(origin=r.origin, destination=r.destination, segment=flow.segment, teu=flow.teu,
                     share_of_od=flow.share_of_od, gen_cost_usd=r.gen_cost_usd, money_usd=r.money_usd,
                     time_h=r.time_h, days=r.days, length_km=r.length_km, corridor=r.corridor, route=r.route,
                     gateway=r.gateway({origin_country}), countries=r.countries, link_ids=r.link_ids,
                     node_ids=r.node_ids)
            )
        return pd.DataFrame(rows)

    @functools.cached_property
    def _link_teu(self) -> dict[str, list[float]]:
        teu: dict[str, list[float]] = {}
        for flow in self.flows:
            for u, v in flow.route.edges:
                data = self.network.graph.edges[u, v]
                if data["kind"] == "link":
                    pair = teu.setdefault(data["link_id"], [0.0, 0.0])
                    pair[0 if data["direction"] == "ab" else 1] += flow.teu
        return teu

    @functools.cached_property
    def link_flows(self):
        """GeoDataFrame of every link with ``teu_ab``, ``teu_ba``, ``teu`` (TEU/year) and
        ``utilisation`` (busier direction / capacity; NaN where capacity is not set)."""
        frame = self.network.links.copy()
        ab = [self._link_teu.get(i, (0.0, 0.0))[0] for i in frame.index]
        ba = [self._link_teu.get(i, (0.0, 0.0))[1] for i in frame.index]
        frame["teu_ab"] = ab
        frame["teu_ba"] = ba
        frame["teu"] = frame["teu_ab"] + frame["teu_ba"]
        capacity = frame["capacity_teu"].astype(float)
        frame["utilisation"] = frame[["teu_ab", "teu_ba"]].max(axis=1) / capacity
        return frame

    @functools.cached_property
    def node_flows(self):
        """DataFrame of TEU/year passing each node (``teu``), indexed by node id."""
        import pandas as pd

        teu = dict.fromkeys(self.network.node_records, 0.0)
        for flow in self.flows:
            for node_id in flow.route.node_ids:
                teu[node_id] += flow.teu
        frame = pd.DataFrame({"teu": teu})
        frame["country"] = [self.network.node_records[n]["country"] for n in frame.index]
        frame["kind"] = [self.network.node_records[n]["kind"] for n in frame.index]
        return frame

    def share_through(self, through: str, *, from_: str = "CHN", to: str = "EU"):
        """Share of the TEU from ``from_`` to ``to`` whose route passes through ``through``.

        Parameters
        ----------
        through, from_, to : str
            ISO3 codes or region names (``EU``, ``EUROPE``, ``CENTRAL_ASIA`` ...).

        Returns
        -------
        ShareResult
        """
        from corridors.share import share_through

        return share_through(self, through, from_=from_, to=to)


def _equilibrium_flows(network, rows, sets, method):
    from corridors import equilibrium_bridge

    return equilibrium_bridge.assign_equilibrium(network, rows, sets, method)


def assign(network, demand=None, *, method: str = "logit", on_unreachable: str = "raise") -> AssignmentResult:
    """Assign a demand matrix to the network.

    Parameters
    ----------
    network : Network
        From :func:`corridors.load_network`.
    demand : DataFrame or iterable of dict, optional
        Rows with ``origin``, ``destination`` (node ids) and ``teu`` (TEU/year);
        defaults to the network's ``demand.csv``.
    method : {"logit", "shortest", "ue", "sue"}
        Route choice (see the module docstring).
    on_unreachable : {"raise", "strand"}
        What to do with demand that has no route: raise :class:`QueryError`, or keep it
        aside in ``result.stranded`` (scenarios that close borders use this).

    Returns
    -------
    AssignmentResult

    Examples
    --------
    >>> import corridors
    >>> result = corridors.assign(corridors.load_network(), method="shortest")
    >>> 0.0 <= result.share_through("KAZ", from_="CHN", to="EU").share <= 1.0
    True
    """
    if method not in METHODS:
        raise QueryError(f"unknown method '{method}'; expected one of {', '.join(METHODS)}")
    if on_unreachable not in ("raise", "strand"):
        raise QueryError(f"on_unreachable must be 'raise' or 'strand', got {on_unreachable!r}")
    rows = _demand_rows(network, demand)
    pairs = {(r["origin"], r["destination"]) for r in rows if r["teu"] > 0}
    sets = route_sets(network, pairs, strict=False)
    stranded = []
    usable = []
    for row in rows:
        if row["teu"] <= 0:
            continue
        if not sets.get((row["origin"], row["destination"])):
            if on_unreachable == "raise":
                raise QueryError(
                    f"demand {row['origin']} -> {row['destination']} ({row['teu']:g} TEU/year): destination "
                    f"'{row['destination']}' is unreachable from '{row['origin']}'"
                )
            stranded.append(dict(row))
        else:
            usable.append(row)
    if method in ("ue", "sue"):
        flows, convergence = _equilibrium_flows(network, usable, sets, method)
        return AssignmentResult(network, method, tuple(flows), tuple(stranded), tuple(convergence))
    params = network.params
    flows: list[RouteFlow] = []
    for row in usable:
        routes = sets[(row["origin"], row["destination"])]
        if method == "shortest" or len(routes) == 1:
            probabilities = [1.0] + [0.0] * (len(routes) - 1)
        else:
            probabilities = logit_probabilities(
                [r.gen_cost_usd for r in routes], path_size(routes),
                theta=params.logit_theta_per_usd, beta=params.path_size_beta,
            )
        for route, p in zip(routes, probabilities, strict=True):
            if p > 0:
                flows.append(RouteFlow(route, row["teu"] * p, p, row.get("segment")))
    return AssignmentResult(network, method, tuple(flows), tuple(stranded))
