"""A small binary glTF 2.0 (GLB) writer and reader for building meshes with per-feature metadata.

One GLB holds one triangle mesh (one primitive) with ``POSITION``, ``NORMAL`` and the
``_FEATURE_ID_0`` vertex attribute, the feature ids being described by **EXT_mesh_features**
(``featureIds: [{featureCount, attribute: 0, propertyTable: 0}]``) and the attributes of each
feature by **EXT_structural_metadata** (a schema with one class ``building`` and one property
table whose columns are binary buffer views).

Encoding choices, following the glTF 2.0 and 3D Metadata specifications:

- positions and normals are ``FLOAT`` ``VEC3`` (accessor ``min``/``max`` on positions), indices
  ``UNSIGNED_INT`` (``target`` 34963), vertex data ``target`` 34962;
- feature ids are ``FLOAT`` (exact up to 2**24 features): glTF 2.0 forbids ``UNSIGNED_INT``
  vertex attributes and requires every vertex attribute element to be 4-byte aligned;
- property columns: ``STRING`` (UTF-8 ``values`` + ``UINT32`` ``stringOffsets``, count + 1
  offsets), ``SCALAR FLOAT64``, ``SCALAR INT64``, ``BOOLEAN`` (a bitstream, least significant
  bit first); every buffer view starts on an 8-byte boundary (the metadata spec asks for
  alignment to the component size, 8 bytes for 64-bit values);
- a missing value is ``NaN`` for ``FLOAT64`` and the property's ``noData`` for ``INT64``
  (the smallest int64) and ``STRING`` (``""``, or the NUL character when the column holds ``""``);
- the JSON chunk is padded with spaces and the binary chunk with zeros to 4 bytes; the same
  input gives the same bytes.

References: glTF 2.0 (Khronos, https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html),
EXT_mesh_features and EXT_structural_metadata (https://github.com/CesiumGS/glTF/tree/3d-tiles-next/extensions/2.0/Vendor).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__: list[str] = []

GLB_MAGIC = b"glTF"
_JSON_CHUNK = 0x4E4F534A
_BIN_CHUNK = 0x004E4942
_FLOAT, _UINT = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
INT64_NODATA = -(2**63)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Property:
    """One column of the property table: its identifier, original name, type and values."""

    identifier: str
    name: str
    kind: str  # "STRING" | "FLOAT64" | "INT64" | "BOOLEAN"
    values: list[Any] | np.ndarray
    no_data: Any = None


@dataclass
class MeshData:
    """A triangle mesh ready to encode: float32 positions (glTF axes), normals, ids, indices."""

    positions: np.ndarray
    normals: np.ndarray
    feature_ids: np.ndarray
    indices: np.ndarray
    feature_count: int
    properties: list[Property] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def property_identifier(name: str, taken: set[str]) -> str:
    """Return a metadata identifier (``[A-Za-z_][A-Za-z0-9_]*``) for a column name, unique in ``taken``."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name) or "_"
    if not _IDENTIFIER.match(ident):
        ident = "_" + ident
    base, n = ident, 1
    while ident in taken:
        n += 1
        ident = f"{base}_{n}"
    taken.add(ident)
    return ident


