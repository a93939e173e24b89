"""Linking, the zoning check and flood depths on dask-geopandas frames, partitioned by space.

The functions of :mod:`cimkit.analysis.linking`,
:func:`~cimkit.analysis.zoning.check_compliance` and
:func:`~cimkit.analysis.flood.compute_building_depths` send a dask-geopandas GeoDataFrame here
by themselves: pass ``dask_geopandas.read_parquet(...)`` (or ``from_geopandas``) instead of a
GeoDataFrame and the same call runs on the dask cluster of the session
(``distributed.Client(...)``; without one, on dask's local scheduler).

How it runs:

- the left layer (buildings, or parcels for parcels -> zones) is split by space: shuffled along
  a Hilbert curve (``spatial_shuffle``) unless it already has ``spatial_partitions``;
- the right layer (parcels, zones, a depth raster) is computed into memory if it is a dask
  frame and sent to every worker once (``client.scatter(..., broadcast=True)``). Each
  partition queries the right layer's own spatial index, so only the polygons whose bounding
  boxes meet the partition's features are measured, and ties between equal overlaps fall
  exactly as in memory (the same index, the same order);
- the zoning check also needs the other buildings on the same parcels (a parcel's footprint
  ratio counts every building on it) and the neighbours of those parcels (side limits): each
  partition is given a halo, the features of the other partitions within the bounds of the
  parcels its buildings touch (see :mod:`cimkit.analysis._partitioned_zoning`).

Every function returns a computed pandas DataFrame, identical to the in-memory result (same ids,
values, dtypes, index and order): the rows come back in the order of the input frame.

Examples
--------
>>> import dask_geopandas
>>> from cimkit.analysis import linking
>>> from cimkit.datasets import sample_city_path
>>> from cimkit.io.vector import read_buildings, read_parcels
>>> folder = sample_city_path()
>>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
>>> footprints = read_buildings(folder / "footprints.geojson")
>>> lazy = dask_geopandas.from_geopandas(footprints, npartitions=3)
>>> links = linking.link_buildings_to_parcels(lazy, parcels)  # dispatched here
>>> links.equals(linking.link_buildings_to_parcels(footprints, parcels))
True
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cimkit.analysis import _partitioned_base as base
from cimkit.analysis import linking
from cimkit.analysis.flood import exposure
from cimkit.analysis.zoning import compliance

__all__ = [
    "check_compliance",
    "compute_building_depths",
    "link_buildings_to_parcels",
    "link_buildings_to_zones",
    "link_parcels_to_zones",
]


def link_buildings_to_parcels(buildings: Any, parcels: Any, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each building of a dask-geopandas frame to the parcel holding most of its footprint.

    The partitioned form of :func:`cimkit.analysis.linking.link_buildings_to_parcels` (which
    calls it when given a dask frame).

    Parameters
    ----------
    buildings
        A dask-geopandas GeoDataFrame of footprints in a projected CRS.
    parcels
        Parcel polygons in the same CRS (a GeoDataFrame, or a dask frame computed once).
    min_share
        A parcel counts in ``n_parcels`` when it holds at least this share of the footprint.

    Returns
    -------
    DataFrame
        The in-memory result (``parcel_id``, ``parcel_share``, ``n_parcels``,
        ``covered_share``, ``crosses_parcels``), computed, in the order of ``buildings``.

    Raises
    ------
    CimkitError
        DSK001: dask, distributed or dask-geopandas is not installed.

    Examples
    --------
    >>> import dask_geopandas
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_buildings, read_parcels
    >>> folder = sample_city_path()
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> footprints = dask_geopandas.from_geopandas(read_buildings(folder / "footprints.geojson"), npartitions=4)
    >>> links = link_buildings_to_parcels(footprints, parcels)
    >>> len(links), links.loc["BATI0001", "parcel_id"]
    (43, '91999000AK0005')
    """
    base.require_dask()
    base.check_frame(buildings, layer="buildings")
    return linking.link_buildings_to_parcels(buildings, parcels, min_share=min_share)


