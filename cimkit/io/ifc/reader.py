"""``read_ifc`` / ``read_ifc_model``: IFC buildings on the map, with their elements and materials.

The file is checked (header, schema, trailer), then parsed and tessellated in worker
processes (:mod:`cimkit.io.ifc.sandbox`): one task reads the semantics and the
georeferencing, the others compute the geometry of round-robin shares of the products. This
process only assembles the tables and applies :meth:`Georeference.to_map`.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from cimkit import provenance as _prov
from cimkit.errors import ValidationError
from cimkit.io.ifc.georeference import Georeference, as_crs

logger = logging.getLogger(__name__)

__all__ = ["IfcGeoreferenceWarning", "IfcModel", "read_ifc", "read_ifc_model"]

#: Element classes whose counts are always present as ``n_<class>`` columns.
COUNT_CLASSES = ("wall", "slab", "window", "door", "space", "roof", "column", "beam")


class IfcGeoreferenceWarning(UserWarning):
    """The placement of an IFC model rests on an assumption (lat/lon only, Scale reading, override)."""


@dataclass
class IfcModel:
    """Everything read from one IFC file.

    Attributes
    ----------
    buildings
        GeoDataFrame, one row per IfcBuilding (IfcFacility in IFC4X3), index ``building_id``.
    elements
        DataFrame, one row per built element, index ``global_id``.
    materials
        Long DataFrame, one row per element x material (layer / constituent / single material).
    spaces
        DataFrame of IfcSpace rows.
    georeference
        How the model was placed.
    provenance
        The lineage record (also attached to ``buildings``).
    meshes
        building_id -> ``trimesh.Trimesh`` in map coordinates (with ``meshes=True``).
    element_meshes
        global_id -> ``trimesh.Trimesh`` (with ``per_element_meshes=True``).
    """

    buildings: Any
    elements: pd.DataFrame
    materials: pd.DataFrame
    spaces: pd.DataFrame
    georeference: Georeference
    provenance: _prov.Provenance
    meshes: dict[str, Any] | None = None
    element_meshes: dict[str, Any] | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def read_ifc(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    origin: Sequence[float] | None = None,
    lod: Literal["footprint", "lod1"] = "footprint",
    simplify_tolerance_m: float = 0.05,
    processes: int | None = None,
    timeout_s: float | None = None,
    sandbox: bool = True,
):
    """Read the buildings of an IFC file as a GeoDataFrame of footprints on the map.

    Parameters
    ----------
    path
        An IFC-SPF file (IFC2X3, IFC4 or IFC4X3_ADD2).
    crs
        Target CRS. ``None``: the file's CRS (for lat/lon-only files, the site's UTM zone,
        with a warning). When it differs from the file's CRS, footprints are reprojected.
    origin
        ``(x, y[, z, rotation_deg])`` of the local origin in ``crs`` units (metres), rotation
        counter-clockwise in degrees: places a model that has no georeferencing (or overrides it).
    lod
        ``"footprint"``: 2-D footprints. ``"lod1"``: footprints with z = the building's base
        elevation (the LoD1 block is footprint x ``height_m``).
    simplify_tolerance_m
        Douglas-Peucker tolerance applied to footprints, metres (0 disables).
    processes
        Worker processes (default: option ``ifc_processes``).
    timeout_s
        Time limit for the whole read, seconds (default: option ``ifc_timeout_s``).
    sandbox
        ``False`` parses in this process: only for trusted files.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``building_id`` (GlobalId); columns ``name``, ``geometry``, ``height_m``,
        ``base_elevation_m``, ``ground_floor_elevation_m``, ``storeys``, ``gfa_m2``,
        ``gfa_source``, ``volume_m3``, ``use``, ``occupancy_type``, ``n_<class>`` counts,
        ``georef_method``, ``georef_confidence``, ``schema``, ``source``.

    Raises
    ------
    GeoreferenceError
        The file holds no georeferencing and no ``origin`` / ``crs`` was given.
    FileFormatError, UnsupportedSchemaError, ReaderCrashError
        Malformed or truncated file, unsupported schema, crashed or timed-out parser.

    Examples
    --------
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> buildings = cimkit.read_ifc(sample_city_path() / "buildings" / "maison_pasteur_12.ifc")
    >>> int(buildings["storeys"].iloc[0]), buildings.crs.to_epsg(), buildings["use"].iloc[0]
    (2, 2154, 'residential')
    """
    return read_ifc_model(
        path,
        crs=crs,
        origin=origin,
        lod=lod,
        simplify_tolerance_m=simplify_tolerance_m,
        processes=processes,
        timeout_s=timeout_s,
        sandbox=sandbox,
    ).buildings


def read_ifc_model(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    origin: Sequence[float] | None = None,
    meshes: bool = False,
    per_element_meshes: bool = False,
    lod: Literal["footprint", "lod1"] = "footprint",
    simplify_tolerance_m: float = 0.05,
    processes: int | None = None,
    timeout_s: float | None = None,
    sandbox: bool = True,
    fast_path: bool = True,
    geometry_library: str | None = None,
) -> IfcModel:
    """Read an IFC file into buildings, elements, materials, spaces (and meshes on request).

    Parameters are those of :func:`read_ifc`, plus:

    meshes
        Also build one ``trimesh.Trimesh`` per building in map coordinates (tessellates every
        product; the extrusion fast path is off).
    per_element_meshes
        Also keep one mesh per element (implies ``meshes``).
    fast_path
        Take footprints of plain vertical extrusions from profile + placement (default).
    geometry_library
        ``ifcopenshell.geom`` kernel (default ``"opencascade"``, ifcopenshell's default);
        ``"hybrid-cgal-simple-opencascade"`` is often faster on architectural models.

    Returns
    -------
    IfcModel

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.ifc import read_ifc_model
    >>> model = read_ifc_model(sample_city_path() / "buildings" / "commerce_grande_rue.ifc")
    >>> sorted(model.elements["ifc_class"].unique())[:3]
    ['IfcDoor', 'IfcRoof', 'IfcSlab']
    >>> bool(model.materials.groupby("global_id")["share"].sum().round(9).eq(1.0).all())
    True
    """
    from cimkit.io.ifc import _assemble
    from cimkit.io.ifc._tasks import geometry_task, release, semantics_task
    from cimkit.io.ifc.geometry import DEFAULT_GEOMETRY_LIBRARY
    from cimkit.io.ifc.header import check_file
    from cimkit.io.ifc.sandbox import IfcSandbox

    if lod not in ("footprint", "lod1"):
        raise ValidationError(f"'lod' must be one of footprint, lod1; {lod!r} was given.")
    if not (isinstance(simplify_tolerance_m, (int, float)) and simplify_tolerance_m >= 0):
        raise ValidationError(
            f"simplify_tolerance_m must be a number >= 0; {simplify_tolerance_m!r} was given."
        )
    if processes is not None and not (isinstance(processes, int) and processes >= 1):
        raise ValidationError(f"processes must be an integer >= 1; {processes!r} was given.")
    schema = check_file(path)
    target = as_crs(crs)
    meshes = bool(meshes or per_element_meshes)
    spath = os.fspath(path)
    try:
        with IfcSandbox(path, processes=processes, timeout_s=timeout_s, sandbox=sandbox) as box:
            n_chunks = 1 if box.processes == 1 or not sandbox else 3 * box.processes
            sem_future = box.submit(semantics_task, spath, target, origin)
            kernel = geometry_library or DEFAULT_GEOMETRY_LIBRARY
            geo_futures = [
                box.submit(geometry_task, spath, k, n_chunks, meshes, fast_path, kernel)
                for k in range(n_chunks)
            ]
            semantics = box.result(sem_future)
            records: dict[int, dict] = {}
            for fut in geo_futures:
                records.update(box.result(fut))
    finally:
        if not sandbox:
            release()  # in-process reads do not keep the parsed file
    geo: Georeference = semantics["georeference"]
    record = _prov.record_for_files(
        path, reader="cimkit.read_ifc", libraries=["ifcopenshell", "shapely", "pyproj"]
    )
    for text in geo.warnings:
        warnings.warn(f"{spath}: {text}", IfcGeoreferenceWarning, stacklevel=3)
    record.add_step(
        "georeference",
        f"placed by {geo.method} (confidence {geo.confidence})",
        method=geo.method,
        crs=geo.crs.to_string() if geo.crs is not None else None,
        eastings=geo.eastings,
        northings=geo.northings,
        orthogonal_height=geo.orthogonal_height,
        rotation_deg=geo.rotation_deg,
        scale=geo.scale,
        warnings=list(geo.warnings),
    )
    record.add_step(
        "unit-scaling",
        "project length unit converted to map units",
        unit_scale=geo.unit_scale,
        effective_scale=geo.effective_scale,
        map_unit_m=geo.map_unit_m,
    )
    n_fast = sum(1 for r in records.values() if r["path"] == "extrusion")
    record.add_step(
        "geometry",
        "footprints from extrusion profiles and from unions of projected triangles",
        extrusion_fast_path=n_fast,
        tessellated=len(records) - n_fast,
        geometry_library=geometry_library or DEFAULT_GEOMETRY_LIBRARY,
    )
    model = _assemble.assemble(
        semantics,
        records,
        geo=geo,
        target=target,
        source=spath,
        schema=semantics.get("schema") or schema,
        lod=lod,
        simplify_tolerance_m=float(simplify_tolerance_m),
        meshes=meshes,
        per_element_meshes=per_element_meshes,
        record=record,
    )
    return model


def _counts(classes: list[str]) -> dict[str, int]:
    from cimkit.io.ifc.elements import class_key

    counts = Counter(class_key(c) for c in classes)
    out = {f"n_{k}": 0 for k in COUNT_CLASSES}
    for key, n in counts.items():
        out[f"n_{key}"] = n
    return out


def _building_use(occupancy: Any, spaces: list[dict]) -> str | None:
    from cimkit.io.ifc.elements import normalise_use

    use = normalise_use(occupancy)
    if use is not None:
        return use
    weights: dict[str, float] = defaultdict(float)
    for s in spaces:
        if s["use"] and s["use"] != "other":
            area = s.get("area_m2")
            weights[s["use"]] += area if area is not None and math.isfinite(area) and area > 0 else 1.0
    if not weights:
        return None
    total = sum(weights.values())
    best, share = max(weights.items(), key=lambda kv: kv[1])
    return best if share / total >= 0.8 else "mixed"
