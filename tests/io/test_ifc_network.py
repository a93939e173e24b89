"""IFC distribution systems as networks (cimkit.io.ifc_network)."""

from __future__ import annotations

import numpy as np
import pytest

from cimkit import provenance
from cimkit.errors import (
    GeoreferenceError,
    NetworkError,
    PlacementError,
    PlacementWarning,
    UnsupportedSchemaError,
    ValidationError,
)
from cimkit.io.ifc_network import read_ifc_network
from cimkit.options import set_options


@pytest.fixture(scope="module")
def drainage(shared_data):
    return shared_data / "ifc43_drainage_system" / "DrainageSystem-1-2.ifc4x3_add2.ifc"


def test_drainage_system_counts_and_connectivity(drainage):
    net = read_ifc_network(drainage, kind="sewer")
    # MANIFEST: 6 IfcPipeSegment, 7 IfcDistributionChamberElement, 24 IfcDistributionPort
    assert len(net.edges) == 6
    assert len(net.nodes) == 7
    assert set(net.nodes["ifc_class"]) == {"IfcDistributionChamberElement"}
    assert (net.edges["connected_by"] == "ports").all()  # 6 pipes x 2 ports = 12 port links
    assert net.edges["flow_direction_known"].all()
    assert net.report["components"] == 1
    assert net.crs is None
    # chamber tags along the pipes, read from the IfcRelConnectsPorts of the file:
    # pipe '8' runs from chamber '10' (H1) to chamber '51' (H2); pipe '210' from '212' to '56'
    names = net.nodes["name"]
    pairs = {row.name: (names[row.u], names[row.v]) for row in net.edges.itertuples()}
    assert pairs["8"] == ("10", "51")
    assert pairs["210"] == ("212", "56")
    # chamber '56' (H3) joins 4 pipes: 54 in, 210 in, 60 out, 109 out
    assert net.nodes.set_index("name").loc["56", "degree"] == 4


def test_drainage_pipe_values(drainage):
    edges = read_ifc_network(drainage, kind="sewer").edges
    pipe = edges.set_index("name").loc["8"]
    # the Axis polyline of pipe '8' is (0,0,0)-(0,0,16.748145) in its placement: 16.748145 m
    assert pipe["length_m"] == pytest.approx(16.748145, abs=1e-6)
    # IfcCircleHollowProfileDef radius 0.2 m -> outer diameter 400 mm; material 'betoni'
    assert pipe["diameter_mm"] == pytest.approx(400.0)
    assert pipe["material"] == "betoni"
    # SINK port at the placement origin z = 125.124735 (IFCCARTESIANPOINT #92)
    assert pipe["z_start_m"] == pytest.approx(125.124735)
    assert np.isclose(
        edges["length_m"].sum(),
        16.748145 + 11.359033 + 25.044046 + 11.338315 + 3.086138 + 3.760222,
        atol=1e-5,
    )


def test_chamber_positions_are_file_coordinates(drainage):
    nodes = read_ifc_network(drainage, kind="sewer", crs="EPSG:3878").nodes
    h1 = nodes.set_index("name").loc["10"]
    # IFCCARTESIANPOINT #21 (24525622.894716, 6876920.244796, 124.984735)
    assert h1.geometry.x == pytest.approx(24525622.894716)
    assert h1.geometry.y == pytest.approx(6876920.244796)
    assert h1["z_m"] == pytest.approx(124.984735)
    assert nodes.crs.to_epsg() == 3878


