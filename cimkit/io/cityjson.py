"""CityJSON 2.0 / 1.1 / 1.0 and CityJSONSeq reader: buildings with footprint, height and attributes.

Specification: CityJSON 2.0 (https://www.cityjson.org/specs/2.0.1/) and 1.1
(https://www.cityjson.org/specs/1.1.3/). Vertices are stored as integers; the real
coordinates are ``vertex * transform.scale + transform.translate``. Geometries are nested
lists of vertex indices: MultiSurface / CompositeSurface ``[surface][ring][vertex]``, Solid
``[shell][surface][ring][vertex]``, MultiSolid / CompositeSolid one level deeper.

The parser is written here on the standard ``json`` module (a CityJSON file is one JSON
document; a dedicated dependency would add nothing for 2-D footprints and heights).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.errors import GEOSException

from cimkit import provenance
from cimkit._crs import reproject_with_provenance, resolve_crs, resolve_source_crs
from cimkit._placement import check_object_placement
from cimkit.errors import CimkitError, CimkitWarning, FileFormatError
from cimkit.io._cityjson_document import (
    check_indices,
    load_document,
    real_vertices,
    version_of,
    vertices,
)
from cimkit.io._surfaces import SURFACES_ATTR, surfaces_from_cityjson, transform_surfaces

__all__ = ["read_cityjson"]

logger = logging.getLogger(__name__)

_BUILDING = "Building"
_PARTS = ("BuildingPart",)
_MIN_FACE_AREA = 1e-6  # m²: projected faces smaller than this are vertical walls


def _crs_from_reference_system(text: str, path: str | os.PathLike[str]) -> CRS:
    """Read the CRS of ``https://www.opengis.net/def/crs/EPSG/0/7415`` or ``urn:ogc:def:crs:EPSG::7415``."""
    code = text.rstrip("/").split("/")[-1].split(":")[-1]
    if "EPSG" in text.upper() and code.isdigit():
        text = f"EPSG:{code}"
    crs = resolve_crs(text, path=path, what="metadata.referenceSystem")
    assert crs is not None  # text is not None
    return crs


def _horizontal(crs: CRS) -> CRS:
    """Return the horizontal part of a compound CRS (EPSG:7415 -> EPSG:28992)."""
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def _surfaces(geometry: dict[str, Any]) -> tuple[list[list[list[int]]], list[Any]]:
    """Flatten a geometry to a list of surfaces (each a list of rings) and their semantic values."""
    kind = geometry.get("type")
    boundaries = geometry.get("boundaries", [])
    values = (geometry.get("semantics") or {}).get("values")
    if kind in ("MultiSurface", "CompositeSurface"):
        surfaces = list(boundaries)
        sem = list(values) if values is not None else [None] * len(surfaces)
    elif kind == "Solid":
        surfaces = [s for shell in boundaries for s in shell]
        sem = [v for shell in values for v in (shell or [])] if values is not None else [None] * len(surfaces)
    elif kind in ("MultiSolid", "CompositeSolid"):
        surfaces = [s for solid in boundaries for shell in solid for s in shell]
        sem = (
            [v for solid in values for shell in (solid or []) for v in (shell or [])]
            if values is not None
            else [None] * len(surfaces)
        )
    else:
        return [], []
    if len(sem) != len(surfaces):
        sem = [None] * len(surfaces)
    return surfaces, sem


def _lod_key(lod: Any) -> float:
    try:
        return float(lod)
    except (TypeError, ValueError):
        return -1.0


def _pick_geometry(geoms: list[dict[str, Any]], lod: str | None) -> dict[str, Any] | None:
    usable = [
        g for g in geoms if g.get("type") not in (None, "GeometryInstance", "MultiPoint", "MultiLineString")
    ]
    if lod is not None:
        usable = [g for g in usable if str(g.get("lod")) == str(lod)]
    if not usable:
        return None
    return max(usable, key=lambda g: _lod_key(g.get("lod")))


