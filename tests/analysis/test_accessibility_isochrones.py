"""Isochrone polygons on a straight street, checked against shapely buffers computed directly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.accessibility import compute_isochrones
from cimkit.errors import ValidationError
from cimkit.network.graph import Network


def _street(oneway: bool = False) -> Network:
    # nodes 10 (0 m), 11 (100 m), 12 (200 m) along x; walking 80 m/min
    nodes = gpd.GeoDataFrame(
        geometry=shapely.points([(0, 0), (100, 0), (200, 0)]),
        index=pd.Index([10, 11, 12], name="node_id"),
        crs=2154,
    )
    edges = gpd.GeoDataFrame(
        {"u": [10, 11], "v": [11, 12], "oneway": [False, oneway]},
        geometry=[shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (200, 0)])],
        index=pd.Index([1, 2], name="edge_id"),
        crs=2154,
    )
    edges["walk_time_min"] = edges.geometry.length / 80.0
    edges["bike_time_min"] = edges.geometry.length / 250.0  # 15 km/h
    return Network(nodes, edges, kind="road")


def test_partial_edge_is_clipped_at_remaining_time():
    iso = compute_isochrones(_street(), pd.Series([10], index=["home"]), [2.0, 5.0], buffer_m=25)
    # 2 min at 80 m/min = 160 m: the first edge whole, 60 m of the second
    first = iso.iloc[0]
    assert first["origin"] == "home" and first["max_time_min"] == 2.0
    assert first["reached_length_m"] == pytest.approx(160.0)
    expected = shapely.buffer(shapely.LineString([(0, 0), (160, 0)]), 25)
    assert first.geometry.symmetric_difference(expected).area < 1.0  # m²
    # 5 min = 400 m > 200 m of street: the whole street
    assert iso.iloc[1]["reached_length_m"] == pytest.approx(200.0)
    assert iso.iloc[1].geometry.area == pytest.approx(
        shapely.buffer(shapely.LineString([(0, 0), (200, 0)]), 25).area, rel=1e-6
    )
    assert iso.crs.to_epsg() == 2154


def test_oneway_and_access_walk():
    # by bike from node 12, with 11 -> 12 one-way, nothing can be entered
    iso = compute_isochrones(_street(oneway=True), pd.Series([12], index=["p"]), 0.5, weight="bike_time_min")
    assert iso.iloc[0]["reached_length_m"] == 0.0
    # on foot the one-way street is walked backwards: 2 min = 160 m
    walk = compute_isochrones(_street(oneway=True), pd.Series([12], index=["p"]), 2.0)
    assert walk.iloc[0]["reached_length_m"] == pytest.approx(160.0)
    # a point 40 m off node 10 spends 0.5 min on the access walk -> 1.5 min = 120 m of street
    pt = gpd.GeoDataFrame(geometry=[shapely.Point(0, 40)], index=["q"], crs=2154)
    iso2 = compute_isochrones(_street(), pt, 2.0)
    assert iso2.iloc[0]["reached_length_m"] == pytest.approx(120.0)
    # budget below the access walk: empty
    assert compute_isochrones(_street(), pt, 0.25).iloc[0].geometry.is_empty


def test_bad_budgets():
    with pytest.raises(ValidationError):
        compute_isochrones(_street(), [10], [-1.0])
    with pytest.raises(ValidationError):
        compute_isochrones(_street(), [10], 5.0, buffer_m=0)
    assert np.isfinite(compute_isochrones(_street(), [10], 1.0).iloc[0]["reached_length_m"])
