"""The DEM of the folder model format: a float32 Cloud-Optimised GeoTIFF, window-read to a bbox."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from cimkit import provenance as prov
from cimkit.errors import RepairWarning
from cimkit.io.gpkg import _record_cast
from cimkit.raster import Raster

DEM_PART = "dem"


def dem_cast(dem: Raster) -> dict[str, Any] | None:
    values = dem.values
    if values.dtype == np.float32 or not values.size:
        return None
    as32 = values.astype("float32")
    with np.errstate(invalid="ignore"):
        err = float(np.nanmax(np.abs(as32.astype("float64") - values.astype("float64")), initial=0.0))
    if err == 0 or np.isnan(err):
        return None
    warnings.warn(
        RepairWarning(
            f"DEM stored as float32 (the folder format's DEM type): {values.size} cell(s), "
            f"largest change {err:.2e} {dem.units}; keep the DEM as a GeoTIFF (Raster.to_geotiff) "
            "where more precision matters",
            code="FLD101",
        ),
        stacklevel=4,
    )
    return {"from": str(values.dtype), "max_abs_change": err}


def record_cast(record: prov.Provenance | None, cast: Mapping[str, Any], dem: Raster) -> prov.Provenance:
    """Return a copy of the DEM's record with the float32 cast as a step (the model's own is untouched)."""
    return _record_cast(record, cast, dem, layer=DEM_PART, store="the DEM type of the folder format")


def write_dem(dem: Raster, spec: dict[str, Any]) -> Any:
    """Return the bytes of the DEM as a float32 Cloud-Optimised GeoTIFF."""
    from rasterio.io import MemoryFile

    nodata = dem.nodata
    spec["nodata"] = None if nodata is None else ("nan" if np.isnan(nodata) else float(nodata))
    with MemoryFile() as memory:
        with memory.open(
            driver="COG",
            width=dem.shape[1],
            height=dem.shape[0],
            count=1,
            dtype="float32",
            crs=dem.crs.to_wkt() if dem.crs else None,
            transform=dem.transform,
            nodata=None if nodata is None else float(nodata),
            compress="ZSTD",
            blocksize=256,
        ) as dst:
            dst.write(dem.values.astype("float32", copy=False), 1)
        return memory.read()


def decode_dem(data: bytes, spec: Mapping[str, Any], crs: CRS, bbox: Sequence[float] | None) -> Raster | None:
    import math

    from rasterio.io import MemoryFile
    from rasterio.windows import Window

    with MemoryFile(data) as memory, memory.open() as src:
        window = None
        t = src.transform
        if bbox is not None and t.b == 0 and t.d == 0:
            minx, miny, maxx, maxy = map(float, bbox)
            c0 = max(0, math.floor((minx - t.c) / t.a))
            c1 = min(src.width, math.ceil((maxx - t.c) / t.a))
            r0 = max(0, math.floor((maxy - t.f) / t.e))
            r1 = min(src.height, math.ceil((miny - t.f) / t.e))
            if c1 <= c0 or r1 <= r0:
                return None
            window = Window(c0, r0, c1 - c0, r1 - r0)
        values = src.read(1, window=window)
        if window is not None:  # the window's upper-left corner (north-up grid)
            t = Affine(t.a, 0.0, t.c + window.col_off * t.a, 0.0, t.e, t.f + window.row_off * t.e)
    transform = t
    nodata = spec.get("nodata")
    nodata = np.nan if nodata == "nan" else nodata
    original = spec.get("dtype_original")
    if original and original != "float32" and spec.get("cast") is None:
        values = values.astype(original)
    return Raster(values, transform, crs, nodata=nodata, units=spec.get("units", "m"))
