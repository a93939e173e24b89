"""Low-level reading of GTFS tables: the zip or folder source, typed columns, interpolated times.

Private to :mod:`cimkit.io.gtfs`; every error names the file and the table.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cimkit.errors import CimkitIOError, FileFormatError, RepairWarning
from cimkit.io._archive import check_input_size, detect_compression, open_zip, read_zip_member

logger = logging.getLogger("cimkit.io.gtfs")

#: Required columns of each table (GTFS schedule reference; conditionally required fields
#: that cimkit does not use are left out).
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REQUIRED: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id", "stop_lat", "stop_lon"),
    "routes": ("route_id",),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar": ("service_id", *_WEEKDAYS, "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
}


class GtfsSource:
    """Reads the ``*.txt`` tables of a zip file or folder.

    A zip goes through :mod:`cimkit.io._archive`: its member names and declared sizes are
    checked when it is opened (zip slip, ``max_decompressed_mb``, ``max_compression_ratio``) and
    the bytes of each table are counted against the same limits while they are inflated, so a
    zip bomb raises :class:`~cimkit.errors.ResourceLimitError` before it fills the memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.is_zip = False
        self.names: dict[str, str] = {}
        if path.is_dir():
            for p in path.iterdir():
                if p.is_file() and p.suffix == ".txt":
                    self.names[p.name] = str(p)
        elif path.is_file():
            if detect_compression(path) != "zip":
                raise FileFormatError(
                    "not a zip file (nor a folder of .txt tables)",
                    path=path,
                    code="GTF006",
                    hint="give a GTFS .zip file or a folder of .txt files.",
                )
            self.is_zip = True
            with open_zip(path) as archive:
                members = archive.namelist()
            for name in members:
                base = name.rsplit("/", 1)[-1]
                if base.endswith(".txt") and base not in self.names:
                    self.names[base] = name
        else:
            raise CimkitIOError("no such GTFS file or folder", path=path, hint="check the path.")

    def close(self) -> None:
        """Nothing stays open between reads (kept for callers that close the source)."""

    def has(self, table: str) -> bool:
        return f"{table}.txt" in self.names

    def read(self, table: str) -> pd.DataFrame:
        name = f"{table}.txt"
        if name not in self.names:
            raise FileFormatError(
                f"the feed has no {name}",
                path=self.path,
                layer=name,
                code="GTF001",
                hint=f"a GTFS feed needs {name}; check that the zip holds the feed's .txt files.",
            )
        try:
            if self.is_zip:
                raw = read_zip_member(self.path, self.names[name])
            else:
                check_input_size(self.names[name], what=name)
                raw = Path(self.names[name]).read_bytes()
            df = pd.read_csv(
                io.BytesIO(raw),
                dtype=str,
                keep_default_na=False,
                na_values=[],
                encoding="utf-8-sig",
                skipinitialspace=True,
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise FileFormatError(
                f"cannot parse {name}: {exc}",
                path=self.path,
                layer=name,
                code="GTF002",
                hint="check the CSV syntax.",
            ) from exc
        df.columns = [c.strip() for c in df.columns]
        missing = [c for c in REQUIRED.get(table, ()) if c not in df.columns]
        if missing:
            raise FileFormatError(
                f"{name} lacks required column(s) {missing}",
                path=self.path,
                layer=name,
                code="GTF002",
                line=1,
                hint=f"{name} needs the columns {list(REQUIRED[table])}.",
            )
        return df


def parse_numbers(
    df: pd.DataFrame, column: str, *, path: Path, layer: str, kind: str = "float"
) -> np.ndarray:
    values = pd.to_numeric(df[column].str.strip(), errors="coerce")
    bad = values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise FileFormatError(
            f"{column}={df[column].iloc[row]!r} is not a number",
            path=path,
            layer=layer,
            code="GTF003",
            line=row + 2,
            hint=f"{column} must be a number.",
        )
    return values.to_numpy(dtype="int64" if kind == "int" else "float64")


def parse_dates(df: pd.DataFrame, column: str, *, path: Path, layer: str) -> pd.Series:
    parsed = pd.to_datetime(df[column].str.strip(), format="%Y%m%d", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise FileFormatError(
            f"{column}={df[column].iloc[row]!r} is not a YYYYMMDD date",
            path=path,
            layer=layer,
            code="GTF003",
            line=row + 2,
            hint="GTFS dates are written YYYYMMDD.",
        )
    return parsed.dt.date


def interpolate_times(st: pd.DataFrame, path: Path) -> int:
    """Fill empty arrival/departure times of intermediate stops; returns how many were filled."""
    arr, dep = st["arrival_s"].to_numpy(), st["departure_s"].to_numpy()
    # a stop with only one of the two times uses it for both (GTFS allows it)
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    missing = np.isnan(arr)
    n = int(missing.sum())
    if n:
        trip = st["trip_id"].to_numpy()
        first = np.r_[True, trip[1:] != trip[:-1]]
        last = np.r_[trip[1:] != trip[:-1], True]
        ends = missing & (first | last)
        if ends.any():
            row = int(np.flatnonzero(ends)[0])
            raise FileFormatError(
                f"trip {trip[row]!r} has no time at its first or last stop",
                path=path,
                layer="stop_times.txt",
                code="GTF003",
                line=int(st.index[row]) + 2,
                entity=str(trip[row]),
                hint="the first and last stop of every trip must have arrival and departure times.",
            )
        # linear interpolation by position within the trip, between the surrounding timepoints
        pos = np.arange(len(arr), dtype="float64")
        known = ~missing
        filled = np.interp(pos, pos[known], arr[known])
        arr = np.where(missing, filled, arr)
        dep = np.where(missing, filled, dep)
        warnings.warn(
            RepairWarning(
                f"{path.name}: {n} stop times (of {len(arr)}) without arrival/departure were interpolated "
                "linearly along their trips (by stop order; recorded in the feed's provenance); add "
                "the times to stop_times.txt to use them instead",
                code="GTF101",
            ),
            stacklevel=4,
        )
    st["arrival_s"] = np.round(arr).astype("int64")
    st["departure_s"] = np.round(dep).astype("int64")
    return n


def check_unique(df: pd.DataFrame, column: str, *, path: Path, layer: str) -> None:
    duplicated = df[column].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise FileFormatError(
            f"duplicate {column} {df[column].iloc[row]!r}",
            path=path,
            layer=layer,
            code="GTF005",
            line=row + 2,
            hint=f"{column} must be unique.",
        )
