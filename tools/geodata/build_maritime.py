"""Build the maritime layer of issue 11 (sea lanes, ports, inland port legs).

Writes ``geodata/links/maritime.geojson`` and adds (or updates) its own nodes in
``geodata/nodes.geojson``, keeping that file sorted by id with one feature per line; other
nodes are left as they are.  Waypoints are hand-placed (SOURCES.md A401, A402); sea distances
are the drawn geodesic lengths scaled per passage to Rodrigue's Shanghai-Rotterdam figures.

Run:  python tools/geodata/build_maritime.py [GEODATA_DIR]
"""

import json
import sys
from pathlib import Path

from pyproj import Geod

G = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "geodata"
geod = Geod(ellps="WGS84")
NM = 1.852


# ---------------------------------------------------------------- nodes
def node(
    id_, name, local, kind, country, lon, lat, dwell=0.0, handling=0.0, th=None, tu=None, cap=None, sources="A401"
):
    return {
        "type": "Feature",
        "properties": {
            "id": id_,
            "name": name,
            "name_local": local,
            "kind": kind,
            "country": country,
            "dwell_h": dwell,
            "handling_usd": handling,
            "transfer_h": th,
            "transfer_usd": tu,
            "capacity_teu": cap,
            "status": "operating",
            "opening_year": None,
            "sources": sources,
        },
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


CN_THC = 86.9  # A404
PORT_H = 72.0  # A405
NEW_NODES = [
    node(
        "shanghai",
        "Shanghai (Waigaoqiao/Yangshan)",
        "上海港",
        "port",
        "CHN",
        121.6,
        31.36,
        th=PORT_H,
        tu=CN_THC,
        sources="S405,S406,A401,A404,A405",
    ),
    node(
        "ningbo",
        "Ningbo-Zhoushan (Beilun)",
        "宁波舟山港",
        "port",
        "CHN",
        121.85,
        29.93,
        th=PORT_H,
        tu=CN_THC,
        sources="S405,S406,S407,A401,A404,A405",
    ),
    node(
        "shenzhen",
        "Shenzhen (Yantian)",
        "深圳港 盐田",
        "port",
        "CHN",
        114.28,
        22.58,
        th=PORT_H,
        tu=CN_THC,
        sources="S405,S406,A401,A404,A405",
    ),
    node(
        "qingdao",
        "Qingdao (Qianwan)",
        "青岛港 前湾",
        "port",
        "CHN",
        120.2,
        36.0,
        th=PORT_H,
        tu=CN_THC,
        sources="S405,S406,A401,A404,A405",
    ),
    node(
        "tianjin",
        "Tianjin (Xingang)",
        "天津港 新港",
        "port",
        "CHN",
        117.79,
        38.98,
        th=PORT_H,
        tu=CN_THC,
        sources="S405,S406,A401,A404,A405",
    ),
    node(
        "rotterdam_port",
        "Rotterdam (Maasvlakte)",
        "Rotterdam Maasvlakte",
        "port",
        "NLD",
        4.03,
        51.96,
        th=PORT_H,
        tu=141.0,
        sources="S405,S408,S409,A401,A404,A405",
    ),
    node(
        "antwerp",
        "Antwerp-Bruges",
        "Antwerpen-Brugge",
        "port",
        "BEL",
        4.3,
        51.28,
        th=PORT_H,
        tu=146.0,
        sources="S405,S409,A401,A404,A405",
    ),
    node(
        "hamburg_port",
        "Hamburg (container terminals)",
        "Hamburger Hafen",
        "port",
        "DEU",
        9.93,
        53.53,
        th=PORT_H,
        tu=154.0,
        sources="S405,S409,A401,A404,A405",
    ),
    node(
        "gdansk",
        "Gdańsk (Baltic Hub)",
        "Gdańsk",
        "port",
        "POL",
        18.7,
        54.4,
        th=PORT_H,
        tu=147.0,
        sources="S405,S409,A401,A404,A405",
    ),
    node(
        "piraeus",
        "Piraeus",
        "Πειραιάς",
        "port",
        "GRC",
        23.58,
        37.95,
        th=PORT_H,
        tu=147.0,
        sources="S405,S409,A401,A404,A405",
    ),
    node(
        "koper",
        "Koper",
        "Koper / Capodistria",
        "port",
        "SVN",
        13.74,
        45.56,
        th=PORT_H,
        tu=147.0,
        sources="S405,S409,A401,A404,A405",
    ),
    node("essen_bel", "Essen (Belgium)", "Essen", "border", "BEL", 4.47, 51.46, sources="A1,A9,A401"),
    node("roosendaal", "Roosendaal", "Roosendaal", "border", "NLD", 4.46, 51.53, sources="A1,A9,A401"),
    node("idomeni", "Idomeni", "Ειδομένη", "border", "GRC", 22.53, 41.12, sources="A1,A9,A401"),
    node("gevgelija", "Gevgelija", "Гевгелија", "border", "MKD", 22.51, 41.14, dwell=6.0, sources="A1,A9,A401"),
    node("tabanovce", "Tabanovce", "Табановце", "border", "MKD", 21.71, 42.21, sources="A1,A9,A401"),
    node("presevo", "Preševo", "Прешево", "border", "SRB", 21.65, 42.31, dwell=6.0, sources="A1,A9,A401"),
    node("hodos", "Hodoš", "Hodoš", "border", "SVN", 16.32, 46.82, sources="A1,A9,A401"),
    node("oriszentpeter", "Őriszentpéter", "Őriszentpéter", "border", "HUN", 16.42, 46.84, sources="A1,A9,A401"),
    node("sezana", "Sežana", "Sežana", "border", "SVN", 13.87, 45.71, sources="A1,A9,A401"),
    node(
        "villa_opicina", "Villa Opicina", "Villa Opicina / Opčine", "border", "ITA", 13.79, 45.69, sources="A1,A9,A401"
    ),
]

nodes_doc = json.loads((G / "nodes.geojson").read_text())
existing = {f["properties"]["id"]: f for f in nodes_doc["features"]}
for f in NEW_NODES:
    existing[f["properties"]["id"]] = f
pos = {i: tuple(f["geometry"]["coordinates"]) for i, f in existing.items()}
lines = ['{"type": "FeatureCollection", "features": [']
ids = sorted(existing)
for k, i in enumerate(ids):
    lines.append(json.dumps(existing[i], ensure_ascii=False) + ("," if k < len(ids) - 1 else ""))
lines.append("]}")
(G / "nodes.geojson").write_text("\n".join(lines) + "\n", encoding="utf-8")

# ---------------------------------------------------------------- sea lanes
# Waypoints (lon, lat).  Chinese ports join a coastal trunk; the trunk leaves Asia through
# the Singapore Strait and Malacca, then splits into the Suez and the Cape passages.
CN_OUT = {  # from the port to the South China Sea gathering point off Hong Kong
    "tianjin": [
        (117.79, 38.98),
        (118.6, 38.7),
        (120.5, 38.4),
        (121.2, 37.9),
        (122.8, 37.4),
        (123.2, 35.5),
        (123.0, 32.0),
        (122.8, 30.5),
        (121.8, 27.5),
        (119.9, 24.6),
        (117.2, 22.8),
        (114.6, 21.8),
    ],
    "qingdao": [
        (120.2, 36.0),
        (120.6, 35.8),
        (122.6, 35.2),
        (123.0, 32.0),
        (122.8, 30.5),
        (121.8, 27.5),
        (119.9, 24.6),
        (117.2, 22.8),
        (114.6, 21.8),
    ],
    "shanghai": [
        (121.6, 31.36),
        (122.3, 31.1),
        (122.8, 30.5),
        (121.8, 27.5),
        (119.9, 24.6),
        (117.2, 22.8),
        (114.6, 21.8),
    ],
    "ningbo": [(121.85, 29.93), (122.5, 29.6), (121.8, 27.5), (119.9, 24.6), (117.2, 22.8), (114.6, 21.8)],
    "shenzhen": [(114.28, 22.58), (114.4, 22.2), (114.6, 21.8)],
}
ASIA_TO_MALACCA = [
    (114.6, 21.8),
    (111.5, 17.3),
    (109.8, 11.5),
    (106.5, 6.0),
    (104.6, 1.8),
    (104.1, 1.2),
    (103.5, 1.1),
    (101.5, 2.5),
    (98.8, 4.6),
    (95.6, 6.0),
]
SUEZ_TO_MED = [
    (95.6, 6.0),
    (87.0, 5.8),
    (80.6, 5.6),
    (74.0, 8.0),
    (65.0, 11.0),
    (55.0, 12.7),
    (51.3, 12.3),
    (45.5, 12.0),
    (43.4, 12.6),
    (42.4, 14.5),
    (40.0, 18.0),
    (37.8, 21.5),
    (35.2, 25.5),
    (33.9, 27.6),
    (32.58, 29.92),
    (32.34, 30.6),
    (32.32, 31.32),
    (32.0, 31.7),
]
CAPE_TO_GIBRALTAR = [
    (95.6, 6.0),
    (92.0, 2.0),
    (80.0, -5.0),
    (60.0, -18.0),
    (45.0, -30.0),
    (33.0, -34.8),
    (25.0, -35.6),
    (20.0, -35.8),
    (18.2, -34.8),
    (15.5, -30.0),
    (10.0, -18.0),
    (3.0, -5.0),
    (-6.0, 2.0),
    (-14.0, 8.0),
    (-18.5, 14.8),
    (-18.0, 21.0),
    (-15.5, 27.5),
    (-12.0, 33.0),
    (-8.0, 35.7),
    (-5.6, 35.95),
]
MED_EAST_TO_GIBRALTAR = [
    (32.0, 31.7),
    (28.0, 33.0),
    (23.0, 34.4),
    (16.0, 36.2),
    (12.0, 37.3),
    (8.0, 37.7),
    (2.0, 37.3),
    (-2.0, 36.3),
    (-5.6, 35.95),
]
GIB_TO_CHANNEL = [
    (-5.6, 35.95),
    (-8.0, 36.2),
    (-9.6, 37.5),
    (-9.8, 42.0),
    (-9.6, 43.8),
    (-7.0, 46.5),
    (-5.4, 48.5),
    (-2.5, 49.9),
    (0.5, 50.4),
    (1.6, 51.0),
    (2.5, 51.4),
]
NORTH = {
    "rotterdam_port": [(2.5, 51.4), (3.6, 51.9), (4.03, 51.96)],
    "antwerp": [(2.5, 51.4), (3.4, 51.45), (3.8, 51.38), (4.3, 51.28)],
    "hamburg_port": [(2.5, 51.4), (3.6, 52.3), (5.5, 53.6), (7.8, 54.0), (8.6, 53.9), (9.4, 53.6), (9.93, 53.53)],
    "gdansk": [
        (2.5, 51.4),
        (3.6, 52.3),
        (5.5, 53.9),
        (7.0, 56.0),
        (9.5, 57.9),
        (10.8, 57.9),
        (11.6, 56.9),
        (11.2, 55.7),
        (11.0, 55.2),
        (11.8, 54.7),
        (14.0, 54.9),
        (16.5, 55.0),
        (18.7, 54.4),
    ],
}
MED_PORTS = {  # from Port Said / from Gibraltar
    "piraeus": (
        [(32.0, 31.7), (28.5, 34.0), (26.9, 35.35), (24.6, 36.6), (23.58, 37.95)],
        [
            (-5.6, 35.95),
            (-2.0, 36.3),
            (2.0, 37.3),
            (8.0, 37.7),
            (12.0, 37.3),
            (16.0, 36.2),
            (21.5, 36.2),
            (23.2, 36.3),
            (24.2, 37.0),
            (23.58, 37.95),
        ],
    ),
    "koper": (
        [
            (32.0, 31.7),
            (28.0, 33.0),
            (23.0, 34.4),
            (20.0, 37.0),
            (19.0, 39.8),
            (16.5, 42.0),
            (13.7, 44.6),
            (13.74, 45.56),
        ],
        [
            (-5.6, 35.95),
            (-2.0, 36.3),
            (2.0, 37.3),
            (8.0, 37.7),
            (12.0, 37.3),
            (15.5, 36.8),
            (17.5, 38.5),
            (19.0, 39.8),
            (16.5, 42.0),
            (13.7, 44.6),
            (13.74, 45.56),
        ],
    ),
}


def join(*parts):
    out = []
    for p in parts:
        for pt in p:
            if not out or out[-1] != pt:
                out.append(pt)
    return out


def lane(cn, eu, passage):
    head = join(CN_OUT[cn], ASIA_TO_MALACCA)
    if eu in NORTH:
        mid = join(SUEZ_TO_MED, MED_EAST_TO_GIBRALTAR) if passage == "suez" else CAPE_TO_GIBRALTAR
        return join(head, mid, GIB_TO_CHANNEL, NORTH[eu])
    via_suez, via_gib = MED_PORTS[eu]
    if passage == "suez":
        return join(head, SUEZ_TO_MED, via_suez)
    return join(head, CAPE_TO_GIBRALTAR, via_gib)


def km(coords):
    lons, lats = zip(*coords, strict=True)
    return geod.line_length(lons, lats) / 1000.0


# Scale the drawn lanes to the sourced Shanghai-Rotterdam distances (S401): 10,600 nm via Suez,
# 13,800 nm via the Cape (A402).
REF = {"suez": 10600.0, "cape": 13800.0}
scale = {p: REF[p] / (km(lane("shanghai", "rotterdam_port", p)) / NM) for p in REF}
EFFECTIVE_KN = 10600.0 / (35 * 24)  # A403: typical Suez loop 35 days Shanghai->Rotterdam (S401)

# Sailings per week (A406): weekly loops x share of loops calling each port.
NE_LOOPS, MED_LOOPS = 26.0, 12.0
CN_CALL = {"shanghai": 0.9, "ningbo": 0.8, "shenzhen": 0.7, "qingdao": 0.4, "tianjin": 0.2}
EU_CALL = {"rotterdam_port": 0.9, "antwerp": 0.6, "hamburg_port": 0.6, "gdansk": 0.15, "piraeus": 0.4, "koper": 0.2}
# 2024 rates, USD per TEU (years/year_inputs.csv; A407)
RATE = {
    ("north_europe", "westbound"): 2288.0,
    ("mediterranean", "westbound"): 2210.0,
    ("north_europe", "eastbound"): 335.0,
    ("mediterranean", "eastbound"): 335.0,
}

features = []


def add(props, coords):
    features.append(
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
        }
    )


