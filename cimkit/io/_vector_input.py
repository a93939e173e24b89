"""Opening a vector file safely: zips, shapefile sidecars, text encodings, unclosed rings, limits.

Private helpers of :func:`cimkit.io.vector.read_layer` (see :mod:`cimkit.io._layers`): they turn
what GDAL, pyogrio, pyarrow and GEOS raise on a hostile file into typed cimkit errors, and
record each repair made while opening (a :class:`Notes` replayed as warnings and provenance
steps once the layer's record exists).
"""

from __future__ import annotations

import glob
import os
import shutil
import struct
import tempfile
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance
from cimkit._placement import raise_nonfinite
from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    GeometryError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
    RepairWarning,
    ResourceLimitError,
)
from cimkit.io._archive import check_input_size, detect_compression, extract_zip
from cimkit.options import get_options

PathLike = str | os.PathLike[str]
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
#: Vector files looked for inside a zip, in this order of preference.
_ZIP_VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml", ".parquet")
#: Columns naming a feature in error messages (the first one present), before the row number.
_ID_CANDIDATES = ("id", "idu", "idzone", "gid", "building_id", "poi_id", "idpsc", "fid")
#: Most feature ids listed in a warning, an error or a provenance step.
MAX_IDS = 10


def is_vsi(path: str) -> bool:
    return path.startswith(("zip://", "/vsi", "http://", "https://", "s3://"))


class Notes:
    """Repairs made while a file is opened, replayed once the layer's provenance record exists.

    Each item is ``(code, message, action, detail, params)``: a warning and a provenance step.
    """

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str, dict[str, Any]]] = []

    def add(self, code: str, message: str, action: str, detail: str, **params: Any) -> None:
        self.items.append((code, message, action, detail, params))

    def replay(self, record: provenance.Provenance, stacklevel: int) -> None:
        for code, message, action, detail, params in self.items:
            warnings.warn(RepairWarning(message, code=code), stacklevel=stacklevel + 1)
            record.add_step(action, detail, **params)


def _sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _check_shapefile(shp: Path, *, shown: PathLike, source_crs: Any, stack: ExitStack, notes: Notes) -> Path:
    """Check the sidecars of a shapefile; return the path to read (a repaired copy without .shx)."""
    if _sidecar(shp, ".dbf") is None:
        raise InputError(
            f"the shapefile has no .dbf file ({shp.with_suffix('.dbf').name}): every attribute and "
            "the feature ids would be lost",
            path=shown,
            code="VEC010",
            hint="put the .dbf file next to the .shp (same name); cimkit does not read geometry without attributes.",
        )
    if _sidecar(shp, ".prj") is None and source_crs is None:
        raise MissingCRSError(
            f"the shapefile has no .prj file ({shp.with_suffix('.prj').name}), so its CRS is unknown",
            path=shown,
            code="CRS010",
            hint="restore the .prj file, or pass source_crs='EPSG:nnnn' (Lambert-93 is EPSG:2154).",
        )
    if _sidecar(shp, ".shx") is not None:
        return shp
    import pyogrio

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cimkit-shx-")))
    for sibling in shp.parent.glob(glob.escape(shp.stem) + ".*"):
        if sibling.suffix.lower() in (".shp", ".dbf", ".prj", ".cpg"):
            shutil.copyfile(sibling, folder / (shp.stem + sibling.suffix.lower()))
    copy = folder / (shp.stem + ".shp")
    previous = pyogrio.get_gdal_config_option("SHAPE_RESTORE_SHX")
    pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
    try:
        pyogrio.read_info(copy)  # GDAL writes the rebuilt .shx next to the copy
    except Exception as err:  # pyogrio / GDAL errors of several types
        raise FileFormatError(
            f"the shapefile has no .shx file and its .shp cannot be indexed ({err})",
            path=shown,
            hint="restore the .shx file next to the .shp.",
        ) from err
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": previous})
    notes.add(
        "VEC101",
        f"{os.fspath(shown)}: the shapefile has no .shx index; it was rebuilt from the .shp in a "
        "temporary copy (the input is not modified). Restore the .shx to silence this",
        "restore_shx",
        "shapefile index (.shx) rebuilt from the .shp in a temporary copy",
    )
    return copy


