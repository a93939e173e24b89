"""Building quantities that mean what their names say: height above ground, depth, gross / net areas.

The models are authored here with ``ifcopenshell.api`` (helpers of tests/io/ifc_factory.py);
every expected value follows from the coordinates written, by hand.
"""

from __future__ import annotations

import math
import warnings

import ifcopenshell.api.aggregate
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import numpy as np
import pytest

from cimkit.errors import CimkitWarning, QuantityWarning
from cimkit.io.ifc import read_ifc_model
from cimkit.io.ifc._quantities import ground_storey
from cimkit.provenance import get as get_provenance
from tests.io import ifc_factory as F

E0, N0, H0 = 651000.0, 6861000.0, 30.0
STOREY_M = 4.94  # three storeys: walls from 0 to 14.82 m
OUTLINE = [(0.0, 0.0), (20.0, 0.0), (20.0, 12.0), (0.0, 12.0)]


def _product(f, body, ifc_class, name, container, outline, z0, depth, **attributes):
    """An element extruded from local ``z0`` by ``depth`` metres, contained in ``container``."""
    el = ifcopenshell.api.root.create_entity(f, ifc_class=ifc_class, name=name, **attributes)
    el.ObjectPlacement = F._placement(f, (0.0, 0.0, z0), unit=1.0, relative_to=container.ObjectPlacement)
    el.Representation = F._extrusion(f, body, outline, depth, unit=1.0)
    if ifc_class == "IfcSpace":
        ifcopenshell.api.aggregate.assign_object(f, relating_object=container, products=[el])
    else:
        ifcopenshell.api.spatial.assign_container(f, relating_structure=container, products=[el])
    return el


def _office(
    tmp_path,
    *,
    slabs=True,
    spaces=False,
    basement=False,
    storeys=True,
    name="office.ifc",
):
    """A three-storey office, 20 m x 12 m, walls from 0 to 14.82 m, a drain down to -1.22 m.

    Also: an IfcSpace reaching 18 m and an IfcGeographicElement (terrain) from -3 to -2.5 m,
    neither of which may count; optionally a basement storey at -3.0 m with its floor slab.
    """
    f, project, body = F.new_project()
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    site.ObjectPlacement = F._placement(f, (0, 0, 0), unit=1.0)
    ifcopenshell.api.aggregate.assign_object(f, relating_object=project, products=[site])
    building = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name="Office")
    building.ObjectPlacement = F._placement(f, (0, 0, 0), unit=1.0, relative_to=site.ObjectPlacement)
    ifcopenshell.api.aggregate.assign_object(f, relating_object=site, products=[building])
    levels = [(f"Level {k}", STOREY_M * k) for k in range(3)]
    if basement:
        levels.append(("Basement", -3.0))
    containers = []
    for level_name, z in levels:
        if storeys:
            storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=level_name)
            storey.Elevation = z
            storey.ObjectPlacement = F._placement(
                f, (0, 0, z), unit=1.0, relative_to=building.ObjectPlacement
            )
            ifcopenshell.api.aggregate.assign_object(f, relating_object=building, products=[storey])
            containers.append((storey, 0.0, level_name))
        else:
            containers.append((building, z, level_name))
    t = 0.3
    walls = {
        "S": [(0.0, 0.0), (20.0, 0.0), (20.0, t), (0.0, t)],
        "N": [(0.0, 12.0 - t), (20.0, 12.0 - t), (20.0, 12.0), (0.0, 12.0)],
        "W": [(0.0, t), (t, t), (t, 12.0 - t), (0.0, 12.0 - t)],
        "E": [(20.0 - t, t), (20.0, t), (20.0, 12.0 - t), (20.0 - t, 12.0 - t)],
    }
    for container, z, level_name in containers:
        height = 3.0 if level_name == "Basement" else STOREY_M
        for side, outline in walls.items():
            _product(f, body, "IfcWall", f"Wall {side} {level_name}", container, outline, z, height)
        if slabs:
            _product(
                f,
                body,
                "IfcSlab",
                f"Floor {level_name}",
                container,
                OUTLINE,
                z,
                0.25,
                predefined_type="FLOOR",
            )
        if spaces and level_name != "Basement":
            room = [(t, t), (20.0 - t, t), (20.0 - t, 12.0 - t), (t, 12.0 - t)]  # 19.4 x 11.4 = 221.16 m2
            top = 18.0 - z if level_name == "Level 2" else STOREY_M - 0.25
            _product(f, body, "IfcSpace", f"Office {level_name}", container, room, z + 0.25, top)
    ground, z_ground, _ = containers[0]
    drain = [(9.9, 5.9), (10.1, 5.9), (10.1, 6.1), (9.9, 6.1)]
    _product(f, body, "IfcPipeSegment", "Drain", ground, drain, z_ground - 1.22, 1.22)
    _product(f, body, "IfcGeographicElement", "Terrain", ground, OUTLINE, z_ground - 3.0, 0.5)
    F.map_conversion(f, epsg=2154, eastings=E0, northings=N0, height=H0)
    return F.write(f, tmp_path / name)


