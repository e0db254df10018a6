"""The built wheel works outside the source tree: data shipped inside the package, CLI runs.

Offline: the wheel is built without build isolation (hatchling must be importable; it is
in the ``test`` extra), and installed without dependencies into a venv that sees the
running interpreter's packages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["CORRIDORS_CACHE_DIR"] = str(tmp_path / "cache")
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv with the freshly built wheel installed (no dependencies, no downloads)."""
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling is not importable: install the 'test' extra (pip install -e '.[test]') to build offline")
    tmp = tmp_path_factory.mktemp("packaging")
    env = _clean_env(tmp)
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, REPO],
         env=env, cwd=tmp)
    (wheel,) = wheels.glob("corridors-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], env=env, cwd=tmp)
    python = _venv_python(venv)
    # --system-site-packages reaches the base interpreter only; when the tests themselves run in
    # a venv (as in CI), its site-packages hold the dependencies, so point the new venv at them.
    # Plain path lines: .pth files there (e.g. an editable install of the source tree) are not run.
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=env, cwd=tmp)
    purelib = Path(purelib.stdout.strip())
    parents = [p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")]
    parents = [p for p in parents if Path(p).resolve() != REPO and Path(p).resolve() != purelib.resolve()]
    (purelib / "_corridors_test_parent.pth").write_text("\n".join(parents) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], env=env, cwd=tmp)
    return python, purelib, env, tmp


def test_wheel_ships_geodata_inside_the_package(installed):
    python, purelib, env, tmp = installed
    outside = tmp / "elsewhere"
    outside.mkdir(exist_ok=True)
    script = textwrap.dedent(
        """
        import json
        import corridors
        from corridors.layers import default_geodata
        net = corridors.load_network()
        print(json.dumps({
            "package": corridors.__file__,
            "geodata": str(default_geodata()),
            "nodes": len(net.node_records),
            "links": len(net.link_records),
            "demand": len(net.demand_rows),
        }))
        """
    )
    proc = _run([python, "-c", script], env=env, cwd=outside)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    site = purelib.resolve()
    assert Path(data["package"]).resolve().is_relative_to(site), data
    geodata = Path(data["geodata"]).resolve()
    assert geodata.is_relative_to(site), data
    assert geodata == site / "corridors" / "geodata"
    assert not geodata.is_relative_to(REPO)
    for name in ("nodes.geojson", "countries.geojson", "demand.csv", "parameters.toml", "SOURCES.md"):
        assert (geodata / name).is_file(), name
    assert sorted(p.name for p in (geodata / "links").glob("*.geojson"))
    assert data["nodes"] > 0 and data["links"] > 0 and data["demand"] > 0


def test_installed_cli_layers_runs(installed):
    python, purelib, env, tmp = installed
    outside = tmp / "elsewhere"
    outside.mkdir(exist_ok=True)
    proc = _run([python, "-m", "corridors.cli", "layers"], env=env, cwd=outside)
    assert "Traceback" not in proc.stderr
    assert "nodes" in proc.stdout and "links/" in proc.stdout and "demand rows" in proc.stdout
    script = python.parent / ("corridors.exe" if os.name == "nt" else "corridors")
    assert script.exists(), "the console script 'corridors' was not installed"
    proc = _run([script, "layers"], env=env, cwd=outside)
    assert "nodes" in proc.stdout


def test_declared_scipy_floor_has_yen():
    # corridors.routing uses scipy.sparse.csgraph.yen, which SciPy added in 1.14.0; an install
    # that satisfies a lower floor (e.g. scipy 1.13) fails at the first route query.
    import re
    import tomllib

    routing = (REPO / "corridors" / "routing.py").read_text(encoding="utf-8")
    if "csgraph import yen" not in routing:
        pytest.skip("routing does not use scipy.sparse.csgraph.yen")
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    (spec,) = [d for d in deps if re.match(r"scipy\b", d)]
    floor = re.search(r">=\s*([\d.]+)", spec)
    assert floor, spec
    assert tuple(int(x) for x in floor.group(1).split(".")[:2]) >= (1, 14), spec


def test_wheel_ships_py_typed_and_the_license(installed):
    import zipfile

    python, purelib, env, tmp = installed
    (wheel,) = (tmp / "wheels").glob("corridors-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "corridors/py.typed" in names
    licences = [n for n in names if re.search(r"\.dist-info/(licenses/)?LICENSE$", n)]
    assert licences, [n for n in names if ".dist-info/" in n]
    assert "MIT License" in zipfile.ZipFile(wheel).read(licences[0]).decode("utf-8")
    assert (purelib / "corridors" / "py.typed").is_file()


def _project() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_file_matches_pyproject():
    assert _project()["license"] == "MIT"
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c)" in text and "corridors contributors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_citation_cff_is_valid_and_current():
    yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of dask) reads CITATION.cff")
    import corridors

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    # the keys CFF 1.2.0 requires, and the ones that must agree with the package
    for key in ("cff-version", "message", "title", "authors"):
        assert cff.get(key), key
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names")) for a in cff["authors"])
    assert str(cff["version"]) == _project()["version"] == corridors.__version__
    assert cff["license"] == _project()["license"]
    allowed = {
        "abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers",
        "keywords", "license", "license-url", "message", "preferred-citation", "references", "repository",
        "repository-artifact", "repository-code", "title", "type", "url", "version",
    }
    assert set(cff) <= allowed, set(cff) - allowed


def test_changelog_follows_keep_a_changelog():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog")
    versions = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.M)
    assert versions[0] == ("Unreleased", "")
    assert ("0.1.0" in [v for v, _ in versions]) and versions[-1][0] == "0.1.0" and versions[-1][1]
    assert _project()["version"] in [v for v, _ in versions]
    sections = set(re.findall(r"^### (\w+)$", text, flags=re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, sections