def _unzip(archive: Path, layer: str | int | None, stack: ExitStack) -> tuple[Path, str | int | None]:
    """Extract a zip safely into a temporary folder; return the vector file to read and its layer."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cimkit-zip-")))
    extract_zip(archive, folder)
    found = sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _ZIP_VECTOR_SUFFIXES),
        key=lambda p: (_ZIP_VECTOR_SUFFIXES.index(p.suffix.lower()), str(p)),
    )
    if not found:
        raise FileFormatError(
            "the zip archive holds no vector file (.shp, .gpkg, .geojson ...)",
            path=archive,
            code="ARC003",
            hint="give the archive of a shapefile (with its .shx, .dbf, .prj) or of one vector file.",
        )
    shapefiles = [p for p in found if p.suffix.lower() == ".shp"]
    if isinstance(layer, str) and shapefiles:
        named = [p for p in shapefiles if p.stem == layer]
        if named:
            return named[0], None
    if len(shapefiles) > 1 or (not shapefiles and len(found) > 1):
        names = ", ".join(p.stem for p in (shapefiles or found))
        raise LayerNotFoundError(
            f"the zip archive holds several layers ({names}) and no layer was named",
            path=archive,
            hint="pass layer='<name>'.",
        )
    return found[0], layer


def _count_features(path: Path, layer: str | int | None, shown: PathLike) -> int:
    """Count the features of a layer from its header (or one pass), without building the frame."""
    import pyogrio

    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
    return int(info["features"])


def _check_feature_count(path: Path, layer: str | int | None, shown: PathLike) -> None:
    limit = int(get_options()["max_features"])
    try:
        count = _count_features(path, layer, shown)
    except Exception:  # the read below reports an unreadable file with its own typed error
        return
    if count > limit:
        raise ResourceLimitError(
            f"the layer holds {count:,} features, over the limit of {limit:,}",
            path=shown,
            layer=None if layer is None else str(layer),
            code="LIM020",
            hint="raise it with cimkit.set_options(max_features=...) or clip the layer (ogr2ogr -spat).",
        )


def _text_columns(gdf: gpd.GeoDataFrame) -> tuple[list[str], int]:
    """Return the text columns holding non-ASCII characters and the number of rows concerned."""
    rows = np.zeros(len(gdf), dtype=bool)
    columns = []
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        values = gdf[col]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        hit = np.array([isinstance(v, str) and not v.isascii() for v in values], dtype=bool)
        if hit.any():
            columns.append(str(col))
            rows |= hit
    return columns, int(rows.sum())


def _check_text(gdf: gpd.GeoDataFrame) -> None:
    """Decode every text column now (Arrow-backed strings fail only when read)."""
    for col in gdf.columns:
        if col != gdf.geometry.name and (gdf[col].dtype == object or pd.api.types.is_string_dtype(gdf[col])):
            gdf[col].tolist()


def _wkb_nonfinite(wkb: bytes) -> bool:
    """Tell whether a WKB geometry (2D / Z / M / ZM, ISO or EWKB flags) holds a NaN or infinite number."""

    def walk(offset: int) -> tuple[int, bool]:
        order = "<" if wkb[offset] == 1 else ">"
        (code,) = struct.unpack_from(order + "I", wkb, offset + 1)
        offset += 5
        dims = (
            2
            + (code // 1000 in (1, 3) or bool(code & 0x80000000))
            + (code // 1000 in (2, 3) or bool(code & 0x40000000))
        )
        if code & 0x20000000:  # EWKB SRID
            offset += 4
        base = (code & 0x0FFFFFFF) % 1000
        if base == 1:
            point = np.frombuffer(wkb, dtype=order + "f8", count=dims, offset=offset)
            return offset + 8 * dims, not np.isfinite(point).all()
        (count,) = struct.unpack_from(order + "I", wkb, offset)
        offset += 4
        if base == 2:
            values = np.frombuffer(wkb, dtype=order + "f8", count=count * dims, offset=offset)
            return offset + 8 * dims * count, not np.isfinite(values).all()
        bad = False
        for _ in range(count):
            if base == 3:  # polygon rings
                (points,) = struct.unpack_from(order + "I", wkb, offset)
                values = np.frombuffer(wkb, dtype=order + "f8", count=points * dims, offset=offset + 4)
                offset += 4 + 8 * dims * points
                bad |= not np.isfinite(values).all()
            else:  # multi-part and collections
                offset, part_bad = walk(offset)
                bad |= part_bad
        return offset, bad

    try:
        return walk(0)[1]
    except (struct.error, ValueError, IndexError):
        return False


def _repair_rings(path: Path, layer: str | int | None, shown: PathLike, notes: Notes) -> gpd.GeoDataFrame:
    """Re-read a layer whose WKB GEOS refused: close unclosed rings, refuse NaN and hopeless rings."""
    import pyogrio

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Non closed ring")  # GDAL's; reported below
        warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
        fixed = pyogrio.read_dataframe(path, layer=layer, use_arrow=True, on_invalid="fix")
        meta, table = pyogrio.read_arrow(path, layer=layer)
    wkb = table.column(meta["geometry_name"] or "wkb_geometry").to_pylist()
    given = np.array([w is not None for w in wkb], dtype=bool)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        parsed = shapely.from_wkb(np.array(wkb, dtype=object), on_invalid="ignore")
    refused = given & shapely.is_missing(parsed)
    nonfinite = np.array(
        [bool(w is not None and r and _wkb_nonfinite(w)) for w, r in zip(wkb, refused)], dtype=bool
    )
    layer_name = None if layer is None else str(layer)
    if nonfinite.any():
        raise_nonfinite(fixed, nonfinite, path=shown, layer=layer_name, name_ids=feature_ids)
    lost = given & fixed.geometry.isna().to_numpy()
    if lost.any():
        ids = feature_ids(fixed, lost)
        raise GeometryError(
            f"{int(lost.sum())} feature(s) have a polygon ring that is not closed and cannot be closed: {ids}",
            path=shown,
            layer=layer_name,
            entity=ids[0],
            code="GMT011",
            hint="fix or delete these features in a GIS.",
        )
    closed = refused & fixed.geometry.notna().to_numpy()
    ids = feature_ids(fixed, closed)
    notes.add(
        "GMT102",
        f"{os.fspath(shown)}: {int(closed.sum())} polygon ring(s) were not closed and were closed by repeating "
        f"their first point (features {ids}). Fix the source to silence this",
        "close_rings",
        "unclosed polygon rings closed by repeating their first point",
        count=int(closed.sum()),
        ids=ids,
    )
    return fixed


def _read_ogr(path: Path, layer: str | int | None, shown: PathLike, notes: Notes) -> gpd.GeoDataFrame:
    """Read with pyogrio; retry undecodable text as Windows-1252 and unclosed rings with a fix."""
    import pyarrow
    import pyogrio
    from shapely.errors import GEOSException

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Non closed ring")  # GDAL's; repaired below
            warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
        _check_text(gdf)
        return gdf
    except GEOSException:
        return _repair_rings(path, layer, shown, notes)
    except (UnicodeDecodeError, pyarrow.ArrowException) as err:
        try:
            try:
                gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=True, encoding="cp1252")
            except ValueError:  # "non-UTF-8 encoding is not supported for Arrow" (GeoJSON, GPKG ...)
                gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=False, encoding="cp1252")
            _check_text(gdf)
        except (UnicodeDecodeError, pyarrow.ArrowException, GEOSException, ValueError):
            raise FileFormatError(
                f"the layer's text is neither UTF-8 nor Windows-1252 ({err})",
                path=shown,
                layer=None if layer is None else str(layer),
                code="VEC012",
                hint="write a .cpg file naming the encoding (e.g. 'ISO-8859-15') next to the .shp.",
            ) from err
    columns, rows = _text_columns(gdf)
    notes.add(
        "VEC102",
        f"{os.fspath(shown)}: the text is not UTF-8 and declares no encoding; it was decoded as "
        f"Windows-1252 (Latin-1): {rows} row(s) of {len(columns)} column(s) ({', '.join(columns)}) hold "
        "accented text. Re-save the file as UTF-8 (or put a .cpg next to a shapefile) to silence this",
        "decode_text",
        "text decoded as Windows-1252: not UTF-8 and no .cpg",
        encoding="cp1252",
        columns=columns,
        count=rows,
    )
    return gdf


def open_vector(
    path: PathLike, layer: str | int | None, *, source_crs: Any, stack: ExitStack, notes: Notes
) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    text = os.fspath(path)
    if is_vsi(text):
        read_path: Path | str = text
    else:
        if not Path(text).exists():
            raise CimkitIOError("the file does not exist", path=path, hint="check the path.")
        read_path = Path(text)
        if read_path.is_file():
            check_input_size(read_path)
            if detect_compression(read_path) == "zip":
                read_path, layer = _unzip(read_path, layer, stack)
        if read_path.suffix.lower() == ".shp":
            read_path = _check_shapefile(
                read_path, shown=path, source_crs=source_crs, stack=stack, notes=notes
            )
    if str(read_path).lower().endswith(PARQUET_SUFFIXES):
        _check_feature_count(Path(read_path), layer, path)
        try:
            return gpd.read_parquet(read_path)
        except Exception as err:  # pyarrow raises several unrelated types
            raise FileFormatError(
                f"cannot read the file as GeoParquet ({err})",
                path=path,
                hint="check that it is a GeoParquet file with 'geo' metadata.",
            ) from err
    if layer is None:
        try:
            layers = pyogrio.list_layers(read_path)
        except DataSourceError as err:
            raise FileFormatError(
                f"GDAL cannot open the file ({err})",
                path=path,
                hint="check that it is a vector format GDAL reads (GeoJSON, GPKG, Shapefile ...).",
            ) from err
        except UnicodeDecodeError:  # a layer name that is not UTF-8: read the first layer by number
            layers, layer = [], 0
        if len(layers) > 1:
            names = ", ".join(str(n) for n in layers[:, 0])
            raise LayerNotFoundError(
                f"the file holds {len(layers)} layers ({names}) and no layer was named",
                path=path,
                hint="pass layer='<name>'.",
            )
    if isinstance(read_path, Path):
        _check_feature_count(read_path, layer, path)
    try:
        if isinstance(read_path, Path):
            return _read_ogr(read_path, layer, path, notes)
        return pyogrio.read_dataframe(read_path, layer=layer, use_arrow=True)
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


def feature_ids(gdf: gpd.GeoDataFrame, mask: np.ndarray) -> list[Any]:
    """Name the features selected by ``mask``: their id column's value, else their row number.

    The id column is the first of :data:`_ID_CANDIDATES` (any case) filled and unique.
    """
    lower = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    column = None
    for cand in _ID_CANDIDATES:
        if cand in lower and gdf[lower[cand]].notna().all() and gdf[lower[cand]].is_unique:
            column = lower[cand]
            break
    rows = np.flatnonzero(mask)[:MAX_IDS]
    if column is None:
        return [f"row {int(i)}" for i in rows]
    return [gdf[column].iloc[int(i)] for i in rows]
