"""Building quantities of an IFC model: ground level, height, depth, storeys, gross and net floor areas.

The rules (also in ``docs/ifc.md`` and ``docs/checks.md``):

- **Body elements.** Only the building's physical elements give its extents: IfcSpace,
  IfcOpeningElement (and every IfcFeatureElement), IfcVirtualElement, IfcAnnotation,
  IfcDistributionPort, IfcGeographicElement (terrain, vegetation) and anything outside the
  building (IfcSite) never count.
- **Ground storey.** The storey named as the ground floor (``ground``, ``RDC`` /
  ``rez-de-chaussée``, ``EG`` / ``Erdgeschoss``, ``begane grond``, ``planta baja``,
  ``piano terra``; the one nearest elevation 0 when several are), else the storey at elevation
  0 (within :data:`GROUND_TOLERANCE_M`), else the highest storey below 0, else (every storey
  above 0: absolute elevations) the lowest storey.
- **Ground level** ``ground_elevation_m``: that storey's level in map heights; without storeys,
  the bottom of the lowest body element (``ground_source = "lowest element"``, with a
  :class:`~cimkit.errors.QuantityWarning`).
- ``height_m`` = top of the highest body element - ground level (>= 0);
  ``depth_below_ground_m`` = ground level - bottom of the lowest body element (>= 0).
- **Storeys.** A storey counts as a floor when it holds a floor slab (FLOOR, BASESLAB or
  untyped; a slab on grade is ``IsExternal``, so that flag says nothing here); when no storey of the building does, when it holds spaces;
  when none does, every storey counts. Counted storeys at or above the ground storey's
  elevation (- :data:`GROUND_TOLERANCE_M`) are ``storeys_above_ground``, the others
  ``storeys_below_ground``.
- **Gross floor area** ``gfa_m2`` (``gfa_source``): ``"qto"`` the building's GrossFloorArea
  quantity, else the sum of the storeys' GrossFloorArea when every floor storey has one;
  ``"slabs"`` per floor storey the area of the union of its floor slabs' and walls' plan
  outlines, summed; ``"footprint x storeys"`` footprint area x ``storeys_above_ground`` (a
  stated fallback, with a :class:`~cimkit.errors.QuantityWarning`; the footprint is the
  outline of the body elements with its holes filled, so a courtyard counts). Never from IfcSpace.
- **Net floor area** ``nfa_m2``: the sum of the spaces' floor areas (NaN without spaces).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

import shapely

__all__ = ["FLOOR_SLABS", "GROUND_TOLERANCE_M", "building_quantities", "ground_storey"]

#: Vertical tolerance (m) for "at elevation 0" and for "at or above the ground storey".
GROUND_TOLERANCE_M = 0.05
#: Slab predefined types that are floors (their outlines count as floor area).
FLOOR_SLABS = (None, "FLOOR", "BASESLAB", "NOTDEFINED")
_GROUND_NAME = re.compile(
    r"\b(ground|rdc|rez[- ]de[- ]chauss\w*|erdgeschoss|eg|begane grond|planta baja|piano terra)\b",
    re.IGNORECASE,
)
_OUTLINE_CLASSES = ("IfcWall", "IfcCurtainWall", "IfcColumn")


def _is_floor_slab(e: dict[str, Any]) -> bool:
    return e["ifc_class"] == "IfcSlab" and e["predefined_type"] in FLOOR_SLABS


def ground_storey(storey_ids: list[int], storeys: dict[int, dict[str, Any]]) -> int | None:
    """Return the id of the building's ground storey (None without storeys of known elevation)."""
    known = [s for s in storey_ids if math.isfinite(storeys[s]["elevation_m"])]
    if not known:
        return None
    elevation = {s: storeys[s]["elevation_m"] for s in known}
    named = [
        s
        for s in known
        if any(_GROUND_NAME.search(str(storeys[s].get(k) or "")) for k in ("name", "long_name"))
    ]
    if named:
        return min(named, key=lambda s: (abs(elevation[s]), -elevation[s]))
    at_zero = [s for s in known if abs(elevation[s]) <= GROUND_TOLERANCE_M]
    if at_zero:
        return min(at_zero, key=lambda s: abs(elevation[s]))
    below = [s for s in known if elevation[s] < 0.0]
    if below:
        return max(below, key=lambda s: elevation[s])
    return min(known, key=lambda s: elevation[s])


def _floor_storeys(
    storey_ids: list[int], by_storey: dict[Any, list], space_storeys: set
) -> tuple[list[int], str]:
    with_slab = [s for s in storey_ids if any(_is_floor_slab(e) for e in by_storey.get(s, []))]
    if with_slab:
        return with_slab, "floor slabs"
    with_spaces = [s for s in storey_ids if s in space_storeys]
    if with_spaces:
        return with_spaces, "spaces"
    return list(storey_ids), "all storeys"


def _storey_counts(floors: list[int], storeys: dict, ground: int | None) -> tuple[int, int]:
    if ground is None:
        return 0, 0
    level = storeys[ground]["elevation_m"]
    elevations = [storeys[s]["elevation_m"] for s in floors]
    above = sum(1 for z in elevations if math.isfinite(z) and z >= level - GROUND_TOLERANCE_M)
    below = sum(1 for z in elevations if math.isfinite(z) and z < level - GROUND_TOLERANCE_M)
    return above, below


