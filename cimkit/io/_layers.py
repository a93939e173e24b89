"""Reading one vector layer with cimkit's CRS rules, and the checks shared by the layer readers.

:func:`read_layer` is public through :mod:`cimkit.io.vector`; the helpers here
(:func:`validate_polygons`, :func:`set_identity`, :func:`find_column`, :func:`metric_area`) are
shared by the vector and PLU readers.
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
from cimkit._crs import assign_or_check_source_crs, reproject_with_provenance
from cimkit._placement import check_object_placement
from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    GeometryError,
    InputError,
    LayerNotFoundError,
)

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

    Examples
    --------
    >>> from cimkit import provenance
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_layer
    >>> streets = read_layer(sample_city_path() / "streets.geojson", crs="EPSG:4326")
    >>> len(streets), streets.crs.to_epsg(), sorted(streets["highway"].unique())[:3]
    (21, 4326, ['cycleway', 'footway', 'living_street'])
    >>> provenance.get(streets).steps[-1].detail
    'EPSG:2154 -> EPSG:4326'
    """
    gdf = _open_vector(path, layer)
    record = provenance.record_for_files(
        path if not _is_vsi(os.fspath(path)) else [],
        reader=reader,
        libraries=["pyogrio", "geopandas", "shapely"],
        licence=licence,
    )
    if not record.source_files:
        record.source_files.append(provenance.SourceFile(os.fspath(path)))
    layer_name = None if layer is None else str(layer)
    gdf = assign_or_check_source_crs(gdf, source_crs, path=path, layer=layer_name, record=record)
    accepted = check_object_placement(gdf, path=path, layer=layer_name, record=record)
    moved = reproject_with_provenance(gdf, crs, record=record, path=path, layer=layer_name)
    if moved is not gdf and not accepted:  # also where the target CRS says it should be
        check_object_placement(moved, path=path, layer=layer_name, record=record)
    gdf = moved
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


def validate_polygons(
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


def find_column(columns: Sequence[str], *candidates: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand.lower() in lower:
            return lower[cand.lower()]
    return None


def set_identity(
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
        return set_identity(gdf, name=name, column=None, explicit=False, path=path, layer=layer)
    out = gdf.set_index(column, drop=False)
    out.index.name = name
    if column == name:
        out = out.drop(columns=column)
    if record is not None:
        provenance.attach(out, record)
    return out


def metric_area(gdf: gpd.GeoDataFrame) -> np.ndarray:
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
