"""Zoning compliance on a hand-made scene whose every value was computed by hand.

Scene (EPSG:2154, metres, local origin (650000, 6860000) added below)::

    y=50 +---------+-------------------+
         |         |        P3         |      P0 = box(-20, 0, 0, 50)   area 1000
         |   P0    |   B3 (no height)  |      P1 = box(0, 0, 20, 30)    area 600
    y=30 |         +---------+---------+      P2 = box(20, 0, 40, 30)   area 600
         |         | P1  B4==|==  P2   |      P3 = box(0, 30, 40, 50)   area 800
         |         |  B1     |   B2    |
    y=0  +---------+---------+---------+
                  road (south, not a parcel)

One zone "UA" covers everything: max height 9 m, CES 0.4, road setback 5 m, side setback
max(0.5 x H, 3 m), green 0.3, uses housing;office.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.zoning import buildable_capacity, check_compliance, compliance_table, parcel_limits
from cimkit.errors import InputError

X0, Y0 = 650_000.0, 6_860_000.0
CRS = "EPSG:2154"


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


@pytest.fixture
def scene():
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["P0", "P1", "P2", "P3"]},
        geometry=[box(-20, 0, 0, 50), box(0, 0, 20, 30), box(20, 0, 40, 30), box(0, 30, 40, 50)],
        crs=CRS,
    ).set_index("parcel_id")
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4"],
            "height_m": [8.0, 12.0, np.nan, 4.0],
            "use": ["housing", "industry", None, "Housing"],
        },
        geometry=[box(4, 6, 14, 20), box(22, 3, 36, 25), box(10, 35, 20, 45), box(16, 24, 22, 28)],
        crs=CRS,
    ).set_index("building_id")
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [7],
            "libelle": ["UA"],
            "max_height_m": [9.0],
            "max_footprint_ratio": [0.4],
            "min_setback_road_m": [5.0],
            "min_setback_side_m": [3.0],
            "side_setback_height_ratio": [0.5],
            "min_green_ratio": [0.3],
            "allowed_uses": ["housing;office"],
        },
        geometry=[box(-30, -10, 50, 60)],
        crs=CRS,
    ).set_index("zone_id")
    return buildings, parcels, zones


def test_parcel_limits_split_shared_and_unshared_boundary(scene):
    _, parcels, _ = scene
    limits = parcel_limits(parcels)
    # P1: south edge y=0 is unshared (road), minus 0.5 m at each end claimed by the neighbours'
    # tolerance buffers (P0 at x=0, P2 at x=20): frontage length 20 - 2 x 0.5 = 19 m
    assert limits.geometry.length["P1"] == pytest.approx(19.0, abs=1e-3)
    # P1 perimeter 100 m = 19 m frontage + 81 m side limits
    assert limits["side_limits"].length["P1"] == pytest.approx(81.0, abs=1e-3)
    # P2: south edge 19.5 m (0.5 m near P1 removed) + east edge x=40 from y=0 to 29.5 (P3 corner
    # buffer takes 0.5 m) = 29.5 m: 49 m of frontage
    assert limits.geometry.length["P2"] == pytest.approx(49.0, abs=1e-3)


def test_check_compliance_hand_computed(scene):
    buildings, parcels, zones = scene
    result = check_compliance(buildings, parcels, zones)
    assert list(result.index) == ["B1", "B2", "B3", "B4"]
    assert list(result["parcel_id"]) == ["P1", "P2", "P3", "P1"]  # B4: 16 m² in P1, 8 m² in P2
    assert (result["zone_id"] == 7).all()
    assert (result["libelle"] == "UA").all()

    # footprints: B1 10x14=140, B2 14x22=308, B3 10x10=100, B4 6x4=24
    np.testing.assert_allclose(result["footprint_m2"], [140, 308, 100, 24])
    # CES: P1 = (140 + 16) / 600 = 0.26; P2 = (308 + 8) / 600 = 0.526667; P3 = 100 / 800 = 0.125
    np.testing.assert_allclose(result["ces"], [0.26, 316 / 600, 0.125, 0.26])
    assert list(result["ces_ok"]) == [True, False, True, True]
    # heights against 9 m; B3 unknown
    assert result["height_ok"].tolist() == [True, False, pd.NA, True]

    # road setback = distance to the parcel's frontage:
    # B1: south edge y=0 -> 6; B2: min(south 3, east 40-36=4) = 3; B3: P3 frontage north y=50 -> 5,
    # east x=40 -> 20: 5; B4: to P1's south edge -> 24
    np.testing.assert_allclose(result["road_setback_m"], [6, 3, 5, 24], atol=1e-6)
    assert list(result["road_setback_ok"]) == [True, False, True, True]

    # side setback: B1 min(west 4, east 6, north 10) = 4, required max(0.5x8, 3) = 4 -> ok;
    # B2 min(west 2, north 5) = 2, required max(6, 3) = 6 -> fail;
    # B3 min(south 5, west 10) = 5, required unknown (H unknown and the ratio applies) -> NA;
    # B4 crosses x=20 (a side limit) -> 0, required max(2, 3) = 3 -> fail
    np.testing.assert_allclose(result["side_setback_m"], [4, 2, 5, 0], atol=1e-6)
    np.testing.assert_allclose(result["side_setback_required_m"], [4, 6, np.nan, 3])
    assert result["side_setback_ok"].tolist() == [True, False, pd.NA, False]

    # green upper bound = 1 - CES: 0.74, 0.47333, 0.875, 0.74, all >= 0.3
    np.testing.assert_allclose(result["green_ratio_upper"], [0.74, 1 - 316 / 600, 0.875, 0.74])
    assert list(result["green_ok"]) == [True, True, True, True]

    # uses (case-insensitive): industry not allowed, B3 unknown
    assert result["use_ok"].tolist() == [True, False, pd.NA, True]

    # B1 passes all 6; B2 fails height, CES, road, side, use = 5; B3 unknown height, side, use;
    # B4 fails only the side setback
    assert list(result["n_failed"]) == [0, 5, 0, 1]
    assert list(result["n_unknown"]) == [0, 0, 3, 0]
    assert list(result["compliant"]) == [True, False, True, False]


def test_check_compliance_with_roads_restricts_frontage(scene):
    buildings, parcels, zones = scene
    # a road line along the south only: the east edge of P2 (x=40) is then a side limit
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 30, Y0 - 5), (X0 + 50, Y0 - 5)])], crs=CRS)
    result = check_compliance(buildings, parcels, zones, roads=road, road_max_distance_m=10.0)
    # B2: road setback = 3 (south edge); side = min(west 2, east 4, north 5) = 2
    assert result.loc["B2", "road_setback_m"] == pytest.approx(3.0)
    assert result.loc["B2", "side_setback_m"] == pytest.approx(2.0)
    # B3: P3 north edge (y=50) is 55 m from the road, so P3 has no frontage -> unknown
    assert np.isnan(result.loc["B3", "road_setback_m"])
    assert result["road_setback_ok"].isna()["B3"]


def test_buildable_capacity_hand_computed(scene):
    buildings, parcels, zones = scene
    cap = buildable_capacity(parcels, buildings, zones)
    # remaining = max(0, 0.4 x area - footprint): P0 400 - 0, P1 240 - 156 = 84, P2 240 - 316 < 0 -> 0,
    # P3 320 - 100 = 220; floors = floor(9 / 3) = 3
    np.testing.assert_allclose(cap["footprint_m2"], [0, 156, 316, 100])
    np.testing.assert_allclose(cap["remaining_footprint_m2"], [400, 84, 0, 220])
    assert (cap["max_floors"] == 3).all()
    np.testing.assert_allclose(cap["additional_floor_area_m2"], [1200, 252, 0, 660])


def test_missing_rules_are_unknown_not_passed(scene):
    buildings, parcels, zones = scene
    zones = zones.assign(max_height_m=np.nan)
    result = check_compliance(buildings, parcels, zones)
    assert result["height_ok"].isna().all()
    with pytest.raises(InputError, match="rule columns"):
        check_compliance(buildings, parcels, zones[["libelle", "geometry"]])


def test_sample_city_compliance(sample_city_dir):
    from cimkit.io.vector import read_buildings, read_layer, read_parcels, read_zoning

    zones = read_zoning(
        sample_city_dir / "zone_urba.geojson", rules=sample_city_dir / "zone_rules.csv", crs="EPSG:2154"
    )
    parcels = read_parcels(sample_city_dir / "parcels.geojson", crs="EPSG:2154")
    footprints = read_buildings(sample_city_dir / "footprints.geojson")
    streets = read_layer(sample_city_dir / "streets.geojson")
    result = check_compliance(footprints, parcels, zones, roads=streets)
    # the README's deliberate defects: Résidence Victor Hugo (15 m in UB, limit 12 m) on AE0002,
    # and parcel AL0007 (UA, CES max 0.70) about 78 % built
    hugo = result[result["parcel_id"] == "91999000AE0002"].iloc[0]
    assert (hugo["height_m"], hugo["max_height_m"], hugo["height_ok"]) == (15.0, 12.0, False)
    al7 = result[result["parcel_id"] == "91999000AL0007"].iloc[0]
    assert al7["ces"] == pytest.approx(0.78, abs=0.01) and not al7["ces_ok"]
    assert set(result.index[~result["compliant"]]) == {hugo.name, al7.name}
    cap = buildable_capacity(parcels, footprints, zones)
    assert cap.loc["91999000AL0007", "remaining_footprint_m2"] == 0.0


def test_compliance_table_long_form(scene):
    buildings, parcels, zones = scene
    long = compliance_table(check_compliance(buildings, parcels, zones))
    assert len(long) == 4 * 6  # 4 buildings x 6 rules
    b2 = long[long["building_id"] == "B2"].set_index("rule")
    assert b2.loc["height", "measured"] == 12.0 and b2.loc["height", "limit"] == 9.0
    assert not b2.loc["height", "passed"]
    # B2 fails height, CES, road, side and use; only the green ratio passes
    assert b2["passed"].tolist() == [False, False, False, False, True, False]
    with pytest.raises(InputError, match="check_compliance"):
        compliance_table(buildings)
