"""One table of the folder model format: a (Geo)DataFrame to and from GeoParquet bytes.

A vector layer is written as GeoParquet 1.1 (WKB geometry, a ``bbox`` covering column, zstd),
its rows sorted along a Hilbert curve of their bounding-box centres so that the row groups are
compact in space and a bounding-box read opens few of them. The original row order is kept in
the column ``__cimkit_row__`` and restored on read; the index is stored as column(s) and
restored with its name(s). Columns arrow cannot hold as they are (lists, dicts, mixed objects)
are stored as JSON text; every dtype is recorded in the spec and restored exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit import provenance as prov
from cimkit.errors import ValidationError

#: The column holding each row's position in the frame as written.
ROW_COLUMN = "__cimkit_row__"
#: The GeoParquet 1.1 bbox covering column written beside the geometry.
COVERING_COLUMN = "bbox"
#: Rows per Parquet row group (small enough for a bbox read to skip most of a large layer).
ROW_GROUP_ROWS = 16384
#: GeoParquet geometry type names by shapely type id.
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}
#: Bits per axis of the Hilbert curve the rows are sorted along.
_HILBERT_LEVEL = 12


def compute_hilbert_order(bounds: np.ndarray, level: int = _HILBERT_LEVEL) -> np.ndarray:
    """Return the row order along a Hilbert curve of the bbox centres (rows without bounds last).

    ``bounds`` is the ``(n, 4)`` array of ``shapely.bounds``. The curve spans the layer's own
    extent on a ``2**level`` grid per axis (Hilbert 1891; the iterative ``xy2d`` form).

    >>> compute_hilbert_order(np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1.]]), 1).tolist()
    [1, 3, 0, 2]
    """
    cx = (bounds[:, 0] + bounds[:, 2]) / 2.0
    cy = (bounds[:, 1] + bounds[:, 3]) / 2.0
    valid = np.isfinite(cx) & np.isfinite(cy)
    if not valid.any():
        return np.arange(len(bounds))
    n = 2**level
    scale = []
    for c in (cx, cy):
        lo, hi = float(np.min(c[valid])), float(np.max(c[valid]))
        span = hi - lo if hi > lo else 1.0
        scale.append(np.clip(np.nan_to_num((c - lo) * ((n - 1) / span)), 0, n - 1).astype(np.uint32))
    x, y = scale
    d = np.zeros(len(bounds), dtype=np.int64)
    full = np.uint32(n - 1)
    s = n // 2
    while s > 0:
        rx = (x & np.uint32(s)) > 0
        ry = (y & np.uint32(s)) > 0
        d += (s * s) * ((3 * rx.astype(np.int64)) ^ ry)
        flip = rx & ~ry  # reflect, then swap, the quadrants below the diagonal
        np.bitwise_xor(x, flip * full, out=x)
        np.bitwise_xor(y, flip * full, out=y)
        swap = (x ^ y) * ~ry
        np.bitwise_xor(x, swap, out=x)
        np.bitwise_xor(y, swap, out=y)
        s //= 2
    d[~valid] = np.iinfo(np.int64).max
    return np.argsort(d, kind="stable")


def _needs_json(series: pd.Series) -> bool:
    """Tell whether an object column must be stored as JSON text (lists, dicts, mixed types)."""
    import pyarrow as pa

    if series.dtype != object:
        return False
    values = series.dropna()
    if not len(values):
        return False
    if values.map(lambda v: isinstance(v, (list, dict, tuple, set))).any():
        return True
    try:
        pa.array(values.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return True
    return False


def encode_frame(frame: pd.DataFrame, table: str) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray | None]:
    """Return the frame to write (index as columns, JSON columns, Hilbert order) and its spec."""
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    geometry_column = frame._geometry_column_name if is_geo else None
    index_names = [n if n is not None else f"__index_{i}__" for i, n in enumerate(frame.index.names)]
    clash = set(index_names) & set(map(str, frame.columns))
    if is_geo:
        clash |= {COVERING_COLUMN} & set(map(str, frame.columns))
    if clash or ROW_COLUMN in frame.columns:
        raise ValidationError(
            f"table {table!r}: the name(s) {sorted(clash) or [ROW_COLUMN]} are taken (index names must "
            f"differ from column names; {COVERING_COLUMN!r} and {ROW_COLUMN!r} are reserved in a layer)",
            layer=table,
            hint="rename the index or the column before saving.",
            code="FLD012",
        )
    range_index = None
    if isinstance(frame.index, pd.RangeIndex):
        range_index = [frame.index.start, frame.index.stop, frame.index.step]
    out = pd.DataFrame(frame, copy=False)
    out = out.set_axis(pd.RangeIndex(len(out)), axis=0) if range_index else out.reset_index(names=index_names)
    dtypes = {str(c): str(out[c].dtype) for c in out.columns if c != geometry_column}
    encoded: dict[str, str] = {}
    categories: dict[str, Any] = {}
    for col in list(out.columns):
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            cats = out[col].cat.categories
            categories[str(col)] = {
                "categories": [prov._jsonable(c) for c in cats],
                "dtype": str(cats.dtype),
                "ordered": bool(out[col].cat.ordered),
            }
        elif col != geometry_column and _needs_json(out[col]):
            encoded[str(col)] = "json"
            out[col] = out[col].map(lambda v: json.dumps(prov._jsonable(v)) if v is not None else None)
    out[ROW_COLUMN] = np.arange(len(out), dtype=np.int64)
    bounds = None
    types: list[str] = []
    if is_geo:
        geoms = np.asarray(frame.geometry.array)
        bounds = shapely.bounds(geoms)
        type_ids = np.unique(shapely.get_type_id(geoms))
        types = [_TYPE_NAMES[int(t)] for t in type_ids if int(t) in _TYPE_NAMES]
        order = compute_hilbert_order(bounds)
        if len(order) and (order[1:] < order[:-1]).any():
            out = out.take(order)
            bounds = bounds[order]
    spec = {
        "geometry_column": geometry_column,
        "geometry_types": types,
        "bounds": _total_bounds(bounds) if bounds is not None else None,
        "index": [] if range_index else index_names,
        "index_original": [None if n is None else str(n) for n in frame.index.names],
        "range_index": range_index,
        "columns": [str(c) for c in frame.columns],
        "dtypes": dtypes,
        "encoded": encoded,
        "categories": categories,
        "rows": len(frame),
    }
    return out, spec, bounds


def _total_bounds(bounds: np.ndarray) -> list[float] | None:
    valid = np.isfinite(bounds).all(axis=1)
    if not valid.any():
        return None
    b = bounds[valid]
    return [float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())]


def write_table_bytes(out: pd.DataFrame, bounds: np.ndarray | None, spec: Mapping[str, Any], crs: CRS) -> Any:
    """Return the Parquet bytes of an encoded frame: GeoParquet 1.1 (WKB + bbox covering) with geometry."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    geometry_column = spec["geometry_column"]
    attributes = out.drop(columns=[geometry_column]) if geometry_column is not None else out
    table = pa.Table.from_pandas(pd.DataFrame(attributes), preserve_index=False)
    if geometry_column is not None and bounds is not None:
        wkb = shapely.to_wkb(np.asarray(out[geometry_column].array), flavor="iso")
        table = table.append_column(geometry_column, pa.array(wkb, type=pa.binary()))
        missing = ~np.isfinite(bounds).all(axis=1)
        fields = [pa.array(bounds[:, i], mask=missing, type=pa.float64()) for i in range(4)]
        names = ["xmin", "ymin", "xmax", "ymax"]
        table = table.append_column(COVERING_COLUMN, pa.StructArray.from_arrays(fields, names=names))
        geo = {
            "version": "1.1.0",
            "primary_column": geometry_column,
            "columns": {
                geometry_column: {
                    "encoding": "WKB",
                    "geometry_types": [],  # any: Z is not scanned for
                    "crs": crs.to_json_dict(),
                    "bbox": spec["bounds"] or [],
                    "covering": {"bbox": {n: [COVERING_COLUMN, n] for n in names}},
                }
            },
        }
        if not spec["bounds"]:
            del geo["columns"][geometry_column]["bbox"]  # type: ignore[attr-defined]
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
        )
    # dictionary pages for repeated labels only (not ids, numbers or WKB); statistics where a
    # reader prunes row groups by them (the bbox covering), which halves the write time
    labels = [
        field.name
        for field in table.schema
        if field.name not in spec["index"]
        and (
            pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
            or pa.types.is_dictionary(field.type)
            or pa.types.is_boolean(field.type)
        )
    ]
    statistics: bool | list[str] = True
    if geometry_column is not None:
        statistics = [f"{COVERING_COLUMN}.{n}" for n in ("xmin", "ymin", "xmax", "ymax")] + [ROW_COLUMN]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=labels,
        write_statistics=statistics,
    )
    return sink.getvalue()