def _read(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = read_ifc_model(path, sandbox=False)
    return model, [w for w in caught if issubclass(w.category, QuantityWarning)]


def test_height_above_ground_and_depth_below(tmp_path):
    model, caught = _read(_office(tmp_path))
    row = model.buildings.iloc[0]
    # walls 0 .. 14.82 m, drain to -1.22 m: the old top-minus-bottom gave 16.04 m
    assert row.height_m == pytest.approx(14.82, abs=1e-9)
    assert row.depth_below_ground_m == pytest.approx(1.22, abs=1e-9)
    # ground level: "Level 0" at elevation 0, OrthogonalHeight 30 m
    assert row.ground_elevation_m == pytest.approx(H0) and row.ground_source == "storey"
    assert row.base_elevation_m == pytest.approx(H0)
    assert row.ground_floor_elevation_m == pytest.approx(H0 + 0.25)  # top of the ground slab
    assert (row.storeys, row.storeys_above_ground, row.storeys_below_ground) == (3, 3, 0)
    # three 20 m x 12 m floor slabs, walls on their edges: 3 x 240 m2 gross
    assert row.gfa_source == "slabs" and row.gfa_m2 == pytest.approx(720.0)
    assert math.isnan(row.nfa_m2)
    # the terrain element is read (element table) but is not part of the building's body
    assert "IfcGeographicElement" in set(model.elements.ifc_class)
    assert row.geometry.area == pytest.approx(240.0)
    assert caught == []
    step = next(s for s in get_provenance(model.buildings).steps if s.action == "building-quantities")
    assert step.params["gfa_source"] == {"slabs": 1} and step.params["ground_source"] == {"storey": 1}


def test_spaces_never_count_toward_height_or_gross_area(tmp_path):
    model, _ = _read(_office(tmp_path, spaces=True))
    row = model.buildings.iloc[0]
    assert row.height_m == pytest.approx(14.82)  # the top space reaches 18 m: not a physical element
    assert row.gfa_source == "slabs" and row.gfa_m2 == pytest.approx(720.0)
    # net floor area: three 19.4 m x 11.4 m rooms = 3 x 221.16 m2
    assert row.nfa_m2 == pytest.approx(3 * 221.16)
    assert row.nfa_m2 < row.gfa_m2


def test_spaces_without_gross_area_use_the_stated_fallback(tmp_path):
    # no GrossFloorArea quantity and no slabs: gfa = footprint (240 m2) x 3 storeys above ground,
    # with a warning and a provenance step; the spaces give the net area only
    model, caught = _read(_office(tmp_path, slabs=False, spaces=True))
    row = model.buildings.iloc[0]
    assert row.gfa_source == "footprint x storeys" and row.gfa_m2 == pytest.approx(720.0)
    assert row.nfa_m2 == pytest.approx(3 * 221.16)
    assert (row.storeys_above_ground, row.storeys_below_ground) == (3, 0)  # storeys with spaces
    assert len(caught) == 1 and issubclass(caught[0].category, CimkitWarning)
    message = str(caught[0].message)
    assert "1 of 1 building" in message and "footprint x storeys_above_ground" in message
    assert "override" in message
    steps = [s.action for s in get_provenance(model.buildings).steps]
    assert "gfa-fallback" in steps


def test_basement_storey_counts_below_ground(tmp_path):
    model, _ = _read(_office(tmp_path, basement=True))
    row = model.buildings.iloc[0]
    # the basement (slab at -3.0 m) is below the ground storey; the drain (-1.22) is above its floor
    assert (row.storeys, row.storeys_above_ground, row.storeys_below_ground) == (4, 3, 1)
    assert row.height_m == pytest.approx(14.82)
    assert row.depth_below_ground_m == pytest.approx(3.0)
    assert row.ground_elevation_m == pytest.approx(H0)
    # four 240 m2 floors, the basement's included
    assert row.gfa_m2 == pytest.approx(960.0)


def test_no_storeys_takes_the_lowest_element_with_a_warning(tmp_path):
    model, caught = _read(_office(tmp_path, storeys=False))
    row = model.buildings.iloc[0]
    # no storey: ground = the drain's bottom (-1.22 m), height = 14.82 + 1.22
    assert row.ground_source == "lowest element"
    assert row.ground_elevation_m == pytest.approx(H0 - 1.22)
    assert row.height_m == pytest.approx(16.04) and row.depth_below_ground_m == 0.0
    assert (row.storeys_above_ground, row.storeys_below_ground) == (0, 0)
    assert any("lowest element" in str(w.message) for w in caught)
    assert "ground-fallback" in [s.action for s in get_provenance(model.buildings).steps]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ({"Keller": -2.8, "Erdgeschoss": 0.15, "1. OG": 3.0}, "Erdgeschoss"),  # named, off zero
        ({"Sous-sol": -3.0, "RDC": 0.4, "R+1": 3.4}, "RDC"),
        ({"T/FDN": -1.25, "Level 1": 0.0, "Level 2": 3.1, "Roof": 6.0}, "Level 1"),  # Duplex: at 0
        ({"B2": -6.0, "B1": -3.0, "L1": 0.5}, "B1"),  # nothing at 0: the highest below 0
        ({"A": 152.3, "B": 155.3}, "A"),  # absolute elevations: the lowest
    ],
)
def test_ground_storey_rule(levels, expected):
    storeys = {k: {"name": n, "long_name": None, "elevation_m": z} for k, (n, z) in enumerate(levels.items())}
    found = ground_storey(list(storeys), storeys)
    assert storeys[found]["name"] == expected


