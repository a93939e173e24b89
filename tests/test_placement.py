"""Placement checks (cimkit._placement): area of use, local coordinates, distance to the model, acceptance."""

from __future__ import annotations

import pickle
import warnings

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, box

import cimkit
from cimkit import provenance as prov
from cimkit._placement import (
    AREA_OF_USE_MARGIN_DEG,
    LOCAL_LIMIT_M,
    check_object_placement,
    check_placement,
    compute_extent,
)
from cimkit.errors import PlacementError, PlacementWarning, ValidationError
from cimkit.model import CityModel
from cimkit.network.graph import Network
from cimkit.raster import Raster

CRSS = ["EPSG:2154", "EPSG:2056", "EPSG:32633", "EPSG:7415"]
PARIS = (652_000.0, 6_861_000.0)  # Lambert-93 metres (Notre-Dame is at 652 302, 6 861 303)


def _area(code: str) -> tuple[float, float, float, float]:
    a = CRS.from_user_input(code).area_of_use
    return a.west, a.south, a.east, a.north


def _to_map(code: str):
    crs = CRS.from_user_input(code)
    horizontal = crs.sub_crs_list[0] if crs.is_compound else crs
    return Transformer.from_crs("EPSG:4326", horizontal, always_xy=True)


# --- property tests ---------------------------------------------------------------------------

settings_ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(
    code=st.sampled_from(CRSS),
    fx=st.floats(0.02, 0.98),
    fy=st.floats(0.02, 0.98),
    width=st.floats(1.0, 2000.0),
    height=st.floats(1.0, 2000.0),
)
def test_extents_inside_the_area_of_use_pass(code, fx, fy, width, height):
    west, south, east, north = _area(code)
    lon, lat = west + fx * (east - west), south + fy * (north - south)
    x, y = _to_map(code).transform(lon, lat)
    assert check_placement((x, y, x + width, y + height), code) == []


@settings_
@given(
    code=st.sampled_from(CRSS),
    side=st.sampled_from(["west", "east", "south", "north"]),
    away_deg=st.floats(5.0, 30.0),
    f=st.floats(0.0, 1.0),
)
def test_extents_far_outside_the_area_of_use_fail(code, side, away_deg, f):
    west, south, east, north = _area(code)
    lon, lat = west + f * (east - west), south + f * (north - south)
    if side == "west":
        lon = west - away_deg
    elif side == "east":
        lon = east + away_deg
    elif side == "south":
        lat = south - away_deg
    else:
        lat = north + away_deg
    assume(-80.0 <= lat <= 80.0)
    x, y = _to_map(code).transform(lon, lat)
    assume(np.isfinite(x) and np.isfinite(y))
    with pytest.raises(PlacementError) as info:
        check_placement((x, y, x + 100.0, y + 100.0), code, path="far.gpkg", layer="parcels")
    err = info.value
    assert err.check in ("area_of_use", "local_coordinates")
    assert err.path == "far.gpkg" and err.layer == "parcels"
    assert "area of use of " + code in str(err)


@settings_
@given(
    code=st.sampled_from(CRSS),
    x0=st.floats(-LOCAL_LIMIT_M, LOCAL_LIMIT_M - 5000.0),
    y0=st.floats(-LOCAL_LIMIT_M, LOCAL_LIMIT_M - 5000.0),
    size=st.floats(0.0, 5000.0),
)
def test_local_coordinates_are_refused_with_the_origin_hint(code, x0, y0, size):
    with pytest.raises(PlacementError) as info:
        check_placement((x0, y0, x0 + size, y0 + size), code)
    assert info.value.check == "local_coordinates"
    assert "local coordinates: pass origin=" in str(info.value)


# --- the checks one by one --------------------------------------------------------------------


def test_margin_lets_a_border_town_pass_and_refuses_beyond_it():
    # EPSG:2056's area of use ends at 10.49 E; 0.3 degree east passes, 2 degrees do not
    to_ch = _to_map("EPSG:2056")
    x, y = to_ch.transform(10.49 + 0.3, 46.8)
    assert check_placement((x, y, x + 10, y + 10), "EPSG:2056") == []
    x, y = to_ch.transform(10.49 + 2.0, 46.8)
    with pytest.raises(PlacementError, match=r"lon 5\.96 to 10\.49"):
        check_placement((x, y, x + 10, y + 10), "EPSG:2056")
    assert AREA_OF_USE_MARGIN_DEG == 0.5


