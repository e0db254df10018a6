"""Scenario files, what-if runs against the baseline, and Monte Carlo sweeps.

Most tests use the toy world of ``conftest.py`` (xian -> warsaw by a southern route through
KAZ and a northern one through RUS).  The bundled scenarios are checked for validity, and
their direction of change on the shipped data with a few representative OD pairs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest
from conftest import LINKS, NODES, _link, write_geodata

from corridors._errors import ScenarioError
from corridors.cli import main
from corridors.network import load_network
from corridors.scenarios import (
    apply_scenario,
    assign_scenario,
    list_scenarios,
    load_scenario,
    run_scenario,
    sweep,
)

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted((REPO / "geodata" / "scenarios").glob("*.toml"))
EXPECTED = {
    "baseline-2024", "no-eu-transit-via-russia", "cku-railway-open", "caspian-ports-doubled",
    "middle-corridor-upgrade", "dostyk-moyynty-second-track", "baseline-2024-uncertainty", "red-sea-closed",
    "eu-sanctions-lifted",
}

NO_RUS_FOR_EU = """
title = "no RUS for CHN -> EU"
[[close]]
countries = ["RUS"]
from = "CHN"
to = "EU"
"""

UNCERTAIN = """
[[uncertain]]
name = "vot"
distribution = "triangular"
low = 1.0
mode = 2.0
high = 5.0
parameter = "value_of_time_usd_per_teu_h"

[[uncertain]]
name = "kaz_tariff"
distribution = "uniform"
low = 0.5
high = 1.5
attributes = ["tariff_usd_per_teu_km"]
countries = ["KAZ"]

[[uncertain]]
name = "border"
distribution = "lognormal"
median = 1.0
sigma = 0.4
attributes = ["dwell_h", "transfer_h"]
countries = ["KAZ", "CHN"]

[[uncertain]]
name = "demand"
distribution = "normal"
mean = 1.0
sd = 0.1
demand = { from = "CHN", to = "EU" }
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def toy(toy_geodata):
    return load_network(toy_geodata)


# --------------------------------------------------------------------------- files


def test_bundled_scenarios_are_all_there_and_valid():
    assert {p.stem for p in BUNDLED} == EXPECTED
    text = (REPO / "geodata" / "SOURCES.md").read_text(encoding="utf-8")
    keys = set(re.findall(r"^[\s|#*\-]*`?([SA]\d+)\b", text, flags=re.MULTILINE))
    for path in BUNDLED:
        scenario = load_scenario(path)
        assert scenario.name == path.stem
        assert scenario.title and scenario.rationale and scenario.sources, path.name
        for key in scenario.sources:
            assert key in keys, f"{path.name}: source key {key} is not in SOURCES.md"
        for item in scenario.spec.uncertain:
            for key in (item.sources or "").split(","):
                assert not key.strip() or key.strip() in keys, f"{path.name}: {item.name}: {key}"
    names = [s.name for s in list_scenarios()]
    assert EXPECTED <= set(names)
    uncertain = load_scenario("baseline-2024-uncertainty")
    assert len(uncertain.uncertain) >= 6
    assert uncertain.spec.close  # inherited from baseline-2024


