"""Topology rules of cimkit.network.topology on hand-made lines (expected values worked out by hand)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point

from cimkit.errors import GeographicCRSError, GeometryError, ValidationError
from cimkit.network.graph import summarise_topology
from cimkit.network.topology import build_network


def lines(*geoms, crs="EPSG:2154", **columns):
    return gpd.GeoDataFrame(columns or None, geometry=list(geoms), crs=crs)


def node_at(net, x, y):
    """node_id of the node at (x, y) (exactly)."""
    hit = net.nodes.index[shapely.equals(net.nodes.geometry.values, Point(x, y))]
    assert len(hit) == 1, f"no single node at {(x, y)}"
    return int(hit[0])


# --- snapping ------------------------------------------------------------------------------------
def test_endpoints_0_3_m_apart_snap_with_tolerance_0_5():
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(10.3, 0), (20, 0)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert len(net.nodes) == 3  # 0, the merged junction, 20
    assert net.report["components"] == 1
    assert net.report["endpoints_snapped"] == 1  # a tie: the first line's end stays, the other moves
    junction = node_at(net, 10, 0)
    assert net.nodes.loc[junction, "degree"] == 2
    # the moved end now lies on (10, 0): lengths 10 and 10 (20 - 10), total 20 m instead of 19.7 m
    assert sorted(net.edges["length_m"].round(9)) == [10.0, 10.0]


def test_endpoints_0_3_m_apart_do_not_snap_with_tolerance_0_2():
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(10.3, 0), (20, 0)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0.2)
    assert len(net.nodes) == 4
    assert net.report["components"] == 2
    assert net.report["endpoints_snapped"] == 0
    assert net.edges["length_m"].sum() == pytest.approx(19.7)


def test_a_stray_end_moves_onto_the_existing_junction():
    # two lines meet exactly at (10, 0); a third ends 0.3 m away: only the third moves
    gdf = lines(
        LineString([(0, 0), (10, 0)]),
        LineString([(10, 0), (10, 10)]),
        LineString([(10.3, 0), (20, 0)]),
    )
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert net.report["endpoints_snapped"] == 1
    junction = node_at(net, 10, 0)
    assert net.nodes.loc[junction, "degree"] == 3


def test_end_short_of_a_line_without_vertex_snaps_onto_the_segment():
    # a street drawn 0.3 m short of the middle of another one (no vertex there): T-junction
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(5, 0.3), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert net.report["endpoints_snapped_to_line"] == 1
    assert len(net.edges) == 3
    t = node_at(net, 5, 0)
    assert net.nodes.loc[t, "degree"] == 3
    # lengths: 5 + 5 along the main street, 5 for the side street (moved from 4.7 m)
    assert sorted(net.edges["length_m"].round(9)) == [5.0, 5.0, 5.0]


def test_end_near_an_interior_vertex_snaps_to_that_vertex():
    gdf = lines(LineString([(0, 0), (5, 0), (10, 0)]), LineString([(5.2, 0.3), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert net.report["endpoints_snapped_to_vertex"] == 1
    assert net.nodes.loc[node_at(net, 5, 0), "degree"] == 3


def test_zero_tolerance_connects_exact_coincidences_only():
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(10.000001, 0), (20, 0)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert net.report["components"] == 2


# --- splitting -----------------------------------------------------------------------------------
def test_t_junction_on_a_vertex_splits_the_through_line():
    gdf = lines(LineString([(0, 0), (5, 0), (10, 0)]), LineString([(5, 0), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert len(net.edges) == 3
    assert net.report["lines_split"] == 1
    t = node_at(net, 5, 0)
    assert net.nodes.loc[t, "degree"] == 3
    # the two pieces of the through line come from source row 0
    pieces = net.edges[net.edges["source_index"] == 0]
    assert len(pieces) == 2
    assert sorted(pieces["length_m"]) == [5.0, 5.0]


def test_crossing_without_shared_vertex_is_not_split():
    # a bridge: the lines cross at (5, 0) but neither has a vertex there
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(5, -5), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert len(net.edges) == 2
    assert len(net.nodes) == 4
    assert net.report["components"] == 2


def test_crossing_with_a_shared_vertex_is_split_into_four():
    gdf = lines(LineString([(0, 0), (5, 0), (10, 0)]), LineString([(5, -5), (5, 0), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert len(net.edges) == 4
    assert net.nodes.loc[node_at(net, 5, 0), "degree"] == 4
    assert net.report["components"] == 1


# --- duplicates ----------------------------------------------------------------------------------
def test_duplicate_line_is_dropped_in_either_direction():
    gdf = lines(
        LineString([(0, 0), (10, 0)]),
        LineString([(0, 0), (10, 0)]),
        LineString([(10, 0), (0, 0)]),
        LineString([(0, 0), (5, 5), (10, 0)]),  # same ends, other path: a parallel edge, kept
    )
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert net.report["duplicates_dropped"] == 2
    assert len(net.edges) == 2
    assert sorted(net.edges["source_index"]) == [0, 3]


def test_opposite_oneway_lines_are_not_duplicates():
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(10, 0), (0, 0)]), oneway=[True, True])
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert len(net.edges) == 2
    assert net.report["duplicates_dropped"] == 0


def test_zero_length_lines_are_dropped():
    gdf = lines(LineString([(0, 0), (10, 0)]), LineString([(3, 3), (3, 3)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    assert len(net.edges) == 1
    assert len(net.nodes) == 2


# --- report --------------------------------------------------------------------------------------
def test_two_components_and_dangles_are_reported():
    # component A: a path 0-10-20 (dangles at both ends); component B: a triangle (no dangle)
    gdf = lines(
        LineString([(0, 0), (10, 0)]),
        LineString([(10, 0), (20, 0)]),
        LineString([(100, 0), (110, 0)]),
        LineString([(110, 0), (105, 8)]),
        LineString([(105, 8), (100, 0)]),
    )
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    rep = net.report
    assert rep["components"] == 2
    assert rep["component_sizes"] == [3, 3]
    assert rep["dangles"] == 2
    assert sorted(rep["dangle_ids"]) == sorted([node_at(net, 0, 0), node_at(net, 20, 0)])
    assert net.nodes.loc[node_at(net, 10, 0), "degree"] == 2
    comp = net.nodes["component"]
    assert comp[node_at(net, 0, 0)] == comp[node_at(net, 20, 0)] != comp[node_at(net, 105, 8)]


def test_network_report_of_an_isolated_node():
    gdf = lines(LineString([(0, 0), (10, 0)]))
    net = build_network(gdf, kind="power", snap_tolerance_m=0)
    extra = gpd.GeoDataFrame(geometry=[Point(50, 50)], index=[99], crs=net.nodes.crs)
    rep = summarise_topology(
        gpd.GeoDataFrame(geometry=list(net.nodes.geometry) + list(extra.geometry)), net.edges
    )
    assert rep["isolated_nodes"] == 1
    assert rep["components"] == 2


# --- input handling ------------------------------------------------------------------------------
def test_multilinestrings_are_exploded_and_attributes_copied():
    gdf = lines(
        MultiLineString([[(0, 0), (10, 0)], [(10, 0), (10, 10)]]),
        LineString([(10, 10), (20, 10)]),
        name=["a", "b"],
        diameter_mm=[200.0, 150.0],
    )
    net = build_network(gdf, kind="water", snap_tolerance_m=0)
    assert len(net.edges) == 3
    assert sorted(net.edges["name"]) == ["a", "a", "b"]
    assert net.edges.loc[net.edges["name"] == "b", "diameter_mm"].item() == 150.0
    assert net.report["components"] == 1
    assert net.edges.index.name == "edge_id" and net.nodes.index.name == "node_id"
    assert net.edges.index.dtype == np.int64 and net.nodes.index.dtype == np.int64


def test_edges_run_from_u_to_v():
    gdf = lines(LineString([(0, 0), (5, 0), (10, 0)]), LineString([(5, 0), (5, 5)]))
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    start = shapely.get_point(net.edges.geometry.values, 0)
    end = shapely.get_point(net.edges.geometry.values, -1)
    assert shapely.equals(start, net.nodes.geometry.loc[net.edges["u"]].values).all()
    assert shapely.equals(end, net.nodes.geometry.loc[net.edges["v"]].values).all()


def test_geographic_crs_is_refused():
    gdf = lines(LineString([(2.3, 48.8), (2.31, 48.8)]), crs="EPSG:4326")
    with pytest.raises(GeographicCRSError, match="read_network"):
        build_network(gdf, kind="road")


def test_polygons_are_refused_with_their_ids():
    gdf = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 0)]), Point(0, 0).buffer(1)], index=[7, 8])
    with pytest.raises(GeometryError) as err:
        build_network(gdf, kind="road")
    assert err.value.entity == [8]


def test_negative_tolerance_is_refused():
    with pytest.raises(ValidationError):
        build_network(lines(LineString([(0, 0), (1, 0)])), kind="road", snap_tolerance_m=-1)


def test_random_grid_matches_an_independent_vertex_graph():
    # Random polylines on an integer grid share vertices wherever they meet at a grid point; the
    # reference graph joins consecutive vertices of every line (networkx), independently of the
    # splitting code. Components, and shortest-path lengths between nodes, must agree.
    rng = np.random.default_rng(7)
    geoms = []
    for _ in range(120):
        n = int(rng.integers(2, 6))
        start = rng.integers(0, 15, size=2)
        steps = rng.choice([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1)], size=n - 1)
        pts = np.vstack([start, start + np.cumsum(steps, axis=0)]).astype(float) * 10
        if len(np.unique(pts, axis=0)) == len(pts):
            geoms.append(LineString(pts))
    net = build_network(lines(*geoms), kind="road", snap_tolerance_m=0)
    ref = nx.Graph()
    for g in geoms:
        c = [tuple(p) for p in np.asarray(g.coords)]
        for a, b in itertools.pairwise(c):
            ref.add_edge(a, b, w=float(np.hypot(b[0] - a[0], b[1] - a[1])))
    # components: the reference graph has extra degree-2 vertices but the same components
    assert net.report["components"] == nx.number_connected_components(ref)
    ours = nx.Graph()
    for u, v, w in net.edges[["u", "v", "length_m"]].itertuples(index=False):
        if not ours.has_edge(u, v) or ours[u][v]["w"] > w:
            ours.add_edge(u, v, w=w)
    xy = {i: (p.x, p.y) for i, p in net.nodes.geometry.items()}
    ids = net.nodes.index.to_numpy()
    for _ in range(30):
        a, b = rng.choice(ids, size=2, replace=False)
        try:
            expected = nx.shortest_path_length(ref, xy[a], xy[b], weight="w")
        except nx.NetworkXNoPath:
            assert not nx.has_path(ours, a, b)
            continue
        assert nx.shortest_path_length(ours, a, b, weight="w") == pytest.approx(expected, abs=1e-9)


def test_network_components_dangles_and_networkx():
    gdf = lines(
        LineString([(0, 0), (10, 0)]),
        LineString([(10, 0), (20, 0)]),
        LineString([(100, 0), (110, 0)]),
        oneway=[True, False, False],
    )
    net = build_network(gdf, kind="road", snap_tolerance_m=0)
    comp = net.components()
    assert comp.value_counts().to_dict() == {0: 3, 1: 2}
    assert sorted(net.dangles()) == sorted(
        [node_at(net, 0, 0), node_at(net, 20, 0), node_at(net, 100, 0), node_at(net, 110, 0)]
    )
    g = net.to_networkx()
    assert (g.number_of_nodes(), g.number_of_edges()) == (5, 3)
    assert nx.number_connected_components(g) == 2
    dg = net.to_networkx(directed="auto")
    assert dg.number_of_edges() == 5  # the oneway edge once, the two others twice
    a, b = node_at(net, 0, 0), node_at(net, 10, 0)
    assert dg.has_edge(a, b) and not dg.has_edge(b, a)
    assert dg[a][b][0]["length_m"] == 10.0


def test_an_end_on_a_vertex_keeps_its_place_when_a_stray_end_is_near():
    # line 1 ends exactly on the interior vertex (5, 0) of line 0 (a T); line 2 ends 0.3 m away.
    # The stray end must move onto the T, not the T onto the stray end.
    gdf = lines(
        LineString([(0, 0), (5, 0), (10, 0)]),
        LineString([(5, 0), (5, 5)]),
        LineString([(5.3, -0.1), (5.3, -5)]),
    )
    net = build_network(gdf, kind="road", snap_tolerance_m=0.5)
    t = node_at(net, 5, 0)
    assert net.nodes.loc[t, "degree"] == 4
    assert net.report["components"] == 1
