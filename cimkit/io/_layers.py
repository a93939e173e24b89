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
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit import provenance
from cimkit._crs import assign_or_check_source_crs, reproject_with_provenance
from cimkit._placement import check_finite_coordinates, check_object_placement
from cimkit.errors import GeometryError, InputError, RepairWarning, ValidationError
from cimkit.io._vector_input import (
    MAX_IDS,
    Notes,
    PathLike,
    feature_ids,
    is_vsi,
    open_vector,
)

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# generic reading
# --------------------------------------------------------------------------------------------
def check_geometries(
    gdf: gpd.GeoDataFrame,
    *,
    path: PathLike | None = None,
    layer: str | None = None,
    empty_geometry: Literal["drop", "refuse"] = "drop",
    record: provenance.Provenance | None = None,
) -> gpd.GeoDataFrame:
    """Check geometries at the readers' door, for every vector reader (layers and networks).

    - NaN or infinite coordinates (x, y, or the z of a 3D geometry) raise
      :class:`~cimkit.errors.GeometryError` ``GMT010`` naming the features (never turned into
      an empty or moved geometry);
    - features with a null or empty geometry are dropped with a ``GMT101``
      :class:`~cimkit.errors.RepairWarning` and a ``drop_empty`` provenance step (count and ids),
      or refused (``GMT012``) with ``empty_geometry="refuse"``;
    - Z coordinates are kept as read, noted in a ``keep_z`` step (areas and lengths stay planar).

    ``record`` (default: the frame's provenance) receives the steps. Returns the checked frame.
    """
    if record is None:
        record = provenance.get(gdf)
    source = "<layer>" if path is None else os.fspath(path)
    has_z = check_finite_coordinates(gdf, layer=layer, path=path, name_ids=feature_ids)
    if has_z.any() and record is not None:
        record.add_step(
            "keep_z", "Z coordinates kept as read; areas and lengths are planar", count=int(has_z.sum())
        )
    null = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if not null.any():
        return gdf
    n = int(null.sum())
    ids = feature_ids(gdf, null)
    if empty_geometry == "refuse":
        raise GeometryError(
            f"{n} feature(s) have no geometry (null or empty): {ids}",
            path=path,
            layer=layer,
            entity=ids[0],
            code="GMT012",
            hint="delete them in the source, or pass repair='repair' to drop them with a warning.",
        )
    warnings.warn(
        RepairWarning(
            f"{source}: {n} of {len(gdf)} feature(s) have no geometry (null or empty) and "
            f"were dropped: {ids}. Pass repair='refuse' to make this an error",
            code="GMT101",
        ),
        stacklevel=4,
    )
    out = gdf.loc[~null].copy()
    if record is not None:
        record.add_step("drop_empty", "features with null or empty geometry dropped", count=n, ids=ids)
        provenance.attach(out, record)
    return out


