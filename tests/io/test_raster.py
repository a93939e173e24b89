"""read_dem: ASCII grids without CRS, nodata, vertical units, reprojection, and hostile files."""

from __future__ import annotations

import gzip
import tracemalloc
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine

import cimkit
from cimkit import provenance
from cimkit.analysis.flood import compute_bathtub_depth
from cimkit.errors import (
    CimkitIOError,
    CRSError,
    FileFormatError,
    InputError,
    MissingCRSError,
    RepairWarning,
    ResourceLimitError,
)
from cimkit.io.raster import read_dem
from cimkit.raster import Raster


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


# ----------------------------------------------------------------------------- hostile input
RENNES = Affine(5, 0, 351000, 0, -5, 6789010)  # 5 m cells in Lambert-93
BOSTON_FT = Affine(10, 0, 775000, 0, -10, 2955000)  # 10 ftUS cells in EPSG:2249


def _tif(path, values, *, crs="EPSG:2154", transform=RENNES, nodata=None, units=None):
    profile = {"driver": "GTiff", "height": values.shape[0], "width": values.shape[1], "count": 1}
    profile.update(dtype=values.dtype.name, crs=crs, transform=transform, nodata=nodata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(values, 1)
            if units:
                dst.units = (units,)
    return path


def _slope(dtype="float32"):
    """6 x 8 cells rising from 40 m (west) to 47 m (east)."""
    return np.tile(np.arange(40.0, 48.0), (6, 1)).astype(dtype)


@pytest.mark.parametrize(
    ("fill", "dtype"),
    [
        (-9999.0, "float32"),
        (float(np.finfo(np.float32).min), "float32"),
        (3.4e38, "float32"),
        (-32768, "int16"),
    ],
)
def test_undeclared_fill_values_are_read_as_nodata(tmp_path, fill, dtype):
    values = _slope(dtype)
    values[0, 0] = values[0, 1] = values[5, 7] = fill
    path = _tif(tmp_path / "dem.tif", values)
    with pytest.warns(RepairWarning, match=r"3 of 48 cells \(6\.2%\) hold undeclared fill values") as caught:
        dem = read_dem(path)
    assert [w.message.code for w in caught if isinstance(w.message, RepairWarning)] == ["DEM101"]
    assert int((~dem.valid_mask()).sum()) == 3
    assert (float(np.nanmin(dem.masked())), float(np.nanmax(dem.masked()))) == (40.0, 47.0)
    step = next(s for s in provenance.get(dem).steps if s.action == "nodata_fill_values")
    assert step.params["count"] == 3 and sum(step.params["values"].values()) == 3
    # the bathtub: 43 m over a -9999 cell gave 10,042 m of water; now 3 m at most
    depth = compute_bathtub_depth(dem, 43.0, connected=False)
    assert np.isnan(depth.values[0, 0]) and float(np.nanmax(depth.values)) == 3.0


def test_fill_value_kept_as_ground_when_the_range_is_widened(tmp_path):
    values = _slope()
    values[2, 2] = -9999.0
    path = _tif(tmp_path / "dem.tif", values)
    with cimkit.set_options(plausible_elevation_m=(-10_000.0, 9000.0)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RepairWarning)
            dem = read_dem(path)
    assert dem.nodata is None and dem.masked()[2, 2] == -9999.0


def test_mixed_fill_values_with_declared_nodata(tmp_path):
    values = _slope()
    values[0, 0], values[1, 1], values[2, 2] = -9999.0, 3.4e38, 0.0
    with pytest.warns(RepairWarning, match="2 of 48 cells"):
        dem = read_dem(_tif(tmp_path / "dem.tif", values, nodata=0.0))
    assert dem.nodata == 0.0 and int((~dem.valid_mask()).sum()) == 3
    assert dem.values[0, 0] == 0.0 and dem.values[1, 1] == 0.0  # rewritten to the declared nodata


def test_implausible_values_that_are_no_fill_value_are_refused(tmp_path):
    path = _tif(tmp_path / "dem.tif", _slope() * 1000.0)  # millimetres
    with pytest.raises(InputError, match=r"48 cells .*from 40000 to 47000 m") as info:
        read_dem(path)
    assert info.value.code == "DEM006"
    with cimkit.set_options(plausible_elevation_m=(0.0, 50_000.0)):
        assert float(np.nanmax(read_dem(path).masked())) == 47000.0


@pytest.mark.parametrize(
    ("values", "nodata"),
    [(np.full((3, 3), -9999.0, "float32"), -9999.0), (np.full((3, 3), -9999.0, "float32"), None)],
)
def test_all_nodata_dem_is_refused(tmp_path, values, nodata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        with pytest.raises(InputError, match="no cell with data: all 9 cells") as info:
            read_dem(_tif(tmp_path / "dem.tif", values, nodata=nodata))
    assert info.value.code == "DEM002"


def test_horizontal_feet_are_refused_without_a_metric_target(tmp_path):
    path = _tif(tmp_path / "dem.tif", _slope() + 60, crs="EPSG:2249", transform=BOSTON_FT)
    with pytest.raises(CRSError, match=r"US survey foot.*pass crs=") as info:
        read_dem(path)
    assert info.value.code == "DEM003"
    with pytest.raises(InputError, match="may be in feet or in metres") as info:
        read_dem(path, crs="EPSG:26986")
    assert info.value.code == "DEM004"
    dem = read_dem(path, crs="EPSG:26986", vertical_units="us-ft", resampling="nearest")
    assert dem.crs.to_epsg() == 26986
    assert dem.res[0] == pytest.approx(10 * 1200 / 3937, rel=0.01)  # 10 ftUS cells, in metres
    assert float(np.nanmin(dem.masked())) == pytest.approx(100 * 1200 / 3937)  # 100 ftUS


def test_vertical_feet_declared_by_the_file_are_converted(tmp_path):
    compound = _tif(
        tmp_path / "c.tif", np.full((4, 4), 100.0, "float32"), crs="EPSG:2249+6360", transform=BOSTON_FT
    )
    with pytest.warns(RepairWarning, match=r"in us-ft \(vertical CRS 'NAVD88 height \(ftUS\)'\)") as caught:
        dem = read_dem(compound, crs="EPSG:26986", resampling="nearest")
    assert {w.message.code for w in caught if isinstance(w.message, RepairWarning)} == {"DEM102"}
    assert float(np.nanmax(dem.masked())) == pytest.approx(30.48006096)
    assert [s.action for s in provenance.get(dem).steps][:4] == [
        "read",
        "vertical_units",
        "nodata",
        "scale_units",
    ]
    band = _tif(tmp_path / "b.tif", np.full((4, 4), 100.0, "float32"), units="ft")
    with pytest.warns(RepairWarning, match="band unit 'ft'"):
        assert float(read_dem(band).masked()[0, 0]) == pytest.approx(30.48)
    with pytest.raises(InputError, match="contradicts the file") as info:
        read_dem(band, vertical_units="m")
    assert info.value.code == "DEM004"
    metres = _tif(tmp_path / "m.tif", np.full((4, 4), 100.0, "float32"), units="metre")
    assert float(read_dem(metres).masked()[0, 0]) == 100.0


def test_format_is_judged_by_content(tmp_path):
    vrt = tmp_path / "dem.vrt"
    vrt.write_text(
        '<VRTDataset rasterXSize="16" rasterYSize="4"><VRTRasterBand dataType="Byte" band="1" '
        'subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="0">/etc/passwd</SourceFilename>'
        "</VRTRasterBand></VRTDataset>",
        encoding="ascii",
    )
    disguised = tmp_path / "vrt.tif"
    disguised.write_bytes(vrt.read_bytes())
    gz = tmp_path / "dem.tif.gz"
    gz.write_bytes(gzip.compress(_tif(tmp_path / "src.tif", _slope()).read_bytes()))
    png = tmp_path / "dem.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    for path, message in [
        (vrt, "a GDAL VRT"),
        (disguised, "a GDAL VRT"),
        (gz, "gzip-compressed"),
        (png, "not one of the raster formats"),
        ("/vsicurl/http://127.0.0.1:9/dem.tif", "virtual paths and URLs"),
        ("zip:///tmp/a.zip!dem.tif", "virtual paths and URLs"),
    ]:
        with pytest.raises(FileFormatError, match=message) as info:
            read_dem(path)
        assert info.value.code == "DEM001"
    # a GeoTIFF named .asc is read as the GeoTIFF it is
    renamed = tmp_path / "dem.asc"
    renamed.write_bytes((tmp_path / "src.tif").read_bytes())
    assert read_dem(renamed).shape == (6, 8)
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty") as info:
        read_dem(tmp_path / "empty.tif")
    assert info.value.code == "DEM008"
    with pytest.raises(FileFormatError, match="cannot be read") as info:
        (tmp_path / "cut.tif").write_bytes((tmp_path / "src.tif").read_bytes()[:300])
        read_dem(tmp_path / "cut.tif")
    assert info.value.code == "DEM008"


def test_declared_size_is_checked_before_allocating(tmp_path):
    path = tmp_path / "big.asc"
    path.write_text(
        "ncols 100000\nnrows 100000\nxllcorner 351000\nyllcorner 6689000\ncellsize 1\nNODATA_value -9999\n1 2 3\n",
        encoding="ascii",
    )
    tracemalloc.start()
    try:
        with pytest.raises(ResourceLimitError, match=r"100,000 x 100,000 = 10,000,000,000 cells") as info:
            read_dem(path, source_crs="EPSG:2154")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "LIM010" and peak < 5_000_000  # no 37 GiB attempt: a few kB
    small = _tif(tmp_path / "dem.tif", _slope())
    with cimkit.set_options(max_pixels=47), pytest.raises(ResourceLimitError, match="48 cells"):
        read_dem(small)
    with cimkit.set_options(max_pixels=48):
        assert read_dem(small).shape == (6, 8)
    with cimkit.set_options(max_input_mb=1), pytest.raises(ResourceLimitError) as info:
        read_dem(
            _tif(tmp_path / "noise.tif", np.random.default_rng(0).uniform(0, 1, (800, 800)).astype("float32"))
        )
    assert info.value.code == "LIM002"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("xllcorner nan\nyllcorner 6789000\ncellsize 5", "NaN or infinite"),
        ("xllcorner 351000\nyllcorner 6789000\ncellsize inf", "NaN or infinite"),
        ("xllcorner 351000\nyllcorner 6789000\ncellsize 0", "zero-size cells"),
    ],
)
def test_unusable_geotransform_is_refused(tmp_path, header, message):
    path = tmp_path / "dem.asc"
    path.write_text(f"ncols 2\nnrows 2\n{header}\n40 41\n42 43\n", encoding="ascii")
    with pytest.raises(InputError, match=message) as info:
        read_dem(path, source_crs="EPSG:2154")
    assert info.value.code == "DEM005"


