"""Compare two stored models the way the GeoPackage round-trip test compares a model with its copy."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from geopandas.testing import assert_geodataframe_equal

from cimkit.io.gpkg import StoredModel


def assert_stored_equal(got: StoredModel, expected: StoredModel) -> None:
    """Layers (rows, columns, dtypes, index), networks, DEM and provenance records are equal."""
    assert got.name == expected.name
    assert got.crs == expected.crs
    assert list(got.layers) == list(expected.layers)
    for name, layer in expected.layers.items():
        restored = got.layers[name]
        assert list(restored.columns) == list(layer.columns), name
        assert restored.dtypes.astype(str).to_dict() == layer.dtypes.astype(str).to_dict(), name
        assert list(restored.index.names) == list(layer.index.names), name
        if isinstance(layer, gpd.GeoDataFrame):
            assert_geodataframe_equal(restored, layer, check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(restored, layer)
    assert list(got.networks) == list(expected.networks)
    for kind, net in expected.networks.items():
        assert_geodataframe_equal(got.networks[kind].nodes, net.nodes)
        assert_geodataframe_equal(got.networks[kind].edges, net.edges)
        assert got.networks[kind].report == net.report
    if expected.dem is None:
        assert got.dem is None
    else:
        np.testing.assert_array_equal(got.dem.values, expected.dem.values)
        assert got.dem.values.dtype == expected.dem.values.dtype
        assert got.dem.transform == expected.dem.transform
        assert got.dem.crs == expected.dem.crs
        assert got.dem.units == expected.dem.units
        assert (got.dem.nodata == expected.dem.nodata) or (
            np.isnan(got.dem.nodata) and np.isnan(expected.dem.nodata)
        )
    assert list(got.records) == list(expected.records)
    for name, record in expected.records.items():
        assert got.records[name] == record, name
