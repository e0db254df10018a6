"""The command line, run in-process (and once as a subprocess) on the toy world."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LINKS, NODES, write_geodata

from corridors.cli import main
from corridors.layers import validate_geodata

REPO = Path(__file__).resolve().parents[1]
N_LINKS = len(LINKS["belt_and_road"])
SHARE_KEYS = ("share", "through", "from", "to", "total_teu", "through_teu", "by_corridor", "by_gateway")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *words):
    assert code == 2
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("corridors: error: ")
    for word in words:
        assert word in lines[0]


def test_share_json(capsys, toy_geodata):
    code, out, err = run(capsys, "share", "--json", "--geodata", toy_geodata)
    assert code == 0, err
    data = json.loads(out)
    for key in SHARE_KEYS:
        assert key in data
    assert (data["through"], data["from"], data["to"]) == ("KAZ", "CHN", "EU")
    assert 0.75 < data["share"] < 0.85
    assert data["total_teu"] == pytest.approx(1000.0)
    assert set(data["by_gateway"]) == {"Khorgos–Dostyk", "Manzhouli–Zabaikalsk"}


def test_share_options_and_text(capsys, toy_geodata):
    code, out, _ = run(capsys, "share", "--through", "RUS", "--from", "EU", "--to", "CHN", "--method", "shortest",
                       "--json", "--geodata", toy_geodata)
    assert code == 0
    data = json.loads(out)
    assert data["share"] == 0.0 and data["total_teu"] == pytest.approx(400.0) and data["method"] == "shortest"
    code, out, _ = run(capsys, "share", "--method", "shortest", "--geodata", toy_geodata)
    assert code == 0
    assert "100.0%" in out and "Khorgos–Dostyk" in out


def test_params_file_overrides(capsys, toy_geodata, tmp_path):
    params = tmp_path / "fast.toml"
    params.write_text("[cost]\nvalue_of_time_usd_per_teu_h = 20.0\n")
    code, out, _ = run(capsys, "share", "--json", "--method", "shortest", "--params", params, "--geodata", toy_geodata)
    assert code == 0
    assert json.loads(out)["share"] == 0.0  # time is dear: everything takes the faster northern route
    code, out, err = run(capsys, "share", "--params", tmp_path / "nope.toml", "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "nope.toml")


def test_subprocess_share_json(toy_geodata, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["CORRIDORS_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-m", "corridors.cli", "share", "--json", "--geodata", str(toy_geodata)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    for key in SHARE_KEYS:
        assert key in data
    proc = subprocess.run(
        [sys.executable, "-m", "corridors.cli", "share", "--through", "KAX", "--geodata", str(toy_geodata)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "did you mean 'KAZ'" in proc.stderr


def test_route_json(capsys, toy_geodata):
    code, out, err = run(capsys, "route", "xian", "warsaw", "--k", "2", "--json", "--geodata", toy_geodata)
    assert code == 0, err
    routes = json.loads(out)
    assert [r["rank"] for r in routes] == [1, 2]
    assert routes[0]["countries"] == ["CHN", "KAZ", "POL"]
    assert routes[1]["countries"] == ["CHN", "RUS", "POL"]
    assert routes[0]["gen_cost_usd"] < routes[1]["gen_cost_usd"]
    for route in routes:
        assert route["origin"] == "xian" and route["destination"] == "warsaw"
        assert route["days"] == pytest.approx(route["time_h"] / 24.0)
        links = [leg for leg in route["legs"] if leg["kind"] == "link"]
        assert len(links) == 5
        assert sum(leg["km"] for leg in links) == pytest.approx(route["length_km"])
        assert all("from" in leg and "from_" not in leg for leg in route["legs"])
        assert links[0]["from"] == "xian" and links[-1]["to"] == "warsaw"
    code, out, _ = run(capsys, "route", "xian", "warsaw", "--k", "1", "--json", "--geodata", toy_geodata)
    assert len(json.loads(out)) == 1


def test_route_mode_rail_keeps_to_rail_and_ferries(capsys):
    # the shipped network: Moscow -> Xi'an has a road route via Orenburg and Aktobe among its best
    code, out, err = run(capsys, "route", "moscow", "xian", "--k", "5", "--mode", "rail", "--json")
    assert code == 0, err
    legs = [leg for r in json.loads(out) for leg in r["legs"] if leg["kind"] == "link"]
    assert legs and {leg["mode"] for leg in legs} <= {"rail", "ferry"}
    code, _, err = run_exit(capsys, "route", "moscow", "xian", "--mode", "sea")
    assert code == 2 and "invalid choice" in err


def test_route_text(capsys, toy_geodata):
    code, out, _ = run(capsys, "route", "xian", "warsaw", "--geodata", toy_geodata)
    assert code == 0
    assert "#1" in out and "#2" in out and "CHN - KAZ - POL" in out
    assert "transfer at Dostyk" in out


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet"])
def test_assign_output_formats(capsys, toy_geodata, tmp_path, suffix):
    import geopandas as gpd
    import pandas as pd

    target = tmp_path / "out" / f"flows{suffix}"
    code, out, err = run(capsys, "assign", "--method", "shortest", "-o", target, "--geodata", toy_geodata)
    assert code == 0, err
    assert "Traceback" not in err
    assert target.is_file()
    if suffix == ".csv":
        frame = pd.read_csv(target)
        assert frame["WKT"].str.startswith("LINESTRING").all()
    elif suffix == ".parquet":
        frame = gpd.read_parquet(target)
    else:
        frame = gpd.read_file(target, layer="links")
    assert len(frame) == N_LINKS
    for column in ("id", "teu_ab", "teu_ba", "teu", "utilisation"):
        assert column in frame.columns
    if suffix != ".csv":
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        assert set(frame.geom_type) == {"LineString"}
    frame = frame.set_index("id")
    assert frame.loc["dostyk-kaz_west", "teu_ab"] == pytest.approx(1000.0)
    assert frame.loc["dostyk-kaz_west", "teu_ba"] == pytest.approx(400.0)
    assert frame.loc["xian-manzhouli", "teu"] == 0.0
    assert "index" not in frame.columns
    # the target holds the links, its siblings the nodes and routes; nothing else is left
    names = [target.name] if suffix == ".gpkg" else [target.name, f"flows.nodes{suffix}", f"flows.routes{suffix}"]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(names)


def test_assign_unknown_suffix(capsys, toy_geodata, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(capsys, "assign", "-o", out_dir / "flows.xlsx", "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, ".xlsx")
    assert list(out_dir.iterdir()) == []


def test_assign_failure_leaves_no_file(capsys, toy_geodata, tmp_path, monkeypatch):
    import geopandas as gpd

    def broken(self, *args, **kwargs):
        Path(args[0]).write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", broken)
    target = tmp_path / "out" / "flows.geojson"

    def assign_fails():
        # a write error may propagate or be reported as a one-line error; either way no file is left
        try:
            code = main(["assign", "-o", str(target), "--geodata", str(toy_geodata)])
        except OSError as exc:
            assert "disk full" in str(exc)
            return
        assert code == 2
        assert "disk full" in capsys.readouterr().err

    assign_fails()
    assert list(target.parent.iterdir()) == []
    target.write_text("old")
    assign_fails()
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_layers(capsys, toy_geodata):
    code, out, _ = run(capsys, "layers", "--geodata", toy_geodata)
    assert code == 0
    table = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1]) for line in out.splitlines()[1:]}
    assert table == {"nodes": len(NODES), "links/belt_and_road": N_LINKS, "countries": 4, "demand rows": 2}


def test_validate_good_folder(capsys, toy_geodata):
    code, out, err = run(capsys, "validate", toy_geodata)
    assert code == 0 and "valid" in out and err == ""
    code, out, err = run(capsys, "validate", "--geodata", toy_geodata)
    assert code == 0 and "valid" in out


def test_validate_bad_folder_lists_every_problem(capsys, tmp_path):
    nodes = copy.deepcopy(NODES)
    nodes[1]["properties"]["dwell_h"] = -1.0
    nodes[2]["properties"]["kind"] = "station"
    links = copy.deepcopy(LINKS)
    links["belt_and_road"][0]["properties"]["to"] = "khorgoss"
    links["belt_and_road"][4]["properties"]["status"] = "open"
    folder = write_geodata(tmp_path / "bad", nodes=nodes, links=links)
    problems = validate_geodata(folder)
    assert len(problems) >= 4
    code, out, err = run(capsys, "validate", folder)
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    for problem in problems:
        assert str(problem) in lines
    assert lines[-1] == f"{len(problems)} problem(s) found"
    assert len(lines) == len(problems) + 1


def test_unknown_country(capsys, toy_geodata):
    code, out, err = run(capsys, "share", "--through", "KAX", "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "'KAX'", "did you mean 'KAZ'")


def test_unknown_node_in_route(capsys, toy_geodata):
    code, out, err = run(capsys, "route", "xian", "warsw", "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "'warsw'", "did you mean 'warsaw'")


def test_missing_geodata_folder(capsys, tmp_path):
    for argv in (["share"], ["route", "xian", "warsaw"], ["layers"], ["assign", "-o", str(tmp_path / "x.csv")]):
        code, out, err = run(capsys, *argv, "--geodata", tmp_path / "nowhere")
        assert_one_line_error(code, out, err, "nowhere", "not found")
    assert not (tmp_path / "x.csv").exists()
    code, out, err = run(capsys, "validate", tmp_path / "nowhere")
    assert code == 2 and "not found" in err and "Traceback" not in err


def test_malformed_layer(capsys, tmp_path):
    folder = write_geodata(tmp_path / "bad")
    (folder / "nodes.geojson").write_text('{"type": "FeatureCollection",\n "features": [\n')
    for argv in (["share"], ["layers"], ["route", "xian", "warsaw"]):
        code, out, err = run(capsys, *argv, "--geodata", folder)
        assert_one_line_error(code, out, err, "nodes.geojson", "not valid JSON")


def test_no_demand_between_regions(capsys, toy_geodata):
    code, out, err = run(capsys, "share", "--from", "KAZ", "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "no demand")


def test_no_command_prints_help(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and "share" in out and "validate" in out


def test_params_path_is_a_directory(capsys, toy_geodata, tmp_path):
    # Bug (commands/core.py load_params_file): only FileNotFoundError is caught, so a directory
    # (or an unreadable file) escapes as IsADirectoryError with a traceback.
    code, out, err = run(capsys, "share", "--params", tmp_path, "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, str(tmp_path))


@pytest.mark.parametrize("where", ["under_a_file", "a_directory"])
def test_assign_unwritable_output(capsys, toy_geodata, tmp_path, where):
    # Bug (commands/core.py run_assign): an output path that cannot be written (its parent is a
    # file, or it is a directory) escapes as FileExistsError/IsADirectoryError with a traceback.
    if where == "under_a_file":
        (tmp_path / "plain").write_text("x")
        target = tmp_path / "plain" / "flows.csv"
    else:
        target = tmp_path / "flows.csv"
        target.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "assign", "-o", target, "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "flows.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("name", ["demand.csv", "parameters.toml", "SOURCES.md"])
def test_non_utf8_file_is_bad_input(capsys, tmp_path, name):
    # Bug (layers.py _read_demand_file, _read_parameters, _source_keys): these files are read as
    # UTF-8 without catching UnicodeDecodeError (nodes and links are), so validate and every
    # command crash with a traceback instead of naming the file.
    folder = write_geodata(tmp_path / "latin1")
    path = folder / name
    text = path.read_text(encoding="utf-8")
    text = "# caf\xe9\n" + text if name.endswith(".toml") else text.replace("A1", "A1 caf\xe9", 1)
    path.write_bytes(text.encode("latin-1"))
    assert b"\xe9" in path.read_bytes()
    code, out, err = run(capsys, "validate", folder)
    assert code == 2 and "Traceback" not in err
    assert name in err and "UTF-8" in err
    code, out, err = run(capsys, "layers", "--geodata", folder)
    assert_one_line_error(code, out, err, name)


def test_link_end_of_wrong_type_is_a_problem(capsys, tmp_path):
    # Bug (layers.py _read_links): `node_id not in nodes` with a list as 'from' raises
    # TypeError (unhashable type) instead of recording a Problem.
    links = copy.deepcopy(LINKS)
    links["belt_and_road"][0]["properties"]["from"] = ["xian"]
    folder = write_geodata(tmp_path / "bad", links=links)
    code, out, err = run(capsys, "validate", folder)
    assert code == 2 and "Traceback" not in err
    assert "link 'xian-khorgos': field 'from'" in err


# --------------------------------------------------------------------------- hardening (issue 13)


def assert_usage_error(code_or_exit, err, *words):
    """An argparse refusal: exit 2, one line on stderr naming the option, no traceback."""
    assert code_or_exit == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    last = err.strip()
    assert last.startswith("corridors: error:") and err.count("error:") == 1
    for word in words:
        assert word in last


def run_exit(capsys, *argv):
    """Run the CLI where argparse may exit; return (code, out, err)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["route", "xian", "warsaw", "--k", "100000"],
        ["route", "xian", "warsaw", "--k", "0"],
        ["route", "xian", "warsaw", "--k", "nan"],
        ["sweep", "baseline-2024-uncertainty", "--seed", "-1"],
        ["sweep", "baseline-2024-uncertainty", "--draws", "2000000000"],
        ["sweep", "baseline-2024-uncertainty", "--draws", "0"],
        ["sweep", "baseline-2024-uncertainty", "--draws", "1e3"],
        ["sweep", "baseline-2024-uncertainty", "--scheduler", "tcp://[bad"],
        ["sweep", "baseline-2024-uncertainty", "--scheduler", "tcp://host:99999"],
        ["sweep", "baseline-2024-uncertainty", "--scheduler", "not an address"],
        ["sweep", "baseline-2024-uncertainty", "--workers", "-3"],
        ["scenario", "run", "baseline-2024", "--links", "-1"],
        ["calibrate", "--year", "1e9"],
        ["validate-model", "--year", "inf"],
        ["layers", "--params", "x.toml"],
        ["layers", "--scenario", "x"],
        ["validate", "--params", "x.toml"],
        ["validate", "--scenario", "x"],
        ["calibrate", "--scenario", "x"],
    ],
)
def test_absurd_options_refused_before_work(capsys, toy_geodata, monkeypatch, argv):
    import corridors.network

    def no_work(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(corridors.network, "load_network", no_work)
    code, out, err = run_exit(capsys, *argv, "--geodata", toy_geodata)
    assert_usage_error(code, err)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["bogus"], ["invalid choice", "'bogus'"]),
        (["share", "--through"], ["share:", "--through", "corridors share --help"]),
        (["share", "--method", "fastest"], ["--method", "invalid choice"]),
        (["route", "xian"], ["route:", "required"]),
        (["route", "xian", "warsaw", "--k", "x\ny"], ["--k", "x\\ny"]),
        (["scenario"], ["scenario:", "ACTION"]),
        (["scenario", "frob"], ["scenario:", "invalid choice"]),
        (["cache"], ["cache:", "ACTION"]),
        (["cache", "info", "--nope"], ["unrecognized arguments", "--nope"]),
        (["tntp"], ["tntp:"]),
        (["-q", "-v", "share"], ["not allowed with"]),
    ],
)
def test_every_usage_error_is_one_line(capsys, argv, words):
    code, out, err = run_exit(capsys, *argv)
    assert out == ""
    assert_usage_error(code, err, *words)


