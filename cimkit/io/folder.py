"""The folder model format: a city model as a folder (or a stored ``.zip``) of GeoParquet files.

:func:`write_folder` writes the parts of a model beside each other, one file per part, and
:func:`read_folder` reads back the parts asked for (all by default) as a
:class:`~cimkit.io.gpkg.StoredModel`, the return type of the GeoPackage store. It is meant for
large cities: a file per layer, read lazily, fast to write and read (see ``docs/formats.md``,
"The folder format"). The suggested name is ``<city>.cimkit`` (a folder) or ``<city>.cimkit.zip``.

The layout::

    city.cimkit/
        manifest.json                 format, version, CRS, layers, files with sha256, provenance
        <layer>.parquet               one GeoParquet 1.1 file per layer or attribute table
        network_<kind>_nodes.parquet  the nodes and edges of each network
        network_<kind>_edges.parquet
        dem.tif                       the DEM as a Cloud-Optimised GeoTIFF (float32, nodata kept)

Each vector layer is GeoParquet 1.1 (WKB, a ``bbox`` covering column, zstd), its rows sorted
along a Hilbert curve of their centres in row groups of 8192 rows, so that a ``bbox`` read
opens only the row groups whose bbox statistics meet it. Rows, column order, dtypes
(nullable, categorical, datetime with time zone, lists and dicts as JSON), index and its
name(s), CRS, networks, the DEM and the provenance records (in model order) come back exactly.

A save writes a temporary sibling folder, verifies it (every file, its size and row count) and
swaps it with the destination in one atomic rename; an interrupted save leaves the previous
model and no temporary. A ``.zip`` is written to a temporary file and renamed over.

Reading checks the size and sha256 of every file it reads against the manifest; a missing
file, a damaged manifest, a changed file or a member name leaving the folder raise typed errors
with an ``FLD`` code (``docs/errors.md``).

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
...     path = write_folder(Path(folder) / "city.cimkit", crs=2154, layers={"parcels": parcels})
...     stored = read_folder(path)
...     files = sorted(p.name for p in path.iterdir())
>>> stored.layers["parcels"].equals(parcels), stored.crs.to_epsg(), files
(True, 2154, ['manifest.json', 'parcels.parquet'])
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from pyproj import CRS

from cimkit import provenance as prov
from cimkit._atomic import atomic_path
from cimkit.errors import CimkitError, FileFormatError, LayerNotFoundError, RepairWarning, ValidationError
from cimkit.io import _folder_dem as _dem
from cimkit.io import _folder_table as _table
from cimkit.io._folder_files import FORMAT_NAME, MANIFEST, Container, atomic_folder, write_member
from cimkit.io.gpkg import StoredModel
from cimkit.network.graph import Network
from cimkit.raster import Raster

__all__ = ["FOLDER_SUFFIX", "FORMAT_NAME", "check_folder_model", "read_folder", "write_folder"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: The suggested suffix of a folder model (``city.cimkit``; ``city.cimkit.zip`` zipped).
FOLDER_SUFFIX = ".cimkit"
DEM_FILE = "dem.tif"
DEM_PART = "dem"
#: Threads encoding or decoding the files of one model at once.
_WORKERS = min(4, os.cpu_count() or 1)
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$")


def _file_for(part: str) -> str:
    """Return the file name of a part: its own name when it is a safe file name, else a digest."""
    if _SAFE.match(part) and part.lower() != MANIFEST:
        return f"{part}.parquet"
    return f"layer_{hashlib.sha1(part.encode('utf-8')).hexdigest()[:16]}.parquet"


# ---------------------------------------------------------------------------------- writing
def write_folder(
    path: str | os.PathLike[str],
    *,
    crs: Any,
    name: str = "city",
    layers: Mapping[str, pd.DataFrame] | None = None,
    networks: Mapping[str, Network] | None = None,
    dem: Raster | None = None,
    records: Mapping[str, prov.Provenance] | None = None,
) -> Path:
    """Write the parts of a city model as a folder (or a stored ``.zip``) of GeoParquet files, atomically.

    Parameters
    ----------
    path
        The destination folder (suggested suffix ``.cimkit``), or a path ending in ``.zip`` for
        one stored (not deflated) zip of the same layout. An existing folder is replaced only
        when it holds a folder model (or is empty), and only once the new one is complete.
    crs
        The model's CRS. The layers are expected to be in it already.
    name
        The model's name.
    layers
        Vector layers and attribute tables by name; a name may not be ``dem`` nor start with
        ``network_``.
    networks
        Networks by kind.
    dem
        The DEM, stored as a float32 Cloud-Optimised GeoTIFF; another dtype is cast, with a
        warning (FLD101) when values change.
    records
        Provenance records by layer name, kept in this order.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValidationError
        A layer name is reserved, or an index name clashes with a column (FLD012).
    CimkitIOError
        The destination is a file or a folder that is not a folder model (FLD010), or the
        write failed (WRT codes).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from affine import Affine
    >>> dem = Raster(np.array([[40.0, 41.0], [39.0, np.nan]], dtype="float32"),
    ...              Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154", nodata=np.nan)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_folder(Path(folder) / "city.cimkit.zip", crs=2154, name="demo", dem=dem)
    ...     print(zipfile.ZipFile(path).namelist())
    ['dem.tif', 'manifest.json']
    """
    path = Path(path)
    layers, networks, records = dict(layers or {}), dict(networks or {}), dict(records or {})
    for table in layers:
        if table == DEM_PART or str(table).startswith("network_"):
            raise ValidationError(
                f"layer name {table!r} is reserved in a folder model (dem, network_*)",
                layer=str(table),
                hint="rename the layer.",
                code="FLD012",
            )
    crs = CRS.from_user_input(crs)
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "cimkit_version": prov.get_library_versions().get("cimkit"),
        "name": name,
        "crs": crs.to_wkt(),
        "epsg": crs.to_epsg(),
        "layers": {},
        "networks": {},
        "dem": None,
        "files": {},
        "records": [],
    }
    parts = _encode_parts(layers, networks, dem, records, manifest)
    if path.suffix.lower() == ".zip":
        with atomic_path(path, verify=lambda tmp: _verify_zip(tmp, manifest)) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                for file, data in _files(parts, manifest, crs):
                    archive.writestr(zipfile.ZipInfo(file, (2000, 1, 1, 0, 0, 0)), memoryview(data))
    else:
        with atomic_folder(path, verify=lambda tmp: _verify_folder(tmp, manifest)) as tmp:
            for file, data in _files(parts, manifest, crs):
                write_member(tmp, file, data)
    logger.info("city model written to %s", path)
    return path


def _encode_parts(
    layers: Mapping[str, pd.DataFrame],
    networks: Mapping[str, Network],
    dem: Raster | None,
    records: dict[str, prov.Provenance],
    manifest: dict[str, Any],
) -> list[tuple[str, Any, dict[str, Any]]]:
    """Check every frame and fill the manifest's specs; return (file, what to write, spec) per file."""
    parts: list[tuple[str, Any, dict[str, Any]]] = []
    for table, layer in layers.items():
        out, spec, bounds = _table.encode_frame(layer, table)
        spec["file"] = _file_for(table)
        manifest["layers"][table] = spec
        parts.append((spec["file"], (out, bounds), spec))
    for kind, net in networks.items():
        entry: dict[str, Any] = {"report": prov._jsonable(net.report)}
        for role, frame in (("nodes", net.nodes), ("edges", net.edges)):
            out, spec, bounds = _table.encode_frame(frame, f"network_{kind}_{role}")
            spec["file"] = f"network_{kind}_{role}.parquet"
            entry[role] = spec
            parts.append((spec["file"], (out, bounds), spec))
        manifest["networks"][kind] = entry
    if dem is not None:
        manifest["dem"] = {"file": DEM_FILE, "units": dem.units, "dtype_original": str(dem.values.dtype)}
        cast = _dem.dem_cast(dem)
        manifest["dem"]["cast"] = cast
        if cast is not None:
            records[DEM_PART] = _dem.record_cast(records.get(DEM_PART), cast, dem)
        parts.append((DEM_FILE, dem, manifest["dem"]))
    manifest["records"] = [[layer, json.loads(record.to_json())] for layer, record in records.items()]
    return parts


def _files(parts: list[tuple[str, Any, dict[str, Any]]], manifest: dict[str, Any], crs: CRS) -> Any:
    """Yield (file name, bytes) of every part, then of the manifest; record sizes and digests."""
    from cimkit.io._folder_files import _sha256

    def encode(item: tuple[str, Any, dict[str, Any]]) -> tuple[Any, str]:
        file, part, spec = item
        if file == DEM_FILE:
            data = _dem.write_dem(part, spec)
        else:
            data = _table.write_table_bytes(part[0], part[1], spec, crs)
        return data, _sha256(data)

    # files are encoded in parallel while the previous ones are written (zstd, hashing and the
    # Parquet writer release the GIL)
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="cimkit-write") as pool:
        for (file, _, _), (data, digest) in zip(parts, pool.map(encode, parts), strict=True):
            manifest["files"][file] = {"sha256": digest, "size_bytes": len(memoryview(data))}
            yield file, data
    yield MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")


