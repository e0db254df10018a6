"""A small on-disk cache of computed results (validated layers, route sets).

The cache lives under ``$CORRIDORS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/corridors`` or
``~/.cache/corridors``); ``CORRIDORS_NO_CACHE=1`` turns it off.  Entries are keyed by the
caller (a hash of every input).  The cache can neither break a run nor run code:

* every entry is a pickle **authenticated with an HMAC-SHA256** under a random key kept in
  the cache folder (``key``, mode 0600).  An entry whose digest does not match (a flipped
  byte, a truncated write, a file planted by someone else, a key that changed) is never
  unpickled: it is deleted and recomputed, with one ``logging.debug`` line (``-v``);
* the file format version is part of every entry's name and header, so entries written by
  another version of this module are ignored;
* the folder is bounded (``$CORRIDORS_CACHE_MAX_MB``, default :data:`DEFAULT_MAX_MB` MB):
  after each write the least recently used entries are evicted;
* a read-only or full disk is no reason to fail: writes are skipped silently.

``corridors cache info`` and ``corridors cache clear`` inspect and empty the folder.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import logging
import os
import pickle
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "enabled", "read", "write", "info", "clear", "max_bytes", "FORMAT_VERSION"]

log = logging.getLogger(__name__)

#: Version of the entry format; part of every entry name and header.
FORMAT_VERSION = 2
#: Default size bound of the cache folder (MB).  One parameter variant of the shipped
#: network takes about 10 MB (validated layers plus route sets), so 200 MB keeps about
#: twenty variants, plenty for a calibration or a scenario comparison.
DEFAULT_MAX_MB = 200.0

_MAGIC = b"CORRIDORS-CACHE"
_HEADER = _MAGIC + b"%d\n" % FORMAT_VERSION
_DIGEST = hashlib.sha256().digest_size
_KEY_FILE = "key"
_SUFFIX = ".entry"


def enabled() -> bool:
    """False when ``CORRIDORS_NO_CACHE`` is set."""
    return not os.environ.get("CORRIDORS_NO_CACHE")


def cache_dir() -> Path:
    """The cache folder."""
    env = os.environ.get("CORRIDORS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "corridors"


def max_bytes() -> int:
    """Size bound of the cache folder in bytes (``$CORRIDORS_CACHE_MAX_MB``, default 200 MB)."""
    raw = os.environ.get("CORRIDORS_CACHE_MAX_MB")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    if not mb >= 0 or mb == float("inf"):  # NaN, negative or infinite: the default
        mb = DEFAULT_MAX_MB
    return int(mb * 1024 * 1024)


def _entry_path(name: str) -> Path:
    # The name is the caller's (a hex digest plus a kind); keep it to one safe path part.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
    return cache_dir() / f"v{FORMAT_VERSION}-{safe}{_SUFFIX}"


def _key(create: bool) -> bytes | None:
    """The HMAC key of this cache folder, created (mode 0600) if ``create``; None if unusable.

    A key file that others may read or write, or that is not a regular file owned by us,
    is not a secret: it is replaced, which invalidates every entry signed with it.
    """
    path = cache_dir() / _KEY_FILE
    try:
        st = path.lstat()
        # Windows has no POSIX modes or owners; the folder's ACL protects the key there.
        posix = os.name == "posix"
        trusted = (
            stat.S_ISREG(st.st_mode)
            and (not posix or (st.st_mode & 0o077) == 0)
            and (not posix or st.st_uid == os.getuid())
            and st.st_size == 32
        )
        if trusted:
            return path.read_bytes()
        log.debug("cache: key file %s is not private; replacing it", path)
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.debug("cache: cannot read the key file %s (%s)", path, exc)
        return None
    if not create:
        return None
    try:
        cache_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        tmp = path.with_name(f".{_KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        try:
            # Another process may have created a key meanwhile: keep the first one.
            os.link(tmp, path)
        except FileExistsError:
            return _key(create=False)
        finally:
            tmp.unlink(missing_ok=True)
        return key
    except OSError as exc:
        log.debug("cache: cannot create a key in %s (%s)", cache_dir(), exc)
        return None


def _sign(key: bytes, name: str, payload: bytes) -> bytes:
    # The entry name is signed too, so a valid entry cannot be moved to another key.
    return hmac.new(key, _HEADER + name.encode() + b"\0" + payload, hashlib.sha256).digest()


def read(name: str) -> Any | None:
    """The cached object called ``name``, or None if absent, stale, corrupted or foreign.

    Nothing is unpickled unless its HMAC matches the key of this cache folder; a bad entry
    is deleted (it would be recomputed and overwritten anyway).
    """
    path = _entry_path(name)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    key = _key(create=False)
    ok = (
        key is not None
        and blob.startswith(_HEADER)
        and len(blob) > len(_HEADER) + _DIGEST
        and hmac.compare_digest(
            blob[len(_HEADER) : len(_HEADER) + _DIGEST], _sign(key, name, blob[len(_HEADER) + _DIGEST :])
        )
    )
    if not ok:
        log.debug("cache: entry %s is corrupted or was not written by this cache; recomputing", path.name)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    try:
        value = _loads(blob[len(_HEADER) + _DIGEST :])
    except Exception as exc:  # noqa: BLE001 - an authentic entry of an older code version
        log.debug("cache: entry %s no longer loads (%s); recomputing", path.name, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # least recently *used* is evicted first
    return value


#: Set by the command line (a short-lived process, :func:`corridors.cli.main`): move what an
#: entry loads, with everything else alive, out of the collector's sight (``gc.freeze``).
freeze_loaded = False
#: True once :func:`_loads` has frozen objects (the command line gives them back at its end).
frozen = False


def _loads(payload: bytes) -> Any:
    """Unpickle without the cyclic garbage collector running meanwhile.

    Unpickling a choice-set entry creates hundreds of thousands of tuples and dicts; each
    batch of allocations would trigger a collection that walks all of them again, which
    doubles the load time for nothing (nothing unpickled is garbage yet).  With
    :data:`freeze_loaded` they are frozen afterwards, which spares a command the one full
    collection (about 0.2 s) that so many new long-lived objects would soon trigger.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        value = pickle.loads(payload)
        if freeze_loaded:
            global frozen
            gc.freeze()
            frozen = True
        return value
    finally:
        if was_enabled:
            gc.enable()


