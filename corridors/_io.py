"""Safe file output: write into a private temporary folder beside the target, then rename.

Every writer of corridors goes through :func:`atomic_path`, so that

* a run that fails, is interrupted (Ctrl-C, SIGTERM) or finds the disk full leaves the
  previous file as it was and no temporary file behind;
* the target is never a device, folder, socket or pipe (``-o /dev/sda`` is refused, not
  replaced by a regular file);
* an unwritable or full destination gives one line (:class:`~corridors._errors.CorridorsError`)
  naming the file, never a traceback;
* leftovers of a run killed with SIGKILL (which no program can clean up after) are
  removed by the next write to the same target.

The temporary file has the target's own name inside a hidden folder
``.<name>.<pid>.<random>.tmp``, so writers that derive a layer name from the file name
(GeoJSON) name it after the target, and writers that choose the format from the suffix
(pyogrio, pandas) see the right one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from corridors._errors import CorridorsError

__all__ = ["atomic_path", "check_target", "layer_targets", "write_layers", "OutputError", "LAYER_FORMATS"]


class OutputError(CorridorsError):
    """An output file cannot be written (non-regular target, no permission, disk full)."""


#: Free space (bytes) below which a failed write is blamed on a full disk.
_FULL_BYTES = 1 << 20


def _describe(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    return "not a regular file"


def check_target(target: str | Path) -> Path:
    """Check that ``target`` can be written as a regular file; return its real path.

    Call it before long work so that a bad ``-o`` fails at once.  A symbolic link to a
    regular file is followed (the file it points to is replaced, the link kept).

    Raises
    ------
    OutputError
        If the target is a folder, device, socket or pipe, if its folder is a file, or if
        the folder cannot be created or written.
    """
    path = Path(target).expanduser()
    if str(target) == "" or path.name in ("", ".", ".."):
        raise OutputError(f"{target!s}: not a file name")
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a loop of links, a path through a file, too long a name
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    if st is not None:
        kind = _describe(st.st_mode)
        if kind is not None:
            raise OutputError(f"{path}: is {kind}; give the name of a regular file to write")
        path = path.resolve()
    folder = path.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{path}: cannot write here ({probe} is not a folder)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write here (no permission to write in {probe})")
    return path


_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, but another user's
        return True
    return True


def _remove_stale(folder: Path, name: str) -> None:
    """Remove temporary folders for ``name`` left by processes that no longer exist."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _STALE.match(entry.name)
        if match and match["name"] == name and not _pid_alive(int(match["pid"])):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < _FULL_BYTES


class _Terminated(BaseException):
    """SIGTERM turned into an exception so that ``finally`` blocks remove temporary files."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    # Python's default SIGTERM action kills the process at once, skipping every cleanup.
    # While a temporary file exists, SIGTERM instead unwinds the stack like Ctrl-C does;
    # the process then exits with the conventional status 128 + 15.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        yield  # someone (Dask, a test runner) handles SIGTERM already; leave it to them
        return

    def handler(signum, frame):
        raise _Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path for ``target``; move it onto ``target`` if the block succeeds.

    The temporary file lies in a hidden folder beside the target and has the target's
    name (writers such as pyogrio choose the format from the suffix and GeoJSON takes
    its layer name from the file name).  The block must create the file.  On any error,
    Ctrl-C or SIGTERM the temporary folder is removed and ``target`` is left as it was.

    Raises
    ------
    OutputError
        If the target is not a regular file (folder, device, socket, pipe), the folder
        cannot be written, or the disk is full; one line naming the target.
    """
    path = check_target(target)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create the folder {folder} ({exc.strerror or exc})") from None
    _remove_stale(folder, path.name)
    try:
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    tmp = tmp_dir / path.name
    try:
        with _sigterm_unwinds():
            try:
                yield tmp
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT) or _disk_full(folder):
                    raise OutputError(f"{path}: cannot write the output (disk full)") from None
                raise OutputError(f"{path}: cannot write the output ({exc.strerror or exc})") from None
            except Exception:
                # Writers built on C libraries (GDAL, Arrow) report a full disk as their own
                # error types; name the cause when it is plain.
                if _disk_full(folder):
                    raise OutputError(f"{path}: cannot write the output (disk full)") from None
                raise
            if not tmp.is_file():
                raise OutputError(f"{path}: the writer produced no file")
            try:
                try:
                    mode = stat.S_IMODE(path.stat().st_mode)
                except FileNotFoundError:
                    mode = 0o666 & ~_umask()
                os.chmod(tmp, mode)
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                raise OutputError(
                    f"{path}: cannot write the output ({'disk full' if full else exc.strerror or exc})"
                ) from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


