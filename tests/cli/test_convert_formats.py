"""What ``cimkit convert`` reads and writes (cimkit/cli/_convert_formats.py), on small inputs."""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import time
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from cimkit.cli._convert_formats import (
    INPUT_SUFFIXES,
    MESH_FORMATS,
    OUTPUT_FORMATS,
    InputTables,
    NothingToWriteError,
    output_name,
    read_input,
    write_output,
)
from cimkit.errors import CimkitError, ValidationError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def house(sample_city_dir: Path) -> InputTables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_input(sample_city_dir / "buildings" / "maison_lilas_3.ifc")


def _square(x: float, y: float, side: float = 10.0) -> Polygon:
    return Polygon([(x, y), (x + side, y), (x + side, y + side), (x, y + side)])


@pytest.fixture
def city() -> InputTables:
    """Two buildings (Lambert-93, with heights) and one attribute table."""
    buildings = gpd.GeoDataFrame(
        {"name": ["A", "B"], "height_m": [9.0, 12.5], "tags": [{"roof": "flat"}, ["x", "y"]]},
        geometry=[_square(652000, 6862000), _square(652030, 6862000, 8)],
        crs="EPSG:2154",
        index=pd.Index(["b1", "b2"], name="building_id"),
    )
    owners = pd.DataFrame({"building_id": ["b1", "b2", "b2"], "owner": ["x", "y", "z"]})
    return InputTables({"buildings": buildings, "owners": owners}, source_format="test")


def test_output_names_and_formats() -> None:
    assert OUTPUT_FORMATS == ("gpkg", "parquet", "fgb", "geojson", "cityjson", "glb", "3dtiles")
    assert MESH_FORMATS == {"cityjson", "glb", "3dtiles"}
    names = [output_name("house.ifc", fmt) for fmt in OUTPUT_FORMATS]
    assert names == [
        "house.ifc.gpkg",
        "house.ifc.parquet",
        "house.ifc.fgb",
        "house.ifc.geojson",
        "house.ifc.city.json",
        "house.ifc.glb",
        "house.ifc.3dtiles",
    ]
    with pytest.raises(ValidationError) as err:
        output_name("house.ifc", "shp")
    assert err.value.code == "CNV004" and "--format" in err.value.hint


def test_input_suffixes_cover_every_input_format() -> None:
    for suffix in (".ifc", ".json", ".jsonl", ".gml", ".xml", ".gpkg", ".shp", ".fgb", ".parquet"):
        assert suffix in INPUT_SUFFIXES
    for suffix in (".osm", ".pbf", ".bz2", ".gz", ".inp", ".zip"):
        assert suffix in INPUT_SUFFIXES


def test_ifc_gives_every_table(house: InputTables, sample_city_dir: Path) -> None:
    import ifcopenshell

    model = ifcopenshell.open(str(sample_city_dir / "buildings" / "maison_lilas_3.ifc"))
    assert house.source_format == "ifc"
    assert sorted(house) == ["buildings", "elements", "materials", "spaces"]
    assert isinstance(house["buildings"], gpd.GeoDataFrame)
    assert not isinstance(house["elements"], gpd.GeoDataFrame)
    assert len(house["spaces"]) == len(model.by_type("IfcSpace")) == 2
    assert len(house["buildings"]) == len(model.by_type("IfcBuilding")) == 1
    assert set(house["elements"].index) <= {e.GlobalId for e in model.by_type("IfcElement")}


def test_gpkg_holds_spatial_and_attribute_tables(house: InputTables, tmp_path: Path) -> None:
    out = write_output(house, tmp_path / "h.ifc.gpkg", "gpkg")
    assert out["files"] == [str(tmp_path / "h.ifc.gpkg")]
    assert out["layers"] == {name: len(frame) for name, frame in house.items()}
    assert out["crs"] == "EPSG:2154"
    con = sqlite3.connect(tmp_path / "h.ifc.gpkg")
    kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    stamps = {row[0] for row in con.execute("SELECT last_change FROM gpkg_contents")}
    con.close()
    assert kinds == {
        "buildings": "features",
        "elements": "attributes",
        "materials": "attributes",
        "spaces": "attributes",
    }
    assert stamps == {"2000-01-01T00:00:00.000Z"}
    elements = pyogrio.read_dataframe(tmp_path / "h.ifc.gpkg", layer="elements")
    assert sorted(elements["global_id"]) == sorted(house["elements"].index)


