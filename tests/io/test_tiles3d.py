"""3D Tiles 1.1 output: tile tree, ECEF transform, metadata, read-back, validation, atomic writes."""

from __future__ import annotations

import json
import math
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

import cimkit
from cimkit.datasets import load_sample_city, sample_city_path
from cimkit.errors import (
    CimkitIOError,
    CoverageWarning,
    GeographicCRSError,
    MissingCRSError,
    PublicationError,
    QuantityWarning,
    ValidationError,
)
from cimkit.io import _gltf
from cimkit.io.tiles3d import read_3dtiles, validate_tileset, write_3dtiles

X0, Y0 = 651_000.0, 6_847_000.0


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _tiles(tile, depth=0):
    yield tile, depth
    for child in tile.get("children", []):
        yield from _tiles(child, depth + 1)


@pytest.fixture(scope="module")
def sample_buildings():
    return _quiet(load_sample_city, with_ifc=False).buildings  # the IFC reading is tested below


@pytest.fixture(scope="module")
def sample_tileset(sample_buildings, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiles") / "sample"
    with pytest.warns(QuantityWarning) as caught:
        path = write_3dtiles(sample_buildings, folder, max_features_per_tile=10)
    assert "TIL103" in {w.message.code for w in caught}
    return path


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a)):
        return b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b))
    return a == b


def test_sample_city_round_trip(sample_buildings, sample_tileset):
    assert validate_tileset(sample_tileset) == []
    back = read_3dtiles(sample_tileset)
    src = sample_buildings
    assert sorted(back.index) == sorted(src.index) and back.index.name == "building_id"
    assert back.crs.to_epsg() == 2154
    back = back.loc[src.index]
    for column in [c for c in src.columns if c != "geometry"]:
        got, want = back[column].tolist(), src[column].tolist()
        bad = [(i, g, w) for i, g, w in zip(src.index, got, want) if not _same(g, w)]
        assert bad == [], column
    # footprints: centroids within 5 cm, areas within 0.1 %
    assert float(back.geometry.centroid.distance(src.geometry.centroid).max()) < 0.05
    assert np.allclose(back.geometry.area, src.geometry.area, rtol=1e-3)
    # LoD1 blocks: base and height within 1 mm of the attributes
    assert (back["min_z_m"].abs() < 1e-3).all()  # no base_elevation_m without the IFC: base 0
    heights = src["height_m"].fillna(src["storeys"] * 3.0)  # the LoD1 rule: storeys x 3 m
    assert np.abs(back["max_z_m"] - back["min_z_m"] - heights).max() < 1e-3


