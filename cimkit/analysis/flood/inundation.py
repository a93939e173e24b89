"""Inundation maps: the connected bathtub, HAND stages and external depth grids per scenario."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from cimkit.analysis.flood.hydrology import (
    _burn_geometries,
    _check_raster,
    _record_step,
    hand,
    hand_inundation,
)
from cimkit.errors import InputError, ValidationError
from cimkit.raster import Raster

__all__ = ["bathtub", "flood_scenarios"]

logger = logging.getLogger(__name__)


def _edge_seeds(valid: np.ndarray) -> np.ndarray:
    """Valid cells on the grid border or next to (8 neighbours) a no-data cell: the open boundary."""
    seeds = np.zeros_like(valid)
    seeds[0, :] = seeds[-1, :] = True
    seeds[:, 0] = seeds[:, -1] = True
    invalid = ~valid
    if invalid.any():
        near = invalid.copy()  # the 8 neighbours of a no-data cell
        near[1:, :] |= invalid[:-1, :]
        near[:-1, :] |= invalid[1:, :]
        rows = near.copy()
        near[:, 1:] |= rows[:, :-1]
        near[:, :-1] |= rows[:, 1:]
        seeds |= near
    return seeds & valid


def _seed_mask(dem: Raster, sources: Any, valid: np.ndarray) -> np.ndarray:
    if sources is None or (isinstance(sources, str) and sources == "edge"):
        return _edge_seeds(valid)
    if isinstance(sources, str):
        raise ValidationError(f"'sources' must be 'edge', a mask or geometries; {sources!r} was given.")
    if isinstance(sources, Raster):
        if sources.shape != dem.shape:
            raise InputError(
                f"the sources raster has shape {sources.shape}; the DEM has {dem.shape}",
                hint="rasterise the sources on the DEM grid.",
            )
        return np.asarray(sources.values).astype(bool) & sources.valid_mask() & valid
    if isinstance(sources, np.ndarray):
        if sources.shape != dem.shape:
            raise InputError(
                f"the sources mask has shape {sources.shape}; the DEM has {dem.shape}",
                hint="pass a boolean mask on the DEM grid.",
            )
        return sources.astype(bool) & valid
    return _burn_geometries(dem, sources, what="sources") & valid


def _level_array(dem: Raster, water_level: Any) -> tuple[np.ndarray, bool]:
    if isinstance(water_level, Raster):
        if water_level.shape != dem.shape:
            raise InputError(
                f"the water-level raster has shape {water_level.shape}; the DEM has {dem.shape}",
                hint="resample the water surface on the DEM grid.",
            )
        return np.ascontiguousarray(water_level.masked()), False
    level = np.asarray(water_level, dtype=np.float64)
    if level.ndim == 0:
        if not np.isfinite(level):
            raise ValidationError(
                f"'water_level' must be a finite number of metres; {water_level!r} was given."
            )
        return level.reshape(1, 1), True
    if level.shape != dem.shape:
        raise InputError(
            f"'water_level' has shape {level.shape}; the DEM has {dem.shape}",
            hint="pass a number or a grid of water levels like the DEM.",
        )
    return np.ascontiguousarray(level), False


def bathtub(
    dem: Raster,
    water_level: float | Raster | np.ndarray,
    *,
    sources: Any = None,
    connectivity: Literal[4, 8] = 8,
    connected: bool = True,
) -> Raster:
    """Flood depth from a water level ("bathtub"), optionally only where connected to a source.

    A cell floods when its ground is below the water level and, with ``connected=True``, it is
    linked to a source cell through flooded cells (4- or 8-neighbourhood); without the
    connectivity condition isolated depressions behind levees flood too (the plain bathtub).

    Parameters
    ----------
    dem
        Terrain elevations in metres.
    water_level
        Water surface elevation in metres (same vertical datum as the DEM): a number or a grid.
    sources
        Where the water comes from: ``None`` or ``"edge"`` (the grid border and cells next to no
        data, e.g. the sea), a boolean mask / Raster on the grid, or geometries (river lines,
        points, polygons) in the DEM's CRS, burned with every touched cell.
    connectivity
        4 or 8 neighbours.
    connected
        False gives the plain bathtub (every cell below the level floods).

    Returns
    -------
    Raster
        Depth in metres (float64), 0 where dry, NaN where the DEM has no data;
        ``attrs["flooded_cells"]`` and ``attrs["volume_m3"]``.

    Examples
    --------
    A river cell, a bank, a levee and a hollow behind it (2 m cells):

    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.array([[0.0, 0.5, 3.0, 1.0]]), Affine(2, 0, 0, 0, -2, 2), "EPSG:2154")
    >>> river = np.array([[True, False, False, False]])
    >>> bathtub(dem, 2.0, sources=river).values.tolist()
    [[2.0, 1.5, 0.0, 0.0]]
    >>> bathtub(dem, 2.0, connected=False).values.tolist()
    [[2.0, 1.5, 0.0, 1.0]]
    """
    _check_raster(dem)
    if connectivity not in (4, 8):
        raise ValidationError(f"'connectivity' must be 4 or 8; {connectivity!r} was given.")
    level, scalar = _level_array(dem, water_level)
    if connected:
        from cimkit.analysis.flood import _kernels

        z = np.ascontiguousarray(dem.values)
        nodata = np.nan if dem.nodata is None else float(dem.nodata)
        border_only = sources is None or (isinstance(sources, str) and sources == "edge")
        if (
            border_only
            and (np.isnan(nodata) or not np.any(z == nodata))
            and not (np.issubdtype(z.dtype, np.floating) and np.isnan(z).any())
        ):
            seeds = np.zeros((1, 1), dtype=bool)  # the kernel takes the grid border
            use_mask = False
        else:
            seeds = np.ascontiguousarray(_seed_mask(dem, sources, dem.valid_mask()))
            use_mask = True
        cap = max(64, z.size // 16)
        while True:
            depth, complete, flooded_cells, depth_sum = _kernels.connected_flood(
                z, nodata, level, scalar, seeds, use_mask, int(connectivity), cap
            )
            if complete:
                break
            cap = min(cap * 4, z.size // 2 + z.shape[0] + 1)  # a row holds at most ceil(ncols/2) runs
    else:
        z = dem.masked()
        lv = level[0, 0] if scalar else level
        with np.errstate(invalid="ignore"):
            depth = np.where(z < lv, lv - z, 0.0)
        depth[np.isnan(z)] = np.nan
        flooded_cells = int(np.count_nonzero(depth > 0))
        depth_sum = float(np.nansum(depth))
    out = Raster(depth, dem.transform, dem.crs, nodata=np.nan, units="m")
    out.attrs["flooded_cells"] = int(flooded_cells)
    out.attrs["volume_m3"] = max(float(depth_sum), 0.0) * dem.cell_area
    level_param = float(level[0, 0]) if scalar else "grid"
    return _record_step(
        out,
        dem,
        "bathtub",
        "connected bathtub" if connected else "plain bathtub",
        water_level=level_param,
        connectivity=connectivity,
        flooded_cells=out.attrs["flooded_cells"],
    )


def flood_scenarios(
    dem: Raster | None,
    scenarios: Mapping[Any, float | Raster | np.ndarray],
    *,
    method: Literal["bathtub", "hand", "depth"] = "bathtub",
    sources: Any = None,
    connectivity: Literal[4, 8] = 8,
    streams: Any = None,
    accumulation_threshold: float | None = None,
) -> dict[float, Raster]:
    """Depth grids for a set of return periods.

    Parameters
    ----------
    dem
        Terrain elevations in metres (may be None when every scenario is a depth Raster).
    scenarios
        ``{return_period_years: value}``. With ``method="bathtub"`` the value is a water level
        (m, number or grid); with ``"hand"`` a stage above the drainage (m); a :class:`Raster`
        whose ``units`` is ``"m"`` and whose ``attrs["kind"] == "depth"`` (or any Raster with
        ``method="depth"``) is taken as an external depth grid (HEC-RAS, LISFLOOD-FP, SFINCS ...)
        and used as is.
    method
        ``"bathtub"`` (connected), ``"hand"`` or ``"depth"`` (every value is a depth grid).
    sources, connectivity
        Passed to :func:`bathtub`.
    streams, accumulation_threshold
        Passed to :func:`~cimkit.analysis.flood.hydrology.hand` (computed once).

    Returns
    -------
    dict
        ``{return_period: depth Raster}`` sorted by return period.
    """
    if method not in ("bathtub", "hand", "depth"):
        raise ValidationError(f"'method' must be one of bathtub, hand, depth; {method!r} was given.")
    if not scenarios:
        raise InputError("no scenario given", hint="pass e.g. {10: 31.5, 100: 32.4, 1000: 33.1}.")
    out: dict[float, Raster] = {}
    hand_grid = None
    for rp in sorted(scenarios):
        if not rp > 0:
            raise ValidationError(f"return periods must be > 0 years; {rp!r} was given.")
        value = scenarios[rp]
        if isinstance(value, Raster) and (method == "depth" or value.attrs.get("kind") == "depth"):
            depth = value.copy(values=np.where(value.valid_mask(), value.masked(), np.nan), nodata=np.nan)
            if dem is not None and depth.shape != dem.shape:
                raise InputError(
                    f"the depth grid of return period {rp} has shape {depth.shape}; the DEM has {dem.shape}",
                    hint="resample the depth grids on the DEM grid.",
                )
        elif method == "depth":
            raise InputError(
                f"return period {rp}: method 'depth' needs a depth Raster; got {type(value).__name__}"
            )
        elif dem is None:
            raise InputError(f"return period {rp}: a DEM is needed to turn a level into depths")
        elif method == "bathtub":
            depth = bathtub(dem, value, sources=sources, connectivity=connectivity)
        else:
            if hand_grid is None:
                hand_grid = hand(dem, streams=streams, accumulation_threshold=accumulation_threshold)
            depth = hand_inundation(hand_grid, value)
        depth.attrs["return_period"] = float(rp)
        depth.attrs["kind"] = "depth"
        out[rp] = depth
    return out
