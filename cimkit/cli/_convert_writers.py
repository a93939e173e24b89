"""How ``cimkit convert`` writes the tables of one input in one output format.

Used through :func:`cimkit.cli._convert_formats.write_output` (re-exported there with the
format names); see ``docs/formats.md`` for what each format holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cimkit import provenance as prov
from cimkit._atomic import atomic_path
from cimkit.errors import CimkitIOError, CimkitWarning, ValidationError
from cimkit.provenance import Provenance

__all__ = ["MESH_FORMATS", "OUTPUT_FORMATS", "NothingToWriteError", "output_name", "write_output"]

#: The output formats, as ``--format`` names them.
OUTPUT_FORMATS = ("gpkg", "parquet", "fgb", "geojson", "cityjson", "glb", "3dtiles")
#: The formats that use 3-D building geometry (IFC files are then read with their meshes).
MESH_FORMATS = frozenset({"cityjson", "glb", "3dtiles"})
_EXTENSIONS = {
    "gpkg": ".gpkg",
    "parquet": ".parquet",
    "fgb": ".fgb",
    "geojson": ".geojson",
    "cityjson": ".city.json",
    "glb": ".glb",
    "3dtiles": ".3dtiles",
}
_FOLDER_FORMATS = {"parquet", "fgb", "geojson"}  # one file per table inside the output folder
_FIXED_DATE = "2000-01-01T00:00:00.000Z"  # GeoPackage timestamps: fixed, so outputs are byte-stable
_CLOCK_KEYS = {"created", "time"}  # provenance times left out of written metadata (byte-stable outputs)


class NothingToWriteError(ValidationError):
    """The input has no table the asked output format can hold (e.g. GLB from a GTFS feed).

    Not a defect of the input: the other formats of the same input are written.
    """

    code = "CNV010"
    nothing_to_write = True


def output_name(src_name: str, output_format: str) -> str:
    """Name the output of ``src_name`` in ``output_format`` (the input's full name is kept).

    Parameters
    ----------
    src_name
        The input file's name, e.g. ``"house.ifc"``.
    output_format
        One of :data:`OUTPUT_FORMATS`.

    Returns
    -------
    str
        ``house.ifc.gpkg``; ``house.ifc.parquet`` / ``.fgb`` / ``.geojson`` / ``.3dtiles`` are
        folders (one file per table, or the tileset); ``house.ifc.city.json``; ``house.ifc.glb``.

    Raises
    ------
    cimkit.errors.ValidationError
        CNV004: an unknown format.

    Examples
    --------
    >>> output_name("house.ifc", "3dtiles")
    'house.ifc.3dtiles'
    """
    _check_format(output_format)
    return f"{src_name}{_EXTENSIONS[output_format]}"


def _check_format(output_format: str) -> None:
    if output_format not in _EXTENSIONS:
        raise ValidationError(
            f"unknown output format {output_format!r}",
            code="CNV004",
            hint=f"use --format with one of {', '.join(OUTPUT_FORMATS)}.",
        )


# ---------------------------------------------------------------------------------- writing --
def write_output(layers: dict[str, Any], dest: str | os.PathLike[str], output_format: str) -> dict[str, Any]:
    """Write the tables in one format, atomically, each checked to read back with its rows.

    Parameters
    ----------
    layers
        Tables from :func:`read_input` (an :class:`InputTables` carries IFC meshes too).
    dest
        ``gpkg`` / ``cityjson`` / ``glb``: the file; ``parquet`` / ``fgb`` / ``geojson``:
        a folder with one ``<table>.<ext>`` per table; ``3dtiles``: the tileset folder.
    output_format
        One of :data:`OUTPUT_FORMATS`.

    Returns
    -------
    dict
        ``files`` (the paths written, sorted), ``layers`` (``{table: rows}``) and
        ``left_out`` (``{table: reason}`` for the tables the format cannot hold).

    Raises
    ------
    NothingToWriteError
        CNV010: no table the format can hold (the other formats still work).
    cimkit.errors.CimkitIOError
        The output could not be written or did not read back (``WRT`` codes).

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> stops = gpd.GeoDataFrame({"name": ["Gare"]}, geometry=[Point(652000, 6862000)], crs=2154)
    >>> out = write_output({"stops": stops}, Path(tempfile.mkdtemp()) / "x.geojson", "geojson")
    >>> [Path(f).name for f in out["files"]], out["layers"]
    (['stops.geojson'], {'stops': 1})
    """
    _check_format(output_format)
    dest = Path(dest)
    if output_format in _FOLDER_FORMATS:
        return _write_tables(layers, dest, output_format)
    if output_format == "gpkg":
        return _write_gpkg(layers, dest)
    return _write_3d(layers, dest, output_format)


def _spatial(frame: Any) -> bool:
    import geopandas as gpd

    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any()


def _plain(frame: Any) -> Any:
    """Return a copy with the index as a column (when named), nested values as JSON text, attrs JSON-safe."""
    import pandas as pd

    if frame.index.name is not None:
        drop = frame.index.name in frame.columns
        frame = frame.reset_index(drop=drop)
    else:
        frame = frame.reset_index(drop=True)
    for col in frame.columns:
        if frame[col].dtype == object and col != getattr(frame, "_geometry_column_name", None):
            values = frame[col]
            nested = values.map(lambda v: isinstance(v, (dict, list, tuple, set)))
            if nested.any():
                frame[col] = values.map(
                    lambda v: (
                        json.dumps(_jsonable(v), sort_keys=True)
                        if isinstance(v, (dict, list, tuple, set))
                        else v
                    )
                )
    attrs = {}
    for key, value in frame.attrs.items():
        if isinstance(value, Provenance):
            value = _timeless(value.to_dict())
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        attrs[key] = value
    frame.attrs = attrs
    return frame if not isinstance(frame, pd.Series) else frame.to_frame()


def _timeless(value: Any) -> Any:
    """Drop the wall-clock times of a provenance dict (they would change the bytes of each run)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in _CLOCK_KEYS}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, set):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _file_name(table: str, ext: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", table).strip("._") + ext or f"table{ext}"


@contextlib.contextmanager
def _gdal_fixed_date() -> Iterator[None]:
    """Set OGR_CURRENT_DATE while writing, so the GeoPackage's timestamps (and bytes) are stable."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _write_gpkg(layers: dict[str, Any], dest: Path) -> dict[str, Any]:
    """Every table in one GeoPackage: spatial tables as feature tables, others as attribute tables."""
    import sqlite3

    import pyogrio

    tables = {name: frame for name, frame in layers.items() if len(frame.columns)}
    if not tables:
        raise NothingToWriteError("no table to write", path=dest, hint="check the input has data.")
    expected = {name: len(frame) for name, frame in tables.items()}

    def same_rows(tmp: Path) -> str | None:
        con = sqlite3.connect(f"{tmp.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = [row[0] for row in con.execute("SELECT table_name FROM gpkg_contents")]
            found = {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}
        finally:
            con.close()
        return None if found == expected else f"rows read back {found}, written {expected}"

    with _gdal_fixed_date(), atomic_path(dest, verify=same_rows) as tmp:
        for name, frame in tables.items():
            pyogrio.write_dataframe(_plain(frame), tmp, layer=name, driver="GPKG")
    return {"files": [str(dest)], "layers": expected, "left_out": {}, "crs": _crs_written(tables.values())}


def _write_tables(layers: dict[str, Any], dest: Path, output_format: str) -> dict[str, Any]:
    """One file per table in the folder ``dest`` (built beside it, then swapped in)."""
    ext = _EXTENSIONS[output_format]
    keep, left_out = {}, {}
    for name, frame in layers.items():
        if output_format == "parquet" or _spatial(frame):
            if len(frame.columns):
                keep[name] = frame
        else:
            left_out[name] = (
                f"an attribute table (no geometry): {output_format} holds spatial tables; see gpkg or parquet"
            )
    if left_out:
        warnings.warn(
            CimkitWarning(
                f"{dest.name}: {', '.join(sorted(left_out))} left out ({output_format} holds only "
                "spatial tables; the gpkg and parquet outputs have them)",
                code="CNV102",
            ),
            stacklevel=3,
        )
    if not keep:
        raise NothingToWriteError(
            f"no spatial table to write as {output_format}",
            path=dest,
            hint="use --format gpkg or parquet for attribute tables.",
        )
    with _folder_swap(dest) as folder:
        rows = {}
        for name, frame in keep.items():
            rows[name] = _write_one(frame, folder / _file_name(name, ext), output_format)
    files = sorted(str(dest / _file_name(name, ext)) for name in keep)
    crs = "EPSG:4326" if output_format == "geojson" else _crs_written(keep.values())
    return {"files": files, "layers": rows, "left_out": left_out, "crs": crs}


def _crs_written(frames: Any) -> str | None:
    """Return the CRS of the first spatial table written (``"EPSG:2154"``), None without one."""
    for frame in frames:
        crs = getattr(frame, "crs", None) if _spatial(frame) else None
        if crs is not None:
            epsg = crs.to_epsg()
            return f"EPSG:{epsg}" if epsg else crs.to_string()
    return None


def _write_one(frame: Any, path: Path, output_format: str) -> int:
    """Write one table to ``path`` atomically; return its rows after reading them back."""
    import geopandas as gpd
    import pyogrio

    frame = _plain(frame)
    wanted = len(frame)

    def count(tmp: Path) -> int:
        if output_format == "parquet":
            import pyarrow.parquet as pq

            return int(pq.read_metadata(tmp).num_rows)
        if output_format == "geojson":
            return len(json.loads(tmp.read_text(encoding="utf-8"))["features"])
        return int(pyogrio.read_info(tmp)["features"])

    def same_rows(tmp: Path) -> str | None:
        found = count(tmp)
        return None if found == wanted else f"rows read back {found}, written {wanted}"

    with atomic_path(path, verify=same_rows) as tmp:
        if output_format == "parquet":
            frame.to_parquet(tmp, index=False)
        elif output_format == "geojson":
            if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
                frame = frame.to_crs("EPSG:4326")
            pyogrio.write_dataframe(
                frame, tmp, layer=path.stem, driver="GeoJSON", RFC7946="YES", WRITE_NAME="NO"
            )
        else:
            nulls = bool(
                (frame.geometry.isna() | frame.geometry.is_empty).any()
            )  # GDAL's FlatGeobuf index refuses rows without geometry
            pyogrio.write_dataframe(
                frame, tmp, layer=path.stem, driver="FlatGeobuf", SPATIAL_INDEX="NO" if nulls else "YES"
            )
    return wanted


@contextlib.contextmanager
def _folder_swap(dest: Path) -> Iterator[Path]:
    """Build a folder beside ``dest`` and rename it over ``dest`` only when complete."""
    if dest.is_file():
        raise CimkitIOError(
            "a file has the name of the output folder", path=dest, code="WRT002", hint="remove it."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmpdir"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        old = dest.parent / f".{dest.name}.{os.getpid()}.old"
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------- 3-D outputs --
def _buildings_of(layers: dict[str, Any], dest: Path, output_format: str) -> Any:
    """Return the ``buildings`` table in a projected CRS, or raise NothingToWriteError."""
    import geopandas as gpd

    frame = layers.get("buildings")
    if not isinstance(frame, gpd.GeoDataFrame) or not len(frame) or frame.crs is None:
        raise NothingToWriteError(
            f"no buildings table to write as {output_format}",
            path=dest,
            hint=f"{output_format} holds buildings (IFC, CityJSON, CityGML or a 'buildings' layer); "
            "use --format gpkg, parquet, fgb or geojson for other tables.",
        )
    if frame.crs.is_geographic:
        utm = frame.estimate_utm_crs()
        warnings.warn(
            CimkitWarning(
                f"{dest.name}: buildings in geographic {frame.crs.to_string()} written in {utm.to_string()} "
                f"(the local UTM zone; pass --crs for another)",
                code="CNV103",
            ),
            stacklevel=4,
        )
        frame = frame.to_crs(utm)
        record = prov.get(frame)
        if isinstance(record, Provenance):
            record.add_step(
                "reproject", f"{output_format}: local UTM zone {utm.to_string()}", rows=len(frame)
            )
    return frame


def _write_3d(layers: dict[str, Any], dest: Path, output_format: str) -> dict[str, Any]:
    """CityJSON 2.0, GLB or a 3D Tiles 1.1 tileset of the ``buildings`` table (IFC meshes when read)."""
    import inspect

    buildings = _buildings_of(layers, dest, output_format)
    meshes = getattr(layers, "meshes", None) or None
    left_out = {name: f"{output_format} holds the buildings only" for name in layers if name != "buildings"}
    crs = buildings.crs.to_string()
    if output_format == "cityjson":
        from cimkit.io.export import write_cityjson

        kwargs = (
            {"meshes": meshes} if meshes and "meshes" in inspect.signature(write_cityjson).parameters else {}
        )
        write_cityjson(buildings, dest, **kwargs)
        doc = json.loads(dest.read_text(encoding="utf-8"))
        rows = sum(obj.get("type") == "Building" for obj in doc.get("CityObjects", {}).values())
        files = [str(dest)]
    else:
        try:
            from cimkit.io import tiles3d
        except ImportError as err:  # pragma: no cover - the writer ships with cimkit
            raise ValidationError(f"{output_format} output needs cimkit.io.tiles3d", code="CNV004") from err
        if not meshes and not _has_heights(buildings):
            raise NothingToWriteError(
                f"no building has a height for {output_format}",
                path=dest,
                hint="the buildings need a height (height_m) or storeys.",
            )
        if output_format == "glb":
            tiles3d.write_glb(buildings, dest, meshes=meshes)
            rows, files = _glb_features(dest), [str(dest)]
        else:
            with _folder_swap(dest) as folder:
                tiles3d.write_3dtiles(buildings, folder, meshes=meshes)
                names = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
                rows = sum(_glb_features(folder / n) for n in names if n.suffix == ".glb")
            files = [str(dest / n) for n in names]
            crs = "EPSG:4978"
    if rows == 0:
        for name in files:
            Path(name).unlink(missing_ok=True)
        shutil.rmtree(dest, ignore_errors=True) if dest.is_dir() else None
        raise NothingToWriteError(
            f"no building has a usable geometry and height for {output_format}",
            path=dest,
            hint="the buildings need a footprint and a height (height_m or storeys).",
        )
    return {"files": files, "layers": {"buildings": rows}, "left_out": left_out, "crs": crs}


def _has_heights(buildings: Any) -> bool:
    """Tell whether any building has a positive height (``height_m``) or a storey count."""
    import pandas as pd

    for col in ("height_m", "storeys"):
        if col in buildings.columns and (pd.to_numeric(buildings[col], errors="coerce") > 0).any():
            return True
    return False


def _glb_features(path: Path) -> int:
    """Features in a GLB (EXT_mesh_features ``featureCount`` summed over its primitives)."""
    from cimkit.io._gltf import split_glb

    doc, _ = split_glb(path.read_bytes())
    total = 0
    for mesh in doc.get("meshes", []):
        for prim in mesh.get("primitives", []):
            for ids in prim.get("extensions", {}).get("EXT_mesh_features", {}).get("featureIds", []):
                total += int(ids.get("featureCount", 0))
    return total
