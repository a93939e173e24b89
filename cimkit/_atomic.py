"""Atomic file writes: write beside the destination, fsync, then rename over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the destination's folder; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed and the
    previous file at ``path``, if any, is left untouched. The rename is atomic on POSIX
    because both names are in the same folder.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.",
        suffix=suffix if suffix is not None else f".tmp{dest.suffix}",
        dir=dest.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let the writer create it (GDAL refuses to overwrite some formats)
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        for leftover in (tmp, *tmp.parent.glob(tmp.name + "*")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
