"""Flood exposure and walking access of a scenario's new homes, and the ScenarioImpact shape."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

import cimkit
from cimkit import provenance as prov
from cimkit.analysis.flood import compute_bathtub_depth
from cimkit.analysis.scenario.impacts import ScenarioImpact, compute_access_impact, compute_flood_impact
from cimkit.errors import CoverageWarning, InputError
from cimkit.io.raster import read_dem

LEVELS = {10: 38.5, 100: 39.5, 1000: 40.5}  # sample_data/flood_scenarios.csv


def _homes(boxes: dict[str, shapely.Geometry], residents: dict[str, float], **columns) -> gpd.GeoDataFrame:
    ids = list(boxes)
    data = {
        "added_gfa_m2": [residents[i] * 30.0 for i in ids],
        "added_dwellings": [residents[i] / 2.0 for i in ids],
        "added_residents": [residents[i] for i in ids],
        "added_jobs": [0.0] * len(ids),
        "zone": ["UB"] * len(ids),
    }
    data.update(columns)
    return gpd.GeoDataFrame(
        data, geometry=[boxes[i] for i in ids], crs="EPSG:2154", index=pd.Index(ids, name="parcel_id")
    )


def test_scenario_impact_defaults():
    impact = ScenarioImpact(name="water")
    assert impact.available and impact.summary == {} and impact.caveats == [] and impact.tables == {}
    assert impact.parcels.empty and impact.parcels.index.name == "parcel_id"


# ---------------------------------------------------------------------------------------------
# flood


@pytest.fixture(scope="module")
def sample_depths(sample_city_dir):
    dem = read_dem(sample_city_dir / "dem.tif")
    river = gpd.read_file(sample_city_dir / "river.geojson")
    return {rp: compute_bathtub_depth(dem, level, inflow=river) for rp, level in LEVELS.items()}


def _ground(sample_city_dir, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The DEM cells of a box aligned on the 5 m grid (west 650550, north 6847450)."""
    with rasterio.open(sample_city_dir / "dem.tif") as src:
        values = src.read(1).astype("float64")
    c0, c1 = int((x0 - 650_550) / 5), int((x1 - 650_550) / 5)
    r0, r1 = int((6_847_450 - y1) / 5), int((6_847_450 - y0) / 5)
    return values[r0:r1, c0:c1]


def test_flood_impact_on_the_sample_city_matches_the_dem(sample_city_dir, sample_depths):
    # "river": 4 cells by the river (ground 37.216-37.404 m); "hill": 4 cells on the plateau (53.4 m)
    boxes = {
        "river": shapely.box(651_000, 6_846_800, 651_010, 6_846_810),
        "hill": shapely.box(650_700, 6_847_300, 650_710, 6_847_310),
    }
    homes = _homes(boxes, {"river": 10.0, "hill": 8.0}, storeys=[3, 2])
    impact = compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood=sample_depths, country="FR")
    ground = _ground(sample_city_dir, 651_000, 6_846_800, 651_010, 6_846_810)
    assert ground.min() == pytest.approx(37.216, abs=1e-3)
    for rp, level in LEVELS.items():
        # deepest water over the parcel = level - lowest ground cell (all four cells wet and connected)
        assert impact.parcels.loc["river", f"depth_m_rp{rp}"] == pytest.approx(level - ground.min(), abs=1e-3)
        assert impact.parcels.loc["hill", f"depth_m_rp{rp}"] == 0.0
        assert impact.summary[f"dwellings_flooded_rp{rp}"] == 5.0  # the river parcel's 10 / 2
        assert impact.summary[f"residents_flooded_rp{rp}"] == 10.0
        assert impact.summary[f"parcels_flooded_rp{rp}"] == 1.0
    # damage at 100 years: mean depth 39.5 - mean ground = 2.18975 m, JRC residential
    # 0.60 + 0.18975 x (0.75 - 0.60) = 0.628463; max damage (France) = 1436.35 EUR/m² cost x 0.6
    # depreciation x 0.6 damageable x 1.5 (contents 0.5) = 775.63 EUR/m²; ground floor 300 / 3 = 100 m²
    cost = 24.078 * 40706**0.3852
    assert cost == pytest.approx(1436.35, abs=0.5)
    max_damage = cost * 0.6 * 0.6 * 1.5

    def damage(level: float) -> float:
        depth = level - ground.mean()
        curve_x = [0, 0.5, 1, 1.5, 2, 3, 4, 5, 6]
        curve_y = [0, 0.25, 0.40, 0.50, 0.60, 0.75, 0.85, 0.95, 1.00]
        return float(np.interp(depth, curve_x, curve_y)) * max_damage * 100.0

    assert damage(39.5) == pytest.approx(48746, abs=5)
    for rp, level in LEVELS.items():
        assert impact.summary[f"added_damage_eur_rp{rp}"] == pytest.approx(damage(level), rel=1e-3)
    # EAD, trapezoid in p = 1/T: (0.1 - 0.01)(D10 + D100)/2 + (0.01 - 0.001)(D100 + D1000)/2
    ead = 0.09 * (damage(38.5) + damage(39.5)) / 2 + 0.009 * (damage(39.5) + damage(40.5)) / 2
    assert impact.summary["added_ead_eur"] == pytest.approx(ead, rel=1e-3)
    assert impact.parcels.loc["hill", "added_ead_eur"] == 0.0
    step = prov.get(impact.parcels).steps[-1]
    assert step.action == "flood_impact" and step.params["return_periods"] == [10.0, 100.0, 1000.0]
    assert step.params["parcels_outside_depths"] == 0


