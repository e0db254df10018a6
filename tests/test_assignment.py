"""Assignment of demand on the toy world: methods, stranded demand, link flows, and properties."""

from __future__ import annotations

import copy
import math
from collections import defaultdict

import pytest
from conftest import LINKS, NODES, _link, write_geodata
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridors._errors import QueryError
from corridors.assignment import assign, load_demand
from corridors.network import load_network

SOUTH = ("xian-khorgos", "khorgos-dostyk", "dostyk-kaz_west", "kaz_west-terespol", "terespol-warsaw")
NORTH = ("xian-manzhouli", "manzhouli-zabaikalsk", "zabaikalsk-rus_west", "rus_west-kuznica", "kuznica-warsaw")
NODE_IDS = [f["properties"]["id"] for f in NODES]


@pytest.fixture
def toy_net(toy_geodata):
    return load_network(toy_geodata)


def _p_south(net, theta=0.01):
    from corridors.routing import best_routes

    south, north = best_routes(net, "xian", "warsaw", k=2)
    assert south.link_ids == SOUTH and north.link_ids == NORTH
    return 1.0 / (1.0 + math.exp(-theta * (north.gen_cost_usd - south.gen_cost_usd)))


def test_shortest_puts_everything_on_the_best_route(toy_net):
    result = assign(toy_net, method="shortest")
    assert result.method == "shortest"
    paths = result.paths
    assert len(paths) == 2
    forward = paths[paths.origin == "xian"].iloc[0]
    assert tuple(forward.link_ids) == SOUTH
    assert forward.teu == pytest.approx(1000.0) and forward.share_of_od == 1.0
    assert forward.gateway == "khorgos-dostyk"
    assert tuple(forward.countries) == ("CHN", "KAZ", "POL")
    backward = paths[paths.origin == "warsaw"].iloc[0]
    assert tuple(backward.link_ids) == tuple(reversed(SOUTH)) and backward.teu == pytest.approx(400.0)
    assert result.total_teu == pytest.approx(1400.0)
    assert result.stranded == () and result.stranded_teu == 0


def test_logit_splits_by_hand(toy_net):
    result = assign(toy_net, method="logit")
    p = _p_south(toy_net)
    paths = result.paths
    forward = paths[paths.origin == "xian"].set_index(paths[paths.origin == "xian"].link_ids.map(tuple))
    assert forward.loc[[SOUTH], "share_of_od"].iloc[0] == pytest.approx(p, rel=1e-12)
    assert forward.loc[[NORTH], "teu"].iloc[0] == pytest.approx(1000.0 * (1.0 - p), rel=1e-9)
    backward = paths[paths.origin == "warsaw"]
    assert backward.teu.sum() == pytest.approx(400.0)
    assert sorted(backward.share_of_od) == pytest.approx(sorted([p, 1.0 - p]))


def test_default_method_is_logit(toy_net):
    assert assign(toy_net).method == "logit"
    assert len(assign(toy_net).paths) == 4


def test_unknown_method(toy_net):
    with pytest.raises(QueryError, match="unknown method 'fastest'"):
        assign(toy_net, method="fastest")


def test_explicit_demand_and_zero_rows(toy_net):
    demand = [{"origin": "xian", "destination": "warsaw", "teu": 0.0},
              {"origin": "khorgos", "destination": "kaz_west", "teu": 30.0}]
    result = assign(toy_net, demand, method="shortest")
    assert result.total_teu == pytest.approx(30.0)
    assert [tuple(x) for x in result.paths.link_ids] == [("khorgos-dostyk", "dostyk-kaz_west")]
    with pytest.raises(QueryError, match="did you mean 'warsaw'"):
        assign(toy_net, [{"origin": "xian", "destination": "warsa", "teu": 1.0}])
    with pytest.raises(QueryError, match="teu"):
        assign(toy_net, [{"origin": "xian", "destination": "warsaw", "teu": -1.0}])
    with pytest.raises(QueryError, match="missing field 'teu'"):
        assign(toy_net, [{"origin": "xian", "destination": "warsaw"}])


def test_load_demand(toy_geodata):
    frame = load_demand(toy_geodata)
    assert list(frame.columns) == ["origin", "destination", "teu", "year", "segment", "basis"]
    assert frame.teu.sum() == pytest.approx(1400.0)


def _without(*link_ids):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"] = [f for f in links["belt_and_road"] if f["properties"]["id"] not in link_ids]
    return links


STRAND_DEMAND = [
    dict(origin="xian", destination="warsaw", teu=1000, year=2024, segment="china_europe", basis="A1"),
    dict(origin="xian", destination="terespol", teu=300, year=2024, segment="china_europe", basis="A1"),
]


