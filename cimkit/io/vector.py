"""Readers for vector city layers: cadastral parcels, footprints, POIs (and PLU layers, re-exported).

Every reader goes through :func:`read_layer`: pyogrio's Arrow path for GeoJSON, GeoPackage,
Shapefile (also zipped: a ``.zip`` path or a ``zip://`` URL) and any other OGR format;
:func:`geopandas.read_parquet` for GeoParquet. The CRS rules are the same everywhere:

- a file without a CRS raises :class:`~cimkit.errors.MissingCRSError` unless ``source_crs=``
  says what it is (cimkit never guesses a CRS);
- ``crs=`` reprojects to the target CRS (recorded as a provenance step).

Polygon layers are validated; invalid rings are repaired with :func:`shapely.make_valid`
(a warning and a provenance step with the count) or refused (``repair="refuse"``).

The PLU readers (:func:`read_zoning`, :func:`read_prescriptions`, :func:`read_rules`) live in
:mod:`cimkit.io.plu` and are re-exported here.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit import provenance
from cimkit.errors import (
    CimkitIOError,
    CRSError,
    FileFormatError,
    GeometryError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
)

__all__ = ["read_buildings", "read_layer", "read_parcels", "read_pois"]  # + the PLU names below

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
_PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


# --------------------------------------------------------------------------------------------
# generic reading
# --------------------------------------------------------------------------------------------
def _is_vsi(path: str) -> bool:
    return path.startswith(("zip://", "/vsi", "http://", "https://", "s3://"))


def _open_vector(path: PathLike, layer: str | int | None) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    text = os.fspath(path)
    if not _is_vsi(text) and not Path(text).exists():
        raise CimkitIOError("the file does not exist", path=path, hint="check the path.")
    if text.lower().endswith(_PARQUET_SUFFIXES):
        try:
            return gpd.read_parquet(text)
        except Exception as err:  # pyarrow raises several unrelated types
            raise FileFormatError(
                f"cannot read the file as GeoParquet ({err})",
                path=path,
                hint="check that it is a GeoParquet file with 'geo' metadata.",
            ) from err
    if layer is None:
        try:
            layers = pyogrio.list_layers(text)
        except DataSourceError as err:
            raise FileFormatError(
                f"GDAL cannot open the file ({err})",
                path=path,
                hint="check that it is a vector format GDAL reads (GeoJSON, GPKG, Shapefile ...).",
            ) from err
        if len(layers) > 1:
            names = ", ".join(str(n) for n in layers[:, 0])
            raise LayerNotFoundError(
                f"the file holds {len(layers)} layers ({names}) and no layer was named",
                path=path,
                hint="pass layer='<name>'.",
            )
    try:
        return pyogrio.read_dataframe(text, layer=layer, use_arrow=True)
    except DataLayerError as err:
        raise LayerNotFoundError(
            f"layer not found ({err})",
            path=path,
            layer=str(layer),
            hint="list layers with pyogrio.list_layers.",
        ) from err
    except DataSourceError as err:
        raise FileFormatError(
            f"GDAL cannot open the file ({err})",
            path=path,
            hint="check that it is a vector format GDAL reads (GeoJSON, GPKG, Shapefile ...).",
        ) from err


def read_layer(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    reader: str = "cimkit.io.vector.read_layer",
    licence: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer with the cimkit CRS rules and a provenance record.

    Parameters
    ----------
    path
        File path (GeoJSON, GPKG, Shapefile, zipped Shapefile, GeoParquet, any OGR format).
    layer
        Layer name or index; required when the file holds several layers.
    crs
        Target CRS; the layer is reprojected to it.
    source_crs
        The CRS of a file that declares none. Refused when the file declares a different one.
    reader, licence
        Written into the provenance record.

    Returns
    -------
    GeoDataFrame
        With ``attrs["provenance"]`` set.

    Raises
    ------
    MissingCRSError
        The file has no CRS and ``source_crs`` is not given.
    CRSError
        ``source_crs`` contradicts the file's CRS.
    """
    gdf = _open_vector(path, layer)
    record = provenance.record_for_files(
        path if not _is_vsi(os.fspath(path)) else [],
        reader=reader,
        libraries=["pyogrio", "geopandas", "shapely"],
        licence=licence,
    )
    if not record.sources:
        record.sources.append(provenance.SourceFile(os.fspath(path)))
    layer_name = None if layer is None else str(layer)
    if gdf.crs is None:
        if source_crs is None:
            raise MissingCRSError(
                "the layer has no CRS",
                path=path,
                layer=layer_name,
                hint="pass source_crs='EPSG:nnnn' to state the CRS the coordinates are in.",
            )
        gdf = gdf.set_crs(CRS.from_user_input(source_crs))
        record.add_step("assign_crs", "CRS given by the caller (source_crs)", crs=gdf.crs.to_string())
    elif source_crs is not None and CRS.from_user_input(source_crs) != gdf.crs:
        raise CRSError(
            f"source_crs={CRS.from_user_input(source_crs).to_string()} contradicts the file's CRS "
            f"{gdf.crs.to_string()}",
            path=path,
            layer=layer_name,
            hint="drop source_crs (the file's CRS is used) or fix the file.",
        )
    if crs is not None:
        target = CRS.from_user_input(crs)
        if target != gdf.crs:
            before = gdf.crs.to_string()
            gdf = gdf.to_crs(target)
            record.add_step(
                "reproject", f"{before} -> {target.to_string()}", src=before, dst=target.to_string()
            )
    null = gdf.geometry.isna() | gdf.geometry.is_empty
    if null.any():
        n = int(null.sum())
        warnings.warn(f"{os.fspath(path)}: {n} feature(s) without geometry dropped", stacklevel=3)
        record.add_step("drop_empty", "features with null or empty geometry dropped", count=n)
        gdf = gdf.loc[~null].copy()
    provenance.attach(gdf, record)
    return gdf


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal parts of each geometry (make_valid may add lines or points)."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(types == 7):  # GeometryCollection
        parts = shapely.get_parts(out[i])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    other = ~np.isin(shapely.get_type_id(out), (3, 6))
    out[other] = shapely.Polygon()  # a polygon collapsed to a line or a point has no area
    return out