for cn in CN_OUT:
    for eu in EU_CALL:
        region = "mediterranean" if eu in MED_PORTS else "north_europe"
        loops = MED_LOOPS if region == "mediterranean" else NE_LOOPS
        freq = round(loops * CN_CALL[cn] * EU_CALL[eu], 2)
        for passage in ("suez", "cape"):
            coords = lane(cn, eu, passage)
            nm = round(km(coords) / NM * scale[passage], -1)
            for direction in ("westbound", "eastbound"):
                a, b = (cn, eu) if direction == "westbound" else (eu, cn)
                cs = coords if direction == "westbound" else coords[::-1]
                add(
                    {
                        "id": f"{a}-{b}-{passage}",
                        "from": a,
                        "to": b,
                        "corridor": "maritime",
                        "route": passage,
                        "mode": "sea",
                        "gauge_mm": None,
                        "country": None,
                        "speed_kmh": None,
                        "running_h": round(nm / EFFECTIVE_KN, 1),
                        "frequency_per_week": freq,
                        "tariff_usd_per_teu_km": None,
                        "tariff_usd": RATE[(region, direction)],
                        "capacity_teu": None,
                        "status": "operating",
                        "opening_year": None,
                        "passage": passage,
                        "oneway": True,
                        "direction": direction,
                        "rate_region": region,
                        "distance_nm": nm,
                        "distance_km": round(nm * NM, 0),
                        "sources": "S401,S402,S403,S404,A402,A403,A406,A407",
                    },
                    cs,
                )

