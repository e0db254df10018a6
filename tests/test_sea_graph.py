"""The sea graph (``include_sea=True``): parallel Suez and Cape lanes between the same ports.

A DiGraph has one edge per port pair, so only one of two parallel lanes can be in it; routes
and flows must follow the cheaper one, whatever the order of the link records (before,
the last record read silently won: every sea route went round the Cape).
"""

from __future__ import annotations

import pytest

from corridors.assignment import assign
from corridors.network import build_graph, load_network
from corridors.routing import best_routes


@pytest.fixture(scope="module")
def sea_net():
    return load_network(include_sea=True)


def _parallel_lanes(net) -> dict[tuple, list[str]]:
    lanes: dict[tuple, list[str]] = {}
    for link_id, link in net.link_records.items():
        if link["mode"] == "sea" and not link.get("closed"):
            lanes.setdefault((link["from"], link["to"]), []).append(link_id)
    return {k: v for k, v in lanes.items() if len(v) > 1}


def test_the_graph_keeps_the_cheapest_of_parallel_lanes_in_any_record_order(sea_net):
    parallel = _parallel_lanes(sea_net)
    assert parallel, "the maritime layer has Suez and Cape lanes between the same ports"
    reversed_links = dict(reversed(list(sea_net.link_records.items())))
    other = build_graph(sea_net.node_records, reversed_links, sea_net.params, include_sea=True)
    for (a, b), ids in parallel.items():
        edge = ((a, "sea", "out"), (b, "sea", "in"))
        kept = sea_net.graph.edges[edge]
        assert other.edges[edge]["link_id"] == kept["link_id"]
        single = {i: build_graph(sea_net.node_records, {i: sea_net.link_records[i]}, sea_net.params,
                                 include_sea=True).edges[edge]["gen_cost"] for i in ids}
        assert kept["gen_cost"] == pytest.approx(min(single.values()))
        assert kept["link_id"] == min(ids, key=lambda i: (single[i], i))


def test_routes_and_flows_follow_the_lane_in_the_graph(sea_net):
    (a, b), ids = next(iter(sorted(_parallel_lanes(sea_net).items())))
    passage = {sea_net.link_records[i]["passage"]: i for i in ids}
    assert {"suez", "cape"} <= set(passage)
    kept = sea_net.graph.edges[(a, "sea", "out"), (b, "sea", "in")]["link_id"]
    route = best_routes(sea_net, a, b, k=1)[0]
    assert kept in route.link_ids and not (set(ids) - {kept}) & set(route.link_ids)
    for method in ("shortest", "ue"):
        flows = assign(sea_net, [dict(origin=a, destination=b, teu=100.0)], method=method).link_flows
        assert flows.loc[kept, "teu"] == pytest.approx(100.0), method
        assert all(flows.loc[i, "teu"] == 0 for i in ids if i != kept), method
    # with every lane of that passage closed (a scenario closing Suez), the other carries the boxes
    shut = sea_net.link_records[kept]["passage"]
    records = {i: ({**r, "closed": True} if r.get("passage") == shut else r) for i, r in sea_net.link_records.items()}
    closed = sea_net.with_changes(link_records=records)
    other = closed.graph.edges[(a, "sea", "out"), (b, "sea", "in")]["link_id"]
    assert other != kept and other in ids
    assert other in best_routes(closed, a, b, k=1)[0].link_ids
    flows = assign(closed, [dict(origin=a, destination=b, teu=100.0)], method="shortest").link_flows
    assert flows.loc[other, "teu"] == pytest.approx(100.0) and flows.loc[kept, "teu"] == 0


def test_suez_is_the_cheaper_lane_when_open(sea_net):
    # the shipped lanes: the Cape voyage is longer and dearer in time, so Suez is kept
    for (_, _), ids in _parallel_lanes(sea_net).items():
        edge_link = {sea_net.graph.edges[(sea_net.link_records[i]["from"], "sea", "out"),
                                         (sea_net.link_records[i]["to"], "sea", "in")]["link_id"] for i in ids}
        assert {sea_net.link_records[i]["passage"] for i in edge_link} == {"suez"}
