"""Walk + transit travel times (RAPTOR) on a hand-made feed and on the Cairns GTFS feed.

The Cairns checks compare RAPTOR with an independent Connection Scan (Dibbelt et al. 2013)
written below in plain Python over the feed's stop_times, with the same footpaths.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.spatial.distance import cdist

from cimkit.analysis.accessibility import compute_cumulative_access, compute_transit_travel_times
from cimkit.analysis.accessibility.transit import build_timetable, compute_earliest_arrivals
from cimkit.errors import MissingCRSError, ValidationError
from cimkit.io.gtfs import read_gtfs
from cimkit.network.graph import Network
from tests.io.test_gtfs import TINY_CRS, TINY_ORIGIN, write_tiny_feed

INF = math.inf
WALK_M_PER_S = 4.8 / 3.6  # 4.8 km/h


def hms(h: int, m: int, s: int = 0) -> float:
    return h * 3600.0 + m * 60.0 + s


@pytest.fixture()
def tiny(tmp_path):
    return read_gtfs(write_tiny_feed(tmp_path), date="2024-03-05")


def _pts(xy: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    geoms = [shapely.Point(TINY_ORIGIN[0] + x, TINY_ORIGIN[1] + y) for x, y in xy.values()]
    return gpd.GeoDataFrame(index=pd.Index(list(xy), name="id"), geometry=geoms, crs=TINY_CRS)


# ---------------------------------------------------------------------------------------------
# tiny feed (stops and trips described in tests/io/test_gtfs.py)


def test_tiny_earliest_arrivals_by_hand(tiny):
    tt = build_timetable(tiny, date="2024-03-05", crs=TINY_CRS)
    # one footpath pair B <-> D of 200 m: 200 / (4.8 / 3.6) = 150 s
    fp = tt.footpaths()
    assert sorted(zip(fp["from_stop"], fp["to_stop"], strict=True)) == [("B", "D"), ("D", "B")]
    assert fp["walk_s"].to_numpy() == pytest.approx([150.0, 150.0], abs=1e-6)
    r = compute_earliest_arrivals(tt, {"A": hms(8, 0)})
    expected = {
        "A": (hms(8, 0), INF),  # the source
        "B": (hms(8, 10), hms(8, 10)),  # T1 departs A 08:00 (boarding at 08:00 allowed)
        "C": (hms(8, 20), hms(8, 20)),  # T1
        "D": (hms(8, 12, 30), INF),  # B 08:10 + 150 s footpath; no trip reaches D
        "E": (hms(8, 25), hms(8, 25)),  # T2a left D at 08:11 (< 08:12:30): T2 08:15 -> 08:25
        "F": (hms(24, 50), hms(24, 50)),  # wait at C for T4 24:30 -> F 24:50; SAT trip T3 ignored
    }
    for stop, (any_s, trip_s) in expected.items():
        assert r.loc[stop, "arrival_s"] == pytest.approx(any_s), stop
        assert r.loc[stop, "trip_arrival_s"] == pytest.approx(trip_s), stop
    # a single vehicle (no transfer): E and F need two trips, so they are unreachable
    r0 = compute_earliest_arrivals(tt, {"A": hms(8, 0)}, max_transfers=0)
    assert np.isinf(r0.loc[["E", "F"], "arrival_s"]).all()
    assert r0.loc["D", "arrival_s"] == pytest.approx(hms(8, 12, 30))


def test_tiny_service_day_and_after_midnight(tiny):
    # Thursday 2024-03-07: WK removed, SAT added -> T3 A 08:01 -> E 08:05; T1 does not run
    thu = compute_earliest_arrivals(build_timetable(tiny, date="2024-03-07", crs=TINY_CRS), {"A": hms(8, 0)})
    assert thu.loc["E", "arrival_s"] == hms(8, 5)
    assert np.isinf(thu.loc["B", "arrival_s"])
    # Wednesday 00:20 at C: Tuesday's T4 (24:30 -> 24:50) runs as 00:30 -> 00:50 = 3 000 s
    wed = compute_earliest_arrivals(build_timetable(tiny, date="2024-03-06", crs=TINY_CRS), {"C": hms(0, 20)})
    assert wed.loc["F", "arrival_s"] == hms(0, 50)
    # Friday 00:20: Thursday's WK service (hence its T4) did not run, so the first T4 is
    # Friday's own at 24:30 -> F 24:50 (89 400 s)
    fri = compute_earliest_arrivals(build_timetable(tiny, date="2024-03-08", crs=TINY_CRS), {"C": hms(0, 20)})
    assert fri.loc["F", "arrival_s"] == hms(24, 50)


# o1 is 396 m west of A (297 s), so that it reaches A at 07:59:57 whatever the rounding of the
# stop coordinates, and waits for T1 at 08:00
ORIGINS = {"o1": (-396.0, 0.0)}
DESTS = {"d1": (3200.0, 4400.0), "d2": (6000.0, 300.0), "d3": (-396.0, 500.0)}


def test_tiny_door_to_door_by_hand(tiny):
    homes = _pts(ORIGINS)
    # a polygon origin: its centroid is o1
    square = gpd.GeoDataFrame(
        index=pd.Index(["sq"], name="id"),
        geometry=[shapely.box(*(np.array([-446, -50, -346, 50]) + np.array(TINY_ORIGIN * 2)))],
        crs=TINY_CRS,
    )
    origins = pd.concat([homes, square])
    dests = _pts(DESTS).to_crs("EPSG:4326")  # any CRS: reprojected to crs=
    m = compute_transit_travel_times(
        tiny, origins, dests, date="2024-03-05", departure_time="07:55", crs=TINY_CRS
    )
    assert list(m.index) == ["o1", "sq"] and list(m.columns) == ["d1", "d2", "d3"]
    # d1: walk 396 m to A (297 s) -> 08:00 T1 -> B 08:10 -> footpath D 08:12:30 -> T2 08:15 ->
    #     E 08:25 -> walk 400 m (300 s) -> 08:30 = 35 min (pure walk 5 682 m = 71.02 min)
    # d2: ... T1 -> C 08:20 -> walk 300 m (225 s) -> 08:23:45 = 28.75 min
    # d3: only walking (A is not reached by a trip): 500 m / 80 m/min = 6.25 min
    expected = [35.0, 28.75, 6.25]
    np.testing.assert_allclose(m.loc["o1"].to_numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(m.loc["sq"].to_numpy(), expected, atol=1e-6)
    # one vehicle only: d1 falls back to walking, sqrt(3596^2 + 4400^2) / 80 = 71.0234 min
    m0 = compute_transit_travel_times(
        tiny, homes, dests, date="2024-03-05", departure_time="07:55", crs=TINY_CRS, max_transfers=0
    )
    assert m0.loc["o1", "d1"] == pytest.approx(math.hypot(3596, 4400) / 80.0, abs=1e-6)
    assert m0.loc["o1", "d2"] == pytest.approx(28.75, abs=1e-6)
    # window of 2 departures (07:55, 07:56). At 07:56 T1 is missed: T1b 08:30 -> B 08:40 ->
    # D 08:42:30 -> T2c 08:45 -> E 08:55 -> 09:00 = 64 min; d2: C 08:50 + 3:45 = 57.75 min.
    mw = compute_transit_travel_times(
        tiny, homes, dests, date="2024-03-05", departure_time="07:55", crs=TINY_CRS, time_window_min=2
    )
    np.testing.assert_allclose(mw.loc["o1"].to_numpy(), [(35 + 64) / 2, (28.75 + 57.75) / 2, 6.25], atol=1e-6)
    # the matrix plugs into the metrics
    cum = compute_cumulative_access(m, max_time_min=(30,))
    assert cum.loc["o1", "within_30_min"] == 2  # d2 and d3


def test_tiny_network_walking(tiny):
    # a walking network through the stops and points, 80 m/min: o1-A-B-D-C, D-E-d1, C-d2, C-F, o1-d3
    xy = {"o1": (-396, 0), "A": (0, 0), "B": (3000, 0), "D": (3200, 0), "C": (6000, 0), "E": (3200, 4000)}
    xy |= {"d1": (3200, 4400), "d2": (6000, 300), "d3": (-396, 500), "F": (10000, 0)}
    names = list(xy)
    nodes = gpd.GeoDataFrame(
        index=pd.Index(np.arange(len(names), dtype="int64"), name="node_id"),
        geometry=[shapely.Point(TINY_ORIGIN[0] + x, TINY_ORIGIN[1] + y) for x, y in xy.values()],
        crs=TINY_CRS,
    )
    pairs = [("o1", "A"), ("A", "B"), ("B", "D"), ("D", "C"), ("D", "E"), ("E", "d1")]
    pairs += [("C", "d2"), ("C", "F"), ("o1", "d3")]
    u = [names.index(a) for a, _ in pairs]
    v = [names.index(b) for _, b in pairs]
    geoms = [
        shapely.LineString([nodes.geometry.iloc[i], nodes.geometry.iloc[j]])
        for i, j in zip(u, v, strict=True)
    ]
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "oneway": False},
        index=pd.Index(np.arange(len(u), dtype="int64"), name="edge_id"),
        geometry=geoms,
        crs=TINY_CRS,
    )
    edges["length_m"] = edges.length
    edges["walk_time_min"] = edges["length_m"] / 80.0
    net = Network(nodes, edges, kind="road")
    m = compute_transit_travel_times(
        tiny, _pts(ORIGINS), _pts(DESTS), date="2024-03-05", departure_time="07:55", network=net
    )
    # same journeys as with straight lines (every walking leg is a straight edge)
    np.testing.assert_allclose(m.loc["o1"].to_numpy(), [35.0, 28.75, 6.25], atol=1e-6)
    # one vehicle: d1 is walked along the network, 396 + 3200 + 4000 + 400 = 7 996 m = 99.95 min
    m0 = compute_transit_travel_times(
        tiny,
        _pts(ORIGINS),
        _pts(DESTS),
        date="2024-03-05",
        departure_time="07:55",
        network=net,
        max_transfers=0,
    )
    assert m0.loc["o1", "d1"] == pytest.approx(99.95, abs=1e-6)


def test_tiny_bad_arguments(tiny):
    homes = _pts(ORIGINS)
    with pytest.raises(ValidationError, match="departure time"):
        compute_transit_travel_times(
            tiny, homes, homes, date="2024-03-05", departure_time="8h00", crs=TINY_CRS
        )
    with pytest.raises(ValidationError, match="geographic"):
        compute_transit_travel_times(
            tiny, homes, homes, date="2024-03-05", departure_time="08:00", crs="EPSG:4326"
        )
    with pytest.raises(MissingCRSError):
        compute_transit_travel_times(tiny, homes.set_crs(None, allow_override=True), homes, date="2024-03-05",
                             departure_time="08:00", crs=TINY_CRS)  # fmt: skip
    with pytest.raises(ValidationError, match="max_transfers"):
        compute_transit_travel_times(
            tiny, homes, homes, date="2024-03-05", departure_time="08:00", crs=TINY_CRS, max_transfers=-1
        )


# ---------------------------------------------------------------------------------------------
# Cairns: RAPTOR vs an independent Connection Scan


DATE = "2014-06-10"  # a Tuesday: weekday service only


@pytest.fixture(scope="module")
def cairns(shared_data):
    with pytest.warns(UserWarning, match="interpolated"):
        feed = read_gtfs(shared_data / "gtfs_cairns" / "cairns_gtfs.zip", date=DATE)
    return feed, build_timetable(feed, date=DATE)


def _connections(feed, stop_index: pd.Index) -> dict[str, np.ndarray]:
    """Elementary connections (consecutive stop events of a trip) of the date's trips.

    Sorted by departure then arrival.
    """
    st = feed.stop_times[feed.stop_times["trip_id"].isin(feed.trips_on(DATE)["trip_id"])]
    st = st.sort_values(["trip_id", "stop_sequence"])
    same = st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1]
    a, b = st.iloc[:-1][same], st.iloc[1:][same]
    conn = {
        "u": stop_index.get_indexer(a["stop_id"]),
        "v": stop_index.get_indexer(b["stop_id"]),
        "dep": a["departure_s"].to_numpy(float),
        "arr": b["arrival_s"].to_numpy(float),
        "trip": pd.factorize(a["trip_id"])[0],
        "board": a["pickup_type"].to_numpy() != 1,
        "alight": b["drop_off_type"].to_numpy() != 1,
    }
    order = np.lexsort((conn["arr"], conn["dep"]))
    return {k: val[order] for k, val in conn.items()}


def _csa(conn, footpaths, n_stops, sources):
    """Connection Scan earliest arrivals: (any means, on board a trip).

    One footpath may follow a trip; repeated passes until nothing changes settle zero-duration
    connections whose order in the sorted list is arbitrary.
    """
    label = np.full(n_stops, INF)
    trip_arr = np.full(n_stops, INF)
    for s, t in sources:
        label[s] = min(label[s], t)
    start = np.searchsorted(conn["dep"], min(t for _, t in sources))
    u, v, dep, arr = (conn[k].tolist() for k in ("u", "v", "dep", "arr"))
    trip, board, alight = (conn[k].tolist() for k in ("trip", "board", "alight"))
    changed = True
    while changed:
        changed = False
        reached = set()
        for k in range(start, len(u)):
            if trip[k] not in reached:
                if not (board[k] and label[u[k]] <= dep[k]):
                    continue
                reached.add(trip[k])
            if alight[k] and arr[k] < trip_arr[v[k]]:
                a = arr[k]
                trip_arr[v[k]] = a
                changed = True
                label[v[k]] = min(label[v[k]], a)
                for q, w in footpaths.get(v[k], ()):
                    label[q] = min(label[q], a + w)
    return label, trip_arr


def _footpath_dict(tt) -> dict[int, list[tuple[int, float]]]:
    fp = tt.footpaths()
    out: dict[int, list[tuple[int, float]]] = {}
    for a, b, w in zip(
        tt.stop_ids.get_indexer(fp["from_stop"]),
        tt.stop_ids.get_indexer(fp["to_stop"]),
        fp["walk_s"],
        strict=True,
    ):
        out.setdefault(int(a), []).append((int(b), float(w)))
    return out


def test_cairns_footpaths_independent(cairns):
    feed, tt = cairns
    assert tt.crs.to_epsg() == 32755  # UTM 55S for Cairns (145.7 E, 16.9 S)
    # independent: project with pyproj, all pairwise distances with scipy, pairs within 250 m
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32755", always_xy=True)
    x, y = tr.transform(feed.stops["stop_lon"].to_numpy(), feed.stops["stop_lat"].to_numpy())
    d = cdist(np.c_[x, y], np.c_[x, y])
    i, j = np.nonzero((d <= 250.0) & ~np.eye(len(d), dtype=bool))
    ref = pd.Series(d[i, j] / WALK_M_PER_S, index=pd.MultiIndex.from_arrays([feed.stops["stop_id"].to_numpy()[i],
                    feed.stops["stop_id"].to_numpy()[j]])).sort_index()  # fmt: skip
    fp = tt.footpaths().set_index(["from_stop", "to_stop"])["walk_s"].sort_index()
    assert len(fp) == len(ref) > 100
    assert fp.index.equals(ref.index)
    np.testing.assert_allclose(fp.to_numpy(), ref.to_numpy(), atol=1e-6)


def test_cairns_raptor_equals_connection_scan(cairns):
    feed, tt = cairns
    conn = _connections(feed, tt.stop_ids)
    fps = _footpath_dict(tt)
    rng = np.random.default_rng(7)
    served = np.unique(tt.r_stops)
    origins = rng.choice(served, size=6, replace=False)
    reached_total = 0
    for k, o in enumerate(origins):
        t0 = hms(7, 0) + 600 * k  # 07:00 ... 07:50
        ref_any, ref_trip = _csa(conn, fps, tt.n_stops, [(int(o), t0)])
        got = compute_earliest_arrivals(tt, {tt.stop_ids[o]: t0}, max_transfers=30)
        np.testing.assert_array_equal(got["arrival_s"].to_numpy(), ref_any)
        np.testing.assert_array_equal(got["trip_arrival_s"].to_numpy(), ref_trip)
        reached_total += int(np.isfinite(ref_trip).sum())
        # fewer vehicles never arrive earlier
        few = compute_earliest_arrivals(tt, {tt.stop_ids[o]: t0}, max_transfers=1)["arrival_s"].to_numpy()
        assert (few >= got["arrival_s"].to_numpy()).all()
    assert reached_total > 6 * 50  # the comparison covers many reachable stops


def test_cairns_door_to_door_equals_connection_scan(cairns):
    feed, tt = cairns
    conn = _connections(feed, tt.stop_ids)
    fps = _footpath_dict(tt)
    rng = np.random.default_rng(11)
    picks = rng.choice(len(tt.xy), size=25, replace=False)
    # points 100 m east and 100 m north of 25 stops: 5 origins x 20 destinations
    xy = tt.xy[picks] + 100.0
    pts = gpd.GeoDataFrame(
        index=pd.Index([f"p{k}" for k in range(25)], name="id"), geometry=shapely.points(xy), crs=tt.crs
    )
    origins, dests = pts.iloc[:5], pts.iloc[5:]
    got = compute_transit_travel_times(
        feed, origins, dests, date=DATE, departure_time="07:30", max_transfers=30
    )
    # reference: access to stops within 800 m, Connection Scan, egress from trip arrivals, or walk
    t0 = hms(7, 30)
    d_os = cdist(xy[:5], tt.xy)
    d_ds = cdist(xy[5:], tt.xy)
    walk = cdist(xy[:5], xy[5:]) / WALK_M_PER_S
    ref = np.empty((5, 20))
    for i in range(5):
        near = np.flatnonzero(d_os[i] <= 800.0)
        _, trip_arr = _csa(conn, fps, tt.n_stops, [(int(s), t0 + d_os[i, s] / WALK_M_PER_S) for s in near])
        for j in range(20):
            ok = d_ds[j] <= 800.0
            by_transit = (trip_arr[ok] + d_ds[j, ok] / WALK_M_PER_S).min(initial=INF) - t0
            ref[i, j] = min(walk[i, j], by_transit) / 60.0
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=0, atol=1e-6)
    assert (got.to_numpy() < walk / 60.0 - 1e-9).sum() >= 10  # transit helps on many pairs
    # a departure window is the mean of its single departures
    win = compute_transit_travel_times(
        feed, origins, dests, date=DATE, departure_time="07:30", time_window_min=3
    )
    singles = [
        compute_transit_travel_times(
            feed, origins, dests, date=DATE, departure_time=f"07:{30 + m}"
        ).to_numpy()
        for m in range(3)
    ]
    np.testing.assert_allclose(win.to_numpy(), np.mean(singles, axis=0), atol=1e-9)
