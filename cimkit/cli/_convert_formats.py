"""What ``cimkit convert`` reads and writes: one input file -> named tables -> output file(s).

:func:`read_input` finds the format of one input file from its content and turns it into named
tables (GeoDataFrames for the spatial ones, DataFrames for the attribute tables);
:func:`write_output` writes them in one of :data:`OUTPUT_FORMATS`, atomically, checking they
read back with their rows; :func:`output_name` names the output. The batch logic (journal,
workers, report) is in :mod:`cimkit.cli.convert`; the page ``docs/formats.md`` lists what each
format holds.

Examples
--------
>>> output_name("house.ifc", "gpkg"), output_name("house.ifc", "cityjson")
('house.ifc.gpkg', 'house.ifc.city.json')
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cimkit import provenance as prov
from cimkit._placement import check_object_placement
from cimkit.cli._convert_writers import (
    MESH_FORMATS,
    OUTPUT_FORMATS,
    NothingToWriteError,
    output_name,
    write_output,
)
from cimkit.errors import CimkitError, CimkitWarning, FileFormatError, ValidationError
from cimkit.provenance import Provenance

__all__ = [
    "IFC_SUFFIXES",
    "INPUT_SUFFIXES",
    "MESH_FORMATS",
    "OUTPUT_FORMATS",
    "VECTOR_SUFFIXES",
    "InputTables",
    "NothingToWriteError",
    "output_name",
    "read_input",
    "write_output",
]

IFC_SUFFIXES = {".ifc", ".ifczip"}  # an .ifczip is read through cimkit.io._archive by read_ifc_model
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".parquet", ".fgb", ".gml", ".kml"}
#: Every suffix a folder given to ``cimkit convert`` is searched for (the format itself is found
#: from the content: a ``.json`` may be GeoJSON or CityJSON, a ``.zip`` a GTFS feed or shapefiles).
INPUT_SUFFIXES = (
    IFC_SUFFIXES | VECTOR_SUFFIXES | {".jsonl", ".xml", ".osm", ".pbf", ".bz2", ".gz", ".xz", ".inp"}
)

_READS = (
    "IFC (.ifc, .ifczip), CityJSON / CityJSONSeq, CityGML 2.0, GeoJSON, GeoPackage, (zipped) "
    "Shapefile, FlatGeobuf, GeoParquet, GML, KML, OSM (.osm, .osm.pbf, .osm.bz2, .osm.gz), "
    "EPANET .inp and GTFS .zip"
)


class InputTables(dict):  # type: ignore[type-arg]
    """The tables read from one input file: ``{name: GeoDataFrame | DataFrame}``.

    Attributes
    ----------
    meshes
        ``{building_id: trimesh.Trimesh}`` of an IFC file read with ``meshes=True``, else empty.
    source_format
        The input format found from the content (``"ifc"``, ``"cityjson"``, ``"gtfs"`` ...).
    """

    def __init__(
        self, tables: dict[str, Any] | None = None, *, meshes: Any = None, source_format: str = ""
    ) -> None:
        super().__init__(tables or {})
        self.meshes: dict[str, Any] = dict(meshes or {})
        self.source_format = source_format


# ---------------------------------------------------------------------------------- reading --
def read_input(
    src: str | os.PathLike[str],
    *,
    crs: str | None = None,
    source_crs: str | None = None,
    origin: Sequence[float] | None = None,
    timeout_s: float | None = None,
    meshes: bool = False,
) -> InputTables:
    """Read every table of one input file, its format found from the content.

    Parameters
    ----------
    src
        The file (see ``docs/formats.md`` for the formats and what each gives).
    crs
        Target CRS (``"EPSG:2154"``); by default each table keeps its own. For EPANET files
        (schematic coordinates) it is the CRS the coordinates are placed in.
    source_crs
        CRS of an input that declares none (a CityJSON / CityGML file without one, a
        Shapefile without ``.prj``, an EPANET file's coordinates); a declared CRS wins.
    origin
        ``(x, y[, z[, rotation_deg]])`` placing local coordinates (IFC without georeference,
        EPANET); ignored with a ``CNV101`` warning for other formats.
    timeout_s
        Time limit of an IFC file's sandboxed child process, in seconds.
    meshes
        Read IFC files with one mesh per building (for :data:`MESH_FORMATS`; slower).

    Returns
    -------
    InputTables
        ``{table: frame}`` (every spatial table passed the placement checks, in ``crs``).

    Raises
    ------
    cimkit.errors.CimkitError
        A typed error with its code: ``CNV001`` an unknown format, ``CNV002`` a file its
        reader failed on, ``CNV003`` an EPANET file without ``--crs``, ``CNV005`` a file
        without any feature or row, or the reader's own.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> tables = read_input(sample_city_path() / "buildings" / "maison_lilas_3.ifc")
    >>> sorted(tables), tables.source_format
    (['buildings', 'elements', 'materials', 'spaces'], 'ifc')
    """
    src = Path(src)
    try:
        fmt = _format_of(src)
        if origin is not None and fmt not in {"ifc", "epanet"}:
            warnings.warn(
                CimkitWarning(f"{src.name}: --origin ignored, a {fmt} file is already placed", code="CNV101"),
                stacklevel=2,
            )
        tables = _read_tables(
            src, fmt, crs=crs, source_crs=source_crs, origin=origin, timeout_s=timeout_s, meshes=meshes
        )
        if not any(len(frame) for frame in tables.values()):
            raise FileFormatError(
                f"the {fmt} file holds nothing to convert (no feature, no row)",
                path=src,
                code="CNV005",
                hint="check it is the complete file (an export cut short, or an empty extract).",
            )
        for name, frame in list(tables.items()):
            tables[name] = _placed(frame, crs, src, name)
            record = prov.get(tables[name])
            if origin is not None and fmt not in {"ifc", "epanet"} and isinstance(record, Provenance):
                record.add_step("placement", "--origin ignored: the file is already placed", rows=len(frame))
        return tables
    except CimkitError:
        raise
    except Exception as err:
        raise FileFormatError(
            f"cannot read the file ({type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]})",
            path=src,
            code="CNV002",
            hint=f"check it opens in its usual tool (ogrinfo, QGIS, a BIM viewer); convert reads {_READS}.",
        ) from err


def _format_of(src: Path) -> str:
    """Find the input format from the content (:func:`cimkit.io._detect.detect_format`)."""
    from cimkit.io._detect import detect_format

    fmt = detect_format(src).format
    if fmt in {"unknown", "csv"}:
        raise FileFormatError(
            "not a format cimkit convert reads",
            path=src,
            code="CNV001",
            hint=f"convert reads {_READS}; check the file is complete (not cut short) and not mis-named.",
        )
    return str(fmt)


def _read_tables(
    src: Path,
    fmt: str,
    *,
    crs: str | None,
    source_crs: str | None,
    origin: Any,
    timeout_s: float | None,
    meshes: bool,
) -> InputTables:
    if fmt == "ifc":
        from cimkit.io.ifc import read_ifc_model

        model = read_ifc_model(src, crs=crs, origin=origin, timeout_s=timeout_s, meshes=meshes)
        tables = {"buildings": model.buildings}
        for name in ("elements", "materials", "spaces"):
            frame = getattr(model, name, None)
            if frame is not None and len(frame):
                tables[name] = frame
        return InputTables(tables, meshes=model.meshes if meshes else None, source_format=fmt)
    if fmt in {"cityjson", "cityjsonseq"}:
        from cimkit.io.cityjson import read_cityjson

        return InputTables(
            {"buildings": read_cityjson(src, crs=crs, source_crs=source_crs)}, source_format=fmt
        )
    if fmt == "citygml":
        from cimkit.io.citygml import read_citygml

        return InputTables(
            {"buildings": read_citygml(src, crs=crs, source_crs=source_crs)}, source_format=fmt
        )
    if fmt in {"osm-xml", "osm-pbf"}:
        from cimkit.network.read import read_network

        net = read_network(src, kind="road", crs=crs)
        return InputTables({"road_edges": net.edges, "road_nodes": net.nodes}, source_format=fmt)
    if fmt == "epanet":
        return InputTables(
            _read_epanet(src, crs=crs, source_crs=source_crs, origin=origin), source_format=fmt
        )
    if fmt == "gtfs":
        return InputTables(_read_gtfs(src), source_format=fmt)
    tables = _read_vector(src, fmt)
    for name, frame in tables.items():
        if source_crs and getattr(frame, "crs", False) is None and hasattr(frame, "set_crs"):
            tables[name] = frame.set_crs(source_crs)
    return InputTables(tables, source_format=fmt)


def _read_epanet(src: Path, *, crs: str | None, source_crs: str | None, origin: Any) -> dict[str, Any]:
    from cimkit.io.epanet import read_epanet

    if not (crs or source_crs):
        raise ValidationError(
            "an EPANET file has schematic coordinates, not map coordinates",
            path=src,
            code="CNV003",
            hint="pass --crs EPSG:xxxx (the CRS its coordinates are in) and, for local "
            "coordinates, --origin x,y (where the file's 0,0 lies in that CRS).",
        )
    net = read_epanet(src, crs=source_crs or crs, origin=origin)
    return {"water_nodes": net.nodes, "water_links": net.edges}


def _read_gtfs(src: Path) -> dict[str, Any]:
    """Read stops as points, routes / trips / stop_times / calendars as tables, shapes as lines."""
    import geopandas as gpd
    import shapely

    from cimkit.io._gtfs_tables import GtfsSource
    from cimkit.io.gtfs import read_gtfs

    feed = read_gtfs(src)
    tables: dict[str, Any] = {
        "stops": feed.stops_gdf(),
        "routes": feed.routes,
        "trips": feed.trips,
        "stop_times": feed.stop_times,
    }
    for name in ("calendar", "calendar_dates"):
        if len(getattr(feed, name)):
            tables[name] = getattr(feed, name)
    source = GtfsSource(src)
    try:
        shapes = source.read("shapes") if source.has("shapes") else None
    finally:
        source.close()
    if shapes is not None and len(shapes):
        for col in ("shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"):
            shapes[col] = shapes[col].astype(float)
        shapes = shapes.sort_values(["shape_id", "shape_pt_sequence"], kind="stable")
        ids, lines = [], []
        for shape_id, pts in shapes.groupby("shape_id", sort=True):
            if len(pts) >= 2:
                ids.append(shape_id)
                lines.append(shapely.LineString(pts[["shape_pt_lon", "shape_pt_lat"]].to_numpy()))
        tables["shapes"] = gpd.GeoDataFrame({"shape_id": ids}, geometry=lines, crs="EPSG:4326")
    return tables


def _read_vector(src: Path, fmt: str) -> dict[str, Any]:
    import geopandas as gpd
    import pyogrio

    if fmt == "geoparquet":
        return {src.stem: gpd.read_parquet(src)}
    if fmt == "shapefile":  # zip slip / bomb and shapefile sidecar checks, typed errors
        from cimkit.io._layers import read_archive_layers

        return dict(read_archive_layers(src))
    path = str(src)
    return {
        str(name): pyogrio.read_dataframe(path, layer=name, use_arrow=True)
        for name, _ in pyogrio.list_layers(path)
    }


def _placed(frame: Any, crs: str | None, src: Path, layer: str) -> Any:
    """Check a layer's placement in its CRS and, reprojected, in ``crs`` (PlacementError fails the file)."""
    import geopandas as gpd

    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        return frame
    check_object_placement(frame, path=src, layer=layer)
    if not crs or frame.crs == frame.crs.from_user_input(crs):
        return frame
    moved = frame.to_crs(crs)
    check_object_placement(moved, path=src, layer=layer)
    return moved
