"""The example notebooks in ``examples/`` run from top to bottom in a Jupyter kernel (nbclient).

The notebook is executed in memory (the file in the repository keeps no outputs) in the
kernel ``python3`` of the running interpreter (ipykernel, from the ``test`` extra), which
inherits this process's environment (``PYTHONPATH``, ``CORRIDORS_CACHE_DIR``).  Without
nbclient or a kernel that starts, the test is skipped with the reason, except under
``CI=true``, where it fails: CI must run the examples.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import corridors
from corridors import maps

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        pytest.fail(f"{reason}; CI=true, so the example notebooks must run, not be skipped", pytrace=False)
    pytest.skip(reason)


def _execute(path: Path):
    try:
        import nbformat
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        _unavailable(f"running the examples needs nbclient, nbformat and ipykernel (pip install -e '.[test]'): {exc}")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=900,
        startup_timeout=120,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError:
        raise  # a real failure of the example, with the cell and its traceback
    except NoSuchKernel as exc:
        _unavailable(f"no Jupyter kernel 'python3' is installed here ({exc})")
    except RuntimeError as exc:  # DeadKernelError, "Kernel didn't respond": skip only if no cell ever ran
        if all(c.get("execution_count") is None for c in notebook.cells if c.cell_type == "code"):
            _unavailable(f"the Jupyter kernel 'python3' does not start here ({type(exc).__name__}: {exc})")
        raise
    return notebook


def test_there_is_an_example_notebook():
    assert [p.name for p in NOTEBOOKS] == ["quickstart.ipynb"]


def test_notebooks_are_committed_without_outputs():
    import json

    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/plain", ""))
    return "".join(parts)


def _html(cell) -> str:
    return "".join(output.get("data", {}).get("text/html", "") for output in cell.get("outputs", []))


@pytest.fixture(scope="module")
def quickstart():
    return _execute(EXAMPLES / "quickstart.ipynb")


def test_quickstart_runs_and_reports_the_model_s_figures(quickstart):
    cells = [c for c in quickstart.cells if c.cell_type == "code"]
    errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    texts = "\n".join(_text(c) for c in cells)
    network = corridors.load_network()
    result = corridors.assign(network, method="logit")
    share = result.share_through("KAZ", from_="CHN", to="EU")
    assert f"{len(network.nodes)} nodes, {len(network.links)} links" in texts
    assert f"Through Kazakhstan: {share.share:.0%} of China–EU land TEU" in texts
    assert re.search(r"no-eu-transit-via-russia: through Kazakhstan \d+% -> \d+%", texts)


def test_quickstart_maps_display_inline_and_offline(quickstart):
    pages = [_html(c) for c in quickstart.cells if c.cell_type == "code" and "corridors-link" in _html(c)]
    assert len(pages) == 2, "the flow map and the compare map display inline"
    for page in pages:
        import html

        inner = html.unescape(re.search(r'srcdoc="(.*?)"', page, re.S).group(1))
        assert maps.external_assets(inner) == []


def test_quickstart_shows_results_as_tables(quickstart):
    cells = [c for c in quickstart.cells if c.cell_type == "code"]
    by_source = {"".join(c.source).split("\n")[0]: c for c in cells}
    share_cell = next(c for s, c in by_source.items() if s.startswith("share  #"))
    assert "corridors-result" in _html(share_cell) and "<table" in _html(share_cell)
    assert _text(share_cell).startswith("<ShareResult ")  # the short text repr beside the HTML view
    routes_cell = next(c for s, c in by_source.items() if s.startswith("routes = corridors.best_routes"))
    assert "rank" in _html(routes_cell) and "gateway" in _html(routes_cell) and "CHN-" in _html(routes_cell)
    sweep_cell = next(c for s, c in by_source.items() if s.startswith("sweep = corridors.sweep"))
    assert "p95" in _html(sweep_cell) and "share" in _html(sweep_cell)
    changes_cell = next(c for s, c in by_source.items() if s.startswith("run.corridor_changes()"))
    assert "change_teu" in _html(changes_cell)
