"""Validation of geodata folders: one test per rule of ``corridors validate``.

Each test writes the toy world of ``conftest.py`` with one defect and checks that the
problem found names the right file, feature and field, and that ``load_layers``
raises a one-line :class:`LayerError`.
"""

from __future__ import annotations

import copy
import csv
import json

import pytest
from conftest import LINKS, NODES, write_geodata

from corridors._errors import CorridorsError, LayerError
from corridors.layers import Problem, load_layers, validate_geodata

NODES_FILE = "nodes.geojson"
LINKS_FILE = "links/belt_and_road.geojson"
DEMAND_FILE = "demand.csv"


def _nodes():
    return copy.deepcopy(NODES)


def _links():
    return copy.deepcopy(LINKS)


def _node(nodes, node_id):
    return next(f for f in nodes if f["properties"]["id"] == node_id)


def _link(links, link_id, family="belt_and_road"):
    return next(f for f in links[family] if f["properties"]["id"] == link_id)


def _find(problems, file_suffix, feature, field, *words):
    """Return the problem matching file/feature/field whose message holds every word."""
    for problem in problems:
        if not problem.file.replace("\\", "/").endswith(file_suffix):
            continue
        if problem.feature != feature or problem.field != field:
            continue
        if all(word in problem.message for word in words):
            return problem
    listing = "\n".join(str(p) for p in problems) or "(no problem)"
    raise AssertionError(f"no problem {file_suffix} / {feature} / {field} with {words!r}; found:\n{listing}")


def _check(folder, file_suffix, feature, field, *words) -> Problem:
    problems = validate_geodata(folder)
    problem = _find(problems, file_suffix, feature, field, *words)
    with pytest.raises(LayerError) as info:
        load_layers(folder)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(problems[0]))
    assert isinstance(info.value, CorridorsError) and isinstance(info.value, ValueError)
    # str(problem) names file, feature and field on one line
    rendered = str(problem)
    assert "\n" not in rendered
    assert file_suffix in rendered.replace("\\", "/")
    if feature is not None:
        assert feature in rendered
    if field is not None:
        assert f"field '{field}'" in rendered
    return problem


def test_toy_folder_validates_clean(toy_geodata):
    assert validate_geodata(toy_geodata) == []
    layers = load_layers(toy_geodata)
    assert set(layers.nodes) == {f["properties"]["id"] for f in NODES}
    assert set(layers.links) == {f["properties"]["id"] for f in LINKS["belt_and_road"]}
    assert set(layers.countries) == {"CHN", "KAZ", "RUS", "POL"}
    assert len(layers.demand) == 2
    assert layers.parameters["cost"]["value_of_time_usd_per_teu_h"] == 2.0


def test_unknown_node_in_link(tmp_path):
    links = _links()
    _link(links, "xian-khorgos")["properties"]["to"] = "khorgoss"
    _link(links, "xian-manzhouli")["properties"]["from"] = "xain"
    folder = write_geodata(tmp_path / "toy", links=links)
    problem = _check(folder, LINKS_FILE, "link 'xian-khorgos'", "to", "khorgoss", "did you mean 'khorgos'")
    assert problem.file.replace("\\", "/").endswith("links/belt_and_road.geojson")
    _check(folder, LINKS_FILE, "link 'xian-manzhouli'", "from", "xain", "did you mean 'xian'")


def test_link_outside_its_country(tmp_path):
    links = _links()
    # move the middle vertex of a KAZ link ~550 km south of KAZ (lat 40-50)
    _link(links, "dostyk-kaz_west")["geometry"]["coordinates"][1] = [15.0, 35.0]
    folder = write_geodata(tmp_path / "toy", links=links)
    problem = _check(folder, LINKS_FILE, "link 'dostyk-kaz_west'", "geometry", "outside its country KAZ")
    assert len(validate_geodata(folder)) == 1, problem


def test_link_country_not_matching_end_nodes(tmp_path):
    links = _links()
    _link(links, "dostyk-kaz_west")["properties"]["country"] = "RUS"
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'dostyk-kaz_west'", "country", "is RUS", "KAZ")


def test_border_link_joining_wrong_countries(tmp_path):
    links = _links()
    _link(links, "khorgos-dostyk")["properties"]["country"] = "CHN|RUS"
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'khorgos-dostyk'", "country", "CHN|RUS", "border link")