def _verify_folder(tmp: Path, manifest: Mapping[str, Any]) -> str | None:
    """Check the temporary folder holds every file with its size and every table its row count."""
    import pyarrow.parquet as pq

    for file, entry in manifest["files"].items():
        member = tmp / file
        if not member.is_file() or member.stat().st_size != entry["size_bytes"]:
            return f"file {file!r} is missing or has the wrong size"
    json.loads((tmp / MANIFEST).read_text(encoding="utf-8"))
    for spec in _table_specs(manifest):
        rows = pq.read_metadata(tmp / spec["file"]).num_rows
        if rows != spec["rows"]:
            return f"file {spec['file']!r} holds {rows} rows, {spec['rows']} were written"
    return None


def _verify_zip(tmp: Path, manifest: Mapping[str, Any]) -> str | None:
    with zipfile.ZipFile(tmp) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
        json.loads(archive.read(MANIFEST))
    for file, entry in manifest["files"].items():
        if sizes.get(file) != entry["size_bytes"]:
            return f"member {file!r} is missing or has the wrong size"
    return None


def _table_specs(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    specs = list(manifest["layers"].values())
    for entry in manifest["networks"].values():
        specs += [entry["nodes"], entry["edges"]]
    return specs


# ---------------------------------------------------------------------------------- reading
def read_folder(
    path: str | os.PathLike[str],
    *,
    layers: Sequence[str] | None = None,
    bbox: Sequence[float] | None = None,
) -> StoredModel:
    """Read the parts of a city model written by :func:`write_folder`, all or some of them, lazily.

    Only the files of the parts asked for are opened; each is checked against the size and
    sha256 the manifest records before its content is used.

    Parameters
    ----------
    path
        A folder (or ``.zip``) written by :func:`write_folder`.
    layers
        Names of the parts to load (layer names, ``network_<kind>``, ``dem``); default all.
    bbox
        ``(minx, miny, maxx, maxy)`` in the model CRS: load only the features whose geometry
        meets it (the row groups whose bbox statistics meet it are read, then the features are
        tested exactly), the DEM window covering it (None when it misses the DEM), and the
        network edges meeting it with their end nodes and the nodes inside it. Attribute tables
        are read whole.

    Returns
    -------
    StoredModel
        The layers (rows in their saved order, column order, dtypes, index, CRS), networks,
        DEM and the provenance records of the parts read, in model order.

    Raises
    ------
    CimkitIOError
        The path does not exist (FLD001).
    FileFormatError
        No manifest (FLD002), a damaged manifest (FLD003), a newer format (FLD004), a listed
        file missing (FLD005) or changed (FLD006), an unsafe member name (FLD007), an
        unreadable file (FLD008), or a zip that cannot be opened (FLD011).
    LayerNotFoundError
        A name in ``layers`` is not in the model (FLD009).

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> pois = gpd.GeoDataFrame({"category": ["school", "bakery"]},
    ...                         geometry=[Point(10, 10), Point(500, 500)], crs=2154)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_folder(Path(folder) / "city.cimkit", crs=2154, layers={"pois": pois})
    ...     part = read_folder(path, layers=["pois"], bbox=(0, 0, 100, 100))
    >>> part.layers["pois"]["category"].tolist()
    ['school']
    """
    path = Path(path)
    container = Container(path)
    try:
        return _read(container, layers, bbox)
    finally:
        container.close()


def _read(container: Container, wanted: Sequence[str] | None, bbox: Sequence[float] | None) -> StoredModel:
    manifest = container.manifest()
    path = container.path
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise FileFormatError(
            f"the model uses folder format {manifest['format_version']}, newer than this cimkit "
            f"reads ({FORMAT_VERSION})",
            path=path,
            hint="upgrade cimkit.",
            code="FLD004",
        )
    crs = _parse(container, MANIFEST, MANIFEST, lambda: CRS.from_wkt(manifest["crs"]))
    parts = [*manifest["layers"], *(f"network_{k}" for k in manifest["networks"])]
    parts += [DEM_PART] if manifest.get("dem") else []
    if wanted is not None:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        missing = [w for w in wanted if w not in parts]
        if missing:
            raise LayerNotFoundError(
                f"no part named {', '.join(map(repr, missing))} in the model; it holds: {', '.join(parts)}",
                path=path,
                layer=missing[0],
                hint="name layers, network_<kind> or dem as listed.",
                code="FLD009",
            )
    chosen = parts if wanted is None else [p for p in parts if p in wanted]
    records = _parse(
        container,
        MANIFEST,
        MANIFEST,
        lambda: {layer: prov.Provenance.from_json(json.dumps(r)) for layer, r in manifest.get("records", [])},
    )
    records = {k: v for k, v in records.items() if k in chosen}
    out: dict[str, pd.DataFrame] = {}
    networks: dict[str, Network] = {}
    dem = None
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="cimkit-read") as pool:
        # parts are decoded in parallel (Parquet decoding and hashing release the GIL)
        tables = {
            table: pool.submit(_read_table, container, manifest, spec, crs, table, bbox)
            for table, spec in manifest["layers"].items()
            if table in chosen
        }
        nets = {
            kind: pool.submit(_read_network, container, manifest, entry, crs, kind, bbox)
            for kind, entry in manifest["networks"].items()
            if f"network_{kind}" in chosen
        }
        grid = pool.submit(_read_dem, container, manifest, crs, bbox) if DEM_PART in chosen else None
        for table, job in tables.items():
            frame, problems = job.result()
            _warn(problems)
            out[table] = prov.attach(frame, records.setdefault(table, prov.Provenance(layer=table)))
        for kind, job in nets.items():
            net, problems = job.result()
            _warn(problems)
            part = f"network_{kind}"
            networks[kind] = prov.attach(net, records.setdefault(part, prov.Provenance(layer=part)))
        dem = grid.result() if grid is not None else None
        if dem is not None:
            dem = prov.attach(dem, records.setdefault(DEM_PART, prov.Provenance(layer=DEM_PART)))
    order = {name: i for i, (name, _) in enumerate(manifest.get("records", []))}
    records = dict(sorted(records.items(), key=lambda item: order.get(item[0], len(order))))
    return StoredModel(
        name=manifest.get("name", "city"), crs=crs, layers=out, networks=networks, dem=dem, records=records
    )


