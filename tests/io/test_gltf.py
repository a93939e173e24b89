"""The GLB writer: container layout, accessors, EXT_mesh_features / EXT_structural_metadata, checks."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from cimkit.io import _gltf
from cimkit.io._gltf import INT64_NODATA, MeshData, Property
from cimkit.io.tiles3d import write_glb

X0, Y0 = 651_000.0, 6_847_000.0
REPO = Path(__file__).resolve().parents[2]


def _mesh(properties: list[Property]) -> MeshData:
    # two triangles, feature 0 and feature 1
    positions = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [6, 0, 0], [5, 2, -3]], dtype="float64")
    return MeshData(
        positions=positions,
        normals=np.tile([0.0, 0.0, 1.0], (6, 1)),
        feature_ids=np.array([0, 0, 0, 1, 1, 1]),
        indices=np.arange(6),
        feature_count=2,
        properties=properties,
        extras={"k": 1},
    )


PROPS = [
    Property("id", "id", "STRING", ["A", "Bâtiment é"]),
    Property("height_m", "height m", "FLOAT64", np.array([6.5, np.nan])),
    Property("storeys", "storeys", "INT64", np.array([2, INT64_NODATA]), INT64_NODATA),
    Property("listed", "listed", "BOOLEAN", np.array([False, True])),
    Property("note", "note", "STRING", ["", ""]),
]


def test_glb_container_and_accessors():
    data = _gltf.encode_glb(_mesh(PROPS))
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data)) and len(data) % 4 == 0
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and 20 + json_len + 8 + bin_len == len(data)
    doc = json.loads(data[20 : 20 + json_len])
    assert doc["asset"]["version"] == "2.0" and doc["asset"]["extras"] == {"k": 1}
    assert doc["extensionsUsed"] == ["EXT_mesh_features", "EXT_structural_metadata"]
    pos = doc["accessors"][0]
    assert (pos["min"], pos["max"]) == ([0.0, 0.0, -3.0], [6.0, 2.0, 0.0])
    assert [a["componentType"] for a in doc["accessors"]] == [5126, 5126, 5126, 5125]
    assert [doc["bufferViews"][a["bufferView"]]["target"] for a in doc["accessors"]] == [34962] * 3 + [34963]
    assert all(v["byteOffset"] % 8 == 0 and v["byteLength"] > 0 for v in doc["bufferViews"])
    prim = doc["meshes"][0]["primitives"][0]
    assert prim["extensions"]["EXT_mesh_features"] == {
        "featureIds": [{"featureCount": 2, "attribute": 0, "propertyTable": 0}]
    }
    assert _gltf.check_glb(data) == []
    assert _gltf.encode_glb(_mesh(PROPS)) == data  # deterministic


def test_property_table_encoding_and_round_trip():
    doc, binary = _gltf.split_glb(_gltf.encode_glb(_mesh(PROPS)))
    meta = doc["extensions"]["EXT_structural_metadata"]
    schema = meta["schema"]["classes"]["building"]["properties"]
    assert schema["height_m"] == {"name": "height m", "type": "SCALAR", "componentType": "FLOAT64"}
    assert schema["storeys"]["noData"] == -(2**63) and schema["listed"]["type"] == "BOOLEAN"
    assert meta["propertyTables"][0]["count"] == 2
    # string offsets: "A" is 1 byte, "Bâtiment é" 12 bytes in UTF-8
    col = meta["propertyTables"][0]["properties"]["id"]
    assert col["stringOffsetType"] == "UINT32"
    view = doc["bufferViews"][col["stringOffsets"]]
    offsets = np.frombuffer(binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]], "<u4")
    assert offsets.tolist() == [0, 1, 13]
    bools = doc["bufferViews"][meta["propertyTables"][0]["properties"]["listed"]["values"]]
    assert binary[bools["byteOffset"]] == 0b10  # feature 1 true, least significant bit first
    table = _gltf.read_property_table(doc, binary)
    assert table["id"][1] == ["A", "Bâtiment é"]
    assert table["height_m"][1][0] == 6.5 and np.isnan(table["height_m"][1][1])
    assert table["storeys"][1].tolist() == [2, INT64_NODATA]
    assert table["listed"][1].tolist() == [False, True]
    assert table["note"][1] == ["", ""]


def _patch(data: bytes, edit) -> bytes:
    doc, binary = _gltf.split_glb(data)
    binary = bytearray(binary)
    edit(doc, binary)
    text = json.dumps(doc).encode()
    text += b" " * ((-len(text)) % 4)
    total = 28 + len(text) + len(binary)
    return (
        struct.pack("<4sII", b"glTF", 2, total)
        + struct.pack("<II", len(text), 0x4E4F534A)
        + text
        + struct.pack("<II", len(binary), 0x004E4942)
        + bytes(binary)
    )


def test_check_glb_finds_broken_files():
    data = _gltf.encode_glb(_mesh(PROPS))
    assert _gltf.check_glb(data[:-4])[0].startswith("GLB container")

    def too_many(doc, binary):
        view = doc["bufferViews"][doc["accessors"][2]["bufferView"]]
        binary[view["byteOffset"] : view["byteOffset"] + 4] = struct.pack("<f", 7.0)

    assert any("featureCount" in p for p in _gltf.check_glb(_patch(data, too_many)))

    def bad_bounds(doc, binary):
        doc["accessors"][0]["max"] = [1.0, 1.0, 1.0]

    assert any("min/max" in p for p in _gltf.check_glb(_patch(data, bad_bounds)))

    def bad_offsets(doc, binary):
        col = doc["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["properties"]["id"]
        view = doc["bufferViews"][col["stringOffsets"]]
        binary[view["byteOffset"] : view["byteOffset"] + 12] = np.array([0, 9, 3], "<u4").tobytes()

    assert any("string offsets" in p for p in _gltf.check_glb(_patch(data, bad_offsets)))

    def no_extension(doc, binary):
        doc["extensionsUsed"] = []

    assert any("extensionsUsed" in p for p in _gltf.check_glb(_patch(data, no_extension)))


def test_property_identifiers_are_valid_and_unique():
    taken = {"id"}
    assert [_gltf.property_identifier(n, taken) for n in ["id", "min-height", "2nd", "min_height"]] == [
        "id_2",
        "min_height",
        "_2nd",
        "min_height_2",
    ]


def test_write_glb_positions_are_map_coordinates_minus_the_origin(tmp_path):
    l_shape = Polygon(
        [(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 8), (X0 + 8, Y0 + 8), (X0 + 8, Y0 + 15), (X0, Y0 + 15)]
    )
    buildings = gpd.GeoDataFrame(
        {
            "height_m": [6.0, 9.5],
            "base_elevation_m": [101.25, 99.0],
            "listed": [True, False],
            "storeys": [2, 3],
        },
        geometry=[l_shape, box(X0 + 30, Y0 + 2.5, X0 + 40, Y0 + 10)],
        index=["A", "B"],
        crs=2154,
    )
    path = write_glb(buildings, tmp_path / "city.glb")
    data = path.read_bytes()
    assert _gltf.check_glb(data) == []
    doc, binary = _gltf.split_glb(data)
    origin = doc["asset"]["extras"]["cimkit_origin"]
    assert origin == [X0, Y0, 99.0] and doc["asset"]["extras"]["crs"] == "EPSG:2154"
    pos = _gltf.read_accessor(doc, binary, 0).astype("float64")
    fid = _gltf.read_accessor(doc, binary, 2)
    x, y, z = pos[:, 0] + origin[0], -pos[:, 2] + origin[1], pos[:, 1] + origin[2]  # y-up -> map
    a, b = fid == 0, fid == 1
    assert (x[a].min(), x[a].max(), y[a].min(), y[a].max()) == (X0, X0 + 20, Y0, Y0 + 15)
    assert (z[a].min(), z[a].max()) == (101.25, 107.25)
    assert np.allclose([x[b].min(), y[b].min(), z[b].max()], [X0 + 30, Y0 + 2.5, 108.5])
    # the L-shape's roof triangles cover exactly its area (20 x 8 + 8 x 7 = 216 m2)
    tris = pos[a].reshape(-1, 3, 3)
    cross = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    up = cross[:, 1] > 0  # normals pointing to +y (up in glTF)
    assert 0.5 * cross[up, 1].sum() == pytest.approx(216.0)
    normals = _gltf.read_accessor(doc, binary, 1)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    table = _gltf.read_property_table(doc, binary)
    assert table["id"][1] == ["A", "B"] and table["listed"][1].tolist() == [True, False]
    assert table["storeys"][0]["componentType"] == "INT64" and table["storeys"][1].tolist() == [2, 3]
    assert write_glb(buildings, tmp_path / "again.glb").read_bytes() == data


def test_write_glb_uses_given_meshes(tmp_path):
    import trimesh

    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0, 3.0]},
        geometry=[box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 30, Y0 + 5)],
        index=["A", "B"],
        crs=2154,
    )
    pyramid = trimesh.creation.cone(radius=4.0, height=12.0, sections=4)
    pyramid.apply_translation([X0 + 5, Y0 + 5, 50.0])
    doc, binary = _gltf.split_glb(
        write_glb(buildings, tmp_path / "c.glb", meshes={"A": pyramid}).read_bytes()
    )
    fid = _gltf.read_accessor(doc, binary, 2)
    assert (fid == 0).sum() == 3 * len(pyramid.faces) and (fid == 1).sum() == 36  # block: 12 triangles
    pos = _gltf.read_accessor(doc, binary, 0)
    origin = doc["asset"]["extras"]["cimkit_origin"]
    assert float(pos[fid == 0, 1].max()) + origin[2] == pytest.approx(62.0)


def test_official_gltf_validator(tmp_path):
    """The Khronos glTF validator (npm gltf-validator) finds no error and no warning."""
    module = REPO / "js" / "node_modules" / "gltf-validator"
    if not module.is_dir() or shutil.which("node") is None:
        pytest.skip("js/node_modules/gltf-validator is not installed (npm install in js/)")
    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0], "name": ["a"]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], index=["A"], crs=2154
    )
    path = write_glb(buildings, tmp_path / "c.glb")
    script = (
        f"const v=require({json.dumps(str(module))});const fs=require('fs');"
        f"v.validateBytes(new Uint8Array(fs.readFileSync({json.dumps(str(path))}))).then(r=>"
        "{console.log(JSON.stringify([r.issues.numErrors,r.issues.numWarnings]));})"
    )
    with warnings.catch_warnings():
        out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == [0, 0]
