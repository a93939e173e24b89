"""cimkit: City Information Modeling in Python.

One spatial city model from BIM buildings (IFC), cadastral parcels, PLU zoning and
infrastructure networks, analysed for flood risk, carbon footprint and accessibility.

The public surface is small and loads lazily: ``import cimkit`` imports neither ifcopenshell,
pyvista nor rasterio; each reader pulls its libraries in when first called.

Examples
--------
>>> import cimkit
>>> from cimkit.datasets import sample_city_path
>>> model = cimkit.CityModel("EPSG:2154", name="sample")
>>> parcels = model.add_layer("parcels", cimkit.read_parcels(sample_city_path() / "parcels.geojson"))
>>> len(parcels), round(float(parcels.area.sum()))
(97, 412064)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "CityModel": "cimkit.model",
    "read_model": "cimkit.model",
    "Raster": "cimkit.raster",
    "Network": "cimkit.network.graph",
    "read_ifc": "cimkit.io.ifc",
    "read_ifc_model": "cimkit.io.ifc",
    "read_georeference": "cimkit.io.ifc",
    "read_parcels": "cimkit.io.vector",
    "read_zoning": "cimkit.io.vector",
    "read_buildings": "cimkit.io.vector",
    "read_pois": "cimkit.io.vector",
    "read_prescriptions": "cimkit.io.vector",
    "read_dem": "cimkit.io.raster",
    "read_gtfs": "cimkit.io.gtfs",
    "read_cityjson": "cimkit.io.cityjson",
    "read_citygml": "cimkit.io.citygml",
    "read_network": "cimkit.network.read",
    "merge_buildings": "cimkit.analysis.merge",
    "build_city": "cimkit.recipe",
    "set_options": "cimkit.options",
    "get_options": "cimkit.options",
}
_SUBMODULES = {"datasets", "errors", "provenance", "io", "network", "analysis", "viz", "options"}

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"cimkit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cimkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from cimkit import analysis, datasets, errors, io, network, options, provenance, viz  # noqa: F401
    from cimkit.analysis.merge import merge_buildings  # noqa: F401
    from cimkit.io.citygml import read_citygml  # noqa: F401
    from cimkit.io.cityjson import read_cityjson  # noqa: F401
    from cimkit.io.gtfs import read_gtfs  # noqa: F401
    from cimkit.io.ifc import read_georeference, read_ifc, read_ifc_model  # noqa: F401
    from cimkit.io.raster import read_dem  # noqa: F401
    from cimkit.io.vector import read_buildings, read_parcels, read_pois, read_prescriptions, read_zoning  # noqa: F401
    from cimkit.model import CityModel, read_model  # noqa: F401
    from cimkit.network.graph import Network  # noqa: F401
    from cimkit.network.read import read_network  # noqa: F401
    from cimkit.options import get_options, set_options  # noqa: F401
    from cimkit.raster import Raster  # noqa: F401
    from cimkit.recipe import build_city  # noqa: F401
