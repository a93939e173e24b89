"""Terrain reader: a local GeoTIFF or ESRI ASCII grid holding one elevation band.

The reader trusts nothing it cannot check: the format is judged by the file's content (a VRT,
which can point at any local file, is refused), the declared size is checked against
``max_pixels`` before the cells are read, fill values left undeclared (-9999, -32768,
-3.4e38 ...) become nodata with a warning, and feet are never read as metres.

rasterio is imported inside :func:`read_dem`, so ``import cimkit`` stays light.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Literal

import numpy as np
from pyproj import CRS

from cimkit import provenance
from cimkit._crs import reproject_with_provenance, resolve_source_crs
from cimkit._placement import check_object_placement
from cimkit.errors import CRSError, InputError, RepairWarning
from cimkit.io._archive import check_input_size
from cimkit.options import get_options
from cimkit.raster import Raster, _check_raster_path, _read_raster_band

__all__ = ["FILL_VALUES", "VERTICAL_UNITS", "read_dem"]

logger = logging.getLogger(__name__)

# metres per unit; the US survey foot is 1200/3937 m (NIST SP 811, appendix B.6)
VERTICAL_UNITS: dict[str, float] = {"m": 1.0, "ft": 0.3048, "us-ft": 1200.0 / 3937.0}

#: Values that GIS software writes for "no data" and that, outside ``plausible_elevation_m``,
#: :func:`read_dem` reads as nodata when the file does not declare them (with a
#: ``RepairWarning`` DEM101). Besides these: infinities, any value of magnitude >= 1e30 and
#: the extremes of the band's integer type (-32768 for int16, 65535 for uint16 ...).
FILL_VALUES: tuple[float, ...] = (
    -9999.0,
    -99999.0,
    -999999.0,
    -32768.0,
    -32767.0,
    9999.0,
    99999.0,
    float(np.finfo(np.float32).min),  # -3.4028235e38, the GDAL / ArcGIS float default
    float(np.finfo(np.float32).max),
    float(np.finfo(np.float64).min),
    float(np.finfo(np.float64).max),
)

# unit names found in band metadata and CRS definitions -> a key of VERTICAL_UNITS
_UNIT_NAMES: dict[str, str] = {
    "m": "m",
    "metre": "m",
    "meter": "m",
    "metres": "m",
    "meters": "m",
    "ft": "ft",
    "foot": "ft",
    "feet": "ft",
    "international foot": "ft",
    "us-ft": "us-ft",
    "ftus": "us-ft",
    "us survey foot": "us-ft",
    "us_survey_foot": "us-ft",
    "foot_us": "us-ft",
    "survey foot": "us-ft",
}


def _unit_key(factor: float) -> str:
    """Return the VERTICAL_UNITS key of a metres-per-unit factor (the nearest; within 1e-6)."""
    key = min(VERTICAL_UNITS, key=lambda k: abs(VERTICAL_UNITS[k] - factor))
    if abs(VERTICAL_UNITS[key] - factor) > 1e-6:
        raise InputError(
            f"the elevations are in a unit of {factor} m, which cimkit does not convert",
            code="DEM004",
            hint="convert them to metres first (gdal_calc.py).",
        )
    return key


def _declared_vertical_unit(crs: CRS | None, band_unit: str, path: Any) -> tuple[str | None, str]:
    """Return the elevation unit the file declares (vertical CRS, then band unit) and where from."""
    if crs is not None and crs.is_compound:
        for sub in crs.sub_crs_list:
            if sub.is_vertical and sub.axis_info:
                return _unit_key(sub.axis_info[0].unit_conversion_factor), f"vertical CRS {sub.name!r}"
    name = band_unit.strip().lower()
    if name in _UNIT_NAMES:
        return _UNIT_NAMES[name], f"band unit {band_unit!r}"
    if name:
        logger.info("read_dem %s: band unit %r not understood; ignored", path, band_unit)
    return None, ""


def _horizontal_factor(crs: CRS | None) -> float:
    """Metres per unit of the horizontal CRS's axes (1.0 for metres or a geographic CRS)."""
    if crs is None:
        return 1.0
    horizontal = crs.sub_crs_list[0] if crs.is_compound and crs.sub_crs_list else crs
    if not horizontal.is_projected or not horizontal.axis_info:
        return 1.0
    return float(horizontal.axis_info[0].unit_conversion_factor)


