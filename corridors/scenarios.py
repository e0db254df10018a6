"""Run a scenario against its baseline and compare them.

The scenario file is read by :mod:`corridors.scenario_schema`, applied to the network by
:mod:`corridors.scenario_apply` and assigned by :func:`corridors.assignment.assign`
(every method honours OD-segment closures); Monte Carlo sweeps are :mod:`corridors.montecarlo`.
The names of those modules that users meet are re-exported here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridors._errors import ScenarioError
from corridors.montecarlo import SweepResult, sweep
from corridors.network import Network
from corridors.scenario_apply import ScenarioNetwork, apply_scenario, unreachable_error
from corridors.scenario_schema import (
    DISTRIBUTIONS,
    LINK_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Scenario,
    list_scenarios,
    load_scenario,
)
from corridors.share import html_card, table_frame

__all__ = [
    "Scenario",
    "ScenarioNetwork",
    "ScenarioResult",
    "SweepResult",
    "load_scenario",
    "list_scenarios",
    "apply_scenario",
    "assign_scenario",
    "run_scenario",
    "sweep",
    "LINK_ATTRIBUTES",
    "NODE_ATTRIBUTES",
    "DISTRIBUTIONS",
]


_CHANGE_COLUMNS = ("baseline_teu", "scenario_teu", "change_teu")


def assign_scenario(network: Network, *, method: str = "logit", demand: Any = None):
    """Assign demand on a (scenario) network, keeping demand without a route as stranded.

    This is :func:`corridors.assignment.assign` with ``on_unreachable="strand"``; every
    method honours the network's OD-segment closures.

    Returns
    -------
    AssignmentResult
    """
    from corridors.assignment import assign

    return assign(network, demand, method=method, on_unreachable="strand")


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's assignment and its comparison with the baseline.

    Attributes
    ----------
    scenario : Scenario
    result : AssignmentResult
        The scenario's assignment (``result.stranded``: demand left without a route).
    base_network : Network
        The baseline network (``baseline`` is assigned on it lazily, same method): the
        unchanged network, or that of the scenario named by ``compare_with``.
    method, through, from_, to : str
        Route choice and the share query (``through`` country, ``from_`` -> ``to``).
    baseline_name : str
        ``"baseline"`` or the name of the ``compare_with`` scenario.
    """

    scenario: Scenario
    result: Any = field(repr=False)
    base_network: Any = field(repr=False)
    method: str = "logit"
    through: str = "KAZ"
    from_: str = "CHN"
    to: str = "EU"
    baseline_name: str = "baseline"

    @functools.cached_property
    def baseline(self):
        """The baseline assignment (same method and demand table)."""
        return assign_scenario(self.base_network, method=self.method)

    @functools.cached_property
    def share(self):
        """ShareResult of the scenario for the query."""
        return self.result.share_through(self.through, from_=self.from_, to=self.to)

    @functools.cached_property
    def baseline_share(self):
        """ShareResult of the baseline for the query."""
        return self.baseline.share_through(self.through, from_=self.from_, to=self.to)

    @property
    def stranded_teu(self) -> float:
        """TEU/year of all demand left without a route."""
        return self.result.stranded_teu

    @staticmethod
    def _diff(new: dict, old: dict) -> dict[str, dict[str, float]]:
        out = {}
        for name in list(old) + [n for n in new if n not in old]:
            a = new.get(name, {}).get("teu", 0.0)
            b = old.get(name, {}).get("teu", 0.0)
            out[name] = {"baseline_teu": b, "scenario_teu": a, "change_teu": a - b}
        return dict(sorted(out.items(), key=lambda kv: -max(kv[1]["baseline_teu"], kv[1]["scenario_teu"])))

    def _corridor_rows(self) -> dict[str, dict[str, float]]:
        return self._diff(self.share.corridor_rows, self.baseline_share.corridor_rows)

    def _gateway_rows(self) -> dict[str, dict[str, float]]:
        return self._diff(self.share.gateway_rows, self.baseline_share.gateway_rows)

    def corridor_changes(self):
        """DataFrame of TEU/year from ``from_`` to ``to`` by corridor (index ``corridor``):
        ``baseline_teu``, ``scenario_teu``, ``change_teu``, largest first."""
        return table_frame(self._corridor_rows(), "corridor", _CHANGE_COLUMNS)

    def gateway_changes(self):
        """DataFrame of TEU/year from ``from_`` to ``to`` by gateway (crossing out of ``from_``;
        index ``gateway``): ``baseline_teu``, ``scenario_teu``, ``change_teu``."""
        return table_frame(self._gateway_rows(), "gateway", _CHANGE_COLUMNS)

    def route_changes(self):
        """DataFrame of TEU/year from ``from_`` to ``to`` by corridor/route (index ``route``)."""
        return table_frame(self._diff(self.share.route_rows, self.baseline_share.route_rows), "route",
                           _CHANGE_COLUMNS)

    def _link_rows(self, n: int) -> list[dict[str, Any]]:
        new = _link_teu(self.result)
        old = _link_teu(self.baseline)
        records = {**self.base_network.link_records, **self.result.network.link_records}
        nodes = {**self.base_network.node_records, **self.result.network.node_records}
        rows = []
        for link_id in set(new) | set(old):
            a, b = new.get(link_id, 0.0), old.get(link_id, 0.0)
            if abs(a - b) < 1e-6:
                continue
            r = records[link_id]
            rows.append(dict(link_id=link_id, name=f"{nodes[r['from']]['name']}–{nodes[r['to']]['name']}",
                             corridor=r["corridor"], route=r["route"], baseline_teu=b, scenario_teu=a,
                             change_teu=a - b))
        rows.sort(key=lambda r: (-abs(r["change_teu"]), r["link_id"]))
        return rows[:n]

    def link_changes(self, n: int = 10):
        """DataFrame of the ``n`` links whose total TEU/year (both directions, all demand)
        changed most (index ``link_id``; ``name``, ``corridor``, ``route``, ``baseline_teu``,
        ``scenario_teu``, ``change_teu``)."""
        import pandas as pd

        rows = self._link_rows(n)
        columns = ["link_id", "name", "corridor", "route", "baseline_teu", "scenario_teu", "change_teu"]
        return pd.DataFrame(rows, columns=columns).set_index("link_id")

    def __repr__(self) -> str:
        s, b = self.share, self.baseline_share
        return (f"<ScenarioResult {self.scenario.name}: share {self.from_}->{self.to} through {self.through} "
                f"{s.share:.1%} ({self.baseline_name} {b.share:.1%}), method {self.method}>")

    def _repr_html_(self) -> str:
        s, b = self.share, self.baseline_share
        lines = [
            self.scenario.title,
            f"method {self.method}, year {self.result.network.params.year}, compared with {self.baseline_name}",
            f"share of {self.from_} -> {self.to} TEU through {self.through}: {s.share:.1%} "
            f"({self.baseline_name} {b.share:.1%}, change {100 * (s.share - b.share):+.1f} pp)",
        ]
        if self.result.stranded:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year")
        return html_card(f"ScenarioResult {self.scenario.name}", lines,
                         [("by corridor (TEU/year)", self.corridor_changes()),
                          (f"by gateway (leaving {self.from_})", self.gateway_changes()),
                          ("biggest link changes (TEU/year, all demand)", self.link_changes(10))])

    def to_dict(self, n_links: int = 10) -> dict[str, Any]:
        """JSON-ready summary of the comparison."""
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "compared_with": self.baseline_name,
            "method": self.method,
            "year": self.result.network.params.year,
            "query": {"through": self.through, "from": self.from_, "to": self.to},
            "share": self.share.share,
            "baseline_share": self.baseline_share.share,
            "change_share": self.share.share - self.baseline_share.share,
            "total_teu": self.share.total_teu,
            "baseline_total_teu": self.baseline_share.total_teu,
            "through_teu": self.share.through_teu,
            "baseline_through_teu": self.baseline_share.through_teu,
            "stranded_teu": self.stranded_teu,
            "stranded": [{k: r[k] for k in ("origin", "destination", "teu") if k in r} | {"segment": r.get("segment")}
                         for r in self.result.stranded],
            "by_corridor": self._corridor_rows(),
            "by_gateway": self._gateway_rows(),
            "link_changes": self._link_rows(n_links),
            "sources": list(self.scenario.sources),
        }

    def summary(self, n_links: int = 10) -> str:
        """Plain-text comparison for the terminal."""
        s, b = self.share, self.baseline_share
        lines = [
            f"scenario {self.scenario.name}: {self.scenario.title}",
            f"method {self.method}, year {self.result.network.params.year}, compared with {self.baseline_name}",
            f"share of {self.from_} -> {self.to} TEU through {self.through}: {s.share:.1%} "
            f"({self.baseline_name} {b.share:.1%}, change {100 * (s.share - b.share):+.1f} pp)",
            f"TEU/year {self.from_} -> {self.to}: {s.total_teu:,.0f} ({self.baseline_name} {b.total_teu:,.0f}); "
            f"through {self.through}: {s.through_teu:,.0f} ({self.baseline_name} {b.through_teu:,.0f})",
        ]
        if self.result.stranded:
            lines.append(f"stranded (no route): {self.stranded_teu:,.0f} TEU/year in {len(self.result.stranded)} "
                         f"demand row(s), e.g. {self.result.stranded[0]['origin']} -> "
                         f"{self.result.stranded[0]['destination']}")
        for title, table in (("by corridor", self._corridor_rows()),
                             (f"by gateway (leaving {self.from_})", self._gateway_rows())):
            lines.append(f"{title + ':':<52} {'baseline':>12} {'scenario':>12} {'change':>12}")
            for name, row in table.items():
                lines.append(f"  {name:<50} {row['baseline_teu']:>12,.0f} {row['scenario_teu']:>12,.0f} "
                             f"{row['change_teu']:>+12,.0f}")
        changes = self._link_rows(n_links)
        if changes:
            lines.append("biggest link changes (TEU/year, all demand):")
            for row in changes:
                lines.append(f"  {row['link_id']:<34} {row['name']:<40.40} {row['baseline_teu']:>11,.0f} "
                             f"{row['scenario_teu']:>11,.0f} {row['change_teu']:>+11,.0f}")
        return "\n".join(lines)


