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


def _rows(header: str) -> dict[str, list[str]]:
    """The rows of the README table whose header starts with ``header``: first cell -> other cells."""
    block = README.split(header, 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _pct(text: str) -> float:
    return float(text.replace("%", "").strip())


def test_readme_headline_breakdown(network):
    share = assign(network, method="logit").share_through("KAZ", from_="CHN", to="EU")
    through, total = re.search(r"Read with the default method,\s+([\d,]+)\s+of\s+([\d,]+)\s+TEU/year", README
                               ).groups()
    assert round(share.through_teu, -2) == _number(through)
    assert round(share.total_teu, -2) == _number(total)
    corridors = _rows("| corridor (China→EU27, logit) |")
    assert len(corridors) == len(share.by_corridor)
    for label, (teu, pct) in corridors.items():
        name = label
        assert round(share.by_corridor.loc[name, "teu"], -2) == _number(teu), name
        assert round(100 * share.by_corridor.loc[name, "share_of_total"], 1) == _pct(pct), name
    gateways = _rows("| exit gateway (leaving China) |")
    names = {"Alashankou–Dostyk": "Alashankou–Dostyk", "Khorgos–Altynkol (rail)": "Khorgos (Horgos)–Altynkol",
             "Erenhot–Zamyn-Uud": "Erenhot (Erlian)–Zamyn-Uud", "Manzhouli–Zabaikalsk": "Manzhouli–Zabaikalsk",
             "Suifenhe–Grodekovo": "Suifenhe–Grodekovo (Pogranichny)"}
    assert {names[k] for k in gateways} == set(share.by_gateway.index)
    for label, (pct,) in gateways.items():
        assert round(100 * share.by_gateway.loc[names[label], "share_of_total"], 1) == _pct(pct), label
    erai = re.search(r"puts\s+([\d,]+)\s+TEU\s+on\s+the\s+ERAI\s+path", README).group(1)
    from corridors.validation import validate_model

    model = {r["id"]: r["model_teu"] for r in validate_model(network).rows}
    assert round(model["erai_transit"], -2) == _number(erai)


@pytest.mark.slow
def test_readme_headline_band(network):
    from corridors.montecarlo import sweep

    result = sweep("baseline-2024-uncertainty", network=network, draws=1000, seed=0)
    p5, p95 = re.search(r"p5–p95 (\d+\.\d)–(\d+\.\d) %", README).groups()
    shares = result.table["share"]
    assert round(100 * shares.quantile(0.05), 1) == float(p5)
    assert round(100 * shares.quantile(0.95), 1) == float(p95)