def test_projected_coordinates_missing_crs(tmp_path):
    nodes = _nodes()
    # metres of a projected CRS written without a crs member
    _node(nodes, "xian")["geometry"]["coordinates"] = [222_000.0, 5_000_000.0]
    links = _links()
    _link(links, "kuznica-warsaw")["geometry"]["coordinates"] = [[2_231_000.0, 6_100_000.0], [2_782_000.0, 5_560_000.0]]
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, NODES_FILE, "node 'xian'", "geometry", "not lon/lat", "EPSG:4326")
    _check(folder, LINKS_FILE, "link 'kuznica-warsaw'", "geometry", "not lon/lat", "EPSG:4326")


def test_declared_non_4326_crs_is_reprojected_with_one_note(tmp_path):
    # A layer saved by QGIS/GeoPandas in Web Mercator loads as if saved in EPSG:4326.
    from pyproj import Transformer

    from corridors.layers import check_geodata

    folder = write_geodata(tmp_path / "toy")
    to_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for path in (folder / "nodes.geojson", folder / "links" / "belt_and_road.geojson"):
        data = json.loads(path.read_text())
        data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
        for feature in data["features"]:
            geom = feature["geometry"]
            if geom["type"] == "Point":
                geom["coordinates"] = list(to_3857.transform(*geom["coordinates"]))
            else:
                geom["coordinates"] = [list(to_3857.transform(*c)) for c in geom["coordinates"]]
        path.write_text(json.dumps(data))
    layers, problems = check_geodata(folder)
    assert problems == []
    assert len(layers.notes) == 2 and all("EPSG:3857" in n and "reprojected" in n for n in layers.notes)
    assert layers.nodes["xian"]["lon"] == pytest.approx(2.0)


def test_unknown_crs_is_one_problem(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "nodes.geojson"
    data = json.loads(path.read_text())
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}
    path.write_text(json.dumps(data))
    problems = validate_geodata(folder)
    assert len(problems) == 1, problems
    assert problems[0].field == "crs" and "EPSG:4326" in problems[0].message


def test_crs84_declaration_is_accepted(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "nodes.geojson"
    data = json.loads(path.read_text())
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path.write_text(json.dumps(data))
    assert validate_geodata(folder) == []


def test_negative_capacity(tmp_path):
    links = _links()
    _link(links, "dostyk-kaz_west")["properties"]["capacity_teu"] = -5000
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'dostyk-kaz_west'", "capacity_teu", "> 0", "-5000")


def test_negative_dwell(tmp_path):
    nodes = _nodes()
    _node(nodes, "khorgos")["properties"]["dwell_h"] = -3.0
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _check(folder, NODES_FILE, "node 'khorgos'", "dwell_h", ">= 0", "-3.0")


def test_bad_kind(tmp_path):
    nodes = _nodes()
    _node(nodes, "dostyk")["properties"]["kind"] = "station"
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _check(folder, NODES_FILE, "node 'dostyk'", "kind", "'station'", "gauge_change")


def test_bad_status(tmp_path):
    links = _links()
    _link(links, "terespol-warsaw")["properties"]["status"] = "open"
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'terespol-warsaw'", "status", "'open'", "operating")


def test_planned_without_opening_year(tmp_path):
    links = _links()
    _link(links, "terespol-warsaw")["properties"].update(status="planned", opening_year=None)
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'terespol-warsaw'", "opening_year", "planned")


def test_rail_link_without_gauge(tmp_path):
    links = _links()
    _link(links, "xian-khorgos")["properties"]["gauge_mm"] = None
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'xian-khorgos'", "gauge_mm", "1435", "1520")


def _ferry(props, **extra):
    props.update(mode="ferry", gauge_mm=None, country=None, speed_kmh=None, running_h=20.0,
                 frequency_per_week=7.0, tariff_usd_per_teu_km=None, tariff_usd=300.0)
    props.update(extra)


def test_ferry_leg_not_ending_at_ports(tmp_path):
    links = _links()
    _ferry(_link(links, "kaz_west-terespol")["properties"])
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'kaz_west-terespol'", "from", "kaz_west", "not a port")
    _check(folder, LINKS_FILE, "link 'kaz_west-terespol'", "to", "terespol", "not a port")


def test_ferry_with_a_country(tmp_path):
    nodes = _nodes()
    _node(nodes, "kaz_west")["properties"].update(kind="port", transfer_h=2.0, transfer_usd=50.0)
    _node(nodes, "terespol")["properties"]["kind"] = "port"
    links = _links()
    _ferry(_link(links, "kaz_west-terespol")["properties"], country="KAZ|POL")
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, LINKS_FILE, "link 'kaz_west-terespol'", "country", "ferry", "null")
    # the same ferry without a country is fine
    _link(links, "kaz_west-terespol")["properties"]["country"] = None
    good = write_geodata(tmp_path / "good", nodes=nodes, links=links)
    assert validate_geodata(good) == []


