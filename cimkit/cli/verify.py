"""``cimkit verify PATH``: re-hash a saved model's tables and sources, or a convert batch's outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["run_verify"]

#: Statuses that make ``cimkit verify`` exit with 1: a changed item, or a stored table / output gone.
_FAILING = ("mismatch",)


def _failed(table: pd.DataFrame) -> pd.Series:
    lost = (table["status"] == "missing") & (table["kind"] != "source")
    return table["status"].isin(_FAILING) | lost


def run_verify(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Verify a saved city model (``.gpkg``) or the output folder / report of ``cimkit convert``.

    Parameters
    ----------
    path
        A GeoPackage written by ``CityModel.to_file``; a folder model (``city.cimkit`` or its
        ``.zip``); or a ``cimkit convert`` output folder or its ``convert-report.json``.

    Returns
    -------
    tuple of (str, int)
        The table to print (one line per item: kind, status, item, layer, recorded and current
        sha256 prefixes) with a closing count, and the exit code: 1 when an item changed since
        it was recorded, or a stored table or an output is missing; else 0 (a missing source
        file is reported, not counted as a failure).

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_parcels
    >>> from cimkit.model import CityModel
    >>> model = CityModel(2154)
    >>> _ = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
    >>> text, code = run_verify(model.to_file(Path(tempfile.mkdtemp()) / "city.gpkg"))
    >>> print(text.splitlines()[-1]), code
    3 item(s): 3 ok, 0 mismatch, 0 missing, 0 unrecorded
    (None, 0)
    """
    from cimkit.io.folder import _is_folder_path, check_folder_model
    from cimkit.io.integrity import check_convert_report, check_model_file

    p = Path(path)
    if _is_folder_path(p) and not (p.is_dir() and not (p / "manifest.json").is_file()):
        table = check_folder_model(p)
    elif p.is_dir() or p.suffix.lower() == ".json":
        table = check_convert_report(p)
    else:
        table = check_model_file(p)
    lines = [f"{'kind':<7} {'status':<10} {'recorded':<12} {'current':<12} item"]
    table = table.astype(object).where(table.notna(), None)
    for row in table.itertuples(index=False):
        where = f" (layer {row.layer})" if row.layer and row.layer != row.item else ""
        lines.append(
            f"{row.kind:<7} {row.status:<10} {(row.recorded_sha256 or '-')[:12]:<12} "
            f"{(row.current_sha256 or '-')[:12]:<12} {row.item}{where}"
        )
        if row.status != "ok" and row.kind != "layer":
            lines.append(f"{'':<44}{row.path}")
    counts = table["status"].value_counts()
    lines.append(
        f"{len(table)} item(s): "
        + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("ok", "mismatch", "missing", "unrecorded"))
    )
    return "\n".join(lines), int(bool(_failed(table).any()))
