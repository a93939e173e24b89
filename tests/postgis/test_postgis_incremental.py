"""Incremental saves: a rebuild after one IFC file changed rewrites only that building's rows."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from cimkit import provenance as prov
from cimkit.io.ifc import read_ifc
from cimkit.io.postgis import read_postgis, write_postgis
from tests.io import ifc_factory as F

pytestmark = pytest.mark.xdist_group("postgis")


def _write_houses(folder: Path) -> list[Path]:
    paths = []
    for i in range(3):
        f, project, body = F.new_project()
        F.add_house(f, project, body, storeys=2 + i, name=f"Maison {i}")
        F.map_conversion(f, epsg=2154, eastings=651000 + 30 * i, northings=6847000)
        paths.append(F.write(f, folder / f"house{i}.ifc"))
    return paths


def _build(paths: list[Path]):
    """A build: every IFC file read into one buildings layer with the files' record."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = [read_ifc(p, sandbox=False).drop(columns=["source"], errors="ignore") for p in paths]
    buildings = pd.concat(frames)
    record = prov.record_for_files(paths, reader="cimkit.read_ifc")
    record.layer = "buildings"
    return buildings, record


def _row_times(dsn: str) -> dict[str, object]:
    base, schema = dsn.split("?schema=")
    with psycopg.connect(base) as conn:
        rows = conn.execute(
            psycopg.sql.SQL("SELECT building_id, _cimkit_updated FROM {}.buildings").format(
                psycopg.sql.Identifier(schema)
            )
        ).fetchall()
    return dict(rows)


def test_rebuild_after_one_ifc_changed_rewrites_only_that_building(city_dsn, tmp_path):
    paths = _write_houses(tmp_path)
    buildings, record = _build(paths)
    first = write_postgis(city_dsn, crs=2154, layers={"buildings": buildings}, records={"buildings": record})
    assert first["buildings"]["inserted"] == 3
    before = _row_times(city_dsn)
    changed_id = buildings.index[1]

    # change one IFC file (its building is renamed; GlobalIds stay), then rebuild everything
    text = paths[1].read_text()
    assert text.count("'Maison 1'") == 1
    paths[1].write_text(text.replace("'Maison 1'", "'Maison 1 bis'"))
    rebuilt, new_record = _build(paths)
    assert rebuilt.index.tolist() == buildings.index.tolist()
    counts = write_postgis(
        city_dsn, crs=2154, layers={"buildings": rebuilt}, records={"buildings": new_record}
    )
    assert counts["buildings"] == {"inserted": 0, "updated": 1, "deleted": 0, "unchanged": 2}

    after = _row_times(city_dsn)
    assert after[changed_id] > before[changed_id]
    assert {k: v for k, v in after.items() if k != changed_id} == {
        k: v for k, v in before.items() if k != changed_id
    }
    stored = read_postgis(city_dsn)
    assert stored.layers["buildings"].loc[changed_id, "name"] == "Maison 1 bis"
    steps = stored.records["buildings"].steps
    assert [s.action for s in steps] == ["update_postgis"]
    assert steps[0].params == {"inserted": 0, "updated": 1, "deleted": 0, "unchanged": 2}
    old_sha = {Path(s.path).name: s.sha256 for s in record.source_files}
    new_sha = {Path(s.path).name: s.sha256 for s in stored.records["buildings"].source_files}
    assert [name for name in new_sha if new_sha[name] != old_sha[name]] == ["house1.ifc"]

    # a deleted source removes its rows, and only them
    gone_id = rebuilt.index[2]
    paths[2].unlink()
    smaller, smaller_record = _build(paths[:2])
    counts = write_postgis(
        city_dsn, crs=2154, layers={"buildings": smaller}, records={"buildings": smaller_record}
    )
    assert counts["buildings"] == {"inserted": 0, "updated": 0, "deleted": 1, "unchanged": 2}
    final = _row_times(city_dsn)
    assert gone_id not in final and final[changed_id] == after[changed_id]
    assert read_postgis(city_dsn).layers["buildings"].index.tolist() == smaller.index.tolist()


def test_an_unchanged_model_is_not_rewritten_and_a_new_column_rewrites_the_table(city_dsn, tmp_path):
    buildings, record = _build(_write_houses(tmp_path))
    write_postgis(city_dsn, crs=2154, layers={"buildings": buildings}, records={"buildings": record})
    before = _row_times(city_dsn)
    same = write_postgis(city_dsn, crs=2154, layers={"buildings": buildings}, records={"buildings": record})
    assert same["buildings"] == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 3}
    assert _row_times(city_dsn) == before
    assert read_postgis(city_dsn).records["buildings"].steps == []  # nothing changed, nothing recorded
    wider = buildings.assign(roof="flat")
    counts = write_postgis(city_dsn, crs=2154, layers={"buildings": wider}, records={"buildings": record})
    assert counts["buildings"]["inserted"] == 3  # new layout: the table is created again
    assert read_postgis(city_dsn).layers["buildings"]["roof"].tolist() == ["flat"] * 3
    shutil.rmtree(tmp_path, ignore_errors=True)
