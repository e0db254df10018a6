"""The README's headline numbers are what the model computes on the shipped data.

When the model or the data change these numbers on purpose, the README changes with them
(and the closing note says why); a change nobody meant fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corridors.assignment import assign
from corridors.network import load_network

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORRIDORS_CACHE_DIR", str(tmp_path_factory.mktemp("headline-cache")))
        # the shipped data is part of the package: an error loading it fails, never skips
        net = load_network(REPO / "geodata")
        assign(net, method="logit")  # choice sets built once for every test of the module
        yield net


def _table() -> dict[str, float]:
    section = README.split("## What share of China–EU land freight crosses Kazakhstan?", 1)[1]
    rows = re.findall(r"^\| `(\w+)`[^|]*\| (\d+\.\d) % \|", section, flags=re.MULTILINE)
    return {method: float(share) for method, share in rows}


def test_readme_headline_table_has_every_method():
    assert set(_table()) == {"shortest", "ue", "logit", "sue"}


@pytest.mark.parametrize("method", ["shortest", "ue", "logit", "sue"])
def test_readme_headline_share(network, method):
    share = assign(network, method=method).share_through("KAZ", from_="CHN", to="EU")
    assert round(100 * share.share, 1) == _table()[method]


def test_readme_headline_breakdown(network):
    share = assign(network, method="logit").share_through("KAZ", from_="CHN", to="EU")
    through, total = re.search(r"Read with the default method,\s+([\d,]+)\s+of\s+([\d,]+)\s+TEU/year", README
                               ).groups()
    assert round(share.through_teu, -2) == _number(through)
    assert round(share.total_teu, -2) == _number(total)
    northern, iran = re.search(r"([\d,]+)\s+on\s+the\s+Northern\s+route\s+via\s+Kazakhstan\s+and\s+([\d,]+)\s+on\s+the"
                               r"\s+southern", README).groups()
    assert round(share.by_corridor.loc["Northern route via Kazakhstan", "teu"], -2) == _number(northern)
    assert round(share.by_corridor.loc["Southern route via Iran", "teu"], -2) == _number(iran)
    central, eastern = re.search(r"Central\s+route\s+via\s+Mongolia\s+\((\d+\.\d) %\)\s+and\s+the\s+Eastern\s+route\s+"
                                 r"via\s+Manzhouli\s+\((\d+\.\d) %\)", README).groups()
    assert round(100 * share.by_corridor.loc["Central route via Mongolia", "share_of_total"], 1) == float(central)
    assert round(100 * share.by_corridor.loc["Eastern route via Trans-Siberian", "share_of_total"], 1) == float(eastern)
    gateways = {
        "Alashankou–Dostyk": r"Alashankou–Dostyk\s+(\d+\.\d) %",
        "Erenhot (Erlian)–Zamyn-Uud": r"Erenhot–Zamyn-Uud\s+(\d+\.\d) %",
        "Manzhouli–Zabaikalsk": r"Manzhouli–Zabaikalsk\s+(\d+\.\d) %",
        "Khorgos (Horgos)–Altynkol": r"Khorgos–Altynkol\s+(\d+\.\d) %\s+by rail",
        "Khorgos (Horgos)–Nur Zholy (Khorgos road checkpoint)": r"(\d+\.\d) %\s+through the Khorgos road checkpoint",
    }
    for gateway, pattern in gateways.items():
        stated = float(re.search(pattern, README).group(1))
        assert round(100 * share.by_gateway.loc[gateway, "share_of_total"], 1) == stated, gateway
