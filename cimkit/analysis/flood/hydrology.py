"""Terrain hydrology: depression filling, D8 flow directions, flow accumulation and HAND.

The kernels are compiled with numba (:mod:`cimkit.analysis.flood._kernels`):

- conditioning is the Priority-Flood of Barnes, Lehman & Mulla (2014, Computers & Geosciences
  62:117-127, doi:10.1016/j.cageo.2013.04.024) with its "+epsilon" variant, which raises filled
  pits and flats by one floating-point step per cell so that every cell keeps a strictly
  decreasing path to its spill point (flats drain towards their outlet); its priority queue is
  a 4-ary heap laid out for the cache;
- D8 flow directions (O'Callaghan & Mark 1984) take the steepest drop divided by distance, in one
  pass over the grid;
- accumulation walks the cells in topological order (Kahn's algorithm) once;
- HAND (Nobre et al. 2011, J. Hydrol. 404:13-29, doi:10.1016/j.jhydrol.2011.03.051) follows the
  receivers once, in reverse topological order.

These are written here rather than taken from pyflwdir/pysheds/richdem so that the package needs
no extra dependency and the steps fuse with cimkit's :class:`~cimkit.raster.Raster`;
``benchmarks/bench_flood.py`` compares them with those libraries.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any, Literal

import numpy as np

from cimkit.errors import CoverageWarning, GeographicCRSError, InputError, ValidationError
from cimkit.raster import Raster

__all__ = [
    "compute_flow_accumulation",
    "compute_flow_directions",
    "compute_hand",
    "compute_hand_depth",
    "compute_stream_mask",
    "fill_depressions",
]

logger = logging.getLogger(__name__)

_VALID_CODE = np.zeros(256, dtype=bool)
_VALID_CODE[[0, 1, 2, 4, 8, 16, 32, 64, 128, 255]] = True

#: Upstream area used when neither streams nor a threshold are given to :func:`compute_hand` (1 km²).
DEFAULT_STREAM_AREA_M2 = 1.0e6

#: :func:`compute_hand` warns (:class:`~cimkit.errors.CoverageWarning`) when more than this share
#: of the DEM's cells with data get no HAND (their flow leaves the grid before any stream).
HAND_UNDRAINED_WARNING_SHARE = 0.05


def _check_raster(dem: Any, name: str = "dem") -> Raster:
    if not isinstance(dem, Raster):
        raise InputError(
            f"{name!r} must be a cimkit.raster.Raster; got {type(dem).__name__}",
            hint="read the terrain with cimkit.read_dem or build Raster(values, transform, crs).",
        )
    t = dem.transform
    if t.b != 0 or t.d != 0:
        raise InputError(
            f"{name!r} has a rotated grid (transform {tuple(t)[:6]})",
            hint="warp it to a north-up grid first (Raster.to_crs or rasterio.warp).",
        )
    return dem


def _check_projected(dem: Raster, what: str) -> None:
    if dem.crs is not None and dem.crs.is_geographic:
        raise GeographicCRSError(
            f"{what} needs distances in metres; the DEM is in a geographic CRS ({dem.crs.to_string()})",
            hint="reproject it first, e.g. dem.to_crs('EPSG:2154') or the local UTM zone.",
        )


def _record_step(out: Raster, source: Raster, action: str, detail: str, **params: Any) -> Raster:
    """Carry the source grid's provenance to ``out`` with one more step (when it has one)."""
    from cimkit import provenance

    record = provenance.get(source)
    if record is not None:
        provenance.attach(out, record.copy().add_step(action, detail, **params))
    return out


def _check_has_data(dem: Raster, what: str) -> None:
    """Refuse a grid without one valid cell: every result on it would be NaN."""
    if not dem.valid_mask().any():
        raise InputError(
            f"{what}: the DEM has no cell with data (all {dem.values.size} cells are no data, "
            f"nodata={dem.nodata!r})",
            hint="check the file's nodata value and that the DEM covers the area (the CRS may be wrong).",
            code="ANA010",
        )