def test_flood_impact_parcel_outside_the_grids_is_dry_with_a_warning(sample_depths):
    homes = _homes({"far": shapely.box(700_000, 6_900_000, 700_010, 6_900_010)}, {"far": 4.0})
    with pytest.warns(CoverageWarning, match="outside the depth grids") as caught:
        impact = compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood=sample_depths, country="FR")
    assert caught[0].message.code == "SCN302"
    assert impact.summary["dwellings_flooded_rp100"] == 0.0 and impact.summary["added_ead_eur"] == 0.0
    assert prov.get(impact.parcels).steps[-1].params["parcels_outside_depths"] == 1


def test_flood_impact_partly_wet_parcel_and_whole_floor_area():
    # a 20 x 20 m parcel, its west half under 0.5 m of water: flooded (all 4 dwellings), damage
    # on the whole new floor area (no storeys column): 0.25 x 775.63 x 240 m² x 0.5 wet share
    from affine import Affine

    from cimkit.raster import Raster

    homes = _homes({"P": shapely.box(651_000, 6_847_000, 651_020, 6_847_020)}, {"P": 8.0})
    depth = Raster(np.array([[0.5, 0.0], [0.5, 0.0]]), Affine(10, 0, 651_000, 0, -10, 6_847_020), "EPSG:2154")
    depth.attrs["return_period"] = 100
    impact = compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood=depth, country="FR")
    assert impact.parcels.loc["P", "flooded_share_rp100"] == pytest.approx(0.5)
    assert impact.summary["dwellings_flooded_rp100"] == 4.0
    max_damage = 24.078 * 40706**0.3852 * 0.54
    assert impact.summary["added_damage_eur_rp100"] == pytest.approx(0.25 * max_damage * 240 * 0.5, rel=1e-4)
    assert any("upper bound" in c for c in impact.caveats)


def test_flood_impact_without_depths_is_not_available():
    homes = _homes({"P": shapely.box(651_000, 6_847_000, 651_020, 6_847_020)}, {"P": 8.0})
    impact = compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes)
    assert not impact.available and impact.summary == {}
    assert "flood=" in impact.caveats[0]
    with pytest.raises(InputError) as err:
        compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood=[1, 2])
    assert err.value.code == "SCN203"


def test_new_homes_missing_columns_are_refused():
    homes = _homes({"P": shapely.box(0, 0, 1, 1)}, {"P": 1.0}).drop(columns="added_jobs")
    with pytest.raises(InputError) as err:
        compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood={})
    assert err.value.code == "SCN201" and "added_jobs" in str(err.value)


# ---------------------------------------------------------------------------------------------
# accessibility


