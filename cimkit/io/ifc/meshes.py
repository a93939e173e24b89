"""Triangle meshes of IFC buildings in map coordinates (trimesh): detailed or LoD1 blocks."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from cimkit.errors import ValidationError
from cimkit.io.ifc.reader import IfcModel, read_ifc_model

__all__ = ["read_ifc_meshes"]


def _lod1_meshes(buildings) -> dict[str, Any]:
    """Extrude each footprint from ``base_elevation_m`` by ``height_m`` (map units) into a block."""
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


def read_ifc_meshes(
    source: str | os.PathLike[str] | IfcModel,
    *,
    lod: Literal["mesh", "lod1"] = "mesh",
    per_element: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """Read the buildings of an IFC file (or an already read ``IfcModel``) as trimesh meshes.

    Parameters
    ----------
    source
        An IFC file path, or an :class:`~cimkit.io.ifc.reader.IfcModel` (read with
        ``meshes=True`` for ``lod="mesh"``).
    lod
        ``"mesh"``: the tessellated elements, merged per building. ``"lod1"``: each
        footprint extruded from ``base_elevation_m`` (the ground level) by ``height_m``.
    per_element
        With ``lod="mesh"``: return global_id -> mesh, one per element, instead.
    **kwargs
        Passed to :func:`~cimkit.io.ifc.read_ifc_model` when a path is given (``crs``,
        ``origin``, ``sandbox`` ...).

    Returns
    -------
    dict
        building_id (or element global_id) -> ``trimesh.Trimesh`` in map coordinates (x, y in
        the CRS, z the elevation in metres).

    Raises
    ------
    ValidationError
        ``lod`` is not mesh or lod1, or ``source`` is a model read without the meshes asked for.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.ifc import read_ifc_meshes
    >>> blocks = read_ifc_meshes(sample_city_path() / "buildings" / "commerce_grande_rue.ifc", lod="lod1")
    >>> [(bool(mesh.is_watertight), round(float(mesh.bounds[1, 2] - mesh.bounds[0, 2]), 2))
    ...  for mesh in blocks.values()]
    [(True, 4.2)]
    """
    if lod not in ("mesh", "lod1"):
        raise ValidationError(f"'lod' must be one of mesh, lod1; {lod!r} was given.")
    if isinstance(source, IfcModel):
        model = source
    else:
        model = read_ifc_model(
            source,
            meshes=(lod == "mesh"),
            per_element_meshes=per_element and lod == "mesh",
            **kwargs,
        )
    if lod == "lod1":
        return _lod1_meshes(model.buildings)
    if per_element:
        if model.element_meshes is None:
            raise ValidationError(
                "the model was read without per_element_meshes=True; read it again with it."
            )
        return model.element_meshes
    if model.meshes is None:
        raise ValidationError("the model was read without meshes=True; read it again with meshes=True.")
    return model.meshes
