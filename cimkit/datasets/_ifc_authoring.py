"""Authoring of the sample city's IFC4 building models with ``ifcopenshell.api``.

Each building is a rectangular box of storeys: four exterior walls per storey (material
layer sets, window and door openings), one floor slab per storey, a flat roof, and one or
more spaces per storey. Every quantity written in a ``Qto_*BaseQuantities`` set is computed
from the same dimensions that build the geometry, so quantities and geometry agree.

Local engineering coordinates: the footprint is the rectangle ``[0, width] x [0, depth]``
(exterior faces of the walls), ``z = 0`` is the terrain at the building. The
``IfcMapConversion`` maps them to EPSG:2154 with the IFC4 semantics used by
``ifcopenshell.util.geolocation``: coordinates in project length units are multiplied by
``Scale`` to give map units, so a model in millimetres carries ``Scale = 0.001``.

This module is private: :func:`cimkit.datasets.generator.generate_sample_city` is the entry point.
"""

from __future__ import annotations

import math
from pathlib import Path

from cimkit.datasets._ifc_writer import (
    SLAB_DEPTH_M,
    BuildingSpec,
    MaterialLayer,
    _assign_layer_usage,
    _deterministic_guid,
    _layer_set,
    _order_sets,
    _pset,
    _qto,
    _relate,
    _window_positions,
    _Writer,
)

__all__ = ["IFC_TIME_STAMP", "BuildingSpec", "MaterialLayer", "author_building"]

#: Fixed header time stamp so that two generations give byte-identical files.
IFC_TIME_STAMP = "2025-01-15T09:00:00"


