"""Corpus cases: accessibility misuse (budgets, speeds, empty or unknown POIs) and a correct score.

A 600 m street built from scratch, homes and POIs on it; every value checked by hand.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

from cimkit.analysis.accessibility import compute_fifteen_minute_score
from cimkit.network.topology import build_network
from tests.corpus._registry import corpus_case

GROUPS = {"education": ["school"], "food": ["bakery"]}


def _street():
    lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (600, 0)])], crs="EPSG:2154")
    net = build_network(lines, kind="road")
    net.edges["walk_time_min"] = net.edges["length_m"] / 80.0  # 80 m per minute = 4.8 km/h
    homes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(600, 0)], index=["h1", "h2"], crs="EPSG:2154")
    pois = gpd.GeoDataFrame(
        {"category": ["school", "bakery"]}, geometry=[Point(600, 0), Point(0, 0)], crs="EPSG:2154"
    )
    return net, homes, pois


@corpus_case("access/score-on-a-street", expect="ok")
def _score(tmp, shared):
    net, homes, pois = _street()
    score = compute_fifteen_minute_score(net, homes, pois, categories=GROUPS, max_time_min=5)
    # 600 m at 80 m/min = 7.5 min: each home has one group at 0 min and the other at 7.5 (> 5)
    assert score["education_min"].tolist() == [7.5, 0.0] and score["score"].tolist() == [0.5, 0.5]
    assert compute_fifteen_minute_score(net, homes, pois, categories=GROUPS)["score"].tolist() == [1.0, 1.0]


@corpus_case("access/negative-budget", expect="error", code="ANA030")
def _negative_budget(tmp, shared):
    net, homes, pois = _street()
    compute_fifteen_minute_score(net, homes, pois, categories=GROUPS, max_time_min=-15)


@corpus_case("access/zero-budget", expect="error", code="ANA030")
def _zero_budget(tmp, shared):
    net, homes, pois = _street()
    compute_fifteen_minute_score(net, homes, pois, categories=GROUPS, max_time_min=0)


@corpus_case("access/nan-walking-speed", expect="error", code="ANA031")
def _nan_speed(tmp, shared):
    net, homes, pois = _street()
    compute_fifteen_minute_score(net, homes, pois, categories=GROUPS, walk_kmh=np.nan)


@corpus_case("access/empty-pois", expect="error", code="ANA032")
def _empty_pois(tmp, shared):
    net, homes, pois = _street()
    compute_fifteen_minute_score(net, homes, pois.iloc[:0], categories=GROUPS)


@corpus_case("access/pois-of-unknown-categories", expect="error", code="ANA033")
def _unknown_categories(tmp, shared):
    net, homes, pois = _street()
    pois["category"] = ["école", "boulangerie"]
    compute_fifteen_minute_score(net, homes, pois, categories=GROUPS)


@corpus_case("access/some-pois-of-unknown-categories", expect="repaired", code="ANA130")
def _some_unknown(tmp, shared):
    t = pd.DataFrame([[2.0, 4.0, 1.0]], index=["h1"], columns=["p1", "p2", "p3"])
    kinds = pd.Series(["school", "bakery", "casino"], index=t.columns)
    score = compute_fifteen_minute_score(t, destinations=kinds, categories=GROUPS, max_time_min=15)
    assert score.attrs["unmatched_destinations"] == 1 and score["score"].tolist() == [1.0]
