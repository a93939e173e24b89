"""Footprints and volumes from meshes and from the extrusion fast path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import trimesh

from cimkit.io.ifc import read_ifc_model
from cimkit.io.ifc._geometry import mesh_footprint, mesh_volume
from tests.io import ifc_factory as F


def test_mesh_footprint_of_rotated_box():
    box = trimesh.creation.box(extents=(4.0, 2.0, 3.0))
    box.apply_transform(trimesh.transformations.rotation_matrix(math.radians(25), [0, 0, 1]))
    footprint = mesh_footprint(np.asarray(box.vertices), np.asarray(box.faces))
    # the plan of a 4 x 2 box rotated about z is the same rectangle rotated: 8 m2
    # (the union runs on a 1 micrometre precision grid: area within 1e-5 m2)
    assert footprint.area == pytest.approx(8.0, abs=1e-5)
    expected = shapely.affinity.rotate(shapely.box(-2, -1, 2, 1), 25, origin=(0, 0))
    assert footprint.symmetric_difference(expected).area < 1e-5


def test_mesh_footprint_of_two_overlapping_boxes():
    a = trimesh.creation.box(extents=(4.0, 2.0, 1.0))
    b = trimesh.creation.box(extents=(2.0, 4.0, 1.0))
    b.apply_translation([1.0, 1.0, 0.5])
    mesh = trimesh.util.concatenate([a, b])
    footprint = mesh_footprint(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    # independent: shapely union of the two plan rectangles
    expected = shapely.box(-2, -1, 2, 1).union(shapely.box(0, -1, 2, 3))
    assert footprint.area == pytest.approx(expected.area, abs=1e-5)


def test_mesh_volume_matches_trimesh():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=2.0)
    sphere.apply_translation([100.0, 50.0, 7.0])
    assert mesh_volume(np.asarray(sphere.vertices), np.asarray(sphere.faces)) == pytest.approx(sphere.volume)


def test_fast_path_matches_tessellation_rotated_millimetres(tmp_path):
    f, project, body = F.new_project(length_unit="MILLIMETRE")
    F.add_house(f, project, body, unit=0.001, storeys=2, offset=(3.5, -2.0))
    F.map_conversion(f, epsg=2154, eastings=650000, northings=6860000, rotation_deg=-37.5, scale=0.001)
    path = F.write(f, tmp_path / "rot_mm.ifc")
    with pytest.warns(UserWarning):
        fast = read_ifc_model(path, sandbox=False)
        slow = read_ifc_model(path, sandbox=False, fast_path=False)
    a, b = fast.buildings.geometry.iloc[0], slow.buildings.geometry.iloc[0]
    assert a.area == pytest.approx(60.0, abs=1e-5)
    assert a.symmetric_difference(b).area < 1e-6
    cols = ["height_m", "base_elevation_m", "ground_floor_elevation_m", "gfa_m2", "volume_m3"]
    assert np.allclose(fast.buildings[cols].to_numpy(float), slow.buildings[cols].to_numpy(float))
    assert np.allclose(fast.elements["volume_m3"], slow.elements["volume_m3"])
