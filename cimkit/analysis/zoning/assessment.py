"""The one-call zoning analysis of a city model: links, PLU compliance and buildable capacity.

Examples
--------
>>> from cimkit.analysis import zoning
>>> from cimkit.datasets import load_sample_city
>>> result = zoning.assess(load_sample_city(with_ifc=False))
>>> int(result.city["buildings"]), int(result.city["non_compliant_buildings"])
(43, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import find_nearest, link_buildings_to_parcels
from cimkit.analysis.result import AnalysisResult
from cimkit.analysis.zoning._pieces import shared_limits
from cimkit.analysis.zoning.capacity import compute_buildable_capacity
from cimkit.analysis.zoning.compliance import _RULES, RULE_TABLE, check_compliance

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["ZoningResult", "assess"]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, kw_only=True)
class ZoningResult(AnalysisResult):
    """The result of :func:`assess`: where each building stands and what the PLU allows there.

    Attributes
    ----------
    buildings
        One row per building (the model's building ids): the links ``parcel_id``,
        ``parcel_share``, ``crosses_parcels``, ``access_node`` and ``access_distance_m`` (nearest
        road node to the footprint's centroid, m), ``water_pipe_id`` and
        ``water_pipe_distance_m`` (nearest water main to the footprint, m), then the columns of
        :func:`~cimkit.analysis.zoning.check_compliance` (``zone_id``, ``libelle``, measures,
        limits, verdicts, ``n_failed``, ``n_unknown``, ``compliant``), what the building stands
        on (``parcels``, ``n_parcels``, ``straddle_share``, ``check_manually``, ``zoning_note``:
        a building over several parcels is judged on their union, or left to a manual check with
        ``compliant`` NA), how its road frontage was found (``frontage_source``,
        ``road_setback_note``) and ``failed_rules`` (the rules broken, comma-separated; empty
        when none).
    parcels
        One row per parcel: the buildable capacity of
        :func:`~cimkit.analysis.zoning.compute_buildable_capacity`.
    zones
        One row per PLU zone (every zone of the model): ``libelle``, ``typezone``, ``area_m2``,
        ``parcels``, ``buildings``, ``compliant_buildings``, ``non_compliant_buildings``,
        ``not_fully_checked_buildings``, ``check_manually_buildings`` (counts; a building counts
        in the zone of its largest parcel),
        ``footprint_m2``, ``remaining_footprint_m2``, ``capacity_gfa_m2`` and ``additional_gfa_m2`` (sums over
        the zone's parcels).
    city
        Town totals: ``buildings``, ``ifc_buildings`` (those whose ``source_kind`` is ``"ifc"``,
        see :func:`cimkit.merge_buildings`), ``compliant_buildings``, ``non_compliant_buildings``,
        ``not_fully_checked_buildings``, ``buildings_crossing_parcels``,
        ``buildings_on_several_parcels`` (the same count, parcels holding at least ``min_share``),
        ``buildings_check_manually``, ``buildings_on_no_parcel``, ``parcels``, ``zones``, ``median_access_distance_m``,
        ``footprint_m2``, ``remaining_footprint_m2``, ``capacity_gfa_m2`` and ``additional_gfa_m2``.
    caveats
        What the numbers cannot know (rules transcribed from the regulation, the green ratio's
        upper bound, how road frontages were found, the capacity's upper estimate ...).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.zoning import ZoningResult
    >>> result = ZoningResult(city=pd.Series({"buildings": 3, "non_compliant_buildings": 1}))
    >>> int(result.city["non_compliant_buildings"]), result.parcels.empty
    (1, True)
    """

    parcels: pd.DataFrame = field(default_factory=_empty_frame)


def _links(
    model: Any, buildings: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame, min_share: float
) -> pd.DataFrame:
    """Parcel, nearest road node and nearest water main of each building."""
    to_parcel = link_buildings_to_parcels(buildings, parcels, min_share=min_share)
    links = to_parcel[["parcel_id", "parcel_share", "crosses_parcels"]].copy()
    links["access_node"] = pd.Series(pd.NA, index=buildings.index, dtype="object")
    links["access_distance_m"] = np.nan
    links["water_pipe_id"] = pd.Series(pd.NA, index=buildings.index, dtype="object")
    links["water_pipe_distance_m"] = np.nan
    if "road" in model.networks:
        centroids = gpd.GeoSeries(shapely.centroid(buildings.geometry.to_numpy()), index=buildings.index)
        access = find_nearest(
            centroids.set_crs(buildings.crs), model.network("road").nodes, name="access_node"
        )
        links["access_node"] = access["access_node"]
        links["access_distance_m"] = access["distance_m"]
    if "water" in model.networks:
        pipes = find_nearest(buildings, model.network("water").edges, name="water_pipe_id")
        links["water_pipe_id"] = pipes["water_pipe_id"]
        links["water_pipe_distance_m"] = pipes["distance_m"]
    return links


def _failed_rules(compliance: pd.DataFrame) -> pd.Series:
    """List the rules each building breaks, as ``"height, road setback"`` ("" when none)."""
    failed = {
        rule: compliance[verdict].eq(False).fillna(False).to_numpy(dtype=bool)
        for rule, _, _, verdict in RULE_TABLE
    }
    names = [
        ", ".join(rule.replace("_", " ") for rule in failed if failed[rule][i])
        for i in range(len(compliance))
    ]
    return pd.Series(names, index=compliance.index, dtype="object")


def _zone_summary(zones: gpd.GeoDataFrame, table: pd.DataFrame, capacity: pd.DataFrame) -> pd.DataFrame:
    """Count buildings and sum capacities per zone, on every zone of the model."""
    out = pd.DataFrame(index=zones.index.copy())
    for col in ("libelle", "typezone"):
        if col in zones.columns:
            out[col] = zones[col].to_numpy()
    out["area_m2"] = shapely.area(zones.geometry.to_numpy())
    out["parcels"] = capacity.groupby("zone_id").size().reindex(zones.index, fill_value=0).astype("int64")
    flags = pd.DataFrame(
        {
            "buildings": 1,
            "compliant_buildings": table["compliant"].eq(True).fillna(False).astype("int64"),
            "non_compliant_buildings": table["compliant"].eq(False).fillna(False).astype("int64"),
            "not_fully_checked_buildings": (table["n_unknown"] > 0).astype("int64"),
            "check_manually_buildings": table["check_manually"].astype("int64"),
        },
        index=table.index,
    )
    counts = flags.groupby(table["zone_id"]).sum().reindex(zones.index, fill_value=0).astype("int64")
    sums = capacity.groupby("zone_id")[
        ["footprint_m2", "remaining_footprint_m2", "capacity_gfa_m2", "additional_gfa_m2"]
    ].sum(min_count=1)
    out = out.join(counts).join(sums.reindex(zones.index))
    # a zone without parcels has nothing built and nothing left; NaN stays for a zone without rules
    out.loc[out["parcels"] == 0, list(sums.columns)] = 0.0
    out["footprint_m2"] = out["footprint_m2"].fillna(0.0)
    return out


def _caveats(
    table: pd.DataFrame, zones: gpd.GeoDataFrame, roads: Any, road_source: str, road_max_distance_m: float
) -> list[str]:
    """Plain sentences on what the zoning numbers cannot know."""
    caveats = [
        "The rules come from the zone rules table transcribed from the PLU regulation; the "
        "regulation's text is the authority.",
        "The green ratio is an upper bound (paved areas are not known): a pass means 'as far as the "
        "footprints show'.",
        "Construction on a side limit, which many PLUs allow under conditions, is not modelled: it "
        "fails the side setback check.",
        "The buildable capacity is the best storey count times the footprint the footprint ratio, the "
        "green share and the setback envelope allow (docs/scenarios.md); the additional floor area "
        "subtracts the existing buildings' floor area and assumes the parcel may be rebuilt.",
    ]
    if roads is None:
        caveats.append(
            "Without a road layer, every part of a parcel boundary not shared with another parcel "
            "counts as road frontage (a boundary on a private path, a railway or a river too); "
            "each building's 'road_setback_note' says how its frontage was found."
        )
    else:
        caveats.append(
            f"Road frontages are the unshared parcel boundaries within {road_max_distance_m:g} m of "
            f"{road_source}; each building's 'road_setback_note' says how its frontage was found."
        )
    no_front = int((table["frontage_source"] == "none").sum())
    if no_front:
        caveats.append(
            f"{no_front} building(s) stand on land with no road frontage found: their road setback is "
            "unknown (a road layer that misses their street, or a parcel reached through another one)."
        )
    several = table["n_parcels"] > 1
    judged = int((several & ~table["check_manually"]).sum())
    if judged:
        caveats.append(
            f"{judged} building(s) stand on several parcels: their footprint ratio, setbacks and green "
            "share are judged on the union of those parcels (the unité foncière), assumed to be "
            "contiguous and to belong to one owner; 'zoning_note' names the parcels."
        )
    manual = table.index[table["check_manually"].to_numpy(dtype=bool)]
    if len(manual):
        shown = ", ".join(str(b) for b in manual[:10]) + (" ..." if len(manual) > 10 else "")
        caveats.append(
            f"{len(manual)} building(s) must be checked manually ({shown}): their parcels lie in zones "
            "with different rules, have different owners or are not contiguous, so 'compliant' is "
            "left unknown; 'zoning_note' gives the reason."
        )
    unknown = int((table["n_unknown"] > 0).sum())
    if unknown:
        caveats.append(
            f"{unknown} building(s) could not be fully checked (a missing height, use, parcel or rule "
            "leaves a check unknown); 'compliant' means that no check that could be made failed."
        )
    off_parcel = int(table["parcel_id"].isna().sum())
    if off_parcel:
        caveats.append(
            f"{off_parcel} building(s) stand on no parcel: their zone is the one under their footprint "
            "and their CES, setback and green checks are unknown."
        )
    rule_columns = [c for c in _RULES if c in zones.columns]
    no_rule = int(zones[rule_columns].isna().all(axis=1).sum()) if rule_columns else len(zones)
    if no_rule:
        caveats.append(f"{no_rule} zone(s) have no rule in the table; their buildings' checks are unknown.")
    return caveats


def assess(
    model: CityModel,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    storey_height_m: float = 3.0,
    use_column: str = "use",
    limit_tolerance_m: float = 0.5,
    road_max_distance_m: float = 20.0,
    tolerance_m: float = 0.01,
    min_share: float = 0.01,
    owner_column: str | None = "owner",
) -> ZoningResult:
    """Assess a city model against its PLU: links, compliance per building, capacity per parcel.

    Links each building to its parcel (largest overlap), its nearest road node and water main
    (when the model has those networks), checks it against the rules of its zone with
    :func:`~cimkit.analysis.zoning.check_compliance`, computes each parcel's
    :func:`~cimkit.analysis.zoning.compute_buildable_capacity`, and sums both per zone and
    for the town.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel` with ``buildings``, ``parcels`` and ``zones`` (the
        zones with their rules, from ``read_zoning(..., rules=...)``).
    roads
        Road lines that identify the parcels' road frontages. None: the edges of the model's
        ``road`` network when it has one, else every unshared parcel boundary is frontage.
    storey_height_m
        Storey height (m) that turns the height limit into a number of floors.
    use_column
        Column of the buildings holding their use (compared with the zone's allowed uses).
    limit_tolerance_m
        Boundary parts within this distance (m) of a neighbouring parcel are side limits.
    road_max_distance_m
        Largest distance (m) from a road line of a frontage.
    tolerance_m
        Measuring tolerance (m) of the height and setback checks.
    min_share
        A parcel counts as one a building stands on when it holds at least this share of its
        footprint (0-1); a building on several is judged on their union.
    owner_column
        Column of the parcels holding the owner (used when present): a building whose parcels
        have different owners is left to a manual check.

    Returns
    -------
    ZoningResult
        ``.buildings``, ``.parcels``, ``.zones``, ``.city`` and ``.caveats`` (see
        :class:`ZoningResult`).

    Raises
    ------
    LayerNotFoundError
        The model has no ``buildings``, ``parcels`` or ``zones`` layer.
    InputError
        The zones carry no rule column, or an option is out of range.

    Examples
    --------
    >>> from cimkit.analysis import zoning
    >>> from cimkit.datasets import load_sample_city
    >>> result = zoning.assess(load_sample_city(with_ifc=False))
    >>> result.city[["buildings", "compliant_buildings", "non_compliant_buildings"]].astype(int).tolist()
    [43, 41, 2]
    >>> result.buildings.loc[result.buildings["compliant"].eq(False), ["libelle", "failed_rules"]]  # doctest: +NORMALIZE_WHITESPACE
                libelle     failed_rules
    building_id
    BATI0005         UB           height
    BATI0030         UA  footprint ratio
    >>> round(float(result.city["additional_gfa_m2"]))
    796439
    """
    buildings, parcels, zones = model["buildings"], model["parcels"], model["zones"]
    road_source = "the road lines given"
    if roads is None and "road" in model.networks:
        roads = model.network("road").edges
        road_source = "the model's road network"
    links = _links(model, buildings, parcels, min_share)
    with shared_limits():  # the compliance check and the capacity share the parcels' limits
        compliance = check_compliance(
            buildings,
            parcels,
            zones,
            roads=roads,
            use_column=use_column,
            limit_tolerance_m=limit_tolerance_m,
            road_max_distance_m=road_max_distance_m,
            tolerance_m=tolerance_m,
            min_share=min_share,
            owner_column=owner_column,
        )
        table = links.join(compliance.drop(columns=["parcel_id"]))
        table["failed_rules"] = _failed_rules(compliance)
        capacity = compute_buildable_capacity(
            buildings,
            parcels,
            zones,
            roads=roads,
            prescriptions=model["prescriptions"] if "prescriptions" in model else None,
            storey_height_m=storey_height_m,
            limit_tolerance_m=limit_tolerance_m,
            road_max_distance_m=road_max_distance_m,
        )
    kinds = buildings["source_kind"] if "source_kind" in buildings.columns else pd.Series(dtype="object")
    city = {
        "buildings": float(len(table)),
        "ifc_buildings": float((kinds == "ifc").sum()),
        "compliant_buildings": float(table["compliant"].eq(True).fillna(False).sum()),
        "non_compliant_buildings": float(table["compliant"].eq(False).fillna(False).sum()),
        "not_fully_checked_buildings": float((table["n_unknown"] > 0).sum()),
        "buildings_crossing_parcels": float(table["crosses_parcels"].sum()),
        "buildings_on_several_parcels": float((table["n_parcels"] > 1).sum()),
        "buildings_check_manually": float(table["check_manually"].sum()),
        "buildings_on_no_parcel": float(table["parcel_id"].isna().sum()),
        "parcels": float(len(parcels)),
        "zones": float(len(zones)),
        "median_access_distance_m": float(table["access_distance_m"].median()),
        "footprint_m2": float(capacity["footprint_m2"].sum()),
        "remaining_footprint_m2": float(capacity["remaining_footprint_m2"].sum()),
        "capacity_gfa_m2": float(capacity["capacity_gfa_m2"].sum()),
        "additional_gfa_m2": float(capacity["additional_gfa_m2"].sum()),
    }
    return ZoningResult(
        buildings=table,
        parcels=capacity,
        zones=_zone_summary(zones, table, capacity),
        city=pd.Series(city, name="zoning"),
        caveats=tuple(_caveats(table, zones, roads, road_source, road_max_distance_m)),
    )
