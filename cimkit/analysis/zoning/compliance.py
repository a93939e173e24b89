"""PLU compliance of buildings: parcel limits, the checks, and their long form.

See :mod:`cimkit.analysis.zoning` for the definitions of each check (height, CES, setbacks,
green ratio, use) and what they cannot know.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"parcel_id": ["P1"]}, geometry=[box(0, 0, 20, 30)], crs="EPSG:2154"
... ).set_index("parcel_id")
>>> buildings = gpd.GeoDataFrame(
...     {"building_id": ["B1"], "height_m": [12.0], "use": ["housing"]},
...     geometry=[box(4, 6, 14, 20)],
...     crs="EPSG:2154",
... ).set_index("building_id")
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": [1], "libelle": ["UA"], "max_height_m": [9.0], "allowed_uses": ["housing"]},
...     geometry=[box(-10, -10, 50, 50)],
...     crs="EPSG:2154",
... ).set_index("zone_id")
>>> result = check_compliance(buildings, parcels, zones)
>>> result.loc["B1", ["height_ok", "use_ok", "n_failed", "compliant"]].to_dict()
{'height_ok': False, 'use_ok': True, 'n_failed': 1, 'compliant': False}
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import (
    _check_crs,
    compute_overlap_shares,
    link_buildings_to_parcels,
    link_buildings_to_zones,
    link_parcels_to_zones,
)
from cimkit.analysis.zoning._land_units import find_land_units, frontage_notes, unit_limits
from cimkit.analysis.zoning._pieces import by_chunks, cached, local_pieces, side_limits
from cimkit.errors import CoverageWarning, InputError
from cimkit.io.plu import RULE_COLUMNS

__all__ = ["check_compliance", "compute_parcel_limits", "summarise_compliance"]

logger = logging.getLogger(__name__)

_RULES = tuple(c for c in RULE_COLUMNS if c != "libelle")
CHECKS = ("height_ok", "ces_ok", "road_setback_ok", "side_setback_ok", "green_ok", "use_ok")

# (rule, measured column, limit column, verdict column) of check_compliance's result
RULE_TABLE = (
    ("height", "height_m", "max_height_m", "height_ok"),
    ("footprint_ratio", "ces", "max_footprint_ratio", "ces_ok"),
    ("road_setback", "road_setback_m", "road_setback_required_m", "road_setback_ok"),
    ("side_setback", "side_setback_m", "side_setback_required_m", "side_setback_ok"),
    ("green_ratio", "green_ratio_upper", "min_green_ratio", "green_ok"),
    ("use", "use", "allowed_uses", "use_ok"),
)


def _rule_columns(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the rule columns of ``zones`` (missing ones filled with "no rule")."""
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


def compute_parcel_limits(
    parcels: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
) -> gpd.GeoDataFrame:
    """Compute each parcel's road frontage and side limits (*limites séparatives*).

    A part of the parcel boundary shared with another parcel (within ``limit_tolerance_m``) is
    a side limit; the rest faces the non-cadastred public domain and is the road frontage
    (French cadastre leaves public roads out of the parcels).

    Parameters
    ----------
    parcels
        Parcel polygons in a projected CRS.
    roads
        Optional road lines; when given, only unshared boundary parts within
        ``road_max_distance_m`` of a road are frontage, the rest counts as side limits.
    limit_tolerance_m
        Boundary parts within this distance (m) of a neighbouring parcel are shared.
    road_max_distance_m
        Largest distance (m) from a road line of a frontage (with ``roads`` only).

    Returns
    -------
    GeoDataFrame
        On the parcels' index: ``side_limits`` and ``frontage`` (line geometries, possibly
        empty); the active geometry is ``frontage``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1", "P2"]}, geometry=[box(0, 0, 20, 30), box(20, 0, 40, 30)], crs="EPSG:2154"
    ... ).set_index("parcel_id")
    >>> limits = compute_parcel_limits(parcels)
    >>> limits.geometry.length.round(1).to_dict(), limits["side_limits"].length.round(1).to_dict()
    ({'P1': 69.0, 'P2': 69.0}, {'P1': 31.0, 'P2': 31.0})

    The shared edge x = 20 (30 m) is a side limit of both, with 0.5 m (``limit_tolerance_m``) of
    each adjacent edge; the other 69 m of each boundary face the road.
    """
    _check_crs(parcels, parcels, metric=True)
    key = (id(parcels), id(roads), float(limit_tolerance_m), float(road_max_distance_m))
    cache, done = cached(key)
    if done is not None and done[0] is parcels and done[1] is roads:
        return done[2].copy()
    geoms = parcels.geometry.to_numpy()
    boundary = shapely.boundary(geoms)
    side = side_limits(geoms, boundary, limit_tolerance_m)
    front = by_chunks(
        lambda ring, lines: shapely.difference(ring, shapely.buffer(lines, 1e-6)), boundary, side
    )
    road_zone = _road_zone(parcels, roads, road_max_distance_m)
    if road_zone is not None:
        # each frontage meets only the piece of the road zone around it (O(n log n), not O(n x city))
        pieces = local_pieces(road_zone, shapely.bounds(front))
        not_road = by_chunks(shapely.difference, front, pieces)
        front = by_chunks(shapely.intersection, front, pieces)
        side = by_chunks(shapely.union, side, not_road)
    out = gpd.GeoDataFrame(
        {"side_limits": gpd.GeoSeries(side, index=parcels.index, crs=parcels.crs)},
        geometry=gpd.GeoSeries(front, index=parcels.index, crs=parcels.crs),
        crs=parcels.crs,
    )
    out = out.rename_geometry("frontage")
    if cache is not None:
        cache[key] = (parcels, roads, out.copy())  # the frames kept alive: their ids stay theirs
    return out


