"""Triangle meshes of IFC buildings in map coordinates (trimesh), detailed or LoD1 blocks."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any, Literal

import numpy as np

from cimkit.errors import ValidationError
from cimkit.io.ifc.georeference import Georeference

__all__ = ["building_meshes", "lod1_meshes", "meshes_from_records"]


def _map_vertices(verts: np.ndarray, geo: Georeference, transformer) -> np.ndarray:
    out = geo.to_map(verts, local_unit="metre")
    if transformer is not None:
        x, y = transformer.transform(out[:, 0], out[:, 1])
        out[:, 0], out[:, 1] = x, y
    return out


def meshes_from_records(elements, records, *, geo: Georeference, target: Any, gid: dict, per_element: bool):
    """Per-building (and optionally per-element) meshes from tessellation records."""
    import pyproj
    import trimesh

    transformer = None
    if target is not None and geo.crs is not None and not target.equals(geo.crs):
        transformer = pyproj.Transformer.from_crs(geo.crs, target, always_xy=True)
    parts: dict[str, list] = defaultdict(list)
    per: dict[str, Any] = {}
    for e in elements:
        rec = records.get(e["id"])
        if rec is None or "verts" not in rec:
            continue
        mesh = trimesh.Trimesh(_map_vertices(rec["verts"], geo, transformer), rec["faces"], process=False)
        if per_element:
            per[e["global_id"]] = mesh
        building = gid.get(e["building"])
        if building is not None:
            parts[building].append(mesh)
    merged = {b: trimesh.util.concatenate(ms) for b, ms in parts.items()}
    return merged, (per if per_element else None)


def lod1_meshes(buildings) -> dict[str, Any]:
    """LoD1 blocks: each footprint extruded from ``base_elevation_m`` by ``height_m`` (map units)."""
    import shapely
    import trimesh

    out = {}
    for building_id, row in buildings.iterrows():
        geom = shapely.force_2d(row.geometry)
        height = float(row["height_m"])
        if geom is None or geom.is_empty or not np.isfinite(height) or height <= 0:
            continue
        base = float(row["base_elevation_m"]) if np.isfinite(row["base_elevation_m"]) else 0.0
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        blocks = [trimesh.creation.extrude_polygon(p, height) for p in polys if p.area > 0]
        if not blocks:
            continue
        block = trimesh.util.concatenate(blocks)
        block.apply_translation([0.0, 0.0, base])
        out[building_id] = block
    return out


def building_meshes(
    path_or_model: str | os.PathLike[str] | Any,
    *,
    lod: Literal["mesh", "lod1"] = "mesh",
    per_element: bool = False,
    **read_options: Any,
) -> dict[str, Any]:
    """Trimesh meshes of the buildings of an IFC file or an already read ``IfcModel``.

    Parameters
    ----------
    path_or_model
        An IFC file path, or an :class:`~cimkit.io.ifc.reader.IfcModel` (read with
        ``meshes=True`` for ``lod="mesh"``).
    lod
        ``"mesh"``: the tessellated elements, merged per building. ``"lod1"``: each
        footprint extruded from ``base_elevation_m`` by ``height_m``.
    per_element
        With ``lod="mesh"``: return global_id -> mesh, one per element, instead.
    **read_options
        Passed to :func:`~cimkit.io.ifc.read_ifc_model` when a path is given (``crs``, ``origin`` ...).

    Returns
    -------
    dict
        building_id (or element global_id) -> ``trimesh.Trimesh`` in map coordinates (x, y in
        the CRS, z the elevation in metres).

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.ifc import building_meshes
    >>> blocks = building_meshes(sample_city_path() / "buildings" / "commerce_grande_rue.ifc", lod="lod1")
    >>> [bool(mesh.is_watertight) for mesh in blocks.values()]
    [True]
    """
    from cimkit.io.ifc.reader import IfcModel, read_ifc_model

    if lod not in ("mesh", "lod1"):
        raise ValidationError(f"'lod' must be one of mesh, lod1; {lod!r} was given.")
    if isinstance(path_or_model, IfcModel):
        model = path_or_model
    else:
        model = read_ifc_model(
            path_or_model,
            meshes=(lod == "mesh"),
            per_element_meshes=per_element and lod == "mesh",
            **read_options,
        )
    if lod == "lod1":
        return lod1_meshes(model.buildings)
    if per_element:
        if model.element_meshes is None:
            raise ValidationError(
                "the model was read without per_element_meshes=True; read it again with it."
            )
        return model.element_meshes
    if model.meshes is None:
        raise ValidationError("the model was read without meshes=True; read it again with meshes=True.")
    return model.meshes
