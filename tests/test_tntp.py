"""Tests of the TNTP reader and the ``corridors tntp`` command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from corridors import tntp
from corridors._errors import TNTPError
from corridors.equilibrium import user_equilibrium

# the shared TNTP networks beside the project (or where $CORRIDORS_TNTP_DIR points)
TNTP = Path(os.environ.get("CORRIDORS_TNTP_DIR",
                           Path(__file__).resolve().parents[2] / "shared" / "tntp"))
SIOUX_FALLS = tntp.shipped_folder() / "SiouxFalls"  # shipped with the package

HEADER = """<NUMBER OF ZONES> {zones}
<NUMBER OF NODES> {nodes}
<FIRST THRU NODE> {first}
<NUMBER OF LINKS> {links}
<END OF METADATA>


~	init_node	term_node	capacity	length	free_flow_time	b	power	speed	toll	link_type	;
"""

# Four nodes: 1 -> 2 -> 3 is short (cost 2), 1 -> 4 -> 3 long (cost 10).  With zones 1 and
# 2 below FIRST THRU NODE 3, node 2 may not be passed through and 1 -> 3 takes the long way.
LINKS = [
    (1, 2, 100, 1, 1, 0.15, 4),
    (2, 3, 100, 1, 1, 0.15, 4),
    (1, 4, 100, 5, 5, 0.15, 4),
    (4, 3, 100, 5, 5, 0.15, 4),
    (3, 1, 100, 1, 1, 0.15, 4),
    (3, 2, 100, 1, 1, 0.15, 4),
]


def write_net(path: Path, links=LINKS, *, zones=3, nodes=4, first=3, n_links=None,
              extra: str = "") -> Path:
    lines = [HEADER.format(zones=zones, nodes=nodes, first=first,
                           links=len(links) if n_links is None else n_links)]
    for a, b, cap, length, fft, bb, power in links:
        lines.append(f"\t{a}\t{b}\t{cap}\t{length}\t{fft}\t{bb}\t{power}\t0\t0\t1\t;\n")
    lines.append(extra)
    path.write_text("".join(lines))
    return path


def write_trips(path: Path, body: str, zones: int = 3) -> Path:
    path.write_text(f"<NUMBER OF ZONES> {zones}\n<TOTAL OD FLOW> 10.0\n<END OF METADATA>\n\n"
                    + body)
    return path


def test_small_network_and_first_thru_node(tmp_path):
    # zones 1..2 may not be passed through with FIRST THRU NODE 3: 1 -> 3 must go
    # 1 -> 4 -> 3 instead of 1 -> 2 -> 3.
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp", zones=2, first=3))
    trips = tntp.read_trips(write_trips(tmp_path / "x_trips.tntp", "Origin 1\n 2 : 4.0; \n",
                                        zones=2), net)
    assert net.n_nodes == 4 and net.n_links == 6 and net.first_thru_node == 3
    arrays = net.link_arrays()
    assert arrays.no_through.tolist() == [True, True, False, False]
    res = user_equilibrium(arrays, [0], [2], [4.0], gap=1e-9)
    np.testing.assert_allclose(res.flows, [0, 0, 4, 4, 0, 0], atol=1e-9)
    # with every node a through node the short way via node 2 is used
    open_net = tntp.read_network(write_net(tmp_path / "y_net.tntp", zones=2, first=1))
    res = user_equilibrium(open_net.link_arrays(), [0], [2], [4.0], gap=1e-9)
    np.testing.assert_allclose(res.flows, [4, 4, 0, 0, 0, 0], atol=1e-9)
    assert trips.origins.tolist() == [1] and trips.destinations.tolist() == [2]


def test_trips_parse_several_entries_per_line(tmp_path):
    path = write_trips(tmp_path / "t_trips.tntp",
                       "Origin 1\n  1 : 5.0;  2 : 1.5;  3 : 0.0;\n\nOrigin \t3\n 1 :2e1;\n")
    trips = tntp.read_trips(path)
    assert trips.origins.tolist() == [1, 3]
    assert trips.destinations.tolist() == [2, 1]
    assert trips.demand.tolist() == [1.5, 20.0]
    assert trips.line.tolist() == [6, 9]
    assert trips.total == 10.0


@pytest.mark.parametrize(
    ("links", "kwargs", "message"),
    [
        ([(1, 2, 100, 1, 1, 0.15, 4), (2, 1, -5.0, 1, 1, 0.15, 4)], {},
         "x_net.tntp:10: negative capacity -5.0"),
        ([(1, 2, 100, 1, 1, 0.15, 4), (2, 7, 100, 1, 1, 0.15, 4)], {},
         "x_net.tntp:10: unknown term node 7 (nodes are 1..4)"),
        ([(1, 2, 0, 1, 1, 0.15, 4)], {}, "x_net.tntp:9: zero capacity with nonzero B 0.15"),
        ([(1, 2, 100, 1, -1, 0.15, 4)], {}, "x_net.tntp:9: negative free flow time -1.0"),
        ([(1, 2, 100, 1, 1, 0.15, 4)], {"n_links": 3},
         "x_net.tntp:4: <NUMBER OF LINKS> is 3 but the file has 1 links"),
    ],
)
def test_bad_network_lines(tmp_path, links, kwargs, message):
    path = write_net(tmp_path / "x_net.tntp", links, **kwargs)
    with pytest.raises(TNTPError) as err:
        tntp.read_network(path)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("\t1\t2\t100\t1\tabc\t0.15\t4\t0\t0\t1\t;\n", "x_net.tntp:15: free flow time expects a "
         "number, got 'abc'"),
        ("\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1\n", "x_net.tntp:15: link line must end with ';'"),
        ("\t1\t2\t100\t;\n", "x_net.tntp:15: expected 7 to 10 link fields"),
    ],
)
def test_malformed_network_line(tmp_path, extra, message):
    path = write_net(tmp_path / "x_net.tntp", n_links=7, extra=extra)
    with pytest.raises(TNTPError, match="^" + message.replace("(", r"\(")):
        tntp.read_network(path)


def test_zero_capacity_without_b_is_fine(tmp_path):
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp", [(1, 2, 0, 1, 1, 0, 4)]))
    assert net.capacity.tolist() == [0.0]
    net.link_arrays()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Origin 1\n 2 : 1.0; 3 - 4.0;\n", "x_trips.tntp:6: malformed OD entry '3 - 4.0' (expected 'dest : flow;')"),
        ("Origin 1\n 9 : 1.0;\n", "x_trips.tntp:6: unknown destination zone 9 (zones are 1..3)"),
        ("Origin 4\n 1 : 1.0;\n", "x_trips.tntp:5: unknown origin zone 4 (zones are 1..3)"),
        ("Origin 1\n 2 : -1.0;\n", "x_trips.tntp:6: negative demand -1.0 from zone 1 to zone 2"),
        (" 2 : 1.0;\n", "x_trips.tntp:5: OD entries before the first 'Origin' line"),
        ("Origin 1\n 2 : x;\n", "x_trips.tntp:6: demand to zone 2 expects a number, got 'x'"),
        ("Origin 1\n 2 : 1e999;\n",
         "x_trips.tntp:6: demand to zone 2 must be a finite number, got '1e999'"),
        ("Origin 1\n 2 : nan;\n", "x_trips.tntp:6: demand to zone 2 expects a number, got 'nan'"),
    ],
)
def test_bad_trips(tmp_path, body, message):
    with pytest.raises(TNTPError) as err:
        tntp.read_trips(write_trips(tmp_path / "x_trips.tntp", body))
    assert str(err.value) == message


def test_unreachable_zone(tmp_path):
    # zone 3 has no incoming link at all
    links = [(1, 2, 100, 1, 1, 0.15, 4), (2, 1, 100, 1, 1, 0.15, 4), (3, 1, 100, 1, 1, 0.15, 4)]
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp", links, nodes=3, first=1))
    path = write_trips(tmp_path / "x_trips.tntp", "Origin 1\n 2 : 1.0;\n\nOrigin 2\n 3 : 2.5;\n")
    with pytest.raises(TNTPError) as err:
        tntp.read_trips(path, net)
    assert str(err.value) == ("x_trips.tntp:9: demand 2.5 from zone 2 to zone 3 is unreachable "
                              "in x_net.tntp")


def test_unreachable_only_through_a_zone(tmp_path):
    # 1 -> 2 -> 3 is the only path and zone 2 may not be passed through
    links = [(1, 2, 100, 1, 1, 0.15, 4), (2, 3, 100, 1, 1, 0.15, 4)]
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp", links, nodes=3, first=4))
    with pytest.raises(TNTPError, match="from zone 1 to zone 3 is unreachable"):
        tntp.read_trips(write_trips(tmp_path / "x_trips.tntp", "Origin 1\n 3 : 1.0;\n"), net)


def test_missing_file():
    with pytest.raises(TNTPError, match="nope_net.tntp: cannot read"):
        tntp.read_network("/nonexistent/nope_net.tntp")


def test_flow_file_alignment(tmp_path):
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp"))
    rows = "".join(f"{a} \t{b} \t{10.0 * k} \t1.5 \n" for k, (a, b, *_) in
                   enumerate(reversed(LINKS)))
    (tmp_path / "x_flow.tntp").write_text("From \tTo \tVolume \tCost \n" + rows)
    flows = tntp.read_flows(tmp_path / "x_flow.tntp")
    assert flows.aligned(net).tolist() == [50.0, 40.0, 30.0, 20.0, 10.0, 0.0]
    (tmp_path / "y_flow.tntp").write_text("From \tTo \tVolume \tCost \n1 \t2 \t3.0 \t1.0\n")
    with pytest.raises(TNTPError, match="no volume for link 2-3"):
        tntp.read_flows(tmp_path / "y_flow.tntp").aligned(net)


# ---------------------------------------------------------------------------------------
# Shared TNTP networks
# ---------------------------------------------------------------------------------------


def shared(name: str) -> Path:
    folder = TNTP / name
    if not folder.is_dir():
        pytest.skip(f"TNTP test networks not found at {folder} (shared/tntp beside the project, "
                    "or set CORRIDORS_TNTP_DIR)")
    return folder


def test_read_sioux_falls():
    folder = SIOUX_FALLS
    net = tntp.read_network(folder / "SiouxFalls_net.tntp")
    trips = tntp.read_trips(folder / "SiouxFalls_trips.tntp", net)
    flows = tntp.read_flows(folder / "SiouxFalls_flow.tntp")
    assert (net.n_zones, net.n_nodes, net.n_links, net.first_thru_node) == (24, 24, 76, 1)
    assert trips.demand.sum() == pytest.approx(360600.0)
    assert trips.total == pytest.approx(360600.0)
    assert flows.aligned(net).shape == (76,)
    assert net.link_arrays().no_through is None


def test_read_chicago_sketch_header():
    folder = shared("ChicagoSketch")
    net = tntp.read_network(folder / "ChicagoSketch_net.tntp")
    assert (net.n_zones, net.n_nodes, net.n_links) == (387, 933, 2950)
    fixed = net.fixed_cost(toll=0.02, distance=0.04)
    flows = tntp.read_flows(folder / "ChicagoSketch_flow.tntp")
    # best-known cost column = free-flow time + congestion + 0.04 min/mile (+ 0.02 min/cent)
    assert flows.cost[0] == pytest.approx(fixed[0])


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------


def run_cli(argv, capsys):
    from corridors.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_sioux_falls_json_and_csv(tmp_path, capsys):
    folder = SIOUX_FALLS
    out_csv = tmp_path / "flows.csv"
    code, out, err = run_cli(
        ["tntp", str(folder / "SiouxFalls_net.tntp"), str(folder / "SiouxFalls_trips.tntp"),
         "--gap", "1e-5", "--json", "--out", str(out_csv),
         "--compare", str(folder / "SiouxFalls_flow.tntp")], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["converged"] is True
    assert report["relative_gap"] <= 1e-5
    assert {"iterations", "relative_gap", "seconds", "beckmann", "converged"} <= set(report)
    assert report["rms_percent_of_mean"] < 0.5
    assert abs(report["beckmann_relative_error"]) < 1e-4
    lines = out_csv.read_text().splitlines()
    assert lines[0] == "init_node,term_node,volume,cost"
    assert len(lines) == 77
    assert lines[1].startswith("1,2,")


def test_cli_text_and_max_iter(tmp_path, capsys):
    folder = SIOUX_FALLS
    args = ["tntp", str(folder / "SiouxFalls_net.tntp"), str(folder / "SiouxFalls_trips.tntp"),
            "--algorithm", "fw", "--max-iter", "3", "--gap", "1e-9"]
    code, out, err = run_cli(args + ["-v"], capsys)
    assert code == 0
    assert "NOT converged (max-iter 3)" in out
    assert len([ln for ln in out.splitlines() if " beckmann " in ln and "step" in ln]) == 3
    assert "warning" in err
    code, out, err = run_cli(args + ["--strict"], capsys)
    assert code == 1
    # quiet by default: the summary only (no progress bar off a terminal)
    assert not [ln for ln in out.splitlines() if " beckmann " in ln and "step" in ln]
    assert len(out.splitlines()) == 2


def test_cli_shipped_network_by_name(tmp_path, capsys):
    out_csv = tmp_path / "flows.csv"
    code, out, err = run_cli(["tntp", "SiouxFalls", "--gap", "1e-4", "--compare", "-o",
                              str(out_csv)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "SiouxFalls_net.tntp: 24 zones, 24 nodes, 76 links, 360600 trips"
    assert lines[1].startswith("bfw: converged after ")
    assert lines[2].startswith("vs best known: RMS ")
    assert lines[3] == f"wrote {out_csv}"
    assert err == ""
    assert len(out_csv.read_text().splitlines()) == 77
    # a folder and a network file find their trips file too
    for where in (str(SIOUX_FALLS), str(SIOUX_FALLS / "SiouxFalls_net.tntp")):
        assert tntp.locate(where)[:2] == tntp.locate("siouxfalls")[:2]


def test_shipped_files_are_package_data():
    root = Path(tntp.__file__).parent / "data" / "tntp"
    assert tntp.shipped_folder() == root
    names = {p.name for p in (root / "SiouxFalls").iterdir()}
    assert {"SiouxFalls_net.tntp", "SiouxFalls_trips.tntp", "SiouxFalls_flow.tntp",
            "README.md"} <= names
    assert "bstabler/TransportationNetworks" in (root / "SOURCE.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--gap", "nan"], "corridors: error: --gap must be a finite number > 0, got nan"),
        (["--gap", "-1"], "corridors: error: --gap must be a finite number > 0, got -1.0"),
        (["--gap", "inf"], "corridors: error: --gap must be a finite number > 0, got inf"),
        (["--max-iter", "0"], "corridors: error: --max-iter must be 1 to 1,000,000, got 0"),
        (["--workers", "-3"], "corridors: error: --workers must be 0 to 1024, got -3"),
        (["--compare", "/nonexistent/x_flow.tntp"],
         "corridors: error: x_flow.tntp: cannot read: No such file or directory"),
    ],
)
def test_cli_bad_options_exit_2(capsys, argv, message):
    code, out, err = run_cli(["tntp", "SiouxFalls", *argv], capsys)
    assert code == 2
    assert err.strip() == message
    assert out == ""


def test_cli_unknown_network(capsys):
    code, out, err = run_cli(["tntp", "Atlantis"], capsys)
    assert code == 2
    assert err.strip() == ("corridors: error: Atlantis: not a shipped network (SiouxFalls), a "
                           "folder or a *_net.tntp file")


def test_cli_output_is_atomic(tmp_path, capsys, monkeypatch):
    target = tmp_path / "flows.csv"
    target.write_text("previous results\n")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("corridors._io.os.replace", refuse)
    code, out, err = run_cli(["tntp", "SiouxFalls", "--max-iter", "2", "-o", str(target)],
                             capsys)
    assert code == 2
    assert err.strip() == f"corridors: error: {target}: cannot write the output (disk full)"
    assert target.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir()] == ["flows.csv"]  # no temporary file left
    # --out stays as a hidden alias of -o
    monkeypatch.undo()
    code, out, err = run_cli(["tntp", "SiouxFalls", "--max-iter", "2", "--out", str(target)],
                             capsys)
    assert code == 0 and target.read_text().startswith("init_node,term_node,volume,cost\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<NUMBER OF NODES> inf", "x_net.tntp:2: <NUMBER OF NODES> expects a whole number, got 'inf'"),
        ("<NUMBER OF NODES> 4.5", "x_net.tntp:2: <NUMBER OF NODES> expects a whole number, got '4.5'"),
        ("<NUMBER OF NODES> 1e12",
         "x_net.tntp:2: <NUMBER OF NODES> is 1000000000000, above the limit of 100,000,000"),
    ],
)
def test_bad_metadata(tmp_path, text, message):
    path = write_net(tmp_path / "x_net.tntp")
    path.write_text(path.read_text().replace("<NUMBER OF NODES> 4", text))
    with pytest.raises(TNTPError) as err:
        tntp.read_network(path)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("\t1\t2\t1e400\t1\t1\t0.15\t4\t0\t0\t1\t;\n",
         "x_net.tntp:15: capacity must be a finite number, got '1e400'"),
        ("\t1\t2\t100\t1\t1\t0.15\t4\t0\t-3\t1\t;\n", "x_net.tntp:15: negative toll -3.0"),
        ("\t1\t2\t100\t1\t1\t0.15\t4\t0\t0\t1.5\t;\n",
         "x_net.tntp:15: link type expects a whole number, got '1.5'"),
    ],
)
def test_network_numbers_finite_and_in_range(tmp_path, line, message):
    path = write_net(tmp_path / "x_net.tntp", n_links=7, extra=line)
    with pytest.raises(TNTPError) as err:
        tntp.read_network(path)
    assert str(err.value) == message


def test_flow_file_numbers(tmp_path):
    (tmp_path / "x_flow.tntp").write_text("From \tTo \tVolume \tCost \n1 \t2 \t-3.0 \t1.0\n")
    with pytest.raises(TNTPError, match="^x_flow.tntp:2: negative volume -3.0$"):
        tntp.read_flows(tmp_path / "x_flow.tntp")
    (tmp_path / "y_flow.tntp").write_text("From \tTo \tVolume \tCost \n1.5 \t2 \t3.0 \t1.0\n")
    with pytest.raises(TNTPError, match="^y_flow.tntp:2: from expects a node number, got '1.5'$"):
        tntp.read_flows(tmp_path / "y_flow.tntp")


def test_reachability_scales(tmp_path):
    # a long two-way line of 20,000 nodes with zones at both ends and in the middle: the
    # check works on strong components, so it is instant
    n = 20_000
    links = [(i, i + 1, 100, 1, 1, 0.15, 4) for i in range(1, n)]
    links += [(b, a, c, ln, t, bb, p) for a, b, c, ln, t, bb, p in links]
    net = tntp.read_network(write_net(tmp_path / "x_net.tntp", links, zones=3, nodes=n, first=1))
    trips = tntp.read_trips(write_trips(tmp_path / "x_trips.tntp",
                                        "Origin 1\n 2 : 1.0; 3 : 2.0;\n"), net)
    assert trips.demand.sum() == 3.0
    # one-way links only: zone 2 cannot get back to zone 1
    one_way = tntp.read_network(write_net(tmp_path / "y_net.tntp", links[: n - 1], zones=3,
                                          nodes=n, first=1))
    with pytest.raises(TNTPError, match="from zone 2 to zone 1 is unreachable"):
        tntp.read_trips(write_trips(tmp_path / "y_trips.tntp", "Origin 2\n 1 : 1.0;\n"), one_way)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    net = write_net(tmp_path / "x_net.tntp", [(1, 2, -5.0, 1, 1, 0.15, 4)])
    trips = write_trips(tmp_path / "x_trips.tntp", "Origin 1\n 2 : 1.0;\n")
    code, out, err = run_cli(["tntp", str(net), str(trips)], capsys)
    assert code == 2
    assert err.strip() == "corridors: error: x_net.tntp:9: negative capacity -5.0"


def test_cli_cost_weights_parse(capsys):
    from corridors.commands.tntp import _weights

    assert _weights("toll=0.02,distance=0.04") == {"toll": 0.02, "distance": 0.04}
    with pytest.raises(Exception, match="expected toll=NUMBER"):
        _weights("speed=3")
