"""Apply a scenario to a network: closures, openings, additions, attribute and demand changes.

Selectors pick nodes and links (see :mod:`corridors.scenario_schema`); new nodes and links
are checked by the same rules as the layers (:mod:`corridors.layers`); closures for all
traffic close records, closures for some OD segments become
:class:`~corridors.network.ODClosure` entries of the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from corridors._errors import CorridorsError, QueryError, ScenarioError, suggest
from corridors.limits import MAX_DEMAND_TEU, MAX_JSON_DEPTH, attribute_range, range_problem
from corridors.network import CostParameters, Network, ODClosure, _in_service, build_graph
from corridors.readers import _json_depth_ok, _read_text
from corridors.scenario_schema import (
    _LINK_SLUG,
    _SLUG,
    LINK_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Scenario,
    _Change,
    _NewLink,
    _NewNode,
    _Selector,
    _Spec,
    _validation_error,
    load_scenario,
)

__all__ = ["ScenarioNetwork", "apply_scenario", "unreachable_error"]


@dataclass(frozen=True)
class ScenarioNetwork(Network):
    """A :class:`~corridors.network.Network` with a scenario applied.

    Global changes are in the records and the graph; closures limited to OD pairs between
    two regions are in ``od_closures`` (honoured by every method of
    :func:`corridors.assignment.assign`).

    Attributes
    ----------
    scenario : Scenario
    global_closures : tuple of str
        Keys (``close[0]``) of the closures applied to all traffic.
    """

    scenario: Any = field(default=None, repr=False)
    global_closures: tuple[str, ...] = field(default=(), repr=False)


class _Context:
    """Records being changed, with the lookups selectors need."""

    def __init__(self, network: Network, label: str):
        self.label = label
        self.nodes = {k: dict(v) for k, v in network.node_records.items()}
        self.links = {k: dict(v) for k, v in network.link_records.items()}
        self.countries = set(network.country_codes)

    def error(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.label}: {key}: {problem}")

    def codes(self, value: str, key: str) -> frozenset[str]:
        from corridors.regions import resolve_region

        try:
            return resolve_region(value, self.countries)
        except QueryError as exc:
            raise self.error(key, str(exc)) from None

    def check_ids(self, sel: Any, key: str) -> None:
        from corridors.layers import CORRIDORS, MODES, NODE_KINDS

        corridors = {r["corridor"] for r in self.links.values()} | set(CORRIDORS)
        routes = {r["route"] for r in self.links.values()}
        checks = (
            ("nodes", self.nodes, "node"), ("links", self.links, "link"), ("corridors", corridors, "corridor"),
            ("routes", routes, "route"), ("modes", MODES, "mode"), ("node_kinds", NODE_KINDS, "node kind"),
        )
        for attr, known, what in checks:
            for value in getattr(sel, attr, ()):
                if value not in known:
                    raise self.error(f"{key}.{attr}", f"unknown {what} '{value}'{suggest(value, known)}")

    def select(self, sel: Any, key: str) -> tuple[set[str], set[str]]:
        """Return the (node ids, link ids) a selector picks (see the module docstring)."""
        self.check_ids(sel, key)
        codes: set[str] = set()
        for value in getattr(sel, "countries", ()):
            codes |= self.codes(value, f"{key}.countries")
        node_kinds = getattr(sel, "node_kinds", [])
        modes = getattr(sel, "modes", [])
        applies_to = getattr(sel, "applies_to", "auto")
        node_only = bool(sel.nodes or node_kinds)
        link_only = bool(sel.links or modes or sel.corridors or sel.routes)
        if applies_to == "auto":
            want_nodes = node_only or (bool(codes) and not link_only) or not (node_only or link_only or codes)
            want_links = (link_only and not node_only) or (bool(codes) and not node_only) or not (
                node_only or link_only or codes)
        else:
            want_nodes = applies_to in ("nodes", "both")
            want_links = applies_to in ("links", "both")

        def link_ok(link_id: str, r: dict) -> bool:
            if sel.links and link_id not in sel.links:
                return False
            if modes and r["mode"] not in modes:
                return False
            if sel.corridors and r["corridor"] not in sel.corridors:
                return False
            if sel.routes and r["route"] not in sel.routes:
                return False
            if codes:
                parts = set(str(r.get("country")).split("|")) if r.get("country") else {
                    self.nodes[r["from"]]["country"], self.nodes[r["to"]]["country"]}
                if not parts & codes:
                    return False
            return True

        nodes: set[str] = set()
        links: set[str] = set()
        if want_links:
            links = {k for k, r in self.links.items() if link_ok(k, r)}
            if sel.nodes:
                links = {k for k in links if self.links[k]["from"] in sel.nodes or self.links[k]["to"] in sel.nodes}
            if node_kinds:
                links = {k for k in links if self.nodes[self.links[k]["from"]]["kind"] in node_kinds
                         or self.nodes[self.links[k]["to"]]["kind"] in node_kinds}
        if want_nodes:
            nodes = {k for k, r in self.nodes.items()
                     if (not sel.nodes or k in sel.nodes) and (not node_kinds or r["kind"] in node_kinds)
                     and (not codes or r["country"] in codes)}
            if sel.corridors or sel.routes or sel.links or modes:
                ends = set()
                for k, r in self.links.items():
                    if link_ok(k, r):
                        ends |= {r["from"], r["to"]}
                nodes &= ends
        return nodes, links

    # -- additions ------------------------------------------------------------------------

    def add_node(self, node: _NewNode, key: str) -> None:
        if not _SLUG.match(node.id):
            raise self.error(f"{key}.id", f"expected a lowercase ASCII slug, got {node.id!r}")
        if node.id in self.nodes:
            raise self.error(f"{key}.id", f"node '{node.id}' already exists")
        if node.country not in self.countries:
            raise self.error(f"{key}.country",
                             f"unknown country '{node.country}'{suggest(node.country, self.countries)}")
        if (node.transfer_h is None) != (node.transfer_usd is None):
            raise self.error(f"{key}.transfer_usd", "transfer_h and transfer_usd must be both set or both null")
        if node.status != "operating" and node.opening_year is None:
            raise self.error(f"{key}.opening_year", f"a {node.status} node needs its expected opening year")
        record = node.model_dump()
        self.nodes[node.id] = record

    def add_link(self, link: _NewLink, key: str) -> None:
        from pyproj import Geod

        from corridors.layers import CORRIDORS

        if not _LINK_SLUG.match(link.id):
            raise self.error(f"{key}.id", f"expected a lowercase ASCII slug, got {link.id!r}")
        if link.id in self.links:
            raise self.error(f"{key}.id", f"link '{link.id}' already exists")
        for end, node_id in (("from", link.from_), ("to", link.to)):
            if node_id not in self.nodes:
                raise self.error(f"{key}.{end}", f"unknown node '{node_id}'{suggest(node_id, self.nodes)}")
        if link.corridor not in CORRIDORS:
            raise self.error(f"{key}.corridor",
                             f"unknown corridor '{link.corridor}'{suggest(link.corridor, CORRIDORS)}")
        if link.mode == "rail" and link.gauge_mm is None:
            raise self.error(f"{key}.gauge_mm", "a rail link needs gauge 1435 or 1520")
        if link.mode != "rail" and link.gauge_mm is not None:
            raise self.error(f"{key}.gauge_mm", f"a {link.mode} link has no gauge")
        if link.speed_kmh is None and link.running_h is None:
            raise self.error(f"{key}.speed_kmh", "needs speed_kmh or running_h")
        if link.tariff_usd_per_teu_km is None and link.tariff_usd is None:
            raise self.error(f"{key}.tariff_usd_per_teu_km", "needs tariff_usd_per_teu_km or tariff_usd")
        if link.status != "operating" and link.opening_year is None:
            raise self.error(f"{key}.opening_year", f"a {link.status} link needs its expected opening year")
        a, b = self.nodes[link.from_], self.nodes[link.to]
        if link.mode == "ferry":
            if link.country is not None:
                raise self.error(f"{key}.country", "a ferry leg crosses water: country must be null")
        else:
            if link.country is None:
                raise self.error(f"{key}.country", "expected an ISO3 code (or AAA|BBB for a border link)")
            parts = set(link.country.split("|"))
            if parts != {a["country"], b["country"]}:
                raise self.error(f"{key}.country", f"is {link.country} but its end nodes lie in {a['country']} "
                                 f"and {b['country']}")
        for gauge_end in (a, b):
            if link.mode == "rail" and gauge_end.get("transfer_h") is None:
                gauges = {r["gauge_mm"] for r in self.links.values() if r["mode"] == "rail"
                          and gauge_end["id"] in (r["from"], r["to"])}
                if gauges and link.gauge_mm not in gauges:
                    raise self.error(f"{key}.gauge_mm", f"meets other gauges at '{gauge_end['id']}', which has no "
                                     "gauge-change time/cost (transfer_h)")
        coords = tuple((float(x), float(y)) for x, y in link.coordinates)
        lons, lats = zip(*coords, strict=True)
        record = link.model_dump(by_alias=True, exclude={"coordinates"})
        record["coords"] = coords
        record["length_km"] = float(Geod(ellps="WGS84").line_length(lons, lats)) / 1000.0
        record["layer"] = link.corridor
        self.links[link.id] = record

    def read_geojson(self, path: Path, key: str) -> tuple[list, list]:
        """Validate a GeoJSON fragment; return ([(node, key)], [(link, key)])."""
        problems: list = []
        text = _read_text(path, path.name, problems)  # the layers' reader: BOM, encoding, permissions
        if text is None:
            raise self.error(key, f"cannot read GeoJSON {problems[0]}")
        if not _json_depth_ok(text):
            raise self.error(key, f"{path.name}: not GeoJSON (nested deeper than {MAX_JSON_DEPTH} levels)")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, a 5,000-digit integer
            raise self.error(key, f"cannot read GeoJSON {path.name} ({str(exc).splitlines()[0][:120]})") from None
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise self.error(key, f"{path.name}: expected a GeoJSON FeatureCollection")

        def geometry_type(f: Any) -> Any:
            geometry = f.get("geometry") if isinstance(f, dict) else None
            if not isinstance(geometry, dict) or not isinstance(geometry.get("coordinates"), list):
                return None
            return geometry.get("type")

        points = [f for f in features if geometry_type(f) == "Point"]
        lines = [f for f in features if geometry_type(f) == "LineString"]
        if len(points) + len(lines) != len(features):
            raise self.error(key, f"{path.name}: only Point (node) and LineString (link) features are allowed")
        out: tuple[list, list] = ([], [])
        for kind, group, bucket in (("node", points, out[0]), ("link", lines, out[1])):
            for i, feature in enumerate(group):
                props = feature.get("properties") or {}
                if not isinstance(props, dict):
                    raise self.error(key, f"{path.name}: {kind} #{i}: properties: expected an object")
                props = dict(props)
                coords = feature["geometry"]["coordinates"]
                if kind == "node" and len(coords) < 2:
                    raise self.error(key, f"{path.name}: node '{props.get('id', i)}': expected [lon, lat]")
                fkey = f"{key}:{kind} '{props.get('id', i)}'"
                try:
                    if kind == "node":
                        bucket.append((_NewNode.model_validate({**props, "lon": coords[0], "lat": coords[1]}), fkey))
                    else:
                        bucket.append((_NewLink.model_validate({**props, "coordinates": coords}), fkey))
                except ValidationError as exc:
                    raise _validation_error(f"{self.label}: {fkey}", exc) from None
        return out


def _scaled_demand(rows: list[dict], spec: _Spec, ctx: _Context) -> list[dict]:
    rows = [dict(r) for r in rows]
    for i, change in enumerate(spec.demand):
        match = _demand_matcher(change, f"demand[{i}]", ctx)
        hit = False
        for row in rows:
            if match(row):
                row["teu"] = row["teu"] * change.scale
                hit = True
                if row["teu"] > MAX_DEMAND_TEU:
                    raise ctx.error(f"demand[{i}].scale", f"scales {row['origin']} -> {row['destination']} to "
                                    f"{row['teu']:g} TEU/year, above {MAX_DEMAND_TEU:g}")
        if not hit:
            raise ctx.error(f"demand[{i}]", "matches no row of the demand table")
    return rows


def _demand_matcher(target: Any, key: str, ctx: _Context):
    def side(value: str | None, end: str, attr: str):
        if value is None:
            return lambda row: True
        if value in ctx.nodes:
            return lambda row: row[end] == value
        codes = ctx.codes(value, f"{key}.{attr}")
        return lambda row: ctx.nodes[row[end]]["country"] in codes

    o = side(target.from_, "origin", "from")
    d = side(target.to, "destination", "to")
    segment = target.segment
    return lambda row: o(row) and d(row) and (segment is None or row.get("segment") == segment)


def apply_scenario(network: Network, scenario: Scenario | str | Path) -> ScenarioNetwork:
    """Apply a scenario's changes to a network.

    Parameters
    ----------
    network : Network
        The baseline, from :func:`corridors.load_network`.
    scenario : Scenario, or a name or path for :func:`load_scenario`

    Returns
    -------
    ScenarioNetwork
        The changed network (records, parameters, demand and graph); OD-limited closures
        are in ``od_closures``.

    Raises
    ------
    ScenarioError
        For an unknown node, link, country, corridor or route, or a change that does not
        apply to the selection.
    """
    scenario = load_scenario(scenario, geodata=network.geodata)
    spec = scenario.spec
    ctx = _Context(network, scenario.label)
    new_nodes = [(node, f"add_node[{i}]") for i, node in enumerate(spec.add_node)]
    new_links = [(link, f"add_link[{i}]") for i, link in enumerate(spec.add_link)]
    for i, name in enumerate(spec.add_geojson):
        base = scenario.path.parent if scenario.path is not None else Path.cwd()
        nodes, links = ctx.read_geojson(base / name, f"add_geojson[{i}]")
        new_nodes += nodes
        new_links += links
    for node, key in new_nodes:  # every node first, so that links may join any of them
        ctx.add_node(node, key)
    for link, key in new_links:
        ctx.add_link(link, key)
    if new_nodes or new_links:
        _check_like_layers(network.geodata, new_nodes, new_links, scenario.label)
    # Opened in the scenario's model year: a feature not yet in service then counts as planned
    # whatever its status, and one that is in service by then keeps its own opening year.
    open_year = spec.year if spec.year is not None else network.params.year

    def planned(record: dict) -> bool:
        return record.get("status", "operating") != "operating" or not _in_service(record, open_year)

    def put_in_service(record: dict) -> None:
        if not _in_service(record, open_year):
            record["opening_year"] = open_year
        record["status"] = "operating"

    for i, opening in enumerate(spec.open_):
        key = f"open[{i}]"
        sel = _Selector(nodes=opening.nodes, links=opening.links, countries=opening.countries,
                        corridors=opening.corridors, routes=opening.routes,
                        applies_to="nodes" if opening.nodes and not (opening.links or opening.corridors
                                                                       or opening.routes) else "both")
        nodes, links = ctx.select(sel, key)
        for link_id in links:
            record = ctx.links[link_id]
            if planned(record) or opening.links:
                nodes |= {record["from"], record["to"]}
        opened = 0
        for record in [ctx.nodes[n] for n in sorted(nodes)] + [ctx.links[link] for link in sorted(links)]:
            if planned(record):
                put_in_service(record)
                opened += 1
        if not opened and not (opening.nodes or opening.links):
            raise ctx.error(key, "selects no planned or under-construction feature")
    for i, change in enumerate(spec.change):
        _apply_change(ctx, change, f"change[{i}]")
    od_closures: list[ODClosure] = []
    global_keys: list[str] = []
    for i, closure in enumerate(spec.close):
        key = f"close[{i}]"
        nodes, links = ctx.select(closure, key)
        if not nodes and not links:
            raise ctx.error(key, "selects no node or link")
        if closure.from_ is None and closure.to is None:
            for node_id in nodes:
                ctx.nodes[node_id]["closed"] = True
            for link_id in links:
                ctx.links[link_id]["closed"] = True
            global_keys.append(key)
        else:
            od_closures.append(ODClosure(
                key=key,
                from_codes=ctx.codes(closure.from_, f"{key}.from") if closure.from_ else None,
                to_codes=ctx.codes(closure.to, f"{key}.to") if closure.to else None,
                both_ways=closure.both_ways, nodes=frozenset(nodes), links=frozenset(links),
            ))
    params = network.params
    if spec.parameters:
        try:
            params = CostParameters.from_mapping({**params.as_dict(), **spec.parameters},
                                                 source=f"{scenario.label}: parameters")
        except CorridorsError as exc:
            raise ScenarioError(str(exc)) from None
    if spec.year is not None:
        params = dataclasses.replace(params, year=spec.year)
    demand_rows = _scaled_demand(list(network.demand_rows), spec, ctx)
    fingerprint = None
    if network.fingerprint:
        digest = hashlib.sha256(network.fingerprint.encode())
        digest.update(json.dumps(scenario.to_dict(), sort_keys=True, default=str).encode())
        for name in spec.add_geojson:
            digest.update((scenario.path.parent / name).read_bytes())
        fingerprint = digest.hexdigest()[:32]
    graph = build_graph(ctx.nodes, ctx.links, params)
    return ScenarioNetwork(
        geodata=network.geodata, params=params, graph=graph, node_records=ctx.nodes, link_records=ctx.links,
        country_names=network.country_names, demand_rows=demand_rows, fingerprint=fingerprint,
        scenario=scenario, od_closures=tuple(od_closures), global_closures=tuple(global_keys),
    )


def _check_like_layers(geodata: Path, nodes: list, links: list, label: str) -> None:
    """Check new nodes and links by the rules of the layers (:func:`corridors.layers.validate_geodata`).

    The geodata folder is copied to a temporary folder with the new features appended to
    its layers, and validated as a whole: a problem of a new feature (its geometry against
    the country polygons, its fields, ferry ends at ports ...) is raised naming the
    scenario key.  Source keys are not checked (scenario features cite the scenario).
    """
    import shutil
    import tempfile

    from corridors.layers import validate_geodata

    keys = {f"node '{node.id}'": key for node, key in nodes} | {f"link '{link.id}'": key for link, key in links}
    with tempfile.TemporaryDirectory(prefix="corridors-scenario-") as tmp:
        folder = Path(tmp) / "geodata"
        shutil.copytree(geodata, folder, ignore=shutil.ignore_patterns("scenarios", "*.md", "observed.csv"))
        layer = folder / "nodes.geojson"
        data = json.loads(layer.read_text(encoding="utf-8"))
        for node, _ in nodes:
            props = node.model_dump(exclude={"lon", "lat"})
            data["features"].append({"type": "Feature", "properties": props,
                                     "geometry": {"type": "Point", "coordinates": [node.lon, node.lat]}})
        layer.write_text(json.dumps(data), encoding="utf-8")
        for link, _ in links:
            layer = folder / "links" / f"{link.corridor}.geojson"
            data = json.loads(layer.read_text(encoding="utf-8")) if layer.is_file() else {
                "type": "FeatureCollection", "features": []}
            props = link.model_dump(by_alias=True, exclude={"coordinates"})
            data["features"].append({"type": "Feature", "properties": props,
                                     "geometry": {"type": "LineString", "coordinates": [list(c) for c in
                                                                                        link.coordinates]}})
            layer.write_text(json.dumps(data), encoding="utf-8")
        problems = validate_geodata(folder)
    for problem in problems:
        if problem.feature in keys and problem.field != "sources":
            where = f"{keys[problem.feature]}.{problem.field}" if problem.field else keys[problem.feature]
            raise ScenarioError(f"{label}: {where}: {problem.message}")


def _apply_change(ctx: _Context, change: _Change, key: str) -> None:
    nodes, links = ctx.select(change, key)
    for table, values in (("set", change.set_), ("scale", change.scale)):
        for attr, value in values.items():
            targets = []
            if attr in LINK_ATTRIBUTES:
                targets += [ctx.links[k] for k in sorted(links)]
                names = [f"link '{k}'" for k in sorted(links)]
            else:
                names = []
            if attr in NODE_ATTRIBUTES:
                targets += [ctx.nodes[k] for k in sorted(nodes)]
                names += [f"node '{k}'" for k in sorted(nodes)]
            if not targets:
                kind = "links" if attr not in NODE_ATTRIBUTES else "nodes" if attr not in LINK_ATTRIBUTES else \
                    "nodes or links"
                raise ctx.error(f"{key}.{table}.{attr}", f"applies to {kind}, but the selection holds none")
            for record, name in zip(targets, names, strict=True):
                if table == "set":
                    record[attr] = float(value)
                elif record.get(attr) is not None:
                    record[attr] = float(record[attr]) * float(value)
                    # a scaled value must stay in the layers' range (corridors.limits)
                    problem = range_problem(record[attr], *attribute_range(attr))
                    if problem is not None:
                        raise ctx.error(f"{key}.scale.{attr}", f"{name}: the scaled value {problem}")
    for node_id in nodes:
        r = ctx.nodes[node_id]
        if (r.get("transfer_h") is None) != (r.get("transfer_usd") is None):
            raise ctx.error(key, f"node '{node_id}' ends up with only one of transfer_h and transfer_usd; set both")


def unreachable_error(network: ScenarioNetwork, scenario: Scenario, stranded: tuple[dict, ...]) -> ScenarioError:
    """The error of a scenario whose closures leave demand without a route (``on_unreachable = "error"``)."""
    row = stranded[0]
    keys = list(network.global_closures) + [network.od_closures[i].key
                                            for i in network.closures_for(row["origin"], row["destination"])]
    where = " + ".join(keys) if keys else "year/open/change"
    total = sum(r["teu"] for r in stranded)
    more = f"; {len(stranded)} demand rows, {total:,.0f} TEU/year in all" if len(stranded) > 1 else ""
    return ScenarioError(
        f"{scenario.label}: {where}: leaves no route for {row['origin']} -> {row['destination']} "
        f"({row['teu']:,.0f} TEU/year){more}; set on_unreachable = \"strand\" to report it as stranded demand")
