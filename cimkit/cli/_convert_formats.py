"""What ``cimkit convert`` reads and writes: one input file -> named tables -> output file(s).

:func:`read_input` turns one input file into named tables (GeoDataFrames or DataFrames);
:func:`write_output` writes them in one output format, atomically, checking they read back.
The batch logic (journal, workers, report) is in :mod:`cimkit.cli.convert`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cimkit._atomic import atomic_path
from cimkit._placement import check_object_placement
from cimkit.errors import CimkitError, FileFormatError, ValidationError
from cimkit.provenance import Provenance

__all__ = ["IFC_SUFFIXES", "INPUT_SUFFIXES", "VECTOR_SUFFIXES", "read_input", "write_output"]

IFC_SUFFIXES = {".ifc", ".ifczip"}  # an .ifczip is read through cimkit.io._archive by read_ifc_model
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".parquet", ".fgb", ".gml", ".kml"}
INPUT_SUFFIXES = IFC_SUFFIXES | VECTOR_SUFFIXES


def read_input(src: Path, *, crs: str | None, timeout_s: float | None) -> dict[str, Any]:
    """Read every layer of ``src``; any failure but a cimkit error becomes a FileFormatError naming it."""
    try:
        return _read_layers(src, crs=crs, timeout_s=timeout_s)
    except CimkitError:
        raise
    except Exception as err:
        raise FileFormatError(
            f"cannot read the file ({type(err).__name__}: {str(err).splitlines()[0][:300]})",
            path=src,
            hint="check it opens in ogrinfo or QGIS; convert reads IFC, GeoJSON, GeoPackage, "
            "(zipped) Shapefile, GeoParquet, FlatGeobuf, GML and KML.",
        ) from err


def _read_layers(src: Path, *, crs: str | None, timeout_s: float | None) -> dict[str, Any]:
    suffix = src.suffix.lower()
    if suffix in IFC_SUFFIXES:
        from cimkit.io.ifc import read_ifc_model

        result = read_ifc_model(src, crs=crs, timeout_s=timeout_s)
        layers: dict[str, Any] = {"buildings": result.buildings}
        if getattr(result, "elements", None) is not None and len(result.elements):
            layers["elements"] = result.elements
        return layers
    import geopandas as gpd
    import pyogrio

    if suffix == ".parquet":
        frame = gpd.read_parquet(src)
        return {src.stem: _placed(frame, crs, src, src.stem)}
    if suffix in (".zip", ".shp"):  # zip slip / bomb and shapefile sidecar checks, typed errors
        from cimkit.io._layers import read_archive_layers

        return read_archive_layers(src, crs=crs or None)
    path = str(src)
    out = {}
    for name, _ in pyogrio.list_layers(path):
        frame = pyogrio.read_dataframe(path, layer=name, use_arrow=True)
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
            frame = _placed(frame, crs, src, str(name))
        out[str(name)] = frame
    return out


def _placed(frame: Any, crs: str | None, src: Path, layer: str) -> Any:
    """Check a layer's placement in its CRS and, reprojected, in ``crs`` (PlacementError fails the file)."""
    check_object_placement(frame, path=src, layer=layer)
    if not crs:
        return frame
    moved = frame.to_crs(crs)
    check_object_placement(moved, path=src, layer=layer)
    return moved


def _count_rows(path: Path, output_format: str) -> dict[str, int]:
    """Read back the rows per layer of a written output."""
    if output_format == "parquet":
        import pyarrow.parquet as pq

        return {"": int(pq.read_metadata(path).num_rows)}
    if output_format == "geojson":
        return {"": len(json.loads(path.read_text(encoding="utf-8"))["features"])}
    import sqlite3

    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [row[0] for row in con.execute("SELECT table_name FROM gpkg_contents")]
        return {name: int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]) for name in names}
    finally:
        con.close()


def write_output(layers: dict[str, Any], dest: Path, output_format: str) -> dict[str, int]:
    """Write the layers atomically, checking they read back with their rows; return the rows written."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    if output_format == "parquet":
        spatial = {k: v for k, v in layers.items() if isinstance(v, gpd.GeoDataFrame)}
        if not spatial:
            raise ValidationError(f"{dest.name}: nothing spatial to write as GeoParquet")
        layers = dict([next(iter(spatial.items()))])
    elif output_format == "geojson":
        layers = dict([next(iter(layers.items()))]) if layers else {}
    expected = {name: len(frame) for name, frame in layers.items()}

    def same_rows(tmp: Path) -> str | None:
        found = _count_rows(tmp, output_format)
        wanted = expected if output_format == "gpkg" else {"": sum(expected.values())}
        return None if found == wanted else f"rows read back {found}, written {wanted}"

    with atomic_path(dest, verify=same_rows) as tmp:
        for name, frame in layers.items():
            if output_format == "parquet":
                _parquet_ready(frame).to_parquet(tmp)
                continue
            frame = frame.reset_index() if frame.index.name is not None else frame
            if not isinstance(frame, gpd.GeoDataFrame):
                frame = pd.DataFrame(frame)
            driver = "GPKG" if output_format == "gpkg" else "GeoJSON"
            pyogrio.write_dataframe(frame, tmp, layer=name, driver=driver)
    return expected


def _parquet_ready(frame: Any) -> Any:
    """Return a shallow copy whose ``attrs`` are plain JSON (pandas stores them in Parquet metadata).

    The provenance record becomes its dict (``attrs["provenance"]`` when read back); anything
    else that JSON cannot hold is left out rather than failing the write.
    """
    out = frame.copy(deep=False)
    attrs = {}
    for key, value in frame.attrs.items():
        if isinstance(value, Provenance):
            value = value.to_dict()
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        attrs[key] = value
    out.attrs = attrs
    return out
