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


# --------------------------------------------------------------------------- hardening (issue 13)
# Each case is a bad input; the checks are that it gives problems (never an exception),
# that the first names the file, feature and field, and that no other file is blamed.


def _only(folder, file_suffix, feature, field, *words):
    """The folder has exactly one problem, and it is this one."""
    problems = validate_geodata(folder)
    assert len(problems) == 1, "\n".join(map(str, problems))
    _find(problems, file_suffix, feature, field, *words)
    with pytest.raises(LayerError):
        load_layers(folder)


_BAD_NUMBERS = [
    ("dwell_h", float("nan")),
    ("dwell_h", float("inf")),
    ("dwell_h", 1e308),
    ("dwell_h", -1.0),
    ("dwell_h", 10**400),
    ("dwell_h", True),
    ("dwell_h", "10"),
    ("dwell_h", [1]),
    ("handling_usd", 1e12),
    ("transfer_h", float("-inf")),
    ("capacity_teu", 0),
    ("capacity_teu", 1e300),
]


@pytest.mark.parametrize(("field", "value"), _BAD_NUMBERS)
def test_node_numbers_finite_and_in_range(tmp_path, field, value):
    nodes = _nodes()
    props = _node(nodes, "dostyk")["properties"]
    props[field] = value
    if field == "transfer_h":
        props["transfer_usd"] = 100.0
    path = tmp_path / "toy"
    write_geodata(path, nodes=nodes)  # json.dumps writes NaN, Infinity and long integers as given
    # No cascade: the links of dostyk and the demand rows are not blamed.
    _only(path, NODES_FILE, "node 'dostyk'", field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("speed_kmh", 1e-320), ("speed_kmh", float("nan")), ("speed_kmh", 1e6), ("running_h", 0),
     ("frequency_per_week", float("inf")), ("tariff_usd_per_teu_km", -0.1), ("tariff_usd", 1e308),
     ("capacity_teu", -5)],
)
def test_link_numbers_finite_and_in_range(tmp_path, field, value):
    links = _links()
    _link(links, "dostyk-kaz_west")["properties"][field] = value
    folder = write_geodata(tmp_path / "toy", links=links)
    _only(folder, LINKS_FILE, "link 'dostyk-kaz_west'", field)


def test_integral_floats_are_integers(tmp_path):
    # GeoPandas writes integer columns with nulls as floats: 2027.0, 1435.0.
    nodes, links = _nodes(), _links()
    _node(nodes, "warsaw")["properties"].update(status="planned", opening_year=2027.0)
    _link(links, "xian-khorgos")["properties"].update(gauge_mm=1435.0, status="planned", opening_year=2026.0)
    demand = [dict(origin="xian", destination="warsaw", teu=1000, year="2024.0", segment="s", basis="A1")]
    folder = write_geodata(tmp_path / "toy", nodes=nodes, links=links, demand=demand)
    assert validate_geodata(folder) == []
    layers = load_layers(folder)
    assert layers.nodes["warsaw"]["opening_year"] == 2027 and isinstance(layers.nodes["warsaw"]["opening_year"], int)
    gauge = layers.links["xian-khorgos"]["gauge_mm"]
    assert gauge == 1435 and isinstance(gauge, int)
    assert layers.demand[0]["year"] == 2024


@pytest.mark.parametrize("year", [2027.5, float("nan"), float("inf"), "2027", 1e9, True])
def test_non_integral_year_refused(tmp_path, year):
    nodes = _nodes()
    _node(nodes, "warsaw")["properties"].update(status="planned", opening_year=year)
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _only(folder, NODES_FILE, "node 'warsaw'", "opening_year", "expected a year")


@pytest.mark.parametrize(("teu", "year"), [("1e308", 2024), ("nan", 2024), ("inf", 2024), ("-1", 2024),
                                           ("1000", "2024.5"), ("1000", "1e9"), ("1000", "inf"), ("", 2024)])