def _link_teu(result) -> dict[str, float]:
    teu: dict[str, float] = {}
    graph = result.network.graph
    for flow in result.flows:
        for u, v in flow.route.edges:
            data = graph.edges[u, v]
            if data["kind"] == "link":
                teu[data["link_id"]] = teu.get(data["link_id"], 0.0) + flow.teu
    return teu


def run_scenario(scenario: Scenario | str | Path, *, network: Network | None = None,
                 geodata: str | Path | None = None, method: str | None = None, through: str = "KAZ",
                 from_: str = "CHN", to: str = "EU") -> ScenarioResult:
    """Run a scenario and compare it with the baseline.

    Parameters
    ----------
    scenario : Scenario, or a name or path
    network : Network, optional
        The baseline network (default: ``load_network(geodata)``).
    geodata : path, optional
        Geodata folder (also searched for ``scenarios/<name>.toml``).
    method : str, optional
        Route choice; default the scenario's ``method``, else ``logit``.
    through, from_, to : str
        The share query of the comparison (ISO3 codes or regions).

    Returns
    -------
    ScenarioResult
        ``.result`` (scenario assignment), ``.baseline``, ``.share``, ``.summary()``.

    Raises
    ------
    ScenarioError
        For a bad file, or a closure that leaves demand without a route unless the
        scenario sets ``on_unreachable = "strand"``.

    Examples
    --------
    >>> from corridors.scenarios import run_scenario
    >>> res = run_scenario("no-eu-transit-via-russia")
    >>> res.share.share > res.baseline_share.share
    True
    """
    from corridors.network import load_network

    base = network if network is not None else load_network(geodata)
    folder = geodata if geodata is not None else base.geodata
    scenario = load_scenario(scenario, geodata=folder)
    snet = apply_scenario(base, scenario)
    method = method or scenario.method or "logit"
    result = assign_scenario(snet, method=method)
    if result.stranded and scenario.spec.on_unreachable == "error":
        raise unreachable_error(snet, scenario, result.stranded)
    reference, label = base, "baseline"
    if scenario.spec.compare_with:
        try:
            other = load_scenario(scenario.spec.compare_with, geodata=folder)
        except ScenarioError as exc:
            raise ScenarioError(f"{scenario.label}: compare_with: {exc}") from None
        reference, label = apply_scenario(base, other), other.name
    return ScenarioResult(scenario, result, reference, method, through, from_, to, label)
