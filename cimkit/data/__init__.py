"""Reference tables bundled with cimkit, each with its published source (see ``README.md`` here).

Analyses never open files themselves: every bundled table is located and read by a loader in
this package (``cimkit.data.<topic>``), which validates it and names the file in its errors.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import cast

__all__ = ["get_table_path"]


def get_table_path(name: str) -> Path:
    """Return the path of the bundled reference table ``name`` (a file name in ``cimkit/data``).

    Examples
    --------
    >>> from cimkit.data import get_table_path
    >>> get_table_path("re2020_thresholds.csv").name
    're2020_thresholds.csv'
    """
    path = Path(os.fspath(cast("os.PathLike[str]", resources.files("cimkit") / "data" / name)))
    if not path.is_file():
        from cimkit.errors import DataTableError

        raise DataTableError(
            f"no bundled reference table named {name!r}.",
            path=path,
            hint="reinstall cimkit, or give the table's path explicitly.",
        )
    return path
