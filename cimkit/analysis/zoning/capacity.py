"""Buildable capacity of parcels: the floor area the zone's rules allow, storey by storey.

For every parcel of area ``A`` in a zone with rules (the columns of
:data:`cimkit.io.plu.RULE_COLUMNS`)::

    H(k)            = k x storey_height_m                          k = 1 .. floor(max_height_m / storey_height_m)
    side(k)         = max(min_setback_side_m, side_setback_height_ratio x H(k))
    envelope(k)     = land - buffer(road frontage, min_setback_road_m) - buffer(side limits, side(k))
    footprint(k)    = min(max_footprint_ratio x A, (1 - min_green_ratio) x A, area(envelope(k)))
    capacity_gfa_m2 = max over k of k x footprint(k)

*land* is the parcel minus the prescriptions that forbid building (``TYPEPSC`` 01 espaces
boisés classés, 05 emplacements réservés) and minus a user ``mask``. Road frontage and side
limits (*limites séparatives*) are those of
:func:`~cimkit.analysis.zoning.compute_parcel_limits`; a parcel where no frontage is found has
all its limits treated as side limits (``frontage_found`` False). Because the side setback grows
with the height (the "H/2" rule), a taller limit can leave the capacity unchanged: past some
storey count the envelope shrinks faster than the storeys add.

Examples
--------
A 20 x 30 m parcel between two neighbours, its road to the south (the first example of
``docs/scenarios.md``): CES 0.4 allows 240 m², the envelope (5 m road, 3 m side setbacks)
14 x 22 = 308 m², so 3 storeys x 240 m²:

>>> import geopandas as gpd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"parcel_id": ["W", "P", "E"]},
...     geometry=[box(-20, 0, 0, 30), box(0, 0, 20, 30), box(20, 0, 40, 30)],
...     crs="EPSG:2154",
... ).set_index("parcel_id")
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": [1], "libelle": ["UB"], "max_height_m": [9.0], "max_footprint_ratio": [0.4],
...      "min_setback_road_m": [5.0], "min_setback_side_m": [3.0]},
...     geometry=[box(-30, -10, 50, 50)], crs="EPSG:2154",
... ).set_index("zone_id")
>>> no_buildings = parcels.iloc[:0]
>>> cap = compute_buildable_capacity(no_buildings, parcels, zones)
>>> float(cap.loc["P", "capacity_gfa_m2"]), int(cap.loc["P", "best_storeys"]), cap.loc["P", "binding_rule"]
(720.0, 3, 'footprint_ratio')
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import _check_crs, compute_overlap_shares, link_parcels_to_zones
from cimkit.analysis.zoning._pieces import by_chunks
from cimkit.analysis.zoning.compliance import _rule_columns, compute_parcel_limits
from cimkit.errors import InputError, QuantityWarning

__all__ = ["compute_buildable_capacity"]

#: Prescription types (CNIG ``TYPEPSC``) whose land is removed from the envelope
EXCLUDING_PRESCRIPTIONS = ("01", "05")

_FOOTPRINT_LIMITS = ("footprint_ratio", "green", "envelope")


@dataclass
class _CapacityGeometry:
    """The rule-independent part of the capacity: parcels, limits, exclusions, existing floor area."""

    index: pd.Index
    area: np.ndarray
    land: np.ndarray  # parcel minus exclusions
    frontage: np.ndarray
    side: np.ndarray
    frontage_found: np.ndarray
    excluded_m2: np.ndarray
    footprint_m2: np.ndarray
    existing_gfa_m2: np.ndarray
    storeys_assumed: int
    # envelope areas by (road setback, side setback), NaN where not computed yet; land minus the
    # road setback by road setback (None where not computed yet)
    envelope_cache: dict[tuple[float, float], np.ndarray] = field(default_factory=dict)
    road_cache: dict[float, np.ndarray] = field(default_factory=dict)


def _exclusion_union(parcels: gpd.GeoDataFrame, prescriptions: Any, mask: Any) -> Any:
    """Union of the land where nothing may be built (None when there is none)."""
    parts: list[Any] = []
    if prescriptions is not None and len(prescriptions):
        _check_crs(parcels, prescriptions, metric=True)
        column = next((c for c in prescriptions.columns if str(c).lower() == "typepsc"), None)
        if column is None:
            raise InputError(
                "the prescriptions carry no 'typepsc' column",
                hint="read the CNIG PRESCRIPTION_SURF layer, which has TYPEPSC.",
                code="SCN001",
            )
        kind = prescriptions[column].astype(str).str.strip().str.zfill(2)
        chosen = prescriptions.geometry.to_numpy()[kind.isin(EXCLUDING_PRESCRIPTIONS).to_numpy()]
        parts.extend(g for g in chosen if g is not None and shapely.get_type_id(g) in (3, 6))
    if mask is not None and len(mask):
        _check_crs(parcels, mask, metric=True)
        geoms = mask.geometry.to_numpy() if hasattr(mask, "geometry") else np.asarray(mask)
        parts.extend(g for g in geoms if g is not None)
    return shapely.union_all(parts) if parts else None


def _existing_floor_area(
    buildings: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, storey_height_m: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Footprint and floor area of the existing buildings inside each parcel (and how many got 1 storey)."""
    n = len(parcels)
    if not len(buildings):
        return np.zeros(n), np.zeros(n), 0
    _check_crs(buildings, parcels, metric=True)
    storeys = pd.Series(np.nan, index=buildings.index)
    if "storeys" in buildings.columns:
        storeys = pd.to_numeric(buildings["storeys"], errors="coerce").where(lambda s: s > 0)
    if "height_m" in buildings.columns:
        from_height = np.maximum(
            np.round(pd.to_numeric(buildings["height_m"], errors="coerce") / storey_height_m), 1
        )
        storeys = storeys.fillna(from_height)
    assumed = int(storeys.isna().sum())
    storeys = storeys.fillna(1.0)
    long = compute_overlap_shares(buildings, parcels)
    if not len(long):
        return np.zeros(n), np.zeros(n), assumed
    gfa = long["overlap_m2"].to_numpy() * storeys.reindex(long["left_id"]).to_numpy()
    long = long.assign(gfa=gfa)
    sums = long.groupby("right_id")[["overlap_m2", "gfa"]].sum().reindex(parcels.index).fillna(0.0)
    return sums["overlap_m2"].to_numpy(), sums["gfa"].to_numpy(), assumed


