"""Data of the Middle Corridor, North-South and East-West layers: nodes and link alignments.

``build.py`` writes them (with the Belt and Road layer of ``belt_and_road_data.py``) into
``geodata/``.  Positions are (lon, lat), hand-digitised from gazetteer knowledge, approximate
(+-5 km for stations; alignments follow the named intermediate stations); see SOURCES.md, A101.
Speeds and tariffs of KAZ/RUS (1520 mm), China and the EU are not set here: ``build.py`` sets
them from the values it derives for the Belt and Road layer (``set_base_rates``), so that all
layers cost the same networks alike (A102, A103).
"""
from __future__ import annotations

# ----------------------------------------------------------------------------------------
# Node defaults by kind / situation (assumption keys in SOURCES.md)
# ----------------------------------------------------------------------------------------


def node(id, name, country, lon, lat, kind="junction", name_local=None, dwell_h=0.0,
         handling_usd=0.0, transfer_h=None, transfer_usd=None, capacity_teu=None,
         status="operating", opening_year=None, sources="A101"):
    return dict(id=id, name=name, name_local=name_local, kind=kind, country=country,
                dwell_h=float(dwell_h), handling_usd=float(handling_usd),
                transfer_h=None if transfer_h is None else float(transfer_h),
                transfer_usd=None if transfer_usd is None else float(transfer_usd),
                capacity_teu=None if capacity_teu is None else float(capacity_teu),
                status=status, opening_year=opening_year, sources=sources,
                _xy=(lon, lat))


def border(id, name, country, lon, lat, **kw):
    """Border station on a same-gauge crossing: half of the crossing time each side (A106)."""
    kw.setdefault("dwell_h", 12.0)
    kw.setdefault("handling_usd", 107.5)
    kw.setdefault("sources", "S120,A101,A106")
    return node(id, name, country, lon, lat, kind="border", **kw)


def gauge(id, name, country, lon, lat, kind="gauge_change", **kw):
    """Break-of-gauge station (A107): transfer 12 h, USD 164.5/TEU."""
    kw.setdefault("dwell_h", 12.0)
    kw.setdefault("handling_usd", 107.5)
    kw.setdefault("transfer_h", 12.0)
    kw.setdefault("transfer_usd", 164.5)
    kw.setdefault("sources", "S119,S120,A101,A106,A107")
    return node(id, name, country, lon, lat, kind=kind, **kw)


def port(id, name, country, lon, lat, **kw):
    """Sea/lake port: rail<->ship handling (A108)."""
    kw.setdefault("dwell_h", 24.0)
    kw.setdefault("handling_usd", 0.0)
    kw.setdefault("transfer_h", 24.0)
    kw.setdefault("transfer_usd", 150.0)
    return node(id, name, country, lon, lat, kind="port", **kw)


def hub(id, name, country, lon, lat, **kw):
    """Rail (and road) hub where a rail<->road transfer is possible (A111)."""
    kw.setdefault("transfer_h", 12.0)
    kw.setdefault("transfer_usd", 100.0)
    kw.setdefault("sources", "A101,A111")
    return node(id, name, country, lon, lat, kind="hub", **kw)


