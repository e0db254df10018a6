"""Route-share queries on an assignment: through a country, by corridor, by gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corridors._errors import QueryError
from corridors.regions import describe_region, resolve_region

__all__ = ["ShareResult", "share_through", "corridor_name", "CORRIDOR_NAMES", "ROUTE_NAMES"]

ROUTE_NAMES = {
    "northern_kaz": "Northern route via Kazakhstan",
    "central_mng": "Central route via Mongolia",
    "eastern_transsib": "Eastern route via Trans-Siberian",
    "transsib": "Trans-Siberian",
    "via_iran": "Southern route via Iran",
}

CORRIDOR_NAMES = {
    "belt_and_road": "Belt and Road northern routes",
    "middle_corridor": "Middle Corridor (Trans-Caspian)",
    "north_south": "North–South (INSTC)",
    "east_west": "East–West",
}


@dataclass(frozen=True)
class ShareResult:
    """The answer to "what share of the TEU from A to B passes through C?".

    Attributes
    ----------
    share : float
        ``through_teu / total_teu`` (0..1).
    through, from_, to : str
        The query, as given.
    total_teu : float
        TEU/year assigned from ``from_`` to ``to``.
    through_teu : float
        Of which TEU/year on routes passing through ``through``.
    share_teu_km : float
        The same share weighted by route length (TEU-km).
    teu_km_in_country : float
        TEU-km/year run inside ``through``.
    by_corridor, by_gateway, by_route : dict
        name -> ``{"teu": ..., "through_teu": ..., "share_of_total": ...}``; gateways are
        the border crossings where the flow leaves ``from_``.
    method : str
        The route-choice method of the assignment.
    stranded_teu : float
        TEU/year of the queried demand that found no route.
    """

    share: float
    through: str
    from_: str
    to: str
    total_teu: float
    through_teu: float
    share_teu_km: float
    teu_km_in_country: float
    by_corridor: dict[str, dict[str, float]] = field(default_factory=dict)
    by_gateway: dict[str, dict[str, float]] = field(default_factory=dict)
    by_route: dict[str, dict[str, float]] = field(default_factory=dict)
    method: str = ""
    stranded_teu: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (keys ``share``, ``through``, ``from``, ``to`` ...)."""
        return {
            "share": self.share,
            "through": self.through,
            "from": self.from_,
            "to": self.to,
            "method": self.method,
            "total_teu": self.total_teu,
            "through_teu": self.through_teu,
            "share_teu_km": self.share_teu_km,
            "teu_km_in_country": self.teu_km_in_country,
            "stranded_teu": self.stranded_teu,
            "by_corridor": self.by_corridor,
            "by_gateway": self.by_gateway,
            "by_route": self.by_route,
        }

    def summary(self) -> str:
        """A few lines of plain text for the terminal."""
        lines = [
            f"{self.share:.1%} of {self.total_teu:,.0f} TEU/year from {describe_region(self.from_)} to "
            f"{describe_region(self.to)} passes through {describe_region(self.through)} "
            f"({self.through_teu:,.0f} TEU/year; {self.share_teu_km:.1%} of TEU-km; method {self.method})",
        ]
        if self.stranded_teu:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year")
        for title, table in (
            ("by corridor", self.by_corridor),
            ("by gateway (leaving " + self.from_ + ")", self.by_gateway),
        ):
            lines.append(f"{title}:")
            for name, row in table.items():
                lines.append(
                    f"  {name:<44} {row['teu']:>12,.0f} TEU  {row['share_of_total']:>6.1%}   "
                    f"through {self.through}: {row['through_teu']:>10,.0f}"
                )
        return "\n".join(lines)


def corridor_name(route) -> str:
    """Display name of a route's corridor; Belt and Road routes are named by their branch."""
    if route.corridor in ("belt_and_road", "north_south") and route.route in ROUTE_NAMES:
        return ROUTE_NAMES[route.route]
    return CORRIDOR_NAMES.get(route.corridor, route.corridor)


def _add(table: dict, name: str, teu: float, through: float) -> None:
    row = table.setdefault(name, {"teu": 0.0, "through_teu": 0.0})
    row["teu"] += teu
    row["through_teu"] += through


def _finish(table: dict, total: float) -> dict:
    ordered = dict(sorted(table.items(), key=lambda item: -item[1]["teu"]))
    for row in ordered.values():
        row["share_of_total"] = row["teu"] / total if total else 0.0
    return ordered


def gateway_name(network, link_id: str | None, region: set[str]) -> str:
    """Readable name of a border-crossing link, the end inside ``region`` first (``Alashankou–Dostyk``)."""
    if link_id is None:
        return "none (stays in region)"
    link = network.link_records[link_id]
    a, b = network.node_records[link["from"]], network.node_records[link["to"]]
    if a["country"] not in region:
        a, b = b, a
    return f"{a['name']}–{b['name']}"


def share_through(result, through: str, *, from_: str = "CHN", to: str = "EU") -> ShareResult:
    """Share of the TEU between two regions whose routes pass through a country or region.

    Parameters
    ----------
    result : AssignmentResult
    through, from_, to : str
        ISO3 codes or region names; see :func:`corridors.regions.resolve_region`.

    Raises
    ------
    QueryError
        For an unknown country or region, or if no demand joins ``from_`` and ``to``.
    """
    network = result.network
    known = network.country_codes
    through_codes = resolve_region(through, known)
    from_codes = resolve_region(from_, known)
    to_codes = resolve_region(to, known)
    nodes = network.node_records
    total = through_teu = teu_km = through_teu_km = in_country_km = 0.0
    by_corridor: dict = {}
    by_gateway: dict = {}
    by_route: dict = {}
    for flow in result.flows:
        route = flow.route
        if nodes[route.origin]["country"] not in from_codes or nodes[route.destination]["country"] not in to_codes:
            continue
        passes = route.passes_through(through_codes)
        teu = flow.teu
        total += teu
        teu_km += teu * route.length_km
        if passes:
            through_teu += teu
            through_teu_km += teu * route.length_km
        in_country_km += teu * sum(km for c, km in route.km_by_country if c in through_codes)
        _add(by_corridor, corridor_name(route), teu, teu if passes else 0.0)
        _add(by_route, f"{route.corridor}/{route.route}", teu, teu if passes else 0.0)
        gateway = route.gateway(from_codes)
        _add(by_gateway, gateway_name(network, gateway, from_codes), teu, teu if passes else 0.0)
    stranded = sum(
        r["teu"]
        for r in result.stranded
        if nodes[r["origin"]]["country"] in from_codes and nodes[r["destination"]]["country"] in to_codes
    )
    if total <= 0 and stranded <= 0:
        raise QueryError(
            f"no demand from {from_} to {to} in the demand table (origins must lie in {from_}, destinations in {to})"
        )
    return ShareResult(
        share=through_teu / total if total else 0.0,
        through=through,
        from_=from_,
        to=to,
        total_teu=total,
        through_teu=through_teu,
        share_teu_km=through_teu_km / teu_km if teu_km else 0.0,
        teu_km_in_country=in_country_km,
        by_corridor=_finish(by_corridor, total),
        by_gateway=_finish(by_gateway, total),
        by_route=_finish(by_route, total),
        method=result.method,
        stranded_teu=stranded,
    )
