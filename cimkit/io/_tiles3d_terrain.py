"""The terrain under a 3D Tiles tileset: the DEM as one glTF (GLB) mesh in the tileset's frame.

The public page and the tile viewer draw the buildings of a tileset written by
:func:`cimkit.io.tiles3d.write_3dtiles` on the ground they stand on. The terrain is NOT a tile of
the tileset (a tile's content is buildings with feature ids and a property table, and
``read_3dtiles`` / ``validate_tileset`` read every content as buildings): it is a separate
``terrain.glb`` whose positions are in the tileset root's local east-north-up frame (the frame
the buildings' vertices use, before the root transform to ECEF), glTF y-up, so a viewer that
draws the tileset without its root transform (as cimkit's does) places both with the same matrix.

The DEM is decimated to at most ``max_side`` points a side (a regular grid of triangles, two
per cell); a triangle touching a nodata point is left out (a hole, never a made-up elevation).
Elevations go through the same CRS -> ECEF -> ENU conversion as the buildings' base elevations,
so a building's base and the ground under it agree to the DEM's resolution.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from cimkit.errors import InputError
from cimkit.io import _tiles3d_prepare as _prep
from cimkit.raster import Raster

__all__ = ["build_terrain_glb"]

_FLOAT, _UINT = 5126, 5125
_TERRAIN_RGBA = [0.74, 0.78, 0.68, 1.0]  # a light grey-green that the buildings' beige stands out from


def _grid(dem: Raster, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the decimated grid's map points (n, 3) and its triangles (m, 3) over valid points."""
    step = max(1, int(np.ceil(max(dem.shape) / max_side)))
    values = dem.masked()[::step, ::step].astype("float64")
    n_rows, n_cols = values.shape
    if n_rows < 2 or n_cols < 2:
        raise InputError(
            "the DEM is too small to draw (fewer than 2 x 2 points)",
            layer="dem",
            code="TIL009",
            hint="give a DEM of at least 2 x 2 cells, or publish without the terrain.",
        )
    rows, cols = np.indices(values.shape)
    # cell centres, as every other cimkit use of the DEM samples it
    x, y = dem.xy(rows * step, cols * step)
    points = np.column_stack([np.ravel(x), np.ravel(y), values.ravel()])
    valid = np.isfinite(points[:, 2])
    if not valid.any():
        raise InputError(
            "the DEM holds no valid cell (every cell is nodata)",
            layer="dem",
            code="TIL009",
            hint="check the DEM's nodata value, or publish without the terrain.",
        )
    ids = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    a, b = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel()
    c, d = ids[1:, :-1].ravel(), ids[1:, 1:].ravel()
    # rows go south as the index grows: (a, c, b) and (b, c, d) turn counter-clockwise seen from above
    triangles = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])])
    triangles = triangles[valid[triangles].all(axis=1)]
    used = np.unique(triangles)
    remap = np.full(len(points), -1, dtype="int64")
    remap[used] = np.arange(len(used))
    return points[used], remap[triangles]


def _normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals of a triangle mesh (unit length)."""
    p = positions[triangles]
    face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    normals = np.zeros_like(positions)
    for k in range(3):
        np.add.at(normals, triangles[:, k], face)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def _encode(
    positions: np.ndarray, normals: np.ndarray, triangles: np.ndarray, extras: dict[str, Any]
) -> bytes:
    """Encode a minimal GLB: one primitive (POSITION, NORMAL, indices), one material, no features."""
    pos = np.ascontiguousarray(positions, dtype="<f4")
    nor = np.ascontiguousarray(normals, dtype="<f4")
    idx = np.ascontiguousarray(triangles, dtype="<u4").ravel()
    chunks, views, offset = [], [], 0
    for data, target in ((pos.tobytes(), 34962), (nor.tobytes(), 34962), (idx.tobytes(), 34963)):
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(data), "target": target})
        chunks.append(data + b"\0" * ((-len(data)) % 4))
        offset += len(chunks[-1])
    binary = b"".join(chunks)
    doc = {
        "asset": {"version": "2.0", "generator": "cimkit", "extras": extras},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "terrain"}],
        "meshes": [
            {
                "name": "terrain",
                "primitives": [
                    {"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0, "mode": 4}
                ],
            }
        ],
        "materials": [
            {
                "name": "terrain",
                "pbrMetallicRoughness": {
                    "baseColorFactor": _TERRAIN_RGBA,
                    "metallicFactor": 0.0,
                    "roughnessFactor": 1.0,
                },
            }
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": _FLOAT,
                "count": len(pos),
                "type": "VEC3",
                "min": [float(v) for v in pos.min(axis=0)],
                "max": [float(v) for v in pos.max(axis=0)],
            },
            {"bufferView": 1, "componentType": _FLOAT, "count": len(nor), "type": "VEC3"},
            {
                "bufferView": 2,
                "componentType": _UINT,
                "count": len(idx),
                "type": "SCALAR",
                "min": [int(idx.min())],
                "max": [int(idx.max())],
            },
        ],
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<II", len(text), 0x4E4F534A),
            text,
            struct.pack("<II", len(binary), 0x004E4942),
            binary,
        ]
    )


def build_terrain_glb(dem: Raster, tileset: str | Path, *, max_side: int = 256) -> bytes:
    """Return the GLB bytes of ``dem`` in the frame of the tileset at ``tileset`` (its ``tileset.json``).

    The tileset's ``extras.cimkit`` gives the CRS and the origin of its east-north-up frame; the DEM
    must be in that CRS (the model's). Raises :class:`~cimkit.errors.InputError` (TIL009) for a DEM
    with no valid cell or in another CRS.

    Examples
    --------
    >>> import json, tempfile, warnings
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.tiles3d import write_3dtiles
    >>> from cimkit.io import _gltf
    >>> dem = cimkit.read_dem(sample_city_path() / "dem.tif")
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     path = write_3dtiles(footprints, Path(folder) / "tiles")
    ...     doc, _ = _gltf.split_glb(build_terrain_glb(dem, path, max_side=64))
    >>> doc["nodes"][0]["name"], doc["accessors"][0]["count"] <= 64 * 64
    ('terrain', True)
    """
    info = json.loads(Path(tileset).read_text(encoding="utf-8"))["extras"]["cimkit"]
    crs = CRS.from_user_input(info["crs"])
    if dem.crs is None or not CRS.from_user_input(dem.crs).equals(crs):
        raise InputError(
            f"the DEM is in {dem.crs}, the tileset in {info['crs']}",
            layer="dem",
            code="TIL009",
            hint="reproject the DEM to the model's CRS (Raster.to_crs) before publishing.",
        )
    points, triangles = _grid(dem, max_side)
    frame = _prep.Frame(crs, np.asarray(info["origin"], dtype="float64"))
    local = frame.local(points)  # (e, n, u), as the buildings' vertices
    to_y_up = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # (e, n, u) -> (e, u, -n)
    normals = _normals(local, triangles)
    extras = {"cimkit_frame": "tileset root ENU", "crs": info["crs"], "dem_cells": list(dem.shape)}
    return _encode(local @ to_y_up.T, normals @ to_y_up.T, triangles, extras)
