"""Readers for vector city layers: cadastral parcels, footprints, POIs (and PLU layers, re-exported).

Every reader goes through :func:`read_layer`: pyogrio's Arrow path for GeoJSON, GeoPackage,
Shapefile (also zipped: a ``.zip`` path or a ``zip://`` URL) and any other OGR format;
:func:`geopandas.read_parquet` for GeoParquet. The CRS rules are the same everywhere:

- a file without a CRS raises :class:`~cimkit.errors.MissingCRSError` unless ``source_crs=``
  says what it is (cimkit never guesses a CRS);
- ``crs=`` reprojects to the target CRS (recorded as a provenance step).

Polygon layers are validated; invalid rings are repaired with :func:`shapely.make_valid`
(a warning and a provenance step with the count) or refused (``repair="refuse"``).

Hostile input is stopped at the door, with the stable codes of ``docs/errors.md`` (the table
is in ``docs/checks.md``, "Vector layers and zoning rules at the readers' door"): NaN or
infinite coordinates (``GMT010``), a shapefile without .dbf (``VEC010``) or .prj (``CRS010``),
zip slip and zip bombs (``ARC001``, ``LIM003``, ``LIM004``), more features than ``max_features``
(``LIM020``), a layer with no feature (``VEC011``). Repairs warn and land in the provenance
with counts and ids: a missing .shx rebuilt (``VEC101``), Latin-1 text decoded (``VEC102``),
unclosed rings closed (``GMT102``), null or empty geometries dropped (``GMT101``).

The PLU readers (:func:`read_zoning`, :func:`read_prescriptions`, :func:`read_zone_rules`) live in
:mod:`cimkit.io.plu` and are re-exported here.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance
from cimkit.errors import InputError, RepairWarning
from cimkit.io._layers import (
    PathLike,
    find_column,
    load_layer,
    metric_area,
    read_layer,
    set_identity,
    validate_polygons,
)

__all__ = ["read_buildings", "read_layer", "read_parcels", "read_pois"]  # + the PLU names below

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# parcels
# --------------------------------------------------------------------------------------------
def read_parcels(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    id_column: str | None = None,
    repair: Literal["repair", "refuse"] = "repair",
    area_tolerance: float = 0.1,
) -> gpd.GeoDataFrame:
    """Read cadastral parcels (Etalab cadastre, IGN Parcellaire Express or any polygon layer).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile (also zipped), GeoParquet or any OGR format.
    layer
        Layer name; required when the file holds several layers.
    crs
        Target CRS (reprojected, recorded in the provenance).
    source_crs
        The CRS of a file that declares none; without it such a file is refused.
    id_column
        Column holding the parcel identifier. By default ``id`` (Etalab) or ``idu`` (IGN),
        case-insensitive; when neither exists (or is not unique) rows are numbered.
    repair
        ``"repair"``: invalid polygons are fixed with :func:`shapely.make_valid` (warning and
        provenance step); ``"refuse"``: raise :class:`~cimkit.errors.GeometryError`.
    area_tolerance
        Relative tolerance of the ``contenance`` check (0.1 = 10 %).

    Returns
    -------
    GeoDataFrame
        Index ``parcel_id``; the file's columns; ``area_m2`` (computed area in m²: planar in
        a projected CRS, on a Lambert azimuthal equal-area projection centred on the layer
        when the CRS is geographic); ``contenance_ratio`` (declared ``contenance`` / ``area_m2``,
        NaN without a ``contenance`` column) and ``contenance_flag`` (True where
        ``|ratio - 1| > area_tolerance``).

    Raises
    ------
    PlacementError
        The layer lies outside the area of use of its CRS or of ``crs`` (every vector reader
        checks this; accept with ``cimkit.set_options(placement="accept")``): degrees declared
        as Lambert-93, swapped lat/lon or x/y.
    GeometryError
        NaN or infinite coordinates (``GMT010``); with ``repair="refuse"``, invalid polygons,
        unclosed rings (``GMT014``) or features without geometry (``GMT012``).
    InputError
        No feature with a geometry (``VEC011``); a shapefile without its .dbf (``VEC010``).

    Examples
    --------
    The sample city's parcels are published in EPSG:4326; one of them declares a *contenance*
    (the cadastral area) 30 % above its drawn area:

    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> parcels = cimkit.read_parcels(sample_city_path() / "parcels.geojson", crs="EPSG:2154")
    >>> len(parcels), parcels.index[0], parcels.crs.to_epsg()
    (97, '91999000AB0001', 2154)
    >>> flagged = parcels[parcels["contenance_flag"]]
    >>> flagged.index.tolist(), round(float(flagged["contenance_ratio"].iloc[0]), 2)
    (['91999000AC0005'], 1.3)
    """
    gdf = load_layer(
        path,
        layer=layer,
        crs=crs,
        source_crs=source_crs,
        reader="cimkit.read_parcels",
        empty_layer="error",
        empty_geometry="refuse" if repair == "refuse" else "drop",
    )
    column = id_column if id_column is not None else find_column(gdf.columns, "id", "idu")
    gdf = validate_polygons(gdf, repair=repair, path=path, layer=layer, id_column=column)
    gdf = set_identity(
        gdf, name="parcel_id", column=column, explicit=id_column is not None, path=path, layer=layer
    )
    record = provenance.get(gdf)
    gdf = gdf.copy()
    gdf["area_m2"] = metric_area(gdf)
    cont = find_column(gdf.columns, "contenance")
    if cont is not None:
        declared = pd.to_numeric(gdf[cont], errors="coerce").to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = declared / gdf["area_m2"].to_numpy()
        gdf["contenance_ratio"] = ratio
        flag = np.abs(ratio - 1.0) > area_tolerance
        gdf["contenance_flag"] = np.where(np.isfinite(ratio), flag, False)
        n_flag = int(gdf["contenance_flag"].sum())
        if n_flag:
            logger.info(
                "%s: %d parcel(s) differ from their contenance by more than %g", path, n_flag, area_tolerance
            )
    else:
        gdf["contenance_ratio"] = np.nan
        gdf["contenance_flag"] = False
    if record is not None:
        record.add_step("compute_area", "area_m2 and contenance check", area_tolerance=area_tolerance)
        provenance.attach(gdf, record)
    return gdf


# --------------------------------------------------------------------------------------------
# buildings and points of interest
# --------------------------------------------------------------------------------------------
def read_buildings(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    id_column: str | None = None,
    repair: Literal["repair", "refuse"] = "repair",
) -> gpd.GeoDataFrame:
    """Read building footprints from any polygon layer.

    Parameters
    ----------
    path, layer, crs, source_crs, repair
        As in :func:`read_parcels`.
    id_column
        Identifier column; by default the first unique one of ``building_id``, ``id``,
        ``uid``, ``gml_id``, ``osm_id`` (case-insensitive), else the row number.

    Returns
    -------
    GeoDataFrame
        Index ``building_id``; the file's columns; ``footprint_m2``; ``height_m`` copied from
        a numeric ``height`` / ``hauteur`` column when the layer has no ``height_m``.

    Examples
    --------
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> len(footprints), footprints.index[0]
    (43, 'BATI0001')
    >>> footprints.loc["BATI0001", ["footprint_m2", "height_m"]].astype(float).round(1).tolist()
    [80.4, 5.9]
    """
    gdf = load_layer(
        path,
        layer=layer,
        crs=crs,
        source_crs=source_crs,
        reader="cimkit.read_buildings",
        empty_layer="error",
        empty_geometry="refuse" if repair == "refuse" else "drop",
    )
    gdf = validate_polygons(gdf, repair=repair, path=path, layer=layer)
    if id_column is not None:
        column, explicit = id_column, True
    else:
        column, explicit = None, False
        for cand in ("building_id", "id", "uid", "gml_id", "osm_id"):
            found = find_column(gdf.columns, cand)
            if found is not None and gdf[found].notna().all() and not gdf[found].duplicated().any():
                column = found
                break
    gdf = set_identity(gdf, name="building_id", column=column, explicit=explicit, path=path, layer=layer)
    record = provenance.get(gdf)
    gdf = gdf.copy()
    gdf["footprint_m2"] = metric_area(gdf)
    if "height_m" not in gdf.columns:
        src = find_column(gdf.columns, "height", "hauteur")
        if src is not None:
            gdf["height_m"] = pd.to_numeric(gdf[src], errors="coerce").astype("float64")
            if record is not None:
                record.add_step("rename", f"height_m copied from {src!r}", column=src)
    if record is not None:
        provenance.attach(gdf, record)
    return gdf


def read_pois(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    category_column: str = "category",
    id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read points of interest (shops, schools, stops ...) with their category.

    Parameters
    ----------
    path, layer, crs, source_crs
        As in :func:`read_parcels`.
    category_column
        Column holding the category; copied to ``category`` (values stripped, lower-case).
    id_column
        Identifier column; by default ``id`` when unique, else the row number.

    Returns
    -------
    GeoDataFrame
        Index ``poi_id``; point geometry (polygons and lines are replaced by a representative
        point inside them, with a warning and a provenance step); ``category``.

    Examples
    --------
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> pois = cimkit.read_pois(sample_city_path() / "pois.geojson")
    >>> len(pois), pois["category"].value_counts()[["bus_stop", "school"]].tolist()
    (23, [6, 2])
    """
    gdf = load_layer(
        path, layer=layer, crs=crs, source_crs=source_crs, reader="cimkit.read_pois", empty_layer="error"
    )
    if category_column not in gdf.columns:
        raise InputError(
            f"no category column {category_column!r} (columns: {', '.join(map(str, gdf.columns))})",
            path=path,
            layer=None if layer is None else str(layer),
            hint="pass category_column= naming the column that holds the POI category.",
        )
    record = provenance.get(gdf)
    geoms = gdf.geometry.to_numpy()
    not_point = shapely.get_type_id(geoms) != 0
    gdf = gdf.copy()
    if not_point.any():
        n = int(not_point.sum())
        fixed = geoms.copy()
        fixed[not_point] = shapely.point_on_surface(geoms[not_point])
        gdf[gdf.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
        warnings.warn(
            RepairWarning(
                f"{os.fspath(path)}: {n} non-point POI(s) replaced by a point inside them "
                "(shapely.point_on_surface); give point geometries to silence this",
                code="VEC104",
            ),
            stacklevel=2,
        )
        if record is not None:
            record.add_step("point_on_surface", "non-point POIs replaced by a point inside them", count=n)
    cats = gdf[category_column]
    gdf["category"] = [None if pd.isna(c) else str(c).strip().lower() for c in cats]
    column = id_column
    if column is None:
        found = find_column(gdf.columns, "poi_id", "id")
        if found is not None and gdf[found].notna().all() and not gdf[found].duplicated().any():
            column = found
    if record is not None:
        provenance.attach(gdf, record)
    return set_identity(
        gdf, name="poi_id", column=column, explicit=id_column is not None, path=path, layer=layer
    )


# PLU readers live in cimkit.io.plu (one topic per module); they stay reachable from this module
# (``from cimkit.io.vector import read_zoning``) through a lazy attribute, so that importing the
# vector readers does not load the PLU ones (both use the helpers of cimkit.io._layers).
def __getattr__(name: str) -> Any:
    from cimkit.io import plu

    if name in plu.__all__:
        return getattr(plu, name)
    raise AttributeError(f"module 'cimkit.io.vector' has no attribute {name!r}")
