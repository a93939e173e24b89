"""3-D boundary surfaces of buildings, carried from the readers (CityGML, CityJSON, IFC meshes) to the writers.

A reader that knows a building's boundary surfaces stores them in ``gdf.attrs[SURFACES_ATTR]``:
a :class:`SurfaceMap` building id -> ``((semantic type or None, rings), ...)``, each ring a tuple
of ``(x, y, z)`` tuples, closed, exterior first. :func:`cimkit.io.export.write_cityjson` writes
them as LoD2 ``MultiSurface`` geometries with semantics.

Semantics from geometry (IFC meshes, CityGML solids without thematic surfaces): with ``n`` the
unit normal of a face (Newell's method, outward for counter-clockwise rings seen from outside)
and ``base`` / ``top`` the lowest / highest vertex of the building,

- ``GroundSurface``: ``n_z < -0.9`` and the face's lowest vertex within :data:`GROUND_TOLERANCE_M`
  of ``base`` (a downward face at the bottom);
- ``RoofSurface``: ``n_z > 0.2`` (steeper than ~78° from vertical is a roof, as in common
  LoD2 reconstruction practice) and the face's highest vertex in the upper half of the building;
- ``WallSurface`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from pyproj import CRS, Transformer

__all__ = [
    "GROUND_TOLERANCE_M",
    "SEMANTIC_TYPES",
    "SURFACES_ATTR",
    "SurfaceMap",
    "classify_surface",
    "surfaces_from_cityjson",
    "surfaces_from_mesh",
    "transform_surfaces",
]

#: The ``attrs`` key of a buildings layer that holds its :class:`SurfaceMap`.
SURFACES_ATTR = "surfaces_3d"
#: CityJSON 2.0 semantic surface types of a Building (CityJSON 2.0 specification, §"Semantics
#: of geometric primitives"); other names (CityGML 3.0 extras) are classified from geometry.
SEMANTIC_TYPES = (
    "RoofSurface",
    "GroundSurface",
    "WallSurface",
    "ClosureSurface",
    "OuterCeilingSurface",
    "OuterFloorSurface",
    "Window",
    "Door",
    "InteriorWallSurface",
    "CeilingSurface",
    "FloorSurface",
)
#: How far above the building's lowest vertex a downward face may lie and still be its ground (m).
GROUND_TOLERANCE_M = 0.5

Ring = tuple[tuple[float, ...], ...]
Surface = tuple[str | None, tuple[Ring, ...]]


class SurfaceMap(Mapping[str, tuple[Surface, ...]]):
    """Read-only mapping building id -> boundary surfaces ``((semantic type or None, rings), ...)``.

    Copying a GeoDataFrame shares this object instead of deep-copying it (pandas deep-copies
    ``attrs`` on most operations).

    Examples
    --------
    >>> ring = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 0.0, 0.0))
    >>> surfaces = SurfaceMap({"B1": (("GroundSurface", (ring,)),)})
    >>> len(surfaces), surfaces["B1"][0][0]
    (1, 'GroundSurface')
    """

    def __init__(self, data: Mapping[str, tuple[Surface, ...]]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> tuple[Surface, ...]:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, SurfaceMap) and self._data == other._data)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> SurfaceMap:
        return self

    def __repr__(self) -> str:
        return f"SurfaceMap({len(self)} buildings)"


def _normal(ring: np.ndarray) -> np.ndarray:
    """Return the unit normal of a ring by Newell's method (zero vector for a degenerate ring)."""
    x, y, z = ring[:, 0], ring[:, 1], ring[:, 2]
    x1, y1, z1 = np.roll(x, -1), np.roll(y, -1), np.roll(z, -1)
    n = np.array([np.sum((y - y1) * (z + z1)), np.sum((z - z1) * (x + x1)), np.sum((x - x1) * (y + y1))])
    length = float(np.linalg.norm(n))
    return n / length if length > 0 else n


def classify_surface(ring: Any, base: float, top: float) -> str:
    """Return the semantic type of a face from its normal and height (rule in the module doc).

    Examples
    --------
    >>> roof = [(0, 0, 10), (1, 0, 10), (1, 1, 10), (0, 0, 10)]
    >>> floor = [(0, 0, 0), (1, 1, 0), (1, 0, 0), (0, 0, 0)]
    >>> wall = [(0, 0, 0), (1, 0, 0), (1, 0, 10), (0, 0, 0)]
    >>> [classify_surface(r, 0.0, 10.0) for r in (roof, floor, wall)]
    ['RoofSurface', 'GroundSurface', 'WallSurface']
    """
    xyz = np.asarray(ring, dtype="float64")
    nz = _normal(xyz)[2]
    if nz < -0.9 and xyz[:, 2].min() <= base + GROUND_TOLERANCE_M:
        return "GroundSurface"
    if nz > 0.2 and xyz[:, 2].max() >= base + 0.5 * (top - base):
        return "RoofSurface"
    return "WallSurface"


