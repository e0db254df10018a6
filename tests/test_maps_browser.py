"""Maps in a real browser: headless Chromium driven by playwright, with the network cut off.

Each map kind is opened from a ``file://`` URL with every http(s) request aborted and
recorded.  The test asserts that no request was attempted, no script error happened, the
Leaflet map exists, every corridor feature of the layers is drawn, a tooltip shows the
expected text on hover, and a hostile node name renders as text.  Screenshots go to the
pytest temporary folder; set ``CORRIDORS_SCREENSHOT_DIR=maps`` to refresh the copies
committed for the README.

Chromium is Debian's ``/usr/bin/chromium`` (``CORRIDORS_CHROMIUM`` overrides the path); no
browser is ever downloaded.  Without Chromium or playwright the tests are skipped, except
when ``CI=true``: then they fail, so CI cannot skip them silently.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import corridors
from corridors import maps
from corridors._errors import LayerError
from corridors.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CORRIDORS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
HOSTILE = "<img src=x onerror=alert(1)>"

# Returns a point (client coordinates) where the element itself is the topmost element:
# the centre of its box (circle markers) or a point along the path (lines).
FIND_POINT_JS = """
(selector) => {
    const inView = (x, y) => x > 0 && y > 0 && x < window.innerWidth && y < window.innerHeight;
    for (const el of document.querySelectorAll(selector)) {
        const box = el.getBoundingClientRect();
        const candidates = [[box.left + box.width / 2, box.top + box.height / 2]];
        if (el.getTotalLength) {
            const length = el.getTotalLength();
            const m = el.getScreenCTM();
            for (const f of [0.5, 0.45, 0.55, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9]) {
                const p = el.getPointAtLength(length * f);
                candidates.push([p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]);
            }
        }
        for (const [x, y] of candidates) {
            if (inView(x, y) && document.elementFromPoint(x, y) === el) {
                return [x, y];
            }
        }
    }
    return null;
}
"""

LEAFLET_MAP_JS = """
() => {
    const container = document.querySelector('.leaflet-container');
    const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map);
    return {
        version: window.L ? L.version : null,
        container: !!(container && container._leaflet_id),
        maps: maps.length,
        zoom: maps.length ? window[maps[0]].getZoom() : null,
    };
}
"""


# [left, top, right, bottom] of every label shown
VISIBLE_LABELS_JS = """
() => Array.from(document.querySelectorAll('.corridors-label'))
    .filter(el => el.style.visibility !== 'hidden' && el.offsetParent !== null)
    .map(el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })
"""

# [width, height] in px of the shown tooltip that contains a text
TOOLTIP_SIZE_JS = """
(text) => {
    const tip = Array.from(document.querySelectorAll('.leaflet-tooltip'))
        .find(t => t.offsetParent !== null && t.innerText.includes(text));
    const r = tip.getBoundingClientRect();
    return [Math.round(r.width), Math.round(r.height)];
}
"""


# ---------------------------------------------------------------------------
# browser fixtures
# ---------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    """Skip, or fail when CI=true (CI must run the browser tests)."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"{reason}; CI=true, so the browser tests must run, not be skipped", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the browser tests need the Python package playwright (pip install -e '.[test]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"the browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield instance
        instance.close()


