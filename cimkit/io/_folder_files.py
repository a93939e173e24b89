"""The container of the folder model format: a folder or a stored ``.zip``, read and written safely.

Reading: :class:`Container` lists and reads the members named by the manifest, refusing names
that leave the container (``..``, absolute paths, links pointing outside, FLD007) and checking
each member's size and sha256 against the manifest (FLD005 missing, FLD006 changed).

Writing a folder: :func:`atomic_folder` yields a temporary sibling folder; once the writer is
done and the content verified, the temporary folder is exchanged with the destination in one
``renameat2(RENAME_EXCHANGE)`` call (Linux; elsewhere two renames) and the previous content is
removed. An existing destination is only replaced when it holds a cimkit folder model.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from cimkit._atomic import _pid_alive  # the atomic writer's check of a crashed writer's pid
from cimkit.errors import CimkitError, CimkitIOError, FileFormatError, RepairWarning

MANIFEST = "manifest.json"
FORMAT_NAME = "cimkit-folder"
_TMP_MARK = ".tmp"
_VERIFY_HINT = (
    "run `cimkit verify PATH` to list what changed, then restore the model from a copy or save it again."
)
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cimkit-sha256")


def check_member_name(name: Any, path: Path) -> str:
    """Return ``name`` when it is a plain file name inside the container, else raise FLD007."""
    text = str(name)
    pure = PurePosixPath(text.replace("\\", "/"))
    if (
        not isinstance(name, str)
        or not text
        or pure.is_absolute()
        or ".." in pure.parts
        or text.startswith(("/", "\\"))
        or (len(text) > 1 and text[1] == ":")
        or "\x00" in text
    ):
        raise FileFormatError(
            f"unsafe member name {text!r}: it would leave the model's folder (absolute path or '..')",
            path=path,
            entity=text,
            hint="the model was not written by cimkit or was tampered with; do not open it, "
            "ask its sender for a copy saved by cimkit.",
            code="FLD007",
        )
    return text


def _sha256(data: Any) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()


class Container:
    """The members of a folder model on disk (a folder or a ``.zip``), read with their checks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.opened: list[str] = []
        if not path.exists():
            raise CimkitIOError(
                "no such folder or file",
                path=path,
                hint="check the path; folder models are saved with model.to_file('city.cimkit').",
                code="FLD001",
            )
        if path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError) as err:
                raise FileFormatError(
                    f"not a readable zip ({type(err).__name__}: {err})",
                    path=path,
                    hint="the archive is truncated or not a zip; copy it again or save the model again.",
                    code="FLD011",
                ) from err
            for info in self.zip.infolist():
                check_member_name(info.filename, path)

    def close(self) -> None:
        """Close the zip, if any."""
        if self.zip is not None:
            self.zip.close()

    def size(self, name: str) -> int | None:
        """Return a member's size in bytes, or None when it is missing."""
        if self.zip is not None:
            try:
                return self.zip.getinfo(name).file_size
            except KeyError:
                return None
        member = self.path / name
        if member.is_symlink() and not member.resolve().is_relative_to(self.path.resolve()):
            check_member_name("../" + name, self.path)
        return member.stat().st_size if member.is_file() else None

    def read(self, name: str) -> bytes:
        """Return a member's bytes (no checks)."""
        self.opened.append(name)
        if self.zip is not None:
            return self.zip.read(name)
        return (self.path / name).read_bytes()

    def manifest(self) -> dict[str, Any]:
        """Return the manifest; raise FLD002 when there is none, FLD003 when it is damaged."""
        if self.size(MANIFEST) is None:
            what = "zip" if self.zip is not None else "folder"
            raise FileFormatError(
                f"a {what} without {MANIFEST}: not a model saved in the cimkit folder format",
                path=self.path,
                hint="pass a folder or .zip written by model.to_file('city.cimkit'), or a .gpkg model.",
                code="FLD002",
            )
        try:
            manifest = json.loads(self.read(MANIFEST).decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
                raise ValueError(f"format {manifest.get('format') if isinstance(manifest, dict) else None!r}")
            for key, kind in (("crs", str), ("layers", dict), ("networks", dict), ("files", dict)):
                if not isinstance(manifest.get(key), kind):
                    raise ValueError(f"{key!r} missing or not a {kind.__name__}")
            for name in manifest["files"]:
                check_member_name(name, self.path)
        except CimkitError:
            raise
        except Exception as err:
            raise FileFormatError(
                f"{MANIFEST} is damaged ({type(err).__name__}: {err})",
                path=self.path,
                layer=MANIFEST,
                hint="restore the model from a copy or save it again.",
                code="FLD003",
            ) from err
        return manifest

    def read_checked(self, name: str, entry: dict[str, Any], layer: str) -> tuple[bytes, Future[str]]:
        """Return a member's bytes and its sha256 being computed (see :meth:`check_digest`)."""
        size = self.size(name)
        if size is None:
            raise FileFormatError(
                f"file {name!r} listed in {MANIFEST} is missing",
                path=self.path,
                layer=layer,
                hint=_VERIFY_HINT,
                code="FLD005",
            )
        if size != entry.get("size_bytes"):
            self.tampered(name, layer, f"{size} bytes, {entry.get('size_bytes')} recorded")
        try:
            data = self.read(name)
        except (zipfile.BadZipFile, OSError) as err:
            self.tampered(name, layer, f"{type(err).__name__}: {err}")
        return data, _HASHER.submit(_sha256, data)

    def check_digest(self, name: str, entry: dict[str, Any], layer: str, digest: Future[str]) -> None:
        """Raise FLD006 when the member's sha256 is not the one recorded."""
        current = digest.result()
        if current != entry.get("sha256"):
            self.tampered(
                name, layer, f"sha256 {current[:12]}..., {str(entry.get('sha256'))[:12]}... recorded"
            )

    def tampered(self, name: str, layer: str, detail: str) -> None:
        raise FileFormatError(
            f"file {name!r} changed since the model was saved ({detail})",
            path=self.path,
            layer=layer,
            hint=_VERIFY_HINT,
            code="FLD006",
        )


def write_member(folder: Path, name: str, data: Any) -> None:
    """Write one member file and flush it to disk."""
    with open(folder / name, "wb") as handle:
        handle.write(memoryview(data))
        handle.flush()
        os.fsync(handle.fileno())


def _remove_stale(dest: Path) -> None:
    removed = 0
    for leftover in dest.parent.glob(f".{dest.name[:40]}.*{_TMP_MARK}"):
        pid = leftover.name[len(dest.name[:40]) + 2 :].split(".")[0]
        if leftover.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
            removed += 1
    if removed:
        warnings.warn(
            RepairWarning(
                f"{dest}: removed {removed} temporary folder(s) left by an interrupted earlier save; "
                "the model itself was not touched by it",
                code="WRT101",
            ),
            stacklevel=4,
        )


def _is_folder_model(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("format") == FORMAT_NAME
    except (OSError, ValueError, AttributeError):
        return False


def _exchange(tmp: Path, dest: Path) -> bool:
    """Swap two folders atomically (Linux ``renameat2``); return False where it is not available."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(tmp), at_fdcwd, os.fsencode(dest), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(dest))


def check_destination(dest: Path) -> None:
    """Refuse to replace anything at ``dest`` but a folder model or an empty folder (FLD010)."""
    if dest.is_file() or (dest.is_dir() and any(dest.iterdir()) and not _is_folder_model(dest)):
        what = "a file" if dest.is_file() else "a folder that is not a cimkit folder model"
        raise CimkitIOError(
            f"cannot save the model here: the destination is {what}, which would be lost",
            path=dest,
            hint="choose a new folder name (e.g. city.cimkit) or remove the folder first.",
            code="FLD010",
        )


@contextlib.contextmanager
def atomic_folder(dest: Path, verify: Callable[[Path], str | None]) -> Iterator[Path]:
    """Yield a temporary sibling folder; verify it and put it in place of ``dest`` atomically."""
    from cimkit._atomic import _classify, _error, _fsync_folder

    check_destination(dest)
    tmp: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(dest)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{dest.name[:40]}.{os.getpid()}.", suffix=_TMP_MARK, dir=dest.parent)
        )
        yield tmp
        _fsync_folder(tmp)
        problem = verify(tmp)
        if problem:
            raise _error("WRT006", f"the model written does not read back complete: {problem}", dest)
        if not dest.exists():
            os.rename(tmp, dest)
        elif not _exchange(tmp, dest):
            old = tmp.with_name(tmp.name + ".old" + _TMP_MARK)
            os.rename(dest, old)
            os.rename(tmp, dest)
            tmp = old
        _fsync_folder(dest.parent)
    except CimkitError:
        raise
    except BaseException as err:
        typed = _classify(err, dest) if isinstance(err, Exception) else None
        if typed is None:
            raise
        raise typed from err
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