def author_building(spec: BuildingSpec, path: Path) -> dict[str, float]:
    """Write ``spec`` as an IFC4 file at ``path``; return summary quantities (metres / m² / m³).

    The file is written to ``path`` directly; the caller handles atomicity.
    """
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.context
    import ifcopenshell.api.feature
    import ifcopenshell.api.geometry
    import ifcopenshell.api.material
    import ifcopenshell.api.root
    import ifcopenshell.api.unit
    import ifcopenshell.util.geolocation

    w = _Writer(spec)
    f = w.f
    create = ifcopenshell.api.root.create_entity

    project = create(f, ifc_class="IfcProject", name=f"{spec.name} - projet")
    if spec.length_unit == "mm":
        length_unit = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT", prefix="MILLI")
    else:
        length_unit = ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")
    area_unit = ifcopenshell.api.unit.add_si_unit(f, unit_type="AREAUNIT")
    volume_unit = ifcopenshell.api.unit.add_si_unit(f, unit_type="VOLUMEUNIT")
    angle_unit = ifcopenshell.api.unit.add_si_unit(f, unit_type="PLANEANGLEUNIT")
    ifcopenshell.api.unit.assign_unit(f, units=[length_unit, area_unit, volume_unit, angle_unit])

    model = ifcopenshell.api.context.add_context(f, context_type="Model")
    body = ifcopenshell.api.context.add_context(
        f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW", parent=model
    )
    # Grid north expressed in the local frame: the map's +N axis rotated by -rotation.
    theta = math.radians(spec.rotation_deg)
    model.TrueNorth = f.create_entity(
        "IfcDirection", (round(math.sin(theta), 12) + 0.0, round(math.cos(theta), 12) + 0.0)
    )

    # Georeferencing: IfcProjectedCRS + IfcMapConversion (Eastings/Northings/Height in map metres).
    map_unit = f.create_entity("IfcSIUnit", UnitType="LENGTHUNIT", Name="METRE")
    crs = f.create_entity(
        "IfcProjectedCRS",
        Name="EPSG:2154",
        Description="RGF93 v1 / Lambert-93",
        GeodeticDatum="RGF93 v1",
        VerticalDatum="NGF-IGN69",
        MapProjection="Lambert Conic Conformal (2SP)",
        MapUnit=map_unit,
    )
    f.create_entity(
        "IfcMapConversion",
        SourceCRS=model,
        TargetCRS=crs,
        Eastings=round(spec.eastings, 3),
        Northings=round(spec.northings, 3),
        OrthogonalHeight=round(spec.orthogonal_height, 3),
        XAxisAbscissa=round(math.cos(theta), 12) + 0.0,
        XAxisOrdinate=round(math.sin(theta), 12) + 0.0,
        Scale=1.0 / w.k,
    )

    site = create(f, ifc_class="IfcSite", name="Terrain")
    site.ObjectPlacement = w.placement(None, 0.0, 0.0, 0.0, share=False)
    # approximate reference point only (the georeferencing is the IfcMapConversion)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(spec.eastings, spec.northings)
    site.RefLatitude = ifcopenshell.util.geolocation.dd2dms(round(lat, 7), use_us=True)
    site.RefLongitude = ifcopenshell.util.geolocation.dd2dms(round(lon, 7), use_us=True)
    site.RefElevation = w.L(spec.orthogonal_height)
    building = create(f, ifc_class="IfcBuilding", name=spec.name)
    building.ObjectPlacement = w.placement(site.ObjectPlacement, 0.0, 0.0, 0.0, share=False)
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=project)
    ifcopenshell.api.aggregate.assign_object(f, products=[building], relating_object=site)

    wall_set = _layer_set(w, spec.wall_set_name, spec.wall_layers)
    slab_set = _layer_set(w, f"Dalle {spec.slab_layer.name}", (spec.slab_layer,))
    roof_set = _layer_set(w, f"Toiture {spec.roof_layer.name}", (spec.roof_layer,))
    window_set = ifcopenshell.api.material.add_material_set(
        f, name="Menuiserie", set_type="IfcMaterialConstituentSet"
    )
    for part, layer in zip(("Vitrage", "Cadre"), spec.window_materials):
        constituent = ifcopenshell.api.material.add_constituent(
            f, constituent_set=window_set, material=w.material(layer)
        )
        ifcopenshell.api.material.edit_constituent(
            f, constituent=constituent, attributes={"Name": part}, material=w.material(layer)
        )
    door_material = w.material(spec.door_material)

    width, depth, t = spec.width_m, spec.depth_m, spec.wall_thickness_m
    h_storey = spec.storey_height_m
    wall_h = round(h_storey - SLAB_DEPTH_M, 6)
    window_w, window_h, sill = (1.2, 1.4, 0.9) if spec.use != "retail" else (2.4, 2.4, 0.3)
    door_w, door_h = (1.0, 2.15) if spec.use in ("residential",) else (1.8, 2.3)
    totals = {
        "wall_net_volume_m3": 0.0,
        "slab_net_volume_m3": 0.0,
        "net_floor_area_m2": 0.0,
        "window_area_m2": 0.0,
        "door_area_m2": 0.0,
    }

    # wall frames: (name, origin x, origin y, angle, length)
    wall_frames = [
        ("Sud", 0.0, 0.0, 0.0, width),
        ("Est", width, t, 90.0, depth - 2 * t),
        ("Nord", width, depth, 180.0, width),
        ("Ouest", 0.0, depth - t, 270.0, depth - 2 * t),
    ]
    storeys = []
    slabs_all, walls_all = [], []
    for level in range(spec.storeys):
        elevation = round(spec.ground_floor_m + level * h_storey, 6)
        label = "RDC" if level == 0 else f"R+{level}"
        storey = create(f, ifc_class="IfcBuildingStorey", name=label)
        storey.Elevation = w.L(elevation)
        storey.ObjectPlacement = w.placement(building.ObjectPlacement, 0.0, 0.0, elevation, share=False)
        storeys.append(storey)
        # aggregated while still empty, so the api has no child placement to re-derive
        ifcopenshell.api.aggregate.assign_object(f, products=[storey], relating_object=building)
        contained = []

        # floor slab of this storey: top at the storey elevation
        slab = create(f, ifc_class="IfcSlab", predefined_type="FLOOR", name=f"Dalle {label}")
        slab.ObjectPlacement = w.placement(storey.ObjectPlacement, 0.0, 0.0, -SLAB_DEPTH_M)
        rep = ifcopenshell.api.geometry.add_slab_representation(
            f,
            context=body,
            depth=SLAB_DEPTH_M,
            polyline=spec.footprint_local_m(),
        )
        ifcopenshell.api.geometry.assign_representation(f, product=slab, representation=rep)
        area = width * depth
        _qto(
            f,
            slab,
            "Qto_SlabBaseQuantities",
            {
                "Width": w.L(SLAB_DEPTH_M),
                "Length": w.L(width),
                "Depth": w.L(SLAB_DEPTH_M),
                "Perimeter": w.L(2 * (width + depth)),
                "GrossArea": area,
                "NetArea": area,
                "GrossVolume": area * SLAB_DEPTH_M,
                "NetVolume": area * SLAB_DEPTH_M,
            },
        )
        _pset(f, slab, "Pset_SlabCommon", {"IsExternal": level == 0, "LoadBearing": True})
        totals["slab_net_volume_m3"] += area * SLAB_DEPTH_M
        slabs_all.append(slab)
        contained.append(slab)

        for wall_name, ox, oy, angle, length in wall_frames:
            wall = create(
                f, ifc_class="IfcWall", predefined_type="SOLIDWALL", name=f"Mur {wall_name} {label}"
            )
            wall.ObjectPlacement = w.placement(storey.ObjectPlacement, ox, oy, 0.0, angle)
            rep = ifcopenshell.api.geometry.add_wall_representation(
                f, context=body, length=length, height=wall_h, thickness=t
            )
            ifcopenshell.api.geometry.assign_representation(f, product=wall, representation=rep)
            openings_area = 0.0
            n_windows = (
                spec.windows_per_facade
                if wall_name in ("Sud", "Nord")
                else max(1, spec.windows_per_facade // 2)
            )
            fills = []
            for i, u in enumerate(_window_positions(length, n_windows, window_w)):
                is_door = level == 0 and wall_name == "Sud" and i == 0
                ow, oh, oz = (door_w, door_h, 0.0) if is_door else (window_w, window_h, sill)
                if is_door:
                    u = round(length / (2 * n_windows) - ow / 2, 3)
                opening = create(
                    f, ifc_class="IfcOpeningElement", predefined_type="OPENING", name="Ouverture"
                )
                opening.ObjectPlacement = w.placement(wall.ObjectPlacement, 0.0, 0.0, 0.0)
                orep = w.box(body, u, -0.05, oz, ow, t + 0.1, oh)
                ifcopenshell.api.geometry.assign_representation(f, product=opening, representation=orep)
                _relate(f, "IfcRelVoidsElement", RelatingBuildingElement=wall, RelatedOpeningElement=opening)
                if is_door:
                    filler = create(f, ifc_class="IfcDoor", predefined_type="DOOR", name="Porte d'entrée")
                    filler.OverallWidth, filler.OverallHeight = w.L(ow), w.L(oh)
                    thick = 0.06
                else:
                    filler = create(f, ifc_class="IfcWindow", predefined_type="WINDOW", name="Fenêtre")
                    filler.OverallWidth, filler.OverallHeight = w.L(ow), w.L(oh)
                    thick = 0.08
                filler.ObjectPlacement = w.placement(storey.ObjectPlacement, ox, oy, 0.0, angle)
                frep = w.box(body, u, t / 2 - thick / 2, oz, ow, thick, oh)
                ifcopenshell.api.geometry.assign_representation(f, product=filler, representation=frep)
                ifcopenshell.api.feature.add_filling(f, opening=opening, element=filler)
                if is_door:
                    ifcopenshell.api.material.assign_material(f, products=[filler], material=door_material)
                    _qto(
                        f,
                        filler,
                        "Qto_DoorBaseQuantities",
                        {"Width": w.L(ow), "Height": w.L(oh), "Area": ow * oh},
                    )
                    totals["door_area_m2"] += ow * oh
                else:
                    ifcopenshell.api.material.assign_material(
                        f, products=[filler], type="IfcMaterialConstituentSet", material=window_set
                    )
                    _qto(
                        f,
                        filler,
                        "Qto_WindowBaseQuantities",
                        {"Width": w.L(ow), "Height": w.L(oh), "Area": ow * oh},
                    )
                    totals["window_area_m2"] += ow * oh
                openings_area += ow * oh
                fills.append(filler)
            gross_side = length * wall_h
            net_side = gross_side - openings_area
            _qto(
                f,
                wall,
                "Qto_WallBaseQuantities",
                {
                    "Length": w.L(length),
                    "Height": w.L(wall_h),
                    "Width": w.L(t),
                    "GrossFootprintArea": length * t,
                    "NetFootprintArea": length * t,
                    "GrossSideArea": gross_side,
                    "NetSideArea": net_side,
                    "GrossVolume": gross_side * t,
                    "NetVolume": net_side * t,
                },
            )
            _pset(f, wall, "Pset_WallCommon", {"IsExternal": True, "LoadBearing": True})
            totals["wall_net_volume_m3"] += net_side * t
            walls_all.append(wall)
            contained.extend([wall, *fills])

        # spaces: the interior split into equal bays along x
        spaces = []
        inner_w, inner_d = width - 2 * t, depth - 2 * t
        bay = inner_w / spec.spaces_per_storey
        space_h = wall_h
        for s in range(spec.spaces_per_storey):
            space = create(f, ifc_class="IfcSpace", predefined_type="INTERNAL", name=f"{label}-{s + 1:02d}")
            space.LongName = spec.space_use
            space.ObjectPlacement = w.placement(storey.ObjectPlacement, t + s * bay, t, 0.0)
            ifcopenshell.api.geometry.assign_representation(
                f, product=space, representation=w.box(body, 0.0, 0.0, 0.0, bay, inner_d, space_h)
            )
            spaces.append(space)
            floor = bay * inner_d
            _qto(
                f,
                space,
                "Qto_SpaceBaseQuantities",
                {
                    "Height": w.L(space_h),
                    "GrossPerimeter": w.L(2 * (bay + inner_d)),
                    "NetPerimeter": w.L(2 * (bay + inner_d)),
                    "GrossFloorArea": floor,
                    "NetFloorArea": floor,
                    "GrossVolume": floor * space_h,
                    "NetVolume": floor * space_h,
                },
            )
            totals["net_floor_area_m2"] += floor
        _relate(f, "IfcRelAggregates", RelatingObject=storey, RelatedObjects=spaces)
        _relate(f, "IfcRelContainedInSpatialStructure", RelatingStructure=storey, RelatedElements=contained)

    # flat roof on top of the last storey: IfcRoof aggregating one roof slab
    top = storeys[-1]
    roof = create(f, ifc_class="IfcRoof", predefined_type="FLAT_ROOF", name="Toiture terrasse")
    roof.ObjectPlacement = w.placement(top.ObjectPlacement, 0.0, 0.0, 0.0)
    roof_slab = create(f, ifc_class="IfcSlab", predefined_type="ROOF", name="Dalle de toiture")
    roof_slab.ObjectPlacement = w.placement(top.ObjectPlacement, 0.0, 0.0, h_storey - SLAB_DEPTH_M)
    rep = ifcopenshell.api.geometry.add_slab_representation(
        f,
        context=body,
        depth=SLAB_DEPTH_M,
        polyline=spec.footprint_local_m(),
    )
    ifcopenshell.api.geometry.assign_representation(f, product=roof_slab, representation=rep)
    area = width * depth
    _qto(
        f,
        roof_slab,
        "Qto_SlabBaseQuantities",
        {
            "Width": w.L(SLAB_DEPTH_M),
            "Depth": w.L(SLAB_DEPTH_M),
            "Perimeter": w.L(2 * (width + depth)),
            "GrossArea": area,
            "NetArea": area,
            "GrossVolume": area * SLAB_DEPTH_M,
            "NetVolume": area * SLAB_DEPTH_M,
        },
    )
    _pset(f, roof_slab, "Pset_SlabCommon", {"IsExternal": True, "LoadBearing": True})
    _qto(f, roof, "Qto_RoofBaseQuantities", {"GrossArea": area, "NetArea": area, "ProjectedArea": area})
    _relate(f, "IfcRelContainedInSpatialStructure", RelatingStructure=top, RelatedElements=[roof])
    _relate(f, "IfcRelAggregates", RelatingObject=roof, RelatedObjects=[roof_slab])
    totals["roof_net_volume_m3"] = area * SLAB_DEPTH_M

    _assign_layer_usage(w, walls_all, wall_set, "AXIS2")
    _assign_layer_usage(w, slabs_all, slab_set, "AXIS3")
    _assign_layer_usage(w, [roof_slab], roof_set, "AXIS3")

    _pset(
        f,
        building,
        "Pset_BuildingCommon",
        {
            "OccupancyType": spec.use,
            "NumberOfStoreys": spec.storeys,
            "YearOfConstruction": str(spec.permit_year + 1),
        },
    )
    gross_floor = area * spec.storeys
    _qto(
        f,
        building,
        "Qto_BuildingBaseQuantities",
        {
            "Height": w.L(spec.height_m),
            "FootprintArea": area,
            "GrossFloorArea": gross_floor,
            "NetFloorArea": totals["net_floor_area_m2"],
            "GrossVolume": area * spec.height_m,
        },
    )
    _pset(
        f,
        building,
        "Pset_PermisDeConstruire",
        {"AnneeDepot": spec.permit_year, "ReferenceCadastrale": spec.parcel_id},
    )

    # deterministic GlobalIds, then a fixed header
    for index, entity in enumerate(sorted(f.by_type("IfcRoot"), key=lambda e: e.id())):
        entity.GlobalId = _deterministic_guid(f"cimkit-sample:{spec.short_name}:{index}")
    _order_sets(f)
    header = f.header
    header.file_name.name = f"{spec.short_name}.ifc"
    header.file_name.time_stamp = IFC_TIME_STAMP
    header.file_name.author = ("cimkit sample city",)
    header.file_name.organization = ("cimkit",)
    header.file_name.preprocessor_version = "cimkit sample city generator"
    header.file_name.originating_system = "cimkit.datasets.generate_sample_city"
    header.file_name.authorization = "MIT"
    f.write(str(path))
    return {k: round(v, 4) for k, v in totals.items()}
