"""End to end on the bundled sample city: per-building 15-minute scores, nearest services, flood loss."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from cimkit.analysis.accessibility import (
    compute_access_loss,
    compute_fifteen_minute_score,
    compute_nearest_times,
)
from cimkit.network.graph import Network


@pytest.fixture(scope="module")
def city(sample_city_dir):
    from cimkit.network.read import read_network

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample streets carry deliberate snapping defects
        net = read_network(sample_city_dir / "streets.geojson", kind="road")
    buildings = gpd.read_file(sample_city_dir / "footprints.geojson").set_index("id").to_crs(net.crs)
    pois = gpd.read_file(sample_city_dir / "pois.geojson").to_crs(net.crs)
    return net, buildings, pois


def test_nearest_school_equals_networkx_door_to_door(city):
    net, buildings, pois = city
    res = compute_nearest_times(net, buildings, pois, categories=["school", "supermarket"])
    assert res.index.equals(buildings.index) and res["school_min"].notna().all()
    # reference: networkx Dijkstra on the walk times + straight access/egress walks at 80 m/min
    G = nx.DiGraph()
    csr = net.csr("walk_time_min", directed="both")  # pedestrians ignore one-way streets
    rows = np.repeat(np.arange(csr.n_nodes), np.diff(csr.indptr))
    for a, b, w in zip(csr.node_ids[rows], csr.node_ids[csr.indices], csr.weights):
        if not G.has_edge(a, b) or G[a][b]["w"] > w:
            G.add_edge(a, b, w=w)
    schools = pois[pois["category"] == "school"]
    s_nodes = net.nearest_node(schools)
    b_nodes = net.nearest_node(buildings.geometry.centroid)
    for bid in buildings.index[:10]:
        node = b_nodes.loc[bid, "node_id"]
        d = nx.single_source_dijkstra_path_length(G, node, weight="w")
        best = min(
            d.get(s_nodes.loc[s, "node_id"], np.inf) + s_nodes.loc[s, "distance_m"] / 80.0
            for s in schools.index
        )
        assert res.loc[bid, "school_min"] == pytest.approx(
            best + b_nodes.loc[bid, "distance_m"] / 80.0, rel=1e-12
        )


def test_fifteen_minute_score_and_flood_loss(city, sample_city_dir):
    net, buildings, pois = city
    base = compute_fifteen_minute_score(net, buildings, pois)
    assert base["score"].between(0, 1).all()
    # a town of ~800 m: every group except possibly one is within 15 min (1.2 km) walking
    assert base["score"].median() >= 5 / 6
    # close the streets within 40 m of the river (a crude flood) and measure the loss
    river = gpd.read_file(sample_city_dir / "river.geojson").to_crs(net.crs)
    wet = net.edges.intersects(river.buffer(40).union_all())
    assert 0 < wet.sum() < len(net.edges)
    edges = net.edges.copy()
    edges.loc[wet, "walk_time_min"] = np.nan
    flooded = Network(net.nodes, edges, kind="road")
    after = compute_fifteen_minute_score(flooded, buildings, pois)
    loss = compute_access_loss(base[["score"]], after[["score"]], kind="opportunities")
    # closing streets can only lengthen trips: no building gains
    assert (loss["score_loss"] >= 0).all()
    t_loss = compute_access_loss(base.filter(like="_min"), after.filter(like="_min"))
    finite = t_loss.drop(columns="cut_off").to_numpy()
    assert (finite[~np.isnan(finite)] >= -1e-9).all()