def _covering(parquet: Any, geometry_column: str) -> dict[str, list[str]] | None:
    meta = parquet.schema_arrow.metadata or {}
    geo = json.loads(meta.get(b"geo", b"{}"))
    return geo.get("columns", {}).get(geometry_column, {}).get("covering", {}).get("bbox")


def select_row_groups(
    parquet: Any, covering: Mapping[str, Sequence[str]], bbox: Sequence[float]
) -> list[int]:
    """Return the row groups whose bbox-column statistics meet ``bbox`` (all when stats are missing)."""
    paths = {parquet.metadata.schema.column(i).path: i for i in range(parquet.metadata.num_columns)}
    index = {key: paths.get(".".join(covering[key])) for key in ("xmin", "ymin", "xmax", "ymax")}
    minx, miny, maxx, maxy = map(float, bbox)
    groups = []
    for g in range(parquet.metadata.num_row_groups):
        group = parquet.metadata.row_group(g)
        if group.num_rows == 0:
            continue
        stats = {k: group.column(i).statistics if i is not None else None for k, i in index.items()}
        if any(s is None or not s.has_min_max for s in stats.values()):
            groups.append(g)
            continue
        if (
            stats["xmin"].min <= maxx  # type: ignore[union-attr]
            and stats["xmax"].max >= minx  # type: ignore[union-attr]
            and stats["ymin"].min <= maxy  # type: ignore[union-attr]
            and stats["ymax"].max >= miny  # type: ignore[union-attr]
        ):
            groups.append(g)
    return groups


