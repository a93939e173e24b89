"""What a building stands on: its parcels, their union (the *unité foncière*) and its frontage.

A building over several parcels is judged on the union of the parcels holding at least
``min_share`` of its footprint: they are assumed to be contiguous and to belong to one owner
(the French *unité foncière*, the land a permit is judged on). When that assumption visibly
fails (the parcels lie in zones with different rules, carry different owners, or are not
contiguous) the building is left to a manual check.

Examples
--------
>>> import geopandas as gpd
>>> import pandas as pd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"parcel_id": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs="EPSG:2154"
... ).set_index("parcel_id")
>>> buildings = gpd.GeoDataFrame(
...     {"building_id": ["b1"]}, geometry=[box(6, 2, 12, 4)], crs="EPSG:2154"
... ).set_index("building_id")
>>> zone_of_parcel = pd.Series([1, 1], index=parcels.index)
>>> units = find_land_units(buildings, parcels, zone_of_parcel, pd.DataFrame({"h": [9.0]}, index=[1]))
>>> row = units.loc["b1"]
>>> row["parcels"], int(row["n_parcels"]), round(float(row["straddle_share"]), 3), bool(row["check_manually"])
('A;B', 2, 0.333, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import compute_overlap_shares


def find_land_units(
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    zone_of_parcel: pd.Series,
    rules: pd.DataFrame,
    *,
    zone_labels: pd.Series | None = None,
    owner_column: str | None = "owner",
    min_share: float = 0.01,
    limit_tolerance_m: float = 0.5,
    overlaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Find the parcels each building stands on and whether their union can be judged.

    Returns a frame on the buildings' index: ``parcels`` (';'-joined ids of the parcels holding
    at least ``min_share`` of the footprint, largest share first), ``n_parcels``,
    ``straddle_share`` (share of the footprint outside its largest parcel; NaN on no parcel),
    ``unit`` (the tuple of those ids when there are several, else None), ``unit_geometry`` (their
    union), ``check_manually`` and ``zoning_note`` (a sentence, "" when none).
    """
    long = overlaps if overlaps is not None else compute_overlap_shares(buildings, parcels)
    n = len(buildings)
    out = pd.DataFrame(index=buildings.index.copy())
    out["parcels"] = ""
    out["n_parcels"] = np.zeros(n, dtype="int64")
    out["straddle_share"] = np.nan
    out["unit"] = pd.Series([None] * n, index=out.index, dtype="object")
    out["unit_geometry"] = pd.Series([None] * n, index=out.index, dtype="object")
    out["check_manually"] = False
    out["zoning_note"] = ""
    if not len(long):
        return out
    pos = buildings.index.get_indexer(long["left_id"])
    long = long.assign(_pos=pos).sort_values(["_pos", "share"], ascending=[True, False], kind="stable")
    largest = long.drop_duplicates("_pos")
    straddle = np.full(n, np.nan)
    straddle[largest["_pos"].to_numpy()] = 1.0 - largest["share"].to_numpy()
    out["straddle_share"] = np.clip(straddle, 0.0, 1.0)
    significant = long[long["share"] >= min_share]
    # the groups of the sorted rows by building, as slices (no per-group pandas work)
    at = significant["_pos"].to_numpy()
    right = significant["right_id"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]]) if len(at) else np.zeros(0, dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(at)])
    ids = np.full(n, "", dtype=object)
    counts = np.zeros(n, dtype="int64")
    ids[at[starts]] = [
        str(right[s]) if k == 1 else ";".join(str(p) for p in right[s : s + k]) for s, k in zip(starts, sizes)
    ]
    counts[at[starts]] = sizes
    out["parcels"] = ids
    out["n_parcels"] = counts
    owners = parcels[owner_column] if owner_column and owner_column in parcels.columns else None
    geoms = pd.Series(parcels.geometry.to_numpy(), index=parcels.index)
    for g in np.flatnonzero(sizes >= 2):
        p, group = at[starts[g]], tuple(right[starts[g] : starts[g] + sizes[g]])
        unit_geom = shapely.union_all(geoms.reindex(list(group)).to_numpy())
        label = out.index[p]
        out.at[label, "unit"] = group
        out.at[label, "unit_geometry"] = unit_geom
        reasons = _manual_reasons(
            group, unit_geom, zone_of_parcel, rules, zone_labels, owners, limit_tolerance_m
        )
        share = float(straddle[p])
        head = (
            f"stands on {len(group)} parcels ({';'.join(str(g) for g in group)}), {share:.0%} of its "
            "footprint outside the largest"
        )
        if reasons:
            out.at[label, "check_manually"] = True
            out.at[label, "zoning_note"] = f"{head}; check manually: {'; '.join(reasons)}"
        else:
            out.at[label, "zoning_note"] = (
                f"{head}; footprint ratio, setbacks and green share judged on their union "
                "(unité foncière, assumed to belong to one owner)"
            )
    return out