class _Buffer:
    """The binary chunk being assembled: buffer views aligned to 8 bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict[str, Any]] = []

    def add(self, data: bytes, target: int | None = None) -> int:
        data = data or b"\x00"  # glTF: a buffer view holds at least one byte (empty text columns)
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\x00" * pad)
            self.size += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.parts.append(data)
        self.size += len(data)
        return len(self.views) - 1

    def tobytes(self) -> bytes:
        data = b"".join(self.parts)
        return data + b"\x00" * ((-len(data)) % 4)


def _string_columns(values: list[Any], buf: _Buffer) -> dict[str, Any]:
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype="<u4")
    offsets[1:] = np.cumsum([len(e) for e in encoded], dtype="uint64")
    return {
        "values": buf.add(b"".join(encoded)),
        "stringOffsets": buf.add(offsets.tobytes()),
        "stringOffsetType": "UINT32",
    }


def _encode_property(prop: Property, buf: _Buffer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schema class property, property table property) for one column."""
    schema: dict[str, Any] = {"name": prop.name}
    if prop.kind == "STRING":
        schema["type"] = "STRING"
        table = _string_columns(list(prop.values), buf)
    elif prop.kind == "BOOLEAN":
        schema["type"] = "BOOLEAN"
        bits = np.packbits(np.asarray(prop.values, dtype=bool), bitorder="little")
        table = {"values": buf.add(bits.tobytes())}
    else:
        schema["type"] = "SCALAR"
        schema["componentType"] = prop.kind
        dtype = "<f8" if prop.kind == "FLOAT64" else "<i8"
        table = {"values": buf.add(np.asarray(prop.values, dtype=dtype).tobytes())}
    if prop.no_data is not None:
        schema["noData"] = prop.no_data
    return schema, table


def encode_glb(mesh: MeshData) -> bytes:
    """Encode ``mesh`` as GLB bytes (deterministic)."""
    buf = _Buffer()
    positions = np.ascontiguousarray(mesh.positions, dtype="<f4")
    normals = np.ascontiguousarray(mesh.normals, dtype="<f4")
    ids = np.ascontiguousarray(mesh.feature_ids, dtype="<f4")
    indices = np.ascontiguousarray(mesh.indices, dtype="<u4").ravel()
    n = len(positions)
    accessors = [
        {
            "bufferView": buf.add(positions.tobytes(), _ARRAY_BUFFER),
            "componentType": _FLOAT,
            "count": n,
            "type": "VEC3",
            "min": [float(v) for v in positions.min(axis=0)],
            "max": [float(v) for v in positions.max(axis=0)],
        },
        {
            "bufferView": buf.add(normals.tobytes(), _ARRAY_BUFFER),
            "componentType": _FLOAT,
            "count": n,
            "type": "VEC3",
        },
        {
            "bufferView": buf.add(ids.tobytes(), _ARRAY_BUFFER),
            "componentType": _FLOAT,
            "count": n,
            "type": "SCALAR",
        },
        {
            "bufferView": buf.add(indices.tobytes(), _ELEMENT_ARRAY_BUFFER),
            "componentType": _UINT,
            "count": len(indices),
            "type": "SCALAR",
        },
    ]
    schema_props: dict[str, Any] = {}
    table_props: dict[str, Any] = {}
    for prop in mesh.properties:
        schema_props[prop.identifier], table_props[prop.identifier] = _encode_property(prop, buf)
    binary = buf.tobytes()
    primitive = {
        "attributes": {"POSITION": 0, "NORMAL": 1, "_FEATURE_ID_0": 2},
        "indices": 3,
        "material": 0,
        "mode": 4,
        "extensions": {
            "EXT_mesh_features": {
                "featureIds": [{"featureCount": int(mesh.feature_count), "attribute": 0, "propertyTable": 0}]
            }
        },
    }
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "cimkit", "extras": mesh.extras},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "extensions": {
            "EXT_structural_metadata": {
                "schema": {"id": "cimkit_buildings", "classes": {"building": {"properties": schema_props}}},
                "propertyTables": [
                    {"class": "building", "count": int(mesh.feature_count), "properties": table_props}
                ],
            }
        },
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "buildings"}],
        "meshes": [{"primitives": [primitive], "name": "buildings"}],
        "materials": [
            {
                "name": "building",
                "pbrMetallicRoughness": {
                    "baseColorFactor": [0.85, 0.82, 0.78, 1.0],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.9,
                },
            }
        ],
        "accessors": accessors,
        "bufferViews": buf.views,
        "buffers": [{"byteLength": len(binary)}],
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", GLB_MAGIC, 2, total),
            struct.pack("<II", len(text), _JSON_CHUNK),
            text,
            struct.pack("<II", len(binary), _BIN_CHUNK),
            binary,
        ]
    )


