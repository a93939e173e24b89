"""Work done inside the IFC worker processes (imported by the forkserver, so keep it import-light).

Each worker opens a file once and keeps it for the next task on the same file. Tasks return
plain, picklable records; the parent assembles GeoDataFrames.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.placement
import ifcopenshell.util.unit
import numpy as np
import shapely

from cimkit.errors import FileFormatError, GeoreferenceError, UnsupportedSchemaError
from cimkit.io.ifc import _elements, _geometry, _georeference
from cimkit.io.ifc._header import SUPPORTED_SCHEMAS

logger = logging.getLogger(__name__)

__all__ = ["file_task", "geometry_task", "georeference_task", "open_model", "release", "semantics_task"]

_OPEN: dict[str, tuple[tuple[int, int], Any]] = {}
_PRODUCTS: dict[int, list] = {}  # id(open file) -> products; cleared with _OPEN
_ = (np, shapely, ifcopenshell.util.element)  # loaded here so the forkserver imports them once


def open_model(path: str):
    """Open (or reuse) ``path`` in this process; parse failures become :class:`FileFormatError`."""
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size)
    cached = _OPEN.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        f = ifcopenshell.open(path)
    except ifcopenshell.SchemaError as err:
        raise UnsupportedSchemaError(
            f"ifcopenshell cannot read this schema ({err}); supported: {', '.join(SUPPORTED_SCHEMAS)}",
            path=path,
            code="IFC006",
            hint="re-export the model as IFC4 or IFC4X3_ADD2",
        ) from err
    except (ifcopenshell.Error, RuntimeError, OSError, ValueError) as err:
        raise FileFormatError(
            f"ifcopenshell could not parse the file ({err})",
            path=path,
            code="IFC007",
            hint="validate and re-export the file",
        ) from err
    if not f.by_type("IfcProject"):
        raise FileFormatError("the file has no IfcProject", path=path, hint="validate and re-export the file")
    _geometry.check_directions(f, path)
    _OPEN.clear()  # one file per worker at a time
    _PRODUCTS.clear()
    _OPEN[path] = (key, f)
    return f


def release() -> None:
    """Forget the opened file (used after in-process reads, so the caller does not keep it in memory)."""
    _OPEN.clear()
    _PRODUCTS.clear()


def georeference_task(path: str, crs: Any, origin: Any, allow_none: bool):
    """Resolve the georeferencing of ``path`` (see :mod:`cimkit.io.ifc.georeference` for the rules)."""
    f = open_model(path)
    geo = _georeference.georeference_from_model(f, crs=crs, origin=origin, source=path)
    if not geo.is_placed and not allow_none:
        raise GeoreferenceError(
            "the file holds no georeferencing (no IfcMapConversion, IfcRigidOperation, ePSet_MapConversion "
            "or IfcSite latitude/longitude)",
            path=path,
            hint="pass origin=(x, y[, z, rotation_deg]) and crs=... to place it yourself",
        )
    return geo


def semantics_task(path: str, crs: Any, origin: Any) -> dict[str, Any]:
    """Georeference plus the buildings / storeys / elements / materials / spaces records."""
    f = open_model(path)
    geo = georeference_task(path, crs, origin, False)
    unit_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f))
    out = _elements.model_semantics(f, unit_scale=unit_scale)
    out["georeference"] = geo
    out["schema"] = f.schema_identifier if hasattr(f, "schema_identifier") else f.schema
    out["n_products"] = len(_geometry_products(f))
    return out


def _geometry_products(f) -> list:
    """Products with a representation, by entity id (cached per opened file: every chunk needs it)."""
    cached = _PRODUCTS.get(id(f))
    if cached is not None:
        return cached
    _PRODUCTS.clear()
    products = [p for p in _elements.element_products(f) if p.Representation is not None]
    products += [s for s in f.by_type("IfcSpace") if s.Representation is not None]
    products.sort(key=lambda p: p.id())
    _PRODUCTS[id(f)] = products
    return products


def geometry_task(
    path: str, chunk: int, n_chunks: int, meshes: bool, fast_path: bool, geometry_library: str
) -> dict[int, dict]:
    """Geometry records for the ``chunk``-th of ``n_chunks`` round-robin shares of the products."""
    f = open_model(path)
    unit_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f))
    products = _geometry_products(f)[chunk::n_chunks]
    return _geometry.product_geometry(
        f,
        products,
        unit_scale=unit_scale,
        meshes=meshes,
        fast_path=fast_path,
        path=path,
        geometry_library=geometry_library,
    )


def file_task(
    path: str, crs: Any, origin: Any, meshes: bool, fast_path: bool, geometry_library: str
) -> tuple[dict[str, Any], dict[int, dict]]:
    """Read the semantics and the geometry of every product of ``path`` in one task (a shared worker).

    The file is parsed once, and forgotten afterwards so that the worker does not keep it while
    it reads the next file.
    """
    try:
        semantics = semantics_task(path, crs, origin)
        records = geometry_task(path, 0, 1, meshes, fast_path, geometry_library)
    finally:
        release()
    return semantics, records
