"""The RAPTOR timetable of a GTFS feed on one date, its footpaths and walking legs.

Private helpers of :mod:`.transit` (see there for the model); the kernels are in :mod:`._raptor`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy.spatial import cKDTree

from cimkit.errors import MissingCRSError, ValidationError
from cimkit.io.gtfs import GtfsFeed
from cimkit.network.graph import Network

DAY_S = 86400


@dataclass(frozen=True, eq=False)
class Timetable:
    """A feed's trips on one date as RAPTOR arrays (see :mod:`._raptor` for the layout).

    An internal container built by :func:`build_timetable` and read by
    :func:`compute_earliest_arrivals`. ``stop_ids`` gives the stop of each index; ``xy`` the
    stop coordinates in ``crs`` (metres); footpaths are in ``fp_ptr`` / ``fp_to`` / ``fp_w``
    (seconds).
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
        """Number of stops."""
        return len(self.stop_ids)

    @property
    def n_routes(self) -> int:
        """Number of RAPTOR routes (trips with one stop sequence, never overtaking each other)."""
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
        """Return the 15 leading arguments of the :mod:`._raptor` kernels: ``n_stops``, the arrays."""
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
    """Stop times of the trips running on ``day``.

    That day's services, plus the previous day's trips after midnight (times shifted by -24 h).
    """
    today = feed.service_ids(day) if feed.date != day else feed.active_service_ids
    yesterday = feed.service_ids(day - dt.timedelta(days=1))
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
    xy: np.ndarray,
    stops: gpd.GeoDataFrame,
    *,
    transfer_distance_m: float,
    speed: float,
    network: Network | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(xy)
    if network is None:
        pairs = cKDTree(xy).query_pairs(transfer_distance_m, output_type="ndarray")
        if len(pairs) == 0:
            i = j = np.empty(0, dtype=np.int64)
            w = np.empty(0)
        else:
            i = np.r_[pairs[:, 0], pairs[:, 1]]
            j = np.r_[pairs[:, 1], pairs[:, 0]]
            w = np.hypot(*(xy[i] - xy[j]).T) / speed
    else:
        m = _network_walk(network, stops, stops, budget_m=transfer_distance_m, speed=speed)
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
            hint="add travel times with cimkit.network.travel.compute_edge_travel_times(...).",
        )
    budget_min = None if budget_m is None else budget_m / speed / 60.0
    m = network_matrix(
        network, origins, destinations, weight="walk_time_min", max_time_min=budget_min, walk_kmh=speed * 3.6
    ).to_numpy()
    return np.where(np.isnan(m), np.inf, m * 60.0)


def _routes(
    stop_idx: np.ndarray, bounds: np.ndarray, arr_all: np.ndarray, dep_all: np.ndarray
) -> list[tuple[tuple[int, ...], list[int]]]:
    """RAPTOR routes: trips grouped by stop sequence, then split so that no trip overtakes another."""
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
    return routes


def _concatenated(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype=dtype)


def _route_arrays(
    routes: list[tuple[tuple[int, ...], list[int]]],
    st: pd.DataFrame,
    bounds: np.ndarray,
    trip_names: pd.Index,
    n_stops: int,
) -> dict[str, Any]:
    """Build the route, event and stop → route arrays of a :class:`Timetable` (see :mod:`._raptor`)."""
    arr_all = st["arrival_s"].to_numpy("float64")
    dep_all = st["departure_s"].to_numpy("float64")
    board_all = st["pickup_type"].to_numpy() != 1
    alight_all = st["drop_off_type"].to_numpy() != 1
    r_stop_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    r_trip_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    r_time_off = np.zeros(len(routes), dtype=np.int64)
    r_stops_l: list[np.ndarray] = []
    arr_l: list[np.ndarray] = []
    dep_l: list[np.ndarray] = []
    board_l: list[np.ndarray] = []
    alight_l: list[np.ndarray] = []
    trip_ids: list[str] = []
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
    r_stops = _concatenated(r_stops_l, np.int64)
    # stop -> (route, position)
    route_of = np.repeat(np.arange(len(routes), dtype=np.int64), np.diff(r_stop_ptr))
    pos_of = np.arange(len(r_stops), dtype=np.int64) - np.repeat(r_stop_ptr[:-1], np.diff(r_stop_ptr))
    order = np.lexsort((pos_of, route_of, r_stops))
    sr_ptr = np.zeros(n_stops + 1, dtype=np.int64)
    np.add.at(sr_ptr, r_stops + 1, 1)
    return {
        "r_stop_ptr": r_stop_ptr,
        "r_stops": r_stops,
        "r_trip_ptr": r_trip_ptr,
        "r_time_off": r_time_off,
        "arr": _concatenated(arr_l, "float64"),
        "dep": _concatenated(dep_l, "float64"),
        "board": _concatenated(board_l, np.bool_),
        "alight": _concatenated(alight_l, np.bool_),
        "sr_ptr": np.cumsum(sr_ptr),
        "sr_route": route_of[order],
        "sr_pos": pos_of[order],
        "trip_ids": trip_ids,
    }
