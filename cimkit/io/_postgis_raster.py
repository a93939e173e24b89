"""The DEM in the PostGIS store: tiles in PostGIS raster's well-known binary format.

Private to :mod:`cimkit.io.postgis`. The DEM is cut into tiles of :data:`TILE` x :data:`TILE`
cells, one row each in the ``dem`` table (``tile_id``, ``rast``), with a GiST index on the tiles'
outlines so a bounding box reads only the tiles it meets. Tiles are encoded here in the raster
WKB format (version 0) and stored with ``ST_RastFromWKB``; the cells keep their dtype (float32
or float64) exactly. Without the ``postgis_raster`` extension the same bytes go into a ``bytea``
column, read back the same way.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from cimkit.errors import FileFormatError
from cimkit.raster import Raster

TILE = 256
_PIXTYPES = {"float32": 10, "float64": 11}
_DTYPES = {code: np.dtype(name).newbyteorder("<") for name, code in _PIXTYPES.items()}
_HEADER = struct.Struct("<BHHddddddiHH")


def encode_tile(values: np.ndarray, transform: Affine, srid: int, nodata: float | None) -> bytes:
    """Encode one band as PostGIS raster WKB (little endian)."""
    height, width = values.shape
    header = _HEADER.pack(
        1,
        0,
        1,
        transform.a,
        transform.e,
        transform.c,
        transform.f,
        transform.b,
        transform.d,
        srid,
        width,
        height,
    )
    code = _PIXTYPES[values.dtype.name]
    has_nodata = nodata is not None and bool(np.isfinite(nodata))
    flags = code | (0x40 if has_nodata else 0)
    fill = np.array([nodata if has_nodata else 0], dtype=_DTYPES[code]).tobytes()
    return header + bytes([flags]) + fill + np.ascontiguousarray(values, dtype=_DTYPES[code]).tobytes()


def decode_tile(data: bytes) -> tuple[np.ndarray, Affine]:
    """Decode one band of PostGIS raster WKB; return the cells and the tile's transform."""
    data = bytes(data)
    if not data or data[0] != 1:
        raise FileFormatError(
            "a DEM tile is not little-endian PostGIS raster WKB",
            layer="dem",
            hint="the dem table was changed outside cimkit; save the model again.",
            code="MOD053",
        )
    _, _, _, sx, sy, ox, oy, kx, ky, _, width, height = _HEADER.unpack_from(data)
    flags = data[_HEADER.size]
    dtype = _DTYPES.get(flags & 0x0F)
    if dtype is None:
        raise FileFormatError(
            f"a DEM tile has pixel type {flags & 0x0F}, not 32BF or 64BF",
            layer="dem",
            hint="the dem table was changed outside cimkit; save the model again.",
            code="MOD053",
        )
    start = _HEADER.size + 1 + dtype.itemsize
    values = np.frombuffer(data, dtype=dtype, count=width * height, offset=start).reshape(height, width)
    return values.astype(dtype.newbyteorder("=")), Affine(sx, kx, ox, ky, sy, oy)


