"""Fuzz the loaders and the command line with generated malformed input (hypothesis).

The contract under test (issue 13): bad input never escapes as a traceback.  A loader
returns problems (one line each) or raises :class:`~corridors._errors.CorridorsError`;
the CLI exits with code 2, prints one error line on stderr and writes no output file.

Speed: the ``ci`` profile (default) runs a fixed, derandomised set of examples in a few
seconds.  ``CORRIDORS_FUZZ_PROFILE=bench`` (or ``=deep``) runs many more, with random
seeds, for a long hunt::

    CORRIDORS_FUZZ_PROFILE=bench python -m pytest tests/test_fuzz.py --hypothesis-show-statistics
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import LINKS, NODES, write_geodata
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from corridors._errors import CorridorsError
from corridors.cli import main
from corridors.layers import PARAMETERS, load_layers, parse_toml, validate_geodata
from corridors.network import CostParameters, load_network
from corridors.scenario_schema import load_scenario

settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "bench", max_examples=500, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "deep", max_examples=5000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
#: The profile of this module only (other test modules keep their own settings).
FUZZ = settings(settings.get_profile(os.environ.get("CORRIDORS_FUZZ_PROFILE", "ci")))
#: Cheap examples (no geodata folder, no model run) get more of them.
FUZZ_CHEAP = settings(FUZZ, max_examples=FUZZ.max_examples * 4)

# --------------------------------------------------------------------------- strategies

_SPECIAL_NUMBERS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e-320, 5e-324, 0, -0.0, -1,
                    10**400, 2**63, -(2**63), 1.5, 2027.0]
#: Any JSON value an editor, a GIS tool or an attacker could put in a field.
hostile_json = st.recursive(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(_SPECIAL_NUMBERS),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.text(max_size=12),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)
#: A CSV cell: numbers in every spelling, control characters, quotes, huge text.
hostile_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1", "1e-320", "2024.0", "2024.5", "", " ", "\x00", '"',
                     "\r\n", "xian", "warsaw", "１２", "0x10", "1_000", "x" * 140_000]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_NODE_FIELDS = sorted({k for f in NODES for k in f["properties"]} | {"properties", "geometry", "type"})
_LINK_FIELDS = sorted({k for f in LINKS["belt_and_road"] for k in f["properties"]} | {"properties", "geometry"})
_DEMAND_FIELDS = ["origin", "destination", "teu", "year", "segment", "basis"]


def _one_line(text: str) -> bool:
    return "\n" not in text.strip() and "Traceback" not in text


def _assert_loader_contract(folder: Path) -> list:
    """validate_geodata never raises; problems are one line each; load_layers agrees."""
    problems = validate_geodata(folder)
    assert all(_one_line(str(p)) for p in problems), problems
    if problems:
        with pytest.raises(CorridorsError) as info:
            load_layers(folder)
        assert _one_line(str(info.value))
    else:  # a folder validate passes loads, and builds a network
        load_layers(folder)
        load_network(folder)
    return problems


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; argparse exits become codes, anything else escapes (a failure)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _assert_cli_refused(code: int, err: str) -> None:
    """Exit 2 and exactly one line on stderr (argparse refusals included: no usage line)."""
    assert code == 2, err
    assert "Traceback" not in err
    assert err.count("error:") == 1, err
    assert _one_line(err) and err.startswith("corridors: error: "), err


# --------------------------------------------------------------------------- loaders


@FUZZ
@given(index=st.integers(0, len(NODES) - 1), field=st.sampled_from(_NODE_FIELDS), value=hostile_json)
def test_fuzz_node_field(index, field, value):
    nodes = copy.deepcopy(NODES)
    if field in ("properties", "geometry", "type"):
        nodes[index][field] = value
    else:
        nodes[index]["properties"][field] = value
    with tempfile.TemporaryDirectory() as tmp:
        _assert_loader_contract(write_geodata(Path(tmp) / "g", nodes=nodes))


@FUZZ
@given(index=st.integers(0, len(LINKS["belt_and_road"]) - 1), field=st.sampled_from(_LINK_FIELDS),
       value=hostile_json)
def test_fuzz_link_field(index, field, value):
    links = copy.deepcopy(LINKS)
    feature = links["belt_and_road"][index]
    if field in ("properties", "geometry"):
        feature[field] = value
    else:
        feature["properties"][field] = value
    with tempfile.TemporaryDirectory() as tmp:
        _assert_loader_contract(write_geodata(Path(tmp) / "g", links=links))


@FUZZ
@given(name=st.sampled_from(["nodes.geojson", "countries.geojson", "links/belt_and_road.geojson"]),
       content=st.one_of(hostile_json.map(json.dumps), st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
                         st.sampled_from(["[" * 20_000, "{" * 5000 + "}" * 5000, '{"type": "FeatureCollection"}',
                                          '{"type": "FeatureCollection", "features": {}}', "\ufeff{}", ""])))
def test_fuzz_whole_layer(name, content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_geodata(Path(tmp) / "g")
        (folder / name).write_text(content, encoding="utf-8", errors="surrogatepass")
        problems = _assert_loader_contract(folder)
        assert problems and any(p.file.endswith(name) for p in problems)


@FUZZ
@example(rows=[dict.fromkeys(_DEMAND_FIELDS, "") | {"destination": "\r\n"}], bom=False, crlf=False)  # found
@given(rows=st.lists(st.fixed_dictionaries({f: hostile_cell for f in _DEMAND_FIELDS}), min_size=1, max_size=3),
       bom=st.booleans(), crlf=st.booleans())
def test_fuzz_demand_rows(rows, bom, crlf):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_geodata(Path(tmp) / "g")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_DEMAND_FIELDS, lineterminator="\r\n" if crlf else "\n")
        writer.writeheader()
        writer.writerows(rows)
        (folder / "demand.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(
            "utf-8", errors="surrogatepass"))
        problems = _assert_loader_contract(folder)
        for row in load_layers(folder).demand if not problems else []:
            assert 0 <= row["teu"] <= 1e9 and isinstance(row["year"], int)


@FUZZ_CHEAP
@given(data=st.dictionaries(st.sampled_from([*PARAMETERS, "speed", "cost", "value_of_time"]), hostile_json,
                            max_size=4))
def test_fuzz_parameters_mapping(data):
    try:
        params = CostParameters.from_mapping(data, source="fuzz.toml")
    except CorridorsError as exc:
        assert _one_line(str(exc)) and str(exc).startswith("fuzz.toml")
        return
    for key, value in params.as_dict().items():
        if key == "segments":  # nested tables, not in the flat table
            continue
        integer, lo, hi, lo_open, _ = PARAMETERS[key]
        assert lo <= value <= hi and not (lo_open and value == lo)
        assert isinstance(value, int) if integer else isinstance(value, float | int)


@FUZZ_CHEAP
@given(text=st.one_of(st.text(max_size=60),
                      st.sampled_from(["x = " + "[" * 3000, "a = 1e999", "a = nan", "[a]\nb = inf",
                                       "a = " + "9" * 5000, "\ufeffk_routes = 3"])))
def test_fuzz_parameters_text(text):
    try:
        data = parse_toml(text)
    except ValueError as exc:
        assert _one_line(str(exc))
        return
    try:
        CostParameters.from_mapping(data, source="p.toml")
    except CorridorsError as exc:
        assert _one_line(str(exc))


# --------------------------------------------------------------------------- command line

_VALID_INT = {"--k": (1, 100), "--draws": (1, 1_000_000), "--seed": (0, 2**63 - 1), "--workers": (0, 256),
              "--links": (0, 100_000), "--year": (1850, 2100)}
_COMMANDS = {
    "--k": ["route", "xian", "warsaw"],
    "--draws": ["sweep", "baseline-2024-uncertainty"],
    "--seed": ["sweep", "baseline-2024-uncertainty"],
    "--workers": ["sweep", "baseline-2024-uncertainty"],
    "--links": ["scenario", "run", "baseline-2024"],
    "--year": ["calibrate"],
}


def _is_valid(option: str, text: str) -> bool:
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        return False
    lo, hi = _VALID_INT[option]
    return lo <= value <= hi


@FUZZ_CHEAP
@given(option=st.sampled_from(sorted(_VALID_INT)),
       value=st.one_of(st.integers(min_value=-(10**20), max_value=10**20).map(str), st.text(max_size=10),
                       st.sampled_from(["nan", "inf", "-1", "1e3", "2000000000", "0x10", "", " ", "1.5", "-0"])))
def test_fuzz_cli_integer_options(option, value, tmp_path_factory):
    assume(not _is_valid(option, value) and not value.startswith("-"))  # "-x" reads as another option
    out = tmp_path_factory.mktemp("out") / "result.parquet"
    argv = [*_COMMANDS[option], option, value]
    if argv[0] in ("sweep", "calibrate"):
        argv += ["-o", str(out)]
    code, _, err = _run_cli(argv)
    _assert_cli_refused(code, err)
    assert not out.exists()


@FUZZ_CHEAP
@given(value=st.one_of(st.text(max_size=30), st.sampled_from(["tcp://[bad", "tcp://h:0", "tcp://h:70000", "://x",
                                                               "tcp://", "http://x y", "tcp://a:1:2"])))
def test_fuzz_cli_scheduler(value, tmp_path_factory):
    from corridors.commands.core import _SCHEDULER

    match = _SCHEDULER.match(value.strip())
    assume(not (match and (match["port"] is None or 0 < int(match["port"]) < 65536)))
    assume(not value.startswith("-"))
    out = tmp_path_factory.mktemp("out") / "result.parquet"
    code, _, err = _run_cli(["sweep", "baseline-2024-uncertainty", "--scheduler", value, "-o", str(out)])
    _assert_cli_refused(code, err)
    assert not out.exists()


@settings(FUZZ, suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["dwell_h", "handling_usd", "capacity_teu", "opening_year", "country", "kind"]),
       value=hostile_json, command=st.sampled_from(["share", "assign", "layers", "route"]))
def test_fuzz_cli_on_bad_geodata(field, value, command, tmp_path_factory):
    nodes = copy.deepcopy(NODES)
    nodes[2]["properties"][field] = value  # dostyk, on the southern route
    folder = write_geodata(tmp_path_factory.mktemp("g") / "g", nodes=nodes)
    assume(validate_geodata(folder))  # only bad folders
    out = tmp_path_factory.mktemp("out") / "flows.csv"
    argv = {"share": ["share"], "assign": ["assign", "-o", str(out)], "layers": ["layers"],
            "route": ["route", "xian", "warsaw"]}[command]
    code, stdout, err = _run_cli([*argv, "--geodata", str(folder)])
    assert code == 2 and stdout == "", err
    assert _one_line(err) and err.startswith("corridors: error: ") and "nodes.geojson" in err
    assert not out.exists() and list(out.parent.iterdir()) == []


@settings(FUZZ, suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(PARAMETERS)), value=hostile_json)
def test_fuzz_cli_params_file(key, value, tmp_path_factory, toy_geodata_once):
    try:
        CostParameters.from_mapping({key: value})
        assume(False)  # a valid value: not this test's business
    except CorridorsError:
        pass
    tmp = tmp_path_factory.mktemp("p")
    # JSON is nearly TOML; what is not (null, {"a": 1}) must be refused as invalid TOML.
    literal = json.dumps(value).replace("-Infinity", "-inf").replace("Infinity", "inf").replace("NaN", "nan")
    (tmp / "p.toml").write_text(f"{key} = {literal}\n")
    out = tmp / "flows.csv"
    code, stdout, err = _run_cli(["assign", "-o", str(out), "--params", str(tmp / "p.toml"),
                                  "--geodata", str(toy_geodata_once)])
    assert code == 2 and _one_line(err) and "p.toml" in err, err
    assert not out.exists()


@pytest.fixture(scope="module")
def toy_geodata_once(tmp_path_factory):
    return write_geodata(tmp_path_factory.mktemp("toy") / "toy")


# --------------------------------------------------------------------------- scenario files

#: A valid scenario for the toy network (conftest): a closure, a change, a demand change and
#: one uncertain input of each target kind.  The fuzz replaces one value at a time.
SCENARIO = {
    "title": "fuzz",
    "year": 2030,
    "method": "logit",
    "parameters": {"value_of_time_usd_per_teu_h": 3.0},
    "close": [{"countries": ["RUS"], "from": "CHN", "to": "EU"}],
    "change": [{"links": ["xian-khorgos"], "set": {"speed_kmh": 30.0}, "scale": {"tariff_usd_per_teu_km": 1.1}}],
    "demand": [{"from": "CHN", "to": "EU", "scale": 1.2}],
    "uncertain": [
        {"name": "vot", "distribution": "triangular", "low": 1.0, "mode": 2.0, "high": 5.0,
         "parameter": "value_of_time_usd_per_teu_h"},
        {"name": "dwell", "distribution": "lognormal", "median": 1.0, "sigma": 0.4, "attributes": ["dwell_h"],
         "countries": ["KAZ"]},
        {"name": "dem", "distribution": "normal", "mean": 1.0, "sd": 0.1, "demand": {"from": "CHN", "to": "EU"}},
    ],
}
#: Every leaf of :data:`SCENARIO` as a path of keys and indices.
_SCENARIO_PATHS = []


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, sub in value.items():
            _leaves(sub, (*path, key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, sub in enumerate(value):
            _leaves(sub, (*path, i))
    else:
        _SCENARIO_PATHS.append(path)


_leaves(SCENARIO)
_SCENARIO_PATHS += [("year",), ("on_unreachable",), ("uncertain", 0, "min"), ("uncertain", 0, "max"),
                    ("add_node",), ("parameters", "k_routes"), ("parameters", "logit_theta_per_usd")]


def _toml_value(value) -> str:
    """``value`` as a TOML literal (None, which TOML lacks, as the invalid token ``null``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else "inf" if value == float("inf") else "-inf" if value == -float("inf") \
            else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return "null"


def _toml(data: dict) -> str:
    """A scenario mapping as TOML: scalars and inline tables first, arrays of tables after."""
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items()
             if not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))]
    for key, items in data.items():
        if isinstance(items, list) and items and all(isinstance(x, dict) for x in items):
            for item in items:
                lines.append(f"[[{key}]]")
                lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _with(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def test_scenario_base_is_valid(toy_geodata_once):
    # the fuzz below mutates a scenario that loads, applies and sweeps
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_text(_toml(SCENARIO))
        assert load_scenario(path).uncertain == ("vot", "dwell", "dem")
        out = Path(tmp) / "d.parquet"
        code, _, err = _run_cli(["sweep", str(path), "--geodata", str(toy_geodata_once), "--draws", "2",
                                 "--workers", "0", "-o", str(out), "-q"])
        assert code == 0 and out.is_file(), err


def _load_refused(path: Path) -> str | None:
    """The loader's one line for a bad scenario file, or None if it loads (never a traceback)."""
    try:
        load_scenario(path)
    except CorridorsError as exc:
        assert _one_line(str(exc)) and str(exc).startswith(str(path)), str(exc)
        return str(exc)
    return None


_TOY_NETWORK: list = []


def _toy_network():
    """The toy network of conftest, built once for the module (hypothesis examples share it)."""
    if not _TOY_NETWORK:
        folder = Path(tempfile.mkdtemp(prefix="corridors-fuzz-")) / "toy"
        _TOY_NETWORK.append(load_network(write_geodata(folder)))
    return _TOY_NETWORK[0]


@FUZZ_CHEAP
@given(path=st.sampled_from(_SCENARIO_PATHS), value=hostile_json)
def test_fuzz_scenario_value(path, value):
    from corridors.scenario_apply import apply_scenario

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "s.toml"
        file.write_text(_toml(_with(SCENARIO, path, value)), encoding="utf-8")
        if _load_refused(file) is None:  # it loads: applying it to a network refuses or succeeds, in one line
            try:
                apply_scenario(_toy_network(), load_scenario(file))
            except CorridorsError as exc:
                assert _one_line(str(exc)) and str(exc).startswith(str(file)), str(exc)


@FUZZ_CHEAP
@example(cut=10, insert="[[[", bom=True)
@example(cut=0, insert="a = " + "[" * 3000 + "]" * 3000 + "\n", bom=False)
@given(cut=st.integers(0, 2000), insert=st.one_of(st.text(max_size=20), st.sampled_from(
           ["\x00", "\r\n", "\ufeff", "=", "[[uncertain]]", "[parameters]", "year = '2030'\n", '"""', "nan", "1e400",
            "[" * 100, "{" * 100])), bom=st.booleans())
def test_fuzz_scenario_text(cut, insert, bom):
    text = _toml(SCENARIO)
    cut = min(cut, len(text))
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "s.toml"
        file.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (text[:cut] + insert + text[cut:]).encode(
            "utf-8", "surrogatepass"))
        _load_refused(file)


