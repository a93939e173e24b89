"""glTF / GLB and 3D Tiles 1.1 output of buildings, with per-building feature ids and attributes.

:func:`write_glb` writes one binary glTF of all buildings; :func:`write_3dtiles` writes a 3D Tiles
1.1 tileset (``tileset.json`` + one GLB per leaf tile of a quadtree); :func:`read_3dtiles` reads
such a tileset back as a buildings layer; :func:`validate_tileset` checks one offline.

Each building is its IFC mesh (``meshes=``, building id -> ``trimesh.Trimesh`` in map
coordinates) or else its LoD1 block (the footprint extruded from ``base_column`` by
``height_column``, or ``storeys`` x 3 m). Every triangle carries the building's feature id
(``_FEATURE_ID_0``, EXT_mesh_features) and the attributes are the rows of an
EXT_structural_metadata property table whose ``id`` property holds the building id (the IFC
GlobalId or the source id). See ``docs/3dtiles.md`` for the frames and the tile tree.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from cimkit import provenance as prov
from cimkit._atomic import write_bytes_atomic
from cimkit.audit import check_publication
from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    QuantityWarning,
    ValidationError,
)
from cimkit.io import _gltf
from cimkit.io import _tiles3d_prepare as _prep

__all__ = ["write_glb", "write_3dtiles", "read_3dtiles", "validate_tileset"]

#: Tiles with children have this fraction of their bounding-box diagonal as geometric error (m/m).
GEOMETRIC_ERROR_FACTOR = 0.5
#: The quadtree is not split deeper than this.
MAX_DEPTH = 12


def write_glb(
    buildings: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    meshes: Mapping[Any, Any] | None = None,
    id_column: str | None = None,
    height_column: str = "height_m",
    base_column: str = "base_elevation_m",
    attributes: Sequence[str] | None = None,
    allow: Mapping[str, str] | None = None,
) -> Path:
    """Write all buildings as one binary glTF with per-building feature ids and attributes, atomically.

    glTF is y-up: a vertex at map position (x, y, z) is stored at
    ``(x - x0, z - z0, -(y - y0))`` where ``(x0, y0, z0)`` is the lower corner of the buildings'
    extent, kept in ``asset.extras["cimkit_origin"]`` with ``asset.extras["crs"]``, so that
    float32 positions stay millimetre-precise.

    Parameters
    ----------
    buildings
        Footprints in a projected CRS, indexed by building id (or with ``id_column``), with
        ``height_column`` (m) or ``storeys``; ``base_column`` (m) is the base elevation (0 if
        missing).
    path
        The ``.glb`` file to write.
    meshes
        Building id -> ``trimesh.Trimesh`` in map coordinates (the IFC meshes); these buildings
        are written as their mesh, the others as LoD1 blocks.
    id_column
        Column holding the building id written as the ``id`` property (default: the index).
    height_column
        Column of building heights, metres.
    base_column
        Column of base elevations, metres.
    attributes
        Columns written as properties (default: every column but the geometry).
    allow
        ``{"buildings": "reason"}`` to publish buildings above the public level; the allowance
        goes to the audit log.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    PublicationError
        PUB001: the buildings are above the public level and not allowed.
    MissingCRSError, GeographicCRSError, ValidationError
        TIL001-TIL005 (no CRS, degrees, nothing to write, duplicate ids, bad option).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io import _gltf
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = write_glb(footprints.head(3), Path(folder.name) / "city.glb")
    >>> doc, binary = _gltf.split_glb(path.read_bytes())
    >>> doc["asset"]["extras"]["crs"], doc["extensionsUsed"]
    ('EPSG:2154', ['EXT_mesh_features', 'EXT_structural_metadata'])
    >>> table = _gltf.read_property_table(doc, binary)
    >>> table["id"][1]
    ['BATI0001', 'BATI0002', 'BATI0003']
    >>> folder.cleanup()
    """
    check_publication(buildings, output=os.fspath(path), allow=allow, name="buildings")
    crs, parts, props, left_out = _prep.prepare(
        buildings, meshes, id_column, height_column, base_column, attributes
    )
    lows = np.array([verts.min(axis=0) for verts, _ in parts]).min(axis=0)
    origin = np.array([math.floor(lows[0]), math.floor(lows[1]), math.floor(lows[2])], dtype="float64")
    extras = {
        "cimkit_origin": origin.tolist(),
        "crs": _prep.crs_label(crs),
        "axes": "x = easting - x0, y = elevation - z0, z = -(northing - y0) (glTF y-up)",
        "buildings_left_out": left_out,
    }
    mesh, _, _ = _prep.mesh_data(parts, lambda v: v - origin, props, extras)
    write_bytes_atomic(path, _gltf.encode_glb(mesh))
    return Path(path)


# --------------------------------------------------------------------------------------------
# 3D Tiles
# --------------------------------------------------------------------------------------------


def _quadtree(
    points: np.ndarray, rows: np.ndarray, bounds: tuple[float, float, float, float], limit: int, depth: int
) -> dict[str, Any]:
    """Split ``rows`` (indices into ``points``) into quadrants until <= ``limit`` per leaf."""
    if len(rows) <= limit or depth >= MAX_DEPTH:
        return {"rows": rows}
    minx, miny, maxx, maxy = bounds
    midx, midy = (minx + maxx) / 2, (miny + maxy) / 2
    east = points[rows, 0] >= midx
    north = points[rows, 1] >= midy
    children = []
    for quadrant, (e, n) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        sel = rows[(east == e) & (north == n)]
        if len(sel):
            box = (midx if e else minx, midy if n else miny, maxx if e else midx, maxy if n else midy)
            child = _quadtree(points, sel, box, limit, depth + 1)
            child["quadrant"] = quadrant
            children.append(child)
    return {"children": children}


def _box(low: np.ndarray, high: np.ndarray) -> list[float]:
    center = (low + high) / 2
    half = np.maximum((high - low) / 2, 0.005)
    return [*map(float, center), float(half[0]), 0.0, 0.0, 0.0, float(half[1]), 0.0, 0.0, 0.0, float(half[2])]


def _write_tiles(
    node: dict[str, Any],
    address: str,
    parts: list[Any],
    props: list[_gltf.Property],
    frame: _prep.Frame,
    folder: Path,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Write the content of ``node``'s leaves under ``folder``; return its tile JSON and z-up bounds."""
    if "rows" in node:
        rows = np.sort(node["rows"])
        mesh, low, high = _prep.mesh_data(
            [parts[i] for i in rows],
            frame.local,
            _prep.subset(props, rows),
            {"cimkit_frame": "tileset root ENU"},
        )
        uri = f"content/{address}.glb"
        with open(folder / uri, "wb") as handle:
            handle.write(_gltf.encode_glb(mesh))
            handle.flush()
            os.fsync(handle.fileno())
        low, high = low - 0.01, high + 0.01  # float32 rounding of the positions
        return (
            {"boundingVolume": {"box": _box(low, high)}, "geometricError": 0.0, "content": {"uri": uri}},
            low,
            high,
        )
    children, lows, highs = [], [], []
    for child in node["children"]:
        tile, low, high = _write_tiles(child, f"{address}{child['quadrant']}", parts, props, frame, folder)
        children.append(tile)
        lows.append(low)
        highs.append(high)
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    error = GEOMETRIC_ERROR_FACTOR * float(np.linalg.norm(high - low))
    return (
        {"boundingVolume": {"box": _box(low, high)}, "geometricError": error, "children": children},
        low,
        high,
    )