def test_error_names_the_extent_in_lon_lat_and_the_expected_area():
    # a Lambert-93 extent given the Swiss CRS: Paris is not in Switzerland
    with pytest.raises(PlacementError) as info:
        check_placement((652_000, 6_861_000, 652_100, 6_861_100), "EPSG:2056", path="paris.gpkg")
    err = info.value
    assert err.check == "area_of_use" and err.extent == (652_000.0, 6_861_000.0, 652_100.0, 6_861_100.0)
    assert "Switzerland" in err.expected and "wrong CRS?" in err.hint
    # the same extent read in Lambert-93 is in Paris
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(652_000, 6_861_000)
    assert (round(lon, 2), round(lat, 2)) == (2.35, 48.85)
    assert check_placement((652_000, 6_861_000, 652_100, 6_861_100), "EPSG:2154") == []


def test_swapped_axes_are_named_as_the_likely_cause():
    with pytest.raises(PlacementError, match=r"x/y \(easting/northing\) order swapped\?"):
        check_placement((6_861_000, 652_000, 6_861_100, 652_100), "EPSG:2154")
    # degrees outside the lon/lat ranges in a geographic CRS: metres given as degrees
    with pytest.raises(PlacementError) as info:
        check_placement((652_000, 6_861_000, 652_100, 6_861_100), "EPSG:4326")
    assert info.value.check == "lonlat_range"
    # lat/lon swapped: (lat, lon) of Helsinki in KKJ (EPSG:4123), a geographic CRS of Finland only
    west, south, east, north = _area("EPSG:4123")
    lat, lon = 60.17, 24.94
    assert west <= lon <= east and south <= lat <= north
    with pytest.raises(PlacementError, match=r"lat/lon order swapped\?"):
        check_placement((lat, lon, lat + 0.01, lon + 0.01), "EPSG:4123")


def test_degrees_given_a_projected_crs_are_named():
    with pytest.raises(PlacementError, match="the values look like degrees"):
        check_placement((2.35, 48.85, 2.36, 48.86), "EPSG:2056")


def test_distance_to_the_model_uses_the_option():
    model_box = (652_000, 6_861_000, 653_000, 6_862_000)
    near = (660_000, 6_861_000, 661_000, 6_862_000)  # 7 km east
    far = (652_000, 6_761_000, 653_000, 6_762_000)  # 99 km south
    assert check_placement(near, 2154, model_bounds=model_box) == []
    with pytest.raises(PlacementError) as info:
        check_placement(far, 2154, model_bounds=model_box)
    assert info.value.check == "distance_to_model" and "lies 99 km from the model's extent" in str(info.value)
    with cimkit.set_options(placement_max_distance_m=150_000):
        assert check_placement(far, 2154, model_bounds=model_box) == []
    with pytest.raises(PlacementError):
        check_placement(near, 2154, model_bounds=model_box, max_distance_m=5_000)


def test_acceptance_warns_and_records_the_reason():
    record = prov.Provenance()
    with pytest.warns(PlacementWarning, match="accepted as it is"):
        accepted = check_placement((0, 0, 200, 100), "EPSG:2154", placement="accept", record=record)
    assert len(accepted) == 1
    step = record.steps[-1]
    assert step.action == "accept_placement" and step.params["check"] == "local_coordinates"
    assert "local coordinates: pass origin=" in step.params["reason"]
    assert step.params["extent"] == [0.0, 0.0, 200.0, 100.0]
    with cimkit.set_options(placement="accept"), pytest.warns(PlacementWarning):
        assert check_placement((0, 0, 1, 1), "EPSG:2154") != []


def test_options_are_validated():
    with pytest.raises(ValidationError):
        cimkit.set_options(placement="maybe")
    with pytest.raises(ValidationError):
        cimkit.set_options(placement_max_distance_m=0)
    with pytest.raises(ValidationError):
        check_placement((0, 0, 1, 1), 2154, placement="ignore")  # type: ignore[arg-type]
    assert cimkit.get_options()["placement"] == "check"
    assert cimkit.get_options()["placement_max_distance_m"] == 50_000.0


def test_nothing_to_check_passes():
    assert check_placement(None, 2154) == []
    assert check_placement((0, 0, 1, 1), None) == []
    assert check_placement((np.nan, 0, 1, 1), 2154) == []
    # a CRS without an area of use (a PROJ string): nothing to compare with
    assert (
        check_placement((0, 0, 1, 1), "+proj=tmerc +lat_0=0 +lon_0=3 +k=1 +x_0=0 +y_0=0 +ellps=GRS80") == []
    )