# Nodes of these layers (the Belt and Road nodes they join are in belt_and_road_data.py).
MINE = [
    # --- Kazakhstan: TITR west of Shu / Moyynty
    hub("taraz", "Taraz", "KAZ", 71.38, 42.90, name_local="Тараз"),
    hub("shymkent", "Shymkent", "KAZ", 69.60, 42.32, name_local="Шымкент"),
    node("arys", "Arys", "KAZ", 68.80, 42.43, name_local="Арыс"),
    hub("kyzylorda", "Kyzylorda", "KAZ", 65.50, 44.85, name_local="Қызылорда"),
    node("saksaulskaya", "Saksaulskaya", "KAZ", 61.17, 47.08, name_local="Саксаульская"),
    node("shalkar", "Shalkar", "KAZ", 59.62, 47.83, name_local="Шалқар"),
    node("zhezkazgan", "Zhezkazgan", "KAZ", 67.75, 47.80, name_local="Жезқазған"),
    node("beyneu", "Beyneu", "KAZ", 55.19, 45.32, name_local="Бейнеу"),
    node("mangyshlak", "Mangyshlak (Mangystau)", "KAZ", 51.33, 43.74, name_local="Мангышлак"),
    port("aktau", "Aktau port", "KAZ", 51.20, 43.60, name_local="Ақтау",
         capacity_teu=140000, sources="S103,S107,A101,A108"),
    port("kuryk", "Kuryk port", "KAZ", 51.67, 43.18, name_local="Құрық",
         capacity_teu=60000, sources="S107,A101,A108,A110"),
    node("zhanaozen", "Zhanaozen (Uzen)", "KAZ", 52.86, 43.34, name_local="Жаңаөзен"),
    border("bolashak", "Bolashak", "KAZ", 54.05, 42.38, name_local="Болашақ",
           sources="S114,S115,S120,A101,A106"),
    node("makat", "Makat", "KAZ", 53.33, 47.65, name_local="Мақат"),
    hub("atyrau", "Atyrau", "KAZ", 51.92, 47.10, name_local="Атырау"),
    border("ganyushkino", "Ganyushkino", "KAZ", 49.25, 46.60, name_local="Ганюшкино"),
    hub("aktobe", "Aktobe", "KAZ", 57.17, 50.28, name_local="Ақтөбе"),
    border("zhaisan", "Zhaisan (road checkpoint)", "KAZ", 56.19, 50.89, name_local="Жайсан",
           dwell_h=6.0, sources="A101,A106,A111"),
    border("nur_zholy", "Nur Zholy (Khorgos road checkpoint)", "KAZ", 80.37, 44.19,
           name_local="Нұр жолы", dwell_h=12.0, sources="S132,A101,A106,A111"),
    border("saryagash", "Saryagash", "KAZ", 69.15, 41.46, name_local="Сарыағаш"),
    node("darbaza", "Darbaza", "KAZ", 69.30, 41.95, name_local="Дарбаза", sources="S110,A101"),
    node("maktaaral", "Maktaaral", "KAZ", 68.54, 40.66, name_local="Мақтаарал",
         status="under_construction", opening_year=2026, sources="S110,S111,A101"),
    node("ayagoz", "Ayagoz", "KAZ", 80.44, 47.96, name_local="Аягөз"),
    gauge("bakhty", "Bakhty", "KAZ", 82.72, 46.67, name_local="Бақты",
          status="under_construction", opening_year=2027, sources="S109,S120,A101,A106,A107"),
    # --- China
    border("tacheng", "Tacheng (Baketu)", "CHN", 82.85, 46.71, name_local="塔城 (巴克图)",
           status="under_construction", opening_year=2027, sources="S109,A101,A106"),
    hub("kashgar", "Kashgar", "CHN", 75.99, 39.47, name_local="喀什"),
    border("torugart_chn", "Torugart (China side)", "CHN", 75.42, 40.50, name_local="吐尔尕特",
           status="under_construction", opening_year=2030, sources="S112,S113,A101,A106"),
    # --- Kyrgyzstan
    border("torugart_kgz", "Torugart (Kyrgyz side)", "KGZ", 75.36, 40.57, name_local="Торугарт",
           status="under_construction", opening_year=2030, sources="S112,S113,A101,A106"),
    gauge("makmal", "Makmal", "KGZ", 74.15, 41.20, name_local="Макмал",
          status="under_construction", opening_year=2030, sources="S112,S120,A101,A107,A113"),
    border("jalal_abad", "Jalal-Abad", "KGZ", 73.00, 40.93, name_local="Жалал-Абад"),
    # --- Uzbekistan
    border("khanabad", "Khanabad", "UZB", 72.69, 40.80, name_local="Xonobod"),
    hub("andijan", "Andijan", "UZB", 72.34, 40.78, name_local="Andijon"),
    hub("tashkent", "Tashkent", "UZB", 69.24, 41.29, name_local="Toshkent"),
    border("keles", "Keles", "UZB", 69.20, 41.40, name_local="Keles"),
    hub("samarkand", "Samarkand", "UZB", 66.92, 39.66, name_local="Samarqand"),
    hub("bukhara", "Bukhara (Kagan)", "UZB", 64.55, 39.72, name_local="Buxoro"),
    border("alat_uzb", "Alat (Uzbekistan)", "UZB", 63.80, 39.43, name_local="Olot"),
    # --- Turkmenistan
    border("farap", "Farap", "TKM", 63.60, 39.17, name_local="Farap"),
    hub("turkmenabat", "Turkmenabat", "TKM", 63.58, 39.08, name_local="Türkmenabat"),
    hub("mary", "Mary", "TKM", 61.83, 37.60),
    node("tejen", "Tejen", "TKM", 60.50, 37.38, name_local="Tejen"),
    border("sarakhs_tkm", "Sarahs (Turkmenistan)", "TKM", 61.20, 36.55, name_local="Saragt",
           sources="S116,S120,A101,A106"),
    hub("ashgabat", "Ashgabat", "TKM", 58.38, 37.94, name_local="Aşgabat"),
    node("bereket", "Bereket", "TKM", 55.52, 39.24, name_local="Bereket"),
    border("serhetyaka", "Serhetyaka", "TKM", 54.10, 42.30, name_local="Serhetýaka",
           sources="S114,S120,A101,A106"),
    border("etrek", "Etrek", "TKM", 54.77, 37.66, name_local="Etrek",
           sources="S114,S120,A101,A106"),
    port("turkmenbashi", "Turkmenbashi port", "TKM", 52.98, 40.02, name_local="Türkmenbaşy",
         sources="S128,A101,A108"),
    # --- Iran
    gauge("incheh_borun", "Incheh Borun", "IRN", 54.72, 37.45, name_local="اینچه‌برون",
          sources="S114,S120,A101,A106,A107"),
    gauge("sarakhs_irn", "Sarakhs (Iran)", "IRN", 61.15, 36.52, name_local="سرخس",
          sources="S116,S120,A101,A106,A107"),
    hub("gorgan", "Gorgan", "IRN", 54.44, 36.84, name_local="گرگان"),
    node("sari", "Sari", "IRN", 53.06, 36.56, name_local="ساری"),
    hub("tehran", "Tehran", "IRN", 51.40, 35.66, name_local="تهران"),
    hub("mashhad", "Mashhad", "IRN", 59.60, 36.30, name_local="مشهد"),
    hub("qazvin", "Qazvin", "IRN", 50.00, 36.27, name_local="قزوین"),
    hub("tabriz", "Tabriz", "IRN", 46.29, 38.08, name_local="تبریز"),
    border("razi", "Razi", "IRN", 44.56, 38.56, name_local="رازی", sources="S134,S120,A101,A106"),
    hub("rasht", "Rasht", "IRN", 49.58, 37.28, name_local="رشت", sources="A101,A111,S117"),
    gauge("astara_irn", "Astara (Iran)", "IRN", 48.86, 38.42, name_local="آستارا",
          sources="S117,S120,A101,A106,A107"),
    port("anzali", "Bandar Anzali port", "IRN", 49.46, 37.47, name_local="بندر انزلی",
         sources="S129,A101,A108"),
    port("amirabad", "Amirabad port", "IRN", 53.38, 36.86, name_local="بندر امیرآباد",
         sources="S129,A101,A108"),
    # --- Russia
    border("aksaraiskaya", "Aksaraiskaya II", "RUS", 48.05, 46.77, name_local="Аксарайская II"),
    port("astrakhan", "Astrakhan (Solyanka port)", "RUS", 48.03, 46.35, name_local="Астрахань",
         sources="S129,A101,A108"),
    hub("makhachkala", "Makhachkala", "RUS", 47.50, 42.98, name_local="Махачкала"),
    border("samur", "Samur", "RUS", 48.47, 41.86, name_local="Самур"),
    border("sagarchin", "Sagarchin (road checkpoint)", "RUS", 56.12, 51.02,
           name_local="Сагарчин", dwell_h=6.0, sources="A101,A106,A111"),
    hub("orenburg", "Orenburg", "RUS", 55.10, 51.77, name_local="Оренбург"),
    # Iletsk-1 at Sol-Iletsk: the Kazakh railways' border station on the Orenburg-Aktobe line,
    # on Russian soil (A119); 1520 mm on both sides, so no gauge change
    border("iletsk", "Iletsk-1 (Sol-Iletsk)", "RUS", 54.99, 51.16, name_local="Илецк-1",
           sources="S120,S136,A101,A106,A119"),
    hub("kazan", "Kazan", "RUS", 49.12, 55.79, name_local="Казань"),
    # --- Azerbaijan
    port("alat", "Port of Baku (Alat)", "AZE", 49.40, 39.95, name_local="Ələt",
         capacity_teu=100000, sources="S104,A101,A108,A115"),
    border("yalama", "Yalama", "AZE", 48.50, 41.78, name_local="Yalama"),
    border("astara_aze", "Astara (Azerbaijan)", "AZE", 48.87, 38.45, name_local="Astara"),
    border("boyuk_kasik", "Boyuk Kasik", "AZE", 45.08, 41.33, name_local="Böyük Kəsik"),
    # --- Georgia
    border("gardabani", "Gardabani", "GEO", 45.09, 41.45, name_local="გარდაბანი"),
    hub("tbilisi", "Tbilisi", "GEO", 44.80, 41.72, name_local="თბილისი"),
    node("marabda", "Marabda", "GEO", 44.78, 41.48, name_local="მარაბდა"),
    gauge("akhalkalaki", "Akhalkalaki", "GEO", 43.49, 41.40, name_local="ახალქალაქი",
          dwell_h=0.0, handling_usd=0.0, sources="S105,S120,A101,A107"),
    border("kartsakhi", "Kartsakhi", "GEO", 43.27, 41.25, name_local="კარწახი",
           sources="S105,S120,A101,A106"),
    node("samtredia", "Samtredia", "GEO", 42.34, 42.16, name_local="სამტრედია"),
    port("poti", "Poti port", "GEO", 41.67, 42.15, name_local="ფოთი", dwell_h=48.0,
         transfer_usd=250.0, sources="S127,A101,A108"),
    port("batumi", "Batumi port", "GEO", 41.64, 41.65, name_local="ბათუმი", dwell_h=48.0,
         transfer_usd=250.0, sources="S127,A101,A108"),
    # --- Türkiye
    border("cildir", "Çıldır (BTK border section)", "TUR", 43.13, 41.13, name_local="Çıldır",
           sources="S105,S120,A101,A106"),
    hub("kars", "Kars", "TUR", 43.09, 40.61),
    hub("ankara", "Ankara", "TUR", 32.85, 39.94),
    node("sivas", "Sivas", "TUR", 37.02, 39.75),
    border("kapikoy", "Kapıköy", "TUR", 44.28, 38.56, sources="S134,S120,A101,A106"),
    port("van", "Van (Lake Van ferry pier)", "TUR", 43.33, 38.50, dwell_h=6.0,
         transfer_h=6.0, transfer_usd=40.0, sources="S133,A101,A118"),
    port("tatvan", "Tatvan (Lake Van ferry pier)", "TUR", 42.29, 38.50, dwell_h=6.0,
         transfer_h=6.0, transfer_usd=40.0, sources="S133,A101,A118"),
    # --- Bulgaria / Romania / Hungary (EU, 1435, Schengen-light formalities)
    border("ruse", "Ruse", "BGR", 25.95, 43.85, name_local="Русе", dwell_h=2.0,
           handling_usd=0.0),
    border("giurgiu", "Giurgiu Nord", "ROU", 25.97, 43.91, dwell_h=2.0, handling_usd=0.0),
    hub("bucharest", "Bucharest", "ROU", 26.10, 44.45, name_local="București"),
    port("constanta", "Constanța port", "ROU", 28.65, 44.17, name_local="Constanța",
         dwell_h=48.0, sources="S125,A101,A108"),
    border("curtici", "Curtici", "ROU", 21.30, 46.35, dwell_h=2.0, handling_usd=0.0),
    border("lokoshaza", "Lőkösháza", "HUN", 21.24, 46.43, dwell_h=2.0, handling_usd=0.0),
]

