"""Author small IFC files with known geometry and georeferencing for the IFC reader tests.

The reference building (:func:`make_house`) has, in local project coordinates (metres):

- per storey ``k`` (0-based, storey height 3.3 m): a floor slab with the outline
  ``(0, 0) - (10, 0) - (10, 6) - (0, 6)``, 0.3 m thick, from ``z = 3.3 k`` to ``3.3 k + 0.3``;
- four 0.2 m thick walls 3.0 m high standing on it, inside the slab outline;
- optionally one window opening (1 m wide, 1.2 m high) in the south wall of storey 0.

So its footprint is the 10 m x 6 m rectangle (60 m2), its height ``3.3 * storeys`` m, and its
bottom at local ``z = 0``. Every coordinate written to the file is converted into the project
length unit (metres or millimetres), exactly as an exporter would.
"""

from __future__ import annotations

import math
from pathlib import Path

import ifcopenshell
import ifcopenshell.api
import ifcopenshell.api.aggregate
import ifcopenshell.api.context
import ifcopenshell.api.feature
import ifcopenshell.api.georeference
import ifcopenshell.api.material
import ifcopenshell.api.project
import ifcopenshell.api.pset
import ifcopenshell.api.root
import ifcopenshell.api.spatial
import ifcopenshell.api.unit
import numpy as np

SLAB_OUTLINE = [(0.0, 0.0), (10.0, 0.0), (10.0, 6.0), (0.0, 6.0)]
STOREY_HEIGHT = 3.3
SLAB_THICKNESS = 0.3
WALL_THICKNESS = 0.2
WALL_HEIGHT = 3.0


def _placement(f: ifcopenshell.file, origin, *, unit: float, relative_to=None, x_dir=(1.0, 0.0, 0.0)):
    point = f.createIfcCartesianPoint([float(c) / unit for c in origin])
    axis = f.createIfcAxis2Placement3D(
        point, f.createIfcDirection((0.0, 0.0, 1.0)), f.createIfcDirection(tuple(float(c) for c in x_dir))
    )
    return f.createIfcLocalPlacement(relative_to, axis)


def _extrusion(f, body, outline, depth, *, unit: float, position=(0.0, 0.0, 0.0)):
    """A body representation: a polyline profile (metres) extruded along +z by ``depth`` metres."""
    pts = [f.createIfcCartesianPoint((x / unit, y / unit)) for x, y in [*outline, outline[0]]]
    profile = f.createIfcArbitraryClosedProfileDef("AREA", None, f.createIfcPolyline(pts))
    solid = f.createIfcExtrudedAreaSolid(
        profile,
        f.createIfcAxis2Placement3D(f.createIfcCartesianPoint([c / unit for c in position]), None, None),
        f.createIfcDirection((0.0, 0.0, 1.0)),
        depth / unit,
    )
    rep = f.createIfcShapeRepresentation(body, "Body", "SweptSolid", [solid])
    return f.createIfcProductDefinitionShape(None, None, [rep])


def new_project(*, schema: str = "IFC4", length_unit: str = "METRE", true_north_deg: float | None = None):
    """An empty project with one model context and the given length unit ('METRE'/'MILLIMETRE')."""
    f = ifcopenshell.api.project.create_file(version=schema)
    if schema == "IFC2X3":  # IFC2X3 requires an owner history on every rooted entity
        org = f.createIfcOrganization(None, "cimkit tests")
        f.createIfcPersonAndOrganization(f.createIfcPerson(), org)
        f.createIfcApplication(org, "1.0", "cimkit test factory", "cimkit-tests")
    project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="Test project")
    if length_unit == "MILLIMETRE":
        length = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT", prefix="MILLI")
    else:
        length = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")
    area = ifcopenshell.api.unit.add_si_unit(f, unit_type="AREAUNIT")
    volume = ifcopenshell.api.unit.add_si_unit(f, unit_type="VOLUMEUNIT")
    ifcopenshell.api.unit.assign_unit(f, units=[length, area, volume])
    model = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model
    )
    if true_north_deg is not None:
        # true north as a direction in the local XY plane, rotated counter-clockwise from +Y
        t = math.radians(true_north_deg)
        model.TrueNorth = f.createIfcDirection((-math.sin(t), math.cos(t)))
    return f, project, body