def test_parquet_one_file_per_table_with_time_free_provenance(house: InputTables, tmp_path: Path) -> None:
    dest = tmp_path / output_name("h.ifc", "parquet")
    out = write_output(house, dest, "parquet")
    assert out["files"] == sorted(str(dest / f"{name}.parquet") for name in house)
    spaces = pd.read_parquet(dest / "spaces.parquet")
    assert spaces["area_m2"].round(6).tolist() == house["spaces"]["area_m2"].round(6).tolist()
    buildings = gpd.read_parquet(dest / "buildings.parquet")
    assert buildings["building_id"].tolist() == house["buildings"].index.tolist()
    assert buildings.geometry.iloc[0].equals_exact(house["buildings"].geometry.iloc[0], 1e-9)
    record = gpd.read_parquet(dest / "buildings.parquet").attrs["provenance"]
    assert b"PANDAS_ATTRS" in pq.read_schema(dest / "buildings.parquet").metadata
    assert record["source_files"][0]["sha256"]
    assert "created" not in record and all("time" not in step for step in record["steps"])


def test_geojson_is_rfc7946_and_leaves_attribute_tables_out(city: InputTables, tmp_path: Path) -> None:
    dest = tmp_path / "c.geojson"
    with pytest.warns(UserWarning, match="owners left out") as caught:
        out = write_output(city, dest, "geojson")
    assert [w.message.code for w in caught if hasattr(w.message, "code")] == ["CNV102"]
    assert out["left_out"].keys() == {"owners"} and out["crs"] == "EPSG:4326"
    doc = json.loads((dest / "buildings.geojson").read_text())
    assert "crs" not in doc and len(doc["features"]) == 2
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(652000, 6862000)
    first = doc["features"][0]
    assert first["properties"]["building_id"] == "b1"
    tags = first["properties"]["tags"]  # JSON text in the table; GDAL writes it as a JSON object
    assert (json.loads(tags) if isinstance(tags, str) else tags) == {"roof": "flat"}
    assert min(abs(x - lon) + abs(y - lat) for x, y in first["geometry"]["coordinates"][0]) < 1e-7


def test_fgb_reads_back(city: InputTables, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = write_output(city, tmp_path / "c.fgb", "fgb")
    back = pyogrio.read_dataframe(out["files"][0]).sort_values("building_id")  # spatial index order
    assert pyogrio.list_layers(out["files"][0])[0][0] == "buildings"
    assert out["layers"] == {"buildings": 2} and back.crs.to_epsg() == 2154
    assert back["height_m"].tolist() == [9.0, 12.5]
    assert back.geometry.area.round(6).tolist() == [100.0, 64.0]


def test_outputs_are_byte_deterministic(city: InputTables, tmp_path: Path) -> None:
    digests: dict[str, list[list[str]]] = {fmt: [] for fmt in OUTPUT_FORMATS}
    for run in ("one", "two"):
        for fmt in OUTPUT_FORMATS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = write_output(city, tmp_path / run / output_name("c.gpkg", fmt), fmt)
            names = [str(Path(f).relative_to(tmp_path / run)) for f in out["files"]]
            digests[fmt].append(names + [_sha(Path(f)) for f in out["files"]])
        time.sleep(1.1 if run == "one" else 0)  # a clock-stamped format would differ across the second
    assert {fmt: runs[0] == runs[1] for fmt, runs in digests.items()} == dict.fromkeys(OUTPUT_FORMATS, True)


def test_cityjson_glb_3dtiles_of_buildings(city: InputTables, tmp_path: Path) -> None:
    from cimkit.io.cityjson import read_cityjson

    out = write_output(city, tmp_path / "c.city.json", "cityjson")
    back = read_cityjson(tmp_path / "c.city.json")
    assert out["layers"] == {"buildings": 2} and sorted(back.index) == ["b1", "b2"]
    assert back.loc["b2", "height_m"] == pytest.approx(12.5, abs=0.01)
    glb = write_output(city, tmp_path / "c.glb", "glb")
    assert glb["layers"] == {"buildings": 2} and Path(glb["files"][0]).read_bytes()[:4] == b"glTF"
    tiles = write_output(city, tmp_path / "c.3dtiles", "3dtiles")
    assert str(tmp_path / "c.3dtiles" / "tileset.json") in tiles["files"]
    assert tiles["layers"] == {"buildings": 2} and tiles["crs"] == "EPSG:4978"


def test_nothing_to_write_is_typed_and_leaves_no_file(tmp_path: Path) -> None:
    stops = gpd.GeoDataFrame({"stop_id": ["S1"]}, geometry=[Point(652000, 6862000)], crs=2154)
    trips = pd.DataFrame({"trip_id": ["T1"]})
    for fmt in ("cityjson", "glb", "3dtiles"):
        with pytest.raises(NothingToWriteError) as err:
            write_output({"stops": stops, "trips": trips}, tmp_path / output_name("f.zip", fmt), fmt)
        assert err.value.code == "CNV010" and err.value.nothing_to_write
    with pytest.raises(NothingToWriteError):
        write_output({"trips": trips}, tmp_path / "f.geojson", "geojson")
    assert list(tmp_path.iterdir()) == []


def test_epanet_needs_a_crs_then_reads_nodes_and_links(sample_city_dir: Path) -> None:
    inp = sample_city_dir / "water_network.inp"
    with pytest.raises(ValidationError) as err:
        read_input(inp)
    assert err.value.code == "CNV003" and "--crs" in err.value.hint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = read_input(inp, crs="EPSG:2154")
    rows: dict[str, int] = {}
    section = ""
    for line in inp.read_text().splitlines():  # count the rows of each [SECTION] independently
        text = line.split(";")[0].strip()
        if text.startswith("["):
            section = text.strip("[]").upper()
        elif text:
            rows[section] = rows.get(section, 0) + 1
    assert len(tables["water_nodes"]) == rows["JUNCTIONS"] + rows.get("RESERVOIRS", 0) + rows.get("TANKS", 0)
    assert len(tables["water_links"]) == rows["PIPES"] + rows.get("PUMPS", 0) + rows.get("VALVES", 0)
    assert tables["water_nodes"].crs.to_epsg() == 2154


def test_vector_layers_reprojected_and_placed(sample_city_dir: Path) -> None:
    src = sample_city_dir / "parcels.geojson"
    tables = read_input(src, crs="EPSG:3857")
    ((name, frame),) = tables.items()
    direct = pyogrio.read_dataframe(src)
    assert name == "parcels" and len(frame) == len(direct) and frame.crs.to_epsg() == 3857
    x, y = Transformer.from_crs(direct.crs, 3857, always_xy=True).transform(
        *direct.geometry.iloc[0].exterior.coords[0]
    )
    assert frame.geometry.iloc[0].exterior.coords[0] == pytest.approx((x, y), abs=1e-6)


def test_origin_ignored_for_placed_input_warns(sample_city_dir: Path) -> None:
    with pytest.warns(UserWarning, match="--origin ignored") as caught:
        read_input(sample_city_dir / "pois.geojson", origin=(0.0, 0.0))
    assert "CNV101" in [getattr(w.message, "code", None) for w in caught]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.gpkg", bytes(range(256)) * 8),
        ("empty.city.json", b""),
        ("cut.ifc", b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition"),
        ("notes.json", b'{"hello": '),
    ],
)
def test_bad_inputs_are_typed_errors_naming_the_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CimkitError) as err:
            read_input(path)
    assert err.value.path == str(path)
    assert len(err.value.code) == 6 and err.value.code != "GEN000"
    assert err.value.hint


