"""read_ifc / read_ifc_model on authored files: columns, values, tables, meshes, provenance."""

from __future__ import annotations

import math

import ifcopenshell.api.aggregate
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.util.element
import numpy as np
import pytest
import shapely

import cimkit
from cimkit.errors import ValidationError
from cimkit.io.ifc import read_ifc, read_ifc_meshes, read_ifc_model
from cimkit.provenance import get as get_provenance
from tests.io import ifc_factory as F

E0, N0 = 651000.0, 6861000.0


@pytest.fixture(scope="module")
def two_storey(tmp_path_factory):
    f, project, body = F.new_project()
    F.add_house(f, project, body, storeys=2)
    F.map_conversion(f, epsg=2154, eastings=E0, northings=N0, height=30.0, rotation_deg=0)
    return F.write(f, tmp_path_factory.mktemp("ifc") / "house2.ifc")


@pytest.fixture(scope="module")
def model(two_storey):
    return read_ifc_model(two_storey, sandbox=False, meshes=True, per_element_meshes=True)


def test_public_name_and_columns(two_storey):
    gdf = cimkit.read_ifc(two_storey, sandbox=False)
    assert gdf.index.name == "building_id"
    for col in (
        "name",
        "geometry",
        "height_m",
        "base_elevation_m",
        "ground_floor_elevation_m",
        "ground_elevation_m",
        "ground_source",
        "depth_below_ground_m",
        "storeys",
        "storeys_above_ground",
        "storeys_below_ground",
        "gfa_m2",
        "gfa_source",
        "nfa_m2",
        "volume_m3",
        "volume_source",
        "use",
        "occupancy_type",
        "n_wall",
        "n_slab",
        "n_window",
        "n_door",
        "n_space",
        "n_roof",
        "n_column",
        "n_beam",
        "georef_method",
        "georef_confidence",
        "schema",
        "source",
    ):
        assert col in gdf.columns, col
    assert gdf["storeys"].dtype == np.int64 and gdf["n_wall"].dtype == np.int64


def test_building_values(model, two_storey):
    row = model.buildings.iloc[0]
    assert model.buildings.index[0] == ifcopenshell.open(str(two_storey)).by_type("IfcBuilding")[0].GlobalId
    assert row["name"] == "House"
    # by construction (tests/io/ifc_factory.py): 10 m x 6 m, two storeys of 3.3 m, bottom at z = 0
    assert row.geometry.area == pytest.approx(60.0, abs=1e-6)
    assert row.geometry.bounds == pytest.approx((E0, N0, E0 + 10, N0 + 6))
    assert row.height_m == pytest.approx(6.6)
    assert row.base_elevation_m == pytest.approx(30.0)
    assert row.ground_floor_elevation_m == pytest.approx(30.3)  # top of the 0.3 m ground slab
    # ground level: the storey at elevation 0 ("Level 0"), map height 30 m; nothing below it
    assert row.ground_elevation_m == pytest.approx(30.0) and row.ground_source == "storey"
    assert row.depth_below_ground_m == pytest.approx(0.0)
    assert row.storeys == 2
    assert (row.storeys_above_ground, row.storeys_below_ground) == (2, 0)
    assert np.isnan(row.nfa_m2)  # no spaces
    # no quantity sets and no spaces: GFA is the sum of the two 60 m2 floor slabs
    assert row.gfa_source == "slabs" and row.gfa_m2 == pytest.approx(120.0)
    # no spaces: volume is footprint x height
    assert row.volume_m3 == pytest.approx(60.0 * 6.6)
    assert (row.n_wall, row.n_slab, row.n_window, row.n_space) == (8, 2, 0, 0)
    assert row.use == "residential" and row.occupancy_type == "Residential"
    assert row.schema == "IFC4" and row.source == str(two_storey)


def test_element_table(model):
    el = model.elements
    assert el.index.name == "global_id" and len(el) == 10
    assert set(el.ifc_class) == {"IfcWall", "IfcSlab"}
    south0 = el[el.name == "Wall S0"].iloc[0]
    # 10 x 0.2 x 3.0 wall minus the 1.0 x 0.2 x 1.2 window opening (hand computed)
    assert south0.volume_m3 == pytest.approx(6.0 - 0.24)
    assert south0.volume_source == "geometry"
    assert south0.area_m2 == pytest.approx(2.0)  # plan area of 10 m x 0.2 m
    assert south0.storey == "Level 0" and south0.storey_elevation_m == 0.0
    slab1 = el[el.name == "Floor 1"].iloc[0]
    assert slab1.volume_m3 == pytest.approx(18.0) and slab1.storey_elevation_m == pytest.approx(3.3)
    # concrete density 2400 kg/m3 given in Pset_MaterialCommon: 18 m3 -> 43 200 kg
    assert slab1.mass_kg == pytest.approx(43200.0)
    assert math.isnan(south0.mass_kg)  # brick density unknown
    assert south0.materials == "Brick; Mineral wool"


def test_material_layers(model):
    mats = model.materials
    wall_rows = mats[mats.global_id == model.elements.index[model.elements.name == "Wall N0"][0]]
    assert list(wall_rows.material) == ["Brick", "Mineral wool"]
    assert list(wall_rows.layer_index) == [0, 1]
    assert list(wall_rows.thickness_m) == pytest.approx([0.15, 0.05])
    # layer shares by thickness: 0.15 / 0.20 and 0.05 / 0.20; volumes 6 m3 x share
    assert list(wall_rows.share) == pytest.approx([0.75, 0.25])
    assert list(wall_rows.volume_m3) == pytest.approx([4.5, 1.5])
    assert list(wall_rows.category) == ["brick", "insulation"]
    shares = mats.groupby("global_id")["share"].sum()
    assert np.allclose(shares, 1.0)
    slab_rows = mats[mats.ifc_class == "IfcSlab"]
    assert (slab_rows.layer_index == -1).all() and slab_rows.thickness_m.isna().all()


