"""The links between layers: which building stands on which parcel, in which zone, near what.

All functions take GeoDataFrames (or GeoSeries) in one projected CRS and return DataFrames on
the first layer's index. Identity columns take the name of the second layer's index
(``parcel_id``, ``zone_id`` ...).

Speed. A largest-overlap link avoids building intersection geometries, which is what
``geopandas.sjoin`` + intersection areas + ``idxmax`` spends its time on:

1. convex left polygons (most footprints) get exact overlap areas with every bounding-box
   candidate from a compiled Sutherland-Hodgman clipping kernel
   (:mod:`cimkit.analysis._overlap_kernel`), about 1 µs per pair;
2. other left polygons: the right polygons (parcels, zones) are queried against an STRtree
   of them with the predicate ``contains_properly``; shapely prepares each right polygon
   once. A left feature properly inside a right one gets share 1 with no geometry built;
3. only the remaining (ambiguous) left features are intersected with their candidates, in one
   vectorised :func:`shapely.intersection` call.

Points in polygons (:func:`locate_points`, point layers in :func:`compute_overlap_shares`) use
the same idea: bounding-box candidates, then a compiled even-odd test per pair.

The shortcut in step 2 assumes the right layer is a partition (polygons do not overlap one
another), which holds for cadastre and zoning; on overlapping right layers use
:func:`compute_overlap_shares` with ``assume_partition=False``.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"parcel_id": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:2154"
... ).set_index("parcel_id")
>>> buildings = gpd.GeoDataFrame(
...     {"building_id": ["b1"]}, geometry=[box(8, 2, 14, 4)], crs="EPSG:2154"
... ).set_index("building_id")
>>> link_buildings_to_parcels(buildings, parcels).round(3)  # doctest: +NORMALIZE_WHITESPACE
            parcel_id  parcel_share  n_parcels  covered_share  crosses_parcels
building_id
b1                  B         0.667          2            1.0             True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit._crs import check_projected_metric, crs_label
from cimkit.errors import CRSError, InputError, MissingCRSError

__all__ = [
    "compute_overlap_shares",
    "find_nearest",
    "link_buildings_to_parcels",
    "link_buildings_to_zones",
    "link_parcels_to_zones",
    "locate_points",
]

logger = logging.getLogger(__name__)

Layer: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries


def _geoms(layer: Layer) -> np.ndarray:
    return (layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer).to_numpy()


def _check_layers_crs(layers: Mapping[str, Layer], *, metric: bool) -> None:
    """Refuse layers without a CRS, in different CRSs, or (``metric``) not in projected metres.

    The errors name the layers by the keys of ``layers``.
    """
    for name, layer in layers.items():
        if layer.crs is None:
            raise MissingCRSError(
                f"the {name} layer has no CRS; every layer needs one to be linked",
                layer=name,
                hint="set it with gdf.set_crs(...) or read the layers with cimkit readers.",
            )
    crss = {name: layer.crs for name, layer in layers.items()}
    first = next(iter(crss.values()), None)
    if any(crs != first for crs in crss.values()):
        listed = ", ".join(f"{name}: {crs_label(crs)}" for name, crs in crss.items())
        raise CRSError(
            f"the layers are in different CRSs ({listed})",
            hint="reproject them to one CRS with .to_crs(...) (a CityModel does this for you).",
        )
    if metric and first is not None:
        check_projected_metric(first, layer=next(iter(crss)), what=f"the {next(iter(crss))} layer's CRS")


def _check_crs(left: Layer, right: Layer, *, metric: bool) -> None:
    _check_layers_crs({"left": left, "right": right}, metric=metric)


def _is_points(geoms: np.ndarray) -> bool:
    types = shapely.get_type_id(geoms)
    return bool(len(types)) and bool(np.isin(types[~shapely.is_empty(geoms)], (0, 4)).all())


def compute_overlap_shares(
    left: Layer,
    right: Layer,
    *,
    assume_partition: bool = True,
) -> pd.DataFrame:
    """Compute the share of each left feature's area inside each right polygon (long table).

    Parameters
    ----------
    left
        Polygons (buildings, parcels) or points. A point gets share 1 in the polygon that
        contains it.
    right
        Polygons (parcels, zones) in the same CRS; projected (metres) when ``left`` holds
        polygons.
    assume_partition
        True (default): right polygons do not overlap one another, so a left feature properly
        inside one right polygon is given share 1 there without further geometry work.
        False: every intersecting pair is measured.

    Returns
    -------
    DataFrame
        Columns ``left_id``, ``right_id`` (the layers' index values), ``share`` (area of
        left ∩ right / area of left; 0-1) and ``overlap_m2`` (m²; 0 for points), one row per
        pair with a positive overlap, sorted by left then right position. For a partition the shares
        of one left feature sum to the part of it that lies inside any right polygon (1 when
        it is fully covered).

    Raises
    ------
    CRSError
        The layers are in different CRSs, or polygons are not in a projected metric CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:2154"
    ... ).set_index("parcel_id")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"building_id": ["b1", "b2"]}, geometry=[box(8, 2, 14, 4), box(2, 2, 4, 4)], crs="EPSG:2154"
    ... ).set_index("building_id")
    >>> compute_overlap_shares(buildings, parcels).round(3)
      left_id right_id  share  overlap_m2
    0      b1        A  0.333         4.0
    1      b1        B  0.667         8.0
    2      b2        A  1.000         4.0
    """
    from cimkit.analysis._overlap_kernel import overlap_pairs, points_in_polygons

    _check_crs(left, right, metric=not _is_points(_geoms(left)))
    lg, rg = _geoms(left), _geoms(right)
    if _is_points(lg):
        li, ri = points_in_polygons(lg, rg, tree=left.sindex)
        return pd.DataFrame(
            {
                "left_id": left.index.to_numpy()[li],
                "right_id": right.index.to_numpy()[ri],
                "share": 1.0,
                "overlap_m2": 0.0,
            }
        )
    left_area = shapely.area(lg)
    li, ri, ai = overlap_pairs(lg, rg, assume_partition=assume_partition, right_tree=right.sindex)
    order = np.lexsort((ri, li))  # by left, then right position: ties never depend on the index
    li, ri, ai = li[order], ri[order], ai[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(left_area[li] > 0, ai / left_area[li], 0.0)
    return pd.DataFrame(
        {
            "left_id": left.index.to_numpy()[li],
            "right_id": right.index.to_numpy()[ri],
            "share": np.minimum(share, 1.0),
            "overlap_m2": ai,
        }
    )


def locate_points(points: Layer, polygons: Layer, *, name: str | None = None) -> pd.Series:
    """Locate each point in a polygon layer: the id of the polygon holding it.

    Use it for points in parcels or zones (POIs, address points, IFC site points).

    Parameters
    ----------
    points
        Point layer.
    polygons
        Polygon layer in the same CRS; where polygons overlap the one with the lowest
        position wins.
    name
        Name of the result; default the polygons' index name.

    Returns
    -------
    Series
        On the points' index; missing (NA) for points outside every polygon. A point on a
        polygon's boundary counts as inside it.

    Raises
    ------
    InputError
        ``points`` holds other geometries than points.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_pois
    >>> folder = sample_city_path()
    >>> pois = read_pois(folder / "pois.geojson", crs="EPSG:2154")
    >>> zones = read_zoning(folder / "zone_urba.geojson", crs="EPSG:2154")
    >>> zone_of_poi = locate_points(pois, zones)
    >>> zone_of_poi.name, int(zone_of_poi.notna().sum()), len(pois)
    ('zone_id', 23, 23)
    >>> zones.loc[zone_of_poi].value_counts("libelle").to_dict()
    {'UA': 15, 'UB': 4, 'UE': 2, 'N': 1, 'UX': 1}
    """
    from cimkit.analysis._overlap_kernel import points_in_polygons

    _check_crs(points, polygons, metric=False)
    pg = _geoms(points)
    if not _is_points(pg):
        raise InputError(
            "locate_points needs point geometries", hint="use compute_overlap_shares for polygons."
        )
    p_idx, r_idx = points_in_polygons(pg, _geoms(polygons), tree=points.sindex)
    ids = np.full(len(pg), None, dtype="object")
    ids[p_idx] = polygons.index.to_numpy()[r_idx]
    return _id_series(ids, points.index, polygons.index, name or _index_name(polygons, "polygon_id"))


def _id_series(ids: np.ndarray, index: pd.Index, like: pd.Index, name: str) -> pd.Series:
    """Ids on ``index`` in the dtype of ``like`` (nullable when some are missing)."""
    missing = pd.isna(ids)
    if not missing.any():
        return pd.Series(ids, index=index, name=name).astype(like.dtype)
    out = pd.Series(ids, index=index, name=name, dtype="object")
    if not missing.all() and pd.api.types.is_integer_dtype(like.dtype):
        return out.astype("Int64")
    return out


def _largest(
    left: Layer,
    right: Layer,
    *,
    id_name: str,
    share_name: str,
    count_name: str,
    flag_name: str,
    min_share: float,
) -> pd.DataFrame:
    if not 0 <= min_share < 1:
        raise InputError(f"'min_share' must be in [0, 1); {min_share!r} was given")
    long = compute_overlap_shares(left, right)
    result = pd.DataFrame(index=left.index.copy())
    result[id_name] = pd.Series(pd.NA, index=left.index, dtype="object")
    result[share_name] = 0.0
    result[count_name] = 0
    result["covered_share"] = 0.0
    if len(long):
        if not left.index.is_unique:
            raise InputError("the left layer's index has duplicates", hint="give each feature a unique id.")
        long = long.assign(_pos=left.index.get_indexer(long["left_id"]))
        best = long.sort_values(["_pos", "share"], ascending=[True, False]).drop_duplicates("_pos")
        significant = long[long["share"] >= min_share] if min_share > 0 else long
        counts = np.bincount(significant["_pos"].to_numpy(), minlength=len(left))
        covered = np.bincount(long["_pos"].to_numpy(), weights=long["share"].to_numpy(), minlength=len(left))
        pos = best["_pos"].to_numpy()
        ids = np.full(len(left), None, dtype="object")
        ids[pos] = best["right_id"].to_numpy()
        result[id_name] = ids
        shares = np.zeros(len(left))
        shares[pos] = best["share"].to_numpy()
        result[share_name] = shares
        result[count_name] = counts.astype("int64")
        result["covered_share"] = np.minimum(covered, 1.0)
    ids_final = result[id_name].to_numpy(dtype="object")
    result[id_name] = _id_series(ids_final, result.index, right.index, id_name)
    result[flag_name] = result[count_name] > 1
    return result


def link_buildings_to_parcels(buildings: Layer, parcels: Layer, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each building to the parcel holding the largest part of its footprint.

    Parameters
    ----------
    buildings
        Footprint polygons (or points) in a projected CRS.
    parcels
        Parcel polygons in the same CRS (index ``parcel_id``).
    min_share
        A parcel counts in ``n_parcels`` when it holds at least this share of the footprint
        (0-1; default 1 %, so digitising slivers do not flag a building as crossing).

    Returns
    -------
    DataFrame
        On the buildings' index: ``parcel_id`` (NA when the building touches no parcel),
        ``parcel_share`` (share of the footprint inside that parcel, 0-1), ``n_parcels``,
        ``covered_share`` (share of the footprint inside any parcel) and ``crosses_parcels``
        (``n_parcels > 1``).

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_buildings, read_parcels
    >>> folder = sample_city_path()
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> footprints = read_buildings(folder / "footprints.geojson")
    >>> links = link_buildings_to_parcels(footprints, parcels)
    >>> len(links), int(links["parcel_id"].notna().sum()), int(links["crosses_parcels"].sum())
    (43, 43, 0)
    >>> links.loc["BATI0001", "parcel_id"], round(float(links.loc["BATI0001", "parcel_share"]), 3)
    ('91999000AK0005', 1.0)
    """
    if hasattr(buildings, "__dask_graph__"):  # a dask-geopandas frame: run partitioned by space
        from cimkit.analysis._partitioned_base import link_by_partition

        return link_by_partition(
            link_buildings_to_parcels, buildings, parcels, layer="buildings", min_share=min_share
        )
    name = _index_name(parcels, "parcel_id")
    return _largest(
        buildings,
        parcels,
        id_name=name,
        share_name="parcel_share",
        count_name="n_parcels",
        flag_name="crosses_parcels",
        min_share=min_share,
    )