@pytest.fixture(scope="module")
def access_model(sample_city_dir):
    model = cimkit.CityModel("EPSG:2154")
    model.add_layer("pois", gpd.read_file(sample_city_dir / "pois.geojson"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two street ends snapped
        model.add_network(cimkit.read_network(sample_city_dir / "streets.geojson", kind="road"))
    return model


def _nearest_node(network, point: shapely.Point) -> int:
    nodes = network.nodes
    d = np.hypot(nodes.geometry.x.to_numpy() - point.x, nodes.geometry.y.to_numpy() - point.y)
    return int(nodes.index[np.argmin(d)])


def test_access_times_match_an_independent_shortest_path(access_model):
    boxes = {
        "centre": shapely.box(650_990, 6_846_990, 651_030, 6_847_030),
        "north": shapely.box(650_640, 6_847_390, 650_700, 6_847_440),
        "east": shapely.box(651_400, 6_847_150, 651_440, 6_847_200),
    }
    residents = {"centre": 30.0, "north": 50.0, "east": 20.0}
    homes = _homes(boxes, residents)
    groups = {
        "education": ["school"],
        "health": ["doctor", "pharmacy"],
        "shop": ["shop", "supermarket", "bakery"],
    }
    with pytest.warns(CoverageWarning, match="no group"):  # bus stops, parks ... left out on purpose
        impact = compute_access_impact(access_model, homes, categories=groups, max_time_min=5.0)
    network = access_model.network("road")
    graph = nx.Graph()
    for _, edge in network.edges.iterrows():
        w = float(edge["walk_time_min"])
        if not graph.has_edge(edge["u"], edge["v"]) or graph[edge["u"]][edge["v"]]["w"] > w:
            graph.add_edge(edge["u"], edge["v"], w=w)
    pois = access_model.pois
    poi_nodes = pd.Series([_nearest_node(network, p) for p in pois.geometry], index=pois.index)
    expected = {}
    for pid, box in boxes.items():
        times = nx.single_source_dijkstra_path_length(
            graph, _nearest_node(network, box.representative_point()), weight="w"
        )
        for group, cats in groups.items():
            targets = poi_nodes[pois["category"].isin(cats)]
            expected[pid, group] = min(times.get(n, np.inf) for n in targets)
            assert impact.parcels.loc[pid, f"{group}_min"] == pytest.approx(expected[pid, group], abs=1e-6)
    # resident-weighted summaries, recomputed from the independent times
    total = sum(residents.values())
    for group in groups:
        within = sum(r for pid, r in residents.items() if expected[pid, group] <= 5.0)
        assert impact.summary[f"{group}_within_5min_share"] == pytest.approx(within / total)
        mean = sum(r * expected[pid, group] for pid, r in residents.items()) / total
        assert impact.summary[f"{group}_min_mean"] == pytest.approx(mean)
    score = {pid: sum(expected[pid, g] <= 5.0 for g in groups) / 3 for pid in boxes}
    assert impact.parcels["score"].to_dict() == pytest.approx(score)
    assert impact.summary["score_mean"] == pytest.approx(sum(residents[p] * score[p] for p in boxes) / total)
    assert 0.0 < impact.summary["score_mean"] < 1.0  # the 5-minute budget splits these homes


def test_access_skips_parcels_without_residents(access_model):
    homes = _homes(
        {
            "a": shapely.box(650_990, 6_846_990, 651_030, 6_847_030),
            "b": shapely.box(651_100, 6_847_100, 651_120, 6_847_120),
        },
        {"a": 12.0, "b": 0.0},
    )
    impact = compute_access_impact(access_model, homes)
    assert impact.parcels.index.tolist() == ["a"] and impact.summary["residents_added"] == 12.0


def test_access_without_road_network_is_not_available(sample_city_dir):
    model = cimkit.CityModel("EPSG:2154")
    model.add_layer("pois", gpd.read_file(sample_city_dir / "pois.geojson"))
    homes = _homes({"a": shapely.box(650_990, 6_846_990, 651_030, 6_847_030)}, {"a": 12.0})
    impact = compute_access_impact(model, homes)
    assert not impact.available and "no road network" in impact.caveats[0]
