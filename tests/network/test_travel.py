"""Speeds and travel times (cimkit.network.travel); expected values computed by hand in comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cimkit.errors import ValidationError
from cimkit.network.travel import DEFAULT_CAR_KMH, _parse_maxspeed, compute_edge_travel_times


@pytest.mark.parametrize(
    ("text", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),  # international mile
        ("20mph", 20 * 1.609344),
        ("10 knots", 18.52),  # 1 knot = 1.852 km/h
        ("50 km/h", 50.0),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("fr:zone30", 30.0),
        ("FI:urban", 50.0),
        ("50;30", 30.0),  # several values: the lowest
        (70, 70.0),
        ("7,5", 7.5),
    ],
)
def test_parse_maxspeed_values(text, kmh):
    assert _parse_maxspeed(text) == pytest.approx(kmh)


@pytest.mark.parametrize("text", ["none", "signals", "variable", "", None, float("nan"), 0, "walk"])
def test_parse_maxspeed_without_a_number_is_nan(text):
    assert math.isnan(_parse_maxspeed(text))


def edges(**columns):
    return pd.DataFrame(columns, index=pd.Index([10, 11, 12, 13, 14][: len(columns["length_m"])]))


def test_times_by_mode_and_class():
    e = edges(
        length_m=[1200.0, 1200.0, 1000.0, 500.0, 300.0],
        road_class=["residential", "footway", "motorway", "steps", "primary_link"],
        maxspeed=[None, None, None, None, "30"],
    )
    out = compute_edge_travel_times(e)
    # walking 1200 m at 4.8 km/h: 1.2 / 4.8 h = 15 min
    assert out.loc[10, "walk_time_min"] == pytest.approx(15.0)
    # cycling 1200 m at 15 km/h: 4.8 min
    assert out.loc[10, "bike_time_min"] == pytest.approx(4.8)
    # residential default 50 km/h: 1.2 / 50 h = 1.44 min
    assert out.loc[10, "speed_kmh"] == 50.0
    assert out.loc[10, "car_time_min"] == pytest.approx(1.44)
    assert np.isnan(out.loc[11, "car_time_min"]) and np.isnan(out.loc[11, "speed_kmh"])
    assert out.loc[11, "walk_time_min"] == pytest.approx(15.0)
    assert np.isnan(out.loc[12, "walk_time_min"]) and np.isnan(out.loc[12, "bike_time_min"])
    # motorway 130 km/h: 1 km -> 60/130 min
    assert out.loc[12, "car_time_min"] == pytest.approx(60 / 130)
    assert np.isnan(out.loc[13, "bike_time_min"]) and np.isnan(out.loc[13, "car_time_min"])
    assert out.loc[13, "walk_time_min"] == pytest.approx(0.5 / 4.8 * 60)
    # posted 30 km/h wins over the link's class default: 0.3 km / 30 km/h = 0.6 min
    assert out.loc[14, "car_time_min"] == pytest.approx(0.6)
    assert list(out.index) == list(e.index)
    assert "speed_kmh" not in e.columns  # input untouched


def test_link_classes_take_their_parent_default():
    out = compute_edge_travel_times(edges(length_m=[1000.0], road_class=["trunk_link"]))
    assert out["speed_kmh"].item() == DEFAULT_CAR_KMH["trunk"]


def test_overrides():
    e = edges(length_m=[1000.0, 1000.0], road_class=["residential", "service"], maxspeed=[None, None])
    out = compute_edge_travel_times(e, walk_kmh=6.0, bike_kmh=20.0, car_kmh={"residential": 30})
    assert out.loc[10, "walk_time_min"] == pytest.approx(10.0)
    assert out.loc[10, "bike_time_min"] == pytest.approx(3.0)
    assert out.loc[10, "car_time_min"] == pytest.approx(2.0)  # 1 km at 30 km/h
    assert out.loc[11, "speed_kmh"] == DEFAULT_CAR_KMH["service"]
    # one number for every class: 1 km at 40 km/h = 1.5 min on both
    blanket = compute_edge_travel_times(e, car_kmh=40)
    assert blanket["car_time_min"].tolist() == pytest.approx([1.5, 1.5])


def test_invalid_speeds_are_refused():
    e = edges(length_m=[1.0], road_class=["residential"])
    with pytest.raises(ValidationError):
        compute_edge_travel_times(e, walk_kmh=0)
    with pytest.raises(ValidationError):
        compute_edge_travel_times(e, car_kmh={"residential": -5})
    with pytest.raises(ValidationError):
        compute_edge_travel_times(e, car_kmh=0)
    with pytest.raises(ValidationError):
        compute_edge_travel_times(pd.DataFrame({"road_class": ["x"]}))