# ----------------------------------------------------------------------------------------
# Link defaults (assumption keys in SOURCES.md)
# ----------------------------------------------------------------------------------------
SPEED = {  # commercial average speed, km/h (A102; KAZ/RUS/EU/CHN aligned with belt_and_road)
    "KAZ": 28.2, "RUS": 28.2, "UZB": 25.0, "TKM": 25.0, "KGZ": 25.0, "AZE": 25.0,
    "GEO": 22.0, "TUR": 25.0, "IRN": 30.0, "CHN": 58.5, "ROU": 18.0, "BGR": 18.0,
    "HUN": 18.0,
}
TARIFF = {  # USD per TEU-km (A103; KAZ/RUS/EU/CHN aligned with belt_and_road)
    "KAZ": 0.3285, "RUS": 0.3285, "UZB": 0.35, "TKM": 0.35, "KGZ": 0.40, "AZE": 0.45,
    "GEO": 0.45, "TUR": 0.35, "IRN": 0.35, "CHN": 0.2012, "ROU": 0.3285, "BGR": 0.3285,
    "HUN": 0.3285,
}


def set_base_rates(speed_1520: float, tariff_1520: float, speed_cn: float, tariff_cn: float,
                   speed_eu: float, tariff_eu: float) -> None:
    """Use the Belt and Road layer's derived speeds (km/h) and tariffs (USD/TEU-km) (A102, A103)."""
    for c in ("KAZ", "RUS"):
        SPEED[c], TARIFF[c] = speed_1520, tariff_1520
    SPEED["CHN"], TARIFF["CHN"] = speed_cn, tariff_cn
    for c in ("ROU", "BGR", "HUN"):
        SPEED[c], TARIFF[c] = speed_eu, tariff_eu


def resolve_rates(link: dict) -> dict:
    """Properties of a link with the country speed and tariff filled in where it sets none."""
    props = {k: v for k, v in link.items() if not k.startswith("_")}
    if link["mode"] == "rail":
        cs = link["_countries"]
        # short link between paired border stations: slowest speed and dearest tariff of the two
        if props["speed_kmh"] is None:
            props["speed_kmh"] = min(SPEED[c] for c in cs)
        if props["tariff_usd_per_teu_km"] is None:
            props["tariff_usd_per_teu_km"] = max(TARIFF[c] for c in cs)
    return props