def add_house(
    f,
    project,
    body,
    *,
    unit: float = 1.0,
    storeys: int = 1,
    opening: bool = True,
    name: str = "House",
    offset=(0.0, 0.0),
    site=None,
    occupancy: str | None = "Residential",
    materials: bool = True,
):
    """Add a site (unless given), a building and its storeys with slabs and walls; return the building."""
    if site is None:
        site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
        site.ObjectPlacement = _placement(f, (0, 0, 0), unit=unit)
        ifcopenshell.api.aggregate.assign_object(f, relating_object=project, products=[site])
    building = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name=name)
    building.ObjectPlacement = _placement(f, (*offset, 0.0), unit=unit, relative_to=site.ObjectPlacement)
    ifcopenshell.api.aggregate.assign_object(f, relating_object=site, products=[building])
    if occupancy:
        pset = ifcopenshell.api.pset.add_pset(f, product=building, name="Pset_BuildingCommon")
        ifcopenshell.api.pset.edit_pset(f, pset=pset, properties={"OccupancyType": occupancy})
    concrete = brick = None
    if materials:
        concrete = ifcopenshell.api.material.add_material(f, name="Concrete", category="concrete")
        brick = ifcopenshell.api.material.add_material(f, name="Brick", category="brick")
        insulation = ifcopenshell.api.material.add_material(f, name="Mineral wool", category="insulation")
        pset = ifcopenshell.api.pset.add_pset(f, product=concrete, name="Pset_MaterialCommon")
        ifcopenshell.api.pset.edit_pset(f, pset=pset, properties={"MassDensity": 2400.0})
        layer_set = ifcopenshell.api.material.add_material_set(f, name="Wall", set_type="IfcMaterialLayerSet")
        for mat, thickness in ((brick, 0.15), (insulation, 0.05)):
            layer = ifcopenshell.api.material.add_layer(f, layer_set=layer_set, material=mat)
            layer.LayerThickness = thickness / unit
    t = WALL_THICKNESS
    walls_outline = {
        "S": [(0.0, 0.0), (10.0, 0.0), (10.0, t), (0.0, t)],
        "N": [(0.0, 6.0 - t), (10.0, 6.0 - t), (10.0, 6.0), (0.0, 6.0)],
        "W": [(0.0, t), (t, t), (t, 6.0 - t), (0.0, 6.0 - t)],
        "E": [(10.0 - t, t), (10.0, t), (10.0, 6.0 - t), (10.0 - t, 6.0 - t)],
    }
    for k in range(storeys):
        z = STOREY_HEIGHT * k
        storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=f"Level {k}")
        storey.Elevation = z / unit
        storey.ObjectPlacement = _placement(f, (0, 0, z), unit=unit, relative_to=building.ObjectPlacement)
        ifcopenshell.api.aggregate.assign_object(f, relating_object=building, products=[storey])
        slab = ifcopenshell.api.root.create_entity(
            f, ifc_class="IfcSlab", name=f"Floor {k}", predefined_type="FLOOR"
        )
        slab.ObjectPlacement = _placement(f, (0, 0, 0), unit=unit, relative_to=storey.ObjectPlacement)
        slab.Representation = _extrusion(f, body, SLAB_OUTLINE, SLAB_THICKNESS, unit=unit)
        ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[slab])
        if concrete is not None:
            ifcopenshell.api.material.assign_material(f, products=[slab], material=concrete)
        for side, outline in walls_outline.items():
            wall = ifcopenshell.api.root.create_entity(f, ifc_class="IfcWall", name=f"Wall {side}{k}")
            wall.ObjectPlacement = _placement(
                f, (0, 0, SLAB_THICKNESS), unit=unit, relative_to=storey.ObjectPlacement
            )
            wall.Representation = _extrusion(f, body, outline, WALL_HEIGHT, unit=unit)
            ifcopenshell.api.spatial.assign_container(f, relating_structure=storey, products=[wall])
            if brick is not None:
                ifcopenshell.api.material.assign_material(f, products=[wall], material=layer_set)
            if opening and k == 0 and side == "S":
                hole = ifcopenshell.api.root.create_entity(
                    f, ifc_class="IfcOpeningElement", name="Window hole"
                )
                hole.ObjectPlacement = _placement(
                    f, (4.0, -0.1, 0.9), unit=unit, relative_to=wall.ObjectPlacement
                )
                hole.Representation = _extrusion(
                    f, body, [(0.0, 0.0), (1.0, 0.0), (1.0, 0.4), (0.0, 0.4)], 1.2, unit=unit
                )
                ifcopenshell.api.feature.add_feature(f, feature=hole, element=wall)
    return building


