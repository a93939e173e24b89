"""Zoning on what a building really stands on: several parcels, their union, frontage notes.

Scene (EPSG:2154, metres, local origin (650000, 6860000) added below)::

    y=30 +------+----------------------+------+
         |  A   |          B           |  C   |     A = box(0, 0, 10, 30)   area 300
    y=20 |   +==|======== S ===========|==+   |     B = box(10, 0, 40, 30)  area 900
    y=10 |   +==|======================|==+   |     C = box(40, 0, 50, 30)  area 300
         | TA   |                      |  TC  |
    y=0  +------+----------------------+------+
                        road (south)

S = box(4, 10, 47, 20), 430 m²: 60 m² in A, 300 m² in B, 70 m² in C. TA = box(1, 1, 9, 9) and
TC = box(41, 1, 49, 9), 64 m² each. Zone rules: CES at most 0.35, height 9 m; no setback rule.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.zoning import check_compliance
from cimkit.errors import CoverageWarning, InputError

X0, Y0 = 650_000.0, 6_860_000.0
CRS = "EPSG:2154"


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _zones(*rows):
    """Zones from (zone_id, libelle, max CES, geometry) rows, height limit 9 m."""
    return gpd.GeoDataFrame(
        {
            "zone_id": [r[0] for r in rows],
            "libelle": [r[1] for r in rows],
            "max_height_m": [9.0] * len(rows),
            "max_footprint_ratio": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=CRS,
    ).set_index("zone_id")


@pytest.fixture
def three_parcels():
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["A", "B", "C"], "owner": ["Dupont", "Dupont", "Dupont"]},
        geometry=[box(0, 0, 10, 30), box(10, 0, 40, 30), box(40, 0, 50, 30)],
        crs=CRS,
    ).set_index("parcel_id")
    buildings = gpd.GeoDataFrame(
        {"building_id": ["S", "TA", "TC"], "height_m": [7.0, 3.0, 3.0]},
        geometry=[box(4, 10, 47, 20), box(1, 1, 9, 9), box(41, 1, 49, 9)],
        crs=CRS,
    ).set_index("building_id")
    zones = _zones((1, "UA", 0.35, box(-10, -10, 60, 40)))
    return buildings, parcels, zones


def test_building_on_three_parcels_is_judged_on_their_union(three_parcels):
    buildings, parcels, zones = three_parcels
    result = check_compliance(buildings, parcels, zones)
    s = result.loc["S"]
    assert s["parcel_id"] == "B"  # the largest part, 300 of 430 m²
    assert (s["parcels"], s["n_parcels"]) == ("B;C;A", 3)
    assert s["straddle_share"] == pytest.approx(130 / 430)  # 60 + 70 m² outside B
    # union A + B + C = 1500 m²; built inside it 430 + 64 + 64 = 558 m²: CES 0.372 > 0.35
    assert s["parcel_area_m2"] == pytest.approx(1500.0)
    assert s["ces"] == pytest.approx(558 / 1500)
    assert not s["ces_ok"] and not s["check_manually"]
    assert s["compliant"] is not pd.NA and not s["compliant"]
    assert "judged on their union (unité foncière" in s["zoning_note"]
    # TA and TC stand on one parcel each: A = (60 + 64) / 300, C = (70 + 64) / 300
    assert result.loc["TA", "ces"] == pytest.approx(124 / 300)
    assert result.loc["TC", "ces"] == pytest.approx(134 / 300)
    assert result.loc[["TA", "TC"], "n_parcels"].tolist() == [1, 1]
    # the largest parcel alone (what was judged before, and what min_share above every share
    # gives): B holds 300 of its 900 m² built, CES 0.3333 <= 0.35, "compliant"
    alone = check_compliance(buildings, parcels, zones, min_share=0.9).loc["S"]
    assert alone["n_parcels"] == 0 and alone["parcels"] == ""
    assert alone["ces"] == pytest.approx(300 / 900)
    assert alone["compliant"] is not pd.NA and alone["compliant"] and alone["zoning_note"] == ""


def test_union_setbacks_are_measured_from_the_union_boundary(three_parcels):
    buildings, parcels, zones = three_parcels
    zones = zones.assign(min_setback_road_m=5.0, min_setback_side_m=3.0)
    s = check_compliance(buildings, parcels, zones).loc["S"]
    # the union's boundary is box(0, 0, 50, 30), shared with no parcel: all of it is frontage,
    # so the road setback is min(south 10, north 10, west 4, east 3) = 3 and no side limit exists
    assert s["road_setback_m"] == pytest.approx(3.0)
    assert np.isnan(s["side_setback_m"]) and pd.isna(s["side_setback_ok"])
    assert s["frontage_source"] == "unshared_boundary"
    # with a road along y=-4 and 8 m of reach, the frontage is the union's boundary below y=4:
    # the south edge (10 m from S) and the ends of the west and east edges; the nearest is the
    # point (50, 4), sqrt(3² + 6²) = 6.708 m from S's corner (47, 10). The rest is side limits:
    # west x=0 at 4 m, east x=50 at 3 m, north y=30 at 10 m
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 5, Y0 - 4), (X0 + 55, Y0 - 4)])], crs=CRS)
    s = check_compliance(buildings, parcels, zones, roads=road, road_max_distance_m=8.0).loc["S"]
    assert s["road_setback_m"] == pytest.approx(45**0.5, abs=1e-6)
    assert s["side_setback_m"] == pytest.approx(3.0, abs=1e-6)
    assert s["frontage_source"] == "road_layer"
    assert s["road_setback_note"] == "road frontage: the unshared parcel boundary within 8 m of a road line"


def test_parcels_in_zones_with_different_rules_are_checked_manually(three_parcels):
    buildings, parcels, zones = three_parcels
    zones = _zones((1, "UA", 0.35, box(-10, -10, 40, 40)), (2, "UB", 0.5, box(40, -10, 60, 40)))
    with pytest.warns(CoverageWarning, match="1 of 3 buildings stand on several parcels"):
        result = check_compliance(buildings, parcels, zones)
    s = result.loc["S"]
    assert s["check_manually"] and pd.isna(s["compliant"])
    assert "check manually: its parcels lie in zones with different rules (UA, UB)" in s["zoning_note"]
    assert result.loc[["TA", "TC"], "compliant"].tolist() == [False, True]  # 124/300 > 0.35; 134/300 < 0.5
    # two zones with the same rules: the union is judged
    same = _zones((1, "UA", 0.35, box(-10, -10, 40, 40)), (2, "UA2", 0.35, box(40, -10, 60, 40)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)
        s = check_compliance(buildings, parcels, same).loc["S"]
    assert not s["check_manually"] and s["compliant"] is not pd.NA and not s["compliant"]


def test_parcels_with_different_owners_are_checked_manually(three_parcels):
    buildings, parcels, zones = three_parcels
    parcels = parcels.assign(owner=["Dupont", "Dupont", "Martin"])
    with pytest.warns(CoverageWarning):
        s = check_compliance(buildings, parcels, zones).loc["S"]
    assert s["check_manually"] and pd.isna(s["compliant"])
    assert s["zoning_note"].endswith("check manually: its parcels have 2 different owners")
    assert "Dupont" not in s["zoning_note"]  # owners are personal data: the note gives their count only
    # a missing owner is unknown, not a different owner; another column name can be given
    unknown = parcels.assign(owner=["Dupont", None, "Dupont"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)
        assert not check_compliance(buildings, unknown, zones).loc["S", "check_manually"]
        renamed = parcels.rename(columns={"owner": "proprietaire"})
        assert not check_compliance(buildings, renamed, zones).loc["S", "check_manually"]
    with pytest.warns(CoverageWarning):
        assert check_compliance(buildings, renamed, zones, owner_column="proprietaire").loc[
            "S", "check_manually"
        ]


def test_parcels_apart_are_checked_manually():
    # two parcels 2 m apart (a path between them) and a building over both
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["A", "D"]}, geometry=[box(0, 0, 10, 30), box(12, 0, 22, 30)], crs=CRS
    ).set_index("parcel_id")
    buildings = gpd.GeoDataFrame(
        {"building_id": ["X"], "height_m": [6.0]}, geometry=[box(5, 10, 17, 20)], crs=CRS
    ).set_index("building_id")
    zones = _zones((1, "UA", 0.35, box(-10, -10, 40, 40)))
    with pytest.warns(CoverageWarning):
        x = check_compliance(buildings, parcels, zones).loc["X"]
    assert x["check_manually"] and pd.isna(x["compliant"])
    assert "its parcels are not contiguous (more than 0.5 m apart)" in x["zoning_note"]
    # 2 m of the 12 m long building stands on the path: straddle = 1 - 50/120
    assert x["straddle_share"] == pytest.approx(70 / 120)
    with pytest.raises(InputError, match="min_share"):
        check_compliance(buildings, parcels, zones, min_share=1.0)


def test_frontage_is_stated_per_building(three_parcels):
    buildings, parcels, zones = three_parcels
    # a parcel N behind A, B and C, reached by no road: its only unshared boundary is far north
    parcels = pd.concat(
        [
            parcels,
            gpd.GeoDataFrame(
                {"owner": ["Dupont"]},
                geometry=[box(0, 30, 50, 60)],
                index=pd.Index(["N"], name="parcel_id"),
                crs=CRS,
            ),
        ]
    )
    far = gpd.GeoDataFrame(
        {"height_m": [3.0, 3.0]},
        geometry=[box(20, 40, 30, 50), box(80, 80, 85, 85)],
        index=pd.Index(["BN", "F"], name="building_id"),
        crs=CRS,
    )
    buildings = pd.concat([buildings, far])
    zones = zones.set_geometry([box(-10, -10, 100, 100)], crs=CRS)
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 5, Y0 - 4), (X0 + 55, Y0 - 4)])], crs=CRS)
    result = check_compliance(buildings, parcels, zones, roads=road, road_max_distance_m=8.0)
    assert result["frontage_source"].tolist() == [
        "road_layer",
        "road_layer",
        "road_layer",
        "none",
        "no_parcel",
    ]
    assert result.loc["BN", "road_setback_note"] == (
        "no road frontage: no unshared parcel boundary within 8 m of a road line, road setback unknown"
    )
    assert np.isnan(result.loc["BN", "road_setback_m"]) and pd.isna(result.loc["BN", "road_setback_ok"])
    # S's union (A, B, C) is now bounded by N to the north: a side limit 10 m away
    assert result.loc["S", "side_setback_m"] == pytest.approx(3.0)  # east x=50 is still the closest
    f = result.loc["F"]
    assert f["road_setback_note"] == "on no parcel: road setback unknown"
    assert (f["n_parcels"], f["parcels"]) == (0, "") and np.isnan(f["straddle_share"])
    # without roads the assumption is stated instead
    plain = check_compliance(buildings, parcels, zones)
    assert plain.loc["BN", "frontage_source"] == "unshared_boundary"
    assert plain.loc["BN", "road_setback_note"].startswith(
        "road frontage assumed: the parcel boundary not shared"
    )
    assert plain.loc["BN", "road_setback_m"] == pytest.approx(10.0)  # north edge y=60


def test_assess_counts_and_report_list_buildings_to_check_manually(three_parcels):
    from cimkit.analysis.zoning import assess
    from cimkit.model import CityModel
    from cimkit.viz import build_city_report

    buildings, parcels, zones = three_parcels
    zones = _zones((1, "UA", 0.35, box(-10, -10, 40, 40)), (2, "UB", 0.5, box(40, -10, 60, 40)))
    model = CityModel(CRS)
    for name, layer in (("buildings", buildings), ("parcels", parcels), ("zones", zones)):
        model.add_layer(name, layer)
    with pytest.warns(CoverageWarning):
        result = assess(model)
    b = result.buildings
    for col in ("parcels", "n_parcels", "straddle_share", "check_manually", "zoning_note", "frontage_source"):
        assert col in b.columns
    city = result.city
    assert (city["buildings_on_several_parcels"], city["buildings_check_manually"]) == (1, 1)
    # S is neither compliant nor non-compliant; TA fails its CES (124 / 300 > 0.35), TC passes
    assert (city["compliant_buildings"], city["non_compliant_buildings"]) == (1, 1)
    assert result.zones.loc[1, "check_manually_buildings"] == 1  # S counts in B's zone, UA
    assert any(c.startswith("1 building(s) must be checked manually (S)") for c in result.caveats)
    assert any("Without a road layer" in c and "road_setback_note" in c for c in result.caveats)
    text = build_city_report(model, zoning=result, audience="internal").to_markdown()
    assert "Buildings to check manually" in text
    assert "zones with different rules (UA, UB)" in text


@pytest.mark.shared_data
def test_bubenec_buildings_straddling_plots(shared_data):
    """Prague Bubeneč (OSM buildings on cadastral plots): straddling buildings, counted with geopandas."""
    from cimkit.io.vector import read_buildings, read_parcels

    path = shared_data / "prague_bubenec" / "bubenec.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Web Mercator stretches lengths by ~1.57 at 50° N: measure in UTM zone 33N
        buildings = read_buildings(path, layer="buildings").to_crs(32633)
        plots = read_parcels(path, layer="plots").to_crs(32633)
    # independent truth: geopandas overlay of buildings and plots
    over = gpd.overlay(
        buildings.reset_index()[["building_id", "geometry"]],
        plots.reset_index()[["parcel_id", "geometry"]],
        how="intersection",
        keep_geom_type=True,
    )
    over["share"] = over.area.to_numpy() / buildings.area.reindex(over["building_id"]).to_numpy()
    significant = over[over["share"] >= 0.01]
    n_expected = significant.groupby("building_id").size().reindex(buildings.index, fill_value=0)
    several = n_expected[n_expected > 1].index
    # two zones with different CES limits, made of whole plots: west and east of the middle of
    # the first straddling building's two largest plots, so that building stands in both
    first = significant[significant["building_id"] == several[0]].nlargest(2, "share")["parcel_id"]
    split = float(plots.loc[first].geometry.centroid.x.mean())
    west = plots.geometry.centroid.x < split
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [1, 2],
            "libelle": ["UA", "UB"],
            "max_height_m": [25.0, 25.0],
            "max_footprint_ratio": [0.6, 0.4],
        },
        geometry=[
            shapely.union_all(plots.geometry[west].to_numpy()),
            shapely.union_all(plots.geometry[~west].to_numpy()),
        ],
        crs=32633,
    ).set_index("zone_id")
    zone_of = pd.Series(np.where(west, 1, 2), index=plots.index)
    with pytest.warns(CoverageWarning, match=r"of 144 buildings stand on several parcels"):
        result = check_compliance(buildings.assign(height_m=np.nan), plots, zones)

    straddle_expected = 1 - over.groupby("building_id")["share"].max().reindex(buildings.index)
    assert len(several) == 13  # measured: 11 buildings on 2 plots, 2 on 3
    assert (n_expected.value_counts().sort_index().to_dict()) == {1: 131, 2: 11, 3: 2}
    assert (result["n_parcels"] == n_expected).all()
    # the plots overlap one another by digitising slivers: shares agree within 1e-4 (as in test_linking)
    np.testing.assert_allclose(result["straddle_share"], straddle_expected, atol=1e-4)
    for b in several:
        assert set(result.loc[b, "parcels"].split(";")) == set(
            significant.loc[significant["building_id"] == b, "parcel_id"]
        )
    # which of them stand on plots of both zones
    mixed = {
        b
        for b in several
        if significant.loc[significant["building_id"] == b, "parcel_id"].map(zone_of).nunique() > 1
    }
    # contiguity of each union (0.25 m, half the side-limit tolerance)
    apart = {
        b
        for b in several
        if shapely.get_num_geometries(
            shapely.buffer(
                shapely.union_all(
                    plots.loc[
                        significant.loc[significant["building_id"] == b, "parcel_id"]
                    ].geometry.to_numpy()
                ),
                0.25,
            )
        )
        > 1
    }
    expected_manual = mixed | apart
    assert several[0] in mixed and len(expected_manual) >= 1
    assert set(result.index[result["check_manually"]]) == expected_manual
    assert result.loc[list(expected_manual), "compliant"].isna().all()
    judged = [b for b in several if b not in expected_manual]
    assert all("judged on their union" in note for note in result.loc[judged, "zoning_note"])
    # CES of a union = footprints inside its plots / their area (geopandas overlay sums)
    built = over.assign(a=over.area).groupby("parcel_id")["a"].sum().reindex(plots.index, fill_value=0.0)
    for b in judged:
        ids = result.loc[b, "parcels"].split(";")
        assert result.loc[b, "ces"] == pytest.approx(built[ids].sum() / plots.area[ids].sum(), abs=1e-4)