#: Output formats of :func:`write_layers` by file suffix.
LAYER_FORMATS = {".gpkg": "GPKG", ".parquet": "parquet", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "csv"}


def layer_targets(target: str | Path, names) -> dict[str, Path]:
    """The files :func:`write_layers` writes for ``target``: one GeoPackage, or one file per layer.

    ``x.gpkg`` holds every layer.  In formats that hold one layer, the first layer goes
    to ``target`` itself and each further one to ``x.<layer><suffix>`` beside it
    (``-o flows.geojson``: links in ``flows.geojson``, ``flows.nodes.geojson``,
    ``flows.routes.geojson``).

    Raises
    ------
    OutputError
        For a suffix that is not .gpkg, .parquet, .geojson, .json or .csv.
    """
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix not in LAYER_FORMATS:
        raise OutputError(f"{path}: unknown output format '{path.suffix}'; use .gpkg, .parquet, .geojson or .csv")
    if suffix == ".gpkg":
        return {name: path for name in names}
    names = list(names)
    return {name: path if i == 0 else path.with_name(f"{path.stem}.{name}{path.suffix}")
            for i, name in enumerate(names)}


def write_layers(target: str | Path, layers: dict) -> list[Path]:
    """Write GeoDataFrames as named layers, atomically, in the format of ``target``'s suffix.

    ``.gpkg``: one GeoPackage with a layer per entry (layer names are the keys).
    ``.geojson``/``.json``, ``.parquet`` (GeoParquet) and ``.csv`` hold one layer per file:
    the first layer in ``target``, the others beside it (:func:`layer_targets`); a
    GeoJSON file's ``name`` is its layer's name; the CSV carries the geometry as
    WKT in a ``WKT`` column (the name GDAL and QGIS read as geometry).  Every file is
    written to a temporary file beside it and renamed only when all layers are written,
    so a failure leaves the previous files as they were; no index column is written.

    Parameters
    ----------
    target : str or Path
        Output file; its suffix chooses the format.
    layers : dict of str -> geopandas.GeoDataFrame
        Layer name -> frame (written in this order).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OutputError
        For an unknown suffix, a target that cannot be written, or a full disk.
    """
    targets = layer_targets(target, list(layers))
    fmt = LAYER_FORMATS[Path(target).suffix.lower()]
    files = list(dict.fromkeys(targets.values()))
    for path in files:
        check_target(path)
    with contextlib.ExitStack() as stack:
        temps = {path: stack.enter_context(atomic_path(path)) for path in files}
        for name, frame in layers.items():
            tmp = temps[targets[name]]
            frame = frame.reset_index(drop=True)
            try:
                if fmt == "csv":
                    table = frame.drop(columns=frame.geometry.name)
                    table.insert(0, "WKT", frame.geometry.to_wkt())
                    table.to_csv(tmp, index=False)
                elif fmt == "parquet":
                    frame.to_parquet(tmp, index=False)
                else:
                    frame.to_file(tmp, driver=fmt, layer=name, index=False)
            except OSError as exc:  # name the file being written, not the last one opened
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT) or _disk_full(tmp.parent)
                raise OutputError(
                    f"{targets[name]}: cannot write the output ({'disk full' if full else exc.strerror or exc})"
                ) from None
    # each atomic_path renamed its file on leaving the stack; a failure before that left them all
    return files
