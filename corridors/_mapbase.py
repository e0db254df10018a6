"""Shared machinery of the maps: escaping and formatting, inlined assets, page output.

The pieces here know nothing of corridors: text from data files is escaped for HTML and
the JavaScript template literals folium embeds it in (:func:`escape`), numbers are
formatted for tooltips and legends, Leaflet and jQuery are inlined from the installed
``XStatic-Leaflet`` / ``XStatic-jQuery`` packages, and a finished map is rendered
(:func:`map_html`, refusing external assets in a self-contained map) and written
atomically through :func:`corridors._io.atomic_path` (:func:`save_map`).

The public names are re-exported by :mod:`corridors.maps`.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridors._errors import CorridorsError

if TYPE_CHECKING:  # pragma: no cover
    import folium

# ---------------------------------------------------------------------------
# escaping and formatting
# ---------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    """True for None, NaN, pandas.NA and NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str | int | bool):
        return False
    import numpy as np
    import pandas as pd

    try:
        result = pd.isna(value)
    except (TypeError, ValueError):  # pragma: no cover - exotic objects
        return False
    return isinstance(result, bool | np.bool_) and bool(result)


def escape(value: Any, missing: str = "–") -> str:
    """Return ``value`` as text that is safe inside HTML and a JavaScript template literal.

    HTML special characters are escaped (``<`` becomes ``&lt;``, quotes become entities), and
    so are the characters that would end or interpolate a JavaScript template literal
    (backtick, ``$``, backslash), because folium embeds tooltip and popup HTML in such
    literals.

    Parameters
    ----------
    value : Any
        The value; converted with ``str``.
    missing : str, default "–"
        Returned for None and NaN (already safe).

    Returns
    -------
    str
        Escaped text.

    Examples
    --------
    >>> escape("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape(None)
    '–'
    """
    if _missing(value):
        return missing
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _num(value: Any, unit: str = "", digits: int = 0) -> str:
    """Format a number with thousands separators and a unit ("–" when missing)."""
    if _missing(value):
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return escape(value)
    text = f"{number:,.{digits}f}"
    return f"{text} {unit}".strip()


def _pct(value: Any, digits: int = 1) -> str:
    """Format a fraction as a percentage ("–" when missing)."""
    if _missing(value):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def _compact(value: float, unit: str = "") -> str:
    """Format a number with two significant digits and k/M suffixes (legends)."""
    number = float(value)
    size = abs(number)
    if size >= 1e6:
        text = f"{number / 1e6:.2g} M"
    elif size >= 1e3:
        text = f"{number / 1e3:.3g} k"
    else:
        text = f"{number:.3g}"
    return f"{text} {unit}".strip()


def _legend_samples(vmax: float) -> list[float]:
    """Three round values at most ``vmax`` (about vmax, vmax/2, vmax/8) for width legends."""
    samples = []
    for fraction in (1.0, 0.5, 0.125):
        value = vmax * fraction
        if value <= 0:
            continue
        magnitude = 10 ** math.floor(math.log10(value))
        samples.append(math.floor(value / magnitude * 2) / 2 * magnitude or value)
    return samples


def _rows_html(rows: Iterable[tuple[str, str]]) -> str:
    """Return table rows from (label, already-escaped value) pairs."""
    return "".join(f"<tr><th>{escape(label)}</th><td>{value}</td></tr>" for label, value in rows)


def _tip(title: str, rows: Iterable[tuple[str, str]], more: Iterable[tuple[str, str]] | None = None) -> dict:
    """Return the feature properties the browser builds tooltip and popup from.

    ``title`` is escaped HTML; ``rows`` go in the tooltip and the popup, ``more`` in the
    popup only.  The page joins them as :func:`tip_html` does (the same HTML is not
    shipped twice).
    """
    props = {"title": title, "rows": _rows_html(rows)}
    if more is not None:
        props["more"] = _rows_html(more)
    return props


def tip_html(properties: Mapping[str, Any], *, popup: bool = False) -> str:
    """Return the tooltip (or popup) HTML the page shows for a feature's properties."""
    extra = properties.get("more", "") if popup else ""
    return f'<div class="corridors-tip"><b>{properties["title"]}</b><table>{properties["rows"]}{extra}</table></div>'


def _css_class(value: Any) -> str:
    """Return a CSS-class-safe slug of ``value``."""
    return re.sub(r"[^a-z0-9_-]", "_", str(value).lower())


# ---------------------------------------------------------------------------
# assets: inline Leaflet + jQuery from the XStatic packages
# ---------------------------------------------------------------------------

_LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
_LEAFLET_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
_JQUERY_CDN = "https://code.jquery.com/jquery-3.7.1.min.js"

