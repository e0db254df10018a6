"""Mode choice between sea and land nested above the route choice (issue 11, corridors/modes.py)."""

from __future__ import annotations

import numpy as np
import pytest

from corridors import kernel, modes
from corridors._errors import LayerError
from corridors.years import MODEL_YEARS, load_year_tables


@pytest.fixture(scope="module")
def tables():
    return load_year_tables()


@pytest.fixture(scope="module")
def models(tables):
    return {y: modes.YearModel.build(modes.year_network(None, y), y, tables) for y in MODEL_YEARS}


@pytest.fixture(scope="module")
def shipped():
    return modes.load_mode_parameters()


def test_logsum_is_the_expected_least_cost_of_the_logit():
    cost = np.array([100.0, 200.0, 50.0])
    starts, group, lps = np.array([0, 2]), np.array([0, 0, 1]), np.zeros(3)
    sums = kernel.logit_logsums(cost, lps, 0.01, 1.0, starts, group)
    assert sums[0] == pytest.approx(-np.log(np.exp(-1.0) + np.exp(-2.0)) / 0.01)
    assert sums[0] < 100.0  # below the cheapest route: the value of having a choice
    assert sums[1] == pytest.approx(50.0)
    # derivative of the logsum in a route's cost is its logit share
    shares = kernel.logit_shares(cost, lps, 0.01, 1.0, starts, group)
    bumped = kernel.logit_logsums(cost + [1e-3, 0, 0], lps, 0.01, 1.0, starts, group)
    assert (bumped[0] - sums[0]) / 1e-3 == pytest.approx(shares[0], rel=1e-4)


@pytest.mark.parametrize("year", MODEL_YEARS)
def test_teu_by_mode_add_up_to_the_year_demand(models, tables, shipped, year):
    split = models[year].split(shipped)
    for direction in ("china_europe", "europe_china"):
        by = split.by_mode(direction)
        assert by["land"] > 0 and by["sea"] > 0
        assert by["land"] + by["sea"] == pytest.approx(tables.demand(year)[(direction, "all")], rel=1e-9)
    rows = split.demand_rows()
    assert sum(r["teu"] for r in rows) == pytest.approx(
        float(split.land_teu.sum()) + sum(r["teu"] for r in split.other_rows))


def test_nest_consistency_is_checked(models):
    theta = models[2024].network.params.theta_of("eu")  # the land nest holds the eu segment's route choice
    with pytest.raises(LayerError, match="mode_scale_per_usd.*route scale"):
        models[2024].split(modes.ModeParameters(theta * 2, 0.0))
    models[2024].split(modes.ModeParameters(theta, 0.0))  # equal scales: plain multinomial logit, allowed


def test_sea_cost_follows_the_year_rate_and_the_cape(models):
    # 2021 rates peaked (5,384 USD/TEU westbound), 2023 were low; 2024 went round the Cape
    wb = lambda y: models[y].sea_cost[[r["year_direction"] == "china_europe" for r in models[y].rows]]  # noqa: E731
    assert wb(2021).mean() > wb(2023).mean() + 3000
    cape = modes.YearModel.build(models[2023].network, 2023, passages={"suez": 0.0, "cape": 1.0})
    # the Cape adds about 10 days: at least 10 days x 24 h x the class value of time
    extra = (cape.sea_cost - models[2023].sea_cost)[:, 0]
    assert np.all(extra > 0)


def test_dearer_sea_sends_more_by_land(models, shipped):
    split = models[2023].split(shipped)
    dear = modes.YearModel.build(models[2023].network, 2023, passages={"suez": 0.0, "cape": 1.0}).split(shipped)
    assert dear.by_mode()["land"] > split.by_mode()["land"]


def _with_term(year: int, usd: float, tables):
    return modes.YearModel.build(modes.year_network(None, year, params={"sanctions_transit_usd": usd}), year, tables)


