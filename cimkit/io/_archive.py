"""Safe opening of archives and compressed inputs, and the input-size limit.

Every reader that accepts a zip (zipped shapefiles, GTFS feeds, .ifczip) or a compressed stream
(``.osm.bz2``, ``.gz``, ``.xz``) goes through this module, so that:

- a member whose name would land outside the target folder (absolute, ``..``, a symlink: "zip
  slip") is refused before anything is written (``ARC001``);
- an archive whose declared or *actual* expanded size passes ``max_decompressed_mb``, or that
  expands more than ``max_compression_ratio`` times (a "bomb"), is refused while it is read, by
  counting the bytes that come out -- declared sizes in a zip header can lie (``LIM003``,
  ``LIM004``);
- a corrupt, encrypted or non-archive file gets a typed error naming it (``ARC002``).

The standard library's :mod:`zipfile`, :mod:`gzip`, :mod:`bz2` and :mod:`lzma` do the decoding;
this module only adds the checks they lack (``zipfile.extractall`` sanitises names but has no
size limit, and the stream decoders have none either).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cimkit.errors import CimkitIOError, FileFormatError, ResourceLimitError
from cimkit.options import get_options

__all__ = [
    "check_input_size",
    "detect_compression",
    "open_zip",
    "read_zip_member",
    "extract_zip",
    "open_decompressed",
]

_MB = 1024 * 1024
# below this many expanded bytes a high ratio is harmless (a few kB of zeros compress 1000x)
_RATIO_FLOOR_BYTES = 16 * _MB
_CHUNK = 1024 * 1024
_MAGIC = {
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # an empty zip
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}


def check_input_size(path: str | os.PathLike[str], *, what: str = "input file") -> int:
    """Return the size in bytes of ``path``; raise when it passes ``max_input_mb``.

    Raises
    ------
    CimkitIOError
        The file does not exist or cannot be read (``GEN006``), or is a folder.
    ResourceLimitError
        It is larger than the ``max_input_mb`` option (``LIM002``).
    """
    p = Path(path)
    try:
        info = p.stat()
    except OSError as err:
        raise CimkitIOError(f"cannot read the {what}: {err.strerror}", path=p, hint="check the path") from err
    if stat.S_ISDIR(info.st_mode):
        raise CimkitIOError(f"the {what} is a folder, not a file", path=p, hint="give a file")
    limit = int(get_options()["max_input_mb"]) * _MB
    if info.st_size > limit:
        raise ResourceLimitError(
            f"the {what} is {info.st_size / _MB:,.0f} MB, over the limit of {limit / _MB:,.0f} MB",
            path=p,
            code="LIM002",
            hint="raise it with cimkit.set_options(max_input_mb=...) if the file is expected to be this large",
        )
    return info.st_size


def detect_compression(path: str | os.PathLike[str]) -> str | None:
    """Return ``"zip"``, ``"gzip"``, ``"bz2"`` or ``"xz"`` from the file's first bytes, else None.

    The content decides, not the extension: a ``.zip`` that is not a zip returns None.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(6)
    except OSError as err:
        raise CimkitIOError(f"cannot read the file: {err.strerror}", path=path) from err
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is unsafe to extract, or None."""
    name = info.filename
    if "\x00" in name:
        return "its name holds a NUL byte"
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "its name is an absolute path"
    if ".." in posix.parts:
        return "its name climbs out of the folder with '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    return None


def open_zip(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    """Open a zip after checking its size, its member names and its declared expansion.

    Raises
    ------
    FileFormatError
        Not a zip, corrupt, or an encrypted member (``ARC002``); an unsafe member name or a
        symbolic link (``ARC001``, zip slip).
    ResourceLimitError
        The declared expanded size passes ``max_decompressed_mb`` (``LIM003``) or the
        compression ratio passes ``max_compression_ratio`` (``LIM004``).
    """
    p = Path(path)
    check_input_size(p, what="archive")
    try:
        archive = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise FileFormatError(
            f"not a readable zip archive ({err})",
            path=p,
            code="ARC002",
            hint="check the file opens in an archive tool",
        ) from err
    try:
        total = compressed = 0
        for info in archive.infolist():
            problem = _member_problem(info)
            if problem:
                raise FileFormatError(
                    f"member {info.filename!r} is unsafe: {problem}",
                    path=p,
                    code="ARC001",
                    hint="repack the archive with plain relative member names",
                )
            if info.flag_bits & 0x1:
                raise FileFormatError(
                    f"member {info.filename!r} is encrypted",
                    path=p,
                    code="ARC002",
                    hint="give an unencrypted archive",
                )
            total += info.file_size
            compressed += info.compress_size
        _check_expansion(total, max(compressed, 1), p, declared=True)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_expansion(expanded: int, compressed: int, path: Path, *, declared: bool) -> None:
    """Raise when ``expanded`` bytes pass the size limit or the compression-ratio limit."""
    options = get_options()
    limit = int(options["max_decompressed_mb"]) * _MB
    how = "declares" if declared else "expands to"
    if expanded > limit:
        raise ResourceLimitError(
            f"the archive {how} {expanded / _MB:,.0f} MB, over the limit of {limit / _MB:,.0f} MB",
            path=path,
            code="LIM003",
            hint="raise it with cimkit.set_options(max_decompressed_mb=...) if the data is expected to be this large",
        )
    ratio = expanded / compressed
    if expanded > _RATIO_FLOOR_BYTES and ratio > float(options["max_compression_ratio"]):
        raise ResourceLimitError(
            f"the archive {how} {ratio:,.0f} times its compressed size, over the limit of "
            f"{options['max_compression_ratio']:,.0f}: a decompression bomb",
            path=path,
            code="LIM004",
            hint="check where the archive comes from; raise max_compression_ratio only for a trusted file",
        )


def _copy_limited(source: IO[bytes], sink: Any, *, budget: list[int], compressed: int, path: Path) -> int:
    """Copy ``source`` into ``sink`` chunk by chunk, counting bytes against the remaining budget."""
    written = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return written
        budget[0] += len(chunk)
        _check_expansion(budget[0], compressed, path, declared=False)
        sink.write(chunk)
        written += len(chunk)


def read_zip_member(path: str | os.PathLike[str], member: str) -> bytes:
    """Return the bytes of one member of a zip, counting what comes out against the limits.

    Raises
    ------
    FileFormatError
        The archive is unsafe or corrupt (``ARC001``, ``ARC002``), or has no such member (``ARC003``).
    ResourceLimitError
        The member expands past the limits while it is read (``LIM003``, ``LIM004``).
    """
    p = Path(path)
    with open_zip(p) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError as err:
            raise FileFormatError(
                f"the archive has no member {member!r}",
                path=p,
                code="ARC003",
                hint=f"its members are {', '.join(archive.namelist()[:10]) or 'none'}",
            ) from err
        sink = io.BytesIO()
        try:
            with archive.open(info) as source:
                _copy_limited(source, sink, budget=[0], compressed=max(info.compress_size, 1), path=p)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise FileFormatError(f"member {member!r} is corrupt ({err})", path=p, code="ARC002") from err
        return sink.getvalue()


def extract_zip(
    path: str | os.PathLike[str], dest: str | os.PathLike[str], *, members: Iterable[str] | None = None
) -> list[Path]:
    """Extract (some) members of a zip into ``dest`` safely; return the written paths.

    Names are checked before anything is written (no absolute path, no ``..``, no symbolic
    link), every written path is verified to lie inside ``dest``, and the bytes that actually
    come out are counted against ``max_decompressed_mb`` and ``max_compression_ratio``.
    On any error the files written so far are removed.
    """
    p, target = Path(path), Path(dest).resolve()
    written: list[Path] = []
    with open_zip(p) as archive:
        infos = archive.infolist()
        if members is not None:
            wanted = set(members)
            infos = [i for i in infos if i.filename in wanted]
        compressed = max(sum(i.compress_size for i in infos), 1)
        budget = [0]
        try:
            for info in infos:
                out = (target / info.filename.replace("\\", "/")).resolve()
                if target != out and target not in out.parents:
                    raise FileFormatError(
                        f"member {info.filename!r} would be written outside the target folder",
                        path=p,
                        code="ARC001",
                        hint="repack the archive with plain relative member names",
                    )
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                written.append(out)
                with archive.open(info) as source, open(out, "wb") as sink:
                    _copy_limited(source, sink, budget=budget, compressed=compressed, path=p)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            _remove(written)
            raise FileFormatError(f"the archive is corrupt ({err})", path=p, code="ARC002") from err
        except BaseException:
            _remove(written)
            raise
    return written


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


class _LimitedReader(io.RawIOBase):
    """A read-only stream over a decompressor that raises once the output passes the limits."""

    def __init__(self, stream: IO[bytes], path: Path, compressed: int) -> None:
        self._stream = stream
        self._path = path
        self._compressed = max(compressed, 1)
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read(len(buffer))
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
            raise FileFormatError(
                f"the compressed stream is corrupt or cut short ({err})", path=self._path, code="ARC002"
            ) from err
        self._count += len(data)
        _check_expansion(self._count, self._compressed, self._path, declared=False)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def open_decompressed(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a file for binary reading, decompressing gzip / bz2 / xz transparently and safely.

    The kind is found from the content (:func:`detect_compression`), not the extension. What
    comes out of a compressed stream is counted against ``max_decompressed_mb`` and
    ``max_compression_ratio`` while it is read. A plain file is returned as is (after the
    ``max_input_mb`` check). A zip is refused here (``ARC003``): use :func:`open_zip`.
    """
    p = Path(path)
    size = check_input_size(p)
    kind = detect_compression(p)
    if kind is None:
        return open(p, "rb")
    if kind == "zip":
        raise FileFormatError(
            "the file is a zip archive, not a single compressed stream",
            path=p,
            code="ARC003",
            hint="extract the member you want, or give the archive to a reader that takes zips",
        )
    stream: Any
    if kind == "gzip":
        stream = gzip.open(p, "rb")
    elif kind == "bz2":
        stream = bz2.open(p, "rb")
    else:
        stream = lzma.open(p, "rb")
    return io.BufferedReader(_LimitedReader(stream, p, size), buffer_size=_CHUNK)