def test_help_keeps_the_usage(capsys):
    code, out, err = run_exit(capsys, "share", "--help")
    assert code == 0 and out.startswith("usage: corridors share") and "--through" in out and err == ""


def test_good_scheduler_addresses_parse():
    from corridors.commands.core import scheduler_address

    for text in ("tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://scheduler.example.org:8786", "tcp://[::1]:8786",
                 "localhost"):
        assert scheduler_address(text) == text


def _params(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text",
    [
        "[route_choice]\nlogit_theta_per_usd = nan\n",
        "[cost]\nvalue_of_time_usd_per_teu_h = inf\n",
        "[route_choice]\nmax_detour = 0\n",
        "[route_choice]\nmax_detour = 1\n",
        "[route_choice]\nk_routes = 1e9\n",
        "[route_choice]\nk_routes = nan\n",
        "[model]\nyear = inf\n",
        "[model]\nyear = '2030'\n",
        "[cost]\nvalue_of_tme = 3\n",
        "x = " + "[" * 50_000 + "]" * 50_000 + "\n",
    ],
)
def test_bad_params_file_one_line_no_output(capsys, toy_geodata, tmp_path, text):
    target = tmp_path / "flows.csv"
    code, out, err = run(capsys, "assign", "-o", target, "--params", _params(tmp_path, text), "--geodata",
                         toy_geodata)
    assert_one_line_error(code, out, err, "bad.toml")
    assert not target.exists()