def _parse(container: Container, file: str, layer: str, read: Any) -> Any:
    """Run ``read()``; re-raise any failure but a cimkit error as a typed FLD008 naming the file."""
    try:
        return read()
    except CimkitError:
        raise
    except Exception as err:
        raise FileFormatError(
            f"file {file!r} cannot be read ({type(err).__name__}: {err})",
            path=container.path,
            layer=layer,
            hint="restore the model from a copy or save it again.",
            code="FLD008",
        ) from err


def _load(container: Container, manifest: Mapping[str, Any], file: str, layer: str, decode: Any) -> Any:
    """Read one file, decode it while its sha256 is computed, and check the digest."""
    entry = manifest["files"].get(file)
    if not isinstance(entry, dict):
        raise FileFormatError(
            f"{MANIFEST} lists no size and sha256 for {file!r}",
            path=container.path,
            layer=layer,
            hint="restore the model from a copy or save it again.",
            code="FLD003",
        )
    data, digest = container.read_checked(file, entry, layer)
    try:
        result = decode(data)
    except CimkitError:
        raise
    except Exception as err:
        container.check_digest(file, entry, layer, digest)  # a changed file explains the failure
        raise FileFormatError(
            f"file {file!r} cannot be read ({type(err).__name__}: {err})",
            path=container.path,
            layer=layer,
            hint="restore the model from a copy or save it again.",
            code="FLD008",
        ) from err
    container.check_digest(file, entry, layer, digest)
    return result


