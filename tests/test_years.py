"""The maritime layer and the year tables of the sea alternative (issue 11 groundwork)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from corridors._errors import LayerError
from corridors.cli import main
from corridors.layers import load_layers, validate_geodata
from corridors.network import build_graph, load_network
from corridors.years import FITTED_YEARS, MODEL_YEARS, REQUIRED_INPUTS, check_year_tables, load_year_tables

GEODATA = Path(__file__).resolve().parents[1] / "geodata"
YEARS = GEODATA / "years"
CN_PORTS = ("shanghai", "ningbo", "shenzhen", "qingdao", "tianjin")
EU_PORTS = ("rotterdam_port", "antwerp", "hamburg_port", "gdansk", "piraeus", "koper")


def _rows(name: str) -> list[dict]:
    with (YEARS / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _defined_keys() -> set[str]:
    text = (GEODATA / "SOURCES.md").read_text(encoding="utf-8")
    table = re.findall(r"^\|\s*`?([SA]\d+)`?\s*\|", text, flags=re.MULTILINE)
    items = re.findall(r"^[-*]\s+\*\*`?([SA]\d+)\b", text, flags=re.MULTILINE)
    return set(table) | set(items)


@pytest.fixture(scope="module")
def layers():
    return load_layers(GEODATA)


@pytest.fixture()
def geodata_copy(tmp_path):
    target = tmp_path / "geodata"
    shutil.copytree(GEODATA, target)
    return target


# ------------------------------------------------------------------ year tables, shipped


def test_shipped_year_tables_load_clean():
    assert check_year_tables(GEODATA) == []
    tables = load_year_tables(GEODATA)
    assert tables.years == tuple(range(2019, 2026))


def test_demand_is_complete_and_adds_up_for_every_year():
    by: dict[tuple, dict[str, float]] = defaultdict(dict)
    for row in _rows("demand_all_modes.csv"):
        by[(int(row["year"]), row["direction"])][row["mode"]] = float(row["teu"])
    for year in MODEL_YEARS:
        for direction in ("china_europe", "europe_china"):
            modes = by[(year, direction)]
            assert set(modes) == {"sea", "land", "all"}, (year, direction, modes)
            assert modes["all"] == pytest.approx(modes["sea"] + modes["land"], abs=1.0)
            # land is a few per cent of China-EU container trade, never the bulk of it
            assert 0.0 < modes["land"] < 0.2 * modes["all"], (year, direction)
    for year in MODEL_YEARS:  # westbound is the fronthaul: more boxes leave China than return
        assert by[(year, "china_europe")]["sea"] > by[(year, "europe_china")]["sea"]


def test_year_inputs_are_complete():
    given = defaultdict(dict)
    for row in _rows("year_inputs.csv"):
        given[int(row["year"])][row["variable"]] = float(row["value"])
    for year in MODEL_YEARS:
        missing = [v for v in REQUIRED_INPUTS if v not in given[year]]
        assert not missing, (year, missing)
        assert given[year]["sea_rate_wb_usd_per_teu"] > given[year]["sea_rate_eb_usd_per_teu"]
        assert given[year]["suez_open"] in (0.0, 1.0) and 0.0 <= given[year]["cape_share"] <= 1.0
    # the years the issue names: Cape routing in 2024 and 2025, no Russia term before 2022
    assert [given[y]["suez_open"] for y in (2023, 2024, 2025)] == [1.0, 0.0, 0.0]
    assert [given[y]["russia_transit_term_active"] for y in MODEL_YEARS] == [0, 0, 0, 1, 1, 1, 1]
    # 2021 was the rate peak of the period
    assert max(MODEL_YEARS, key=lambda y: given[y]["sea_rate_wb_usd_per_teu"]) == 2021


def test_shares_add_up():
    sums = defaultdict(float)
    for row in _rows("sea_regions.csv"):
        sums[(row["year"], row["direction"], row["side"])] += float(row["share"])
    assert len(sums) == len(MODEL_YEARS) * 2 * 2
    assert all(s == pytest.approx(1.0, abs=2e-3) for s in sums.values()), sums
    classes = defaultdict(float)
    for row in _rows("cargo_classes.csv"):
        classes[row["direction"]] += float(row["teu_share"])
        assert float(row["vot_low_usd_per_teu_h"]) <= float(row["vot_prior_usd_per_teu_h"])
        assert float(row["vot_prior_usd_per_teu_h"]) <= float(row["vot_high_usd_per_teu_h"])
    assert classes == {"china_europe": pytest.approx(1.0), "europe_china": pytest.approx(1.0)}


def test_observed_figures_mark_only_2019_and_2024_as_fitted():
    rows = _rows("observed_years.csv")
    assert {int(r["year"]) for r in rows} == set(MODEL_YEARS)
    for row in rows:
        expected = "fitted" if int(row["year"]) in FITTED_YEARS else "predicted"
        assert row["role"] == expected, row
        assert row["definition"].strip() and row["direction"] in ("both", "westbound", "eastbound")
    ids = {r["id"] for r in rows}
    assert {"cr_express_teu", "erai_transit", "middle_corridor_tonnes", "manzhouli"} <= ids


def test_every_year_table_row_is_sourced():
    defined = _defined_keys()
    problems = []
    for path in sorted(YEARS.glob("*.csv")):
        for line, row in enumerate(_rows(path.name), start=2):
            keys = [k for k in re.split(r"[,;\s]+", row.get("basis") or "") if k]
            if not keys:
                problems.append(f"{path.name} row {line}: no basis")
            problems += [f"{path.name} row {line}: {k} undefined" for k in keys if k not in defined]
    assert not problems, problems[:20]


def test_a_year_outside_the_data_names_the_years_available():
    tables = load_year_tables(GEODATA)
    with pytest.raises(LayerError, match="years available: 2019–2025"):
        tables.demand(2018)


# ------------------------------------------------------------------ year tables, bad input


def _edit_csv(path: Path, line: int, column: str, value: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    rows[line - 2][column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("table", "line", "column", "value", "expected"),
    [
        ("demand_all_modes.csv", 2, "teu", "lots", "demand_all_modes.csv: row 2: field 'teu': expected a number"),
        ("demand_all_modes.csv", 2, "teu", "1", "demand_all_modes.csv: row 4: field 'teu': all modes"),
        ("year_inputs.csv", 3, "year", "2031", "year_inputs.csv: row 3: field 'year': year 2031 is outside 2019–2025"),
        ("year_inputs.csv", 2, "basis", "S9999", "year_inputs.csv: row 2: field 'basis': key 'S9999' is not defined"),
        ("observed_years.csv", 2, "role", "fitted", "field 'role': is 'fitted' but"),
        ("sea_regions.csv", 2, "share", "0.9", "field 'share': shares of 2019, china_europe, origin add up"),
        ("year_inputs.csv", 2, "variable", "sea_rate_typo", "year_inputs.csv: year 2019: field 'variable': no "
                                                            "'sea_rate_wb_north_europe_usd_per_feu' row"),
    ],
)
def test_bad_year_table_gives_one_clear_line(geodata_copy, table, line, column, value, expected):
    rows = _rows(table)
    if table == "observed_years.csv":  # pick a predicted year's row
        line = next(i for i, r in enumerate(rows, start=2) if int(r["year"]) not in FITTED_YEARS)
    _edit_csv(geodata_copy / "years" / table, line, column, value)
    from corridors.layers import source_keys

    messages = [str(p) for p in check_year_tables(geodata_copy, source_keys(geodata_copy))]
    assert any(expected in m for m in messages), messages
    assert all("\n" not in m for m in messages)


def test_cli_validate_reports_a_bad_year_table(geodata_copy, capsys):
    _edit_csv(geodata_copy / "years" / "demand_all_modes.csv", 3, "direction", "china_mars")
    assert main(["validate", str(geodata_copy)]) == 2
    err = capsys.readouterr().err
    assert "years/demand_all_modes.csv: row 3: field 'direction': expected one of china_europe, europe_china" in err
    assert "Traceback" not in err
    with pytest.raises(LayerError, match=r"demand_all_modes.csv: row 3"):
        load_year_tables(geodata_copy)


def test_missing_year_table(geodata_copy):
    (geodata_copy / "years" / "cargo_classes.csv").unlink()
    problems = [str(p) for p in validate_geodata(geodata_copy)]
    assert "geodata/years/cargo_classes.csv: file not found" in problems


# ------------------------------------------------------------------ the maritime layer


def test_ports_and_lanes_are_complete(layers):
    for port in CN_PORTS + EU_PORTS:
        assert layers.nodes[port]["kind"] == "port", port
        assert layers.nodes[port]["transfer_usd"] > 0
    sea = [r for r in layers.links.values() if r["mode"] == "sea"]
    assert all(r["layer"] == "maritime" and r["country"] is None and r["oneway"] for r in sea)
    lanes = {(r["from"], r["to"], r["passage"]): r for r in sea}
    for cn in CN_PORTS:
        for eu in EU_PORTS:
            for a, b in ((cn, eu), (eu, cn)):
                suez, cape = lanes[(a, b, "suez")], lanes[(a, b, "cape")]
                assert suez["route"] == "suez" and cape["route"] == "cape"
                assert cape["distance_nm"] > suez["distance_nm"] and cape["running_h"] > suez["running_h"]
                assert suez["distance_km"] == pytest.approx(1.852 * suez["distance_nm"], abs=1.0)
            assert lanes[(cn, eu, "suez")]["tariff_usd"] > lanes[(eu, cn, "suez")]["tariff_usd"]  # backhaul
    ref = lanes[("shanghai", "rotterdam_port", "suez")]
    assert ref["distance_nm"] == 10600 and ref["running_h"] / 24 == pytest.approx(35.0, abs=0.1)


def test_every_demand_destination_in_the_eu_has_a_port_leg(layers):
    import networkx as nx

    net = load_network(GEODATA, include_sea=True)
    eu_dest = {"rotterdam", "duisburg", "hamburg", "lodz", "malaszewicze", "budapest", "milan"}
    sea_only = net.graph.subgraph(n for n in net.graph if not (len(n) == 3 and n[1] == "rail1520"))
    for dest in eu_dest:
        assert any(nx.has_path(sea_only, ("o", p), ("d", dest)) for p in EU_PORTS), dest


def test_land_graph_is_unchanged_by_the_maritime_layer(layers):
    from corridors.network import CostParameters

    params = CostParameters()
    land_links = {k: v for k, v in layers.links.items() if v["layer"] != "maritime"}
    with_layer = build_graph(layers.nodes, layers.links, params)
    without = build_graph(layers.nodes, land_links, params)
    assert set(with_layer.edges) == set(without.edges)
    assert all(with_layer.edges[e] == without.edges[e] for e in without.edges)
    sea = build_graph(layers.nodes, layers.links, params, include_sea=True)
    assert any(d["mode"] == "sea" for *_, d in sea.edges(data=True))
    assert not any(d["mode"] == "sea" or d["corridor"] == "maritime" for *_, d in with_layer.edges(data=True))


def test_include_sea_keeps_route_caches_apart():
    land, sea = load_network(GEODATA), load_network(GEODATA, include_sea=True)
    assert land.fingerprint != sea.fingerprint
    assert sea.with_changes().include_sea
    assert any(d["mode"] == "sea" for *_, d in sea.with_changes().graph.edges(data=True))


def test_nodes_file_stays_sorted_one_feature_per_line():
    lines = (GEODATA / "nodes.geojson").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line.rstrip(","))["properties"]["id"] for line in lines[1:-1]]
    assert ids == sorted(ids)


def _edit_lane(geodata: Path, **changes) -> None:
    path = geodata / "links" / "maritime.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    lane = next(f for f in data["features"] if f["properties"]["id"] == "shanghai-rotterdam_port-suez")
    lane["properties"].update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"passage": "panama"}, "field 'passage': expected one of suez, cape, got 'panama'"),
        ({"distance_nm": None}, "field 'distance_nm': is null"),
        ({"country": "CHN"}, "field 'country': a sea leg crosses water: country must be null"),
        ({"mode": "ship"}, "field 'mode': expected one of rail, road, ferry, sea"),
        ({"oneway": "yes"}, "field 'oneway': expected true, false or null"),
    ],
)
def test_bad_sea_lane(geodata_copy, changes, expected):
    _edit_lane(geodata_copy, **changes)
    messages = [str(p) for p in validate_geodata(geodata_copy)]
    prefix = "geodata/links/maritime.geojson: link 'shanghai-rotterdam_port-suez': "
    assert any(m.startswith(prefix) and expected in m for m in messages), messages
