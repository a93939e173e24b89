"""Walk + public transport travel times on a GTFS feed (time-dependent RAPTOR).

:func:`compute_transit_travel_times` gives door-to-door minutes (origins x destinations) for a departure
date and time, usable as ``travel`` in every metric of :mod:`cimkit.analysis.accessibility`.

Model
-----
- **Timetable**: the trips whose service runs on ``date`` (GTFS ``calendar`` +
  ``calendar_dates``), plus the previous day's trips still running after midnight (their times
  past 24:00:00 shifted back by 24 h). Trips with the same stop sequence form a RAPTOR *route*;
  trips that overtake one another go to separate routes so that every route's trips are in
  first-in-first-out order. ``pickup_type = 1`` / ``drop_off_type = 1`` forbid boarding /
  alighting. Transfers at the same stop take no time; ``transfers.txt`` and frequencies
  (``frequencies.txt``) are not used.
- **Footpaths** between two distinct stops within ``transfer_distance_m`` (straight line in a metric CRS,
  at ``walk_kmh``), or, with a ``network``, the network walking time (``walk_time_min`` column,
  plus a straight-line walk from each stop to its nearest node) when it is at most
  ``transfer_distance_m`` at ``walk_kmh``. One footpath may follow each trip (footpaths are not chained).
- **Access / egress**: from an origin (point, or polygon centroid) to every stop within
  ``max_walk_distance_m`` (straight line, or network walking time within the same budget), and from
  stops reached *by a trip* to the destination the same way.
- **Pure walking** is always an alternative: the result is ``min(walk, access + transit +
  egress)``, so transit never makes a trip longer than walking. Walking distance is not capped.
- **Time window**: with ``time_window_min = W > 0`` the result is the mean over the W departures
  ``departure_time + 0, 1, ..., W-1`` minutes (each one a full query, waiting time at the first
  stop included), as in cumulative-opportunity studies that average over a departure window
  (e.g. Owen & Levinson 2015, Transportation Research Part A 74, 110-122).

Algorithm
---------
RAPTOR (Delling, Pajor & Werneck 2015, "Round-Based Public Transit Routing", Transportation
Science 49(3), 591-604): round ``k`` scans every route serving a stop improved in round
``k - 1``, boarding at each stop the earliest trip catchable with the round ``k - 1`` label,
then relaxes footpaths from the stops improved by a trip. ``max_transfers`` bounds the rounds
to ``max_transfers + 1`` trips. Labels kept per stop: earliest arrival by any means (used to
board) and earliest arrival by a trip (used for footpaths and egress). The kernel is in
:mod:`._raptor` (numba, parallel over origins).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy.spatial import cKDTree

from cimkit.analysis.accessibility._timetable import (
    Timetable,
    _day_trips,
    _footpaths,
    _metric_crs,
    _network_walk,
    _route_arrays,
    _routes,
    _speed_m_s,
)
from cimkit.errors import InputError, MissingCRSError, ValidationError
from cimkit.io.gtfs import GtfsFeed, normalise_date
from cimkit.network.graph import Network

__all__ = ["build_timetable", "compute_earliest_arrivals", "compute_transit_travel_times"]

logger = logging.getLogger(__name__)


def build_timetable(
    feed: GtfsFeed,
    *,
    date: Any,
    network: Network | None = None,
    walk_kmh: float = 4.8,
    transfer_distance_m: float = 250.0,
    crs: Any = None,
) -> Timetable:
    r"""RAPTOR arrays for the trips running on ``date`` and the footpaths between stops.

    Parameters
    ----------
    feed
        A feed from :func:`cimkit.io.gtfs.read_gtfs`.
    date
        Service date (``datetime.date`` or ``"YYYY-MM-DD"``).
    network
        Optional walking network (``walk_time_min`` column, metric CRS) for the footpaths.
    walk_kmh
        Walking speed of the straight-line legs, km/h.
    transfer_distance_m
        Footpath radius between stops, metres (with a network: walking-time budget
        ``transfer_distance_m / walk_kmh``).
    crs
        Metric CRS for straight-line distances (default: the network's, else the stops' UTM zone).

    Returns
    -------
    Timetable
        The routes, trips and footpaths as flat arrays (an internal container read by
        :func:`compute_earliest_arrivals`); ``footpaths()`` lists the footpaths as a table.

    Examples
    --------
    Two stops 1.2 km apart and one bus at 08:00 (see :func:`compute_transit_travel_times`):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from cimkit.io.gtfs import read_gtfs
    >>> folder = Path(tempfile.mkdtemp())
    >>> tables = {
    ...     "stops.txt": "stop_id,stop_lat,stop_lon\nGARE,48.600,2.300\nMAIRIE,48.6108,2.300\n",
    ...     "routes.txt": "route_id,route_type\nL1,3\n",
    ...     "trips.txt": "route_id,service_id,trip_id\nL1,ALL,T1\n",
    ...     "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    ...                       "T1,08:00:00,08:00:00,GARE,1\nT1,08:03:00,08:03:00,MAIRIE,2\n",
    ...     "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    ...                     "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20241231\n",
    ... }
    >>> for name, text in tables.items():
    ...     _ = (folder / name).write_text(text)
    >>> feed = read_gtfs(folder)
    >>> from cimkit.analysis.accessibility.transit import build_timetable
    >>> timetable = build_timetable(feed, date="2024-03-05", crs="EPSG:2154")
    >>> timetable.n_stops, timetable.n_routes, timetable.trip_ids, len(timetable.footpaths())
    (2, 1, ['T1'], 0)
    """
    day = normalise_date(date)
    speed = _speed_m_s(walk_kmh)
    mcrs = _metric_crs(feed, crs, network)
    stops = feed.stops_gdf().to_crs(mcrs)
    stop_ids = pd.Index(stops.index.astype(str), name="stop_id")
    xy = np.column_stack([stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy()])

    st = _day_trips(feed, day)
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    stop_idx = stop_ids.get_indexer(st["stop_id"].astype(str))
    trip_codes, trip_names = pd.factorize(st["trip_id"], sort=False)
    bounds = np.flatnonzero(np.r_[True, trip_codes[1:] != trip_codes[:-1], True])
    routes = _routes(
        stop_idx, bounds, st["arrival_s"].to_numpy("float64"), st["departure_s"].to_numpy("float64")
    )
    if not routes:
        logger.warning("no trips run on %s", day)
    arrays = _route_arrays(routes, st, bounds, pd.Index(trip_names), len(stop_ids))
    fp_ptr, fp_to, fp_w = _footpaths(
        xy, stops, transfer_distance_m=transfer_distance_m, speed=speed, network=network
    )
    tt = Timetable(
        stop_ids=stop_ids, xy=xy, crs=mcrs, date=day, fp_ptr=fp_ptr, fp_to=fp_to, fp_w=fp_w, **arrays
    )
    logger.info(
        "timetable %s: %d trips in %d routes, %d footpaths", day, len(tt.trip_ids), tt.n_routes, len(fp_to)
    )
    return tt


def _seconds(value: Any) -> float:
    """Seconds since the service day's start from 'HH:MM[:SS]' (hours may pass 24) or a time."""
    if isinstance(value, dt.time):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second
    if isinstance(value, str):
        parts = value.strip().split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
            h, m, s = (int(p) for p in [*parts, "0"][:3])
            if m < 60 and s < 60:
                return h * 3600.0 + m * 60.0 + s
    raise ValidationError(
        f"cannot read a departure time from {value!r}", hint="give 'HH:MM' or 'HH:MM:SS', or a datetime.time."
    )


