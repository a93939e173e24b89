"""The merge: which building stands on which parcel, in which zone, near which road or pipe.

All functions take GeoDataFrames (or GeoSeries) in one projected CRS and return DataFrames on
the left layer's index. Identity columns take the name of the right layer's index
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

Points in polygons (:func:`locate_points`, point layers in :func:`overlap_shares`) use the
same idea: bounding-box candidates, then a compiled even-odd test per pair.

The shortcut in step 2 assumes the right layer is a partition (polygons do not overlap one another),
which holds for cadastre and zoning; on overlapping right layers use :func:`overlap_shares`
with ``assume_partition=False``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.errors import CRSError, GeographicCRSError, InputError

__all__ = [
    "link_buildings_to_parcels",
    "link_buildings_to_zones",
    "link_parcels_to_zones",
    "locate_points",
    "match_footprints",
    "nearest_feature",
    "overlap_shares",
]

logger = logging.getLogger(__name__)

Layer: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries


def _geoms(layer: Layer) -> np.ndarray:
    return (layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer).to_numpy()


def _check_crs(left: Layer, right: Layer, *, metric: bool) -> None:
    if left.crs is None or right.crs is None:
        raise CRSError(
            "both layers need a CRS to be linked",
            hint="set it with gdf.set_crs(...) or read the layers with cimkit readers.",
        )
    if left.crs != right.crs:
        raise CRSError(
            f"the layers are in different CRSs ({left.crs.to_string()} and {right.crs.to_string()})",
            hint="reproject one with .to_crs(other.crs) (a CityModel does this for you).",
        )
    if metric and not left.crs.is_projected:
        raise GeographicCRSError(
            f"areas and distances need a projected CRS; {left.crs.to_string()} is geographic",
            hint="reproject both layers to a metric CRS (e.g. .to_crs(layer.estimate_utm_crs())).",
        )


def _is_points(geoms: np.ndarray) -> bool:
    types = shapely.get_type_id(geoms)
    return bool(len(types)) and bool(np.isin(types[~shapely.is_empty(geoms)], (0, 4)).all())


def overlap_shares(
    left: Layer,
    right: Layer,
    *,
    assume_partition: bool = True,
) -> pd.DataFrame:
    """Share of each left feature's area inside each right polygon (long table).

    Parameters
    ----------
    left
        Polygons (buildings, parcels) or points. A point gets share 1 in the polygon that
        contains it.
    right
        Polygons (parcels, zones).
    assume_partition
        True (default): right polygons do not overlap one another, so a left feature properly
        inside one right polygon is given share 1 there without further geometry work.
        False: every intersecting pair is measured.

    Returns
    -------
    DataFrame
        Columns ``left_id``, ``right_id`` (the layers' index values), ``share`` (area of
        left ∩ right / area of left; 0-1) and ``overlap_m2`` (m²; 0 for points), one row per
        pair with a positive overlap, sorted by left position. For a partition the shares
        of one left feature sum to the part of it that lies inside any right polygon (1 when
        it is fully covered).
    """
    _check_crs(left, right, metric=not _is_points(_geoms(left)))
    lg, rg = _geoms(left), _geoms(right)
    if _is_points(lg):
        li, ri = _points_in(lg, rg, tree=left.sindex)
        frame = pd.DataFrame(
            {
                "left_id": left.index.to_numpy()[li],
                "right_id": right.index.to_numpy()[ri],
                "share": 1.0,
                "overlap_m2": 0.0,
            }
        )
        return frame
    left_area = shapely.area(lg)
    li, ri, ai = _overlap_pairs(lg, rg, assume_partition=assume_partition, right_tree=right.sindex)
    order = np.argsort(li, kind="stable")
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


def _overlap_pairs(
    lg: np.ndarray, rg: np.ndarray, *, assume_partition: bool, right_tree: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left positions, right positions, overlap areas) of every pair with a positive overlap.

    Convex left polygons (most footprints are rectangles) get their overlap areas from the
    compiled clipping kernel on every bounding-box candidate: cheaper than any GEOS predicate.
    The others take the ``contains_properly`` shortcut and GEOS intersections.
    ``right_tree``: a spatial index of ``rg`` (geopandas keeps one per layer); built if None.
    """
    from cimkit.analysis._overlap_kernel import convex_mask, overlap_areas

    n_left = len(lg)
    parts_l: list[np.ndarray] = []
    parts_r: list[np.ndarray] = []
    parts_a: list[np.ndarray] = []
    valid_right = ~shapely.is_empty(rg) & np.isin(shapely.get_type_id(rg), (3, 6))
    convex = convex_mask(lg) if valid_right.all() else np.zeros(n_left, dtype=bool)
    resolved = convex | shapely.is_empty(lg)
    if convex.any():
        idx = np.flatnonzero(convex)
        right_tree = right_tree if right_tree is not None else shapely.STRtree(rg)
        q_idx, r_idx = right_tree.query(lg[idx])
        l_idx = idx[q_idx]
        area = overlap_areas(lg, rg, l_idx, r_idx)
        pos = area > 0
        parts_l.append(l_idx[pos])
        parts_r.append(r_idx[pos])
        parts_a.append(area[pos])
    todo = np.flatnonzero(~resolved)
    if assume_partition and len(todo):
        r_idx, q_idx = shapely.STRtree(lg[todo]).query(rg, predicate="contains_properly")
        l_idx = todo[q_idx]
        # a left feature inside two right polygons means the right layer overlaps itself:
        # such features are measured below
        counts = np.bincount(l_idx, minlength=n_left)
        keep = counts[l_idx] == 1
        l_idx, r_idx = l_idx[keep], r_idx[keep]
        resolved[l_idx] = True
        parts_l.append(l_idx)
        parts_r.append(r_idx)
        parts_a.append(shapely.area(lg[l_idx]))
        todo = np.flatnonzero(~resolved)
    if len(todo):
        right_tree = right_tree if right_tree is not None else shapely.STRtree(rg)
        q_idx, r_idx = right_tree.query(lg[todo], predicate="intersects")
        l_idx = todo[q_idx]
        area = shapely.area(shapely.intersection(lg[l_idx], rg[r_idx]))
        pos = area > 0
        parts_l.append(l_idx[pos])
        parts_r.append(r_idx[pos])
        parts_a.append(area[pos])
    if not parts_l:
        empty = np.empty(0, dtype="int64")
        return empty, empty, np.empty(0, dtype="float64")
    return np.concatenate(parts_l), np.concatenate(parts_r), np.concatenate(parts_a)


