"""Tables of the PostGIS store: column types, row hashes, incremental row writes and reads.

Private to :mod:`cimkit.io.postgis`. Every table of a layer has, besides the layer's index and
columns, three bookkeeping columns: ``_cimkit_row`` (the row's position, so the layer reads back in
its order), ``_cimkit_hash`` (a 64-bit hash of the row's stored values, to find changed rows) and
``_cimkit_updated`` (when the row was last written). Identifiers are always passed through
:class:`psycopg.sql.Identifier` and values as parameters or COPY rows, never formatted into SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit.errors import FileFormatError, ValidationError
from cimkit.io.gpkg import _decode_column, _encode_columns

ROW, HASH, UPDATED = "_cimkit_row", "_cimkit_hash", "_cimkit_updated"
BOOKKEEPING = (ROW, HASH, UPDATED)
MAX_IDENTIFIER_BYTES = 63  # PostgreSQL truncates longer names

_INT_TYPES = {
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "integer",
    "uint32": "bigint",
    "uint64": "numeric",
}
_TEXT_KINDS = {"categorical": "text", "json": "jsonb", "date": "date", "object": "text"}

#: Called after each table is written (tests use it to interrupt a save); None in normal use.
after_table_hook: Callable[[str], None] | None = None


def sql_type(dtype: str, kind: str | None) -> str:
    """Return the PostgreSQL type storing a column of pandas ``dtype`` (encoding ``kind``)."""
    if kind is not None:
        return _TEXT_KINDS[kind]
    name = dtype.lower()
    if name in ("bool", "boolean"):
        return "boolean"
    if name in _INT_TYPES:
        return _INT_TYPES[name]
    if name in ("float32",):
        return "real"
    if name in ("float64", "float16"):
        return "double precision"
    if name.startswith("datetime64"):
        return "timestamptz" if "," in name else "timestamp"
    if name.startswith("timedelta64"):
        return "interval"
    return "text"


def check_identifier(name: str, *, what: str, table: str) -> None:
    """Refuse a table or column name PostgreSQL would truncate or that cimkit reserves."""
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ValidationError(
            f"{what} name {name!r} is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES} bytes",
            layer=table,
            hint="rename it (model.add_layer under a shorter name, or rename the column).",
            code="MOD056",
        )
    if what == "column" and name in BOOKKEEPING:
        raise ValidationError(
            f"column name {name!r} is reserved by the PostGIS store",
            layer=table,
            hint="rename the column.",
            code="MOD056",
        )


def geometry_sql_type(geoms: gpd.GeoSeries, srid: int) -> str:
    """Return ``geometry(<Type>[Z], srid)`` when every geometry has one type, else ``geometry``."""
    present = geoms[geoms.notna() & ~geoms.is_empty]
    if present.empty:
        return "geometry"
    types = set(present.geom_type)
    dims = set(shapely.has_z(present.values))
    if len(types) != 1 or len(dims) != 1:
        return "geometry"
    suffix = "Z" if dims.pop() else ""
    return f"geometry({types.pop()}{suffix}, {int(srid)})"


def encode_frame(frame: pd.DataFrame, table: str, srid: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return the frame as stored (index as columns, encoded cells) and the spec to restore it."""
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    geometry_column = frame._geometry_column_name if is_geo else None
    index_names = [n if n is not None else f"__index_{i}__" for i, n in enumerate(frame.index.names)]
    if len(set(index_names) & set(map(str, frame.columns))):
        raise ValidationError(
            f"table {table!r}: index name(s) {index_names} clash with column names", code="MOD056"
        )
    for col in [*index_names, *map(str, frame.columns)]:
        check_identifier(col, what="column", table=table)
    out = pd.DataFrame(frame.copy())
    out.index = out.index.set_names(index_names)
    out = out.reset_index()
    out.columns = [str(c) for c in out.columns]
    dtypes, encoded = _encode_columns(out, geometry_column)
    for col, kind in encoded.items():
        if kind == "object":
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    types = {col: sql_type(dtypes[col], encoded.get(col)) for col in out.columns if col != geometry_column}
    if geometry_column is not None:
        types[geometry_column] = geometry_sql_type(frame.geometry, srid)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        out[geometry_column] = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
    unique_key = bool(frame.index.is_unique) and not frame.index.to_frame().isna().any().any()
    spec: dict[str, Any] = {
        "table": table,
        "geometry_column": geometry_column,
        "index": index_names,
        "index_original": [None if n is None else str(n) for n in frame.index.names],
        "columns": [str(c) for c in frame.columns],
        "dtypes": dtypes,
        "encoded": encoded,
        "sql_types": types,
        "key": index_names if unique_key else [ROW],
    }
    out[ROW] = np.arange(len(out), dtype="int64")
    out[HASH] = _row_hashes(out.drop(columns=[ROW]))
    spec["rows"] = len(out)
    spec["content_hash"] = str(int(pd.util.hash_array(out[HASH].to_numpy()).sum(dtype="uint64")))
    return out, spec


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One signed 64-bit hash per row of the stored values (the same across processes)."""
    hashable = frame.copy()
    for col in hashable.columns:
        if hashable[col].dtype == object:
            hashable[col] = hashable[col].map(lambda v: None if v is None else repr(v))
    hashed = pd.util.hash_pandas_object(hashable, index=False).to_numpy()
    return hashed.view("int64")


def same_layout(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Tell whether a stored table can be updated row by row (same columns, types and key)."""
    keys = ("index", "index_original", "columns", "dtypes", "encoded", "sql_types", "key", "geometry_column")
    return old is not None and all(old.get(k) == new.get(k) for k in keys)


