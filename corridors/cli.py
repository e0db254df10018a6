"""The ``corridors`` command line: a thin shell over the Python API.

Options of every command: ``--version``, ``-q``/``--quiet`` (no progress bars, errors only
on stderr) and ``-v``/``--verbose`` (``-v`` info, ``-vv`` debug messages of the
``corridors`` logger on stderr).  ``-q`` and ``-v`` may come before or after the command
name.  Handlers find them as ``args.quiet`` (bool) and ``args.verbose`` (int).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import NoReturn

from corridors import __version__
from corridors._errors import CorridorsError, one_line
from corridors.commands import COMMAND_MODULES

#: Name of the package logger the CLI configures (modules log to children of it).
LOGGER = "corridors"


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line on stderr, exit 2.

    argparse prints the usage before the error; every other bad input of the CLI is one
    line (``corridors: error: ...``), and the usage is one ``--help`` away, which the line
    names.  Sub-command parsers inherit the class (``add_subparsers`` uses it).
    """

    def error(self, message: str) -> NoReturn:
        """Print ``corridors: error: [COMMAND: ]MESSAGE (see '... --help')`` and exit 2."""
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        self.exit(2, f"corridors: error: {where}{one_line(message)} (see '{self.prog} --help')\n")


def _add_verbosity(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Add ``-q``/``-v``; on sub-commands without defaults, so they don't reset the top level's."""
    if "-q" in parser._option_string_actions or "-v" in parser._option_string_actions:
        return  # a command that defines its own (keeps its meaning)
    group = parser.add_mutually_exclusive_group()
    quiet = {} if top else {"default": argparse.SUPPRESS}
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars; only errors on stderr", **quiet
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="more messages on stderr (-v: steps, -vv: debug)",
    )


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


def _add_verbosity_everywhere(parser: argparse.ArgumentParser) -> None:
    for sub in _subparsers(parser):
        _add_verbosity(sub, top=False)
        _add_verbosity_everywhere(sub)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every command family registered."""
    parser = OneLineParser(
        prog="corridors",
        description="Eurasian freight corridors: routes, route shares, maps and scenarios.",
        epilog="Run 'corridors COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"corridors {__version__}")
    _add_verbosity(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _add_verbosity_everywhere(parser)
    return parser


def configure_logging(verbose: int = 0, quiet: bool = False) -> logging.Logger:
    """Send the ``corridors`` logger to stderr at the level the options ask for.

    Parameters
    ----------
    verbose : int, default 0
        0: warnings and errors; 1: also info (the steps of a command); 2 or more: debug.
    quiet : bool, default False
        Errors only, and no progress bars.

    Returns
    -------
    logging.Logger
        The ``corridors`` logger.
    """
    from corridors._progress import TqdmLoggingHandler, set_progress

    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, "_corridors_cli", False):
            logger.removeHandler(handler)
    handler = TqdmLoggingHandler()
    handler._corridors_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("corridors: %(message)s" if verbose < 2 else "%(name)s: %(message)s"))
    handler.setLevel(level)  # a child logger set lower (caplog, a notebook) must not leak onto stderr
    logger.addHandler(handler)
    logger.setLevel(level)
    set_progress(False if quiet else None)
    return logger


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (2 for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.quiet = bool(getattr(args, "quiet", False))
    args.verbose = int(getattr(args, "verbose", 0) or 0)
    handler = getattr(args, "handler", None)
    if handler is None:  # a bare `corridors`: the list of commands is the answer
        parser.print_help()
        return 2
    configure_logging(args.verbose, args.quiet)
    import gc

    from corridors import _cache

    _cache.freeze_loaded = True  # a command is short-lived: what it loads from the cache lives to its end
    try:
        code = handler(args)
    except CorridorsError as exc:
        print(f"corridors: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("corridors: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours; silence the flush too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:  # main() may run inside a longer process (tests, a notebook): give it its collector back
        _cache.freeze_loaded = False
        if _cache.frozen:
            _cache.frozen = False
            gc.unfreeze()
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