def test_russia_term_moves_eu_cargo_off_the_land_routes(tables):
    mode = modes.ModeParameters(5e-4, 0.0)
    land = {(y, usd): _with_term(y, usd, tables).split(mode).by_mode()["land"]
            for y in (2019, 2024) for usd in (0, 2000)}
    assert land[2024, 2000] < land[2024, 0]
    # before 2022 only Iran carries the term: the Russian routes, nearly all the land TEU, are untouched
    assert abs(land[2019, 2000] - land[2019, 0]) < 0.1 * abs(land[2024, 2000] - land[2024, 0])


def test_fit_uses_the_fitted_years_only(models, tables):
    with pytest.raises(LayerError, match="predictions"):
        modes.fit_mode_parameters({2023: models[2023]}, tables)


def test_shipped_parameters_are_the_fit_on_2019_and_2024(models, tables, shipped):
    fitted, report = modes.fit_mode_parameters({y: models[y] for y in (2019, 2024)}, tables, start=shipped)
    assert fitted.mode_scale_per_usd == pytest.approx(shipped.mode_scale_per_usd, rel=0.05)
    assert fitted.land_constant_usd == pytest.approx(shipped.land_constant_usd, rel=0.05)
    assert report["years"] == [2019, 2024]


def test_assign_year_routes_the_land_demand(models, shipped):
    result, split = modes.assign_year(models[2024].network, 2024, mode=shipped)
    share = result.share_through("KAZ", from_="CHN", to="EU")
    assert share.total_teu == pytest.approx(split.by_mode("china_europe")["land"], rel=1e-6)