def _road_zone(
    parcels: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | gpd.GeoSeries | None, road_max_distance_m: float
) -> Any:
    """Return the area within ``road_max_distance_m`` of the road lines (None without roads)."""
    if roads is None:
        return None
    _check_crs(parcels, roads, metric=True)
    return shapely.buffer(shapely.union_all(roads.geometry.to_numpy()), road_max_distance_m)


def _distance(geoms: np.ndarray, lines: np.ndarray) -> np.ndarray:
    d = shapely.distance(geoms, lines)
    return np.where(shapely.is_empty(lines), np.nan, d)


def _verdict(passed: Any, measured: Any, limit: Any) -> pd.arrays.BooleanArray:
    """Nullable boolean: NA where the measure or the limit is missing."""
    measured = np.asarray(measured, dtype="float64")
    limit = np.asarray(limit, dtype="float64")
    unknown = np.isnan(measured) | np.isnan(limit)
    return pd.arrays.BooleanArray(np.asarray(passed, dtype=bool) & ~unknown, unknown)


def _locate(
    buildings: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    """Locate each building on its largest parcel and in its zone.

    Returns the frame with ``parcel_id``, ``zone_id``, ``libelle``; the rules of each building's
    zone; the rules of every zone; the zone of every parcel. The zone of a building is the zone of its largest parcel, else the zone under its own footprint.
    """
    rules = _rule_columns(zones)
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
    return out, rule_rows, rules, p_zone[zone_col]


def _check_height(
    out: pd.DataFrame, rule_rows: pd.DataFrame, buildings: gpd.GeoDataFrame, tolerance_m: float
) -> None:
    """Check ``height_m`` against the zone's height limit (within ``tolerance_m``), into ``out``."""
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


def _check_green(out: pd.DataFrame, rule_rows: pd.DataFrame) -> None:
    """Green ratio: an upper bound (paved areas are not known), 1 - CES of the land judged, into ``out``."""
    out["green_ratio_upper"] = 1.0 - out["ces"].to_numpy()
    out["min_green_ratio"] = rule_rows["min_green_ratio"].to_numpy(dtype="float64")
    out["green_ok"] = _verdict(
        out["green_ratio_upper"].to_numpy() >= out["min_green_ratio"].to_numpy(),
        out["green_ratio_upper"],
        out["min_green_ratio"],
    )


def _check_ces(
    out: pd.DataFrame,
    rule_rows: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    overlaps: pd.DataFrame,
    units: pd.DataFrame,
) -> None:
    """Compute footprint, land area, CES and its verdict, into ``out``.

    The land is the building's parcel, or the union of its parcels (``units["unit"]``) when it
    stands on several: CES = footprints inside those parcels / their total area.
    """
    out["footprint_m2"] = shapely.area(buildings.geometry.to_numpy())
    built = overlaps.groupby("right_id")["overlap_m2"].sum().reindex(parcels.index).fillna(0.0)
    parcel_area = pd.Series(shapely.area(parcels.geometry.to_numpy()), index=parcels.index)
    pid = out["parcel_id"].to_numpy(dtype=object)
    has_parcel = ~pd.isna(pid)
    p_area = np.full(len(out), np.nan)
    p_built = np.full(len(out), np.nan)
    p_area[has_parcel] = parcel_area.reindex(pid[has_parcel]).to_numpy()
    p_built[has_parcel] = built.reindex(pid[has_parcel]).to_numpy()
    for i, group in enumerate(units["unit"].to_numpy()):
        if group is not None:
            p_area[i] = parcel_area.reindex(list(group)).sum()
            p_built[i] = built.reindex(list(group)).sum()
    out["parcel_area_m2"] = p_area
    out["ces"] = p_built / p_area
    out["max_footprint_ratio"] = rule_rows["max_footprint_ratio"].to_numpy(dtype="float64")
    out["ces_ok"] = _verdict(
        out["ces"].to_numpy() <= out["max_footprint_ratio"].to_numpy(), out["ces"], out["max_footprint_ratio"]
    )


def _check_setbacks(
    out: pd.DataFrame,
    rule_rows: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    units: pd.DataFrame,
    limits: dict[str, Any],
    tolerance_m: float,
) -> None:
    """Compute road and side setbacks (distances to the land's limits), verdicts and frontage notes."""
    b_geoms = buildings.geometry.to_numpy()
    pid = out["parcel_id"].to_numpy(dtype=object)
    has_parcel = ~pd.isna(pid)
    road_d = np.full(len(out), np.nan)
    side_d = np.full(len(out), np.nan)
    assumed = "road_layer" if limits["roads"] is not None else "unshared_boundary"
    source = np.where(has_parcel, assumed, "no_parcel").astype(object)
    if has_parcel.any():
        lines = compute_parcel_limits(parcels, **limits)
        pos = parcels.index.get_indexer(pid[has_parcel])
        front = lines.geometry.to_numpy()[pos]
        road_d[has_parcel] = _distance(b_geoms[has_parcel], front)
        side_d[has_parcel] = _distance(b_geoms[has_parcel], lines["side_limits"].to_numpy()[pos])
        source[np.flatnonzero(has_parcel)[shapely.is_empty(front)]] = "none"
    multi = units["unit"].notna().to_numpy()
    if multi.any():
        road_zone = _road_zone(parcels, limits["roads"], limits["road_max_distance_m"])
        pairs = zip(units["unit"].to_numpy()[multi], units["unit_geometry"].to_numpy()[multi])
        by_unit = unit_limits(pairs, parcels, road_zone, limits["limit_tolerance_m"])
        for i in np.flatnonzero(multi):
            side, front = by_unit[units["unit"].iat[i]]
            road_d[i] = np.nan if shapely.is_empty(front) else shapely.distance(b_geoms[i], front)
            side_d[i] = np.nan if shapely.is_empty(side) else shapely.distance(b_geoms[i], side)
            if shapely.is_empty(front):
                source[i] = "none"
            elif source[i] == "none":
                source[i] = assumed
    out["road_setback_m"] = road_d
    out["road_setback_required_m"] = rule_rows["min_setback_road_m"].to_numpy(dtype="float64")
    out["road_setback_ok"] = _verdict(
        road_d >= out["road_setback_required_m"].to_numpy() - tolerance_m,
        road_d,
        out["road_setback_required_m"],
    )
    out["frontage_source"] = source.astype(object)
    out["road_setback_note"] = frontage_notes(
        source, limits["roads"] is not None, limits["road_max_distance_m"]
    )
    height = out["height_m"].to_numpy(dtype="float64")
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


def _check_use(
    out: pd.DataFrame, rule_rows: pd.DataFrame, buildings: gpd.GeoDataFrame, use_column: str
) -> None:
    """Check the building's use against the zone's allowed uses (case-insensitive), into ``out``."""
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
    min_share: float = 0.01,
    owner_column: str | None = "owner",
) -> pd.DataFrame:
    """Check each building against the PLU rules of its zone, on the land it really stands on.

    A building on one parcel is judged on that parcel. A building over several parcels (each
    holding at least ``min_share`` of its footprint) is judged on their union, the *unité
    foncière* (contiguous parcels assumed to belong to one owner): footprint ratio (CES) over
    the union's area, setbacks from the union's boundary, green share over the union; its
    ``zoning_note`` says so. When those parcels lie in zones with different rules, carry
    different values in ``owner_column`` or are not contiguous, the union cannot be judged:
    the building is marked ``check_manually`` and its ``compliant`` is NA (a
    :class:`~cimkit.errors.CoverageWarning` gives their number).

    Parameters
    ----------
    buildings
        Footprints with ``height_m`` (m) and optionally a use column; projected CRS.
    parcels
        Parcels in the same CRS.
    zones
        Zones with the rule columns (from ``read_zoning(..., rules=...)``).
    roads
        Optional road lines to identify road frontages (see :func:`compute_parcel_limits`).
    use_column
        Column of ``buildings`` holding the use (compared case-insensitively).
    limit_tolerance_m
        Boundary parts within this distance (m) of a neighbouring parcel are side limits.
    road_max_distance_m
        Largest distance (m) from a road line of a frontage (with ``roads`` only).
    tolerance_m
        Measuring tolerance (m) of the height and setback checks: a setback passes when
        measured >= required - tolerance, a height when height <= limit + tolerance. Parcels
        published in longitude / latitude carry ~0.1 mm of rounding once projected.
    min_share
        A parcel counts as one the building stands on when it holds at least this share of the
        footprint (0-1; default 1 %, so digitising slivers do not join parcels). Raise it to
        judge buildings that overhang a neighbour slightly on their largest parcel alone.
    owner_column
        Column of ``parcels`` holding the owner; used only when present. Parcels of one
        building with different (non-missing) owners send it to a manual check.

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
        and ``compliant`` (no known check failed; NA when ``check_manually``). What the
        building stands on: ``parcels`` (';'-joined ids of the parcels holding at least
        ``min_share`` of it, largest first), ``n_parcels``, ``straddle_share`` (share of the
        footprint outside its largest parcel, 0-1), ``check_manually`` and ``zoning_note`` (""
        on one parcel); for a building on several parcels ``parcel_area_m2``, ``ces`` and the
        setbacks are those of the union. How its road frontage was found: ``frontage_source``
        (``unshared_boundary``: no road layer, every unshared boundary assumed to face a road;
        ``road_layer``: unshared boundary near a road line; ``none``: no frontage, road setback
        unknown; ``no_parcel``) and ``road_setback_note`` (the same as a sentence).

    Raises
    ------
    InputError
        ``tolerance_m`` is negative, ``min_share`` is outside [0, 1), or ``zones`` has no rule
        column.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_buildings, read_layer, read_parcels
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs="EPSG:2154")
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> footprints = read_buildings(folder / "footprints.geojson")
    >>> result = check_compliance(footprints, parcels, zones, roads=read_layer(folder / "streets.geojson"))
    >>> int(result["compliant"].sum()), int((~result["compliant"]).sum())
    (41, 2)
    >>> hugo = result.loc[result["parcel_id"] == "91999000AE0002"].iloc[0]
    >>> hugo["libelle"], float(hugo["height_m"]), float(hugo["max_height_m"]), bool(hugo["height_ok"])
    ('UB', 15.0, 12.0, False)
    """
    if hasattr(buildings, "__dask_graph__"):  # a dask-geopandas frame: run partitioned by space
        from cimkit.analysis._partitioned_zoning import run_compliance

        return run_compliance(check_compliance, buildings, parcels, zones, {
            "roads": roads, "use_column": use_column, "limit_tolerance_m": limit_tolerance_m,
            "road_max_distance_m": road_max_distance_m, "tolerance_m": tolerance_m, "min_share": min_share,
            "owner_column": owner_column,
        })  # fmt: skip
    for name, value in (
        ("tolerance_m", tolerance_m),
        ("limit_tolerance_m", limit_tolerance_m),
        ("road_max_distance_m", road_max_distance_m),
    ):
        if not value >= 0 or not np.isfinite(value):  # NaN fails both comparisons
            raise InputError(f"'{name}' must be a finite number >= 0; {value!r} was given", code="ZON020")
    if not 0 <= min_share < 1:
        raise InputError(f"'min_share' must be in [0, 1); {min_share!r} was given", code="ZON020")
    _check_crs(buildings, parcels, metric=True)
    _check_crs(buildings, zones, metric=True)
    out, rule_rows, rules, zone_of_parcel = _locate(buildings, parcels, zones)
    overlaps = compute_overlap_shares(buildings, parcels)
    labels = zones["libelle"] if "libelle" in zones.columns else None
    units = find_land_units(
        buildings, parcels, zone_of_parcel, rules, zone_labels=labels, owner_column=owner_column,
        min_share=min_share, limit_tolerance_m=limit_tolerance_m, overlaps=overlaps,
    )  # fmt: skip
    out[["parcels", "n_parcels", "straddle_share"]] = units[["parcels", "n_parcels", "straddle_share"]]
    _check_height(out, rule_rows, buildings, tolerance_m)
    _check_ces(out, rule_rows, buildings, parcels, overlaps, units)
    limits = {
        "roads": roads,
        "limit_tolerance_m": limit_tolerance_m,
        "road_max_distance_m": road_max_distance_m,
    }
    _check_setbacks(out, rule_rows, buildings, parcels, units, limits, tolerance_m)
    _check_green(out, rule_rows)
    _check_use(out, rule_rows, buildings, use_column)
    _summarise_verdicts(out, units)
    return out