@pytest.mark.parametrize(
    "text",
    ["[route_choice]\nk_routes = 1e9\n", "[cost]\nvalue_of_tme = 3\n", "[route_choice]\nlogit_theta_per_usd = nan\n"],
)
def test_validate_checks_parameters_like_model_commands(capsys, tmp_path, text):
    folder = write_geodata(tmp_path / "toy", parameters=text)
    code, out, err = run(capsys, "validate", folder)
    assert code == 2 and "parameters.toml" in err and "Traceback" not in err
    code, out, err = run(capsys, "share", "--geodata", folder)
    assert_one_line_error(code, out, err, "parameters.toml")


def test_validate_checks_self_loops(capsys, tmp_path):
    links = copy.deepcopy(LINKS)
    links["belt_and_road"][2]["properties"]["to"] = "dostyk"
    folder = write_geodata(tmp_path / "toy", links=links)
    code, out, err = run(capsys, "validate", folder)
    assert code == 2 and "same node" in err


def test_validate_checks_scenarios_of_the_folder(capsys, tmp_path):
    folder = write_geodata(tmp_path / "toy")
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "ok.toml").write_text('title = "ok"\n[[close]]\nlinks = ["khorgos-dostyk"]\n')
    code, out, err = run(capsys, "validate", folder)
    assert code == 0 and "1 scenario(s) checked" in out, err
    (folder / "scenarios" / "bad.toml").write_text('title = "bad"\n[[close]]\nlinks = ["khorgos-dostyk-x"]\n')
    code, out, err = run(capsys, "validate", folder)
    assert code == 2 and "bad.toml" in err and "khorgos-dostyk-x" in err
    code, out, err = run(capsys, "validate", folder, "--json")
    report = json.loads(out)
    assert code == 2 and report["valid"] is False and report["scenarios_checked"] == 2
    assert len(report["problems"]) == 1 and "bad.toml" in report["problems"][0]["text"]