def _points_in(
    points: np.ndarray, polygons: np.ndarray, *, tree: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """(point positions, polygon positions) of points inside polygons (first polygon kept).

    Candidate pairs come from a bounding-box query of the polygons against the points'
    spatial index (``tree``, the layer's cached geopandas sindex, else a new STRtree); the
    compiled even-odd test (:func:`cimkit.analysis._overlap_kernel.points_inside`) decides
    each pair. Points found in no polygon but with candidates are checked again with GEOS
    ``intersects``, so points on a boundary count as inside.
    """
    from cimkit.analysis._overlap_kernel import points_inside

    if not len(points) or not len(polygons):
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    tree = tree if tree is not None else shapely.STRtree(points)
    polygonal = np.isin(shapely.get_type_id(polygons), (3, 6)) & ~shapely.is_empty(polygons)
    r_idx, p_idx = tree.query(polygons)  # bounding boxes only; empty points are never returned
    keep = polygonal[r_idx]
    r_idx, p_idx = r_idx[keep], p_idx[keep]
    hit = points_inside(shapely.get_x(points), shapely.get_y(points), polygons, p_idx, r_idx)
    found = np.zeros(len(points), dtype=bool)
    found[p_idx[hit]] = True
    retry = ~found[p_idx]
    if retry.any():  # boundary cases and non-polygon "polygons": GEOS decides
        again = shapely.intersects(polygons[r_idx[retry]], points[p_idx[retry]])
        hit[np.flatnonzero(retry)[again]] = True
    p_idx, r_idx = p_idx[hit], r_idx[hit]
    order = np.lexsort((r_idx, p_idx))
    p_idx, r_idx = p_idx[order], r_idx[order]
    first = np.ones(len(p_idx), dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    return p_idx[first], r_idx[first]


def locate_points(points: Layer, polygons: Layer, *, name: str | None = None) -> pd.Series:
    """The id of the polygon holding each point (point-in-parcel, point-in-zone).

    Parameters
    ----------
    points
        Point layer (POIs, address points, IFC site points).
    polygons
        Polygon layer; where polygons overlap the one with the lowest position wins.
    name
        Name of the result; default the polygons' index name.

    Returns
    -------
    Series
        On the points' index; missing (NA) for points outside every polygon. A point on a
        polygon's boundary counts as inside it.
    """
    _check_crs(points, polygons, metric=False)
    pg = _geoms(points)
    if not _is_points(pg):
        raise InputError("locate_points needs point geometries", hint="use overlap_shares for polygons.")
    p_idx, r_idx = _points_in(pg, _geoms(polygons), tree=points.sindex)
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
    long = overlap_shares(left, right)
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
        (default 1 %, so digitising slivers do not flag a building as crossing).

    Returns
    -------
    DataFrame
        On the buildings' index: ``parcel_id`` (NA when the building touches no parcel),
        ``parcel_share`` (share of the footprint inside that parcel, 0-1), ``n_parcels``,
        ``covered_share`` (share of the footprint inside any parcel) and ``crosses_parcels``
        (``n_parcels > 1``).
    """
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

    Returns
    -------
    DataFrame
        On the parcels' index: ``zone_id``, ``zone_share``, ``n_zones``, ``covered_share`` and
        ``split_zone`` (the parcel lies in more than one zone, each with at least ``min_share``).
    """
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

    Same columns as :func:`link_parcels_to_zones`, on the buildings' index.
    """
    return link_parcels_to_zones(buildings, zones, min_share=min_share)


def _index_name(layer: Layer, default: str) -> str:
    name = layer.index.name
    return str(name) if name is not None else default


def nearest_feature(
    geoms: Layer,
    targets: Layer,
    *,
    max_distance: float | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """The nearest target of each geometry and the distance to it.

    Use it for a building's access point on the road network
    (``nearest_feature(buildings, network.nodes)``) or its water pipe
    (``nearest_feature(buildings, water.edges)``). Distances are measured between the
    geometries themselves (footprint edge to line), not their centroids.

    Parameters
    ----------
    geoms
        Source layer.
    targets
        Target layer in the same projected CRS.
    max_distance
        Search radius in CRS units (m); farther targets are ignored (result NA / NaN).
    name
        Name of the id column; default the targets' index name (or ``target_id``).

    Returns
    -------
    DataFrame
        On ``geoms``' index: the target id and ``distance_m``. Ties go to the target with the
        lowest position.
    """
    _check_crs(geoms, targets, metric=True)
    if max_distance is not None and max_distance < 0:
        raise InputError(f"'max_distance' must be >= 0; {max_distance!r} was given")
    col = name or _index_name(targets, "target_id")
    g, t = _geoms(geoms), _geoms(targets)
    out = pd.DataFrame(index=geoms.index.copy())
    ids = np.full(len(g), None, dtype="object")
    dist = np.full(len(g), np.nan)
    if len(g) and len(t):
        tree = shapely.STRtree(t)
        (g_idx, t_idx), d = tree.query_nearest(
            g, max_distance=max_distance, return_distance=True, all_matches=True
        )
        order = np.lexsort((t_idx, g_idx))
        g_idx, t_idx, d = g_idx[order], t_idx[order], d[order]
        first = np.ones(len(g_idx), dtype=bool)
        first[1:] = g_idx[1:] != g_idx[:-1]
        ids[g_idx[first]] = targets.index.to_numpy()[t_idx[first]]
        dist[g_idx[first]] = d[first]
    out[col] = _id_series(ids, out.index, targets.index, col)
    out["distance_m"] = dist
    return out


def match_footprints(
    ifc_buildings: Layer,
    footprints: Layer,
    *,
    min_iou: float = 0.5,
    method: Literal["greedy"] = "greedy",
) -> pd.DataFrame:
    """Match IFC building footprints to reference footprints (cadastre, OSM, CityJSON) by IoU.

    A cheap georeferencing check: a matched pair with a large centroid offset, or an IFC
    building with no match at all, points at a wrong or missing map conversion.

    Parameters
    ----------
    ifc_buildings
        Footprints of the IFC buildings.
    footprints
        Reference footprints in the same projected CRS.
    min_iou
        Pairs with intersection-over-union below this are not matched (0-1).
    method
        ``"greedy"``: pairs are taken in decreasing IoU, each footprint used at most once
        (one-to-one; optimal whenever each building overlaps at most one footprint with
        IoU >= 0.5, since two such pairs cannot share a building).

    Returns
    -------
    DataFrame
        One row per matched pair, per unmatched IFC building and per unmatched footprint:
        ``ifc_id``, ``footprint_id`` (NA when unmatched), ``iou`` (best IoU found, NaN when
        none), ``dx_m`` / ``dy_m`` (IFC centroid - footprint centroid, matched pairs only) and
        ``status`` (``matched``, ``ifc_only``, ``footprint_only``).
    """
    if method != "greedy":
        raise InputError(f"'method' must be 'greedy'; {method!r} was given")
    if not 0 < min_iou <= 1:
        raise InputError(f"'min_iou' must be in (0, 1]; {min_iou!r} was given")
    _check_crs(ifc_buildings, footprints, metric=True)
    a, b = _geoms(ifc_buildings), _geoms(footprints)
    tree = shapely.STRtree(b)
    ai, bi = (
        tree.query(a, predicate="intersects") if len(a) and len(b) else (np.empty(0, int), np.empty(0, int))
    )
    inter = shapely.area(shapely.intersection(a[ai], b[bi]))
    union = shapely.area(a[ai]) + shapely.area(b[bi]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    best_iou_a = np.full(len(a), np.nan)
    best_iou_b = np.full(len(b), np.nan)
    if len(iou):
        np.fmax.at(best_iou_a, ai, iou)
        np.fmax.at(best_iou_b, bi, iou)
    order = np.argsort(-iou, kind="stable")
    used_a = np.zeros(len(a), dtype=bool)
    used_b = np.zeros(len(b), dtype=bool)
    pairs = []
    for k in order:
        if iou[k] < min_iou:
            break
        if used_a[ai[k]] or used_b[bi[k]]:
            continue
        used_a[ai[k]] = used_b[bi[k]] = True
        pairs.append(k)
    pairs_arr = np.asarray(pairs, dtype="int64")
    ca = shapely.centroid(a[ai[pairs_arr]])
    cb = shapely.centroid(b[bi[pairs_arr]])
    a_ids, b_ids = ifc_buildings.index.to_numpy(), footprints.index.to_numpy()
    matched = pd.DataFrame(
        {
            "ifc_id": a_ids[ai[pairs_arr]],
            "footprint_id": b_ids[bi[pairs_arr]],
            "iou": iou[pairs_arr],
            "dx_m": shapely.get_x(ca) - shapely.get_x(cb),
            "dy_m": shapely.get_y(ca) - shapely.get_y(cb),
            "status": "matched",
        }
    )
    only_a = np.flatnonzero(~used_a)
    only_b = np.flatnonzero(~used_b)
    frames = [
        matched,
        pd.DataFrame(
            {"ifc_id": a_ids[only_a], "footprint_id": None, "iou": best_iou_a[only_a], "status": "ifc_only"}
        ),
        pd.DataFrame(
            {
                "ifc_id": None,
                "footprint_id": b_ids[only_b],
                "iou": best_iou_b[only_b],
                "status": "footprint_only",
            }
        ),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["ifc_id", "footprint_id", "iou", "dx_m", "dy_m", "status"])
    out = pd.concat(frames, ignore_index=True)
    for col in ("dx_m", "dy_m"):
        if col not in out.columns:
            out[col] = np.nan
    return out[["ifc_id", "footprint_id", "iou", "dx_m", "dy_m", "status"]]