GAUGE = {"KAZ": 1520, "RUS": 1520, "UZB": 1520, "TKM": 1520, "KGZ": 1520, "AZE": 1520,
         "GEO": 1520, "TUR": 1435, "IRN": 1435, "CHN": 1435, "ROU": 1435, "BGR": 1435,
         "HUN": 1435}

LINKS: list[dict] = []


def rail(corridor, route, a, b, country, via, gauge_mm=None, status="operating",
         opening_year=None, capacity_teu=None, sources="A101,A102,A103", id=None,
         speed_kmh=None, tariff=None, frequency_per_week=None, distance_km=None):
    cs = country.split("|")
    LINKS.append(dict(
        id=id or f"{a}-{b}", **{"from": a, "to": b}, corridor=corridor, route=route,
        mode="rail", gauge_mm=gauge_mm or GAUGE[cs[0]], country=country,
        speed_kmh=speed_kmh, running_h=None, frequency_per_week=frequency_per_week,
        tariff_usd_per_teu_km=tariff, tariff_usd=None, capacity_teu=capacity_teu,
        distance_km=distance_km, status=status, opening_year=opening_year, sources=sources,
        _via=via, _countries=cs))


def road(corridor, route, a, b, country, via, sources="A101,A111", id=None,
         status="operating", opening_year=None):
    LINKS.append(dict(
        id=id or f"{a}-{b}-road", **{"from": a, "to": b}, corridor=corridor, route=route,
        mode="road", gauge_mm=None, country=country, speed_kmh=35.0, running_h=None,
        frequency_per_week=None, tariff_usd_per_teu_km=0.60, tariff_usd=None,
        capacity_teu=None, distance_km=None, status=status, opening_year=opening_year, sources=sources,
        _via=via))


def ferry(corridor, route, a, b, via, running_h, frequency_per_week, tariff_usd,
          capacity_teu, sources, status="operating", opening_year=None):
    LINKS.append(dict(
        id=f"{a}-{b}", **{"from": a, "to": b}, corridor=corridor, route=route,
        mode="ferry", gauge_mm=None, country=None, speed_kmh=None, running_h=running_h,
        frequency_per_week=frequency_per_week, tariff_usd_per_teu_km=None,
        tariff_usd=tariff_usd, capacity_teu=capacity_teu, distance_km=None, status=status,
        opening_year=opening_year, sources=sources, _via=via))


# ======================= MIDDLE CORRIDOR (TITR) ==========================================
MC = "middle_corridor"
# Kazakhstan, southern branch from Shu (Altynkol/Almaty traffic)
rail(MC, "titr_kaz_south", "shu", "taraz", "KAZ",
     [(73.45, 43.30), (72.74, 42.92), (72.10, 42.90)])
rail(MC, "titr_kaz_south", "taraz", "shymkent", "KAZ",
     [(70.90, 42.72), (70.33, 42.49), (69.95, 42.40)])
rail(MC, "titr_kaz_south", "shymkent", "arys", "KAZ", [(69.20, 42.38)])
rail(MC, "titr_kaz_south", "arys", "kyzylorda", "KAZ",
     [(68.25, 43.30), (67.50, 43.80), (66.75, 44.17), (66.00, 44.60)])
rail(MC, "titr_kaz_south", "kyzylorda", "saksaulskaya", "KAZ",
     [(64.08, 45.49), (63.32, 45.62), (62.10, 45.76), (61.67, 46.80)])
# Kazakhstan, central branch from Moyynty (Dostyk traffic): Zharyk - Zhezkazgan - Saksaulskaya
rail(MC, "titr_kaz_central", "moyynty", "zhezkazgan", "KAZ",
     [(73.10, 47.70), (72.87, 48.25), (72.80, 48.80), (71.50, 48.55), (70.00, 48.25),
      (68.80, 47.95)])
rail(MC, "titr_kaz_central", "zhezkazgan", "saksaulskaya", "KAZ",
     [(66.30, 47.60), (64.50, 47.40), (62.80, 47.20)])
rail(MC, "titr_kaz_west", "saksaulskaya", "shalkar", "KAZ", [(60.40, 47.45)])
rail(MC, "titr_kaz_west", "shalkar", "beyneu", "KAZ",
     [(58.90, 47.30), (57.80, 46.70), (56.50, 46.00), (55.80, 45.60)])
rail(MC, "titr_kaz_west", "beyneu", "mangyshlak", "KAZ",
     [(54.40, 44.95), (53.50, 44.40), (52.70, 44.25), (52.12, 44.17), (51.60, 43.90)])
rail(MC, "titr_kaz_west", "mangyshlak", "aktau", "KAZ", [(51.27, 43.67)])
rail(MC, "titr_kaz_west", "mangyshlak", "kuryk", "KAZ",
     [(51.45, 43.55), (51.60, 43.32)])
# Caspian crossings
CASPIAN_SRC = "S101,S102,S103,S123,A104,A109"
ferry(MC, "titr_caspian", "aktau", "alat",
      [(51.05, 43.40), (50.95, 42.20), (50.85, 41.00), (50.70, 40.35), (50.20, 40.05),
       (49.70, 39.93)],
      running_h=22.0, frequency_per_week=3.5, tariff_usd=600.0, capacity_teu=89000,
      sources=CASPIAN_SRC)
ferry(MC, "titr_caspian", "kuryk", "alat",
      [(51.55, 42.90), (51.20, 42.00), (50.90, 41.00), (50.70, 40.35), (50.20, 40.05),
       (49.70, 39.93)],
      running_h=24.0, frequency_per_week=3.0, tariff_usd=600.0, capacity_teu=30000,
      sources="S107,S124,S128,A104,A109,A110")
ferry(MC, "titr_caspian", "turkmenbashi", "alat",
      [(52.75, 40.00), (52.40, 40.05), (51.50, 40.05), (50.50, 39.98), (49.80, 39.93)],
      running_h=16.0, frequency_per_week=3.0, tariff_usd=600.0, capacity_teu=20000,
      sources="S128,A104,A109,A110")
