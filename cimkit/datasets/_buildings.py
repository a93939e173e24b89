"""The sample city's buildings: IFC specifications, placement on parcels, cadastre footprints.

Private to :mod:`cimkit.datasets.generator`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cimkit.datasets._layout import (
    DEPRESSION_CENTRE,
    ZONE_RULES,
    _ground,
    _Parcel,
    _parcels,
    _zones,
)
from cimkit.errors import InputError


# ----------------------------------------------------------------------------------------
# buildings
# ----------------------------------------------------------------------------------------
def _ifc_specs() -> list[tuple[Any, tuple[float, float], float]]:
    """List the IFC buildings: (spec, target point that selects the parcel, front setback in m)."""
    from cimkit.datasets._ifc_writer import BuildingSpec
    from cimkit.datasets._ifc_writer import MaterialLayer as M

    brick = (
        M("Brique", "brick", 0.20),
        M("Laine de verre", None, 0.12),
        M("Plaque de plâtre", "gypsum", 0.013),
    )
    block = (
        M("Bloc béton creux", "block", 0.20),
        M("Polystyrène expansé", "plastic", 0.10),
        M("Plaque de plâtre BA13", "gypsum", 0.0125),
    )
    timber = (
        M("Bardage mélèze", "wood", 0.022),
        M("Laine de bois", "wood", 0.14),
        M("Bois lamellé-collé", "wood", 0.10),
        M("Plaque de plâtre", "gypsum", 0.013),
    )
    collective = (
        M("Enduit minéral", None, 0.015),
        M("Polystyrène expansé", "plastic", 0.14),
        M("Béton C25/30", "concrete", 0.18),
        M("Enduit plâtre", "gypsum", 0.01),
    )
    office = (
        M("Concrete - Cast-in-Place", "concrete", 0.22),
        M("Mineral Wool", None, 0.16),
        M("Gypsum Wall Board", "gypsum", 0.0125),
    )
    school = (M("Béton armé", "concrete", 0.20), M("Laine de roche", None, 0.14), M("BA13", "gypsum", 0.013))
    beton = M("Béton C25/30", "concrete", 0.20)
    glass_alu = (M("Glass", "glass", 0.0), M("Aluminium", "aluminium", 0.0))
    glass_wood = (M("Verre", "glass", 0.0), M("Bois", "wood", 0.0))
    wood_door, steel_door = M("Bois", "wood", 0.0), M("Acier", "steel", 0.0)

    def house(short, name, rotation, unit, raised, walls, set_name, slab, windows, year, w=10.0, d=8.0):
        return BuildingSpec(
            short_name=short, name=name, use="residential", building_type="individual_house", storeys=2,
            storey_height_m=2.8, width_m=w, depth_m=d, rotation_deg=rotation, length_unit=unit,
            ground_floor_m=0.3 if raised else 0.0, wall_layers=walls, wall_set_name=set_name, slab_layer=slab,
            roof_layer=slab, window_materials=windows, door_material=wood_door, space_use="Logement",
            spaces_per_storey=1, windows_per_facade=3, permit_year=year,
        )  # fmt: skip

    return [
        (house("maison_lilas_3", "Maison 3 rue des Lilas", 0.0, "m", True, brick, "Mur brique 33", beton,
               glass_wood, 2023, 11.0, 9.0), (650_850.0, 6_847_160.0), 6.0),
        (house("maison_pasteur_12", "Maison 12 rue Pasteur", 30.0, "m", True, block, "Mur parpaing ITE", beton,
               glass_alu, 2022), (650_700.0, 6_847_160.0), 8.0),
        (house("maison_moulin_7", "Maison 7 rue du Moulin", 0.0, "m", True, brick, "Mur brique 33", beton,
               glass_wood, 2024), (650_700.0, 6_846_860.0), 5.0),
        (house("maison_jaures_21", "Maison 21 rue Jean Jaurès", 0.0, "mm", False, block, "MUR EXT 31",
               M("BETON C25/30", "concrete", 0.20), glass_alu, 2025, 12.0, 9.0), (650_760.0, 6_847_060.0), 6.0),
        (house("maison_vignes_5", "Maison 5 chemin des Vignes", 180.0, "m", True, timber, "Mur ossature bois",
               M("Bois lamellé-collé", "wood", 0.16), glass_wood, 2026), (650_880.0, 6_847_350.0), 6.0),
        (BuildingSpec(
            short_name="residence_hugo", name="Résidence Victor Hugo", use="residential",
            building_type="collective_housing", storeys=5, storey_height_m=3.0, width_m=26.0, depth_m=12.0,
            rotation_deg=0.0, length_unit="m", ground_floor_m=0.0, wall_layers=collective,
            wall_set_name="Voile béton ITE 34", slab_layer=beton, roof_layer=beton, window_materials=glass_alu,
            door_material=steel_door, space_use="Logement", spaces_per_storey=3, windows_per_facade=3,
            permit_year=2024), (650_700.0, 6_847_290.0), 6.0),
        (BuildingSpec(
            short_name="residence_gare", name="Résidence de la Gare", use="residential",
            building_type="collective_housing", storeys=4, storey_height_m=3.0, width_m=24.0, depth_m=12.0,
            rotation_deg=-15.0, length_unit="m", ground_floor_m=0.3, wall_layers=collective,
            wall_set_name="Voile béton ITE 34", slab_layer=beton, roof_layer=beton, window_materials=glass_alu,
            door_material=steel_door, space_use="Logement", spaces_per_storey=2, windows_per_facade=4,
            permit_year=2023), (651_060.0, 6_847_040.0), 6.0),
        (BuildingSpec(
            short_name="bureaux_mairie", name="Bureaux Le Parc, 40 rue de la Mairie", use="office",
            building_type="office", storeys=4, storey_height_m=3.5, width_m=32.0, depth_m=14.0,
            rotation_deg=0.0, length_unit="m", ground_floor_m=0.0, wall_layers=office,
            wall_set_name="Basic Wall:Exterior - Concrete 39", slab_layer=M("Concrete - Cast-in-Place", "concrete", 0.20),
            roof_layer=M("Concrete - Cast-in-Place", "concrete", 0.20), window_materials=glass_alu,
            door_material=steel_door, space_use="Bureau", spaces_per_storey=2, windows_per_facade=4,
            permit_year=2022), (651_250.0, 6_847_100.0), 6.0),
        (BuildingSpec(
            short_name="bureaux_ecoles", name="Immeuble de bureaux Les Écoles", use="office",
            building_type="office", storeys=3, storey_height_m=3.5, width_m=28.0, depth_m=14.0,
            rotation_deg=0.0, length_unit="mm", ground_floor_m=0.0, wall_layers=office,
            wall_set_name="Basic Wall:Exterior - Concrete 39", slab_layer=M("Concrete - Cast-in-Place", "concrete", 0.20),
            roof_layer=M("Concrete - Cast-in-Place", "concrete", 0.20), window_materials=glass_alu,
            door_material=steel_door, space_use="Bureau", spaces_per_storey=2, windows_per_facade=4,
            permit_year=2025), (651_300.0, 6_846_930.0), 6.0),
        (BuildingSpec(
            short_name="ecole_jules_ferry", name="École élémentaire Jules Ferry", use="education",
            building_type="education", storeys=2, storey_height_m=3.8, width_m=48.0, depth_m=14.0,
            rotation_deg=0.0, length_unit="m", ground_floor_m=0.3, wall_layers=school,
            wall_set_name="Mur béton ITI", slab_layer=M("BETON C30/37", "concrete", 0.20),
            roof_layer=M("BETON C30/37", "concrete", 0.20), window_materials=glass_alu, door_material=steel_door,
            space_use="Salle de classe", spaces_per_storey=4, windows_per_facade=5, permit_year=2022),
         (651_060.0, 6_847_200.0), 6.0),
        (BuildingSpec(
            short_name="commerce_grande_rue", name="Boulangerie, 14 Grande Rue", use="retail",
            building_type="retail", storeys=1, storey_height_m=4.2, width_m=16.0, depth_m=12.0,
            rotation_deg=0.0, length_unit="m", ground_floor_m=0.0, wall_layers=brick,
            wall_set_name="Mur brique 33", slab_layer=beton, roof_layer=beton, window_materials=glass_alu,
            door_material=M("Acier galvanisé", "steel", 0.0), space_use="Commerce", spaces_per_storey=1,
            windows_per_facade=2, permit_year=2025), (650_850.0, 6_846_970.0), 2.0),
    ]  # fmt: skip


def _half_extents(width: float, depth: float, rotation_deg: float) -> tuple[float, float]:
    a, b = abs(math.cos(math.radians(rotation_deg))), abs(math.sin(math.radians(rotation_deg)))
    return (a * width + b * depth) / 2.0, (b * width + a * depth) / 2.0


def _place(
    parcel: _Parcel, width: float, depth: float, rotation_deg: float, front: float, shift: float = 0.0
):
    """Centre (x, y) of a building set back ``front`` metres from the street side of ``parcel``."""
    hx, hy = _half_extents(width, depth, rotation_deg)
    cy = parcel.y1 - front - hy if parcel.front == "north" else parcel.y0 + front + hy
    cx = (parcel.x0 + parcel.x1) / 2.0 + shift
    side = min(cx - hx - parcel.x0, parcel.x1 - cx - hx)
    back = (cy - hy - parcel.y0) if parcel.front == "north" else (parcel.y1 - cy - hy)
    if side < 3.0 or back < 3.0:  # pragma: no cover - guards the layout constants
        raise InputError(
            f"building {width} x {depth} m does not fit parcel {parcel.pid} with 3 m setbacks",
            entity=parcel.pid,
            hint="adjust the sample city layout constants",
        )
    return round(cx, 2), round(cy, 2)


def _find_parcel(parcels: list[_Parcel], x: float, y: float) -> _Parcel:
    for parcel in parcels:
        if parcel.contains_point(x, y):
            return parcel
    raise InputError(f"no parcel at ({x}, {y})", hint="adjust the sample city layout constants")


def _zone_of(zones: list[dict[str, Any]], geom) -> str:
    for zone in zones:
        if zone["geometry"].contains(geom):
            return zone["libelle"]
    raise InputError("a parcel is not inside one zone", hint="adjust the sample city layout constants")


def _layout(seed: int, dem: np.ndarray) -> dict[str, Any]:
    """Decide every parcel and building; no file is written here."""
    import shapely

    rng = np.random.default_rng(seed)
    parcels = _parcels(rng)
    zones = _zones()
    zone_of = {p.pid: _zone_of(zones, p.geometry) for p in parcels}
    rules = {r[0]: r for r in ZONE_RULES}

    # IFC buildings
    specs = []
    used: set[str] = set()
    for spec, (tx, ty), front in _ifc_specs():
        parcel = _find_parcel(parcels, tx, ty)
        if parcel.pid in used:  # pragma: no cover - guards the layout constants
            raise InputError(f"two buildings on parcel {parcel.pid}", entity=parcel.pid)
        used.add(parcel.pid)
        cx, cy = _place(parcel, spec.width_m, spec.depth_m, spec.rotation_deg, front)
        a, b = math.cos(math.radians(spec.rotation_deg)), math.sin(math.radians(spec.rotation_deg))
        w2, d2 = spec.width_m / 2.0, spec.depth_m / 2.0
        spec.eastings = round(cx - (a * w2 - b * d2), 3)
        spec.northings = round(cy - (b * w2 + a * d2), 3)
        spec.orthogonal_height = round(_ground(dem, cx, cy), 2)
        spec.parcel_id = parcel.pid
        specs.append(spec)

    # footprint-only buildings
    footprints: list[dict[str, Any]] = []
    for spec in specs:
        corners = [spec.to_map(x, y) for x, y in spec.footprint_local_m()]
        jitter = rng.uniform(-0.15, 0.15, size=(4, 2))  # the cadastre's own survey, within 0.3 m
        ring = [(round(x + dx, 2), round(y + dy, 2)) for (x, y), (dx, dy) in zip(corners, jitter)]
        footprints.append(
            {
                "use": spec.use,
                "storeys": spec.storeys,
                "height_m": spec.height_m,
                "year_built": spec.permit_year + 1 if spec.permit_year < 2026 else None,
                "geometry": shapely.Polygon(ring),
                "parcel": spec.parcel_id,
            }
        )

    def add_box(
        parcel: _Parcel, use: str, storeys: int, height: float, width: float, depth: float, front: float
    ):
        cx, cy = _place(parcel, width, depth, 0.0, front, shift=round(float(rng.uniform(-4.0, 4.0)), 1))
        footprints.append(
            {
                "use": use,
                "storeys": storeys,
                "height_m": height,
                "year_built": int(rng.integers(1890, 2016)),
                "geometry": shapely.box(cx - width / 2, cy - depth / 2, cx + width / 2, cy + depth / 2),
                "parcel": parcel.pid,
            }
        )
        used.add(parcel.pid)

    # the one parcel over its footprint ratio: a supermarket covering ~78 % of a UA lot
    market = _find_parcel(parcels, 651_100.0, 6_846_970.0)
    w, h = market.x1 - market.x0, market.y1 - market.y0
    margin = ((w + h) - math.sqrt((w + h) ** 2 - 4 * (1 - 0.78) * w * h)) / 4.0  # (w-2m)(h-2m) = 0.78 w h
    footprints.append(
        {
            "use": "retail",
            "storeys": 1,
            "height_m": 6.5,
            "year_built": 1998,
            "geometry": shapely.box(
                market.x0 + margin, market.y0 + margin, market.x1 - margin, market.y1 - margin
            ),
            "parcel": market.pid,
        }
    )
    used.add(market.pid)
    # an agricultural shed in the closed depression south of the river (zone A)
    shed = _find_parcel(parcels, *DEPRESSION_CENTRE)
    cx, cy = DEPRESSION_CENTRE
    footprints.append(
        {
            "use": "industrial",
            "storeys": 1,
            "height_m": 6.0,
            "year_built": 1972,
            "geometry": shapely.box(cx - 6.0, cy - 4.0, cx + 6.0, cy + 4.0),
            "parcel": shed.pid,
        }
    )
    used.add(shed.pid)
    # a nursery school in zone UB
    nursery = _find_parcel(parcels, 650_700.0, 6_846_960.0)
    add_box(nursery, "education", 1, 4.5, 24.0, 12.0, 6.0)

    strips = [p for p in parcels if p.kind == "strip" and p.pid not in used]
    for k, parcel in enumerate(strips):
        if k % 2 == 0:
            use = "industrial" if zone_of[parcel.pid] == "UX" else "residential"
            storeys = 1 if use == "industrial" else 2
            add_box(parcel, use, storeys, 7.0 if use == "industrial" else 6.8, 11.0, 8.0, 5.0)
    others = [p for p in parcels if p.kind in ("ub", "ua", "ux") and p.pid not in used]
    order = rng.permutation(len(others))
    target_extra = 32
    for index in order:
        if sum(1 for f in footprints if f["parcel"] not in {s.parcel_id for s in specs}) >= target_extra:
            break
        parcel = others[int(index)]
        zone = zone_of[parcel.pid]
        if zone == "UX":
            storeys = int(rng.integers(2, 4))
            add_box(parcel, "office", storeys, round(storeys * 3.5 + 0.6, 1), 26.0, 14.0, 6.0)
        elif zone == "UA":
            if rng.random() < 0.3:
                add_box(parcel, "retail", 1, 5.0, 14.0, 12.0, 2.0)
            else:
                add_box(parcel, "residential", 3, 10.2, 16.0, 11.0, 3.0)
        else:
            storeys = int(rng.integers(1, 3))
            width, depth = round(float(rng.uniform(9.0, 13.0)), 1), round(float(rng.uniform(8.0, 11.0)), 1)
            add_box(parcel, "residential", storeys, round(storeys * 2.9 + 2.3, 1), width, depth, 6.0)

    # ids in a stable spatial order, a few heights missing (as in real cadastre data)
    footprints.sort(key=lambda f: (-round(f["geometry"].centroid.y, 1), round(f["geometry"].centroid.x, 1)))
    ifc_parcels = {s.parcel_id for s in specs}
    no_height = [
        i for i, f in enumerate(footprints) if f["parcel"] not in ifc_parcels and f["use"] == "residential"
    ]
    for i in no_height[3:10:3]:
        footprints[i]["height_m"] = None
    for i, f in enumerate(footprints, start=1):
        f["id"] = f"BATI{i:04d}"

    # contenance: the declared area, within 2 % of the true area, one outlier 30 % off
    outlier = _find_parcel(parcels, 650_700.0, 6_847_100.0).pid
    contenance = {}
    for p in parcels:
        factor = 1.30 if p.pid == outlier else 1.0 + float(rng.uniform(-0.02, 0.02))
        contenance[p.pid] = round(p.geometry.area * factor)

    # sanity: building rules hold everywhere except the two deliberate breaches
    for f in footprints:
        zone = zone_of[f["parcel"]]
        allowed = rules[zone][7].split(";")
        if f["use"] not in allowed:  # pragma: no cover - guards the layout constants
            raise InputError(f"use {f['use']} not allowed in zone {zone}", entity=f["parcel"])
    return {
        "parcels": parcels,
        "zones": zones,
        "zone_of": zone_of,
        "specs": specs,
        "footprints": footprints,
        "contenance": contenance,
        "contenance_outlier": outlier,
        "market_parcel": market.pid,
        "shed_parcel": shed.pid,
        "rng": rng,
    }