def link_parcels_to_zones(parcels: Any, zones: Any, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each parcel of a dask-geopandas frame to the zone holding most of it.

    The partitioned form of :func:`cimkit.analysis.linking.link_parcels_to_zones`.

    Parameters
    ----------
    parcels
        A dask-geopandas GeoDataFrame of parcels in a projected CRS.
    zones
        Zone polygons in the same CRS.
    min_share
        A zone counts in ``n_zones`` when it holds at least this share of the parcel.

    Returns
    -------
    DataFrame
        ``zone_id``, ``zone_share``, ``n_zones``, ``covered_share``, ``split_zone``, in the
        order of ``parcels``.

    Examples
    --------
    >>> import dask_geopandas
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_parcels
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", crs="EPSG:2154")
    >>> parcels = dask_geopandas.from_geopandas(read_parcels(folder / "parcels.geojson", crs="EPSG:2154"), npartitions=2)
    >>> links = link_parcels_to_zones(parcels, zones)
    >>> zones.loc[links.loc["91999000AE0002", "zone_id"], "libelle"]
    'UB'
    """
    base.require_dask()
    base.check_frame(parcels, layer="parcels")
    return linking.link_parcels_to_zones(parcels, zones, min_share=min_share)


def link_buildings_to_zones(buildings: Any, zones: Any, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each building of a dask-geopandas frame to the zone holding most of its footprint.

    The partitioned form of :func:`cimkit.analysis.linking.link_buildings_to_zones`.

    Parameters
    ----------
    buildings
        A dask-geopandas GeoDataFrame of footprints in a projected CRS.
    zones
        Zone polygons in the same CRS.
    min_share
        A zone counts in ``n_zones`` when it holds at least this share of the footprint.

    Returns
    -------
    DataFrame
        The columns of :func:`link_parcels_to_zones`, in the order of ``buildings``.

    Examples
    --------
    >>> import dask_geopandas
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_buildings
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", crs="EPSG:2154")
    >>> footprints = dask_geopandas.from_geopandas(read_buildings(folder / "footprints.geojson"), npartitions=4)
    >>> int(link_buildings_to_zones(footprints, zones)["zone_id"].notna().sum())
    43
    """
    base.require_dask()
    base.check_frame(buildings, layer="buildings")
    return linking.link_buildings_to_zones(buildings, zones, min_share=min_share)


def compute_building_depths(buildings: Any, depth: Any) -> pd.DataFrame:
    """Compute the water depth over each footprint of a dask-geopandas frame.

    The partitioned form of :func:`cimkit.analysis.flood.compute_building_depths`: the depth
    grid is sent to every worker once (never per task); each partition samples it with exact
    cell-area fractions.

    Parameters
    ----------
    buildings
        A dask-geopandas GeoDataFrame of footprints in the grid's CRS.
    depth
        Water depth in metres, a :class:`~cimkit.raster.Raster`.

    Returns
    -------
    DataFrame
        ``max_depth_m``, ``mean_depth_m``, ``flooded_share``, in the order of ``buildings``.

    Raises
    ------
    InputError
        ANA014: the buildings frame is empty; ANA010: the grid has no cell with data.

    Examples
    --------
    >>> import dask_geopandas
    >>> import geopandas as gpd
    >>> from cimkit.analysis.flood import compute_bathtub_depth
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.raster import read_dem
    >>> root = sample_city_path()
    >>> dem = read_dem(root / "dem.tif")
    >>> river = gpd.read_file(root / "river.geojson")
    >>> buildings = gpd.read_file(root / "footprints.geojson").set_index("id")
    >>> lazy = dask_geopandas.from_geopandas(buildings, npartitions=3)
    >>> depths = compute_building_depths(lazy, compute_bathtub_depth(dem, 39.5, inflow=river))
    >>> int((depths["max_depth_m"] > 0).sum()), round(float(depths["max_depth_m"].max()), 2)
    (7, 0.73)
    """
    base.require_dask()
    base.check_frame(buildings, layer="buildings")
    return exposure.compute_building_depths(buildings, depth)


def check_compliance(
    buildings: Any,
    parcels: Any,
    zones: Any,
    *,
    roads: Any = None,
    use_column: str = "use",
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
    tolerance_m: float = 0.01,
    min_share: float = 0.01,
    owner_column: str | None = "owner",
) -> pd.DataFrame:
    """Check each building of a dask-geopandas frame against the PLU rules of its zone.

    The partitioned form of :func:`cimkit.analysis.zoning.check_compliance`; the options are
    those of that function. Each partition is checked with a halo: the buildings of other
    partitions that stand on the same parcels (a parcel's footprint ratio counts all of them)
    and the parcels next to them (side limits), so every value equals the in-memory one.

    Parameters
    ----------
    buildings
        A dask-geopandas GeoDataFrame of footprints with ``height_m`` (and a use column).
    parcels
        Parcels in the same CRS (a GeoDataFrame, or a dask frame computed once).
    zones
        Zones with their rule columns.
    roads, use_column, limit_tolerance_m, road_max_distance_m, tolerance_m, min_share, owner_column
        As in :func:`cimkit.analysis.zoning.check_compliance` (``roads`` may be a dask frame,
        computed once and broadcast).

    Returns
    -------
    DataFrame
        The in-memory result, computed, in the order of ``buildings``.

    Examples
    --------
    >>> import dask_geopandas
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_buildings, read_layer, read_parcels
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs="EPSG:2154")
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> footprints = dask_geopandas.from_geopandas(read_buildings(folder / "footprints.geojson"), npartitions=4)
    >>> result = check_compliance(footprints, parcels, zones, roads=read_layer(folder / "streets.geojson"))
    >>> int(result["compliant"].sum()), int((~result["compliant"]).sum())
    (41, 2)
    """
    base.require_dask()
    base.check_frame(buildings, layer="buildings")
    return compliance.check_compliance(
        buildings, parcels, zones, roads=roads, use_column=use_column, limit_tolerance_m=limit_tolerance_m,
        road_max_distance_m=road_max_distance_m, tolerance_m=tolerance_m, min_share=min_share,
        owner_column=owner_column,
    )  # fmt: skip