def test_load_by_name_and_unknown_name():
    assert load_scenario("cku-railway-open").name == "cku-railway-open"
    with pytest.raises(ScenarioError, match=r"unknown scenario.*did you mean 'cku-railway-open'"):
        load_scenario("cku-railway-opn")
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario("missing/file.toml")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("clsoe = []\n", r"clsoe: unknown key \(did you mean 'close'\?\)"),
        ("[[close]]\nnodez = ['xian']\n", r"close\[0\]\.nodez: unknown key \(did you mean 'nodes'\?\)"),
        ("year = 'soon'\n", r"year: .*integer"),
        ("method = 'fastest'\n", r"method: .*'logit'"),
        ("[[close]]\nnote = 'nothing'\n", r"close\[0\]: closes nothing"),
        ("[[change]]\nnodes = ['xian']\nscale = { dwell = 2.0 }\n", r"change\[0\]\.scale\.dwell: unknown attribute"),
        ("[[change]]\nlinks = ['xian-khorgos']\nset = { speed_kmh = 0.0 }\n",
         r"set\.speed_kmh: must be >= 0\.5 and <= 1000 km/h"),
        ("[parameters]\nvalue_of_tme = 2.0\n", r"parameters\.value_of_tme: unknown parameter"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 2.0\nhigh = 1.0\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.low: 2 is greater than high \(1\)"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'normal'\nmean = 1.0\nsd = -0.5\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.sd: .*cannot be negative"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'lognormal'\nmedian = 0.0\nsigma = 0.5\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.median: must be > 0"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'triangular'\nlow = 1.0\nmode = 3.0\nhigh = 2.0\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.mode: 3 lies outside"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.high: missing"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\nhigh = 2.0\nsd = 1.0\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.sd: does not apply"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\nhigh = 2.0\n",
         r"uncertain\[0\]: needs exactly one target"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\nhigh = 2.0\nparameter = 'k_routes'\n",
         r"uncertain\[0\]\.parameter: 'k_routes' cannot be drawn"),
        ("title = 'x\n", r"not valid TOML"),
        # issue 13: numbers checked for type, finiteness and the ranges of corridors.limits
        ("year = '2030'\n", r"year: .*integer.*'2030'"),
        ("year = 2030.0\n", r"year: .*integer"),
        ("year = true\n", r"year: .*integer"),
        ("year = 1e9\n", r"year: "),
        ("[parameters]\nvalue_of_time_usd_per_teu_h = '25'\n", r"parameters\.value_of_time_usd_per_teu_h: .*number"),
        ("[parameters]\nvalue_of_time_usd_per_teu_h = nan\n", r"parameters\.value_of_time_usd_per_teu_h: .*finite"),
        ("[parameters]\nvalue_of_time_usd_per_teu_h = inf\n", r"parameters\.value_of_time_usd_per_teu_h: .*finite"),
        ("[parameters]\nlogit_theta_per_usd = 0.0\n", r"parameters\.logit_theta_per_usd: must be > 0 and <= 10"),
        ("[parameters]\nk_routes = 2.5\n", r"parameters\.k_routes: expected an integer"),
        ("[parameters]\nmax_detour = 0.0\n", r"parameters\.max_detour: must be > 1"),
        ("[[change]]\nlinks = ['xian-khorgos']\nset = { speed_kmh = 1e-320 }\n", r"set\.speed_kmh: must be >= 0\.5"),
        ("[[change]]\nlinks = ['xian-khorgos']\nset = { capacity_teu = 1e308 }\n", r"set\.capacity_teu: must be"),
        ("[[change]]\nlinks = ['xian-khorgos']\nscale = { tariff_usd = inf }\n", r"scale\.tariff_usd: .*finite"),
        ("[[change]]\nlinks = ['xian-khorgos']\nscale = { tariff_usd = 1e6 }\n",
         r"scale\.tariff_usd: must be > 0 and <= 1000"),
        ("[[demand]]\nfrom = 'CHN'\nto = 'EU'\nscale = 1e308\n", r"demand\[0\]\.scale: must be >= 0 and <= 1000"),
        ("[[add_node]]\nid = 'x'\nname = 'X'\nkind = 'hub'\ncountry = 'KAZ'\nlon = nan\nlat = 40.0\n",
         r"add_node\[0\]\.lon: .*finite"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 0.0\nhigh = 1e308\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n",
         r"uncertain\[0\]\.high: draws reach 1e\+308; value_of_time_usd_per_teu_h must be <= 10000"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'normal'\nmean = 3.0\nsd = nan\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.sd: .*finite"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'normal'\nmean = 3.0\nsd = 1e300\n"
         "parameter = 'value_of_time_usd_per_teu_h'\n", r"uncertain\[0\]\.sd: draws reach"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'lognormal'\nmedian = 1.0\nsigma = 500.0\n"
         "demand = { from = 'CHN', to = 'EU' }\n", r"uncertain\[0\]\.sigma: draws reach inf; a factor on demand"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 0.0\nhigh = 0.1\n"
         "parameter = 'logit_theta_per_usd'\n",
         r"uncertain\[0\]\.low: draws reach 0; logit_theta_per_usd must be > 0"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 0.0\nhigh = 2.0\n"
         "attributes = ['speed_kmh']\nmodes = ['rail']\n",
         r"uncertain\[0\]\.low: draws reach 0; a factor on speed_kmh"),
        ("[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 0.5\nhigh = 1e9\nmax = 2.0\n"
         "attributes = ['tariff_usd']\n", None),  # clipped: accepted
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", r"not valid TOML \(nested deeper than 64 levels\)"),
        ("\ufeffyear = 1e400\n", r"year: "),
        ("year = 20\u00e930\n", r"not valid TOML"),
    ],
)
def test_bad_files_give_one_line_naming_file_and_key(tmp_path, text, pattern):
    path = _write(tmp_path, "bad", text)
    if pattern is None:
        load_scenario(path)
        return
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert re.search(pattern, message), message


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[[close]]\nnodes = ['dostik']\n", r"close\[0\]\.nodes: unknown node 'dostik' \(did you mean 'dostyk'\?\)"),
        ("[[close]]\nlinks = ['xian-khorgoz']\n", r"close\[0\]\.links: unknown link 'xian-khorgoz'"),
        ("[[close]]\ncountries = ['KAZZ']\n", r"close\[0\]\.countries: unknown country or region 'KAZZ'"),
        ("[[close]]\ncorridors = ['middle']\n", r"close\[0\]\.corridors: unknown corridor 'middle'"),
        ("[[close]]\ncountries = ['RUS']\nfrom = 'CHINA_X'\n", r"close\[0\]\.from: unknown country or region"),
        ("[[open]]\ncorridors = ['belt_and_road']\n", r"open\[0\]: selects no planned"),
        ("[[change]]\nnodes = ['xian']\nscale = { speed_kmh = 2.0 }\n",
         r"change\[0\]\.scale\.speed_kmh: applies to links, but the selection holds none"),
        ("[[demand]]\nfrom = 'KAZ'\nto = 'RUS'\nscale = 2.0\n", r"demand\[0\]: matches no row"),
        ("[[add_link]]\nid = 'x-y'\nfrom = 'xian'\nto = 'nowhere'\ncorridor = 'belt_and_road'\nroute = 'r'\n"
         "mode = 'rail'\ngauge_mm = 1435\ncountry = 'CHN'\ncoordinates = [[2, 45], [3, 45]]\nspeed_kmh = 50.0\n"
         "tariff_usd_per_teu_km = 0.1\n", r"add_link\[0\]\.to: unknown node 'nowhere'"),
    ],
)
def test_bad_ids_are_reported_against_the_network(tmp_path, toy, text, pattern):
    path = _write(tmp_path, "bad", text)
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError) as info:
        apply_scenario(toy, scenario)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert re.search(pattern, message), message


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"[" * 100_000 + b"]" * 100_000, r"nested deeper than 64 levels"),
        (b'{"type": "FeatureCollection", "features": [1e', r"cannot read GeoJSON extra\.geojson"),
        (b"\xff\xfe", r"extra\.geojson: not UTF-8"),
        (b'{"type": "FeatureCollection", "features": [7]}', r"only Point \(node\) and LineString"),
        (b'{"type": "FeatureCollection", "features": [{"geometry": [1, 2]}]}', r"only Point \(node\) and LineString"),
        (b'{"type": "FeatureCollection", "features": [{"properties": [1], "geometry": {"type": "Point", '
         b'"coordinates": [70, 45]}}]}', r"node #0: properties: expected an object"),
        (b'{"type": "FeatureCollection", "features": [{"properties": {"id": "n"}, "geometry": {"type": "Point", '
         b'"coordinates": [70]}}]}', r"node 'n': expected \[lon, lat\]"),
    ],
)
def test_bad_add_geojson_gives_one_line(tmp_path, toy, content, pattern):
    (tmp_path / "extra.geojson").write_bytes(content)
    path = _write(tmp_path, "bad", "add_geojson = ['extra.geojson']\n")
    with pytest.raises(ScenarioError) as info:
        apply_scenario(toy, load_scenario(path))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert re.search(pattern, message), message