def test_tile_tree_and_geometric_error(sample_tileset):
    tileset = json.loads(sample_tileset.read_text())
    assert tileset["asset"]["version"] == "1.1" and tileset["root"]["refine"] == "ADD"
    leaves = [t for t, _ in _tiles(tileset["root"]) if "children" not in t]
    counts = []
    for leaf in leaves:
        assert leaf["geometricError"] == 0.0 and "content" in leaf
        doc, _ = _gltf.split_glb((sample_tileset.parent / leaf["content"]["uri"]).read_bytes())
        counts.append(doc["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["count"])
    assert sum(counts) == 43 and max(counts) <= 10
    for tile, _ in _tiles(tileset["root"]):
        for child in tile.get("children", []):
            assert child["geometricError"] <= tile["geometricError"]
        assert ("content" in tile) == ("children" not in tile)
    box_ = np.asarray(tileset["root"]["boundingVolume"]["box"])
    diagonal = 2 * np.linalg.norm(box_[[3, 7, 11]])
    assert tileset["geometricError"] == pytest.approx(diagonal, abs=0.1)
    assert tileset["root"]["geometricError"] == pytest.approx(diagonal / 2, abs=0.1)


def test_root_transform_is_enu_to_ecef(sample_tileset, sample_buildings):
    tileset = json.loads(sample_tileset.read_text())
    m = np.asarray(tileset["root"]["transform"]).reshape(4, 4).T  # column-major
    info = tileset["extras"]["cimkit"]
    assert info["crs"] == "EPSG:2154" and info["id_property"] == "id"
    assert "footprints.geojson" in {f["name"] for f in info["source_files"]}
    x0, y0, z0 = info["origin"]
    ecef = Transformer.from_crs(2154, 4978, always_xy=True).transform(x0, y0, z0)
    assert np.allclose(m[:3, 3], ecef, atol=1e-6) and np.allclose(m[3], [0, 0, 0, 1])
    rot = m[:3, :3]
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    lon, lat = map(math.radians, Transformer.from_crs(2154, 4326, always_xy=True).transform(x0, y0))
    up = [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]
    assert np.allclose(rot[:, 2], up) and rot[2, 0] == 0.0  # east has no z component
    # one corner of BATI0001: glTF (x, y, z) -> tile frame (x, -z, y) -> ECEF -> Lambert-93
    leaf = next(
        t for t, _ in _tiles(tileset["root"]) if "content" in t and "BATI0001" in _ids(sample_tileset, t)
    )
    doc, binary = _gltf.split_glb((sample_tileset.parent / leaf["content"]["uri"]).read_bytes())
    pos = _gltf.read_accessor(doc, binary, 0).astype("float64")
    fid = _gltf.read_accessor(doc, binary, 2)
    i = _ids(sample_tileset, leaf).index("BATI0001")
    enu = np.column_stack([pos[:, 0], -pos[:, 2], pos[:, 1]])[fid == i]
    xyz = Transformer.from_crs(4978, 2154, always_xy=True).transform(*(enu @ rot.T + m[:3, 3]).T)
    want = sample_buildings.loc["BATI0001"]
    minx, miny, maxx, maxy = want.geometry.bounds
    assert np.allclose(
        [min(xyz[0]), min(xyz[1]), max(xyz[0]), max(xyz[1])], [minx, miny, maxx, maxy], atol=0.01
    )
    assert max(xyz[2]) - min(xyz[2]) == pytest.approx(want.height_m, abs=0.01)


def _ids(tileset_path, tile):
    doc, binary = _gltf.split_glb((tileset_path.parent / tile["content"]["uri"]).read_bytes())
    return _gltf.read_property_table(doc, binary)["id"][1]


def test_ifc_meshes_keep_their_global_ids(sample_buildings, tmp_path):
    from cimkit.io.ifc import read_ifc_model

    meshes, frames = {}, [sample_buildings]
    for name in ("commerce_grande_rue.ifc", "maison_lilas_3.ifc"):
        model = _quiet(read_ifc_model, sample_city_path() / "buildings" / name, meshes=True, sandbox=False)
        meshes.update(model.meshes)
        frames.append(model.buildings[["geometry", "height_m", "base_elevation_m", "name"]])
    buildings = gpd.GeoDataFrame(pd.concat(frames), crs=2154)
    assert len(meshes) == 2 and len(buildings) == 45
    path = _quiet(write_3dtiles, buildings, tmp_path / "t", meshes=meshes)
    assert validate_tileset(path) == []
    back = read_3dtiles(path)
    for gid, mesh in meshes.items():
        assert back.loc[gid, "min_z_m"] == pytest.approx(mesh.bounds[0, 2], abs=1e-3)
        assert back.loc[gid, "max_z_m"] == pytest.approx(mesh.bounds[1, 2], abs=1e-3)
        hull = mesh.convex_hull.vertices[:, :2]
        assert back.loc[gid].geometry.convex_hull.area == pytest.approx(
            gpd.GeoSeries.from_xy(hull[:, 0], hull[:, 1]).union_all().convex_hull.area, rel=1e-3
        )
    tileset = json.loads(path.read_text())
    (leaf,) = [t for t, _ in _tiles(tileset["root"]) if "content" in t]  # 43 <= 500: one tile
    doc, binary = _gltf.split_glb((path.parent / leaf["content"]["uri"]).read_bytes())
    fid = _gltf.read_accessor(doc, binary, 2)
    ids = _gltf.read_property_table(doc, binary)["id"][1]
    for gid, mesh in meshes.items():
        assert (fid == ids.index(gid)).sum() == 3 * len(mesh.faces)


def test_cityjson_delft(shared_data, tmp_path):
    delft = _quiet(cimkit.read_cityjson, shared_data / "cityjson_delft" / "delft.city.json")
    path = _quiet(write_3dtiles, delft, tmp_path / "delft", max_features_per_tile=50)
    assert validate_tileset(path) == []
    tileset = json.loads(path.read_text())
    assert tileset["extras"]["cimkit"]["crs"] == "EPSG:28992"
    back = read_3dtiles(path)
    written = tileset["extras"]["cimkit"]["feature_count"]
    assert written == len(back) and written + tileset["extras"]["cimkit"]["buildings_left_out"] == len(delft)
    assert written > 100
    src = delft.loc[back.index]
    assert float(back.geometry.centroid.distance(src.geometry.centroid).max()) < 0.05
    for column in [c for c in src.columns if c != "geometry"]:  # all 29 attributes come back equal
        assert all(_same(g, w) for g, w in zip(back[column].tolist(), src[column].tolist())), column


def test_synthetic_5000_footprints(tmp_path):
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(0, 3000, 5000), rng.uniform(0, 2000, 5000)
    buildings = gpd.GeoDataFrame(
        {"height_m": rng.uniform(3, 30, 5000).round(2), "use": rng.choice(["home", "shop"], 5000)},
        geometry=[box(X0 + x, Y0 + y, X0 + x + 12, Y0 + y + 9) for x, y in zip(xs, ys)],
        index=[f"B{i:05d}" for i in range(5000)],
        crs=2154,
    )
    start = time.perf_counter()
    path = _quiet(write_3dtiles, buildings, tmp_path / "big", max_features_per_tile=400)
    elapsed = time.perf_counter() - start
    tileset = json.loads(path.read_text())
    leaves = [(t, d) for t, d in _tiles(tileset["root"]) if "content" in t]
    counts = [len(_ids(path, t)) for t, _ in leaves]
    assert sum(counts) == 5000 and max(counts) <= 400
    assert {d for _, d in leaves} == {2} and len(leaves) == 16  # 5000 / 4 > 400 > 5000 / 4**2
    assert validate_tileset(path) == []
    print(f"5000 footprints: {len(leaves)} tiles, depth 2, {elapsed:.1f} s")


def _two(crs=2154):
    return gpd.GeoDataFrame(
        {"height_m": [6.0, np.nan]},
        geometry=[box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 30, Y0 + 10)],
        index=["A", "B"],
        crs=crs,
    )


def test_errors_and_warnings(tmp_path):
    with pytest.raises(MissingCRSError) as err:
        write_3dtiles(_two().set_crs(None, allow_override=True), tmp_path / "a")
    assert err.value.code == "TIL001"
    with pytest.raises(GeographicCRSError) as err:
        write_3dtiles(_two().to_crs(4326), tmp_path / "a")
    assert err.value.code == "TIL002"
    with pytest.raises(ValidationError) as err:
        write_3dtiles(_two().assign(height_m=np.nan), tmp_path / "a")
    assert err.value.code == "TIL003"
    with pytest.raises(ValidationError) as err:
        write_3dtiles(_two().set_axis(["A", "A"]), tmp_path / "a")
    assert err.value.code == "TIL004" and err.value.entity == "A"
    with pytest.raises(ValidationError) as err:
        write_3dtiles(_two(), tmp_path / "a", max_features_per_tile=0)
    assert err.value.code == "TIL005"
    with pytest.warns(CoverageWarning, match="1 of 2 building") as caught:
        path = write_3dtiles(_two(), tmp_path / "a")
    assert "TIL101" in {w.message.code for w in caught}
    assert json.loads(path.read_text())["extras"]["cimkit"]["buildings_left_out"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no temporary folder left


def test_atomic_replacement(tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(CimkitIOError) as err:
        _quiet(write_3dtiles, _two(), other)
    assert err.value.code == "TIL006" and (other / "keep.txt").read_text() == "mine"
    first = _quiet(write_3dtiles, _two().assign(height_m=[6.0, 9.0]), tmp_path / "t", max_features_per_tile=1)
    assert len(list((tmp_path / "t" / "content").iterdir())) == 2
    again = _quiet(write_3dtiles, _two().assign(height_m=[6.0, 9.0]), tmp_path / "t", max_features_per_tile=1)
    assert again == first and sorted(p.name for p in tmp_path.iterdir()) == ["notes", "t"]
    before = {p.name: p.read_bytes() for p in (tmp_path / "t" / "content").iterdir()}
    _quiet(write_3dtiles, _two().assign(height_m=[6.0, 9.0]), tmp_path / "t", max_features_per_tile=1)
    after = {p.name: p.read_bytes() for p in (tmp_path / "t" / "content").iterdir()}
    assert before == after  # deterministic bytes
    other = _quiet(
        write_3dtiles, _two().assign(height_m=[6.0, 9.0]), tmp_path / "elsewhere", max_features_per_tile=1
    )
    assert other.read_bytes() == first.read_bytes()  # no destination path or time inside
    _quiet(write_3dtiles, _two(), tmp_path / "t")  # replaced: one building, one tile
    assert len(read_3dtiles(tmp_path / "t")) == 1 and len(list((tmp_path / "t" / "content").iterdir())) == 1


def test_validate_finds_content_outside_its_box(tmp_path):
    path = _quiet(write_3dtiles, _two(), tmp_path / "t")
    tileset = json.loads(path.read_text())
    tileset["root"]["boundingVolume"]["box"][5 + 2] = 0.1  # y half-axis shrunk (root is the leaf)
    tileset["root"]["children"] = [
        {"geometricError": 99.0, "boundingVolume": tileset["root"]["boundingVolume"]}
    ]
    path.write_text(json.dumps(tileset))
    problems = validate_tileset(path)
    assert any("outside the tile's bounding box" in p for p in problems)
    assert any("geometricError 99.0" in p for p in problems)


def test_restricted_layer_is_refused(tmp_path):
    buildings = _two().assign(owner=["Dupont", "Martin"])
    with cimkit.set_options(audit_log=tmp_path / "audit.jsonl"):
        with pytest.raises(PublicationError) as err:
            _quiet(write_3dtiles, buildings, tmp_path / "t")
        assert err.value.code == "PUB001" and not (tmp_path / "t").exists()
        path = _quiet(write_3dtiles, buildings, tmp_path / "t", allow={"buildings": "owners consented"})
    assert read_3dtiles(path).loc["A", "owner"] == "Dupont"


@pytest.mark.slow
def test_every_sample_ifc_mesh(sample_buildings, tmp_path):
    """All 11 IFC buildings of the sample city as their meshes, with the cadastre blocks."""
    from cimkit.io.ifc import read_ifc_model

    meshes, frames = {}, [sample_buildings]
    for path in sorted((sample_city_path() / "buildings").glob("*.ifc")):
        model = _quiet(read_ifc_model, path, meshes=True, sandbox=False)
        meshes.update(model.meshes)
        frames.append(model.buildings[["geometry", "height_m", "base_elevation_m", "name"]])
    buildings = gpd.GeoDataFrame(pd.concat(frames), crs=2154)
    path = _quiet(write_3dtiles, buildings, tmp_path / "t", meshes=meshes, max_features_per_tile=8)
    assert validate_tileset(path) == []
    back = read_3dtiles(path)
    assert len(meshes) == 11 and set(meshes) <= set(back.index) and len(back) == len(buildings)
    for gid, mesh in meshes.items():
        assert back.loc[gid, "max_z_m"] == pytest.approx(mesh.bounds[1, 2], abs=1e-3)


def test_read_errors_are_typed(tmp_path):
    from cimkit.errors import FileFormatError

    with pytest.raises(FileFormatError) as err:
        read_3dtiles(tmp_path)
    assert err.value.code == "TIL008"
    (tmp_path / "tileset.json").write_text('{"asset": {"version": "1.1"}, "root": {"geometricError": 0}}')
    with pytest.raises(FileFormatError) as err:
        read_3dtiles(tmp_path)
    assert err.value.code == "TIL008" and "not written by cimkit" in str(err.value)
    path = _quiet(write_3dtiles, _two(), tmp_path / "t")
    (path.parent / "content" / "r.glb").write_bytes(b"glTF\x02\x00\x00\x00")
    with pytest.raises(FileFormatError) as err:
        read_3dtiles(path)
    assert err.value.code == "TIL008" and "content/r.glb" in str(err.value)


def test_dates_are_written_as_text(tmp_path):
    buildings = _two().assign(surveyed=pd.to_datetime(["2024-05-01", "2023-01-31"]), height_m=[6.0, 9.0])
    with pytest.warns(cimkit.errors.RepairWarning, match="surveyed") as caught:
        path = write_3dtiles(buildings, tmp_path / "t")
    assert "TIL102" in {getattr(w.message, "code", None) for w in caught}
    assert read_3dtiles(path).loc["B", "surveyed"] == "2023-01-31 00:00:00"
