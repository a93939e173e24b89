"""Tests of cimkit.analysis.flood.exposure: exact coverage, building depths, first floor."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cimkit.analysis.flood import (
    compute_building_depths,
    compute_coverage_fractions,
    compute_first_floor_height,
    compute_footprint_stats,
)
from cimkit.errors import CRSError, GeometryError
from cimkit.raster import Raster


def _cells(grid: Raster) -> np.ndarray:
    nrows, ncols = grid.shape
    t = grid.transform
    boxes = []
    for r in range(nrows):
        for c in range(ncols):
            x0, y0 = t.c + c * t.a, t.f + r * t.e
            x1, y1 = x0 + t.a, y0 + t.e
            boxes.append(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    return np.array(boxes)


def test_coverage_matches_shapely_intersections():
    # reference: the area of shapely.intersection(cell, polygon) for every cell
    grid = Raster(np.zeros((9, 13)), Affine(2.5, 0, 100.0, 0, -2.0, 220.0), "EPSG:2154")
    cells = _cells(grid)
    rng = np.random.default_rng(7)
    for i in range(60):
        centre = shapely.Point(rng.uniform(95, 140), rng.uniform(198, 225))
        poly = centre.buffer(rng.uniform(0.3, 9), quad_segs=int(rng.integers(1, 6)))
        if i % 3 == 0:  # a courtyard (hole)
            poly = poly.difference(centre.buffer(poly.area**0.5 * 0.2))
        if i % 4 == 0:  # a second part
            poly = shapely.union(poly, shapely.box(101.3, 201.1, 104.9, 203.7))
        if i % 2:  # clockwise exterior
            poly = shapely.reverse(poly)
        got = compute_coverage_fractions(poly, grid) * grid.cell_area
        expected = shapely.area(shapely.intersection(cells, poly)).reshape(grid.shape)
        np.testing.assert_allclose(got, expected, atol=1e-9)


def test_building_depths_by_hand():
    # 2 x 2 depth grid of 1 m cells: [[0, 1], [2, 3]] with the top-left corner at (0, 2)
    depth = Raster(np.array([[0.0, 1.0], [2.0, 3.0]]), Affine(1, 0, 0, 0, -1, 2), "EPSG:2154")
    buildings = gpd.GeoDataFrame(
        geometry=[
            shapely.box(0.5, 0.5, 1.5, 1.5),  # a quarter of each cell
            shapely.box(0.0, 1.0, 1.0, 2.0),  # the dry cell only
            shapely.box(0.0, 0.0, 2.0, 0.5),  # half of the bottom row
            shapely.box(10, 10, 11, 11),  # outside the grid
        ],
        index=pd_index(["a", "b", "c", "d"]),
        crs="EPSG:2154",
    )
    out = compute_building_depths(buildings, depth)
    assert list(out.columns) == ["max_depth_m", "mean_depth_m", "flooded_share"]
    # a: mean (0 + 1 + 2 + 3) / 4 = 1.5, max 3, three of four quarters wet
    assert out.loc["a"].tolist() == pytest.approx([3.0, 1.5, 0.75])
    assert out.loc["b"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert out.loc["c"].tolist() == pytest.approx([3.0, 2.5, 1.0])
    assert out.loc["d"].isna().all()


def test_nodata_is_left_out_and_rasterize_would_differ():
    values = np.array([[np.nan, 1.0], [2.0, 4.0]])
    depth = Raster(values, Affine(1, 0, 0, 0, -1, 2), "EPSG:2154", nodata=np.nan)
    # a small footprint mostly in the 4 m cell but not covering its centre: rasterize by
    # cell centre would give it no cell at all
    b = gpd.GeoDataFrame(
        geometry=[shapely.box(1.05, 0.05, 1.45, 0.45), shapely.box(0, 1, 2, 2)], crs="EPSG:2154"
    )
    out = compute_building_depths(b, depth)
    assert out.iloc[0].tolist() == pytest.approx([4.0, 4.0, 1.0])
    # second footprint: top row = no data + 1 m: the no-data half is left out
    assert out.iloc[1].tolist() == pytest.approx([1.0, 1.0, 1.0])
    stats = compute_footprint_stats(b, depth)
    assert stats["covered_m2"].tolist() == pytest.approx([0.16, 2.0])
    assert stats["valid_m2"].tolist() == pytest.approx([0.16, 1.0])


def test_first_floor_height_sources():
    dem = Raster(np.full((4, 4), 10.0), Affine(5, 0, 0, 0, -5, 20), "EPSG:2154")
    b = gpd.GeoDataFrame(
        {
            "ground_floor_elevation_m": [10.4, np.nan, np.nan],
            "first_floor_height_m": [0.9, 0.3, np.nan],
        },
        geometry=[shapely.box(1, 1, 6, 6), shapely.box(7, 7, 9, 9), shapely.box(11, 11, 14, 14)],
        crs="EPSG:2154",
    )
    out = compute_first_floor_height(b, dem, default_first_floor_m=0.2)
    assert out["first_floor_height_m"].tolist() == pytest.approx([0.4, 0.3, 0.2])
    assert out["first_floor_source"].tolist() == ["ifc", "attribute", "default"]
    b.loc[0, "ground_floor_elevation_m"] = 9.0
    with pytest.warns(UserWarning, match="below the terrain"):
        compute_first_floor_height(b, dem)


def test_errors():
    depth = Raster(np.zeros((2, 2)), Affine(1, 0, 0, 0, -1, 2), "EPSG:2154")
    with pytest.raises(CRSError, match="to_crs"):
        compute_building_depths(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:3857"), depth)
    with pytest.raises(GeometryError, match="Polygon"):
        compute_building_depths(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:2154"), depth)


def pd_index(values):
    import pandas as pd

    return pd.Index(values, name="building_id")