# --------------------------------------------------------------------------- changes


def _share(result, through="KAZ", from_="CHN", to="EU"):
    return result.share_through(through, from_=from_, to=to).share


def test_od_closure_only_applies_to_its_segment(tmp_path):
    demand = [
        dict(origin="xian", destination="warsaw", teu=1000, year=2024, segment="china_europe", basis="A1"),
        dict(origin="warsaw", destination="xian", teu=400, year=2024, segment="europe_china", basis="A1"),
        dict(origin="xian", destination="rus_west", teu=300, year=2024, segment="china_russia", basis="A1"),
    ]
    net = load_network(write_geodata(tmp_path / "g", demand=demand))
    base = assign_scenario(net)
    assert 0.0 < _share(base) < 1.0
    result = run_scenario(_write(tmp_path, "s", NO_RUS_FOR_EU), network=net)
    assert _share(result.result) == pytest.approx(1.0)
    assert result.baseline_share.share == pytest.approx(_share(base))
    # China -> Russia still crosses Russia; the reverse EU -> CHN segment is not closed
    assert _share(result.result, through="RUS", to="RUS") == pytest.approx(1.0)
    assert 0.0 < _share(result.result, through="RUS", from_="EU", to="CHN") < 1.0
    both = run_scenario(_write(tmp_path, "b", NO_RUS_FOR_EU + "both_ways = true\n"), network=net)
    assert _share(both.result, through="RUS", from_="EU", to="CHN") == pytest.approx(0.0)
    assert not both.result.stranded
    # the Northern route's EU flows fall, the southern gateway gains
    gateways = both.gateway_changes()
    assert gateways.loc["Manzhouli–Zabaikalsk", "change_teu"] < 0
    assert gateways.loc["Khorgos–Dostyk", "change_teu"] > 0


def test_global_closure_and_stranded_demand(tmp_path, toy):
    result = run_scenario(_write(tmp_path, "k", "[[close]]\ncountries = ['KAZ']\n"), network=toy)
    assert _share(result.result) == 0.0
    assert result.stranded_teu == 0.0
    text = "[[close]]\ncountries = ['KAZ']\n[[close]]\nlinks = ['manzhouli-zabaikalsk']\n"
    with pytest.raises(ScenarioError) as info:
        run_scenario(_write(tmp_path, "cut", text), network=toy)
    message = str(info.value)
    assert "\n" not in message
    assert "cut.toml: close[0] + close[1]: leaves no route for xian -> warsaw (1,000 TEU/year)" in message
    assert "on_unreachable" in message
    stranded = run_scenario(_write(tmp_path, "strand", "on_unreachable = 'strand'\n" + text), network=toy)
    assert stranded.stranded_teu == pytest.approx(1400.0)
    assert stranded.result.flows == ()
    share = stranded.share
    assert share.stranded_teu == pytest.approx(1000.0) and share.total_teu == 0.0
    assert "stranded (no route): 1,400 TEU/year" in stranded.summary()
    assert stranded.to_dict()["stranded_teu"] == pytest.approx(1400.0)


def test_tariff_capacity_dwell_changes_move_flows(tmp_path, toy):
    base = _share(assign_scenario(toy))
    text = "[[change]]\ncountries = ['KAZ']\nscale = { tariff_usd_per_teu_km = 3.0 }\n"
    dearer = run_scenario(_write(tmp_path, "t", text), network=toy)
    assert _share(dearer.result) < base
    slower = run_scenario(_write(tmp_path, "d", "[[change]]\nnodes = ['dostyk']\nset = { dwell_h = 200.0 }\n"),
                          network=toy)
    assert _share(slower.result) < base
    assert slower.result.network.node_records["dostyk"]["dwell_h"] == 200.0
    assert toy.node_records["dostyk"]["dwell_h"] == 20.0  # the baseline is untouched
    faster = run_scenario(_write(tmp_path, "f", "[[change]]\nroutes = ['southern']\nscale = { speed_kmh = 2.0 }\n"),
                          network=toy)
    assert _share(faster.result) > base
    changes = faster.link_changes(3)
    assert len(changes) and (changes["change_teu"].abs() > 0).all()
    assert changes.index.name == "link_id" and len(changes) <= 3


def test_demand_scaling_parameters_and_year(tmp_path, toy):
    text = ("year = 2031\n[parameters]\nvalue_of_time_usd_per_teu_h = 7.5\n"
            "[[demand]]\nfrom = 'CHN'\nto = 'EU'\nscale = 2.0\n[[demand]]\nfrom = 'warsaw'\nscale = 0.5\n")
    result = run_scenario(_write(tmp_path, "d", text), network=toy)
    assert result.share.total_teu == pytest.approx(2000.0)
    assert result.result.total_teu == pytest.approx(2200.0)
    params = result.result.network.params
    assert params.year == 2031 and params.value_of_time_usd_per_teu_h == 7.5
    assert toy.params.year == 2024


