"""A save is one transaction under an advisory lock: kills, concurrent writers and readers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
from shapely.geometry import box

from cimkit import provenance as prov
from cimkit.errors import CimkitIOError
from cimkit.io import _postgis_tables
from cimkit.io.postgis import read_postgis, write_postgis

pytestmark = pytest.mark.xdist_group("postgis")
ROOT = Path(__file__).resolve().parents[2]


def _layers(version: int, n: int = 50) -> dict[str, gpd.GeoDataFrame]:
    """Two layers whose values say which version wrote them."""
    index = pd.Index([f"B{i:04d}" for i in range(n)], name="building_id")
    buildings = gpd.GeoDataFrame(
        {"height_m": [float(version)] * n, "storeys": [version] * n},
        geometry=[box(651000 + 20 * i, 6847000, 651010 + 20 * i, 6847010) for i in range(n)],
        index=index,
        crs=2154,
    )
    parcels = gpd.GeoDataFrame(
        {"version": [version] * (n // 2)},
        geometry=[box(651000 + 40 * i, 6846990, 651030 + 40 * i, 6847020) for i in range(n // 2)],
        index=pd.Index([f"P{i:04d}" for i in range(n // 2)], name="parcel_id"),
        crs=2154,
    )
    return {"buildings": buildings, "parcels": parcels}


def _versions(dsn: str) -> tuple[set[float], set[int]]:
    stored = read_postgis(dsn)
    return set(stored.layers["buildings"]["height_m"]), set(stored.layers["parcels"]["version"])


def test_a_save_killed_mid_way_leaves_the_previous_version(city_dsn, tmp_path):
    write_postgis(city_dsn, crs=2154, layers=_layers(1))
    script = tmp_path / "killed_save.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            sys.path.insert(0, sys.argv[2])
            from cimkit.io import _postgis_tables
            from cimkit.io.postgis import write_postgis
            from tests.postgis.test_postgis_transactions import _layers

            def die(table):  # the buildings table is rewritten, the parcels not yet
                print("killed after", table, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

            _postgis_tables.after_table_hook = die
            write_postgis(sys.argv[1], crs=2154, layers=_layers(2, n=60))
            """
        )
    )
    run = subprocess.run(
        [sys.executable, str(script), city_dsn, str(ROOT)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == -9, run.stderr
    assert "killed after buildings" in run.stdout
    stored = read_postgis(city_dsn)
    assert len(stored.layers["buildings"]) == 50
    assert _versions(city_dsn) == ({1.0}, {1})
    # the lock died with the session: the next save goes through at once
    write_postgis(city_dsn, crs=2154, layers=_layers(3), wait_s=5)
    assert _versions(city_dsn) == ({3.0}, {3})


def test_a_second_writer_waits_or_gets_a_clear_error(city_dsn, postgis_dsn):
    write_postgis(city_dsn, crs=2154, layers=_layers(1))
    schema = city_dsn.rsplit("schema=", 1)[1]
    with psycopg.connect(postgis_dsn) as holder:  # another save in progress holds the schema
        holder.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cimkit:{schema}"])
        with pytest.raises(CimkitIOError) as err:
            write_postgis(city_dsn, crs=2154, layers=_layers(2), wait_s=0.3)
        assert err.value.code == "MOD051" and "wait_s" in str(err.value)
        holder.rollback()
    assert _versions(city_dsn) == ({1.0}, {1})


def test_concurrent_saves_end_with_one_whole_version(city_dsn):
    write_postgis(city_dsn, crs=2154, layers=_layers(0))
    errors: list[BaseException] = []

    def save(version: int) -> None:
        try:
            write_postgis(city_dsn, crs=2154, layers=_layers(version, n=40 + version), wait_s=60)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=save, args=(v,)) for v in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    heights, versions = _versions(city_dsn)
    assert heights in ({1.0}, {2.0}) and versions == {int(heights.pop())}
    stored = read_postgis(city_dsn)
    version = int(stored.layers["buildings"]["storeys"].iloc[0])
    assert len(stored.layers["buildings"]) == 40 + version
    assert len(stored.layers["parcels"]) == (40 + version) // 2


def test_readers_see_the_previous_version_until_commit(city_dsn):
    records = {"buildings": prov.Provenance(reader="test")}
    write_postgis(city_dsn, crs=2154, layers=_layers(1), records=records)
    reached, release = threading.Event(), threading.Event()

    def pause(table: str) -> None:
        if table == "parcels":
            reached.set()
            release.wait(timeout=60)

    _postgis_tables.after_table_hook = pause
    try:
        writer = threading.Thread(
            target=write_postgis,
            args=(city_dsn,),
            kwargs={"crs": 2154, "layers": _layers(2), "records": records},
        )
        writer.start()
        assert reached.wait(timeout=60)
        assert _versions(city_dsn) == ({1.0}, {1})  # both tables written, not committed
        release.set()
        writer.join(timeout=60)
    finally:
        _postgis_tables.after_table_hook = None
        release.set()
    assert _versions(city_dsn) == ({2.0}, {2})
    record = read_postgis(city_dsn).records["buildings"]
    assert [s.action for s in record.steps] == ["update_postgis"]
    assert record.steps[0].params == {"inserted": 0, "updated": 50, "deleted": 0, "unchanged": 0}
