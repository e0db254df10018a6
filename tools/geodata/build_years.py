# ruff: noqa: E501  (long description strings are data, kept on one line each)
"""Build the year tables of issue 11 (``geodata/years/*.csv``) from the figures of SOURCES.md.

The arithmetic of A411-A421 in one place: rerun after changing a figure, then
``corridors validate``.  Run:  python tools/geodata/build_years.py [GEODATA_DIR]
"""

import csv
import sys
from pathlib import Path

Y = (Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "geodata") / "years"
YEARS = range(2019, 2026)


def write(name, header, rows):
    with open(Y / name, "w", newline="", encoding="utf-8") as h:
        w = csv.writer(h, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


# ------------------------------------------------------------------ demand by mode
asia_eu = {
    2019: 16.676,
    2020: 15.759,
    2021: 15.57,
    2022: 15.38,
    2023: 16.577,
    2024: round(16.577 * 1.078, 3),
    2025: round(16.577 * 1.078 * 1.09, 3),
}
eu_asia = {2019: 8.130, 2020: 8.193, 2021: 7.90, 2022: 6.72, 2023: 6.472, 2024: 6.34, 2025: 5.90}
gc_wb = {2019: 0.727, 2020: 0.742, 2021: 0.742, 2022: 0.742, 2023: 0.754, 2024: 0.777, 2025: 0.80}
cn_eb = {2019: 0.479, 2020: 0.51, 2021: 0.51, 2022: 0.51, 2023: 0.494, 2024: 0.494, 2025: 0.494}
EU_SHARE = 0.78
# KZ-RU-BY transit, TEU: (westbound, eastbound); ERAI's China-EU definition, as demand.csv (A412).
# 2023 is 2024 over ERAI's 2024 growth rates (+130.8 % westbound, -26.7 % eastbound, S441); the
# two directions add up to S20's two-way 211,000.
era = {
    2019: (round(333000 * 0.607), round(333000 * 0.393)),
    2020: (round(546900 * 0.607), round(546900 * 0.393)),
    2021: (420000, 272000),
    2022: (round(411000 * 0.607), round(411000 * 0.393)),
    2023: (round(330704 / 2.308), round(49730 / 0.733)),
    2024: (330704, 49730),
}
g25 = 20000 * 107.1 / 2077216
era[2025] = (round(era[2024][0] * g25), round(era[2024][1] * g25))
other = {y: (0.05 if y < 2022 else 0.16) for y in YEARS}
sea_basis = {
    2019: "S413,A411",
    2020: "S413,A411",
    2021: "S413,A411",
    2022: "S413,A411",
    2023: "S413,A411",
    2024: "S413,A411",
    2025: "S413,S414,A411",
}
land_basis = {
    2019: "S427,A412",
    2020: "S427,A412",
    2021: "S427,S428,A412",
    2022: "S19,S427,A412",
    2023: "S20,S441,A412",
    2024: "S35,S441,A23,A412",
    2025: "S2,S211,S441,A412",
}
rows = []
summary = {}
for y in YEARS:
    sea_wb = round(asia_eu[y] * 1e6 * gc_wb[y] * EU_SHARE, -2)
    sea_eb = round(eu_asia[y] * 1e6 * cn_eb[y] * EU_SHARE, -2)
    land_wb = round(era[y][0] * (1 + other[y]), -2)
    land_eb = round(era[y][1] * (1 + other[y]), -2)
    summary[y] = (sea_wb, sea_eb, land_wb, land_eb)
    for direction, o, d, sea, land in (
        ("china_europe", "CHN", "EU27", sea_wb, land_wb),
        ("europe_china", "EU27", "CHN", sea_eb, land_eb),
    ):
        sdef = (
            "loaded TEU, sea, CTS/JMC Asia-Europe series (one vintage) x China share x EU27 share"
            if direction == "china_europe"
            else "loaded TEU, sea, CTS/JMC Europe-Asia series x China share x EU27 share"
        )
        rows.append([y, direction, "sea", o, d, f"{sea:.0f}", sdef, sea_basis[y]])
        rows.append(
            [
                y,
                direction,
                "land",
                o,
                d,
                f"{land:.0f}",
                "TEU by rail between China and EU27: KZ-RU-BY transit (UTLC ERA) plus other land routes",
                land_basis[y],
            ]
        )
        rows.append(
            [
                y,
                direction,
                "all",
                o,
                d,
                f"{sea + land:.0f}",
                "sea + land (air excluded)",
                f"{sea_basis[y]},{land_basis[y]}",
            ]
        )
write(
    "demand_all_modes.csv",
    ["year", "direction", "mode", "origin_region", "destination_region", "teu", "definition", "basis"],
    rows,
)

# regional split of the sea demand (all years; shares sum to 1 per year, direction and side)
CN = {"shanghai": 51.5, "ningbo": 39.3, "shenzhen": 33.4, "qingdao": 30.9, "tianjin": 23.3}
tot = sum(CN.values())
cn_share = {k: round(v / tot, 3) for k, v in CN.items()}
cn_share["tianjin"] = round(1 - sum(v for k, v in cn_share.items() if k != "tianjin"), 3)
rows = []
for y in YEARS:
    for direction, cn_side, eu_side, eu_split in (
        ("china_europe", "origin", "destination", (0.70, 0.30)),
        ("europe_china", "destination", "origin", (0.75, 0.25)),
    ):
        for port, s in cn_share.items():
            rows.append([y, direction, cn_side, port, "CHN", f"{s:.3f}", "S405,A421"])
        rows.append([y, direction, eu_side, "north_europe", "EU27", f"{eu_split[0]:.2f}", "S413,A421"])
        rows.append([y, direction, eu_side, "mediterranean", "EU27", f"{eu_split[1]:.2f}", "S413,A421"])
write("sea_regions.csv", ["year", "direction", "side", "region", "country_group", "share", "basis"], rows)

# ------------------------------------------------------------------ year inputs (long)
ne = {
    2019: (1623, 1),
    2020: (2237, 2),
    2021: (10768, 2),
    2022: (9004, 4),
    2023: (1516, 7),
    2024: (4576, 8),
    2025: (2952, 7),
}
med = {2019: 1552, 2020: 2737, 2021: 10763, 2022: 6497, 2023: 2104, 2024: 4420, 2025: 3463}
eb = {2019: 890, 2020: 1197, 2021: 1552, 2022: 1262, 2023: 587, 2024: 670, 2025: 498}
scfi = {2019: 759}
suez = {
    2019: (1, 0.0, 18880),
    2020: (1, 0.0, 18830),
    2021: (1, 0.0, 20694),
    2022: (1, 0.0, 23851),
    2023: (1, 0.04, 26400),
    2024: (0, 1.0, 13200),
    2025: (0, 1.0, None),
}
russia = {2019: (0, 0), 2020: (0, 0), 2021: (0, 0), 2022: (1, 0), 2023: (1, 1), 2024: (1, 1), 2025: (1, 1)}
subsidy = {2019: 0.40, 2020: 0.30, 2021: 0.20, 2022: 0.0, 2023: 0.0, 2024: 0.0, 2025: 0.0}
# A425: 5 % common (China and EU27 shares of the JMC regions, judgement) with the year's own
# spread (series vintages 0.5 %; 2021 interpolated 1.2 %; 2024 JMC vs CTS 2.4 %; 2025
# extrapolated from four months 4 %), in quadrature
demand_sd = {2019: 0.050, 2020: 0.050, 2021: 0.051, 2022: 0.050, 2023: 0.050, 2024: 0.055, 2025: 0.064}
rows = []
for y in YEARS:
    r = ne[y][0]
    rows.append(
        [
            y,
            "sea_rate_wb_north_europe_usd_per_feu",
            r,
            "USD/FEU",
            f"Drewry WCI Shanghai-Rotterdam spot, representative level: mean of {ne[y][1]} weekly reading(s)",
            "S404,A415",
        ]
    )
    rows.append(
        [
            y,
            "sea_rate_wb_mediterranean_usd_per_feu",
            med[y],
            "USD/FEU",
            "Drewry WCI Shanghai-Genoa spot, representative level",
            "S404,A415",
        ]
    )
    rows.append(
        [
            y,
            "sea_rate_eb_usd_per_feu",
            eb[y],
            "USD/FEU",
            "Drewry WCI Rotterdam-Shanghai spot (backhaul), representative level",
            "S404,A415",
        ]
    )
    rows.append(
        [
            y,
            "sea_rate_wb_usd_per_teu",
            round(r / 2),
            "USD/TEU",
            "model input: Shanghai-Rotterdam level per TEU carried in 40 ft boxes (FEU rate / 2, as A3)",
            "S404,A3,A415",
        ]
    )
    rows.append(
        [
            y,
            "sea_rate_eb_usd_per_teu",
            round(eb[y] / 2),
            "USD/TEU",
            "model input: Rotterdam-Shanghai level per TEU (FEU rate / 2)",
            "S404,A3,A415",
        ]
    )
    if y in scfi:
        rows.append(
            [
                y,
                "scfi_europe_usd_per_teu",
                scfi[y],
                "USD/TEU",
                "SCFI Shanghai-Europe base port, annual average (excludes THC); cross-check only",
                "S416",
            ]
        )
    rows.append(
        [
            y,
            "suez_open",
            suez[y][0],
            "flag",
            "1 if the Asia-Europe mainline loops used Suez for most of the year, 0 if they went round the Cape",
            "S419,S420,A416",
        ]
    )
    rows.append(
        [
            y,
            "cape_share",
            suez[y][1],
            "share",
            "share of the year's Asia-Europe mainline capacity routed via the Cape of Good Hope",
            "S419,S420,A416",
        ]
    )
    if suez[y][2] is not None:
        rows.append(
            [
                y,
                "suez_transits_ships",
                suez[y][2],
                "ships",
                "Suez Canal transits, calendar year, all ship types (SCA); context only",
                "S418",
            ]
        )
    rows.append(
        [
            y,
            "russia_transit_term_active",
            russia[y][0],
            "flag",
            "1 if the Russia-transit term applies to EU-bound and EU-origin land cargo crossing Russia or Belarus",
            "S421,S423,A417",
        ]
    )
    rows.append(
        [
            y,
            "russia_dual_use_transit_ban_eastbound",
            russia[y][1],
            "flag",
            "1 if the EU ban on transit of EU-exported dual-use goods via Russia is in force (10th package, 25 Feb 2023)",
            "S421,A417",
        ]
    )
    rows.append(
        [
            y,
            "cr_express_subsidy_cap_share",
            subsidy[y],
            "share",
            "formal cap of CR Express subsidies as a share of the rail freight cost",
            "S424,A418",
        ]
    )
    rows.append(
        [
            y,
            "demand_all_relative_sd",
            demand_sd[y],
            "share",
            "relative uncertainty (sd of the log) of the year's all-mode China-EU27 demand, both directions; drawn "
            "by sweeps with a model year",
            "S413,S414,S415,A411,A425",
        ]
    )
write("year_inputs.csv", ["year", "variable", "value", "unit", "definition", "basis"], rows)

# ------------------------------------------------------------------ cargo classes
rows = [
    ["time_sensitive", "china_europe", "0.20", "108000", "1.85", "94.5", "10.0", "S432,S433,S209,S436,A414"],
    ["standard", "china_europe", "0.80", "40500", "0.69", "10.1", "1.5", "S432,S433,S209,A414"],
    ["time_sensitive", "europe_china", "0.15", "108000", "1.85", "94.5", "10.0", "S433,S209,A414"],
    ["standard", "europe_china", "0.85", "44600", "0.76", "11.2", "1.5", "S433,S209,A414"],
]
write(
    "cargo_classes.csv",
    [
        "class",
        "direction",
        "teu_share",
        "value_usd_per_teu",
        "vot_low_usd_per_teu_h",
        "vot_high_usd_per_teu_h",
        "vot_prior_usd_per_teu_h",
        "basis",
    ],
    rows,
)

FIT = {2019, 2024}
H = [
    "id",
    "year",
    "value",
    "unit",
    "teu_per_unit",
    "bound",
    "direction",
    "segment",
    "crossing",
    "definition",
    "role",
    "reliability",
    "basis",
]
CRX = "China Railway China-Europe trains (Zhong-Ou banlie), incl. trains ending in Russia and Belarus, excl. China-Central Asia"
R = [
    # CR Express TEU
    (
        "cr_express_teu",
        2019,
        725000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU",
        "weak",
        "S426,A419",
    ),
    (
        "cr_express_teu",
        2020,
        1140000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU",
        "strong",
        "S426",
    ),
    (
        "cr_express_teu",
        2021,
        1460000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU",
        "strong",
        "S426",
    ),
    (
        "cr_express_teu",
        2022,
        1609000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU; January-November 1.475 m x 12/11",
        "derived",
        "S426,A419",
    ),
    (
        "cr_express_teu",
        2023,
        1902000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU; 2024 total / 1.092 (CRCT growth rate)",
        "derived",
        "S2,A419",
    ),
    (
        "cr_express_teu",
        2024,
        2077216,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; TEU",
        "strong",
        "S2",
    ),
    (
        "cr_express_trains",
        2019,
        8225,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains",
        "weak",
        "S426,A201,A419",
    ),
    (
        "cr_express_trains",
        2020,
        12400,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains",
        "strong",
        "S426,A201",
    ),
    (
        "cr_express_trains",
        2021,
        15000,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains",
        "strong",
        "S426,A201",
    ),
    (
        "cr_express_trains",
        2022,
        16000,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains (Lloyd's List 'about 16,000'; January-November 15,162)",
        "weak",
        "S426,A201",
    ),
    (
        "cr_express_trains",
        2023,
        17520,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains; 2024 count / 1.107",
        "derived",
        "S2,A201,A419",
    ),
    (
        "cr_express_trains",
        2024,
        19392,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains",
        "strong",
        "S2,A201",
    ),
    (
        "cr_express_trains",
        2025,
        20000,
        "trains",
        107.1,
        "lower",
        "both",
        "china_europe|europe_china",
        "",
        CRX + "; trains ('more than 20,000'); the TEU total of this definition was not published",
        "strong",
        "S211,A201",
    ),
    # ERAI / UTLC ERA transit
    (
        "erai_transit",
        2019,
        333000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "UTLC ERA China-Europe-China transit through KZ, RU and BY, both directions",
        "strong",
        "S427",
    ),
    (
        "erai_transit",
        2020,
        546900,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "UTLC ERA transit through KZ, RU and BY, both directions (UTLC had 90-91 % of this traffic)",
        "strong",
        "S427",
    ),
    (
        "erai_transit",
        2021,
        692000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "UTLC ERA traffic 2021 = 2022's 681,000 / 0.984; before 2022 nearly all UTLC traffic was China-EU transit (H1 2021 336,598)",
        "derived",
        "S19,S427,A419",
    ),
    (
        "erai_transit",
        2022,
        411000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "China-EU-China transit through all three 1520 mm states",
        "strong",
        "S19",
    ),
    (
        "erai_transit",
        2023,
        211000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "ERAI China-EU-China transit through KZ, RU and BY, both directions (2024's 380,434 is +80.2 % on it: 211,100)",
        "strong",
        "S20,S441",
    ),
    (
        "erai_transit",
        2024,
        380434,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "KAZ|RUS|BLR",
        "ERAI China-EU-China transit through KZ, RU and BY, both directions (330,704 + 49,730)",
        "strong",
        "S35,S441",
    ),
    (
        "erai_westbound",
        2021,
        420000,
        "TEU",
        1,
        "exact",
        "westbound",
        "china_europe",
        "KAZ|RUS|BLR",
        "UTLC ERA China-to-Europe transit, the route's maximum year",
        "strong",
        "S428",
    ),
    (
        "erai_westbound",
        2024,
        330704,
        "TEU",
        1,
        "exact",
        "westbound",
        "china_europe",
        "KAZ|RUS|BLR",
        "ERAI China-to-EU transit (not UTLC's broader China-to-Europe 412,000, S428)",
        "strong",
        "S35,S441",
    ),
    (
        "erai_eastbound",
        2024,
        49730,
        "TEU",
        1,
        "exact",
        "eastbound",
        "europe_china",
        "KAZ|RUS|BLR",
        "ERAI EU-to-China transit",
        "strong",
        "S35,S441",
    ),
    # Middle Corridor
    (
        "middle_corridor_tonnes",
        2019,
        759000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport), all commodities; mostly Kazakh exports",
        "strong",
        "S431,A211",
    ),
    (
        "middle_corridor_tonnes",
        2020,
        783000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S431,A211",
    ),
    (
        "middle_corridor_tonnes",
        2021,
        586000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S431,A211",
    ),
    (
        "middle_corridor_tonnes",
        2022,
        1485000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S431,A211",
    ),
    (
        "middle_corridor_tonnes",
        2023,
        2764000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S431,S204,A211",
    ),
    (
        "middle_corridor_tonnes",
        2024,
        4484000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S204,A211",
    ),
    (
        "middle_corridor_tonnes",
        2025,
        4119000,
        "t",
        0.1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR tonnes (Kazakh Ministry of Transport)",
        "strong",
        "S431,A211",
    ),
    (
        "middle_corridor_teu",
        2021,
        25200,
        "TEU",
        1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR containers, all origins, both directions",
        "strong",
        "S431",
    ),
    (
        "middle_corridor_teu",
        2024,
        56500,
        "TEU",
        1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR containers (TITR association), all origins, both directions",
        "strong",
        "S203",
    ),
    (
        "middle_corridor_teu",
        2025,
        77000,
        "TEU",
        1,
        "exact",
        "both",
        "",
        "aktau|kuryk",
        "TITR containers (Kazakh ministry, 'about 77,000')",
        "strong",
        "S431",
    ),
    (
        "middle_corridor_trains",
        2023,
        11,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "aktau|kuryk|turkmenbashi",
        "container block trains from China via the Middle Corridor",
        "strong",
        "S431,A201",
    ),
    (
        "middle_corridor_trains",
        2024,
        310,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "aktau|kuryk|turkmenbashi",
        "container block trains from China through Baku port",
        "strong",
        "S207,A201",
    ),
    (
        "middle_corridor_trains",
        2025,
        371,
        "trains",
        107.1,
        "partial",
        "both",
        "china_europe|europe_china",
        "aktau|kuryk|turkmenbashi",
        "China Railway 'southern corridor' CR Express trains, January-October 2025",
        "strong",
        "S431,A201",
    ),
    # gateways (trains, both directions)
    (
        "xinjiang",
        2021,
        12210,
        "trains",
        107.1,
        "exact",
        "both",
        "",
        "alashankou|dostyk|altynkol",
        "trains crossing Alashankou and Horgos, China-Europe and China-Central Asia",
        "strong",
        "S430,A201",
    ),
    (
        "xinjiang",
        2024,
        16400,
        "trains",
        107.1,
        "exact",
        "both",
        "",
        "alashankou|dostyk|altynkol",
        "trains crossing Alashankou and Horgos, China-Europe and China-Central Asia",
        "strong",
        "S9,A201",
    ),
    (
        "khorgos",
        2022,
        7000,
        "trains",
        107.1,
        "lower",
        "both",
        "",
        "altynkol",
        "trains crossing Horgos ('more than 7,000'), incl. China-Central Asia",
        "strong",
        "S430,A201",
    ),
    (
        "khorgos",
        2024,
        8541,
        "trains",
        107.1,
        "partial",
        "both",
        "",
        "altynkol",
        "trains crossing Horgos to 24 December 2024, incl. China-Central Asia",
        "strong",
        "S9,A201",
    ),
    (
        "erenhot",
        2019,
        1450,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "erenhot|zamyn_uud",
        "China-Europe transit trains through Mongolia (Mongolian side count)",
        "strong",
        "S430,A201",
    ),
    (
        "erenhot",
        2021,
        2531,
        "trains",
        107.1,
        "partial",
        "both",
        "china_europe|europe_china",
        "erenhot|zamyn_uud",
        "CR Express trains via Erenhot to 5 December 2021",
        "strong",
        "S430,A201",
    ),
    (
        "erenhot",
        2023,
        3000,
        "trains",
        107.1,
        "lower",
        "both",
        "china_europe|europe_china",
        "erenhot|zamyn_uud",
        "CR Express trains via Erenhot, more than 3,000 by 28 November",
        "strong",
        "S430,A201",
    ),
    (
        "erenhot",
        2024,
        3421,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "erenhot|zamyn_uud",
        "as observed.csv erenhot (pro rata to year end)",
        "derived",
        "S23,A201,A208",
    ),
    (
        "erenhot",
        2025,
        3500,
        "trains",
        107.1,
        "lower",
        "both",
        "china_europe|europe_china",
        "erenhot|zamyn_uud",
        "more than 3,500 by 20 November 2025",
        "strong",
        "S430,A201",
    ),
    (
        "manzhouli",
        2020,
        3500,
        "trains",
        107.1,
        "lower",
        "both",
        "china_europe|europe_china",
        "manzhouli|zabaikalsk",
        "CR Express trains via Manzhouli, 'more than 3,500'",
        "strong",
        "S430,A201",
    ),
    (
        "manzhouli",
        2022,
        382058,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "manzhouli|zabaikalsk",
        "CR Express TEU via Manzhouli (customs data); 4,818 trains",
        "strong",
        "S430",
    ),
    (
        "manzhouli",
        2023,
        540000,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "manzhouli|zabaikalsk",
        "CR Express TEU via Manzhouli; 5,001 trains",
        "strong",
        "S22",
    ),
    (
        "manzhouli",
        2024,
        5061,
        "trains",
        107.1,
        "exact",
        "both",
        "china_europe|europe_china",
        "manzhouli|zabaikalsk",
        "as observed.csv manzhouli (2023 count x January-May 2024 growth)",
        "derived",
        "S22,A201,A208",
    ),
    (
        "suifenhe",
        2024,
        90814,
        "TEU",
        1,
        "exact",
        "both",
        "china_europe|europe_china",
        "suifenhe|grodekovo",
        "as observed.csv suifenhe (pro rata to year end)",
        "derived",
        "S24,A208",
    ),
]
with open(Y / "observed_years.csv", "w", newline="", encoding="utf-8") as h:
    w = csv.writer(h, lineterminator="\n")
    w.writerow(H)
    for i, y, v, u, t, b, d, s, c, df, rel, basis in sorted(R, key=lambda r: (r[0], r[1])):
        w.writerow([i, y, v, u, t, b, d, s, c, df, "fitted" if y in FIT else "predicted", rel, basis])

C = ["year", "date", "until", "kind", "elements", "value", "description", "basis"]
rows = [
    (
        2020,
        "2020-01",
        "2022-02-24",
        "route_open",
        "",
        "",
        "First Xi'an-Sławków train via KZ-RU-UA on the LHS broad-gauge line; via Ukraine not in the network; service ended with the war (inference)",
        "S439,A420",
    ),
    (
        2021,
        "2021-11-21",
        "",
        "border_closed",
        "",
        "",
        "Polish notice suspending rail freight at Kuźnica Białostocka (Bruzgi-Kuźnica, not in the network); reopening date not found",
        "S437,A420",
    ),
    (
        2022,
        "2022-02-24",
        "",
        "policy",
        "RUS|BLR",
        "",
        "War in Ukraine: sanctions packages, SWIFT exclusions, forwarders suspend Russia transit (Russia-transit term from 2022, year_inputs.csv)",
        "S421,S423,A417",
    ),
    (
        2022,
        "2022-04-08",
        "",
        "road_ban",
        "RUS|BLR",
        "",
        "5th package: Russian and Belarusian road hauliers banned from EU roads; rail excluded",
        "S421,A420",
    ),
    (
        2023,
        "2023-02-25",
        "",
        "policy",
        "RUS",
        "",
        "10th package: transit via Russia of EU-exported dual-use goods prohibited (eastbound EU-origin cargo)",
        "S421,A417",
    ),
    (
        2023,
        "2023-04",
        "",
        "allocation",
        "khorgos|altynkol",
        "",
        "China-Central Asia trains routed via Khorgos-Altynkol while Alashankou is upgraded",
        "S212",
    ),
    (
        2023,
        "2023-12-16",
        "",
        "sea_passage",
        "maritime:suez",
        "0",
        "Main carriers stop Red Sea transits; Asia-Europe loops go round the Cape (cape_share in year_inputs.csv)",
        "S419,A416",
    ),
    (
        2024,
        "2024-10-15",
        "",
        "policy",
        "RUS",
        "",
        "Russian Decree 1374 widens goods prohibited from transit (machinery, electronics); containers inspected and confiscated",
        "S422,A417",
    ),
    (
        2025,
        "2025-03",
        "",
        "sailings",
        "gdansk",
        "3",
        "Gemini network (Cape-based) with 3 weekly Gdańsk calls from end-March 2025; MSC Far East services from April 2025",
        "S420,S440,A406",
    ),
    (
        2025,
        "2025-07-01",
        "",
        "capacity",
        "alashankou",
        "28",
        "Dostyk-Alashankou train exchange raised from 14 to 28 trains/day",
        "S7,A420",
    ),
    (
        2025,
        "2025-09-12",
        "2025-09-25",
        "border_closed",
        "brest|malaszewicze",
        "13",
        "All Poland-Belarus road and rail crossings closed for 13 days (300+ trains stranded)",
        "S437,A420",
    ),
    (
        2025,
        "2025-09-30",
        "",
        "link_open",
        "dostyk-moyynty-2nd",
        "",
        "Dostyk-Moyynty second track fully opened (in the East-West layer with status 'operating', so in service in every model year until issue 10 item 7)",
        "S31,S108,A420",
    ),
]
with open(Y / "network_changes.csv", "w", newline="", encoding="utf-8") as h:
    w = csv.writer(h, lineterminator="\n")
    w.writerow(C)
    w.writerows(rows)
