"""Checks of the geodata shipped with the package (``geodata/``)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from corridors.cli import main
from corridors.layers import CORRIDORS, default_geodata, validate_geodata

GEODATA = Path(__file__).resolve().parents[1] / "geodata"

NODE_NUMERIC = ("dwell_h", "handling_usd", "transfer_h", "transfer_usd", "capacity_teu")
LINK_NUMERIC = ("speed_kmh", "running_h", "frequency_per_week", "tariff_usd_per_teu_km", "tariff_usd", "capacity_teu")
XINJIANG_GATEWAYS = ("alashankou", "khorgos")  # the two rail crossings from Xinjiang into Kazakhstan


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped network and its logit assignment, computed once with a private cache."""
    cache = tmp_path_factory.mktemp("shipped-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORRIDORS_CACHE_DIR", str(cache))
        from corridors.assignment import assign
        from corridors.network import load_network

        net = load_network(GEODATA)
        result = assign(net, method="logit")
    return net, result, cache


def test_default_geodata_is_shipped():
    assert (default_geodata() / "nodes.geojson").is_file()


def test_shipped_geodata_validates(capsys):
    problems = validate_geodata(GEODATA)
    assert problems == [], "\n".join(str(p) for p in problems)
    assert main(["validate", str(GEODATA)]) == 0
    assert "valid" in capsys.readouterr().out


def test_every_layer_is_present():
    for family in CORRIDORS:
        path = GEODATA / "links" / f"{family}.geojson"
        assert path.is_file(), path
        assert json.loads(path.read_text(encoding="utf-8"))["features"], f"{path} has no feature"


def test_every_origin_reaches_every_destination(shipped):
    import networkx as nx

    net, _, _ = shipped
    by_segment: dict[str, tuple[set, set]] = {}
    for row in net.demand_rows:
        origins, destinations = by_segment.setdefault(row["segment"], (set(), set()))
        origins.add(row["origin"])
        destinations.add(row["destination"])
    assert {"eu", "rus_blr", "central_asia"} <= set(by_segment)
    missing = []
    for segment, (origins, destinations) in sorted(by_segment.items()):
        for origin in sorted(origins):
            reached = nx.descendants(net.graph, ("o", origin)) if ("o", origin) in net.graph else set()
            missing += [f"{segment}: {origin} -> {d}" for d in sorted(destinations) if ("d", d) not in reached]
    assert not missing, f"{len(missing)} unreachable pairs: " + "; ".join(missing[:20])


def test_all_demand_is_assigned(shipped):
    net, result, _ = shipped
    assert result.stranded == ()
    assert result.total_teu == pytest.approx(sum(r["teu"] for r in net.demand_rows), rel=1e-9)


