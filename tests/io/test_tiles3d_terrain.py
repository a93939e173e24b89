"""The terrain mesh drawn under a 3D Tiles tileset (cimkit.io._tiles3d_terrain)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from affine import Affine

from cimkit.errors import InputError
from cimkit.io import _gltf
from cimkit.io._tiles3d_terrain import build_terrain_glb
from cimkit.raster import Raster

X0, Y0 = 651_000.0, 6_847_000.0


def _tileset(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from cimkit.io.tiles3d import write_3dtiles

    buildings = gpd.GeoDataFrame(
        {"height_m": [10.0], "base_elevation_m": [50.0]},
        geometry=[box(X0 + 100, Y0 + 100, X0 + 120, Y0 + 110)],
        index=pd_index(),
        crs=2154,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TIL103: heights taken as ellipsoidal
        return write_3dtiles(buildings, tmp_path / "tiles")


def pd_index():
    import pandas as pd

    return pd.Index(["B1"], name="building_id")


def _dem(values: np.ndarray, cell: float = 10.0) -> Raster:
    return Raster(
        values.astype("float32"),
        Affine(cell, 0, X0, 0, -cell, Y0 + cell * values.shape[0]),
        2154,
        nodata=-9999.0,
    )


def _enu(glb: bytes) -> np.ndarray:
    doc, binary = _gltf.split_glb(glb)
    xyz = _gltf.read_accessor(doc, binary, 0).astype("float64")
    return np.column_stack([xyz[:, 0], -xyz[:, 2], xyz[:, 1]])  # glTF (e, u, -n) -> (e, n, u)


def test_terrain_follows_the_dem_in_the_tileset_frame(tmp_path):
    # a plane rising 1 m per 10 m eastwards: 21 x 21 cells of 10 m
    values = 40.0 + np.tile(np.arange(21, dtype="float64"), (21, 1))
    tileset = _tileset(tmp_path)
    enu = _enu(build_terrain_glb(_dem(values), tileset))
    assert len(enu) == 21 * 21
    origin = json.loads(tileset.read_text())["extras"]["cimkit"]["origin"]
    # every vertex: up = DEM value - origin height, to the Earth's curvature over 200 m (< 5 mm)
    east = enu[:, 0] + origin[0]
    expected = 40.0 + np.round((east - X0 - 5.0) / 10.0) - origin[2]
    assert np.abs(enu[:, 2] - expected).max() < 0.005
    # neighbouring vertices are one cell (10 m) apart, on the ground (row-major order kept)
    grid = enu.reshape(21, 21, 3)
    assert np.allclose(np.linalg.norm(np.diff(grid[:, :, :2], axis=1), axis=2), 10.0, atol=0.02)
    assert np.allclose(np.linalg.norm(np.diff(grid[:, :, :2], axis=0), axis=2), 10.0, atol=0.02)


def test_nodata_cells_are_holes_and_errors_are_typed(tmp_path):
    values = np.full((10, 10), 45.0)
    values[:5, :5] = -9999.0  # the north-west quarter is nodata
    tileset = _tileset(tmp_path)
    doc, binary = _gltf.split_glb(build_terrain_glb(_dem(values), tileset))
    enu = _enu(build_terrain_glb(_dem(values), tileset))
    assert len(enu) == 100 - 25
    assert np.allclose(
        enu[:, 2] + json.loads(tileset.read_text())["extras"]["cimkit"]["origin"][2], 45.0, atol=0.005
    )
    indices = _gltf.read_accessor(doc, binary, 2)
    assert indices.max() < len(enu) and len(indices) % 3 == 0
    with pytest.raises(InputError) as err:
        build_terrain_glb(_dem(np.full((5, 5), -9999.0)), tileset)
    assert err.value.code == "TIL009"
    other = Raster(values.astype("float32"), Affine(10, 0, 2.3, 0, -10, 48.9), 4326, nodata=-9999.0)
    with pytest.raises(InputError) as err:
        build_terrain_glb(other, tileset)
    assert err.value.code == "TIL009"
