"""Pick the model store from a path: a GeoPackage file, a folder model, or a PostGIS DSN."""

from __future__ import annotations

import os
from typing import Any

from cimkit.errors import ValidationError
from cimkit.io.gpkg import StoredModel, read_gpkg

__all__ = ["read_store", "write_model_postgis"]


def read_store(path: str | os.PathLike[str], *, bbox: Any = None, layers: Any = None) -> StoredModel:
    """Read a stored model from a PostGIS DSN or a GeoPackage.

    ``postgresql://`` DSNs are read from PostGIS and folder models (a folder or ``.zip`` with a
    folder-format ``manifest.json``) by :func:`cimkit.io.folder.read_folder`, both for part of
    the city with ``bbox`` / ``layers``; anything else is a GeoPackage, read whole (``bbox`` /
    ``layers`` refused).
    """
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        from cimkit.io.postgis import read_postgis

        return read_postgis(path, bbox=bbox, layers=layers)
    from cimkit.io.folder import _is_folder_path

    if _is_folder_path(path):
        from cimkit.io.folder import read_folder

        return read_folder(path, layers=layers, bbox=bbox)
    if bbox is not None or layers is not None:
        raise ValidationError(
            "bbox= and layers= need a PostGIS DSN or a folder model (city.cimkit); a GeoPackage is read whole."
        )
    return read_gpkg(path)


def write_model_postgis(
    model: Any, dsn: str, *, schema: str | None = None, **kwargs: Any
) -> dict[str, dict[str, int]]:
    """Save every part of a ``CityModel`` to PostGIS (the body of ``CityModel.to_postgis``).

    Each part goes with its sensitivity level (``cimkit._sensitivity``), which decides its schema.
    """
    from cimkit._sensitivity import get_model_levels
    from cimkit.io.postgis import write_postgis

    return write_postgis(
        dsn,
        crs=model.crs,
        name=model.name,
        schema=schema,
        layers=model.layers,
        networks=model.networks,
        dem=model.dem,
        records=model._provenance,  # in the model's order, as the GeoPackage store keeps it
        levels=get_model_levels(model),
        **kwargs,
    )