def map_conversion(f, *, epsg: int, eastings, northings, height=0.0, rotation_deg=0.0, scale=None):
    """Add an IfcMapConversion (values written in map units, rotation as X-axis abscissa/ordinate)."""
    ifcopenshell.api.georeference.add_georeferencing(f, ifc_class="IfcMapConversion", name=f"EPSG:{epsg}")
    conv = f.by_type("IfcMapConversion")[0]
    conv.Eastings = float(eastings)
    conv.Northings = float(northings)
    conv.OrthogonalHeight = float(height)
    r = math.radians(rotation_deg)
    conv.XAxisAbscissa = math.cos(r)
    conv.XAxisOrdinate = math.sin(r)
    if scale is not None:
        conv.Scale = float(scale)
    return conv


def set_site_latlon(f, *, lat: float, lon: float, elevation: float = 0.0, unit: float = 1.0) -> None:
    """Write IfcSite RefLatitude / RefLongitude (compound degrees) and RefElevation."""
    site = f.by_type("IfcSite")[0]
    site.RefLatitude = _compound(lat)
    site.RefLongitude = _compound(lon)
    site.RefElevation = elevation / unit


def _compound(value: float) -> list[int]:
    sign = -1 if value < 0 else 1
    v = abs(value)
    deg = int(v)
    minutes = int((v - deg) * 60)
    seconds = int((v - deg - minutes / 60) * 3600)
    micro = round(((v - deg - minutes / 60) * 3600 - seconds) * 1e6)
    return [sign * deg, sign * minutes, sign * seconds, sign * micro]


def expected_corners(e0, n0, rotation_deg, s=1.0, local=SLAB_OUTLINE) -> np.ndarray:
    """Hand formula of IfcMapConversion: E = E0 + s(a x - b y), N = N0 + s(b x + a y)."""
    a, b = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    xy = np.asarray(local, dtype=float)
    return np.column_stack([e0 + s * (a * xy[:, 0] - b * xy[:, 1]), n0 + s * (b * xy[:, 0] + a * xy[:, 1])])


def write(f, path: Path) -> Path:
    f.write(str(path))
    return path


_HOUSE_TEXT: dict[tuple, str] = {}


def house_text(*, storeys: int = 1, length_unit: str = "METRE", scale=None, opening: bool = False) -> str:
    """The IFC text of the reference house on an IfcMapConversion to EPSG:2154 (cached per process).

    The house (:func:`add_house`, 10 m x 6 m) stands at E 651000, N 6861000, not rotated, so its
    footprint is the box 651000-651010 x 6861000-6861006 (60 m2). Hostile-input tests edit this
    text (a scale, a cut, a cycle) and write it under their own folder.
    """
    key = (storeys, length_unit, scale, opening)
    if key not in _HOUSE_TEXT:
        unit = 0.001 if length_unit == "MILLIMETRE" else 1.0
        f, project, body = new_project(length_unit=length_unit)
        add_house(f, project, body, storeys=storeys, unit=unit, opening=opening, materials=False)
        map_conversion(f, epsg=2154, eastings=651000, northings=6861000, scale=scale)
        _HOUSE_TEXT[key] = f.to_string()
    return _HOUSE_TEXT[key]


def write_text(path: Path, text: str) -> Path:
    """Write IFC ``text`` to ``path`` and return the path."""
    Path(path).write_text(text)
    return Path(path)