# Azerbaijan and Georgia (1520)
rail(MC, "titr_aze", "alat", "boyuk_kasik", "AZE",
     [(48.94, 40.04), (48.16, 40.35), (47.65, 40.51), (47.15, 40.62), (46.36, 40.68),
      (46.02, 40.83), (45.63, 40.99), (45.45, 41.12), (45.20, 41.25)],
     sources="S101,S130,A101,A102,A103")
rail(MC, "titr_aze", "boyuk_kasik", "gardabani", "AZE|GEO", [(45.085, 41.39)])
rail(MC, "titr_geo", "gardabani", "tbilisi", "GEO", [(44.98, 41.55), (44.87, 41.66)])
rail(MC, "titr_geo", "tbilisi", "samtredia", "GEO",
     [(44.72, 41.84), (44.42, 41.93), (44.11, 41.98), (43.60, 41.99), (43.40, 42.03),
      (43.05, 42.11), (42.70, 42.24)])
rail(MC, "titr_geo", "samtredia", "poti", "GEO",
     [(42.20, 42.20), (42.07, 42.27), (41.80, 42.20)])
rail(MC, "titr_geo", "samtredia", "batumi", "GEO",
     [(42.03, 42.09), (41.80, 41.98), (41.78, 41.82), (41.68, 41.70)])
# BTK: Marabda - Akhalkalaki (1520), bogie exchange, Akhalkalaki - Kars (1435)
BTK_SRC = "S105,S106,A101,A102,A103,A105"
rail(MC, "btk", "tbilisi", "marabda", "GEO", [(44.80, 41.62)])
rail(MC, "btk", "marabda", "akhalkalaki", "GEO",
     [(44.50, 41.52), (44.30, 41.55), (44.09, 41.60), (43.80, 41.55), (43.60, 41.45)],
     sources=BTK_SRC)
rail(MC, "btk", "akhalkalaki", "kartsakhi", "GEO", [(43.40, 41.32)], gauge_mm=1435,
     capacity_teu=500000, sources=BTK_SRC)
rail(MC, "btk", "kartsakhi", "cildir", "GEO|TUR", [(43.20, 41.19)], gauge_mm=1435,
     sources=BTK_SRC)
rail(MC, "btk", "cildir", "kars", "TUR", [(43.10, 40.90), (43.05, 40.70)], sources=BTK_SRC)
rail(MC, "turkiye_rail", "kars", "sivas", "TUR",
     [(42.56, 40.33), (42.17, 40.04), (41.27, 39.90), (40.70, 39.92), (40.40, 39.78),
      (39.49, 39.75), (38.80, 39.55), (38.12, 39.37), (37.60, 39.55)])
rail(MC, "turkiye_rail", "sivas", "ankara", "TUR",
     [(36.40, 39.40), (35.48, 38.72), (34.90, 39.05), (34.50, 39.30), (33.90, 39.70),
      (33.51, 39.85)])
rail(MC, "turkiye_rail", "ankara", "istanbul", "TUR",
     [(31.50, 39.80), (30.52, 39.78), (29.98, 40.14), (30.30, 40.55), (29.92, 40.77),
      (29.30, 40.85), (29.02, 41.00)])
# Black Sea crossings
BLACK_SRC = "S101,S125,S126,A104,A109,A110"
ferry(MC, "titr_blacksea", "poti", "constanta",
      [(41.30, 42.30), (39.00, 42.75), (35.00, 43.20), (31.50, 43.60), (29.50, 44.00)],
      running_h=55.0, frequency_per_week=2.0, tariff_usd=500.0, capacity_teu=50000,
      sources=BLACK_SRC)
ferry(MC, "titr_blacksea", "batumi", "constanta",
      [(41.30, 41.85), (39.00, 42.55), (35.00, 43.10), (31.50, 43.55), (29.50, 43.98)],
      running_h=60.0, frequency_per_week=1.0, tariff_usd=500.0, capacity_teu=25000,
      sources=BLACK_SRC)
# Romania to Hungary (EU, 1435)
rail(MC, "eu_romania", "constanta", "bucharest", "ROU",
     [(28.27, 44.18), (28.02, 44.34), (27.83, 44.39), (27.35, 44.45), (26.86, 44.44),
      (26.40, 44.45)])
rail(MC, "eu_romania", "bucharest", "curtici", "ROU",
     [(26.02, 44.94), (25.60, 45.66), (24.79, 46.22), (24.35, 46.16), (23.68, 46.20),
      (23.58, 46.07), (23.00, 45.85), (22.90, 45.88), (22.20, 46.00), (21.31, 46.18)])
rail(MC, "eu_romania", "curtici", "lokoshaza", "ROU|HUN", [(21.27, 46.39)])
rail(MC, "eu_romania", "lokoshaza", "budapest", "HUN",
     [(21.09, 46.68), (20.63, 47.00), (20.18, 47.17), (19.80, 47.17), (19.40, 47.40)])
# Türkiye - Bulgaria - Romania (Istanbul to the EU network)
# Istanbul - Kapikule - Svilengrad is in belt_and_road (agent A); we add Svilengrad - Ruse -
# Giurgiu - Bucharest so that Türkiye also reaches the Romanian network.
rail(MC, "turkiye_eu", "svilengrad", "ruse", "BGR",
     [(25.90, 41.93), (25.60, 42.05), (25.63, 42.42), (25.55, 42.75), (25.68, 43.13),
      (25.75, 43.50)])
rail(MC, "turkiye_eu", "ruse", "giurgiu", "BGR|ROU", [(25.96, 43.88)])
rail(MC, "turkiye_eu", "giurgiu", "bucharest", "ROU", [(26.00, 44.20)])

# ======================= NORTH-SOUTH (INSTC) =============================================
NS = "north_south"
EAST_SRC = "S114,A101,A102,A103"
rail(NS, "instc_east", "mangyshlak", "zhanaozen", "KAZ",
     [(51.70, 43.65), (52.08, 43.58), (52.50, 43.45)], sources=EAST_SRC)
rail(NS, "instc_east", "zhanaozen", "bolashak", "KAZ",
     [(53.30, 42.95), (53.75, 42.60)], sources=EAST_SRC)