def write_dem(cur: Any, schema: str, dem: Raster, srid: int, *, raster_type: bool) -> dict[str, Any]:
    """Create the ``dem`` table and write the DEM's tiles; return the spec to restore it."""
    from psycopg import sql

    values = dem.values
    dtype = values.dtype.name if values.dtype.name in _PIXTYPES else "float64"
    values = values.astype(dtype, copy=False)
    nodata = dem.nodata
    nodata_is_nan = nodata is not None and bool(np.isnan(nodata))
    column = "raster" if raster_type else "bytea"
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier("dem"))
    cur.execute(
        sql.SQL("CREATE TABLE {} (tile_id integer PRIMARY KEY, rast {} NOT NULL)").format(
            target, sql.SQL(column)
        )
    )
    insert = (
        sql.SQL("INSERT INTO {} (tile_id, rast) VALUES (%s, ST_RastFromWKB(%s))")
        if raster_type
        else sql.SQL("INSERT INTO {} (tile_id, rast) VALUES (%s, %s)")
    ).format(target)
    tiles: list[tuple[int, bytes]] = []
    rows, cols = values.shape
    for r0 in range(0, rows, TILE):
        for c0 in range(0, cols, TILE):
            block = values[r0 : r0 + TILE, c0 : c0 + TILE]
            tile_transform = dem.transform @ Affine.translation(c0, r0)
            tiles.append(
                (len(tiles), encode_tile(block, tile_transform, srid, None if nodata_is_nan else nodata))
            )
    cur.executemany(insert, tiles)
    if raster_type:  # srid, scales, alignment, bands and pixel type, for QGIS (raster_columns)
        cur.execute(
            "SELECT AddRasterConstraints(%s::name, %s::name, 'rast'::name, "
            "true, true, true, false, false, true, false, true, true, false, false, false)",
            [schema, "dem"],
        )
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} USING gist (ST_ConvexHull(rast))").format(
                sql.Identifier("dem_geom_gist"), target
            )
        )
    return {
        "table": "dem",
        "storage": column,
        "shape": [rows, cols],
        "transform": list(dem.transform)[:6],
        "dtype": dtype,
        "dtype_original": values.dtype.name if dem.values.dtype == values.dtype else dem.values.dtype.name,
        "nodata": None if nodata is None or nodata_is_nan else float(nodata),
        "nodata_is_nan": nodata_is_nan,
        "units": dem.units,
        "tiles": len(tiles),
    }


def dem_hash(dem: Raster) -> str:
    """Return a digest of the DEM's cells, transform, nodata and units (to skip rewriting an unchanged DEM)."""
    import hashlib

    digest = hashlib.sha256(np.ascontiguousarray(dem.values).tobytes())
    digest.update(
        repr((dem.values.dtype.str, dem.values.shape, tuple(dem.transform), dem.nodata, dem.units)).encode()
    )
    return digest.hexdigest()


def read_dem(
    cur: Any, schema: str, spec: Mapping[str, Any], crs: CRS, *, bbox: Sequence[float] | None, srid: int
) -> Raster | None:
    """Read the DEM (or the tiles meeting ``bbox``) written by :func:`write_dem`."""
    from psycopg import sql

    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(spec["table"]))
    raster_type = spec.get("storage") == "raster"
    column = sql.SQL("ST_AsBinary(rast)") if raster_type else sql.SQL("rast")
    if bbox is not None and raster_type:
        cur.execute(
            sql.SQL(
                "SELECT {} FROM {} WHERE ST_ConvexHull(rast) && ST_MakeEnvelope(%s, %s, %s, %s, %s)"
            ).format(column, target),
            [*map(float, bbox), srid],
        )
    else:
        cur.execute(sql.SQL("SELECT {} FROM {}").format(column, target))
    tiles = [decode_tile(row[0]) for row in cur.fetchall()]
    full = Affine(*spec["transform"])
    placed = []
    for values, transform in tiles:
        col, row = ~full @ (transform.c, transform.f)
        placed.append((round(row), round(col), values))
    if bbox is not None and not raster_type and placed:  # bytea tiles: filter here
        minx, miny, maxx, maxy = map(float, bbox)
        kept = []
        for r0, c0, values in placed:
            x0, y0 = full @ (c0, r0)
            x1, y1 = full @ (c0 + values.shape[1], r0 + values.shape[0])
            if min(x0, x1) <= maxx and max(x0, x1) >= minx and min(y0, y1) <= maxy and max(y0, y1) >= miny:
                kept.append((r0, c0, values))
        placed = kept
    if not placed:
        return None
    top, left = min(p[0] for p in placed), min(p[1] for p in placed)
    bottom = max(p[0] + p[2].shape[0] for p in placed)
    right = max(p[1] + p[2].shape[1] for p in placed)
    grid = np.full((bottom - top, right - left), np.nan, dtype=spec["dtype"])
    for r0, c0, values in placed:
        grid[r0 - top : r0 - top + values.shape[0], c0 - left : c0 - left + values.shape[1]] = values
    if spec.get("dtype_original") and spec["dtype_original"] != spec["dtype"]:
        grid = grid.astype(spec["dtype_original"])
    nodata = np.nan if spec.get("nodata_is_nan") else spec.get("nodata")
    return Raster(
        grid, full @ Affine.translation(left, top), crs, nodata=nodata, units=spec.get("units", "m")
    )
