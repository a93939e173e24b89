"""GTFS reader: a tiny hand-made feed and the Cairns feed (shared data)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from cimkit.errors import CimkitIOError, FileFormatError
from cimkit.io.gtfs import normalise_date, read_gtfs
from cimkit.provenance import get

#: The tiny feed's stops, in UTM zone 31N metres (EPSG:32631) relative to (500 000, 5 000 000);
#: written to stops.txt as WGS84 lat/lon.
TINY_CRS = "EPSG:32631"
TINY_ORIGIN = (500_000.0, 5_000_000.0)
TINY_STOPS_XY = {
    "A": (0.0, 0.0),
    "B": (3000.0, 0.0),
    "C": (6000.0, 0.0),
    "D": (3200.0, 0.0),  # 200 m from B: the only footpath within 250 m (B <-> D)
    "E": (3200.0, 4000.0),
    "F": (10000.0, 0.0),
}

# Trips (service WK runs Monday-Friday in 2024 except 2024-03-07; SAT runs on Saturdays and,
# by a calendar_dates addition, on 2024-03-07):
#   T1  WK  A 08:00 -> B 08:10 -> C 08:20
#   T1b WK  A 08:30 -> B 08:40 -> C 08:50
#   T2a WK  D 08:11 -> E 08:21
#   T2  WK  D 08:15 -> E 08:25
#   T2c WK  D 08:45 -> E 08:55
#   T3  SAT A 08:01 -> E 08:05        (must be ignored on weekdays)
#   T4  WK  C 24:30 -> F 24:50        (after midnight: 00:30 -> 00:50 the next morning)
TINY_STOP_TIMES = [
    ("T1", "A", "08:00:00", 1),
    ("T1", "B", "08:10:00", 2),
    ("T1", "C", "08:20:00", 3),
    ("T1b", "A", "08:30:00", 1),
    ("T1b", "B", "08:40:00", 2),
    ("T1b", "C", "08:50:00", 3),
    ("T2a", "D", "08:11:00", 1),
    ("T2a", "E", "08:21:00", 2),
    ("T2", "D", "08:15:00", 1),
    ("T2", "E", "08:25:00", 2),
    ("T2c", "D", "08:45:00", 1),
    ("T2c", "E", "08:55:00", 2),
    ("T3", "A", "08:01:00", 1),
    ("T3", "E", "08:05:00", 2),
    ("T4", "C", "24:30:00", 1),
    ("T4", "F", "24:50:00", 2),
]
TINY_TRIPS = [("R1", "WK", "T1"), ("R1", "WK", "T1b"), ("R2", "WK", "T2a"), ("R2", "WK", "T2")]
TINY_TRIPS += [("R2", "WK", "T2c"), ("R2", "SAT", "T3"), ("R1", "WK", "T4")]


def tiny_feed_tables() -> dict[str, str]:
    to_ll = Transformer.from_crs(TINY_CRS, "EPSG:4326", always_xy=True)
    stops = ["stop_id,stop_name,stop_lat,stop_lon"]
    for sid, (x, y) in TINY_STOPS_XY.items():
        lon, lat = to_ll.transform(TINY_ORIGIN[0] + x, TINY_ORIGIN[1] + y)
        stops.append(f"{sid},Stop {sid},{lat!r},{lon!r}")
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    st += [f"{t},{hms},{hms},{s},{q}" for t, s, hms, q in TINY_STOP_TIMES]
    return {
        "agency.txt": "agency_name,agency_url,agency_timezone\nTiny,http://example.org,Europe/Paris\n",
        "stops.txt": "\n".join(stops) + "\n",
        "routes.txt": "route_id,route_short_name,route_type\nR1,1,3\nR2,2,3\n",
        "trips.txt": "route_id,service_id,trip_id\n" + "\n".join(",".join(t) for t in TINY_TRIPS) + "\n",
        "stop_times.txt": "\n".join(st) + "\n",
        "calendar.txt": (
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
            "WK,1,1,1,1,1,0,0,20240101,20241231\n"
            "SAT,0,0,0,0,0,1,0,20240101,20241231\n"
        ),
        "calendar_dates.txt": "service_id,date,exception_type\nWK,20240307,2\nSAT,20240307,1\n",
    }


def write_tiny_feed(folder: Path, *, as_zip: bool = True, replace: dict[str, str] | None = None) -> Path:
    tables = tiny_feed_tables()
    tables.update(replace or {})
    tables = {k: v for k, v in tables.items() if v is not None}
    if as_zip:
        path = folder / "tiny_gtfs.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, text in tables.items():
                zf.writestr(name, text)
        return path
    path = folder / "tiny_gtfs"
    path.mkdir()
    for name, text in tables.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def test_tiny_feed_tables_times_and_services(tmp_path):
    feed = read_gtfs(write_tiny_feed(tmp_path), date="2024-03-05")  # a Tuesday
    assert (len(feed.stops), len(feed.routes), len(feed.trips), len(feed.stop_times)) == (6, 2, 7, 16)
    st = feed.stop_times.set_index(["trip_id", "stop_id"])
    # 08:10:00 = 8*3600 + 10*60 = 29 400 s; 24:50:00 = 24*3600 + 50*60 = 89 400 s (not wrapped)
    assert st.loc[("T1", "B"), "arrival_s"] == 29_400
    assert st.loc[("T4", "C"), "departure_s"] == 88_200
    assert st.loc[("T4", "F"), "arrival_s"] == 89_400
    assert feed.active_service_ids == frozenset({"WK"})
    assert feed.date == dt.date(2024, 3, 5)
    # Saturday 2024-03-09: SAT only; Thursday 2024-03-07: WK removed and SAT added by calendar_dates
    assert feed.service_ids("2024-03-09") == frozenset({"SAT"})
    assert feed.service_ids(dt.date(2024, 3, 7)) == frozenset({"SAT"})
    # outside the calendar range (2025): nothing runs
    assert feed.service_ids("20250304") == frozenset()
    assert set(feed.trips_on("2024-03-05")["trip_id"]) == {"T1", "T1b", "T2a", "T2", "T2c", "T4"}
    prov = get(feed.stops)
    assert prov is not None and prov.reader == "cimkit.io.gtfs.read_gtfs"
    assert feed.provenance is prov


def test_tiny_feed_from_folder_equals_zip(tmp_path):
    a = read_gtfs(write_tiny_feed(tmp_path, as_zip=True))
    b = read_gtfs(write_tiny_feed(tmp_path, as_zip=False))
    assert a.active_service_ids == frozenset()  # no date given
    assert a.stop_times[["trip_id", "stop_id", "arrival_s"]].equals(
        b.stop_times[["trip_id", "stop_id", "arrival_s"]]
    )
    gdf = a.stops_gdf()
    assert gdf.crs.to_epsg() == 4326 and list(gdf.index[:2]) == ["A", "B"]


def test_empty_intermediate_times_are_interpolated(tmp_path):
    st = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,A,1\nT1,,,B,2\nT1,,,D,3\nT1,08:30:00,08:30:00,C,4\n"
        "T4,24:30:00,24:30:00,C,1\nT4,24:50:00,24:50:00,F,2\n"
    )
    with pytest.warns(UserWarning, match="2 stop times"):
        feed = read_gtfs(write_tiny_feed(tmp_path, replace={"stop_times.txt": st}))
    t1 = feed.stop_times[feed.stop_times["trip_id"] == "T1"]
    # by position: 08:00 + 1/3 and 2/3 of 30 min -> 08:10 (29 400 s) and 08:20 (30 000 s)
    assert t1["arrival_s"].tolist() == [28_800, 29_400, 30_000, 30_600]
    assert [s.action for s in feed.provenance.steps][-1] == "interpolate"


@pytest.mark.parametrize(
    ("replace", "layer", "line", "text"),
    [
        ({"stops.txt": None}, "stops.txt", None, "no stops.txt"),
        ({"trips.txt": "route_id,trip_id\nR1,T1\n"}, "trips.txt", 1, "service_id"),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,08:00,08:00:00,A,1\n"
            },
            "stop_times.txt",
            2,
            "invalid time '08:00'",
        ),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                "T1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,Z,2\n"
            },
            "stop_times.txt",
            3,
            "stop_id 'Z'",
        ),
        ({"calendar.txt": None, "calendar_dates.txt": None}, "calendar.txt", None, "neither calendar"),
        (
            {"calendar_dates.txt": "service_id,date,exception_type\nWK,2024-03-07,2\n"},
            "calendar_dates.txt",
            2,
            "YYYYMMDD",
        ),
    ],
)
def test_bad_feeds_raise_typed_errors(tmp_path, replace, layer, line, text):
    path = write_tiny_feed(tmp_path, replace=replace)
    with pytest.raises(FileFormatError, match=text) as info:
        read_gtfs(path)
    assert info.value.layer == layer
    assert info.value.line == line
    assert info.value.path == str(path)
    assert info.value.hint


def test_missing_path_and_not_a_zip(tmp_path):
    with pytest.raises(CimkitIOError):
        read_gtfs(tmp_path / "absent.zip")
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(FileFormatError, match="not a zip"):
        read_gtfs(bad)


def test_cairns_counts_and_calendar(shared_data):
    path = shared_data / "gtfs_cairns" / "cairns_gtfs.zip"
    with pytest.warns(UserWarning, match="interpolated"):
        feed = read_gtfs(path, date="2014-06-10")
    # counts from MANIFEST.md
    assert (len(feed.routes), len(feed.stops), len(feed.trips), len(feed.stop_times)) == (
        22,
        416,
        1339,
        37790,
    )
    assert feed.calendar["start_date"].min() == dt.date(2014, 5, 26)
    assert feed.calendar["end_date"].max() == dt.date(2014, 12, 28)
    # from calendar.txt / calendar_dates.txt: Tuesday 2014-06-10 runs the weekday service only;
    # Monday 2014-06-09 (Queen's Birthday holiday) removes it and adds the Sunday service;
    # Fridays add the Friday-only service.
    assert feed.active_service_ids == frozenset({"CNS2014-CNS_MUL-Weekday-00"})
    assert feed.service_ids("2014-06-09") == frozenset({"CNS2014-CNS_MUL-Sunday-00"})
    assert feed.service_ids("2014-06-13") == frozenset(
        {"CNS2014-CNS_MUL-Weekday-00", "CNS2014-CNS_MUL-Weekday-00-0000100"}
    )
    # trips past midnight keep their >24 h times (latest arrival 29:39:00 in stop_times.txt)
    assert feed.stop_times["arrival_s"].max() == 29 * 3600 + 39 * 60
    st = feed.stop_times
    assert np.all(
        np.diff(st["stop_sequence"].to_numpy())[st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1]]
        > 0
    )


def test_normalise_date_reads_every_service_date_form():
    day = dt.date(2024, 3, 5)
    assert normalise_date("2024-03-05") == normalise_date("20240305") == normalise_date(" 20240305 ") == day
    assert normalise_date(dt.datetime(2024, 3, 5, 23, 59)) == day
    assert normalise_date(day) is day
    import pandas as pd

    from cimkit.errors import ValidationError

    assert normalise_date(pd.Timestamp("2024-03-05 08:00")) == day
    with pytest.raises(ValidationError, match="05/03/2024"):
        normalise_date("05/03/2024")


# ---- hostile feeds: stable codes, times past midnight, zip bombs ------------------------------


def test_times_past_24h_are_valid_and_read_in_seconds(tmp_path):
    st = (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T4,23:55:00,23:56:00,C,1\nT4,25:10:00,25:10:30,F,2\n"  # 25:10 = 01:10 next morning
    )
    feed = read_gtfs(write_tiny_feed(tmp_path, replace={"stop_times.txt": st}))
    t4 = feed.stop_times.set_index("stop_id")
    # by hand: 25*3600 + 10*60 = 90 600 s and 90 630 s; 23*3600 + 55*60 = 86 100 s
    assert t4.loc["F", "arrival_s"] == 90_600 and t4.loc["F", "departure_s"] == 90_630
    assert t4.loc["C", "arrival_s"] == 86_100 and t4.loc["C", "departure_s"] == 86_160


@pytest.mark.parametrize(
    ("replace", "code", "line"),
    [
        ({"stops.txt": None}, "GTF001", None),
        ({"stop_times.txt": None}, "GTF001", None),
        ({"trips.txt": "route_id,trip_id\nR1,T1\n"}, "GTF002", 1),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                "T1,08:00:00,08:00:00,A,1\nT1,08:10:00,08:10:00,NOWHERE,2\n"
            },
            "GTF004",
            3,
        ),
        ({"stops.txt": "stop_id,stop_lat,stop_lon\nA,48.6,2.3\nA,48.7,2.4\n"}, "GTF005", 3),
        ({"stops.txt": "stop_id,stop_lat,stop_lon\nA,nord,2.3\n"}, "GTF003", 2),
    ],
)
def test_hostile_feeds_have_stable_codes(tmp_path, replace, code, line):
    with pytest.raises(FileFormatError) as info:
        read_gtfs(write_tiny_feed(tmp_path, replace=replace))
    assert (info.value.code, info.value.line) == (code, line)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    from cimkit.errors import ResourceLimitError

    path = write_tiny_feed(tmp_path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("shapes.txt", b"\0" * (48 * 1024 * 1024))  # 48 MiB of zeros in ~50 kB
    assert path.stat().st_size < 200_000
    with pytest.raises(ResourceLimitError) as info:
        read_gtfs(path)
    assert info.value.code == "LIM004" and info.value.path == str(path)


def test_the_decompressed_size_limit_applies_to_a_real_size_feed(tmp_path):
    from cimkit.errors import ResourceLimitError
    from cimkit.options import set_options

    path = write_tiny_feed(tmp_path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("shapes.txt", "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n" * 30_000)
    with set_options(max_decompressed_mb=1), pytest.raises(ResourceLimitError) as info:
        read_gtfs(path)
    assert info.value.code == "LIM003"
    assert len(read_gtfs(path).stops) == 6  # within the default limits it reads


def test_a_zip_slip_member_is_refused(tmp_path):
    path = write_tiny_feed(tmp_path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../evil.txt", "x\n")
    with pytest.raises(FileFormatError) as info:
        read_gtfs(path)
    assert info.value.code == "ARC001"
    assert not (tmp_path.parent / "evil.txt").exists()
