"""Atomic file writes: write beside the destination, fsync, verify, rename, fsync the folder.

Every file cimkit writes goes through :func:`atomic_path` (or its two shortcuts
:func:`write_bytes_atomic` and :func:`write_text_atomic`):

1. the destination is checked first (an existing folder, a parent that is a file, a name too
   long) and the temporary files left by an interrupted earlier write of the same destination
   are removed (a :class:`~cimkit.errors.RepairWarning` ``WRT101`` counts them);
2. the writer writes a temporary file in the destination's folder (``.<name>.<pid>.<random>.tmp<suffix>``);
3. the temporary file is flushed to disk (``fsync``) and VERIFIED: reopened and checked by its
   format (a GeoPackage passes ``PRAGMA integrity_check``; JSON parses; a PNG, glTF binary,
   TIFF, Parquet or IFC file has its signature and, where the format records it, its length)
   and by the writer's own check (``verify=``: expected tables and row counts, byte size);
4. it is renamed over the destination (atomic on POSIX: both names are in one folder) and the
   folder is flushed, so that the rename itself survives a power cut.

Any failure removes the temporary file and leaves the previous file intact. Operating-system
errors come back as :class:`~cimkit.errors.CimkitIOError` with a ``WRT`` code naming the cause
(read-only folder, existing folder, parent is a file, disk full, name too long, failed
verification) and how to fix it.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> write_text_atomic(folder / "a.json", '{"n": 1}').read_text()
'{"n": 1}'
>>> try:
...     write_text_atomic(folder / "b.json", '{"n": ')
... except CimkitIOError as err:
...     print(err.code, sorted(p.name for p in folder.iterdir()))
WRT006 ['a.json']
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from glob import escape as glob_escape
from pathlib import Path

from cimkit.errors import CimkitError, CimkitIOError, RepairWarning

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "verify_file"]

logger = logging.getLogger(__name__)

_TMP_MARK = ".tmp"
#: Above this size a JSON file is checked by its two ends rather than parsed again (bytes).
_PARSE_LIMIT = 256 * 2**20
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
#: Text of the errors GDAL / SQLite raise (not as OSError) when a write runs out of space.
_FULL_TEXTS = (
    "no space left",
    "disk is full",
    "database or disk is full",
    "file too large",
    "disk i/o error",
)
_HINTS = {
    "WRT001": "write to a folder you may write to, or change the folder's permissions.",
    "WRT002": "a folder has this name: give a file name inside it (e.g. folder/city.gpkg).",
    "WRT003": "part of the path is a file, not a folder: choose another path.",
    "WRT004": "free space on the disk (or raise the quota / file-size limit) and write again; "
    "the previous file is intact.",
    "WRT005": "shorten the file name (most file systems allow 255 bytes).",
    "WRT006": "the file written could not be read back complete; check the disk and write again.",
    "WRT007": "check the path, the permissions and the free space, then write again.",
}


def _name_max(folder: Path) -> int:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return int(os.pathconf(probe, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _error(code: str, message: str, dest: Path, err: BaseException | None = None) -> CimkitIOError:
    detail = f" ({type(err).__name__}: {err})" if err is not None else ""
    return CimkitIOError(f"cannot write the file: {message}{detail}", path=dest, hint=_HINTS[code], code=code)


def _classify(err: BaseException, dest: Path) -> CimkitIOError | None:
    """Return the typed error for an exception raised while writing ``dest``, or None to re-raise it."""
    if isinstance(err, OSError) and err.errno is not None:
        code = {
            errno.EISDIR: "WRT002",
            errno.ENOTDIR: "WRT003",
            errno.ENAMETOOLONG: "WRT005",
        }.get(err.errno)
        if err.errno in _DENIED:
            code = "WRT001"
        elif err.errno in _FULL:
            code = "WRT004"
        if isinstance(err, FileExistsError) and dest.parent.is_file():
            code = "WRT003"
        messages = {
            "WRT001": "permission denied (the folder is read-only or not yours)",
            "WRT002": "the destination is an existing folder",
            "WRT003": "a parent of the destination is a file",
            "WRT004": "the disk is full (or a quota / file-size limit was reached)",
            "WRT005": "the file name is too long",
        }
        code = code or "WRT007"
        return _error(code, messages.get(code, "the operating system refused the write"), dest, err)
    text = str(err).lower()
    if any(t in text for t in _FULL_TEXTS) or _nearly_full(dest.parent):
        return _error("WRT004", "the disk is full (or a quota / file-size limit was reached)", dest, err)
    module = type(err).__module__.split(".")[0]
    if module in {"pyogrio", "rasterio", "fiona", "sqlite3", "osgeo", "pyarrow"} or isinstance(err, OSError):
        return _error("WRT007", "the writer failed", dest, err)
    return None


def _nearly_full(folder: Path) -> bool:
    """Tell whether the folder's file system has less than 1 MiB free (a failed write's likely cause)."""
    import shutil

    try:
        return shutil.disk_usage(folder).free < 2**20
    except OSError:
        return False


def _check_destination(dest: Path) -> None:
    if len(os.fsencode(dest.name)) > _name_max(dest.parent):
        raise _error("WRT005", f"the file name is {len(os.fsencode(dest.name))} bytes long", dest)
    try:
        if dest.is_dir():
            raise _error("WRT002", "the destination is an existing folder", dest)
        for parent in dest.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise _error("WRT003", f"the parent {str(parent)!r} is a file", dest)
                break
    except OSError as err:
        if isinstance(err, CimkitError):
            raise
        raise _classify(err, dest) or err from err


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _short(dest: Path) -> str:
    """Return the start of the destination's name used in its temporary files' names (40 chars)."""
    return dest.name[:40] or "file"


def _remove_stale(dest: Path) -> int:
    """Remove the temporary files of ``dest`` left by writers that no longer run; return how many."""
    removed = 0
    short = _short(dest)
    with contextlib.suppress(OSError):
        for leftover in dest.parent.glob(f".{glob_escape(short)}.*{_TMP_MARK}*"):
            parts = leftover.name[len(short) + 2 :].split(".")
            if not parts or not parts[0].isdigit() or _pid_alive(int(parts[0])):
                continue
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
    if removed:
        warnings.warn(
            RepairWarning(
                f"{dest}: removed {removed} temporary file(s) left by an interrupted earlier write; "
                "the destination itself was not touched by it",
                code="WRT101",
            ),
            stacklevel=4,
        )
    return removed


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - a platform without folder descriptors
        return
    try:
        os.fsync(fd)
    except OSError as err:  # some file systems do not flush folders
        if err.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _check_sqlite(path: Path) -> str | None:
    import sqlite3

    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            return "no SQLite header"
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        result = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return None if result == [("ok",)] else f"integrity check: {result[:3]}"


def _check_tail(path: Path, head: bytes, tail: bytes) -> str | None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = handle.read(len(head))
        handle.seek(max(0, size - len(tail) - 64))
        end = handle.read()
    if start != head or not end.rstrip().endswith(tail):
        return f"missing the {head!r} signature or the {tail!r} end mark"
    return None


def _check_glb(path: Path) -> str | None:
    data = path.read_bytes()[:12]
    if data[:4] != b"glTF" or len(data) < 12:
        return "no glTF signature"
    declared = int.from_bytes(data[8:12], "little")
    actual = path.stat().st_size
    return None if declared == actual else f"declares {declared} bytes, holds {actual}"


def _check_tiff(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "no TIFF signature"
    import rasterio

    with rasterio.open(path) as src:
        src.read(1, window=((src.height - 1, src.height), (src.width - 1, src.width)))
    return None


def _check_json(path: Path) -> str | None:
    size = path.stat().st_size
    if size > _PARSE_LIMIT:  # too big to parse twice: its two ends must match
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()[:1]
            handle.seek(max(0, size - 64))
            tail = handle.read().rstrip()[-1:]
        return None if (head, tail) in ((b"{", b"}"), (b"[", b"]")) else "JSON cut short"
    json.loads(path.read_text(encoding="utf-8"))
    return None


def _check_text(path: Path) -> str | None:
    path.read_bytes().decode("utf-8")
    return None


def _check_ifc(path: Path) -> str | None:
    return _check_tail(path, b"ISO-10303-21;", b"END-ISO-10303-21;") if path.stat().st_size else "empty"


_CHECKS: dict[str, Callable[[Path], str | None]] = {
    ".gpkg": _check_sqlite,
    ".json": _check_json,
    ".geojson": _check_json,
    ".png": lambda p: _check_tail(p, b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"),
    ".glb": _check_glb,
    ".tif": _check_tiff,
    ".tiff": _check_tiff,
    ".parquet": lambda p: _check_tail(p, b"PAR1", b"PAR1"),
    ".html": _check_text,
    ".md": _check_text,
    ".csv": _check_text,
    ".txt": _check_text,
    ".ifc": lambda p: _check_ifc(p),
}


def verify_file(path: str | os.PathLike[str], *, suffix: str | None = None) -> str | None:
    """Check a written file by its format; return None when it is sound, else what is wrong.

    ``suffix`` names the format (default: the file's own suffix); unknown suffixes pass.
    """
    path = Path(path)
    check = _CHECKS.get((suffix if suffix is not None else path.suffix).lower())
    if check is None:
        return None
    try:
        return check(path)
    except Exception as err:  # any failure to read it back is a failed verification
        return f"{type(err).__name__}: {err}"


def _cleanup(tmp: Path) -> None:
    for leftover in (tmp, *tmp.parent.glob(tmp.name + "*")):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            leftover.unlink()


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    suffix: str | None = None,
    verify: Callable[[Path], str | None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; verify it and rename it over ``path``.

    ``verify`` is the writer's own check of the temporary file (expected tables, rows, size):
    it returns None when the file is right, else what is wrong. The format check of
    :func:`verify_file` runs first. On any exception (including KeyboardInterrupt) the
    temporary file is removed and the previous file at ``path``, if any, is left untouched.
    Operating-system errors are raised as :class:`~cimkit.errors.CimkitIOError` with a ``WRT``
    code; a failed verification is ``WRT006``.
    """
    dest = Path(path)
    _check_destination(dest)
    tmp: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(dest)
        end = suffix if suffix is not None else f"{_TMP_MARK}{dest.suffix}"
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{_short(dest)}.{os.getpid()}.",
            suffix=end,
            dir=dest.parent,
        )
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # let the writer create it (GDAL refuses to overwrite some formats)
        yield tmp
        if not tmp.is_file():
            raise _error("WRT006", "the writer produced no file", dest)
        _fsync_file(tmp)
        problem = verify_file(tmp, suffix=dest.suffix) or (verify(tmp) if verify is not None else None)
        if problem:
            raise _error("WRT006", f"the file written does not read back complete: {problem}", dest)
        os.replace(tmp, dest)
        _cleanup(tmp)  # side files a writer may have left (journals, .aux.xml)
        _fsync_folder(dest.parent)
    except CimkitError:
        if tmp is not None:
            _cleanup(tmp)
        raise
    except BaseException as err:
        if tmp is not None:
            _cleanup(tmp)
        typed = _classify(err, dest) if isinstance(err, Exception) else None
        if typed is None:
            raise
        raise typed from err
    logger.debug("wrote %s atomically", dest)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; the file read back must have ``len(data)`` bytes."""

    def same_size(tmp: Path) -> str | None:
        size = tmp.stat().st_size
        return None if size == len(data) else f"{size} bytes on disk, {len(data)} written"

    with atomic_path(path, verify=same_size) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode(encoding))
