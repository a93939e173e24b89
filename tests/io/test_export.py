"""CityJSON LoD1 export, read back with cimkit.read_cityjson and checked by hand."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from cimkit.errors import PlacementWarning
from cimkit.io.cityjson import read_cityjson
from cimkit.io.export import write_cityjson
from cimkit.options import set_options


def test_cityjson_round_trip(tmp_path):
    court = Polygon([(0, 0), (30, 0), (30, 20), (0, 20)], holes=[[(10, 5), (20, 5), (20, 15), (10, 15)]])
    buildings = gpd.GeoDataFrame(
        {
            "height_m": [9.0, np.nan, 4.0],
            "storeys": [3, 2, 1],
            "base_elevation_m": [41.5, 40.0, np.nan],
            "use": ["residential", "office", "retail"],
        },
        geometry=[court, box(50, 0, 60, 10), box(70, 0, 75, 8)],
        index=pd.Index(["A", "B", "C"], name="building_id"),
        crs=2154,
    )
    path = write_cityjson(buildings, tmp_path / "city.city.json")
    doc = json.loads(path.read_text())
    assert doc["version"] == "2.0" and doc["metadata"]["referenceSystem"].endswith("/EPSG/0/2154")
    a = doc["CityObjects"]["A"]["geometry"][0]
    assert a["type"] == "Solid" and len(a["boundaries"][0]) == 2 + 4 + 4  # floor, roof, 8 walls
    # local coordinates near (0, 0) in Lambert-93: kept on purpose (the test is about the round trip)
    with set_options(placement="accept"), pytest.warns(PlacementWarning, match="local coordinates"):
        back = read_cityjson(path)
    assert back.crs.to_epsg() == 2154
    assert back.loc["A"].geometry.area == pytest.approx(600 - 100)  # courtyard kept as a hole
    # heights: given (9 m), from storeys (2 x 3 m), given (4 m); bases: 41.5, 40, 0
    assert back["height_m"].to_dict() == pytest.approx({"A": 9.0, "B": 6.0, "C": 4.0})
    assert back["base_elevation_m"].to_dict() == pytest.approx({"A": 41.5, "B": 40.0, "C": 0.0})
    assert back.loc["B"].geometry.equals(box(50, 0, 60, 10))


def test_export_refuses_missing_crs(tmp_path):
    from cimkit.errors import MissingCRSError

    with pytest.raises(MissingCRSError):
        write_cityjson(gpd.GeoDataFrame({"height_m": [3.0]}, geometry=[box(0, 0, 1, 1)]), tmp_path / "x.json")


def test_cityjson_write_is_atomic_and_typed(tmp_path, monkeypatch):
    from cimkit import _atomic
    from cimkit.errors import CimkitIOError

    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0]}, geometry=[box(651000, 6847000, 651010, 6847010)], index=["A"], crs=2154
    )
    dest = write_cityjson(buildings, tmp_path / "city.json")
    before = dest.read_bytes()
    real_replace = _atomic.os.replace
    seen = []

    def check_then_replace(src, dst):  # at the rename the temporary is complete and verified
        seen.append(json.loads(open(src, encoding="utf-8").read())["CityObjects"]["A"]["attributes"])
        real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", check_then_replace)
    write_cityjson(buildings.assign(height_m=9.0), dest)
    assert seen == [{"height_m": 9.0, "measuredHeight": 9.0}]
    assert json.loads(dest.read_text())["CityObjects"]["A"]["attributes"]["measuredHeight"] == 9.0

    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    dest.write_bytes(before)
    with pytest.raises(CimkitIOError) as info:
        write_cityjson(buildings, tmp_path / "city.json" / "inner.json")
    assert info.value.code == "WRT003" and "is a file" in str(info.value)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.json"]
