"""Inundation maps: the connected bathtub, HAND levels and external depth grids per scenario."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit._progress import track
from cimkit.analysis.flood.hydrology import (
    _burn_geometries,
    _check_depth_grid,
    _check_has_data,
    _check_raster,
    _record_step,
    compute_hand,
    compute_hand_depth,
)
from cimkit.errors import InputError, ValidationError
from cimkit.raster import Raster

__all__ = ["compute_bathtub_depth", "compute_flood_depths"]

logger = logging.getLogger(__name__)


def _edge_seeds(valid: np.ndarray) -> np.ndarray:
    """Mark the open boundary: valid cells on the grid border or next to a no-data cell."""
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


def _seed_mask(dem: Raster, inflow: Any, valid: np.ndarray) -> np.ndarray:
    if inflow is None or (isinstance(inflow, str) and inflow == "edge"):
        return _edge_seeds(valid)
    if isinstance(inflow, str):
        raise ValidationError(f"'inflow' must be 'edge', a mask or geometries; {inflow!r} was given.")
    if isinstance(inflow, Raster):
        if inflow.shape != dem.shape:
            raise InputError(
                f"the inflow raster has shape {inflow.shape}; the DEM has {dem.shape}",
                hint="rasterise the inflow on the DEM grid.",
            )
        return np.asarray(inflow.values).astype(bool) & inflow.valid_mask() & valid
    if isinstance(inflow, np.ndarray):
        if inflow.shape != dem.shape:
            raise InputError(
                f"the inflow mask has shape {inflow.shape}; the DEM has {dem.shape}",
                hint="pass a boolean mask on the DEM grid.",
            )
        return inflow.astype(bool) & valid
    return _burn_geometries(dem, inflow, what="inflow") & valid


def _level_array(dem: Raster, water_level: Any) -> tuple[np.ndarray, bool]:
    if isinstance(water_level, Raster):
        if water_level.shape != dem.shape:
            raise InputError(
                f"the water-level raster has shape {water_level.shape}; the DEM has {dem.shape}",
                hint="resample the water surface on the DEM grid.",
            )
        return _check_level_grid(np.ascontiguousarray(water_level.masked()), dem), False
    level = np.asarray(water_level, dtype=np.float64)
    if level.ndim == 0:
        if not np.isfinite(level):
            raise ValidationError(
                f"'water_level_m' must be a finite number of metres; {water_level!r} was given.",
                code="ANA011",
            )
        return level.reshape(1, 1), True
    if level.shape != dem.shape:
        raise InputError(
            f"'water_level_m' has shape {level.shape}; the DEM has {dem.shape}",
            hint="pass a number or a grid of water levels like the DEM.",
        )
    return _check_level_grid(np.ascontiguousarray(level), dem), False


def _check_level_grid(level: np.ndarray, dem: Raster) -> np.ndarray:
    """Refuse a water-level grid with an infinite cell or no finite level on the DEM's data."""
    finite = np.isfinite(level)
    if np.isinf(level).any() or not (finite & dem.valid_mask()).any():
        raise ValidationError(
            f"the water-level grid has {int(np.isinf(level).sum())} infinite cell(s) and "
            f"{int((finite & dem.valid_mask()).sum())} finite level(s) on cells with ground data: "
            "no depth can be computed",
            code="ANA011",
            hint="pass finite water levels in metres (NaN only where there is no water surface).",
        )
    return level


