"""Declared capacities bind under ``ue`` and ``sue``; the model year is honoured (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

import corridors
from corridors import kernel
from corridors.assignment import edge_arrays
from corridors.equilibrium import LinkArrays, user_equilibrium


@pytest.fixture(scope="module")
def network():
    return corridors.load_network()


def _utilisation(result) -> dict[str, float]:
    """Largest utilisation of a declared capacity, per element type (link: busier direction;
    node: TEU through its gates, both directions added)."""
    net = result.network
    edges = edge_arrays(net)
    x = np.zeros(edges.n_edges)
    for flow in result.flows:
        for e in flow.route.edges:
            x[edges.index[e]] += flow.teu
    links = result.link_flows["utilisation"].dropna()
    gate = {}
    for i, (u, _) in enumerate(edges.edges):
        if edges.group[i] >= 0:
            gate[u[0]] = gate.get(u[0], 0.0) + x[i] / edges.capacity[i]
    return {"link": float(links.max()), "node": max(gate.values())}


@pytest.mark.parametrize("method", ["ue", "sue"])
def test_no_declared_capacity_is_loaded_above_102_percent(network, method):
    result = corridors.assign(network, method=method, on_unreachable="strand")
    top = _utilisation(result)
    print(method, "max utilisation", top)
    assert top["link"] <= 1.02, top
    assert top["node"] <= 1.02, top
    # every node capacity is declared on a node the shipped data routes through
    assert top["node"] > 0.5
    # the same from the routes' node lists, independent of the gate grouping (nodes where
    # demand starts or ends are left out: their own boxes do not pass the gates)
    zones = {r["origin"] for r in network.demand_rows} | {r["destination"] for r in network.demand_rows}
    passing = result.node_flows["teu"]
    over = {n: passing[n] / r["capacity_teu"] for n, r in network.node_records.items()
            if r.get("capacity_teu") and n not in zones and passing[n] > 1.02 * r["capacity_teu"]}
    assert not over, over


def test_excess_demand_goes_to_the_other_route():
    """Two parallel routes 0 -> 1: the cheap one holds 1,000, the dear one is unbounded.
    Demand 1,500: the cheap route fills to just under capacity, the rest takes the other."""
    barrier_h = corridors.CostParameters().capacity_barrier_h
    net = LinkArrays(tail=[0, 0], head=[1, 1], free_cost=[10.0, 20.0], capacity=[1000.0, 1e9],
                     alpha=[0.0, 0.0], beta=[1.0, 1.0], vdf=[0, 0], n_nodes=2,
                     barrier=[barrier_h, 0.0], group=[-1, -1])
    res = user_equilibrium(net, [0], [1], [1500.0], gap=1e-10)
    # at equilibrium 10 + J z / (1 - z) = 20, so z = 10 / (10 + J)
    z = 10.0 / (10.0 + barrier_h)
    assert res.flows[0] == pytest.approx(1000.0 * z, rel=1e-4)
    assert res.flows[1] == pytest.approx(1500.0 - 1000.0 * z, rel=1e-4)
    assert res.flows[0] < 1000.0


def test_grouped_gates_share_one_capacity():
    """Two gates of one node (say two gauges) share 1,000: their flows add up."""
    flows = np.array([600.0, 600.0, 600.0])
    cap = np.array([1000.0, 1000.0, 1000.0])
    zero = np.zeros(3)
    group = np.array([0, 0, -1])
    cost = kernel.vdf_cost(flows, zero, cap, zero, np.ones(3), np.zeros(3, bool), np.ones(3), group)
    z_group, z_own = 1.2, 0.6
    b_group = 0.99 / 0.01 + (z_group - 0.99) / 0.01**2
    assert cost == pytest.approx([b_group, b_group, z_own / (1 - z_own)])
    # the integral counts the group once and its derivative along the group's flow is the cost
    h = 1e-3
    up = kernel.vdf_integral(flows + [h, 0, 0], zero, cap, zero, np.ones(3), np.zeros(3, bool), np.ones(3), group)
    down = kernel.vdf_integral(flows - [h, 0, 0], zero, cap, zero, np.ones(3), np.zeros(3, bool), np.ones(3), group)
    assert (up.sum() - down.sum()) / (2 * h) == pytest.approx(b_group, rel=1e-6)


def test_barrier_integral_and_derivative_match_the_cost():
    z = np.linspace(0.0, 1.3, 27)
    cap = np.full_like(z, 500.0)
    x = z * cap
    zero = np.zeros_like(z)
    args = (zero, cap, zero, np.ones_like(z), np.zeros(z.size, bool), np.full_like(z, 3.0))
    h = 1e-4
    num = (kernel.vdf_integral(x + h, *args) - kernel.vdf_integral(x - h, *args)) / (2 * h)
    np.testing.assert_allclose(num, kernel.vdf_cost(x, *args), rtol=1e-5, atol=1e-6)
    num = (kernel.vdf_cost(x + h, *args) - kernel.vdf_cost(x - h, *args)) / (2 * h)
    np.testing.assert_allclose(num, kernel.vdf_derivative(x, *args), rtol=1e-4)


@pytest.mark.parametrize("method", ["shortest", "logit", "ue", "sue"])
def test_nothing_opening_after_the_model_year_carries_teu(network, method):
    year = network.params.year
    late_links = [i for i, r in network.link_records.items() if (r.get("opening_year") or 0) > year]
    late_nodes = [i for i, r in network.node_records.items() if (r.get("opening_year") or 0) > year]
    assert late_links and late_nodes  # the shipped data has features opening after 2024
    result = corridors.assign(network, method=method, on_unreachable="strand")
    assert result.link_flows.loc[late_links, "teu"].sum() == 0.0
    assert result.node_flows.loc[late_nodes, "teu"].sum() == 0.0


def test_an_operating_feature_opening_later_is_not_in_service():
    from corridors.network import _in_service

    assert not _in_service({"status": "operating", "opening_year": 2025}, 2024)
    assert _in_service({"status": "operating", "opening_year": 2024}, 2024)
    assert _in_service({"status": "operating"}, 2024)
    assert not _in_service({"status": "planned", "opening_year": 2030}, 2024)
    assert _in_service({"status": "planned", "opening_year": 2020}, 2024)


def test_scenario_open_puts_a_later_feature_in_service(network):
    from corridors.scenario_apply import apply_scenario

    opened = apply_scenario(network, "dostyk-moyynty-second-track")
    record = opened.links.loc["dostyk-moyynty-2nd"]
    assert record["in_service"] and record["opening_year"] == network.params.year
    assert not network.links.loc["dostyk-moyynty-2nd", "in_service"]


def test_scenario_open_keeps_an_earlier_opening_year(network, tmp_path):
    """In a scenario year after the opening year, ``open`` runs the feature from its own
    year; in an earlier scenario year it does not run unless opened."""
    from corridors.scenario_apply import apply_scenario

    later = tmp_path / "later.toml"
    later.write_text("year = 2026\n[[open]]\nlinks = ['dostyk-moyynty-2nd']\n", encoding="utf-8")
    record = apply_scenario(network, later).links.loc["dostyk-moyynty-2nd"]
    assert record["in_service"] and record["opening_year"] == 2025
    plain = tmp_path / "plain.toml"
    plain.write_text("year = 2024\n[[change]]\nlinks = ['dostyk-moyynty-2nd']\nset = { capacity_teu = 1000.0 }\n",
                     encoding="utf-8")
    assert not apply_scenario(network, plain).links.loc["dostyk-moyynty-2nd", "in_service"]
