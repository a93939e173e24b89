"""Accessibility metrics on hand-computed toy cases, on matrices and on a small street network."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cimkit.analysis.accessibility import (
    DecayFunction,
    compute_access_loss,
    compute_cumulative_access,
    compute_fifteen_minute_score,
    compute_gravity_access,
    compute_nearest_times,
    compute_two_step_fca,
    summarise_by_zone,
)
from cimkit.errors import InputError, ValidationError
from cimkit.network.graph import Network

# origins (rows) x destinations (columns), minutes; NaN = unreachable
MATRIX = pd.DataFrame(
    [[2.0, 8.0, 16.0], [12.0, 4.0, np.nan], [25.0, 9.0, 5.0]],
    index=pd.Index(["h1", "h2", "h3"], name="building_id"),
    columns=["s1", "s2", "s3"],
)
JOBS = pd.Series([10.0, 20.0, 30.0], index=["s1", "s2", "s3"])
binary = DecayFunction.binary
linear = DecayFunction.linear
negative_exponential = DecayFunction.negative_exponential


def test_cumulative_on_matrix():
    res = compute_cumulative_access(MATRIX, opportunities=JOBS, max_time_min=(5, 10, 15, 20))
    # h1: 2 -> 10 | 2, 8 -> 30 | 30 | 16 -> 60 ; h2: 4 -> 20 | 20 | 12 -> 30 | 30 ; h3: 5 -> 30 (inclusive) | 9 -> 50 | 50 | 50
    assert res.loc["h1"].tolist() == [10, 30, 30, 60]
    assert res.loc["h2"].tolist() == [20, 20, 30, 30]
    assert res.loc["h3"].tolist() == [30, 50, 50, 50]
    assert list(res.columns) == ["within_5_min", "within_10_min", "within_15_min", "within_20_min"]
    counts = compute_cumulative_access(MATRIX, max_time_min=10)
    assert counts["within_10_min"].tolist() == [2, 1, 2]


def test_gravity_on_matrix():
    res = compute_gravity_access(MATRIX, opportunities=JOBS, decay=linear(20))
    # linear(20): f = 1 - t/20 -> h1: 10*0.9 + 20*0.6 + 30*0.2 = 27; h2: 10*0.4 + 20*0.8 = 20;
    # h3: 0 + 20*0.55 + 30*0.75 = 33.5
    np.testing.assert_allclose(res.to_numpy(), [27.0, 20.0, 33.5])
    exp = compute_gravity_access(MATRIX, opportunities=JOBS, decay=negative_exponential(0.1))
    assert exp["h2"] == pytest.approx(10 * math.exp(-1.2) + 20 * math.exp(-0.4))
    with pytest.raises(ValidationError):
        compute_gravity_access(MATRIX, decay=lambda t: t)


def test_two_step_fca_hand_case():
    # demand rows d1..d3 (P = 100, 200, 300), supply columns j1, j2 (S = 10, 30), binary 10 min
    m = pd.DataFrame([[5.0, 20.0], [8.0, 9.0], [30.0, 2.0]], index=["d1", "d2", "d3"], columns=["j1", "j2"])
    P = pd.Series([100.0, 200.0, 300.0], index=m.index)
    S = pd.Series([10.0, 30.0], index=m.columns)
    A = compute_two_step_fca(m, P, S, decay=binary(10))
    # R_j1 = 10 / (100 + 200) = 1/30 ; R_j2 = 30 / (200 + 300) = 0.06
    # A_d1 = 1/30 ; A_d2 = 1/30 + 0.06 ; A_d3 = 0.06
    np.testing.assert_allclose(A.to_numpy(), [1 / 30, 1 / 30 + 0.06, 0.06])
    assert (A * P).sum() == pytest.approx(S.sum())  # invariant: sum A_i P_i = sum S_j


@settings(max_examples=30, deadline=None)
@given(
    n_d=st.integers(1, 12),
    n_s=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    gaussian_decay=st.booleans(),
)
def test_two_step_fca_invariant(n_d, n_s, seed, gaussian_decay):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 40, (n_d, n_s))
    t[rng.integers(0, n_d, n_s), np.arange(n_s)] = rng.uniform(0, 10, n_s)  # every site reached
    m = pd.DataFrame(t, index=[f"d{i}" for i in range(n_d)], columns=[f"s{j}" for j in range(n_s)])
    P = pd.Series(rng.uniform(1, 500, n_d), index=m.index)
    S = pd.Series(rng.uniform(0, 50, n_s), index=m.columns)
    decay = linear(30) if gaussian_decay else binary(10)
    A = compute_two_step_fca(m, P, S, decay=decay)
    # sum_i A_i P_i = sum_j R_j sum_i P_i f_ij = sum_j S_j whenever every site has demand in reach
    assert (A * P).sum() == pytest.approx(S.sum(), rel=1e-9)


def test_nearest_times_on_matrix():
    cats = pd.Series(["school", "shop", "school"], index=MATRIX.columns)
    res = compute_nearest_times(MATRIX, destinations=cats)
    assert res.columns.tolist() == ["school_min", "shop_min"]
    assert res["school_min"].tolist() == [2.0, 12.0, 5.0]
    assert res["shop_min"].tolist() == [8.0, 4.0, 9.0]
    k2 = compute_nearest_times(MATRIX, destinations=cats, k=2, categories=["school"])
    assert np.isnan(k2.loc["h2", "school_2_min"])  # s3 unreachable from h2
    assert k2.loc["h1", "school_2_min"] == 16.0 and k2.loc["h3", "school_2_min"] == 25.0
    cut = compute_nearest_times(MATRIX, destinations=cats, max_time_min=10)
    assert np.isnan(cut.loc["h2", "school_min"])


def test_fifteen_minute_score_on_matrix():
    cats = pd.Series(["school", "doctor", "bakery"], index=MATRIX.columns)
    groups = {"education": ["school"], "health": ["doctor", "pharmacy"], "food": ["bakery"]}
    res = compute_fifteen_minute_score(MATRIX, destinations=cats, categories=groups, max_time_min=10)
    # h1: school 2, doctor 8, bakery 16 -> 2 of 3; h2: 12, 4, NaN -> 1 of 3; h3: 25, 9, 5 -> 2 of 3
    assert res["groups_reached"].tolist() == [2, 1, 2]
    np.testing.assert_allclose(res["score"], [2 / 3, 1 / 3, 2 / 3])
    weighted = compute_fifteen_minute_score(
        MATRIX,
        destinations=cats,
        categories=groups,
        max_time_min=10,
        weights={"education": 2, "health": 1, "food": 1},
    )
    # h1: (2 + 1) / 4 ; h2: 1 / 4 ; h3: (1 + 1) / 4
    np.testing.assert_allclose(weighted["score"], [0.75, 0.25, 0.5])
    assert np.isnan(res.loc["h2", "food_min"])


def test_matrix_errors_name_the_problem():
    with pytest.raises(InputError, match="not in the travel-time matrix"):
        compute_cumulative_access(MATRIX, origins=pd.Index(["nope"]))
    with pytest.raises(InputError, match="no value"):
        compute_cumulative_access(MATRIX, opportunities=JOBS.iloc[:2])
    with pytest.raises(InputError, match="negative"):
        compute_cumulative_access(-MATRIX)


# -- on a street network -----------------------------------------------------------------------
def _grid_network() -> Network:
    """3 x 3 grid, 100 m blocks, walking 80 m/min (4.8 km/h): 1.25 min per block."""
    xy = [(x * 100.0, y * 100.0) for y in range(3) for x in range(3)]
    nodes = gpd.GeoDataFrame(geometry=shapely.points(xy), index=pd.Index(range(9), name="node_id"), crs=2154)
    pairs = [(i, i + 1) for i in range(9) if i % 3 < 2] + [(i, i + 3) for i in range(6)]
    edges = gpd.GeoDataFrame(
        {"u": [a for a, _ in pairs], "v": [b for _, b in pairs]},
        geometry=[shapely.LineString([xy[a], xy[b]]) for a, b in pairs],
        index=pd.Index(range(len(pairs)), name="edge_id"),
        crs=2154,
    )
    edges["walk_time_min"] = edges.geometry.length / 80.0
    return Network(nodes, edges, kind="road")


def _buildings() -> gpd.GeoDataFrame:
    # building centroids 8 m off nodes 0, 4 and 8 -> access walk 8 / 80 = 0.1 min
    return gpd.GeoDataFrame(
        {"jobs": [0.0, 50.0, 10.0]},
        geometry=shapely.points([(0, -8), (100, 92), (200, 192)]),
        index=pd.Index(["b0", "b4", "b8"], name="building_id"),
        crs=2154,
    )


def _pois() -> gpd.GeoDataFrame:
    # a school on node 2 (16 m off: 0.2 min), a bakery on node 6 (0 m)
    return gpd.GeoDataFrame(
        {"category": ["school", "bakery"], "capacity": [100.0, 0.0]},
        geometry=shapely.points([(216, 0), (0, 200)]),
        index=pd.Index(["p_school", "p_bakery"], name="poi_id"),
        crs=2154,
    )


def test_nearest_times_on_network_by_hand():
    net = _grid_network()
    res = compute_nearest_times(net, _buildings(), _pois())
    # b0 -> school: 0.1 access + 2 blocks (2.5) + 0.2 egress = 2.8 ; b4 -> school: 0.1 + 2.5 + 0.2
    # b8 -> school: 0.1 + 2.5 + 0.2 ; bakery (node 6) is 2 blocks from nodes 0, 4 and 8: 0.1 + 2.5 = 2.6
    np.testing.assert_allclose(res["school_min"], [2.8, 2.8, 2.8])
    np.testing.assert_allclose(res["bakery_min"], [2.6, 2.6, 2.6])
    # the same through an explicit matrix
    from cimkit.analysis.accessibility._travel import network_matrix

    m = network_matrix(net, _buildings(), _pois(), weight="walk_time_min", max_time_min=None, walk_kmh=4.8)
    via_matrix = compute_nearest_times(m, destinations=_pois())
    np.testing.assert_allclose(via_matrix[res.columns].to_numpy(), res.to_numpy())


def test_cumulative_and_2sfca_on_network():
    net = _grid_network()
    b = _buildings()
    # jobs at the buildings: b0 -> b4: 0.1 + 2.5 + 0.1 = 2.7 min; b0 -> b8: 0.1 + 5 + 0.1 = 5.2 min
    res = compute_cumulative_access(net, b, b, opportunities="jobs", max_time_min=(1, 3, 6))
    assert res.loc["b0"].tolist() == [0.0, 50.0, 60.0]
    # b4: its own 50 jobs at 0.2 min; b0 (0 jobs) and b8 (10 jobs) at 2.7 min
    assert res.loc["b4"].tolist() == [50.0, 60.0, 60.0]
    pop = b.assign(residents=[100.0, 200.0, 300.0])
    A = compute_two_step_fca(net, pop, _pois().iloc[:1], decay=binary(3))
    # school reached within 3 min by all three (2.8 min): R = 100 / 600 -> A = 1/6 each
    np.testing.assert_allclose(A.to_numpy(), [1 / 6] * 3)


def test_flood_loss_per_building():
    net = _grid_network()
    flooded_edges = net.edges.copy()
    # close the street 1-2 (school's block from the south-west) and 0-3 (bakery side of b0)
    closed = ((flooded_edges["u"] == 1) & (flooded_edges["v"] == 2)) | (
        (flooded_edges["u"] == 0) & (flooded_edges["v"] == 3)
    )
    flooded_edges.loc[closed, "walk_time_min"] = np.nan
    flooded = Network(net.nodes, flooded_edges, kind="road")
    base = compute_nearest_times(net, _buildings(), _pois())
    after = compute_nearest_times(flooded, _buildings(), _pois())
    loss = compute_access_loss(base, after)
    # b0 -> school now 0-1-4-5-2: 4 blocks -> +2 blocks = +2.5 min; b0 -> bakery 0-1-4-3-6: +2.5 min
    np.testing.assert_allclose(loss.loc["b0", ["school_min_loss", "bakery_min_loss"]], [2.5, 2.5])
    assert loss.loc["b8", "school_min_loss"] == pytest.approx(0.0)
    assert not loss["cut_off"].any()
    # an isolated building: all streets of node 8 closed -> unreachable -> inf loss, flagged
    iso = net.edges.copy()
    iso.loc[(iso["u"] == 8) | (iso["v"] == 8), "walk_time_min"] = np.nan
    cut = compute_access_loss(
        base, compute_nearest_times(Network(net.nodes, iso, kind="road"), _buildings(), _pois())
    )
    assert cut.loc["b8", "school_min_loss"] == np.inf and cut.loc["b8", "cut_off"]
    score_loss = compute_access_loss(pd.Series([1.0, 0.5]), pd.Series([0.5, 0.5]), kind="opportunities")
    assert score_loss.iloc[:, 0].tolist() == [0.5, 0.0]


def test_summarise_by_zone():
    values = pd.DataFrame({"score": [1.0, 0.5, 0.0, 0.25]}, index=["a", "b", "c", "d"])
    zone_ids = pd.Series(["UA", "UA", "UB", None], index=["a", "b", "c", "d"])
    res = summarise_by_zone(values, zone_ids)
    assert res.loc["UA", "score_mean"] == 0.75 and res.loc["UB", "score_median"] == 0.0
    assert "d" not in res.index and len(res) == 2


def test_network_metrics_need_time_weight():
    with pytest.raises(ValidationError, match="minutes"):
        compute_nearest_times(_grid_network(), _buildings(), _pois(), weight="length_m")


def test_walking_ignores_one_way_streets_cycling_does_not():
    net = _grid_network()
    edges = net.edges.copy()
    edges["oneway"] = edges["u"] == 0  # both streets out of node 0 are one-way away from it
    edges["bike_time_min"] = edges.geometry.length / 250.0  # 15 km/h
    net = Network(net.nodes, edges, kind="road")
    school = gpd.GeoDataFrame({"category": ["school"]}, geometry=[shapely.Point(0, 0)], index=["s"], crs=2154)
    origin = pd.Series([1], index=["home"])  # a node id: no access walk
    walk = compute_nearest_times(net, origin, school)
    bike = compute_nearest_times(net, origin, school, weight="bike_time_min")
    assert walk.loc["home", "school_min"] == pytest.approx(1.25)  # 100 m at 80 m/min
    assert np.isnan(bike.loc["home", "school_min"])  # node 0 cannot be entered on a bike
