"""IFC (BIM) import: buildings on the map, elements, materials, spaces and meshes.

Public functions: :func:`read_ifc`, :func:`read_ifc_model`, :func:`read_georeference`,
:func:`building_meshes`. Parsing and tessellation run in worker processes
(:mod:`cimkit.io.ifc.sandbox`), so a crashing file cannot take the caller down.
See ``docs/ifc.md``.
"""

from __future__ import annotations

from cimkit.io.ifc.georeference import Georeference, effective_scale, read_georeference
from cimkit.io.ifc.header import SUPPORTED_SCHEMAS
from cimkit.io.ifc.meshes import building_meshes
from cimkit.io.ifc.reader import IfcGeoreferenceWarning, IfcModel, read_ifc, read_ifc_model

__all__ = [
    "SUPPORTED_SCHEMAS",
    "Georeference",
    "IfcGeoreferenceWarning",
    "IfcModel",
    "building_meshes",
    "effective_scale",
    "read_georeference",
    "read_ifc",
    "read_ifc_model",
]
