"""Building specifications and the low-level IFC4 writing helpers of the sample city.

:mod:`cimkit.datasets._ifc_authoring` assembles one building from these pieces: the
:class:`BuildingSpec` (dimensions in metres, materials, map placement) and :class:`_Writer`
(shared points and directions, placements, boxes, materials) plus small relationship, property
and quantity helpers. Every identifier is derived deterministically so that two generations give
byte-identical files.

This module is private: :func:`cimkit.datasets.generator.generate_sample_city` is the entry point.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import cast

__all__ = ["SLAB_DEPTH_M", "BuildingSpec", "MaterialLayer"]

SLAB_DEPTH_M = 0.20


@dataclass(frozen=True)
class MaterialLayer:
    """One layer of a layer set: material name, IfcMaterial.Category (or None), thickness in metres."""

    name: str
    category: str | None
    thickness_m: float


@dataclass
class BuildingSpec:
    """Everything needed to author one building file.

    Lengths are in metres; ``length_unit`` only changes how they are written.
    """

    short_name: str
    name: str
    use: str  # residential | office | education | retail
    building_type: str
    storeys: int
    storey_height_m: float
    width_m: float
    depth_m: float
    rotation_deg: float
    length_unit: str  # "m" or "mm"
    ground_floor_m: float  # top of the ground-floor slab above terrain (0.0 or ~0.3)
    wall_layers: tuple[MaterialLayer, ...]
    wall_set_name: str
    slab_layer: MaterialLayer
    roof_layer: MaterialLayer
    window_materials: tuple[MaterialLayer, ...]  # constituents (thickness ignored)
    door_material: MaterialLayer
    space_use: str  # French use label for IfcSpace.LongName
    spaces_per_storey: int
    windows_per_facade: int
    permit_year: int
    parcel_id: str = ""
    # map placement, filled by the generator
    eastings: float = 0.0
    northings: float = 0.0
    orthogonal_height: float = 0.0

    @property
    def wall_thickness_m(self) -> float:
        return round(sum(layer.thickness_m for layer in self.wall_layers), 4)

    @property
    def height_m(self) -> float:
        """Top of the roof above terrain, metres."""
        return round(self.ground_floor_m + self.storeys * self.storey_height_m, 3)

    def footprint_local_m(self) -> list[tuple[float, float]]:
        """Footprint corners in local metres, counter-clockwise."""
        w, d = self.width_m, self.depth_m
        return [(0.0, 0.0), (w, 0.0), (w, d), (0.0, d)]

    def to_map(self, x_m: float, y_m: float) -> tuple[float, float]:
        """Local metres -> EPSG:2154 metres with this building's map conversion."""
        a = math.cos(math.radians(self.rotation_deg))
        b = math.sin(math.radians(self.rotation_deg))
        return (self.eastings + a * x_m - b * y_m, self.northings + b * x_m + a * y_m)


def _deterministic_guid(key: str) -> str:
    import ifcopenshell.guid

    return ifcopenshell.guid.compress(hashlib.md5(key.encode("utf-8")).hexdigest())


class _Writer:
    """Small stateful helper around one ifcopenshell file (lengths given in metres)."""

    def __init__(self, spec: BuildingSpec) -> None:
        import ifcopenshell

        self.spec = spec
        self.k = 1000.0 if spec.length_unit == "mm" else 1.0
        self.f = ifcopenshell.file(schema="IFC4")
        self._materials: dict[str, object] = {}
        self._shared: dict[tuple, object] = {}

    # -- geometry primitives -------------------------------------------------------------
    def L(self, metres: float) -> float:
        """Metres -> project length units."""
        return round(metres * self.k, 6)

    def point(self, x: float, y: float, z: float = 0.0):
        return self.shared("IfcCartesianPoint", (self.L(x), self.L(y), self.L(z)))

    def direction(self, *ratios: float):
        return self.shared("IfcDirection", tuple(round(r, 12) + 0.0 for r in ratios))

    def shared(self, ifc_class: str, coordinates: tuple[float, ...]):
        """One instance per distinct point or direction (keeps files small, as exporters do)."""
        key = (ifc_class, coordinates)
        if key not in self._shared:
            self._shared[key] = self.f.create_entity(ifc_class, coordinates)
        return self._shared[key]

    def placement(self, rel_to, x: float, y: float, z: float, angle_deg: float = 0.0, *, share: bool = True):
        """Local placement; ``share=False`` for the spatial structure, whose placements the api edits."""
        a = math.radians(angle_deg)
        if share:
            location = self.point(x, y, z)
            axis_z, ref = self.direction(0.0, 0.0, 1.0), self.direction(math.cos(a), math.sin(a), 0.0)
        else:
            location = self.f.create_entity("IfcCartesianPoint", (self.L(x), self.L(y), self.L(z)))
            axis_z = self.f.create_entity("IfcDirection", (0.0, 0.0, 1.0))
            ref = self.f.create_entity(
                "IfcDirection", (round(math.cos(a), 12) + 0.0, round(math.sin(a), 12) + 0.0, 0.0)
            )
        axis = self.f.create_entity("IfcAxis2Placement3D", Location=location, Axis=axis_z, RefDirection=ref)
        return self.f.create_entity("IfcLocalPlacement", PlacementRelTo=rel_to, RelativePlacement=axis)

    def box(self, context, x0: float, y0: float, z0: float, dx: float, dy: float, dz: float):
        """Shape representation of an axis-aligned box (metres, in the element's frame)."""
        f = self.f
        profile = f.create_entity(
            "IfcRectangleProfileDef",
            ProfileType="AREA",
            Position=f.create_entity(
                "IfcAxis2Placement2D",
                Location=self.shared("IfcCartesianPoint", (self.L(x0 + dx / 2), self.L(y0 + dy / 2))),
            ),
            XDim=self.L(dx),
            YDim=self.L(dy),
        )
        solid = f.create_entity(
            "IfcExtrudedAreaSolid",
            SweptArea=profile,
            Position=f.create_entity("IfcAxis2Placement3D", Location=self.point(0.0, 0.0, z0)),
            ExtrudedDirection=self.direction(0.0, 0.0, 1.0),
            Depth=self.L(dz),
        )
        return f.create_entity(
            "IfcShapeRepresentation",
            ContextOfItems=context,
            RepresentationIdentifier="Body",
            RepresentationType="SweptSolid",
            Items=[solid],
        )

    def material(self, layer: MaterialLayer):
        import ifcopenshell.api.material

        key = layer.name
        if key not in self._materials:
            self._materials[key] = ifcopenshell.api.material.add_material(
                self.f, name=layer.name, category=layer.category
            )
        return self._materials[key]