def _toy_with_planned_link(folder: Path) -> Path:
    links = copy.deepcopy(LINKS)
    links["belt_and_road"].append(
        _link("dostyk-kaz_west-fast", "dostyk", "kaz_west", [[10.05, 45], [15, 44.8], [19.95, 45]], "KAZ", 1520,
              speed=200.0, tariff=0.2, route="southern_fast", status="planned", opening_year=2030))
    return write_geodata(folder, links=links, nodes=copy.deepcopy(NODES))


def test_open_planned_link_and_year(tmp_path):
    net = load_network(_toy_with_planned_link(tmp_path / "g"))
    base = _share(assign_scenario(net))
    opened = run_scenario(_write(tmp_path, "o", "[[open]]\nlinks = ['dostyk-kaz_west-fast']\n"), network=net)
    assert _share(opened.result) > base
    assert opened.link_changes(20).loc["dostyk-kaz_west-fast", "change_teu"] > 0
    by_year = run_scenario(_write(tmp_path, "y", "year = 2030\n"), network=net)
    assert _share(by_year.result) == pytest.approx(_share(opened.result))


def test_add_link_inline_and_geojson(tmp_path, toy):
    text = """
[[add_node]]
id = "kaz_mid"
name = "Kaz Mid"
kind = "junction"
country = "KAZ"
lon = 15.0
lat = 46.0

[[add_link]]
id = "dostyk-kaz_mid"
from = "dostyk"
to = "kaz_mid"
corridor = "belt_and_road"
route = "new_line"
mode = "rail"
gauge_mm = 1520
country = "KAZ"
coordinates = [[10.05, 45.0], [15.0, 46.0]]
speed_kmh = 150.0
tariff_usd_per_teu_km = 0.1
"""
    fragment = {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"id": "kaz_mid-kaz_west", "from": "kaz_mid", "to": "kaz_west", "corridor": "belt_and_road",
                           "route": "new_line", "mode": "rail", "gauge_mm": 1520, "country": "KAZ",
                           "speed_kmh": 150.0, "tariff_usd_per_teu_km": 0.1},
            "geometry": {"type": "LineString", "coordinates": [[15.0, 46.0], [19.95, 45.0]]},
        }],
    }
    (tmp_path / "extra.geojson").write_text(json.dumps(fragment))
    # top-level keys precede tables in TOML
    path = _write(tmp_path, "add", 'add_geojson = ["extra.geojson"]\n' + text)
    result = run_scenario(path, network=toy)
    net = result.result.network
    assert net.link_records["kaz_mid-kaz_west"]["length_km"] > 400
    assert _share(result.result) > _share(result.baseline)
    assert {"dostyk-kaz_mid", "kaz_mid-kaz_west"} <= set(result.link_changes(20).index)


def test_equilibrium_sees_capacity(tmp_path):
    nodes = copy.deepcopy(NODES)
    for node in nodes:
        if node["properties"]["id"] == "dostyk":
            node["properties"]["capacity_teu"] = 300.0
    net = load_network(write_geodata(tmp_path / "g", nodes=nodes))
    logit = _share(assign_scenario(net, method="logit"))
    sue = assign_scenario(net, method="sue")
    assert _share(sue) < logit
    assert sue.convergence and sue.convergence[-1]["flow_change"] < 1e-3
    doubled = run_scenario(_write(tmp_path, "c", "method = 'sue'\n[[change]]\nnodes = ['dostyk']\n"
                                  "scale = { capacity_teu = 10.0 }\n"), network=net)
    assert doubled.method == "sue"
    assert doubled.share.share > doubled.baseline_share.share
    ue = assign_scenario(net, method="ue")
    assert _share(ue) < 1.0


# --------------------------------------------------------------------------- sweeps


def test_sweep_identical_in_process_and_on_local_cluster(tmp_path, toy):
    path = _write(tmp_path, "u", NO_RUS_FOR_EU.replace('to = "EU"', 'to = "RUS"') + UNCERTAIN)
    inline = sweep(path, network=toy, draws=120, seed=7, workers=0)
    assert inline.runner == "in-process"
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        distributed = sweep(path, network=toy, draws=120, seed=7, scheduler=client)
        assert distributed.runner.startswith("scheduler")
    local = sweep(path, network=toy, draws=120, seed=7, workers=2, processes=False)
    assert local.runner.startswith("LocalCluster(2 workers")
    import pandas.testing as pdt

    pdt.assert_frame_equal(inline.table, distributed.table)
    pdt.assert_frame_equal(inline.table, local.table)
    # more draws extend, never reshuffle, the first ones; another seed differs
    shorter = sweep(path, network=toy, draws=30, seed=7, workers=0, chunk_size=7)
    pdt.assert_frame_equal(shorter.table, inline.table.iloc[:30])
    other = sweep(path, network=toy, draws=30, seed=8, workers=0)
    assert not other.table["vot"].equals(shorter.table["vot"])


