"""A small hand-made 3D Tiles 1.1 tileset with known geometry, for checking the viewer's maths.

Independent of cimkit's own writer: boxes at known east-north-up positions, a root transform
ENU -> ECEF computed here from the WGS 84 formulas (EPSG:4978), one child tile with its own
translation, GLB content with EXT_mesh_features and EXT_structural_metadata written by hand
(glTF 2.0 and 3D Metadata specifications).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563


def enu_to_ecef(lon_deg: float, lat_deg: float, height_m: float) -> np.ndarray:
    """The 4x4 matrix taking east-north-up metres at a point to ECEF metres."""
    lon, lat = math.radians(lon_deg), math.radians(lat_deg)
    e2 = WGS84_F * (2 - WGS84_F)
    n = WGS84_A / math.sqrt(1 - e2 * math.sin(lat) ** 2)
    origin = [
        (n + height_m) * math.cos(lat) * math.cos(lon),
        (n + height_m) * math.cos(lat) * math.sin(lon),
        (n * (1 - e2) + height_m) * math.sin(lat),
    ]
    east = [-math.sin(lon), math.cos(lon), 0.0]
    north = [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)]
    up = [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = east, north, up, origin
    return matrix


def _box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (glTF y-up: x = east, y = up, z = -north) and triangles of an ENU box."""
    corners = [(x, y, z) for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])]
    vertices = np.array([(e, u, -n) for e, n, u in corners], dtype=np.float32)
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    faces = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))], dtype=np.uint32)
    return vertices, faces


def _pad(data: bytes, fill: bytes = b"\0", size: int = 8) -> bytes:
    return data + fill * (-len(data) % size)


def write_glb(path: Path, boxes: list[dict]) -> None:
    """One GLB: each box a feature (id, height_m FLOAT64, listed BOOLEAN, storeys INT64)."""
    vertices, faces, feature_ids = [], [], []
    for index, box in enumerate(boxes):
        v, f = _box(box["lo"], box["hi"])
        faces.append(f + sum(len(x) for x in vertices))
        vertices.append(v)
        feature_ids.append(np.full(len(v), index, dtype=np.float32))
    position = np.concatenate(vertices)
    chunks = [
        position.tobytes(),
        np.concatenate(feature_ids).tobytes(),
        np.concatenate(faces).astype(np.uint32).tobytes(),
    ]
    ids = [box["id"].encode("utf-8") for box in boxes]
    offsets = np.cumsum([0] + [len(x) for x in ids]).astype(np.uint32)
    chunks += [
        b"".join(ids),
        offsets.tobytes(),
        np.array([box["height_m"] for box in boxes], dtype=np.float64).tobytes(),
        bytes([sum(1 << i for i, box in enumerate(boxes) if box["listed"])]),
        np.array([box["storeys"] for box in boxes], dtype=np.int64).tobytes(),
    ]
    views, binary = [], b""
    for i, chunk in enumerate(chunks):
        view = {"buffer": 0, "byteOffset": len(binary), "byteLength": len(chunk)}
        if i < 2:
            view["target"] = 34962
        elif i == 2:
            view["target"] = 34963
        views.append(view)
        binary += _pad(chunk)
    doc = {
        "asset": {"version": "2.0", "generator": "tests/browser/_synthetic.py"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [
            {
                "primitives": [
                    {
                        "attributes": {"POSITION": 0, "_FEATURE_ID_0": 1},
                        "indices": 2,
                        "extensions": {
                            "EXT_mesh_features": {
                                "featureIds": [
                                    {"featureCount": len(boxes), "attribute": 0, "propertyTable": 0}
                                ]
                            }
                        },
                    }
                ]
            }
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(position),
                "type": "VEC3",
                "min": position.min(axis=0).tolist(),
                "max": position.max(axis=0).tolist(),
            },
            {"bufferView": 1, "componentType": 5126, "count": len(position), "type": "SCALAR"},
            {
                "bufferView": 2,
                "componentType": 5125,
                "count": int(sum(len(f) for f in faces) * 3),
                "type": "SCALAR",
            },
        ],
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
        "extensions": {
            "EXT_structural_metadata": {
                "schema": {
                    "id": "synthetic",
                    "classes": {
                        "building": {
                            "properties": {
                                "id": {"type": "STRING"},
                                "height_m": {"type": "SCALAR", "componentType": "FLOAT64"},
                                "listed": {"type": "BOOLEAN"},
                                "storeys": {"type": "SCALAR", "componentType": "INT64"},
                            }
                        }
                    },
                },
                "propertyTables": [
                    {
                        "class": "building",
                        "count": len(boxes),
                        "properties": {
                            "id": {"values": 3, "stringOffsets": 4},
                            "height_m": {"values": 5},
                            "listed": {"values": 6},
                            "storeys": {"values": 7},
                        },
                    }
                ],
            }
        },
    }
    text = _pad(json.dumps(doc).encode("utf-8"), b" ", 4)
    binary = _pad(binary, b"\0", 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    path.write_bytes(
        struct.pack("<4sII", b"glTF", 2, total)
        + struct.pack("<I4s", len(text), b"JSON")
        + text
        + struct.pack("<I4s", len(binary), b"BIN\0")
        + binary
    )


#: The boxes of the synthetic tileset, in the root's ENU frame (child offsets included).
BOXES = {
    "A": {"lo": (0.0, 0.0, 0.0), "hi": (20.0, 10.0, 12.0), "height_m": 12.0, "listed": True, "storeys": 4},
    "B": {"lo": (40.0, -30.0, 0.0), "hi": (50.0, -10.0, 6.5), "height_m": 6.5, "listed": False, "storeys": 2},
    "É-3": {
        "lo": (100.0, 40.0, 0.0),
        "hi": (115.0, 60.0, 30.0),
        "height_m": 30.0,
        "listed": False,
        "storeys": 9,
    },
}
#: The child tile holding "É-3" is translated by this much (east, north, up), in metres.
CHILD_OFFSET = (100.0, 40.0, 0.0)


def write_synthetic_tileset(folder: Path) -> Path:
    """Write tileset.json and two GLBs near Lyon; the child tile carries a translation."""
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    first = [{"id": key, **BOXES[key]} for key in ("A", "B")]
    write_glb(folder / "tiles" / "0.glb", first)
    local = dict(BOXES["É-3"])
    local["lo"] = tuple(a - b for a, b in zip(local["lo"], CHILD_OFFSET))
    local["hi"] = tuple(a - b for a, b in zip(local["hi"], CHILD_OFFSET))
    write_glb(folder / "tiles" / "1.glb", [{"id": "É-3", **local}])
    child = np.eye(4)
    child[:3, 3] = CHILD_OFFSET
    box = [60, 15, 15, 60, 0, 0, 0, 50, 0, 0, 0, 15]
    tileset = {
        "asset": {"version": "1.1"},
        "geometricError": 200,
        "root": {
            "transform": enu_to_ecef(4.835, 45.764, 170.0).T.ravel().tolist(),  # column-major
            "boundingVolume": {"box": box},
            "geometricError": 100,
            "refine": "ADD",
            "children": [
                {"boundingVolume": {"box": box}, "geometricError": 0, "content": {"uri": "tiles/0.glb"}},
                {
                    "transform": child.T.ravel().tolist(),
                    "boundingVolume": {"box": [7.5, 10, 15, 7.5, 0, 0, 0, 10, 0, 0, 0, 15]},
                    "geometricError": 0,
                    "content": {"uri": "tiles/1.glb"},
                },
            ],
        },
    }
    path = folder / "tileset.json"
    path.write_text(json.dumps(tileset), encoding="utf-8")
    return path
