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
        "zoning",
        "prescriptions",
        "pois",
        "river",
        "buildings",
        "elements",
        "materials",
        "spaces",
    } <= set(model.layers)
    assert sorted(model.networks) == ["road", "water"]
    assert model.terrain is not None and model.terrain.crs.to_epsg() == 2154
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
    assert set(table.index) == set(model.layers) | {"network_road", "network_water", "terrain"}
    assert table["sha256"].str.len().eq(64).all()
    assert (table["licence"].str.contains("MIT")).all()
    # parcels are published in EPSG:4326 and were reprojected on the way in
    steps = [s.action for s in model.provenance_record("parcels").steps]
    assert "reproject" in steps
    match = next(s for s in model.provenance_record("buildings").steps if s.action == "match_footprints")
    assert match.params["matched"] == 11 and match.params["ifc_only"] == 0


def test_round_trip_of_the_sample_city(model, tmp_path):
    back = read_model(model.to_file(tmp_path / "city.gpkg"))
    assert set(back.layers) == set(model.layers)
    assert_geodataframe_equal(back.buildings, model.buildings)
    pd.testing.assert_frame_equal(back["materials"], model["materials"])
    assert_geodataframe_equal(back.network("road").edges, model.network("road").edges)
    np.testing.assert_array_equal(back.terrain.valid_mask(), model.terrain.valid_mask())
    pd.testing.assert_frame_equal(back.provenance, model.provenance)