@pytest.mark.parametrize("method", ["sue", "ue"])
def test_equilibrium_sweep_independent_of_chunks_and_workers(tmp_path, method):
    nodes = copy.deepcopy(NODES)
    for node in nodes:
        if node["properties"]["id"] == "dostyk":
            node["properties"]["capacity_teu"] = 400.0
    net = load_network(write_geodata(tmp_path / "g", nodes=nodes))
    path = _write(tmp_path, "u", UNCERTAIN)
    one = sweep(path, network=net, draws=12, seed=4, workers=0, method=method, chunk_size=12)
    small = sweep(path, network=net, draws=12, seed=4, workers=0, method=method, chunk_size=1)
    cluster = sweep(path, network=net, draws=12, seed=4, workers=2, processes=False, method=method)
    import pandas.testing as pdt

    pdt.assert_frame_equal(one.table, small.table)
    pdt.assert_frame_equal(one.table, cluster.table)
    assert (one.table["iterations"] >= 1).all() and one.table["iterations"].max() > 1
    assert one.table["share"].std() > 0


def test_sweep_table_percentiles_and_parquet(tmp_path, toy):
    path = _write(tmp_path, "u", UNCERTAIN)
    result = sweep(path, network=toy, draws=200, seed=1, workers=0)
    table = result.table
    assert list(table.columns[:5]) == ["draw", "vot", "kaz_tariff", "border", "demand"]
    assert {"share", "through_teu", "total_teu", "stranded_teu"} <= set(table.columns)
    assert table["vot"].between(1.0, 5.0).all() and table["kaz_tariff"].between(0.5, 1.5).all()
    assert (table["demand"] >= 0).all()
    assert table["share"].between(0, 1).all() and table["share"].std() > 0.01
    # dearer Kazakh tariffs mean fewer boxes through Kazakhstan
    assert table["share"].corr(table["kaz_tariff"]) < -0.3
    corridor_cols = [c for c in table.columns if c.startswith("corridor:")]
    assert corridor_cols
    assert (table[corridor_cols].sum(axis=1) - table["total_teu"]).abs().max() < 1e-6
    pct = result.percentiles()
    assert pct.loc["share", "p5"] <= pct.loc["share", "p50"] <= pct.loc["share", "p95"]
    assert list(pct.columns) == ["p5", "p50", "p95", "mean"]
    assert result.to_dict()["percentiles"]["share"] == pct.loc["share"].to_dict()
    assert "p50" in result.summary() and "share CHN -> EU through KAZ" in result.summary()
    out = result.to_parquet(tmp_path / "out" / "draws.parquet")
    import pandas as pd
    import pyarrow.parquet as pq

    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, table)
    meta = json.loads(pq.read_schema(out).metadata[b"corridors.sweep"])
    assert meta["seed"] == 1 and meta["draws"] == 200


@pytest.mark.parametrize("method", ["logit", "shortest", "sue", "ue"])
def test_sweep_with_fixed_inputs_reproduces_run_scenario(tmp_path, toy, method):
    text = NO_RUS_FOR_EU.replace('to = "EU"', 'to = "RUS"') + """
[[uncertain]]
name = "vot"
distribution = "uniform"
low = 2.0
high = 2.0
parameter = "value_of_time_usd_per_teu_h"
[[uncertain]]
name = "same"
distribution = "normal"
mean = 1.0
sd = 0.0
attributes = ["tariff_usd_per_teu_km", "speed_kmh", "dwell_h", "transfer_h"]
"""
    path = _write(tmp_path, "fixed", text)
    swept = sweep(path, network=toy, draws=3, workers=0, method=method)
    run = run_scenario(path, network=toy, method=method)
    assert swept.table["share"].to_numpy() == pytest.approx([run.share.share] * 3, abs=1e-6)
    for name, row in run.share.by_gateway.iterrows():
        assert swept.table[f"gateway:{name}"][0] == pytest.approx(row["teu"], abs=1e-3)


def test_sweep_needs_uncertain_inputs(tmp_path, toy):
    with pytest.raises(ScenarioError, match=r"plain\.toml: uncertain: the scenario names no uncertain input"):
        sweep(_write(tmp_path, "plain", NO_RUS_FOR_EU), network=toy, draws=5, workers=0)
    bad = _write(tmp_path, "bad", "[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\nhigh = 2.0\n"
                 "attributes = ['speed_kmh']\nnodes = ['xian']\n")
    with pytest.raises(ScenarioError, match=r"uncertain\[0\]\.attributes: 'speed_kmh' applies to links"):
        sweep(bad, network=toy, draws=5, workers=0)