def split_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Return the JSON document and the binary chunk of GLB bytes (raises ValueError if malformed)."""
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise ValueError("not a binary glTF file (no 'glTF' magic)")
    _, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2 or length != len(data):
        raise ValueError(
            f"GLB header says version {version}, length {length}; the file has {len(data)} bytes"
        )
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != _JSON_CHUNK or 20 + json_len > len(data):
        raise ValueError("the first GLB chunk is not a complete JSON chunk")
    doc = json.loads(data[20 : 20 + json_len].decode("utf-8"))
    binary = b""
    offset = 20 + json_len
    if offset < len(data):
        bin_len, bin_type = struct.unpack_from("<II", data, offset)
        if bin_type != _BIN_CHUNK or offset + 8 + bin_len > len(data):
            raise ValueError("the second GLB chunk is not a complete BIN chunk")
        binary = data[offset + 8 : offset + 8 + bin_len]
    return doc, binary


_COMPONENTS = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def read_accessor(doc: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    """Return accessor ``index`` as an array (tightly packed buffer views only)."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.dtype(_COMPONENTS[acc["componentType"]])
    width = _WIDTH[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    arr = np.frombuffer(binary, dtype=dtype, count=acc["count"] * width, offset=start)
    return arr.reshape(acc["count"], width) if width > 1 else arr


def _view_bytes(doc: dict[str, Any], binary: bytes, index: int) -> bytes:
    view = doc["bufferViews"][index]
    start = view.get("byteOffset", 0)
    return binary[start : start + view["byteLength"]]


def read_property_table(doc: dict[str, Any], binary: bytes) -> dict[str, tuple[dict[str, Any], Any]]:
    """Return identifier -> (schema property, values) of the first property table."""
    meta = doc["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    classes = meta["schema"]["classes"][table["class"]]["properties"]
    count = int(table["count"])
    out: dict[str, tuple[dict[str, Any], Any]] = {}
    for ident, col in table["properties"].items():
        spec = classes[ident]
        raw = _view_bytes(doc, binary, col["values"])
        if spec["type"] == "STRING":
            offsets = np.frombuffer(_view_bytes(doc, binary, col["stringOffsets"]), dtype="<u4")
            values: Any = [raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
        elif spec["type"] == "BOOLEAN":
            bits = np.unpackbits(np.frombuffer(raw, dtype="u1"), bitorder="little")[:count]
            values = bits.astype(bool)
        else:
            dtype = "<f8" if spec["componentType"] == "FLOAT64" else "<i8"
            values = np.frombuffer(raw, dtype=dtype, count=count)
        out[ident] = (spec, values)
    return out


def check_glb(data: bytes) -> list[str]:
    """Check GLB bytes against the glTF / EXT_mesh_features / EXT_structural_metadata rules checkable offline.

    Returns the problems found (empty when valid): header and chunk lengths and alignment,
    buffer view ranges and alignment, accessor bounds against the data, ``min``/``max`` of
    positions, index range, feature ids below ``featureCount``, property table counts and
    monotone string offsets, ``extensionsUsed``.
    """
    try:
        doc, binary = split_glb(data)
    except (ValueError, UnicodeDecodeError, struct.error) as err:
        return [f"GLB container: {err}"]
    problems: list[str] = []
    if len(data) % 4 or (20 + struct.unpack_from("<I", data, 12)[0]) % 4:
        problems.append("GLB chunks are not 4-byte aligned")
    if doc.get("asset", {}).get("version") != "2.0":
        problems.append("asset.version is not '2.0'")
    if not 0 <= len(binary) - int(doc.get("buffers", [{}])[0].get("byteLength", -99)) <= 3:
        problems.append("buffers[0].byteLength does not match the BIN chunk")
    for i, view in enumerate(doc.get("bufferViews", [])):
        start, length = view.get("byteOffset", 0), view["byteLength"]
        if start + length > doc["buffers"][0]["byteLength"]:
            problems.append(f"bufferView {i} runs past the buffer")
        if start % 4:
            problems.append(f"bufferView {i} offset {start} is not 4-byte aligned")
    problems += _check_primitives(doc, binary)
    used = set(doc.get("extensionsUsed", []))
    if "EXT_structural_metadata" in doc.get("extensions", {}):
        if "EXT_structural_metadata" not in used:
            problems.append("EXT_structural_metadata is used but not in extensionsUsed")
        problems += _check_table(doc, binary)
    return problems


def _check_primitives(doc: dict[str, Any], binary: bytes) -> list[str]:
    problems: list[str] = []
    counts = {"property table": None}
    tables = doc.get("extensions", {}).get("EXT_structural_metadata", {}).get("propertyTables", [])
    if tables:
        counts["property table"] = tables[0].get("count")
    for m, mesh in enumerate(doc.get("meshes", [])):
        for p, prim in enumerate(mesh["primitives"]):
            where = f"mesh {m} primitive {p}"
            pos = read_accessor(doc, binary, prim["attributes"]["POSITION"])
            acc = doc["accessors"][prim["attributes"]["POSITION"]]
            if not (np.allclose(pos.min(axis=0), acc["min"]) and np.allclose(pos.max(axis=0), acc["max"])):
                problems.append(f"{where}: POSITION min/max differ from the data")
            for name, index in prim["attributes"].items():
                if doc["accessors"][index]["count"] != len(pos):
                    problems.append(f"{where}: attribute {name} count differs from POSITION")
            if "indices" in prim:
                idx = read_accessor(doc, binary, prim["indices"])
                if len(idx) % 3 or (len(idx) and int(idx.max()) >= len(pos)):
                    problems.append(f"{where}: indices out of range or not triangles")
            ext = prim.get("extensions", {}).get("EXT_mesh_features")
            if ext is None:
                continue
            if "EXT_mesh_features" not in doc.get("extensionsUsed", []):
                problems.append("EXT_mesh_features is used but not in extensionsUsed")
            for fid in ext["featureIds"]:
                ids = read_accessor(doc, binary, prim["attributes"][f"_FEATURE_ID_{fid['attribute']}"])
                if len(ids) and (
                    ids.min() < 0 or ids.max() >= fid["featureCount"] or np.any(ids != np.round(ids))
                ):
                    problems.append(f"{where}: feature ids are not integers below featureCount")
                if counts["property table"] is not None and fid["featureCount"] != counts["property table"]:
                    problems.append(f"{where}: featureCount differs from the property table count")
    return problems


def _check_table(doc: dict[str, Any], binary: bytes) -> list[str]:
    problems: list[str] = []
    meta = doc["extensions"]["EXT_structural_metadata"]
    for t, table in enumerate(meta.get("propertyTables", [])):
        count = table["count"]
        schema = meta["schema"]["classes"][table["class"]]["properties"]
        for ident, col in table["properties"].items():
            if not _IDENTIFIER.match(ident) or ident not in schema:
                problems.append(f"property table {t}: {ident!r} is not a schema property identifier")
                continue
            spec = schema[ident]
            length = doc["bufferViews"][col["values"]]["byteLength"]
            if doc["bufferViews"][col["values"]].get("byteOffset", 0) % 8:
                problems.append(f"property {ident}: values view not 8-byte aligned")
            if spec["type"] == "STRING":
                offsets = np.frombuffer(_view_bytes(doc, binary, col["stringOffsets"]), dtype="<u4")
                if (
                    len(offsets) != count + 1
                    or np.any(np.diff(offsets.astype("int64")) < 0)
                    or offsets[-1] > length
                ):
                    problems.append(f"property {ident}: string offsets are not count + 1 monotone offsets")
            elif spec["type"] == "BOOLEAN":
                if length != (count + 7) // 8:
                    problems.append(f"property {ident}: boolean bitstream length is wrong")
            elif length != 8 * count:
                problems.append(f"property {ident}: values length {length} is not 8 x count {count}")
    return problems
