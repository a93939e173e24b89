"""The scale kernels of the zoning check: local road-zone pieces, side limits, shared limits."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.zoning import compute_parcel_limits
from cimkit.analysis.zoning._pieces import by_chunks, local_pieces, shared_limits, side_limits


def _grid(nx: int = 12, ny: int = 8) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Blocks of 10 x 2 parcels (20 x 30 m) between 12 m streets, and the street centre lines."""
    boxes, ids = [], []
    for bx in range(nx // 10 + 1):
        for by in range(ny // 2):
            for i in range(10):
                for j in range(2):
                    x0, y0 = bx * 212.0 + 20 * i, by * 72.0 + 30 * j
                    boxes.append(shapely.box(x0, y0, x0 + 20, y0 + 30))
                    ids.append(f"P{len(ids):04d}")
    parcels = gpd.GeoDataFrame({"parcel_id": ids}, geometry=boxes, crs=2154).set_index("parcel_id")
    x1, y1 = (nx // 10 + 1) * 212.0, (ny // 2) * 72.0
    lines = [shapely.LineString([(-6, y), (x1, y)]) for y in np.arange(-6.0, y1 + 1, 72.0)]
    lines += [shapely.LineString([(x, -6), (x, y1)]) for x in np.arange(-6.0, x1 + 1, 212.0)]
    return parcels, gpd.GeoDataFrame(geometry=lines, crs=2154)


def test_local_pieces_give_the_same_overlay_as_the_whole_zone():
    parcels, roads = _grid()
    zone = shapely.buffer(shapely.union_all(roads.geometry.to_numpy()), 20.0)
    lines = shapely.boundary(parcels.geometry.to_numpy())
    pieces = local_pieces(zone, shapely.bounds(lines), leaf_vertices=16)
    # the pieces are real cuts of the zone, smaller than it
    assert shapely.get_num_coordinates(pieces).max() < shapely.get_num_coordinates(zone)
    assert len({id(p) for p in pieces}) > 1
    for op in (shapely.intersection, shapely.difference):
        assert shapely.equals_exact(op(lines, pieces), op(lines, zone), tolerance=0.0).all()
    # a NaN bound (an empty line) and an empty zone keep the whole zone
    empty = local_pieces(zone, np.array([[np.nan] * 4]))
    assert empty[0] is zone
    assert local_pieces(shapely.Polygon(), shapely.bounds(lines))[0].is_empty


def test_side_limits_equal_the_union_per_parcel():
    parcels, _ = _grid(12, 4)
    geoms = parcels.geometry.to_numpy()
    boundary = shapely.boundary(geoms)
    fast = side_limits(geoms, boundary, 0.5)
    # the definition: each boundary against the union of its neighbours' buffered boundaries
    tree = shapely.STRtree(geoms)
    expected = []
    for i, geom in enumerate(geoms):
        near = [j for j in tree.query(geom, predicate="dwithin", distance=0.5) if j != i]
        union = shapely.union_all(shapely.buffer(boundary[sorted(near)], 0.5))
        expected.append(shapely.intersection(boundary[i], union))
    assert shapely.equals_exact(fast, np.array(expected, dtype=object), tolerance=0.0).all()
    # P0004 = box(40, 0, 60, 30), inside a block: 30 + 20 + 30 m shared with its three
    # neighbours, and 0.5 m (the tolerance) of its street edge at each end
    assert parcels.index[4] == "P0004" and shapely.bounds(geoms[4]).tolist() == [40.0, 0.0, 60.0, 30.0]
    assert round(float(shapely.length(fast[4])), 6) == 81.0
    # a lone parcel has no side limit
    lone = side_limits(geoms[:1], boundary[:1], 0.5)
    assert lone[0].is_empty


def test_shared_limits_compute_once_per_frames():
    parcels, roads = _grid(12, 4)
    plain = compute_parcel_limits(parcels, roads=roads)
    with shared_limits() as cache:
        first = compute_parcel_limits(parcels, roads=roads)
        second = compute_parcel_limits(parcels, roads=roads)
        assert len(cache) == 1 and first is not second
        other = compute_parcel_limits(parcels, roads=roads.copy())
        assert len(cache) == 2
    for frame in (first, second, other):
        pd.testing.assert_frame_equal(frame, plain)
    # P0004's frontage: its 20 m street edge less 0.5 m at each end
    assert round(float(plain.geometry.length.loc["P0004"]), 4) == 19.0  # less the 1e-6 m buffer of the sides


def test_by_chunks_is_the_vectorised_call():
    points = shapely.points(np.arange(10_000.0), np.zeros(10_000))
    radii = np.linspace(0.1, 2.0, 10_000)
    chunked = by_chunks(lambda p, r: shapely.buffer(p, r), points, radii)
    assert shapely.equals_exact(chunked, shapely.buffer(points, radii), tolerance=0.0).all()
    # the last disc: a 32-gon of radius 2 m, area 0.5 x 32 x 2² x sin(2π/32) = 12.486 m²
    assert round(float(shapely.area(chunked[-1])), 3) == 12.486
