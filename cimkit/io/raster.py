"""Terrain reader: any single-band elevation grid rasterio opens (GeoTIFF, ESRI ASCII grid ...).

rasterio is imported inside :func:`read_dem`, so ``import cimkit`` stays light.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np
from pyproj import CRS

from cimkit import provenance
from cimkit._crs import reproject_with_provenance, resolve_source_crs
from cimkit._placement import check_object_placement
from cimkit.errors import CimkitIOError, FileFormatError, InputError
from cimkit.raster import Raster

__all__ = ["VERTICAL_UNITS", "read_dem"]

logger = logging.getLogger(__name__)

# metres per unit; the US survey foot is 1200/3937 m (NIST SP 811, appendix B.6)
VERTICAL_UNITS: dict[str, float] = {"m": 1.0, "ft": 0.3048, "us-ft": 1200.0 / 3937.0}


def read_dem(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    source_crs: Any = None,
    vertical_units: Literal["m", "ft", "us-ft"] = "m",
    band: int = 1,
    nodata: float | None = None,
    resampling: Literal["bilinear", "nearest", "cubic"] = "bilinear",
) -> Raster:
    """Read a digital elevation model into a :class:`~cimkit.raster.Raster` in metres.

    Parameters
    ----------
    path
        Any raster GDAL reads: GeoTIFF, ESRI ASCII grid (``.asc``), VRT ...
    crs
        Target CRS; the grid is warped to it (``resampling``) and the step is recorded.
    source_crs
        CRS of a file that declares none (an ``.asc`` without ``.prj``). Without it such a
        file raises :class:`~cimkit.errors.MissingCRSError`. Refused when it contradicts the
        file's own CRS.
    vertical_units
        Units of the elevations in the file: ``"m"``, ``"ft"`` (international foot,
        0.3048 m) or ``"us-ft"`` (1200/3937 m). Values are converted to metres.
    band
        Band to read (1-based).
    nodata
        Nodata value when the file declares none (or to override it).
    resampling
        Resampling used by ``crs=``.

    Returns
    -------
    Raster
        ``units="m"``; ``nodata`` as declared (cells equal to it are masked by
        :meth:`~cimkit.raster.Raster.masked`); float64 values with NaN as nodata after a
        unit conversion or a reprojection; ``attrs["provenance"]`` and ``attrs["vertical_units_source"]``.

    Raises
    ------
    MissingCRSError
        The file has no CRS and ``source_crs`` is not given.
    CRSError
        ``source_crs`` contradicts the file's CRS.
    FileFormatError, CimkitIOError
        The file is not a raster GDAL reads, or does not exist.

    Examples
    --------
    The sample city's terrain: 5 m cells in Lambert-93, ten cells without data:

    >>> import numpy as np
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> dem = cimkit.read_dem(sample_city_path() / "dem.tif")
    >>> dem.shape, dem.res, dem.nodata, int((~dem.valid_mask()).sum())
    ((180, 180), (5.0, 5.0), -9999.0, 10)
    >>> round(float(np.nanmin(dem.masked())), 2), round(float(np.nanmax(dem.masked())), 2)
    (34.92, 58.52)
    >>> utm = cimkit.read_dem(sample_city_path() / "dem.tif", crs="EPSG:32631")
    >>> [step.action for step in cimkit.provenance.get(utm).steps]
    ['read', 'nodata', 'reproject']
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    if vertical_units not in VERTICAL_UNITS:
        raise InputError(
            f"'vertical_units' must be one of {', '.join(VERTICAL_UNITS)}; {vertical_units!r} was given"
        )
    if not os.path.exists(path):
        raise CimkitIOError("the file does not exist", path=path, hint="check the path.")
    try:
        with rasterio.open(path) as src:
            if band < 1 or band > src.count:
                raise InputError(
                    f"band {band} requested; the file has {src.count}", path=path, hint="pick band=1."
                )
            values = src.read(band)
            transform = src.transform
            file_crs = CRS.from_wkt(src.crs.to_wkt()) if src.crs else None
            file_nodata = src.nodata
            driver = src.driver
    except RasterioIOError as err:
        raise FileFormatError(
            f"rasterio cannot open the file ({err})",
            path=path,
            hint="check that it is a raster GDAL reads (GeoTIFF, ASCII grid ...).",
        ) from err
    record = provenance.record_for_files(path, reader="cimkit.read_dem", libraries=["rasterio"])
    record.add_step("read", f"band {band} of a {driver} grid", rows=values.shape[0], cols=values.shape[1])
    file_crs = resolve_source_crs(file_crs, source_crs, path=path, record=record, what="the raster")
    if nodata is not None:
        file_nodata = nodata
        record.add_step("set_nodata", "nodata value given by the caller", nodata=nodata)
    raster = Raster(values, transform, file_crs, nodata=file_nodata, units="m")
    n_nodata = int((~raster.valid_mask()).sum())
    record.add_step("nodata", "cells without data", nodata=file_nodata, count=n_nodata)
    factor = VERTICAL_UNITS[vertical_units]
    if factor != 1.0:
        raster = Raster(raster.masked() * factor, transform, file_crs, nodata=np.nan, units="m")
        record.add_step("scale_units", f"elevations converted from {vertical_units} to m", factor=factor)
    accepted = check_object_placement(raster, path=path, record=record)
    moved = reproject_with_provenance(raster, crs, record=record, path=path, resampling=resampling)
    if moved is not raster and not accepted:  # also where the target CRS says it should be
        check_object_placement(moved, path=path, record=record)
    raster = moved
    raster.attrs["vertical_units_source"] = vertical_units
    provenance.attach(raster, record)
    logger.debug("read_dem %s: %r", path, raster)
    return raster