def test_stranded_demand(tmp_path):
    # closing both links at terespol cuts it off; warsaw stays reachable over the northern route
    folder = write_geodata(tmp_path / "cut", links=_without("kaz_west-terespol", "terespol-warsaw"),
                           demand=STRAND_DEMAND)
    net = load_network(folder)
    with pytest.raises(QueryError, match="terespol") as info:
        assign(net)
    assert "\n" not in str(info.value)
    result = assign(net, on_unreachable="strand")
    assert [(r["origin"], r["destination"], r["teu"]) for r in result.stranded] == [("xian", "terespol", 300.0)]
    assert result.stranded_teu == pytest.approx(300.0)
    assert result.total_teu == pytest.approx(1000.0)
    assert {tuple(x) for x in result.paths.link_ids} == {NORTH}
    share = result.share_through("KAZ", from_="CHN", to="EU")
    assert share.share == 0.0
    assert share.total_teu == pytest.approx(1000.0)
    assert share.stranded_teu == pytest.approx(300.0)
    with pytest.raises(QueryError, match="on_unreachable"):
        assign(net, on_unreachable="ignore")


def test_all_demand_stranded_still_answers(tmp_path):
    demand = [STRAND_DEMAND[1]]
    folder = write_geodata(tmp_path / "cut", links=_without("kaz_west-terespol", "terespol-warsaw"), demand=demand)
    result = assign(load_network(folder), on_unreachable="strand")
    assert result.total_teu == 0.0
    share = result.share_through("KAZ", from_="CHN", to="POL")
    assert share.total_teu == 0.0 and share.share == 0.0 and share.stranded_teu == pytest.approx(300.0)


def test_link_flows_columns_and_directions(toy_net):
    result = assign(toy_net, method="shortest")
    flows = result.link_flows
    for column in ("teu_ab", "teu_ba", "teu", "utilisation", "length_km", "capacity_teu", "corridor", "geometry"):
        assert column in flows.columns
    assert set(flows.index) == set(toy_net.link_records)
    assert str(flows.crs).upper().endswith("4326")
    for link_id in SOUTH:
        assert flows.loc[link_id, "teu_ab"] == pytest.approx(1000.0)  # xian -> warsaw runs with the geometry
        assert flows.loc[link_id, "teu_ba"] == pytest.approx(400.0)
        assert flows.loc[link_id, "teu"] == pytest.approx(1400.0)
    for link_id in NORTH:
        assert flows.loc[link_id, "teu"] == 0.0
    assert flows.utilisation.isna().all()  # no capacity set in the toy
    nodes = result.node_flows
    assert nodes.loc["dostyk", "teu"] == pytest.approx(1400.0)
    assert nodes.loc["manzhouli", "teu"] == 0.0


def test_link_flows_reversed_geometry_and_utilisation(tmp_path):
    links = copy.deepcopy(LINKS)
    for f in links["belt_and_road"]:
        if f["properties"]["id"] == "dostyk-kaz_west":
            # the same line digitised the other way round, with a capacity
            f["properties"].update({"id": "kaz_west-dostyk", "from": "kaz_west", "to": "dostyk", "capacity_teu": 800})
            f["geometry"]["coordinates"] = f["geometry"]["coordinates"][::-1]
    result = assign(load_network(write_geodata(tmp_path / "rev", links=links)), method="shortest")
    row = result.link_flows.loc["kaz_west-dostyk"]
    assert row.teu_ab == pytest.approx(400.0) and row.teu_ba == pytest.approx(1000.0)
    assert row.utilisation == pytest.approx(1000.0 / 800.0)


# --------------------------------------------------------------------------- properties

@pytest.fixture(scope="module")
def cross_geodata(tmp_path_factory):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(
        _link("kaz_west-rus_west", "kaz_west", "rus_west", [[19.95, 45], [19.95, 55]], "KAZ|RUS", 1520, route="cross")
    )
    return write_geodata(tmp_path_factory.mktemp("cross") / "cross", links=links)