def test_error_survives_pickling():
    with pytest.raises(PlacementError) as info:
        check_placement((11, 4, 80, 30), "EPSG:32610", path="Net3.inp")
    back = pickle.loads(pickle.dumps(info.value))
    assert (back.check, back.extent, back.expected, str(back)) == (
        info.value.check,
        info.value.extent,
        info.value.expected,
        str(info.value),
    )


def test_compute_extent_of_layers_networks_and_rasters():
    x, y = PARIS
    nodes = gpd.GeoDataFrame(geometry=[Point(x, y), Point(x + 120, y + 5)], crs=2154)
    edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString(nodes.geometry)], crs=2154)
    assert compute_extent(Network(nodes, edges, kind="water")) == (x, y, x + 120, y + 5)
    raster = Raster(np.zeros((3, 4)), Affine(5.0, 0, x, 0, -5.0, y), crs=2154)
    assert compute_extent(raster) == (x, y - 15, x + 20, y)
    assert compute_extent(gpd.GeoDataFrame({"a": [1]})) is None
    assert check_object_placement(raster) == []


# --- CityModel --------------------------------------------------------------------------------


def _square(x: float, y: float, crs=2154) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(x, y, x + 50, y + 50)], crs=crs)


def test_add_layer_refuses_local_coordinates_and_far_layers():
    model = CityModel(2154)
    with pytest.raises(PlacementError, match="local coordinates: pass origin="):
        model.add_layer("parcels", _square(0, 0))
    assert "parcels" not in model
    model.add_layer("parcels", _square(*PARIS))
    # Lyon is inside Lambert-93's area of use but 392 km from the model
    with pytest.raises(PlacementError) as info:
        model.add_layer("pois", _square(842_000, 6_519_000))
    assert info.value.check == "distance_to_model" and info.value.layer == "pois"
    # replacing the only layer: the model's extent is the other layers', so nothing to compare
    model.add_layer("parcels", _square(842_000, 6_519_000))
    assert model.bounds == (842_000.0, 6_519_000.0, 842_050.0, 6_519_050.0)


def test_add_layer_checks_the_model_crs_area_of_use_after_reprojection():
    model = CityModel(2154)
    chicago = _square(447_000, 4_636_000, crs=32616)  # inside UTM 16N, outside France
    with pytest.raises(PlacementError, match="area of use of EPSG:2154"):
        model.add_layer("buildings", chicago)


def test_add_layer_accepts_explicitly_and_records_it():
    model = CityModel(2154)
    with pytest.warns(PlacementWarning):
        model.add_layer("zones", _square(0, 0), placement="accept")
    steps = [s.action for s in model.provenance_record("zones").steps]
    assert steps.count("accept_placement") == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an attribute table has no place: no check, no warning
        model.add_layer("rules", gpd.GeoDataFrame({"zone": ["U"]}).drop(columns="geometry", errors="ignore"))


def test_add_network_and_set_dem_are_checked():
    model = CityModel(2154)
    model.add_layer("parcels", _square(*PARIS))
    nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(80, 0)], crs=2154)
    edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString([(0, 0), (80, 0)])], crs=2154)
    with pytest.raises(PlacementError, match="network_water"):
        model.add_network(Network(nodes, edges, kind="water"))
    dem = Raster(np.zeros((3, 3)), Affine(5.0, 0, 0.0, 0, -5.0, 15.0), crs=2154)
    with pytest.raises(PlacementError, match="layer 'dem'"):
        model.set_dem(dem)
    with cimkit.set_options(placement="accept"), pytest.warns(PlacementWarning):
        model.set_dem(dem)
    assert model.provenance_record("dem").steps[-1].action == "accept_placement"


def test_a_layer_built_in_code_with_nan_coordinates_is_refused():
    from cimkit.errors import GeometryError
    from cimkit.model import CityModel

    model = CityModel(2154)
    frame = gpd.GeoDataFrame(
        {"category": ["school", "park", "shop"]},
        geometry=[Point(652000, 6861000), Point(np.inf, 6861000), Point(652000, np.nan)],
        index=["p1", "p2", "p3"],
        crs=2154,
    )
    with pytest.raises(GeometryError) as caught:
        model.add_layer("pois", frame)
    assert caught.value.code == "GMT010" and "['p2', 'p3']" in str(caught.value)
    assert "pois" not in model
    model.add_layer("pois", frame.loc[["p1"]])  # the finite row alone is fine
    assert model.pois.geometry.iloc[0].coords[0] == (652000.0, 6861000.0)