def test_share_through_kaz_from_china_to_eu(shipped, capsys, monkeypatch):
    net, _, cache = shipped
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(cache))  # reuse the route sets of the fixture
    assert main(["share", "--through", "KAZ", "--from", "CHN", "--to", "EU", "--json", "--geodata", str(GEODATA)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 0.0 < data["share"] < 1.0, data["share"]
    assert data["total_teu"] > 0
    assert sum(row["teu"] for row in data["by_gateway"].values()) == pytest.approx(data["total_teu"], rel=1e-6)
    for node_id in XINJIANG_GATEWAYS:
        name = net.node_records[node_id]["name"]
        assert any(key.startswith(name + "–") for key in data["by_gateway"]), (name, list(data["by_gateway"]))


def _defined_keys(text: str) -> set[str]:
    # a key is defined where it opens a table row ("| S12 |"), a list item ("- **A3**") or a heading ("### A4")
    table = re.findall(r"^\|\s*`?([SA]\d+)`?\s*\|", text, flags=re.MULTILINE)
    items = re.findall(r"^[-*]\s+\*\*`?([SA]\d+)\b", text, flags=re.MULTILINE)
    headings = re.findall(r"^#+\s+`?([SA]\d+)\b", text, flags=re.MULTILINE)
    return set(table) | set(items) | set(headings)


def _keys(value) -> list[str]:
    return [k for k in re.split(r"[,;\s]+", value or "") if k]


def test_every_source_key_is_defined():
    defined = _defined_keys((GEODATA / "SOURCES.md").read_text(encoding="utf-8"))
    assert defined, "SOURCES.md defines no key"
    problems = []
    layers = [("nodes.geojson", GEODATA / "nodes.geojson", NODE_NUMERIC)]
    layers += [(f"links/{p.name}", p, LINK_NUMERIC) for p in sorted((GEODATA / "links").glob("*.geojson"))]
    for label, path, numeric in layers:
        for i, feature in enumerate(json.loads(path.read_text(encoding="utf-8"))["features"]):
            props = feature["properties"]
            name = f"{label}: {props.get('id', f'#{i}')}"
            figures = [f for f in numeric if props.get(f) is not None]
            keys = _keys(props.get("sources"))
            if figures and not keys:
                problems.append(f"{name}: {', '.join(figures)} without a source key")
            for key in keys:
                if not re.fullmatch(r"[SA]\d+", key):
                    problems.append(f"{name}: malformed source key {key!r}")
                elif key not in defined:
                    problems.append(f"{name}: source key {key} is not defined in SOURCES.md")
    for demand in [GEODATA / "demand.csv", *sorted(GEODATA.glob("demand_*.csv"))]:
        undefined: dict[str, list[int]] = {}
        with demand.open(newline="", encoding="utf-8") as handle:
            for line_no, row in enumerate(csv.DictReader(handle), start=2):
                keys = _keys(row.get("basis"))
                if not keys:
                    problems.append(f"{demand.name} row {line_no}: teu without a basis key")
                for key in keys:
                    if key not in defined:
                        undefined.setdefault(key, []).append(line_no)
        problems += [f"{demand.name}: basis key {key} (rows {rows[0]}..{rows[-1]}, {len(rows)} rows) is not defined "
                     "in SOURCES.md" for key, rows in sorted(undefined.items())]
    assert not problems, f"{len(problems)} problems: " + "; ".join(problems[:30])


def test_parameter_assumptions_are_defined():
    # parameters.toml gives each value's assumption key in a comment, e.g. "(A250)"
    defined = _defined_keys((GEODATA / "SOURCES.md").read_text(encoding="utf-8"))
    cited = set(re.findall(r"\(([SA]\d+)\)", (GEODATA / "parameters.toml").read_text(encoding="utf-8")))
    missing = sorted(cited - defined, key=lambda k: (k[0], int(k[1:])))
    assert not missing, f"parameters.toml cites keys not defined in SOURCES.md: {', '.join(missing)}"


def test_rail_demand_reaches_its_destination_without_road(shipped):
    # CR Express and China-Central Asia trains are rail services: every OD pair must be
    # connected when road links and rail<->road transfers are left out (issue 10, item 2).
    import networkx as nx

    net, _, _ = shipped
    rail_only = net.graph.subgraph([n for n in net.graph if not (len(n) > 2 and n[1] == "road")])
    pairs = {(r["origin"], r["destination"]) for r in net.demand_rows if r.get("mode", "rail") == "rail"}
    assert pairs
    missing = sorted(p for p in pairs if not nx.has_path(rail_only, ("o", p[0]), ("d", p[1])))
    assert not missing, f"{len(missing)} rail OD pairs need a road link: {missing[:10]}"


def test_nothing_opening_after_the_model_year_is_in_the_network(shipped):
    net, _, _ = shipped
    year = net.params.year
    late = {lid for lid, rec in net.link_records.items() if (rec.get("opening_year") or 0) > year}
    assert late, "the shipped layers have features opening after the model year (e.g. the second track)"
    in_graph = {d.get("link_id") for _, _, d in net.graph.edges(data=True)}
    assert not late & in_graph, sorted(late & in_graph)


def test_every_node_lies_in_its_country():
    # Natural Earth 1:10m borders simplified to about 1 km (SOURCES.md S1): a border station may sit
    # on the line, so allow 2 km; a node further out is misplaced (issue 10: no node is moved to fit
    # a coarse border).
    from pyproj import Geod
    from shapely.geometry import Point, shape
    from shapely.ops import nearest_points

    geod = Geod(ellps="WGS84")
    countries = {f["properties"]["iso_a3"]: shape(f["geometry"])
                 for f in json.loads((GEODATA / "countries.geojson").read_text(encoding="utf-8"))["features"]}
    off = []
    for feature in json.loads((GEODATA / "nodes.geojson").read_text(encoding="utf-8"))["features"]:
        props, point = feature["properties"], Point(feature["geometry"]["coordinates"])
        polygon = countries[props["country"]]
        if not polygon.contains(point):
            near = nearest_points(polygon, point)[0]
            km = geod.inv(point.x, point.y, near.x, near.y)[2] / 1000.0
            if km > 2.0:
                off.append(f"{props['id']} ({props['country']}) {km:.1f} km outside")
    assert not off, "; ".join(off)


def test_demand_rests_on_the_cr_express_and_erai_figures(shipped):
    # SOURCES.md A21, A23: CR Express 2024 by direction in the train ratio (S2); the EU segment is at
    # least the ERAI/UTLC transit through KZ-RU-BY of each direction (S35), Russia/Belarus the rest.
    net, _, _ = shipped
    teu: dict[tuple[str, str], float] = {}
    for row in net.demand_rows:
        key = (row["segment"], row["direction"])
        teu[key] = teu.get(key, 0.0) + row["teu"]
        assert row["mode"] == "rail", row
    from_china = teu["eu", "from_china"] + teu["rus_blr", "from_china"]
    to_china = teu["eu", "to_china"] + teu["rus_blr", "to_china"]
    assert from_china + to_china == pytest.approx(2_077_216, abs=5)
    assert from_china / (from_china + to_china) == pytest.approx(10_546 / 19_392, abs=1e-5)
    assert 330_700 <= teu["eu", "from_china"] < 1.2 * 330_700
    assert 49_700 <= teu["eu", "to_china"] < 1.2 * 49_700
    assert teu["central_asia", "from_china"] + teu["central_asia", "to_china"] == pytest.approx(689_403, abs=5)