_pairs = [(o, d) for o in NODE_IDS for d in NODE_IDS if o != d]
demand_matrices = st.dictionaries(
    st.sampled_from(_pairs), st.floats(min_value=0.5, max_value=1e5, allow_nan=False), min_size=1, max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    matrix=demand_matrices,
    theta=st.floats(min_value=1e-4, max_value=0.2),
    vot=st.floats(min_value=0.0, max_value=50.0),
    method=st.sampled_from(["logit", "shortest"]),
)
def test_assignment_properties(cross_geodata, matrix, theta, vot, method):
    matrix = {("xian", "warsaw"): 500.0, **matrix}
    net = load_network(cross_geodata, params={"logit_theta_per_usd": theta, "value_of_time_usd_per_teu_h": vot})
    demand = [{"origin": o, "destination": d, "teu": teu} for (o, d), teu in matrix.items()]
    result = assign(net, demand, method=method)

    # (a) every share lies in [0, 1], and route shares of an OD add up to one
    shares = defaultdict(float)
    for flow in result.flows:
        assert 0.0 <= flow.share_of_od <= 1.0
        shares[(flow.route.origin, flow.route.destination)] += flow.share_of_od
    assert all(s == pytest.approx(1.0) for s in shares.values())
    for through in ("KAZ", "RUS", "CHN", "POL", "EU", "CENTRAL_ASIA", "RUS+KAZ"):
        answer = result.share_through(through, from_="CHN", to="EU")
        assert 0.0 <= answer.share <= 1.0 + 1e-12
        assert 0.0 <= answer.share_teu_km <= 1.0 + 1e-12
        assert answer.through_teu <= answer.total_teu * (1 + 1e-12)
    # (b) assigned TEU equals demand, OD by OD
    assigned = defaultdict(float)
    for flow in result.flows:
        assigned[(flow.route.origin, flow.route.destination)] += flow.teu
    assert set(assigned) == set(matrix)
    for od, teu in matrix.items():
        assert assigned[od] == pytest.approx(teu, rel=1e-9)
    assert result.total_teu == pytest.approx(sum(matrix.values()), rel=1e-9)

    # (c) flow conservation at every physical node: in + produced = out + attracted
    flows = result.link_flows
    inflow = defaultdict(float)
    outflow = defaultdict(float)
    for link_id, row in flows.iterrows():
        a, b = row["from"], row["to"]
        outflow[a] += row.teu_ab
        inflow[b] += row.teu_ab
        outflow[b] += row.teu_ba
        inflow[a] += row.teu_ba
        assert row.teu == pytest.approx(row.teu_ab + row.teu_ba), link_id
        assert row.teu_ab >= 0 and row.teu_ba >= 0
    produced = defaultdict(float)
    attracted = defaultdict(float)
    for (o, d), teu in matrix.items():
        produced[o] += teu
        attracted[d] += teu
    scale = sum(matrix.values())
    for node in NODE_IDS:
        assert inflow[node] + produced[node] == pytest.approx(outflow[node] + attracted[node], abs=1e-9 * scale), node


# --------------------------------------------------------------------------- equilibrium without capacities

def test_equilibrium_methods_without_capacity_match_their_uncongested_counterparts(toy_net):
    # the toy has no capacity anywhere: UE is all-or-nothing and SUE is the path-size logit
    ue = assign(toy_net, method="ue")
    assert ue.total_teu == pytest.approx(1400.0)
    assert ue.share_through("KAZ").share == pytest.approx(1.0)
    sue = assign(toy_net, method="sue")
    assert sue.total_teu == pytest.approx(1400.0)
    assert sue.share_through("KAZ").share == pytest.approx(_p_south(toy_net), rel=1e-6)


# --------------------------------------------------------------------------- bad demand given through the API

@pytest.mark.parametrize("teu", [float("nan"), float("inf"), "abc", None])
def test_non_numeric_demand_is_a_query_error(toy_net, teu):
    # Bug (assignment._demand_rows): NaN is reported as "unreachable", inf is assigned, and
    # "abc"/None escape as a bare ValueError/TypeError instead of a one-line QueryError.
    with pytest.raises(QueryError, match="teu") as info:
        assign(toy_net, [{"origin": "xian", "destination": "warsaw", "teu": teu}])
    assert "unreachable" not in str(info.value)


def test_paths_of_an_empty_assignment_keep_their_columns(toy_net):
    # Bug (AssignmentResult.paths): with no flow the DataFrame has no columns at all, so
    # `result.paths.origin` raises AttributeError instead of selecting nothing.
    result = assign(toy_net, [{"origin": "xian", "destination": "warsaw", "teu": 0.0}])
    paths = result.paths
    assert len(paths) == 0
    for column in ("origin", "destination", "teu", "share_of_od", "gen_cost_usd", "corridor", "gateway", "link_ids"):
        assert column in paths.columns


def test_paths_and_node_flows_follow_the_design(toy_net):
    result = assign(toy_net)
    paths = result.paths
    for column in ("origin", "destination", "teu", "share_of_od", "gen_cost_usd", "money_usd", "time_h",
                   "length_km", "corridor", "route", "gateway", "countries", "link_ids", "node_ids"):
        assert column in paths.columns, column
    for column in ("countries", "link_ids", "node_ids"):
        assert all(isinstance(value, tuple) for value in paths[column]), column
    row = paths[(paths.origin == "xian") & (paths.gateway == "khorgos-dostyk")].iloc[0]
    assert row.node_ids[0] == "xian" and row.node_ids[-1] == "warsaw"
    assert row.gen_cost_usd == pytest.approx(row.money_usd + 2.0 * row.time_h)
    nodes = result.node_flows
    assert set(nodes.index) == set(toy_net.node_records)
    assert nodes.loc["xian", "teu"] == pytest.approx(1400.0)  # origin of one OD, destination of the other
    p = _p_south(toy_net)
    assert nodes.loc["kaz_west", "teu"] == pytest.approx(1400.0 * p)