def test_ground_storey_without_elevations():
    assert ground_storey([], {}) is None
    assert ground_storey([1], {1: {"name": "x", "long_name": None, "elevation_m": np.nan}}) is None


@pytest.mark.parametrize("name", ["maison_jaures_21.ifc", "commerce_grande_rue.ifc"])
def test_sample_city_buildings(name):
    import ifcopenshell
    import ifcopenshell.geom
    import ifcopenshell.util.placement
    import ifcopenshell.util.unit
    import pandas as pd

    from cimkit.datasets import sample_city_path

    path = sample_city_path() / "buildings" / name
    if not path.is_file():
        pytest.skip("the sample city has not been generated")
    meta = pd.read_csv(path.parent / "index.csv").set_index("file").loc[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = read_ifc_model(path, sandbox=False).buildings.iloc[0]
    # independently: the ground storey "RDC" placement height and the top of every physical element
    f = ifcopenshell.open(str(path))
    scale = ifcopenshell.util.unit.calculate_unit_scale(f)
    rdc = next(s for s in f.by_type("IfcBuildingStorey") if s.Name == "RDC")
    ground_z = ifcopenshell.util.placement.get_local_placement(rdc.ObjectPlacement)[2, 3] * scale
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    tops = []
    for el in f.by_type("IfcElement"):
        if el.is_a("IfcOpeningElement") or el.Representation is None:
            continue
        verts = np.asarray(ifcopenshell.geom.create_shape(settings, el).geometry.verts).reshape(-1, 3)
        tops.append(verts[:, 2].max())
    assert row.height_m == pytest.approx(max(tops) - ground_z, abs=1e-6)
    assert (row.storeys_above_ground, row.storeys_below_ground) == (int(meta.storeys), 0)
    assert row.gfa_source == "qto" and row.nfa_m2 < row.gfa_m2
