"""Property-based tests of geometry handling: the vector door of the readers and IFC footprints.

- Random polygons (rotated rectangles, and free rings that may be bow-ties, collinear, repeated,
  unclosed, or hold NaN / infinite / huge numbers) written to a GeoJSON file and read by
  :func:`cimkit.read_buildings`: every outcome is a result or a :class:`~cimkit.errors.CimkitError`;
  a result holds only valid, non-empty polygons; valid rectangles keep their area exactly.
- :func:`cimkit.io.ifc._geometry.mesh_footprint` (the footprint of a tessellated IFC element):
  a closed box mesh, rotated and placed anywhere, projects to its exact width x depth.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import assume, given
from hypothesis import strategies as st

from cimkit.errors import CimkitError
from tests.fuzz._strategies import PROPERTY, READER, READER_SHORT

X0, Y0 = 651_000.0, 6_847_000.0  # the sample city, Lambert-93 (EPSG:2154)
_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}


def _rectangle(x: float, y: float, width: float, depth: float, angle_deg: float) -> list[list[float]]:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    corners = [(0.0, 0.0), (width, 0.0), (width, depth), (0.0, depth)]
    ring = [[X0 + x + c * u - s * v, Y0 + y + s * u + c * v] for u, v in corners]
    return [*ring, ring[0]]


rectangles = st.tuples(
    st.floats(0, 500),
    st.floats(0, 500),
    st.floats(0.5, 120),
    st.floats(0.5, 120),
    st.floats(-180, 180),
)

special = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308])
# finite coordinates on a coarse grid (repeated and collinear points are frequent) or anywhere
coordinate = st.one_of(st.integers(0, 6).map(float), st.floats(0, 300).map(lambda v: round(v, 3)))
free_rings = st.tuples(
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=8),
    st.booleans(),  # closed
    st.integers(0, 9),  # 0: raw small numbers (degrees-like), else offset to the city
    st.tuples(st.integers(0, 9), st.integers(0, 15), special),  # < 2: one number made non-finite
)


def _write_features(path: Path, rings: list[list[list[float]]]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"b{i}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for i, ring in enumerate(rings)
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "crs": _CRS, "features": features}), encoding="utf-8"
    )
    return path


def _read(path: Path):
    from cimkit import read_buildings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read_buildings(path, repair="repair")
        except CimkitError:
            return None


@READER_SHORT
@given(st.lists(rectangles, min_size=1, max_size=6))
def test_valid_rectangles_keep_their_area(tmp_path_factory, boxes):
    path = _write_features(tmp_path_factory.mktemp("rect") / "b.geojson", [_rectangle(*b) for b in boxes])
    out = _read(path)
    assert out is not None, "valid rectangles in Lambert-93 must be read"
    assert list(out.index) == [f"b{i}" for i in range(len(boxes))]
    expected = np.array([w * d for _, _, w, d, _ in boxes])
    np.testing.assert_allclose(out.geometry.area.to_numpy(), expected, rtol=1e-9)
    np.testing.assert_allclose(out["footprint_m2"].to_numpy(dtype=float), expected, rtol=1e-6)
    assert shapely.is_valid(out.geometry.to_numpy()).all()


@READER
@given(st.lists(free_rings, min_size=1, max_size=4))
def test_any_ring_gives_valid_polygons_or_a_typed_error(tmp_path_factory, rings):
    coords = []
    for points, closed, offset, (inject, position, value) in rings:
        ring = [[x + X0 if offset else x, y + Y0 if offset else y] for x, y in points]
        if inject < 2:
            ring[position % len(ring)][position % 2] = value
        coords.append([*ring, ring[0]] if closed else ring)
    path = _write_features(tmp_path_factory.mktemp("ring") / "b.geojson", coords)
    out = _read(path)  # an untyped exception fails the test here
    if out is None or len(out) == 0:
        return
    geoms = out.geometry.to_numpy()
    assert np.isin(shapely.get_type_id(geoms), (3, 6)).all(), "only polygons come back"
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert np.isfinite(shapely.get_coordinates(geoms)).all()
    assert (out.geometry.area.to_numpy() > 0).all()


# ----------------------------------------------------------------------------- IFC footprints
def _box_mesh(width: float, depth: float, height: float, angle_deg: float, x: float, y: float):
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    corners = [(u, v, w) for w in (0.0, height) for v in (0.0, depth) for u in (0.0, width)]
    verts = np.array([[X0 + x + c * u - s * v, Y0 + y + s * u + c * v, w] for u, v, w in corners])
    faces = np.array(
        [
            [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5],  # bottom, top
            [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],  # front, back
            [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],  # sides
        ]
    )  # fmt: skip
    return verts, faces


@PROPERTY
@given(
    st.floats(0.05, 200),
    st.floats(0.05, 200),
    st.floats(0.1, 60),
    st.floats(-360, 360),
    st.floats(-1000, 1000),
    st.floats(-1000, 1000),
)
def test_box_mesh_footprint_is_width_times_depth(width, depth, height, angle, x, y):
    from cimkit.io.ifc._geometry import mesh_footprint, mesh_volume

    verts, faces = _box_mesh(width, depth, height, angle, x, y)
    footprint = mesh_footprint(verts, faces)
    assert footprint.is_valid and footprint.geom_type == "Polygon"
    # the union snaps to a 1e-6 m grid: the area may move by about perimeter x 1e-6 m²
    assert footprint.area == pytest.approx(width * depth, abs=4 * (width + depth) * 1e-6, rel=1e-9)
    assert mesh_volume(verts, faces) == pytest.approx(width * depth * height, rel=1e-6)


triangle_soup = st.lists(
    st.tuples(*[st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.floats(0, 10))] * 3),
    min_size=1,
    max_size=12,
)


@PROPERTY
@given(triangle_soup)
def test_any_triangle_soup_projects_to_a_valid_footprint(triangles):
    from cimkit.io.ifc._geometry import mesh_footprint

    verts = np.array([p for t in triangles for p in t], dtype=float)
    faces = np.arange(len(verts)).reshape(-1, 3)
    footprint = mesh_footprint(verts, faces)
    assert footprint.is_valid and footprint.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection")
    polygons = [shapely.Polygon([p[:2] for p in t]) for t in triangles]
    areas = [p.area for p in polygons]
    assume(all(math.isfinite(a) for a in areas))
    # the union of the triangles covers the largest and is no more than their sum, give or take
    # the 1e-6 m grid the union snaps to (at most perimeter x 1e-6 m² per triangle)
    slack = sum(p.length for p in polygons) * 1e-6
    assert footprint.area <= sum(areas) + slack
    assert footprint.area >= max(areas) - slack
