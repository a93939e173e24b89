"""Tests of cimkit.analysis.flood.inundation: connected and plain bathtub, scenarios."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cimkit.analysis.flood import (
    compute_bathtub_depth,
    compute_flood_depths,
    compute_hand,
    compute_hand_depth,
)
from cimkit.errors import InputError, ValidationError
from cimkit.raster import Raster

CELL = 2.0  # metres; cell area 4 m²


def levee_dem() -> Raster:
    """Five identical rows across a river bank.

    River 0 m, bank 0.5 m, a levee at 3 m, a depression at 1 m behind it, then rising ground.
    """
    profile = [0.0, 0.5, 3.0, 1.0, 1.0, 1.5, 4.0]
    z = np.array([profile] * 5)
    return Raster(z, Affine(CELL, 0, 500.0, 0, -CELL, 800.0), "EPSG:2154")


def river_mask(dem: Raster) -> np.ndarray:
    mask = np.zeros(dem.shape, dtype=bool)
    mask[:, 0] = True
    return mask


def test_levee_keeps_water_out_of_the_depression():
    dem = levee_dem()
    depth = compute_bathtub_depth(dem, 2.0, inflow=river_mask(dem))
    # by hand: level 2 m reaches the river (2.0 deep) and the bank (1.5); the 3 m levee stops it
    np.testing.assert_array_equal(depth.values[0], [2.0, 1.5, 0, 0, 0, 0, 0])
    assert np.all(depth.values == depth.values[0])
    assert depth.attrs["volume_m3"] == pytest.approx(5 * (2.0 + 1.5) * 4.0)  # 70 m³
    assert depth.attrs["flooded_cells"] == 10


def test_plain_bathtub_floods_the_depression():
    dem = levee_dem()
    depth = compute_bathtub_depth(dem, 2.0, connected=False)
    np.testing.assert_array_equal(depth.values[0], [2.0, 1.5, 0, 1.0, 1.0, 0.5, 0])
    assert depth.attrs["volume_m3"] == pytest.approx(5 * 6.0 * 4.0)  # 120 m³
    # above the levee crest the connected and plain results agree
    high = compute_bathtub_depth(dem, 3.5, inflow=river_mask(dem)).values
    np.testing.assert_array_equal(high, compute_bathtub_depth(dem, 3.5, connected=False).values)
    np.testing.assert_array_equal(high[0], [3.5, 3.0, 0.5, 2.5, 2.5, 2.0, 0])


def test_diagonal_gap_needs_8_connectivity():
    z = np.array([[0.0, 5, 5], [5, 1, 5], [5, 5, 5]])
    dem = Raster(z, Affine(1, 0, 0, 0, -1, 3), "EPSG:2154")
    src = np.zeros((3, 3), dtype=bool)
    src[0, 0] = True
    eight = compute_bathtub_depth(dem, 2.0, inflow=src, connectivity=8).values
    four = compute_bathtub_depth(dem, 2.0, inflow=src, connectivity=4).values
    assert eight[1, 1] == 1.0 and eight[0, 0] == 2.0
    assert four[1, 1] == 0.0 and four[0, 0] == 2.0


def test_sources_as_geometries_edge_and_nodata():
    dem = levee_dem()
    z = dem.values.copy()
    z[2, 5] = -9999.0
    dem_nd = Raster(z, dem.transform, dem.crs, nodata=-9999.0)
    # a river line along the centres of column 0 (x = 501)
    river = gpd.GeoDataFrame(geometry=[shapely.LineString([(501.0, 799.0), (501.0, 791.0)])], crs="EPSG:2154")
    by_line = compute_bathtub_depth(dem_nd, 2.0, inflow=river).values
    assert np.isnan(by_line[2, 5])
    np.testing.assert_array_equal(by_line[0], [2.0, 1.5, 0, 0, 0, 0, 0])
    # default sources: the grid border and cells next to no data; the depression cells next to
    # the hole at (2, 5) are seeds, so the depression floods from there
    edge = compute_bathtub_depth(dem_nd, 2.0).values
    assert edge[2, 4] == 1.0 and edge[1, 3] == 1.0
    # a water surface sloping across the grid
    level = Raster(np.full(dem.shape, 1.0), dem.transform, dem.crs)
    np.testing.assert_array_equal(
        compute_bathtub_depth(dem, level, inflow=river_mask(dem)).values[0], [1, 0.5, 0, 0, 0, 0, 0]
    )


def test_errors():
    dem = levee_dem()
    with pytest.raises(ValidationError, match="connectivity"):
        compute_bathtub_depth(dem, 2.0, connectivity=6)
    with pytest.raises(InputError, match="shape"):
        compute_bathtub_depth(dem, 2.0, inflow=np.zeros((2, 2), dtype=bool))
    with pytest.raises(ValidationError, match="finite"):
        compute_bathtub_depth(dem, float("nan"))
    with pytest.raises(InputError, match="no scenario"):
        compute_flood_depths(dem, {})


def test_flood_scenarios_levels_stages_and_external_depths():
    dem = levee_dem()
    out = compute_flood_depths(dem, {100: 3.5, 10: 2.0}, inflow=river_mask(dem))
    assert list(out) == [10, 100]
    assert out[10].attrs["return_period"] == 10.0
    np.testing.assert_array_equal(out[10].values[0], [2.0, 1.5, 0, 0, 0, 0, 0])
    external = Raster(np.full(dem.shape, 0.7), dem.transform, dem.crs, attrs={"kind": "depth"})
    mixed = compute_flood_depths(dem, {10: 2.0, 1000: external}, inflow=river_mask(dem))
    assert np.all(mixed[1000].values == 0.7)
    # HAND water heights: the same as compute_hand_depth on compute_hand()
    stream = river_mask(dem)
    by_hand = compute_flood_depths(dem, {50: 1.0}, method="hand", streams=stream)[50]
    np.testing.assert_array_equal(
        by_hand.values, compute_hand_depth(compute_hand(dem, streams=stream), 1.0).values
    )
    with pytest.raises(InputError, match="depth Raster"):
        compute_flood_depths(dem, {10: 2.0}, method="depth")
    # a Series indexed by return period (as read from a CSV) gives the same grids, keyed by float
    import pandas as pd

    from_series = compute_flood_depths(dem, pd.Series({100: 3.5, 10: 2.0}), inflow=river_mask(dem))
    assert list(from_series) == [10.0, 100.0] and all(isinstance(k, float) for k in from_series)
    np.testing.assert_array_equal(from_series[100].values, out[100].values)
    with pytest.raises(ValidationError, match="return periods"):
        compute_flood_depths(dem, {0: 2.0})
    with pytest.raises(ValidationError, match="return periods"):
        compute_flood_depths(dem, {"ten": 2.0})
    with pytest.raises(InputError, match="DEM is needed"):
        compute_flood_depths(None, {10: 2.0})


@pytest.mark.parametrize("connectivity", [4, 8])
def test_connected_bathtub_matches_scipy_labelling(connectivity):
    # independent reference: scipy.ndimage.label of the cells below the level, keeping the
    # components that hold a source cell
    from scipy import ndimage

    rng = np.random.default_rng(connectivity)
    z = rng.uniform(0, 10, size=(60, 45)).astype("float32")
    z[rng.uniform(size=z.shape) < 0.03] = -9999.0
    dem = Raster(z, Affine(1, 0, 0, 0, -1, 60), "EPSG:2154", nodata=-9999.0)
    valid = z != -9999.0
    structure = np.ones((3, 3)) if connectivity == 8 else None
    for sources in (rng.uniform(size=z.shape) < 0.01, None):
        result = compute_bathtub_depth(dem, 5.0, inflow=sources, connectivity=connectivity)
        got = result.values
        wet = valid & (z < 5.0)
        labels, _ = ndimage.label(wet, structure=structure)
        if sources is None:  # border and cells next to no data
            seeds = np.zeros_like(valid)
            seeds[[0, -1], :] = seeds[:, [0, -1]] = True
            seeds |= ndimage.binary_dilation(~valid, structure=np.ones((3, 3)))
        else:
            seeds = sources
        keep = np.isin(labels, np.unique(labels[seeds & wet]))
        expected = np.where(keep & wet, 5.0 - z.astype("float64"), 0.0)
        expected[~valid] = np.nan
        np.testing.assert_array_equal(got, expected)
        assert result.attrs["flooded_cells"] == np.count_nonzero(expected > 0)
        assert result.attrs["volume_m3"] == pytest.approx(np.nansum(expected) * dem.cell_area, rel=1e-9)


def test_provenance_is_carried_with_a_step():
    from cimkit import provenance

    dem = levee_dem()
    provenance.attach(dem, provenance.Provenance(reader="cimkit.read_dem"))
    depth = compute_bathtub_depth(dem, 2.0, inflow=river_mask(dem))
    record = provenance.get(depth)
    assert record.reader == "cimkit.read_dem"
    assert record.steps[-1].action == "compute_bathtub_depth"
    assert record.steps[-1].params["water_level_m"] == 2.0
    assert provenance.get(dem).steps == []  # the input's record is untouched
    h = compute_hand(dem, streams=river_mask(dem))
    assert [s.action for s in provenance.get(h).steps] == ["compute_hand"]
