"""A small georeferenced grid container used for the terrain and for flood depths.

:class:`Raster` holds a 2-D float array, its affine transform, CRS and nodata value. It is a
plain container (the flood analysis works on ``raster.values`` with numpy); reading and writing
delegate to rasterio, imported lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from cimkit.errors import CimkitIOError, FileFormatError, MissingCRSError

__all__ = ["Raster"]


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

    # -- geometry -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units, both positive."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def cell_area(self) -> float:
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
        """True where the cell holds data (not nodata, not NaN)."""
        v = self.values
        mask = np.ones(v.shape, dtype=bool)
        if np.issubdtype(v.dtype, np.floating):
            mask &= ~np.isnan(v)
        if self.nodata is not None and not (isinstance(self.nodata, float) and np.isnan(self.nodata)):
            mask &= v != self.nodata
        return mask

    def masked(self) -> np.ndarray:
        """The values as float64 with NaN where there is no data."""
        out = self.values.astype("float64", copy=True)
        out[~self.valid_mask()] = np.nan
        return out

    def xy(self, row: Any, col: Any) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates of cell centres."""
        row = np.asarray(row, dtype="float64") + 0.5
        col = np.asarray(col, dtype="float64") + 0.5
        t = self.transform
        return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f

    def index(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the cells holding map points (may fall outside the grid)."""
        inv = ~self.transform
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        cols = inv.a * x + inv.b * y + inv.c
        rows = inv.d * x + inv.e * y + inv.f
        return np.floor(rows).astype("int64"), np.floor(cols).astype("int64")

    def sample(self, x: Any, y: Any) -> np.ndarray:
        """Values at map points; NaN outside the grid or on nodata."""
        rows, cols = self.index(x, y)
        rows, cols = np.atleast_1d(rows), np.atleast_1d(cols)
        out = np.full(rows.shape, np.nan)
        inside = (rows >= 0) & (cols >= 0) & (rows < self.shape[0]) & (cols < self.shape[1])
        data = self.masked()
        out[inside] = data[rows[inside], cols[inside]]
        return out

    def copy(self, values: np.ndarray | None = None, **changes: Any) -> Raster:
        """A copy, optionally with new values (same grid) or other fields changed."""
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
        """Warp to another CRS with rasterio (bilinear by default; nodata kept)."""
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
        """Read one band with rasterio (no CRS fix-ups: see :func:`cimkit.read_dem`)."""
        import rasterio
        from rasterio.errors import RasterioIOError

        try:
            with rasterio.open(path) as src:
                values = src.read(band)
                return cls(values, src.transform, src.crs.to_wkt() if src.crs else None, src.nodata)
        except RasterioIOError as err:
            raise CimkitIOError(
                f"rasterio cannot open the file ({err})",
                path=path,
                hint="check the path and that the file is a raster GDAL reads (GeoTIFF, ASCII grid ...).",
            ) from err

    def to_geotiff(self, path: str | os.PathLike[str]) -> None:
        """Write a tiled, deflate-compressed GeoTIFF atomically (temporary file + rename)."""
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
