"""The meaning of an IFC model: buildings, storeys, elements, materials, quantities, spaces.

Runs inside the sandbox on an opened ``ifcopenshell.file`` and returns plain Python records
(lists of dicts) that pickle cheaply. Relationships are read in bulk (one pass over each
IfcRel* class) rather than element by element, which keeps large files fast.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["USES", "class_key", "element_products", "model_semantics", "normalise_use"]

#: Normalised building / space uses.
USES = ("residential", "office", "education", "retail", "industrial", "health", "mixed", "other")

# Keywords (English, French, German; lower case, accents kept) that identify a use.
_USE_WORDS = {
    "residential": (
        "resid",
        "dwelling",
        "apartment",
        "housing",
        "house",
        "home",
        "bedroom",
        "living",
        "kitchen",
        "bath",
        "logement",
        "habitat",
        "habitation",
        "chambre",
        "séjour",
        "sejour",
        "cuisine",
        "wohn",
        "schlaf",
        "küche",
        "kueche",
        "bad",
        "kind",
        "unit",
    ),
    "office": ("office", "bureau", "büro", "buero", "business", "tertiaire"),
    "education": (
        "school",
        "education",
        "classroom",
        "école",
        "ecole",
        "schule",
        "universit",
        "lycée",
        "collège",
        "kindergarten",
    ),
    "retail": ("retail", "shop", "store", "commerce", "commercial", "mercantile", "magasin", "laden"),
    "industrial": (
        "industr",
        "factory",
        "warehouse",
        "usine",
        "entrepôt",
        "entrepot",
        "werk",
        "fabrik",
        "lager",
    ),
    "health": ("health", "hospital", "clinic", "santé", "sante", "hôpital", "hopital", "klinik", "medical"),
}
# International Building Code occupancy groups (first letter), as some exporters write them.
_IBC = {
    "A": "other",
    "B": "office",
    "E": "education",
    "F": "industrial",
    "H": "industrial",
    "I": "health",
    "M": "retail",
    "R": "residential",
    "S": "industrial",
    "U": "other",
}
_IBC_CODE = re.compile(r"^\s*([ABEFHIMRSU])(-?\d(\.\d)?)?\s*$", re.IGNORECASE)

_SKIP = ("IfcFeatureElement", "IfcVirtualElement", "IfcDistributionPort", "IfcAnnotation")
#: Elements read (tables, carbon) that are not part of the building's body: never in its extents.
_NOT_BODY = ("IfcGeographicElement",)
_VOLUME_QTOS = ("NetVolume", "GrossVolume")
_AREA_QTOS = (
    "NetSideArea",
    "NetArea",
    "NetFloorArea",
    "Area",
    "GrossSideArea",
    "GrossArea",
    "GrossFloorArea",
)


def normalise_use(text: Any) -> str | None:
    """Map a free-text occupancy / space name to one of :data:`USES` (None when empty)."""
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    code = _IBC_CODE.match(raw)
    if code:
        return _IBC[code.group(1).upper()]
    low = raw.lower()
    if low in USES:
        return low
    for use, words in _USE_WORDS.items():
        if any(word in low for word in words):
            return use
    if "mixed" in low or "mixte" in low or "gemischt" in low:
        return "mixed"
    return "other"


def class_key(ifc_class: str) -> str:
    """``IfcWallStandardCase`` -> ``wall``: the name used in the ``n_<class>`` count columns."""
    key = ifc_class[3:] if ifc_class.lower().startswith("ifc") else ifc_class
    for suffix in ("StandardCase", "ElementedCase"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key.lower()


def element_products(f) -> list:
    """Return the built elements cimkit reads, sorted by entity id (no features, ports, virtual elements)."""
    out = [e for e in f.by_type("IfcElement") if not any(e.is_a(c) for c in _SKIP)]
    out.sort(key=lambda e: e.id())
    return out


def _facility_class(f) -> str:
    return "IfcFacility" if f.schema.startswith("IFC4X3") else "IfcBuilding"


def _quantity_value(q) -> float | None:
    for attr in ("VolumeValue", "AreaValue", "LengthValue", "CountValue", "WeightValue"):
        value = getattr(q, attr, None) if hasattr(q, attr) else None
        if value is not None:
            return float(value)
    return None


def _bulk_properties(f) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, dict[str, Any]]]]:
    """Quantities (name -> value, file units) and property sets (pset -> name -> value) per object id."""
    qtos: dict[int, dict[str, float]] = defaultdict(dict)
    psets: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for rel in f.by_type("IfcRelDefinesByProperties"):
        pdef = rel.RelatingPropertyDefinition
        if pdef is None:
            continue
        if pdef.is_a("IfcElementQuantity"):
            values = {}
            for q in pdef.Quantities or ():
                v = _quantity_value(q)
                if v is not None and math.isfinite(v):
                    values[q.Name] = v
            for obj in rel.RelatedObjects:
                for k, v in values.items():
                    qtos[obj.id()].setdefault(k, v)
        elif pdef.is_a("IfcPropertySet"):
            props = {}
            for p in pdef.HasProperties or ():
                if p.is_a("IfcPropertySingleValue") and p.NominalValue is not None:
                    props[p.Name] = p.NominalValue.wrappedValue
            for obj in rel.RelatedObjects:
                psets[obj.id()].setdefault(pdef.Name or "", {}).update(props)
    return qtos, psets


def _parents(f) -> dict[int, Any]:
    """Child entity id -> spatial / aggregate parent (containment and decomposition)."""
    parent: dict[int, Any] = {}
    for rel in f.by_type("IfcRelAggregates"):
        for obj in rel.RelatedObjects:
            parent[obj.id()] = rel.RelatingObject
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for obj in rel.RelatedElements:
            parent.setdefault(obj.id(), rel.RelatingStructure)
    if f.schema != "IFC2X3":
        for rel in f.by_type("IfcRelNests"):
            for obj in rel.RelatedObjects:
                parent.setdefault(obj.id(), rel.RelatingObject)
    return parent


def _material_entries(material, unit_scale: float) -> list[tuple[Any, int, float, float]]:
    """(IfcMaterial, layer_index, thickness_m, share) rows for any material definition."""
    if material is None:
        return []
    if material.is_a("IfcMaterialLayerSetUsage"):
        material = material.ForLayerSet
    if material.is_a("IfcMaterialProfileSetUsage"):
        material = material.ForProfileSet
    if material.is_a("IfcMaterial"):
        return [(material, -1, math.nan, 1.0)]
    if material.is_a("IfcMaterialLayerSet"):
        layers = [lay for lay in material.MaterialLayers or () if lay.Material is not None]
        thick = [float(lay.LayerThickness or 0.0) * unit_scale for lay in layers]
        total = sum(thick)
        return [
            (lay.Material, i, t, (t / total) if total > 0 else 1.0 / len(layers))
            for i, (lay, t) in enumerate(zip(layers, thick))
        ]
    if material.is_a("IfcMaterialConstituentSet"):
        parts = [c for c in material.MaterialConstituents or () if c.Material is not None]
        fractions = [c.Fraction for c in parts]
        if parts and all(fr is not None for fr in fractions) and sum(fractions) > 0:
            total = float(sum(fractions))
            return [(c.Material, -1, math.nan, float(c.Fraction) / total) for c in parts]
        return [(c.Material, -1, math.nan, 1.0 / len(parts)) for c in parts]
    if material.is_a("IfcMaterialProfileSet"):
        profiles = [p for p in material.MaterialProfiles or () if p.Material is not None]
        return [(p.Material, -1, math.nan, 1.0 / len(profiles)) for p in profiles]
    if material.is_a("IfcMaterialList"):
        mats = list(material.Materials or ())
        return [(m, -1, math.nan, 1.0 / len(mats)) for m in mats]
    return []


def _materials_by_object(f) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for rel in f.by_type("IfcRelAssociatesMaterial"):
        for obj in rel.RelatedObjects:
            out.setdefault(obj.id(), rel.RelatingMaterial)
    return out


def _types_by_object(f) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for rel in f.by_type("IfcRelDefinesByType"):
        for obj in rel.RelatedObjects:
            out[obj.id()] = rel.RelatingType
    return out


def _density(material, psets, cache: dict[int, float]) -> float:
    key = material.id()
    if key in cache:
        return cache[key]
    value = math.nan
    props = psets.get(key, {})
    # IFC4: IfcMaterialProperties are not related by IfcRelDefinesByProperties
    for mp in getattr(material, "HasProperties", None) or ():
        if (mp.Name or "").lower() == "pset_materialcommon":
            for p in mp.Properties or ():
                if (
                    p.Name == "MassDensity"
                    and p.is_a("IfcPropertySingleValue")
                    and p.NominalValue is not None
                ):
                    value = float(p.NominalValue.wrappedValue)
    if math.isnan(value):
        for pset in props.values():
            if "MassDensity" in pset:
                value = float(pset["MassDensity"])
    if not value > 0:  # exporters write 0 for "unknown"
        value = math.nan
    cache[key] = value
    return value


def _storey_records(
    f: Any, qtos: dict[int, dict[str, float]], unit_scale: float, area_scale: float
) -> dict[int, dict[str, Any]]:
    import ifcopenshell.util.placement

    storeys: dict[int, dict[str, Any]] = {}
    for storey in f.by_type("IfcBuildingStorey"):
        z = math.nan
        if storey.ObjectPlacement is not None:
            z = (
                float(ifcopenshell.util.placement.get_local_placement(storey.ObjectPlacement)[2, 3])
                * unit_scale
            )
        elevation = storey.Elevation
        storeys[storey.id()] = {
            "global_id": storey.GlobalId,
            "name": storey.Name,
            "long_name": getattr(storey, "LongName", None),
            "elevation_m": float(elevation) * unit_scale if elevation is not None else z,
            "z_m": z,
            "gfa_m2": qtos.get(storey.id(), {}).get("GrossFloorArea", math.nan) * area_scale,
        }
    return storeys


class _Locator:
    """(facility id, storey id) that contain an entity, by walking up the spatial tree (cached)."""

    def __init__(self, parent: dict[int, Any], facility_ids: set[int]) -> None:
        self.parent = parent
        self.facility_ids = facility_ids
        self.cache: dict[int, tuple[int | None, int | None]] = {}

    def __call__(self, entity: Any) -> tuple[int | None, int | None]:
        key = entity.id()
        if key in self.cache:
            return self.cache[key]
        building = storey = None
        node, seen = entity, 0
        while node is not None and seen < 64:
            if storey is None and node.is_a("IfcBuildingStorey"):
                storey = node.id()
            if node.id() in self.facility_ids:
                building = node.id()
                break
            node = self.parent.get(node.id())
            seen += 1
        self.cache[key] = (building, storey)
        return building, storey


def _element_records(
    f: Any,
    locate: _Locator,
    qtos: dict,
    psets: dict,
    unit_scale: float,
    area_scale: float,
    volume_scale: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One record per built element, and one per element x material."""
    mats = _materials_by_object(f)
    types = _types_by_object(f)
    density_cache: dict[int, float] = {}
    elements: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []
    for el in element_products(f):
        building, storey = locate(el)
        q = qtos.get(el.id(), {})
        definition = mats.get(el.id())
        if definition is None and el.id() in types:
            definition = mats.get(types[el.id()].id())
        names = []
        for mat, index, thickness, share in _material_entries(definition, unit_scale):
            names.append(mat.Name or "")
            materials.append(
                {
                    "id": el.id(),
                    "material": mat.Name,
                    "category": getattr(mat, "Category", None),
                    "layer_index": index,
                    "thickness_m": thickness,
                    "share": share,
                    "density_kg_m3": _density(mat, psets, density_cache),
                }
            )
        elements.append(
            {
                "id": el.id(),
                "global_id": el.GlobalId,
                "ifc_class": el.is_a(),
                "name": el.Name,
                "predefined_type": getattr(el, "PredefinedType", None),
                "body": not any(el.is_a(c) for c in _NOT_BODY),  # is_a is False for classes a schema lacks
                # Pset_<Class>Common.LoadBearing (None when no property set states it)
                "load_bearing": next(
                    (
                        p["LoadBearing"]
                        for p in psets.get(el.id(), {}).values()
                        if isinstance(p.get("LoadBearing"), bool)
                    ),
                    None,
                ),
                "building": building,
                "storey": storey,
                "qto_volume_m3": next((q[k] * volume_scale for k in _VOLUME_QTOS if k in q), math.nan),
                "qto_area_m2": next((q[k] * area_scale for k in _AREA_QTOS if k in q), math.nan),
                "materials": "; ".join(dict.fromkeys(n for n in names if n)),
            }
        )
    return elements, materials