def link_parcels_to_zones(parcels: Layer, zones: Layer, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each parcel to the zone holding the largest part of it.

    Parameters
    ----------
    parcels
        Parcel polygons in a projected CRS.
    zones
        Zone polygons in the same CRS (index ``zone_id``).
    min_share
        A zone counts in ``n_zones`` when it holds at least this share of the parcel (0-1).

    Returns
    -------
    DataFrame
        On the parcels' index: ``zone_id``, ``zone_share``, ``n_zones``, ``covered_share`` and
        ``split_zone`` (the parcel lies in more than one zone, each with at least ``min_share``).

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_parcels
    >>> folder = sample_city_path()
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> zones = read_zoning(folder / "zone_urba.geojson", crs="EPSG:2154")
    >>> links = link_parcels_to_zones(parcels, zones)
    >>> zones.loc[links.loc["91999000AE0002", "zone_id"], "libelle"]
    'UB'
    >>> int(links["split_zone"].sum()), int(links["zone_id"].isna().sum())
    (0, 0)
    """
    if hasattr(parcels, "__dask_graph__"):  # a dask-geopandas frame: run partitioned by space
        from cimkit.analysis._partitioned_base import link_by_partition

        return link_by_partition(link_parcels_to_zones, parcels, zones, layer="parcels", min_share=min_share)
    return _largest(
        parcels,
        zones,
        id_name=_index_name(zones, "zone_id"),
        share_name="zone_share",
        count_name="n_zones",
        flag_name="split_zone",
        min_share=min_share,
    )


def link_buildings_to_zones(buildings: Layer, zones: Layer, *, min_share: float = 0.01) -> pd.DataFrame:
    """Link each building to the zone holding the largest part of its footprint.

    Parameters
    ----------
    buildings
        Footprint polygons (or points) in a projected CRS.
    zones
        Zone polygons in the same CRS.
    min_share
        A zone counts in ``n_zones`` when it holds at least this share of the footprint (0-1).

    Returns
    -------
    DataFrame
        The columns of :func:`link_parcels_to_zones`, on the buildings' index.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> zones = gpd.GeoDataFrame(
    ...     {"zone_id": ["UA", "UB"]}, geometry=[box(0, 0, 50, 50), box(50, 0, 100, 50)], crs="EPSG:2154"
    ... ).set_index("zone_id")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"building_id": ["b1"]}, geometry=[box(40, 10, 70, 20)], crs="EPSG:2154"
    ... ).set_index("building_id")
    >>> link_buildings_to_zones(buildings, zones).round(3)  # doctest: +NORMALIZE_WHITESPACE
                zone_id  zone_share  n_zones  covered_share  split_zone
    building_id
    b1               UB       0.667        2            1.0        True
    """
    if hasattr(buildings, "__dask_graph__"):  # a dask-geopandas frame: run partitioned by space
        from cimkit.analysis._partitioned_base import link_by_partition

        return link_by_partition(
            link_buildings_to_zones, buildings, zones, layer="buildings", min_share=min_share
        )
    return link_parcels_to_zones(buildings, zones, min_share=min_share)


def _index_name(layer: Layer, default: str) -> str:
    name = layer.index.name
    return str(name) if name is not None else default


def find_nearest(
    features: Layer,
    candidates: Layer,
    *,
    max_distance_m: float | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Find the nearest candidate of each feature and the distance to it.

    Use it for a building's access point on the road network
    (``find_nearest(buildings, network.nodes)``) or its water main
    (``find_nearest(buildings, water.edges)``). Distances are measured between the
    geometries themselves (footprint edge to line), not their centroids.

    Parameters
    ----------
    features
        The layer whose nearest candidates are sought (buildings ...).
    candidates
        The layer searched (network nodes, pipe edges ...), in the same projected CRS.
    max_distance_m
        Search radius (m); farther candidates are ignored (result NA / NaN). None: no limit.
    name
        Name of the id column; default the candidates' index name (or ``candidate_id``).

    Returns
    -------
    DataFrame
        On ``features``' index: the candidate id and ``distance_m`` (m). Ties go to the
        candidate with the lowest position.

    Raises
    ------
    InputError
        ``max_distance_m`` is negative.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> nodes = gpd.GeoDataFrame(
    ...     {"node_id": [10, 20]}, geometry=[Point(0, 0), Point(100, 0)], crs="EPSG:2154"
    ... ).set_index("node_id")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"building_id": ["a", "b", "c"]},
    ...     geometry=[box(3, 4, 5, 6), box(90, -1, 92, 1), box(50, 500, 51, 501)],
    ...     crs="EPSG:2154",
    ... ).set_index("building_id")
    >>> find_nearest(buildings, nodes, max_distance_m=50)  # doctest: +NORMALIZE_WHITESPACE
                 node_id  distance_m
    building_id
    a                 10         5.0
    b                 20         8.0
    c               <NA>         NaN
    """
    _check_crs(features, candidates, metric=True)
    if max_distance_m is not None and max_distance_m < 0:
        raise InputError(f"'max_distance_m' must be >= 0; {max_distance_m!r} was given")
    col = name or _index_name(candidates, "candidate_id")
    g, t = _geoms(features), _geoms(candidates)
    out = pd.DataFrame(index=features.index.copy())
    ids = np.full(len(g), None, dtype="object")
    dist = np.full(len(g), np.nan)
    if len(g) and len(t):
        tree = shapely.STRtree(t)
        (g_idx, t_idx), d = tree.query_nearest(
            g, max_distance=max_distance_m, return_distance=True, all_matches=True
        )
        order = np.lexsort((t_idx, g_idx))
        g_idx, t_idx, d = g_idx[order], t_idx[order], d[order]
        first = np.ones(len(g_idx), dtype=bool)
        first[1:] = g_idx[1:] != g_idx[:-1]
        ids[g_idx[first]] = candidates.index.to_numpy()[t_idx[first]]
        dist[g_idx[first]] = d[first]
    out[col] = _id_series(ids, out.index, candidates.index, col)
    out["distance_m"] = dist
    return out