def write(name: str, value: Any) -> None:
    """Store ``value`` as ``name`` (signed; atomically: temporary file, then rename).

    Any OS error (read-only folder, full disk) skips the write: the cache is an
    optimisation, never a reason to fail.
    """
    key = _key(create=True)
    if key is None:
        return
    path = _entry_path(name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        with tmp.open("wb") as handle:
            handle.write(_HEADER + _sign(key, name, payload) + payload)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.debug("cache: cannot write %s (%s)", path.name, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    _evict(max_bytes(), keep=path)


@dataclass(frozen=True)
class CacheInfo:
    """What ``corridors cache info`` reports.

    Attributes
    ----------
    path : Path
        The cache folder.
    entries : int
        Number of entries of the current format.
    size_bytes : int
        Their total size (bytes).
    max_bytes : int
        The size bound (bytes).
    other_files : int
        Files that are not current entries (older formats, leftovers), removed by ``clear``.
    enabled : bool
        False when ``CORRIDORS_NO_CACHE`` is set.
    """

    path: Path
    entries: int
    size_bytes: int
    max_bytes: int
    other_files: int
    enabled: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "path": str(self.path),
            "entries": self.entries,
            "size_bytes": self.size_bytes,
            "max_bytes": self.max_bytes,
            "other_files": self.other_files,
            "enabled": self.enabled,
        }


def _files() -> list[os.DirEntry]:
    try:
        with os.scandir(cache_dir()) as it:
            return [e for e in it if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _is_entry(entry: os.DirEntry) -> bool:
    return entry.name.startswith(f"v{FORMAT_VERSION}-") and entry.name.endswith(_SUFFIX)


def _ours(name: str) -> bool:
    """True for names this module writes or wrote (any format version, and temporaries)."""
    return name.endswith((_SUFFIX, ".pickle")) or (name.startswith(".") and name.endswith(".tmp"))


def info() -> CacheInfo:
    """Describe the cache folder (entries, size, bound)."""
    entries = other = size = 0
    for entry in _files():
        if _is_entry(entry):
            entries += 1
            with contextlib.suppress(OSError):
                size += entry.stat(follow_symlinks=False).st_size
        elif _ours(entry.name):
            other += 1
    return CacheInfo(cache_dir(), entries, size, max_bytes(), other, enabled())


def clear() -> int:
    """Delete every entry, older-format file and leftover of the cache folder; return the count.

    The key stays (it signs nothing once the entries are gone) and files of other programs
    in a shared folder are not touched: only names this module writes are removed.
    """
    removed = 0
    for entry in _files():
        if _ours(entry.name):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _evict(limit: int, keep: Path | None = None) -> None:
    """Delete the least recently used entries until the folder holds at most ``limit`` bytes."""
    found = []
    for entry in _files():
        if not _ours(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        found.append((st.st_mtime, st.st_size, entry.path))
    total = sum(size for _, size, _ in found)
    for _, size, path in sorted(found):
        if total <= limit:
            break
        if keep is not None and path == str(keep):
            continue
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