def _local_pipes(tmp_path, *, bare: int = 0):
    """Write an IFC4 file in local coordinates (plus ``bare`` pipes without ports or axis); return its path."""
    import ifcopenshell.api.context
    import ifcopenshell.api.geometry
    import ifcopenshell.api.project
    import ifcopenshell.api.root
    import ifcopenshell.api.unit

    # three chambers A (0,0), B (30,0), C (30,40); two pipes whose axes stop 0.5 m short of them,
    # with no ports: the ends must be matched to the chambers by geometry
    model = ifcopenshell.api.project.create_file(version="IFC4")
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="p")
    ifcopenshell.api.unit.assign_unit(model)

    def place(element, x, y, z=0.0):
        matrix = np.eye(4)
        matrix[:3, 3] = (x, y, z)
        ifcopenshell.api.geometry.edit_object_placement(model, product=element, matrix=matrix)

    for name, (x, y) in {"A": (0.0, 0.0), "B": (30.0, 0.0), "C": (30.0, 40.0)}.items():
        chamber = ifcopenshell.api.root.create_entity(
            model, ifc_class="IfcDistributionChamberElement", name=name
        )
        place(chamber, x, y)
    ctx = ifcopenshell.api.context.add_context(model, context_type="Model")
    axis_ctx = ifcopenshell.api.context.add_context(
        model, context_type="Model", context_identifier="Axis", target_view="GRAPH_VIEW", parent=ctx
    )
    for name, (x0, y0), (x1, y1) in [("AB", (0.5, 0.0), (29.5, 0.0)), ("BC", (30.0, 0.5), (30.0, 39.5))]:
        pipe = ifcopenshell.api.root.create_entity(model, ifc_class="IfcPipeSegment", name=name)
        place(pipe, 0.0, 0.0)
        # assign_unit's default length unit is the millimetre: axis points are written in mm
        polyline = model.createIfcPolyline(
            [
                model.createIfcCartesianPoint((x0 * 1000, y0 * 1000, 0.0)),
                model.createIfcCartesianPoint((x1 * 1000, y1 * 1000, 0.0)),
            ]
        )
        rep = model.createIfcShapeRepresentation(axis_ctx, "Axis", "Curve3D", [polyline])
        ifcopenshell.api.geometry.assign_representation(model, product=pipe, representation=rep)
    for k in range(bare):
        place(
            ifcopenshell.api.root.create_entity(model, ifc_class="IfcPipeSegment", name=f"bare{k}"), 5.0, 5.0
        )
    path = tmp_path / "pipes.ifc"
    model.write(str(path))
    return path


def test_geometry_fallback_without_ports(tmp_path):
    path = _local_pipes(tmp_path)
    net = read_ifc_network(path, kind="water")
    assert (len(net.nodes), len(net.edges)) == (3, 2)
    assert (net.edges["connected_by"] == "geometry").all()
    assert not net.edges["flow_direction_known"].any()
    names = net.nodes["name"]
    assert {(names[u], names[v]) for u, v in net.edges[["u", "v"]].itertuples(index=False)} == {
        ("A", "B"),
        ("B", "C"),
    }
    assert sorted(net.edges["length_m"].round(9)) == [29.0, 39.0]  # axis lengths
    with pytest.raises(NetworkError, match="IfcCableSegment"):
        read_ifc_network(path, kind="power")
    with pytest.raises(ValidationError):
        read_ifc_network(path, kind="road")
    # tolerance too small: free end nodes instead of chambers, 2 components
    net = read_ifc_network(path, kind="water", match_distance_m=0.1)
    assert net.report["components"] == 2 and len(net.nodes) == 4


def test_draft_schema_is_refused(shared_data):
    with pytest.raises(UnsupportedSchemaError, match="IFC4X3_ADD2"):
        read_ifc_network(shared_data / "ifc43_drainage_system" / "DrainageSystem-1-2.ifc", kind="sewer")


def test_local_file_in_a_projected_crs_needs_origin(tmp_path):
    path = _local_pipes(tmp_path)
    with pytest.raises(PlacementError, match=r"local coordinates: pass origin=\(x, y\[, z, rotation_deg\]\)"):
        read_ifc_network(path, kind="water", crs="EPSG:2154")


def test_origin_rotation_and_height_checked_by_hand(tmp_path):
    path = _local_pipes(tmp_path)
    local = read_ifc_network(path, kind="water")
    net = read_ifc_network(path, kind="water", crs="EPSG:2154", origin=(651000, 6847000, 12.5, 90))
    assert net.crs.to_epsg() == 2154
    c = net.nodes.set_index("name").loc["C"]
    # chamber C at local (30, 40), turned 90 degrees counter-clockwise: (-40, 30), then moved
    assert c.geometry.x == pytest.approx(651000 - 40, abs=1e-9)
    assert c.geometry.y == pytest.approx(6847000 + 30, abs=1e-9)
    assert c["z_m"] == pytest.approx(12.5)
    assert (net.edges["z_start_m"] == 12.5).all() and (net.edges["z_end_m"] == 12.5).all()
    # a rotation keeps lengths: geometries and length_m as in the local read
    np.testing.assert_allclose(net.edges.length, local.edges.length, rtol=0, atol=1e-9)
    assert net.edges["length_m"].tolist() == local.edges["length_m"].tolist()
    step = [s for s in provenance.get(net).steps if s.action == "place"]
    assert len(step) == 1 and step[0].params["origin"] == [651000.0, 6847000.0, 12.5, 90.0]