def create_table(cur: Any, schema: str, spec: Mapping[str, Any]) -> None:
    """Create the table of ``spec`` with its primary key (see :func:`create_index` for the GiST index)."""
    from psycopg import sql

    table = spec["table"]
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(col), sql.SQL(sqltype))
        for col, sqltype in spec["sql_types"].items()
    ]
    columns += [
        sql.SQL("{} bigint NOT NULL").format(sql.Identifier(ROW)),
        sql.SQL("{} bigint NOT NULL").format(sql.Identifier(HASH)),
        sql.SQL("{} timestamptz NOT NULL DEFAULT now()").format(sql.Identifier(UPDATED)),
        sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, spec["key"]))),
    ]
    cur.execute(
        sql.SQL("CREATE TABLE {}.{} ({})").format(
            sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(columns)
        )
    )


def create_index(cur: Any, schema: str, spec: Mapping[str, Any]) -> None:
    """Create the GiST index of the table's geometry (after its rows are in: faster)."""
    from psycopg import sql

    table = spec["table"]
    if spec["geometry_column"] is not None:
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {}.{} USING gist ({})").format(
                sql.Identifier(f"{table}_geom_gist"[:MAX_IDENTIFIER_BYTES]),
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.Identifier(spec["geometry_column"]),
            )
        )


def _python_rows(out: pd.DataFrame, columns: Sequence[str]) -> list[list[Any]]:
    """Columns as lists of plain Python values, None for every missing value."""
    lists = []
    for col in columns:
        series = out[col]
        values = series.astype(object).where(series.notna(), None).tolist()
        lists.append(values)
    return [list(row) for row in zip(*lists)] if lists else []


def copy_rows(cur: Any, schema: str, table: str, out: pd.DataFrame) -> int:
    """COPY the rows of ``out`` (an encoded frame) into the table; return how many."""
    from psycopg import sql

    columns = list(out.columns)
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        for start in range(0, len(out), 50_000):
            copy.write(_copy_text(out.iloc[start : start + 50_000]))
    return len(out)


