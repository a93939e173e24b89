"""Buildable capacity on hand-computed toy parcels: one test per rule (docs/scenarios.md).

The parcel P = box(0, 0, 20, 30) (600 m²) lies between W (west), E (east) and N (north); its
south edge faces the road (not a parcel), so the frontage is the south edge and the side limits
are the west, north and east edges. Its envelope for a road setback r and a side setback s is
the rectangle x in [s, 20 - s], y in [r, 30 - s]: (20 - 2s) x (30 - r - s). Storeys are 3 m.
Unless a test says otherwise: max height 9 m (3 storeys), CES 0.8 (480 m²), green share 0.1
(540 m²), road setback 5 m, side setback 3 m, no height ratio.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cimkit.analysis.zoning import compute_buildable_capacity
from cimkit.errors import InputError

X0, Y0 = 650_000.0, 6_860_000.0
CRS = "EPSG:2154"


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


PARCELS = gpd.GeoDataFrame(
    {"parcel_id": ["W", "P", "E", "N"]},
    geometry=[box(-20, 0, 0, 30), box(0, 0, 20, 30), box(20, 0, 40, 30), box(-20, 30, 40, 50)],
    crs=CRS,
).set_index("parcel_id")
NO_BUILDINGS = gpd.GeoDataFrame({"height_m": []}, geometry=[], crs=CRS)


def zones(**rules):
    values = {
        "max_height_m": 9.0,
        "max_footprint_ratio": 0.8,
        "min_green_ratio": 0.1,
        "min_setback_road_m": 5.0,
        "min_setback_side_m": 3.0,
        "side_setback_height_ratio": 0.0,
    }
    values.update(rules)
    return gpd.GeoDataFrame(
        {"zone_id": [1], "libelle": ["UB"], **{k: [v] for k, v in values.items()}},
        geometry=[box(-30, -10, 50, 60)],
        crs=CRS,
    ).set_index("zone_id")


def capacity_of_p(buildings=NO_BUILDINGS, **rules):
    return compute_buildable_capacity(buildings, PARCELS, zones(**rules)).loc["P"]


def test_footprint_ratio_binds():
    # CES 0.3 x 600 = 180 < green 540 < envelope 14 x 22 = 308: 3 storeys x 180 = 540
    p = capacity_of_p(max_footprint_ratio=0.3)
    assert p["envelope_m2"] == pytest.approx(308.0)
    assert p["allowed_footprint_m2"] == pytest.approx(180.0)
    assert (p["best_storeys"], p["capacity_gfa_m2"], p["binding_rule"]) == (
        3,
        pytest.approx(540.0),
        "footprint_ratio",
    )
    assert p["height_m"] == 9.0 and bool(p["height_binding"])  # a 4th storey would add 180 m²


def test_green_share_binds():
    # green 0.6: (1 - 0.6) x 600 = 240 < CES 480, < envelope 308: 3 x 240 = 720
    p = capacity_of_p(min_green_ratio=0.6)
    assert p["allowed_footprint_m2"] == pytest.approx(240.0)
    assert (p["capacity_gfa_m2"], p["binding_rule"]) == (pytest.approx(720.0), "green")


def test_road_setback_binds():
    # road 12 m, side 2 m: envelope (20 - 4) x (30 - 12 - 2) = 16 x 16 = 256 < 480, 540: 3 x 256 = 768
    p = capacity_of_p(min_setback_road_m=12.0, min_setback_side_m=2.0)
    assert p["envelope_m2"] == pytest.approx(256.0)
    assert (p["capacity_gfa_m2"], p["binding_rule"]) == (pytest.approx(768.0), "envelope")
    # the road setback applies to the frontage only: 12 m from the south edge, 2 m elsewhere
    assert capacity_of_p(min_setback_road_m=2.0, min_setback_side_m=2.0)["envelope_m2"] == pytest.approx(
        16 * 26
    )


def test_side_setback_binds():
    # road 1 m, side 6 m: envelope (20 - 12) x (30 - 1 - 6) = 8 x 23 = 184: 3 x 184 = 552
    p = capacity_of_p(min_setback_road_m=1.0, min_setback_side_m=6.0)
    assert p["envelope_m2"] == pytest.approx(184.0)
    assert (p["capacity_gfa_m2"], p["binding_rule"]) == (pytest.approx(552.0), "envelope")


def test_half_height_rule_binds():
    # side setback max(3, H/2), max height 15 m (5 storeys), road 5 m:
    # k=1 H=3  s=3   : 14 x 22   = 308   -> 1 x 308   = 308
    # k=2 H=6  s=3   : 14 x 22   = 308   -> 2 x 308   = 616
    # k=3 H=9  s=4.5 : 11 x 20.5 = 225.5 -> 3 x 225.5 = 676.5   <- best
    # k=4 H=12 s=6   :  8 x 19   = 152   -> 4 x 152   = 608
    # k=5 H=15 s=7.5 :  5 x 17.5 = 87.5  -> 5 x 87.5  = 437.5
    p = capacity_of_p(max_height_m=15.0, side_setback_height_ratio=0.5)
    assert (p["max_storeys"], p["best_storeys"]) == (5, 3)
    assert p["envelope_m2"] == pytest.approx(225.5)
    assert (p["capacity_gfa_m2"], p["binding_rule"]) == (pytest.approx(676.5), "envelope")
    assert not p["height_binding"]


def test_raising_the_height_gains_nothing_under_half_height():
    # the same parcel at 9, 15 and 21 m: always 3 storeys x 225.5 = 676.5 m² (k=6: s=9, 2 x 16 = 32
    # m² -> 192; k=7: s=10.5 leaves nothing); at 6 m: 2 x 308 = 616
    caps = [
        capacity_of_p(max_height_m=h, side_setback_height_ratio=0.5)["capacity_gfa_m2"]
        for h in (6, 9, 15, 21)
    ]
    np.testing.assert_allclose(caps, [616.0, 676.5, 676.5, 676.5])


def test_height_below_one_storey():
    p = capacity_of_p(max_height_m=2.0)
    assert (p["capacity_gfa_m2"], p["binding_rule"], p["max_storeys"]) == (0.0, "height", 0)


def test_existing_floor_area_is_subtracted():
    # a 10 x 10 building, 7 m high -> round(7 / 3) = 2 storeys = 200 m²; another with storeys=3
    # standing half on P (5 x 4 = 20 m² inside P) -> 60 m²; capacity 3 x 240 = 720 (green 0.6)
    buildings = gpd.GeoDataFrame(
        {"height_m": [7.0, np.nan], "storeys": [np.nan, 3]},
        geometry=[box(5, 8, 15, 18), box(15, 20, 25, 24)],
        crs=CRS,
    )
    p = capacity_of_p(buildings, min_green_ratio=0.6)
    assert p["existing_gfa_m2"] == pytest.approx(260.0)
    assert p["footprint_m2"] == pytest.approx(120.0)
    assert p["additional_gfa_m2"] == pytest.approx(720.0 - 260.0)
    assert p["remaining_footprint_m2"] == pytest.approx(240.0 - 120.0)


def test_prescriptions_and_mask_remove_land():
    # an espace boisé classé (01) over the north 10 m of P: land 20 x 20; the side setback keeps to
    # the parcel's limits: envelope x in [3, 17], y in [5, 20] = 14 x 15 = 210 (< CES 480)
    ebc = gpd.GeoDataFrame(
        {"typepsc": ["01", "07"]}, geometry=[box(0, 20, 20, 30), box(0, 0, 20, 30)], crs=CRS
    )
    cap = compute_buildable_capacity(NO_BUILDINGS, PARCELS, zones(), prescriptions=ebc)
    assert cap.loc["P", "excluded_m2"] == pytest.approx(200.0)  # type 07 (patrimoine) removes nothing
    assert cap.loc["P", "envelope_m2"] == pytest.approx(210.0)
    assert cap.loc["P", "capacity_gfa_m2"] == pytest.approx(630.0)
    # a user mask over the east half: x in [3, 10], y in [5, 27] = 7 x 22 = 154
    mask = gpd.GeoSeries([box(10, -5, 25, 35)], crs=CRS)
    cap = compute_buildable_capacity(NO_BUILDINGS, PARCELS, zones(), mask=mask)
    assert cap.loc["P", "envelope_m2"] == pytest.approx(154.0)
    with pytest.raises(InputError, match="typepsc"):
        compute_buildable_capacity(
            NO_BUILDINGS, PARCELS, zones(), prescriptions=ebc.rename(columns={"typepsc": "t"})
        )


def test_no_frontage_means_all_limits_are_side_limits():
    # a road line far away: no parcel has frontage, P's south edge becomes a side limit too:
    # envelope (20 - 6) x (30 - 6) = 14 x 24 = 336 (no road setback)
    road = gpd.GeoSeries([shapely.LineString([(X0 - 500, Y0 - 500), (X0 - 400, Y0 - 500)])], crs=CRS)
    cap = compute_buildable_capacity(NO_BUILDINGS, PARCELS, zones(), roads=road)
    assert not cap["frontage_found"].any()
    assert cap.loc["P", "envelope_m2"] == pytest.approx(336.0)


def test_missing_rules_and_options():
    cap = compute_buildable_capacity(NO_BUILDINGS, PARCELS, zones(max_height_m=np.nan))
    assert cap["capacity_gfa_m2"].isna().all() and cap["binding_rule"].isna().all()
    with pytest.raises(InputError, match="storey_height_m"):
        compute_buildable_capacity(NO_BUILDINGS, PARCELS, zones(), storey_height_m=0)


def test_storey_height_option():
    # 4.5 m storeys, 9 m: 2 storeys; CES 0.3 binds: 2 x 180 = 360
    cap = compute_buildable_capacity(
        NO_BUILDINGS, PARCELS, zones(max_footprint_ratio=0.3), storey_height_m=4.5
    )
    assert (cap.loc["P", "best_storeys"], cap.loc["P", "capacity_gfa_m2"]) == (2, pytest.approx(360.0))