def test_validate_one_folder(capsys, toy_geodata, tmp_path):
    code, out, err = run(capsys, "validate", toy_geodata, "--geodata", toy_geodata)
    assert code == 0
    code, out, err = run(capsys, "validate", toy_geodata, "--geodata", tmp_path)
    assert_one_line_error(code, out, err, "two folders")


def test_validate_and_layers_json(capsys, toy_geodata):
    code, out, err = run(capsys, "validate", toy_geodata, "--json")
    report = json.loads(out)
    assert code == 0 and report["valid"] is True and report["problems"] == [] and report["notes"] == []
    code, out, err = run(capsys, "layers", "--geodata", toy_geodata, "--json")
    table = json.loads(out)["layers"]
    assert code == 0 and table == {"nodes": len(NODES), "links/belt_and_road": N_LINKS, "countries": 4,
                                   "demand rows": 2}


def test_demand_of_1e308_refused(capsys, tmp_path):
    demand = [dict(origin="xian", destination="warsaw", teu="1e308", year=2024, segment="s", basis="A1")] * 3
    folder = write_geodata(tmp_path / "toy", demand=demand)
    code, out, err = run(capsys, "share", "--geodata", folder)
    assert_one_line_error(code, out, err, "demand.csv", "teu")


@pytest.mark.parametrize("target", ["/dev/null", "folder", "socket"])
def test_non_regular_output_refused(capsys, toy_geodata, tmp_path, target):
    import socket
    import stat

    if target == "folder":
        path = tmp_path / "flows.csv"
        path.mkdir()
    elif target == "socket":
        path = tmp_path / "s.csv"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
    else:
        if not Path(target).exists():
            pytest.skip("no /dev/null")
        path = tmp_path / "flows.csv"  # a link to a device: the device is what would be replaced
        path.symlink_to(target)
    mode = path.stat().st_mode
    code, out, err = run(capsys, "assign", "-o", path, "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "regular file")
    assert path.stat().st_mode == mode and not stat.S_ISREG(mode)


def test_disk_full_is_one_line(capsys, toy_geodata, tmp_path, monkeypatch):
    import errno

    import pandas as pd

    def full(self, path, *args, **kwargs):
        Path(path).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    target = tmp_path / "out" / "flows.csv"
    target.parent.mkdir()
    target.write_text("previous")
    code, out, err = run(capsys, "assign", "-o", target, "--geodata", toy_geodata)
    assert_one_line_error(code, out, err, "flows.csv", "disk full")
    assert target.read_text() == "previous" and [p.name for p in target.parent.iterdir()] == ["flows.csv"]


_WRITER = """
import sys, time
from corridors._io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print("writing", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_signal_leaves_no_temporary_file(tmp_path, sig):
    import signal

    target = tmp_path / "out.csv"
    target.write_text("previous")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, env=env,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(getattr(signal, sig))
    assert proc.wait(timeout=30) != 0
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_leftovers_of_a_killed_writer_are_removed(tmp_path):
    target = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"writing"
    proc.kill()
    proc.wait(timeout=30)
    assert len(list(tmp_path.iterdir())) == 1  # SIGKILL cannot be caught: the temporary folder stays
    from corridors._io import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"] and target.read_text() == "new"


def test_geojson_layer_name_is_the_target_name(capsys, toy_geodata, tmp_path):
    target = tmp_path / "flows.geojson"
    code, out, err = run(capsys, "assign", "-o", target, "--geodata", toy_geodata)
    assert code == 0
    assert json.loads(target.read_text())["name"] == "links"
    assert json.loads((tmp_path / "flows.routes.geojson").read_text())["name"] == "routes"
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]


# --------------------------------------------------------------------------- the cache


def _cache_entries():
    from corridors import _cache

    return sorted(p for p in _cache.cache_dir().iterdir() if p.name.endswith(".entry"))


def test_cache_info_and_clear(capsys, toy_geodata):
    code, out, err = run(capsys, "share", "--geodata", toy_geodata)
    assert code == 0 and _cache_entries()
    code, out, err = run(capsys, "cache", "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["entries"] == len(_cache_entries()) and info["size_bytes"] > 0
    code, out, err = run(capsys, "cache", "clear")
    assert code == 0 and _cache_entries() == []
    code, out, err = run(capsys, "cache", "info")
    assert code == 0 and "entries:      0" in out


def test_corrupted_cache_entry_is_recomputed(capsys, toy_geodata, caplog):
    import logging

    code, first, _ = run(capsys, "share", "--geodata", toy_geodata, "--json")
    for path in _cache_entries():
        blob = bytearray(path.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(bytes(blob))
    with caplog.at_level(logging.DEBUG, logger="corridors._cache"):
        code, again, err = run(capsys, "share", "--geodata", toy_geodata, "--json")
    assert code == 0 and json.loads(again) == json.loads(first) and err == ""
    assert any("corrupted" in r.getMessage() for r in caplog.records)
    code, third, _ = run(capsys, "share", "--geodata", toy_geodata, "--json")  # and the cache works again
    assert code == 0 and json.loads(third) == json.loads(first)


class _Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_planted_pickle_is_never_loaded(capsys, toy_geodata, tmp_path):
    import pickle

    from corridors import _cache

    code, first, _ = run(capsys, "share", "--geodata", toy_geodata, "--json")
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Planted(marker))
    for path in _cache_entries():
        # A raw pickle, and one in the entry format with a forged (zero) digest.
        path.write_bytes(payload)
    code, again, _ = run(capsys, "share", "--geodata", toy_geodata, "--json")
    assert code == 0 and not marker.exists()
    for path in _cache_entries():
        header = path.read_bytes()[: path.read_bytes().index(b"\n") + 1]
        path.write_bytes(header + bytes(32) + payload)
    code, again, _ = run(capsys, "share", "--geodata", toy_geodata, "--json")
    assert code == 0 and not marker.exists() and json.loads(again) == json.loads(first)
    # A key others can read is no secret: it is replaced, and entries signed with it are void.
    key = _cache.cache_dir() / "key"
    key.chmod(0o644)
    assert _cache.read("anything") is None
    _cache.write("x", {"a": 1})
    assert key.stat().st_mode & 0o077 == 0 and _cache.read("x") == {"a": 1}


def test_cache_is_bounded(monkeypatch):
    import time

    from corridors import _cache

    monkeypatch.setenv("CORRIDORS_CACHE_MAX_MB", "0.25")  # 262,144 bytes
    for i in range(6):
        _cache.write(f"big-{i}", bytes(100_000))
        time.sleep(0.01)
        os.utime(_cache._entry_path(f"big-{i}"), (1000 + i, 1000 + i))
    names = [p.name for p in _cache_entries()]
    assert len(names) == 2 and _cache.read("big-5") == bytes(100_000) and _cache.read("big-0") is None
    assert _cache.info().size_bytes <= _cache.max_bytes()


def test_cache_format_version_in_names():
    from corridors import _cache

    _cache.write("thing", [1, 2])
    (path,) = _cache_entries()
    assert path.name.startswith(f"v{_cache.FORMAT_VERSION}-")
    (_cache.cache_dir() / "layers-old.pickle").write_bytes(b"\x80\x04K\x01.")  # an old-format entry
    assert _cache.info().other_files == 1
    assert _cache.clear() == 2


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".parquet", ".csv"])
def test_assign_writes_links_nodes_and_routes(capsys, toy_geodata, tmp_path, suffix):
    import geopandas as gpd
    import pyogrio

    target = tmp_path / f"flows{suffix}"
    code, out, err = run(capsys, "assign", "-o", target, "--json", "--geodata", toy_geodata)
    assert code == 0, err
    report = json.loads(out)
    files = {Path(f).name for f in report["files"]}
    if suffix == ".gpkg":
        assert files == {"flows.gpkg"}
        assert [tuple(row) for row in pyogrio.list_layers(target)] == [
            ("links", "LineString"), ("nodes", "Point"), ("routes", "LineString")]
        read = {name: gpd.read_file(target, layer=name) for name in ("links", "nodes", "routes")}
        info = pyogrio.read_info(target, layer="links")
        types = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert types["gauge_mm"] == "int64" and types["teu"] == "float64"  # whole numbers stay integers
    else:
        assert files == {f"flows{suffix}", f"flows.nodes{suffix}", f"flows.routes{suffix}"}
        paths = {"links": target, "nodes": tmp_path / f"flows.nodes{suffix}",
                 "routes": tmp_path / f"flows.routes{suffix}"}
        if suffix == ".parquet":
            read = {name: gpd.read_parquet(path) for name, path in paths.items()}
        else:
            read = {name: pyogrio.read_dataframe(path) for name, path in paths.items()}
    links, nodes, routes = read["links"], read["nodes"], read["routes"]
    assert report["layers"] == {"links": len(links), "nodes": len(nodes), "routes": len(routes)}
    assert len(links) == N_LINKS and len(nodes) == len(NODES)
    for frame in (links, nodes, routes):
        assert "index" not in frame.columns
        if suffix != ".csv":  # a CSV has no CRS; its WKT is in degrees (EPSG:4326)
            assert frame.crs.to_epsg() == 4326
    assert set(nodes.geom_type) == {"Point"} and set(routes.geom_type) == {"LineString"}
    assert {"teu", "corridor", "gateway", "segment", "origin", "destination"} <= set(routes.columns)
    assert routes["teu"].astype(float).sum() == pytest.approx(report["total_teu"])
    # the route lines run along the link lines
    link_line = links.set_index("id").geometry
    first = routes.iloc[0]
    first_link = str(first["links"]).split()[0]
    assert link_line[first_link].coords[0] in set(first.geometry.coords)


# --------------------------------------------------------------------------- help texts and --json

_REPORTING = (["share"], ["route"], ["assign"], ["layers"], ["validate"], ["scenario", "list"], ["scenario", "run"],
              ["sweep"], ["calibrate"], ["validate-model"], ["cache", "info"], ["cache", "clear"], ["tntp"])


def _help(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", _REPORTING, ids=" ".join)
def test_every_reporting_command_has_json_and_readable_help(capsys, argv):
    text = _help(capsys, argv)
    assert "--json" in text
    # metavars name what to give, never an internal variable name
    for internal in ("FROM_", "THROUGH", " TO ", "TO\n", "SCENARIO_NAME", "DRAWS", " K "):
        assert internal not in text, (argv, internal)


def test_scenario_list_offers_no_model_options(capsys):
    text = _help(capsys, ["scenario", "list"])
    assert "--params" not in text and "--method" not in text and "--through" not in text


def test_cache_clear_json(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CORRIDORS_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run(capsys, "cache", "clear", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["removed"] == 0 and data["path"].endswith("cache")


def test_progress_bars_on_long_steps(capsys, toy_geodata, monkeypatch):
    from corridors import _progress

    monkeypatch.setenv("CORRIDORS_NO_CACHE", "1")  # an empty cache: the choice sets are built
    monkeypatch.delenv("CORRIDORS_PROGRESS", raising=False)
    # as on a terminal: bars unless -q
    monkeypatch.setattr(_progress, "progress_enabled", lambda: _progress._FORCED is not False)
    code, out, err = run(capsys, "share", "--geodata", toy_geodata)
    assert code == 0 and "choice sets" in err and "OD pair" in err
    code, out, err = run(capsys, "-q", "share", "--geodata", toy_geodata)
    assert code == 0 and "choice sets" not in err
