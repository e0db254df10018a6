"""The virtual-link graph: layers, gates, transfers, zones, service years, costs."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import LINKS, NODES, _link, write_geodata
from pyproj import Geod

from corridors._errors import LayerError
from corridors.network import LAYERS, CostParameters, build_graph, link_time_h, load_network

GEOD = Geod(ellps="WGS84")


def _geodesic_km(coords):
    lons, lats = zip(*coords, strict=True)
    return GEOD.line_length(lons, lats) / 1000.0


def _edges(graph, kind):
    return [(u, v, d) for u, v, d in graph.edges(data=True) if d["kind"] == kind]


@pytest.fixture
def toy_net(toy_geodata):
    return load_network(toy_geodata)


def test_virtual_nodes_per_layer(toy_net):
    graph = toy_net.graph
    physical = {n for n in graph.nodes if len(n) == 3}
    assert all(layer in LAYERS and side in ("in", "out") for _, layer, side in physical)
    layers_at = {}
    for node_id, layer, _ in physical:
        layers_at.setdefault(node_id, set()).add(layer)
    assert layers_at == {
        "xian": {"rail1435"},
        "khorgos": {"rail1435"},
        "dostyk": {"rail1435", "rail1520"},
        "kaz_west": {"rail1520"},
        "terespol": {"rail1435", "rail1520"},
        "manzhouli": {"rail1435"},
        "zabaikalsk": {"rail1435", "rail1520"},
        "rus_west": {"rail1520"},
        "kuznica": {"rail1435", "rail1520"},
        "warsaw": {"rail1435"},
    }
    # every virtual node comes in an in/out pair
    for node_id, layer, _ in physical:
        assert (node_id, layer, "in") in graph and (node_id, layer, "out") in graph


def test_links_become_two_directed_edges_between_matching_layers(toy_net):
    graph = toy_net.graph
    links = _edges(graph, "link")
    assert len(links) == 2 * len(LINKS["belt_and_road"])
    for u, v, data in links:
        assert u[2] == "out" and v[2] == "in" and u[1] == v[1]
        record = toy_net.link_records[data["link_id"]]
        assert u[1] == f"rail{record['gauge_mm']}"
        ends = (record["from"], record["to"]) if data["direction"] == "ab" else (record["to"], record["from"])
        assert (u[0], v[0]) == ends


def test_dwell_edges_carry_dwell_handling_and_capacity(tmp_path):
    nodes = copy.deepcopy(NODES)
    props = next(f for f in nodes if f["properties"]["id"] == "khorgos")["properties"]
    props["capacity_teu"] = 5000.0
    net = load_network(write_geodata(tmp_path / "toy", nodes=nodes))
    data = net.graph.edges[("khorgos", "rail1435", "in"), ("khorgos", "rail1435", "out")]
    assert data["kind"] == "dwell"
    assert data["node_id"] == "khorgos"
    assert data["time_h"] == 10.0
    assert data["money_usd"] == 50.0
    assert data["capacity_teu"] == 5000.0
    assert data["country"] == "CHN"
    dostyk = [d for _, _, d in _edges(net.graph, "dwell") if d["node_id"] == "dostyk"]
    assert len(dostyk) == 2 and all(d["time_h"] == 20.0 and d["capacity_teu"] is None for d in dostyk)
    assert len(_edges(net.graph, "dwell")) == sum(1 for n in net.graph.nodes if len(n) == 3) // 2


def test_transfer_edges_only_where_transfer_is_set(toy_net):
    transfers = _edges(toy_net.graph, "transfer")
    at = {}
    for u, v, data in transfers:
        assert u[0] == v[0] == data["node_id"] and u[1] != v[1]
        assert u[2] == v[2] == "in"
        at.setdefault(data["node_id"], set()).add((u[1], v[1]))
        assert data["time_h"] == 5.0 and data["money_usd"] == 100.0
    both = {("rail1435", "rail1520"), ("rail1520", "rail1435")}
    assert at == {"dostyk": both, "terespol": both, "zabaikalsk": both, "kuznica": both}


def test_no_transfer_edge_without_transfer_values(toy_net):
    nodes = copy.deepcopy(toy_net.node_records)
    nodes["dostyk"].update(transfer_h=None, transfer_usd=None)
    graph = build_graph(nodes, toy_net.link_records, toy_net.params)
    assert not [d for _, _, d in _edges(graph, "transfer") if d["node_id"] == "dostyk"]
    assert [d for _, _, d in _edges(graph, "transfer") if d["node_id"] == "terespol"]


def test_zones_are_never_through_nodes(toy_net):
    graph = toy_net.graph
    zones = [n for n in graph.nodes if len(n) == 2]
    assert {n[0] for n in zones} == {"o", "d"}
    assert {n[1] for n in zones if n[0] == "o"} == set(toy_net.node_records)
    for zone in zones:
        if zone[0] == "o":
            assert graph.in_degree(zone) == 0
            assert all(graph.edges[zone, v]["kind"] == "access" for v in graph.successors(zone))
        else:
            assert graph.out_degree(zone) == 0
            assert all(graph.edges[u, zone]["kind"] == "egress" for u in graph.predecessors(zone))
    # access leaves a node's gate behind (no dwell at the origin), egress arrives before it
    for u, v, _ in _edges(graph, "access"):
        assert v[0] == u[1] and v[2] == "out"
    for u, v, _ in _edges(graph, "egress"):
        assert u[0] == v[1] and u[2] == "in"


def _with_planned_link(tmp_path, status="planned", year=2030):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(
        _link("kaz_west-rus_west", "kaz_west", "rus_west", [[19.95, 45], [19.95, 55]], "KAZ|RUS", 1520,
              route="cross", status=status, opening_year=year)
    )
    return write_geodata(tmp_path / "toy", links=links)


@pytest.mark.parametrize("status", ["planned", "under_construction"])
def test_planned_link_excluded_before_opening_year(tmp_path, status):
    folder = _with_planned_link(tmp_path, status)

    def link_ids(net):
        return {d["link_id"] for _, _, d in _edges(net.graph, "link")}

    assert "kaz_west-rus_west" not in link_ids(load_network(folder))  # parameters year 2024
    assert "kaz_west-rus_west" not in link_ids(load_network(folder, params={"year": 2029}))
    assert "kaz_west-rus_west" in link_ids(load_network(folder, params={"year": 2030}))
    assert "kaz_west-rus_west" in link_ids(load_network(folder, params={"year": 2031}))
    assert "kaz_west-rus_west" in link_ids(load_network(folder, params=CostParameters(year=2030)))
    net = load_network(folder)
    assert not net.links.loc["kaz_west-rus_west", "in_service"]
    assert load_network(folder, params={"year": 2030}).links.loc["kaz_west-rus_west", "in_service"]


def test_planned_node_excluded_with_its_links(toy_net):
    nodes = copy.deepcopy(toy_net.node_records)
    nodes["kaz_west"].update(status="planned", opening_year=2027)
    graph = build_graph(nodes, toy_net.link_records, toy_net.params)
    assert not any(n[0] == "kaz_west" or n[-1] == "kaz_west" for n in graph.nodes)
    assert {d["link_id"] for _, _, d in _edges(graph, "link")}.isdisjoint({"dostyk-kaz_west", "kaz_west-terespol"})
    later = build_graph(nodes, toy_net.link_records, CostParameters(year=2027))
    assert ("kaz_west", "rail1520", "in") in later


def test_length_is_geodesic_not_degrees(toy_net):
    for link_id, record in toy_net.link_records.items():
        expected = _geodesic_km(record["coords"])
        assert record["length_km"] == pytest.approx(expected, rel=1e-9)
        assert toy_net.links.loc[link_id, "length_km"] == pytest.approx(expected, rel=1e-9)
    # xian-khorgos spans about 8 degrees of longitude at 45N: ~630 km, not ~8 (degrees) or ~890 (equator km)
    km = toy_net.link_records["xian-khorgos"]["length_km"]
    degrees = sum(
        math.dist(a, b) for a, b in zip(toy_net.link_records["xian-khorgos"]["coords"][:-1],
                                        toy_net.link_records["xian-khorgos"]["coords"][1:], strict=True)
    )
    assert 600 < km < 660
    assert km != pytest.approx(degrees * 111.32, rel=0.05)
    edge = toy_net.graph.edges[("xian", "rail1435", "out"), ("khorgos", "rail1435", "in")]
    assert edge["length_km"] == pytest.approx(km)


def test_generalised_cost_is_money_plus_value_of_time(toy_geodata):
    for vot in (0.0, 2.0, 7.5):
        net = load_network(toy_geodata, params={"value_of_time_usd_per_teu_h": vot})
        assert net.params.value_of_time_usd_per_teu_h == vot
        for _, _, data in net.graph.edges(data=True):
            assert data["gen_cost"] == pytest.approx(data["money_usd"] + vot * data["time_h"])
    net = load_network(toy_geodata)
    data = net.graph.edges[("xian", "rail1435", "out"), ("khorgos", "rail1435", "in")]
    km = net.link_records["xian-khorgos"]["length_km"]
    assert data["money_usd"] == pytest.approx(0.5 * km)
    assert data["time_h"] == pytest.approx(km / 50.0)
    assert data["gen_cost"] == pytest.approx(0.5 * km + 2.0 * km / 50.0)


def test_ferry_waiting_is_half_the_headway(tmp_path):
    nodes = copy.deepcopy(NODES)
    for f in nodes:
        if f["properties"]["id"] == "kaz_west":
            f["properties"].update(kind="port", transfer_h=2.0, transfer_usd=50.0)
        if f["properties"]["id"] == "terespol":
            f["properties"]["kind"] = "port"
    links = copy.deepcopy(LINKS)
    for f in links["belt_and_road"]:
        if f["properties"]["id"] == "kaz_west-terespol":
            f["properties"].update(mode="ferry", gauge_mm=None, country=None, speed_kmh=None, running_h=20.0,
                                   frequency_per_week=7.0, tariff_usd_per_teu_km=None, tariff_usd=300.0)
    net = load_network(write_geodata(tmp_path / "toy", nodes=nodes, links=links))
    data = net.graph.edges[("kaz_west", "sea", "out"), ("terespol", "sea", "in")]
    assert data["mode"] == "ferry"
    assert data["time_h"] == pytest.approx(20.0 + 0.5 * 168.0 / 7.0)  # 12 h average wait for a daily sailing
    assert data["money_usd"] == pytest.approx(300.0)
    assert link_time_h({"running_h": 10.0, "frequency_per_week": 2.0, "length_km": 500.0}) == pytest.approx(52.0)
    assert link_time_h({"speed_kmh": 50.0, "length_km": 500.0, "frequency_per_week": 14.0}) == pytest.approx(16.0)
    assert link_time_h({"speed_kmh": 50.0, "length_km": 500.0, "frequency_per_week": None}) == pytest.approx(10.0)
    # port transfers join the rail and sea layers
    kinds = {(u[1], v[1]) for u, v, d in _edges(net.graph, "transfer") if d["node_id"] == "kaz_west"}
    assert kinds == {("rail1520", "sea"), ("sea", "rail1520")}


def test_cost_parameters_from_mapping():
    params = CostParameters.from_mapping(
        {"cost": {"value_of_time_usd_per_teu_h": 4}, "route_choice": {"k_routes": 3, "logit_theta_per_usd": 0.01}}
    )
    assert params.value_of_time_usd_per_teu_h == 4.0
    assert params.k_routes == 3 and isinstance(params.k_routes, int)
    assert params.logit_theta_per_usd == 0.01
    assert params.max_detour == CostParameters().max_detour


def test_cost_parameters_reject_unknown_keys():
    expected = "unknown parameter 'value_of_time'.*did you mean 'value_of_time_usd_per_teu_h'"
    with pytest.raises(LayerError, match=expected):
        CostParameters.from_mapping({"cost": {"value_of_time": 3.0}})
    with pytest.raises(LayerError, match="unknown parameter 'speed'"):
        CostParameters.from_mapping({"speed": 3.0}, source="x.toml")


@pytest.mark.parametrize("value", [-1.0, "fast", True, None])
def test_cost_parameters_reject_bad_values(value):
    with pytest.raises(LayerError, match="value_of_time_usd_per_teu_h"):
        CostParameters.from_mapping({"value_of_time_usd_per_teu_h": value})


def test_load_network_rejects_unknown_params(toy_geodata):
    with pytest.raises(LayerError, match="unknown parameter 'vot'"):
        load_network(toy_geodata, params={"vot": 3.0})
    parameters = "[cost]\nvalue_of_tme_usd_per_teu_h = 2.0\n"
    folder = write_geodata(toy_geodata.parent / "bad", parameters=parameters)
    with pytest.raises(LayerError, match="parameters.toml.*did you mean 'value_of_time_usd_per_teu_h'") as info:
        load_network(folder)
    assert "\n" not in str(info.value)


def test_network_frames_follow_the_design(toy_net):
    nodes, links, countries = toy_net.nodes, toy_net.links, toy_net.countries
    assert set(nodes.index) == set(toy_net.node_records) and nodes.crs.to_epsg() == 4326
    assert nodes.loc["dostyk", "country"] == "KAZ" and nodes.loc["dostyk"].geometry.x == pytest.approx(10.05)
    assert set(links.index) == set(toy_net.link_records) and links.crs.to_epsg() == 4326
    for column in ("length_km", "time_h", "money_usd", "corridor", "route", "mode", "gauge_mm", "country"):
        assert column in links.columns
    assert links.loc["xian-khorgos"].geometry.geom_type == "LineString"
    assert set(countries.index) == {"CHN", "KAZ", "RUS", "POL"}
    assert toy_net.country_codes == {"CHN", "KAZ", "RUS", "POL"}
    assert toy_net.geodata.is_dir()


def test_public_api_reexports(toy_geodata):
    import corridors

    net = corridors.load_network(toy_geodata)
    assert isinstance(net, corridors.Network)
    assert isinstance(net.params, corridors.CostParameters)
    assert corridors.validate_geodata(toy_geodata) == []
    assert len(corridors.load_demand(toy_geodata)) == 2
    assert corridors.best_routes(net, "xian", "warsaw", k=1).loc[1, "countries"] == "CHN-KAZ-POL"
    result = corridors.assign(net)
    assert isinstance(result, corridors.AssignmentResult)
    assert isinstance(result.share_through("KAZ"), corridors.ShareResult)
    assert issubclass(corridors.LayerError, corridors.CorridorsError)
    assert issubclass(corridors.QueryError, ValueError)
    with pytest.raises(AttributeError):
        corridors.no_such_name  # noqa: B018