def _resolve_vertical_units(
    given: str | None, crs: CRS | None, band_unit: str, path: Any, record: provenance.Provenance
) -> str:
    """Decide the unit of the elevations: the caller's, else the file's, else metres if it is safe."""
    declared, where = _declared_vertical_unit(crs, band_unit, path)
    if given is not None:
        if declared is not None and declared != given:
            raise InputError(
                f"vertical_units={given!r} contradicts the file, whose {where} says {declared!r}",
                path=path,
                code="DEM004",
                hint=f"drop vertical_units= or pass vertical_units={declared!r}.",
            )
        return given
    if declared is not None:
        if declared != "m":
            warnings.warn(
                RepairWarning(
                    f"{os.fspath(path)}: the elevations are in {declared} ({where}); every cell was "
                    f"converted to metres (x {VERTICAL_UNITS[declared]:.10g}). Pass vertical_units= "
                    "to override.",
                    code="DEM102",
                ),
                stacklevel=3,
            )
            record.add_step("vertical_units", f"elevation unit from the {where}", vertical_units=declared)
        return declared
    if _horizontal_factor(crs) != 1.0:
        raise InputError(
            f"the CRS is in {crs.axis_info[0].unit_name if crs and crs.axis_info else 'feet'} and the "
            "file declares no elevation unit: the elevations may be in feet or in metres",
            path=path,
            code="DEM004",
            hint="pass vertical_units='m', 'ft' or 'us-ft' (US state-plane DEMs are usually in 'us-ft').",
        )
    return "m"


def _fill_value_mask(values: np.ndarray, nodata: float | None, unit: str) -> np.ndarray:
    """Cells outside ``plausible_elevation_m`` (in the file's unit) that are not declared nodata."""
    low, high = (bound / VERTICAL_UNITS[unit] for bound in get_options()["plausible_elevation_m"])
    with np.errstate(invalid="ignore"):
        outside = (values < low) | (values > high)
    if nodata is not None and not np.isnan(nodata):
        outside &= values != nodata
    return outside


