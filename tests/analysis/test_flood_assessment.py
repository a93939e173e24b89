"""Tests of cimkit.analysis.flood.assessment: ``assess(model, scenarios)`` and ``FloodResult``."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cimkit.analysis import AnalysisResult
from cimkit.analysis.flood import (
    FloodResult,
    assess,
    compute_bathtub_depth,
    compute_building_depths,
    compute_max_damage_per_m2,
)
from cimkit.errors import InputError, LayerNotFoundError
from cimkit.model import CityModel
from cimkit.network.graph import Network
from cimkit.raster import Raster

CRS = "EPSG:2154"
# the toy town lies south of Paris (Lambert-93), so that placement checks and the country of the
# damage values (FR) see a real place; coordinates below are local, shifted by _place
X0, Y0 = 651_000.0, 6_847_000.0


def _place(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_geometry(frame.geometry.translate(X0, Y0))


def _toy_town(*, with_road: bool = True) -> CityModel:
    """A slope rising 0.5 m per 10 m cell away from a river in column 0, three buildings."""
    model = CityModel(CRS)
    z = np.tile(np.arange(10) * 0.5, (6, 1))
    model.set_dem(Raster(z, Affine(10, 0, X0, 0, -10, Y0 + 60), CRS))
    model.add_layer(
        "river", _place(gpd.GeoDataFrame(geometry=[shapely.LineString([(5, 59), (5, 1)])], crs=CRS))
    )
    model.add_layer(
        "buildings",
        _place(
            gpd.GeoDataFrame(
                {"use": ["residential", "retail", "residential"]},
                geometry=[
                    shapely.box(10, 10, 20, 20),
                    shapely.box(30, 30, 40, 40),
                    shapely.box(80, 10, 90, 20),
                ],
                index=pd.Index(["low", "mid", "high"], name="building_id"),
                crs=CRS,
            )
        ),
    )
    model.add_layer(
        "parcels",
        _place(
            gpd.GeoDataFrame(
                geometry=[
                    shapely.box(0, 0, 25, 60),
                    shapely.box(25, 0, 50, 60),
                    shapely.box(50, 0, 100, 60),
                    shapely.box(100, 0, 120, 60),  # no building on it
                ],
                index=pd.Index(["P1", "P2", "P3", "P4"], name="parcel_id"),
                crs=CRS,
            )
        ),
    )
    model.add_layer(
        "zones",
        _place(
            gpd.GeoDataFrame(
                {"libelle": ["Ua", "N", "A"]},
                geometry=[
                    shapely.box(0, 0, 50, 60),
                    shapely.box(50, 0, 100, 60),
                    shapely.box(100, 0, 200, 60),
                ],
                index=pd.Index(["Ua", "N", "A"], name="zone_id"),
                crs=CRS,
            )
        ),
    )
    if with_road:
        # a street along y = 35 from x = 0 to 100 (the 0 m .. 4.5 m cells), walk and car times
        nodes = _place(
            gpd.GeoDataFrame(
                geometry=[shapely.Point(0, 35), shapely.Point(100, 35)],
                index=pd.Index([1, 2], name="node_id", dtype="int64"),
                crs=CRS,
            )
        )
        edges = _place(
            gpd.GeoDataFrame(
                {"u": [1], "v": [2], "walk_time_min": [1.25], "car_time_min": [0.2]},
                geometry=[shapely.LineString([(0, 35), (100, 35)])],
                index=pd.Index([7], name="edge_id", dtype="int64"),
                crs=CRS,
            )
        )
        model.add_network(Network(nodes, edges, kind="road"))
    return model


def test_assess_on_a_toy_town():
    model = _toy_town()
    road_before = model.network("road").edges.copy()
    res = assess(model, {10: 1.0, 100: 2.0}, inflow=model["river"])
    assert isinstance(res, FloodResult) and isinstance(res, AnalysisResult)
    # the street crosses cells at 0, 0.5, 1.0, 1.5 m ...: level 1 m wets the first two cells
    # (20 m, deepest 1 m over the 0 m cell), level 2 m the first four (40 m, 2 m deep)
    assert res.edges.loc[7, "flooded_length_m_rp10"] == pytest.approx(20.0)
    assert res.edges.loc[7, "max_depth_m_rp100"] == pytest.approx(2.0)
    assert res.edges.loc[7, "flooded_length_m_rp100"] == pytest.approx(40.0)
    assert bool(res.edges.loc[7, "closed_car_rp10"]) and np.isnan(
        res.networks[10].edges.loc[7, "car_time_min"]
    )
    pd.testing.assert_frame_equal(model.network("road").edges, road_before)  # the model is untouched
    b = res.buildings
    assert list(b.index) == ["low", "mid", "high"]
    # "low" stands on the 0.5 m cell: depths 0.5 and 1.5 m (by hand)
    assert b.loc["low", "depth_m_rp10"] == pytest.approx(0.5)
    assert b.loc["low", "depth_m_rp100"] == pytest.approx(1.5)
    # "mid" on the 1.5 m cell: dry at RP10, 0.5 m at RP100
    assert b.loc["mid", "depth_m_rp10"] == 0 and b.loc["mid", "depth_m_rp100"] == pytest.approx(0.5)
    assert b.loc["high", "damage_eur_rp100"] == 0
    res_m2 = compute_max_damage_per_m2("residential", country="FR") * 100
    com_m2 = compute_max_damage_per_m2("retail", country="FR") * 100
    assert b.loc["low", "damage_eur_rp10"] == pytest.approx(0.25 * res_m2)  # JRC 0.25 at 0.5 m
    assert b.loc["low", "damage_eur_rp100"] == pytest.approx(0.50 * res_m2)  # 0.50 at 1.5 m
    assert b.loc["mid", "damage_eur_rp100"] == pytest.approx(0.15 * com_m2)  # commercial 0.15 at 0.5 m
    # trapezoid EAD over p = 0.1 .. 0.01, no tails: 0.09 x (D10 + D100) / 2
    assert b.loc["low", "ead_eur"] == pytest.approx(0.09 * (0.25 + 0.50) * res_m2 / 2)
    assert b.loc["mid", "ead_eur"] == pytest.approx(0.09 * (0 + 0.15) * com_m2 / 2)
    # town totals
    assert res.city["ead_eur"] == pytest.approx(b["ead_eur"].sum())
    assert res.city["flooded_buildings_rp10"] == 1 and res.city["flooded_buildings_rp100"] == 2
    assert res.city["damage_eur_rp100"] == pytest.approx(0.50 * res_m2 + 0.15 * com_m2)
    assert res.city["flooded_road_km_rp100"] == pytest.approx(0.04)
    assert res.city["closed_car_road_km_rp10"] == pytest.approx(0.1)  # the whole 100 m street
    assert res.city["closed_car_edges_rp10"] == 1
    # zones: every zone of the model, even without a building (A)
    assert list(res.zones.index) == ["Ua", "N", "A"]
    assert res.zones.loc["N", "ead_eur"] == 0
    assert res.zones.loc["Ua", "ead_eur"] == pytest.approx(b.loc[["low", "mid"], "ead_eur"].sum())
    assert res.zones["buildings"].tolist() == [2, 1, 0]
    assert res.zones["flooded_buildings_rp100"].tolist() == [2, 0, 0]
    # parcels: low on P1, mid on P2, high on P3, nothing on P4
    assert res.parcels["buildings"].tolist() == [1, 1, 1, 0]
    assert res.parcels.loc["P2", "damage_eur_rp100"] == pytest.approx(0.15 * com_m2)
    assert res.parcels.loc["P4", "ead_eur"] == 0
    assert res.buildings["ead_eur"].idxmax() == "low"
    # depth grids by return period, and what the numbers cannot know
    assert sorted(res.depths) == [10, 100] and res.depths[100].values[0, 0] == pytest.approx(2.0)
    assert any("connected bathtub" in c for c in res.caveats)
    assert any("assumed 0 m for 3 of 3 buildings" in c for c in res.caveats)
    assert any("car 0.3 m" in c and "bridge stays open" in c for c in res.caveats)
    assert not any("edge of the DEM" in c for c in res.caveats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.city = pd.Series(dtype=float)  # type: ignore[misc]


def test_assess_options_and_missing_layers():
    model = _toy_town(with_road=False)
    model.remove("zones")
    # the Delft-FIAT integration adds the rare tail p_min x D(p_min) by default
    res = assess(
        model,
        pd.Series({10: 1.0, 100: 2.0}),
        inflow=model["river"],
        ead_method="loglinear",
        closure_depths_m={"car": 5.0},
        default_first_floor_m=0.5,
    )
    b = res.buildings
    res_m2 = compute_max_damage_per_m2("residential", country="FR") * 100
    # "low": 0.5 m and 1.5 m of water over a 0.5 m first floor -> 0 and 1.0 m -> 0 and 0.40
    assert b.loc["low", "damage_eur_rp10"] == 0
    assert b.loc["low", "damage_eur_rp100"] == pytest.approx(0.40 * res_m2)
    p1, p2 = 0.1, 0.01
    weight_100 = (p1 - p2) / (np.log(p1) - np.log(p2)) - p2 + p2  # log-linear share + rare tail
    assert b.loc["low", "ead_eur"] == pytest.approx(weight_100 * 0.40 * res_m2)
    assert res.zones.empty and res.edges.empty and res.networks == {}
    assert any("no road network" in c for c in res.caveats)
    assert any("log-linear" in c and "counted at the 100-year damage" in c for c in res.caveats)
    # HAND with the river as the drainage: a water height of 1 m above the river floods the
    # same cells as the 1 m level (the slope rises 0.5 m per cell from the river)
    by_hand = assess(model, {10: 1.0}, method="hand", streams=model["river"])
    assert by_hand.buildings["depth_m_rp10"].tolist() == pytest.approx([0.5, 0.0, 0.0], abs=1e-6)
    assert any("HAND" in c for c in by_hand.caveats)
    # without the DEM only external depth grids can be assessed
    bare = CityModel(CRS)
    bare.add_layer("buildings", model.buildings[["use", "geometry"]])
    with pytest.raises(InputError, match="DEM"):
        assess(bare, {10: 1.0})
    depth = Raster(np.full((6, 10), 0.5), model.dem.transform, CRS, attrs={"kind": "depth"})
    external = assess(bare, {50: depth}, method="depth")
    assert external.buildings["depth_m_rp50"].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert external.city["flooded_buildings_rp50"] == 3
    assert any("given depth grids" in c for c in external.caveats)
    with pytest.raises(LayerNotFoundError, match="buildings"):
        assess(CityModel(CRS), {10: 1.0})


def test_assess_without_use_says_so_in_the_caveats():
    model = _toy_town(with_road=False)
    model.add_layer("buildings", model.buildings.drop(columns="use"))
    res = assess(model, {10: 1.0, 100: 2.0})
    assert (res.buildings["jrc_class"] == "residential").all()
    assert any("no use" in c for c in res.caveats)
    assert any("edge of the DEM" in c for c in res.caveats)


def _sample_model(root) -> tuple[CityModel, dict]:
    from cimkit.io.raster import read_dem

    model = CityModel("EPSG:2154")
    model.set_dem(read_dem(root / "dem.tif"))
    model.add_layer("river", gpd.read_file(root / "river.geojson"))
    footprints = gpd.read_file(root / "footprints.geojson").set_index("id").rename_axis("building_id")
    model.add_layer("buildings", footprints)
    table = pd.read_csv(root / "flood_scenarios.csv")
    return model, dict(zip(table["return_period"], table["water_level_m"]))


def test_sample_city(sample_city_dir):
    root = sample_city_dir
    if not (root / "dem.tif").is_file():
        pytest.skip("the sample city has not been generated (sample_data/dem.tif missing)")
    model, scenarios = _sample_model(root)
    dem, footprints = model.dem, model.buildings
    res = assess(model, scenarios, inflow=model["river"])
    b = res.buildings
    assert b.index.equals(footprints.index)
    # at least one building floods at the 100-year level (sample city README)
    assert (b["depth_m_rp100"] > 0).sum() >= 1
    # depths and damages never decrease with the return period
    assert np.all(b["depth_m_rp1000"].fillna(0) >= b["depth_m_rp100"].fillna(0) - 1e-9)
    assert np.all(b["damage_eur_rp1000"].fillna(0) >= b["damage_eur_rp100"].fillna(0) - 1e-6)
    assert res.city["ead_eur"] > 0
    # the depth over each flooded footprint agrees with the level minus the lowest ground under it
    depth100 = res.depths[100]
    flooded = b.index[b["depth_m_rp100"] > 0]
    lowest = compute_building_depths(footprints.loc[flooded], Raster(-dem.masked(), dem.transform, dem.crs))
    np.testing.assert_allclose(
        b.loc[flooded, "depth_m_rp100"], scenarios[100] + lowest["max_depth_m"], atol=1e-4
    )
    # the closed gravel pit (sample city README): a plain bathtub floods cells and at least one
    # building (the shed in the pit) that the bathtub connected to the river leaves dry
    plain = compute_bathtub_depth(dem, scenarios[100], connected=False)
    assert np.nansum(plain.values > 0) > np.nansum(depth100.values > 0)
    plain_b = compute_building_depths(footprints, plain)["max_depth_m"]
    only_plain = (plain_b > 0) & ~(b["depth_m_rp100"] > 0)
    assert only_plain.sum() >= 1


def test_sample_city_model_totals_are_consistent(sample_city_dir):
    if not (sample_city_dir / "dem.tif").is_file():
        pytest.skip("the sample city has not been generated (sample_data/dem.tif missing)")
    from cimkit.datasets import load_sample_city

    model = load_sample_city(with_ifc=False)
    table = pd.read_csv(sample_city_dir / "flood_scenarios.csv")
    scenarios = table.set_index("return_period")["water_level_m"]
    res = assess(model, scenarios, inflow=model["river"])
    b = res.buildings
    assert b.index.equals(model.buildings.index)
    # the town total is the sum over buildings, and over zones and parcels (every building of
    # the sample city stands in a zone and on a parcel)
    assert res.city["ead_eur"] == pytest.approx(b["ead_eur"].sum(), rel=1e-12)
    assert res.zones["ead_eur"].sum() == pytest.approx(res.city["ead_eur"], rel=1e-9)
    assert res.parcels["ead_eur"].sum() == pytest.approx(res.city["ead_eur"], rel=1e-9)
    assert res.zones.index.equals(model.zones.index) and res.parcels.index.equals(model.parcels.index)
    assert res.zones["buildings"].sum() == len(b) == res.city["buildings"]
    for rp in (10, 100, 1000):
        assert res.city[f"flooded_buildings_rp{rp}"] == (b[f"depth_m_rp{rp}"] > 0).sum()
        assert res.city[f"damage_eur_rp{rp}"] == pytest.approx(b[f"damage_eur_rp{rp}"].sum())
    # the 10-year level stays in the river bed; the 100-year one reaches buildings (README)
    assert res.city["flooded_buildings_rp10"] <= res.city["flooded_buildings_rp100"] >= 3
    # EAD recomputed independently: trapezoid over p = 0.1, 0.01, 0.001
    d10, d100, d1000 = (res.city[f"damage_eur_rp{rp}"] for rp in (10, 100, 1000))
    assert res.city["ead_eur"] == pytest.approx(0.09 * (d10 + d100) / 2 + 0.009 * (d100 + d1000) / 2)
    # the road network: closures per mode, closed networks per return period
    assert set(res.networks) == {10.0, 100.0, 1000.0}
    closed_km = res.city["closed_car_road_km_rp1000"]
    lengths = model.network("road").edges.geometry.length
    assert closed_km == pytest.approx(lengths[res.edges["closed_car_rp1000"]].sum() / 1000)
    assert res.city["closed_walk_edges_rp100"] >= res.city["closed_car_edges_rp100"]


def test_assess_states_what_it_leaves_unanswered():
    from cimkit.errors import CoverageWarning

    model = _toy_town(with_road=False)
    outside = _place(
        gpd.GeoDataFrame(
            {"use": ["residential"]},
            geometry=[shapely.box(150, 10, 160, 20)],  # east of the 100 m wide DEM
            index=pd.Index(["beyond"], name="building_id"),
            crs=CRS,
        )
    )
    model.add_layer("buildings", pd.concat([model.buildings, outside]))
    with pytest.warns(CoverageWarning, match=r"1 of 4 building\(s\) \(25.0%\) get no flood depth"):
        res = assess(model, {10: 1.0, 100: 2.0}, inflow=model["river"])
    assert res.city["buildings_without_depth"] == 1
    assert np.isnan(res.buildings.loc["beyond", "depth_m_rp100"])
    assert any("1 of 4 building(s) lie outside the DEM" in c for c in res.caveats)
    # the damage values are those of the country found at the model's place (FR), and said so
    assert any(
        "JRC maximum damage values for FR (found at the centre of the buildings)" in c for c in res.caveats
    )
    # HAND from the river: the cells draining to the grid edge without meeting it are counted
    by_hand = assess(model, {10: 1.0}, method="hand", streams=model["river"])
    hand_nan = np.isnan(by_hand.depths[10].values)
    assert by_hand.city["hand_undrained_share"] == pytest.approx(hand_nan.mean())
    # a user GDP per capita replaces the country's, and the caveat says which was used
    user = assess(model, {10: 1.0, 100: 2.0}, inflow=model["river"], gdp_per_capita_usd2010=20_000)
    assert any("given GDP per capita of 20,000 US$ 2010" in c for c in user.caveats)
    low = user.buildings.loc["low", "max_damage_eur_m2"]
    assert low == pytest.approx(24.078 * 20_000**0.3852 * 0.36 * 1.5)