@pytest.mark.parametrize("method", ["shortest", "logit", "ue", "sue"])
def test_unreachable_demand_is_handled_alike_by_every_method(toy_net, method):
    # warsaw closed: its demand has no route.  Every method raises the same one-line error,
    # or strands the same TEU, and assigns the rest.
    records = {k: ({**r, "closed": True} if k == "warsaw" else r) for k, r in toy_net.node_records.items()}
    net = toy_net.with_changes(node_records=records)
    demand = [{"origin": "xian", "destination": "warsaw", "teu": 700.0},
              {"origin": "xian", "destination": "dostyk", "teu": 300.0}]
    with pytest.raises(QueryError, match="destination 'warsaw' is unreachable from 'xian'"):
        assign(net, demand, method=method)
    result = assign(net, demand, method=method, on_unreachable="strand")
    assert result.stranded_teu == pytest.approx(700.0)
    assert [r["destination"] for r in result.stranded] == ["warsaw"]
    assert result.total_teu == pytest.approx(300.0)
    nothing = assign(net, demand[:1], method=method, on_unreachable="strand")
    assert nothing.total_teu == 0.0 and nothing.stranded_teu == pytest.approx(700.0)


@pytest.fixture(scope="module")
def shipped_net():
    return load_network()


@pytest.mark.parametrize("method", ["shortest", "logit", "ue", "sue"])
def test_rail_demand_stays_off_roads_on_the_shipped_network(method, shipped_net):
    # Issue 10: CR Express and China-Central Asia trains ran ~414k TEU on road links under logit.
    net = shipped_net
    result = assign(net, method=method, on_unreachable="strand")
    rail_rows = [r for r in net.demand_rows if r.get("mode") == "rail"]
    assert rail_rows and result.stranded_teu == 0.0
    road = {i for i, r in net.link_records.items() if r["mode"] == "road"}
    assert road
    on_road = sum(f.teu for f in result.flows if road & set(f.route.link_ids))
    assert on_road == 0.0
    assert result.total_teu == pytest.approx(sum(r["teu"] for r in rail_rows))
    paths = result.paths
    assert set(paths["segment"]) == {r["segment"] for r in net.demand_rows}
    assert set(paths["service"]) == {r["service"] for r in net.demand_rows}
    assert set(paths["direction"]) == {r["direction"] for r in net.demand_rows}


def test_demand_without_mode_may_use_roads(tmp_path):
    road = _link("terespol-warsaw-road", "terespol", "warsaw", [[20.05, 45], [22, 47], [25, 50]], "POL", None,
                 mode="road", tariff=0.05, speed=60.0, route="europe")
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(road)
    net = load_network(write_geodata(tmp_path / "road", links=links))
    for method in ("shortest", "logit", "ue", "sue"):
        free = assign(net, [dict(origin="xian", destination="warsaw", teu=100.0)], method=method)
        rail = assign(net, [dict(origin="xian", destination="warsaw", teu=100.0, mode="rail")], method=method)
        assert sum(f.teu for f in free.flows if "terespol-warsaw-road" in f.route.link_ids) > 0, method
        assert all("terespol-warsaw-road" not in f.route.link_ids for f in rail.flows), method
        assert rail.total_teu == pytest.approx(100.0)


@pytest.mark.parametrize("method", ["logit", "ue"])
def test_sweep_at_nominal_inputs_keeps_the_mode_mask(method, shipped_net):
    # The sweep builds its arrays from the same mode-keyed choice sets (and ue masks) as assign.
    import numpy as np

    from corridors.assignment import route_key, route_sets
    from corridors.sweep_model import Query, compile_model, evaluate

    rows = [r for r in shipped_net.demand_rows if r["teu"] > 0]
    sets = route_sets(shipped_net, {route_key(r) for r in rows}, strict=False)
    model = compile_model(shipped_net, rows, sets, Query("KAZ", "CHN", "EU"), (), method=method)
    assert model.pairs and all(len(p) == 3 and p[2] == "rail" for p in model.pairs)
    out = evaluate(model, np.zeros((1, 0)), method)
    single = assign(shipped_net, method=method).share_through("KAZ", from_="CHN", to="EU")
    assert out["share"][0] == pytest.approx(single.share, abs=1e-6)