def _qto(f, product, name: str, values: dict[str, float]) -> None:
    import ifcopenshell.api.pset

    qto = ifcopenshell.api.pset.add_qto(f, product=product, name=name)
    ifcopenshell.api.pset.edit_qto(f, qto=qto, properties={k: float(round(v, 6)) for k, v in values.items()})


def _pset(f, product, name: str, values: dict) -> None:
    import ifcopenshell.api.pset

    pset = ifcopenshell.api.pset.add_pset(f, product=product, name=name)
    ifcopenshell.api.pset.edit_pset(f, pset=pset, properties=values)


def _layer_set(w: _Writer, name: str, layers: tuple[MaterialLayer, ...]):
    import ifcopenshell.api.material

    layer_set = ifcopenshell.api.material.add_material_set(w.f, name=name, set_type="IfcMaterialLayerSet")
    for layer in layers:
        item = ifcopenshell.api.material.add_layer(w.f, layer_set=layer_set, material=w.material(layer))
        ifcopenshell.api.material.edit_layer(
            w.f, layer=item, attributes={"LayerThickness": w.L(layer.thickness_m), "Name": layer.name}
        )
    return layer_set


def _assign_layer_usage(w: _Writer, products: list, layer_set, direction: str) -> None:
    """IfcMaterialLayerSetUsage (AXIS2 for walls, AXIS3 for slabs) on each product."""
    f = w.f
    for product in products:
        usage = f.create_entity(
            "IfcMaterialLayerSetUsage",
            ForLayerSet=layer_set,
            LayerSetDirection=direction,
            DirectionSense="POSITIVE",
            OffsetFromReferenceLine=0.0,
        )
        f.create_entity(
            "IfcRelAssociatesMaterial",
            GlobalId=_deterministic_guid(f"tmp-{product.id()}-{layer_set.id()}"),
            RelatedObjects=[product],
            RelatingMaterial=usage,
        )


def _order_sets(f) -> None:
    """Sort every SET-typed attribute of entity references by entity id.

    ifcopenshell's API builds some sets (unit assignments, aggregated objects) in an order that
    varies between runs in one process; sets have no order in IFC, so a fixed one keeps the
    written file byte-identical between generations.
    """
    import ifcopenshell.ifcopenshell_wrapper as wrapper

    schema = wrapper.schema_by_name(f.schema)
    set_attributes: dict[str, list[int]] = {}
    for entity in f:
        name = entity.is_a()
        if name not in set_attributes:
            set_attributes[name] = [
                i
                for i, attribute in enumerate(
                    cast("wrapper.entity", schema.declaration_by_name(name)).all_attributes()
                )
                if (agg := attribute.type_of_attribute().as_aggregation_type()) is not None
                and agg.type_of_aggregation_string() == "set"
            ]
        for i in set_attributes[name]:
            value = entity[i]
            if value and all(isinstance(v, type(entity)) for v in value):
                entity[i] = sorted(value, key=lambda v: v.id())


def _relate(f, ifc_class: str, **attributes):
    """Create a relationship directly.

    The ``ifcopenshell.api`` spatial/aggregate/feature calls re-derive every placement on each
    call (measured: ~80 % of the authoring time here); the placements authored in this module
    are already relative to their container, so the relationships are created as plain entities.
    """
    return f.create_entity(
        ifc_class, GlobalId=_deterministic_guid(f"rel-{len(f.by_type(ifc_class))}"), **attributes
    )


def _window_positions(length_m: float, count: int, width_m: float) -> list[float]:
    """Start offsets (metres along a wall) of ``count`` evenly spaced openings."""
    if count <= 0:
        return []
    step = length_m / count
    return [round(step * (i + 0.5) - width_m / 2.0, 3) for i in range(count)]
