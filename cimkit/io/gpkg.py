"""The GeoPackage store of a city model: layers, networks, the DEM and provenance in one file.

:func:`write_gpkg` writes the parts of a model to ONE ``.gpkg`` and :func:`read_gpkg` reads
them back as a :class:`StoredModel`; :meth:`cimkit.model.CityModel.to_file` and
:func:`cimkit.model.read_model` assemble a :class:`~cimkit.model.CityModel` from them.
This module sits below the model and does not know it.

The file holds

- one table per vector layer or attribute table, its index stored as column(s);
- ``network_<kind>_nodes`` and ``network_<kind>_edges`` for every network;
- ``dem``: the DEM as a GeoPackage tiled gridded coverage (float32, TIFF tiles);
- ``cimkit_metadata``: one JSON document with the format version, the CRS (WKT), and per table
  the index names, column order, dtypes and encodings (categoricals, JSON for list and dict
  cells), the network reports and the DEM's nodata and units;
- ``cimkit_provenance``: one JSON :class:`~cimkit.provenance.Provenance` record per layer.

It is written to a temporary file beside the destination, checked (``PRAGMA integrity_check``,
every expected table with its row count) and renamed over it at the end, so an interrupted or
failed write leaves the previous file and no temporary behind (see :mod:`cimkit._atomic`).
The metadata also records a content sha256 of every stored table (``sha256``: table -> digest,
by :func:`cimkit.io.integrity.compute_table_sha256`: the table's columns, then its rows in rowid
order), which :func:`cimkit.io.integrity.check_model_file` re-computes to find later edits.
Reading restores index, column order and dtypes exactly.

Reading is strict: a missing, empty, non-SQLite, truncated or corrupted file, a GeoPackage not
written by cimkit, a damaged metadata table or a missing table raise a typed error with a
``MOD`` code (``docs/errors.md``). A foreign GeoPackage is refused rather than read with a
guess: a saved model promises exact dtypes, one CRS and a provenance record per layer, which a
foreign file does not carry; its layers are read with :func:`cimkit.io.vector.read_layer`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import geopandas as gpd
>>> import pandas as pd
>>> from shapely.geometry import box
>>> parcels = gpd.GeoDataFrame(
...     {"contenance": [400]}, geometry=[box(0, 0, 20, 20)],
...     index=pd.Index(["91999000AB0001"], name="parcel_id"), crs=2154)
>>> with tempfile.TemporaryDirectory() as folder:
...     path = write_gpkg(Path(folder) / "city.gpkg", crs=2154, layers={"parcels": parcels})
...     stored = read_gpkg(path)
>>> stored.layers["parcels"].equals(parcels), stored.crs.to_epsg()
(True, 2154)
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from cimkit import provenance as prov
from cimkit._atomic import atomic_path
from cimkit.errors import CimkitError, FileFormatError, RepairWarning, ValidationError
from cimkit.io.integrity import (
    _check_written_model,
    _list_stored_tables,
    _read_stored_metadata,
    compute_table_sha256,
)
from cimkit.network.graph import Network
from cimkit.raster import Raster

__all__ = ["RESERVED_TABLES", "StoredModel", "read_gpkg", "write_gpkg"]

logger = logging.getLogger(__name__)

#: Table (and layer) name of the DEM.
DEM_TABLE = "dem"
META_TABLE = "cimkit_metadata"
PROVENANCE_TABLE = "cimkit_provenance"
#: Table names a layer may not take.
RESERVED_TABLES = frozenset({META_TABLE, PROVENANCE_TABLE, DEM_TABLE})
FORMAT_VERSION = 1
_OLD_DEM_KEY = "terrain"  # files written before the DEM table was named "dem"


@dataclass(frozen=True, kw_only=True)
class StoredModel:
    """The parts of a city model as stored in one GeoPackage.

    Attributes
    ----------
    name
        The model's name.
    crs
        The model's CRS.
    layers
        Vector layers (GeoDataFrames) and attribute tables (DataFrames) by name, each with its
        provenance record attached (``attrs["provenance"]``).
    networks
        Networks by kind, with their records attached.
    dem
        The DEM, or None.
    records
        The provenance record of every layer by name (``network_<kind>`` for networks,
        ``dem`` for the DEM).

    Examples
    --------
    >>> stored = StoredModel(name="empty", crs=CRS.from_epsg(2154))
    >>> stored.name, stored.layers, stored.dem is None
    ('empty', {}, True)
    """

    name: str
    crs: CRS
    layers: dict[str, pd.DataFrame] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    dem: Raster | None = None
    records: dict[str, prov.Provenance] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- writing
def write_gpkg(
    path: str | os.PathLike[str],
    *,
    crs: Any,
    name: str = "city",
    layers: Mapping[str, pd.DataFrame] | None = None,
    networks: Mapping[str, Network] | None = None,
    dem: Raster | None = None,
    records: Mapping[str, prov.Provenance] | None = None,
) -> Path:
    """Write the parts of a city model to ONE GeoPackage, atomically.

    Parameters
    ----------
    path
        The destination, ending in ``.gpkg``; an existing file is replaced only once the new
        one is complete.
    crs
        The model's CRS (stored as WKT). The layers are expected to be in it already.
    name
        The model's name.
    layers
        Vector layers and attribute tables by name; a name may not be one of
        :data:`RESERVED_TABLES` nor start with ``network_``.
    networks
        Networks by kind.
    dem
        The DEM. It is stored as float32 (the GeoPackage coverage type); a float64 DEM is cast
        with a warning that states the largest change (in the DEM's units).
    records
        Provenance records by layer name.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValidationError
        The path does not end in ``.gpkg`` or a layer name is reserved.

    Examples
    --------
    >>> import tempfile
    >>> import pyogrio
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_gpkg(Path(folder) / "empty.gpkg", crs="EPSG:2154", name="empty")
    ...     sorted(name for name, _ in pyogrio.list_layers(path))
    ['cimkit_metadata', 'cimkit_provenance']
    """
    import pyogrio

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise ValidationError(
            f"a city model is saved as a GeoPackage; the path must end in .gpkg, not {path.name!r}"
        )
    layers, networks, records = dict(layers or {}), dict(networks or {}), dict(records or {})
    for table in layers:
        if table in RESERVED_TABLES or table.startswith("network_"):
            raise ValidationError(
                f"layer name {table!r} is reserved in a city-model GeoPackage "
                f"({', '.join(sorted(RESERVED_TABLES))}, network_*)"
            )
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "cimkit_version": prov.get_library_versions().get("cimkit"),
        "name": name,
        "crs": CRS.from_user_input(crs).to_wkt(),
        "layers": {},
        "networks": {},
        "dem": None,
    }
    with atomic_path(path, verify=lambda tmp: _check_written_model(tmp, meta, len(records))) as tmp:
        if dem is not None:
            meta["dem"] = _write_dem(dem, tmp)
            if meta["dem"]["cast"] is not None:
                records[DEM_TABLE] = _record_cast(records.get(DEM_TABLE), meta["dem"]["cast"], dem)
        for table, layer in layers.items():
            meta["layers"][table] = _write_frame(layer, tmp, table)
        for kind, net in networks.items():
            meta["networks"][kind] = {
                "nodes": _write_frame(net.nodes, tmp, f"network_{kind}_nodes"),
                "edges": _write_frame(net.edges, tmp, f"network_{kind}_edges"),
                "report": prov._jsonable(net.report),
            }
        pyogrio.write_dataframe(
            pd.DataFrame(
                {"layer": list(records), "record": [r.to_json() for r in records.values()]},
                columns=["layer", "record"],
            ).astype({"layer": object, "record": object}),
            tmp,
            layer=PROVENANCE_TABLE,
            driver="GPKG",
        )
        meta["sha256"] = {table: compute_table_sha256(tmp, table) for table in _list_stored_tables(meta)}
        pyogrio.write_dataframe(
            pd.DataFrame({"key": ["cimkit"], "value": [json.dumps(meta, ensure_ascii=False)]}),
            tmp,
            layer=META_TABLE,
            driver="GPKG",
        )
    logger.info("city model written to %s", path)
    return path


def _record_cast(
    record: prov.Provenance | None,
    cast: Mapping[str, Any],
    dem: Raster,
    *,
    layer: str = DEM_TABLE,
    store: str = "the GeoPackage coverage type",
) -> prov.Provenance:
    """Return a copy of the DEM's record with the float32 cast as a step (the model's own is untouched).

    ``store`` says why float32 (the store's DEM type); the folder format calls it too.
    """
    stored = record.copy() if record is not None else prov.Provenance(layer=layer)
    stored.add_step(
        "store_dem_float32",
        f"the DEM was stored as float32, {store}",
        cells=int(dem.values.size),
        from_dtype=cast["from"],
        max_abs_change=cast["max_abs_change"],
    )
    return stored


def _encode_columns(out: pd.DataFrame, geometry_column: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Encode in place the columns GeoPackage cannot hold as they are; return dtypes and encodings."""
    dtypes = {str(c): str(out[c].dtype) for c in out.columns if c != geometry_column}
    encoded: dict[str, str] = {}
    for col in list(out.columns):
        if col == geometry_column:
            continue
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            encoded[str(col)] = "categorical"
            dtypes[str(col)] = json.dumps(
                {
                    "categories": [prov._jsonable(c) for c in series.cat.categories],
                    "ordered": bool(series.cat.ordered),
                }
            )
            out[col] = (
                series.astype(object).where(series.notna(), None).astype(str).where(series.notna(), None)
            )
        elif series.dtype == object and series.map(lambda v: isinstance(v, (list, dict, tuple))).any():
            encoded[str(col)] = "json"
            out[col] = series.map(lambda v: json.dumps(prov._jsonable(v)) if v is not None else None)
        elif series.dtype == object and _all_dates(series):
            encoded[str(col)] = "date"
            out[col] = series.map(lambda v: v.isoformat() if isinstance(v, datetime.date) else None)
        elif series.dtype == object:
            encoded[str(col)] = "object"
    return dtypes, encoded


def _all_dates(series: pd.Series) -> bool:
    """Tell whether every non-null cell is a calendar date (``datetime.date``, not a datetime)."""
    values = series.dropna()
    return bool(len(values)) and all(
        isinstance(v, datetime.date) and not isinstance(v, datetime.datetime) for v in values
    )


def _write_frame(frame: pd.DataFrame, path: Path, table: str) -> dict[str, Any]:
    """Write one (Geo)DataFrame as a GeoPackage table; return what is needed to restore it exactly."""
    import pyogrio

    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    geometry_column = frame._geometry_column_name if is_geo else None
    index_names = [n if n is not None else f"__index_{i}__" for i, n in enumerate(frame.index.names)]
    if len(set(index_names) & set(map(str, frame.columns))):
        raise ValidationError(f"table {table!r}: index name(s) {index_names} clash with column names")
    out = frame.copy()
    out.index = out.index.set_names(index_names)
    out = out.reset_index()
    dtypes, encoded = _encode_columns(out, geometry_column)
    if is_geo:
        out = gpd.GeoDataFrame(out, geometry=geometry_column, crs=frame.crs)
        pyogrio.write_dataframe(out, path, layer=table, driver="GPKG", promote_to_multi=False)
    else:
        pyogrio.write_dataframe(pd.DataFrame(out), path, layer=table, driver="GPKG")
    return {
        "table": table,
        "geometry_column": geometry_column,
        "index": index_names,
        "index_original": [None if n is None else str(n) for n in frame.index.names],
        "columns": [str(c) for c in frame.columns],
        "dtypes": dtypes,
        "encoded": encoded,
        "rows": len(frame),
    }


def _write_dem(dem: Raster, path: Path) -> dict[str, Any]:
    """Append the DEM as a float32 gridded coverage; return what is needed to restore it."""
    import rasterio

    values = dem.values
    cast = None
    if values.dtype != np.float32:
        as32 = values.astype("float32")
        err = float(np.nanmax(np.abs(as32.astype("float64") - values))) if values.size else 0.0
        if values.dtype.kind == "f" and err > 0:
            warnings.warn(
                RepairWarning(
                    f"DEM stored as float32 (GeoPackage gridded coverage): {values.size} cell(s), "
                    f"largest change {err:.2e} {dem.units}; keep the DEM as a GeoTIFF "
                    "(Raster.to_geotiff) where float64 matters",
                    code="MOD101",
                ),
                stacklevel=4,
            )
            cast = {"from": str(values.dtype), "max_abs_change": err}
        values = as32
    nodata = dem.nodata
    nodata_is_nan = nodata is not None and bool(np.isnan(nodata))
    if nodata is None or nodata_is_nan:
        fill = np.float32(-3.4e38)
        values = np.where(np.isnan(values), fill, values).astype("float32")
        nodata_written = float(fill)
    else:
        nodata_written = float(nodata)
    with rasterio.open(
        path,
        "w",
        driver="GPKG",
        width=dem.shape[1],
        height=dem.shape[0],
        count=1,
        dtype="float32",
        crs=dem.crs.to_wkt() if dem.crs else None,
        transform=dem.transform,
        nodata=nodata_written,
        RASTER_TABLE=DEM_TABLE,
        TILE_FORMAT="TIFF",
        APPEND_SUBDATASET="YES" if path.exists() else "NO",
    ) as dst:
        dst.write(values, 1)
    return {
        "table": DEM_TABLE,
        "nodata": None if nodata is None or nodata_is_nan else float(nodata),
        "nodata_is_nan": nodata_is_nan,
        "nodata_written": nodata_written,
        "units": dem.units,
        "dtype_written": "float32",
        "dtype_original": str(dem.values.dtype),
        "cast": cast,
    }


# ---------------------------------------------------------------------------------- reading
def read_gpkg(path: str | os.PathLike[str]) -> StoredModel:
    """Read the parts of a city model written by :func:`write_gpkg`.

    Parameters
    ----------
    path
        A ``.gpkg`` written by :func:`write_gpkg` (or :meth:`cimkit.model.CityModel.to_file`).

    Returns
    -------
    StoredModel
        Every layer with its rows, columns (order and dtypes), index and CRS, every network,
        the DEM, and the provenance records (also attached to each part).

    Raises
    ------
    CimkitIOError
        The file does not exist (``MOD001``).
    FileFormatError
        The file is not a GeoPackage (``MOD002``), is empty (``MOD003``), truncated or
        corrupted (``MOD004``), was not written by cimkit (no ``cimkit_metadata`` table,
        ``MOD005``), has a damaged metadata table (``MOD006``), uses a newer format than this
        cimkit reads (``MOD007``) or lacks a table its metadata lists (``MOD008``).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from affine import Affine
    >>> dem = Raster(np.array([[40.0, 41.0], [39.0, 38.5]], dtype="float32"),
    ...              Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     stored = read_gpkg(write_gpkg(Path(folder) / "dem.gpkg", crs=2154, dem=dem))
    >>> stored.dem.values.tolist(), stored.dem.bounds
    ([[40.0, 41.0], [39.0, 38.5]], (651000.0, 6847000.0, 651010.0, 6847010.0))
    """
    import pyogrio

    path = Path(path)
    meta, tables = _read_stored_metadata(path, format_version=FORMAT_VERSION)
    crs = _parse(path, META_TABLE, lambda: CRS.from_wkt(meta["crs"]))
    records: dict[str, prov.Provenance] = {}
    if PROVENANCE_TABLE in tables:
        frame = _parse(
            path,
            PROVENANCE_TABLE,
            lambda: pyogrio.read_dataframe(path, layer=PROVENANCE_TABLE, read_geometry=False),
        )
        records = _parse(
            path,
            PROVENANCE_TABLE,
            lambda: {row.layer: prov.Provenance.from_json(row.record) for row in frame.itertuples()},
        )
    if _OLD_DEM_KEY in records:
        records[DEM_TABLE] = records.pop(_OLD_DEM_KEY)
        records[DEM_TABLE].layer = DEM_TABLE
    layers: dict[str, pd.DataFrame] = {}
    for table, spec in meta["layers"].items():
        frame = _read_table(path, tables, spec, crs, _record(records, table))
        layers[table] = prov.attach(frame, _record(records, table))
    networks: dict[str, Network] = {}
    for kind, spec in meta["networks"].items():
        record = _record(records, f"network_{kind}")
        nodes = _read_table(path, tables, spec["nodes"], crs, record)
        edges = _read_table(path, tables, spec["edges"], crs, record)
        net = _build_network(path, kind, nodes, edges, spec.get("report"))
        networks[kind] = prov.attach(net, record)
    dem = None
    dem_spec = meta.get("dem") or meta.get(_OLD_DEM_KEY)
    if dem_spec:
        _require_table(path, tables, dem_spec["table"])
        dem = prov.attach(
            _parse(path, DEM_TABLE, lambda: _read_dem(path, dem_spec, crs)), _record(records, DEM_TABLE)
        )
    return StoredModel(
        name=meta.get("name", "city"), crs=crs, layers=layers, networks=networks, dem=dem, records=records
    )


def _build_network(path: Path, kind: str, nodes: Any, edges: Any, report: Any) -> Network:
    return _parse(path, f"network_{kind}", lambda: Network(nodes, edges, kind=kind, report=report))


def _record(records: dict[str, prov.Provenance], name: str) -> prov.Provenance:
    """Return the record of ``name``, created (and kept in ``records``) when the file has none."""
    return records.setdefault(name, prov.Provenance(layer=name))


def _parse(path: Path, table: str, read: Any) -> Any:
    """Run ``read()``; re-raise any failure but a cimkit error as a typed ``MOD004`` naming the table."""
    try:
        return read()
    except CimkitError:
        raise
    except Exception as err:
        raise FileFormatError(
            f"table {table!r} cannot be read: the file is corrupted ({type(err).__name__}: {err})",
            path=path,
            layer=table,
            hint="restore the file from a copy or save the model again.",
            code="MOD004",
        ) from err


def _require_table(path: Path, tables: set[str], table: str) -> None:
    if table not in tables:
        raise FileFormatError(
            f"table {table!r} listed in the metadata is missing from the file",
            path=path,
            layer=table,
            hint="the file was changed outside cimkit; restore it or save the model again.",
            code="MOD008",
        )


def _read_table(
    path: Path, tables: set[str], spec: Mapping[str, Any], crs: CRS, record: prov.Provenance
) -> pd.DataFrame:
    _require_table(path, tables, spec["table"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = _parse(path, spec["table"], lambda: _read_frame(path, spec, crs))
    for warning in caught:
        if isinstance(warning.message, RepairWarning) and warning.message.code == "MOD102":
            column = str(warning.message).split("column ", 1)[-1].split(" ", 1)[0].strip("'")
            record.add_step("restore_dtype", str(warning.message), column=column, rows=len(frame))
        warnings.warn(warning.message, stacklevel=4)
    return frame


def _decode_column(frame: pd.DataFrame, col: str, dtype: str, kind: str | None, where: str) -> None:
    """Restore one column in place to the dtype it had when written."""
    series = frame[col]
    if kind == "categorical":
        info = json.loads(dtype)
        frame[col] = pd.Categorical(
            series.where(series.notna(), None), categories=info["categories"], ordered=info["ordered"]
        )
    elif kind == "json":
        frame[col] = series.map(lambda v: json.loads(v) if isinstance(v, str) else None).astype(object)
    elif kind == "date":
        frame[col] = series.map(
            lambda v: datetime.date.fromisoformat(v) if isinstance(v, str) else None
        ).astype(object)
    elif kind == "object":
        frame[col] = series.astype(object).where(series.notna(), None)
    elif str(series.dtype) != dtype:
        try:
            frame[col] = series.astype(dtype)
        except (TypeError, ValueError) as err:
            warnings.warn(
                RepairWarning(
                    f"{where}: column {col!r} restored as {series.dtype}, not {dtype} ({err}); "
                    f"{len(series)} row(s) kept as read",
                    code="MOD102",
                ),
                stacklevel=5,
            )


def _read_frame(path: Path, spec: Mapping[str, Any], crs: CRS) -> pd.DataFrame:
    """Read one table written by :func:`_write_frame` with its index, column order and dtypes."""
    import pyogrio

    geometry_column = spec["geometry_column"]
    frame = pyogrio.read_dataframe(
        path, layer=spec["table"], read_geometry=geometry_column is not None, fid_as_index=False
    )
    if geometry_column is not None and frame.geometry.name != geometry_column:
        frame = frame.rename_geometry(geometry_column)
    for col, dtype in spec["dtypes"].items():
        if col not in frame.columns:
            raise FileFormatError(
                f"column {col!r} is missing from table {spec['table']!r}",
                path=path,
                layer=spec["table"],
                hint="the file was changed outside cimkit; re-create it.",
                code="MOD008",
            )
        _decode_column(frame, col, dtype, spec["encoded"].get(col), f"{path}: table {spec['table']!r}")
    frame = frame.set_index(spec["index"])
    frame.index = frame.index.set_names(spec["index_original"])
    frame = frame[spec["columns"]]
    if geometry_column is not None:
        frame = gpd.GeoDataFrame(frame, geometry=geometry_column, crs=crs)
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def _read_dem(path: Path, spec: Mapping[str, Any], crs: CRS) -> Raster:
    """Read the DEM coverage written by :func:`_write_dem`."""
    import rasterio

    with rasterio.open(path, TABLE=spec["table"]) as src:
        values = src.read(1)
        transform = src.transform
    if spec.get("nodata_is_nan") or spec.get("nodata") is None:
        values = np.where(values == np.float32(spec["nodata_written"]), np.nan, values).astype("float32")
    nodata = np.nan if spec.get("nodata_is_nan") else spec.get("nodata")
    if spec.get("dtype_original") and spec["dtype_original"] != "float32" and spec.get("cast") is None:
        values = values.astype(spec["dtype_original"])
    return Raster(values, transform, crs, nodata=nodata, units=spec.get("units", "m"))
