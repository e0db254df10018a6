"""Maps without a browser: assets, escaping, atomic writes, contents, the ``map`` command.

The fixtures use the toy geodata of ``conftest.py`` (two routes xian -> warsaw, one through
KAZ and one through RUS), loaded and assigned through the public API.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import corridors
from corridors import maps
from corridors._errors import CorridorsError, QueryError
from corridors.cli import main

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_JS = "`${alert(2)}`\\u"
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def toy(toy_geodata):
    network = corridors.load_network(toy_geodata)
    return {
        "network": network,
        "logit": corridors.assign(network, method="logit"),
        "shortest": corridors.assign(network, method="shortest"),
    }


def build(kind: str, toy: dict, **kwargs):
    if kind == "network":
        return maps.network_map(toy["network"], **kwargs)
    if kind == "flows":
        return maps.flow_map(toy["logit"], **kwargs)
    return maps.compare_map(toy["logit"], toy["shortest"], **kwargs)


def geojson_layers(m) -> dict[str, dict]:
    """Name -> GeoJSON data of every folium GeoJson layer on the map."""
    import folium

    return {child.layer_name: child.data for child in m._children.values() if isinstance(child, folium.GeoJson)}


def link_features(m) -> list[dict]:
    return [
        f
        for data in geojson_layers(m).values()
        for f in data["features"]
        if "corridors-link " in f["properties"].get("style", {}).get("className", "")
    ]


def node_features(m) -> list[dict]:
    return [
        f
        for data in geojson_layers(m).values()
        for f in data["features"]
        if "corridors-node " in f["properties"].get("style", {}).get("className", "")
    ]


def tooltip(feature: dict) -> str:
    return maps.tip_html(feature["properties"])


def popup(feature: dict) -> str:
    return maps.tip_html(feature["properties"], popup=True)


def hostile_geodata(source: Path, target: Path, node_id: str, name: str = HOSTILE) -> Path:
    """Copy a geodata folder and rename one node."""
    shutil.copytree(source, target)
    path = target / "nodes.geojson"
    data = json.loads(path.read_text())
    (feature,) = [f for f in data["features"] if f["properties"]["id"] == node_id]
    feature["properties"]["name"] = name
    path.write_text(json.dumps(data))
    return target


# ---------------------------------------------------------------------------
# escaping
# ---------------------------------------------------------------------------


def test_escape_html_and_template_literal_characters():
    assert maps.escape(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    escaped = maps.escape(HOSTILE_JS)
    assert "`" not in escaped and "$" not in escaped and "\\" not in escaped
    assert html.unescape(escaped) == HOSTILE_JS
    assert maps.escape("\"quoted\" & 'single'") == "&quot;quoted&quot; &amp; &#x27;single&#x27;"


def test_escape_missing_values():
    assert maps.escape(None) == "–"
    assert maps.escape(float("nan")) == "–"
    assert maps.escape(0) == "0"
    assert maps.escape("") == ""


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_hostile_node_name_is_escaped_everywhere(kind, toy_geodata, tmp_path):
    folder = hostile_geodata(toy_geodata, tmp_path / "hostile", "dostyk")
    network = corridors.load_network(folder)
    toy = {
        "network": network,
        "logit": corridors.assign(network, method="logit"),
        "shortest": corridors.assign(network, method="shortest"),
    }
    m = build(kind, toy)
    page = maps.map_html(m)
    assert HOSTILE not in page
    assert "<img" not in page
    # the name is present, as text, in the node tooltip and the tooltips of its links
    (node,) = [f for f in node_features(m) if f["id"] == "dostyk"]
    assert maps.escape(HOSTILE) in tooltip(node)
    assert maps.escape(HOSTILE) in popup(node)
    titles = [tooltip(f) for f in link_features(m) if f["id"].startswith("khorgos-dostyk")]
    assert titles and all(maps.escape(HOSTILE) in t for t in titles)


def test_template_literal_breakout_is_escaped(toy_geodata, tmp_path):
    folder = hostile_geodata(toy_geodata, tmp_path / "js", "warsaw", name=HOSTILE_JS)
    network = corridors.load_network(folder)
    page = maps.map_html(maps.network_map(network))
    assert "${alert(2)}" not in page
    assert "`${" not in page


def test_titles_and_labels_are_escaped(toy):
    page = maps.map_html(maps.flow_map(toy["logit"], title=HOSTILE))
    assert HOSTILE not in page and maps.escape(HOSTILE) in page
    page = maps.map_html(maps.compare_map(toy["logit"], toy["shortest"], labels=(HOSTILE, "b<b>")))
    assert HOSTILE not in page and "b<b>" not in page


# ---------------------------------------------------------------------------
# self-contained assets
# ---------------------------------------------------------------------------


def test_external_assets_detector():
    page = """
    <script src="https://cdn.example.org/a.js"></script>
    <link rel="stylesheet" href="//cdn.example.org/b.css"/>
    <style>@import url("http://fonts.example.org/c.css"); .x { background: url(https://e.org/i.png) }</style>
    <img src='https://e.org/t.png'>
    <a href="https://leafletjs.com">Leaflet</a>
    <script src="local.js"></script>
    """
    found = maps.external_assets(page)
    assert found == [
        "https://cdn.example.org/a.js",
        "//cdn.example.org/b.css",
        "https://e.org/t.png",
        "http://fonts.example.org/c.css",
        "https://e.org/i.png",
    ]
    assert maps.external_assets("<p>nothing</p>") == []


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_rendered_maps_reference_no_external_asset(kind, toy):
    page = maps.map_html(build(kind, toy))
    assert maps.external_assets(page) == []
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=", page, re.I)
    # Leaflet and jQuery are inlined from the installed XStatic packages, images as data URIs
    import xstatic.pkg.jquery
    import xstatic.pkg.leaflet

    assert f"Leaflet {xstatic.pkg.leaflet.VERSION}" in page or "leafletjs.com" in page
    assert "jQuery v" + xstatic.pkg.jquery.VERSION.split(".post")[0] in page
    assert "url(data:image/png;base64," in page
    assert "images/layers.png" not in page
    # none of folium's other defaults
    for unwanted in ("bootstrap", "font-awesome", "fontawesome", "awesome-markers"):
        assert unwanted not in page.lower()


def test_no_self_contained_keeps_only_leaflet_and_jquery_cdn(toy):
    m = maps.network_map(toy["network"], self_contained=False)
    page = maps.map_html(m)
    found = maps.external_assets(page)
    assert sorted(found) == sorted(
        [
            "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
            "https://code.jquery.com/jquery-3.7.1.min.js",
            "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
        ]
    )
    with pytest.raises(CorridorsError, match="not self-contained"):
        maps.map_html(m, check=True)


def test_save_refuses_a_remaining_external_asset(toy, tmp_path):
    from branca.element import JavascriptLink

    m = maps.network_map(toy["network"])
    m.get_root().header.add_child(JavascriptLink("https://cdn.example.org/plugin.js"), name="plugin")
    target = tmp_path / "out" / "network.html"
    with pytest.raises(CorridorsError, match=r"not self-contained.*cdn\.example\.org/plugin\.js"):
        maps.save_map(m, target)
    assert not target.exists()


def test_tiles_are_opt_in(toy):
    page = maps.map_html(maps.network_map(toy["network"]))
    assert "tile.openstreetmap.org" not in page and "L.tileLayer" not in page
    page = maps.map_html(maps.network_map(toy["network"], tiles="OpenStreetMap"))
    assert "L.tileLayer" in page


def test_countries_are_see_through_over_tiles(toy):
    def fills(m):
        (countries,) = [d for name, d in geojson_layers(m).items() if name == "Countries"]
        return {f["id"]: f["properties"]["opacity"] for f in countries["features"]}

    assert set(fills(maps.network_map(toy["network"])).values()) == {1.0}
    assert set(fills(maps.network_map(toy["network"], tiles="OpenStreetMap")).values()) == {0.0}
    shaded = fills(maps.flow_map(toy["logit"], tiles="OpenStreetMap"))
    assert shaded["KAZ"] == 0.55 and shaded["CHN"] == 0.0


def test_unknown_tiles_is_a_query_error(toy):
    with pytest.raises(QueryError, match="--tiles 'nonsense'"):
        maps.network_map(toy["network"], tiles="nonsense")


def test_jupyter_repr_is_self_contained(toy):
    m = maps.network_map(toy["network"])
    shown = m._repr_html_()
    match = re.search(r'srcdoc="(.*?)"', shown, re.S)
    assert match, "folium's notebook repr is an iframe with srcdoc"
    page = html.unescape(match.group(1))
    assert maps.external_assets(page) == []
    assert "corridors-link" in page


# ---------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------


def test_save_map_writes_atomically(toy, tmp_path):
    target = tmp_path / "maps" / "network.html"
    path = maps.save_map(maps.network_map(toy["network"]), target)
    assert path == target and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["network.html"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_no_partial_file(failing, toy, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "network.html"
    target.write_text("previous map")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(CorridorsError, match="cannot write the output"):
        maps.save_map(maps.network_map(toy["network"]), target)
    assert target.read_text() == "previous map"
    assert [p.name for p in folder.iterdir()] == ["network.html"]


def test_failed_render_creates_no_file(toy, tmp_path, monkeypatch):
    m = maps.network_map(toy["network"])

    def broken_render(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(m.get_root(), "render", broken_render)
    with pytest.raises(RuntimeError):
        maps.save_map(m, tmp_path / "out" / "x.html")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------
# contents
# ---------------------------------------------------------------------------


def test_network_map_layers_styles_and_tooltips(toy):
    network = toy["network"]
    m = maps.network_map(network)
    links = link_features(m)
    assert sorted(f["id"] for f in links) == sorted(network.links.index)
    assert sorted(f["id"] for f in node_features(m)) == sorted(network.nodes.index)
    # one layer per corridor family, named with its feature count
    names = [name for name in geojson_layers(m) if "Belt and Road" in name]
    assert len(names) == 1 and names[0].endswith(f"Belt and Road ({len(network.links)})")
    (dostyk,) = [f for f in node_features(m) if f["id"] == "dostyk"]
    tip = tooltip(dostyk)
    for text in ("Dostyk", "KAZ", "Gauge change", "20.0 h"):
        assert text in tip
    # the tooltip stays short: capacity and sources are in the popup only
    assert "not binding" not in tip and "S1" not in tip
    for text in ("Dostyk", "Gauge change", "not binding", "S1", "dostyk"):
        assert text in popup(dostyk)
    style = dostyk["properties"]["style"]
    assert style["fillColor"] == maps.NODE_STYLES["gauge_change"]["fillColor"]
    (link,) = [f for f in links if f["id"] == "dostyk-kaz_west"]
    assert link["properties"]["style"]["color"] == maps.CORRIDOR_COLOURS["belt_and_road"]
    assert link["properties"]["style"]["dashArray"] is None
    assert "Dostyk – Kaz West" in tooltip(link)
    assert "southern" in tooltip(link)
    page = maps.map_html(m)
    assert "Eurasian freight corridors" in page and "Border crossing" in page


def test_tooltips_are_compact(toy):
    """At most four rows in any tooltip; everything else is in the popup."""
    for kind in maps.MAP_KINDS:
        m = build(kind, toy)
        for feature in link_features(m) + node_features(m):
            rows = tooltip(feature).count("<tr>")
            assert 1 <= rows <= 4, (kind, feature["id"], tooltip(feature))
            assert popup(feature).count("<tr>") > rows
            assert "Sources" not in tooltip(feature) and "Sources" in popup(feature)


def label_rows(m) -> list[list]:
    """The [lat, lon, text, kind] rows of the label layer."""
    (layer,) = [c for c in m._children.values() if getattr(c, "layer_name", None) == "Labels"]
    match = re.search(r"\}\)\(map_\w+, \w+, (\[.*\])\);\s*$", layer.code, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_labels_for_hubs_ports_and_gateways_in_a_toggleable_layer(kind, toy):
    network = toy["network"]
    m = build(kind, toy)
    rows = label_rows(m)
    nodes = network.nodes
    expected = nodes[nodes["kind"].isin(maps.LABEL_KINDS)]
    assert sorted(r[2] for r in rows) == sorted(expected["name"])
    assert "junction" not in {r[3] for r in rows}
    # ports and hubs before gateways: they win when labels overlap
    ranks = [maps.LABEL_KINDS.index(r[3]) for r in rows]
    assert ranks == sorted(ranks)
    page = maps.map_html(m)
    assert "corridors_labels" in page and "declutter" in page
    # the label layer is in the layer control (an overlay named Labels)
    assert re.search(r'"Labels"\s*:\s*\w+', page)


def test_label_text_is_escaped(toy_geodata, tmp_path):
    folder = hostile_geodata(toy_geodata, tmp_path / "hostile", "dostyk")
    m = maps.network_map(corridors.load_network(folder))
    texts = [r[2] for r in label_rows(m)]
    assert maps.escape(HOSTILE) in texts
    assert HOSTILE not in maps.map_html(m)


def test_flow_map_labels_busiest_nodes_first(toy):
    result = toy["logit"]
    m = maps.flow_map(result)
    rows = label_rows(m)
    through = result.node_flows["teu"]
    names = toy["network"].nodes["name"]
    for kind in {r[3] for r in rows}:
        order = [r[2] for r in rows if r[3] == kind]
        teu = [float(through[names[names == text].index[0]]) for text in order]
        assert teu == sorted(teu, reverse=True), kind


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_attribution_credits_natural_earth_and_sources(kind, toy):
    page = maps.map_html(build(kind, toy))
    credits = maps.attribution_html(toy["network"])
    assert "corridors geodata" in credits
    assert f"addAttribution({json.dumps(credits)})" in page.replace("<\\/", "</")
    assert maps.external_assets(page) == []


@pytest.mark.skipif(not (REPO / "geodata" / "SOURCES.md").exists(), reason="shipped geodata not present")
def test_shipped_attribution_credits_natural_earth():
    credits = maps.attribution_html(corridors.load_network())
    assert "Natural Earth</a> 1:" in credits and "public domain" in credits
    assert re.search(r"\d{2,} published sources", credits)


def test_attribution_reads_the_geodata_sources(tmp_path):
    class Fake:
        geodata = tmp_path

    (tmp_path / "SOURCES.md").write_text(
        "| S1 | Natural Earth 1:50m Cultural Vectors | Natural Earth | 2024 | u | x |\n"
        "| S2 | Another | P | 2024 | u | y |\n| S2 | dup | P | 2024 | u | y |\n"
    )
    credits = maps.attribution_html(Fake())
    assert "Natural Earth</a> 1:50m" in credits and "2 published sources" in credits
    (tmp_path / "SOURCES.md").write_text("| S7 | a fact | P | 2024 | u | y |\n")
    credits = maps.attribution_html(Fake())
    assert "Natural Earth" not in credits and "1 published source " in credits


def test_compare_layer_control_has_no_corridor_colours(toy):
    compare = [name for name in geojson_layers(build("compare", toy)) if "Belt and Road" in name]
    network = [name for name in geojson_layers(build("network", toy)) if "Belt and Road" in name]
    assert compare and "background:" not in compare[0] and maps.CORRIDOR_COLOURS["belt_and_road"] not in compare[0]
    assert maps.CORRIDOR_COLOURS["belt_and_road"] in network[0]


def test_country_outlines_are_simplified_whatever_the_resolution(toy_geodata, tmp_path):
    """A finer outline file (as Natural Earth 1:50m is to 1:110m) gives a page about as light."""
    import geopandas as gpd
    import numpy as np
    import shapely

    def countries_layer(folder):
        m = maps.network_map(corridors.load_network(folder))
        (layer,) = [d for name, d in geojson_layers(m).items() if name == "Countries"]
        return layer, len(maps.map_html(m))

    coarse, coarse_size = countries_layer(toy_geodata)
    fine_folder = tmp_path / "fine"
    shutil.copytree(toy_geodata, fine_folder)
    frame = gpd.read_file(fine_folder / "countries.geojson")
    # a vertex every ~1 km, each moved by up to ~200 m: detail the display need not show
    # (a function of the position, so that rings stay closed)
    dense = shapely.segmentize(frame.geometry.values, 0.01)
    frame["geometry"] = shapely.transform(dense, lambda xy: xy + 0.002 * np.sin(977.0 * xy[:, ::-1]))
    frame.to_file(fine_folder / "countries.geojson", driver="GeoJSON")
    assert (fine_folder / "countries.geojson").stat().st_size > 20 * (toy_geodata / "countries.geojson").stat().st_size
    fine, fine_size = countries_layer(fine_folder)
    assert [f["id"] for f in fine["features"]] == [f["id"] for f in coarse["features"]]
    assert fine_size < 1.5 * coarse_size

    def vertices(layer):
        return sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in layer["features"])

    original = sum(len(shapely.get_coordinates(g)) for g in frame.geometry)
    assert vertices(fine) < original / 20


def test_planned_links_are_dashed(toy_geodata, tmp_path):
    folder = tmp_path / "planned"
    shutil.copytree(toy_geodata, folder)
    path = folder / "links" / "belt_and_road.geojson"
    data = json.loads(path.read_text())
    for feature in data["features"]:
        if feature["properties"]["id"] == "dostyk-kaz_west":
            feature["properties"]["status"] = "planned"
            feature["properties"]["opening_year"] = 2030
    path.write_text(json.dumps(data))
    m = maps.network_map(corridors.load_network(folder))
    (link,) = [f for f in link_features(m) if f["id"] == "dostyk-kaz_west"]
    assert link["properties"]["style"]["dashArray"]
    assert "planned (2030)" in tooltip(link)


def test_flow_map_widths_tooltips_countries_and_headline(toy):
    result = toy["logit"]
    m = maps.flow_map(result, "KAZ", "CHN", "EU")
    flows = result.link_flows
    links = {f["id"]: f for f in link_features(m)}
    assert set(links) == set(flows.index)
    busiest = flows["teu"].idxmax()
    assert links[busiest]["properties"]["style"]["weight"] == pytest.approx(maps._MAX_WIDTH)
    for link_id, row in flows.iterrows():
        weight = links[link_id]["properties"]["style"]["weight"]
        if row["teu"] > 0 and weight > maps._MIN_WIDTH:
            assert weight == pytest.approx(maps._MAX_WIDTH * row["teu"] / flows["teu"].max())
    # share of the CHN -> EU flow on the KAZ route equals the headline share
    share = result.share_through("KAZ", from_="CHN", to="EU")
    tip = tooltip(links["dostyk-kaz_west"])
    assert f"{100 * share.share:.1f}%" in tip
    assert f"{row_teu(flows, 'dostyk-kaz_west'):,.0f} TEU/yr" in tip
    assert "capacity not binding" in tip
    # countries shaded by transit TEU: KAZ and RUS are transit, CHN and POL are not
    (countries,) = [d for name, d in geojson_layers(m).items() if name == "Countries"]
    fills = {f["id"]: f["properties"]["fill"] for f in countries["features"]}
    assert fills["CHN"] == fills["POL"] == maps._LAND
    assert fills["KAZ"] != maps._LAND and fills["RUS"] != maps._LAND
    page = maps.map_html(m)
    assert f"through KAZ: {100 * share.share:.0f}% of CHN–EU land TEU" in page
    assert "Line width ∝ TEU/year" in page


def row_teu(frame, link_id: str) -> float:
    return float(frame.loc[link_id, "teu"])


def test_flow_map_utilisation_in_tooltip(toy_geodata, tmp_path):
    folder = tmp_path / "cap"
    shutil.copytree(toy_geodata, folder)
    path = folder / "links" / "belt_and_road.geojson"
    data = json.loads(path.read_text())
    for feature in data["features"]:
        if feature["properties"]["id"] == "xian-khorgos":
            feature["properties"]["capacity_teu"] = 2000.0
    path.write_text(json.dumps(data))
    result = corridors.assign(corridors.load_network(folder), method="shortest")
    m = maps.flow_map(result)
    (link,) = [f for f in link_features(m) if f["id"] == "xian-khorgos"]
    utilisation = float(result.link_flows.loc["xian-khorgos", "utilisation"])
    assert f"{100 * utilisation:.0f}% of capacity" in tooltip(link)


def test_compare_map_diverging_colours(toy):
    new, old = toy["logit"], toy["shortest"]
    m = maps.compare_map(new, old, labels=("logit", "shortest"))
    links = {f["id"]: f for f in link_features(m)}
    diff = new.link_flows["teu"] - old.link_flows["teu"]
    assert set(links) == set(diff.index)
    gained, lost = diff.idxmax(), diff.idxmin()
    assert diff[gained] > 0 > diff[lost]
    red, blue = links[gained]["properties"]["style"]["color"], links[lost]["properties"]["style"]["color"]
    assert red.lower().startswith("#b2182b") and blue.lower().startswith("#2166ac")
    assert "+" in tooltip(links[gained])
    page = maps.map_html(m)
    assert "Change in TEU/year (logit − shortest)" in page
    assert "pp)" in page


# ---------------------------------------------------------------------------
# the map command
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_cli_writes_each_kind(kind, toy_geodata, tmp_path, capsys):
    out = tmp_path / f"{kind}.html"
    assert main(["map", "--kind", kind, "--geodata", str(toy_geodata), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert maps.external_assets(out.read_text(encoding="utf-8")) == []


def test_cli_default_output_and_cdn_option(toy_geodata, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["map", "--geodata", str(toy_geodata), "--no-self-contained"]) == 0
    page = (tmp_path / "maps" / "network.html").read_text(encoding="utf-8")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in page


@pytest.mark.parametrize("target", ["folder", "/dev/null"])
def test_cli_refuses_a_bad_output_before_any_work(target, toy_geodata, tmp_path, capsys, monkeypatch):
    import corridors.network

    def no_work(*args, **kwargs):
        raise AssertionError("the network was loaded although -o cannot be written")

    monkeypatch.setattr(corridors.network, "load_network", no_work)
    out = tmp_path if target == "folder" else Path(target)
    assert main(["map", "--kind", "flows", "--geodata", str(toy_geodata), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "regular file" in err[0], err


@pytest.mark.parametrize("target", ["folder", "/dev/null"])
def test_save_map_refuses_a_non_regular_target(target, toy, tmp_path):
    out = tmp_path if target == "folder" else Path(target)
    with pytest.raises(CorridorsError, match="regular file"):
        maps.save_map(maps.network_map(toy["network"]), out)
    assert out.exists() and not out.is_file()


TOY_SCENARIO = """
name = "toy-no-russia"
title = "Toy: CHN-EU routes avoid Russia"
description = "China-EU routes may not cross Russia."
rationale = "Test of the map command."
sources = ["S1"]

[[close]]
countries = ["RUS"]
from = "CHN"
to = "EU"
both_ways = true
"""


@pytest.mark.parametrize("kind", ["flows", "compare"])
def test_cli_scenario(kind, toy_geodata, tmp_path):
    scenario = tmp_path / "toy-no-russia.toml"
    scenario.write_text(TOY_SCENARIO)
    out = tmp_path / f"{kind}.html"
    code = main(["map", "--kind", kind, "--geodata", str(toy_geodata), "--scenario", str(scenario), "-o", str(out)])
    assert code == 0
    page = out.read_text(encoding="utf-8")
    # every CHN -> EU box avoids Russia, so all of it crosses KAZ
    assert "through KAZ: 100% of CHN–EU land TEU" in page
    if kind == "compare":
        assert "Flow change: toy-no-russia vs baseline (logit)" in page
        baseline = corridors.assign(corridors.load_network(toy_geodata))
        share = baseline.share_through("KAZ", from_="CHN", to="EU").share
        assert f"(baseline (logit): {100 * share:.0f}%" in page


def test_cli_unknown_scenario_is_one_line_error(toy_geodata, tmp_path, capsys):
    code = main(
        [
            "map",
            "--kind",
            "flows",
            "--geodata",
            str(toy_geodata),
            "--scenario",
            "no-such-scenario",
            "-o",
            str(tmp_path / "f.html"),
        ]
    )
    assert code == 2
    assert "no-such-scenario" in capsys.readouterr().err
    assert not (tmp_path / "f.html").exists()


def test_cli_compare_needs_two_different_methods(toy_geodata, tmp_path, capsys):
    code = main(
        [
            "map",
            "--kind",
            "compare",
            "--method",
            "shortest",
            "--geodata",
            str(toy_geodata),
            "-o",
            str(tmp_path / "c.html"),
        ]
    )
    assert code == 2
    assert "--baseline-method" in capsys.readouterr().err
    assert not (tmp_path / "c.html").exists()


def test_cli_unknown_region_is_one_line_error(toy_geodata, tmp_path, capsys):
    code = main(
        ["map", "--kind", "flows", "--through", "XYZ", "--geodata", str(toy_geodata), "-o", str(tmp_path / "f.html")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "XYZ" in err


def test_heavy_imports_stay_lazy():
    code = (
        "import sys, corridors.cli, corridors.maps; corridors.cli.build_parser(); "
        "heavy = [m for m in ('folium', 'geopandas', 'branca', 'pandas') if m in sys.modules]; "
        "print(', '.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, f"imported at start-up: {done.stdout} {done.stderr}"


@pytest.mark.parametrize(("ci", "outcome", "code"), [("", "1 skipped", 0), ("true", "1 error", 1)])
def test_browser_tests_skip_without_chromium_but_fail_on_ci(ci, outcome, code, tmp_path):
    env = {**os.environ, "CORRIDORS_CHROMIUM": str(tmp_path / "no-chromium"), "CI": ci}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "title_box",
            str(REPO / "tests" / "test_maps_browser.py"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert outcome in done.stdout and done.returncode == code, done.stdout[-2000:]
    assert "Chromium" in done.stdout


@pytest.mark.skipif(not (REPO / "geodata" / "nodes.geojson").exists(), reason="shipped geodata not present")
def test_shipped_network_map_has_every_link():
    network = corridors.load_network()
    m = maps.network_map(network)
    links = network.links
    sea = links[links["mode"] == "sea"]
    # one drawn sea lane per port pair and passage: the layer has one per direction
    pairs = {(frozenset((a, b)), via) for a, b, via in zip(sea["from"], sea["to"], sea["passage"], strict=True)}
    assert len(link_features(m)) == len(links) - len(sea) + len(pairs)
    assert len(node_features(m)) == len(network.nodes)
    assert maps.external_assets(maps.map_html(m)) == []


@pytest.mark.skipif(not (REPO / "geodata" / "nodes.geojson").exists(), reason="shipped geodata not present")
def test_maritime_family_has_its_own_colour_layer_and_legend_entry():
    network = corridors.load_network()
    m = maps.network_map(network)
    page = maps.map_html(m)
    colour = maps.CORRIDOR_COLOURS[maps.MARITIME]
    assert colour not in {c for f, c in maps.CORRIDOR_COLOURS.items() if f != maps.MARITIME}
    sea = [f for f in link_features(m) if "corridors-link-maritime" in f["properties"]["style"]["className"]]
    assert sea and {f["properties"]["style"]["color"] for f in sea} == {colour}
    lanes = [f for f in sea if f["properties"]["style"].get("dashArray") == "6 5"]
    assert lanes and all(f["properties"]["style"]["weight"] < 3 for f in lanes)
    assert all("both directions" in f["properties"]["more"] for f in lanes)
    legend = re.search(r'<div class="corridors-box corridors-legend">.*?</div></div>', page, re.S)
    assert "Maritime (" in page and "sea lanes" in page and legend
    # the layer control lists the land families before the maritime one
    names = re.findall(r'"([^"]*?\((\d+)\))"\s*:\s*geo_json_', page)
    order = [n for n, _ in names]
    assert order and "Maritime" in order[-1], order


def test_merged_sea_lane_carries_both_directions():
    import geopandas as gpd
    from shapely.geometry import LineString

    line = LineString([(120, 30), (10, 50)])
    frame = gpd.GeoDataFrame(
        {
            "from": ["shanghai", "rotterdam", "shanghai"],
            "to": ["rotterdam", "shanghai", "rotterdam"],
            "mode": ["sea", "sea", "sea"],
            "passage": ["suez", "suez", "cape"],
            "route": ["suez", "suez", "cape"],
            "corridor": ["maritime"] * 3,
            "teu_ab": [100.0, 30.0, 5.0],
            "teu_ba": [0.0, 0.0, 0.0],
            "teu": [100.0, 30.0, 5.0],
            "utilisation": [0.2, 0.6, None],
        },
        index=["s-r-suez", "r-s-suez", "s-r-cape"],
        geometry=[line, line.reverse(), line],
        crs=4326,
    )
    drawn, merged = maps.merge_sea_lanes(frame)
    assert merged == {"s-r-suez": "r-s-suez"}
    assert list(drawn.index) == ["r-s-suez", "s-r-cape"]
    kept = drawn.loc["r-s-suez"]
    # the kept lane runs rotterdam -> shanghai: the westbound 100 TEU are its b->a flow
    assert (kept["teu_ab"], kept["teu_ba"], kept["teu"]) == (30.0, 100.0, 130.0)
    assert kept["utilisation"] == 0.6 and kept["lane_ids"] == "r-s-suez, s-r-suez"
    assert drawn.loc["s-r-cape", "teu"] == 5.0


@pytest.mark.skipif(not (REPO / "geodata" / "nodes.geojson").exists(), reason="shipped geodata not present")
def test_figures_quoted_in_docs_maps_come_from_the_current_model():
    """docs/maps.md quotes the headline share and the size of the shipped network: they must be
    the current model's (this caught a stale "78%")."""
    text = (REPO / "docs" / "maps.md").read_text(encoding="utf-8")
    network = corridors.load_network()
    share = corridors.assign(network, method="logit").share_through("KAZ", from_="CHN", to="EU")
    headline = re.search(
        r"through Kazakhstan: (\d+)% of\s+China–EU land TEU\* \(([\d,]+) of ([\d,]+)\s+TEU/yr\)", text
    )
    assert headline, "docs/maps.md no longer quotes the headline share"
    assert int(headline.group(1)) == round(100 * share.share)
    assert headline.group(2) == f"{share.through_teu:,.0f}" and headline.group(3) == f"{share.total_teu:,.0f}"
    # every percentage in the page is that headline (a new figure needs a check here)
    assert set(re.findall(r"(\d+(?:\.\d+)?) ?%", text)) == {headline.group(1)}
    sizes = re.search(r"shipped data: (\d+) links, (\d+) nodes, (\d+) countries", text)
    assert sizes, "docs/maps.md no longer quotes the benchmark's network size"
    assert [int(x) for x in sizes.groups()] == [len(network.links), len(network.nodes), len(network.countries)]
