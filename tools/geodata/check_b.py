"""Self-checks for B's layers: endpoints, country tolerance, ferry over water, connectivity.

python tools/geodata/check_b.py   (uses geodata/nodes.geojson merged with nodes_b.geojson,
geodata/countries.geojson if present, else the Natural Earth copy inside pyogrio)
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pyogrio
from pyproj import Geod
from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parents[2]
GEO = ROOT / "geodata"
LAYERS = ["middle_corridor", "north_south", "east_west"]
geod = Geod(ellps="WGS84")


def load_countries():
    p = GEO / "countries.geojson"
    if p.exists():
        c = gpd.read_file(p)
    else:
        c = gpd.read_file(Path(os.path.dirname(pyogrio.__file__))
                          / "tests/fixtures/naturalearth_lowres/naturalearth_lowres.shp")
        fix = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX"}
        c["iso_a3"] = [fix.get(n, i) for n, i in zip(c["name"], c["iso_a3"], strict=False)]
    return c.set_index("iso_a3")


def main():
    nodes = {}
    for p in [ROOT / "tools/geodata/nodes_b.geojson", GEO / "nodes.geojson"]:
        if p.exists():
            for f in json.loads(p.read_text())["features"]:
                nodes[f["properties"]["id"]] = f
    countries = load_countries()
    countries.to_crs("EPSG:3035") if False else None
    problems = []
    G = nx.Graph()
    for n in nodes:
        G.add_node(n)
    allfeats = []
    for layer in LAYERS + ["belt_and_road"]:
        p = GEO / "links" / f"{layer}.geojson"
        if not p.exists():
            continue
        for f in json.loads(p.read_text())["features"]:
            allfeats.append((layer, f))
    for layer, f in allfeats:
        pr = f["properties"]
        a, b = pr["from"], pr["to"]
        G.add_edge(a, b, id=pr["id"])
        if layer not in LAYERS:
            continue
        coords = f["geometry"]["coordinates"]
        for end, c in ((a, coords[0]), (b, coords[-1])):
            if end not in nodes:
                problems.append(f"{pr['id']}: unknown node {end}")
                continue
            nx_, ny_ = nodes[end]["geometry"]["coordinates"][:2]
            d = geod.inv(nx_, ny_, c[0], c[1])[2] / 1000
            if d > 2:
                problems.append(f"{pr['id']}: endpoint {end} {d:.1f} km from node")
        line = shape(f["geometry"])
        ctry = pr["country"]
        if ctry is None:
            # ferry: share of length over land (excluding 15 km around the ends)
            land = countries.union_all() if hasattr(countries, "union_all") else countries.unary_union
            lg = gpd.GeoSeries([line], crs=4326).to_crs(3857).iloc[0]
            ends = gpd.GeoSeries([Point(coords[0]), Point(coords[-1])], crs=4326).to_crs(3857)
            landm = gpd.GeoSeries([land], crs=4326).to_crs(3857).iloc[0]
            inter = lg.intersection(landm).difference(ends.buffer(20000).union_all())
            if inter.length > 1000:
                problems.append(f"{pr['id']}: ferry crosses {inter.length/1000:.0f} km of land (3857)")
            continue
        for cc in ctry.split("|"):
            if cc not in countries.index:
                problems.append(f"{pr['id']}: country {cc} not in countries")
        ends_c = {nodes[a]["properties"]["country"], nodes[b]["properties"]["country"]} \
            if a in nodes and b in nodes else set()
        if "|" in ctry:
            if set(ctry.split("|")) != ends_c:
                problems.append(f"{pr['id']}: border link {ctry} vs nodes {ends_c}")
            km = geod.geometry_length(line) / 1000
            if km > 100:
                problems.append(f"{pr['id']}: border link long {km:.0f} km")
            continue
        if ends_c != {ctry}:
            problems.append(f"{pr['id']}: country {ctry} vs nodes {ends_c}")
        if ctry in countries.index:
            poly = countries.loc[[ctry]].to_crs(3857).geometry.union_all()
            lg = gpd.GeoSeries([line], crs=4326).to_crs(3857).iloc[0]
            # local metric scale: 3857 inflates distances by 1/cos(lat)
            import math
            lat = line.centroid.y
            tol = 25000 / math.cos(math.radians(lat))
            out = lg.difference(poly.buffer(tol))
            if out.length > 0:
                problems.append(f"{pr['id']}: {out.length*math.cos(math.radians(lat))/1000:.0f} km"
                                f" outside {ctry}+25km")
        if pr["mode"] == "rail" and pr["gauge_mm"] is None:
            problems.append(f"{pr['id']}: rail without gauge")
    print("\n".join(problems) or "no problems")
    # connectivity
    comps = sorted(nx.connected_components(G), key=len, reverse=True)
    print("components:", [len(c) for c in comps[:6]])
    if len(comps) > 1:
        for c in comps[1:]:
            print("  detached:", sorted(c)[:15])
    for s, t in [("xian", "istanbul"), ("xian", "constanta"), ("chengdu", "budapest"),
                 ("dostyk", "alat"), ("altynkol", "constanta"), ("kashgar", "tehran"),
                 ("khorgos", "moscow")]:
        if s in G and t in G and nx.has_path(G, s, t):
            print(f"  {s}->{t}:", " ".join(nx.shortest_path(G, s, t)))
        else:
            print(f"  {s}->{t}: NO PATH (or node missing)")


if __name__ == "__main__":
    main()