def read_table_bytes(
    data: Any, spec: Mapping[str, Any], crs: CRS, *, bbox: Sequence[float] | None = None
) -> tuple[pd.DataFrame, int, list[str]]:
    """Read one table written by :func:`write_table_bytes`: the frame, row groups read, problems."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import shapely

    parquet = pq.ParquetFile(pa.BufferReader(data))
    geometry_column = spec["geometry_column"]
    covering = _covering(parquet, geometry_column) if geometry_column else None
    if covering and bbox is not None:
        groups = select_row_groups(parquet, covering, bbox)  # type: ignore[arg-type]
        table = parquet.read_row_groups(groups)
        minx, miny, maxx, maxy = map(float, bbox)  # type: ignore[arg-type]
        col = table.column(covering["xmin"][0])
        keep = pc.and_(
            pc.and_(
                pc.less_equal(pc.struct_field(col, covering["xmin"][1]), maxx),
                pc.greater_equal(pc.struct_field(col, covering["xmax"][1]), minx),
            ),
            pc.and_(
                pc.less_equal(pc.struct_field(col, covering["ymin"][1]), maxy),
                pc.greater_equal(pc.struct_field(col, covering["ymax"][1]), miny),
            ),
        )
        table = table.filter(pc.fill_null(keep, False))
    else:
        groups = list(range(parquet.metadata.num_row_groups))
        table = parquet.read()
    if covering:
        table = table.drop_columns([covering["xmin"][0]])
    rows = table.column(ROW_COLUMN).to_numpy()
    if len(rows) and (rows[1:] < rows[:-1]).any():
        table = table.take(np.argsort(rows, kind="stable"))
    if geometry_column is not None:
        geoms = shapely.from_wkb(table.column(geometry_column).to_numpy(zero_copy_only=False))
        table = table.drop_columns([geometry_column])
        if bbox is not None:
            meets = shapely.intersects(geoms, shapely.box(*map(float, bbox)))
            table, geoms = table.filter(pa.array(meets)), geoms[meets]
        frame = table.to_pandas()
        frame[geometry_column] = gpd.GeoSeries(geoms, index=frame.index, crs=crs)
    else:
        frame = table.to_pandas()
    problems: list[str] = []
    frame = _restore(frame, spec, crs, problems)
    return frame, len(groups), problems


def _restore(frame: pd.DataFrame, spec: Mapping[str, Any], crs: CRS, problems: list[str]) -> pd.DataFrame:
    """Decode columns, rebuild the index and column order; note the columns kept as read."""
    rows = frame[ROW_COLUMN].to_numpy()
    for col, dtype in spec["dtypes"].items():
        series = frame[col]
        if col in spec.get("categories", {}):
            info = spec["categories"][col]
            cats = pd.Index(info["categories"], dtype=info["dtype"])
            if not series.cat.categories.equals(cats) or series.cat.ordered != info["ordered"]:
                frame[col] = series.cat.set_categories(cats, ordered=info["ordered"])
        elif spec["encoded"].get(col) == "json":
            frame[col] = series.map(lambda v: json.loads(v) if isinstance(v, str) else None).astype(object)
        elif str(series.dtype) != dtype:
            try:
                frame[col] = series.astype(dtype)
            except (TypeError, ValueError) as err:
                problems.append(
                    f"column {col!r} restored as {series.dtype}, not {dtype} ({err}); "
                    f"{len(series)} row(s) kept as read"
                )
    if spec.get("range_index"):
        start, _, step = spec["range_index"]
        index = pd.RangeIndex(start, start + step * len(rows), step) if len(rows) == spec["rows"] else None
        frame = frame.set_axis(
            index if index is not None else start + step * np.asarray(np.sort(rows)), axis=0
        )
    else:
        frame = frame.set_index(spec["index"])
    frame.index = frame.index.set_names(spec["index_original"])
    frame = frame[spec["columns"]]
    geometry_column = spec["geometry_column"]
    if geometry_column is not None:
        frame = gpd.GeoDataFrame(frame, geometry=geometry_column, crs=crs)
    return frame