def _space_records(
    f: Any, locate: _Locator, qtos: dict, psets: dict, area_scale: float, volume_scale: float
) -> list[dict[str, Any]]:
    spaces: list[dict[str, Any]] = []
    for space in f.by_type("IfcSpace"):
        building, storey = locate(space)
        q = qtos.get(space.id(), {})
        common = psets.get(space.id(), {}).get("Pset_SpaceCommon", {})
        raw_use = (
            common.get("OccupancyType") or space.LongName or space.Name or getattr(space, "ObjectType", None)
        )
        spaces.append(
            {
                "id": space.id(),
                "global_id": space.GlobalId,
                "building": building,
                "storey": storey,
                "name": space.Name,
                "long_name": space.LongName,
                "use": normalise_use(raw_use),
                "qto_area_m2": next(
                    (q[k] * area_scale for k in ("NetFloorArea", "GrossFloorArea") if k in q), math.nan
                ),
                "qto_volume_m3": next(
                    (q[k] * volume_scale for k in ("NetVolume", "GrossVolume") if k in q), math.nan
                ),
            }
        )
    return spaces


def model_semantics(f: Any, *, unit_scale: float) -> dict[str, Any]:
    """Read the buildings, storeys, elements, materials and spaces of an opened file as plain records.

    Lengths are returned in metres, areas in m2 and volumes in m3 (quantities converted from
    the file's area / volume units).
    """
    import ifcopenshell.util.unit

    area_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f, "AREAUNIT"))
    volume_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f, "VOLUMEUNIT"))
    qtos, psets = _bulk_properties(f)
    facilities = f.by_type(_facility_class(f))
    locate = _Locator(_parents(f), {b.id() for b in facilities})
    storeys = _storey_records(f, qtos, unit_scale, area_scale)
    elements, materials = _element_records(f, locate, qtos, psets, unit_scale, area_scale, volume_scale)
    spaces = _space_records(f, locate, qtos, psets, area_scale, volume_scale)
    buildings: list[dict[str, Any]] = []
    for b in facilities:
        common = psets.get(b.id(), {}).get("Pset_BuildingCommon", {})
        q = qtos.get(b.id(), {})
        buildings.append(
            {
                "id": b.id(),
                "global_id": b.GlobalId,
                "name": b.Name,
                "ifc_class": b.is_a(),
                "occupancy_type": common.get("OccupancyType"),
                "qto_gfa_m2": q.get("GrossFloorArea", math.nan) * area_scale,
                "qto_volume_m3": q.get("GrossVolume", math.nan) * volume_scale,
                "storeys": [sid for sid in storeys if locate(f.by_id(sid))[0] == b.id()],
            }
        )
    return {
        "buildings": buildings,
        "storeys": storeys,
        "elements": elements,
        "materials": materials,
        "spaces": spaces,
    }
