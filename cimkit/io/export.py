"""Writers for 3-D city formats: CityJSON 2.0 buildings at LoD1 and LoD2.

A building layer (IFC-derived, CityGML, CityJSON or cadastre footprints) becomes a CityJSON file
whose Building objects carry an LoD1 ``Solid`` (the footprint extruded from its base elevation by
its height), an LoD2 ``MultiSurface`` with semantic surfaces where the input carries 3-D
boundary surfaces (``gdf.attrs["surfaces_3d"]`` set by :func:`cimkit.read_citygml` and
:func:`cimkit.read_cityjson`, or IFC meshes given as ``meshes=``), and the layer's scalar
attributes. Vertices are stored as integers with a ``transform`` (1 mm by default), as CityJSON
recommends.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from cimkit._atomic import write_text_atomic
from cimkit.audit import check_publication
from cimkit.errors import MissingCRSError, ValidationError
from cimkit.io._surfaces import SEMANTIC_TYPES, SURFACES_ATTR, classify_surface, surfaces_from_mesh

__all__ = ["write_cityjson"]


def _reference_system(crs: CRS) -> str:
    epsg = crs.to_epsg()
    if epsg is None:
        raise ValidationError(
            f"CityJSON needs an EPSG code for the CRS; {crs.name} has none",
            hint="reproject the layer to an EPSG CRS first (e.g. EPSG:2154).",
        )
    return f"https://www.opengis.net/def/crs/EPSG/0/{epsg}"


def _attribute(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (int, str)):
        return value
    return str(value)


def _heights_and_bases(
    buildings: gpd.GeoDataFrame, height_column: str, base_column: str, storey_height_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Heights (m; from ``storeys`` where the height is missing) and base elevations (m; 0 if missing)."""
    heights = (
        buildings[height_column].to_numpy("float64", na_value=np.nan)
        if height_column in buildings
        else np.full(len(buildings), np.nan)
    )
    if "storeys" in buildings:
        heights = np.where(
            np.isfinite(heights),
            heights,
            buildings["storeys"].to_numpy("float64", na_value=np.nan) * storey_height_m,
        )
    bases = (
        buildings[base_column].to_numpy("float64", na_value=np.nan)
        if base_column in buildings
        else np.zeros(len(buildings))
    )
    return heights, np.nan_to_num(bases, nan=0.0)


class _Vertices:
    """The shared vertex list of a CityJSON file: integer coordinates, deduplicated."""

    def __init__(self, translate: np.ndarray, precision_m: float) -> None:
        self.translate = translate
        self.precision_m = precision_m
        self.rows: list[list[int]] = []
        self._lookup: dict[tuple[int, ...], int] = {}

    def index(self, x: float, y: float, z: float) -> int:
        key = tuple(round(v) for v in ((np.array([x, y, z]) - self.translate) / self.precision_m))
        if key not in self._lookup:
            self._lookup[key] = len(self.rows)
            self.rows.append(list(key))
        return self._lookup[key]