def _prepare_geometry(
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    *,
    roads: Any,
    prescriptions: Any,
    mask: Any,
    storey_height_m: float,
    limit_tolerance_m: float,
    road_max_distance_m: float,
) -> _CapacityGeometry:
    """Compute what the capacity needs and the rules do not change (cached by scenarios and sweeps)."""
    if storey_height_m <= 0:
        raise InputError(f"'storey_height_m' must be > 0; {storey_height_m!r} was given", code="SCN002")
    _check_crs(parcels, parcels, metric=True)
    geoms = parcels.geometry.to_numpy()
    area = shapely.area(geoms)
    limits = compute_parcel_limits(
        parcels, roads=roads, limit_tolerance_m=limit_tolerance_m, road_max_distance_m=road_max_distance_m
    )
    frontage = limits.geometry.to_numpy()
    side = limits["side_limits"].to_numpy()
    found = ~shapely.is_empty(frontage)
    # the limit detection gives a side limit the first limit_tolerance_m of the frontage at each
    # corner; a setback from those pieces would cut the envelope along the street: trim them
    # (what is left of the side limit starts within 0.15 x limit_tolerance_m of the corner)
    trimmed = shapely.difference(side, shapely.buffer(frontage, 1.01 * limit_tolerance_m + 1e-6))
    # no frontage found: every limit is a side limit
    side = np.where(found, trimmed, shapely.boundary(geoms))
    excluded = _exclusion_union(parcels, prescriptions, mask)
    land = geoms.copy()
    if excluded is not None:
        hit = shapely.intersects(geoms, excluded)
        land[hit] = shapely.difference(geoms[hit], excluded)
    footprint, existing, assumed = _existing_floor_area(buildings, parcels, storey_height_m)
    return _CapacityGeometry(
        index=parcels.index.copy(),
        area=area,
        land=land,
        frontage=frontage,
        side=side,
        frontage_found=found,
        excluded_m2=area - shapely.area(land),
        footprint_m2=footprint,
        existing_gfa_m2=existing,
        storeys_assumed=assumed,
    )