def _flatten(attrs: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = value
    return out


def _footprint(
    surfaces: list[list[list[int]]], sem: list[Any], sem_types: list[str], verts: np.ndarray
) -> tuple[shapely.Geometry, float, float, float]:
    """(footprint, min z, max z, base z) of one object's surfaces.

    The footprint is the union of the GroundSurface faces when the geometry has semantics,
    else the union of the 2-D projections of every non-vertical face.
    """
    polys: list[shapely.Geometry] = []
    ground_polys: list[shapely.Geometry] = []
    zs = []
    ground_z = []
    for surface, value in zip(surfaces, sem):
        rings = [verts[np.asarray(r, dtype="int64")] for r in surface if len(r) >= 3]
        if not rings:
            continue
        zs.append(rings[0][:, 2])
        poly = shapely.Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        if poly.area <= _MIN_FACE_AREA:
            continue
        is_ground = value is not None and value < len(sem_types) and sem_types[value] == "GroundSurface"
        (ground_polys if is_ground else polys).append(poly)
        if is_ground:
            ground_z.append(rings[0][:, 2])
    if not zs:
        return shapely.Polygon(), np.nan, np.nan, np.nan
    allz = np.concatenate(zs)
    chosen = ground_polys if ground_polys else polys
    fp = shapely.union_all(chosen) if chosen else shapely.Polygon()
    fp = shapely.make_valid(fp)
    if fp.geom_type == "GeometryCollection":
        parts = [p for p in shapely.get_parts(fp) if p.geom_type in ("Polygon", "MultiPolygon")]
        fp = shapely.union_all(parts) if parts else shapely.Polygon()
    base = float(np.concatenate(ground_z).min()) if ground_z else float(allz.min())
    return fp, float(allz.min()), float(allz.max()), base


def _file_crs(
    doc: dict[str, Any], source_crs: Any, path: str | os.PathLike[str], record: provenance.Provenance
) -> CRS:
    """Return the horizontal CRS of the coordinates: ``metadata.referenceSystem``, else ``source_crs``."""
    ref = (doc.get("metadata") or {}).get("referenceSystem")
    full = _crs_from_reference_system(str(ref), path) if ref else None
    crs = resolve_source_crs(
        None if full is None else _horizontal(full),
        source_crs,
        path=path,
        record=record,
        accepted=() if full is None else (full,),
        what="the file (no metadata.referenceSystem)",
    )
    return _horizontal(crs)


def _building_row(
    oid: str,
    obj: dict[str, Any],
    objects: dict[str, Any],
    verts: np.ndarray,
    lod: str | None,
    path: str | os.PathLike[str],
) -> tuple[dict[str, Any], shapely.Geometry, int]:
    """One Building with its BuildingParts: (attribute row, footprint, GeometryInstances skipped)."""
    names = [oid] + [
        c
        for c in obj.get("children", None) or []
        if isinstance(c, str) and isinstance(objects.get(c), dict) and objects[c].get("type") in _PARTS
    ]
    members = [obj] + [objects[c] for c in names[1:]]
    footprints = []
    zmax, lods = [], []
    grounds: list[tuple[int, float, float, bool]] = []  # (is the Building itself, area, ground z, semantic)
    skipped = 0
    for k, member in enumerate(members):
        geom_list = member.get("geometry", []) or []
        skipped += sum(g.get("type") == "GeometryInstance" for g in geom_list)
        geometry = _pick_geometry(geom_list, lod)
        if geometry is None:
            continue
        surfaces, sem = _surfaces(geometry)
        check_indices(surfaces, len(verts), names[k], path)
        sem_types = [s.get("type", "") for s in (geometry.get("semantics") or {}).get("surfaces", [])]
        fp, lo, hi, base = _footprint(surfaces, sem, sem_types, verts)
        if not fp.is_empty:
            footprints.append(fp)
        if np.isfinite(lo):
            zmax.append(hi)
            grounds.append((int(k == 0), float(fp.area), base, "GroundSurface" in sem_types))
            lods.append(str(geometry.get("lod")))
    footprint = shapely.union_all(footprints) if footprints else shapely.Polygon()
    # the ground of the Building itself; when only its parts have geometry, of the largest part
    ground = max(grounds)[2] if grounds else np.nan
    row = _flatten(obj.get("attributes", {}) or {})
    row.update(
        {
            "building_id": oid,
            "cityobject_type": obj["type"],
            "lod": max(lods, key=_lod_key) if lods else None,
            "n_parts": len(members) - 1,
            "ground_elevation_m": ground,
            "ground_source": (("GroundSurface" if max(grounds)[3] else "lowest vertex") if grounds else None),
            "base_elevation_m": ground,
            "height_m": max(max(zmax) - ground, 0.0) if zmax else np.nan,
        }
    )
    return row, footprint, skipped


def _read_buildings(
    doc: dict[str, Any],
    features: list[dict[str, Any]] | None,
    verts: np.ndarray,
    transform: Any,
    lod: str | None,
    path: str | os.PathLike[str],
) -> tuple[list[dict[str, Any]], list[shapely.Geometry], int]:
    """Rows and footprints of the Buildings of a document (and of each feature of a sequence)."""
    blocks = [(doc.get("CityObjects") or {}, verts)]
    for number, feature in enumerate(features or [], start=2):
        objects = feature.get("CityObjects")
        if not isinstance(objects, dict):
            raise FileFormatError(
                "a CityJSONFeature has no CityObjects", path=path, line=number, code="CJS006"
            )
        where = f"feature {feature.get('id', number)!r}"
        blocks.append((objects, real_vertices(feature.get("vertices"), transform, path, where)))
    rows, geoms, skipped_instances = [], [], 0
    for objects, block_verts in blocks:
        for oid, obj in objects.items():
            if not isinstance(obj, dict) or obj.get("type") != _BUILDING:
                continue
            try:
                row, footprint, skipped = _building_row(oid, obj, objects, block_verts, lod, path)
            except CimkitError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, AttributeError, GEOSException) as err:
                raise FileFormatError(
                    f"its geometry cannot be read ({type(err).__name__}: {err})",
                    path=path,
                    entity=oid,
                    code="CJS003",
                    hint="repair the object's geometry (cjio validate).",
                ) from err
            rows.append(row)
            geoms.append(footprint)
            skipped_instances += skipped
    return rows, geoms, skipped_instances