def _validate_polygons(
    gdf: gpd.GeoDataFrame,
    *,
    repair: Literal["repair", "refuse"],
    path: PathLike,
    layer: Any,
    id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Check polygon types and validity; repair or refuse. Errors name ``id_column``'s value."""
    if repair not in ("repair", "refuse"):
        raise InputError(f"'repair' must be 'repair' or 'refuse'; {repair!r} was given")
    geoms = gdf.geometry.to_numpy()
    ids = (
        gdf[id_column].to_numpy()
        if id_column is not None and id_column in gdf.columns
        else gdf.index.to_numpy()
    )
    types = shapely.get_type_id(geoms)
    if not np.isin(types, (3, 6)).all():
        pos = int(np.flatnonzero(~np.isin(types, (3, 6)))[0])
        bad = ids[pos]
        raise GeometryError(
            f"expected polygons; the feature is a {geoms[pos].geom_type}",
            path=path,
            layer=None if layer is None else str(layer),
            entity=bad,
            hint="select a polygon layer.",
        )
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    n = int(invalid.sum())
    first = ids[invalid][0]
    if repair == "refuse":
        reason = shapely.is_valid_reason(geoms[invalid][0])
        raise GeometryError(
            f"{n} invalid polygon(s); first: {reason}",
            path=path,
            layer=None if layer is None else str(layer),
            entity=first,
            hint="repair the layer (repair='repair' uses shapely.make_valid) or fix it in a GIS.",
        )
    fixed = geoms.copy()
    fixed[invalid] = _polygonal(shapely.make_valid(geoms[invalid]))
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
    record = provenance.get(gdf)
    if record is not None:
        provenance.attach(out, record.copy().add_step("repair_geometry", "shapely.make_valid", count=n))
    warnings.warn(
        f"{os.fspath(path)}: {n} invalid polygon(s) repaired with make_valid (first: {first})", stacklevel=3
    )
    return out


def _find_column(columns: Sequence[str], *candidates: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def _set_identity(
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    column: str | None,
    explicit: bool,
    path: PathLike,
    layer: Any,
) -> gpd.GeoDataFrame:
    """Use ``column`` as the index called ``name`` (checked unique), or number the rows."""
    record = provenance.get(gdf)
    if column is None:
        out = gdf.reset_index(drop=True)
        out.index = pd.RangeIndex(len(out), name=name)
        if record is not None:
            record.add_step("number_rows", f"no id column found; {name} = row number")
            provenance.attach(out, record)
        return out
    if column not in gdf.columns:
        raise InputError(
            f"id column {column!r} is not in the layer (columns: {', '.join(map(str, gdf.columns))})",
            path=path,
            layer=None if layer is None else str(layer),
            hint="pass id_column= with one of the columns listed.",
        )
    ids = gdf[column]
    dup = ids.duplicated(keep=False) | ids.isna()
    if dup.any():
        if explicit:
            raise InputError(
                f"id column {column!r} has {int(dup.sum())} duplicate or missing value(s), e.g. "
                f"{ids[dup].iloc[0]!r}",
                path=path,
                layer=None if layer is None else str(layer),
                entity=ids[dup].iloc[0],
                hint="choose a unique id column with id_column= or deduplicate the layer.",
            )
        logger.info("%s: column %r is not unique; numbering rows", path, column)
        return _set_identity(gdf, name=name, column=None, explicit=False, path=path, layer=layer)
    out = gdf.set_index(column, drop=False)
    out.index.name = name
    if column == name:
        out = out.drop(columns=column)
    if record is not None:
        provenance.attach(out, record)
    return out


def _metric_area(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Areas in m²: planar in a projected CRS, equal-area (LAEA at the layer centre) otherwise."""
    crs = gdf.crs
    if crs is not None and crs.is_projected:
        factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return shapely.area(gdf.geometry.to_numpy()) * factor**2
    minx, miny, maxx, maxy = gdf.total_bounds
    laea = CRS.from_proj4(
        f"+proj=laea +lat_0={(miny + maxy) / 2} +lon_0={(minx + maxx) / 2} +datum=WGS84 +units=m"
    )
    return shapely.area(gdf.geometry.to_crs(laea).to_numpy())


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

    Examples
    --------
    >>> import cimkit
    >>> parcels = cimkit.read_parcels("sample_data/parcels.geojson", crs="EPSG:2154")  # doctest: +SKIP
    """
    gdf = read_layer(path, layer=layer, crs=crs, source_crs=source_crs, reader="cimkit.read_parcels")
    column = id_column if id_column is not None else _find_column(gdf.columns, "id", "idu")
    gdf = _validate_polygons(gdf, repair=repair, path=path, layer=layer, id_column=column)
    gdf = _set_identity(
        gdf, name="parcel_id", column=column, explicit=id_column is not None, path=path, layer=layer
    )
    record = provenance.get(gdf)
    gdf = gdf.copy()
    gdf["area_m2"] = _metric_area(gdf)
    cont = _find_column(gdf.columns, "contenance")
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
    """
    gdf = read_layer(path, layer=layer, crs=crs, source_crs=source_crs, reader="cimkit.read_buildings")
    gdf = _validate_polygons(gdf, repair=repair, path=path, layer=layer)
    if id_column is not None:
        column, explicit = id_column, True
    else:
        column, explicit = None, False
        for cand in ("building_id", "id", "uid", "gml_id", "osm_id"):
            found = _find_column(gdf.columns, cand)
            if found is not None and gdf[found].notna().all() and not gdf[found].duplicated().any():
                column = found
                break
    gdf = _set_identity(gdf, name="building_id", column=column, explicit=explicit, path=path, layer=layer)
    record = provenance.get(gdf)
    gdf = gdf.copy()
    gdf["footprint_m2"] = _metric_area(gdf)
    if "height_m" not in gdf.columns:
        src = _find_column(gdf.columns, "height", "hauteur")
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
    """
    gdf = read_layer(path, layer=layer, crs=crs, source_crs=source_crs, reader="cimkit.read_pois")
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
            f"{os.fspath(path)}: {n} non-point POI(s) replaced by a point inside them", stacklevel=2
        )
        if record is not None:
            record.add_step("point_on_surface", "non-point POIs replaced by a point inside them", count=n)
    cats = gdf[category_column]
    gdf["category"] = [None if pd.isna(c) else str(c).strip().lower() for c in cats]
    column = id_column
    if column is None:
        found = _find_column(gdf.columns, "poi_id", "id")
        if found is not None and gdf[found].notna().all() and not gdf[found].duplicated().any():
            column = found
    if record is not None:
        provenance.attach(gdf, record)
    return _set_identity(
        gdf, name="poi_id", column=column, explicit=id_column is not None, path=path, layer=layer
    )


# PLU readers live in cimkit.io.plu (one topic per module); they stay reachable from this module
# (``from cimkit.io.vector import read_zoning``) through a lazy attribute, which avoids an import
# cycle: cimkit.io.plu itself uses the helpers above.
_PLU_NAMES = frozenset(
    {"PRESCRIPTION_TYPES", "RULE_COLUMNS", "read_prescriptions", "read_rules", "read_zoning"}
)


def __getattr__(name: str) -> Any:
    if name in _PLU_NAMES:
        from cimkit.io import plu

        return getattr(plu, name)
    raise AttributeError(f"module 'cimkit.io.vector' has no attribute {name!r}")