def test_demand_numbers(tmp_path, teu, year):
    demand = [dict(origin="xian", destination="warsaw", teu=teu, year=year, segment="s", basis="A1")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    problems = validate_geodata(folder)
    assert len(problems) == 1, problems
    assert problems[0].file.endswith(DEMAND_FILE) and problems[0].field in ("teu", "year")


def test_demand_bom_and_crlf_accepted(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    text = (folder / DEMAND_FILE).read_text().replace("\r\n", "\n").replace("\n", "\r\n")
    (folder / DEMAND_FILE).write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert validate_geodata(folder) == []
    assert len(load_layers(folder).demand) == 2


def test_geojson_bom_accepted(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / NODES_FILE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert validate_geodata(folder) == []


def test_csv_field_over_128_kib(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    with (folder / DEMAND_FILE).open("a") as handle:
        handle.write('xian,warsaw,1,2024,"' + "x" * 200_000 + '",A1\n')
    _only(folder, DEMAND_FILE, "line 4", None, "field larger")


def test_deep_json(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / NODES_FILE).write_text("[" * 100_000 + "]" * 100_000)
    _only(folder, NODES_FILE, None, None, "nested deeper")


def test_deep_toml(tmp_path):
    folder = write_geodata(tmp_path / "toy", parameters="x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    _only(folder, "parameters.toml", None, None, "not valid TOML")


def test_huge_json_integer(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    text = (folder / NODES_FILE).read_text().replace('"dwell_h": 20.0', '"dwell_h": 1' + "0" * 5000, 1)
    (folder / NODES_FILE).write_text(text)
    _only(folder, NODES_FILE, None, None, "not valid JSON")


def test_unreadable_file(tmp_path, monkeypatch):
    from pathlib import Path

    folder = write_geodata(tmp_path / "toy")
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "nodes.geojson":
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    _only(folder, NODES_FILE, None, None, "cannot read", "Permission denied")


@pytest.mark.parametrize("props", [[1, 2], "text", 3])
def test_properties_not_an_object(tmp_path, props):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "countries.geojson"
    data = json.loads(path.read_text())
    data["features"].append({"type": "Feature", "properties": props, "geometry": None})
    path.write_text(json.dumps(data))
    _only(folder, "countries.geojson", "feature #4", "properties", "expected an object")


def test_node_properties_list_no_cascade(tmp_path):
    nodes = _nodes()
    nodes.append({"type": "Feature", "properties": ["id", "x"], "geometry": None})
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _only(folder, NODES_FILE, f"feature #{len(nodes) - 1}", "properties")


def test_duplicate_country_reported_once(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "countries.geojson"
    data = json.loads(path.read_text())
    data["features"].append(copy.deepcopy(data["features"][1]))
    data["features"][-1]["geometry"]["coordinates"][0][0][0] += 50  # a different, wrong outline
    path.write_text(json.dumps(data))
    _only(folder, "countries.geojson", "country 'KAZ'", "iso_a3", "duplicate")


def test_broken_nodes_file_does_not_blame_links_or_demand(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / NODES_FILE).write_text("{ not json")
    _only(folder, NODES_FILE, None, None, "not valid JSON")


def test_broken_country_geometry_does_not_blame_nodes(tmp_path):
    folder = write_geodata(tmp_path / "toy")
    path = folder / "countries.geojson"
    data = json.loads(path.read_text())
    data["features"][1]["geometry"] = {"type": "Point", "coordinates": [0, 0]}
    path.write_text(json.dumps(data))
    _only(folder, "countries.geojson", "country 'KAZ'", "geometry")


def test_self_loop_link(tmp_path):
    links = _links()
    props = _link(links, "dostyk-kaz_west")["properties"]
    props["to"] = "dostyk"
    _link(links, "dostyk-kaz_west")["geometry"]["coordinates"] = [[10.05, 45], [12, 46], [10.05, 45]]
    folder = write_geodata(tmp_path / "toy", links=links)
    _find(validate_geodata(folder), LINKS_FILE, "link 'dostyk-kaz_west'", "to", "same node")


def test_projected_layer_is_one_problem(tmp_path):
    # A whole layer in metres without a CRS: one problem for the file, not one per feature
    # plus one per link and demand row naming its nodes.
    nodes = _nodes()
    for feature in nodes:
        lon, lat = feature["geometry"]["coordinates"]
        feature["geometry"]["coordinates"] = [lon * 111_000.0, lat * 111_000.0]
    folder = write_geodata(tmp_path / "toy", nodes=nodes)
    _only(folder, NODES_FILE, None, "geometry", "not lon/lat")


_BAD_PARAMETERS = [
    ("max_detour", "1.0"), ("max_detour", "0"), ("k_routes", "1e9"), ("k_routes", "nan"), ("k_routes", "6.5"),
    ("k_routes", "0"), ("k_routes", "101"), ("value_of_time_usd_per_teu_h", "inf"),
    ("logit_theta_per_usd", "nan"), ("logit_theta_per_usd", "0"), ("year", "inf"), ("year", "2024.5"),
    ("year", '"2030"'), ("queue_beta", "5"), ("bpr_beta", "1e308"), ("max_overlap", "1.5"),
    ("path_size_beta", "-1"), ("candidate_factor", "1e6"), ("candidate_factor", "11"), ("border_penalty_usd", "true"),
    ("speed", "3.0"),
]


@pytest.mark.parametrize(("key", "value"), _BAD_PARAMETERS)
def test_bad_parameter_is_one_problem(tmp_path, key, value):
    from corridors.network import CostParameters

    folder = write_geodata(tmp_path / "toy", parameters=f"[route_choice]\n{key} = {value}\n")
    _only(folder, "parameters.toml", "[route_choice]", None, f"'{key}'")
    with pytest.raises(LayerError, match=f"'{key}'"):
        CostParameters.from_mapping({"route_choice": {key: __import__("tomllib").loads(f"v = {value}")["v"]}})


def test_parameters_integral_float_accepted(tmp_path):
    from corridors.network import CostParameters

    params = CostParameters.from_mapping({"k_routes": 4.0, "year": 2027.0})
    assert params.k_routes == 4 and isinstance(params.k_routes, int) and params.year == 2027


def test_parameter_table_matches_cost_parameters():
    from dataclasses import fields

    from corridors.layers import MODE_CHOICE_PARAMETERS, PARAMETERS
    from corridors.modes import ModeParameters
    from corridors.network import CostParameters

    # segments: the nested [route_choice.segments.<segment>] tables, checked by check_segments
    assert set(PARAMETERS) | {"segments"} == {f.name for f in fields(CostParameters)} | set(MODE_CHOICE_PARAMETERS)
    assert set(MODE_CHOICE_PARAMETERS) == {f.name for f in fields(ModeParameters)}
    defaults = CostParameters().as_dict()
    for key, value in defaults.items():  # the defaults are valid values
        assert CostParameters.from_mapping({key: value}).as_dict()[key] == value


def test_shipped_layers_survive_a_geopandas_round_trip(tmp_path):
    """Every shipped layer read with GeoPandas and written back unchanged (GeoJSON) validates."""
    import shutil

    import geopandas as gpd

    from corridors.layers import default_geodata, geodata_files

    folder = tmp_path / "geodata"
    shutil.copytree(default_geodata(), folder)
    layers = [p for p in geodata_files(folder) if p.suffix == ".geojson"]
    assert len(layers) >= 6
    for path in layers:
        gpd.read_file(path).to_file(path, driver="GeoJSON")
    assert validate_geodata(folder) == []


def test_shipped_layers_in_web_mercator_are_reprojected(tmp_path):
    import shutil

    import geopandas as gpd

    from corridors.layers import check_geodata, default_geodata

    folder = tmp_path / "geodata"
    shutil.copytree(default_geodata(), folder)
    paths = [folder / "nodes.geojson", *sorted((folder / "links").glob("*.geojson"))]
    for path in paths:
        gpd.read_file(path).to_crs(3857).to_file(path, driver="GeoJSON")
    layers, problems = check_geodata(folder)
    assert problems == []
    assert len(layers.notes) == len(paths) and all("EPSG:3857" in n for n in layers.notes)


def test_line_breaks_in_input_stay_escaped(tmp_path):
    demand = [dict(origin="xi\nan", destination="war\u2028saw", teu=1, year=2024, segment="s", basis="A1")]
    folder = write_geodata(tmp_path / "toy", demand=demand)
    problems = validate_geodata(folder)
    assert problems and all("\n" not in str(p) and "\u2028" not in str(p) for p in problems)
    assert "xi\\nan" in str(problems[0])
    with pytest.raises(LayerError) as info:
        load_layers(folder)
    assert "\n" not in str(info.value)


def test_route_search_depth_is_bounded(tmp_path):
    from corridors.layers import MAX_SEARCH_DEPTH
    from corridors.network import CostParameters

    assert CostParameters.from_mapping({"k_routes": 100}).k_routes == 100  # x 3 = 300
    with pytest.raises(LayerError, match=f"at most {MAX_SEARCH_DEPTH} paths deep"):
        CostParameters.from_mapping({"k_routes": 100, "candidate_factor": 4})
    with pytest.raises(LayerError, match="at most"):
        CostParameters.from_mapping({"candidate_factor": 10, "cost": {"k_routes": 31}})
    folder = write_geodata(tmp_path / "toy", parameters="k_routes = 40\ncandidate_factor = 10\n")
    _only(folder, "parameters.toml", None, None, "40 x 10 = 400")
