"""Every ```python block of README.md runs to its end as written: as a script and in a notebook.

Each block is saved as a ``.py`` file in an empty folder and run with ``python`` in a
subprocess (as a reader who copies it would), which must exit 0; the same blocks run as the
cells of a notebook in a Jupyter kernel (nbclient).  Blocks that write files write them into
that folder.  One block starts a local Dask cluster, so the tests are marked slow; CI runs
them (``python -m pytest`` runs slow tests too).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
#: Seconds one block may take as a script (the sweep of 1,000 draws and a Dask cluster start).
TIMEOUT_S = 600


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return [m.group(1) for m in re.finditer(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)]


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    # the code under test (this checkout), not whatever else is installed
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("CORRIDORS_CACHE_DIR", str(tmp_path / "cache"))
    env["CORRIDORS_PROGRESS"] = "0"
    return env


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 2
    assert python_blocks("text\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n") == [
        "x = 1\n", "y = 2\n"]


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i + 1}")
def test_block_runs_as_a_script(tmp_path, index):
    script = tmp_path / f"readme_block_{index + 1}.py"
    script.write_text(BLOCKS[index], encoding="utf-8")
    proc = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"README python block {index + 1} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    # a script runs once: Dask's workers must not re-run it (the output would repeat)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("sweep of ")]
    assert len(lines) <= 1, proc.stdout


@pytest.mark.slow
def test_blocks_run_in_a_notebook(tmp_path):
    try:
        import nbformat
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient import NotebookClient
    except ImportError as exc:
        if os.environ.get("CI", "").strip().lower() in ("true", "1"):
            raise
        pytest.skip(f"needs nbclient, nbformat and ipykernel (pip install -e '.[test]'): {exc}")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(block) for block in BLOCKS])
    old = dict(os.environ)
    os.environ.update(_env(tmp_path))  # the kernel inherits this process's environment
    try:
        NotebookClient(notebook, kernel_name="python3", timeout=TIMEOUT_S, startup_timeout=120,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    except NoSuchKernel as exc:
        pytest.skip(f"no Jupyter kernel 'python3' ({exc})")
    finally:
        os.environ.clear()
        os.environ.update(old)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert (tmp_path / "maps" / "flows.html").is_file()


_UNGUARDED = """
import corridors

print("script started")
corridors.sweep("baseline-2024-uncertainty", draws=5, seed=1, workers=2)
"""


@pytest.mark.slow
def test_unguarded_cluster_script_fails_in_one_line(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(_UNGUARDED, encoding="utf-8")
    proc = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 1
    assert proc.stdout.count("script started") == 1  # no worker re-ran the script
    last = proc.stderr.strip().splitlines()[-1]
    assert "if __name__ == \"__main__\":" in last and "workers" in last
    assert "Nanny" not in proc.stderr
