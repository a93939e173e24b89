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

from cimkit.analysis.zoning import (
    check_compliance,
    compute_buildable_capacity,
    compute_parcel_limits,
    summarise_compliance,
)
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


def test_compute_parcel_limits_split_shared_and_unshared_boundary(scene):
    _, parcels, _ = scene
    limits = compute_parcel_limits(parcels)
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
    # CES: P1 = (140 + 16) / 600 = 0.26; P2 = (308 + 8) / 600 = 0.526667; P3 = 100 / 800 = 0.125;
    # B4 stands on P1 and P2 (2/3 and 1/3 of it): judged on their union box(0, 0, 40, 30),
    # (140 + 308 + 24) / 1200 = 0.393333
    np.testing.assert_allclose(result["ces"], [0.26, 316 / 600, 0.125, 472 / 1200])
    np.testing.assert_allclose(result["parcel_area_m2"], [600, 600, 800, 1200])
    assert result["parcels"].tolist() == ["P1", "P2", "P3", "P1;P2"]
    assert result["n_parcels"].tolist() == [1, 1, 1, 2]
    np.testing.assert_allclose(result["straddle_share"], [0, 0, 0, 1 / 3], atol=1e-12)
    assert not result["check_manually"].any()
    assert result.loc["B4", "zoning_note"].startswith(
        "stands on 2 parcels (P1;P2), 33% of its footprint outside"
    )
    assert "judged on their union (unité foncière" in result.loc["B4", "zoning_note"]
    assert (result.loc[["B1", "B2", "B3"], "zoning_note"] == "").all()
    assert list(result["ces_ok"]) == [True, False, True, True]
    # heights against 9 m; B3 unknown
    assert result["height_ok"].tolist() == [True, False, pd.NA, True]

    # road setback = distance to the parcel's frontage:
    # B1: south edge y=0 -> 6; B2: min(south 3, east 40-36=4) = 3; B3: P3 frontage north y=50 -> 5,
    # east x=40 -> 20: 5; B4: to the union's frontage, south y=0 -> 24, east x=40 -> 18: 18
    np.testing.assert_allclose(result["road_setback_m"], [6, 3, 5, 18], atol=1e-6)
    # no road layer: every unshared boundary is assumed to face a road, stated per building
    assert (result["frontage_source"] == "unshared_boundary").all()
    assert result.loc["B1", "road_setback_note"].startswith(
        "road frontage assumed: the parcel boundary not shared"
    )
    assert list(result["road_setback_ok"]) == [True, False, True, True]

    # side setback: B1 min(west 4, east 6, north 10) = 4, required max(0.5x8, 3) = 4 -> ok;
    # B2 min(west 2, north 5) = 2, required max(6, 3) = 6 -> fail;
    # B3 min(south 5, west 10) = 5, required unknown (H unknown and the ratio applies) -> NA;
    # B4: x=20 is inside its union; the union's side limits are x=0 (P0) and y=30 (P3): north 2,
    # required max(2, 3) = 3 -> fail
    np.testing.assert_allclose(result["side_setback_m"], [4, 2, 5, 2], atol=1e-6)
    np.testing.assert_allclose(result["side_setback_required_m"], [4, 6, np.nan, 3])
    assert result["side_setback_ok"].tolist() == [True, False, pd.NA, False]

    # green upper bound = 1 - CES: 0.74, 0.47333, 0.875, 0.60667, all >= 0.3
    np.testing.assert_allclose(result["green_ratio_upper"], [0.74, 1 - 316 / 600, 0.875, 1 - 472 / 1200])
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


