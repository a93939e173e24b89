"""IFC (BIM) import: buildings on the map, elements, materials, spaces and meshes.

Public functions: :func:`read_ifc`, :func:`read_ifc_model`, :func:`read_georeference`,
:func:`read_ifc_meshes`. Parsing and tessellation run in worker processes (a sandbox of
forkserver workers with time and memory limits), so a crashing file cannot take the caller
down. See ``docs/ifc.md``.
"""

from __future__ import annotations

from cimkit.io.ifc._header import SUPPORTED_SCHEMAS
from cimkit.io.ifc.georeference import Georeference
from cimkit.io.ifc.meshes import read_ifc_meshes
from cimkit.io.ifc.reader import IfcGeoreferenceWarning, IfcModel, read_georeference, read_ifc, read_ifc_model

__all__ = [
    "SUPPORTED_SCHEMAS",
    "Georeference",
    "IfcGeoreferenceWarning",
    "IfcModel",
    "read_georeference",
    "read_ifc",
    "read_ifc_meshes",
    "read_ifc_model",
]
