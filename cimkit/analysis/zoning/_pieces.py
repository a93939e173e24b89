"""Local pieces of one large polygon, so that per-parcel overlays stay O(n log n).

Intersecting each of n parcel lines with the buffered road network (one polygon whose size
grows with the city) costs O(n x size): quadratic. :func:`local_pieces` cuts the polygon along a
quadtree once and gives each parcel the piece of its own leaf. A leaf's piece is the polygon
clipped to a box that holds the parcel's whole extent, so the parcel meets exactly the same
polygon edges as in the whole and the overlay returns the same geometry.

Examples
--------
>>> import numpy as np
>>> import shapely
>>> zone = shapely.buffer(shapely.MultiLineString([[(0, 0), (1000, 0)], [(0, 500), (1000, 500)]]), 20)
>>> lines = shapely.boundary(shapely.box(np.arange(0, 1000, 50), 0, np.arange(50, 1050, 50), 30))
>>> pieces = local_pieces(zone, shapely.bounds(lines), leaf_vertices=16)
>>> bool(shapely.equals_exact(shapely.intersection(lines, pieces), shapely.intersection(lines, zone)).all())
True
>>> int(shapely.get_num_coordinates(pieces).max()) < int(shapely.get_num_coordinates(zone))
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import shapely

__all__ = ["local_pieces", "shared_limits", "side_limits"]

_WIDE = 32  # neighbour groups wider than this are unioned one by one (bounds the padded array)
_CHUNK = 2_000  # rows per thread task of an element-wise GEOS call
_SHARED: ContextVar[dict[Any, Any] | None] = ContextVar("cimkit_shared_parcel_limits", default=None)


@contextmanager
def shared_limits() -> Iterator[dict[Any, Any]]:
    """Within the block, equal parcel-limit computations on the same frames are done once.

    ``zoning.assess`` wraps its compliance check and capacity in it: both need the limits of the
    same parcels. The cache lives only as long as the block (frames cannot change under it).
    """
    cache: dict[Any, Any] = {}
    token = _SHARED.set(cache)
    try:
        yield cache
    finally:
        _SHARED.reset(token)


def cached(key: Any) -> tuple[dict[Any, Any] | None, Any]:
    """Return the active cache (None outside :func:`shared_limits`) and its value for ``key`` (or None)."""
    cache = _SHARED.get()
    return cache, (None if cache is None else cache.get(key))


def by_chunks(func: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """``func(*arrays)`` (element-wise along the first axis) on chunks run by threads.

    shapely releases the GIL inside GEOS, so the chunks run on every core; each row gets the
    same GEOS call as in one vectorised call, hence the same result.
    """
    n = len(arrays[0])
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or n < 2 * _CHUNK:
        return func(*arrays)
    bounds = list(range(0, n, _CHUNK))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda a: func(*(x[a : a + _CHUNK] for x in arrays)), bounds))
    return np.concatenate(parts)


def side_limits(geoms: np.ndarray, boundary: np.ndarray, tolerance: float) -> np.ndarray:
    """Each polygon's boundary within ``tolerance`` of another polygon's boundary (empty lines if none).

    For polygon i: ``intersection(boundary[i], union_all(buffer(boundary[j], tolerance)))`` over
    its neighbours j (in position order), with each buffer computed once and the unions of
    all groups done in one vectorised call.
    """
    tree = shapely.STRtree(geoms)
    a_idx, b_idx = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = a_idx != b_idx
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    side = np.array([shapely.LineString()] * len(geoms), dtype=object)
    if not len(a_idx):
        return side
    buffers = by_chunks(lambda rings: shapely.buffer(rings, tolerance), boundary)
    order = np.lexsort((b_idx, a_idx))  # neighbours in position order: never the STRtree's order
    a_sorted, b_sorted = a_idx[order], b_idx[order]
    starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
    sizes = np.diff(np.r_[starts, len(a_sorted)])
    unions = np.empty(len(starts), dtype=object)
    narrow = sizes <= _WIDE
    if narrow.any():
        rows = np.repeat(np.arange(len(starts)), sizes)
        cols = np.arange(len(a_sorted)) - np.repeat(starts, sizes)
        take = np.repeat(narrow, sizes)
        padded = np.full((len(starts), int(sizes[narrow].max())), None, dtype=object)
        padded[rows[take], cols[take]] = buffers[b_sorted[take]]
        unions[narrow] = by_chunks(lambda rows: shapely.union_all(rows, axis=1), padded[narrow])
    for g in np.flatnonzero(~narrow):
        unions[g] = shapely.union_all(buffers[b_sorted[starts[g] : starts[g] + sizes[g]]])
    owners = a_sorted[starts]
    side[owners] = by_chunks(shapely.intersection, boundary[owners], unions)
    return side


def local_pieces(
    zone: Any, bounds: np.ndarray, *, margin: float = 1.0, leaf_vertices: int = 256, max_depth: int = 12
) -> np.ndarray:
    """Return, for each box of ``bounds`` (n x 4), ``zone`` clipped to a box that holds it.

    The clip boxes come from a quadtree over ``zone`` (split while a piece has more than
    ``leaf_vertices`` coordinates); each box of ``bounds`` gets the smallest quadtree box that
    holds it with ``margin`` to spare (the whole ``zone`` when none does, or when a bound is NaN).
    """
    bounds = np.asarray(bounds, dtype="float64").reshape(-1, 4)
    out = np.full(len(bounds), zone, dtype=object)
    if zone is None or shapely.is_empty(zone) or not len(bounds):
        return out
    ok = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    x0, y0, x1, y1 = shapely.bounds(zone)
    core = (
        min(x0, bounds[ok, 0].min(initial=x0)) - margin,
        min(y0, bounds[ok, 1].min(initial=y0)) - margin,
        max(x1, bounds[ok, 2].max(initial=x1)) + margin,
        max(y1, bounds[ok, 3].max(initial=y1)) + margin,
    )
    stack = [(zone, core, ok, 0)]
    while stack:
        piece, (a, b, c, d), items, depth = stack.pop()
        out[items] = piece
        if depth >= max_depth or len(items) < 2 or shapely.get_num_coordinates(piece) <= leaf_vertices:
            continue
        mx, my = (a + c) / 2, (b + d) / 2
        for box in ((a, b, mx, my), (mx, b, c, my), (a, my, mx, d), (mx, my, c, d)):
            grown = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
            inside = items[
                (bounds[items, 0] >= grown[0])
                & (bounds[items, 1] >= grown[1])
                & (bounds[items, 2] <= grown[2])
                & (bounds[items, 3] <= grown[3])
            ]
            if len(inside):
                stack.append((shapely.intersection(piece, shapely.box(*grown)), box, inside, depth + 1))
    return out
