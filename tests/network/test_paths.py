"""Shortest-path kernels against scipy / networkx Dijkstra (random graphs and the Helsinki OSM extract)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from cimkit.errors import NetworkError, ValidationError
from cimkit.network.graph import CSRGraph, Network
from cimkit.network.paths import (
    TravelTimeCache,
    _reverse_csr,
    aggregate_within,
    compute_nearest,
    compute_travel_times,
)


def _random_csr(n: int, m: int, seed: int, *, integer: bool = False) -> CSRGraph:
    """Random directed multigraph (parallel arcs, self-loops, zero costs allowed)."""
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    w = rng.integers(0, 5, m).astype(float) if integer else rng.random(m) * 10
    order = np.argsort(u, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    # node ids deliberately not 0..n-1 so that id <-> position mistakes show
    return CSRGraph(indptr, v[order].astype(np.int64), w[order], np.arange(m)[order], np.arange(n) * 7 + 3)


def _scipy(csr: CSRGraph, **kw) -> np.ndarray:
    # the random float costs are never exactly 0 (scipy would need them nudged, see CSRGraph.to_scipy)
    d = dijkstra(csr.to_scipy(), directed=True, **kw)
    d[np.isinf(d)] = np.nan
    return d


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    density=st.floats(0.0, 4.0),
    seed=st.integers(0, 10_000),
    budget=st.one_of(st.none(), st.floats(0.0, 20.0)),
)
def test_travel_times_equal_scipy_on_random_graphs(n, density, seed, budget):
    csr = _random_csr(n, int(n * density), seed)
    got = compute_travel_times(csr, max_time_min=budget).to_numpy()
    ref = _scipy(csr, limit=np.inf if budget is None else budget)
    # exactly the same floating-point sums as scipy (no tolerance)
    np.testing.assert_array_equal(got, ref)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 10_000), k=st.integers(1, 4), nf=st.integers(1, 8))
def test_nearest_k_equal_scipy(n, seed, k, nf):
    csr = _random_csr(n, 3 * n, seed)
    rng = np.random.default_rng(seed)
    fac_pos = rng.integers(0, n, nf)  # facilities may share a node
    fac_ids = pd.Series(csr.node_ids[fac_pos], index=[f"f{i}" for i in range(nf)])
    res = compute_nearest(csr, None, fac_ids, k=k)
    # reference: distances *to* the facilities = scipy from the facilities on the transposed graph
    back = dijkstra(csr.to_scipy().T.tocsr(), directed=True, indices=fac_pos).T  # nodes x facilities
    ref = np.sort(back, axis=1)[:, :k]
    if ref.shape[1] < k:
        ref = np.hstack([ref, np.full((n, k - ref.shape[1]), np.inf)])
    ref[np.isinf(ref)] = np.nan
    cols = ["cost"] if k == 1 else [f"cost_{i + 1}" for i in range(k)]
    np.testing.assert_array_equal(res[cols].to_numpy(), ref)
    # the reported facility is one at that cost
    fcol = "destination" if k == 1 else "destination_1"
    for row, fac in enumerate(res[fcol]):
        if fac is not None and not (isinstance(fac, float) and np.isnan(fac)):
            j = list(fac_ids.index).index(fac)
            assert back[row, j] == res[cols[0]].iloc[row]


def test_nearest_one_equals_scipy_min_only_and_forward_times():
    csr = _random_csr(300, 1200, 0)
    fac = np.array([3, 50, 77, 200])
    res = compute_nearest(csr, None, csr.node_ids[fac])
    ref = dijkstra(csr.to_scipy().T.tocsr(), directed=True, indices=fac, min_only=True)
    ref[np.isinf(ref)] = np.nan
    np.testing.assert_array_equal(res["cost"].to_numpy(), ref)
    # and (up to summation order) the forward one-to-many times
    fwd = compute_travel_times(csr, None, csr.node_ids[fac]).min(axis=1).to_numpy()
    np.testing.assert_allclose(res["cost"].to_numpy(), fwd, rtol=1e-12)


def _line_network(oneway: bool) -> Network:
    # 0 -- 1 -- 2, unit-ish lengths, optional one-way 1 -> 2
    nodes = gpd.GeoDataFrame(
        geometry=shapely.points([(0, 0), (100, 0), (200, 0)]),
        index=pd.Index([10, 11, 12], name="node_id"),
        crs=3857,
    )
    edges = gpd.GeoDataFrame(
        {"u": [10, 11], "v": [11, 12], "oneway": [False, oneway]},
        geometry=[shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (200, 0)])],
        index=pd.Index([1, 2], name="edge_id"),
        crs=3857,
    )
    edges["walk_time_min"] = edges["geometry"].length / 80.0  # 4.8 km/h = 80 m/min
    return Network(nodes, edges, kind="road")


def test_oneway_direction_in_nearest_and_travel_times():
    net = _line_network(oneway=True)
    # from 12 nothing is reachable (one-way 11 -> 12 only); from 10 the facility at 12 is 2.5 min
    res = compute_nearest(net, None, [12], k=1)
    assert res.loc[10, "cost"] == pytest.approx(2.5)
    assert res.loc[11, "cost"] == pytest.approx(1.25)
    assert res.loc[12, "cost"] == 0.0
    to_10 = compute_nearest(net, None, [10], k=1)
    assert np.isnan(to_10.loc[12, "cost"]) and to_10.loc[12, "destination"] is None
    tt = compute_travel_times(net, [10, 12], [10, 12])
    assert tt.loc[10, 12] == pytest.approx(2.5) and np.isnan(tt.loc[12, 10])


def test_travel_times_labels_from_series_and_budget():
    net = _line_network(oneway=False)
    src = pd.Series([10, 12, 10], index=pd.Index(["a", "b", "c"], name="building_id"))
    tt = compute_travel_times(net, src, pd.Series([12], index=["school"]), max_time_min=2.0)
    assert list(tt.index) == ["a", "b", "c"] and list(tt.columns) == ["school"]
    # 200 m at 80 m/min = 2.5 min > budget 2 -> NaN; b is the school's node -> 0
    assert np.isnan(tt.loc["a", "school"]) and tt.loc["b", "school"] == 0.0


def test_bad_inputs_raise_typed_errors():
    net = _line_network(oneway=False)
    with pytest.raises(NetworkError):
        compute_travel_times(net, [999])
    with pytest.raises(ValidationError):
        compute_travel_times(net, [10], max_time_min=-1)
    with pytest.raises(ValidationError):
        compute_nearest(net, None, [10], k=0)
    with pytest.raises(ValidationError):
        aggregate_within(net, np.ones(2), 1.0)  # 2 values for 3 nodes
    with pytest.raises(ValidationError):
        TravelTimeCache(net, 1.0, weight="walk_time_min").aggregate(np.ones(3), 2.0)
    # a budget in the wrong unit for the weight is refused
    with pytest.raises(ValidationError, match="metres"):
        compute_travel_times(net, [10], weight="length_m", max_time_min=5.0)
    with pytest.raises(ValidationError, match="minutes"):
        compute_nearest(net, None, [10], max_distance_m=100.0)
    with pytest.raises(ValidationError, match="not both"):
        aggregate_within(net, np.ones(3), 1.0, max_distance_m=1.0)
    with pytest.raises(ValidationError, match="built with"):
        TravelTimeCache(net, 2.0).aggregate(np.ones(3), max_distance_m=1.0)


def test_reverse_csr_is_the_transpose():
    csr = _random_csr(50, 200, 5)
    rev = _reverse_csr(csr)
    a = csr.to_scipy().toarray()
    b = rev.to_scipy().toarray()
    np.testing.assert_array_equal(a.T, b)
    assert _reverse_csr(csr) is rev  # remembered


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000), integer=st.booleans())
def test_aggregate_within_and_cache_equal_brute_force(n, seed, integer):
    csr = _random_csr(n, 3 * n, seed, integer=integer)
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 10, (n, 2)).astype(float)
    budgets = [4.0, 1.0, 8.0]  # unsorted on purpose; integer costs create ties at the budget
    d = dijkstra(csr.to_scipy(), directed=True)
    # brute force: sum of values at nodes with cost <= budget (inclusive)
    ref = np.stack([(d <= c).astype(float) @ values for c in budgets], axis=1)  # n x budget x 2
    one = aggregate_within(csr, values, budgets)
    np.testing.assert_array_equal(one.to_numpy().reshape(n, 3, 2), ref)
    cache = TravelTimeCache(csr, 8.0)
    np.testing.assert_array_equal(cache.aggregate(values, budgets).to_numpy().reshape(n, 3, 2), ref)
    # the cache holds exactly the pairs within 8 (scipy count), sorted by cost per origin
    assert cache.n_pairs == int((d <= 8.0).sum())
    first = cache.reached(csr.node_ids[0])
    assert first.is_monotonic_increasing


def test_aggregate_within_series_values_and_origins():
    net = _line_network(oneway=False)
    jobs = pd.Series([5.0, 7.0, 1.0], index=[10, 11, 12])  # by node id
    res = aggregate_within(net, jobs, [1.25, 3.0], origins=[10, 12], weight="walk_time_min")
    # from 10: within 1.25 min reaches 10 and 11 (exactly 1.25, inclusive) -> 12; all -> 13
    assert res.loc[10].tolist() == [12.0, 13.0]
    assert res.loc[12].tolist() == [8.0, 13.0]


# -- real data: Helsinki OSM extract ---------------------------------------------------------
@pytest.fixture(scope="module")
def helsinki_graph(shared_data):
    """Street graph built here from GDAL's OSM 'lines' layer (independent of read_network)."""
    import pyogrio

    lines = pyogrio.read_dataframe(shared_data / "osm_helsinki" / "Helsinki.osm.pbf", layer="lines")
    lines = lines[lines["highway"].notna()].to_crs(3067).explode(index_parts=False)
    lines = lines[lines.geom_type == "LineString"]
    coords = shapely.get_coordinates(lines.geometry.values)
    counts = shapely.get_num_coordinates(lines.geometry.values)
    first = np.cumsum(counts) - counts
    start = np.round(coords[first], 1)
    end = np.round(coords[first + counts - 1], 1)
    keys = pd.MultiIndex.from_arrays([np.r_[start[:, 0], end[:, 0]], np.r_[start[:, 1], end[:, 1]]])
    codes, uniq = pd.factorize(keys)
    n_lines = len(lines)
    nodes = gpd.GeoDataFrame(
        geometry=shapely.points(np.array(list(uniq))),
        index=pd.Index(np.arange(len(uniq)), name="node_id"),
        crs=3067,
    )
    edges = gpd.GeoDataFrame(
        {
            "u": codes[:n_lines],
            "v": codes[n_lines:],
            "oneway": (lines["other_tags"].fillna("").str.contains('"oneway"=>"yes"')).to_numpy(),
        },
        geometry=lines.geometry.values,
        index=pd.Index(np.arange(n_lines), name="edge_id"),
        crs=3067,
    )
    edges = edges[edges["u"] != edges["v"]]
    edges["car_time_min"] = edges.geometry.length / (30_000 / 60)  # 30 km/h
    return Network(nodes, edges, kind="road")