rail(NS, "instc_east", "bolashak", "serhetyaka", "KAZ|TKM", [(54.08, 42.34)],
     capacity_teu=300000, sources="S114,S115,A101,A102,A103,A105")
rail(NS, "instc_east", "serhetyaka", "bereket", "TKM",
     [(54.25, 41.95), (54.55, 41.55), (54.65, 41.15), (54.95, 40.75), (55.05, 40.30),
      (55.35, 39.95), (55.30, 39.55)], sources=EAST_SRC)
rail(NS, "instc_east", "bereket", "etrek", "TKM",
     [(55.35, 38.95), (55.05, 38.75), (54.90, 38.45), (55.05, 38.15), (54.85, 37.90)],
     sources=EAST_SRC)
rail(NS, "instc_east", "etrek", "incheh_borun", "TKM|IRN", [(54.75, 37.55)],
     sources=EAST_SRC)
rail(NS, "instc_east", "incheh_borun", "gorgan", "IRN", [(54.60, 37.20)], sources=EAST_SRC)
rail(NS, "instc_east", "gorgan", "sari", "IRN",
     [(54.05, 36.90), (53.55, 36.70), (53.30, 36.62)])
rail(NS, "instc_east", "sari", "tehran", "IRN",
     [(52.86, 36.46), (53.05, 36.11), (52.77, 35.75), (52.34, 35.22), (51.72, 35.31)])
# Turkmenistan trunk line (Trans-Caspian railway) and Sarakhs
rail(NS, "tkm_trunk", "turkmenbashi", "bereket", "TKM",
     [(53.60, 39.90), (54.37, 39.51), (55.00, 39.35)])
rail(NS, "tkm_trunk", "bereket", "ashgabat", "TKM",
     [(56.27, 38.98), (57.42, 38.43), (58.00, 38.10)])
rail(NS, "tkm_trunk", "ashgabat", "tejen", "TKM", [(59.00, 37.70), (59.70, 37.55)])
rail(NS, "tkm_trunk", "tejen", "mary", "TKM", [(61.20, 37.50)])
rail(NS, "tkm_trunk", "mary", "turkmenabat", "TKM",
     [(62.17, 37.62), (62.90, 38.40), (63.30, 38.80)])
rail(NS, "instc_sarakhs", "tejen", "sarakhs_tkm", "TKM", [(60.85, 37.00)])
rail(NS, "instc_sarakhs", "sarakhs_tkm", "sarakhs_irn", "TKM|IRN", [(61.17, 36.53)],
     capacity_teu=750000, sources="S116,A101,A102,A103,A105")
rail(NS, "instc_sarakhs", "sarakhs_irn", "mashhad", "IRN", [(60.60, 36.35), (60.00, 36.30)])
rail(NS, "instc_sarakhs", "mashhad", "tehran", "IRN",
     [(58.80, 36.21), (57.68, 36.21), (56.50, 36.35), (55.00, 36.42), (54.35, 36.18),
      (53.39, 35.57), (52.34, 35.22), (51.72, 35.31)])
# Western branch: Russia - Azerbaijan - Iran
rail(NS, "instc_west", "astrakhan", "makhachkala", "RUS",
     [(47.60, 45.90), (47.20, 45.20), (46.90, 44.50), (46.72, 43.85), (47.10, 43.40)])
rail(NS, "instc_west", "makhachkala", "samur", "RUS",
     [(47.87, 42.57), (48.29, 42.06)])
rail(NS, "instc_west", "samur", "yalama", "RUS|AZE", [(48.485, 41.82)])
rail(NS, "instc_west", "yalama", "alat", "AZE",
     [(48.80, 41.46), (49.10, 41.08), (49.65, 40.59), (49.80, 40.43), (49.78, 40.30),
      (49.60, 40.10)])
rail(NS, "instc_west", "alat", "astara_aze", "AZE",
     [(49.10, 39.93), (48.98, 39.60), (48.80, 39.30), (48.66, 39.04), (48.85, 38.75)])
rail(NS, "instc_west", "astara_aze", "astara_irn", "AZE|IRN", [(48.865, 38.435)],
     gauge_mm=1520)
rail(NS, "instc_west", "astara_irn", "rasht", "IRN",
     [(48.88, 38.20), (48.91, 37.80), (49.10, 37.60), (49.30, 37.45)],
     status="planned", opening_year=2028, sources="S117,S118,A101,A102,A103,A114")
rail(NS, "instc_west", "rasht", "qazvin", "IRN",
     [(49.55, 37.00), (49.42, 36.82), (49.40, 36.72), (49.70, 36.45)])
rail(NS, "instc_west", "qazvin", "tehran", "IRN", [(50.40, 36.00), (50.99, 35.83)])
# Kazakhstan - Russia rail (Beyneu - Atyrau - Astrakhan)
rail(NS, "instc_east", "beyneu", "makat", "KAZ",
     [(54.60, 46.00), (54.00, 46.95)])
rail(NS, "instc_east", "makat", "atyrau", "KAZ", [(52.60, 47.40)])
rail(NS, "instc_east", "atyrau", "ganyushkino", "KAZ",
     [(51.00, 46.95), (50.00, 46.80)])
rail(NS, "instc_east", "ganyushkino", "aksaraiskaya", "KAZ|RUS", [(48.70, 46.70)])
rail(NS, "instc_east", "aksaraiskaya", "astrakhan", "RUS", [(48.05, 46.55)])
# Trans-Caspian branch (Astrakhan - Iranian ports) and port access
TC_SRC = "S129,A104,A109,A110,A116"
ferry(NS, "instc_caspian", "astrakhan", "anzali",
      [(47.90, 45.90), (47.70, 45.30), (48.50, 44.00), (49.60, 42.50), (50.90, 41.00),
       (50.90, 40.00), (50.20, 39.00), (49.70, 38.00)],
      running_h=72.0, frequency_per_week=1.0, tariff_usd=700.0, capacity_teu=15000,
      sources=TC_SRC)
ferry(NS, "instc_caspian", "astrakhan", "amirabad",
      [(47.90, 45.90), (47.70, 45.30), (48.60, 44.00), (50.20, 42.50), (51.50, 41.00),
       (52.00, 39.50), (52.40, 37.50), (53.20, 37.00)],
      running_h=80.0, frequency_per_week=1.0, tariff_usd=750.0, capacity_teu=15000,
      sources=TC_SRC)