def _read_table(
    container: Container,
    manifest: Mapping[str, Any],
    spec: Mapping[str, Any],
    crs: CRS,
    layer: str,
    bbox: Sequence[float] | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Read one table (in a worker thread); return it and the columns not restored to their dtype."""
    frame, _, problems = _load(
        container,
        manifest,
        spec["file"],
        layer,
        lambda data: _table.read_table_bytes(data, spec, crs, bbox=bbox),
    )
    return frame, [f"{container.path}: {layer}: {p}" for p in problems]


def _warn(problems: list[str]) -> None:
    for problem in problems:
        warnings.warn(RepairWarning(problem, code="FLD102"), stacklevel=4)


def _read_network(
    container: Container,
    manifest: Mapping[str, Any],
    entry: Mapping[str, Any],
    crs: CRS,
    kind: str,
    bbox: Sequence[float] | None,
) -> tuple[Network, list[str]]:
    part = f"network_{kind}"
    edges, problems = _read_table(container, manifest, entry["edges"], crs, part, bbox)
    nodes, more = _read_table(container, manifest, entry["nodes"], crs, part, None)
    if bbox is not None and "u" in edges.columns and "v" in edges.columns:
        import shapely

        inside = (
            shapely.intersects(nodes.geometry.array, shapely.box(*map(float, bbox)))
            if hasattr(nodes, "geometry")
            else False
        )
        nodes = nodes[inside | nodes.index.isin(edges["u"]) | nodes.index.isin(edges["v"])]
    net = _parse(
        container,
        entry["edges"]["file"],
        part,
        lambda: Network(nodes, edges, kind=kind, report=entry.get("report")),
    )
    return net, problems + more


def _read_dem(
    container: Container, manifest: Mapping[str, Any], crs: CRS, bbox: Sequence[float] | None
) -> Raster | None:
    spec = manifest["dem"]
    return _load(
        container, manifest, spec["file"], DEM_PART, lambda data: _dem.decode_dem(data, spec, crs, bbox)
    )


# ---------------------------------------------------------------------------------- checking
def check_folder_model(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Re-hash the files of a folder model and the source files of its provenance (``cimkit verify``).

    Parameters
    ----------
    path
        A folder (or ``.zip``) written by :func:`write_folder`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`cimkit.io.integrity.check_model_file`: one row per file of the
        model (``kind`` ``"layer"``; ``"mismatch"`` when changed, ``"missing"`` when gone) and
        per source file recorded in a layer's provenance (``kind`` ``"source"``).

    Raises
    ------
    CimkitIOError, FileFormatError
        The path is missing or holds no readable manifest (FLD codes).

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> pois = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(0, 0)], crs=2154)
    >>> path = write_folder(Path(tempfile.mkdtemp()) / "city.cimkit", crs=2154, layers={"pois": pois})
    >>> _ = (path / "pois.parquet").write_bytes(b"changed")
    >>> check_folder_model(path)[["item", "status"]].values.tolist()
    [['pois.parquet', 'mismatch']]
    """
    from cimkit.io._folder_files import _sha256
    from cimkit.io.integrity import _COLUMNS, _file_row, _resolve

    path = Path(path)
    container = Container(path)
    try:
        manifest = container.manifest()
        owners = {spec["file"]: table for table, spec in manifest["layers"].items()}
        for kind, entry in manifest["networks"].items():
            owners.update({entry[r]["file"]: f"network_{kind}" for r in ("nodes", "edges")})
        rows = []
        for file, entry in manifest["files"].items():
            current = _sha256(container.read(file)) if container.size(file) is not None else None
            recorded = entry.get("sha256") if isinstance(entry, dict) else None
            status = "missing" if current is None else ("ok" if current == recorded else "mismatch")
            rows.append([file, "layer", owners.get(file, DEM_PART), str(path), recorded, current, status])
    finally:
        container.close()
    table = pd.DataFrame(rows, columns=_COLUMNS)
    sources = []
    for layer, record in manifest.get("records", []):
        for source in prov.Provenance.from_json(json.dumps(record)).source_files:
            where = _resolve(source.path, path.parent)
            sources.append(_file_row(Path(source.path).name, "source", layer, where, source.sha256))
    return (
        pd.concat([table, pd.DataFrame(sources, columns=_COLUMNS)], ignore_index=True) if sources else table
    )


def _is_folder_path(path: str | os.PathLike[str]) -> bool:
    """Tell whether ``path`` names a folder model: a folder, a ``.cimkit`` path or a ``.zip``."""
    path = Path(path)
    name = path.name.lower()
    return path.is_dir() or name.endswith((FOLDER_SUFFIX, ".zip"))
