"""``cimkit convert ... --to postgresql://...``: a batch into one PostGIS schema, updated in place.

Every input file is read as ``cimkit convert`` reads it (IFC files in a sandboxed child process);
the layers of the same name are put together (all IFC buildings form ``buildings``) in one CRS
(``--crs``, else the first file's) and saved with :func:`cimkit.io.postgis.write_postgis`, which
rewrites only the rows that changed: re-running after one IFC file changed rewrites that
building's rows, and a deleted file's rows go away. A file that fails is reported and left out.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cimkit import provenance as prov
from cimkit.cli._convert_formats import read_input
from cimkit.errors import PlacementError, ValidationError

if TYPE_CHECKING:
    from cimkit.cli.convert import ConvertReport

__all__ = ["run_convert_postgis"]


def run_convert_postgis(
    inputs: Sequence[str | os.PathLike[str]],
    dsn: str,
    *,
    crs: str | None = None,
    timeout_s: float | None = None,
) -> ConvertReport:
    """Convert every file under ``inputs`` into the PostGIS schema named by ``dsn``.

    Parameters
    ----------
    inputs
        Files and folders (searched recursively).
    dsn
        ``postgresql://user@host:5432/db?schema=city``.
    crs
        The target CRS; by default the first file's.
    timeout_s
        Time limit of an IFC file's child process, in seconds.

    Returns
    -------
    ConvertReport
        One record per file (``output`` is the DSN without password); ``layers`` holds the rows
        the file gave to each layer. The rows inserted, rewritten, deleted and unchanged per
        table are printed.

    Examples
    --------
    >>> run_convert_postgis([], "postgresql://nobody@127.0.0.1:1/none")
    Traceback (most recent call last):
    ...
    cimkit.errors.ValidationError: no input file to convert ...
    """
    import geopandas as gpd
    import pandas as pd

    from cimkit.cli import convert as _convert
    from cimkit.io.postgis import write_postgis

    found = _convert.discover_inputs(inputs)
    if not found:
        raise ValidationError("no input file to convert (IFC or vector files)", hint="check the inputs.")
    where = _redacted(dsn)
    report = _convert.ConvertReport()
    by_layer: dict[str, list[Any]] = {}
    sources: dict[str, list[Path]] = {}
    for src, _ in found:
        started = time.perf_counter()
        record: dict[str, Any] = {"input": str(src), "output": where, "format": "postgis", "crs": crs}
        try:
            record["sha256"] = prov.compute_sha256(src)
            layers = read_input(src, crs=crs, timeout_s=timeout_s)
            for name, frame in layers.items():
                if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
                    crs = crs or frame.crs.to_string()
                    frame = frame.to_crs(crs)
                by_layer.setdefault(name, []).append(frame)
                sources.setdefault(name, []).append(src)
            record.update(status="ok", layers={k: len(v) for k, v in layers.items()})
        except Exception as err:  # a batch never stops on one file
            record.update(
                status="failed",
                error_type=type(err).__name__,
                code=getattr(err, "code", "UNTYPED"),
                error=str(err).splitlines()[0][:500],
                traceback=traceback.format_exc(limit=3),
            )
            if isinstance(err, PlacementError):
                record.update(check=err.check, hint=err.hint)
        record["seconds"] = round(time.perf_counter() - started, 3)
        report.records.append(record)
    if crs is None:
        raise ValidationError(
            "no spatial layer with a CRS was read; the database needs one CRS", hint="pass --crs EPSG:...."
        )
    merged = {name: pd.concat(frames) if len(frames) > 1 else frames[0] for name, frames in by_layer.items()}
    records = {name: prov.record_for_files(paths, reader="cimkit convert") for name, paths in sources.items()}
    tables = write_postgis(dsn, crs=crs, name="convert", layers=merged, records=records)
    print(report.summary())
    for table, counts in tables.items():
        print(f"  {table}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return report


def _redacted(dsn: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    user, at, host = parts.netloc.rpartition("@")
    if at and ":" in user:
        return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))
    return dsn