road(NS, "instc_caspian", "anzali", "rasht", "IRN", [(49.52, 37.38)])
rail(NS, "instc_caspian", "amirabad", "sari", "IRN", [(53.20, 36.75)])

# ======================= EAST-WEST =======================================================
EW = "east_west"
# Western Europe - Western China international road
road(EW, "we_wc_road", "khorgos", "nur_zholy", "CHN|KAZ", [(80.40, 44.20)],
     sources="S131,S132,A101,A111")
road(EW, "we_wc_road", "nur_zholy", "almaty", "KAZ",
     [(79.99, 44.17), (79.30, 44.00), (78.60, 43.75), (78.25, 43.60), (77.60, 43.45)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "almaty", "taraz", "KAZ",
     [(76.50, 43.20), (75.60, 43.12), (75.20, 43.15), (74.72, 43.10), (74.00, 43.08),
      (73.18, 42.87), (72.40, 42.90)], sources="S131,A101,A111")
road(EW, "we_wc_road", "taraz", "shymkent", "KAZ", [(70.50, 42.50), (69.95, 42.38)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "shymkent", "kyzylorda", "KAZ",
     [(68.80, 42.80), (68.25, 43.30), (66.75, 44.17), (66.00, 44.60)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "kyzylorda", "aktobe", "KAZ",
     [(64.08, 45.49), (62.10, 45.76), (61.67, 46.80), (61.40, 47.80), (61.26, 48.62),
      (60.10, 49.95), (58.50, 50.20)], sources="S131,A101,A111")
road(EW, "we_wc_road", "aktobe", "zhaisan", "KAZ", [(56.70, 50.60)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "zhaisan", "sagarchin", "KAZ|RUS", [(56.16, 50.98)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "sagarchin", "orenburg", "RUS", [(55.70, 51.40)],
     sources="S131,A101,A111")
road(EW, "we_wc_road", "orenburg", "kazan", "RUS",
     [(54.30, 52.20), (53.40, 53.00), (52.44, 53.65), (52.30, 54.90), (51.00, 55.35),
      (50.00, 55.50)], sources="S131,A101,A111")
road(EW, "we_wc_road", "kazan", "moscow", "RUS",
     [(48.00, 55.95), (47.25, 56.10), (45.50, 56.15), (44.00, 56.30), (42.10, 56.20),
      (40.40, 56.13), (38.80, 55.90)], sources="S131,A101,A111")
# Orenburg - Tashkent railway north of the Aral Sea (A119): Samara - Orenburg - Iletsk-1 - Aktobe -
# Kandyagash - Emba - Shalkar, joining the Middle Corridor line at Shalkar, so that Aktobe (a
# Central Asia destination) and Orenburg are reached by rail, not only by the WE-WC road.
rail(EW, "trans_aral", "samara", "orenburg", "RUS",
     [(50.63, 53.22), (51.50, 53.05), (52.26, 52.78), (53.60, 52.30)], sources="S135,A101,A102,A103,A119")
rail(EW, "trans_aral", "orenburg", "iletsk", "RUS", [(55.05, 51.45)], sources="S135,A101,A102,A103,A119")
rail(EW, "trans_aral", "iletsk", "aktobe", "RUS|KAZ", [(55.60, 50.95), (56.40, 50.60)],
     sources="S135,A101,A102,A103,A119")
rail(EW, "trans_aral", "aktobe", "shalkar", "KAZ",
     [(57.42, 49.47), (58.15, 48.83), (59.00, 48.30)], sources="S135,A101,A102,A103,A119")
# Dostyk - Moyynty second track (opened 2025-09-30)
rail(EW, "dostyk_moyynty_2nd", "dostyk", "moyynty", "KAZ",
     [(82.00, 45.55), (81.60, 45.90), (81.00, 46.20), (80.50, 46.50), (79.70, 46.90),
      (78.50, 46.95), (77.35, 46.93), (76.00, 46.90), (75.00, 46.95), (74.20, 47.10)],
     id="dostyk-moyynty-2nd", capacity_teu=438000, status="under_construction", opening_year=2025,
     distance_km=836.0,
     sources="S108,A101,A102,A103,A112,A34")
# Bakhty - Ayagoz (third KZ-CN crossing), Tacheng - Kuytun feeder
rail(EW, "bakhty_ayagoz", "tacheng", "bakhty", "CHN|KAZ", [(82.76, 46.68)],
     status="under_construction", opening_year=2027, sources="S109,A101,A102,A103")
rail(EW, "bakhty_ayagoz", "bakhty", "ayagoz", "KAZ",
     [(82.00, 46.80), (81.60, 47.10), (81.00, 47.50)],
     status="under_construction", opening_year=2027, sources="S109,A101,A102,A103")
rail(EW, "bakhty_ayagoz", "ayagoz", "aktogay", "KAZ", [(80.20, 47.60), (79.90, 47.30)])
rail(EW, "bakhty_ayagoz", "tacheng", "kuytun", "CHN",
     [(83.63, 46.53), (84.40, 46.00), (84.87, 45.60), (84.90, 45.00)],
     sources="A101,A102,A103,A117")
# Darbaza - Maktaaral, and the Kazakh-Uzbek link at Saryagash
rail(EW, "darbaza_maktaaral", "darbaza", "maktaaral", "KAZ",
     [(69.00, 41.80), (68.60, 41.50), (68.30, 41.15), (68.35, 40.85)],
     status="under_construction", opening_year=2026, sources="S110,S111,A101,A102,A103")
rail(EW, "kaz_uzb", "arys", "darbaza", "KAZ", [(69.20, 42.20)])
rail(EW, "kaz_uzb", "darbaza", "saryagash", "KAZ", [(69.25, 41.75)])
rail(EW, "kaz_uzb", "saryagash", "keles", "KAZ|UZB", [(69.18, 41.43)])
rail(EW, "kaz_uzb", "keles", "tashkent", "UZB", [(69.22, 41.35)])
# China - Kyrgyzstan - Uzbekistan railway (under construction, ~2030)
CKU_SRC = "S112,S113,A101,A102,A103,A113"
rail(EW, "cku", "kashgar", "urumqi", "CHN",
     [(76.17, 39.71), (77.50, 39.85), (78.55, 39.78), (79.50, 40.50), (80.26, 41.17),
      (81.30, 41.50), (82.96, 41.72), (84.50, 41.90), (86.15, 41.76), (86.60, 42.10),
      (87.90, 42.60), (88.60, 42.85), (88.20, 43.30)],
     sources="A101,A102,A103,A117")
rail(EW, "cku", "kashgar", "torugart_chn", "CHN",
     [(76.17, 39.71), (76.05, 39.90), (75.95, 40.02), (75.80, 40.12), (75.72, 40.25),
      (75.58, 40.33), (75.50, 40.42)],
     status="under_construction", opening_year=2030, sources=CKU_SRC)
rail(EW, "cku", "torugart_chn", "torugart_kgz", "CHN|KGZ", [(75.39, 40.53)],
     status="under_construction", opening_year=2030, sources=CKU_SRC)
rail(EW, "cku", "torugart_kgz", "makmal", "KGZ",
     [(75.30, 40.68), (75.18, 40.74), (75.02, 40.80), (74.90, 40.90), (74.72, 40.93),
      (74.60, 41.02), (74.45, 41.05), (74.30, 41.15)], gauge_mm=1435,
     status="under_construction", opening_year=2030, capacity_teu=1000000,
     sources=CKU_SRC + ",A105")
rail(EW, "cku", "makmal", "jalal_abad", "KGZ",
     [(74.05, 41.38), (73.85, 41.30), (73.70, 41.32), (73.50, 41.20), (73.35, 41.15),
      (73.20, 41.02), (73.10, 40.98)], gauge_mm=1520,
     status="under_construction", opening_year=2030, capacity_teu=1000000,
     sources=CKU_SRC + ",A105")
rail(EW, "cku", "jalal_abad", "khanabad", "KGZ|UZB", [(72.85, 40.86)])
rail(EW, "cku", "khanabad", "andijan", "UZB", [(72.50, 40.79)])
rail(EW, "uzb_trunk", "andijan", "tashkent", "UZB",
     [(71.67, 40.99), (71.10, 40.88), (70.60, 41.00), (70.14, 41.02), (69.80, 41.20)])
rail(EW, "uzb_trunk", "tashkent", "samarkand", "UZB",
     [(68.76, 40.93), (68.66, 40.60), (68.83, 40.22), (67.84, 40.12), (67.30, 39.90)])
rail(EW, "uzb_trunk", "samarkand", "bukhara", "UZB",
     [(66.26, 39.90), (65.38, 40.10), (64.90, 39.90)])
rail(EW, "uzb_trunk", "bukhara", "alat_uzb", "UZB", [(64.10, 39.55)])
rail(EW, "uzb_trunk", "alat_uzb", "farap", "UZB|TKM", [(63.70, 39.30)])
rail(EW, "uzb_trunk", "farap", "turkmenabat", "TKM", [(63.59, 39.12)])

# Iran - Türkiye (Tabriz - Razi | Kapıköy - Van - Lake Van ferry - Tatvan - Sivas), 1435 mm
IT_SRC = "S134,A101,A102,A103"
rail(EW, "iran_turkiye", "qazvin", "tabriz", "IRN",
     [(49.40, 36.45), (48.48, 36.67), (47.90, 37.10), (47.71, 37.42), (47.20, 37.70),
      (46.84, 37.85)], sources=IT_SRC)
rail(EW, "iran_turkiye", "tabriz", "razi", "IRN",
     [(45.98, 38.27), (45.49, 38.18), (44.90, 38.25), (44.72, 38.42)], sources=IT_SRC)
rail(EW, "iran_turkiye", "razi", "kapikoy", "IRN|TUR", [(44.50, 38.57)], sources=IT_SRC)
rail(EW, "iran_turkiye", "kapikoy", "van", "TUR", [(44.10, 38.55), (43.70, 38.52)],
     sources=IT_SRC)
ferry(EW, "iran_turkiye", "van", "tatvan", [(43.00, 38.58), (42.60, 38.60)],
      running_h=3.5, frequency_per_week=14.0, tariff_usd=100.0, capacity_teu=50000,
      sources="S133,A118")
rail(EW, "iran_turkiye", "tatvan", "sivas", "TUR",
     [(41.49, 38.74), (40.55, 38.75), (39.70, 38.62), (39.22, 38.67), (38.32, 38.35),
      (37.95, 38.85), (37.95, 39.25), (37.50, 39.60)], sources=IT_SRC)


# Published lengths of lines drawn as one or more links (A34): (link ids, km, source keys).  build.py
# splits each length over its links in proportion to their drawn lengths and stores it as distance_km.
DISTANCE_LEGS = [
    # Uzen-Bereket-Etrek-Gorgan: KAZ 140, TKM 700, IRN 85 km (S114)
    (("zhanaozen-bolashak",), 140.0, "S114"),
    (("bolashak-serhetyaka", "serhetyaka-bereket", "bereket-etrek", "etrek-incheh_borun"), 700.0, "S114"),
    (("incheh_borun-gorgan",), 85.0, "S114"),
    # Baku-Tbilisi-Kars: GEO 263, TUR 79 km (S105); the Azerbaijani 504 km start in Baku, not at Alat
    (("gardabani-tbilisi", "tbilisi-marabda", "marabda-akhalkalaki", "akhalkalaki-kartsakhi"), 263.0, "S105"),
    (("kartsakhi-cildir", "cildir-kars"), 79.0, "S105"),
    # CKU, Kyrgyz section: 169.6 km of 1435 mm to Makmal, 142.2 km of 1520 mm beyond (S112)
    (("torugart_kgz-makmal",), 169.6, "S112"),
    (("makmal-jalal_abad",), 142.2, "S112"),
    # Bakhty-Ayagoz 272 km (S109); Darbaza-Maktaaral 152 km (S110)
    (("bakhty-ayagoz",), 272.0, "S109"),
    (("darbaza-maktaaral",), 152.0, "S110"),
]
