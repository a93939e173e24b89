"""Buildable capacity of parcels: what the zone's footprint and height rules still allow.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> parcels = gpd.GeoDataFrame(
...     {"parcel_id": ["P1"]}, geometry=[box(0, 0, 20, 30)], crs="EPSG:2154"
... ).set_index("parcel_id")
>>> buildings = gpd.GeoDataFrame(
...     {"building_id": ["B1"]}, geometry=[box(4, 6, 14, 20)], crs="EPSG:2154"
... ).set_index("building_id")
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": [1], "libelle": ["UA"], "max_height_m": [9.0], "max_footprint_ratio": [0.4]},
...     geometry=[box(-10, -10, 50, 50)],
...     crs="EPSG:2154",
... ).set_index("zone_id")
>>> float(compute_buildable_capacity(buildings, parcels, zones).loc["P1", "additional_floor_area_m2"])
300.0
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import _check_crs, compute_overlap_shares, link_parcels_to_zones
from cimkit.analysis.zoning.compliance import _rule_columns
from cimkit.errors import InputError

__all__ = ["compute_buildable_capacity"]


def compute_buildable_capacity(
    buildings: gpd.GeoDataFrame,
    parcels: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    storey_height_m: float = 3.0,
) -> pd.DataFrame:
    """Compute the remaining footprint and height envelope of each parcel under its zone's rules.

    Parameters
    ----------
    buildings
        Building footprints in a projected CRS (may be empty).
    parcels
        Parcels in the same CRS.
    zones
        Zones with rule columns (``max_footprint_ratio``, the CES, and ``max_height_m``).
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

    Raises
    ------
    InputError
        ``storey_height_m`` is not positive, or ``zones`` has no rule column.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> from cimkit.io.vector import read_buildings, read_parcels
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs="EPSG:2154")
    >>> parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    >>> footprints = read_buildings(folder / "footprints.geojson")
    >>> capacity = compute_buildable_capacity(footprints, parcels, zones)
    >>> al7 = capacity.loc["91999000AL0007"]
    >>> al7["libelle"], float(al7["max_footprint_ratio"]), round(float(al7["ces"]), 2), float(al7["remaining_footprint_m2"])
    ('UA', 0.7, 0.78, 0.0)
    >>> round(float(capacity["additional_floor_area_m2"].sum()))
    797570
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
        built = compute_overlap_shares(buildings, parcels).groupby("right_id")["overlap_m2"].sum()
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
