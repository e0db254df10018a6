"""The ``cache`` command: inspect or empty the on-disk cache.

``corridors cache info [--json]``
``corridors cache clear``
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    """Register ``cache info`` and ``cache clear``."""
    p = subparsers.add_parser(
        "cache",
        help="show or empty the on-disk cache of validated layers and route sets",
        description="The cache keeps validated layers and route sets between runs (folder: $CORRIDORS_CACHE_DIR, "
        "default ~/.cache/corridors; size bound: $CORRIDORS_CACHE_MAX_MB MB, default 200; off with "
        "CORRIDORS_NO_CACHE=1). Entries are signed with a private key, so a damaged or planted file is "
        "recomputed, never loaded.",
    )
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    q = sub.add_parser("info", help="folder, number of entries, size and size bound")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=run_info)
    q = sub.add_parser("clear", help="delete every cache entry")
    q.add_argument("--json", action="store_true", help="print one JSON object (folder, files removed)")
    q.set_defaults(handler=run_clear)
    p.set_defaults(handler=lambda args, parser=p: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    # one line, like every other refusal of the CLI (corridors.cli.OneLineParser)
    command = parser.prog.partition(" ")[2]
    print(f"corridors: error: {command}: an ACTION is required (see '{parser.prog} --help')", file=sys.stderr)
    return 2


def run_info(args) -> int:
    from corridors import _cache

    info = _cache.info()
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    state = "" if info.enabled else " (disabled: CORRIDORS_NO_CACHE is set)"
    print(f"cache folder: {info.path}{state}")
    print(f"entries:      {info.entries}")
    print(f"size:         {info.size_bytes / 1048576:.1f} MB of {info.max_bytes / 1048576:.0f} MB")
    if info.other_files:
        print(f"stale files:  {info.other_files} (older formats or leftovers; 'corridors cache clear' removes them)")
    return 0


def run_clear(args) -> int:
    from corridors import _cache

    removed = _cache.clear()
    if args.json:
        print(json.dumps({"path": str(_cache.cache_dir()), "removed": removed}, indent=2))
        return 0
    print(f"removed {removed} file(s) from {_cache.cache_dir()}", file=sys.stderr)
    return 0
