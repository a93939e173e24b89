"""Corpus cases: DEM and raster files that lie (fill values, feet, VRTs, absurd headers ...).

Every file is written under ``tmp`` when the case runs; the SRTM cases start from the shared
DEM of Boulder, Colorado (``dem_srtm_boulder_co``: 240 x 144 cells, NODATA 0, 1943-3286 m).
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import rasterio
from affine import Affine

import cimkit
from cimkit import provenance
from cimkit.analysis.flood import compute_bathtub_depth
from cimkit.io.raster import read_dem
from tests.corpus._registry import corpus_case

LAMBERT = "EPSG:2154"
# 5 m cells in Lambert-93 near Rennes, where the placement check expects a French grid
TRANSFORM = Affine(5, 0, 351000, 0, -5, 6789010)
SRTM = ("dem_srtm_boulder_co", "srtmgl3_boulder_co.asc")


def _tif(path, values, *, crs=LAMBERT, transform=TRANSFORM, nodata=None, units=None):
    """Write a one-band GeoTIFF with rasterio and return its path."""
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": values.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(values, 1)
            if units:
                dst.units = (units,)
    return path


def _terrain(fill=None, cells=(), dtype="float32"):
    """A 6 x 8 slope from 40 m (west) to 47 m (east), with ``fill`` written in ``cells``."""
    values = np.tile(np.arange(40.0, 48.0), (6, 1)).astype(dtype)
    for row, col in cells:
        values[row, col] = fill
    return values


def _fill_case(tmp, fill, dtype="float32"):
    """Read a DEM with an undeclared ``fill`` in 4 cells; flood it at 43 m: no depth of 10,042 m."""
    path = _tif(tmp / "dem.tif", _terrain(fill, [(0, 0), (0, 1), (5, 7), (3, 3)], dtype))
    dem = read_dem(path)
    assert dem.nodata == fill and int((~dem.valid_mask()).sum()) == 4
    steps = {s.action: s.params for s in provenance.get(dem).steps}
    assert steps["nodata_fill_values"]["count"] == 4
    depth = compute_bathtub_depth(dem, 43.0, connected=False)
    # before: 43 - (-9999) = 10,042 m (or 3.4e38 m) on the fill cells; now NaN there, at most 3 m
    assert np.nanmax(depth.values) == 3.0 and np.isnan(depth.values[0, 0])
    return dem


@corpus_case("raster/undeclared-9999-bathtub", expect="repaired", code="DEM101")
def _fill_9999(tmp, shared):
    _fill_case(tmp, -9999.0)


@corpus_case("raster/undeclared-float32-min-bathtub", expect="repaired", code="DEM101")
def _fill_float32_min(tmp, shared):
    _fill_case(tmp, float(np.finfo(np.float32).min))


@corpus_case("raster/undeclared-int16-min", expect="repaired", code="DEM101")
def _fill_int16(tmp, shared):
    _fill_case(tmp, -32768, dtype="int16")


@corpus_case("raster/two-fill-values-declared-nodata", expect="repaired", code="DEM101")
def _two_fills(tmp, shared):
    values = _terrain(-9999.0, [(0, 0)])
    values[1, 1] = 3.4e38
    values[2, 2] = 0.0  # the declared nodata
    dem = read_dem(_tif(tmp / "dem.tif", values, nodata=0.0))
    assert dem.nodata == 0.0 and int((~dem.valid_mask()).sum()) == 3
    assert float(np.nanmax(dem.masked())) == 47.0 and float(np.nanmin(dem.masked())) == 40.0


@corpus_case("raster/all-nodata", expect="error", code="DEM002")
def _all_nodata(tmp, shared):
    read_dem(_tif(tmp / "dem.tif", np.full((4, 4), -9999.0, "float32"), nodata=-9999.0))


@corpus_case("raster/all-undeclared-fill", expect="error", code="DEM002")
def _all_fill(tmp, shared):
    read_dem(_tif(tmp / "dem.tif", np.full((4, 4), float(np.finfo(np.float32).min), "float32")))


@corpus_case("raster/elevations-in-mm", expect="error", code="DEM006")
def _millimetres(tmp, shared):
    read_dem(_tif(tmp / "dem.tif", _terrain() * 1000.0))


@corpus_case("raster/us-feet-crs", expect="error", code="DEM003")
def _us_feet(tmp, shared):
    # NAD83 / Massachusetts Mainland (ftUS), Boston: before, read with 10 "m" cells that are 10 ft
    path = _tif(
        tmp / "dem.tif", _terrain() + 60, crs="EPSG:2249", transform=Affine(10, 0, 775000, 0, -10, 2955000)
    )
    read_dem(path)


@corpus_case("raster/us-feet-no-vertical-unit", expect="error", code="DEM004")
def _feet_no_vertical(tmp, shared):
    path = _tif(
        tmp / "dem.tif", _terrain() + 60, crs="EPSG:2249", transform=Affine(10, 0, 775000, 0, -10, 2955000)
    )
    read_dem(path, crs="EPSG:26986")  # warped to metres, but are the elevations feet or metres?


@corpus_case("raster/compound-feet-converted", expect="repaired", code="DEM102")
def _compound_feet(tmp, shared):
    values = np.full((6, 8), 100.0, "float32")  # 100 ftUS above NAVD88
    path = _tif(
        tmp / "dem.tif", values, crs="EPSG:2249+6360", transform=Affine(10, 0, 775000, 0, -10, 2955000)
    )
    dem = read_dem(path, crs="EPSG:26986", resampling="nearest")
    assert dem.crs.to_epsg() == 26986 and dem.attrs["vertical_units_source"] == "us-ft"
    # 100 ftUS = 100 x 1200 / 3937 m; before, 100 "m"
    assert abs(float(np.nanmax(dem.masked())) - 100 * 1200 / 3937) < 1e-9
    assert 3.0 < dem.res[0] < 3.1  # 10 ftUS = 3.048 m cells
    assert "scale_units" in [s.action for s in provenance.get(dem).steps]


@corpus_case("raster/vrt-pointing-at-etc-passwd", expect="error", code="DEM001")
def _vrt(tmp, shared):
    path = tmp / "dem.vrt"
    # a raw VRT band: before, read_dem returned the bytes of the file (b"root:x:0:0:root:") as elevations
    path.write_text(
        '<VRTDataset rasterXSize="16" rasterYSize="4"><SRS>EPSG:2154</SRS>'
        "<GeoTransform>351000, 5, 0, 6789010, 0, -5</GeoTransform>"
        '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
        '<SourceFilename relativetoVRT="0">/etc/passwd</SourceFilename><ImageOffset>0</ImageOffset>'
        "<PixelOffset>1</PixelOffset><LineOffset>16</LineOffset></VRTRasterBand></VRTDataset>\n",
        encoding="ascii",
    )
    read_dem(path)


@corpus_case("raster/vrt-named-tif", expect="error", code="DEM001")
def _vrt_as_tif(tmp, shared):
    path = tmp / "dem.tif"  # the extension lies; the content is judged
    path.write_text('<VRTDataset rasterXSize="4" rasterYSize="4"></VRTDataset>\n', encoding="ascii")
    read_dem(path)


@corpus_case("raster/vsicurl-path", expect="error", code="DEM001")
def _vsicurl(tmp, shared):
    read_dem("/vsicurl/http://127.0.0.1:9/dem.tif")


@corpus_case("raster/gzip-compressed", expect="error", code="DEM001")
def _gzip(tmp, shared):
    source = _tif(tmp / "dem.tif", _terrain())
    (tmp / "dem.tif.gz").write_bytes(gzip.compress(source.read_bytes()))
    read_dem(tmp / "dem.tif.gz")


@corpus_case("raster/absurd-asc-header", expect="error", code="LIM010")
def _absurd_header(tmp, shared):
    path = tmp / "dem.asc"
    path.write_text(
        "ncols 100000\nnrows 100000\nxllcorner 351000\nyllcorner 6789000\ncellsize 5\n"
        "NODATA_value -9999\n40 41 42\n",
        encoding="ascii",
    )
    # before: an attempt to allocate 37 GiB; now refused from the header
    read_dem(path, source_crs=LAMBERT)


@corpus_case("raster/file-over-max-input-mb", expect="error", code="LIM002")
def _too_big_on_disk(tmp, shared):
    path = _tif(tmp / "dem.tif", np.random.default_rng(0).uniform(40, 50, (800, 800)).astype("float32"))
    with cimkit.set_options(max_input_mb=1):
        read_dem(path)


@corpus_case("raster/empty-file", expect="error", code="DEM008")
def _empty(tmp, shared):
    (tmp / "dem.tif").write_bytes(b"")
    read_dem(tmp / "dem.tif")


@corpus_case("raster/truncated-geotiff", expect="error", code="DEM008")
def _truncated(tmp, shared):
    source = _tif(tmp / "full.tif", np.random.default_rng(1).uniform(40, 50, (64, 64)).astype("float32"))
    (tmp / "dem.tif").write_bytes(source.read_bytes()[:600])
    read_dem(tmp / "dem.tif")


@corpus_case("raster/zero-size-asc", expect="error", code="DEM008")
def _zero_size(tmp, shared):
    path = tmp / "dem.asc"
    path.write_text("ncols 0\nnrows 0\nxllcorner 351000\nyllcorner 6789000\ncellsize 5\n", encoding="ascii")
    read_dem(path, source_crs=LAMBERT)


@corpus_case("raster/nan-geotransform", expect="error", code="DEM005")
def _nan_transform(tmp, shared):
    path = tmp / "dem.asc"
    path.write_text(
        "ncols 2\nnrows 2\nxllcorner nan\nyllcorner 6789000\ncellsize 5\n40 41\n42 43\n", encoding="ascii"
    )
    read_dem(path, source_crs=LAMBERT)


@corpus_case("raster/zero-cellsize", expect="error", code="DEM005")
def _zero_cell(tmp, shared):
    path = tmp / "dem.asc"
    path.write_text(
        "ncols 2\nnrows 2\nxllcorner 351000\nyllcorner 6789000\ncellsize 0\n40 41\n42 43\n", encoding="ascii"
    )
    read_dem(path, source_crs=LAMBERT)


@corpus_case("raster/rotated-geotransform", expect="error", code="DEM005")
def _rotated(tmp, shared):
    read_dem(_tif(tmp / "dem.tif", _terrain(), transform=Affine(5, 1, 351000, 1, -5, 6789010)))


@corpus_case("raster/no-georeferencing", expect="error", code="DEM005")
def _no_georef(tmp, shared):
    read_dem(_tif(tmp / "dem.tif", _terrain(), crs=None, transform=Affine.identity()), source_crs=LAMBERT)


@corpus_case("raster/non-square-cells", expect="ok")
def _non_square(tmp, shared):
    dem = read_dem(_tif(tmp / "dem.tif", _terrain(), transform=Affine(10, 0, 351000, 0, -5, 6789010)))
    assert dem.res == (10.0, 5.0) and dem.cell_area == 50.0
    assert dem.bounds == (351000.0, 6788980.0, 351080.0, 6789010.0)


@corpus_case("raster/single-cell", expect="ok")
def _single_cell(tmp, shared):
    dem = read_dem(_tif(tmp / "dem.tif", np.array([[37.5]], "float32")))
    assert dem.shape == (1, 1) and dem.masked().tolist() == [[37.5]]
    assert compute_bathtub_depth(dem, 38.0).values.tolist() == [[0.5]]


@corpus_case("raster/asc-without-crs", expect="error", code="CRS002")
def _no_crs(tmp, shared):
    path = tmp / "dem.asc"
    path.write_text(
        "ncols 2\nnrows 2\nxllcorner 351000\nyllcorner 6789000\ncellsize 5\n40 41\n42 43\n", encoding="ascii"
    )
    read_dem(path)


@corpus_case("raster/local-engineering-crs", expect="error", code="CRS001")
def _local_crs(tmp, shared):
    wkt = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    read_dem(_tif(tmp / "dem.tif", _terrain(), crs=wkt, transform=Affine(5, 0, 1000, 0, -5, 2000)))


@corpus_case("raster/srtm-real-file", expect="ok", needs_shared=True)
def _srtm(tmp, shared):
    dem = read_dem(shared.joinpath(*SRTM), source_crs="EPSG:4326")
    assert dem.shape == (144, 240) and dem.nodata == 0
    assert (float(np.nanmin(dem.masked())), float(np.nanmax(dem.masked()))) == (1943.0, 3286.0)


@corpus_case("raster/srtm-nodata-line-removed-9999", expect="repaired", code="DEM101", needs_shared=True)
def _srtm_corrupted(tmp, shared):
    lines = shared.joinpath(*SRTM).read_text(encoding="ascii").splitlines()
    header = [line for line in lines[:6] if not line.lower().startswith("nodata")]
    body = lines[6:]
    body[0] = " ".join(["-9999"] * 40 + body[0].split()[40:])  # 40 cells of row 0 become -9999
    path = tmp / "srtm.asc"
    path.write_text("\n".join(header + body) + "\n", encoding="ascii")
    dem = read_dem(path, source_crs="EPSG:4326")
    assert dem.nodata == -9999.0 and int((dem.values == -9999).sum()) == 40
    assert float(np.nanmin(dem.masked())) >= 1943.0
    depth = compute_bathtub_depth(dem, 2000.0, connected=False)
    # before: 2000 + 9999 = 11,999 m of water on the fill cells; now at most 2000 - 1943 = 57 m
    assert float(np.nanmax(depth.values)) <= 57.0