class Opened:
    """A page opened offline, with what it tried to fetch and the errors it raised."""

    def __init__(self, browser, path: Path):
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport=VIEWPORT, service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        self.page.on("dialog", self._dialog)
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_selector(".leaflet-container path.corridors-link", state="attached")
        # let fitBounds settle before counting, hovering or taking screenshots
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def count(self, selector: str) -> int:
        return self.page.evaluate("(s) => document.querySelectorAll(s).length", selector)

    def hover(self, selector: str, contains: str) -> str:
        """Hover over the first element matching ``selector`` that can be hit.

        Waits for a visible tooltip containing ``contains`` and returns its text (on
        timeout, fails with the tooltips that did show).
        """
        point = self.page.evaluate(FIND_POINT_JS, selector)
        assert point is not None, f"no visible, hoverable element for {selector}"
        # jump straight there: passing over a neighbour would highlight (widen) it on top
        self.page.mouse.move(2, 2)
        self.page.mouse.move(point[0], point[1])
        try:
            self.page.wait_for_function(
                """(text) => Array.from(document.querySelectorAll('.leaflet-tooltip'))
                       .some(t => t.offsetParent !== null && t.innerText.includes(text))""",
                arg=contains,
                timeout=5000,
            )
        except Exception:  # noqa: BLE001 - report what was shown instead
            shown = [t.inner_text() for t in self.page.query_selector_all(".leaflet-tooltip")]
            pytest.fail(f"no tooltip with {contains!r} on hovering {selector}; shown: {shown}")
        texts = [t.inner_text() for t in self.page.query_selector_all(".leaflet-tooltip")]
        return next(t for t in texts if contains in t)

    def click(self, selector: str) -> str:
        """Click an element matching ``selector``; return the popup text."""
        point = self.page.evaluate(FIND_POINT_JS, selector)
        assert point is not None, f"no visible, clickable element for {selector}"
        self.page.mouse.click(point[0], point[1])
        popup = self.page.wait_for_selector(".leaflet-popup-content", state="visible", timeout=5000)
        return popup.inner_text()

    def focus_node(self, node_id: str, selector: str) -> None:
        """Centre the map on a node (as a user would pan to it) and raise its marker."""
        self.page.evaluate(
            """(id) => {
                const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
                const map = window[key];
                map.eachLayer(layer => {
                    if (layer.feature && layer.feature.id === id && layer.getLatLng) {
                        map.setView(layer.getLatLng(), Math.max(map.getZoom(), 6), {animate: false});
                    }
                });
            }""",
            node_id,
        )
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 200)))")
        self.page.evaluate("(s) => document.querySelectorAll(s).forEach(el => el.parentNode.appendChild(el))", selector)

    def assert_clean(self) -> None:
        assert self.blocked == [], f"network requests attempted: {self.blocked}"
        assert self.errors == [], f"script errors: {self.errors}"
        assert self.dialogs == [], f"dialogs opened (script injection?): {self.dialogs}"

    def close(self) -> None:
        self.context.close()


def _screenshot(opened: Opened, folder: Path, name: str, *, publish: bool = True) -> Path:
    path = folder / f"{name}.png"
    opened.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    target = os.environ.get("CORRIDORS_SCREENSHOT_DIR")
    if target and publish:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(target) / path.name)
    return path


# ---------------------------------------------------------------------------
# data fixtures: the shipped geodata (the toy world when it is not there yet)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geodata_dir(tmp_path_factory) -> Path:
    """The shipped geodata, or the toy world of conftest.py when it is absent or when
    ``CORRIDORS_MAPS_TEST_DATA=toy``."""
    from corridors.layers import default_geodata

    if os.environ.get("CORRIDORS_MAPS_TEST_DATA", "shipped") != "toy":
        try:
            return default_geodata()
        except LayerError:
            pass
    from conftest import write_geodata

    return write_geodata(tmp_path_factory.mktemp("toy") / "geodata")


def _drawn(frame):
    """The links a map draws: every link, but one sea lane per port pair and passage (the
    maritime layer has a lane per direction on the same course)."""
    if "mode" not in frame.columns:
        return frame
    passage = frame["passage"] if "passage" in frame.columns else frame["route"]
    keys = [
        (frozenset((a, b)), via) if mode == "sea" else link_id
        for link_id, a, b, mode, via in zip(
            frame.index, frame["from"], frame["to"], frame["mode"], passage, strict=True
        )
    ]
    return frame[~pd.Series(keys, index=frame.index).duplicated()]


