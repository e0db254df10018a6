"""Scenarios in a model year (issue 11, item 8): capacities honoured by the joint mode and route
equilibrium (corridors/mode_equilibrium.py), Suez closed, the Russia-transit term switched off."""

from __future__ import annotations

import json

import numpy as np
import pytest

from corridors import mode_equilibrium, modes
from corridors.scenarios import apply_scenario
from corridors.years import load_year_tables

#: The tolerance of the issue: no capacity above 102 % of what it can carry.
CAPACITY_LIMIT = 1.02


@pytest.fixture(scope="module")
def tables():
    return load_year_tables()


@pytest.fixture(scope="module")
def shipped():
    return modes.load_mode_parameters()


@pytest.fixture(scope="module")
def net2024():
    return modes.year_network(None, 2024)


@pytest.fixture(scope="module")
def sanctions_2024(net2024, tables, shipped):
    """Baseline and no-eu-transit-via-russia in 2024 under the scenario year's default method."""
    scenario = apply_scenario(net2024, "no-eu-transit-via-russia")
    assert modes.scenario_method(scenario.scenario) == "sue"
    return (modes.assign_year(net2024, 2024, method="sue", mode=shipped, tables=tables),
            modes.assign_year(scenario, 2024, method="sue", mode=shipped, tables=tables))


def _node_utilisation(result) -> dict[str, float]:
    """TEU through every node with a capacity over that capacity, as ``node_flows`` reports it."""
    records = result.network.node_records
    flows = result.node_flows["teu"]
    return {n: float(flows[n]) / float(r["capacity_teu"]) for n, r in records.items()
            if r.get("capacity_teu") and n in flows.index}


def _link_teu(result):
    frame = result.link_flows
    return frame[frame["capacity_teu"].notna()][["teu_ab", "teu_ba", "capacity_teu"]]


def test_no_eu_transit_sends_most_diverted_boxes_to_sea(sanctions_2024, tables):
    (base, base_split), (scen, scen_split) = sanctions_2024
    off_russia = mode_equilibrium.eu_land_via_russia(base) - mode_equilibrium.eu_land_via_russia(scen)
    assert mode_equilibrium.eu_land_via_russia(scen) == pytest.approx(0.0, abs=1e-6)
    assert off_russia > 100_000
    to_sea = sum(scen_split.by_mode(d)["sea"] - base_split.by_mode(d)["sea"] for d in modes.DIRECTION_OF.values())
    assert to_sea > 0.5 * off_russia
    for split in (base_split, scen_split):  # conservation: TEU by mode add up to the year's demand
        for d in modes.DIRECTION_OF.values():
            by = split.by_mode(d)
            assert by["land"] + by["sea"] == pytest.approx(tables.demand(2024)[(d, "all")], rel=1e-9)
    # the land TEU of the split are the TEU the assignment carries
    assert scen.share_through("KAZ", from_="CHN", to="EU").total_teu == pytest.approx(
        scen_split.by_mode("china_europe")["land"], rel=1e-6)
    assert scen.stranded_teu == 0


def test_no_eu_transit_loads_no_ferry_or_border_beyond_capacity(sanctions_2024):
    (base, _), (scen, _) = sanctions_2024
    before, after = _link_teu(base), _link_teu(scen)
    raised = 0
    for side in ("teu_ab", "teu_ba"):
        up = after[side] > before[side] + 1.0
        raised += int(up.sum())
        assert (after.loc[up, side] / after.loc[up, "capacity_teu"]).max() <= CAPACITY_LIMIT
    nodes_before, nodes_after = _node_utilisation(base), _node_utilisation(scen)
    up_nodes = [n for n, u in nodes_after.items() if u > nodes_before[n] + 1e-6]
    assert max(nodes_after[n] for n in up_nodes) <= CAPACITY_LIMIT
    assert raised and up_nodes  # the diversion does load ferries and ports more
    # and the solver's own account of every declared capacity agrees
    assert max(mode_equilibrium.capacity_utilisation(scen).values()) <= CAPACITY_LIMIT
    assert "over_capacity" in scen.convergence[-1] and not scen.convergence[-1]["over_capacity"]


def test_without_the_capacities_the_diversion_overloads_the_ferries(net2024, tables, shipped):
    """The same diversion under plain logit (no capacities): what the joint equilibrium prevents."""
    result, _ = modes.assign_year(apply_scenario(net2024, "no-eu-transit-via-russia"), 2024, method="logit",
                                  mode=shipped, tables=tables)
    frame = _link_teu(result)
    assert (frame[["teu_ab", "teu_ba"]].max(axis=1) / frame["capacity_teu"]).max() > CAPACITY_LIMIT


