"""The on-disk cache of year models and of compact choice sets (issue 11: `share --year` warm < 1 s)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from corridors import _cache, modes
from corridors.assignment import _cache_name, route_key, route_sets
from corridors.routing import path_size


@pytest.fixture
def year_2024():
    return modes.year_network(None, 2024)


def test_year_model_read_back_from_the_cache_gives_the_same_split(year_2024):
    mode = modes.load_mode_parameters()
    built = modes.YearModel.build(year_2024, 2024)
    assert not isinstance(built.arrays, modes._LazyChoiceArrays)  # computed, then stored
    fresh = modes.year_network(None, 2024)  # a new process would see nothing but the disk
    cached = modes.YearModel.build(fresh, 2024)
    assert isinstance(cached.arrays, modes._LazyChoiceArrays) and cached.network is fresh
    a, b = built.split(mode), cached.split(mode)
    np.testing.assert_array_equal(a.land_teu, b.land_teu)
    np.testing.assert_array_equal(a.sea_cost, b.sea_cost)
    np.testing.assert_array_equal(a.land_cost, b.land_cost)
    assert a.rows == b.rows and a.other_rows == b.other_rows
    # the routes and incidence come back on demand (the congested mode choice needs them)
    assert (cached.arrays.incidence != built.arrays.incidence).nnz == 0
    assert cached.arrays.routes == built.arrays.routes
    # within a process the network keeps the model: no second read
    assert modes.YearModel.build(fresh, 2024) is cached


def test_year_model_cache_key_follows_every_input(year_2024):
    from corridors.years import load_year_tables

    key = modes._model_key(year_2024, 2024, None, None, None)
    assert key == modes._model_key(modes.year_network(None, 2024), 2024, None, None, None)
    assert key != modes._model_key(year_2024, 2023, None, None, None)
    assert key != modes._model_key(year_2024, 2024, None, {"suez": 0.0, "cape": 1.0}, None)
    assert key != modes._model_key(year_2024, 2024, None, None, True)
    dearer = dataclasses.replace(year_2024.params, value_of_time_usd_per_teu_h=year_2024.params
                                 .value_of_time_usd_per_teu_h + 1.0)
    assert key != modes._model_key(dataclasses.replace(year_2024, params=dearer), 2024, None, None, None)
    fewer = dataclasses.replace(year_2024, demand_rows=year_2024.demand_rows[:-1])
    assert key != modes._model_key(fewer, 2024, None, None, None)
    tables = load_year_tables()
    changed = {name: [dict(r) for r in rows] for name, rows in tables.tables.items()}
    changed["year_inputs.csv"][0]["value"] += 1.0
    assert modes._model_key(year_2024, 2024, tables, None, None) != modes._model_key(
        year_2024, 2024, dataclasses.replace(tables, tables=changed), None, None)
    # a network without a fingerprint (records changed in memory) is never cached
    assert modes._model_key(year_2024.with_changes(), 2024, None, None, None) is None


def test_a_stale_year_model_entry_is_recomputed(year_2024, monkeypatch):
    key = modes._model_key(year_2024, 2024, None, None, None)
    _cache.write(key, {"fields": {"year": 2024}, "arrays": (None, None, None)})  # another layout
    model = modes.YearModel.build(year_2024, 2024)
    assert not isinstance(model.arrays, modes._LazyChoiceArrays) and model.sea_cost.shape[0] == len(model.rows)


def test_compact_choice_set_entry_gives_the_same_routes_and_path_sizes(year_2024):
    pairs = {route_key(r) for r in year_2024.demand_rows[:40]}
    built = route_sets(year_2024, pairs)
    entry = _cache.read(_cache_name(year_2024, sorted(pairs)))
    assert set(entry) == {"sets", "path_size"}
    # legs and edges shared between routes: each is stored once
    legs = [leg for choice in entry["sets"].values() for r in choice for leg in r.legs]
    assert len({id(leg) for leg in legs}) < len(legs) / 5
    fresh = modes.year_network(None, 2024)
    read = route_sets(fresh, pairs)
    assert read == built
    memo = fresh.memo["path_size"]
    for key, choice in read.items():
        assert memo[id(choice)][0] is choice
        assert memo[id(choice)][1] == pytest.approx(path_size(built[key]), rel=0, abs=0)


def test_the_command_line_freezes_what_it_loads_and_gives_it_back(capsys):
    import gc

    from corridors.cli import main

    assert main(["share", "--json"]) == 0  # fills the cache
    before = gc.get_freeze_count()
    seen = []
    real = _cache._loads

    def spy(payload):
        value = real(payload)
        seen.append(gc.get_freeze_count())
        return value

    _cache._loads, saved = spy, _cache._loads
    try:
        assert main(["share", "--json"]) == 0
    finally:
        _cache._loads = saved
    capsys.readouterr()
    assert seen and max(seen) > before  # frozen while the command ran
    assert gc.get_freeze_count() == before and not _cache.freeze_loaded and not _cache.frozen
    assert _cache.read("nothing-here") is None  # the library alone never freezes
    assert gc.get_freeze_count() == before


def test_the_land_logsum_is_over_the_routes_the_land_teu_are_assigned_to(year_2024):
    # the rows are rail demand: the nest's logsum and the route choice use the same rail sets
    model = modes.YearModel.build(year_2024, 2024)
    sets = route_sets(year_2024, {route_key(r) for r in model.rows}, strict=False)
    laid = [r for i in model.land_rows for r in sets[route_key(model.rows[i])]]
    assert list(model.arrays.routes) == laid
    assert all(leg["mode"] in ("rail", "ferry") for r in laid for leg in r.legs if leg["kind"] == "link")
