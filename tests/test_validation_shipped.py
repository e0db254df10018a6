"""The shipped model against the 2024 evidence (issue 10's done-when), and the sanctions-transit term.

These run the default method with the shipped parameters on the shipped data: a change of data
or parameters that loses the fit fails here, with the figure named.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corridors.assignment import segment_choice
from corridors.network import load_network, russia_term_active, sanctioned_route
from corridors.validation import validate_model

REPO = Path(__file__).resolve().parents[1]

#: Observed figure id -> the cross-border rail link it counts (both directions).
GATEWAY_LINKS = {
    "alashankou": "alashankou-dostyk",
    "khorgos": "khorgos-altynkol",
    "erenhot": "erenhot-zamyn_uud",
    "manzhouli": "manzhouli-zabaikalsk",
    "suifenhe": "suifenhe-grodekovo",
}


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORRIDORS_CACHE_DIR", str(tmp_path_factory.mktemp("validation-cache")))
        yield load_network(REPO / "geodata")


@pytest.fixture(scope="module")
def validation(network):
    return validate_model(network)


def _rows(validation) -> dict[str, dict]:
    return {row["id"]: row for row in validation.rows}


@pytest.mark.parametrize("figure", [*GATEWAY_LINKS, "erai_transit"])
def test_gateway_counts_and_erai_within_15_percent(validation, figure):
    row = _rows(validation)[figure]
    error = row["model_teu"] / row["observed_teu"] - 1.0
    assert abs(error) <= 0.15, f"{figure}: model {row['model_teu']:,.0f} TEU against {row['observed_teu']:,.0f}"


def test_cr_express_total_within_5_percent(validation):
    row = _rows(validation)["cr_express"]
    assert row["model_teu"] == pytest.approx(row["observed_teu"], rel=0.05)


@pytest.mark.parametrize("figure", list(GATEWAY_LINKS))
def test_gateway_figures_are_the_teu_on_the_cross_border_links(validation, figure):
    links = validation.assignment.link_flows.set_index("id")
    on_link = float(links.loc[GATEWAY_LINKS[figure], "teu"])
    assert on_link == pytest.approx(_rows(validation)[figure]["model_teu"], rel=1e-6)


def test_no_rail_demand_on_road_links(network, validation):
    paths = validation.assignment.paths
    road = {lid for lid, rec in network.link_records.items() if rec["mode"] == "road"}
    rail = paths[paths["service"].isin(["cr_express", "china_central_asia"])]
    assert road and len(rail) > 0
    assert not any(set(ids) & road for ids in rail["link_ids"])
    assert "segment" in paths.columns


class _Route:
    def __init__(self, countries):
        self.countries = tuple(countries)
        self.node_ids = ()


def test_sanctioned_routes_by_segment_and_year():
    via_russia, via_iran, via_caspian = _Route(["CHN", "KAZ", "RUS", "BLR", "POL"]), _Route(
        ["CHN", "KAZ", "TKM", "IRN", "TUR"]), _Route(["CHN", "KAZ", "AZE", "GEO", "TUR"])
    assert sanctioned_route(via_russia, "eu", True) and not sanctioned_route(via_russia, "eu", False)
    assert sanctioned_route(via_iran, "eu", True) and sanctioned_route(via_iran, "eu", False)  # every year
    assert not sanctioned_route(via_caspian, "eu", True)
    assert not sanctioned_route(via_russia, "rus_blr", True)  # Russia-bound cargo: no transit term


def test_segment_choice_adds_the_term_to_the_sanctioned_eu_routes(network):
    routes = [_Route(["CHN", "KAZ", "RUS", "BLR", "POL"]), _Route(["CHN", "KAZ", "AZE", "GEO", "TUR"]),
              _Route(["CHN", "KAZ", "RUS"])]
    params = replace(network.params, segments=())
    _, asc = segment_choice(params, ["eu", "rus_blr"], routes, np.array([0, 0, 1]), (1000.0, True))
    assert asc.tolist() == [1000.0, 0.0, 0.0]
    _, asc = segment_choice(params, ["eu", "rus_blr"], routes, np.array([0, 0, 1]), (1000.0, False))
    assert asc is not None and asc.tolist() == [0.0, 0.0, 0.0]


def test_russia_part_follows_the_year_tables(network):
    assert not russia_term_active(network, 2019) and not russia_term_active(network, 2021)
    assert russia_term_active(network, 2022) and russia_term_active(network, 2024)
    assert russia_term_active(network, 2030)  # beyond the tables: the calendar rule


def test_dearer_sanctions_term_never_attracts_more_to_russia(network):
    from corridors.assignment import assign

    def via_russia(usd: float) -> float:
        net = network.with_changes(params=replace(network.params, sanctions_transit_usd=usd))
        paths = assign(net, method="logit").paths
        eu = paths[(paths["segment"] == "eu") & paths["countries"].apply(lambda c: "RUS" in c)]
        return float(eu["teu"].sum())

    low, high = via_russia(500.0), via_russia(2500.0)
    assert high < low


def test_calibration_fits_the_sanctions_term_with_the_segments(network):
    from corridors.calibration import _resolve_fit
    from corridors.observed import demand_for_year

    names = _resolve_fit(["segments"], type(network.params), network.params, demand_for_year(network, 2024))
    assert "sanctions_transit_usd" in names
    assert "asc:rus_blr:manzhouli" in names and "asc:rus_blr:erenhot" in names