def compute_earliest_arrivals(
    timetable: Timetable, origins: dict[str, float] | pd.Series, *, max_transfers: int = 3
) -> pd.DataFrame:
    r"""Earliest arrival at every stop from origin stops (RAPTOR).

    Parameters
    ----------
    timetable
        From :func:`build_timetable`.
    origins
        Departure time at each origin stop, seconds since the service day's start, keyed by
        ``stop_id`` (no footpath is taken from an origin stop before the first trip).
    max_transfers
        At most ``max_transfers + 1`` trips.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``stop_id``: ``arrival_s`` (earliest arrival by any means, footpaths
        included; the departure times at the origins) and ``trip_arrival_s`` (earliest arrival
        on board a trip); +inf when unreachable.

    Examples
    --------
    Two stops 1.2 km apart and one bus, GARE 08:00 → MAIRIE 08:03:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from cimkit.io.gtfs import read_gtfs
    >>> folder = Path(tempfile.mkdtemp())
    >>> tables = {
    ...     "stops.txt": "stop_id,stop_lat,stop_lon\nGARE,48.600,2.300\nMAIRIE,48.6108,2.300\n",
    ...     "routes.txt": "route_id,route_type\nL1,3\n",
    ...     "trips.txt": "route_id,service_id,trip_id\nL1,ALL,T1\n",
    ...     "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    ...                       "T1,08:00:00,08:00:00,GARE,1\nT1,08:03:00,08:03:00,MAIRIE,2\n",
    ...     "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    ...                     "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20241231\n",
    ... }
    >>> for name, text in tables.items():
    ...     _ = (folder / name).write_text(text)
    >>> feed = read_gtfs(folder)
    >>> from cimkit.analysis.accessibility.transit import build_timetable, compute_earliest_arrivals
    >>> timetable = build_timetable(feed, date="2024-03-05", crs="EPSG:2154")
    >>> arrivals = compute_earliest_arrivals(timetable, {"GARE": 7 * 3600 + 58 * 60})
    >>> float(arrivals.loc["MAIRIE", "arrival_s"]) == 8 * 3600 + 3 * 60  # 08:03
    True
    """
    from cimkit.analysis.accessibility import _raptor

    src = pd.Series(origins, dtype="float64")
    idx = timetable.stop_ids.get_indexer(src.index.astype(str))
    if (idx < 0).any():
        raise InputError(
            "unknown origin stop(s)", entity=list(src.index[idx < 0][:5]), hint="use the feed's stop_ids."
        )
    best = np.full(timetable.n_stops, np.inf)
    best_trip = np.full(timetable.n_stops, np.inf)
    _raptor.raptor_one(
        *timetable.arrays(), idx.astype(np.int64), src.to_numpy(), int(max_transfers) + 1, best, best_trip
    )
    return pd.DataFrame({"arrival_s": best, "trip_arrival_s": best_trip}, index=timetable.stop_ids)