def _lod1_geometry(geom: Any, base: float, height: float, vertices: _Vertices) -> list[dict[str, Any]]:
    """Build the LoD1 ``Solid`` (or ``MultiSolid``) of a footprint extruded from ``base`` by ``height``."""
    vid = vertices.index
    shells = []
    for poly in getattr(geom, "geoms", [geom]):
        poly = shapely.orient_polygons(poly)  # exterior CCW, holes CW (seen from above)
        rings = [np.asarray(poly.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in poly.interiors]
        top, bottom = base + height, base
        surfaces = [
            [[vid(x, y, bottom) for x, y in ring[::-1]] for ring in rings],  # floor, facing down
            [[vid(x, y, top) for x, y in ring] for ring in rings],  # roof, facing up
        ]
        for ring in rings:  # walls: outward normals for CCW exteriors and CW holes alike
            for (x0, y0), (x1, y1) in zip(ring, np.roll(ring, -1, axis=0)):
                surfaces.append(
                    [[vid(x0, y0, bottom), vid(x1, y1, bottom), vid(x1, y1, top), vid(x0, y0, top)]]
                )
        shells.append(surfaces)
    if len(shells) == 1:
        return [{"type": "Solid", "lod": "1", "boundaries": shells}]
    return [{"type": "MultiSolid", "lod": "1", "boundaries": [[s] for s in shells]}]


def _lod2_geometry(surfaces: Any, vertices: _Vertices) -> dict[str, Any] | None:
    """Build the LoD2 ``MultiSurface`` with semantics of a building's boundary surfaces."""
    zs = [p[2] for _, rings in surfaces for ring in rings for p in ring]
    base, top = (min(zs), max(zs)) if zs else (0.0, 0.0)
    boundaries: list[list[list[int]]] = []
    kinds: dict[str, int] = {}
    values: list[int] = []
    for kind, rings in surfaces:
        indexed = []
        for ring in rings:
            ids = [vertices.index(*p) for p in ring[:-1]]  # CityJSON rings are not closed
            ids = [v for k, v in enumerate(ids) if v != ids[k - 1]] if len(ids) > 1 else ids
            if len(set(ids)) >= 3:
                indexed.append(ids)
        if not indexed:
            continue
        if kind not in SEMANTIC_TYPES:
            kind = classify_surface(rings[0], base, top)
        boundaries.append(indexed)
        values.append(kinds.setdefault(kind, len(kinds)))
    if not boundaries:
        return None
    return {
        "type": "MultiSurface",
        "lod": "2",
        "boundaries": boundaries,
        "semantics": {"surfaces": [{"type": k} for k in kinds], "values": values},
    }


def _surfaces_of(buildings: gpd.GeoDataFrame, meshes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return building id -> boundary surfaces: from ``meshes`` (IFC), else ``attrs["surfaces_3d"]``."""
    found: dict[str, Any] = dict(buildings.attrs.get(SURFACES_ATTR) or {})
    for key, mesh in (meshes or {}).items():
        surfaces = surfaces_from_mesh(mesh)
        if surfaces:
            found[str(key)] = surfaces
    return found


def write_cityjson(
    buildings: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    height_column: str = "height_m",
    base_column: str = "base_elevation_m",
    storey_height_m: float = 3.0,
    precision_m: float = 0.001,
    allow: Mapping[str, str] | None = None,
    meshes: Mapping[str, Any] | None = None,
) -> Path:
    """Write buildings as CityJSON 2.0 with LoD1 solids and, where known, LoD2 surfaces, atomically.

    Parameters
    ----------
    buildings
        Footprints (Polygon / MultiPolygon) in a projected CRS with an EPSG code, indexed by
        building id, with ``height_column`` (m) or ``storeys``; ``base_column`` (m) is the
        base elevation (0 when missing).
    path
        Destination ``.city.json`` file.
    height_column
        Column of building heights, metres.
    base_column
        Column of base elevations, metres.
    storey_height_m
        Height per storey when only ``storeys`` is known (m).
    precision_m
        The ``transform.scale`` of the integer vertices (m).
    allow
        ``{"buildings": "reason"}`` to publish buildings above the public level (a level set in
        their provenance, or columns naming people); the allowance goes to the audit log.
    meshes
        building id -> ``trimesh.Trimesh`` in the layer's CRS (IFC meshes from
        :func:`cimkit.io.ifc.read_ifc_meshes`): each becomes an LoD2 ``MultiSurface`` of its
        triangles, with semantics from the face normals (``GroundSurface``: normal z < -0.9 at
        the bottom; ``RoofSurface``: normal z > 0.2 in the upper half; ``WallSurface``
        otherwise; see :mod:`cimkit.io._surfaces`). Without it, the boundary surfaces in
        ``buildings.attrs["surfaces_3d"]`` (CityGML / CityJSON input) are written; their
        CityGML semantic types are kept, and surfaces without one are classified the same way.

    Returns
    -------
    Path
        The file written. The object id is the building id (the IFC GlobalId, the CityGML
        ``gml:id``). Each Building has an LoD1 ``Solid`` (when its height is known) and an LoD2
        ``MultiSurface`` (when it has surfaces). Buildings with neither are left out (a
        ``cimkit`` entry in ``metadata`` counts them).

    Raises
    ------
    PublicationError
        PUB001: the buildings are above the public level and not allowed (a CityJSON file is
        a public output; see :func:`cimkit.audit.check_publication`).
    MissingCRSError
        The buildings have no CRS.
    ValidationError
        Their CRS has no EPSG code (CityJSON names the CRS by its EPSG URL).

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = write_cityjson(footprints.head(3), Path(folder.name) / "city.json")
    >>> doc = json.loads(path.read_text())
    >>> doc["version"], doc["metadata"]["referenceSystem"], len(doc["CityObjects"])
    ('2.0', 'https://www.opengis.net/def/crs/EPSG/0/2154', 3)
    >>> doc["CityObjects"]["BATI0001"]["attributes"]["measuredHeight"]
    5.9

    IFC buildings with their meshes get an LoD2 geometry beside the LoD1 block:

    >>> from cimkit.io.ifc import read_ifc_meshes
    >>> ifc = sample_city_path() / "buildings" / "commerce_grande_rue.ifc"
    >>> shop = cimkit.read_ifc(ifc)
    >>> path = write_cityjson(shop, Path(folder.name) / "shop.json", meshes=read_ifc_meshes(ifc))
    >>> obj = json.loads(path.read_text())["CityObjects"][shop.index[0]]
    >>> [g["lod"] for g in obj["geometry"]], sorted(s["type"] for s in obj["geometry"][1]["semantics"]["surfaces"])
    (['1', '2'], ['GroundSurface', 'RoofSurface', 'WallSurface'])
    >>> folder.cleanup()
    """
    check_publication(buildings, output=os.fspath(path), allow=allow, name="buildings")
    if buildings.crs is None:
        raise MissingCRSError(
            "the buildings have no CRS",
            layer="buildings",
            hint="set one with gdf.set_crs(...) before exporting.",
        )
    crs = CRS.from_user_input(buildings.crs)
    heights, bases = _heights_and_bases(buildings, height_column, base_column, storey_height_m)
    surfaces = _surfaces_of(buildings, meshes)
    minx, miny, maxx, maxy = buildings.total_bounds
    minz = float(bases.min()) if len(bases) else 0.0
    top = float(np.max(bases + np.nan_to_num(heights))) if len(bases) else minz
    vertices = _Vertices(np.array([minx, miny, minz]), precision_m)
    objects: dict[str, Any] = {}
    skipped = 0
    attr_cols = [c for c in buildings.columns if c != buildings.geometry.name]
    for (key, row), geom, height, base in zip(
        buildings[attr_cols].iterrows(), buildings.geometry, heights, bases
    ):
        has_lod1 = geom is not None and not geom.is_empty and np.isfinite(height) and height > 0
        lod2 = _lod2_geometry(surfaces[str(key)], vertices) if str(key) in surfaces else None
        if not has_lod1 and lod2 is None:
            skipped += 1
            continue
        attributes = {str(c): _attribute(row[c]) for c in attr_cols}
        if has_lod1:
            attributes["measuredHeight"] = float(height)
        geometry = _lod1_geometry(geom, base, height, vertices) if has_lod1 else []
        if lod2 is not None:
            geometry.append(lod2)
            z2 = [p[2] for _, rings in surfaces[str(key)] for ring in rings for p in ring]
            minz, top = min(minz, *z2), max(top, *z2)
        objects[str(key)] = {"type": "Building", "attributes": attributes, "geometry": geometry}
    doc: dict[str, Any] = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [precision_m] * 3, "translate": vertices.translate.tolist()},
        "metadata": {
            "referenceSystem": _reference_system(crs),
            "geographicalExtent": [float(minx), float(miny), minz, float(maxx), float(maxy), top],
        },
        "CityObjects": objects,
        "vertices": vertices.rows,
    }
    if skipped:
        doc["metadata"]["cimkit"] = {"buildings_without_height_left_out": skipped}
    write_text_atomic(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    return Path(path)
