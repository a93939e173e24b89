"""Walk + public transport travel times on a GTFS feed (time-dependent RAPTOR).

:func:`transit_travel_times` gives door-to-door minutes (origins x destinations) for a departure
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
- **Footpaths** between two distinct stops within ``transfer_m`` (straight line in a metric CRS,
  at ``walk_kmh``), or, with a ``network``, the network walking time (``walk_time_min`` column,
  plus a straight-line walk from each stop to its nearest node) when it is at most
  ``transfer_m`` at ``walk_kmh``. One footpath may follow each trip (footpaths are not chained).
- **Access / egress**: from an origin (point, or polygon centroid) to every stop within
  ``max_walk_m`` (straight line, or network walking time within the same budget), and from
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
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy.spatial import cKDTree

from cimkit.errors import InputError, MissingCRSError, ValidationError
from cimkit.io.gtfs import GtfsFeed, active_service_ids, to_date
from cimkit.network.graph import Network

__all__ = ["Timetable", "build_timetable", "earliest_arrivals", "transit_travel_times"]

logger = logging.getLogger(__name__)

DAY_S = 86400


@dataclass(frozen=True, eq=False)
class Timetable:
    """A feed's trips on one date as RAPTOR arrays (see :mod:`._raptor` for the layout).

    ``stop_ids`` gives the stop of each index; ``xy`` the stop coordinates in ``crs`` (metres);
    footpaths are in ``fp_ptr`` / ``fp_to`` / ``fp_w`` (seconds).
    """

    stop_ids: pd.Index
    xy: np.ndarray
    crs: CRS
    date: dt.date
    r_stop_ptr: np.ndarray
    r_stops: np.ndarray
    r_trip_ptr: np.ndarray
    r_time_off: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    board: np.ndarray
    alight: np.ndarray
    sr_ptr: np.ndarray
    sr_route: np.ndarray
    sr_pos: np.ndarray
    fp_ptr: np.ndarray
    fp_to: np.ndarray
    fp_w: np.ndarray
    trip_ids: list[str]

    @property
    def n_stops(self) -> int:
        return len(self.stop_ids)

    @property
    def n_routes(self) -> int:
        return len(self.r_stop_ptr) - 1

    def arrays(
        self,
    ) -> tuple[
        int,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
    ]:
        """The 15 leading arguments of the :mod:`._raptor` kernels: ``n_stops`` then the arrays."""
        return (
            self.n_stops,
            self.r_stop_ptr,
            self.r_stops,
            self.r_trip_ptr,
            self.r_time_off,
            self.arr,
            self.dep,
            self.board,
            self.alight,
            self.sr_ptr,
            self.sr_route,
            self.sr_pos,
            self.fp_ptr,
            self.fp_to,
            self.fp_w,
        )

    def footpaths(self) -> pd.DataFrame:
        """Footpaths as a table: ``from_stop``, ``to_stop``, ``walk_s``."""
        src = np.repeat(np.arange(self.n_stops), np.diff(self.fp_ptr))
        return pd.DataFrame(
            {"from_stop": self.stop_ids[src], "to_stop": self.stop_ids[self.fp_to], "walk_s": self.fp_w}
        )


def _speed_m_s(walk_kmh: float) -> float:
    if not walk_kmh > 0:
        raise ValidationError(f"'walk_kmh' must be > 0; {walk_kmh!r} was given.")
    return walk_kmh / 3.6


def _metric_crs(feed: GtfsFeed, crs: Any, network: Network | None) -> CRS:
    if network is not None:
        if network.crs is None:
            raise MissingCRSError("the network has no CRS", hint="set the network's CRS (a metric one).")
        out = CRS.from_user_input(network.crs)
    elif crs is not None:
        out = CRS.from_user_input(crs)
    else:
        out = feed.stops_gdf().estimate_utm_crs()
    if out.is_geographic:
        raise ValidationError(
            f"the CRS {out.to_string()} is geographic; walking distances need metres",
            hint="pass crs= a projected CRS in metres (for example the local UTM zone).",
        )
    return out


def _day_trips(feed: GtfsFeed, day: dt.date) -> pd.DataFrame:
    """Stop times of trips running on ``day``: that day's services, plus the previous day's
    trips after midnight (times shifted by -24 h)."""
    today = feed.service_ids(day) if feed.date != day else feed.active_service_ids
    yesterday = active_service_ids(feed, day - dt.timedelta(days=1))
    st = feed.stop_times
    svc = feed.trips.set_index("trip_id")["service_id"]
    trip_svc = svc.reindex(st["trip_id"]).to_numpy()
    cols = ["trip_id", "stop_id", "stop_sequence", "arrival_s", "departure_s", "pickup_type", "drop_off_type"]
    a = st.loc[np.isin(trip_svc, list(today)), cols]
    b = st.loc[np.isin(trip_svc, list(yesterday)), cols]
    late = b.groupby("trip_id")["arrival_s"].transform("max") >= DAY_S
    b = b[late.to_numpy()].copy()
    b["arrival_s"] -= DAY_S
    b["departure_s"] -= DAY_S
    b["trip_id"] = b["trip_id"] + "@previous_day"
    return pd.concat([a, b], ignore_index=True)


def _footpaths(
    xy: np.ndarray, stops: gpd.GeoDataFrame, *, transfer_m: float, speed: float, network: Network | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(xy)
    if network is None:
        pairs = cKDTree(xy).query_pairs(transfer_m, output_type="ndarray")
        if len(pairs) == 0:
            i = j = np.empty(0, dtype=np.int64)
            w = np.empty(0)
        else:
            i = np.r_[pairs[:, 0], pairs[:, 1]]
            j = np.r_[pairs[:, 1], pairs[:, 0]]
            w = np.hypot(*(xy[i] - xy[j]).T) / speed
    else:
        m = _network_walk(network, stops, stops, budget_m=transfer_m, speed=speed)
        i, j = np.nonzero(np.isfinite(m))
        keep = i != j
        i, j = i[keep], j[keep]
        w = m[i, j]
    order = np.lexsort((j, i))
    i, j, w = i[order], j[order], w[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, i + 1, 1)
    return np.cumsum(ptr), j.astype(np.int64), w.astype("float64")


def _network_walk(
    network: Network, origins: Any, destinations: Any, *, budget_m: float | None, speed: float
) -> np.ndarray:
    """Door-to-door network walking seconds (inf beyond the budget / unreachable)."""
    from cimkit.analysis.accessibility._travel import network_matrix

    if "walk_time_min" not in network.edges.columns:
        raise ValidationError(
            "the network has no 'walk_time_min' column",
            hint="add travel times with cimkit.network.travel.add_travel_times(...).",
        )
    cutoff = None if budget_m is None else budget_m / speed / 60.0
    m = network_matrix(
        network, origins, destinations, weight="walk_time_min", cutoff=cutoff, access_speed_kmh=speed * 3.6
    ).to_numpy()
    return np.where(np.isnan(m), np.inf, m * 60.0)


def build_timetable(
    feed: GtfsFeed,
    *,
    date: Any,
    network: Network | None = None,
    walk_kmh: float = 4.8,
    transfer_m: float = 250.0,
    crs: Any = None,
) -> Timetable:
    """RAPTOR arrays for the trips running on ``date`` and the footpaths between stops.

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
    transfer_m
        Footpath radius between stops, metres (with a network: walking-time budget
        ``transfer_m / walk_kmh``).
    crs
        Metric CRS for straight-line distances (default: the network's, else the stops' UTM zone).
    """
    day = to_date(date)
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
    arr_all = st["arrival_s"].to_numpy("float64")
    dep_all = st["departure_s"].to_numpy("float64")
    board_all = st["pickup_type"].to_numpy() != 1
    alight_all = st["drop_off_type"].to_numpy() != 1

    # group trips by stop sequence, then split into FIFO routes (no overtaking)
    patterns: dict[tuple[int, ...], list[int]] = {}
    for k in range(len(bounds) - 1):
        key = tuple(stop_idx[bounds[k] : bounds[k + 1]].tolist())
        if len(key) >= 2:
            patterns.setdefault(key, []).append(k)
    routes: list[tuple[tuple[int, ...], list[int]]] = []
    for key, trips in patterns.items():
        trips.sort(key=lambda k: (dep_all[bounds[k]], arr_all[bounds[k + 1] - 1]))
        subs: list[list[int]] = []
        for k in trips:
            sl = slice(bounds[k], bounds[k + 1])
            for sub in subs:
                last = slice(bounds[sub[-1]], bounds[sub[-1] + 1])
                if (arr_all[sl] >= arr_all[last]).all() and (dep_all[sl] >= dep_all[last]).all():
                    sub.append(k)
                    break
            else:
                subs.append([k])
        routes.extend((key, sub) for sub in subs)
    if not routes:
        logger.warning("no trips run on %s", day)

    r_stop_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    r_trip_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    r_time_off = np.zeros(len(routes), dtype=np.int64)
    r_stops_l, arr_l, dep_l, board_l, alight_l, trip_ids = [], [], [], [], [], []
    off = 0
    for r, (key, sub) in enumerate(routes):
        r_stop_ptr[r + 1] = r_stop_ptr[r] + len(key)
        r_trip_ptr[r + 1] = r_trip_ptr[r] + len(sub)
        r_time_off[r] = off
        r_stops_l.append(np.asarray(key, dtype=np.int64))
        for k in sub:
            sl = slice(bounds[k], bounds[k + 1])
            arr_l.append(arr_all[sl])
            dep_l.append(dep_all[sl])
            board_l.append(board_all[sl])
            alight_l.append(alight_all[sl])
            trip_ids.append(str(trip_names[k]))
        off += len(key) * len(sub)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)

    r_stops = cat(r_stops_l, np.int64)
    # stop -> (route, position)
    route_of = np.repeat(np.arange(len(routes), dtype=np.int64), np.diff(r_stop_ptr))
    pos_of = np.arange(len(r_stops), dtype=np.int64) - np.repeat(r_stop_ptr[:-1], np.diff(r_stop_ptr))
    order = np.lexsort((pos_of, route_of, r_stops))
    sr_ptr = np.zeros(len(stop_ids) + 1, dtype=np.int64)
    np.add.at(sr_ptr, r_stops + 1, 1)
    fp_ptr, fp_to, fp_w = _footpaths(xy, stops, transfer_m=transfer_m, speed=speed, network=network)
    tt = Timetable(
        stop_ids=stop_ids,
        xy=xy,
        crs=mcrs,
        date=day,
        r_stop_ptr=r_stop_ptr,
        r_stops=r_stops,
        r_trip_ptr=r_trip_ptr,
        r_time_off=r_time_off,
        arr=cat(arr_l, "float64"),
        dep=cat(dep_l, "float64"),
        board=cat(board_l, np.bool_),
        alight=cat(alight_l, np.bool_),
        sr_ptr=np.cumsum(sr_ptr),
        sr_route=route_of[order],
        sr_pos=pos_of[order],
        fp_ptr=fp_ptr,
        fp_to=fp_to,
        fp_w=fp_w,
        trip_ids=trip_ids,
    )
    logger.info(
        "timetable %s: %d trips in %d routes, %d footpaths", day, len(trip_ids), tt.n_routes, len(fp_to)
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


def earliest_arrivals(
    timetable: Timetable, sources: dict[str, float] | pd.Series, *, max_transfers: int = 3
) -> pd.DataFrame:
    """Earliest arrival at every stop from source stops (RAPTOR).

    Parameters
    ----------
    timetable
        From :func:`build_timetable`.
    sources
        Departure time at each source stop, seconds since the service day's start, keyed by
        ``stop_id`` (no footpath is taken from a source stop before the first trip).
    max_transfers
        At most ``max_transfers + 1`` trips.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``stop_id``: ``arrival_s`` (earliest arrival by any means, footpaths
        included; the source times at the sources) and ``trip_arrival_s`` (earliest arrival on
        board a trip); +inf when unreachable.
    """
    from cimkit.analysis.accessibility import _raptor

    src = pd.Series(sources, dtype="float64")
    idx = timetable.stop_ids.get_indexer(src.index.astype(str))
    if (idx < 0).any():
        raise InputError(
            "unknown source stop(s)", entity=list(src.index[idx < 0][:5]), hint="use the feed's stop_ids."
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
    max_walk_m: float,
    speed: float,
    network: Network | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR (per point) of stops within walking reach and the walking seconds."""
    if network is None:
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        lists = cKDTree(tt.xy).query_ball_point(xy, max_walk_m) if len(xy) else []
        ptr = np.zeros(len(xy) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        to = np.fromiter((s for x in lists for s in x), dtype=np.int64, count=int(ptr[-1]))
        src = np.repeat(np.arange(len(xy)), np.diff(ptr))
        w = np.hypot(*(xy[src] - tt.xy[to]).T) / speed if len(to) else np.empty(0)
        return ptr, to, w
    m = _network_walk(network, pts, stops, budget_m=max_walk_m, speed=speed)
    i, j = np.nonzero(np.isfinite(m))
    ptr = np.zeros(len(pts) + 1, dtype=np.int64)
    np.add.at(ptr, i + 1, 1)
    return np.cumsum(ptr), j.astype(np.int64), m[i, j]


def transit_travel_times(
    feed: GtfsFeed,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    destinations: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    date: Any,
    departure_time: str | dt.time,
    network: Network | None = None,
    walk_kmh: float = 4.8,
    max_walk_m: float = 800.0,
    transfer_m: float = 250.0,
    max_transfers: int = 3,
    time_window_min: int = 0,
    crs: Any = None,
) -> pd.DataFrame:
    """Door-to-door walk + public transport minutes, origins x destinations.

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
    max_walk_m
        Access / egress radius around origins and destinations, metres (with a network: a
        walking-time budget of ``max_walk_m`` at ``walk_kmh``).
    transfer_m
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
    >>> from cimkit.io.gtfs import read_gtfs  # doctest: +SKIP
    >>> feed = read_gtfs("cairns_gtfs.zip")  # doctest: +SKIP
    >>> tt = transit_travel_times(feed, homes, schools, date="2014-06-10",
    ...                           departure_time="08:00", time_window_min=30)  # doctest: +SKIP
    """
    from cimkit.analysis.accessibility import _raptor

    if max_walk_m < 0 or transfer_m < 0:
        raise ValidationError("'max_walk_m' and 'transfer_m' must be >= 0.")
    if int(max_transfers) != max_transfers or max_transfers < 0:
        raise ValidationError(f"'max_transfers' must be an integer >= 0; {max_transfers!r} was given.")
    if int(time_window_min) != time_window_min or time_window_min < 0:
        raise ValidationError(f"'time_window_min' must be an integer >= 0; {time_window_min!r} was given.")
    speed = _speed_m_s(walk_kmh)
    t0 = _seconds(departure_time)
    tt = build_timetable(feed, date=date, network=network, walk_kmh=walk_kmh, transfer_m=transfer_m, crs=crs)
    stops = feed.stops_gdf().to_crs(tt.crs)
    o = _points(origins, tt.crs, "origins")
    d = _points(destinations, tt.crs, "destinations")
    acc = _walk_links(o, tt, stops, max_walk_m=max_walk_m, speed=speed, network=network)
    egr = _walk_links(d, tt, stops, max_walk_m=max_walk_m, speed=speed, network=network)
    if network is None:
        oxy = np.column_stack([o.x.to_numpy(), o.y.to_numpy()])
        dxy = np.column_stack([d.x.to_numpy(), d.y.to_numpy()])
        walk = np.hypot(oxy[:, None, 0] - dxy[None, :, 0], oxy[:, None, 1] - dxy[None, :, 1]) / speed
    else:
        walk = _network_walk(network, o, d, budget_m=None, speed=speed)
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