# ---------------------------------------------------------------- inland legs
CN_RAIL = dict(speed_kmh=59.0, tariff_usd_per_teu_km=0.3064, tariff_usd=69.5)  # A14; A408
EU_RAIL = dict(speed_kmh=18.0, tariff_usd_per_teu_km=0.3278, tariff_usd=None)  # A15, A17
ROAD = dict(speed_kmh=35.0, tariff_usd_per_teu_km=0.6, tariff_usd=None)  # A111
INLAND = [
    # id, from, to, mode, country, route, waypoints between the end nodes, params, sources
    (
        "zhengzhou-qingdao",
        "zhengzhou",
        "qingdao",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(115.5, 35.25), (117.0, 36.65), (118.05, 36.8), (119.1, 36.7)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "chongqing-ningbo",
        "chongqing",
        "ningbo",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(108.4, 30.8), (111.3, 30.7), (114.14, 30.64), (116.0, 29.7), (118.3, 29.7), (120.15, 30.25)],
        CN_RAIL,
        "S410,S411,A14,A408,A409",
    ),
    (
        "wuhan-shanghai",
        "wuhan",
        "shanghai",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(117.28, 31.86), (118.8, 32.05), (120.6, 31.3)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "hefei-shanghai",
        "hefei",
        "shanghai",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(118.8, 32.05), (120.6, 31.3)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "yiwu-ningbo",
        "yiwu",
        "ningbo",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(120.65, 29.1), (121.2, 29.6)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    ("yiwu-ningbo-road", "yiwu", "ningbo", "road", "CHN", "cn_drayage", [(120.8, 29.6)], ROAD, "S131,S412,A111,A409"),
    (
        "changsha-shenzhen",
        "changsha",
        "shenzhen",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(112.6, 26.9), (113.6, 24.8), (113.26, 23.13)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "beijing-tianjin",
        "beijing",
        "tianjin",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(117.2, 39.12)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "beijing-tianjin-road",
        "beijing",
        "tianjin",
        "road",
        "CHN",
        "cn_drayage",
        [(117.0, 39.3)],
        ROAD,
        "S131,S412,A111,A409",
    ),
    (
        "shenyang-tianjin",
        "shenyang",
        "tianjin",
        "rail",
        "CHN",
        "cn_sea_rail",
        [(121.1, 41.1), (119.75, 40.0), (118.18, 39.63)],
        CN_RAIL,
        "S410,A14,A408,A409",
    ),
    (
        "rotterdam_port-rotterdam",
        "rotterdam_port",
        "rotterdam",
        "rail",
        "NLD",
        "eu_hinterland",
        [(4.2, 51.93)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "antwerp-essen_bel",
        "antwerp",
        "essen_bel",
        "rail",
        "BEL",
        "eu_hinterland",
        [(4.42, 51.36)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "essen_bel-roosendaal",
        "essen_bel",
        "roosendaal",
        "rail",
        "BEL|NLD",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "roosendaal-rotterdam",
        "roosendaal",
        "rotterdam",
        "rail",
        "NLD",
        "eu_hinterland",
        [(4.6, 51.66), (4.55, 51.8)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "hamburg_port-hamburg",
        "hamburg_port",
        "hamburg",
        "rail",
        "DEU",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "gdansk-warsaw",
        "gdansk",
        "warsaw",
        "rail",
        "POL",
        "eu_hinterland",
        [(19.0, 53.85), (20.2, 53.0), (20.7, 52.6)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "piraeus-idomeni",
        "piraeus",
        "idomeni",
        "rail",
        "GRC",
        "eu_hinterland",
        [(23.0, 38.4), (22.4, 38.9), (22.42, 39.64), (22.6, 40.3), (22.94, 40.64), (22.6, 40.95)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "idomeni-gevgelija",
        "idomeni",
        "gevgelija",
        "rail",
        "GRC|MKD",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "gevgelija-tabanovce",
        "gevgelija",
        "tabanovce",
        "rail",
        "MKD",
        "eu_hinterland",
        [(22.0, 41.7), (21.45, 42.0)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "tabanovce-presevo",
        "tabanovce",
        "presevo",
        "rail",
        "MKD|SRB",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "presevo-kelebija",
        "presevo",
        "kelebija",
        "rail",
        "SRB",
        "eu_hinterland",
        [(21.9, 43.32), (21.2, 43.9), (20.46, 44.8), (19.85, 45.25), (19.67, 46.1)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "koper-hodos",
        "koper",
        "hodos",
        "rail",
        "SVN",
        "eu_hinterland",
        [(14.0, 45.7), (14.5, 46.05), (15.2, 46.1), (15.65, 46.4), (16.15, 46.4)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "hodos-oriszentpeter",
        "hodos",
        "oriszentpeter",
        "rail",
        "SVN|HUN",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "oriszentpeter-budapest",
        "oriszentpeter",
        "budapest",
        "rail",
        "HUN",
        "eu_hinterland",
        [(16.85, 46.84), (17.9, 47.1), (18.4, 47.2)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "koper-sezana",
        "koper",
        "sezana",
        "rail",
        "SVN",
        "eu_hinterland",
        [(13.95, 45.66)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "sezana-villa_opicina",
        "sezana",
        "villa_opicina",
        "rail",
        "SVN|ITA",
        "eu_hinterland",
        [],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
    (
        "villa_opicina-milan",
        "villa_opicina",
        "milan",
        "rail",
        "ITA",
        "eu_hinterland",
        [(13.0, 45.85), (12.24, 45.48), (11.0, 45.44), (10.2, 45.54)],
        EU_RAIL,
        "S21,S4,A15,A17,A410",
    ),
]
for lid, a, b, mode, country, route, via, params, sources in INLAND:
    coords = [pos[a], *via, pos[b]]
    add(
        {
            "id": lid,
            "from": a,
            "to": b,
            "corridor": "maritime",
            "route": route,
            "mode": mode,
            "gauge_mm": 1435 if mode == "rail" else None,
            "country": country,
            "speed_kmh": params["speed_kmh"],
            "running_h": None,
            "frequency_per_week": None,
            "tariff_usd_per_teu_km": params["tariff_usd_per_teu_km"],
            "tariff_usd": params["tariff_usd"],
            "capacity_teu": None,
            "status": "operating",
            "opening_year": None,
            "sources": sources,
        },
        coords,
    )

out = ['{"type": "FeatureCollection", "features": [']
for k, f in enumerate(features):
    out.append(json.dumps(f, ensure_ascii=False) + ("," if k < len(features) - 1 else ""))
out.append("]}")
(G / "links" / "maritime.geojson").write_text("\n".join(out) + "\n", encoding="utf-8")
print(f"wrote {len(features)} links")