def test_endpoint_far_from_node(tmp_path):
    links = _links()
    _link(links, "xian-khorgos")["geometry"]["coordinates"][0] = [2.5, 45.0]  # ~39 km east of xian
    _link(links, "kuznica-warsaw")["geometry"]["coordinates"][-1] = [25.0, 50.5]  # ~56 km north of warsaw
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, LINKS_FILE, "link 'xian-khorgos'", "geometry", "first vertex", "'xian'")
    _check(folder, LINKS_FILE, "link 'kuznica-warsaw'", "geometry", "last vertex", "'warsaw'")


def test_duplicate_node_id(tmp_path):
    nodes = _nodes()
    twin = copy.deepcopy(_node(nodes, "warsaw"))
    twin["geometry"]["coordinates"] = [26.0, 51.0]
    nodes.append(twin)
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _check(folder, NODES_FILE, "node 'warsaw'", "id", "duplicate")


def test_duplicate_link_id_across_layers(tmp_path):
    links = _links()
    twin = copy.deepcopy(_link(links, "terespol-warsaw"))
    twin["properties"]["corridor"] = "middle_corridor"
    links["middle_corridor"] = [twin]
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, "links/middle_corridor.geojson", "link 'terespol-warsaw'", "id", "duplicate")


def test_bad_slug(tmp_path):
    nodes = _nodes()
    extra = copy.deepcopy(_node(nodes, "warsaw"))
    extra["properties"]["id"] = "Lodz Kaliska"
    extra["geometry"]["coordinates"] = [23.0, 51.0]
    nodes.append(extra)
    links = _links()
    _link(links, "terespol-warsaw")["properties"]["id"] = "Terespol-Warsaw"
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, NODES_FILE, "node 'Lodz Kaliska'", "id", "slug")
    _check(folder, LINKS_FILE, "link 'Terespol-Warsaw'", "id", "slug")


def test_missing_sources(tmp_path):
    nodes = _nodes()
    _node(nodes, "dostyk")["properties"]["sources"] = ""
    links = _links()
    del _link(links, "xian-khorgos")["properties"]["sources"]
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, NODES_FILE, "node 'dostyk'", "sources", "missing")
    _check(folder, LINKS_FILE, "link 'xian-khorgos'", "sources", "missing")


def test_undefined_source_key(tmp_path):
    nodes = _nodes()
    _node(nodes, "dostyk")["properties"]["sources"] = "S1,S9"
    links = _links()
    _link(links, "xian-khorgos")["properties"]["sources"] = "A7"
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, NODES_FILE, "node 'dostyk'", "sources", "'S9'", "SOURCES.md")
    _check(folder, LINKS_FILE, "link 'xian-khorgos'", "sources", "'A7'", "SOURCES.md")
    # A1 is defined as a list item, S1 in the table
    _node(nodes, "dostyk")["properties"]["sources"] = "S1, A1"
    _link(links, "xian-khorgos")["properties"]["sources"] = "A1"
    assert validate_geodata(write_geodata(tmp_path / "good", nodes=nodes, links=links)) == []


def test_gauges_meeting_without_transfer(tmp_path):
    nodes = _nodes()
    _node(nodes, "dostyk")["properties"].update(transfer_h=None, transfer_usd=None)
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _check(folder, NODES_FILE, "node 'dostyk'", "transfer_h", "1435", "1520")


