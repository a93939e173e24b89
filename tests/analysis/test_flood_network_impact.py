"""Tests of cimkit.analysis.flood.network_impact: flooded length, depth and closures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cimkit.analysis.flood import close_flooded_edges, compute_edge_exposure
from cimkit.errors import CRSError
from cimkit.network.graph import Network
from cimkit.raster import Raster


def _depth() -> Raster:
    # 10 x 10 cells of 1 m; a wet band in columns 3-5 (depth 0.25 m) and one deep cell
    values = np.zeros((10, 10))
    values[:, 3:6] = 0.25
    values[7, 8] = 0.6
    return Raster(values, Affine(1, 0, 0, 0, -1, 10), "EPSG:2154")


def _network() -> Network:
    pts = {1: (0.5, 5.5), 2: (9.5, 5.5), 3: (0.0, 0.0), 4: (9.9, 9.9), 5: (8.5, 2.0), 6: (8.5, 9.5)}
    nodes = gpd.GeoDataFrame(
        geometry=[shapely.Point(p) for p in pts.values()],
        index=pd.Index(list(pts), name="node_id", dtype="int64"),
        crs="EPSG:2154",
    )
    uv = [(1, 2), (3, 4), (5, 6)]
    edges = gpd.GeoDataFrame(
        {
            "u": [u for u, _ in uv],
            "v": [v for _, v in uv],
            "walk_time_min": [1.0, 2.0, 3.0],
            "car_time_min": [0.1, 0.2, 0.3],
        },
        geometry=[shapely.LineString([pts[u], pts[v]]) for u, v in uv],
        index=pd.Index([10, 11, 12], name="edge_id", dtype="int64"),
        crs="EPSG:2154",
    )
    return Network(nodes, edges, kind="road")


def test_edge_exposure_exact_lengths():
    depth = _depth()
    out = compute_edge_exposure(_network(), depth)
    # edge 10 is horizontal across the band x in [3, 6]: 3 m wet, 0.25 m deep (by hand)
    assert out.loc[10, "flooded_length_m"] == pytest.approx(3.0)
    assert out.loc[10, "max_depth_m"] == 0.25
    # edge 11 is a diagonal: compare with shapely (length inside the union of wet cells)
    wet_cells = [shapely.box(c, 10 - r - 1, c + 1, 10 - r) for r, c in zip(*np.nonzero(depth.values > 0))]
    wet = shapely.union_all(wet_cells)
    line = _network().edges.geometry.loc[11]
    assert out.loc[11, "flooded_length_m"] == pytest.approx(line.intersection(wet).length, rel=1e-12)
    # edge 12 runs up column 8 through the 0.6 m cell (row 7 spans y in [2, 3]): 1 m wet
    assert out.loc[12, "flooded_length_m"] == pytest.approx(1.0)
    assert out.loc[12, "max_depth_m"] == 0.6


def test_close_flooded_edges_per_mode():
    net = _network()
    before = net.edges.copy()
    closed = close_flooded_edges(net, _depth())
    e = closed.edges
    # 0.25 m: above walk (0.2) but below car (0.3); 0.6 m closes both
    assert e["closed_walk"].tolist() == [True, True, True]
    assert e["closed_car"].tolist() == [False, False, True]
    assert e["walk_time_min"].isna().all()
    assert e["car_time_min"].tolist()[:2] == [0.1, 0.2] and np.isnan(e.loc[12, "car_time_min"])
    assert "closed_bike" in e.columns  # no bike_time_min column: only the flag
    pd.testing.assert_frame_equal(net.edges, before)  # input untouched
    # the CSR of the closed network drops the NaN arcs
    assert closed.csr("car_time_min").n_arcs == 4
    loose = close_flooded_edges(net, _depth(), closure_depths_m={"walk": 0.5})
    assert loose.edges["closed_walk"].tolist() == [False, False, True]


def test_crs_mismatch():
    net = _network()
    depth = _depth()
    depth = Raster(depth.values, depth.transform, "EPSG:3857")
    with pytest.raises(CRSError, match="to_crs"):
        compute_edge_exposure(net, depth)


def test_edge_exposure_matches_shapely_on_random_lines():
    # reference: shapely length of each line inside the union of wet cells, and the max depth
    # over the cells the line crosses with a positive length
    rng = np.random.default_rng(3)
    values = np.where(rng.uniform(size=(12, 15)) < 0.4, np.round(rng.uniform(0.01, 2, (12, 15)), 2), 0.0)
    depth = Raster(values, Affine(2, 0, 10, 0, -3, 50), "EPSG:2154")
    lines = []
    for _ in range(40):
        pts = np.column_stack([rng.uniform(5, 45, 4), rng.uniform(10, 55, 4)])
        lines.append(shapely.LineString(pts))
    edges = gpd.GeoDataFrame(geometry=lines, crs="EPSG:2154")
    out = compute_edge_exposure(edges, depth)
    cells = {
        (r, c): shapely.box(10 + 2 * c, 50 - 3 * (r + 1), 10 + 2 * (c + 1), 50 - 3 * r)
        for r in range(12)
        for c in range(15)
    }
    wet = shapely.union_all([g for (r, c), g in cells.items() if values[r, c] > 0])
    for i, line in enumerate(lines):
        assert out.loc[i, "flooded_length_m"] == pytest.approx(line.intersection(wet).length, abs=1e-9)
        crossed = [values[r, c] for (r, c), g in cells.items() if line.intersection(g).length > 1e-12]
        if crossed:
            assert out.loc[i, "max_depth_m"] == max(crossed)
        else:
            assert np.isnan(out.loc[i, "max_depth_m"])


def test_bridges_stay_open_over_the_water():
    # the same three edges, with edge 12 (through the 0.6 m cell) tagged as a bridge as OSM writes it
    network = _network()
    edges = network.edges.assign(bridge=["no", None, "yes"])
    tagged = Network(network.nodes, edges, kind="road")
    out = close_flooded_edges(tagged, _depth())
    assert out.edges.loc[12, "max_depth_m"] == 0.6  # the water under it is still measured
    assert not out.edges.loc[12, "closed_car"] and not out.edges.loc[12, "closed_walk"]
    assert out.edges.loc[12, "car_time_min"] == 0.3 and bool(out.edges.loc[12, "bridge_over_water"])
    # the untagged street through the 0.25 m band still closes to walkers (0.2 m), not to cars
    assert bool(out.edges.loc[10, "closed_walk"]) and not out.edges.loc[10, "closed_car"]
    assert not out.edges["bridge_over_water"].loc[[10, 11]].any()
    # without the tag, edge 12 closes to cars (0.6 m > 0.3 m)
    assert bool(close_flooded_edges(network, _depth()).edges.loc[12, "closed_car"])