def read_layer(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    reader: str = "cimkit.io.vector.read_layer",
    licence: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one vector layer with the cimkit CRS rules, the input checks and a provenance record.

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
        With ``attrs["provenance"]`` set. Features without geometry are dropped (warning
        ``GMT101`` listing their ids, provenance step ``drop_empty``); a layer with no
        feature left is returned empty with a warning (``VEC103``).

    Raises
    ------
    MissingCRSError
        The file has no CRS (a shapefile without .prj: ``CRS010``) and ``source_crs`` is not given.
    CRSError
        ``source_crs`` contradicts the file's CRS.
    GeometryError
        NaN or infinite coordinates (``GMT010``), a ring that cannot be closed (``GMT011``).
    InputError
        A shapefile without its .dbf (``VEC010``).
    ResourceLimitError
        More features than the ``max_features`` option (``LIM020``), a file or a zip past the
        size limits (``LIM002`` - ``LIM004``).
    PlacementError
        The layer lies outside the area of use of its CRS (degrees declared as Lambert-93,
        swapped x / y).

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
    return load_layer(path, layer=layer, crs=crs, source_crs=source_crs, reader=reader, licence=licence)


def load_layer(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
    reader: str = "cimkit.io.vector.read_layer",
    licence: str | None = None,
    empty_layer: Literal["warn", "error"] = "warn",
    empty_geometry: Literal["drop", "refuse"] = "drop",
) -> gpd.GeoDataFrame:
    """Read a layer as :func:`read_layer` does, with the layer readers' choices on empty input.

    ``empty_layer="error"`` refuses a layer with no feature (``VEC011``) instead of warning
    (``VEC103``); ``empty_geometry="refuse"`` refuses a feature without geometry (``GMT012``)
    instead of dropping it (``GMT101``).
    """
    layer_name = None if layer is None else str(layer)
    notes = Notes()
    with ExitStack() as stack:
        gdf = open_vector(path, layer, source_crs=source_crs, stack=stack, notes=notes)
    record = provenance.record_for_files(
        path if not is_vsi(os.fspath(path)) else [],
        reader=reader,
        libraries=["pyogrio", "geopandas", "shapely"],
        licence=licence,
    )
    if not record.source_files:
        record.source_files.append(provenance.SourceFile(os.fspath(path)))
    closed = [item for item in notes.items if item[0] == "GMT102"]
    if closed and empty_geometry == "refuse":  # repair="refuse": no repair at all
        ids = closed[0][4]["ids"]
        raise GeometryError(
            f"{closed[0][4]['count']} polygon(s) with an unclosed ring: {ids}",
            path=path,
            layer=layer_name,
            entity=ids[0],
            code="GMT014",
            hint="close the rings in the source, or pass repair='repair' to close them with a warning.",
        )
    notes.replay(record, stacklevel=3)
    gdf = check_geometries(gdf, path=path, layer=layer_name, empty_geometry=empty_geometry, record=record)
    if len(gdf) == 0:
        if empty_layer == "error":
            raise InputError(
                "the layer holds no features with a geometry; an analysis of it would be empty",
                path=path,
                layer=layer_name,
                code="VEC011",
                hint="check the export (a filter that kept nothing?) or the layer name.",
            )
        warnings.warn(
            RepairWarning(f"{os.fspath(path)}: the layer holds no features", code="VEC103"), stacklevel=3
        )
    gdf = assign_or_check_source_crs(gdf, source_crs, path=path, layer=layer_name, record=record)
    accepted = check_object_placement(gdf, path=path, layer=layer_name, record=record)
    moved = reproject_with_provenance(gdf, crs, record=record, path=path, layer=layer_name)
    if moved is not gdf and not accepted:  # also where the target CRS says it should be
        check_object_placement(moved, path=path, layer=layer_name, record=record)
    gdf = moved
    provenance.attach(gdf, record)
    return gdf


def read_archive_layers(path: PathLike, *, crs: Any = None) -> dict[str, gpd.GeoDataFrame]:
    """Read every shapefile of a zip (or one shapefile) with :func:`read_layer`, keyed by name.

    Used by ``cimkit convert``: the zip goes through the zip-slip and bomb checks once per
    layer, each shapefile through the sidecar checks.
    """
    from cimkit.io._archive import open_zip

    source = Path(os.fspath(path))
    names: list[str] = []
    if source.suffix.lower() == ".zip":
        with open_zip(source) as archive:
            names = [Path(n).stem for n in archive.namelist() if n.lower().endswith(".shp")]
    if len(names) <= 1:
        return {names[0] if names else source.stem: read_layer(source, crs=crs)}
    return {name: read_layer(source, layer=name, crs=crs) for name in names}


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
    """Check polygon types and validity; repair (``GMT103``, ``GMT104``) or refuse (``GMT013``, ``GMT014``).

    Invalid polygons are repaired with :func:`shapely.make_valid`; a polygon left without area
    (collapsed to a line or a point) is dropped and its id listed, never kept as an empty
    polygon. Errors and warnings name ``id_column``'s value (else the index).
    """
    if repair not in ("repair", "refuse"):
        raise ValidationError(f"'repair' must be 'repair' or 'refuse'; {repair!r} was given")
    layer_name = None if layer is None else str(layer)
    geoms = gdf.geometry.to_numpy()
    ids = (
        gdf[id_column].to_numpy()
        if id_column is not None and id_column in gdf.columns
        else gdf.index.to_numpy()
    )
    types = shapely.get_type_id(geoms)
    if not np.isin(types, (3, 6)).all():
        other = ~np.isin(types, (3, 6))
        pos = int(np.flatnonzero(other)[0])
        raise GeometryError(
            f"expected polygons; {int(other.sum())} feature(s) are not, the first is a {geoms[pos].geom_type}",
            path=path,
            layer=layer_name,
            entity=ids[pos],
            code="GMT013",
            hint="select a polygon layer, or remove the features of other types.",
        )
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    n = int(invalid.sum())
    listed = [ids[i] for i in np.flatnonzero(invalid)[:MAX_IDS]]
    if repair == "refuse":
        reason = shapely.is_valid_reason(geoms[invalid][0])
        raise GeometryError(
            f"{n} invalid polygon(s) {listed}; first: {reason}",
            path=path,
            layer=layer_name,
            entity=listed[0],
            code="GMT014",
            hint="repair the layer (repair='repair' uses shapely.make_valid) or fix it in a GIS.",
        )
    fixed = geoms.copy()
    fixed[invalid] = _polygonal(shapely.make_valid(geoms[invalid]))
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)
    record = provenance.get(gdf)
    record = record.copy() if record is not None else None
    warnings.warn(
        RepairWarning(
            f"{os.fspath(path)}: {n} invalid polygon(s) repaired with make_valid ({listed}); "
            "pass repair='refuse' to make this an error",
            code="GMT103",
        ),
        stacklevel=3,
    )
    if record is not None:
        record.add_step("repair_geometry", "shapely.make_valid", count=n, ids=listed)
    collapsed = shapely.is_empty(fixed)
    if collapsed.any():
        gone = [ids[i] for i in np.flatnonzero(collapsed)[:MAX_IDS]]
        warnings.warn(
            RepairWarning(
                f"{os.fspath(path)}: {int(collapsed.sum())} polygon(s) have no area once repaired "
                f"(collapsed to a line or a point) and were dropped: {gone}",
                code="GMT104",
            ),
            stacklevel=3,
        )
        if record is not None:
            record.add_step(
                "drop_degenerate",
                "polygons without area after repair dropped",
                count=int(collapsed.sum()),
                ids=gone,
            )
        out = out.loc[~collapsed].copy()
    if record is not None:
        provenance.attach(out, record)
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