def _copy_text(out: pd.DataFrame) -> str:
    """Return the rows in COPY text format: tab-separated, NULL as backslash-N, escaped text."""
    columns = []
    for col in out.columns:
        series = out[col]
        missing = series.isna().to_numpy().tolist()
        text = ["\\N" if m else v for v, m in zip(_as_text(series), missing)]
        if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
            text = [_escape(v) if not m else v for v, m in zip(text, missing)]
        columns.append(text)
    return "".join("\t".join(row) + "\n" for row in zip(*columns))


def _as_text(series: pd.Series) -> list[str]:
    """Every cell as PostgreSQL input text (vectorised for numbers and timestamps)."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return [v + "+00" for v in np.datetime_as_string(utc, unit="us").tolist()]
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return list(np.datetime_as_string(series.to_numpy(), unit="us").tolist())
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return list(series.to_numpy().astype(str).tolist())
    return [str(v) for v in series.astype(object).tolist()]


def _escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def update_rows(cur: Any, schema: str, spec: Mapping[str, Any], out: pd.DataFrame) -> dict[str, int]:
    """Bring an existing table to ``out``: delete gone rows, rewrite changed ones, keep the others.

    Rows are matched on the table's key (the layer's index). Unchanged rows keep their
    ``_cimkit_updated`` time; only their position is updated when it moved.
    """
    from psycopg import sql

    table, key = spec["table"], list(spec["key"])
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    cur.execute(
        sql.SQL("SELECT {}, {}, {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, key)), sql.Identifier(HASH), sql.Identifier(ROW), target
        )
    )
    stored = {tuple(r[: len(key)]): (r[-2], r[-1]) for r in cur.fetchall()}
    new_keys = [tuple(r) for r in _python_rows(out, key)]
    new = dict(zip(new_keys, zip(out[HASH].tolist(), out[ROW].tolist())))
    gone = [k for k in stored if k not in new]
    changed = [i for i, k in enumerate(new_keys) if k not in stored or stored[k][0] != new[k][0]]
    moved = [
        (k, new[k][1]) for k in new_keys if k in stored and stored[k] != new[k] and stored[k][0] == new[k][0]
    ]
    rewrite = [new_keys[i] for i in changed if new_keys[i] in stored]
    cur.execute(
        sql.SQL("CREATE TEMP TABLE _cimkit_keys ON COMMIT DROP AS SELECT {}, {} FROM {} WITH NO DATA").format(
            sql.SQL(", ").join(map(sql.Identifier, key)), sql.Identifier(ROW), target
        )
    )
    key_cols = sql.SQL(", ").join(map(sql.Identifier, [*key, ROW]))
    match = sql.SQL(" AND ").join(sql.SQL("t.{0} = k.{0}").format(sql.Identifier(col)) for col in key)
    if gone or rewrite:
        with cur.copy(sql.SQL("COPY _cimkit_keys ({}) FROM STDIN").format(key_cols)) as copy:
            for k in [*gone, *rewrite]:
                copy.write_row([*k, -1])
        cur.execute(sql.SQL("DELETE FROM {} t USING _cimkit_keys k WHERE {}").format(target, match))
        cur.execute("TRUNCATE _cimkit_keys")
    if moved:
        with cur.copy(sql.SQL("COPY _cimkit_keys ({}) FROM STDIN").format(key_cols)) as copy:
            for k, row in moved:
                copy.write_row([*k, row])
        cur.execute(
            sql.SQL("UPDATE {} t SET {} = k.{} FROM _cimkit_keys k WHERE {}").format(
                target, sql.Identifier(ROW), sql.Identifier(ROW), match
            )
        )
    cur.execute("DROP TABLE _cimkit_keys")
    if changed:
        copy_rows(cur, schema, table, out.iloc[changed])
    return {
        "inserted": len(changed) - len(rewrite),
        "updated": len(rewrite),
        "deleted": len(gone),
        "unchanged": len(new_keys) - len(changed),
    }


def bbox_filter(spec: Mapping[str, Any], bbox: Sequence[float] | None, srid: int) -> tuple[Any, list[Any]]:
    """Return the WHERE clause (and its parameters) selecting the rows whose geometry meets ``bbox``."""
    from psycopg import sql

    if bbox is None or spec["geometry_column"] is None:
        return sql.SQL(""), []
    return (
        sql.SQL(" WHERE ST_Intersects({}, ST_MakeEnvelope(%s, %s, %s, %s, %s))").format(
            sql.Identifier(spec["geometry_column"])
        ),
        [*map(float, bbox), srid],
    )


def read_table(
    cur: Any, schema: str, spec: Mapping[str, Any], crs: CRS, *, bbox: Sequence[float] | None, srid: int
) -> pd.DataFrame:
    """Read one table written by :func:`encode_frame` with its index, column order and dtypes."""
    from psycopg import sql

    geometry_column = spec["geometry_column"]
    names = [*spec["index"], *spec["columns"]]
    selected: list[Any] = []
    for col in names:
        kind = spec["encoded"].get(col)
        if col == geometry_column:
            selected.append(sql.SQL("ST_AsBinary({})").format(sql.Identifier(col)))
        elif kind in ("json", "date"):
            selected.append(sql.SQL("{}::text").format(sql.Identifier(col)))
        else:
            selected.append(sql.Identifier(col))
    where, params = bbox_filter(spec, bbox, srid)
    cur.execute(
        sql.SQL("SELECT {} FROM {}.{}{} ORDER BY {}").format(
            sql.SQL(", ").join(selected),
            sql.Identifier(schema),
            sql.Identifier(spec["table"]),
            where,
            sql.Identifier(ROW),
        ),
        params,
    )
    rows = cur.fetchall()
    frame = pd.DataFrame({col: [r[i] for r in rows] for i, col in enumerate(names)}, columns=names)
    for col in names:
        if col == geometry_column:
            continue
        if col not in spec["dtypes"]:
            raise FileFormatError(
                f"column {col!r} has no stored type in table {spec['table']!r}",
                layer=spec["table"],
                hint="the table was changed outside cimkit; save the model again.",
                code="MOD053",
            )
        if frame[col].dtype == object and spec["encoded"].get(col) is None:
            frame[col] = _from_python(frame[col], spec["dtypes"][col])
        _decode_column(frame, col, spec["dtypes"][col], spec["encoded"].get(col), f"table {spec['table']!r}")
    frame = frame.set_index(spec["index"])
    frame.index = frame.index.set_names(spec["index_original"])
    frame = frame[spec["columns"]]
    if geometry_column is not None:
        geoms = shapely.from_wkb(np.asarray(frame[geometry_column].to_numpy(), dtype=object))
        frame[geometry_column] = gpd.GeoSeries(geoms, index=frame.index, crs=crs)
        frame = gpd.GeoDataFrame(frame, geometry=geometry_column, crs=crs)
    return frame


def _from_python(series: pd.Series, dtype: str) -> pd.Series:
    """Turn a column of Python values (None for NULL) into something ``astype(dtype)`` accepts."""
    if dtype.startswith("datetime64"):
        tz = dtype.split(",", 1)[1].strip(" ]") if "," in dtype else None
        parsed = pd.to_datetime(series, utc=tz is not None)
        return parsed.dt.tz_convert(tz) if tz is not None else parsed
    if dtype.startswith("float") or dtype.startswith("Float"):
        return series.map(lambda v: np.nan if v is None else float(v))
    if dtype.startswith("int") or dtype.startswith("uint"):
        return series.map(lambda v: int(v) if v is not None else v)
    return series


def spec_json(spec: Mapping[str, Any]) -> str:
    """Return the spec as JSON text (for the ``cimkit_layers`` table)."""
    return json.dumps(spec, ensure_ascii=False)