@pytest.mark.shared_data
def test_helsinki_travel_times_equal_networkx(helsinki_graph):
    net = helsinki_graph
    assert len(net.nodes) > 2000 and net.edges["oneway"].sum() > 50  # a real directed street graph
    G = nx.DiGraph()
    for u, v, w, one in zip(net.edges["u"], net.edges["v"], net.edges["car_time_min"], net.edges["oneway"]):
        for a, b in [(u, v)] if one else [(u, v), (v, u)]:
            if not G.has_edge(a, b) or G[a][b]["w"] > w:
                G.add_edge(a, b, w=w)
    rng = np.random.default_rng(7)
    sources = rng.choice(net.nodes.index.to_numpy(), 25, replace=False)
    got = compute_travel_times(net, sources, None, weight="car_time_min", max_time_min=4.0)
    for s in sources:
        ref = nx.single_source_dijkstra_path_length(G, s, cutoff=4.0, weight="w")
        row = got.loc[s]
        reached = row.dropna()
        assert set(reached.index) == set(ref)
        # exact equality: same additions in the same order along the shortest path
        assert all(reached[k] == ref[k] for k in ref)


@pytest.mark.shared_data
def test_helsinki_read_network_walk_times_equal_scipy(shared_data):
    import warnings

    from cimkit.network.read import read_network

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = read_network(shared_data / "osm_helsinki" / "Helsinki.osm.pbf", kind="road")
    csr = net.csr("walk_time_min")
    sources = net.nodes.index.to_numpy()[::40]
    got = compute_travel_times(net, sources, None, weight="walk_time_min").to_numpy()
    ref = dijkstra(csr.to_scipy(), directed=True, indices=csr.position(sources))
    ref[np.isinf(ref)] = np.nan
    np.testing.assert_array_equal(got, ref)
    # 1 km / 15 min walking catchments agree with a scipy-limited search
    jobs = pd.Series(1.0, index=net.nodes.index)
    agg = aggregate_within(net, jobs, [5.0, 15.0], origins=sources, weight="walk_time_min")
    lim = dijkstra(csr.to_scipy(), directed=True, indices=csr.position(sources), limit=15.0)
    assert agg[15.0].tolist() == np.isfinite(lim).sum(axis=1).tolist()
    assert agg[5.0].tolist() == (lim <= 5.0).sum(axis=1).tolist()