def _points(gdf: Any, crs: CRS, what: str) -> gpd.GeoSeries:
    if not isinstance(gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        raise ValidationError(
            f"'{what}' must be a GeoDataFrame or GeoSeries; {type(gdf).__name__} was given."
        )
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if geoms.crs is None:
        raise MissingCRSError(f"the {what} have no CRS", hint=f"set the {what}' CRS (gdf.set_crs(...)).")
    if geoms.is_empty.any() or geoms.isna().any():
        bad = geoms.index[geoms.is_empty | geoms.isna()]
        raise InputError(f"some {what} have empty geometries", entity=list(bad[:5]), hint="drop them first.")
    geoms = geoms.to_crs(crs)
    not_point = geoms.geom_type != "Point"
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = geoms[not_point].centroid
    return geoms


def _walk_links(
    pts: gpd.GeoSeries,
    tt: Timetable,
    stops: gpd.GeoDataFrame,
    *,
    max_walk_distance_m: float,
    speed: float,
    network: Network | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (per point) of stops within walking reach and the walking seconds."""
    if network is None:
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        lists = cKDTree(tt.xy).query_ball_point(xy, max_walk_distance_m) if len(xy) else []
        ptr = np.zeros(len(xy) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        to = np.fromiter((s for x in lists for s in x), dtype=np.int64, count=int(ptr[-1]))
        src = np.repeat(np.arange(len(xy)), np.diff(ptr))
        w = np.hypot(*(xy[src] - tt.xy[to]).T) / speed if len(to) else np.empty(0)
        return ptr, to, w
    m = _network_walk(network, pts, stops, budget_m=max_walk_distance_m, speed=speed)
    i, j = np.nonzero(np.isfinite(m))
    ptr = np.zeros(len(pts) + 1, dtype=np.int64)
    np.add.at(ptr, i + 1, 1)
    return np.cumsum(ptr), j.astype(np.int64), m[i, j]


def _pure_walk(o: gpd.GeoSeries, d: gpd.GeoSeries, *, speed: float, network: Network | None) -> np.ndarray:
    """Return walking seconds, origins x destinations: straight lines, or on the network."""
    if network is not None:
        return _network_walk(network, o, d, budget_m=None, speed=speed)
    oxy = np.column_stack([o.x.to_numpy(), o.y.to_numpy()])
    dxy = np.column_stack([d.x.to_numpy(), d.y.to_numpy()])
    return np.hypot(oxy[:, None, 0] - dxy[None, :, 0], oxy[:, None, 1] - dxy[None, :, 1]) / speed


def _check_counts(
    max_walk_distance_m: float, transfer_distance_m: float, max_transfers: int, time_window_min: int
) -> None:
    if max_walk_distance_m < 0 or transfer_distance_m < 0:
        raise ValidationError("'max_walk_distance_m' and 'transfer_distance_m' must be >= 0.")
    if int(max_transfers) != max_transfers or max_transfers < 0:
        raise ValidationError(f"'max_transfers' must be an integer >= 0; {max_transfers!r} was given.")
    if int(time_window_min) != time_window_min or time_window_min < 0:
        raise ValidationError(f"'time_window_min' must be an integer >= 0; {time_window_min!r} was given.")


def compute_transit_travel_times(
    feed: GtfsFeed,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    date: Any,
    departure_time: str | dt.time,
    network: Network | None = None,
    walk_kmh: float = 4.8,
    max_walk_distance_m: float = 800.0,
    transfer_distance_m: float = 250.0,
    max_transfers: int = 3,
    time_window_min: int = 0,
    crs: Any = None,
) -> pd.DataFrame:
    r"""Door-to-door walk + public transport minutes, origins x destinations.

    Parameters
    ----------
    feed
        A GTFS feed from :func:`cimkit.io.gtfs.read_gtfs`.
    origins, destinations
        Points or polygons (centroids are used), any CRS.
    date
        Travel date (``datetime.date`` or ``"YYYY-MM-DD"``): selects the services running.
    departure_time
        Departure from the origins, ``"HH:MM"`` / ``"HH:MM:SS"`` local feed time, or a
        ``datetime.time``.
    network
        Optional walking network (``walk_time_min`` minutes, metric CRS): walking legs, footpaths
        and the pure-walk alternative then use network times (straight-line otherwise).
    walk_kmh
        Walking speed of straight-line legs, km/h (default 4.8).
    max_walk_distance_m
        Access / egress radius around origins and destinations, metres (with a network: a
        walking-time budget of ``max_walk_distance_m`` at ``walk_kmh``).
    transfer_distance_m
        Footpath radius between stops, metres (same rule with a network).
    max_transfers
        At most ``max_transfers + 1`` vehicles per journey.
    time_window_min
        0: one departure. ``W > 0``: mean over departures every minute from ``departure_time``
        to ``departure_time + W - 1`` minutes.
    crs
        Metric CRS for straight-line distances (default: the network's CRS, else the UTM zone of
        the stops).

    Returns
    -------
    pandas.DataFrame
        Minutes, index = origins' index, columns = destinations' index; NaN when unreachable
        (only possible with a network: straight-line walking always reaches). Usable as
        ``travel`` in the accessibility metrics.

    Examples
    --------
    Two stops 1.2 km apart and one bus, GARE 08:00 → MAIRIE 08:03; a home 100 m south of GARE
    and a school 100 m north of MAIRIE:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from cimkit.io.gtfs import read_gtfs
    >>> folder = Path(tempfile.mkdtemp())
    >>> tables = {
    ...     "stops.txt": "stop_id,stop_lat,stop_lon\nGARE,48.600,2.300\nMAIRIE,48.6108,2.300\n",
    ...     "routes.txt": "route_id,route_type\nL1,3\n",
    ...     "trips.txt": "route_id,service_id,trip_id\nL1,ALL,T1\n",
    ...     "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    ...                       "T1,08:00:00,08:00:00,GARE,1\nT1,08:03:00,08:03:00,MAIRIE,2\n",
    ...     "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    ...                     "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20241231\n",
    ... }
    >>> for name, text in tables.items():
    ...     _ = (folder / name).write_text(text)
    >>> feed = read_gtfs(folder)
    >>> import geopandas as gpd
    >>> from shapely import affinity
    >>> from cimkit.analysis.accessibility import compute_transit_travel_times
    >>> stops = feed.stops_gdf().to_crs(2154).geometry
    >>> home = gpd.GeoSeries([affinity.translate(stops["GARE"], 0, -100)], index=["home"], crs=2154)
    >>> school = gpd.GeoSeries([affinity.translate(stops["MAIRIE"], 0, 100)], index=["school"], crs=2154)
    >>> minutes = compute_transit_travel_times(feed, home, school, date="2024-03-05",
    ...                                        departure_time="07:58", crs="EPSG:2154")
    >>> round(float(minutes.loc["home", "school"]), 2)  # walk 75 s, wait, ride 3 min, walk 75 s
    6.25
    """
    from cimkit.analysis.accessibility import _raptor

    _check_counts(max_walk_distance_m, transfer_distance_m, max_transfers, time_window_min)
    speed = _speed_m_s(walk_kmh)
    t0 = _seconds(departure_time)
    tt = build_timetable(
        feed, date=date, network=network, walk_kmh=walk_kmh, transfer_distance_m=transfer_distance_m, crs=crs
    )
    stops = feed.stops_gdf().to_crs(tt.crs)
    o = _points(origins, tt.crs, "origins")
    d = _points(destinations, tt.crs, "destinations")
    acc = _walk_links(o, tt, stops, max_walk_distance_m=max_walk_distance_m, speed=speed, network=network)
    egr = _walk_links(d, tt, stops, max_walk_distance_m=max_walk_distance_m, speed=speed, network=network)
    walk = _pure_walk(o, d, speed=speed, network=network)
    departures = t0 + 60.0 * np.arange(max(1, int(time_window_min)))
    out = _raptor.travel_matrix(
        *tt.arrays(),
        *acc,
        *egr,
        np.ascontiguousarray(walk, dtype="float64"),
        departures,
        int(max_transfers) + 1,
    )
    out = np.where(np.isfinite(out), out / 60.0, np.nan)
    return pd.DataFrame(out, index=o.index.copy(), columns=d.index.copy())