@pytest.fixture(scope="module")
def built(geodata_dir, tmp_path_factory) -> dict:
    """Each map kind saved to a temporary folder, with what it should show."""
    folder = tmp_path_factory.mktemp("maps")
    network = corridors.load_network(geodata_dir)
    logit = corridors.assign(network, method="logit")
    shortest = corridors.assign(network, method="shortest")
    names = network.nodes["name"].to_dict()

    def title(link_id: str, frame) -> str:
        row = frame.loc[link_id]
        return f"{names[row['from']]} – {names[row['to']]}"

    links = network.links
    flows = logit.link_flows
    diff = logit.link_flows["teu"] - shortest.link_flows["teu"]
    # the initial view is the land network: hover its links (the longest are the sea lanes
    # round the Cape, out of view until zoomed out)
    land = links[(links["corridor"] != maps.MARITIME) & (links["mode"] != "sea")]
    by_length = land[land["status"] == "operating"]["length_km"].sort_values(ascending=False)
    by_teu = flows["teu"].sort_values(ascending=False)
    by_change = diff.abs().sort_values(ascending=False)
    # candidate links to hover, best first, each with the texts its tooltip must show
    candidates = {
        "network": [(i, [title(i, links), "Corridor", "Length"]) for i in by_length.index[:15]],
        "flows": [
            (i, [title(i, flows), f"{flows.loc[i, 'teu']:,.0f} TEU/yr", "Utilisation"]) for i in by_teu.index[:15]
        ],
        "compare": [(i, [title(i, flows), "Change", "logit", "shortest"]) for i in by_change.index[:15]],
    }
    built_maps = {
        "network": (maps.network_map(network), links),
        "flows": (maps.flow_map(logit), flows),
        "compare": (maps.compare_map(logit, shortest, labels=("logit", "shortest")), flows),
    }
    result = {}
    for kind, (m, frame) in built_maps.items():
        path = maps.save_map(m, folder / f"{kind}.html")
        drawn = _drawn(frame)
        result[kind] = {
            "path": path,
            "families": drawn["corridor"].value_counts().to_dict(),
            "n_links": len(drawn),
            "n_nodes": len(network.nodes),
            "candidates": [(str(i), expected) for i, expected in candidates[kind]],
            "n_labels": int(network.nodes["kind"].isin(maps.LABEL_KINDS).sum()),
            "natural_earth": "Natural Earth" in maps.attribution_html(network),
        }
    result["shots"] = tmp_path_factory.mktemp("screenshots")
    result["land_south"] = float(land.total_bounds[1])
    sea = links[links["mode"] == "sea"]
    result["sea_south"] = float(sea.total_bounds[1]) if len(sea) else None
    result["logit"] = logit
    return result


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_map_kind_in_offline_browser(kind, browser, built):
    info = built[kind]
    opened = Opened(browser, info["path"])
    try:
        state = opened.page.evaluate(LEAFLET_MAP_JS)
        assert state["version"] == "1.9.3" and state["container"] and state["maps"] == 1, state
        # every corridor feature of the layers is drawn, family by family
        assert opened.count("path.corridors-link") == info["n_links"]
        for family, n in info["families"].items():
            assert opened.count(f"path.corridors-link-{maps._css_class(family)}") == n, family
        assert opened.count("path.corridors-node") == info["n_nodes"]
        # corridor families, nodes and labels
        assert opened.count(".leaflet-control-layers-overlays input") == len(info["families"]) + 2
        assert opened.count(".corridors-legend") == 1
        # labels of hubs, ports and gateways: drawn, some shown, none overlapping another
        assert opened.count(".corridors-label") == info["n_labels"]
        boxes = opened.page.evaluate(VISIBLE_LABELS_JS)
        assert 0 < len(boxes) <= info["n_labels"]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
        credits = opened.page.inner_text(".leaflet-control-attribution")
        assert "corridors geodata" in credits and "Leaflet" in credits
        if info["natural_earth"]:
            assert "Natural Earth" in credits
        _screenshot(opened, built["shots"], kind)
        # a tooltip with the expected text on hover (the first candidate link not hidden
        # under a node marker or a control)
        for link_id, expected in info["candidates"]:
            selector = f"path.corridors-link-id-{maps._css_class(link_id)}"
            if opened.page.evaluate(FIND_POINT_JS, selector) is None:
                continue
            text = opened.hover(selector, expected[0])
            for part in expected:
                assert part in text, f"{part!r} not in tooltip {text!r}"
            width, height = opened.page.evaluate(TOOLTIP_SIZE_JS, expected[0])
            assert width <= 320 and height <= 160, f"tooltip of {width} x {height} px: {text!r}"
            break
        else:
            pytest.fail(f"none of the candidate links can be hovered: {[c[0] for c in info['candidates']]}")
        opened.assert_clean()
    finally:
        opened.close()


def test_flows_title_box_shows_the_headline(browser, built):
    opened = Opened(browser, built["flows"]["path"])
    try:
        title = opened.page.inner_text(".corridors-title")
        assert "through " in title and "% of " in title and "land TEU" in title
        opened.assert_clean()
    finally:
        opened.close()