def _envelope(body: list[dict[str, Any]], records: dict[int, dict], *, all_classes: bool = False):
    """Return the area enclosed by the building's walls (plan outlines, holes filled); None without walls.

    With ``all_classes``, the outline of every body element, holes filled.
    """
    walls = [
        records[e["id"]]["footprint"]
        for e in body
        if all_classes or e["ifc_class"].startswith(_OUTLINE_CLASSES)
    ]
    if not walls:
        return None
    union = shapely.union_all(walls, grid_size=1e-6)
    parts = shapely.get_parts(union)
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts))) if len(parts) else None


def _slab_outline_area(
    floors: list[int], by_storey: dict[Any, list], records: dict[int, dict], envelope: Any
) -> float:
    """Sum over floor storeys of the area (m2) of the union of floor-slab and wall plan outlines.

    Slab parts outside the area enclosed by the walls (terraces, patios, balconies) are left out,
    unless the walls enclose less than half the slabs (open walls: nothing is clipped).
    """
    total, found = 0.0, False
    for s in floors:
        mine = [e for e in by_storey.get(s, []) if e["id"] in records]
        slabs = [records[e["id"]]["footprint"] for e in mine if _is_floor_slab(e)]
        if not slabs:
            continue
        walls = [records[e["id"]]["footprint"] for e in mine if e["ifc_class"].startswith(_OUTLINE_CLASSES)]
        outline = shapely.union_all([*slabs, *walls], grid_size=1e-6)
        if envelope is not None:
            inside = shapely.intersection(outline, envelope, grid_size=1e-6)
            if inside.area >= 0.5 * shapely.union_all(slabs, grid_size=1e-6).area:
                outline = inside
        total += float(outline.area)
        found = True
    return total if found else math.nan


def _gross_floor_area(
    b: dict,
    body: list,
    storeys: dict,
    floors: list[int],
    by_storey: dict,
    records: dict,
    footprint_m2: float,
    above: int,
) -> tuple[float, str | None]:
    if math.isfinite(b["qto_gfa_m2"]):
        return b["qto_gfa_m2"], "qto"
    if floors and all(math.isfinite(storeys[s]["gfa_m2"]) for s in floors):
        return float(sum(v for s in b["storeys"] if math.isfinite(v := storeys[s]["gfa_m2"]))), "qto"
    slabs = _slab_outline_area(floors, by_storey, records, _envelope(body, records))
    if math.isfinite(slabs) and slabs > 0:
        return slabs, "slabs"
    if above > 0 and math.isfinite(footprint_m2) and footprint_m2 > 0:
        return footprint_m2 * above, "footprint x storeys"
    return math.nan, None


def building_quantities(
    b: dict[str, Any],
    body: list[dict[str, Any]],
    *,
    storeys: dict[int, dict[str, Any]],
    by_storey: dict[Any, list],
    space_storeys: set,
    spaces: list[tuple[Any, float]],
    records: dict[int, dict],
    geo: Any,
) -> dict[str, Any]:
    """Return the quantity columns of one building row (see the module docstring for the rules).

    ``body`` holds the building's body elements that have geometry, ``spaces`` (storey id, floor
    area m2) pairs of its spaces of known area; lengths are local metres,
    ``geo`` turns local heights into map heights (:meth:`Georeference.elevation_m`).
    """
    local_fp = [records[e["id"]]["footprint"] for e in body]
    footprint_m2 = float(shapely.union_all(local_fp, grid_size=1e-6).area) if local_fp else math.nan
    envelope = _envelope(body, records, all_classes=True)
    outline_m2 = float(envelope.area) if envelope is not None else math.nan
    top = float(geo.elevation_m(max(records[e["id"]]["zmax"] for e in body))) if body else math.nan
    bottom = float(geo.elevation_m(min(records[e["id"]]["zmin"] for e in body))) if body else math.nan
    ground_id = ground_storey(b["storeys"], storeys)
    ground_source: str | None
    if ground_id is not None:
        st = storeys[ground_id]
        z = st["z_m"] if math.isfinite(st["z_m"]) else st["elevation_m"]
        ground, ground_source = float(geo.elevation_m(z)), "storey"
    else:
        ground, ground_source = bottom, ("lowest element" if body else None)
    floors, floor_rule = _floor_storeys(b["storeys"], by_storey, space_storeys)
    above, below = _storey_counts(floors, storeys, ground_id)
    gfa, gfa_source = _gross_floor_area(b, body, storeys, floors, by_storey, records, outline_m2, above)
    # net floor area: the spaces of the floor storeys (a space on a roof level is not floor area)
    floor_set = set(floors)
    net = [a for st, a in spaces if st is None or st in floor_set or floor_rule == "all storeys"]
    return {
        "height_m": max(top - ground, 0.0) if math.isfinite(top - ground) else math.nan,
        "ground_elevation_m": ground,
        "ground_source": ground_source,
        "depth_below_ground_m": max(ground - bottom, 0.0) if math.isfinite(ground - bottom) else math.nan,
        "storeys_above_ground": above,
        "storeys_below_ground": below,
        "gfa_m2": gfa,
        "gfa_source": gfa_source,
        "nfa_m2": float(sum(net)) if net else math.nan,
        "footprint_local_m2": footprint_m2,
        "ground_storey": ground_id,
        "floor_rule": floor_rule,
    }


def group_by_storey(elements: list[dict[str, Any]]) -> dict[Any, list]:
    """Elements grouped by their storey id."""
    out: dict[Any, list] = defaultdict(list)
    for e in elements:
        if e["storey"] is not None:
            out[e["storey"]].append(e)
    return out
