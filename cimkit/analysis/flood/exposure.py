"""Exposure of buildings: water depth over each footprint and the first-floor height.

Depth statistics use exact cell-area fractions (see :mod:`cimkit.analysis.flood._coverage` for
the method and why it is preferred to ``rasterize`` and exactextract).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cimkit.analysis.flood.hydrology import _check_raster
from cimkit.errors import CRSError, GeometryError, InputError
from cimkit.raster import Raster

__all__ = [
    "compute_building_depths",
    "compute_coverage_fractions",
    "compute_first_floor_height",
    "compute_footprint_stats",
]

logger = logging.getLogger(__name__)

#: First-floor height used when neither the IFC nor an attribute gives one (metres above ground).
#: 0 m keeps the JRC depth-damage curves on their own footing: Huizinga et al. (2017) tabulate
#: damage against the water depth at the building, with no first-floor offset.
DEFAULT_FIRST_FLOOR_HEIGHT_M = 0.0


def _geometry_array(frame: Any) -> Any:
    import geopandas as gpd

    if isinstance(frame, gpd.GeoDataFrame):
        return frame.geometry
    if isinstance(frame, gpd.GeoSeries):
        return frame
    raise InputError(
        f"expected a GeoDataFrame of footprints; got {type(frame).__name__}",
        hint="pass the buildings layer (a GeoDataFrame indexed by building_id).",
    )


def _check_crs(geoms: Any, raster: Raster, layer: str) -> None:
    if geoms.crs is not None and raster.crs is not None and geoms.crs != raster.crs:
        raise CRSError(
            f"the {layer} are in {geoms.crs.to_string()}, the grid in {raster.crs.to_string()}",
            layer=layer,
            hint="reproject the layer with .to_crs(depth.crs) (or the grid with Raster.to_crs).",
        )


def _rings_in_cell_units(geoms: Any, raster: Raster) -> tuple[np.ndarray, ...]:
    """Flatten (Multi)Polygons into closed rings in (column, row) cell units."""
    import shapely

    values = np.asarray(geoms.values, dtype=object)
    n = len(values)
    kinds = shapely.get_type_id(values)
    bad = ~np.isin(kinds, [-1, 3, 6]) & ~shapely.is_empty(values)
    if bad.any():
        ids = geoms.index[bad][:5].tolist()
        raise GeometryError(
            f"{int(bad.sum())} footprint(s) are not Polygon/MultiPolygon",
            entity=ids,
            hint="keep polygon footprints only (e.g. buffer points or drop them).",
        )
    parts, part_of = shapely.get_parts(values, return_index=True)
    rings, ring_of_part = shapely.get_rings(parts, return_index=True)
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_of_part[1:] != ring_of_part[:-1]
    ring_building = part_of[ring_of_part]
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    t = raster.transform
    u = (coords[:, 0] - t.c) / t.a
    v = (coords[:, 1] - t.f) / t.e
    coord_ptr = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum(np.bincount(coord_ring, minlength=len(rings)), out=coord_ptr[1:])
    ring_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ring_building, minlength=n), out=ring_ptr[1:])
    bbox = np.full((n, 4), np.nan)
    if len(coords):
        building_of_coord = ring_building[coord_ring]
        for col, (arr, fn) in enumerate([(u, np.fmin), (v, np.fmin), (u, np.fmax), (v, np.fmax)]):
            init = np.inf if fn is np.fmin else -np.inf
            acc = np.full(n, init)
            fn.at(acc, building_of_coord, arr)
            bbox[:, col] = acc
    return (
        np.ascontiguousarray(u),
        np.ascontiguousarray(v),
        coord_ptr,
        ring_ptr,
        exterior,
        bbox,
    )


def compute_footprint_stats(polygons: Any, raster: Raster) -> pd.DataFrame:
    """Compute exact-coverage statistics of a raster under polygons.

    Every cell counts with the exact share of its area inside the polygon (holes and
    multi-polygons included); cells with no data are left out.

    Parameters
    ----------
    polygons
        GeoDataFrame/GeoSeries of Polygon/MultiPolygon (e.g. building footprints) in the
        raster's CRS.
    raster
        Values to summarise (no data left out).

    Returns
    -------
    DataFrame
        On the input's index: ``max``, ``mean`` (area-weighted), ``positive_share`` (share of the
        valid covered area where the value is > 0), ``covered_m2`` and ``valid_m2``.

    Examples
    --------
    A 2 m x 1 m rectangle across two 1 m cells holding 0 and 2:

    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_footprint_stats
    >>> from cimkit.raster import Raster
    >>> raster = Raster(np.array([[0.0, 2.0]]), Affine(1, 0, 0, 0, -1, 1), "EPSG:2154")
    >>> polygons = gpd.GeoSeries([shapely.box(0.5, 0, 2.0, 1)], crs="EPSG:2154")
    >>> compute_footprint_stats(polygons, raster).round(3).iloc[0].to_dict()
    {'max': 2.0, 'mean': 1.333, 'positive_share': 0.667, 'covered_m2': 1.5, 'valid_m2': 1.5}
    """
    from cimkit.analysis.flood import _coverage

    _check_raster(raster, "raster")
    geoms = _geometry_array(polygons)
    _check_crs(geoms, raster, "polygons")
    u, v, coord_ptr, ring_ptr, exterior, bbox = _rings_in_cell_units(geoms, raster)
    values = np.ascontiguousarray(raster.masked())
    stats = _coverage.polygon_stats(values, u, v, coord_ptr, ring_ptr, exterior, bbox)
    area = raster.cell_area
    return pd.DataFrame(
        {
            "max": stats[:, 0],
            "mean": stats[:, 1],
            "positive_share": stats[:, 2],
            "covered_m2": stats[:, 3] * area,
            "valid_m2": stats[:, 4] * area,
        },
        index=geoms.index,
    )


def compute_coverage_fractions(polygon: Any, raster: Raster) -> np.ndarray:
    """Compute the exact fraction (0-1) of every cell of ``raster`` covered by one (Multi)Polygon.

    Parameters
    ----------
    polygon
        A shapely Polygon or MultiPolygon in the raster's CRS.
    raster
        The grid (only its shape and transform are used).

    Returns
    -------
    ndarray
        Float64 fractions shaped like the raster.

    Examples
    --------
    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_coverage_fractions
    >>> from cimkit.raster import Raster
    >>> raster = Raster(np.zeros((2, 2)), Affine(1, 0, 0, 0, -1, 2), "EPSG:2154")
    >>> compute_coverage_fractions(shapely.box(0.5, 0.5, 2.0, 2.0), raster).tolist()
    [[0.5, 1.0], [0.25, 0.5]]
    """
    import geopandas as gpd

    from cimkit.analysis.flood import _coverage

    _check_raster(raster, "raster")
    geoms = gpd.GeoSeries([polygon])
    u, v, coord_ptr, _, exterior, _ = _rings_in_cell_units(geoms, raster)
    nr, nc = raster.shape
    return _coverage.coverage_window(u, v, coord_ptr, exterior, 0, 0, nr, nc)


def compute_building_depths(buildings: Any, depth: Raster) -> pd.DataFrame:
    """Compute the water depth over each footprint, weighted by the exact cell-area fractions.

    Parameters
    ----------
    buildings
        GeoDataFrame of Polygon/MultiPolygon footprints indexed by ``building_id``, in the
        depth grid's CRS.
    depth
        Water depth in metres (0 dry, NaN no data).

    Returns
    -------
    DataFrame
        On the buildings' index: ``max_depth_m`` (deepest cell touching the footprint with a
        positive area), ``mean_depth_m`` (area-weighted mean over the footprint, dry parts count
        as 0), ``flooded_share`` (share of the footprint area with depth > 0). NaN when the
        footprint lies outside the grid or on no data only. No-data cells are left out of the
        footprint area.

    Examples
    --------
    The sample city's footprints under its 100-year water level (39.5 m), river as inflow:

    >>> import geopandas as gpd
    >>> from cimkit.analysis.flood import compute_bathtub_depth, compute_building_depths
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.raster import read_dem
    >>> root = sample_city_path()
    >>> dem = read_dem(root / "dem.tif")
    >>> river = gpd.read_file(root / "river.geojson")
    >>> buildings = gpd.read_file(root / "footprints.geojson").set_index("id")
    >>> depths = compute_building_depths(buildings, compute_bathtub_depth(dem, 39.5, inflow=river))
    >>> int((depths["max_depth_m"] > 0).sum()), round(float(depths["max_depth_m"].max()), 2)
    (7, 0.73)
    """
    _check_raster(depth, "depth")
    if hasattr(buildings, "__dask_graph__"):  # a dask-geopandas frame: run partitioned by space
        from cimkit.analysis._partitioned_base import depths_by_partition

        return depths_by_partition(compute_building_depths, buildings, depth)
    if len(buildings) == 0:
        raise InputError(
            "compute_building_depths: the buildings layer is empty",
            code="ANA014",
            hint="pass a layer with building footprints (check a filter or a bbox upstream).",
        )
    if not depth.valid_mask().any():
        raise InputError(
            f"the depth grid has no cell with data (all {depth.values.size} cells are nodata or NaN)",
            code="ANA010",
            hint="check its nodata value; dry cells hold 0 m, not nodata.",
        )
    stats = compute_footprint_stats(buildings, depth)
    out = pd.DataFrame(
        {
            "max_depth_m": stats["max"],
            "mean_depth_m": stats["mean"],
            "flooded_share": stats["positive_share"],
        },
        index=stats.index,
    )
    missing = stats["valid_m2"].fillna(0) == 0
    if missing.any():
        logger.info(
            "compute_building_depths: %d footprint(s) have no depth data under them", int(missing.sum())
        )
    return out


#: How far (m) a slab may sit below the mean terrain under its footprint before a warning:
#: a slab at grade on a slope is a few centimetres below the mean of a convex surface.
SLAB_BELOW_TERRAIN_TOLERANCE_M = 0.1


def compute_first_floor_height(
    buildings: Any,
    dem: Raster,
    *,
    default_first_floor_m: float = DEFAULT_FIRST_FLOOR_HEIGHT_M,
) -> pd.DataFrame:
    """Compute the height of each building's ground-floor slab above the terrain, in metres.

    In order of preference: from the IFC (``ground_floor_elevation_m`` minus the mean terrain
    elevation under the footprint, exact cell fractions), else the ``first_floor_height_m``
    attribute, else ``default_first_floor_m``. Negative IFC-derived heights (slab below the DEM surface,
    common when the DEM and the model use different vertical datums) are kept; more than
    :data:`SLAB_BELOW_TERRAIN_TOLERANCE_M` below is warned about.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints in the DEM's CRS; optional columns
        ``ground_floor_elevation_m`` (absolute, m) and ``first_floor_height_m`` (m).
    dem
        Terrain elevations in metres.
    default_first_floor_m
        Height used when nothing else is known (default 0 m, i.e. damage from the depth at the
        ground as the JRC curves assume).

    Returns
    -------
    DataFrame
        ``first_floor_height_m`` and ``first_floor_source`` (``"ifc"``, ``"attribute"``,
        ``"default"``) on the buildings' index.

    Examples
    --------
    A slab 0.4 m above a flat 10 m terrain, a surveyed attribute, and nothing known:

    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_first_floor_height
    >>> from cimkit.raster import Raster
    >>> dem = Raster(np.full((4, 4), 10.0), Affine(5, 0, 0, 0, -5, 20), "EPSG:2154")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"ground_floor_elevation_m": [10.4, None, None], "first_floor_height_m": [None, 0.3, None]},
    ...     geometry=[shapely.box(1, 1, 6, 6), shapely.box(7, 7, 9, 9), shapely.box(11, 11, 14, 14)],
    ...     crs="EPSG:2154",
    ... )
    >>> out = compute_first_floor_height(buildings, dem, default_first_floor_m=0.2)
    >>> out["first_floor_height_m"].round(2).tolist(), out["first_floor_source"].tolist()
    ([0.4, 0.3, 0.2], ['ifc', 'attribute', 'default'])
    """
    _check_raster(dem)
    geoms = _geometry_array(buildings)
    height = pd.Series(np.nan, index=geoms.index, dtype="float64")
    source = pd.Series("default", index=geoms.index, dtype=object)
    columns = getattr(buildings, "columns", [])
    if "ground_floor_elevation_m" in columns:
        slab = pd.to_numeric(buildings["ground_floor_elevation_m"], errors="coerce")
        has = slab.notna()
        if has.any():
            ground = compute_footprint_stats(geoms[has], dem)["mean"]
            ifc = slab[has] - ground
            ok = ifc.notna()
            height.loc[ifc.index[ok]] = ifc[ok]
            source.loc[ifc.index[ok]] = "ifc"
            # a slab laid at grade on sloping ground sits a few centimetres below the footprint's
            # mean terrain; only a clear gap points to a vertical-datum problem
            negative = ifc[ok] < -SLAB_BELOW_TERRAIN_TOLERANCE_M
            if negative.any():
                warnings.warn(
                    f"{int(negative.sum())} building(s) have their ground-floor slab below the terrain "
                    f"(e.g. {negative[negative].index[:3].tolist()}); check the vertical datums "
                    "of the IFC and the DEM",
                    stacklevel=2,
                )
    if "first_floor_height_m" in columns:
        attr = pd.to_numeric(buildings["first_floor_height_m"], errors="coerce")
        take = height.isna() & attr.notna()
        height[take] = attr[take]
        source[take] = "attribute"
    rest = height.isna()
    height[rest] = float(default_first_floor_m)
    return pd.DataFrame({"first_floor_height_m": height, "first_floor_source": source})