def test_origin_is_checked(tmp_path):
    path = _local_pipes(tmp_path)
    with pytest.raises(GeoreferenceError, match="without crs"):
        read_ifc_network(path, kind="water", origin=(651000, 6847000))
    for bad in [(651000,), (651000, 6847000, 0), (651000, float("nan"))]:
        with pytest.raises(GeoreferenceError, match="origin must be"):
            read_ifc_network(path, kind="water", crs="EPSG:2154", origin=bad)


def test_drainage_file_is_in_map_coordinates_not_local(drainage):
    # the file has no IfcMapConversion but its coordinates are GK25 (EPSG:3878) eastings and
    # northings, not local ones: Lambert-93 is refused with or without origin= (which moves the
    # file's (0, 0), 24.5 million metres away from the data)
    with pytest.raises(PlacementError, match="outside the area of use of EPSG:2154"):
        read_ifc_network(drainage, kind="sewer", crs="EPSG:2154")
    with pytest.raises(PlacementError, match="outside the area of use of EPSG:2154"):
        read_ifc_network(drainage, kind="sewer", crs="EPSG:2154", origin=(651000, 6847000))
    local = read_ifc_network(drainage, kind="sewer")
    with set_options(placement="accept"), pytest.warns(PlacementWarning):
        moved = read_ifc_network(drainage, kind="sewer", crs="EPSG:2154", origin=(651000, 6847000))
    shift = np.array([651000.0, 6847000.0, 651000.0, 6847000.0])
    np.testing.assert_array_equal(moved.nodes.total_bounds, local.nodes.total_bounds + shift)
    np.testing.assert_array_equal(moved.edges.total_bounds, local.edges.total_bounds + shift)


def test_drainage_origin_in_its_own_crs(drainage):
    local = read_ifc_network(drainage, kind="sewer")
    net = read_ifc_network(drainage, kind="sewer", crs="EPSG:3878", origin=(-100.0, 50.0, 2.0, 0.0))
    shift = np.array([-100.0, 50.0, -100.0, 50.0])
    np.testing.assert_array_equal(net.nodes.total_bounds, local.nodes.total_bounds + shift)
    h1 = net.nodes.set_index("name").loc["10"]
    # IFCCARTESIANPOINT #21 (24525622.894716, 6876920.244796, 124.984735), moved
    assert h1.geometry.x == pytest.approx(24525622.894716 - 100.0)
    assert h1.geometry.y == pytest.approx(6876920.244796 + 50.0)
    assert h1["z_m"] == pytest.approx(124.984735 + 2.0)
    assert net.edges["length_m"].tolist() == local.edges["length_m"].tolist()
    actions = [s.action for s in provenance.get(net).steps]
    assert "place" in actions and "accept_placement" not in actions


def test_segments_without_ports_or_axis_are_counted_not_dropped_silently(tmp_path):
    from cimkit.errors import RepairWarning

    path = _local_pipes(tmp_path, bare=1)
    with pytest.warns(RepairWarning, match="1 of 3 segment") as caught:
        net = read_ifc_network(path, kind="water")
    assert "NET101" in {getattr(w.message, "code", None) for w in caught}
    assert len(net.edges) == 2 and net.report["segments_skipped"] == 1
    step = next(s for s in provenance.get(net).steps if s.action == "skip_segments")
    assert (step.params["count"], step.params["of"]) == (1, 3)


def test_no_placeable_segment_is_an_error(tmp_path):
    import ifcopenshell.api.project
    import ifcopenshell.api.root
    import ifcopenshell.api.unit

    model = ifcopenshell.api.project.create_file(version="IFC4")
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="p")
    ifcopenshell.api.unit.assign_unit(model)
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcPipeSegment", name="lost")
    path = tmp_path / "lost.ifc"
    model.write(str(path))
    with pytest.raises(NetworkError, match="none of the 1 segment") as info:
        read_ifc_network(path, kind="water")
    assert info.value.code == "NET001"