@settings(FUZZ, suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_SCENARIO_PATHS), value=hostile_json,
       command=st.sampled_from(["sweep", "scenario run", "share"]))
def test_fuzz_cli_scenario_file(path, value, command, tmp_path_factory, toy_geodata_once):
    tmp = tmp_path_factory.mktemp("s")
    file = tmp / "bad.toml"
    file.write_text(_toml(_with(SCENARIO, path, value)), encoding="utf-8")
    assume(_load_refused(file) is not None)  # only malformed files
    out = tmp / "draws.parquet"
    argv = {"sweep": ["sweep", str(file), "--draws", "2", "--workers", "0", "-o", str(out)],
            "scenario run": ["scenario", "run", str(file)],
            "share": ["share", "--scenario", str(file)]}[command]
    code, stdout, err = _run_cli([*argv, "--geodata", str(toy_geodata_once)])
    _assert_cli_refused(code, err)
    assert stdout == "" and "bad.toml" in err
    assert sorted(p.name for p in tmp.iterdir()) == ["bad.toml"]  # no output, no temporary file


def test_cli_unreadable_and_odd_scenario_files(tmp_path, toy_geodata_once):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    bad_utf8 = tmp_path / "latin1.toml"
    bad_utf8.write_bytes(b"title = '\xe9'\n")
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    for file, words in ((folder, "not found"), (bad_utf8, "not UTF-8"), (deep, "nested deeper")):
        code, stdout, err = _run_cli(["scenario", "run", str(file), "--geodata", str(toy_geodata_once)])
        _assert_cli_refused(code, err)
        assert words in err and stdout == ""