def _check_water_height(level: np.ndarray) -> None:
    """Refuse a water height above the drainage that is NaN, infinite or negative."""
    finite = level[np.isfinite(level)]
    unusable = bool(np.isinf(level).any() or finite.size == 0)
    if unusable or (finite < 0).any():
        lowest = f"{float(finite.min()):g}" if finite.size else "no finite value"
        raise ValidationError(
            f"'water_level_m' (the stage above the drainage) must be finite and >= 0 m; lowest: {lowest}",
            code="ANA011" if unusable else "ANA012",
            hint="pass the water height above the stream in metres, not an elevation or a difference.",
        )


def _check_depth_grid(depth: Raster, what: str) -> None:
    """Refuse a water-depth grid without data, or with negative or infinite depths."""
    values = depth.masked()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError(
            f"{what} has no cell with data (all {values.size} cells are nodata or NaN)",
            code="ANA010",
            hint="check its nodata value; dry cells hold 0 m, not nodata.",
        )
    if np.isinf(values).any() or (finite < 0).any():
        raise ValidationError(
            f"{what} holds {int((finite < 0).sum())} negative and {int(np.isinf(values).sum())} infinite "
            f"depth(s) (minimum {float(finite.min()):g} m): a depth is water above the ground, >= 0 m",
            code="ANA012",
            hint="pass depths, not water-surface elevations or differences (clip them at 0 if intended).",
        )


def _check_size(dem: Raster) -> None:
    if dem.values.size >= 2**31 - 1:
        raise InputError(
            f"the grid has {dem.values.size} cells; the hydrology kernels index cells with 32-bit integers",
            hint="split the DEM into tiles of fewer than 2**31 cells (e.g. 40 000 x 40 000).",
        )


