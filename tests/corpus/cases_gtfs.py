"""Corpus cases: GTFS feeds (missing tables, times past 24:00, unknown stop ids, zip bombs, zip slip).

Damaged copies of the Cairns feed of the shared data (members rewritten into a new zip under
``tmp`` at test time), and small feeds written from scratch.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from cimkit import provenance
from cimkit.io.gtfs import read_gtfs
from tests.corpus._registry import corpus_case

CAIRNS = "gtfs_cairns/cairns_gtfs.zip"

TINY = {
    "stops.txt": "stop_id,stop_lat,stop_lon\nGARE,-16.92,145.77\nPLAGE,-16.90,145.75\n",
    "routes.txt": "route_id,route_type\nN1,3\n",
    "trips.txt": "route_id,service_id,trip_id\nN1,WK,NIGHT\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "NIGHT,23:50:00,23:50:00,GARE,1\nNIGHT,25:10:00,25:10:30,PLAGE,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20140101,20141231\n"
    ),
}


def _members(shared: Path | None) -> dict[str, bytes]:
    assert shared is not None
    with zipfile.ZipFile(shared / CAIRNS) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(tmp: Path, members: dict, name: str = "feed.zip") -> Path:
    path = tmp / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


@corpus_case("gtfs/cairns-real", expect="repaired", code="GTF101", needs_shared=True)
def _cairns(tmp, shared):
    feed = read_gtfs(shared / CAIRNS, date="2014-06-10")
    # MANIFEST: 22 routes, 416 stops, 1 339 trips, 37 790 stop_times (their empty times interpolated)
    assert (len(feed.routes), len(feed.stops), len(feed.trips), len(feed.stop_times)) == (
        22,
        416,
        1339,
        37790,
    )
    steps = {s.action: s.params for s in provenance.get(feed.stops).steps}
    assert steps["interpolate"]["count"] > 0
    raw = list(csv.DictReader(io.StringIO(_members(shared)["stop_times.txt"].decode("utf-8-sig"))))
    assert steps["interpolate"]["count"] == sum(1 for r in raw if not r["arrival_time"].strip())


@corpus_case("gtfs/cairns-times-past-midnight", expect="repaired", code="GTF101", needs_shared=True)
def _cairns_after_midnight(tmp, shared):
    raw = list(csv.DictReader(io.StringIO(_members(shared)["stop_times.txt"].decode("utf-8-sig"))))
    late = {}
    for r in raw:
        text = r["arrival_time"].strip()
        if text and int(text.split(":")[0]) >= 24:
            h, m, s = (int(v) for v in text.split(":"))
            late[(r["trip_id"], int(r["stop_sequence"]))] = h * 3600 + m * 60 + s
    assert late, "the Cairns feed has service after midnight"
    feed = read_gtfs(shared / CAIRNS)
    st = feed.stop_times.set_index(["trip_id", "stop_sequence"])["arrival_s"]
    assert all(st[key] == seconds and seconds >= 86_400 for key, seconds in late.items())


@corpus_case("gtfs/time-25-10-00", expect="ok")
def _tiny_after_midnight(tmp, shared):
    feed = read_gtfs(_zip(tmp, TINY))
    st = feed.stop_times.set_index("stop_id")
    assert st.loc["PLAGE", "arrival_s"] == 25 * 3600 + 10 * 60 == 90_600
    assert st.loc["PLAGE", "departure_s"] == 90_630 and st.loc["GARE", "arrival_s"] == 85_800


@corpus_case("gtfs/missing-stops-txt", expect="error", code="GTF001", needs_shared=True)
def _missing_stops(tmp, shared):
    members = _members(shared)
    del members["stops.txt"]
    read_gtfs(_zip(tmp, members))


@corpus_case("gtfs/unknown-stop-id", expect="error", code="GTF004", needs_shared=True)
def _unknown_stop(tmp, shared):
    members = _members(shared)
    text = members["stop_times.txt"].decode("utf-8-sig").splitlines()
    text[5] = text[5].replace(text[5].split(",")[3], "NO-SUCH-STOP", 1)
    members["stop_times.txt"] = ("\n".join(text) + "\n").encode()
    try:
        read_gtfs(_zip(tmp, members))
    except Exception as err:
        assert getattr(err, "entity", None) == "NO-SUCH-STOP"
        raise


@corpus_case("gtfs/zip-bomb", expect="error", code="LIM004", needs_shared=True)
def _bomb(tmp, shared):
    members = _members(shared)
    members["shapes.txt"] = b"\0" * (64 * 1024 * 1024)  # 64 MiB of zeros in ~60 kB
    path = _zip(tmp, members)
    assert path.stat().st_size < 1_000_000
    read_gtfs(path)


@corpus_case("gtfs/zip-slip", expect="error", code="ARC001")
def _zip_slip(tmp, shared):
    read_gtfs(_zip(tmp, {**TINY, "../../../tmp/evil.txt": "x\n"}))


@corpus_case("gtfs/not-a-zip", expect="error", code="GTF006")
def _not_a_zip(tmp, shared):
    path = tmp / "feed.zip"
    path.write_text("stop_id,stop_lat,stop_lon\n")
    read_gtfs(path)