def test_demand_unknown_node(tmp_path):
    demand = [dict(origin="xain", destination="warsaw", teu=10, year=2024, segment="china_europe", basis="A1")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    problem = _check(folder, DEMAND_FILE, "row 2 (xain -> warsaw)", "origin", "'xain'", "did you mean 'xian'")
    assert "row 2" in str(problem)


def test_demand_negative_teu(tmp_path):
    demand = [dict(origin="xian", destination="warsaw", teu=-10, year=2024, segment="china_europe", basis="A1")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    _check(folder, DEMAND_FILE, "row 2 (xian -> warsaw)", "teu", "'-10'", ">= 0")


def test_missing_demand_column(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "demand.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["origin", "destination", "teu", "year", "segment"])
        writer.writeheader()
        writer.writerows({k: v for k, v in r.items() if k != "basis"} for r in rows)
    _check(folder, DEMAND_FILE, None, "basis", "missing column", "basis")


def test_invalid_json_names_the_line(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / "nodes.geojson").write_text('{\n  "type": "FeatureCollection",\n  "features": [,]\n}\n')
    problem = _check(folder, NODES_FILE, None, None, "not valid JSON", "line 3")
    assert problem.message.count("line 3") == 1


def test_unknown_layer_file_name(tmp_path):
    links = {"belt_and_raod": _links()["belt_and_road"]}
    folder = write_geodata(tmp_path / "toy", links=links)
    _check(folder, "links/belt_and_raod.geojson", None, None, "unknown corridor layer", "did you mean 'belt_and_road'")


def test_node_outside_its_country(tmp_path):
    nodes = _nodes()
    lost = copy.deepcopy(_node(nodes, "xian"))
    lost["properties"]["id"] = "lost"
    lost["geometry"]["coordinates"] = [25.0, 45.0]  # in POL, ~1200 km from CHN
    nodes.append(lost)
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _check(folder, NODES_FILE, "node 'lost'", "country", "outside CHN")
    assert len(validate_geodata(folder)) == 1


def test_load_layers_counts_further_problems(tmp_path):
    nodes = _nodes()
    _node(nodes, "khorgos")["properties"]["dwell_h"] = -1.0
    _node(nodes, "dostyk")["properties"]["kind"] = "station"
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    problems = validate_geodata(folder)
    assert len(problems) >= 2
    with pytest.raises(LayerError, match=r"\+\d+ more problems") as info:
        load_layers(folder)
    assert "\n" not in str(info.value)


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    problems = validate_geodata(missing)
    assert len(problems) == 1 and "not found" in problems[0].message
    with pytest.raises(LayerError, match="not found"):
        load_layers(missing)


def test_demand_basis_key_undefined(tmp_path):
    # Gap (layers._read_demand_file): SOURCES.md says the `basis` column of demand.csv lists
    # keys from it, as `sources` does for features, but basis keys are never checked.
    demand = [dict(origin="xian", destination="warsaw", teu=10, year=2024, segment="china_europe", basis="A1,A205")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    _check(folder, DEMAND_FILE, "row 2 (xian -> warsaw)", "basis", "'A205'", "SOURCES.md")


# --------------------------------------------------------------------------- further rules


def _set_link(link_id, **changes):
    def change(nodes, links):
        _link(links, link_id)["properties"].update(changes)
    return change


def _set_node(node_id, **changes):
    def change(nodes, links):
        _node(nodes, node_id)["properties"].update(changes)
    return change


def _link_geometry(nodes, links):
    _link(links, "xian-khorgos")["geometry"] = {"type": "Point", "coordinates": [2, 45]}


def _node_geometry(nodes, links):
    extra = copy.deepcopy(_node(nodes, "warsaw"))
    extra["properties"]["id"] = "nowhere"
    extra["geometry"] = None
    nodes.append(extra)


FURTHER = [
    ("corridor", _set_link("xian-khorgos", corridor="middle_corridor"), LINKS_FILE, "link 'xian-khorgos'",
     "belt_and_road"),
    ("route", _set_link("xian-khorgos", route=""), LINKS_FILE, "link 'xian-khorgos'", "missing"),
    ("speed_kmh", _set_link("xian-khorgos", speed_kmh=None), LINKS_FILE, "link 'xian-khorgos'", "running_h"),
    ("speed_kmh", _set_link("xian-khorgos", speed_kmh=0), LINKS_FILE, "link 'xian-khorgos'", ">= 0.5"),
    ("tariff_usd_per_teu_km", _set_link("xian-khorgos", tariff_usd_per_teu_km=None), LINKS_FILE,
     "link 'xian-khorgos'", "tariff_usd"),
    ("tariff_usd", _set_link("xian-khorgos", tariff_usd="cheap"), LINKS_FILE, "link 'xian-khorgos'", "'cheap'"),
    ("mode", _set_link("xian-khorgos", mode="air"), LINKS_FILE, "link 'xian-khorgos'", "'air'"),
    ("gauge_mm", _set_link("xian-khorgos", gauge_mm=1000), LINKS_FILE, "link 'xian-khorgos'", "1000"),
    ("opening_year", _set_link("xian-khorgos", opening_year=1066), LINKS_FILE, "link 'xian-khorgos'", "1066"),
    ("country", _set_link("xian-khorgos", country="CHN|KAZ|RUS"), LINKS_FILE, "link 'xian-khorgos'", "CHN|KAZ|RUS"),
    ("country", _set_link("xian-khorgos", country=None), LINKS_FILE, "link 'xian-khorgos'", "None"),
    ("geometry", _link_geometry, LINKS_FILE, "link 'xian-khorgos'", "LineString"),
    ("country", _set_node("xian", country="CHA"), NODES_FILE, "node 'xian'", "did you mean"),
    ("country", _set_node("xian", country="China"), NODES_FILE, "node 'xian'", "alpha-3"),
    ("transfer_usd", _set_node("dostyk", transfer_usd=None), NODES_FILE, "node 'dostyk'", "both"),
    ("capacity_teu", _set_node("dostyk", capacity_teu=0), NODES_FILE, "node 'dostyk'", "> 0"),
    ("handling_usd", _set_node("dostyk", handling_usd=None), NODES_FILE, "node 'dostyk'", "null"),
    ("name", _set_node("dostyk", name=" "), NODES_FILE, "node 'dostyk'", "empty"),
    ("geometry", _node_geometry, NODES_FILE, "node 'nowhere'", "Point"),
]


@pytest.mark.parametrize(("field", "change", "file", "feature", "word"), FURTHER,
                         ids=[f"{f[3]}-{f[0]}-{i}" for i, f in enumerate(FURTHER)])
def test_further_feature_rules(tmp_path, field, change, file, feature, word):
    nodes, links = _nodes(), _links()
    change(nodes, links)
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links)
    _check(folder, file, feature, field, word)


def test_demand_origin_equals_destination_and_bad_year(tmp_path):
    demand = [dict(origin="xian", destination="xian", teu=10, year=2024, segment="china_europe", basis="A1"),
              dict(origin="xian", destination="warsaw", teu=10, year="soon", segment="china_europe", basis="A1")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    _check(folder, DEMAND_FILE, "row 2 (xian -> xian)", "destination", "origin")
    _check(folder, DEMAND_FILE, "row 3 (xian -> warsaw)", "year", "'soon'")


def test_extra_demand_table_is_validated(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / "demand_central_asia.csv").write_text(
        "origin,destination,teu,year,segment,basis\nxian,dostyk,50,2024,china_central_asia,A1\n"
        "xian,almaty,20,2024,china_central_asia,A1\n"
    )
    _check(folder, "demand_central_asia.csv", "row 3 (xian -> almaty)", "destination", "'almaty'")
    (folder / "demand_central_asia.csv").write_text(
        "origin,destination,teu,year,segment,basis\nxian,dostyk,50,2024,china_central_asia,A1\n"
    )
    assert validate_geodata(folder) == []
    assert sum(r["teu"] for r in load_layers(folder).demand) == pytest.approx(1450.0)


def test_invalid_toml(tmp_path):
    folder = write_geodata(tmp_path / "toy", parameters="[cost\nvalue_of_time_usd_per_teu_h = 2.0\n")
    _check(folder, "parameters.toml", None, None, "not valid TOML")


def test_not_a_feature_collection(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / "countries.geojson").write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": None}))
    _check(folder, "countries.geojson", None, None, "FeatureCollection")


def test_missing_file(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / "nodes.geojson").unlink()
    _check(folder, NODES_FILE, None, None, "not found")
