"""The ``corridors`` command line: a thin shell over the Python API."""

from __future__ import annotations

import argparse
import importlib
import sys

from corridors._errors import CorridorsError
from corridors.commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every command family registered."""
    parser = argparse.ArgumentParser(
        prog="corridors",
        description="Eurasian freight corridors: routes, route shares, maps and scenarios.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit code (2 for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
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
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
