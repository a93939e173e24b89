"""``cimkit convert ... --to postgresql://...``: a batch saved into PostGIS, updated in place."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from cimkit.cli.main import main
from cimkit.io.postgis import read_postgis

pytestmark = pytest.mark.xdist_group("postgis")


def _square(i: int, name: str) -> dict:
    x, y = 651000 + 20 * i, 6847000
    ring = [[x, y], [x + 10, y], [x + 10, y + 10], [x, y + 10], [x, y]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _write(path: Path, names: list[str]) -> Path:
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        "features": [_square(i, n) for i, n in enumerate(names)],
    }
    path.write_text(json.dumps(collection))
    return path


def _times(dsn: str, table: str) -> list:
    base, schema = dsn.split("?schema=")
    with psycopg.connect(base) as conn:
        query = sql.SQL("SELECT _cimkit_updated FROM {}.{} ORDER BY _cimkit_row").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        return [row[0] for row in conn.execute(query).fetchall()]


def test_convert_to_postgis_updates_only_what_changed(city_dsn, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    sheds = _write(folder / "sheds.geojson", ["a", "b", "c"])
    kiosks = _write(folder / "kiosks.geojson", ["k1", "k2"])
    assert main(["-q", "convert", str(folder), "--to", city_dsn]) == 0
    stored = read_postgis(city_dsn)
    assert stored.layers["sheds"]["name"].tolist() == ["a", "b", "c"]
    assert stored.layers["kiosks"].total_bounds.tolist() == [651000.0, 6847000.0, 651030.0, 6847010.0]
    assert [Path(s.path).name for s in stored.records["sheds"].source_files] == ["sheds.geojson"]
    before = _times(city_dsn, "sheds")
    _write(sheds, ["a", "B", "c"])  # one feature changed
    kiosks.unlink()  # a deleted source: its layer goes away
    capsys.readouterr()
    assert main(["-q", "convert", str(folder), "--to", city_dsn]) == 0
    out = capsys.readouterr().out
    assert "sheds: 0 inserted, 1 updated, 0 deleted, 2 unchanged" in out
    after = _times(city_dsn, "sheds")
    assert [a == b for a, b in zip(after, before)] == [True, False, True]
    again = read_postgis(city_dsn)
    assert again.layers["sheds"]["name"].tolist() == ["a", "B", "c"] and "kiosks" not in again.layers
