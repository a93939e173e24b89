"""read_dem: ASCII grids without CRS, nodata, vertical units, reprojection."""

from __future__ import annotations

import numpy as np
import pytest

from cimkit import provenance
from cimkit.errors import CimkitIOError, CRSError, InputError, MissingCRSError
from cimkit.io.raster import read_dem


def _asc(path, values, *, nodata=0, xll=500000.0, yll=4400000.0, cell=10.0):
    rows = "\n".join(" ".join(str(v) for v in row) for row in values)
    path.write_text(
        f"ncols {len(values[0])}\nnrows {len(values)}\nxllcorner {xll}\nyllcorner {yll}\n"
        f"cellsize {cell}\nNODATA_value {nodata}\n{rows}\n",
        encoding="ascii",
    )
    return path


def test_ascii_grid_needs_source_crs_and_masks_nodata(tmp_path):
    path = _asc(tmp_path / "dem.asc", [[10, 11, 12], [13, 0, 15]])
    with pytest.raises(MissingCRSError, match=r"dem\.asc"):
        read_dem(path)
    dem = read_dem(path, source_crs="EPSG:32613")
    assert dem.crs.to_epsg() == 32613
    assert dem.shape == (2, 3)
    assert dem.nodata == 0
    masked = dem.masked()
    assert np.isnan(masked[1, 1])
    assert np.nansum(masked) == 10 + 11 + 12 + 13 + 15
    # cell centre of row 0, col 0: (xll + 5, yll + 2 rows x 10 - 5)
    assert dem.xy(0, 0) == pytest.approx((500005.0, 4400015.0))
    steps = [s.action for s in provenance.get(dem).steps]
    assert steps[:3] == ["read", "assign_crs", "nodata"]
    assert provenance.get(dem).steps[2].params["count"] == 1


def test_vertical_units_feet(tmp_path):
    path = _asc(tmp_path / "ft.asc", [[100, 200], [0, 1000]])
    dem = read_dem(path, source_crs=32613, vertical_units="ft")
    # 100 ft x 0.3048 = 30.48 m; nodata stays missing
    np.testing.assert_allclose(dem.masked(), [[30.48, 60.96], [np.nan, 304.8]])
    assert dem.units == "m" and dem.attrs["vertical_units_source"] == "ft"
    survey = read_dem(path, source_crs=32613, vertical_units="us-ft")
    assert survey.masked()[0, 0] == pytest.approx(100 * 1200 / 3937)
    with pytest.raises(InputError, match="vertical_units"):
        read_dem(path, source_crs=32613, vertical_units="yd")


def test_errors(tmp_path):
    with pytest.raises(CimkitIOError):
        read_dem(tmp_path / "none.tif")
    from cimkit.raster import Raster

    r = Raster(np.ones((2, 2), dtype="float32"), (10, 0, 0, 0, -10, 20), "EPSG:2154")
    r.to_geotiff(tmp_path / "a.tif")
    with pytest.raises(CRSError, match="contradicts"):
        read_dem(tmp_path / "a.tif", source_crs=4326)
    assert read_dem(tmp_path / "a.tif").crs.to_epsg() == 2154


@pytest.mark.shared_data
def test_srtm_boulder(shared_data):
    path = shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc"
    with pytest.raises(MissingCRSError, match=r"srtmgl3_boulder_co\.asc"):
        read_dem(path)
    dem = read_dem(path, source_crs="EPSG:4326")
    # MANIFEST: 240 x 144 cells, NODATA 0, z 1943-3286 m, bbox -105.55042, 40.09042 - -105.35042, 40.21042
    assert dem.shape == (144, 240)
    assert dem.nodata == 0
    assert (np.nanmin(dem.masked()), np.nanmax(dem.masked())) == (1943.0, 3286.0)
    np.testing.assert_allclose(dem.bounds, (-105.55042, 40.09042, -105.35042, 40.21042), atol=1e-5)
    utm = read_dem(path, source_crs="EPSG:4326", crs="EPSG:32613")
    assert utm.crs.to_epsg() == 32613
    # bilinear resampling stays within the source range
    assert 1943.0 <= np.nanmin(utm.masked()) and np.nanmax(utm.masked()) <= 3286.0
    # cells of 0.000833 deg: ~70 m east-west at 40.15 N (92.6 m x cos 40.15), ~92.6 m north-south;
    # the square output cells lie between
    assert 70.0 < utm.res[0] < 93.0
    # the elevation at a point is preserved (bilinear vs nearest cell of the source)
    x, y = -105.45, 40.15
    from pyproj import Transformer

    ux, uy = Transformer.from_crs(4326, 32613, always_xy=True).transform(x, y)
    assert utm.sample(ux, uy)[0] == pytest.approx(dem.sample(x, y)[0], abs=60.0)
    assert provenance.get(utm).steps[-1].action == "reproject"


def test_sample_city_dem(sample_city_dir):
    dem = read_dem(sample_city_dir / "dem.tif")
    # sample_data/README.md: 5 m cells, EPSG:2154, nodata -9999 in 10 north-east cells
    assert dem.crs.to_epsg() == 2154
    assert dem.res == (5.0, 5.0)
    assert dem.nodata == -9999
    assert int((~dem.valid_mask()).sum()) == 10
    assert not np.isnan(dem.masked()[-1, 0])  # south-west corner has data
