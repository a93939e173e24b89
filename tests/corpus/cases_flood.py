"""Corpus cases: flood analyses given nonsense (NaN levels, negative depths, no buildings ...).

Each case would, before the checks, have returned an all-zero, all-NaN or negative result
without a word.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from affine import Affine
from shapely.geometry import box

from cimkit.analysis.flood import (
    compute_bathtub_depth,
    compute_building_damage,
    compute_building_depths,
    compute_ead_weights,
    compute_flood_depths,
    compute_hand_depth,
)
from cimkit.raster import Raster
from tests.corpus._registry import corpus_case

LAMBERT = "EPSG:2154"
TRANSFORM = Affine(5, 0, 351000, 0, -5, 6789010)


def _dem(values=None):
    """A 4 x 6 slope from 40 m (west) to 45 m (east) in 5 m cells."""
    if values is None:
        values = np.tile(np.arange(40.0, 46.0), (4, 1))
    return Raster(values, TRANSFORM, LAMBERT)


def _buildings():
    """Two 10 m x 10 m footprints on the west (low) half of the slope."""
    return gpd.GeoDataFrame(
        {"use": ["residential", "commercial"]},
        geometry=[box(351000, 6788990, 351010, 6789000), box(351010, 6788990, 351020, 6789000)],
        index=["B1", "B2"],
        crs=LAMBERT,
    )


@corpus_case("flood/nan-water-level", expect="error", code="ANA011")
def _nan_level(tmp, shared):
    compute_bathtub_depth(_dem(), float("nan"))


@corpus_case("flood/all-nan-water-level-grid", expect="error", code="ANA011")
def _nan_level_grid(tmp, shared):
    # before: an all-zero depth grid ("nothing floods")
    compute_bathtub_depth(_dem(), np.full((4, 6), np.nan))


@corpus_case("flood/infinite-level-in-scenarios", expect="error", code="ANA011")
def _inf_level(tmp, shared):
    compute_flood_depths(_dem(), {10: 41.0, 100: float("inf")})


@corpus_case("flood/negative-external-depths", expect="error", code="ANA012")
def _negative_depths(tmp, shared):
    # water-surface elevations minus ground taken the wrong way round: before, used as depths
    depth = Raster(-np.abs(np.tile(np.arange(0.0, 6.0), (4, 1))), TRANSFORM, LAMBERT)
    compute_flood_depths(None, {100: depth}, method="depth")


@corpus_case("flood/negative-depths-into-damage", expect="error", code="ANA012")
def _negative_damage(tmp, shared):
    depth = Raster(np.full((4, 6), -1.5), TRANSFORM, LAMBERT)
    depth.attrs["return_period"] = 100.0
    compute_building_damage(_buildings(), {100: depth})


@corpus_case("flood/negative-hand-stage", expect="error", code="ANA012")
def _negative_stage(tmp, shared):
    hand = Raster(np.tile(np.arange(0.0, 6.0), (4, 1)), TRANSFORM, LAMBERT)
    compute_hand_depth(hand, -2.0)  # before: all dry, 0 m everywhere


@corpus_case("flood/nan-return-period", expect="error", code="ANA013")
def _nan_return_period(tmp, shared):
    compute_flood_depths(_dem(), {float("nan"): 42.0, 100: 43.0})


@corpus_case("flood/nan-return-period-ead", expect="error", code="ANA013")
def _nan_return_period_ead(tmp, shared):
    compute_ead_weights([10.0, float("nan"), 1000.0])


@corpus_case("flood/empty-buildings", expect="error", code="ANA014")
def _empty_buildings(tmp, shared):
    depth = compute_bathtub_depth(_dem(), 42.5)
    # before: an empty table, as if no building were exposed
    compute_building_depths(_buildings().iloc[:0], depth)


@corpus_case("flood/all-nan-dem", expect="error", code="ANA010")
def _all_nan_dem(tmp, shared):
    # before the check (in the bathtub): an all-NaN depth grid
    compute_flood_depths(_dem(np.full((4, 6), np.nan)), {100: 42.0})


@corpus_case("flood/all-nodata-depth-grid", expect="error", code="ANA010")
def _all_nodata_depth(tmp, shared):
    depth = Raster(np.full((4, 6), -9999.0), TRANSFORM, LAMBERT, nodata=-9999.0)
    compute_building_depths(_buildings(), depth)  # before: NaN for every building


@corpus_case("flood/partial-nan-level-grid", expect="ok")
def _partial_level(tmp, shared):
    # NaN where there is no water surface is legitimate: the rest floods as usual
    level = np.full((4, 6), np.nan)
    level[:, :3] = 42.5
    depth = compute_bathtub_depth(_dem(), level, connected=False)
    assert depth.values[0, :3].tolist() == [2.5, 1.5, 0.5] and depth.values[0, 3:].tolist() == [0.0] * 3
    table = compute_building_depths(_buildings(), depth)
    # B1 covers the 40 m and 41 m cells (depths 2.5, 1.5), B2 the 42 m and 43 m cells (0.5, 0)
    assert table.loc["B1", "max_depth_m"] == 2.5 and table.loc["B1", "mean_depth_m"] == 2.0
    assert table.loc["B2", "mean_depth_m"] == 0.25 and table.loc["B2", "flooded_share"] == 0.5


@corpus_case("flood/dem-covers-part-of-the-buildings", expect="repaired", code="COV001")
def _partial_cover(tmp, shared):
    from cimkit.analysis.flood import assess
    from cimkit.model import CityModel

    model = CityModel(LAMBERT)
    values = np.tile(np.arange(40.0, 46.0), (4, 1))
    values[:, 3:] = -9999.0  # the east half of the DEM has no data (declared)
    model.set_dem(Raster(values, TRANSFORM, LAMBERT, nodata=-9999.0))
    far = box(351200, 6788990, 351210, 6789000)  # 170 m east of the grid
    buildings = _buildings()
    buildings.loc["B3"] = ["residential", far]
    buildings.loc["B4"] = ["residential", box(351020, 6788990, 351030, 6789000)]  # on no-data cells
    model.add_layer("buildings", buildings)
    result = assess(model, {100: 42.5}, method="bathtub")
    depth = result.buildings["depth_m_rp100"]
    assert depth["B1"] == 2.5 and np.isnan(depth["B3"]) and np.isnan(depth["B4"])
    assert result.city["buildings_without_depth"] == 2.0