@pytest.mark.parametrize("method", ["logit", "ue"])
def test_sweep_never_reports_a_non_finite_draw(tmp_path, toy_geodata, capsys, method):
    # issue 13: a draw whose share is undefined (its CHN -> EU demand drawn to 0) is refused
    # in one line, exit 2, and no table is written (chosen over counting failed draws: a
    # percentile over the other draws would hide that part of the input space gives nothing)
    path = _write(tmp_path, "zero", "[[uncertain]]\nname = 'dem'\ndistribution = 'uniform'\nlow = 0.0\n"
                  "high = 0.0\ndemand = { from = 'CHN', to = 'EU' }\n")
    target = tmp_path / "draws.parquet"
    code = main(["sweep", str(path), "--geodata", str(toy_geodata), "--draws", "4", "--workers", "0",
                 "--method", method, "-o", str(target)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and not target.exists()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.err.startswith(f"corridors: error: {path}: draw 0 (dem = 0) gives share = nan")
    assert "4 of 4 draws are not finite" in captured.err
    assert not list(tmp_path.glob("*draws*"))  # no temporary file left either


# --------------------------------------------------------------------------- CLI


def test_cli_scenario_list_run_and_sweep(tmp_path, toy_geodata, capsys):
    (toy_geodata / "scenarios").mkdir()
    _write(toy_geodata / "scenarios", "no-rus", NO_RUS_FOR_EU + UNCERTAIN)
    assert main(["scenario", "list", "--geodata", str(toy_geodata)]) == 0
    out = capsys.readouterr().out
    assert "no-rus" in out and "no RUS for CHN -> EU" in out and "no-eu-transit-via-russia" in out
    assert main(["scenario", "run", "no-rus", "--geodata", str(toy_geodata), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["share"] == pytest.approx(1.0) and data["baseline_share"] < 1.0
    assert data["by_gateway"]["Manzhouli–Zabaikalsk"]["change_teu"] < 0
    assert data["link_changes"]
    assert main(["scenario", "run", "no-rus", "--geodata", str(toy_geodata)]) == 0
    assert "share of CHN -> EU TEU through KAZ: 100.0%" in capsys.readouterr().out
    target = tmp_path / "draws.parquet"
    assert main(["sweep", "no-rus", "--geodata", str(toy_geodata), "--draws", "40", "--workers", "0",
                 "--seed", "3", "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert target.is_file() and "wrote 40 draws" in captured.err
    assert "p5" in captured.out and "p95" in captured.out
    assert main(["sweep", "no-rus", "--geodata", str(toy_geodata), "--draws", "10", "--workers", "0",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["draws"] == 10 and "share" in summary["percentiles"]


def test_cli_scenario_option_on_core_commands(tmp_path, toy_geodata, capsys):
    path = _write(tmp_path, "nokaz", "[[close]]\ncountries = ['KAZ']\n")
    assert main(["share", "--geodata", str(toy_geodata), "--scenario", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["share"] == 0.0
    assert main(["route", "xian", "warsaw", "--geodata", str(toy_geodata), "--scenario", str(path), "--json"]) == 0
    routes = json.loads(capsys.readouterr().out)
    assert routes and all("KAZ" not in r["countries"] for r in routes)
    segment = _write(tmp_path, "segment", NO_RUS_FOR_EU)
    # every method honours the segment closure (a cost mask for that OD segment), with no note
    for method in ("shortest", "logit", "ue", "sue"):
        assert main(["share", "--geodata", str(toy_geodata), "--scenario", str(segment), "--json",
                     "--method", method]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out)["share"] == pytest.approx(1.0), method
        assert captured.err == ""


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path, toy_geodata, capsys):
    path = _write(tmp_path, "bad", "[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 3.0\nhigh = 1.0\n"
                  "parameter = 'value_of_time_usd_per_teu_h'\n")
    for argv in (["scenario", "run", str(path)], ["sweep", str(path), "--workers", "0"],
                 ["share", "--scenario", str(path)]):
        assert main(argv + ["--geodata", str(toy_geodata)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert err == f"corridors: error: {path}: uncertain[0].low: 3 is greater than high (1)"
    unknown = _write(tmp_path, "node", "[[close]]\nnodes = ['dostik']\n")
    assert main(["scenario", "run", str(unknown), "--geodata", str(toy_geodata)]) == 2
    assert "close[0].nodes: unknown node 'dostik' (did you mean 'dostyk'?)" in capsys.readouterr().err


# --------------------------------------------------------------------------- shipped data

SAMPLE_PAIRS = (
    ("xian", "duisburg"), ("duisburg", "xian"), ("chongqing", "malaszewicze"), ("xian", "budapest"),
    ("xian", "moscow"), ("xian", "tashkent"), ("urumqi", "tashkent"), ("xian", "istanbul"),
)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped network with demand cut to a few representative OD pairs (fast)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORRIDORS_CACHE_DIR", str(tmp_path_factory.mktemp("shipped-cache")))
        # the shipped data is part of the package: any error loading it fails the tests
        net = load_network(REPO / "geodata")
        rows = [r for r in net.demand_rows if (r["origin"], r["destination"]) in SAMPLE_PAIRS]
        have = {(r["origin"], r["destination"]) for r in rows}
        assert len(have) == len(SAMPLE_PAIRS), f"shipped demand lacks sample OD pairs: {set(SAMPLE_PAIRS) - have}"
        yield dataclasses.replace(net, demand_rows=rows)


def _corridor_teu(result, corridor, to="EU", from_="CHN"):
    return result.share_through("KAZ", from_=from_, to=to).by_corridor["teu"].get(corridor, 0.0)


MC = "Middle Corridor (Trans-Caspian)"
MC_SANCTIONED = """
extends = "middle-corridor-upgrade"
[[close]]
countries = ["RUS", "BLR"]
from = "CHN"
to = "EU"
both_ways = true
"""


def _family_teu(result, family: str) -> float:
    flows = result.link_flows
    return float(flows.loc[flows["corridor"] == family, "teu"].sum())


def test_shipped_every_bundled_scenario_runs(shipped):
    for path in BUNDLED:
        result = run_scenario(path.stem, network=shipped)
        assert math.isfinite(result.share.share) and math.isfinite(result.baseline_share.share)
        assert result.summary()


def test_shipped_no_eu_transit_via_russia(shipped):
    result = run_scenario("no-eu-transit-via-russia", network=shipped)
    assert result.share.total_teu == pytest.approx(result.baseline_share.total_teu)
    assert not result.result.stranded
    eu_via_rus = result.result.share_through("RUS+BLR", from_="CHN", to="EU")
    assert eu_via_rus.through_teu == pytest.approx(0.0, abs=1e-6)
    assert result.baseline.share_through("RUS+BLR", from_="CHN", to="EU").through_teu > 0
    back = result.result.share_through("RUS+BLR", from_="EU", to="CHN")
    assert back.through_teu == pytest.approx(0.0, abs=1e-6)
    # EU-bound boxes move to the Middle Corridor; China-Russia boxes still cross Russia
    assert _corridor_teu(result.result, MC) > _corridor_teu(result.baseline, MC)
    assert result.result.share_through("RUS", from_="CHN", to="RUS").share == pytest.approx(1.0)


def test_shipped_cku_moves_flow_off_the_kazakh_crossings(shipped):
    result = run_scenario("cku-railway-open", network=shipped)
    after = result.result.share_through("KAZ", from_="CHN", to="UZB")
    before = result.baseline.share_through("KAZ", from_="CHN", to="UZB")
    assert after.through_teu < before.through_teu
    assert after.by_gateway["teu"][[g for g in after.by_gateway.index if "Torugart" in g]].sum() > 0


def test_shipped_middle_corridor_upgrade_attracts_flows(shipped, tmp_path):
    result = run_scenario("middle-corridor-upgrade", network=shipped)
    assert _family_teu(result.result, "middle_corridor") > _family_teu(result.baseline, "middle_corridor")
    # with EU-bound boxes off the Russian route, the upgrade wins them from the Iran-Türkiye route
    sanctioned = run_scenario("no-eu-transit-via-russia", network=shipped)
    both = run_scenario(_write(tmp_path, "mc", MC_SANCTIONED), network=shipped)
    assert _corridor_teu(both.result, MC) > _corridor_teu(sanctioned.result, MC)


def test_shipped_capacity_scenarios_under_sue(shipped):
    second = run_scenario("dostyk-moyynty-second-track", network=shipped)
    assert second.method == "sue" and second.baseline_name == "baseline-2024"
    gate = "Alashankou–Dostyk"
    # The second track and the old line have the same published length (836 km, SOURCES.md A34), so the
    # track adds capacity only; with path-size SUE a parallel route of equal cost may move a few tenths
    # of a per cent between gateways (own-cost monotonicity is issue 10, item 3), so allow 1 %.
    before = second.baseline_share.by_gateway["teu"].get(gate, 0.0)
    assert second.share.by_gateway["teu"].get(gate, 0.0) >= before * (1 - 1e-2) - 1e-6
    ports = run_scenario("caspian-ports-doubled", network=shipped)
    assert ports.baseline_name == "no-eu-transit-via-russia"
    caspian = ["aktau-alat", "kuryk-alat", "turkmenbashi-alat"]
    after = ports.result.link_flows.loc[caspian, "teu"].sum()
    before = ports.baseline.link_flows.loc[caspian, "teu"].sum()
    assert after > before > 0


def test_shipped_uncertainty_sweep_small(shipped):
    result = sweep("baseline-2024-uncertainty", network=shipped, draws=40, seed=2, workers=0)
    assert len(result.table) == 40
    assert result.table["share"].between(0, 1).all()
    assert result.table["value_of_time"].between(1.0, 6.0).all()


DEGENERATE = """
title = "parameters, an attribute change, a segment closure and degenerate uncertain inputs"
[parameters]
border_penalty_usd = 400.0
transfer_penalty_usd = 60.0
value_of_time_usd_per_teu_h = 4.5
[[change]]
countries = ["KAZ"]
modes = ["rail"]
scale = { tariff_usd_per_teu_km = 1.25 }
[[change]]
nodes = ["dostyk"]
set = { dwell_h = 60.0 }
[[close]]
countries = ["BLR"]
from = "CHN"
to = "EU"
[[uncertain]]
name = "tariff_kaz"
distribution = "uniform"
low = 1.0
high = 1.0
countries = ["KAZ"]
attributes = ["tariff_usd_per_teu_km", "dwell_h"]
[[uncertain]]
name = "value_of_time"
distribution = "triangular"
low = 4.5
mode = 4.5
high = 4.5
parameter = "value_of_time_usd_per_teu_h"
[[uncertain]]
name = "demand_eu"
distribution = "normal"
mean = 1.0
sd = 0.0
demand = { from = "CHN", to = "EU" }
"""


@pytest.mark.parametrize("method", ["shortest", "logit", "sue", "ue"])
def test_sweep_of_degenerate_draws_equals_the_single_run(shipped, tmp_path, method):
    # compared with assign/share (what `corridors share --scenario` runs), not with the sweep's own arrays
    from corridors.assignment import assign

    path = _write(tmp_path, "degenerate", DEGENERATE)
    scenario_network = apply_scenario(shipped, load_scenario(path))
    # sue: both solve the same equilibrium to the solver's tolerance (flow change 1e-4 of the
    # demand), the sweep from its routes grouped by OD pair, assign by demand row; with the
    # tolerance tightened to 1e-9 they agree to 1e-7, so the comparison is at that tolerance
    rel = 2e-3 if method == "sue" else 1e-6
    for through, from_, to in (("KAZ", "CHN", "EU"), ("RUS", "CHN", "EU"), ("KAZ", "EU", "CHN")):
        single = assign(scenario_network, method=method).share_through(through, from_=from_, to=to)
        swept = sweep(path, network=shipped, draws=3, seed=5, workers=0, method=method, through=through,
                      from_=from_, to=to)
        table = swept.table
        assert table["share"].to_numpy() == pytest.approx([single.share] * 3, abs=rel), (method, through)
        assert table["through_teu"].to_numpy() == pytest.approx([single.through_teu] * 3, rel=rel)
        assert table["total_teu"].to_numpy() == pytest.approx([single.total_teu] * 3, rel=1e-6)
        for name, row in single.by_corridor.iterrows():
            assert table[f"corridor:{name}"].to_numpy() == pytest.approx([row["teu"]] * 3, rel=rel, abs=1e-6)
    # the segment closure holds in every method: no China-EU box crosses Belarus
    closed = assign(scenario_network, method=method).share_through("BLR", from_="CHN", to="EU")
    assert closed.through_teu == pytest.approx(0.0, abs=1e-9)


def test_sweep_charges_the_penalties(shipped, tmp_path):
    # the sweep once left the penalty terms out of its edge costs
    plain = _write(tmp_path, "plain", "[[uncertain]]\nname = 'x'\ndistribution = 'uniform'\nlow = 1.0\n"
                   "high = 1.0\nparameter = 'path_size_beta'\n")
    fined = _write(tmp_path, "fined", "[parameters]\nborder_penalty_usd = 400.0\n" + plain.read_text())
    a = sweep(plain, network=shipped, draws=1, workers=0).table["share"][0]
    b = sweep(fined, network=shipped, draws=1, workers=0).table["share"][0]
    from corridors.assignment import assign

    expected = assign(apply_scenario(shipped, load_scenario(fined))).share_through("KAZ").share
    assert b == pytest.approx(expected, abs=1e-9) and a != pytest.approx(b, abs=1e-4)


def test_extends_from_dict_and_cycles(tmp_path, toy):
    from corridors.scenarios import Scenario

    parent = _write(tmp_path, "parent", "[[close]]\ncountries = ['KAZ']\n[parameters]\nk_routes = 3\n")
    child = Scenario.from_dict({"extends": str(parent), "parameters": {"value_of_time_usd_per_teu_h": 9.0},
                                "demand": [{"from": "CHN", "scale": 2.0}]}, name="child")
    assert child.name == "child" and len(child.spec.close) == 1 and len(child.spec.demand) == 1
    net = apply_scenario(toy, child)
    assert net.params.k_routes == 3 and net.params.value_of_time_usd_per_teu_h == 9.0
    assert net.node_records["dostyk"].get("closed") is True
    with pytest.raises(ScenarioError, match=r"scenario 'x': clsoe: unknown key"):
        Scenario.from_dict({"clsoe": []}, name="x")
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(f'extends = "{b}"\n')
    b.write_text(f'extends = "{a}"\n')
    with pytest.raises(ScenarioError, match="circular 'extends' chain"):
        load_scenario(a)


def test_bad_references_name_the_referring_file(tmp_path, toy):
    bad = _write(tmp_path, "ext", 'extends = "no-such-scenario"\n')
    with pytest.raises(ScenarioError, match=r"ext\.toml: extends: no-such-scenario: unknown scenario"):
        load_scenario(bad)
    cmp = _write(tmp_path, "cmp", 'compare_with = "no-such-scenario"\n')
    with pytest.raises(ScenarioError, match=r"cmp\.toml: compare_with: no-such-scenario: unknown scenario"):
        run_scenario(cmp, network=toy)


@pytest.mark.slow
def test_cli_sweep_on_local_cluster_of_processes(tmp_path, toy_geodata, capsys):
    path = _write(tmp_path, "u", UNCERTAIN)
    out = {}
    for workers in ("0", "2"):
        target = tmp_path / f"w{workers}.parquet"
        assert main(["sweep", str(path), "--geodata", str(toy_geodata), "--draws", "60", "--seed", "9",
                     "--workers", workers, "-o", str(target), "--no-progress"]) == 0
        capsys.readouterr()
        import pandas as pd

        out[workers] = pd.read_parquet(target)
    pd.testing.assert_frame_equal(out["0"], out["2"])


def test_added_features_are_checked_by_the_layer_rules(tmp_path, toy):
    # a node placed in China but said to be in Kazakhstan: the layers' geometry rule catches it
    text = ("[[add_node]]\nid = 'ghost'\nname = 'Ghost'\nkind = 'junction'\ncountry = 'KAZ'\nlon = 2.0\n"
            "lat = 45.0\n")
    with pytest.raises(ScenarioError, match=r"add_node\[0\]\.country: the node lies \d+ km outside KAZ"):
        apply_scenario(toy, load_scenario(_write(tmp_path, "ghost", text)))


@pytest.mark.parametrize("method", ["shortest", "logit", "ue", "sue"])
def test_shipped_no_eu_transit_via_russia_holds_for_every_method(shipped, method):
    from corridors.assignment import assign

    network = apply_scenario(shipped, load_scenario("no-eu-transit-via-russia"))
    result = assign(network, method=method)
    for from_, to in (("CHN", "EU"), ("EU", "CHN")):
        assert result.share_through("RUS+BLR", from_=from_, to=to).through_teu == pytest.approx(0.0, abs=1e-9)
    # China-Russia boxes still cross Russia
    assert result.share_through("RUS", from_="CHN", to="RUS").share == pytest.approx(1.0)


def test_scenario_and_sweep_results_have_short_reprs_and_tables(tmp_path, toy):
    import pandas as pd

    run = run_scenario(_write(tmp_path, "n", NO_RUS_FOR_EU), network=toy)
    assert "\n" not in repr(run) and repr(run).startswith("<ScenarioResult n: share CHN->EU through KAZ")
    changes = run.corridor_changes()
    assert isinstance(changes, pd.DataFrame) and list(changes.columns) == ["baseline_teu", "scenario_teu",
                                                                           "change_teu"]
    assert run.to_dict()["by_corridor"] == changes.to_dict(orient="index")
    assert run.to_dict()["link_changes"] == run.link_changes(10).reset_index().to_dict(orient="records")
    html = run._repr_html_()
    assert "<table" in html and "by gateway" in html and "biggest link changes" in html
    swept = sweep(_write(tmp_path, "u", UNCERTAIN), network=toy, draws=20, seed=1)
    assert swept.runner == "in-process"  # no Dask unless workers or a scheduler ask for it
    assert "\n" not in repr(swept) and "20 draws" in repr(swept) and "p50" in repr(swept)
    assert "<table" in swept._repr_html_() and "p95" in swept._repr_html_()