def test_input_tables_pickle_with_their_meshes(city: InputTables) -> None:
    city.meshes = {"b1": "mesh"}
    back = pickle.loads(pickle.dumps(city))
    assert back.meshes == {"b1": "mesh"} and sorted(back) == ["buildings", "owners"]
    assert back.source_format == "test"


def test_folder_output_replaces_an_earlier_one(city: InputTables, tmp_path: Path) -> None:
    dest = tmp_path / "c.parquet"
    write_output(city, dest, "parquet")
    (dest / "stale.parquet").write_bytes(b"old")
    out = write_output({"owners": city["owners"]}, dest, "parquet")
    assert sorted(p.name for p in dest.iterdir()) == ["owners.parquet"]
    assert out["layers"] == {"owners": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["c.parquet"]


def test_ifc_meshes_give_lod2_cityjson_keyed_by_global_id(sample_city_dir: Path, tmp_path: Path) -> None:
    import ifcopenshell

    src = sample_city_dir / "buildings" / "maison_lilas_3.ifc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = read_input(src, meshes=True)
        write_output(tables, tmp_path / "h.city.json", "cityjson")
        glb = write_output(tables, tmp_path / "h.glb", "glb")
    (global_id,) = [b.GlobalId for b in ifcopenshell.open(str(src)).by_type("IfcBuilding")]
    assert list(tables.meshes) == [global_id] == tables["buildings"].index.tolist()
    doc = json.loads((tmp_path / "h.city.json").read_text())
    assert list(doc["CityObjects"]) == [global_id]
    geoms = {g["lod"]: g for g in doc["CityObjects"][global_id]["geometry"]}
    assert geoms["1"]["type"] == "Solid" and geoms["2"]["type"] == "MultiSurface"
    assert {s["type"] for s in geoms["2"]["semantics"]["surfaces"]} >= {"RoofSurface", "WallSurface"}
    assert glb["layers"] == {"buildings": 1}
