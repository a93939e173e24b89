"""Tests of cimkit.analysis.flood.assessment: the one-call assessment, on toy data and the sample city."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cimkit.analysis.flood import assess_flood, bathtub, building_depths, max_damage_per_m2
from cimkit.network.graph import Network
from cimkit.raster import Raster


def test_assess_flood_on_a_toy_town():
    # a 1-D slope rising 0.5 m per 10 m cell away from a river in column 0
    z = np.tile(np.arange(10) * 0.5, (6, 1))
    dem = Raster(z, Affine(10, 0, 0, 0, -10, 60), "EPSG:2154")
    river = gpd.GeoSeries([shapely.LineString([(5, 59), (5, 1)])], crs="EPSG:2154")
    buildings = gpd.GeoDataFrame(
        {"use": ["residential", "retail", "residential"]},
        geometry=[shapely.box(10, 10, 20, 20), shapely.box(30, 30, 40, 40), shapely.box(80, 10, 90, 20)],
        index=pd.Index(["low", "mid", "high"], name="building_id"),
        crs="EPSG:2154",
    )
    zones = pd.Series({"low": "Ua", "mid": "Ua", "high": "N"})
    # a street along y = 35 from x = 0 to 100 (the 0 m .. 4.5 m cells), walk and car times
    nodes = gpd.GeoDataFrame(
        geometry=[shapely.Point(0, 35), shapely.Point(100, 35)],
        index=pd.Index([1, 2], name="node_id", dtype="int64"),
        crs="EPSG:2154",
    )
    edges = gpd.GeoDataFrame(
        {"u": [1], "v": [2], "walk_time_min": [1.25], "car_time_min": [0.2]},
        geometry=[shapely.LineString([(0, 35), (100, 35)])],
        index=pd.Index([7], name="edge_id", dtype="int64"),
        crs="EPSG:2154",
    )
    network = Network(nodes, edges, kind="road")
    res = assess_flood(buildings, dem, {10: 1.0, 100: 2.0}, sources=river, zones=zones, network=network)
    # the street crosses cells at 0, 0.5, 1.0, 1.5 m ...: level 1 m wets the first two cells
    # (20 m, deepest 1 m over the 0 m cell), level 2 m the first four (40 m, 2 m deep)
    assert res.edges.loc[7, "flooded_length_m_rp10"] == pytest.approx(20.0)
    assert res.edges.loc[7, "max_depth_m_rp100"] == pytest.approx(2.0)
    assert res.edges.loc[7, "flooded_length_m_rp100"] == pytest.approx(40.0)
    assert bool(res.edges.loc[7, "closed_car_rp10"]) and np.isnan(
        res.networks[10].edges.loc[7, "car_time_min"]
    )
    assert network.edges.loc[7, "car_time_min"] == 0.2
    b = res.buildings
    # "low" stands on the 0.5 m cell: depths 0.5 and 1.5 m (by hand)
    assert b.loc["low", "depth_m_rp10"] == pytest.approx(0.5)
    assert b.loc["low", "depth_m_rp100"] == pytest.approx(1.5)
    # "mid" on the 1.5 m cell: dry at RP10, 0.5 m at RP100
    assert b.loc["mid", "depth_m_rp10"] == 0 and b.loc["mid", "depth_m_rp100"] == pytest.approx(0.5)
    assert b.loc["high", "damage_eur_rp100"] == 0
    res_m2 = max_damage_per_m2("residential") * 100
    assert b.loc["low", "damage_eur_rp10"] == pytest.approx(0.25 * res_m2)  # JRC 0.25 at 0.5 m
    assert b.loc["low", "damage_eur_rp100"] == pytest.approx(0.50 * res_m2)  # 0.50 at 1.5 m
    # trapezoid EAD over p = 0.1 .. 0.01, no tails: 0.09 x (D10 + D100) / 2
    assert b.loc["low", "ead_eur"] == pytest.approx(0.09 * (0.25 + 0.50) * res_m2 / 2)
    assert res.totals["ead_eur"] == pytest.approx(b["ead_eur"].sum())
    assert res.totals["flooded_buildings_rp100"] == 2
    assert res.by_zone.loc["N", "ead_eur"] == 0
    assert res.by_zone.loc["Ua", "ead_eur"] == pytest.approx(b.loc[["low", "mid"], "ead_eur"].sum())
    assert res.top(1).index[0] == "low"


def test_sample_city(sample_city_dir):
    root = sample_city_dir
    if not (root / "dem.tif").is_file():
        pytest.skip("the sample city has not been generated (sample_data/dem.tif missing)")
    from cimkit.io.raster import read_dem

    dem = read_dem(root / "dem.tif")
    river = gpd.read_file(root / "river.geojson")
    footprints = gpd.read_file(root / "footprints.geojson").set_index("id").rename_axis("building_id")
    table = pd.read_csv(root / "flood_scenarios.csv")
    scenarios = dict(zip(table["return_period"], table["water_level_m"]))
    res = assess_flood(footprints, dem, scenarios, sources=river)
    b = res.buildings
    assert b.index.equals(footprints.index)
    # at least one building floods at the 100-year level (sample city README)
    assert (b["depth_m_rp100"] > 0).sum() >= 1
    # depths and damages never decrease with the return period
    assert np.all(b["depth_m_rp1000"].fillna(0) >= b["depth_m_rp100"].fillna(0) - 1e-9)
    assert np.all(b["damage_eur_rp1000"].fillna(0) >= b["damage_eur_rp100"].fillna(0) - 1e-6)
    assert res.totals["ead_eur"] > 0
    # the depth over each flooded footprint agrees with the level minus the lowest ground under it
    depth100 = res.depths[100]
    flooded = b.index[b["depth_m_rp100"] > 0]
    lowest = building_depths(footprints.loc[flooded], Raster(-dem.masked(), dem.transform, dem.crs))
    np.testing.assert_allclose(
        b.loc[flooded, "depth_m_rp100"], scenarios[100] + lowest["max_depth_m"], atol=1e-4
    )
    # the closed gravel pit (sample city README): a plain bathtub floods cells and at least one
    # building (the shed in the pit) that the bathtub connected to the river leaves dry
    plain = bathtub(dem, scenarios[100], connected=False)
    assert np.nansum(plain.values > 0) > np.nansum(depth100.values > 0)
    plain_b = building_depths(footprints, plain)["max_depth_m"]
    only_plain = (plain_b > 0) & ~(b["depth_m_rp100"] > 0)
    assert only_plain.sum() >= 1
