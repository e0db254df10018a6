"""Route-share queries on the toy world, checked by hand."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from conftest import COUNTRIES, DEMAND, _rect, write_geodata
from pyproj import Geod

from corridors._errors import QueryError
from corridors.assignment import assign
from corridors.network import load_network
from corridors.regions import REGIONS, resolve_region
from corridors.routing import best_routes
from corridors.share import ShareResult

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def toy_net(toy_geodata):
    return load_network(toy_geodata)


@pytest.fixture
def europe_net(tmp_path):
    """The toy world plus a Belarus polygon and 200 TEU/year from xian to rus_west (Russia)."""
    countries = {**COUNTRIES, "BLR": _rect(20, 60, 30, 70)}
    demand = DEMAND + [dict(origin="xian", destination="rus_west", teu=200, year=2024, segment="china_russia",
                            basis="A1")]
    return load_network(write_geodata(tmp_path / "europe", countries=countries, demand=demand))


def _routes(net, origin="xian", destination="warsaw"):
    south, north = best_routes(net, origin, destination, k=2)
    assert "KAZ" in south.countries and "RUS" in north.countries
    return south, north


def _p_south(net, theta=0.01):
    south, north = _routes(net)
    return 1.0 / (1.0 + math.exp(-theta * (north.gen_cost_usd - south.gen_cost_usd)))


def _sums_match(result: ShareResult):
    for table in (result.by_corridor, result.by_gateway, result.by_route):
        assert list(table.columns) == ["teu", "through_teu", "share_of_total"]
        assert table["teu"].sum() == pytest.approx(result.total_teu)
        assert table["through_teu"].sum() == pytest.approx(result.through_teu)
        assert table["share_of_total"].sum() == pytest.approx(1.0)
        assert table["share_of_total"].to_numpy() == pytest.approx(table["teu"].to_numpy() / result.total_teu)


def test_shortest_all_through_kaz(toy_net):
    result = assign(toy_net, method="shortest").share_through("KAZ", from_="CHN", to="EU")
    assert result.share == 1.0
    assert result.total_teu == pytest.approx(1000.0)
    assert result.through_teu == pytest.approx(1000.0)
    assert result.method == "shortest"
    assert (result.through, result.from_, result.to) == ("KAZ", "CHN", "EU")
    assert list(result.by_gateway.index) == ["Khorgos–Dostyk"]
    assert list(result.by_corridor.index) == ["Belt and Road northern routes"]
    assert list(result.by_route.index) == [f"belt_and_road/{toy_net.link_records['khorgos-dostyk']['route']}"]
    _sums_match(result)
    south, _ = _routes(toy_net)
    kaz_km = dict(south.km_by_country)["KAZ"]
    assert result.teu_km_in_country == pytest.approx(1000.0 * kaz_km)
    assert result.share_teu_km == 1.0
    assert assign(toy_net, method="shortest").share_through("RUS").share == 0.0


def test_logit_share_equals_hand_probability(toy_net):
    p = _p_south(toy_net)
    result = assign(toy_net, method="logit").share_through("KAZ", from_="CHN", to="EU")
    assert result.share == pytest.approx(p, rel=1e-12)
    assert result.through_teu == pytest.approx(1000.0 * p)
    assert result.total_teu == pytest.approx(1000.0)
    rus = assign(toy_net, method="logit").share_through("RUS", from_="CHN", to="EU")
    assert rus.share == pytest.approx(1.0 - p, rel=1e-9)
    south, north = _routes(toy_net)
    expected_km = p * south.length_km / (p * south.length_km + (1 - p) * north.length_km)
    assert result.share_teu_km == pytest.approx(expected_km, rel=1e-9)
    assert result.by_gateway.loc["Khorgos–Dostyk", "teu"] == pytest.approx(1000.0 * p)
    assert result.by_gateway.loc["Khorgos–Dostyk", "through_teu"] == pytest.approx(1000.0 * p)
    assert result.by_gateway.loc["Manzhouli–Zabaikalsk", "teu"] == pytest.approx(1000.0 * (1 - p))
    assert result.by_gateway.loc["Manzhouli–Zabaikalsk", "through_teu"] == 0.0
    assert list(result.by_gateway.index)[0] == "Khorgos–Dostyk"  # ordered by TEU
    _sums_match(result)


def test_logit_share_follows_theta(toy_geodata):
    for theta in (0.001, 0.01, 0.05):
        net = load_network(toy_geodata, params={"logit_theta_per_usd": theta})
        share = assign(net).share_through("KAZ").share
        assert share == pytest.approx(_p_south(net, theta), rel=1e-12)


def test_reverse_direction(toy_net):
    p = _p_south(toy_net)
    result = assign(toy_net).share_through("KAZ", from_="EU", to="CHN")
    assert result.total_teu == pytest.approx(400.0)
    assert result.share == pytest.approx(p, rel=1e-9)
    # gateways are where the flow leaves the origin region (the EU here)
    assert set(result.by_gateway.index) == {"Terespol–Kaz West", "Kuznica–Rus West"}
    assert result.by_gateway.loc["Terespol–Kaz West", "teu"] == pytest.approx(400.0 * p)
    _sums_match(result)
    shortest = assign(toy_net, method="shortest").share_through("KAZ", from_="POL", to="CHN")
    assert shortest.share == 1.0 and shortest.total_teu == pytest.approx(400.0)


def test_regions(europe_net):
    result = assign(europe_net, method="shortest")
    eu = result.share_through("RUS", from_="CHN", to="EU")
    assert eu.total_teu == pytest.approx(1000.0) and eu.share == 0.0
    europe = result.share_through("RUS", from_="CHN", to="EUROPE")
    assert europe.total_teu == pytest.approx(1200.0)
    assert europe.share == pytest.approx(200.0 / 1200.0)
    _sums_match(europe)
    rus_blr = result.share_through("RUS", from_="CHN", to="RUS+BLR")
    assert rus_blr.total_teu == pytest.approx(200.0) and rus_blr.share == 1.0
    assert rus_blr.to == "RUS+BLR"
    assert result.share_through("KAZ", from_="CHINA", to="eu").share == 1.0
    central = result.share_through("CENTRAL_ASIA", from_="CHN", to="EU")
    assert central.share == result.share_through("KAZ", from_="CHN", to="EU").share
    both = result.share_through("KAZ+RUS", from_="CHN", to="EUROPE")
    assert both.share == 1.0


def test_resolve_region():
    known = {"CHN", "KAZ", "RUS", "POL"}
    assert resolve_region("EU", known) == REGIONS["EU27"]
    assert len(REGIONS["EU"]) == 27
    assert {"POL", "DEU", "RUS", "BLR", "TUR"} <= resolve_region("EUROPE", known)
    assert resolve_region("kaz", known) == {"KAZ"}
    assert resolve_region("RUS + KAZ", known) == {"RUS", "KAZ"}
    assert resolve_region("RUS+EU", known) == REGIONS["EU"] | {"RUS"}


def test_unknown_country_suggests(toy_net):
    result = assign(toy_net)
    with pytest.raises(QueryError, match="unknown country or region 'KAX'.*did you mean 'KAZ'") as info:
        result.share_through("KAX")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="did you mean 'CHN'"):
        result.share_through("KAZ", from_="CHM")
    with pytest.raises(QueryError, match="'EUR'"):
        result.share_through("KAZ", to="EUR")
    with pytest.raises(QueryError, match="'BLR'"):
        result.share_through("RUS", to="RUS+BLR")  # BLR is not in the toy model


def test_no_demand_between_regions(toy_net):
    result = assign(toy_net)
    with pytest.raises(QueryError, match="no demand from KAZ to EU") as info:
        result.share_through("RUS", from_="KAZ", to="EU")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="no demand"):
        result.share_through("KAZ", from_="CHN", to="CAUCASUS")


def test_to_dict_and_summary(toy_net):
    result = assign(toy_net).share_through("KAZ")
    data = json.loads(json.dumps(result.to_dict()))
    for key in ("share", "through", "from", "to", "total_teu", "through_teu", "by_corridor", "by_gateway"):
        assert key in data
    assert data["from"] == "CHN" and data["to"] == "EU" and data["through"] == "KAZ"
    assert data["share"] == pytest.approx(result.share)
    text = result.summary()
    assert f"{result.share:.1%}" in text and "Khorgos–Dostyk" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.share = 0.5


def test_by_corridor_names_families(tmp_path):
    import copy

    from conftest import LINKS

    links = copy.deepcopy(LINKS)
    north = {"xian-manzhouli", "manzhouli-zabaikalsk", "zabaikalsk-rus_west", "rus_west-kuznica", "kuznica-warsaw"}
    moved = [f for f in links["belt_and_road"] if f["properties"]["id"] in north]
    links["belt_and_road"] = [f for f in links["belt_and_road"] if f["properties"]["id"] not in north]
    for f in moved:
        f["properties"]["corridor"] = "east_west"
    links["east_west"] = moved
    net = load_network(write_geodata(tmp_path / "two", links=links))
    p = _p_south(net)
    result = assign(net).share_through("KAZ")
    # The KAZ route crosses no country that names a corridor, so its link family names it;
    # the route through Russia is a Belt and Road branch whatever its links' family.
    assert result.by_corridor.loc["Belt and Road northern routes", "teu"] == pytest.approx(1000.0 * p)
    assert result.by_corridor.loc["Eastern route via Trans-Siberian", "teu"] == pytest.approx(1000.0 * (1 - p))
    assert result.by_corridor.loc["Eastern route via Trans-Siberian", "through_teu"] == 0.0
    _sums_match(result)


def test_belt_and_road_routes_named_by_branch(tmp_path):
    import copy

    from conftest import LINKS

    links = copy.deepcopy(LINKS)
    for f in links["belt_and_road"]:
        if f["properties"]["id"] == "khorgos-dostyk":
            f["properties"]["route"] = "northern_kaz"
        if f["properties"]["id"] == "manzhouli-zabaikalsk":
            f["properties"]["route"] = "eastern_transsib"
    net = load_network(write_geodata(tmp_path / "branches", links=links))
    p = _p_south(net)
    result = assign(net).share_through("KAZ")
    assert result.by_corridor.loc["Northern route via Kazakhstan", "teu"] == pytest.approx(1000.0 * p)
    assert result.by_corridor.loc["Eastern route via Trans-Siberian", "teu"] == pytest.approx(1000.0 * (1 - p))
    assert set(result.by_route.index) == {"belt_and_road/northern_kaz", "belt_and_road/eastern_transsib"}
    _sums_match(result)


def test_tables_are_dataframes_and_json_is_unchanged(toy_net):
    import pandas as pd

    result = assign(toy_net).share_through("KAZ")
    for name, table in (("corridor", result.by_corridor), ("gateway", result.by_gateway), ("route", result.by_route)):
        assert isinstance(table, pd.DataFrame) and table.index.name == name
    data = result.to_dict()
    assert data["by_gateway"] == result.by_gateway.to_dict(orient="index")
    assert data["by_corridor"] == result.by_corridor.to_dict(orient="index")
    assert list(data["by_gateway"]) == list(result.by_gateway.index)  # ordered by TEU in both


def test_share_result_reprs_are_short(toy_net):
    result = assign(toy_net).share_through("KAZ")
    text = repr(result)
    assert "\n" not in text and len(text) < 160 and f"{result.share:.1%}" in text
    html = result._repr_html_()
    assert "<table" in html and "Khorgos–Dostyk" in html and "by corridor" in html
    assignment = assign(toy_net)
    assert "\n" not in repr(assignment) and "AssignmentResult logit" in repr(assignment)
    assert "<table" in assignment._repr_html_() and "busiest links" in assignment._repr_html_()


def test_public_best_routes_is_a_geodataframe_with_link_geometry(toy_net):
    import corridors

    frame = corridors.best_routes(toy_net, "xian", "warsaw", k=2)
    south, north = _routes(toy_net)
    assert frame.crs.to_epsg() == 4326 and frame.index.name == "rank" and list(frame.index) == [1, 2]
    assert frame.loc[1, "links"] == " ".join(south.link_ids) and frame.loc[1, "countries"] == "-".join(south.countries)
    assert frame.loc[1, "gen_cost_usd"] == pytest.approx(south.gen_cost_usd)
    assert frame.loc[1, "gateway"] == "Khorgos–Dostyk"
    # no internal tuples in the columns: every cell is a plain number or string
    assert all(isinstance(v, (str, float, int)) for v in frame.drop(columns="geometry").iloc[0])
    # the geometry runs from the origin to the destination through every link's points
    line = frame.loc[1, "geometry"]
    nodes = toy_net.node_records
    assert line.geom_type == "LineString"
    assert line.coords[0] == pytest.approx(tuple(toy_net.nodes.loc["xian"].geometry.coords[0]))
    assert line.coords[-1] == pytest.approx(tuple(toy_net.nodes.loc["warsaw"].geometry.coords[0]))
    points = {tuple(p) for p in line.coords}
    for link_id in south.link_ids:
        assert {tuple(p) for p in toy_net.link_records[link_id]["coords"]} <= points
    length = GEOD.geometry_length(line) / 1000.0
    assert length == pytest.approx(south.length_km, rel=1e-6)
    assert nodes["xian"]["name"] in frame["origin_name"].tolist()


def test_route_flows_one_line_per_od_route(toy_net):
    result = assign(toy_net)
    routes = result.route_flows
    assert len(routes) == len(result.flows) and routes.crs.to_epsg() == 4326
    assert routes["teu"].sum() == pytest.approx(result.total_teu)
    assert {"teu", "segment", "corridor", "gateway", "share_of_od"} <= set(routes.columns)
    assert routes.geometry.geom_type.eq("LineString").all()
