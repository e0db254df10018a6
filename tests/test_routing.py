"""Routes on the toy world, checked by hand from geodesic lengths, tariffs, dwell and transfers."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import LINKS, _link, write_geodata
from pyproj import Geod

from corridors._errors import QueryError
from corridors.network import load_network
from corridors.routing import best_routes, logit_probabilities, path_size

GEOD = Geod(ellps="WGS84")
VOT = 2.0  # toy parameters.toml
TARIFF = 0.5  # USD per TEU-km on every toy link
SPEED = 50.0  # km/h on every toy link

SOUTH = ("xian-khorgos", "khorgos-dostyk", "dostyk-kaz_west", "kaz_west-terespol", "terespol-warsaw")
NORTH = ("xian-manzhouli", "manzhouli-zabaikalsk", "zabaikalsk-rus_west", "rus_west-kuznica", "kuznica-warsaw")
SOUTH_NORTH = ("xian-khorgos", "khorgos-dostyk", "dostyk-kaz_west", "kaz_west-rus_west", "rus_west-kuznica",
               "kuznica-warsaw")
NORTH_SOUTH = ("xian-manzhouli", "manzhouli-zabaikalsk", "zabaikalsk-rus_west", "kaz_west-rus_west",
               "kaz_west-terespol", "terespol-warsaw")
CROSS = _link("kaz_west-rus_west", "kaz_west", "rus_west", [[19.95, 45], [19.95, 55]], "KAZ|RUS", 1520, route="cross")

# Node charges passed on each route (USD, hours), read off the toy nodes in conftest.py:
# khorgos dwell 10 h + 50 USD; dostyk transfer 5 h + 100 USD and dwell 20 h;
# terespol, zabaikalsk, kuznica transfer 5 h + 100 USD each.
SOUTH_NODES = (50.0 + 100.0 + 100.0, 10.0 + 25.0 + 5.0)
NORTH_NODES = (100.0 + 100.0, 5.0 + 5.0)
SOUTH_NORTH_NODES = (50.0 + 100.0 + 100.0, 10.0 + 25.0 + 5.0)
NORTH_SOUTH_NODES = (100.0 + 100.0, 5.0 + 5.0)


def _all_links():
    return {f["properties"]["id"]: f for f in LINKS["belt_and_road"] + [CROSS]}


def km(link_id: str) -> float:
    lons, lats = zip(*_all_links()[link_id]["geometry"]["coordinates"], strict=True)
    return GEOD.line_length(lons, lats) / 1000.0


def hand_cost(link_ids, node_charges, vot=VOT):
    length = sum(km(i) for i in link_ids)
    money = TARIFF * length + node_charges[0]
    hours = length / SPEED + node_charges[1]
    return money + vot * hours, money, hours, length


@pytest.fixture
def toy_net(toy_geodata):
    return load_network(toy_geodata)


@pytest.fixture
def cross_net(tmp_path):
    """The toy world plus a 1520 mm link kaz_west-rus_west joining the two routes."""
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(copy.deepcopy(CROSS))
    return load_network(write_geodata(tmp_path / "cross", links=links))


def test_best_route_xian_warsaw_by_hand(toy_net):
    routes = best_routes(toy_net, "xian", "warsaw", k=1)
    assert len(routes) == 1
    best = routes[0]
    assert best.link_ids == SOUTH
    gen, money, hours, length = hand_cost(SOUTH, SOUTH_NODES)
    assert best.length_km == pytest.approx(length, rel=1e-9)
    assert best.money_usd == pytest.approx(money, rel=1e-9)
    assert best.time_h == pytest.approx(hours, rel=1e-9)
    assert best.gen_cost_usd == pytest.approx(gen, rel=1e-9)
    # numbers a reader can check: ~2090 km, ~1297 USD, ~82 h, ~1460 USD generalised
    assert 2000 < length < 2200 and 1250 < money < 1350 and 80 < hours < 84 and 1420 < gen < 1500
    assert best.node_ids == ("xian", "khorgos", "dostyk", "kaz_west", "terespol", "warsaw")
    assert best.countries == ("CHN", "KAZ", "POL")
    assert best.crossings == (("khorgos-dostyk", "CHN", "KAZ"), ("kaz_west-terespol", "KAZ", "POL"))
    assert best.gateway({"CHN"}) == "khorgos-dostyk"
    assert best.passes_through({"KAZ"}) and not best.passes_through({"RUS"})
    assert best.corridor == "belt_and_road"
    # the finer route is named by the first transit link of the corridor: the border link into KAZ
    assert best.route == toy_net.link_records["khorgos-dostyk"]["route"]
    assert best.days == pytest.approx(hours / 24.0)
    by_country = dict(best.km_by_country)
    assert by_country["CHN"] == pytest.approx(km("xian-khorgos") + km("khorgos-dostyk") / 2)
    assert by_country["POL"] == pytest.approx(km("terespol-warsaw") + km("kaz_west-terespol") / 2)
    stops = [(leg["kind"], leg["id"]) for leg in best.legs if leg["kind"] != "link"]
    assert stops == [("dwell", "khorgos"), ("transfer", "dostyk"), ("dwell", "dostyk"), ("transfer", "terespol")]


def test_second_route_by_hand(toy_net):
    routes = best_routes(toy_net, "xian", "warsaw", k=2)
    assert [r.link_ids for r in routes] == [SOUTH, NORTH]
    assert routes[1].gen_cost_usd == pytest.approx(hand_cost(NORTH, NORTH_NODES)[0], rel=1e-9)
    assert routes[1].countries == ("CHN", "RUS", "POL")


def test_reverse_direction_costs_the_same(toy_net):
    forward = best_routes(toy_net, "xian", "warsaw", k=2)
    backward = best_routes(toy_net, "warsaw", "xian", k=2)
    assert [r.link_ids for r in backward] == [tuple(reversed(r.link_ids)) for r in forward]
    for f, b in zip(forward, backward, strict=True):
        assert b.gen_cost_usd == pytest.approx(f.gen_cost_usd)
    assert backward[0].gateway({"POL"}) == "kaz_west-terespol"


def test_value_of_time_changes_the_best_route(toy_geodata):
    # the northern route is 21 h faster but 176 USD dearer: it wins once time is worth > ~8.4 USD/h
    south, north = hand_cost(SOUTH, SOUTH_NODES), hand_cost(NORTH, NORTH_NODES)
    breakeven = (north[1] - south[1]) / (south[2] - north[2])
    assert 7 < breakeven < 10
    slow = load_network(toy_geodata, params={"value_of_time_usd_per_teu_h": breakeven - 0.5})
    fast = load_network(toy_geodata, params={"value_of_time_usd_per_teu_h": breakeven + 0.5})
    assert best_routes(slow, "xian", "warsaw", k=1)[0].link_ids == SOUTH
    assert best_routes(fast, "xian", "warsaw", k=1)[0].link_ids == NORTH
    vot = breakeven + 0.5
    assert best_routes(fast, "xian", "warsaw", k=1)[0].gen_cost_usd == pytest.approx(
        hand_cost(NORTH, NORTH_NODES, vot)[0]
    )


def test_k_alternatives_distinct_and_sorted(cross_net):
    routes = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=10.0)
    assert len(routes) == 4
    assert len({r.link_ids for r in routes}) == 4
    costs = [r.gen_cost_usd for r in routes]
    assert costs == sorted(costs)
    expected = {
        SOUTH: hand_cost(SOUTH, SOUTH_NODES)[0],
        NORTH: hand_cost(NORTH, NORTH_NODES)[0],
        SOUTH_NORTH: hand_cost(SOUTH_NORTH, SOUTH_NORTH_NODES)[0],
        NORTH_SOUTH: hand_cost(NORTH_SOUTH, NORTH_SOUTH_NODES)[0],
    }
    assert {r.link_ids for r in routes} == set(expected)
    for route in routes:
        assert route.gen_cost_usd == pytest.approx(expected[route.link_ids], rel=1e-9)
        assert route.gen_cost_usd == pytest.approx(sum(cross_net.graph.edges[e]["gen_cost"] for e in route.edges))
    assert [r.link_ids for r in routes[:2]] == [SOUTH, NORTH]
    # k limits the number of routes; k=1 is the best alone
    assert [r.link_ids for r in best_routes(cross_net, "xian", "warsaw", k=3, max_detour=10.0)] == [
        r.link_ids for r in routes[:3]
    ]
    assert best_routes(cross_net, "xian", "warsaw", k=1)[0].link_ids == SOUTH


def test_max_detour_cut_off(cross_net):
    south = hand_cost(SOUTH, SOUTH_NODES)[0]
    north = hand_cost(NORTH, NORTH_NODES)[0]
    ratio = north / south  # ~1.09
    assert 1.05 < ratio < 1.15
    only = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=ratio - 0.01)
    assert [r.link_ids for r in only] == [SOUTH]
    two = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=ratio + 0.01)
    assert [r.link_ids for r in two] == [SOUTH, NORTH]
    for max_detour in (1.0, 1.2, 1.5, 2.0, 5.0):
        routes = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=max_detour)
        assert all(r.gen_cost_usd <= routes[0].gen_cost_usd * max_detour + 1e-6 for r in routes)
    # the default comes from the parameters
    net = load_network(cross_net.geodata, params={"max_detour": ratio - 0.01})
    assert len(best_routes(net, "xian", "warsaw", k=4)) == 1


def test_path_size_disjoint_routes_is_one(toy_net):
    routes = best_routes(toy_net, "xian", "warsaw", k=2)
    assert path_size(routes) == pytest.approx([1.0, 1.0])
    assert path_size(routes[:1]) == pytest.approx([1.0])


def test_path_size_overlapping_routes_by_hand(cross_net):
    routes = {r.link_ids: r for r in best_routes(cross_net, "xian", "warsaw", k=4, max_detour=10.0)}
    south, south_north = routes[SOUTH], routes[SOUTH_NORTH]
    shared = km("xian-khorgos") + km("khorgos-dostyk") + km("dostyk-kaz_west")
    length_s = sum(km(i) for i in SOUTH)
    length_sn = sum(km(i) for i in SOUTH_NORTH)
    expected = [shared / length_s / 2 + (length_s - shared) / length_s,
                shared / length_sn / 2 + (length_sn - shared) / length_sn]
    assert path_size([south, south_north]) == pytest.approx(expected, rel=1e-9)
    assert 0.5 < expected[0] < 1.0
    # in the full set of four, every link is used by exactly two routes
    assert path_size(list(routes.values())) == pytest.approx([0.5] * 4)


def test_logit_probabilities_by_hand(toy_net):
    theta = 0.01
    routes = best_routes(toy_net, "xian", "warsaw", k=2)
    costs = [r.gen_cost_usd for r in routes]
    p = logit_probabilities(costs, path_size(routes), theta=theta, beta=1.0)
    p_south = 1.0 / (1.0 + math.exp(-theta * (costs[1] - costs[0])))
    assert p == pytest.approx([p_south, 1.0 - p_south], rel=1e-12)
    assert 0.75 < p_south < 0.85
    # equal costs split evenly; path size tilts the split as PS^beta
    assert logit_probabilities([100.0, 100.0], [1.0, 1.0], theta=0.5, beta=1.0) == pytest.approx([0.5, 0.5])
    sizes = [1.0, 0.5]
    expected = [1.0 / 1.5, 0.5 / 1.5]
    assert logit_probabilities([100.0, 100.0], sizes, theta=0.5, beta=1.0) == pytest.approx(expected)
    costs3, sizes3, beta = [10.0, 20.0, 35.0], [1.0, 0.6, 0.8], 0.7
    weights = [s**beta * math.exp(-0.05 * c) for c, s in zip(costs3, sizes3, strict=True)]
    assert logit_probabilities(costs3, sizes3, theta=0.05, beta=beta) == pytest.approx(
        [w / sum(weights) for w in weights]
    )
    # large cost gaps do not overflow
    assert logit_probabilities([0.0, 1e6], [1.0, 1.0], theta=1.0, beta=1.0) == pytest.approx([1.0, 0.0])


def test_unknown_node_suggests(toy_net):
    with pytest.raises(QueryError, match="unknown node 'warsw'.*did you mean 'warsaw'") as info:
        best_routes(toy_net, "xian", "warsw")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="did you mean 'xian'"):
        best_routes(toy_net, "xain", "warsaw")


def test_same_origin_and_destination(toy_net):
    with pytest.raises(QueryError, match="same node"):
        best_routes(toy_net, "xian", "xian")


def test_unreachable_destination(tmp_path):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"] = [
        f for f in links["belt_and_road"] if f["properties"]["id"] not in ("khorgos-dostyk", "manzhouli-zabaikalsk")
    ]
    net = load_network(write_geodata(tmp_path / "cut", links=links))
    with pytest.raises(QueryError, match="no route from 'xian' to 'warsaw'") as info:
        best_routes(net, "xian", "warsaw")
    assert "\n" not in str(info.value)
    assert best_routes(net, "xian", "khorgos")[0].link_ids == ("xian-khorgos",)


def test_node_without_links_is_unreachable(tmp_path):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"] = [
        f for f in links["belt_and_road"] if f["properties"]["id"] not in ("terespol-warsaw", "kuznica-warsaw")
    ]
    net = load_network(write_geodata(tmp_path / "cut", links=links))
    with pytest.raises(QueryError, match="warsaw"):
        best_routes(net, "xian", "warsaw")


def test_identical_link_sequences_are_one_route(tmp_path):
    # A road link at dostyk gives it three layers, so a graph path can change gauge there in
    # two steps (1435 -> road -> 1520) as well as in one: the same physical links, dearer.
    # Bug (routing.best_routes): with max_overlap=1.0 ("keeps every distinct path") both graph
    # paths are returned as two routes; identical link sequences must be merged whatever
    # max_overlap is, as the module docstring says.
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(
        _link("dostyk-kaz_west_road", "dostyk", "kaz_west", [[10.05, 45], [15, 45.3], [19.95, 45]], "KAZ", None,
              mode="road", route="road")
    )
    net = load_network(write_geodata(tmp_path / "three_layers", links=links))
    for max_overlap in (1.0, 0.99, 0.8):
        routes = best_routes(net, "xian", "warsaw", k=4, max_detour=10.0, max_overlap=max_overlap)
        ids = [r.link_ids for r in routes]
        assert len(ids) == len(set(ids)), (max_overlap, ids)
        assert ids[:2] == [SOUTH, NORTH], max_overlap


def test_max_overlap_drops_near_copies(cross_net):
    def overlap(route, kept):
        return sum(km(i) for i in route if i in kept) / sum(km(i) for i in route)

    # share of each crossing route's length that runs on the cheaper routes, by hand
    sn = max(overlap(SOUTH_NORTH, SOUTH), overlap(SOUTH_NORTH, NORTH))
    ns = max(overlap(NORTH_SOUTH, SOUTH), overlap(NORTH_SOUTH, NORTH), overlap(NORTH_SOUTH, SOUTH_NORTH))
    low, high = min(sn, ns), max(sn, ns)
    assert 0.3 < low <= high < 0.7
    tight = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=10.0, max_overlap=low - 0.01)
    # SOUTH_NORTH enters Russia from Kazakhstan: a branch of its own (northern_kaz), kept
    # whatever its overlap; NORTH_SOUTH is another variant of NORTH's branch and gateway.
    assert sorted(r.link_ids for r in tight) == sorted([SOUTH, NORTH, SOUTH_NORTH])
    assert [r.gen_cost_usd for r in tight] == sorted(r.gen_cost_usd for r in tight)
    assert {(r.corridor, r.route) for r in tight if r.link_ids == SOUTH_NORTH} == {("belt_and_road", "northern_kaz")}
    loose = best_routes(cross_net, "xian", "warsaw", k=4, max_detour=10.0, max_overlap=high + 0.01)
    assert {r.link_ids for r in loose} == {SOUTH, NORTH, SOUTH_NORTH, NORTH_SOUTH}


ROAD = _link("terespol-warsaw-road", "terespol", "warsaw", [[20.05, 45], [22, 47], [25, 50]], "POL", None,
             mode="road", tariff=0.05, speed=60.0, route="europe")


@pytest.fixture
def road_net(tmp_path):
    """The toy world plus a cheap road Terespol-Warsaw beside the standard-gauge line."""
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(copy.deepcopy(ROAD))
    return load_network(write_geodata(tmp_path / "road", links=links))


def test_rail_demand_never_uses_a_road_link(road_net):
    free = best_routes(road_net, "xian", "warsaw", k=1)[0]
    assert "terespol-warsaw-road" in free.link_ids  # the road is the cheaper way to Warsaw
    rail = best_routes(road_net, "xian", "warsaw", mode="rail")
    assert rail and all(road_net.link_records[i]["mode"] == "rail" for r in rail for i in r.link_ids)
    assert rail[0].link_ids == SOUTH
    # the mask closes the road link and every edge at the road layer, nothing else
    closed = road_net.closed_edges((), "rail")
    assert closed and all("road" in (u[1] if len(u) == 3 else "", v[1] if len(v) == 3 else "") for u, v in closed)
    assert road_net.closed_edges((), None) == frozenset() == road_net.closed_edges((), "sea")


def test_choice_set_holds_every_gateway_combination(cross_net):
    # exit Khorgos or Manzhouli x entry Terespol or Kuznica: four routes, none capped away
    routes = best_routes(cross_net, "xian", "warsaw", max_detour=10.0)
    assert {r.link_ids for r in routes} == {SOUTH, NORTH, SOUTH_NORTH, NORTH_SOUTH}
    assert [r.gen_cost_usd for r in routes] == sorted(r.gen_cost_usd for r in routes)


def test_choice_set_is_deterministic(cross_net, tmp_path):
    first = [r.link_ids for r in best_routes(cross_net, "xian", "warsaw", max_detour=10.0)]
    links = copy.deepcopy(LINKS)
    links["belt_and_road"] = [copy.deepcopy(CROSS)] + links["belt_and_road"][::-1]  # other file order
    again = load_network(write_geodata(tmp_path / "shuffled", links=links))
    assert [r.link_ids for r in best_routes(again, "xian", "warsaw", max_detour=10.0)] == first
