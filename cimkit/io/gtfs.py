"""GTFS feeds: stops, routes, trips, stop times and service calendars as pandas tables.

:func:`read_gtfs` reads a GTFS "static" feed (General Transit Feed Specification reference,
https://gtfs.org/schedule/reference/) from a ``.zip`` file or a folder of ``.txt`` files.

Tables read: ``stops``, ``routes``, ``trips``, ``stop_times`` (required) and ``calendar``,
``calendar_dates`` (at least one of the two is required). Identifiers are kept as strings.

Times
-----
GTFS times are ``H:MM:SS`` counted from "noon minus 12 h" of the service day, and may exceed
``24:00:00`` for trips that run past midnight (``25:10:00`` is 01:10 the next morning, on the
previous day's service). ``stop_times`` gets ``arrival_s`` / ``departure_s`` columns: seconds
since the start of the service day (``25:10:00`` → 90 600), never wrapped. Empty times of
intermediate stops (non-timepoints) are interpolated linearly along the trip by stop order
(a warning and a provenance step say how many); a trip whose first or last time is missing is
an error.

Service days
------------
With ``date=``, :attr:`GtfsFeed.active_service_ids` holds the services running that day:
``calendar`` rows whose weekday flag is 1 and whose ``start_date``–``end_date`` range holds the
date, plus ``calendar_dates`` exceptions of type 1 (added), minus those of type 2 (removed).
:meth:`GtfsFeed.service_ids` computes this for any other date.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit.errors import FileFormatError, ValidationError
from cimkit.io._gtfs_tables import (
    _WEEKDAYS,
    REQUIRED,
    GtfsSource,
    check_unique,
    interpolate_times,
    parse_dates,
    parse_numbers,
)
from cimkit.provenance import Provenance, attach, record_for_files

__all__ = ["GtfsFeed", "normalise_date", "read_gtfs"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class GtfsFeed:
    """A GTFS feed's tables (pandas DataFrames, identifiers as strings).

    Attributes
    ----------
    stops, routes, trips, stop_times
        The GTFS tables. ``stops`` has float ``stop_lat`` / ``stop_lon`` (WGS84 degrees);
        ``stop_times`` is sorted by ``trip_id`` and ``stop_sequence`` (int) and has
        ``arrival_s`` / ``departure_s`` (int64 seconds since the start of the service day,
        past 86 400 after midnight).
    calendar, calendar_dates
        Service calendars (empty DataFrames with the standard columns when the file is absent);
        dates as :class:`datetime.date`.
    date
        The date given to :func:`read_gtfs`, or None.
    active_service_ids
        Services running on ``date`` (empty when no date was given).
    path
        Where the feed was read from.
    provenance
        How the feed was read (also attached to ``stops.attrs``).

    Examples
    --------
    Feeds come from :func:`read_gtfs`; the tables can also be given directly:

    >>> import pandas as pd
    >>> week = {day: [1] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    >>> calendar = pd.DataFrame({"service_id": ["SEMAINE"], **week, "saturday": [0], "sunday": [0],
    ...                          "start_date": [dt.date(2024, 1, 1)], "end_date": [dt.date(2024, 12, 31)]})
    >>> stops = pd.DataFrame({"stop_id": ["GARE"], "stop_lat": [48.6], "stop_lon": [2.3]})
    >>> empty = pd.DataFrame()
    >>> feed = GtfsFeed(stops=stops, routes=empty, trips=empty, stop_times=empty, calendar=calendar,
    ...                 calendar_dates=pd.DataFrame(columns=["service_id", "date", "exception_type"]))
    >>> sorted(feed.service_ids("2024-03-05")), sorted(feed.service_ids("2024-03-09"))
    (['SEMAINE'], [])
    >>> feed.stops_gdf().crs.to_epsg()
    4326
    """

    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    calendar: pd.DataFrame
    calendar_dates: pd.DataFrame
    date: dt.date | None = None
    active_service_ids: frozenset[str] = frozenset()
    path: str | None = None
    provenance: Provenance | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        """Summarise the feed: counts of routes, stops, trips, stop times and active services."""
        return (
            f"GtfsFeed({len(self.routes)} routes, {len(self.stops)} stops, {len(self.trips)} trips, "
            f"{len(self.stop_times)} stop_times, date={self.date}, "
            f"{len(self.active_service_ids)} active services)"
        )

    def stops_gdf(self) -> gpd.GeoDataFrame:
        r"""Return the stops as points (EPSG:4326), indexed by ``stop_id``.

        Returns
        -------
        geopandas.GeoDataFrame
            The ``stops`` columns and one point (``stop_lon``, ``stop_lat``) per stop.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tables = {"stops": "stop_id,stop_lat,stop_lon\nGARE,48.600,2.300\nECOLE,48.610,2.310",
        ...           "routes": "route_id\nL1", "trips": "route_id,service_id,trip_id\nL1,SEMAINE,T1",
        ...           "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        ...           "T1,08:00:00,08:00:00,GARE,1\nT1,08:12:00,08:12:00,ECOLE,2",
        ...           "calendar_dates": "service_id,date,exception_type\nSEMAINE,20240305,1"}
        >>> _ = [(folder / f"{name}.txt").write_text(text + "\n") for name, text in tables.items()]
        >>> stops = read_gtfs(folder).stops_gdf()
        >>> stops.index.tolist(), stops.crs.to_epsg(), stops.geometry.iloc[1].coords[0]
        (['GARE', 'ECOLE'], 4326, (2.31, 48.61))
        """
        s = self.stops.set_index("stop_id", drop=False)
        s.index.name = "stop_id"
        geom = gpd.points_from_xy(s["stop_lon"], s["stop_lat"], crs="EPSG:4326")
        return gpd.GeoDataFrame(s, geometry=geom, crs="EPSG:4326")

    def service_ids(self, date: Any) -> frozenset[str]:
        r"""Return the service ids running on ``date``.

        The calendar rows whose weekday flag and date range hold the date, then the
        ``calendar_dates`` exceptions of that day (1 = added, 2 = removed).

        Parameters
        ----------
        date
            A date, ``"YYYY-MM-DD"`` or ``"YYYYMMDD"`` (see :func:`normalise_date`).

        Returns
        -------
        frozenset of str

        Examples
        --------
        A weekday service, cancelled on Wednesday 1 May and replaced by a holiday service:

        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tables = {"stops": "stop_id,stop_lat,stop_lon\nGARE,48.6,2.3", "routes": "route_id\nL1",
        ...           "trips": "route_id,service_id,trip_id\nL1,SEMAINE,T1\nL1,FETE,T2",
        ...           "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        ...           "T1,08:00:00,08:00:00,GARE,1\nT2,10:00:00,10:00:00,GARE,1",
        ...           "calendar": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        ...           "start_date,end_date\nSEMAINE,1,1,1,1,1,0,0,20240101,20241231",
        ...           "calendar_dates": "service_id,date,exception_type\nSEMAINE,20240501,2\nFETE,20240501,1"}
        >>> _ = [(folder / f"{name}.txt").write_text(text + "\n") for name, text in tables.items()]
        >>> feed = read_gtfs(folder)
        >>> [sorted(feed.service_ids(day)) for day in ("2024-04-30", "20240501", "2024-05-04")]
        [['SEMAINE'], ['FETE'], []]
        """
        day = normalise_date(date)
        cal = self.calendar
        ids: set[str] = set()
        if len(cal):
            on = (cal[_WEEKDAYS[day.weekday()]] == 1) & (cal["start_date"] <= day) & (cal["end_date"] >= day)
            ids.update(cal.loc[on, "service_id"].astype(str))
        cd = self.calendar_dates
        if len(cd):
            today = cd[cd["date"] == day]
            ids.update(today.loc[today["exception_type"] == 1, "service_id"].astype(str))
            ids.difference_update(today.loc[today["exception_type"] == 2, "service_id"].astype(str))
        return frozenset(ids)

    def trips_on(self, date: Any) -> pd.DataFrame:
        r"""Trips whose service runs on ``date``.

        Parameters
        ----------
        date
            A date, ``"YYYY-MM-DD"`` or ``"YYYYMMDD"`` (see :meth:`service_ids`).

        Returns
        -------
        pandas.DataFrame
            The rows of ``trips`` whose ``service_id`` runs that day.

        Examples
        --------
        A school trip on Tuesday 5 March, a market trip on Saturday 9 March:

        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tables = {"stops": "stop_id,stop_lat,stop_lon\nGARE,48.6,2.3", "routes": "route_id\nL1",
        ...           "trips": "route_id,service_id,trip_id\nL1,SEMAINE,ECOLE-0800\nL1,SAMEDI,MARCHE-0900",
        ...           "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        ...           "ECOLE-0800,08:00:00,08:00:00,GARE,1\nMARCHE-0900,09:00:00,09:00:00,GARE,1",
        ...           "calendar_dates": "service_id,date,exception_type\nSEMAINE,20240305,1\nSAMEDI,20240309,1"}
        >>> _ = [(folder / f"{name}.txt").write_text(text + "\n") for name, text in tables.items()]
        >>> feed = read_gtfs(folder)
        >>> [feed.trips_on(day)["trip_id"].tolist() for day in ("20240305", "20240309", "20240310")]
        [['ECOLE-0800'], ['MARCHE-0900'], []]
        """
        ids = self.service_ids(date)
        return self.trips[self.trips["service_id"].isin(ids)]


def normalise_date(value: Any) -> dt.date:
    """Read a service date given as a date, a datetime, ``"YYYY-MM-DD"`` or ``"YYYYMMDD"``.

    Parameters
    ----------
    value
        A :class:`datetime.date`, :class:`datetime.datetime`, :class:`pandas.Timestamp` or a
        string in ISO (``2024-03-05``) or GTFS (``20240305``) form.

    Returns
    -------
    datetime.date

    Raises
    ------
    ValidationError
        When no date can be read from ``value``.

    Examples
    --------
    >>> normalise_date("20240305"), normalise_date("2024-03-05")
    (datetime.date(2024, 3, 5), datetime.date(2024, 3, 5))
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise ValidationError(
        f"cannot read a date from {value!r}",
        hint="give a datetime.date or a 'YYYY-MM-DD' string.",
    )


def _parse_gtfs_time(values: pd.Series, *, path: Any = None, layer: str = "stop_times.txt") -> np.ndarray:
    """Seconds since the start of the service day for ``H:MM:SS`` strings (hours may pass 24).

    Empty strings give NaN. The Series index must be the 0-based data row number (the file line
    is ``index + 2``), used to name the line of an invalid value.
    """
    text = values.fillna("").astype(str).str.strip()
    empty = text == ""
    parts = text.str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    bad = parts[0].isna() & ~empty
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        label = values.index[row]
        raise FileFormatError(
            f"invalid time {text.iloc[row]!r} in column {values.name!r}",
            path=path,
            layer=layer,
            code="GTF003",
            line=int(label) + 2,
            hint="GTFS times are H:MM:SS or HH:MM:SS (hours may exceed 24 after midnight).",
        )
    secs = parts.astype("float64")
    return (secs[0] * 3600 + secs[1] * 60 + secs[2]).to_numpy()


def _read_tables(src_path: Path) -> tuple[Provenance, dict[str, pd.DataFrame]]:
    """Read the raw tables (strings) of a feed and start its provenance record."""
    src = GtfsSource(src_path)
    try:
        record = record_for_files(
            [src_path] if src_path.is_file() else [src_path / n for n in sorted(src.names)],
            reader="cimkit.io.gtfs.read_gtfs",
            libraries=["pandas"],
        )
        tables = {name: src.read(name) for name in ("stops", "routes", "trips", "stop_times")}
        if not (src.has("calendar") or src.has("calendar_dates")):
            raise FileFormatError(
                "the feed has neither calendar.txt nor calendar_dates.txt",
                path=src_path,
                layer="calendar.txt",
                code="GTF001",
                hint="a GTFS feed needs calendar.txt and/or calendar_dates.txt to know when trips run.",
            )
        for name in ("calendar", "calendar_dates"):
            tables[name] = src.read(name) if src.has(name) else pd.DataFrame(columns=list(REQUIRED[name]))
    finally:
        src.close()
    return record, tables


def _prepare_stops(stops: pd.DataFrame, path: Path) -> None:
    for col in ("stop_lat", "stop_lon"):
        stops[col] = parse_numbers(stops, col, path=path, layer="stops.txt")
    if "location_type" in stops.columns:
        lt = stops["location_type"].str.strip().replace("", "0")
        stops["location_type"] = pd.to_numeric(lt, errors="coerce").fillna(0).astype("int64")
    check_unique(stops, "stop_id", path=path, layer="stops.txt")


def _prepare_stop_times(
    st: pd.DataFrame, stops: pd.DataFrame, trips: pd.DataFrame, path: Path
) -> tuple[pd.DataFrame, int]:
    """Stop times with seconds, pickup/drop-off types, checked ids, sorted; and how many were interpolated."""
    st["stop_sequence"] = parse_numbers(st, "stop_sequence", path=path, layer="stop_times.txt", kind="int")
    st["arrival_s"] = _parse_gtfs_time(st["arrival_time"], path=path)
    st["departure_s"] = _parse_gtfs_time(st["departure_time"], path=path)
    for col in ("pickup_type", "drop_off_type"):
        if col in st.columns:
            st[col] = (
                pd.to_numeric(st[col].str.strip().replace("", "0"), errors="coerce").fillna(0).astype("int64")
            )
        else:
            st[col] = 0
    for col, table, known in (
        ("trip_id", "trips.txt", trips["trip_id"]),
        ("stop_id", "stops.txt", stops["stop_id"]),
    ):
        unknown = ~st[col].isin(known)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise FileFormatError(
                f"stop_times refers to {col} {st[col].iloc[row]!r}, which is not in {table} "
                f"({int(unknown.sum())} such rows)",
                path=path,
                layer="stop_times.txt",
                line=row + 2,
                entity=str(st[col].iloc[row]),
                code="GTF004",
                hint=f"every stop_times.{col} must appear in {table}.",
            )
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    n_filled = interpolate_times(st, path)
    return st.reset_index(drop=True), n_filled


def _prepare_calendars(calendar: pd.DataFrame, cdates: pd.DataFrame, path: Path) -> None:
    for col in _WEEKDAYS:
        calendar[col] = parse_numbers(calendar, col, path=path, layer="calendar.txt", kind="int")
    for col in ("start_date", "end_date"):
        calendar[col] = parse_dates(calendar, col, path=path, layer="calendar.txt")
    cdates["date"] = parse_dates(cdates, "date", path=path, layer="calendar_dates.txt")
    cdates["exception_type"] = parse_numbers(
        cdates, "exception_type", path=path, layer="calendar_dates.txt", kind="int"
    )


def read_gtfs(path: str | os.PathLike[str], *, date: Any = None) -> GtfsFeed:
    r"""Read a GTFS feed from a ``.zip`` file or a folder.

    Parameters
    ----------
    path
        The feed: a zip of ``.txt`` files (possibly inside one folder) or a folder.
    date
        Optional service date (``datetime.date`` or ``"YYYY-MM-DD"``); the services running that
        day are resolved into :attr:`GtfsFeed.active_service_ids`.

    Returns
    -------
    GtfsFeed
        Tables with string ids, ``stop_times.arrival_s`` / ``departure_s`` in seconds since the
        service day's start (past 86 400 after midnight), dates as ``datetime.date``.

    Raises
    ------
    CimkitIOError
        When the path does not exist.
    FileFormatError
        With the table and the file line: a required table missing (``GTF001``: stops.txt,
        routes.txt, trips.txt, stop_times.txt, and calendar.txt or calendar_dates.txt), a
        required column missing or a table that is not CSV (``GTF002``), a value that cannot be
        read (``GTF003``), a stop time naming a trip or stop that is not defined (``GTF004``:
        refused, never dropped, since a trip with a hole would give wrong travel times), a
        duplicated id (``GTF005``), a path that is neither a zip nor a folder (``GTF006``); an
        unsafe or corrupt zip (``ARC001``, ``ARC002``).
    ResourceLimitError
        The zip passes ``max_input_mb``, or inflates past ``max_decompressed_mb`` or
        ``max_compression_ratio`` (a zip bomb: ``LIM003`` / ``LIM004``), counted while the
        tables are read, never inflated in memory first.

    Examples
    --------
    A one-trip feed written to a folder: a bus from the station to the school on weekdays.

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> tables = {
    ...     "stops": "stop_id,stop_name,stop_lat,stop_lon\nGARE,Gare,48.600,2.300\nECOLE,Ecole,48.610,2.310",
    ...     "routes": "route_id,route_short_name,route_type\nL1,1,3",
    ...     "trips": "route_id,service_id,trip_id\nL1,SEMAINE,L1-0800",
    ...     "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    ...     "L1-0800,08:00:00,08:00:00,GARE,1\nL1-0800,08:12:00,08:12:00,ECOLE,2",
    ...     "calendar": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    ...     "start_date,end_date\nSEMAINE,1,1,1,1,1,0,0,20240101,20241231",
    ... }
    >>> for name, text in tables.items():
    ...     _ = (Path(folder.name) / f"{name}.txt").write_text(text + "\n")
    >>> feed = read_gtfs(folder.name, date="2024-03-05")
    >>> feed
    GtfsFeed(1 routes, 2 stops, 1 trips, 2 stop_times, date=2024-03-05, 1 active services)
    >>> feed.stop_times["arrival_s"].tolist(), sorted(feed.service_ids("2024-03-09"))
    ([28800, 29520], [])
    >>> folder.cleanup()
    """
    src_path = Path(path)
    record, tables = _read_tables(src_path)
    stops, trips = tables["stops"], tables["trips"]
    _prepare_stops(stops, src_path)
    check_unique(trips, "trip_id", path=src_path, layer="trips.txt")
    st, n_filled = _prepare_stop_times(tables["stop_times"], stops, trips, src_path)
    record.add_step(
        "read", "GTFS tables read", stops=len(stops), routes=len(tables["routes"]), trips=len(trips)
    )
    if n_filled:
        record.add_step("interpolate", "empty stop times interpolated along trips", count=n_filled)
    _prepare_calendars(tables["calendar"], tables["calendar_dates"], src_path)
    feed = GtfsFeed(
        stops=stops,
        routes=tables["routes"],
        trips=trips,
        stop_times=st,
        calendar=tables["calendar"],
        calendar_dates=tables["calendar_dates"],
        path=os.fspath(src_path),
        provenance=record,
    )
    if date is not None:
        feed.date = normalise_date(date)
        feed.active_service_ids = feed.service_ids(feed.date)
        record.add_step(
            "service_day",
            "services running on the date resolved",
            date=feed.date.isoformat(),
            services=len(feed.active_service_ids),
        )
    attach(feed.stops, record)
    logger.info("read %r", feed)
    return feed
