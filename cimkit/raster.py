"""A small georeferenced grid container used for the DEM and for flood depths.

:class:`Raster` holds a 2-D float array, its affine transform, CRS and nodata value. It is a
plain container (the flood analysis works on ``raster.values`` with numpy); reading and writing
delegate to rasterio, imported lazily.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    InputError,
    MissingCRSError,
    ResourceLimitError,
)
from cimkit.options import get_options

__all__ = ["RASTER_FORMATS", "Raster"]

#: The raster formats cimkit reads (GDAL driver -> name), recognised by the file's first bytes,
#: never by its extension. Formats that can reference other files (VRT, GDAL virtual file
#: systems such as ``/vsicurl/``) are refused: a VRT can point a reader at any local file.
RASTER_FORMATS: dict[str, str] = {
    "GTiff": "GeoTIFF (also Cloud Optimized GeoTIFF)",
    "AAIGrid": "ESRI ASCII grid",
}

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_ASC_KEYS = (b"ncols", b"nrows", b"xllcorner", b"yllcorner", b"xllcenter", b"yllcenter", b"cellsize")
_COMPRESSED_MAGIC = {b"PK\x03\x04": "zip", b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ": "xz"}
_VIRTUAL_PATH = re.compile(r"^(/vsi[a-z0-9_]*/|[A-Za-z][A-Za-z0-9+.-]+://)")
_FORMAT_HINT = "convert it to a local GeoTIFF (gdal_translate in.ext out.tif) and pass that file."


def _check_raster_path(path: str | os.PathLike[str]) -> None:
    """Refuse a GDAL virtual path (``/vsicurl/``, ``/vsizip/`` ...) or a URL (``s3://``, ``zip://``).

    Examples
    --------
    >>> _check_raster_path("dem.tif")
    >>> _check_raster_path("/vsicurl/https://example.org/dem.tif")
    Traceback (most recent call last):
    ...
    cimkit.errors.FileFormatError: /vsicurl/https://example.org/dem.tif: GDAL virtual paths and URLs are not read. Fix: download the file and pass a local path.
    """
    if _VIRTUAL_PATH.match(os.fspath(path)):
        raise FileFormatError(
            "GDAL virtual paths and URLs are not read",
            path=path,
            code="DEM001",
            hint="download the file and pass a local path.",
        )


def _find_raster_format(path: str | os.PathLike[str]) -> str:
    """Return the GDAL driver of a raster file from its first bytes (a key of :data:`RASTER_FORMATS`).

    Raises
    ------
    FileFormatError
        ``DEM001`` for a VRT or other XML, a compressed file or any other format; ``DEM008``
        for an empty file.
    CimkitIOError
        The file cannot be opened.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> _find_raster_format(sample_city_path() / "dem.tif")
    'GTiff'
    """
    _check_raster_path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as err:
        raise CimkitIOError(
            f"cannot open the file ({err.strerror})", path=path, hint="check the path."
        ) from err
    if not head:
        raise FileFormatError(
            "the file is empty (0 bytes)", path=path, code="DEM008", hint="check the download."
        )
    if head[:4] in _TIFF_MAGIC:
        return "GTiff"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(text.startswith(key) for key in _ASC_KEYS):
        return "AAIGrid"
    if text.startswith(b"<"):
        what = "a GDAL VRT" if b"<vrtdataset" in text[:200] else "an XML file"
        raise FileFormatError(
            f"the file is {what}, which can reference other files; it is not read",
            path=path,
            code="DEM001",
            hint=_FORMAT_HINT.replace("in.ext", "in.vrt"),
        )
    for magic, name in _COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            raise FileFormatError(
                f"the file is {name}-compressed; compressed rasters are not read",
                path=path,
                code="DEM001",
                hint="decompress it and pass the GeoTIFF or ASCII grid inside.",
            )
    raise FileFormatError(
        f"the file is not one of the raster formats read ({', '.join(RASTER_FORMATS.values())}), "
        "judged by its content",
        path=path,
        code="DEM001",
        hint=_FORMAT_HINT,
    )


def _check_raster_size(rows: int, cols: int, *, path: str | os.PathLike[str] | None = None) -> None:
    """Refuse a raster of more than ``max_pixels`` cells, or of none, from its declared size.

    Examples
    --------
    >>> _check_raster_size(180, 180)
    >>> _check_raster_size(100_000, 100_000, path="big.asc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.ResourceLimitError: big.asc: the raster declares 100,000 x 100,000 = 10,000,000,000 cells ...
    """
    if rows <= 0 or cols <= 0:
        raise FileFormatError(
            f"the raster declares {rows} x {cols} cells", path=path, code="DEM008", hint="check the header."
        )
    limit = int(get_options()["max_pixels"])
    if rows * cols > limit:
        raise ResourceLimitError(
            f"the raster declares {rows:,} x {cols:,} = {rows * cols:,} cells "
            f"({rows * cols * 8 / 2**30:,.1f} GiB as float64), over the limit of {limit:,} cells",
            path=path,
            code="LIM010",
            hint="clip it (gdal_translate -projwin) or raise cimkit.set_options(max_pixels=...).",
        )


def _check_transform(transform: Affine, *, path: str | os.PathLike[str] | None = None) -> None:
    """Refuse a geotransform with NaN / infinite terms, zero-size cells or a rotation.

    Non-square cells are accepted (``Raster.res`` holds both sizes); a rotated grid is refused
    because the grid analyses assume north-up rows.

    Examples
    --------
    >>> _check_transform(Affine(5, 0, 651000, 0, -5, 6847010))
    >>> _check_transform(Affine(5, 0.5, 651000, 0, -5, 6847010))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: the grid is rotated or sheared ...
    """
    terms = tuple(transform)[:6]
    if not all(math.isfinite(t) for t in terms):
        problem = f"the geotransform has NaN or infinite terms {terms}"
    elif transform.a * transform.e - transform.b * transform.d == 0:
        problem = f"the geotransform has zero-size cells {terms}"
    elif transform.b != 0 or transform.d != 0:
        problem = f"the grid is rotated or sheared (geotransform {terms})"
    else:
        return
    raise InputError(
        problem,
        path=path,
        code="DEM005",
        hint="fix the georeferencing (gdal_edit.py -a_ullr) or warp it north-up (gdalwarp).",
    )


@dataclass(eq=False)
class Raster:
    """A single-band grid in a projected or geographic CRS.

    Attributes
    ----------
    values
        2-D array (rows, cols), row 0 at the top (north), as rasterio reads it.
    transform
        Affine transform from (col, row) to map coordinates of the cell's upper-left corner.
    crs
        The horizontal CRS.
    nodata
        Cells equal to this value (or NaN for float grids) carry no data.
    units
        Units of the values (``"m"`` for a DEM or a depth grid).
    attrs
        Free metadata; ``attrs["provenance"]`` holds the lineage record.

    Examples
    --------
    >>> from affine import Affine
    >>> dem = Raster(np.array([[41.0, 40.5, -9999.0], [40.0, 39.5, 39.0]]),
    ...              Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154", nodata=-9999.0)
    >>> dem.shape, dem.res, dem.cell_area, dem.bounds
    ((2, 3), (5.0, 5.0), 25.0, (651000.0, 6847000.0, 651015.0, 6847010.0))
    >>> int(dem.valid_mask().sum()), float(np.nanmean(dem.masked()))
    (5, 40.0)
    """

    values: np.ndarray
    transform: Affine
    crs: CRS | None
    nodata: float | None = None
    units: str = "m"
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values)
        if self.values.ndim != 2:
            raise FileFormatError(
                f"a Raster needs a 2-D array; got shape {self.values.shape}",
                hint="pass a single band (e.g. src.read(1)).",
            )
        if self.crs is not None:
            self.crs = CRS.from_user_input(self.crs)
        if not isinstance(self.transform, Affine):
            self.transform = Affine(*tuple(self.transform)[:6])
        terms = tuple(self.transform)[:6]
        if not all(math.isfinite(t) for t in terms) or self.cell_area == 0:
            raise InputError(
                f"a Raster needs a finite geotransform with cells of non-zero size; got {terms}",
                code="DEM005",
                hint="pass Affine(cell_width, 0, left, 0, -cell_height, top).",
            )

    # -- geometry -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the grid."""
        return self.values.shape  # type: ignore[return-value]

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units, both positive."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def cell_area(self) -> float:
        """Area of one cell in squared CRS units (m² in a metric CRS)."""
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid's outer edges."""
        rows, cols = self.shape
        t = self.transform
        cs = np.array([0, cols, 0, cols], dtype="float64")
        rs = np.array([0, 0, rows, rows], dtype="float64")
        xs, ys = t.a * cs + t.b * rs + t.c, t.d * cs + t.e * rs + t.f
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    def valid_mask(self) -> np.ndarray:
        """Return a boolean grid, True where the cell holds data (not nodata, not NaN).

        Examples
        --------
        >>> from affine import Affine
        >>> Raster(np.array([[1.0, np.nan, -9999.0]]), Affine(1, 0, 0, 0, -1, 1), None, nodata=-9999.0).valid_mask()
        array([[ True, False, False]])
        """
        v = self.values
        mask = np.ones(v.shape, dtype=bool)
        if np.issubdtype(v.dtype, np.floating):
            mask &= ~np.isnan(v)
        if self.nodata is not None and not (isinstance(self.nodata, float) and np.isnan(self.nodata)):
            mask &= v != self.nodata
        return mask

    def masked(self) -> np.ndarray:
        """Return the values as float64 with NaN where there is no data.

        Examples
        --------
        >>> from affine import Affine
        >>> Raster(np.array([[1.5, -9999.0]], dtype="float32"), Affine(1, 0, 0, 0, -1, 1), None, nodata=-9999.0).masked()
        array([[1.5, nan]])
        """
        out = self.values.astype("float64", copy=True)
        out[~self.valid_mask()] = np.nan
        return out

    def xy(self, row: Any, col: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return the map coordinates ``(x, y)`` of the centres of cells ``(row, col)``.

        Examples
        --------
        >>> from affine import Affine
        >>> grid = Raster(np.zeros((2, 2)), Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154")
        >>> [float(v) for v in grid.xy(1, 0)]
        [651002.5, 6847002.5]
        """
        row = np.asarray(row, dtype="float64") + 0.5
        col = np.asarray(col, dtype="float64") + 0.5
        t = self.transform
        return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f

    def index(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(row, col)`` of the cells holding map points (they may fall outside the grid).

        Examples
        --------
        >>> from affine import Affine
        >>> grid = Raster(np.zeros((2, 2)), Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154")
        >>> [int(v) for v in grid.index(651007.0, 6847001.0)]
        [1, 1]
        """
        inv = ~self.transform
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        cols = inv.a * x + inv.b * y + inv.c
        rows = inv.d * x + inv.e * y + inv.f
        return np.floor(rows).astype("int64"), np.floor(cols).astype("int64")

    def sample(self, x: Any, y: Any) -> np.ndarray:
        """Return the values at map points ``x``, ``y``; NaN outside the grid or on nodata.

        Examples
        --------
        >>> from cimkit.datasets import sample_city_path
        >>> from cimkit.io.raster import read_dem
        >>> dem = read_dem(sample_city_path() / "dem.tif")
        >>> x, y = (dem.bounds[0] + dem.bounds[2]) / 2, (dem.bounds[1] + dem.bounds[3]) / 2
        >>> dem.sample([x, 0.0], [y, 0.0]).round(2).tolist()
        [43.06, nan]
        """
        rows, cols = self.index(x, y)
        rows, cols = np.atleast_1d(rows), np.atleast_1d(cols)
        out = np.full(rows.shape, np.nan)
        inside = (rows >= 0) & (cols >= 0) & (rows < self.shape[0]) & (cols < self.shape[1])
        data = self.masked()
        out[inside] = data[rows[inside], cols[inside]]
        return out

    def copy(self, values: np.ndarray | None = None, **changes: Any) -> Raster:
        """Return a copy, optionally with new ``values`` (same grid) or other fields changed.

        Examples
        --------
        >>> from affine import Affine
        >>> dem = Raster(np.array([[40.0, 41.0]]), Affine(5, 0, 0, 0, -5, 5), "EPSG:2154")
        >>> depth = dem.copy(np.array([[0.5, 0.0]]), units="m of water")
        >>> depth.values.tolist(), depth.units, depth.transform == dem.transform
        ([[0.5, 0.0]], 'm of water', True)
        """
        import copy as _copy

        kwargs: dict[str, Any] = {
            "values": self.values.copy() if values is None else values,
            "transform": self.transform,
            "crs": self.crs,
            "nodata": self.nodata,
            "units": self.units,
            "attrs": _copy.deepcopy(self.attrs),
        }
        kwargs.update(changes)
        return Raster(**kwargs)

    def __repr__(self) -> str:
        crs = self.crs.to_string() if self.crs is not None else "no CRS"
        return (
            f"<Raster {self.shape[0]}x{self.shape[1]} cells of {self.res[0]:g}x{self.res[1]:g} "
            f"({crs}), {self.values.dtype}, nodata={self.nodata}, units={self.units}>"
        )

    # -- reprojection ---------------------------------------------------------------
    def to_crs(self, crs: Any, *, resampling: str = "bilinear") -> Raster:
        """Return the grid warped to another CRS with rasterio (bilinear by default; nodata as NaN).

        Parameters
        ----------
        crs
            The target CRS.
        resampling
            A rasterio resampling name (``"bilinear"``, ``"nearest"``, ``"cubic"``).

        Examples
        --------
        >>> from affine import Affine
        >>> dem = Raster(np.full((4, 4), 40.0), Affine(100, 0, 651000, 0, -100, 6847400), "EPSG:2154")
        >>> moved = dem.to_crs("EPSG:32631")
        >>> moved.crs.to_epsg(), round(float(np.nanmax(moved.masked())), 6)
        (32631, 40.0)
        """
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        if self.crs is None:
            raise MissingCRSError("the raster has no CRS", hint="set raster.crs before reprojecting.")
        dst_crs = CRS.from_user_input(crs)
        if dst_crs == self.crs:
            return self.copy()
        rows, cols = self.shape
        left, bottom, right, top = self.bounds
        transform, width, height = calculate_default_transform(
            self.crs, dst_crs, cols, rows, left=left, bottom=bottom, right=right, top=top
        )
        _check_raster_size(height, width)  # a warp can ask for far more cells than the source has
        src = self.masked()
        dst = np.full((height, width), np.nan, dtype="float64")
        reproject(
            src,
            dst,
            src_transform=self.transform,
            src_crs=self.crs,
            src_nodata=np.nan,
            dst_transform=transform,
            dst_crs=dst_crs,
            dst_nodata=np.nan,
            resampling=Resampling[resampling],
        )
        out = Raster(dst, transform, dst_crs, nodata=np.nan, units=self.units)
        import copy as _copy

        out.attrs = _copy.deepcopy(self.attrs)
        return out

    # -- files ----------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, band: int = 1) -> Raster:
        """Read one band of a GeoTIFF or ASCII grid (no CRS or value checks: see :func:`cimkit.read_dem`).

        The format is judged by content (:func:`_find_raster_format`: a VRT is refused), the
        declared size is checked against ``max_pixels`` and the geotransform by
        :func:`_check_transform` before the cells are read.

        Examples
        --------
        >>> from cimkit.datasets import sample_city_path
        >>> Raster.from_file(sample_city_path() / "dem.tif").shape
        (180, 180)
        """
        band_data = _read_raster_band(path, band=band)
        return cls(
            band_data.values,
            band_data.transform,
            CRS.from_wkt(band_data.crs_wkt) if band_data.crs_wkt else None,
            band_data.nodata,
        )

    def to_geotiff(self, path: str | os.PathLike[str]) -> None:
        """Write a deflate-compressed GeoTIFF atomically (temporary file + rename).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from affine import Affine
        >>> dem = Raster(np.array([[40.0, 41.0]], dtype="float32"), Affine(5, 0, 0, 0, -5, 5), "EPSG:2154")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     dem.to_geotiff(Path(folder) / "dem.tif")
        ...     Raster.from_file(Path(folder) / "dem.tif").values.tolist()
        [[40.0, 41.0]]
        """
        import rasterio

        from cimkit._atomic import atomic_path

        profile = {
            "driver": "GTiff",
            "height": self.shape[0],
            "width": self.shape[1],
            "count": 1,
            "dtype": self.values.dtype.name,
            "crs": self.crs.to_wkt() if self.crs is not None else None,
            "transform": self.transform,
            "nodata": self.nodata,
            "compress": "deflate",
        }
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(self.values, 1)
                dst.update_tags(units=self.units)


@dataclass
class _RasterBand:
    """One band as :func:`_read_raster_band` reads it, before any check on its values."""

    values: np.ndarray
    transform: Affine
    crs_wkt: str | None
    nodata: float | None
    unit: str
    driver: str


def _read_raster_band(path: str | os.PathLike[str], *, band: int = 1) -> _RasterBand:
    """Read one band safely: format by content, size before allocation, georeferencing checked.

    Parameters
    ----------
    path
        A local GeoTIFF or ESRI ASCII grid (:data:`RASTER_FORMATS`).
    band
        Band to read (1-based).

    Returns
    -------
    _RasterBand

    Raises
    ------
    FileFormatError
        ``DEM001`` refused format or path, ``DEM008`` unreadable file.
    ResourceLimitError
        ``LIM010``: more cells than ``max_pixels``, raised before reading them.
    InputError
        ``DEM005`` no or unusable geotransform, ``DEM007`` no such band.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> band = _read_raster_band(sample_city_path() / "dem.tif")
    >>> band.driver, band.values.shape, band.nodata
    ('GTiff', (180, 180), -9999.0)
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    driver = _find_raster_format(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path, driver=driver) as src:
                _check_raster_size(src.height, src.width, path=path)
                if not 1 <= band <= src.count:
                    raise InputError(
                        f"band {band} requested; the file has {src.count}",
                        path=path,
                        code="DEM007",
                        hint="pick band=1.",
                    )
                if src.transform.is_identity and src.crs is None:
                    raise InputError(
                        "the raster has no georeferencing (no geotransform)",
                        path=path,
                        code="DEM005",
                        hint="georeference it (gdal_translate -a_ullr ... -a_srs ...) or warp its GCPs (gdalwarp).",
                    )
                _check_transform(src.transform, path=path)
                values = src.read(band)
                return _RasterBand(
                    values,
                    src.transform,
                    src.crs.to_wkt() if src.crs else None,
                    src.nodata,
                    (src.units[band - 1] or "") if src.units else "",
                    driver,
                )
    except (RasterioError, OSError) as err:
        raise FileFormatError(
            f"the {RASTER_FORMATS[driver]} cannot be read ({err})",
            path=path,
            code="DEM008",
            hint="check that the file is complete and opens in a GIS.",
        ) from err
    except MemoryError as err:
        raise ResourceLimitError(
            "not enough memory to read the raster",
            path=path,
            code="LIM010",
            hint="clip it or lower max_pixels.",
        ) from err