@pytest.mark.parametrize("which", ["land", "maritime"])
def test_layer_control_toggles_a_corridor(which, browser, built):
    families = built["network"]["families"]
    if which == "maritime":
        if maps.MARITIME not in families:
            pytest.skip("the geodata has no maritime layer")
        family = maps.MARITIME
    else:
        family = next(f for f in families if f != maps.MARITIME)
    n = families[family]
    opened = Opened(browser, built["network"]["path"])
    try:
        labels = opened.page.locator(".leaflet-control-layers-overlays label")
        # land families come first in the layer control, the maritime one after them
        assert maps.corridor_label(maps.MARITIME) not in labels.first.inner_text()
        before = opened.count("path.corridors-link")
        opened.page.locator(".leaflet-control-layers-overlays label", has_text=maps.corridor_label(family)).click()
        assert opened.count(f"path.corridors-link-{maps._css_class(family)}") == 0
        assert opened.count("path.corridors-link") == before - n
        opened.assert_clean()
    finally:
        opened.close()


VIEW_JS = """
() => {
    const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
    const b = window[key].getBounds();
    return [b.getSouth(), b.getNorth(), b.getWest(), b.getEast()];
}
"""


@pytest.mark.parametrize("kind", maps.MAP_KINDS)
def test_initial_view_is_the_land_network(kind, browser, built):
    if built["sea_south"] is None:
        pytest.skip("the geodata has no sea lanes")
    opened = Opened(browser, built[kind]["path"])
    try:
        south, north, west, east = opened.page.evaluate(VIEW_JS)
        # the land network is in view, the sea lanes round the Cape of Good Hope are not
        assert south <= built["land_south"] < north
        assert south > built["sea_south"], (south, built["sea_south"])
        opened.assert_clean()
    finally:
        opened.close()


def test_labels_layer_toggles_and_zoom_reveals_more(browser, built):
    opened = Opened(browser, built["network"]["path"])
    try:
        shown = len(opened.page.evaluate(VISIBLE_LABELS_JS))
        opened.page.evaluate(
            """() => {
                const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
                window[key].setZoom(window[key].getZoom() + 2, {animate: false});
            }"""
        )
        opened.page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))")
        zoomed = opened.page.evaluate(VISIBLE_LABELS_JS)
        in_view = [b for b in zoomed if b[2] > 0 and b[3] > 0 and b[0] < 1280 and b[1] < 860]
        assert in_view, "no label in view after zooming in"
        label = opened.page.locator(".leaflet-control-layers-overlays label", has_text="Labels")
        label.click()
        assert opened.count(".corridors-label") == 0
        label.click()
        assert opened.count(".corridors-label") == built["network"]["n_labels"]
        assert shown > 0
        opened.assert_clean()
    finally:
        opened.close()


@pytest.fixture(scope="module")
def hostile(geodata_dir, tmp_path_factory) -> dict:
    """A copy of the geodata with one node (an end of some link) renamed to HOSTILE."""
    folder = tmp_path_factory.mktemp("hostile") / "geodata"
    shutil.copytree(geodata_dir, folder)
    network = corridors.load_network(geodata_dir)
    node_id = str(network.links["from"].iloc[0])
    path = folder / "nodes.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    (feature,) = [f for f in data["features"] if f["properties"]["id"] == node_id]
    feature["properties"]["name"] = HOSTILE
    path.write_text(json.dumps(data), encoding="utf-8")
    return {"geodata": folder, "node_id": node_id}


@pytest.mark.parametrize("kind", ["network", "flows"])
def test_hostile_node_name_renders_as_text(kind, browser, hostile, built, tmp_path):
    out = tmp_path / f"hostile-{kind}.html"
    if kind == "network":  # through the command line: --geodata DIR
        assert main(["map", "--kind", kind, "--geodata", str(hostile["geodata"]), "-o", str(out)]) == 0
    else:  # through the API: load_network(geodata=...); the flows of the unchanged topology
        network = corridors.load_network(hostile["geodata"])
        maps.save_map(maps.flow_map(built["logit"], network=network), out)
    opened = Opened(browser, out)
    try:
        selector = f"path.corridors-node-id-{maps._css_class(hostile['node_id'])}"
        assert opened.count(selector) == 1
        opened.focus_node(hostile["node_id"], selector)
        assert HOSTILE in opened.hover(selector, HOSTILE)
        opened.page.mouse.move(5, 5)
        assert HOSTILE in opened.click(selector)
        assert opened.count("img") == 0, "the hostile name became an <img> element"
        assert HOSTILE in opened.page.inner_text(".leaflet-popup-content")
        opened.assert_clean()
        if kind == "network":
            _screenshot(opened, built["shots"], "hostile", publish=False)
    finally:
        opened.close()
