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


# --- national defaults chosen from the location ---------------------------------------------
def _placed_streets(crs: str, x0: float, y0: float):
    import geopandas as gpd
    import shapely

    lines = [shapely.LineString([(x0, y0), (x0 + 1000, y0)]), shapely.LineString([(x0, y0), (x0, y0 + 1000)])]
    lines.append(shapely.LineString([(x0 + 1000, y0), (x0 + 3000, y0)]))
    return gpd.GeoDataFrame(
        {"length_m": [1000.0, 1000.0, 2000.0], "road_class": ["residential", "primary", "motorway"]},
        geometry=lines,
        crs=crs,
    )


def test_oakland_streets_take_us_speeds_not_french_ones():
    import warnings

    # UTM 10N near Oakland, California (about -122.27, 37.80)
    edges = _placed_streets("EPSG:26910", 564_000, 4_184_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inside one country's extent: no warning
        out = compute_edge_travel_times(edges)
    # California Vehicle Code: 25 mph in residence districts, 65 mph freeways (1 mile = 1.609344 km)
    assert out["speed_kmh"].tolist() == pytest.approx([25 * 1.609344, 25 * 1.609344, 65 * 1.609344])
    assert out.loc[0, "car_time_min"] == pytest.approx(1.0 / (25 * 1.609344) * 60)
    chosen = out.attrs["car_speed_defaults"]
    assert chosen["country"] == "US" and chosen["table"] == "road_speeds.csv"
    assert "California Vehicle Code" in chosen["source"] and chosen["edges_with_default_speed"] == 3


def test_france_keeps_the_french_values_and_explicit_choices_win():
    edges = _placed_streets("EPSG:2154", 651_000, 6_847_000)  # south of Paris
    out = compute_edge_travel_times(edges)
    assert out["speed_kmh"].tolist() == [50.0, 50.0, 130.0]
    assert out.attrs["car_speed_defaults"]["country"] == "FR"
    # country= overrides the location, car_kmh= overrides the table
    de = compute_edge_travel_times(edges, country="DE")
    assert (
        de["speed_kmh"].tolist() == [50.0, 50.0, 130.0] and "StVO" in de.attrs["car_speed_defaults"]["source"]
    )
    fi = compute_edge_travel_times(edges, country="FI")
    assert fi["speed_kmh"].tolist() == [50.0, 50.0, 120.0]
    es = compute_edge_travel_times(edges, country="ES")  # RD 970/2020: 30 on one-lane streets
    assert es["speed_kmh"].tolist() == [30.0, 50.0, 120.0]
    mixed = compute_edge_travel_times(edges, country="FI", car_kmh={"motorway": 100})
    assert mixed["speed_kmh"].tolist() == [50.0, 50.0, 100.0]
    assert mixed.attrs["car_speed_defaults"]["overridden_by_car_kmh"] == ["motorway"]
    with pytest.raises(ValidationError, match="no default road speeds for country 'XX'"):
        compute_edge_travel_times(edges, country="XX")


def test_no_country_found_warns_and_uses_the_stated_fallback():
    from cimkit.errors import CimkitWarning

    edges = _placed_streets("EPSG:2154", 0, 0)  # Lambert-93 origin: the sea off Africa
    with pytest.warns(CimkitWarning, match=r"French built-up-area defaults .* for 3 of 3 edges"):
        out = compute_edge_travel_times(edges)
    assert out["speed_kmh"].tolist() == [DEFAULT_CAR_KMH["residential"], 50.0, 130.0]
    assert out.attrs["car_speed_defaults"]["country"] is None
    # a single speed for every class needs no country and gives no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blanket = compute_edge_travel_times(edges, car_kmh=40)
    assert blanket["speed_kmh"].tolist() == [40.0, 40.0, 40.0]