_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*"""
    r"""((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)
_CSS_URL_RE = re.compile(r"""(?:@import\s+|url\()\s*["']?\s*((?:https?:)?//[^"')\s]+)""", re.I)


def external_assets(page: str) -> list[str]:
    """Return the external (http, https or protocol-relative) asset references in a page.

    Looks at ``src``/``href`` attributes of ``script``, ``link``, ``img``, ``iframe``,
    ``source`` and ``embed`` tags and at CSS ``url(...)`` / ``@import``.  Plain ``<a href>``
    links (attribution text) are not assets and are ignored.

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        The URLs, in order of appearance (empty for a self-contained page).
    """
    return [m.group(1) for m in _EXTERNAL_RE.finditer(page)] + [m.group(1) for m in _CSS_URL_RE.finditer(page)]


def _read_asset(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CorridorsError(
            f"{path}: cannot read the installed asset ({exc.strerror}); reinstall XStatic-Leaflet / XStatic-jQuery"
        ) from exc


def _asset_dirs() -> tuple[Path, Path]:
    try:
        import xstatic.pkg.jquery as xjquery
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:
        raise CorridorsError(
            f"self-contained maps need the XStatic-Leaflet and XStatic-jQuery packages "
            f"({exc}); install them or use --no-self-contained"
        ) from exc
    return Path(xleaflet.BASE_DIR), Path(xjquery.BASE_DIR)


def _inline_script(code: str) -> str:
    code = re.sub(r"^\s*//[#@] sourceMappingURL=.*$", "", code, flags=re.M)
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", code, flags=re.I) + "</script>"


def _inline_assets_html() -> str:
    """Return ``<style>`` and ``<script>`` elements with Leaflet and jQuery inlined."""
    leaflet_dir, jquery_dir = _asset_dirs()
    css = _read_asset(leaflet_dir / "leaflet.css")

    def data_uri(match: re.Match[str]) -> str:
        image = leaflet_dir / "images" / match.group(2)
        try:
            payload = base64.b64encode(image.read_bytes()).decode("ascii")
        except OSError as exc:
            raise CorridorsError(f"{image}: cannot read the installed Leaflet image") from exc
        return f"url(data:image/png;base64,{payload})"

    css = re.sub(r"""url\((["']?)images/([A-Za-z0-9_.-]+\.png)\1\)""", data_uri, css)
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)
    leaflet_js = _read_asset(leaflet_dir / "leaflet.js")
    jquery_js = _read_asset(jquery_dir / "jquery.min.js")
    return f"<style>{css}</style>\n{_inline_script(leaflet_js)}\n{_inline_script(jquery_js)}\n"


def _configure_assets(m: folium.Map, self_contained: bool) -> None:
    """Replace folium's CDN assets by inlined ones (or by the two CDN links we need)."""
    from branca.element import Element

    if self_contained:
        m.default_js = []
        m.default_css = []
        m.get_root().header.add_child(Element(_inline_assets_html()), name="corridors_assets", index=0)
    else:
        m.default_js = [("leaflet", _LEAFLET_CDN), ("jquery", _JQUERY_CDN)]
        m.default_css = [("leaflet_css", _LEAFLET_CSS_CDN)]
    m._corridors_self_contained = self_contained  # type: ignore[attr-defined]


def _html_element(markup: str, *, header: bool = False):
    """Return a branca MacroElement that puts trusted ``markup`` in the page body or head."""
    from branca.element import MacroElement, Template

    where = "header" if header else "html"
    element = MacroElement()
    element._template = Template("{% macro " + where + "(this, kwargs) %}{{ this.markup }}{% endmacro %}")
    element.markup = markup
    return element


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def map_html(m: folium.Map, *, check: bool | None = None) -> str:
    """Render a map to a complete HTML page.

    Parameters
    ----------
    m : folium.Map
        A map from this module (or any folium map).
    check : bool, optional
        Raise if an external asset remains.  Default: True for maps built
        ``self_contained=True`` by this module, False otherwise.

    Returns
    -------
    str
        The page.

    Raises
    ------
    CorridorsError
        If ``check`` and the page references an external script, stylesheet or other
        asset (http, https or protocol-relative URL).
    """
    if check is None:
        check = bool(getattr(m, "_corridors_self_contained", False))
    page = m.get_root().render()
    if check:
        found = external_assets(page)
        if found:
            listed = ", ".join(sorted(set(found))[:5])
            raise CorridorsError(
                f"map is not self-contained: {len(found)} external asset reference(s) remain "
                f"({listed}); use --no-self-contained to allow them"
            )
    return page


def save_map(m: folium.Map, path: str | os.PathLike[str], *, check: bool | None = None) -> Path:
    """Write a map to an HTML file atomically.

    The page is rendered (and checked, see :func:`map_html`) first, then written through
    :func:`corridors._io.atomic_path`: into a temporary file beside the target, moved over
    ``path`` only when complete, so a reader never sees a partial file, and an error,
    Ctrl-C or SIGTERM leaves any previous file untouched and no temporary file behind.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : str or PathLike
        Target file; missing parent folders are created.
    check : bool, optional
        See :func:`map_html`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CorridorsError
        If the map is not self-contained although it should be, or the file cannot be
        written (:class:`~corridors._io.OutputError`: the target is a folder, device,
        socket or pipe, the folder is not writable, or the disk is full).
    """
    from corridors._io import atomic_path

    page = map_html(m, check=check)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8", newline="\n")
    return Path(path)