def _manual_reasons(
    group: tuple[Any, ...],
    unit_geom: Any,
    zone_of_parcel: pd.Series,
    rules: pd.DataFrame,
    zone_labels: pd.Series | None,
    owners: pd.Series | None,
    limit_tolerance_m: float,
) -> list[str]:
    """Why the union of ``group`` cannot be judged as one unité foncière ([] when it can)."""
    reasons = []
    zone_ids = zone_of_parcel.reindex(list(group)).to_numpy(dtype=object)
    distinct = list(dict.fromkeys(None if pd.isna(z) else z for z in zone_ids))
    if len(distinct) > 1:
        known = [z for z in distinct if z is not None]
        rows = rules.reindex(pd.Index(known, dtype=object)).drop_duplicates()
        if None in distinct or len(rows) > 1:
            names = [
                "no zone" if z is None else str(zone_labels.get(z, z)) if zone_labels is not None else str(z)
                for z in distinct
            ]
            reasons.append(f"its parcels lie in zones with different rules ({', '.join(names)})")
    if owners is not None:
        values = list(dict.fromkeys(v for v in owners.reindex(list(group)) if not pd.isna(v)))
        if len(values) > 1:
            # the count, never the names: owners are personal data, the note may be published
            reasons.append(f"its parcels have {len(values)} different owners")
    if shapely.get_num_geometries(shapely.buffer(unit_geom, limit_tolerance_m / 2)) > 1:
        reasons.append(f"its parcels are not contiguous (more than {limit_tolerance_m:g} m apart)")
    return reasons


def split_limits(
    geom: Any, neighbours: np.ndarray, road_zone: Any, limit_tolerance_m: float
) -> tuple[Any, Any]:
    """Split the boundary of one polygon into (side limits, frontage) against its neighbours.

    The rule of :func:`~cimkit.analysis.zoning.compute_parcel_limits`: boundary parts within
    ``limit_tolerance_m`` of a neighbour's boundary are side limits; the rest is frontage,
    restricted to ``road_zone`` (the buffered road lines) when it is not None.
    """
    boundary = shapely.boundary(geom)
    if len(neighbours):
        zone = shapely.union_all(shapely.buffer(shapely.boundary(neighbours), limit_tolerance_m))
        side = shapely.intersection(boundary, zone)
    else:
        side = shapely.LineString()
    front = shapely.difference(boundary, shapely.buffer(side, 1e-6))
    if road_zone is not None:
        side = shapely.union(side, shapely.difference(front, road_zone))
        front = shapely.intersection(front, road_zone)
    return side, front


def unit_limits(
    units: Iterable[tuple[tuple[Any, ...], Any]],
    parcels: gpd.GeoDataFrame,
    road_zone: Any,
    limit_tolerance_m: float,
) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """Side limits and frontage of each distinct union of parcels, from (parcel ids, union) pairs."""
    tree = parcels.sindex
    geoms = parcels.geometry.to_numpy()
    out: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    for group, geom in units:
        if group in out:
            continue
        near = tree.query(geom, predicate="dwithin", distance=limit_tolerance_m)
        inside = parcels.index.get_indexer(list(group))
        near = np.setdiff1d(near, inside)
        out[group] = split_limits(geom, geoms[near], road_zone, limit_tolerance_m)
    return out


def frontage_notes(source: np.ndarray, roads: bool, road_max_distance_m: float) -> list[str]:
    """One sentence per building on how its road frontage was found."""
    texts = {
        "unshared_boundary": "road frontage assumed: the parcel boundary not shared with another parcel "
        "(no road layer; a boundary on a private path or a railway counts as road)",
        "road_layer": f"road frontage: the unshared parcel boundary within {road_max_distance_m:g} m of a road line",
        "none": (
            f"no road frontage: no unshared parcel boundary within {road_max_distance_m:g} m of a road line, "
            "road setback unknown"
            if roads
            else "no road frontage: every part of the parcel boundary is shared, road setback unknown"
        ),
        "no_parcel": "on no parcel: road setback unknown",
    }
    return [texts[str(s)] for s in source]
