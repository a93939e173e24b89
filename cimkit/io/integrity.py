"""Integrity of saved files: content digests of a model's tables, ``cimkit verify``.

When :meth:`cimkit.model.CityModel.to_file` saves a model, the metadata of the GeoPackage records a
content sha256 of every stored table (layers, network nodes and edges, the DEM tiles, the
provenance table), computed by :func:`compute_table_sha256` over the table's columns and its rows
in rowid order. Each layer's provenance already records the sha256 of its source files.
:func:`check_model_file` re-computes both and says, item by item, whether the file or a source
changed since; :func:`check_convert_report` does the same for the outputs (and inputs) listed in
a ``cimkit convert`` report. ``cimkit verify`` prints these tables and exits with 1 on a mismatch.

A source file that is no longer where provenance says is reported ``missing``, not an error (a
model outlives its inputs); a stored table or a convert output that is missing is a loss.

Examples
--------
>>> import tempfile
>>> from cimkit.datasets import sample_city_path
>>> from cimkit.io.vector import read_parcels
>>> from cimkit.model import CityModel
>>> model = CityModel(2154)
>>> _ = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
>>> path = model.to_file(Path(tempfile.mkdtemp()) / "city.gpkg")
>>> check_model_file(path)[["item", "kind", "status"]].to_string(index=False).splitlines()[1:]
['          parcels  layer     ok', 'cimkit_provenance  layer     ok', '  parcels.geojson source     ok']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cimkit.errors import CimkitIOError, FileFormatError
from cimkit.provenance import Provenance, compute_sha256

__all__ = ["check_convert_report", "check_model_file", "compute_table_sha256"]

_META_TABLE = "cimkit_metadata"
_PROVENANCE_TABLE = "cimkit_provenance"
#: The columns of the tables returned by the checks.
_COLUMNS = ["item", "kind", "layer", "path", "recorded_sha256", "current_sha256", "status"]


def _list_stored_tables(meta: Mapping[str, Any]) -> list[str]:
    """Return every table the metadata lists (layers, network nodes and edges, the DEM) and the provenance."""
    tables = [spec["table"] for spec in meta["layers"].values()]
    for spec in meta["networks"].values():
        tables += [spec["nodes"]["table"], spec["edges"]["table"]]
    if meta.get("dem"):
        tables.append(meta["dem"]["table"])
    return [*tables, _PROVENANCE_TABLE]


def _hash_value(value: Any) -> bytes:
    if value is None:
        return b"N;"
    if isinstance(value, bytes):
        return b"B%d:" % len(value) + value
    if isinstance(value, float):
        return b"F" + repr(value).encode() + b";"
    if isinstance(value, int):
        return b"I%d;" % value
    text = str(value).encode("utf-8", "surrogatepass")
    return b"S%d:" % len(text) + text


def _hash_row(row: tuple[Any, ...]) -> bytes:
    """``b"R"`` and the :func:`_hash_value` of each cell, with the common SQLite types inlined (hot loop)."""
    parts = [b"R"]
    for value in row:
        kind = type(value)
        if value is None:
            parts.append(b"N;")
        elif kind is bytes:
            parts.append(b"B%d:%b" % (len(value), value))
        elif kind is float:
            parts.append(b"F%b;" % repr(value).encode())
        elif kind is int:
            parts.append(b"I%d;" % value)
        else:
            parts.append(_hash_value(value))
    return b"".join(parts)


def compute_table_sha256(path: str | os.PathLike[str], layer: str) -> str:
    """Return the content sha256 of one table of a GeoPackage: its columns, then its rows by rowid.

    The digest depends on the stored values only (not on the file's page layout), so a file
    rewritten by SQLite (``VACUUM``) keeps it, and any edited cell changes it.

    Parameters
    ----------
    path
        A GeoPackage (any SQLite file).
    layer
        The table's name (a layer, ``network_<kind>_nodes``, ``dem``, ``cimkit_provenance``).

    Returns
    -------
    str
        The hex digest.

    Raises
    ------
    LayerNotFoundError
        The file has no such table.

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.gpkg"
    >>> with sqlite3.connect(path) as con:
    ...     _ = con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    ...     _ = con.execute("INSERT INTO t VALUES (1, 'a')")
    >>> before = compute_table_sha256(path, layer="t")
    >>> with sqlite3.connect(path) as con:
    ...     _ = con.execute("UPDATE t SET name = 'b'")
    >>> len(before), before == compute_table_sha256(path, layer="t")
    (64, False)
    """
    import sqlite3

    from cimkit.errors import LayerNotFoundError

    digest = hashlib.sha256()
    con = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        con.text_factory = bytes
        columns = con.execute(f'PRAGMA table_info("{layer}")').fetchall()
        if not columns:
            raise LayerNotFoundError(
                f"the file has no table {layer!r}", path=path, layer=layer, code="MOD008"
            )
        for column in columns:
            digest.update(_hash_value(column[1]) + _hash_value(column[2]))
        cursor = con.execute(f'SELECT * FROM "{layer}" ORDER BY rowid')
        while rows := cursor.fetchmany(4096):
            digest.update(b"".join(map(_hash_row, rows)))
    finally:
        con.close()
    return digest.hexdigest()


def _check_written_model(path: Path, meta: Mapping[str, Any], n_records: int) -> str | None:
    """Check the temporary file holds every expected table with its row count; None when it does."""
    import sqlite3

    expected = {_META_TABLE: 1, _PROVENANCE_TABLE: n_records}
    for spec in meta["layers"].values():
        expected[spec["table"]] = spec["rows"]
    for spec in meta["networks"].values():
        expected[spec["nodes"]["table"]] = spec["nodes"]["rows"]
        expected[spec["edges"]["table"]] = spec["edges"]["rows"]
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        present = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if meta.get("dem") and meta["dem"]["table"] not in present:
            return "the DEM table is missing"
        for table, rows in expected.items():
            if table not in present:
                return f"table {table!r} is missing"
            found = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            if found != rows:
                return f"table {table!r} holds {found} rows, {rows} were written"
    finally:
        con.close()
    return None


def _check_sqlite_header(path: Path) -> None:
    """Raise MOD001 / MOD003 / MOD002 / MOD004 for a missing, empty, non-SQLite or truncated file."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "no such file"
        raise CimkitIOError(
            what, path=path, hint="check the path; models are saved with model.to_file().", code="MOD001"
        )
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError(
            "the file is empty (0 bytes)",
            path=path,
            hint="the model was never written completely; save it again.",
            code="MOD003",
        )
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        raise FileFormatError(
            f"not a GeoPackage: the file does not start with the SQLite header (starts {header[:16]!r})",
            path=path,
            hint="pass a .gpkg written by CityModel.to_file().",
            code="MOD002",
        )
    if len(header) < 100:
        raise FileFormatError(
            f"truncated GeoPackage: {size} bytes, shorter than the SQLite header",
            path=path,
            hint="restore the file from a copy or save the model again.",
            code="MOD004",
        )
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(header[28:32], "big")
    header_valid = pages > 0 and header[24:28] == header[92:96]
    if (header_valid and size < page * pages) or size % page:
        raise FileFormatError(
            f"truncated GeoPackage: {size} bytes, its header declares {page * pages} "
            f"({pages} pages of {page} bytes)",
            path=path,
            hint="the file was cut short (an interrupted copy or download); restore it from a copy.",
            code="MOD004",
        )


def _read_stored_metadata(path: Path, *, format_version: int | None) -> tuple[dict[str, Any], set[str]]:
    """Return the metadata document and the table names, after checking the file is a cimkit model."""
    import pyogrio

    _check_sqlite_header(path)
    try:
        tables = {str(name) for name, _ in pyogrio.list_layers(path)}
        con = _connect_ro(path)
        try:
            query = "SELECT table_name FROM gpkg_contents"
            contents = {str(row[0]) for row in con.execute(query)}
        finally:
            con.close()
    except Exception as err:
        raise FileFormatError(
            f"not a readable GeoPackage ({type(err).__name__}: {err})",
            path=path,
            hint="restore the file from a copy or save the model again.",
            code="MOD004",
        ) from err
    shown = ", ".join(sorted(tables | contents)[:10]) or "none"
    tables |= contents
    if _META_TABLE not in tables:
        raise FileFormatError(
            f"a GeoPackage not written by cimkit (no cimkit_metadata table); its layers: {shown}",
            path=path,
            hint="read its layers with cimkit.io.vector.read_layer(path, layer=...) and add them "
            "to a CityModel with add_layer().",
            code="MOD005",
        )
    try:
        frame = pyogrio.read_dataframe(path, layer=_META_TABLE, read_geometry=False)
        meta = json.loads(frame["value"].iloc[0])
        if not isinstance(meta, dict) or not {"crs", "layers", "networks"} <= set(meta):
            raise ValueError(f"keys found: {sorted(meta) if isinstance(meta, dict) else type(meta).__name__}")
    except Exception as err:
        raise FileFormatError(
            f"the cimkit_metadata table is damaged ({type(err).__name__}: {err})",
            path=path,
            layer=_META_TABLE,
            hint="restore the file from a copy or save the model again.",
            code="MOD006",
        ) from err
    if format_version is not None and meta.get("format_version", 0) > format_version:
        raise FileFormatError(
            f"the file uses cimkit model format {meta['format_version']}, newer than this "
            f"cimkit reads ({format_version})",
            path=path,
            hint="upgrade cimkit.",
            code="MOD007",
        )
    return meta, tables


def _connect_ro(path: Path) -> Any:
    import sqlite3

    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _stored_records(path: Path) -> dict[str, Provenance]:
    con = _connect_ro(path)
    try:
        rows = con.execute(f'SELECT layer, record FROM "{_PROVENANCE_TABLE}"').fetchall()
    except Exception:  # no provenance table: no sources to check
        rows = []
    finally:
        con.close()
    return {str(layer): Provenance.from_json(record) for layer, record in rows}


def _layer_of(table: str, meta: Mapping[str, Any]) -> str:
    for kind, spec in meta.get("networks", {}).items():
        if table in (spec["nodes"]["table"], spec["edges"]["table"]):
            return f"network_{kind}"
    return "provenance" if table == _PROVENANCE_TABLE else table


def _file_row(item: str, kind: str, layer: str | None, path: Path, recorded: str | None) -> dict[str, Any]:
    current = compute_sha256(path) if path.is_file() else None
    if current is None:
        status = "missing"
    elif recorded is None:
        status = "unrecorded"
    else:
        status = "ok" if current == recorded else "mismatch"
    return {
        "item": item,
        "kind": kind,
        "layer": layer,
        "path": str(path),
        "recorded_sha256": recorded,
        "current_sha256": current,
        "status": status,
    }


def _resolve(recorded: str, folder: Path) -> Path:
    """Return a recorded path as given when it exists, else relative to ``folder``."""
    path = Path(recorded)
    if path.exists() or path.is_absolute():
        return path
    beside = folder / path
    return beside if beside.exists() else path


def check_model_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Re-hash the tables of a saved model and the source files of its provenance.

    Parameters
    ----------
    path
        A GeoPackage written by :meth:`cimkit.model.CityModel.to_file`.

    Returns
    -------
    pandas.DataFrame
        One row per stored table (``kind`` ``"layer"``) and per source file recorded in a
        layer's provenance (``kind`` ``"source"``): ``item`` (table or file name), ``kind``,
        ``layer``, ``path``, ``recorded_sha256``, ``current_sha256`` and ``status``: ``"ok"``,
        ``"mismatch"`` (changed since it was recorded), ``"missing"`` (a source no longer where
        provenance says, or a stored table gone) or ``"unrecorded"`` (no digest was recorded:
        a file saved by an older cimkit, a layer built in memory).

    Raises
    ------
    CimkitIOError, FileFormatError
        The file is missing or not a readable cimkit model (``MOD`` codes).

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_parcels
    >>> from cimkit.model import CityModel
    >>> model = CityModel(2154)
    >>> _ = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
    >>> path = model.to_file(Path(tempfile.mkdtemp()) / "city.gpkg")
    >>> with sqlite3.connect(path) as con:  # one parcel deleted outside cimkit
    ...     _ = con.execute("DELETE FROM parcels WHERE fid = 3")
    >>> check_model_file(path).set_index("item")["status"].to_dict()
    {'parcels': 'mismatch', 'cimkit_provenance': 'ok', 'parcels.geojson': 'ok'}
    """
    path = Path(path)
    meta, _ = _read_stored_metadata(path, format_version=None)
    recorded = meta.get("sha256") or {}
    con = _connect_ro(path)
    try:
        present = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    rows = []
    for table in _list_stored_tables(meta):
        current = compute_table_sha256(path, layer=table) if table in present else None
        expected = recorded.get(table)
        if current is None:
            status = "missing"
        elif expected is None:
            status = "unrecorded"
        else:
            status = "ok" if current == expected else "mismatch"
        rows.append(
            {
                "item": table,
                "kind": "layer",
                "layer": _layer_of(table, meta),
                "path": str(path),
                "recorded_sha256": expected,
                "current_sha256": current,
                "status": status,
            }
        )
    for layer, record in _stored_records(path).items():
        for source in record.source_files:
            where = _resolve(source.path, path.parent)
            rows.append(_file_row(Path(source.path).name, "source", layer, where, source.sha256))
    return pd.DataFrame(rows, columns=_COLUMNS)


def check_convert_report(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Re-hash the inputs and outputs listed in a ``cimkit convert`` report.

    Parameters
    ----------
    path
        The ``convert-report.json`` of a batch, or the output folder holding it.

    Returns
    -------
    pandas.DataFrame
        One row per input (``kind`` ``"source"``) and per output (``kind`` ``"output"``) of
        every file converted (or found already converted) by the batch, with the columns of
        :func:`check_model_file`.

    Raises
    ------
    CimkitIOError
        The report does not exist (``MOD001``).
    FileFormatError
        It is not a convert report (``MOD006``).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "out.gpkg").write_bytes(b"new")
    >>> report = {"files": [{"input": "gone.geojson", "sha256": "00", "status": "ok",
    ...                      "output": str(folder / "out.gpkg"), "output_sha256": "11"}]}
    >>> _ = (folder / "convert-report.json").write_text(json.dumps(report))
    >>> check_convert_report(folder)[["item", "kind", "status"]].values.tolist()
    [['gone.geojson', 'source', 'missing'], ['out.gpkg', 'output', 'mismatch']]
    """
    path = Path(path)
    if path.is_dir():
        path = path / "convert-report.json"
    if not path.is_file():
        raise CimkitIOError(
            "no convert report", path=path, hint="pass the output folder of cimkit convert.", code="MOD001"
        )
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as err:
        raise FileFormatError(
            f"not a cimkit convert report ({type(err).__name__}: {err})",
            path=path,
            hint="pass the convert-report.json written by cimkit convert.",
            code="MOD006",
        ) from err
    rows = []
    for rec in files:
        if rec.get("status") not in ("ok", "skipped"):
            continue
        source = _resolve(rec["input"], path.parent)
        rows.append(_file_row(Path(rec["input"]).name, "source", None, source, rec.get("sha256")))
        hashes = rec.get("output_sha256")
        if not isinstance(hashes, dict):  # one output file (reports of cimkit before 0.2)
            hashes = {rec["output"]: hashes}
        for written, sha in hashes.items():
            output = _resolve(written, path.parent)
            rows.append(_file_row(Path(written).name, "output", None, output, sha))
    return pd.DataFrame(rows, columns=_COLUMNS)