def _is_fill_value(found: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Which of the implausible values ``found`` are known fill values."""
    known = list(FILL_VALUES)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        known += [float(info.min), float(info.max)]
    as_float = found.astype("float64")
    with np.errstate(invalid="ignore"):
        return np.isin(as_float, known) | ~np.isfinite(as_float) | (np.abs(as_float) >= 1e30)


def _mask_fill_values(
    values: np.ndarray, nodata: float | None, unit: str, path: Any, record: provenance.Provenance
) -> tuple[np.ndarray, float | None]:
    """Read undeclared fill values as nodata (RepairWarning DEM101); refuse other implausible cells."""
    outside = _fill_value_mask(values, nodata, unit)
    if not outside.any():
        return values, nodata
    found = values[outside]
    fill = _is_fill_value(found, values.dtype)
    low, high = get_options()["plausible_elevation_m"]
    if not fill.all():
        other = found[~fill].astype("float64")
        raise InputError(
            f"{other.size} cells hold elevations outside plausible_elevation_m ({low:g} to {high:g} m) "
            f"that are not fill values (from {other.min():g} to {other.max():g} {unit}): a wrong unit "
            "(mm, cm, feet) or corrupt cells",
            path=path,
            code="DEM006",
            hint="pass vertical_units= if the unit is wrong, or widen "
            "cimkit.set_options(plausible_elevation_m=(low, high)) if the values are real.",
        )
    kinds, counts = np.unique(found, return_counts=True)
    by_value = {float(k): int(n) for k, n in zip(kinds, counts, strict=True)}
    if nodata is None and len(by_value) == 1 and np.isfinite(kinds[0]):
        new_nodata: float | None = float(kinds[0])  # declare it: the values stay as in the file
    else:
        if np.issubdtype(values.dtype, np.floating):
            new_nodata = nodata if nodata is not None else float("nan")
        else:
            new_nodata = nodata if nodata is not None else float(kinds[np.argmax(counts)])
        values = values.copy()
        values[outside] = new_nodata
    listing = ", ".join(f"{value:g} ({count:,} cells)" for value, count in by_value.items())
    total = int(outside.sum())
    warnings.warn(
        RepairWarning(
            f"{os.fspath(path)}: {total:,} of {values.size:,} cells ({total / values.size:.1%}) hold "
            f"undeclared fill values {listing}, outside plausible_elevation_m ({low:g} to {high:g} m); "
            "they were read as nodata. To keep them as ground, widen "
            "cimkit.set_options(plausible_elevation_m=...).",
            code="DEM101",
        ),
        stacklevel=3,
    )
    record.add_step(
        "nodata_fill_values",
        "undeclared fill values outside plausible_elevation_m read as nodata",
        count=total,
        values={f"{k:g}": v for k, v in by_value.items()},
        nodata=new_nodata,
    )
    return values, new_nodata


def _file_crs(wkt: str | None, path: Any) -> CRS | None:
    """Return the file's CRS; refuse a local (engineering) or unparsable one: it cannot be placed."""
    from pyproj.exceptions import CRSError as ProjCRSError

    if not wkt:
        return None
    try:
        found = CRS.from_wkt(wkt)
    except ProjCRSError as err:
        raise CRSError(
            f"the file's CRS cannot be interpreted ({err})", path=path, code="CRS001", hint=_LOCAL_CRS_HINT
        ) from err
    horizontal = found.sub_crs_list[0] if found.is_compound and found.sub_crs_list else found
    if not (horizontal.is_projected or horizontal.is_geographic):
        raise CRSError(
            f"the file's CRS {found.name!r} is a local ({found.type_name}) CRS that cannot be placed on the map",
            path=path,
            code="CRS001",
            hint=_LOCAL_CRS_HINT,
        )
    return found


_LOCAL_CRS_HINT = "georeference the grid in a projected CRS (gdalwarp -t_srs EPSG:...) and read that file."


def _check_horizontal_units(file_crs: CRS | None, crs: Any, path: Any) -> None:
    """Refuse a grid in feet unless it is warped to a CRS in metres."""
    if _horizontal_factor(file_crs) == 1.0:
        return
    target = CRS.from_user_input(crs) if crs is not None else None
    if target is not None and _horizontal_factor(target) == 1.0:
        return
    unit = file_crs.axis_info[0].unit_name if file_crs is not None and file_crs.axis_info else "feet"
    raise CRSError(
        f"the grid's CRS ({file_crs.name if file_crs else '?'}) is in {unit}; cimkit computes in metres",
        path=path,
        code="DEM003",
        hint="pass crs= a projected CRS in metres (the local UTM zone, or the state plane in metres): "
        "the grid is warped to it.",
    )


def read_dem(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    source_crs: Any = None,
    vertical_units: Literal["m", "ft", "us-ft"] | None = None,
    band: int = 1,
    nodata: float | None = None,
    resampling: Literal["bilinear", "nearest", "cubic"] = "bilinear",
) -> Raster:
    """Read a digital elevation model into a :class:`~cimkit.raster.Raster` in metres.

    Parameters
    ----------
    path
        A local GeoTIFF (or Cloud Optimized GeoTIFF) or ESRI ASCII grid (``.asc``), recognised
        by its content. VRTs, GDAL virtual paths (``/vsicurl/`` ...), URLs and compressed files
        are refused.
    crs
        Target CRS; the grid is warped to it (``resampling``) and the step is recorded. Required
        (in metres) for a file whose CRS is in feet.
    source_crs
        CRS of a file that declares none (an ``.asc`` without ``.prj``). Without it such a
        file raises :class:`~cimkit.errors.MissingCRSError`. Refused when it contradicts the
        file's own CRS.
    vertical_units
        Units of the elevations in the file: ``"m"``, ``"ft"`` (international foot,
        0.3048 m) or ``"us-ft"`` (1200/3937 m); values are converted to metres. None (the
        default): the unit the file declares (its vertical CRS or band unit, converted with a
        ``RepairWarning`` DEM102), else metres; a file in a CRS in feet that declares no
        elevation unit is refused (DEM004) rather than guessed.
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
        ``source_crs`` contradicts the file's CRS; ``DEM003``: the CRS is in feet and ``crs=``
        is not a CRS in metres.
    FileFormatError
        ``DEM001``: a refused format or path; ``DEM008``: an empty, truncated or corrupt file.
    ResourceLimitError
        ``LIM010``: more cells than ``max_pixels`` (checked on the header, before reading);
        ``LIM002``: a file larger than ``max_input_mb``.
    InputError
        ``DEM002`` no cell with data; ``DEM004`` elevation unit ambiguous or contradicted;
        ``DEM005`` no or unusable geotransform (NaN, zero-size, rotated); ``DEM006`` elevations
        outside ``plausible_elevation_m`` that are not fill values; ``DEM007`` no such band.
    CimkitIOError
        The file does not exist or is a folder.

    Warns
    -----
    RepairWarning
        ``DEM101``: undeclared fill values (:data:`FILL_VALUES`) read as nodata, with their
        counts (also a ``nodata_fill_values`` provenance step); ``DEM102``: elevations the
        file declares in feet converted to metres.

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
    if vertical_units is not None and vertical_units not in VERTICAL_UNITS:
        raise InputError(
            f"'vertical_units' must be one of {', '.join(VERTICAL_UNITS)}; {vertical_units!r} was given",
            code="ARG001",
        )
    band_data = _read_checked(path, band)
    values = band_data.values
    record = provenance.record_for_files(path, reader="cimkit.read_dem", libraries=["rasterio"])
    record.add_step(
        "read", f"band {band} of a {band_data.driver} grid", rows=values.shape[0], cols=values.shape[1]
    )
    file_crs = _file_crs(band_data.crs_wkt, path)
    file_crs = resolve_source_crs(file_crs, source_crs, path=path, record=record, what="the raster")
    _check_horizontal_units(file_crs, crs, path)
    unit = _resolve_vertical_units(vertical_units, file_crs, band_data.unit, path, record)
    file_nodata = band_data.nodata
    if nodata is not None:
        file_nodata = nodata
        record.add_step("set_nodata", "nodata value given by the caller", nodata=nodata)
    values, file_nodata = _mask_fill_values(values, file_nodata, unit, path, record)
    raster = Raster(values, band_data.transform, file_crs, nodata=file_nodata, units="m")
    valid = raster.valid_mask()
    if not valid.any():
        raise InputError(
            f"the DEM has no cell with data: all {values.size:,} cells are nodata (nodata={file_nodata!r})",
            path=path,
            code="DEM002",
            hint="check the file's nodata value (nodata=) and that it is the DEM of the area.",
        )
    record.add_step("nodata", "cells without data", nodata=file_nodata, count=int(values.size - valid.sum()))
    factor = VERTICAL_UNITS[unit]
    if factor != 1.0:
        raster = Raster(raster.masked() * factor, raster.transform, file_crs, nodata=np.nan, units="m")
        record.add_step("scale_units", f"elevations converted from {unit} to m", factor=factor)
    accepted = check_object_placement(raster, path=path, record=record)
    moved = reproject_with_provenance(raster, crs, record=record, path=path, resampling=resampling)
    if moved is not raster and not accepted:  # also where the target CRS says it should be
        check_object_placement(moved, path=path, record=record)
    raster = moved
    raster.attrs["vertical_units_source"] = unit
    provenance.attach(raster, record)
    logger.debug("read_dem %s: %r", path, raster)
    return raster


def _read_checked(path: str | os.PathLike[str], band: int) -> Any:
    """Check the size on disk (``max_input_mb``), then read the band (format, pixels, geotransform)."""
    _check_raster_path(path)
    check_input_size(path, what="DEM")
    return _read_raster_band(path, band=band)
