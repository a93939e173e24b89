"""PLU zoning compliance of buildings and buildable capacity of parcels.

The rules come from the zone layer (``read_zoning(..., rules=...)`` joins the columns listed
in :data:`cimkit.io.vector.RULE_COLUMNS`); a missing rule value means "no rule" and the check
is reported unknown (NA), never passed.

Definitions used here (the regulation of each PLU is the authority; check the zone's text):

- **Zone of a building**: the zone holding the largest share of the building's parcel
  (rules apply to the *terrain d'assiette*); a building on no parcel takes the zone holding
  the largest share of its own footprint.
- **Height**: ``height_m`` of the building against ``max_height_m``.
- **CES** (coefficient d'emprise au sol): footprint area of all buildings inside the parcel
  (each building's area inside the parcel) / parcel area, against ``max_footprint_ratio``.
- **Parcel limits**: a part of the parcel boundary shared with another parcel (within
  ``limit_tolerance_m``) is a *side limit* (limite séparative); the rest faces the
  non-cadastred public domain and is the *road frontage* (French cadastre leaves public
  roads out of the parcels). With a ``roads`` layer, only the unshared boundary within
  ``road_max_distance_m`` of a road line is frontage; the rest counts as a side limit.
- **Road setback**: distance from the footprint to the parcel's road frontage, against
  ``min_setback_road_m``. Unknown when the parcel has no frontage.
- **Side setback** ("H/2" rule): distance from the footprint to the side limits; required
  = max(``side_setback_height_ratio`` x height, ``min_setback_side_m``). Construction on the
  limit (allowed by many PLUs under conditions) is not modelled: it fails the check.
- **Green ratio**: (parcel area - building footprints) / parcel area. This is an *upper
  bound* of the green share (paved areas are not known): a value below ``min_green_ratio``
  is a certain failure; a value above it passes "as far as footprints show".
- **Use**: the building's use (column ``use_column``) in the zone's ``allowed_uses`` list.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import (
    _check_crs,
    link_buildings_to_parcels,
    link_buildings_to_zones,
    link_parcels_to_zones,
    overlap_shares,
)
from cimkit.errors import InputError
from cimkit.io.plu import RULE_COLUMNS

__all__ = ["buildable_capacity", "check_compliance", "compliance_table", "parcel_limits"]

logger = logging.getLogger(__name__)

_RULES = tuple(c for c in RULE_COLUMNS if c != "libelle")
_CHECKS = ("height_ok", "ces_ok", "road_setback_ok", "side_setback_ok", "green_ok", "use_ok")


def _rule_columns(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    missing = [c for c in _RULES if c not in zones.columns]
    if len(missing) == len(_RULES):
        raise InputError(
            "the zone layer carries no rule columns",
            hint="read it with cimkit.read_zoning(path, rules='rules.csv').",
        )
    out = pd.DataFrame(index=zones.index)
    for col in _RULES:
        out[col] = zones[col] if col in zones.columns else (None if col == "allowed_uses" else np.nan)
    return out


def parcel_limits(
    parcels: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
) -> gpd.GeoDataFrame:
    """Split each parcel boundary into its road frontage and its side limits.

    Parameters
    ----------
    parcels
        Parcel polygons in a projected CRS.
    roads
        Optional road lines; when given, only unshared boundary parts within
        ``road_max_distance_m`` (m) of a road are frontage.
    limit_tolerance_m
        Boundary parts within this distance (m) of a neighbouring parcel are shared.

    Returns
    -------
    GeoDataFrame
        On the parcels' index: ``side_limits`` and ``frontage`` (line geometries, possibly
        empty); the active geometry is ``frontage``.
    """
    _check_crs(parcels, parcels, metric=True)
    geoms = parcels.geometry.to_numpy()
    boundary = shapely.boundary(geoms)
    tree = shapely.STRtree(geoms)
    a_idx, b_idx = tree.query(geoms, predicate="dwithin", distance=limit_tolerance_m)
    keep = a_idx != b_idx
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    side = np.array([shapely.LineString()] * len(geoms), dtype=object)
    if len(a_idx):
        buffers = shapely.buffer(boundary[b_idx], limit_tolerance_m)
        order = np.argsort(a_idx, kind="stable")
        a_sorted, buf_sorted = a_idx[order], buffers[order]
        starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
        ends = np.r_[starts[1:], len(a_sorted)]
        for s, e in zip(starts, ends):
            i = a_sorted[s]
            side[i] = shapely.intersection(boundary[i], shapely.union_all(buf_sorted[s:e]))
    front = shapely.difference(boundary, shapely.buffer(side, 1e-6))
    if roads is not None:
        _check_crs(parcels, roads, metric=True)
        road_zone = shapely.buffer(shapely.union_all(roads.geometry.to_numpy()), road_max_distance_m)
        not_road = shapely.difference(front, road_zone)
        front = shapely.intersection(front, road_zone)
        side = shapely.union(side, not_road)
    out = gpd.GeoDataFrame(
        {"side_limits": gpd.GeoSeries(side, index=parcels.index, crs=parcels.crs)},
        geometry=gpd.GeoSeries(front, index=parcels.index, crs=parcels.crs),
        crs=parcels.crs,
    )
    return out.rename_geometry("frontage")


def _distance(geoms: np.ndarray, lines: np.ndarray) -> np.ndarray:
    d = shapely.distance(geoms, lines)
    return np.where(shapely.is_empty(lines), np.nan, d)


def check_compliance(
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    use_column: str = "use",
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
    tolerance_m: float = 0.01,
) -> pd.DataFrame:
    """Check each building against the PLU rules of its zone.

    Parameters
    ----------
    buildings
        Footprints with ``height_m`` (m) and optionally a use column; projected CRS.
    parcels
        Parcels in the same CRS.
    zones
        Zones with the rule columns (from ``read_zoning(..., rules=...)``).
    roads
        Optional road lines to identify road frontages (see the module notes).
    use_column
        Column of ``buildings`` holding the use (compared case-insensitively).
    limit_tolerance_m, road_max_distance_m
        See :func:`parcel_limits`.
    tolerance_m
        Measuring tolerance (m) of the height and setback checks: a setback passes when
        measured >= required - tolerance, a height when height <= limit + tolerance. Parcels
        published in longitude / latitude carry ~0.1 mm of rounding once projected.

    Returns
    -------
    DataFrame
        On the buildings' index: ``parcel_id``, ``zone_id``, ``libelle``; measured values and
        limits: ``height_m``/``max_height_m``, ``footprint_m2``, ``parcel_area_m2``, ``ces``
        /``max_footprint_ratio``, ``road_setback_m``/``road_setback_required_m``,
        ``side_setback_m``/``side_setback_required_m``, ``green_ratio_upper``/
        ``min_green_ratio``, ``use``/``allowed_uses``; verdicts ``height_ok``, ``ces_ok``,
        ``road_setback_ok``, ``side_setback_ok``, ``green_ok``, ``use_ok`` (nullable
        booleans: NA when the rule or the measure is missing); ``n_failed``, ``n_unknown``
        and ``compliant`` (no known check failed).
    """
    if tolerance_m < 0:
        raise InputError(f"'tolerance_m' must be >= 0; {tolerance_m!r} was given")
    _check_crs(buildings, parcels, metric=True)
    _check_crs(buildings, zones, metric=True)
    rules = _rule_columns(zones)
    b_geoms = buildings.geometry.to_numpy()
    link = link_buildings_to_parcels(buildings, parcels)
    parcel_col = link.columns[0]
    p_zone = link_parcels_to_zones(parcels, zones)
    zone_col = p_zone.columns[0]
    b_zone = link_buildings_to_zones(buildings, zones)
    out = pd.DataFrame(index=buildings.index.copy())
    out["parcel_id"] = link[parcel_col]
    zone_via_parcel = p_zone[zone_col].reindex(link[parcel_col].to_numpy()).to_numpy()
    zone_ids = np.where(pd.isna(zone_via_parcel), b_zone[zone_col].to_numpy(dtype=object), zone_via_parcel)
    out["zone_id"] = pd.Series(zone_ids, index=out.index, dtype="object").infer_objects()
    rule_rows = rules.reindex(pd.Index(zone_ids, dtype=object))
    rule_rows.index = out.index
    out["libelle"] = zones["libelle"].reindex(zone_ids).to_numpy() if "libelle" in zones.columns else None

    # height
    height = (
        pd.to_numeric(buildings["height_m"], errors="coerce").to_numpy(dtype="float64")
        if "height_m" in buildings.columns
        else np.full(len(buildings), np.nan)
    )
    out["height_m"] = height
    out["max_height_m"] = rule_rows["max_height_m"].to_numpy(dtype="float64")
    out["height_ok"] = _verdict(
        height <= out["max_height_m"].to_numpy() + tolerance_m, height, out["max_height_m"]
    )

    # CES on the building's main parcel
    out["footprint_m2"] = shapely.area(b_geoms)
    shares = overlap_shares(buildings, parcels)
    built = shares.groupby("right_id")["overlap_m2"].sum()
    parcel_area = pd.Series(shapely.area(parcels.geometry.to_numpy()), index=parcels.index)
    pid = link[parcel_col].to_numpy(dtype=object)
    has_parcel = ~pd.isna(pid)
    p_area = np.full(len(out), np.nan)
    p_built = np.full(len(out), np.nan)
    p_area[has_parcel] = parcel_area.reindex(pid[has_parcel]).to_numpy()
    p_built[has_parcel] = built.reindex(pid[has_parcel]).fillna(0.0).to_numpy()
    out["parcel_area_m2"] = p_area
    out["ces"] = p_built / p_area
    out["max_footprint_ratio"] = rule_rows["max_footprint_ratio"].to_numpy(dtype="float64")
    out["ces_ok"] = _verdict(
        out["ces"].to_numpy() <= out["max_footprint_ratio"].to_numpy(), out["ces"], out["max_footprint_ratio"]
    )

    # setbacks from the parcel limits
    road_d = np.full(len(out), np.nan)
    side_d = np.full(len(out), np.nan)
    if has_parcel.any():
        limits = parcel_limits(
            parcels, roads=roads, limit_tolerance_m=limit_tolerance_m, road_max_distance_m=road_max_distance_m
        )
        pos = parcels.index.get_indexer(pid[has_parcel])
        front = limits.geometry.to_numpy()[pos]
        side = limits["side_limits"].to_numpy()[pos]
        road_d[has_parcel] = _distance(b_geoms[has_parcel], front)
        side_d[has_parcel] = _distance(b_geoms[has_parcel], side)
    out["road_setback_m"] = road_d
    out["road_setback_required_m"] = rule_rows["min_setback_road_m"].to_numpy(dtype="float64")
    out["road_setback_ok"] = _verdict(
        road_d >= out["road_setback_required_m"].to_numpy() - tolerance_m,
        road_d,
        out["road_setback_required_m"],
    )
    ratio = rule_rows["side_setback_height_ratio"].to_numpy(dtype="float64")
    minimum = rule_rows["min_setback_side_m"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        by_height = ratio * height
    # required = max(ratio x H, minimum); unknown when the ratio applies but H is unknown
    required = np.fmax(by_height, minimum)
    required[~np.isnan(ratio) & np.isnan(height)] = np.nan
    out["side_setback_m"] = side_d
    out["side_setback_required_m"] = required
    out["side_setback_ok"] = _verdict(side_d >= required - tolerance_m, side_d, required)

    # green ratio (upper bound)
    out["green_ratio_upper"] = 1.0 - out["ces"].to_numpy()
    out["min_green_ratio"] = rule_rows["min_green_ratio"].to_numpy(dtype="float64")
    out["green_ok"] = _verdict(
        out["green_ratio_upper"].to_numpy() >= out["min_green_ratio"].to_numpy(),
        out["green_ratio_upper"],
        out["min_green_ratio"],
    )

    # use
    uses = (
        [None if pd.isna(u) else str(u).strip().lower() for u in buildings[use_column]]
        if use_column in buildings.columns
        else [None] * len(out)
    )
    allowed = rule_rows["allowed_uses"].to_numpy(dtype=object)
    use_ok = pd.array([pd.NA] * len(out), dtype="boolean")
    for i, (u, a) in enumerate(zip(uses, allowed)):
        if u is not None and isinstance(a, str) and a:
            use_ok[i] = u in {x.strip().lower() for x in a.split(";")}
    out["use"] = uses
    out["allowed_uses"] = allowed
    out["use_ok"] = use_ok

    verdicts = out[list(_CHECKS)]
    out["n_failed"] = (verdicts == False).sum(axis=1).astype("int64")  # noqa: E712 - nullable booleans
    out["n_unknown"] = verdicts.isna().sum(axis=1).astype("int64")
    out["compliant"] = out["n_failed"] == 0
    return out


# (rule, measured column, limit column, verdict column) of check_compliance's result
_RULE_TABLE = (
    ("height", "height_m", "max_height_m", "height_ok"),
    ("footprint_ratio", "ces", "max_footprint_ratio", "ces_ok"),
    ("road_setback", "road_setback_m", "road_setback_required_m", "road_setback_ok"),
    ("side_setback", "side_setback_m", "side_setback_required_m", "side_setback_ok"),
    ("green_ratio", "green_ratio_upper", "min_green_ratio", "green_ok"),
    ("use", "use", "allowed_uses", "use_ok"),
)


def compliance_table(result: pd.DataFrame) -> pd.DataFrame:
    """Reshape :func:`check_compliance`'s result to one row per building and rule.

    Returns
    -------
    DataFrame
        Columns: the buildings' index name (``building_id``), ``rule`` (height,
        footprint_ratio, road_setback, side_setback, green_ratio, use), ``measured``, ``limit``
        and ``passed`` (nullable boolean, NA when unknown); rows ordered by building, then rule.
    """
    missing = [c for row in _RULE_TABLE for c in row[1:] if c not in result.columns]
    if missing:
        raise InputError(
            f"not a check_compliance result (missing columns {missing})",
            hint="pass the DataFrame returned by check_compliance.",
        )
    name = result.index.name or "building_id"
    frames = []
    for order, (rule, measured, limit, verdict) in enumerate(_RULE_TABLE):
        frames.append(
            pd.DataFrame(
                {
                    name: result.index.to_numpy(),
                    "rule": rule,
                    "measured": result[measured].to_numpy(dtype=object),
                    "limit": result[limit].to_numpy(dtype=object),
                    "passed": result[verdict].array,
                    "_order": order,
                }
            )
        )
    long = pd.concat(frames, ignore_index=True)
    long["_pos"] = np.tile(np.arange(len(result)), len(_RULE_TABLE))
    long = long.sort_values(["_pos", "_order"], kind="stable").drop(columns=["_pos", "_order"])
    return long.reset_index(drop=True)


def _verdict(passed: np.ndarray, measured, limit) -> pd.arrays.BooleanArray:
    """Nullable boolean: NA where the measure or the limit is missing."""
    measured = np.asarray(measured, dtype="float64")
    limit = np.asarray(limit, dtype="float64")
    unknown = np.isnan(measured) | np.isnan(limit)
    return pd.arrays.BooleanArray(np.asarray(passed, dtype=bool) & ~unknown, unknown)


def buildable_capacity(
    parcels: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    storey_height_m: float = 3.0,
) -> pd.DataFrame:
    """Remaining footprint and height envelope of each parcel under its zone's rules.

    Parameters
    ----------
    parcels, buildings, zones
        Layers in one projected CRS; ``zones`` with rule columns.
    storey_height_m
        Storey height (m) used to turn the height limit into a number of floors.

    Returns
    -------
    DataFrame
        On the parcels' index: ``zone_id``, ``libelle``, ``area_m2``, ``footprint_m2``
        (buildings' area inside the parcel), ``ces``, ``max_footprint_ratio``,
        ``remaining_footprint_m2`` = max(0, max CES x area - footprint), ``max_height_m``,
        ``max_floors`` = floor(max height / storey height) and
        ``additional_floor_area_m2`` = remaining footprint x max floors: an upper estimate
        that assumes new building on all the remaining footprint at the full height and
        ignores setbacks, green-share limits and raising existing buildings. NaN where the
        zone has no CES or height rule.
    """
    if storey_height_m <= 0:
        raise InputError(f"'storey_height_m' must be > 0; {storey_height_m!r} was given")
    _check_crs(parcels, zones, metric=True)
    rules = _rule_columns(zones)
    link = link_parcels_to_zones(parcels, zones)
    zone_col = link.columns[0]
    zid = link[zone_col].to_numpy(dtype=object)
    has_zone = ~pd.isna(zid)
    out = pd.DataFrame(index=parcels.index.copy())
    out["zone_id"] = link[zone_col]
    out["libelle"] = None
    if "libelle" in zones.columns and has_zone.any():
        lib = np.full(len(out), None, dtype=object)
        lib[has_zone] = zones["libelle"].reindex(zid[has_zone]).to_numpy()
        out["libelle"] = lib
    area = shapely.area(parcels.geometry.to_numpy())
    out["area_m2"] = area
    if len(buildings):
        _check_crs(buildings, parcels, metric=True)
        built = overlap_shares(buildings, parcels).groupby("right_id")["overlap_m2"].sum()
        footprint = built.reindex(parcels.index).fillna(0.0).to_numpy()
    else:
        footprint = np.zeros(len(out))
    out["footprint_m2"] = footprint
    out["ces"] = footprint / area
    max_ces = np.full(len(out), np.nan)
    max_h = np.full(len(out), np.nan)
    max_ces[has_zone] = rules["max_footprint_ratio"].reindex(zid[has_zone]).to_numpy(dtype="float64")
    max_h[has_zone] = rules["max_height_m"].reindex(zid[has_zone]).to_numpy(dtype="float64")
    out["max_footprint_ratio"] = max_ces
    out["remaining_footprint_m2"] = np.maximum(max_ces * area - footprint, 0.0)
    out["remaining_footprint_m2"] = out["remaining_footprint_m2"].where(~np.isnan(max_ces))
    out["max_height_m"] = max_h
    out["max_floors"] = np.floor(max_h / storey_height_m + 1e-9)
    out["additional_floor_area_m2"] = out["remaining_footprint_m2"] * out["max_floors"]
    return out