def test_georeferencing_cases(tmp_path):
    rotated = _tif(tmp_path / "r.tif", _slope(), transform=Affine(5, 1, 351000, 1, -5, 6789010))
    bare = _tif(tmp_path / "n.tif", _slope(), crs=None, transform=Affine.identity())
    for path, message in [(rotated, "rotated"), (bare, "no georeferencing")]:
        with pytest.raises(InputError, match=message) as info:
            read_dem(path, source_crs="EPSG:2154")
        assert info.value.code == "DEM005"
    wide = read_dem(_tif(tmp_path / "w.tif", _slope(), transform=Affine(10, 0, 351000, 0, -5, 6789010)))
    assert wide.res == (10.0, 5.0) and wide.bounds == (351000.0, 6788980.0, 351080.0, 6789010.0)
    one = read_dem(_tif(tmp_path / "one.tif", np.array([[37.5]], "float32")))
    assert one.shape == (1, 1) and one.xy(0, 0) == pytest.approx((351002.5, 6789007.5))
    local = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    with pytest.raises(CRSError, match="local") as info:
        read_dem(_tif(tmp_path / "l.tif", _slope(), crs=local, transform=Affine(5, 0, 0, 0, -5, 30)))
    assert info.value.code == "CRS001"
    with pytest.raises(InputError, match="band 2 requested; the file has 1") as info:
        read_dem(tmp_path / "w.tif", band=2)
    assert info.value.code == "DEM007"


