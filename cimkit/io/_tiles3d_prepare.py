"""Private helpers of :mod:`cimkit.io.tiles3d`: buildings -> triangles and properties, the ENU frame."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from cimkit.errors import CoverageWarning, GeographicCRSError, MissingCRSError, RepairWarning, ValidationError
from cimkit.io import _gltf
from cimkit.io._gltf import INT64_NODATA, MeshData, Property

__all__: list[str] = []

_STOREY_HEIGHT_M = 3.0
ECEF = CRS.from_epsg(4978)


# --------------------------------------------------------------------------------------------
# Buildings -> triangles in map coordinates
# --------------------------------------------------------------------------------------------


def _check_crs(buildings: gpd.GeoDataFrame) -> CRS:
    if buildings.crs is None:
        raise MissingCRSError(
            "the buildings have no CRS",
            layer="buildings",
            code="TIL001",
            hint="give the layer a CRS (--crs EPSG:xxxx).",
        )
    crs = CRS.from_user_input(buildings.crs)
    if crs.is_geographic:
        raise GeographicCRSError(
            f"the buildings are in a geographic CRS ({crs.name}); heights and footprints need metres",
            layer="buildings",
            code="TIL002",
            hint="reproject them to a projected CRS in metres first (--crs EPSG:xxxx).",
        )
    return crs


def _keys(buildings: gpd.GeoDataFrame, id_column: str | None) -> list[str]:
    if id_column is not None and id_column not in buildings.columns:
        raise ValidationError(
            f"'id_column' {id_column!r} is not a column of the buildings", layer="buildings", code="TIL005"
        )
    raw = buildings[id_column] if id_column is not None else buildings.index.to_series()
    keys = [str(k) for k in raw]
    if len(set(keys)) != len(keys):
        dup = pd.Series(keys)[pd.Series(keys).duplicated()].iloc[0]
        raise ValidationError(
            "building ids are not unique",
            layer="buildings",
            entity=dup,
            code="TIL004",
            hint="make the id column unique.",
        )
    return keys


def _extrude(poly: Any, base: float, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the closed block of one oriented polygon: earcut roof and floor, two triangles per wall edge."""
    import mapbox_earcut

    rings = [poly.exterior, *poly.interiors]
    flat = np.concatenate([np.asarray(r.coords)[:-1, :2] for r in rings])
    sizes = np.array([len(r.coords) - 1 for r in rings])
    ends = np.cumsum(sizes)
    roof = mapbox_earcut.triangulate_float64(flat, ends.astype("uint32")).astype("int64").reshape(-1, 3)
    a, b, c = flat[roof[:, 0]], flat[roof[:, 1]], flat[roof[:, 2]]
    clockwise = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) < 0
    roof[clockwise] = roof[clockwise][:, ::-1]
    n = len(flat)
    verts = np.empty((2 * n, 3))
    verts[:n, :2] = verts[n:, :2] = flat
    verts[:n, 2], verts[n:, 2] = base, top
    here = np.arange(n)
    following = here + 1
    following[ends - 1] = ends - sizes  # each ring closes on its first vertex
    walls = np.empty((2 * n, 3), dtype="int64")
    walls[:n, 0], walls[:n, 1], walls[:n, 2] = here, following, following + n
    walls[n:, 0], walls[n:, 1], walls[n:, 2] = here, following + n, here + n
    return verts, np.concatenate([roof + n, roof[:, ::-1], walls])


