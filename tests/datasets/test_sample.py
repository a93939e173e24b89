"""load_sample_city: every sample layer in one EPSG:2154 model, with provenance, and its round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from cimkit.datasets import load_sample_city, sample_city_path
from cimkit.model import read_model


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city()


def test_layers_counts_and_crs(model):
    root = sample_city_path()
    index = pd.read_csv(root / "buildings" / "index.csv")
    assert model.crs.to_epsg() == 2154
    assert {
        "parcels",
        "zones",
        "prescriptions",
        "pois",
        "river",
        "buildings",
        "elements",
        "materials",
        "spaces",
    } <= set(model.layers)
    assert sorted(model.networks) == ["road", "water"]
    assert model.dem is not None and model.dem.crs.to_epsg() == 2154
    for name, layer in model.layers.items():
        if hasattr(layer, "crs") and "geometry" in layer:
            assert layer.crs.to_epsg() == 2154, name
    ifc = model.buildings[model.buildings["source_kind"] == "ifc"]
    assert len(ifc) == len(index) == len(list((root / "buildings").glob("*.ifc")))
    # every IFC building matched its cadastre footprint, so no footprint duplicates an IFC building
    import geopandas as gpd

    footprints = gpd.read_file(root / "footprints.geojson")
    assert len(model.buildings) == len(footprints)
    assert model.buildings.index.is_unique


def test_provenance_of_every_layer(model):
    table = model.provenance
    assert set(table.index) == set(model.layers) | {"network_road", "network_water", "dem"}
    assert table["sha256"].str.len().eq(64).all()
    assert (table["licence"].str.contains("MIT")).all()
    # parcels are published in EPSG:4326 and were reprojected on the way in
    steps = [s.action for s in model.provenance_record("parcels").steps]
    assert "reproject" in steps
    match = next(s for s in model.provenance_record("buildings").steps if s.action == "merge_buildings")
    assert match.params["matched"] == 11 and match.params["ifc_only"] == 0
    assert match.params["footprint_only"] == 32


def test_round_trip_of_the_sample_city(model, tmp_path):
    back = read_model(model.to_file(tmp_path / "city.gpkg"))
    assert set(back.layers) == set(model.layers)
    assert_geodataframe_equal(back.buildings, model.buildings)
    pd.testing.assert_frame_equal(back["materials"], model["materials"])
    assert_geodataframe_equal(back.network("road").edges, model.network("road").edges)
    np.testing.assert_array_equal(back.dem.valid_mask(), model.dem.valid_mask())
    pd.testing.assert_frame_equal(back.provenance, model.provenance)


def test_each_call_returns_an_independent_copy(model):
    import time

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = load_sample_city()
    assert time.perf_counter() - started < 2.0  # built once per process, then copied
    assert again is not model and again.buildings is not model.buildings
    assert_geodataframe_equal(again.buildings, model.buildings)
    pd.testing.assert_frame_equal(again.provenance, model.provenance)
    again.buildings.loc[again.buildings.index[0], "height_m"] = -1.0
    again.provenance_record("buildings").add_step("edited")
    again.remove("parcels")
    assert "parcels" in model and model.buildings["height_m"].iloc[0] != -1.0
    assert model.provenance_record("buildings").steps[-1].action != "edited"


def test_without_ifc_every_building_is_a_footprint():
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
    footprints = gpd.read_file(sample_city_path() / "footprints.geojson")
    assert len(model.buildings) == len(footprints) == 43
    assert model.buildings.index.name == "building_id"
    assert (model.buildings["source_kind"] == "footprint").all()
    assert not {"elements", "materials", "spaces"} & set(model.layers)
    assert {"parcels", "zones", "pois", "river", "prescriptions"} <= set(model.layers)
    step = model.provenance_record("buildings").steps[-1]
    assert (step.action, step.params["footprint_only"], step.params["matched"]) == ("merge_buildings", 43, 0)