def test_capacity_prices_only_where_capacity_binds(sanctions_2024):
    """Complementary slackness: a capacity with a price is full, none is above its limit."""
    (base, _), (scen, _) = sanctions_2024
    groups, capacity, names = mode_equilibrium.capacity_groups(base.network)
    assert len(names) == capacity.size == groups.max() + 1
    assert "link:van-tatvan:ab" in names and any(n.startswith("node:") for n in names)
    for result in (base, scen):
        last = result.convergence[-1]
        util = mode_equilibrium.capacity_utilisation(result)
        assert util == pytest.approx(last["utilisation"], rel=1e-6, abs=1e-9)
        for name, price in last["capacity_price_usd"].items():
            assert price > 0 and util[name] >= mode_equilibrium.FULL - 1e-9
        assert all(np.isfinite(list(util.values())))
    # the routes left to EU boxes fill up: the Lake Van ferry westbound among them
    assert scen.convergence[-1]["utilisation"]["link:van-tatvan:ab"] >= mode_equilibrium.FULL


def test_scenario_year_reports_the_diversion(net2024, tables, shipped):
    out = modes.scenario_year(net2024, "no-eu-transit-via-russia", 2024, mode=shipped, tables=tables)
    assert out["method"] == "sue"
    d = out["diversion"]
    assert d["off_russia_teu"] > 0 and d["to_sea_share"] > 0.5
    assert d["max_raised_utilisation"] <= CAPACITY_LIMIT
    assert out["scenario"]["stranded_teu"] == 0


def test_red_sea_closed_2023_capacity_honoured(tables, shipped):
    out = modes.scenario_year(modes.year_network(None, 2023), "red-sea-closed", 2023, mode=shipped, tables=tables)
    assert out["method"] == "sue"
    assert out["change"] > 0.05
    assert max(out["scenario"]["utilisation"].values()) <= CAPACITY_LIMIT


# --------------------------------------------------------------------------- Russia-transit term


def test_russia_term_active_follows_the_year_and_the_scenario():
    from corridors.network import russia_term_active

    assert not russia_term_active(modes.year_network(None, 2021), 2021)
    net24 = modes.year_network(None, 2024)
    assert russia_term_active(net24, 2024)
    assert not russia_term_active(apply_scenario(net24, "eu-sanctions-lifted"), 2024)
    assert not modes.YearModel.build(apply_scenario(net24, "eu-sanctions-lifted"), 2024).russia_active


def test_sanctions_lifted_raises_land_teu_through_russia(tables, shipped):
    """With a positive sanctions-transit term (an override, not the shipped fit), lifting its Russia
    part brings China<->EU27 boxes back to land and onto the routes through Russia."""
    network = modes.year_network(None, 2024, {"sanctions_transit_usd": 1500.0})
    out = modes.scenario_year(network, "eu-sanctions-lifted", 2024, mode=shipped, tables=tables)
    assert out["scenario"]["eu_land_via_russia_teu"] > out["baseline"]["eu_land_via_russia_teu"] * 1.02
    assert out["change"] > 0
    assert max(out["scenario"]["utilisation"].values()) <= CAPACITY_LIMIT


def test_cli_sanctions_lifted_with_a_params_override(tmp_path, capsys):
    from corridors.cli import main

    params = tmp_path / "term.toml"
    params.write_text("[route_choice]\nsanctions_transit_usd = 1500.0\n", encoding="utf-8")
    assert main(["scenario", "run", "eu-sanctions-lifted", "--year", "2024", "--method", "logit", "--params",
                 str(params), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "logit"
    assert out["scenario"]["eu_land_via_russia_teu"] > out["baseline"]["eu_land_via_russia_teu"]
    assert out["scenario"]["by_mode"]["china_europe"]["land"] > out["baseline"]["by_mode"]["china_europe"]["land"]


def test_sue_route_choice_carries_the_sanctions_term():
    """``assign(method="sue")`` prices the sanctions-transit term as ``logit`` does: with a large
    term, EU boxes leave the routes through Russia under both."""
    from corridors.assignment import assign

    network = modes.year_network(None, 2024, {"sanctions_transit_usd": 3000.0})
    free = modes.year_network(None, 2024, {"sanctions_transit_usd": 0.0})
    for method in ("logit", "sue"):
        with_term = assign(network, method=method).share_through("RUS+BLR", from_="CHN", to="EU").share
        without = assign(free, method=method).share_through("RUS+BLR", from_="CHN", to="EU").share
        assert with_term < without - 0.05, method
