"""Peak-hour car trips of new homes, per street segment: hand counts on toy networks."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

import cimkit
from cimkit import provenance as prov
from cimkit.analysis.scenario.traffic import compute_traffic_impact
from cimkit.errors import CoverageWarning
from cimkit.network.graph import Network

X0, Y0 = 651_000.0, 6_847_000.0
RATE = 3.15 * 0.65 * 0.10  # peak-hour car trips per resident: ENTD 2008 trips x car share x peak hour


def _homes(points: dict[str, tuple[float, float]], residents: dict[str, float]) -> gpd.GeoDataFrame:
    ids = list(points)
    return gpd.GeoDataFrame(
        {
            "added_gfa_m2": [residents[i] * 30.0 for i in ids],
            "added_dwellings": [residents[i] / 2.0 for i in ids],
            "added_residents": [residents[i] for i in ids],
            "added_jobs": [0.0] * len(ids),
            "zone": ["UB"] * len(ids),
        },
        geometry=[shapely.box(x - 5, y - 5, x + 5, y + 5) for x, y in (points[i] for i in ids)],
        crs="EPSG:2154",
        index=pd.Index(ids, name="parcel_id"),
    )


def _tee(oneway: list[bool] | None = None) -> cimkit.CityModel:
    """A (0) - B (1) - C (2) along y = Y0, 100 m each, and B - D (3) 100 m north."""
    xy = [(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0), (X0 + 100, Y0 + 100)]
    nodes = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=2154)
    pairs = [(0, 1), (1, 2), (1, 3)]
    data = {"u": [u for u, _ in pairs], "v": [v for _, v in pairs]}
    if oneway is not None:
        data["oneway"] = oneway
    edges = gpd.GeoDataFrame(data, geometry=[LineString([xy[u], xy[v]]) for u, v in pairs], crs=2154)
    model = cimkit.CityModel(2154)
    model.add_network(Network(nodes, edges, kind="road"))
    return model


def test_hand_counts_on_a_tee():
    model = _tee()
    # 100 residents at A, 40 at C; two destinations, at C and at D: each gets half of the trips
    homes = _homes({"atA": (X0 - 10, Y0), "atC": (X0 + 210, Y0)}, {"atA": 100.0, "atC": 40.0})
    shops = gpd.GeoDataFrame(geometry=[Point(X0 + 200, Y0 + 3), Point(X0 + 100, Y0 + 104)], crs=2154)
    impact = compute_traffic_impact(model, homes, destinations=shops)
    t_a, t_c = 100 * RATE, 40 * RATE  # 20.475 and 8.19 peak-hour trips
    assert impact.parcels["added_peak_trips"].to_dict() == pytest.approx({"atA": 20.475, "atC": 8.19})
    edges = impact.tables["edges"]["added_peak_trips"]
    # A-B carries all of A's trips; B-C half of A's (to C) and half of C's (to D); B-D the same
    assert edges.to_dict() == pytest.approx({0: t_a, 1: t_a / 2 + t_c / 2, 2: t_a / 2 + t_c / 2})
    assert edges.to_dict() == pytest.approx({0: 20.475, 1: 14.3325, 2: 14.3325})
    assert impact.summary["added_peak_trips"] == pytest.approx(28.665)
    assert impact.summary["max_segment_added_peak_trips"] == pytest.approx(20.475)
    assert impact.summary["added_peak_trips_edge_0"] == pytest.approx(20.475)
    # vehicle-km: (20.475 + 14.3325 + 14.3325) x 0.1 km
    assert impact.summary["added_peak_vehicle_km"] == pytest.approx(4.914)
    assert impact.summary["unrouted_peak_trips"] == 0.0 and impact.summary["segments_loaded"] == 3.0
    step = prov.get(impact.parcels).steps[-1]
    assert step.action == "traffic_impact" and step.params["destinations"] == 2
    assert step.params["trips_per_resident_day"] == 3.15 and step.params["car_share"] == 0.65


def test_hand_counts_with_fewer_destinations_than_origins():
    # homes at A, C and D, one destination at B: each street carries the trips of its end
    # (trees are then grown from the destination on the reversed graph)
    model = _tee()
    homes = _homes(
        {"atA": (X0 - 10, Y0), "atC": (X0 + 210, Y0), "atD": (X0 + 100, Y0 + 110)},
        {"atA": 100.0, "atC": 40.0, "atD": 20.0},
    )
    shop = gpd.GeoDataFrame(geometry=[Point(X0 + 100, Y0 - 4)], crs=2154)
    impact = compute_traffic_impact(model, homes, destinations=shop)
    edges = impact.tables["edges"]["added_peak_trips"]
    assert edges.to_dict() == pytest.approx({0: 20.475, 1: 8.19, 2: 4.095})


def test_one_way_street_leaves_trips_unrouted():
    # B -> C only (edge 1 drawn B to C, one-way); homes at C cannot leave towards A
    model = _tee(oneway=[False, True, False])
    homes = _homes({"atC": (X0 + 210, Y0)}, {"atC": 40.0})
    shop = gpd.GeoDataFrame(geometry=[Point(X0 - 3, Y0)], crs=2154)
    with pytest.warns(CoverageWarning, match="found no path") as caught:
        impact = compute_traffic_impact(model, homes, destinations=shop, car_share=0.5, peak_hour_share=0.1)
    assert caught[0].message.code == "SCN303"
    assert impact.summary["added_peak_trips"] == pytest.approx(40 * 3.15 * 0.5 * 0.1)
    assert impact.summary["unrouted_peak_trips"] == pytest.approx(6.3)
    assert impact.tables["edges"].empty
    assert any("found no path" in c for c in impact.caveats)


def test_one_way_street_on_the_reversed_trees():
    # homes at C and D, one destination at A (two origins, one destination: reversed trees);
    # B -> C is one-way, so C's trips are lost and D's go D-B-A
    model = _tee(oneway=[False, True, False])
    homes = _homes({"atC": (X0 + 210, Y0), "atD": (X0 + 100, Y0 + 110)}, {"atC": 40.0, "atD": 20.0})
    shop = gpd.GeoDataFrame(geometry=[Point(X0 - 3, Y0)], crs=2154)
    with pytest.warns(CoverageWarning, match="found no path"):
        impact = compute_traffic_impact(model, homes, destinations=shop)
    assert impact.summary["unrouted_peak_trips"] == pytest.approx(40 * RATE)
    assert impact.tables["edges"]["added_peak_trips"].to_dict() == pytest.approx({0: 20 * RATE, 2: 20 * RATE})


def test_sample_city_vehicle_km_equal_the_shortest_distances(sample_city_dir):
    model = cimkit.CityModel("EPSG:2154")
    pois = gpd.read_file(sample_city_dir / "pois.geojson")
    model.add_layer("pois", pois)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two street ends snapped
        model.add_network(cimkit.read_network(sample_city_dir / "streets.geojson", kind="road"))
    homes = _homes({"a": (650_700.0, 6_847_300.0), "b": (651_250.0, 6_846_950.0)}, {"a": 120.0, "b": 60.0})
    impact = compute_traffic_impact(model, homes)
    network = model.network("road")
    # independently: vehicle-km = sum over origins o and POIs d of trips_o / n_pois x dist(o, d)
    graph = network.to_networkx(directed="auto")
    poi_nodes = network.nearest_node(pois.geometry)["node_id"]
    origin_nodes = network.nearest_node(homes.geometry.representative_point())["node_id"]
    expected = 0.0
    for pid, o in origin_nodes.items():
        dist = nx.single_source_dijkstra_path_length(graph, o, weight="length_m")
        trips = homes.loc[pid, "added_residents"] * RATE
        expected += sum(trips / len(pois) * dist[d] for d in poi_nodes) / 1000.0
    assert impact.summary["added_peak_vehicle_km"] == pytest.approx(expected, rel=1e-9)
    assert impact.summary["added_peak_trips"] == pytest.approx(180 * RATE)
    assert impact.summary["unrouted_peak_trips"] == 0.0
    # no segment carries more than all the trips; the most loaded first
    edges = impact.tables["edges"]
    assert edges["added_peak_trips"].max() <= 180 * RATE + 1e-9
    assert edges["added_peak_trips"].is_monotonic_decreasing


def test_traffic_without_road_network_is_not_available():
    homes = _homes({"a": (X0, Y0)}, {"a": 10.0})
    impact = compute_traffic_impact(cimkit.CityModel(2154), homes)
    assert not impact.available and "road network" in impact.caveats[0]