def test_compute_buildable_capacity_hand_computed(scene):
    buildings, parcels, zones = scene
    with pytest.warns(UserWarning, match="1 building"):  # B3 has no height: one storey assumed
        cap = compute_buildable_capacity(buildings, parcels, zones)
    # (the former values, CES x area x floors, ignored setbacks, the green share and the existing
    # storeys; docs/scenarios.md has the conventions). Storeys k = 1..3 (H = 3, 6, 9 m), side
    # setback s = max(3, H/2) = 3, 3, 4.5 m; road setback 5 m from the frontage; CES 0.4.
    # P0 (20 x 50, frontage W/N/S, side E): envelope 15 - s wide x 40 = 480 / 420 > CES 400 -> 3 x 400
    # P1 (20 x 30, frontage S): 14 x 22 = 308 > 240 (k 1, 2); k 3: 11 x 20.5 = 225.5 -> 3 x 225.5 = 676.5
    # P2 (20 x 30, frontage S/E, side W/N): 12 x 22 = 264 > 240; k 3: 10.5 x 20.5 = 215.25 -> 645.75
    # P3 (40 x 20, frontage N/E, side S/W): 32 x 12 = 384 > 320; k 3: 30.5 x 10.5 = 320.25 > 320 -> 960
    np.testing.assert_allclose(cap["footprint_m2"], [0, 156, 316, 100])
    assert (cap["max_storeys"] == 3).all() and (cap["best_storeys"] == 3).all()
    np.testing.assert_allclose(cap["envelope_m2"], [420, 225.5, 215.25, 320.25], rtol=1e-6)
    np.testing.assert_allclose(cap["capacity_gfa_m2"], [1200, 676.5, 645.75, 960], rtol=1e-6)
    assert cap["binding_rule"].tolist() == ["footprint_ratio", "envelope", "envelope", "footprint_ratio"]
    # remaining footprint = allowed - built: 400, 225.5 - 156, 215.25 - 316 < 0, 320 - 100
    np.testing.assert_allclose(cap["remaining_footprint_m2"], [400, 69.5, 0, 220], rtol=1e-6)
    # existing floor area: B1 140 m2 x round(8 / 3) = 3 storeys + 16 m2 of B4 x round(4 / 3) = 1
    # on P1; B2 308 x round(12 / 3) = 4 + 8 of B4 on P2; B3 100 x 1 (no height) on P3
    np.testing.assert_allclose(cap["existing_gfa_m2"], [0, 436, 1240, 100])
    np.testing.assert_allclose(cap["additional_gfa_m2"], [1200, 240.5, 0, 860], rtol=1e-6)


def test_missing_rules_are_unknown_not_passed(scene):
    buildings, parcels, zones = scene
    zones = zones.assign(max_height_m=np.nan)
    result = check_compliance(buildings, parcels, zones)
    assert result["height_ok"].isna().all()
    with pytest.raises(InputError, match="rule columns"):
        check_compliance(buildings, parcels, zones[["libelle", "geometry"]])


def test_sample_city_compliance(sample_city_dir):
    from cimkit.io.plu import read_zoning
    from cimkit.io.vector import read_buildings, read_layer, read_parcels

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
    cap = compute_buildable_capacity(footprints, parcels, zones)
    assert cap.loc["91999000AL0007", "remaining_footprint_m2"] == 0.0


def test_summarise_compliance_long_form(scene):
    buildings, parcels, zones = scene
    long = summarise_compliance(check_compliance(buildings, parcels, zones))
    assert len(long) == 4 * 6  # 4 buildings x 6 rules
    b2 = long[long["building_id"] == "B2"].set_index("rule")
    assert b2.loc["height", "measured"] == 12.0 and b2.loc["height", "limit"] == 9.0
    assert not b2.loc["height", "passed"]
    # B2 fails height, CES, road, side and use; only the green ratio passes
    assert b2["passed"].tolist() == [False, False, False, False, True, False]
    with pytest.raises(InputError, match="check_compliance"):
        summarise_compliance(buildings)


def _scene_model(scene):
    from cimkit.model import CityModel

    buildings, parcels, zones = scene
    model = CityModel(CRS)
    for name, layer in (("buildings", buildings), ("parcels", parcels), ("zones", zones)):
        model.add_layer(name, layer)
    return model


