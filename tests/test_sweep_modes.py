"""Sweeps with a model year: the mode choice inside every draw (issue 11: the sweep's uncertainty
covers the mode-choice parameters and the year's demand)."""

from __future__ import annotations

import numpy as np
import pytest

from corridors import modes
from corridors.montecarlo import sweep
from corridors.years import load_year_tables

DIRECTIONS = ("china_europe", "europe_china")


@pytest.fixture(scope="module")
def year_2023():
    return modes.year_network(None, 2023)


@pytest.fixture(scope="module")
def drawn(year_2023):
    return sweep("baseline-2024-uncertainty", network=year_2023, year=2023, draws=24, seed=3)


def test_draws_carry_the_mode_choice_inputs_and_move_the_split(drawn):
    table = drawn.table
    assert drawn.year == 2023 and drawn.to_dict()["year"] == 2023
    for name in ("mode_choice:mode_scale_per_usd", "mode_choice:land_constant_usd", "year_demand"):
        assert name in table and table[name].std() > 0, name
    theta = modes.year_network(None, 2023).params.logit_theta_per_usd
    assert (table["mode_choice:mode_scale_per_usd"] > 0).all()
    # the mode split moves from draw to draw, and with the mode scale and the land constant
    share = table["land_teu:china_europe"] / (table["land_teu:china_europe"] + table["sea_teu:china_europe"])
    assert share.std() > 0.1 * share.mean()
    nest_ok = np.minimum(table["mode_choice:mode_scale_per_usd"], theta)
    utility = nest_ok * table["mode_choice:land_constant_usd"]
    assert np.corrcoef(utility, share)[0, 1] < 0  # a dearer land constant sends boxes to sea
    assert {"land_teu:china_europe", "sea_teu:europe_china"} <= set(drawn.percentiles().index)


def test_teu_by_mode_add_up_to_the_drawn_demand(drawn):
    table = drawn.table
    demand = load_year_tables().demand(2023)
    factors = {"china_europe": table["demand_chn_eu"], "europe_china": table["demand_eu_chn"]}
    for d in DIRECTIONS:
        total = table[f"land_teu:{d}"] + table[f"sea_teu:{d}"]
        expected = demand[(d, "all")] * table["year_demand"] * factors[d]
        np.testing.assert_allclose(total, expected, rtol=1e-9)
        assert (table[f"sea_teu:{d}"] >= 0).all() and (table[f"land_teu:{d}"] > 0).all()
    # the route choice assigns exactly the land TEU of the mode choice: nothing silently lost
    np.testing.assert_allclose(table["total_teu"] + table["stranded_teu"], table["land_teu:china_europe"],
                               rtol=1e-9)


def test_zero_spread_sweep_equals_the_single_run(year_2023, tmp_path, monkeypatch):
    from corridors.scenarios import apply_scenario

    scenario = tmp_path / "fixed.toml"
    scenario.write_text('name = "fixed"\nextends = "baseline-2024"\nsources = ["A305"]\n\n[[uncertain]]\n'
                        'name = "rail_tariff"\ndistribution = "triangular"\nlow = 1.0\nmode = 1.0\nhigh = 1.0\n'
                        'attributes = ["tariff_usd_per_teu_km"]\nmodes = ["rail"]\nsources = "A305"\n',
                        encoding="utf-8")
    real = modes.load_mode_calibration

    def no_spread(geodata):
        out = real(geodata)
        return {**out, "covariance": np.zeros_like(out["covariance"])}

    monkeypatch.setattr(modes, "load_mode_calibration", no_spread)
    monkeypatch.setattr(modes, "demand_sd", lambda tables, year: 0.0)
    result = sweep(scenario, network=year_2023, year=2023, draws=3, seed=1)
    mode = modes.load_mode_parameters()
    single, split = modes.assign_year(apply_scenario(year_2023, "baseline-2024"), 2023, mode=mode)
    share = single.share_through("KAZ", from_="CHN", to="EU")
    table = result.table
    np.testing.assert_allclose(table["mode_choice:mode_scale_per_usd"], mode.mode_scale_per_usd, rtol=1e-12)
    np.testing.assert_allclose(table["year_demand"], 1.0, rtol=0)
    np.testing.assert_allclose(table["share"], share.share, rtol=1e-9)
    np.testing.assert_allclose(table["total_teu"], share.total_teu, rtol=1e-9)
    for d in DIRECTIONS:
        np.testing.assert_allclose(table[f"land_teu:{d}"], split.by_mode(d)["land"], rtol=1e-9)
        np.testing.assert_allclose(table[f"sea_teu:{d}"], split.by_mode(d)["sea"], rtol=1e-9)


def test_mode_calibration_is_checked(tmp_path):
    from corridors._errors import LayerError

    with pytest.raises(LayerError, match="mode_calibration.json: not found"):
        modes.load_mode_calibration(tmp_path)
    (tmp_path / "mode_calibration.json").write_text(
        '{"names": ["mode_scale_per_usd"], "coordinates": ["log"], "covariance": [[-1.0]]}', encoding="utf-8")
    with pytest.raises(LayerError, match="positive semi-definite"):
        modes.load_mode_calibration(tmp_path)
    (tmp_path / "mode_calibration.json").write_text(
        '{"names": ["mu"], "coordinates": ["log"], "covariance": [[1.0]]}', encoding="utf-8")
    with pytest.raises(LayerError, match="unknown parameter 'mu'"):
        modes.load_mode_calibration(tmp_path)


def test_shipped_mode_covariance_comes_from_the_fit():
    """The shipped file is what the fit writes: the identified estimates only, symmetric PSD."""
    data = modes.load_mode_calibration(load_year_tables().geodata)
    assert data["names"] and set(data["names"]) <= {"mode_scale_per_usd", "land_constant_usd",
                                                     "russia_transit_usd"}
    cov = data["covariance"]
    np.testing.assert_allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() >= 0 and np.all(np.diag(cov) > 0)


def test_the_ridge_passes_through_the_fit():
    tables = load_year_tables()
    models = {y: modes.YearModel.build(modes.year_network(None, y), y, tables) for y in (2019, 2024)}
    fitted, report = modes.fit_mode_parameters(models, tables, start=modes.load_mode_parameters())
    grid = np.log(fitted.mode_scale_per_usd) + np.array([-1.0, 0.0, 1.0])
    best, ssr = modes.mode_ridge(models, tables, fitted, grid)
    assert best[1] == pytest.approx(fitted.mode_scale_per_usd * fitted.land_constant_usd, rel=1e-3)
    assert ssr[1] == pytest.approx(2 * report["cost"], rel=1e-3, abs=1e-9)
    assert ssr[1] <= min(ssr[0], ssr[2]) + 1e-9
    # the fit's covariance: the identified estimates, in the coordinates the sweep draws in
    assert report["names"][:2] == ["mode_scale_per_usd", "land_constant_usd"]
    assert report["coordinates"][:2] == ["log", "utility"] and report["residual_sd"] >= modes.LAND_OBSERVATION_SD