def _block(geom: Any, base: float, height: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices and faces of a cleaned footprint extruded from ``base`` by ``height`` (None if unusable)."""
    if geom is None or geom.is_empty or not np.isfinite(height) or height <= 0:
        return None
    polys = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type == "Polygon" and p.area > 0]
    if not polys:
        return None
    if len(polys) == 1:
        return _extrude(polys[0], base, base + height)
    verts, faces, offset = [], [], 0
    for poly in polys:
        v, f = _extrude(poly, base, base + height)
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def _clean(geoms: Any) -> np.ndarray:
    """2-D, valid footprints without repeated points; exteriors counter-clockwise, holes clockwise."""
    import shapely

    arr = shapely.force_2d(np.asarray(geoms, dtype=object))
    invalid = ~shapely.is_valid(arr) & ~shapely.is_missing(arr)
    arr[invalid] = shapely.make_valid(arr[invalid])
    return np.asarray(shapely.orient_polygons(shapely.remove_repeated_points(arr, 1e-6)), dtype=object)


def _geometries(
    buildings: gpd.GeoDataFrame,
    keys: list[str],
    meshes: Mapping[Any, Any] | None,
    height_column: str,
    base_column: str,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """One (vertices in map coordinates, faces) per building, None when it has neither mesh nor block."""
    heights = (
        buildings[height_column].to_numpy("float64", na_value=np.nan)
        if height_column in buildings
        else np.full(len(buildings), np.nan)
    )
    if "storeys" in buildings:
        storeys = pd.to_numeric(buildings["storeys"], errors="coerce").to_numpy("float64", na_value=np.nan)
        heights = np.where(np.isfinite(heights), heights, storeys * _STOREY_HEIGHT_M)
    bases = (
        buildings[base_column].to_numpy("float64", na_value=np.nan)
        if base_column in buildings
        else np.zeros(len(buildings))
    )
    bases = np.nan_to_num(bases, nan=0.0)
    lookup = {str(k): v for k, v in (meshes or {}).items()}
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    footprints = _clean(buildings.geometry.to_numpy())
    for key, index_key, geom, height, base in zip(keys, buildings.index, footprints, heights, bases):
        mesh = lookup.get(key, lookup.get(str(index_key)))
        if mesh is not None:
            try:
                verts = np.asarray(mesh.vertices, dtype="float64").reshape(-1, 3)
                faces = np.asarray(mesh.faces, dtype="int64").reshape(-1, 3)
            except (AttributeError, ValueError) as err:
                raise ValidationError(
                    f"the mesh of building {key} is not a triangle mesh ({type(mesh).__name__})",
                    layer="buildings",
                    entity=key,
                    code="TIL005",
                    hint="give trimesh.Trimesh meshes in map coordinates.",
                ) from err
            out.append((verts, faces) if len(faces) else None)
        else:
            out.append(_block(geom, float(base), float(height)))
    return out


# --------------------------------------------------------------------------------------------
# Attributes -> property table columns
# --------------------------------------------------------------------------------------------


def _column_property(name: str, series: pd.Series, ident: str) -> tuple[Property, bool]:
    """Return the property of one column and whether it had to be written as text."""
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return Property(ident, name, "BOOLEAN", series.to_numpy(bool)), False
    if pd.api.types.is_integer_dtype(series):
        missing = series.isna().to_numpy()
        values = series.astype("Int64").to_numpy("int64", na_value=INT64_NODATA)  # exact beyond 2**53
        return Property(ident, name, "INT64", values, INT64_NODATA if missing.any() else None), False
    if pd.api.types.is_float_dtype(series):
        return Property(ident, name, "FLOAT64", series.to_numpy("float64", na_value=np.nan)), False
    items = list(series.astype(object))
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA for v in items]
    converted = any(not isinstance(v, str) for v, m in zip(items, missing) if not m)
    no_data = None
    if any(missing):
        no_data = "\u0000" if any(v == "" for v in items) else ""
    values = [no_data if m else str(v) for v, m in zip(items, missing)]
    return Property(ident, name, "STRING", values, no_data), converted


def _properties(
    buildings: gpd.GeoDataFrame, keys: list[str], id_column: str | None, attributes: Sequence[str] | None
) -> list[Property]:
    geometry_name = buildings.geometry.name
    columns = [c for c in buildings.columns if c != geometry_name] if attributes is None else list(attributes)
    unknown = [c for c in columns if c not in buildings.columns or c == geometry_name]
    if unknown:
        raise ValidationError(
            f"'attributes' names {unknown} that are not attribute columns of the buildings",
            layer="buildings",
            code="TIL005",
            hint="name columns of the layer (or leave attributes out to write them all).",
        )
    taken = {"id"}
    props = [Property("id", "id", "STRING", keys)]
    as_text = []
    for column in columns:
        if column == id_column:
            continue
        prop, converted = _column_property(
            str(column), buildings[column], _gltf.property_identifier(str(column), taken)
        )
        props.append(prop)
        if converted:
            as_text.append(str(column))
    if as_text:
        warnings.warn(
            RepairWarning(f"glTF metadata: column(s) {as_text} written as text", code="TIL102"), stacklevel=3
        )
    return props


def subset(props: list[Property], rows: np.ndarray) -> list[Property]:
    out = []
    for p in props:
        values = [p.values[i] for i in rows] if isinstance(p.values, list) else np.asarray(p.values)[rows]
        out.append(Property(p.identifier, p.name, p.kind, values, p.no_data))
    return out


# --------------------------------------------------------------------------------------------
# Triangles -> glTF mesh data
# --------------------------------------------------------------------------------------------


def mesh_data(
    parts: list[tuple[np.ndarray, np.ndarray]], local: Any, props: list[Property], extras: dict[str, Any]
) -> tuple[MeshData, np.ndarray, np.ndarray]:
    """Flat-shaded mesh of ``parts`` (feature i = parts[i]); ``local`` maps map xyz -> z-up local xyz.

    Returns the mesh data and the z-up local bounds (min, max) in float64.
    """
    offsets = np.cumsum([0] + [len(v) for v, _ in parts])
    every = local(np.concatenate([v for v, _ in parts]))  # one transform call for the whole tile
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets)])
    fids = np.repeat(np.arange(len(parts), dtype="float32"), [len(f) for _, f in parts])
    corners = every[faces]  # (m, 3, 3) in the local z-up frame
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    norm = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(norm > 0, normals / np.where(norm > 0, norm, 1.0), [0.0, 0.0, 1.0])
    points = corners.reshape(-1, 3)
    to_y_up = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # (e, n, u) -> (e, u, -n)
    mesh = MeshData(
        positions=points @ to_y_up.T,
        normals=np.repeat(normals, 3, axis=0) @ to_y_up.T,
        feature_ids=np.repeat(fids, 3),
        indices=np.arange(len(points), dtype="uint32"),
        feature_count=len(parts),
        properties=props,
        extras=extras,
    )
    return mesh, points.min(axis=0), points.max(axis=0)


def crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_wkt()


def prepare(
    buildings: gpd.GeoDataFrame,
    meshes: Mapping[Any, Any] | None,
    id_column: str | None,
    height_column: str,
    base_column: str,
    attributes: Sequence[str] | None,
) -> tuple[CRS, list[tuple[np.ndarray, np.ndarray]], list[Property], int]:
    """Check the layer; return its CRS, the usable geometries, their properties and the count left out."""
    crs = _check_crs(buildings)
    keys = _keys(buildings, id_column)
    geoms = _geometries(buildings, keys, meshes, height_column, base_column)
    keep = np.array([g is not None for g in geoms], dtype=bool)
    if not keep.any():
        raise ValidationError(
            f"none of the {len(buildings)} buildings has a footprint with a positive height or a mesh",
            layer="buildings",
            code="TIL003",
            hint=f"give the buildings a height ({height_column}) or storeys, or pass their meshes.",
        )
    props = subset(_properties(buildings, keys, id_column, attributes), np.flatnonzero(keep))
    left_out = int((~keep).sum())
    if left_out:
        warnings.warn(
            CoverageWarning(
                f"{left_out} of {len(buildings)} building(s) without a footprint and positive height "
                "(or a mesh) were left out",
                code="TIL101",
            ),
            stacklevel=3,
        )
    return crs, [g for g in geoms if g is not None], props, left_out


class Frame:
    """The local east-north-up frame of a tileset and its map <-> ECEF transforms."""

    def __init__(self, crs: CRS, origin: np.ndarray) -> None:
        self.to_ecef = Transformer.from_crs(crs, ECEF, always_xy=True)
        lon, lat = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True).transform(
            origin[0], origin[1]
        )
        self.center = np.array(self.to_ecef.transform(*origin), dtype="float64")
        lo, la = math.radians(lon), math.radians(lat)
        self.rotation = np.array(  # rows: east, north, up in ECEF
            [
                [-math.sin(lo), math.cos(lo), 0.0],
                [-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)],
                [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)],
            ]
        )
        self.lon_lat = (lon, lat)

    def local(self, verts: np.ndarray) -> np.ndarray:
        ecef = np.column_stack(self.to_ecef.transform(verts[:, 0], verts[:, 1], verts[:, 2]))
        return (ecef - self.center) @ self.rotation.T

    def matrix(self) -> list[float]:
        """ENU -> ECEF as a column-major 4x4 list (the root tile's ``transform``)."""
        m = np.eye(4)
        m[:3, :3] = self.rotation.T
        m[:3, 3] = self.center
        return [float(v) for v in m.T.ravel()]


def column_values(spec: dict[str, Any], values: Any) -> Any:
    no_data = spec.get("noData")
    if spec["type"] == "STRING":
        return [None if no_data is not None and v == no_data else v for v in values]
    if spec["type"] == "SCALAR" and spec.get("componentType") == "INT64" and no_data is not None:
        return pd.array([None if v == no_data else int(v) for v in values], dtype="Int64")
    return np.asarray(values)


def footprints(z_up: np.ndarray, fids: np.ndarray, count: int) -> list[Any]:
    """Return the union of each feature's triangles projected on the ground (z-up frame)."""
    import shapely

    tris = z_up[:, :2].reshape(-1, 3, 2)
    ids = fids.reshape(-1, 3)[:, 0].astype("int64")
    ring = np.concatenate([tris, tris[:, :1]], axis=1)
    polys = shapely.polygons(ring)
    area = shapely.area(polys)
    out = []
    for i in range(count):
        sel = polys[(ids == i) & (area > 1e-8)]
        out.append(_union(sel))
    return out


def _union(triangles: np.ndarray) -> Any:
    """Union of ground triangles; on a GEOS topology failure snap to 0.1 mm, then take the convex hull."""
    import shapely
    from shapely.errors import GEOSException

    try:
        return shapely.union_all(triangles)
    except GEOSException:
        pass
    try:
        return shapely.union_all(triangles, grid_size=1e-4)
    except GEOSException:
        return shapely.convex_hull(shapely.GeometryCollection(list(triangles)))