def _summarise_verdicts(out: pd.DataFrame, units: pd.DataFrame) -> None:
    """Count failed and unknown checks, set ``compliant`` (NA when checked manually), warn, into ``out``."""
    verdicts = out[list(CHECKS)]
    out["n_failed"] = (verdicts == False).sum(axis=1).astype("int64")  # noqa: E712 - nullable booleans
    out["n_unknown"] = verdicts.isna().sum(axis=1).astype("int64")
    manual = units["check_manually"].to_numpy(dtype=bool)
    out["compliant"] = pd.arrays.BooleanArray(out["n_failed"].to_numpy() == 0, manual)
    out["check_manually"] = manual
    out["zoning_note"] = units["zoning_note"]
    if manual.any():
        warnings.warn(
            f"{int(manual.sum())} of {len(out)} buildings stand on several parcels that cannot be judged as one "
            "unité foncière (zones with different rules, different owners or parcels not contiguous): their "
            "'compliant' is NA and 'zoning_note' says why; check them manually, or raise 'min_share' to judge "
            "small overhangs on the largest parcel alone.",
            CoverageWarning,
            stacklevel=3,
        )


def summarise_compliance(result: pd.DataFrame) -> pd.DataFrame:
    """Summarise :func:`check_compliance`'s result as one row per building and rule.

    Parameters
    ----------
    result
        The DataFrame returned by :func:`check_compliance`.

    Returns
    -------
    DataFrame
        Columns: the buildings' index name (``building_id``), ``rule`` (height,
        footprint_ratio, road_setback, side_setback, green_ratio, use), ``measured``, ``limit``
        and ``passed`` (nullable boolean, NA when unknown); rows ordered by building, then rule.

    Raises
    ------
    InputError
        ``result`` is not a :func:`check_compliance` result.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> parcels = gpd.GeoDataFrame(
    ...     {"parcel_id": ["P1"]}, geometry=[box(0, 0, 20, 30)], crs="EPSG:2154"
    ... ).set_index("parcel_id")
    >>> buildings = gpd.GeoDataFrame(
    ...     {"building_id": ["B1"], "height_m": [12.0]}, geometry=[box(4, 6, 14, 20)], crs="EPSG:2154"
    ... ).set_index("building_id")
    >>> zones = gpd.GeoDataFrame(
    ...     {"zone_id": [1], "libelle": ["UA"], "max_height_m": [9.0], "max_footprint_ratio": [0.4]},
    ...     geometry=[box(-10, -10, 50, 50)],
    ...     crs="EPSG:2154",
    ... ).set_index("zone_id")
    >>> summarise_compliance(check_compliance(buildings, parcels, zones)).head(2)
      building_id             rule  measured limit  passed
    0          B1           height      12.0   9.0   False
    1          B1  footprint_ratio  0.233333   0.4    True
    """
    missing = [c for row in RULE_TABLE for c in row[1:] if c not in result.columns]
    if missing:
        raise InputError(
            f"not a check_compliance result (missing columns {missing})",
            hint="pass the DataFrame returned by check_compliance.",
        )
    name = result.index.name or "building_id"
    frames = []
    for order, (rule, measured, limit, verdict) in enumerate(RULE_TABLE):
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
    long["_pos"] = np.tile(np.arange(len(result)), len(RULE_TABLE))
    long = long.sort_values(["_pos", "_order"], kind="stable").drop(columns=["_pos", "_order"])
    return long.reset_index(drop=True)