def _source_files(buildings: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Return the input files of the layer (name and sha256, from its provenance) for the extras."""
    record = prov.get(buildings)
    if record is None:
        return []
    return [{"name": Path(f.path).name, "sha256": f.sha256} for f in record.source_files]


def _replace_folder(built: Path, final: Path) -> None:
    """Put the finished tileset folder ``built`` in place of ``final``."""
    if final.exists():
        old = final.parent / f".{final.name}.{os.getpid()}.old"
        os.replace(final, old)
        os.replace(built, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(built, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_destination(final: Path) -> None:
    if final.exists() and (
        not final.is_dir() or (any(final.iterdir()) and not (final / "tileset.json").is_file())
    ):
        raise CimkitIOError(
            "the destination exists and is not a 3D Tiles folder (no tileset.json); it is not replaced",
            path=final,
            code="TIL006",
            hint="choose a new or empty folder, or remove the old one.",
        )


def write_3dtiles(
    buildings: gpd.GeoDataFrame,
    folder: str | os.PathLike[str],
    *,
    meshes: Mapping[Any, Any] | None = None,
    id_column: str | None = None,
    height_column: str = "height_m",
    base_column: str = "base_elevation_m",
    max_features_per_tile: int = 500,
    attributes: Sequence[str] | None = None,
    allow: Mapping[str, str] | None = None,
) -> Path:
    """Write buildings as a 3D Tiles 1.1 tileset (quadtree, one GLB per leaf), atomically.

    The tile tree is a quadtree over the buildings' centroids, split until a tile holds at most
    ``max_features_per_tile`` buildings (or 12 levels); content is at the leaves only and the
    root refines by ``ADD``. Positions are in a local east-north-up frame centred on the extent;
    the root ``transform`` (column-major 4x4) takes it to ECEF (EPSG:4978). glTF content is y-up
    and the 3D Tiles runtime turns it z-up. Each GLB keys its buildings by the ``id`` property.
    The folder is written beside the destination, checked by :func:`validate_tileset`, then
    renamed into place.

    Parameters
    ----------
    buildings
        Footprints in a projected CRS, indexed by building id (or with ``id_column``), with
        ``height_column`` (m) or ``storeys``; ``base_column`` (m) is the base elevation.
    folder
        The tileset folder to write (created; an earlier tileset there is replaced).
    meshes
        Building id -> ``trimesh.Trimesh`` in map coordinates (the IFC meshes); the other
        buildings are LoD1 blocks.
    id_column
        Column holding the building id (default: the index).
    height_column
        Column of building heights, metres.
    base_column
        Column of base elevations, metres (taken as ellipsoidal heights, warning TIL103).
    max_features_per_tile
        Most buildings in one tile (GLB).
    attributes
        Columns written as properties (default: every column but the geometry).
    allow
        ``{"buildings": "reason"}`` to publish buildings above the public level.

    Returns
    -------
    Path
        The ``tileset.json`` written.

    Raises
    ------
    PublicationError
        PUB001: the buildings are above the public level and not allowed.
    MissingCRSError, GeographicCRSError, ValidationError, CimkitIOError
        TIL001-TIL007.

    Examples
    --------
    >>> import json, tempfile, warnings
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson")
    >>> folder = tempfile.TemporaryDirectory()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     path = write_3dtiles(footprints, Path(folder.name) / "city", max_features_per_tile=20)
    >>> tileset = json.loads(path.read_text())
    >>> tileset["asset"]["version"], tileset["root"]["refine"], len(tileset["root"]["children"]) > 1
    ('1.1', 'ADD', True)
    >>> validate_tileset(path)
    []
    >>> folder.cleanup()
    """
    if not isinstance(max_features_per_tile, (int, np.integer)) or max_features_per_tile < 1:
        raise ValidationError(
            f"'max_features_per_tile' must be a whole number >= 1; {max_features_per_tile!r} was given.",
            code="TIL005",
        )
    final = Path(folder)
    check_publication(buildings, output=os.fspath(final), allow=allow, name="buildings")
    crs, parts, props, left_out = _prep.prepare(
        buildings, meshes, id_column, height_column, base_column, attributes
    )
    if len(crs.axis_info) < 3:
        warnings.warn(
            QuantityWarning(
                f"3D Tiles: elevations in {_prep.crs_label(crs)} taken as heights above the WGS 84 ellipsoid "
                "(no geoid model applied)",
                code="TIL103",
            ),
            stacklevel=2,
        )
    lows = np.array([v.min(axis=0) for v, _ in parts])
    highs = np.array([v.max(axis=0) for v, _ in parts])
    origin = np.array(
        [
            (lows[:, 0].min() + highs[:, 0].max()) / 2,
            (lows[:, 1].min() + highs[:, 1].max()) / 2,
            lows[:, 2].min(),
        ]
    )
    frame = _prep.Frame(crs, origin)
    centroids = (lows[:, :2] + highs[:, :2]) / 2
    extent = (
        float(lows[:, 0].min()),
        float(lows[:, 1].min()),
        float(highs[:, 0].max()),
        float(highs[:, 1].max()),
    )
    tree = _quadtree(centroids, np.arange(len(parts)), extent, int(max_features_per_tile), 0)
    _check_destination(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        (built / "content").mkdir()
        root, low, high = _write_tiles(tree, "r", parts, props, frame, built)
        root["transform"] = frame.matrix()
        root["refine"] = "ADD"
        tileset = {
            "asset": {"version": "1.1", "generator": "cimkit"},
            "geometricError": float(np.linalg.norm(high - low)),
            "root": root,
            "extras": {
                "cimkit": {
                    "crs": _prep.crs_label(crs),
                    "origin": origin.tolist(),
                    "origin_lon_lat": list(frame.lon_lat),
                    "transform": "root.transform: local east-north-up (m) -> ECEF EPSG:4978, column-major",
                    "height_reference": "ellipsoidal" if len(crs.axis_info) < 3 else "crs",
                    "id_property": "id",
                    "index_name": buildings.index.name if id_column is None else id_column,
                    "feature_count": len(parts),
                    "buildings_left_out": left_out,
                    "max_features_per_tile": int(max_features_per_tile),
                    "source_files": _source_files(buildings),
                }
            },
        }
        (built / "tileset.json").write_text(
            json.dumps(tileset, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        problems = validate_tileset(built / "tileset.json")
        if problems:
            raise CimkitIOError(
                f"the tileset written failed its checks: {problems[:5]}",
                path=final,
                code="TIL007",
                hint="report this problem; the previous output is intact.",
            )
        _replace_folder(built, final)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    return final / "tileset.json"


# --------------------------------------------------------------------------------------------
# Reading and validating
# --------------------------------------------------------------------------------------------


def _tileset_path(source: str | os.PathLike[str]) -> Path:
    path = Path(source)
    if path.is_dir():
        path = path / "tileset.json"
    if not path.is_file():
        raise FileFormatError(
            "no tileset.json here", path=path, code="TIL008", hint="give the tileset.json (or its folder)."
        )
    return path


def _tiles(tile: dict[str, Any], parent_error: float) -> Iterable[tuple[dict[str, Any], float]]:
    yield tile, parent_error
    for child in tile.get("children", []):
        yield from _tiles(child, float(tile.get("geometricError", 0.0)))


def _load(path: Path) -> dict[str, Any]:
    try:
        tileset = json.loads(path.read_text(encoding="utf-8"))
        tileset["root"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FileFormatError(
            f"not a 3D Tiles tileset ({type(err).__name__}: {err})",
            path=path,
            code="TIL008",
            hint="give the tileset.json that write_3dtiles or cimkit convert wrote.",
        ) from err
    return tileset


def _content(path: Path, uri: str) -> tuple[dict[str, Any], bytes, np.ndarray]:
    """Return the glTF document, binary chunk and z-up tile-frame positions of one content file."""
    try:
        doc, binary = _gltf.split_glb((path.parent / uri).read_bytes())
        positions = _gltf.read_accessor(
            doc, binary, doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
        )
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise FileFormatError(
            f"tile content {uri} cannot be read ({type(err).__name__}: {err})",
            path=path,
            code="TIL008",
            hint="write the tileset again; its content files are missing or damaged.",
        ) from err
    z_up = np.column_stack([positions[:, 0], -positions[:, 2], positions[:, 1]]).astype("float64")
    return doc, binary, z_up


def validate_tileset(source: str | os.PathLike[str]) -> list[str]:
    """Check a tileset offline against the 3D Tiles 1.1 and glTF rules cimkit can check.

    Checks: ``asset.version`` 1.1, a 16-number root ``transform``, geometric errors that do not
    grow down the tree, every content GLB passes the glTF checks (header and chunk lengths,
    alignment, buffer views, accessor bounds, feature ids below ``featureCount``, property table
    counts, monotone string offsets) and lies inside its tile's bounding box.

    Parameters
    ----------
    source
        A ``tileset.json`` or its folder.

    Returns
    -------
    list of str
        The problems found; empty when the tileset passes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tileset.json").write_text('{"asset": {"version": "1.0"}, "root": {"geometricError": 1}}')
    >>> validate_tileset(folder)
    ["asset.version is '1.0', not '1.1'"]
    """
    path = _tileset_path(source)
    tileset = _load(path)
    problems = []
    if tileset.get("asset", {}).get("version") != "1.1":
        problems.append(f"asset.version is {tileset.get('asset', {}).get('version')!r}, not '1.1'")
    transform = tileset["root"].get("transform")
    if transform is not None and (len(transform) != 16 or transform[15] != 1):
        problems.append("root.transform is not a 4x4 column-major matrix")
    for tile, parent_error in _tiles(tileset["root"], float(tileset.get("geometricError", math.inf))):
        error = float(tile.get("geometricError", -1))
        if not 0 <= error <= parent_error:
            problems.append(f"tile geometricError {error} is not in [0, parent {parent_error}]")
        if "content" not in tile:
            continue
        uri = tile["content"]["uri"]
        try:
            data = (path.parent / uri).read_bytes()
        except OSError:
            problems.append(f"content {uri} is missing")
            continue
        problems += [f"{uri}: {p}" for p in _gltf.check_glb(data)]
        box = np.asarray(tile["boundingVolume"]["box"], dtype="float64")
        _, _, points = _content(path, uri)
        center, axes = box[:3], box[3:].reshape(3, 3)
        local = np.linalg.solve(axes.T, (points - center).T).T  # coordinates in the box's half-axes
        if np.abs(local).max() > 1 + 1e-6:
            problems.append(f"{uri}: content lies outside the tile's bounding box")
    return problems


def read_3dtiles(source: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a tileset written by :func:`write_3dtiles` back as a buildings layer.

    Parameters
    ----------
    source
        The ``tileset.json`` or its folder.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building, indexed by the ``id`` property, with the attributes of the
        property tables (original column names and types), ``min_z_m`` / ``max_z_m`` (the
        lowest and highest vertex, m) and as geometry the footprint: the union of its triangles
        projected on the ground, in the source CRS (recorded in the tileset's extras).

    Raises
    ------
    FileFormatError
        TIL008: no tileset, or content that cannot be read.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> footprints = cimkit.read_buildings(sample_city_path() / "footprints.geojson").head(4)
    >>> folder = tempfile.TemporaryDirectory()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     back = read_3dtiles(write_3dtiles(footprints, Path(folder.name) / "city"))
    >>> list(back.index) == list(footprints.index), back.crs.to_epsg()
    (True, 2154)
    >>> bool((back.geometry.centroid.distance(footprints.geometry.centroid) < 0.05).all())
    True
    >>> folder.cleanup()
    """
    path = _tileset_path(source)
    tileset = _load(path)
    info = tileset.get("extras", {}).get("cimkit")
    if not info or "transform" not in tileset["root"]:
        raise FileFormatError(
            "the tileset was not written by cimkit (no extras.cimkit or root transform)",
            path=path,
            code="TIL008",
            hint="give a tileset that write_3dtiles or cimkit convert wrote.",
        )
    crs = CRS.from_user_input(info["crs"])
    matrix = np.asarray(tileset["root"]["transform"], dtype="float64").reshape(4, 4).T
    to_map = Transformer.from_crs(_prep.ECEF, crs, always_xy=True)
    frames = []
    for tile, _ in _tiles(tileset["root"], math.inf):
        if "content" not in tile:
            continue
        doc, binary, z_up = _content(path, tile["content"]["uri"])
        prim = doc["meshes"][0]["primitives"][0]
        fids = _gltf.read_accessor(doc, binary, prim["attributes"]["_FEATURE_ID_0"])
        table = _gltf.read_property_table(doc, binary)
        count = int(prim["extensions"]["EXT_mesh_features"]["featureIds"][0]["featureCount"])
        ecef = z_up @ matrix[:3, :3].T + matrix[:3, 3]
        xyz = np.column_stack(to_map.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2]))
        ids = fids.astype("int64")
        columns = {
            spec.get("name", ident): _prep.column_values(spec, v)
            for ident, (spec, v) in table.items()
            if ident != "id"
        }
        frame = pd.DataFrame(columns, index=pd.Index(list(table["id"][1]), name=info.get("index_name")))
        frame["min_z_m"] = [float(xyz[ids == i, 2].min()) for i in range(count)]
        frame["max_z_m"] = [float(xyz[ids == i, 2].max()) for i in range(count)]
        frames.append(gpd.GeoDataFrame(frame, geometry=_prep.footprints(xyz, fids, count), crs=crs))
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
