"""Shared fixtures: a small, hand-checkable geodata folder written to a temporary path.

The toy world has four rectangular countries: CHN (lon 0-10), KAZ (lon 10-20, lat 40-50),
RUS (lon 10-20, lat 50-60) and POL (lon 20-30).  Two rail routes join xian (CHN) to
warsaw (POL): a southern one through KAZ and a northern one through RUS.  Both change
gauge (1435 -> 1520) on entering the 1520 country and back on entering POL.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _rect(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


COUNTRIES = {"CHN": _rect(0, 40, 10, 60), "KAZ": _rect(10, 40, 20, 50), "RUS": _rect(10, 50, 20, 60),
             "POL": _rect(20, 40, 30, 60)}


def _node(id_, lon, lat, country, kind="junction", **extra):
    props = dict(id=id_, name=id_.replace("_", " ").title(), name_local=None, kind=kind, country=country,
                 dwell_h=0.0, handling_usd=0.0, transfer_h=None, transfer_usd=None, capacity_teu=None,
                 status="operating", opening_year=None, sources="S1")
    props.update(extra)
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


NODES = [
    _node("xian", 2.0, 45.0, "CHN", "hub"),
    _node("khorgos", 9.95, 45.0, "CHN", "border", dwell_h=10.0, handling_usd=50.0),
    _node("dostyk", 10.05, 45.0, "KAZ", "gauge_change", dwell_h=20.0, transfer_h=5.0, transfer_usd=100.0),
    _node("kaz_west", 19.95, 45.0, "KAZ", "border"),
    _node("terespol", 20.05, 45.0, "POL", "gauge_change", transfer_h=5.0, transfer_usd=100.0),
    _node("manzhouli", 9.95, 55.0, "CHN", "border"),
    _node("zabaikalsk", 10.05, 55.0, "RUS", "gauge_change", transfer_h=5.0, transfer_usd=100.0),
    _node("rus_west", 19.95, 55.0, "RUS", "border"),
    _node("kuznica", 20.05, 55.0, "POL", "gauge_change", transfer_h=5.0, transfer_usd=100.0),
    _node("warsaw", 25.0, 50.0, "POL", "hub"),
]


def _link(id_, a, b, coords, country, gauge, *, speed=50.0, tariff=0.5, corridor="belt_and_road",
          route="northern", **extra):
    props = dict(id=id_, **{"from": a, "to": b}, corridor=corridor, route=route, mode="rail", gauge_mm=gauge,
                 country=country, speed_kmh=speed, running_h=None, frequency_per_week=None,
                 tariff_usd_per_teu_km=tariff, tariff_usd=None, capacity_teu=None, status="operating",
                 opening_year=None, sources="S1")
    props.update(extra)
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


LINKS = {
    "belt_and_road": [
        _link("xian-khorgos", "xian", "khorgos", [[2, 45], [6, 45.2], [9.95, 45]], "CHN", 1435),
        _link("khorgos-dostyk", "khorgos", "dostyk", [[9.95, 45], [10.05, 45]], "CHN|KAZ", 1435),
        _link("dostyk-kaz_west", "dostyk", "kaz_west", [[10.05, 45], [15, 45.3], [19.95, 45]], "KAZ", 1520,
              route="southern"),
        _link("kaz_west-terespol", "kaz_west", "terespol", [[19.95, 45], [20.05, 45]], "KAZ|POL", 1520),
        _link("terespol-warsaw", "terespol", "warsaw", [[20.05, 45], [22, 47], [25, 50]], "POL", 1435,
              route="europe"),
        _link("xian-manzhouli", "xian", "manzhouli", [[2, 45], [6, 50], [9.95, 55]], "CHN", 1435),
        _link("manzhouli-zabaikalsk", "manzhouli", "zabaikalsk", [[9.95, 55], [10.05, 55]], "CHN|RUS", 1435),
        _link("zabaikalsk-rus_west", "zabaikalsk", "rus_west", [[10.05, 55], [15, 55.2], [19.95, 55]], "RUS",
              1520, route="transsib"),
        _link("rus_west-kuznica", "rus_west", "kuznica", [[19.95, 55], [20.05, 55]], "RUS|POL", 1520),
        _link("kuznica-warsaw", "kuznica", "warsaw", [[20.05, 55], [22, 53], [25, 50]], "POL", 1435,
              route="europe"),
    ],
}

DEMAND = [
    dict(origin="xian", destination="warsaw", teu=1000, year=2024, segment="china_europe", basis="A1"),
    dict(origin="warsaw", destination="xian", teu=400, year=2024, segment="europe_china", basis="A1"),
]

SOURCES = """# Sources (toy)

| key | title | publisher | year | URL |
|---|---|---|---|---|
| S1 | Toy figures for tests | corridors | 2026 | none |

- **A1** Toy demand.
"""


def write_geodata(folder: Path, *, nodes=None, links=None, countries=None, demand=None, parameters=None,
                  sources=SOURCES) -> Path:
    """Write a geodata folder; every argument defaults to the toy world."""
    folder = Path(folder)
    (folder / "links").mkdir(parents=True, exist_ok=True)
    nodes = copy.deepcopy(NODES if nodes is None else nodes)
    links = copy.deepcopy(LINKS if links is None else links)
    countries = COUNTRIES if countries is None else countries
    (folder / "nodes.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": nodes}))
    for family, features in links.items():
        (folder / "links" / f"{family}.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": features})
        )
    features = [{"type": "Feature", "properties": {"iso_a3": iso, "name": iso}, "geometry": geom}
                for iso, geom in countries.items()]
    (folder / "countries.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    rows = DEMAND if demand is None else demand
    with (folder / "demand.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["origin", "destination", "teu", "year", "segment", "basis"])
        writer.writeheader()
        writer.writerows(rows)
    (folder / "parameters.toml").write_text(
        parameters if parameters is not None else "[cost]\nvalue_of_time_usd_per_teu_h = 2.0\n"
        "[route_choice]\nlogit_theta_per_usd = 0.01\npath_size_beta = 1.0\nk_routes = 4\nmax_detour = 3.0\n"
    )
    (folder / "SOURCES.md").write_text(sources)
    return folder


@pytest.fixture
def toy_geodata(tmp_path) -> Path:
    """A valid toy geodata folder (see the module docstring)."""
    return write_geodata(tmp_path / "toy")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Tests never read or write the user's cache.
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
