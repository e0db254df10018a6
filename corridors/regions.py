"""Named groups of countries (ISO 3166 alpha-3) used in route-share queries."""

from __future__ import annotations

from collections.abc import Iterable

from corridors._errors import QueryError, suggest

__all__ = ["REGIONS", "resolve_region", "describe_region"]

EU27 = frozenset(
    {
        "AUT",
        "BEL",
        "BGR",
        "HRV",
        "CYP",
        "CZE",
        "DNK",
        "EST",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "IRL",
        "ITA",
        "LVA",
        "LTU",
        "LUX",
        "MLT",
        "NLD",
        "POL",
        "PRT",
        "ROU",
        "SVK",
        "SVN",
        "ESP",
        "SWE",
    }
)

# Geographic Europe beyond the EU: the Western Balkans, EFTA, the UK, Ukraine, Moldova,
# Belarus, Russia and European Türkiye (Istanbul sits on both continents; its rail and
# port terminals serve Europe-bound flows, so Türkiye counts as Europe here).
_REST_OF_EUROPE = frozenset(
    {
        "ALB",
        "AND",
        "BIH",
        "BLR",
        "CHE",
        "GBR",
        "ISL",
        "KOS",
        "LIE",
        "MCO",
        "MDA",
        "MKD",
        "MNE",
        "NOR",
        "RUS",
        "SMR",
        "SRB",
        "UKR",
        "VAT",
        "TUR",
    }
)

REGIONS: dict[str, frozenset[str]] = {
    "EU": EU27,
    "EU27": EU27,
    "EUROPE": EU27 | _REST_OF_EUROPE,
    "CENTRAL_ASIA": frozenset({"KAZ", "KGZ", "TJK", "TKM", "UZB"}),
    "CAUCASUS": frozenset({"ARM", "AZE", "GEO"}),
    "EAEU": frozenset({"ARM", "BLR", "KAZ", "KGZ", "RUS"}),
    "MIDDLE_EAST": frozenset({"IRN", "IRQ", "TUR", "SYR", "SAU", "ARE"}),
    "CHINA": frozenset({"CHN"}),
}

_DESCRIPTIONS = {
    "EU": "the EU27",
    "EU27": "the EU27",
    "EUROPE": "Europe (EU27 + rest of geographic Europe incl. Russia, Belarus, Türkiye)",
    "CENTRAL_ASIA": "Central Asia (KAZ, KGZ, TJK, TKM, UZB)",
    "CAUCASUS": "the South Caucasus (ARM, AZE, GEO)",
    "EAEU": "the Eurasian Economic Union",
    "MIDDLE_EAST": "the Middle East incl. Iran and Türkiye",
    "CHINA": "China",
}


def resolve_region(name: str, known_countries: Iterable[str]) -> frozenset[str]:
    """Return the ISO3 codes a region name or country code stands for.

    Parameters
    ----------
    name : str
        An ISO 3166 alpha-3 code (``"KAZ"``), a named group (``"EU"``, ``"EUROPE"``,
        ``"CENTRAL_ASIA"`` ...) or a ``+``-joined list of either (``"RUS+BLR"``).
    known_countries : iterable of str
        The ISO3 codes the model knows (from its layers).

    Raises
    ------
    QueryError
        If a part is neither a known country nor a named group.
    """
    known = set(known_countries)
    codes: set[str] = set()
    for part in str(name).split("+"):
        key = part.strip().upper()
        if key in REGIONS:
            codes |= REGIONS[key]
        elif key in known:
            codes.add(key)
        else:
            choices = sorted(known | set(REGIONS))
            raise QueryError(
                f"unknown country or region '{part.strip()}'{suggest(key, choices)}; "
                f"use an ISO3 code of the model ({', '.join(sorted(known))}) "
                f"or a group ({', '.join(sorted(REGIONS))})"
            )
    return frozenset(codes)


def describe_region(name: str) -> str:
    """Return a readable name for a region or country code."""
    key = str(name).upper()
    return _DESCRIPTIONS.get(key, key)
