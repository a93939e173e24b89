"""CityModel: layers, CRS rules, provenance, GeoPackage round trip and atomic writes."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

import cimkit
from cimkit import provenance as prov
from cimkit.errors import (
    CimkitError,
    FileFormatError,
    GeographicCRSError,
    LayerNotFoundError,
    MissingCRSError,
    ValidationError,
)
from cimkit.model import CityModel, read_model
from cimkit.network.graph import Network
from cimkit.raster import Raster

X0, Y0 = 651000.0, 6847000.0


def _buildings() -> gpd.GeoDataFrame:
    idx = pd.Index(
        ["2O2Fr$t4X7Zf8NOew3FLOH", "1hqIFTRjfV6AWq_bMtnZwI", "0M6o7Znnv7hxsbWgeu7oQq"], name="building_id"
    )
    return gpd.GeoDataFrame(
        {
            "name": ["Maison A", "Bureaux B", None],
            "storeys": np.array([2, 5, 1], dtype="int32"),
            "height_m": np.array([6.5, 16.2, 3.1], dtype="float32"),
            "gfa_m2": [180.0, 2400.5, np.nan],
            "is_ifc": [True, True, False],
            "use": pd.Categorical(["residential", "office", "residential"]),
            "permit": pd.to_datetime(["2022-03-01", "2024-11-15", "2019-01-01"], utc=True),
            "n_dwellings": pd.array([2, None, 1], dtype="Int64"),
        },
        geometry=[
            box(X0, Y0, X0 + 10, Y0 + 9),
            box(X0 + 30, Y0, X0 + 60, Y0 + 20),
            box(X0 + 70, Y0, X0 + 80, Y0 + 8),
        ],
        index=idx,
        crs="EPSG:2154",
    )


def _network() -> Network:
    nodes = gpd.GeoDataFrame(
        {"elevation_m": [40.0, 41.0, 39.5]},
        geometry=[Point(X0, Y0 - 10), Point(X0 + 100, Y0 - 10), Point(X0 + 100, Y0 + 50)],
        index=pd.Index([0, 1, 2], name="node_id", dtype="int64"),
        crs="EPSG:2154",
    )
    edges = gpd.GeoDataFrame(
        {"u": [0, 1], "v": [1, 2], "name": ["rue A", "rue B"], "speed_kmh": [30.0, 50.0]},
        geometry=[
            LineString([(X0, Y0 - 10), (X0 + 100, Y0 - 10)]),
            LineString([(X0 + 100, Y0 - 10), (X0 + 100, Y0 + 50)]),
        ],
        index=pd.Index([10, 11], name="edge_id", dtype="int64"),
        crs="EPSG:2154",
    )
    return Network(nodes, edges, kind="road", report={"components": 1, "dangles": [0, 2]})


def _dem(dtype: str = "float32") -> Raster:
    rng = np.random.default_rng(7)
    values = (40 + rng.random((30, 40)) * 10).astype(dtype)
    values[0, :3] = -9999
    return Raster(values, Affine(5, 0, X0 - 50, 0, -5, Y0 + 100), "EPSG:2154", nodata=-9999.0)


def _full_model() -> CityModel:
    model = CityModel("EPSG:2154", name="test town")
    record = prov.Provenance(reader="test", licence="MIT").add_step("repair", "make_valid", count=2)
    model.add_layer("buildings", _buildings(), provenance=record)
    model.add_layer(
        "parcels",
        gpd.GeoDataFrame(
            {"contenance": [500, 800]},
            geometry=[box(X0 - 5, Y0 - 5, X0 + 20, Y0 + 15), box(X0 + 25, Y0 - 5, X0 + 65, Y0 + 25)],
            index=pd.Index(["91999000AB0001", "91999000AB0002"], name="parcel_id"),
            crs=2154,
        ),
    )
    model.add_layer("zone_rules", pd.DataFrame({"libelle": ["UA", "UB"], "max_height_m": [12.0, 9.0]}))
    model.add_layer("unnamed_index", gpd.GeoDataFrame({"v": [1.5]}, geometry=[Point(X0, Y0)], crs=2154))
    model.add_network(_network())
    model.set_dem(_dem())
    return model


def test_round_trip_every_layer_type(tmp_path):
    model = _full_model()
    path = model.to_file(tmp_path / "city.gpkg")
    back = read_model(path)
    assert back.crs == model.crs
    assert back.name == "test town"
    assert set(back.layers) == set(model.layers)
    for name, layer in model.layers.items():
        restored = back[name]
        assert list(restored.columns) == list(layer.columns), name
        assert restored.dtypes.astype(str).to_dict() == layer.dtypes.astype(str).to_dict(), name
        assert restored.index.name == layer.index.name
        if isinstance(layer, gpd.GeoDataFrame):
            assert_geodataframe_equal(restored, layer, check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(restored, layer)
    net, net_back = model.network("road"), back.network("road")
    assert_geodataframe_equal(net_back.nodes, net.nodes)
    assert_geodataframe_equal(net_back.edges, net.edges)
    assert net_back.report == {"components": 1, "dangles": [0, 2]}
    np.testing.assert_array_equal(back.dem.values, model.dem.values)
    assert back.dem.transform == model.dem.transform
    assert back.dem.nodata == -9999.0
    assert back.dem.crs == model.crs
    pd.testing.assert_frame_equal(back.provenance, model.provenance)
    steps = back.provenance_record("buildings").steps
    assert [s.action for s in steps] == ["repair"] and steps[0].params == {"count": 2}
    assert back.provenance.loc["buildings", "licence"] == "MIT"


def test_round_trip_float64_and_nan_dem(tmp_path):
    model = CityModel(2154)
    dem = _dem("float64")
    dem.values[5, 5] = np.nan
    dem.nodata = np.nan
    with pytest.warns(UserWarning, match="float32"):
        model.set_dem(dem)
        model.to_file(tmp_path / "m.gpkg")
    back = read_model(tmp_path / "m.gpkg").dem
    assert np.isnan(back.values[5, 5]) and np.isnan(back.nodata)
    np.testing.assert_allclose(back.values[1:, 3:], dem.values[1:, 3:].astype("float32"))


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    model = _full_model()
    path = model.to_file(tmp_path / "city.gpkg")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    model.add_layer("extra", gpd.GeoDataFrame({"x": [1]}, geometry=[Point(X0, Y0)], crs=2154))

    import pyogrio

    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated interruption")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(KeyboardInterrupt):
        model.to_file(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.gpkg"]
    assert "extra" not in read_model(path)


def test_reprojection_is_recorded():
    model = CityModel("EPSG:2154")
    lon, lat = 2.3100, 48.6700
    pois = gpd.GeoDataFrame(
        {"category": ["school"]},
        geometry=[Point(lon, lat)],
        crs="EPSG:4326",
        index=pd.Index(["poi1"], name="poi_id"),
    )
    added = model.add_layer("pois", pois)
    x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
    assert added.geometry.iloc[0].x == pytest.approx(x, abs=1e-6)
    assert added.geometry.iloc[0].y == pytest.approx(y, abs=1e-6)
    assert pois.crs.to_epsg() == 4326  # input untouched
    step = model.provenance_record("pois").steps[-1]
    assert step.action == "reproject" and step.params["source_crs"] == "EPSG:4326"
    assert step.params["target_crs"] == "EPSG:2154"
    assert "reproject (EPSG:4326 -> EPSG:2154)" in model.provenance.loc["pois", "steps"]


def test_layer_without_crs_names_the_layer():
    model = CityModel("EPSG:2154")
    with pytest.raises(MissingCRSError, match="parcels") as info:
        model.add_layer("parcels", gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))
    assert isinstance(info.value, CimkitError) and isinstance(info.value, ValueError)
    assert info.value.layer == "parcels"


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4171"])
def test_geographic_model_crs_refused_with_hint(crs):
    with pytest.raises(GeographicCRSError, match="EPSG:2154"):
        CityModel(crs)


def test_non_metric_model_crs_refused():
    with pytest.raises(cimkit.errors.CRSError, match="us survey foot"):
        CityModel("EPSG:2249")  # NAD83 / Massachusetts Mainland (ftUS)


def test_bad_names_and_missing_layers():
    model = CityModel(2154)
    with pytest.raises(ValidationError):
        model.add_layer("Bad Name", gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=2154))
    with pytest.raises(LayerNotFoundError, match="no layer 'parcels'"):
        model["parcels"]
    with pytest.raises(LayerNotFoundError, match="road"):
        model.network("road")


def test_network_without_crs_refused():
    net = _network()
    net = Network(
        net.nodes.set_crs(None, allow_override=True),
        net.edges.set_crs(None, allow_override=True),
        kind="water",
    )
    with pytest.raises(MissingCRSError, match="network_water"):
        CityModel(2154).add_network(net)


def test_join_records_step_and_checks_index():
    model = CityModel(2154)
    model.add_layer("buildings", _buildings())
    ids = model.buildings.index
    out = model.join("buildings", pd.DataFrame({"depth_m": [0.5, 0.0]}, index=ids[:2]), step="test.flood")
    assert out["depth_m"].iloc[0] == 0.5 and np.isnan(out["depth_m"].iloc[2])
    assert model.provenance_record("buildings").steps[-1].params["producer"] == "test.flood"
    with pytest.raises(cimkit.errors.InputError):
        model.join("buildings", pd.Series([1.0], index=["nope"], name="x"), step="t")


def test_repr_and_html_show_layers_counts_crs_extent():
    model = _full_model()
    text = repr(model)
    assert "EPSG:2154" in text and "buildings" in text and "network_road" in text and "dem" in text
    assert "extent" in text
    page = model._repr_html_()
    assert "<table>" in page and "buildings" in page and "30x40 cells" in page


def test_read_model_rejects_foreign_gpkg(tmp_path):
    path = tmp_path / "plain.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=2154).to_file(path)
    with pytest.raises(FileFormatError, match="cimkit_metadata"):
        read_model(path)
    with pytest.raises(cimkit.errors.CimkitIOError):
        read_model(tmp_path / "missing.gpkg")


def test_provenance_json_round_trip(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"cimkit")
    rec = prov.record_for_files(src, reader="cimkit.test", libraries=["numpy"], licence="CC-BY-4.0")
    assert rec.source_files[0].sha256 == hashlib.sha256(b"cimkit").hexdigest()
    assert rec.source_files[0].size_bytes == 6
    assert "numpy" in rec.versions
    rec.add_step("filter", "keep buildings", kept=np.int64(3))
    back = prov.Provenance.from_json(rec.to_json())
    assert back == rec
    assert json.loads(rec.to_json())["steps"][0]["params"]["kept"] == 3


def test_copy_is_deep_and_equal():
    model = _full_model()
    twin = model.copy()
    assert twin.name == model.name and twin.crs == model.crs
    assert list(twin.layers) == list(model.layers)
    for name, layer in model.layers.items():
        assert twin[name] is not layer
        if isinstance(layer, gpd.GeoDataFrame):
            assert_geodataframe_equal(twin[name], layer)
        else:
            pd.testing.assert_frame_equal(twin[name], layer)
    pd.testing.assert_frame_equal(twin.provenance, model.provenance)
    # change every part of the copy: the original keeps its values
    twin.buildings.loc["2O2Fr$t4X7Zf8NOew3FLOH", "height_m"] = 99.0
    twin.network("road").edges.loc[10, "speed_kmh"] = 5.0
    twin.network("road").report["components"] = 7
    twin.dem.values[10, 10] = -1.0
    twin.provenance_record("buildings").add_step("filter", "copy only")
    twin.join("parcels", pd.Series([1.0, 2.0], index=model.parcels.index, name="score"), step="test")
    assert float(model.buildings.loc["2O2Fr$t4X7Zf8NOew3FLOH", "height_m"]) == pytest.approx(6.5)
    assert model.network("road").edges.loc[10, "speed_kmh"] == 30.0
    assert model.network("road").report["components"] == 1
    assert model.dem.values[10, 10] != -1.0
    assert [s.action for s in model.provenance_record("buildings").steps] == ["repair"]
    assert "score" not in model.parcels.columns
    # the records attached to the copy's parts are the copy's records
    assert prov.get(twin.buildings) is twin.provenance_record("buildings")
    assert prov.get(twin.dem) is twin.provenance_record("dem")


def test_store_layout_and_model_is_thin(tmp_path):
    """The GeoPackage code lives in cimkit.io.gpkg (which does not know the model); model.py is a container."""
    import ast
    import sqlite3
    from pathlib import Path

    import pyogrio

    from cimkit.io import gpkg

    path = _full_model().to_file(tmp_path / "city.gpkg")
    vector_tables = {name for name, _ in pyogrio.list_layers(path)}
    assert vector_tables == {
        "buildings",
        "parcels",
        "zone_rules",
        "unnamed_index",
        "network_road_nodes",
        "network_road_edges",
        "cimkit_metadata",
        "cimkit_provenance",
    }
    with sqlite3.connect(path) as db:
        raster_tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type = '2d-gridded-coverage'"
            )
        ]
        meta = json.loads(db.execute("SELECT value FROM cimkit_metadata").fetchone()[0])
        records = [r[0] for r in db.execute("SELECT layer FROM cimkit_provenance")]
    assert raster_tables == ["dem"]
    assert meta["dem"]["table"] == "dem" and meta["dem"]["nodata"] == -9999.0 and "terrain" not in meta
    assert meta["layers"]["buildings"]["index"] == ["building_id"]
    assert meta["layers"]["buildings"]["encoded"] == {"use": "categorical"}
    assert json.loads(meta["layers"]["buildings"]["dtypes"]["use"])["categories"] == ["office", "residential"]
    assert meta["layers"]["buildings"]["dtypes"]["storeys"] == "int32"
    assert records == ["buildings", "parcels", "zone_rules", "unnamed_index", "network_road", "dem"]
    # the store reads back without the model, with records attached to every part
    stored = gpkg.read_gpkg(path)
    assert stored.name == "test town" and stored.crs.to_epsg() == 2154
    assert_geodataframe_equal(stored.layers["buildings"], _buildings())
    assert prov.get(stored.layers["buildings"]).steps[0].params == {"count": 2}
    assert stored.networks["road"].report == {"components": 1, "dangles": [0, 2]}
    np.testing.assert_array_equal(stored.dem.values, _dem().values)
    # layering: the store does not import the model; the model holds no GeoPackage code
    package = Path(cimkit.__file__).parent
    store_imports = {
        node.module
        for node in ast.walk(ast.parse((package / "io" / "gpkg.py").read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    assert "cimkit.model" not in store_imports
    model_source = (package / "model.py").read_text()
    assert model_source.count("\n") < 500
    assert "pyogrio" not in model_source and "rasterio" not in model_source


def test_write_gpkg_refuses_reserved_names_and_bad_suffix(tmp_path):
    from cimkit.io.gpkg import write_gpkg

    layer = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(X0, Y0)], crs=2154)
    with pytest.raises(ValidationError, match="reserved"):
        write_gpkg(tmp_path / "a.gpkg", crs=2154, layers={"cimkit_metadata": layer})
    with pytest.raises(ValidationError, match=r"must end in \.gpkg"):
        write_gpkg(tmp_path / "a.sqlite", crs=2154, layers={"points": layer})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValidationError):
        CityModel(2154).add_layer("dem", layer)


def test_round_trip_of_date_cells_and_sample_parcels(tmp_path):
    """Calendar dates (object cells, as pyogrio reads GeoJSON dates) come back as dates, not text."""
    from cimkit.datasets import sample_city_path
    from cimkit.io.vector import read_parcels

    model = CityModel(2154)
    parcels = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
    first = parcels["created"].iloc[0]
    assert type(first).__name__ == "date"
    back = read_model(model.to_file(tmp_path / "p.gpkg")).parcels
    assert_geodataframe_equal(back, parcels)
    assert back["created"].iloc[0] == first and type(back["created"].iloc[0]) is type(first)
    assert len(back) == 97 and back.index.name == "parcel_id"


def test_reads_files_that_name_the_dem_terrain(tmp_path):
    """Files written before the DEM was named 'dem' (metadata key and record 'terrain') still load."""
    import sqlite3

    path = _full_model().to_file(tmp_path / "old.gpkg")
    with sqlite3.connect(path) as db:
        meta = json.loads(db.execute("SELECT value FROM cimkit_metadata").fetchone()[0])
        meta["terrain"] = meta.pop("dem")
        db.execute("UPDATE cimkit_metadata SET value = ?", (json.dumps(meta),))
        db.execute("UPDATE cimkit_provenance SET layer = 'terrain' WHERE layer = 'dem'")
    back = read_model(path)
    np.testing.assert_array_equal(back.dem.values, _dem().values)
    assert back.provenance_record("dem").layer == "dem"
    assert "terrain" not in back.provenance.index


def test_provenance_table_columns():
    model = _full_model()
    table = model.provenance
    assert list(table.columns) == list(prov.SUMMARY_COLUMNS)
    assert table.loc["buildings", "n_source_files"] == 0 and table.loc["buildings", "reader"] == "test"
    assert table.loc["network_road", "n_steps"] == 0
    assert table.index.tolist() == [
        "buildings",
        "parcels",
        "zone_rules",
        "unnamed_index",
        "network_road",
        "dem",
    ]