def _parcel_rules(parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the zone (id, label) and rule values of each parcel (its zone: the largest share)."""
    _check_crs(parcels, zones, metric=True)
    rules = _rule_columns(zones).drop(columns=["allowed_uses"])
    link = link_parcels_to_zones(parcels, zones)
    zid = link[link.columns[0]].to_numpy(dtype=object)
    has_zone = ~pd.isna(zid)
    out = pd.DataFrame(index=parcels.index.copy())
    out["zone_id"] = link[link.columns[0]]
    lib = np.full(len(out), None, dtype=object)
    if "libelle" in zones.columns and has_zone.any():
        lib[has_zone] = zones["libelle"].reindex(zid[has_zone]).to_numpy()
    out["libelle"] = lib
    for col in rules.columns:
        values = np.full(len(out), np.nan)
        values[has_zone] = rules[col].reindex(zid[has_zone]).to_numpy(dtype="float64")
        out[col] = values
    return out


def _capacity_from(geometry: _CapacityGeometry, rules: pd.DataFrame, storey_height_m: float) -> pd.DataFrame:
    """Evaluate the capacity of every parcel for the rule values of ``rules`` (one row per parcel)."""
    area = geometry.area
    n = len(area)
    max_h = rules["max_height_m"].to_numpy(dtype="float64")
    # a missing rule is "no rule": no footprint ratio, no green share, no setback (a missing
    # height leaves the capacity unknown: nothing bounds the storeys)
    ces = np.nan_to_num(rules["max_footprint_ratio"].to_numpy(dtype="float64"), nan=np.inf)
    green = np.nan_to_num(rules["min_green_ratio"].to_numpy(dtype="float64"), nan=0.0)
    road = np.nan_to_num(rules["min_setback_road_m"].to_numpy(dtype="float64"), nan=0.0)
    side_min = np.nan_to_num(rules["min_setback_side_m"].to_numpy(dtype="float64"), nan=0.0)
    ratio = np.nan_to_num(rules["side_setback_height_ratio"].to_numpy(dtype="float64"), nan=0.0)
    max_storeys = np.where(
        np.isnan(max_h), 0, np.floor(np.nan_to_num(max_h) / storey_height_m + 1e-9)
    ).astype(int)
    limits = np.stack([np.minimum(ces, 1.0) * area, (1.0 - green) * area], axis=1)
    road = np.where(geometry.frontage_found, road, 0.0)
    best_gfa = np.zeros(n)
    best_k = np.zeros(n, dtype=int)
    best_fp = np.zeros(n)
    best_env = np.full(n, np.nan)
    best_limit = np.zeros(n, dtype=int)
    env_area = np.zeros(n)
    prev_side = np.full(n, -1.0)
    for k in range(1, int(max_storeys.max(initial=0)) + 1):
        active = k <= max_storeys
        side = np.maximum(side_min, ratio * k * storey_height_m)
        changed = active & (side != prev_side)
        if changed.any():
            idx = np.flatnonzero(changed)
            env_area[idx] = _envelope_areas(geometry, idx, road[idx], side[idx])
            prev_side[idx] = side[idx]
        candidates = np.column_stack([limits, env_area])
        footprint = candidates.min(axis=1)
        gfa = k * footprint
        better = active & (gfa > best_gfa + 1e-9)
        best_gfa[better] = gfa[better]
        best_k[better] = k
        best_fp[better] = footprint[better]
        best_env[better] = env_area[better]
        # the first rule reaching the minimum (ties: footprint ratio, then green, then envelope)
        best_limit[better] = np.argmax(candidates[better] <= footprint[better, None] + 1e-9, axis=1)
        # storeys that add nothing still tell the envelope of a parcel with no capacity
        best_env[active & (best_k == 0)] = env_area[active & (best_k == 0)]
    one_more = _one_more_storey(geometry, road, limits, side_min, ratio, max_storeys, storey_height_m)
    return _assemble(
        geometry,
        rules,
        storey_height_m,
        max_storeys,
        best_gfa,
        best_k,
        best_fp,
        best_env,
        best_limit,
        one_more,
    )


def _side_buffer(lines: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Return the zone within ``distance`` of the side limits."""
    return shapely.buffer(lines, distance)


def _one_more_storey(
    geometry: _CapacityGeometry,
    road: np.ndarray,
    limits: np.ndarray,
    side_min: np.ndarray,
    ratio: np.ndarray,
    max_storeys: np.ndarray,
    storey_height_m: float,
) -> np.ndarray:
    """Floor area at one storey above the height limit (to tell whether the height binds)."""
    k = max_storeys + 1
    side = np.maximum(side_min, ratio * k * storey_height_m)
    idx = np.arange(len(k))
    footprint = np.minimum(limits.min(axis=1), _envelope_areas(geometry, idx, road, side))
    return k * footprint


def _envelope_areas(
    geometry: _CapacityGeometry, idx: np.ndarray, road: np.ndarray, side: np.ndarray
) -> np.ndarray:
    """Envelope area of parcels ``idx`` for their road and side setbacks (cached by setback pair)."""
    n = len(geometry.area)
    out = np.empty(len(idx))
    pairs, inverse = np.unique(np.column_stack([road, side]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for u, (r, s) in enumerate(pairs):
        mine = inverse == u
        chosen = idx[mine]
        cache = geometry.envelope_cache.setdefault((float(r), float(s)), np.full(n, np.nan))
        todo = chosen[np.isnan(cache[chosen])]
        if len(todo):
            land = _road_land(geometry, todo, float(r))
            if s > 0:
                land = by_chunks(
                    lambda a, b, d=s: shapely.difference(a, _side_buffer(b, np.full(len(b), d))),
                    land,
                    geometry.side[todo],
                )
            cache[todo] = shapely.area(land)
        out[mine] = cache[chosen]
    return out


def _road_land(geometry: _CapacityGeometry, idx: np.ndarray, road: float) -> np.ndarray:
    """Return the land of parcels ``idx`` farther than ``road`` from their frontage (cached by setback)."""
    if road <= 0:
        return geometry.land[idx]
    cache = geometry.road_cache.setdefault(road, np.full(len(geometry.area), None, dtype=object))
    todo = idx[pd.isna(cache[idx])]
    if len(todo):
        cache[todo] = by_chunks(
            lambda a, b: shapely.difference(a, shapely.buffer(b, road)),
            geometry.land[todo],
            geometry.frontage[todo],
        )
    return cache[idx]


def _assemble(
    geometry: _CapacityGeometry,
    rules: pd.DataFrame,
    storey_height_m: float,
    max_storeys: np.ndarray,
    best_gfa: np.ndarray,
    best_k: np.ndarray,
    best_fp: np.ndarray,
    best_env: np.ndarray,
    best_limit: np.ndarray,
    one_more: np.ndarray,
) -> pd.DataFrame:
    """Put the capacity columns together (NaN where the zone or its height rule is missing)."""
    known = ~np.isnan(rules["max_height_m"].to_numpy(dtype="float64"))
    out = rules[["zone_id", "libelle"]].copy()
    out["area_m2"] = geometry.area
    out["excluded_m2"] = geometry.excluded_m2
    out["footprint_m2"] = geometry.footprint_m2
    out["ces"] = geometry.footprint_m2 / geometry.area
    for col in (
        "max_footprint_ratio",
        "max_height_m",
        "min_green_ratio",
        "min_setback_road_m",
        "min_setback_side_m",
        "side_setback_height_ratio",
    ):
        out[col] = rules[col].to_numpy()
    out["max_storeys"] = np.where(known, max_storeys, np.nan)
    out["best_storeys"] = np.where(known, best_k, np.nan)
    out["height_m"] = out["best_storeys"] * storey_height_m
    out["envelope_m2"] = np.where(known, best_env, np.nan)
    out["allowed_footprint_m2"] = np.where(known, best_fp, np.nan)
    binding = np.array(_FOOTPRINT_LIMITS, dtype=object)[best_limit]
    binding = np.where(max_storeys == 0, "height", binding)
    binding = np.where(known & (best_k == 0) & (max_storeys > 0), "envelope", binding)
    out["binding_rule"] = pd.Series(binding, index=out.index).where(known, None)
    out["height_binding"] = known & (one_more > best_gfa + 1e-9)
    out["remaining_footprint_m2"] = np.where(known, np.maximum(best_fp - geometry.footprint_m2, 0.0), np.nan)
    out["capacity_gfa_m2"] = np.where(known, best_gfa, np.nan)
    out["existing_gfa_m2"] = geometry.existing_gfa_m2
    out["additional_gfa_m2"] = np.where(known, np.maximum(best_gfa - geometry.existing_gfa_m2, 0.0), np.nan)
    out["frontage_found"] = geometry.frontage_found
    return out


def compute_buildable_capacity(
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    prescriptions: gpd.GeoDataFrame | None = None,
    mask: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    storey_height_m: float = 3.0,
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
) -> pd.DataFrame:
    """Compute the floor area each parcel may hold under its zone's rules, and what is left of it.

    Conventions (the regulation of each PLU is the authority):

    - **Envelope** at height H: the parcel's land (minus ``prescriptions`` of type 01 *espace
      boisé classé* and 05 *emplacement réservé*, and minus ``mask``) farther than
      ``min_setback_road_m`` from its road frontage and than the side setback
      max(``min_setback_side_m``, ``side_setback_height_ratio`` x H) from its other limits.
    - **Allowed footprint** at H: min(``max_footprint_ratio`` x area, (1 - ``min_green_ratio``) x
      area, envelope area); the area is the whole parcel's.
    - **Storeys** k = 1 ... floor(``max_height_m`` / ``storey_height_m``), H = k x storey height;
      the capacity is the largest k x allowed footprint(k) (the smallest k on a tie).
    - **Existing floor area**: each building's footprint inside the parcel x its storeys (the
      ``storeys`` column, else round(``height_m`` / storey height), at least 1; a building with
      neither counts 1 storey, with a warning SCN101).
    - A missing rule value means "no rule"; a parcel without a zone or a height rule has an
      unknown (NaN) capacity.

    Parameters
    ----------
    buildings
        Existing building footprints in a projected CRS (may be empty); ``storeys`` or
        ``height_m`` give their floor count.
    parcels
        Parcels in the same CRS, indexed by parcel id.
    zones
        Zones with rule columns (``read_zoning(..., rules=...)``).
    roads
        Road lines that tell road frontages from side limits (see
        :func:`~cimkit.analysis.zoning.compute_parcel_limits`); None: every unshared parcel
        boundary is frontage.
    prescriptions
        The PLU's surface prescriptions with ``typepsc``; types 01 and 05 are removed from the
        land that may be built.
    mask
        Polygons where nothing may be built (protected areas, a study's exclusions).
    storey_height_m
        Height of one storey (m).
    limit_tolerance_m
        Boundary parts within this distance (m) of a neighbouring parcel are side limits.
    road_max_distance_m
        Largest distance (m) from a road line of a frontage (with ``roads`` only).

    Returns
    -------
    DataFrame
        On the parcels' index: ``zone_id``, ``libelle``, ``area_m2``, ``excluded_m2`` (land
        removed by prescriptions and mask), ``footprint_m2`` and ``ces`` (existing buildings),
        the zone's rules (``max_footprint_ratio``, ``max_height_m``, ``min_green_ratio``,
        ``min_setback_road_m``, ``min_setback_side_m``, ``side_setback_height_ratio``),
        ``max_storeys``, ``best_storeys``,
        ``height_m`` (best storeys x storey height), ``envelope_m2`` and
        ``allowed_footprint_m2`` at the best storey count, ``binding_rule`` (what sets that
        footprint: ``footprint_ratio``, ``green`` or ``envelope``; ``height`` when the height
        limit allows not one storey), ``height_binding`` (one storey more than the limit would
        add floor area), ``remaining_footprint_m2`` = max(0, allowed footprint - footprint),
        ``capacity_gfa_m2``, ``existing_gfa_m2``, ``additional_gfa_m2`` = max(0, capacity -
        existing) and ``frontage_found`` (False: no road frontage was found, every limit was
        treated as a side limit).

    Raises
    ------
    InputError
        ``storey_height_m`` is not positive, ``zones`` has no rule column, or the
        prescriptions have no ``typepsc`` column.

    Examples
    --------
    >>> from cimkit.analysis.zoning import compute_buildable_capacity
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> capacity = compute_buildable_capacity(
    ...     model["buildings"], model["parcels"], model["zones"],
    ...     roads=model.network("road").edges, prescriptions=model["prescriptions"],
    ... )
    >>> al7 = capacity.loc["91999000AL0007"]
    >>> al7["libelle"], float(al7["max_footprint_ratio"]), round(float(al7["ces"]), 2), float(al7["remaining_footprint_m2"])
    ('UA', 0.7, 0.78, 0.0)
    """
    geometry = _prepare_geometry(
        buildings,
        parcels,
        roads=roads,
        prescriptions=prescriptions,
        mask=mask,
        storey_height_m=storey_height_m,
        limit_tolerance_m=limit_tolerance_m,
        road_max_distance_m=road_max_distance_m,
    )
    _warn_assumed(geometry)
    return _capacity_from(geometry, _parcel_rules(parcels, zones), storey_height_m)


def _warn_assumed(geometry: _CapacityGeometry) -> None:
    if geometry.storeys_assumed:
        warnings.warn(
            QuantityWarning(
                f"{geometry.storeys_assumed} building(s) have no 'storeys' or 'height_m' value: "
                "their existing floor area counts one storey",
                code="SCN101",
            ),
            stacklevel=3,
        )