def _connected_depth(
    dem: Raster, level: np.ndarray, scalar: bool, inflow: Any, connectivity: int
) -> tuple[np.ndarray, int, float]:
    """Depth, flooded cells and summed depth of the connected bathtub (numba kernel)."""
    from cimkit.analysis.flood import _kernels

    z = np.ascontiguousarray(dem.values)
    nodata = np.nan if dem.nodata is None else float(dem.nodata)
    border_only = inflow is None or (isinstance(inflow, str) and inflow == "edge")
    if (
        border_only
        and (np.isnan(nodata) or not np.any(z == nodata))
        and not (np.issubdtype(z.dtype, np.floating) and np.isnan(z).any())
    ):
        seeds = np.zeros((1, 1), dtype=bool)  # the kernel takes the grid border
        use_mask = False
    else:
        seeds = np.ascontiguousarray(_seed_mask(dem, inflow, dem.valid_mask()))
        use_mask = True
    cap = max(64, z.size // 16)
    while True:
        depth, complete, flooded_cells, depth_sum = _kernels.connected_flood(
            z, nodata, level, scalar, seeds, use_mask, int(connectivity), cap
        )
        if complete:
            return depth, int(flooded_cells), float(depth_sum)
        cap = min(cap * 4, z.size // 2 + z.shape[0] + 1)  # a row holds at most ceil(ncols/2) runs


def compute_bathtub_depth(
    dem: Raster,
    water_level_m: float | Raster | np.ndarray,
    *,
    inflow: Any = None,
    connectivity: Literal[4, 8] = 8,
    connected: bool = True,
) -> Raster:
    """Compute the flood depth under a water level ("bathtub"), connected to the inflow or not.

    A cell floods when its ground is below the water level and, with ``connected=True``, it is
    linked to an inflow cell through flooded cells (4- or 8-neighbourhood); without the
    connectivity condition isolated depressions behind levees flood too (the plain bathtub).

    Parameters
    ----------
    dem
        Terrain elevations in metres.
    water_level_m
        Water surface elevation in metres (same vertical datum as the DEM): a number or a grid.
    inflow
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
    >>> from cimkit.analysis.flood import compute_bathtub_depth
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.array([[0.0, 0.5, 3.0, 1.0]]), Affine(2, 0, 0, 0, -2, 2), "EPSG:2154")
    >>> river = np.array([[True, False, False, False]])
    >>> depth = compute_bathtub_depth(dem, 2.0, inflow=river)
    >>> depth.values.tolist(), depth.attrs["volume_m3"]
    ([[2.0, 1.5, 0.0, 0.0]], 14.0)
    >>> compute_bathtub_depth(dem, 2.0, connected=False).values.tolist()
    [[2.0, 1.5, 0.0, 1.0]]
    """
    _check_raster(dem)
    _check_has_data(dem, "compute_bathtub_depth")
    if connectivity not in (4, 8):
        raise ValidationError(f"'connectivity' must be 4 or 8; {connectivity!r} was given.")
    level, scalar = _level_array(dem, water_level_m)
    if connected:
        depth, flooded_cells, depth_sum = _connected_depth(dem, level, scalar, inflow, connectivity)
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
        "compute_bathtub_depth",
        "connected bathtub" if connected else "plain bathtub",
        water_level_m=level_param,
        connectivity=connectivity,
        flooded_cells=out.attrs["flooded_cells"],
    )


def _scenario_items(scenarios: Any) -> list[tuple[float, Any]]:
    """``(return_period, value)`` pairs sorted by return period, from a mapping or a Series."""
    if isinstance(scenarios, pd.Series):
        items = list(scenarios.items())
    elif isinstance(scenarios, Mapping):
        items = list(scenarios.items())
    else:
        raise InputError(
            f"'scenarios' must be a mapping or a Series {{return_period: value}}; got {type(scenarios).__name__}",
            hint="pass e.g. {10: 31.5, 100: 32.4, 1000: 33.1}.",
        )
    if not items:
        raise InputError("no scenario given", hint="pass e.g. {10: 31.5, 100: 32.4, 1000: 33.1}.")
    for rp, _ in items:
        if (
            isinstance(rp, bool)
            or not isinstance(rp, (int, float, np.integer, np.floating))
            or not np.isfinite(rp)
            or not rp > 0
        ):
            raise ValidationError(
                f"return periods must be finite numbers > 0 years; {rp!r} was given.", code="ANA013"
            )
    return sorted(items, key=lambda item: float(item[0]))


def _external_depth(value: Raster, dem: Raster | None, rp: Any) -> Raster:
    depth = value.copy(values=np.where(value.valid_mask(), value.masked(), np.nan), nodata=np.nan)
    _check_depth_grid(depth, f"the depth grid of return period {rp}")
    if dem is not None and depth.shape != dem.shape:
        raise InputError(
            f"the depth grid of return period {rp} has shape {depth.shape}; the DEM has {dem.shape}",
            hint="resample the depth grids on the DEM grid.",
        )
    return depth


def compute_flood_depths(
    dem: Raster | None,
    scenarios: Mapping[Any, float | Raster | np.ndarray] | pd.Series,
    *,
    method: Literal["bathtub", "hand", "depth"] = "bathtub",
    inflow: Any = None,
    connectivity: Literal[4, 8] = 8,
    streams: Any = None,
    accumulation_threshold: float | None = None,
) -> dict[float, Raster]:
    """Compute a depth grid for each return period of a set of flood scenarios.

    Parameters
    ----------
    dem
        Terrain elevations in metres (may be None when every scenario is a depth Raster).
    scenarios
        ``{return_period_years: value}`` (or a Series indexed by return period). With
        ``method="bathtub"`` the value is a water level (m, number or grid); with ``"hand"`` a
        water height above the drainage (m); a :class:`~cimkit.raster.Raster` whose
        ``attrs["kind"] == "depth"`` (or any Raster with ``method="depth"``) is taken as an
        external depth grid (HEC-RAS, LISFLOOD-FP, SFINCS ...) and used as is.
    method
        ``"bathtub"`` (connected), ``"hand"`` or ``"depth"`` (every value is a depth grid).
    inflow
        Where the water enters, for the bathtub (see :func:`compute_bathtub_depth`).
    connectivity
        4 or 8 neighbours, for the bathtub.
    streams
        The drainage for HAND (see :func:`~cimkit.analysis.flood.hydrology.compute_hand`,
        computed once for every scenario).
    accumulation_threshold
        Upstream cells that make a stream when ``streams`` is None (HAND only).

    Returns
    -------
    dict
        ``{return_period: depth Raster}`` sorted by return period (years, as float); each
        Raster has ``attrs["return_period"]`` and ``attrs["kind"] == "depth"``.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_flood_depths
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.array([[0.0, 1.0, 2.0, 3.0]]), Affine(5, 0, 0, 0, -5, 5), "EPSG:2154")
    >>> depths = compute_flood_depths(dem, {100: 2.5, 10: 1.5})
    >>> {rp: d.values.tolist() for rp, d in depths.items()}
    {10.0: [[1.5, 0.5, 0.0, 0.0]], 100.0: [[2.5, 1.5, 0.5, 0.0]]}
    """
    if method not in ("bathtub", "hand", "depth"):
        raise ValidationError(f"'method' must be one of bathtub, hand, depth; {method!r} was given.")
    out: dict[float, Raster] = {}
    hand_grid = None
    items = _scenario_items(scenarios)
    for rp, value in track(items, description="flood depths", total=len(items), unit="scenario"):
        if isinstance(value, Raster) and (method == "depth" or value.attrs.get("kind") == "depth"):
            depth = _external_depth(value, dem, rp)
        elif method == "depth":
            raise InputError(
                f"return period {rp}: method 'depth' needs a depth Raster; got {type(value).__name__}"
            )
        elif dem is None:
            raise InputError(f"return period {rp}: a DEM is needed to turn a level into depths")
        elif method == "bathtub":
            depth = compute_bathtub_depth(dem, value, inflow=inflow, connectivity=connectivity)
        else:
            if hand_grid is None:
                hand_grid = compute_hand(dem, streams=streams, accumulation_threshold=accumulation_threshold)
            depth = compute_hand_depth(hand_grid, value)
        depth.attrs["return_period"] = float(rp)
        depth.attrs["kind"] = "depth"
        out[float(rp)] = depth
    return out
