"""The top level of the command line: --version, -q/-v with logging, progress bars, help texts,
and ``map --params``."""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import corridors
from corridors import _progress
from corridors.cli import build_parser, configure_logging, main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_logging_and_progress():
    logger = logging.getLogger("corridors")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    _progress.set_progress(None)


def all_parsers(parser: argparse.ArgumentParser, path=("corridors",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, (*path, name))


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"corridors {corridors.__version__}"


def test_version_of_the_installed_script():
    done = subprocess.run(
        [sys.executable, "-m", "corridors.cli", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0 and done.stdout.strip() == f"corridors {corridors.__version__}"


def test_help_texts_show_no_internal_names():
    seen = 0
    for path, parser in all_parsers(build_parser()):
        text = parser.format_help()
        # a metavar made from a Python name: trailing underscore (FROM_), or a dest with one
        assert not re.search(r"\b[A-Z][A-Z0-9]*_(?![A-Z0-9])", text), (" ".join(path), text)
        assert "from_" not in text, " ".join(path)
        for action in parser._actions:
            if action.option_strings and action.dest.endswith("_") and action.nargs != 0:
                assert action.metavar, f"{' '.join(path)} {action.option_strings}: no metavar for {action.dest}"
        seen += 1
    assert seen > 10


def test_every_command_takes_quiet_and_verbose():
    for path, parser in all_parsers(build_parser()):
        if len(path) > 1:
            assert "-q" in parser._option_string_actions and "-v" in parser._option_string_actions, path


@pytest.mark.parametrize(
    ("argv", "quiet", "verbose"),
    [
        (["layers"], False, 0),
        (["-q", "layers"], True, 0),
        (["layers", "-q"], True, 0),
        (["-v", "layers"], False, 1),
        (["layers", "-vv"], False, 2),
        (["-vv", "layers"], False, 2),
    ],
)
def test_quiet_and_verbose_before_or_after_the_command(argv, quiet, verbose):
    args = build_parser().parse_args(argv)
    assert bool(getattr(args, "quiet", False)) is quiet
    assert int(getattr(args, "verbose", 0)) == verbose


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["layers", "-q", "-v"])
    assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("verbose", "quiet", "shown"),
    [(0, False, {"warning", "error"}), (1, False, {"info", "warning", "error"}),
     (2, False, {"debug", "info", "warning", "error"}), (0, True, {"error"})],
)
def test_logging_levels_on_stderr(verbose, quiet, shown, capsys):
    configure_logging(verbose, quiet)
    log = logging.getLogger("corridors.some_module")
    for level in ("debug", "info", "warning", "error"):
        getattr(log, level)(f"message at {level}")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert {level for level in ("debug", "info", "warning", "error") if f"message at {level}" in captured.err} == shown


def test_configure_logging_twice_does_not_duplicate(capsys):
    configure_logging(1)
    configure_logging(1)
    logging.getLogger("corridors").info("once")
    assert capsys.readouterr().err.count("once") == 1


def test_progress_bar_only_on_a_terminal_and_never_when_quiet(capsys):
    # pytest's captured stderr is not a terminal: no bar
    assert not _progress.progress_enabled()
    assert list(_progress.progress_bar(range(3), desc="steps")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    # forced on (as on a terminal): the bar is drawn on stderr, never stdout
    _progress.set_progress(True)
    with _progress.progress_bar(total=3, desc="steps", unit="step") as bar:
        bar.set_postfix_str("half way")
        bar.update(3)
    captured = capsys.readouterr()
    assert "steps" in captured.err and "half way" in captured.err and captured.out == ""
    # -q: off, even for a bar an API caller asked for explicitly
    configure_logging(quiet=True)
    assert list(_progress.progress_bar(range(2), enabled=True)) == [0, 1]
    assert capsys.readouterr().err == ""


def test_progress_bars_show_in_a_jupyter_kernel(monkeypatch):
    import io

    kernel_stream = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})
    monkeypatch.setattr(sys, "stderr", kernel_stream())
    assert _progress.progress_enabled()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _progress.progress_enabled()


def test_progress_environment_switch(monkeypatch):
    _progress.set_progress(True)
    monkeypatch.setenv("CORRIDORS_PROGRESS", "0")
    assert not _progress.progress_enabled()
    assert _progress.progress_bar(range(1), enabled=True).disable


def test_map_command_draws_a_bar_on_a_terminal(toy_geodata, tmp_path, capsys, monkeypatch):
    # as on a terminal (unless -q)
    monkeypatch.setattr(_progress, "progress_enabled", lambda: _progress._FORCED is not False)
    out = tmp_path / "flows.html"
    assert main(["map", "--kind", "flows", "--geodata", str(toy_geodata), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "map flows" in captured.err and f"wrote {out}" in captured.out
    assert main(["-q", "map", "--kind", "flows", "--geodata", str(toy_geodata), "-o", str(out)]) == 0
    assert "map flows" not in capsys.readouterr().err


# ---------------------------------------------------------------------------
# map --params
# ---------------------------------------------------------------------------


def test_map_takes_params(toy_geodata, tmp_path):
    params = tmp_path / "flat.toml"
    params.write_text("[route_choice]\nlogit_theta_per_usd = 1e-7\n")
    expected = corridors.assign(
        corridors.load_network(toy_geodata, params={"route_choice": {"logit_theta_per_usd": 1e-7}})
    ).share_through("KAZ", from_="CHN", to="EU")
    default = corridors.assign(corridors.load_network(toy_geodata)).share_through("KAZ", from_="CHN", to="EU")
    assert round(100 * expected.share) != round(100 * default.share)
    out = tmp_path / "flows.html"
    argv = ["map", "--kind", "flows", "--geodata", str(toy_geodata), "--params", str(params), "-o", str(out)]
    assert main(argv) == 0
    assert f"through KAZ: {100 * expected.share:.0f}% of CHN–EU land TEU" in out.read_text(encoding="utf-8")


def test_map_with_a_bad_params_file_is_one_line(toy_geodata, tmp_path, capsys):
    params = tmp_path / "broken.toml"
    params.write_text("[route_choice\n")
    out = tmp_path / "flows.html"
    argv = ["map", "--kind", "flows", "--geodata", str(toy_geodata), "--params", str(params), "-o", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.toml" in err and "Traceback" not in err
    assert not out.exists()


def test_model_commands_take_params_geodata_and_scenario():
    parser = build_parser()
    for path, sub in all_parsers(parser):
        if path[1:] in (("map",), ("share",), ("assign",), ("scenario", "run")):
            for option in ("--params", "--geodata", "--scenario"):
                if path[1:] == ("scenario", "run") and option == "--scenario":
                    continue  # the scenario is the positional argument
                assert option in sub._option_string_actions, (path, option)