def test_assess_hand_computed_scene(scene):
    from cimkit.analysis.zoning import ZoningResult, assess

    result = assess(_scene_model(scene))
    assert isinstance(result, ZoningResult)
    b = result.buildings
    # the same verdicts as check_compliance on the scene (hand-computed above)
    assert b["parcel_id"].tolist() == ["P1", "P2", "P3", "P1"]
    assert list(b["n_failed"]) == [0, 5, 0, 1]
    assert list(b["compliant"]) == [True, False, True, False]
    np.testing.assert_allclose(b["road_setback_m"], [6, 3, 5, 18], atol=1e-6)
    assert b["failed_rules"].tolist() == [
        "",
        "height, footprint ratio, road setback, side setback, use",
        "",
        "side setback",
    ]
    # no road or water network in the model: no access links
    assert b["access_node"].isna().all() and b["water_pipe_distance_m"].isna().all()
    # capacity per parcel (hand-computed in test_compute_buildable_capacity_hand_computed)
    np.testing.assert_allclose(result.parcels["additional_gfa_m2"], [1200, 240.5, 0, 860], rtol=1e-6)
    zone = result.zones.loc[7]
    assert (zone["libelle"], zone["parcels"], zone["buildings"]) == ("UA", 4, 4)
    assert (
        zone["compliant_buildings"],
        zone["non_compliant_buildings"],
        zone["not_fully_checked_buildings"],
    ) == (
        2,
        2,
        1,
    )
    # footprint per parcel 0 + 156 + 316 + 100; remaining 400 + 69.5 + 0 + 220; additional
    # 1200 + 240.5 + 0 + 860 (test_compute_buildable_capacity_hand_computed)
    assert zone["footprint_m2"] == pytest.approx(572.0)
    assert zone["remaining_footprint_m2"] == pytest.approx(689.5)
    assert zone["additional_gfa_m2"] == pytest.approx(2300.5)
    assert zone["area_m2"] == pytest.approx(80 * 70)
    city = result.city
    assert city[["buildings", "compliant_buildings", "non_compliant_buildings"]].tolist() == [4, 2, 2]
    assert city["not_fully_checked_buildings"] == 1 and city["buildings_on_no_parcel"] == 0
    assert city["additional_gfa_m2"] == pytest.approx(2300.5)
    assert np.isnan(city["median_access_distance_m"])
    assert any("Without a road layer" in c for c in result.caveats)
    assert any(c.startswith("1 building(s) could not be fully checked") for c in result.caveats)


def test_assess_with_roads_and_storey_height(scene):
    from cimkit.analysis.zoning import assess

    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 30, Y0 - 5), (X0 + 50, Y0 - 5)])], crs=CRS)
    result = assess(_scene_model(scene), roads=road, road_max_distance_m=10.0, storey_height_m=4.5)
    # as in test_check_compliance_with_roads_restricts_frontage: P3 has no frontage
    assert np.isnan(result.buildings.loc["B3", "road_setback_m"])
    # floor(9 / 4.5) = 2 storeys (H = 4.5, 9; side setback 3, 4.5 m). P0: CES 400 binds (its
    # envelope is over 400 m2) -> 800. P1 (frontage S): 308 -> 240, then 11 x 20.5 = 225.5 -> 451,
    # minus B1 140 x round(8 / 4.5) = 2 storeys and B4's 16 m2 x 1 = 296 -> 155. P2: at most 2 x 240
    # < existing 924 + 8 -> 0. P3 has no frontage: all limits side, 31 x 11 = 341 > CES 320 -> 640,
    # minus B3's 100 -> 540.
    np.testing.assert_allclose(result.parcels["additional_gfa_m2"], [800, 155, 0, 540], rtol=1e-6)
    assert result.parcels["frontage_found"].tolist() == [True, True, True, False]
    assert any("within 10 m of the road lines given" in c for c in result.caveats)


def test_assess_needs_the_layers(scene):
    from cimkit.analysis.zoning import assess
    from cimkit.errors import LayerNotFoundError

    model = _scene_model(scene)
    model.remove("zones")
    with pytest.raises(LayerNotFoundError, match="zones"):
        assess(model)