def test_meshes_in_map_coordinates(model):
    mesh = model.meshes[model.buildings.index[0]]
    lo, hi = mesh.bounds
    assert lo == pytest.approx([E0, N0, 30.0]) and hi == pytest.approx([E0 + 10, N0 + 6, 36.6])
    # element meshes: the slab is a closed 10 x 6 x 0.3 box
    slab_id = model.elements.index[model.elements.name == "Floor 0"][0]
    assert model.element_meshes[slab_id].volume == pytest.approx(18.0)
    assert read_ifc_meshes(model) is model.meshes


def test_lod1_meshes_and_geometry(model, two_storey):
    blocks = read_ifc_meshes(model, lod="lod1")
    block = blocks[model.buildings.index[0]]
    assert block.is_watertight
    assert block.volume == pytest.approx(60.0 * 6.6)
    assert block.bounds[0][2] == pytest.approx(30.0)
    gdf = read_ifc(two_storey, lod="lod1", sandbox=False)
    assert gdf.geometry.iloc[0].has_z
    assert shapely.get_coordinates(gdf.geometry.iloc[0], include_z=True)[:, 2] == pytest.approx(30.0)


def test_fast_path_equals_tessellation(two_storey):
    fast = read_ifc_model(two_storey, sandbox=False)
    slow = read_ifc_model(two_storey, sandbox=False, fast_path=False)
    steps = {s.action: s.params for s in fast.provenance.steps}
    # 9 of the 10 elements are plain extrusions; the wall with the opening is tessellated
    assert steps["geometry"]["extrusion_fast_path"] == 9 and steps["geometry"]["tessellated"] == 1
    a, b = fast.buildings.geometry.iloc[0], slow.buildings.geometry.iloc[0]
    assert a.symmetric_difference(b).area < 1e-6
    cols = ["volume_m3", "area_m2"]
    assert np.allclose(fast.elements[cols].to_numpy(), slow.elements[cols].to_numpy())


def test_provenance_steps(model):
    record = get_provenance(model.buildings)
    assert record is model.provenance
    actions = [s.action for s in record.steps]
    assert actions[:3] == ["georeference", "unit-scaling", "geometry"]
    assert "simplification" in actions
    assert record.steps[actions.index("simplification")].params["tolerance_m"] == 0.05
    assert record.source_files[0].sha256 is not None


def test_two_buildings_and_spaces(tmp_path):
    f, project, body = F.new_project()
    a = F.add_house(f, project, body, name="A", occupancy=None)
    site = f.by_type("IfcSite")[0]
    b = F.add_house(f, project, body, name="B", offset=(30.0, 0.0), site=site, occupancy="Office")
    # one 20 m2 bedroom and one 10 m2 kitchen in A (uses from space names)
    storey = next(
        s for s in f.by_type("IfcBuildingStorey") if ifcopenshell.util.element.get_aggregate(s) == a
    )
    for name, outline in (
        ("Bedroom", [(0.2, 0.2), (5.2, 0.2), (5.2, 4.2), (0.2, 4.2)]),
        ("Kitchen", [(5.2, 0.2), (7.7, 0.2), (7.7, 4.2), (5.2, 4.2)]),
    ):
        space = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSpace", name=name)
        space.LongName = name
        space.ObjectPlacement = F._placement(f, (0, 0, 0.3), unit=1.0, relative_to=storey.ObjectPlacement)
        space.Representation = F._extrusion(f, body, outline, 2.5, unit=1.0)
        ifcopenshell.api.aggregate.assign_object(f, relating_object=storey, products=[space])
    F.map_conversion(f, epsg=2154, eastings=E0, northings=N0)
    path = F.write(f, tmp_path / "two.ifc")
    model = read_ifc_model(path, sandbox=False)
    gdf = model.buildings.set_index("name")
    assert gdf.loc["B"].geometry.bounds == pytest.approx((E0 + 30, N0, E0 + 40, N0 + 6))
    assert gdf.loc["A"].use == "residential"  # from space names, no occupancy type
    assert gdf.loc["B"].use == "office"
    # gross floor area is never the spaces' (net) area: A's one 10 m x 6 m floor slab gives 60 m2 gross;
    # the 20 m2 + 10 m2 spaces are its net floor area
    assert gdf.loc["A"].gfa_source == "slabs" and gdf.loc["A"].gfa_m2 == pytest.approx(60.0)
    assert gdf.loc["A"].nfa_m2 == pytest.approx(30.0) and np.isnan(gdf.loc["B"].nfa_m2)
    assert gdf.loc["A"].volume_m3 == pytest.approx(30.0 * 2.5)  # sum of space volumes
    assert gdf.loc["A"].n_space == 2 and gdf.loc["B"].n_space == 0
    assert sorted(model.spaces.area_m2) == pytest.approx([10.0, 20.0])
    assert set(model.spaces.building_id) == {a.GlobalId}
    assert b.GlobalId in model.buildings.index


def test_invalid_arguments(two_storey):
    with pytest.raises(ValidationError, match="lod"):
        read_ifc(two_storey, lod="lod2", sandbox=False)
    with pytest.raises(ValidationError, match="simplify"):
        read_ifc(two_storey, simplify_tolerance_m=-1, sandbox=False)