def surfaces_from_mesh(mesh: Any) -> tuple[Surface, ...]:
    """Return a trimesh's faces as triangles with semantics derived from their normals.

    Examples
    --------
    >>> import trimesh
    >>> box = trimesh.creation.box(extents=(10, 5, 4))
    >>> _ = box.apply_translation((0, 0, 2))
    >>> kinds = [kind for kind, _ in surfaces_from_mesh(box)]
    >>> kinds.count("RoofSurface"), kinds.count("GroundSurface"), kinds.count("WallSurface")
    (2, 2, 8)
    """
    vertices = np.asarray(mesh.vertices, dtype="float64")
    faces = np.asarray(mesh.faces, dtype="int64")
    if not len(faces):
        return ()
    base, top = float(vertices[:, 2].min()), float(vertices[:, 2].max())
    out = []
    for face in faces:
        tri = vertices[face]
        ring = tuple(tuple(p) for p in np.vstack([tri, tri[:1]]).tolist())
        out.append((classify_surface(tri, base, top), (ring,)))
    return tuple(out)


def transform_surfaces(surfaces: Mapping[str, tuple[Surface, ...]], source: Any, target: Any) -> SurfaceMap:
    """Return the surfaces with x, y reprojected from ``source`` to ``target`` (z unchanged).

    Examples
    --------
    >>> ring = ((652000.0, 6861000.0, 30.0), (652010.0, 6861000.0, 30.0), (652000.0, 6861000.0, 30.0))
    >>> moved = transform_surfaces({"B": ((None, (ring,)),)}, "EPSG:2154", "EPSG:4326")
    >>> [round(v, 4) for v in moved["B"][0][1][0][0]]
    [2.3459, 48.8473, 30.0]
    """
    transformer = Transformer.from_crs(
        CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True
    )
    out: dict[str, tuple[Surface, ...]] = {}
    for bid, items in surfaces.items():
        moved = []
        for kind, rings in items:
            new_rings = []
            for ring in rings:
                xyz = np.asarray(ring, dtype="float64")
                x, y = transformer.transform(xyz[:, 0], xyz[:, 1])
                new_rings.append(tuple(zip(np.ravel(x).tolist(), np.ravel(y).tolist(), xyz[:, 2].tolist())))
            moved.append((kind, tuple(new_rings)))
        out[bid] = tuple(moved)
    return SurfaceMap(out)


def surfaces_from_cityjson(
    doc: dict[str, Any],
    features: list[dict[str, Any]] | None,
    verts: np.ndarray,
    transform: Any,
    lod: str | None,
    path: Any,
    *,
    pick: Callable[[list[dict[str, Any]], str | None], dict[str, Any] | None],
    flatten: Callable[[dict[str, Any]], tuple[list[Any], list[Any]]],
) -> SurfaceMap:
    """Return the boundary surfaces of the LoD2+ Buildings (with their parts) of a CityJSON document.

    ``features`` are the CityJSONFeatures of a sequence (None for a plain file); ``pick`` and
    ``flatten`` are the reader's own choice of geometry (``lod``, else the highest) and its
    flattening to surfaces, so that the surfaces written are those of the footprint read.
    """
    from cimkit.io._cityjson_document import real_vertices

    blocks = [(doc.get("CityObjects") or {}, verts)]
    for feature in features or []:
        if isinstance(feature.get("CityObjects"), dict):
            fverts = real_vertices(feature.get("vertices"), transform, path, str(feature.get("id")))
            blocks.append((feature["CityObjects"], fverts))
    out: dict[str, tuple[Surface, ...]] = {}
    for objects, verts in blocks:
        for oid, obj in objects.items():
            if not isinstance(obj, dict) or obj.get("type") != "Building":
                continue
            children = [objects.get(c) for c in obj.get("children") or [] if isinstance(c, str)]
            members = [obj] + [c for c in children if isinstance(c, dict) and c.get("type") == "BuildingPart"]
            found: list[Surface] = []
            for member in members:
                geometry = pick(member.get("geometry") or [], lod)
                if geometry is None or float(geometry.get("lod", 0) or 0) < 2:
                    continue
                surfaces, sem = flatten(geometry)
                types = [s.get("type") for s in (geometry.get("semantics") or {}).get("surfaces", [])]
                for surface, value in zip(surfaces, sem):
                    rings = tuple(
                        tuple(map(tuple, np.vstack([verts[r], verts[r[:1]]]).tolist()))
                        for r in surface
                        if len(r) >= 3
                    )
                    kind = types[value] if isinstance(value, int) and value < len(types) else None
                    if rings:
                        found.append((kind, rings))
            if found:
                out[oid] = tuple(found)
    return SurfaceMap(out)