def test_raster_refuses_a_nan_or_singular_transform():
    for transform in [Affine(float("nan"), 0, 0, 0, -5, 0), Affine(0, 0, 0, 0, -5, 0)]:
        with pytest.raises(InputError, match="finite geotransform") as info:
            Raster(np.zeros((2, 2)), transform, "EPSG:2154")
        assert info.value.code == "DEM005"


@pytest.mark.shared_data
def test_srtm_with_its_nodata_line_removed(shared_data, tmp_path):
    lines = (shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc").read_text().splitlines()
    body = lines[6:]
    body[0] = " ".join(["-9999"] * 40 + body[0].split()[40:])
    path = tmp_path / "srtm.asc"
    path.write_text("\n".join(lines[:5] + body) + "\n", encoding="ascii")
    with pytest.warns(RepairWarning, match=r"40 of 34,560 cells .* -9999 \(40 cells\)"):
        dem = read_dem(path, source_crs="EPSG:4326")
    assert dem.nodata == -9999.0 and int((~dem.valid_mask()).sum()) == 40
    assert (float(np.nanmin(dem.masked())), float(np.nanmax(dem.masked()))) == (1943.0, 3286.0)
    depth = compute_bathtub_depth(dem, 2000.0, connected=False)
    assert float(np.nanmax(depth.values)) == 57.0  # 2000 - 1943; before: 11,999 m on the fill cells
