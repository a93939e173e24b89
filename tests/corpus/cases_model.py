"""Corpus cases: saved city models that are truncated, foreign, empty, damaged or tampered with."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from cimkit.cli.main import main
from cimkit.datasets import sample_city_path
from cimkit.io.integrity import check_model_file
from cimkit.io.vector import read_parcels
from cimkit.model import CityModel, read_model
from tests.corpus._registry import corpus_case


def _saved(tmp: Path, *, copy_source: bool = False) -> Path:
    """Save a small model (the sample parcels) under ``tmp``; its source copied there if asked."""
    source = sample_city_path() / "parcels.geojson"
    if copy_source:
        source = Path(shutil.copy(source, tmp / "parcels.geojson"))
    model = CityModel(2154, name="corpus")
    model.add_layer("parcels", read_parcels(source))
    return model.to_file(tmp / "city.gpkg")


@corpus_case("model/truncated-gpkg", expect="error", code="MOD004")
def _truncated(tmp, shared):
    path = _saved(tmp)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    read_model(path)


@corpus_case("model/one-page-cut-off", expect="error", code="MOD004")
def _last_page_cut(tmp, shared):
    path = _saved(tmp)
    data = path.read_bytes()
    path.write_bytes(data[:-4096])
    read_model(path)


@corpus_case("model/foreign-gpkg", expect="error", code="MOD005")
def _foreign(tmp, shared):
    """A plain GeoPackage (not written by cimkit) is refused with its layers named, not guessed at."""
    path = tmp / "plain.gpkg"
    read_parcels(sample_city_path() / "parcels.geojson").to_file(path, layer="cadastre", driver="GPKG")
    try:
        read_model(path)
    except Exception as err:
        assert "cadastre" in str(err) and "read_layer" in str(err)
        raise


@corpus_case("model/not-a-gpkg", expect="error", code="MOD002")
def _not_gpkg(tmp, shared):
    path = tmp / "city.gpkg"
    shutil.copy(sample_city_path() / "parcels.geojson", path)
    read_model(path)


@corpus_case("model/empty-file", expect="error", code="MOD003")
def _empty(tmp, shared):
    path = tmp / "city.gpkg"
    path.write_bytes(b"")
    read_model(path)


@corpus_case("model/missing-file", expect="error", code="MOD001")
def _missing(tmp, shared):
    read_model(tmp / "nowhere.gpkg")


@corpus_case("model/metadata-not-json", expect="error", code="MOD006")
def _metadata_damaged(tmp, shared):
    path = _saved(tmp)
    with sqlite3.connect(path) as con:
        con.execute('UPDATE cimkit_metadata SET value = \'{"format_version": 1, "crs": \'')
    read_model(path)


@corpus_case("model/metadata-row-deleted", expect="error", code="MOD006")
def _metadata_empty(tmp, shared):
    path = _saved(tmp)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM cimkit_metadata")
    read_model(path)


@corpus_case("model/metadata-table-dropped", expect="error", code="MOD005")
def _metadata_dropped(tmp, shared):
    path = _saved(tmp)
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE cimkit_metadata")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'cimkit_metadata'")
    read_model(path)


@corpus_case("model/layer-table-dropped", expect="error", code="MOD008")
def _table_dropped(tmp, shared):
    path = _saved(tmp)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'parcels'")
        con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'parcels'")
        con.execute("DROP TABLE parcels")
    try:
        read_model(path)
    except Exception as err:
        assert getattr(err, "layer", None) == "parcels"
        raise


@corpus_case("model/newer-format", expect="error", code="MOD007")
def _newer(tmp, shared):
    path = _saved(tmp)
    with sqlite3.connect(path) as con:
        meta = json.loads(con.execute("SELECT value FROM cimkit_metadata").fetchone()[0])
        meta["format_version"] = 99
        con.execute("UPDATE cimkit_metadata SET value = ?", (json.dumps(meta),))
    read_model(path)


@corpus_case("model/tampered-row-verify", expect="ok")
def _tampered(tmp, shared):
    """One parcel's area edited with sqlite3 after saving: verify names the parcels layer, exit 1."""
    path = _saved(tmp)
    with sqlite3.connect(path) as con:  # the R-tree triggers call GeoPackage SQL functions
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            con.create_function(name, 1, lambda blob: 0)
        changed = con.execute("UPDATE parcels SET contenance = contenance + 1 WHERE fid = 5").rowcount
    assert changed == 1
    table = check_model_file(path).set_index("item")
    assert table.loc["parcels", "status"] == "mismatch"
    assert (table.drop(index="parcels")["status"] == "ok").all()
    assert main(["-q", "verify", str(path)]) == 1
    assert len(read_model(path).parcels) == 97  # the file itself still reads


@corpus_case("model/source-changed-verify", expect="ok")
def _source_changed(tmp, shared):
    path = _saved(tmp, copy_source=True)
    source = tmp / "parcels.geojson"
    source.write_text(source.read_text(encoding="utf-8").replace("contenance", "contenancE", 1))
    table = check_model_file(path).set_index("item")
    assert table.loc["parcels.geojson", ["kind", "status"]].tolist() == ["source", "mismatch"]
    assert table.loc["parcels", "status"] == "ok"
    assert main(["-q", "verify", str(path)]) == 1


@corpus_case("model/source-missing-verify", expect="ok")
def _source_missing(tmp, shared):
    """A source gone since: reported missing, not a failure (exit 0)."""
    path = _saved(tmp, copy_source=True)
    (tmp / "parcels.geojson").unlink()
    table = check_model_file(path).set_index("item")
    assert table.loc["parcels.geojson", "status"] == "missing"
    assert main(["-q", "verify", str(path)]) == 0


@corpus_case("model/provenance-steps-round-trip", expect="ok")
def _steps_round_trip(tmp, shared):
    """Every step of every layer (with its counts) survives to_file / read_model unchanged."""
    model = CityModel(2154)
    parcels = read_parcels(sample_city_path() / "parcels.geojson")
    model.add_layer("parcels", parcels)
    record = model.provenance_record("parcels")
    record.add_step("repair_rings", "2 rings closed", rings=2, features=97, share=0.02)
    back = read_model(model.to_file(tmp / "city.gpkg"))
    before, after = record.to_dict(), back.provenance_record("parcels").to_dict()
    assert after == before
    assert after["steps"][-1]["params"] == {"rings": 2, "features": 97, "share": 0.02}


@corpus_case("model/float64-dem-stored-float32", expect="repaired", code="MOD101")
def _dem_cast(tmp, shared):
    """A float64 DEM is stored as float32: warned, and a step with counts in the saved record only."""
    import numpy as np
    from affine import Affine

    from cimkit.raster import Raster

    values = np.array([[40.123456789, 41.0], [39.0, 38.5]], dtype="float64")
    model = CityModel(2154)
    model.set_dem(Raster(values, Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154"))
    steps_before = len(model.provenance_record("dem").steps)
    back = read_model(model.to_file(tmp / "city.gpkg"))
    step = back.provenance_record("dem").steps[-1]
    assert step.action == "store_dem_float32" and step.params["cells"] == 4
    assert 0 < step.params["max_abs_change"] < 1e-5
    assert len(model.provenance_record("dem").steps) == steps_before  # the model's own record untouched
    assert abs(float(back.dem.values[0, 0]) - 40.123456789) < 1e-5