def test_assess_sample_city():
    """Links, compliance and capacity of the sample city (footprints only), with independent truths."""
    import warnings

    from cimkit.analysis.zoning import assess
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
    result = assess(model)
    b = result.buildings
    assert len(b) == 43 and b.index.equals(model.buildings.index)
    # the README's two deliberate defects, and nothing else
    broken = b.loc[~b["compliant"], ["libelle", "failed_rules"]]
    assert broken.to_dict("index") == {
        "BATI0005": {"libelle": "UB", "failed_rules": "height"},
        "BATI0030": {"libelle": "UA", "failed_rules": "footprint ratio"},
    }
    assert result.city[["buildings", "compliant_buildings", "non_compliant_buildings"]].tolist() == [
        43,
        41,
        2,
    ]
    assert result.city["ifc_buildings"] == 0  # every building is a cadastre footprint here
    # access node and water main: brute force over every node and every pipe
    nodes = model.network("road").nodes
    centroids = shapely.centroid(model.buildings.geometry.to_numpy())
    d_nodes = shapely.distance(centroids[:, None], nodes.geometry.to_numpy()[None, :])
    np.testing.assert_allclose(b["access_distance_m"], d_nodes.min(axis=1))
    assert (b["access_node"].to_numpy() == nodes.index.to_numpy()[d_nodes.argmin(axis=1)]).all()
    assert result.city["median_access_distance_m"] == pytest.approx(np.median(d_nodes.min(axis=1)))
    pipes = model.network("water").edges
    d_pipes = shapely.distance(
        model.buildings.geometry.to_numpy()[:, None], pipes.geometry.to_numpy()[None, :]
    )
    np.testing.assert_allclose(b["water_pipe_distance_m"], d_pipes.min(axis=1))
    # per-zone sums equal the parcels' capacity grouped by zone; the city total is their sum
    by_zone = result.parcels.groupby("zone_id")["additional_gfa_m2"].sum()
    np.testing.assert_allclose(result.zones["additional_gfa_m2"].reindex(by_zone.index), by_zone)
    assert result.city["additional_gfa_m2"] == pytest.approx(result.parcels["additional_gfa_m2"].sum())
    assert result.zones["buildings"].sum() == 43
    assert result.zones.set_index("libelle").loc["UB", ["buildings", "non_compliant_buildings"]].tolist() == [
        18,
        1,
    ]
    # AL0007 (UA, CES max 0.70) is full
    assert result.parcels.loc["91999000AL0007", "remaining_footprint_m2"] == 0.0


def test_assess_sample_city_with_ifc():
    """The demo's numbers on the full sample city (IFC buildings merged with the footprints)."""
    import warnings

    from cimkit.analysis.zoning import assess
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city()
    result = assess(model)
    city = result.city
    assert city[
        ["buildings", "ifc_buildings", "compliant_buildings", "non_compliant_buildings"]
    ].tolist() == [
        43,
        11,
        41,
        2,
    ]
    assert (city["parcels"], city["zones"], city["buildings_crossing_parcels"]) == (97, 7, 0)
    # Résidence Victor Hugo is now its IFC model: 5 storeys of 3 m from the ground floor (RDC at
    # 0.0, R+4 at 12.0), roof top 15.0 m above the ground floor (the 0.2 m slab below it no longer
    # counts in height_m) in UB (limit 12 m)
    broken = result.buildings.loc[result.buildings["compliant"].eq(False)]
    hugo = broken.loc[model.buildings.loc[broken.index, "name"].eq("Résidence Victor Hugo").to_numpy()]
    assert len(hugo) == 1 and hugo["failed_rules"].iloc[0] == "height"
    assert (hugo["height_m"].iloc[0], hugo["max_height_m"].iloc[0]) == pytest.approx((15.0, 12.0), abs=0.01)
    assert broken.loc["BATI0030", "failed_rules"] == "footprint ratio"
    # the capacity with the IFC footprints in place of the cadastre's
    # (formerly 797567.32 m2: CES x area x floors, without setbacks, green share or existing storeys)
    assert city["additional_gfa_m2"] == pytest.approx(796423.02, abs=0.01)
