"""Coverage of the accessibility analysis: what it cannot answer is counted, warned and kept.

A tiny street network in two pieces (Lambert-93, metres), walked at 80 m/min (4.8 km/h):

    piece A: node 0 (X0, Y0) - node 1 (X0+100, Y0) - node 2 (X0+200, Y0)
    piece B: node 3 (X0+1000, Y0) - node 4 (X0+1100, Y0)

Homes (4 m squares): hA 8 m south of node 0, hB 8 m south of node 4, hFar 408 m south of node 2
(farther than the default 300 m ``access_distance_m``); an office 8 m south of node 1. A school
16 m north of node 1 (piece A), a doctor 16 m north of node 3 (piece B), no bakery at all.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cimkit
from cimkit.analysis.accessibility import assess, compute_fifteen_minute_score, compute_nearest_times
from cimkit.errors import CoverageWarning, ValidationError
from cimkit.model import CityModel
from cimkit.network.graph import Network

X0, Y0 = 651_000.0, 6_847_000.0
GROUPS = {"education": ["school"], "health": ["doctor"], "food": ["bakery"]}


def _network() -> Network:
    xy = [(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0), (X0 + 1000, Y0), (X0 + 1100, Y0)]
    nodes = gpd.GeoDataFrame(geometry=shapely.points(xy), index=pd.Index(range(5), name="node_id"), crs=2154)
    pairs = [(0, 1), (1, 2), (3, 4)]
    edges = gpd.GeoDataFrame(
        {"u": [a for a, _ in pairs], "v": [b for _, b in pairs]},
        geometry=[shapely.LineString([xy[a], xy[b]]) for a, b in pairs],
        index=pd.Index(range(len(pairs)), name="edge_id"),
        crs=2154,
    )
    edges["walk_time_min"] = edges.geometry.length / 80.0
    return Network(nodes, edges, kind="road")


def _model() -> CityModel:
    centres = {
        "hA": (X0, Y0 - 8),
        "hB": (X0 + 1100, Y0 - 8),
        "hFar": (X0 + 200, Y0 - 408),
        "work": (X0 + 100, Y0 - 8),
    }
    buildings = gpd.GeoDataFrame(
        {"use": ["residential", "residential", "residential", "office"]},
        geometry=[shapely.box(x - 2, y - 2, x + 2, y + 2) for x, y in centres.values()],
        index=pd.Index(list(centres), name="building_id"),
        crs=2154,
    )
    pois = gpd.GeoDataFrame(
        {"category": ["school", "doctor"]},
        geometry=shapely.points([(X0 + 100, Y0 + 16), (X0 + 1000, Y0 + 16)]),
        index=pd.Index(["p_school", "p_doctor"], name="poi_id"),
        crs=2154,
    )
    model = CityModel(2154)
    model.add_layer("buildings", buildings)
    model.add_layer("pois", pois)
    model.add_network(_network())
    return model


def _assess(model: CityModel, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = assess(model, categories=GROUPS, **kwargs)
    return result, [w for w in caught if issubclass(w.category, CoverageWarning)]


def test_unreachable_homes_are_counted_in_city_caveats_and_a_warning():
    result, caught = _assess(_model())
    city = result.city
    assert int(city["homes"]) == 3
    # hB is on piece B (no school); hA and hFar on piece A (no doctor); no bakery anywhere
    assert int(city["homes_unreachable_school"]) == 1
    assert int(city["homes_unreachable_doctor"]) == 2
    assert int(city["homes_unreachable_bakery"]) == 3
    assert int(city["pois_school"]) == 1 and int(city["pois_doctor"]) == 1 and int(city["pois_bakery"]) == 0
    messages = [str(w.message) for w in caught]
    assert any("2 reach no doctor, 1 reach no school" in m and "Of 3 homes" in m for m in messages)
    assert any("No POI of the categories bakery" in m for m in messages)
    assert any("2 reach no doctor, 1 reach no school" in c for c in result.caveats)


def test_times_by_hand_and_medians_count_unreachable_homes_as_infinitely_far():
    result, _ = _assess(_model())
    b = result.buildings
    # hA: 8 m walk + 100 m street + 16 m walk = 124 m at 80 m/min
    assert b.loc["hA", "school_min"] == pytest.approx(124 / 80)
    assert np.isnan(b.loc["hA", "doctor_min"])
    assert b.loc["hB", "doctor_min"] == pytest.approx(124 / 80)
    assert np.isnan(b.loc["hB", "school_min"])
    # hFar: 408 m walk to node 2, 100 m street to node 1, 16 m walk
    assert b.loc["hFar", "school_min"] == pytest.approx(524 / 80)
    assert b["score"].loc[["hA", "hB", "hFar"]].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    # median over [1.55, inf, 6.55] (not over the two reachable homes only, which would be 4.05)
    assert result.city["school_min_median"] == pytest.approx(524 / 80)
    assert np.isinf(result.city["doctor_min_median"])  # two of three homes reach none
    assert np.isnan(result.city["bakery_min_median"])  # no bakery at all


def test_homes_far_from_the_network_are_flagged_and_the_limit_is_an_option():
    result, caught = _assess(_model())
    assert result.buildings.loc["hFar", "access_distance_m"] == pytest.approx(408.0)
    assert result.buildings.loc["hA", "access_distance_m"] == pytest.approx(8.0)
    assert int(result.city["homes_far_from_network"]) == 1
    assert int(result.city["pois_far_from_network"]) == 0
    assert any("1 of 3 homes lie more than 300 m" in str(w.message) for w in caught)
    with cimkit.set_options(access_distance_m=500):
        relaxed, caught = _assess(_model())
    assert int(relaxed.city["homes_far_from_network"]) == 0
    assert not any("lie more than" in str(w.message) for w in caught)


def test_a_fully_covered_model_raises_no_coverage_warning():
    model = _model()
    model.add_layer("buildings", model.buildings.loc[["hA"]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = assess(model, categories={"education": ["school"]})
    assert not [w for w in caught if issubclass(w.category, CoverageWarning)]
    assert int(result.city["homes_unreachable_school"]) == 0
    assert float(result.city["score_mean"]) == 1.0


@pytest.mark.parametrize("budget", [0, -5, -0.5, float("nan"), float("inf")])
def test_a_budget_of_zero_or_less_is_refused(budget):
    model = _model()
    with pytest.raises(ValidationError, match="max_time_min"):
        assess(model, categories=GROUPS, max_time_min=budget)
    with pytest.raises(ValidationError, match="max_time_min"):
        compute_fifteen_minute_score(model.network("road"), model.buildings, model.pois, max_time_min=budget)
    with pytest.raises(ValidationError, match="max_time_min"):
        compute_nearest_times(model.network("road"), model.buildings, model.pois, max_time_min=budget)


def test_fifteen_minute_score_warns_for_a_group_nobody_reaches():
    t = pd.DataFrame([[2.0, 30.0], [9.0, np.nan]], index=["h1", "h2"], columns=["s", "d"])
    kinds = pd.Series(["school", "doctor"], index=t.columns)
    groups = {"education": ["school"], "health": ["doctor"], "food": ["bakery"]}
    with pytest.warns(CoverageWarning, match=r"group\(s\) food \(2 origins\).*no score exceeds 0.67"):
        score = compute_fifteen_minute_score(t, destinations=kinds, categories=groups, max_time_min=15)
    assert score["score"].tolist() == pytest.approx([1 / 3, 1 / 3])