def _z(dem: Raster, *, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Float64 elevations with NaN on no data, and the valid mask.

    ``copy=False`` reuses a float64 grid whose no data is already NaN (a conditioned DEM).
    """
    v = dem.values
    nan_nodata = dem.nodata is None or (isinstance(dem.nodata, float) and np.isnan(dem.nodata))
    if not copy and v.dtype == np.float64 and nan_nodata:
        z = np.ascontiguousarray(v)
    else:
        z = np.ascontiguousarray(dem.masked(), dtype=np.float64)
    valid = ~np.isnan(z)
    return z, valid


def fill_depressions(dem: Raster, *, flats: Literal["epsilon", "none"] = "epsilon") -> Raster:
    """Fill the depressions of a DEM (Priority-Flood, Barnes et al. 2014).

    Parameters
    ----------
    dem
        Terrain elevations in metres. No-data cells stay no data; the grid border and cells next
        to no data are the outlets.
    flats
        ``"epsilon"``: raise filled cells and flats by the smallest float step per cell so that
        every cell drains (Priority-Flood+epsilon); ``"none"``: fill pits to the flat spill level.

    Returns
    -------
    Raster
        Float64 elevations, NaN where the DEM has no data. ``attrs["raised_cells"]`` counts the
        cells that were raised.

    Examples
    --------
    A pit (0 m) inside a ring of 2 m cells whose lowest point, the outlet, is at 1 m:

    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import fill_depressions
    >>> from cimkit.raster import Raster
    >>> z = np.array([[2.0, 2.0, 2.0], [2.0, 0.0, 1.0], [2.0, 2.0, 2.0]])
    >>> dem = Raster(z, Affine(1, 0, 0, 0, -1, 3), "EPSG:2154")
    >>> filled = fill_depressions(dem, flats="none")
    >>> filled.values[1].tolist(), filled.attrs["raised_cells"]
    ([2.0, 1.0, 1.0], 1)
    """
    _check_raster(dem)
    _check_has_data(dem, "fill_depressions")
    if flats not in ("epsilon", "none"):
        raise ValidationError(f"'flats' must be one of epsilon, none; {flats!r} was given.")
    from cimkit.analysis.flood import _kernels

    _check_size(dem)
    z, valid = _z(dem)
    raised = _kernels.priority_flood(z, valid, flats == "epsilon")
    out = dem.copy(values=z, nodata=np.nan, units=dem.units)
    out.attrs["raised_cells"] = int(raised)
    _record_step(
        out, dem, "fill_depressions", "Priority-Flood (Barnes et al. 2014)", flats=flats, raised_cells=raised
    )
    logger.debug("fill_depressions: %d of %d cells raised", raised, valid.sum())
    return out


def _receivers(dem: Raster) -> tuple[np.ndarray, np.ndarray]:
    from cimkit.analysis.flood import _kernels

    z, valid = _z(dem, copy=False)
    dx, dy = dem.res
    return _kernels.d8_receivers(z, valid, float(dx), float(dy)), valid


def compute_flow_directions(dem: Raster) -> Raster:
    """Compute D8 flow directions (steepest drop per unit distance to one of 8 neighbours).

    Parameters
    ----------
    dem
        Elevations in metres in a projected CRS; pass a conditioned DEM
        (:func:`fill_depressions`) so that every cell drains, otherwise pits become sinks.

    Returns
    -------
    Raster
        uint8 ESRI codes: 1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE; 0 for a cell with no
        lower neighbour (an outlet on the border or a sink); 255 (the nodata value) for no data.

    Examples
    --------
    A ramp falling to the east drains east (code 1); the last column is the outlet (0):

    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_flow_directions
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.tile([3.0, 2.0, 1.0], (2, 1)), Affine(10, 0, 0, 0, -10, 20), "EPSG:2154")
    >>> compute_flow_directions(dem).values.tolist()
    [[1, 1, 0], [1, 1, 0]]
    """
    _check_raster(dem)
    _check_projected(dem, "compute_flow_directions")
    from cimkit.analysis.flood import _kernels

    rec, valid = _receivers(dem)
    codes = _kernels.receivers_to_codes(rec, valid.ravel(), dem.shape[1]).reshape(dem.shape)
    return Raster(codes, dem.transform, dem.crs, nodata=255, units="d8", attrs={})


def _receivers_from_codes(flow_directions: Raster) -> np.ndarray:
    from cimkit.analysis.flood import _kernels

    codes = np.ascontiguousarray(flow_directions.values, dtype=np.uint8).ravel()
    bad = ~_VALID_CODE[codes]
    if bad.any():
        raise InputError(
            f"'flow_directions' holds {int(bad.sum())} value(s) that are not ESRI D8 codes",
            hint="use the output of compute_flow_directions (codes 1..128, 0 sink, 255 no data).",
        )
    return _kernels.codes_to_receivers(codes, *flow_directions.shape)


def compute_flow_accumulation(
    flow_directions: Raster, *, weights: Raster | np.ndarray | None = None
) -> Raster:
    """Count the cells (or sum the weights) draining through each cell, the cell included.

    Parameters
    ----------
    flow_directions
        ESRI D8 codes from :func:`compute_flow_directions`.
    weights
        Optional per-cell weights (e.g. rainfall excess in m³); default 1 per cell.

    Returns
    -------
    Raster
        Float64 accumulation in cells (or weight units); NaN where the directions have no data.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_flow_accumulation, compute_flow_directions
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.tile([3.0, 2.0, 1.0], (2, 1)), Affine(10, 0, 0, 0, -10, 20), "EPSG:2154")
    >>> compute_flow_accumulation(compute_flow_directions(dem)).values.tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    """
    _check_raster(flow_directions, "flow_directions")
    acc, _, _ = _accumulate(flow_directions, weights)
    return flow_directions.copy(values=acc, nodata=np.nan, units="cells" if weights is None else "weight")


def _accumulate(flow_directions: Raster, weights: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from cimkit.analysis.flood import _kernels

    rec = _receivers_from_codes(flow_directions)
    nodata = np.asarray(flow_directions.values).ravel() == 255
    if weights is None:
        w = np.ones(rec.shape[0], dtype=np.float64)
    else:
        w = np.asarray(weights.masked() if isinstance(weights, Raster) else weights, dtype=np.float64)
        if w.shape != flow_directions.shape:
            raise InputError(
                f"'weights' has shape {w.shape}; the flow directions have {flow_directions.shape}",
                hint="pass weights on the same grid.",
            )
        w = np.nan_to_num(w.ravel(), nan=0.0)
    w[nodata] = 0.0
    acc, order, cyclic = _kernels.topological_accumulation(rec, w)
    if cyclic:
        raise InputError(
            f"the flow directions contain loops ({cyclic} cells never reach an outlet)",
            hint="compute them with compute_flow_directions on a conditioned DEM (fill_depressions).",
        )
    acc[nodata] = np.nan
    return acc.reshape(flow_directions.shape), order, rec


def compute_stream_mask(
    dem: Raster,
    streams: Any,
    *,
    accumulation: np.ndarray | None = None,
    accumulation_threshold: float | None = None,
) -> np.ndarray:
    """Compute a boolean stream mask on the DEM grid from a mask, lines or an accumulation.

    Parameters
    ----------
    dem
        The grid.
    streams
        A boolean array or Raster on the grid, or a GeoDataFrame / GeoSeries / shapely geometry
        of stream lines in the DEM's CRS (burned with every touched cell), or None.
    accumulation
        Flow accumulation in cells, required when ``streams`` is None.
    accumulation_threshold
        Cells with at least this many upstream cells (the cell included) are streams.

    Returns
    -------
    ndarray
        Boolean mask of the stream cells, shaped like the DEM.

    Examples
    --------
    Stream cells from a flow accumulation, or from a line burned on the grid:

    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_stream_mask
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.zeros((2, 3)), Affine(10, 0, 0, 0, -10, 20), "EPSG:2154")
    >>> acc = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    >>> compute_stream_mask(dem, None, accumulation=acc, accumulation_threshold=3).tolist()
    [[False, False, True], [False, False, True]]
    >>> line = shapely.LineString([(15, 19), (15, 1)])
    >>> compute_stream_mask(dem, line).astype(int).tolist()
    [[0, 1, 0], [0, 1, 0]]
    """
    if streams is None:
        if accumulation is None or accumulation_threshold is None:
            raise ValidationError("give 'streams' or an accumulation and 'accumulation_threshold'.")
        if accumulation_threshold <= 0:
            raise ValidationError(
                f"'accumulation_threshold' must be > 0 cells; {accumulation_threshold} was given."
            )
        with np.errstate(invalid="ignore"):
            return accumulation >= accumulation_threshold  # NaN compares False; no grid copy
    if isinstance(streams, Raster):
        if streams.shape != dem.shape:
            raise InputError(
                f"the streams raster has shape {streams.shape}; the DEM has {dem.shape}",
                hint="rasterise the streams on the DEM grid.",
            )
        return np.asarray(streams.values).astype(bool) & streams.valid_mask()
    if isinstance(streams, np.ndarray):
        if streams.shape != dem.shape:
            raise InputError(
                f"the streams mask has shape {streams.shape}; the DEM has {dem.shape}",
                hint="pass a boolean mask on the DEM grid.",
            )
        return streams.astype(bool)
    return _burn_geometries(dem, streams, what="streams")


def _burn_geometries(grid: Raster, geoms: Any, *, what: str) -> np.ndarray:
    """Cells touched by geometries (GeoDataFrame/GeoSeries/shapely/list) on the grid."""
    import geopandas as gpd
    import shapely
    from rasterio.features import rasterize

    from cimkit.errors import CRSError

    if isinstance(geoms, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if geoms.crs is not None and grid.crs is not None and geoms.crs != grid.crs:
            raise CRSError(
                f"the {what} are in {geoms.crs.to_string()}, the grid in {grid.crs.to_string()}",
                hint=f"reproject the {what} with .to_crs(dem.crs).",
            )
        items = list(geoms.geometry.values)
    elif isinstance(geoms, shapely.Geometry):
        items = [geoms]
    else:
        try:
            items = list(geoms)
        except TypeError as err:
            raise InputError(
                f"'{what}' must be a mask, a Raster or geometries; got {type(geoms).__name__}"
            ) from err
    items = [g for g in items if g is not None and not g.is_empty]
    if not items:
        raise InputError(f"the {what} hold no geometry", hint=f"pass at least one {what} geometry.")
    return rasterize(
        [(g, 1) for g in items],
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        all_touched=True,
        dtype="uint8",
    ).astype(bool)


def compute_hand(
    dem: Raster,
    *,
    streams: Any = None,
    accumulation_threshold: float | None = None,
) -> Raster:
    """Compute the Height Above the Nearest Drainage (HAND, Nobre et al. 2011).

    The DEM is conditioned (:func:`fill_depressions` with epsilon flats), D8 directions and flow
    accumulation are computed, and every cell gets ``z(c) - z(d(c))`` where ``d(c)`` is the first
    stream cell reached by following the flow directions. Elevations are those of the conditioned
    DEM, so HAND is >= 0 and exactly 0 on stream cells; inside a filled pit HAND is that of the
    filled surface (a pit lower than its spill point is not treated as drained).

    Parameters
    ----------
    dem
        Terrain elevations in metres, projected CRS.
    streams
        Drainage cells: a boolean mask (array or Raster) on the grid, or stream lines
        (GeoDataFrame/GeoSeries/shapely) in the DEM's CRS, burned with every touched cell.
    accumulation_threshold
        Used when ``streams`` is None: cells draining at least this many cells (the cell
        included) are streams. Default: the number of cells in 1 km² of upstream area.

    Returns
    -------
    Raster
        HAND in metres (float64); NaN on no data and on cells whose flow reaches the grid edge
        without meeting a stream. ``attrs`` holds ``stream_cells``, ``accumulation_threshold``,
        ``undrained_cells`` (cells with data but no HAND) and ``undrained_share`` (their share
        of the cells with data). Above :data:`HAND_UNDRAINED_WARNING_SHARE` (5 %) a
        :class:`~cimkit.errors.CoverageWarning` gives the share and how to lower it.

    Raises
    ------
    InputError
        When the DEM has no cell with data, or no stream cell is found.

    Examples
    --------
    A valley whose stream (middle column) falls 0.1 m per row, sides rising 1 m per column:

    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.raster import Raster
    >>> rows, cols = np.mgrid[0:4, 0:5]
    >>> dem = Raster(10 + 0.1 * (3 - rows) + np.abs(cols - 2), Affine(10, 0, 0, 0, -10, 40), "EPSG:2154")
    >>> from cimkit.analysis.flood import compute_hand
    >>> compute_hand(dem, streams=(cols == 2)).values[0].round(6).tolist()
    [2.0, 1.0, 0.0, 1.0, 2.0]
    """
    _check_raster(dem)
    _check_projected(dem, "compute_hand")
    _check_has_data(dem, "compute_hand")
    from cimkit.analysis.flood import _kernels

    _check_size(dem)
    filled = fill_depressions(dem, flats="epsilon")
    z = filled.values  # float64, NaN on no data: used without another copy
    valid = ~np.isnan(z)
    dx, dy = filled.res
    rec = _kernels.d8_receivers(z, valid, float(dx), float(dy))
    acc, order, _ = _kernels.topological_accumulation(rec, valid.ravel().astype(np.float64))
    acc = acc.reshape(dem.shape)
    threshold = accumulation_threshold
    if streams is None and threshold is None:
        threshold = math.ceil(DEFAULT_STREAM_AREA_M2 / dem.cell_area)
    mask = compute_stream_mask(dem, streams, accumulation=acc, accumulation_threshold=threshold) & valid
    del acc  # keep the peak memory near four grid copies
    if not mask.any():
        raise InputError(
            "no stream cell on the grid",
            hint="lower 'accumulation_threshold' or check that the stream lines overlap the DEM.",
        )
    values = _kernels.hand_from_order(z.ravel(), rec, order, mask.ravel()).reshape(dem.shape)
    out = dem.copy(values=values, nodata=np.nan, units="m")
    out.attrs["stream_cells"] = int(mask.sum())
    out.attrs["accumulation_threshold"] = (
        None if streams is not None or threshold is None else float(threshold)
    )
    _hand_coverage(out, valid, streams, dem.cell_area)
    _record_step(
        out,
        dem,
        "compute_hand",
        "HAND (Nobre et al. 2011) on the epsilon-filled DEM, D8",
        stream_cells=int(mask.sum()),
        accumulation_threshold=out.attrs["accumulation_threshold"],
        undrained_cells=out.attrs["undrained_cells"],
        undrained_share=out.attrs["undrained_share"],
    )
    return out


def _hand_coverage(hand: Raster, valid: np.ndarray, streams: Any, cell_area: float) -> None:
    """Count the cells with data but no HAND, store them in ``attrs`` and warn above the limit."""
    cells = int(valid.sum())
    undrained = int((np.isnan(hand.values) & valid).sum())
    share = undrained / cells
    hand.attrs["undrained_cells"] = undrained
    hand.attrs["undrained_share"] = share
    if share <= HAND_UNDRAINED_WARNING_SHARE:
        return
    threshold = hand.attrs["accumulation_threshold"]
    if threshold is None:
        how = "pass streams that reach every part of the DEM (e.g. the full river network)"
    else:
        area_km2 = threshold * cell_area / 1e6
        how = (
            f"streams are cells draining at least {threshold:g} cells ({area_km2:.2g} km²): lower "
            f"accumulation_threshold= (e.g. {max(1.0, math.ceil(threshold / 10)):g}) or pass streams="
        )
    warnings.warn(
        f"HAND is undefined (NaN) on {share:.1%} of the DEM's cells with data ({undrained} of {cells}): "
        f"their flow leaves the grid before reaching a stream, so no depth is computed there; {how}. "
        "The share is in hand.attrs['undrained_share'].",
        CoverageWarning,
        stacklevel=3,
    )


def compute_hand_depth(hand: Raster, water_level_m: float | Raster | np.ndarray) -> Raster:
    """Compute the depth for a water level above the drainage: ``water_level_m - HAND``.

    Cells whose HAND is below the water level are wet; the others are dry (0 m).

    Parameters
    ----------
    hand
        HAND in metres (:func:`compute_hand`).
    water_level_m
        Height of the water surface above the nearest drainage (the HAND datum, often called
        the stage) in metres: a number, or a grid (array/Raster) of such heights.

    Returns
    -------
    Raster
        Depth in metres, 0 where dry, NaN where HAND is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_hand_depth
    >>> from cimkit.raster import Raster
    >>> hand = Raster(np.array([[0.0, 0.5, 2.0, np.nan]]), Affine(5, 0, 0, 0, -5, 5), "EPSG:2154")
    >>> compute_hand_depth(hand, 1.0).values.tolist()
    [[1.0, 0.5, 0.0, nan]]
    """
    _check_raster(hand, "hand")
    h = hand.masked()
    level = (
        water_level_m.masked()
        if isinstance(water_level_m, Raster)
        else np.asarray(water_level_m, dtype=np.float64)
    )
    if level.ndim and level.shape != h.shape:
        raise InputError(
            f"'water_level_m' has shape {level.shape}; HAND has {h.shape}",
            hint="pass a number or a grid like HAND.",
        )
    _check_water_height(level)
    with np.errstate(invalid="ignore"):
        depth = np.where(h < level, level - h, 0.0)
    depth[np.isnan(h)] = np.nan
    out = hand.copy(values=depth, nodata=np.nan, units="m")
    scalar = not isinstance(water_level_m, Raster) and np.ndim(water_level_m) == 0
    return _record_step(
        out,
        hand,
        "compute_hand_depth",
        "depth = water level above the drainage - HAND where HAND is lower",
        water_level_m=float(np.asarray(water_level_m)) if scalar else "grid",
    )