def test_cli_share_year_json_has_by_mode(capsys):
    import json

    from corridors.cli import main

    assert main(["share", "--through", "KAZ", "--from", "CHN", "--to", "EU", "--year", "2022", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by = out["by_mode"]
    assert by["year"] == 2022 and by["direction"] == "china_europe"
    assert by["land"] + by["sea"] == pytest.approx(load_year_tables().demand(2022)[("china_europe", "all")])
    assert out["total_teu"] == pytest.approx(by["land"], rel=1e-6)


def test_cli_year_outside_the_data_is_one_line(capsys):
    from corridors.cli import main

    assert main(["share", "--year", "2018"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2019–2025" in err[0]


def test_backcast_json_and_html(capsys, tmp_path):
    import json

    from corridors.cli import main

    target = tmp_path / "backcast.html"
    assert main(["backcast", "--years", "2023-2024", "--json", "-o", str(target)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [y["year"] for y in out["years"]] == [2023, 2024]
    assert [y["fitted"] for y in out["years"]] == [False, True]
    for y in out["years"]:
        assert {f["role"] for f in y["figures"]} == {"fitted" if y["fitted"] else "predicted"}
        by = y["by_mode"]["china_europe"]
        assert by["land"] + by["sea"] == pytest.approx(load_year_tables().demand(y["year"])[("china_europe", "all")])
    page = target.read_text(encoding="utf-8")
    assert "<svg" in page and "http" not in page.split("<body>")[1]


def test_backcast_years_outside_the_data(capsys):
    from corridors.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["backcast", "--years", "2017-2019"])
    assert exc.value.code == 2
    assert "2019–2025" in capsys.readouterr().err


def test_red_sea_closed_in_2023_raises_china_eu_land_teu_by_more_than_5_percent(models, tables, shipped):
    out = modes.scenario_year(models[2023].network, "red-sea-closed", 2023, mode=shipped, tables=tables)
    assert out["change"] > 0.05
    for key in ("baseline", "scenario"):
        by = out[key]["by_mode"]["china_europe"]
        assert by["land"] + by["sea"] == pytest.approx(tables.demand(2023)[("china_europe", "all")])


def test_sanctions_lifted_removes_the_russia_term(models, tables):
    from corridors.scenarios import apply_scenario

    mode = modes.ModeParameters(5e-4, 0.0)
    network = modes.year_network(None, 2024, params={"sanctions_transit_usd": 1500.0})
    base = modes.YearModel.build(network, 2024, tables)
    lifted = modes.YearModel.build(apply_scenario(network, "eu-sanctions-lifted"), 2024, tables)
    assert base.russia_active and not lifted.russia_active
    assert lifted.split(mode).by_mode()["land"] > base.split(mode).by_mode()["land"]


def test_no_eu_transit_via_russia_sends_boxes_to_sea(models, tables, shipped):
    out = modes.scenario_year(models[2024].network, "no-eu-transit-via-russia", 2024, mode=shipped, tables=tables)
    assert out["scenario"]["by_mode"]["china_europe"]["sea"] > out["baseline"]["by_mode"]["china_europe"]["sea"]
    assert out["scenario"]["stranded_teu"] == 0


def test_cli_scenario_run_year(capsys):
    import json

    from corridors.cli import main

    assert main(["scenario", "run", "red-sea-closed", "--year", "2023", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "red-sea-closed" and out["year"] == 2023 and out["change"] > 0.05


def test_cli_map_flows_year(tmp_path):
    from corridors.cli import main

    target = tmp_path / "flows.html"
    assert main(["map", "--kind", "flows", "--year", "2021", "-o", str(target), "--no-self-contained"]) == 0
    assert target.stat().st_size > 0


def test_cli_validate_model_predicted_year(capsys):
    import json

    from corridors.cli import main

    assert main(["validate-model", "--year", "2023", "--json"]) == 0
    (year,) = json.loads(capsys.readouterr().out)["years"]
    assert year["year"] == 2023 and not year["fitted"]
    assert year["figures"] and all(f["role"] == "predicted" for f in year["figures"])


def test_cli_calibrate_refuses_a_predicted_year(capsys):
    from corridors.cli import main

    assert main(["calibrate", "--year", "2022"]) == 2
    assert "predictions" in capsys.readouterr().err


def test_readme_backcast_table_comes_from_the_model(models, shipped, tables):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Sea or land, 2019–2025: the backcast", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (20\d\d) \| (\*\*fitted\*\*|predicted) \| ([\d,]+) \| ([\d,]+) \| [^|]+ \| ([\d,]+) \| "
                      r"([\d,]+) \|", section, flags=re.MULTILINE)
    assert [int(r[0]) for r in rows] == list(MODEL_YEARS)
    for year, role, ce, ce_obs, ec, ec_obs in rows:
        year = int(year)
        assert (role == "**fitted**") == (year in (2019, 2024))
        split = models[year].split(shipped)
        assert float(ce.replace(",", "")) == pytest.approx(split.by_mode("china_europe")["land"], rel=0.005)
        assert float(ec.replace(",", "")) == pytest.approx(split.by_mode("europe_china")["land"], rel=0.005)
        land = modes.observed_land(tables, year)
        assert float(ce_obs.replace(",", "")) == land["china_europe"]
        assert float(ec_obs.replace(",", "")) == land["europe_china"]


def test_cli_sweep_year_uses_the_year_land_demand(capsys, models, shipped):
    import json

    from corridors.cli import main

    assert main(["sweep", "baseline-2024-uncertainty", "--draws", "4", "--workers", "0", "--year", "2021",
                 "--no-progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    land = models[2021].split(shipped).by_mode("china_europe")["land"]
    # the land TEU are drawn around the year's split (mode-choice estimates, the year's demand and
    # the baseline-2024 demand factors: a few tens of per cent), and all of them are routed
    pct = out["percentiles"]
    assert out["year"] == 2021 and pct["land_teu:china_europe"]["p50"] == pytest.approx(land, rel=0.5)
    assert pct["total_teu"]["p50"] == pytest.approx(pct["land_teu:china_europe"]["p50"], rel=1e-9)


def test_congestion_feeds_back_into_the_mode_choice(models, tables, shipped):
    from corridors.scenarios import apply_scenario

    network = apply_scenario(models[2024].network, "no-eu-transit-via-russia")
    free = modes.YearModel.build(network, 2024, tables).split(shipped)
    result, split = modes.assign_year(network, 2024, method="sue", mode=shipped, tables=tables)
    assert split.by_mode()["land"] < free.by_mode()["land"]
    by = split.by_mode()
    assert by["land"] + by["sea"] == pytest.approx(tables.demand(2024)[("china_europe", "all")])
    assert result.share_through("KAZ", from_="CHN", to="EU").total_teu == pytest.approx(by["land"], rel=1e-6)