_EMPTY_COLUMNS = [
    "building_id",
    "cityobject_type",
    "lod",
    "n_parts",
    "ground_elevation_m",
    "ground_source",
    "base_elevation_m",
    "height_m",
]


def _record_ground(gdf: gpd.GeoDataFrame, record: provenance.Provenance) -> None:
    record.add_step(
        "ground_level",
        "height_m = highest vertex - ground_elevation_m (lowest GroundSurface vertex of the Building, "
        "else its lowest vertex; its largest part when the Building has no geometry of its own)",
        ground_source={str(k): int(v) for k, v in gdf["ground_source"].value_counts().items()},
    )


def read_cityjson(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    source_crs: Any = None,
    lod: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the buildings of a CityJSON 2.0 / 1.1 file as 2-D footprints with heights.

    Parameters
    ----------
    path
        A CityJSON file (``.city.json``, ``.json``) or a CityJSONSeq file (``.city.jsonl``: a
        CityJSON header line then one CityJSONFeature per line), recognised by content, not by
        extension; gzip / bz2 / xz compressed files are read transparently (within the
        ``max_input_mb`` and ``max_decompressed_mb`` limits).
    crs
        Target CRS for the footprints (reprojected, recorded in the provenance).
    source_crs
        CRS of a file without ``metadata.referenceSystem``; without it such a file raises
        :class:`~cimkit.errors.MissingCRSError`.
    lod
        Level of detail to use (``"1"``, ``"1.2"``, ``"2.2"`` ...). By default the highest LoD
        each building has. Buildings without a geometry at that LoD get an empty footprint.

    Returns
    -------
    GeoDataFrame
        One row per ``Building`` CityObject (index ``building_id`` = the CityObject id):
        ``BuildingPart`` children are merged into their parent (footprints unioned, heights
        over all parts) and counted in ``n_parts``. Columns: the attributes (nested
        dictionaries flattened with dots, lists as JSON text), ``lod`` (LoD used),
        ``ground_elevation_m`` (the ground under the Building: the lowest vertex of its
        ``GroundSurface`` faces, else its lowest vertex; taken from the Building's own geometry,
        or from its largest part when only its parts have geometry, never from the lowest
        part), ``ground_source`` (``"GroundSurface"`` or ``"lowest vertex"``),
        ``base_elevation_m`` (= ``ground_elevation_m``, the base of the block), ``height_m``
        (highest vertex of the Building and its parts - ``ground_elevation_m``; the
        ``measuredHeight`` attribute, when present, is kept as read), ``footprint_m2``,
        ``cityobject_type``. Footprint: the union of the ``GroundSurface`` faces when the
        geometry carries semantics, else the union of the 2-D projections of all
        non-vertical faces. The CRS is the horizontal part of ``metadata.referenceSystem``
        (``.../EPSG/0/7415`` -> EPSG:28992, Amersfoort / RD New).

    Raises
    ------
    MissingCRSError
        The file has no ``metadata.referenceSystem`` and ``source_crs`` is not given.
    CRSError
        ``source_crs`` contradicts ``metadata.referenceSystem``.
    FileFormatError
        Not JSON or not CityJSON (``CJS001``); a vertex index that is negative, out of range or
        not an integer, named by CityObject id (``CJS003``); a CityJSON 1.1 / 2.0 file without
        ``transform``, whose integer vertices would be misplaced (``CJS004``); malformed or
        non-finite vertices or transform (``CJS005``); a CityJSONSeq line that is not a
        CityJSONFeature (``CJS006``).
    UnsupportedSchemaError
        A version other than 1.0, 1.1 and 2.0 (``CJS002``). A 1.0 file is read with a
        ``CJS101`` warning; without a transform its vertices are read as real coordinates.
    PlacementError
        The buildings do not fall inside the area of use of their CRS.
    ResourceLimitError
        The file passes ``max_input_mb`` (or, compressed, ``max_decompressed_mb``).

    Examples
    --------
    A CityJSON file is one JSON document; the sample city's buildings written as LoD1 solids
    by :func:`~cimkit.io.export.write_cityjson` read back with their heights:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.export import write_cityjson
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = write_cityjson(footprints, Path(folder.name) / "city.json")
    >>> buildings = read_cityjson(path)
    >>> len(buildings) == len(footprints), buildings.crs.to_epsg(), buildings["lod"].iloc[0]
    (True, 2154, '1')
    >>> bool((buildings["height_m"] - footprints["height_m"]).abs().max() < 0.01)
    True
    >>> folder.cleanup()
    """
    doc, features = load_document(path)
    version = version_of(doc, path)
    record = provenance.record_for_files(path, reader="cimkit.read_cityjson", libraries=["shapely", "pyproj"])
    if version == "1.0":
        warnings.warn(
            CimkitWarning(
                f"{os.fspath(path)}: CityJSON 1.0 file read with the 1.1 rules (the transform is optional "
                "in 1.0); upgrade it with `cjio in.json upgrade save out.json` to silence this",
                code="CJS101",
            ),
            stacklevel=2,
        )
        record.add_step(
            "old_version", "CityJSON 1.0 read with the 1.1 rules", version=str(doc.get("version"))
        )
    verts, transform = vertices(doc, version, path, record)
    file_crs = _file_crs(doc, source_crs, path, record)
    rows, geoms, skipped_instances = _read_buildings(doc, features, verts, transform, lod, path)
    if features is not None:
        record.add_step("read_sequence", "CityJSONSeq: one CityJSONFeature per line", features=len(features))
    if skipped_instances:
        warnings.warn(
            CimkitWarning(
                f"{os.fspath(path)}: {skipped_instances} GeometryInstance(s) (templates) ignored",
                code="CJS102",
            ),
            stacklevel=2,
        )
        record.add_step("skip_templates", "GeometryInstance geometries are not read", count=skipped_instances)
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=_EMPTY_COLUMNS)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=file_crs), crs=file_crs)
    gdf = gdf.set_index("building_id")
    gdf["footprint_m2"] = shapely.area(gdf.geometry.to_numpy())
    gdf.attrs[SURFACES_ATTR] = surfaces_from_cityjson(
        doc, features, verts, transform, lod, path, pick=_pick_geometry, flatten=_surfaces
    )  # for LoD2 output
    empty = gdf.geometry.is_empty
    if empty.any():
        warnings.warn(
            CimkitWarning(
                f"{os.fspath(path)}: {int(empty.sum())} building(s) without a usable geometry"
                + (f" at LoD {lod}" if lod else "")
                + " have an empty footprint",
                code="CJS103",
            ),
            stacklevel=2,
        )
        record.add_step("empty_footprints", "buildings without a usable geometry", count=int(empty.sum()))
    record.add_step(
        "select_buildings", "Building objects, BuildingParts merged into their parent", count=len(gdf)
    )
    _record_ground(gdf, record)
    note = (
        None if transform is not None else "the file has no transform: its vertices were read as coordinates"
    )
    accepted = check_object_placement(gdf, path=path, layer="buildings", record=record, note=note)
    projected = reproject_with_provenance(gdf, crs, record=record, path=path)
    if projected is not gdf and not accepted:  # also where the target CRS says it should be
        check_object_placement(projected, path=path, layer="buildings", record=record)
    if projected is not gdf:
        projected["footprint_m2"] = shapely.area(projected.geometry.to_numpy())
        projected.attrs[SURFACES_ATTR] = transform_surfaces(gdf.attrs[SURFACES_ATTR], gdf.crs, projected.crs)
    provenance.attach(projected, record)
    return projected
