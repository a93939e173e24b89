"""The 15-minute score refuses misuse (budgets, speeds, POIs) instead of scoring everyone 0."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from cimkit.analysis.accessibility import compute_fifteen_minute_score
from cimkit.errors import CoverageWarning, InputError, ValidationError
from cimkit.network.topology import build_network

GROUPS = {"education": ["school"], "health": ["doctor"], "food": ["bakery"]}


def _matrix():
    t = pd.DataFrame(
        [[2.0, 8.0, 16.0], [12.0, 4.0, None], [25.0, 9.0, 5.0]],
        index=["h1", "h2", "h3"],
        columns=["s1", "s2", "s3"],
    )
    kinds = pd.DataFrame({"category": ["school", "doctor", "bakery"]}, index=t.columns)
    return t, kinds


@pytest.mark.parametrize("budget", [-15, 0, float("nan"), float("inf"), "quinze"])
def test_a_budget_that_reaches_nothing_is_refused(budget):
    t, kinds = _matrix()
    with pytest.raises(ValidationError, match="max_time_min") as info:
        compute_fifteen_minute_score(t, destinations=kinds, categories=GROUPS, max_time_min=budget)
    assert info.value.code == "ANA030"


@pytest.mark.parametrize("speed", [float("nan"), 0.0, -4.8, float("inf")])
def test_a_speed_that_is_not_a_speed_is_refused(speed):
    t, kinds = _matrix()
    with pytest.raises(ValidationError, match="walk_kmh") as info:
        compute_fifteen_minute_score(t, destinations=kinds, categories=GROUPS, walk_kmh=speed)
    assert info.value.code == "ANA031"


def test_nan_speed_on_a_network_is_refused_before_any_routing():
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (600, 0)])], crs="EPSG:2154")
    net = build_network(lines, kind="road")
    net.edges["walk_time_min"] = net.edges["length_m"] / 80.0
    homes = gpd.GeoDataFrame(geometry=[Point(0, 10)], crs="EPSG:2154")
    pois = gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(600, 10)], crs="EPSG:2154")
    with pytest.raises(ValidationError) as info:
        compute_fifteen_minute_score(net, homes, pois, categories={"education": ["school"]}, walk_kmh=np.nan)
    assert info.value.code == "ANA031"
    # with a sane speed: 10 m at 4.8 km/h (0.125 min) + 600 m at 80 m/min (7.5 min) + 10 m (0.125 min)
    score = compute_fifteen_minute_score(net, homes, pois, categories={"education": ["school"]})
    assert score["education_min"].iloc[0] == pytest.approx(7.75)
    assert score["score"].iloc[0] == 1.0


def test_empty_pois_are_refused():
    t, kinds = _matrix()
    with pytest.raises(InputError, match="no destinations") as info:
        compute_fifteen_minute_score(t.iloc[:, :0], destinations=kinds.iloc[:0], categories=GROUPS)
    assert info.value.code == "ANA032"
    with pytest.raises(InputError) as info:
        compute_fifteen_minute_score(t.iloc[:, :0], categories=GROUPS)
    assert info.value.code == "ANA032"


def test_pois_of_unknown_categories_are_refused_or_counted():
    t, kinds = _matrix()
    french = kinds.assign(category=["école", "médecin", "boulangerie"])
    with pytest.raises(InputError, match="none of the 3 destinations") as info:
        compute_fifteen_minute_score(t, destinations=french, categories=GROUPS)
    assert info.value.code == "ANA033"
    # one unknown category among known ones: left out with a warning and a count, scores unchanged
    mixed = kinds.assign(category=["school", "doctor", "boulangerie"])
    with pytest.warns(CoverageWarning) as caught:
        score = compute_fifteen_minute_score(t, destinations=mixed, categories=GROUPS, max_time_min=10)
    assert {w.message.code for w in caught} >= {"ANA130"}
    assert score.attrs["unmatched_destinations"] == 1
    # h1 reaches school (2 min) and doctor (8 min), no bakery is known -> 2 of 3 groups
    assert score["groups_reached"].tolist() == [2, 1, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)
        clean = compute_fifteen_minute_score(t, destinations=kinds, categories=GROUPS, max_time_min=10)
    assert clean.attrs["unmatched_destinations"] == 0
    assert clean["groups_reached"].tolist() == [2, 1, 2]
