"""Assemble the tables of :class:`~cimkit.io.ifc.reader.IfcModel` from the worker records."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import shapely

from cimkit import provenance as _prov
from cimkit.io.ifc.georeference import Georeference


def _to_map_geoms(geoms: list, geo: Georeference) -> np.ndarray:
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return arr
    return shapely.transform(arr, lambda xy: geo.to_map(xy, local_unit="metre"))


def _ground_floor(storey_ids, storeys, elements_by_storey, records, geo) -> float:
    """Absolute elevation (m) of the top of the ground-floor slab (NaN when unknown)."""
    candidates = [
        (storeys[s]["elevation_m"], s) for s in storey_ids if math.isfinite(storeys[s]["elevation_m"])
    ]
    if not candidates:
        return math.nan
    above = [c for c in candidates if c[0] >= -0.05]
    _, ground = min(above) if above else max(candidates)
    tops = [
        records[e["id"]]["zmax"]
        for e in elements_by_storey.get(ground, [])
        if e["ifc_class"] == "IfcSlab"
        and e["predefined_type"] in (None, "FLOOR", "BASESLAB", "NOTDEFINED")
        and e["id"] in records
    ]
    if tops:
        return float(geo.elevation_m(max(tops)))
    z = storeys[ground]["z_m"]
    return float(geo.elevation_m(z)) if math.isfinite(z) else math.nan


def assemble(
    semantics: dict[str, Any],
    records: dict[int, dict],
    *,
    geo: Georeference,
    target: Any,
    source: str,
    schema: str,
    lod: str,
    simplify_tolerance_m: float,
    meshes: bool,
    per_element_meshes: bool,
    record: _prov.Provenance,
):
    import geopandas as gpd

    from cimkit.io.ifc.reader import IfcModel, _building_use, _counts

    buildings = semantics["buildings"]
    storeys = semantics["storeys"]
    elements = semantics["elements"]
    spaces = semantics["spaces"]
    gid = {b["id"]: b["global_id"] for b in buildings}

    # --- elements ------------------------------------------------------------------------
    el_rows = []
    for e in elements:
        rec = records.get(e["id"])
        qv = e["qto_volume_m3"]
        if math.isfinite(qv):
            volume, vsource = qv, "qto"
        elif rec is not None:
            volume, vsource = rec["volume_m3"], "geometry"
        else:
            volume, vsource = math.nan, None
        area = e["qto_area_m2"]
        if not math.isfinite(area) and rec is not None:
            area = rec["plan_area_m2"]
        st = storeys.get(e["storey"]) if e["storey"] is not None else None
        el_rows.append(
            {
                "global_id": e["global_id"],
                "ifc_class": e["ifc_class"],
                "name": e["name"],
                "building_id": gid.get(e["building"]),
                "storey_id": st["global_id"] if st else None,
                "storey": st["name"] if st else None,
                "storey_elevation_m": st["elevation_m"] if st else math.nan,
                "volume_m3": volume,
                "area_m2": area,
                "volume_source": vsource,
                "materials": e["materials"],
            }
        )
    elements_df = pd.DataFrame(
        el_rows,
        columns=[
            "global_id",
            "ifc_class",
            "name",
            "building_id",
            "storey_id",
            "storey",
            "storey_elevation_m",
            "volume_m3",
            "area_m2",
            "volume_source",
            "materials",
        ],
    ).set_index("global_id")

    # --- materials (long) ---------------------------------------------------------------------
    by_id = {e["id"]: row for e, row in zip(elements, el_rows)}
    mat_rows = []
    for m in semantics["materials"]:
        row = by_id[m["id"]]
        mat_rows.append(
            {
                "global_id": row["global_id"],
                "ifc_class": row["ifc_class"],
                "building_id": row["building_id"],
                "storey": row["storey"],
                "material": m["material"],
                "category": m["category"],
                "layer_index": int(m["layer_index"]),
                "thickness_m": m["thickness_m"],
                "share": m["share"],
                "volume_m3": row["volume_m3"] * m["share"],
                "density_kg_m3": m["density_kg_m3"],
            }
        )
    materials_df = pd.DataFrame(
        mat_rows,
        columns=[
            "global_id",
            "ifc_class",
            "building_id",
            "storey",
            "material",
            "category",
            "layer_index",
            "thickness_m",
            "share",
            "volume_m3",
            "density_kg_m3",
        ],
    )
    materials_df["layer_index"] = materials_df["layer_index"].astype("int64")
    mass = (
        (materials_df["volume_m3"] * materials_df["density_kg_m3"])
        .groupby(materials_df["global_id"])
        .sum(min_count=1)
    )
    complete = materials_df["density_kg_m3"].notna().groupby(materials_df["global_id"]).all()
    mass = mass.where(complete.reindex(mass.index, fill_value=False))
    elements_df["mass_kg"] = mass.reindex(elements_df.index).astype(float)

    # --- spaces ------------------------------------------------------------------------------
    sp_rows = []
    for s in spaces:
        rec = records.get(s["id"])
        area = s["qto_area_m2"]
        if not math.isfinite(area) and rec is not None:
            area = rec["plan_area_m2"]
        volume = s["qto_volume_m3"]
        if not math.isfinite(volume) and rec is not None:
            volume = rec["volume_m3"]
        st = storeys.get(s["storey"]) if s["storey"] is not None else None
        sp_rows.append(
            {
                "global_id": s["global_id"],
                "building_id": gid.get(s["building"]),
                "storey": st["name"] if st else None,
                "name": s["name"],
                "long_name": s["long_name"],
                "use": s["use"],
                "area_m2": area,
                "volume_m3": volume,
                "_building": s["building"],
            }
        )
    spaces_df = pd.DataFrame(
        sp_rows,
        columns=[
            "global_id",
            "building_id",
            "storey",
            "name",
            "long_name",
            "use",
            "area_m2",
            "volume_m3",
            "_building",
        ],
    )

    # --- buildings -----------------------------------------------------------------------------
    map_unit_m = geo.map_unit_m
    elements_by_building: dict[Any, list] = defaultdict(list)
    elements_by_storey: dict[Any, list] = defaultdict(list)
    for e in elements:
        elements_by_building[e["building"]].append(e)
        if e["storey"] is not None:
            elements_by_storey[e["storey"]].append(e)
    spaces_by_building: dict[Any, list] = defaultdict(list)
    for s, row in zip(spaces, sp_rows):
        spaces_by_building[s["building"]].append(row)

    rows, geoms = [], []
    for b in buildings:
        mine = [e for e in elements_by_building.get(b["id"], []) if e["id"] in records]
        footprints = _to_map_geoms([records[e["id"]]["footprint"] for e in mine], geo)
        if len(footprints):
            footprint = shapely.union_all(footprints)
            # a 1 micrometre floor removes the collinear vertices left where element outlines meet
            tolerance = max(simplify_tolerance_m, 1e-6) / map_unit_m
            footprint = shapely.simplify(footprint, tolerance, preserve_topology=True)
            footprint = shapely.make_valid(footprint)
            if footprint.geom_type == "GeometryCollection":
                footprint = shapely.union_all([g for g in footprint.geoms if g.geom_type.endswith("Polygon")])
            zmin = min(records[e["id"]]["zmin"] for e in mine)
            zmax = max(records[e["id"]]["zmax"] for e in mine)
        else:
            footprint, zmin, zmax = shapely.Polygon(), math.nan, math.nan
        bspaces = spaces_by_building.get(b["id"], [])
        storey_gfa = [storeys[s]["gfa_m2"] for s in b["storeys"]]
        space_areas = [s["area_m2"] for s in bspaces if math.isfinite(s["area_m2"])]
        slab_areas = [
            records[e["id"]]["plan_area_m2"]
            for e in mine
            if e["ifc_class"] == "IfcSlab"
            and e["predefined_type"] in (None, "FLOOR", "BASESLAB", "NOTDEFINED")
        ]
        if math.isfinite(b["qto_gfa_m2"]):
            gfa, gfa_source = b["qto_gfa_m2"], "qto"
        elif storey_gfa and all(math.isfinite(v) for v in storey_gfa):
            gfa, gfa_source = float(sum(storey_gfa)), "qto"
        elif space_areas:
            gfa, gfa_source = float(sum(space_areas)), "spaces"
        elif slab_areas:
            gfa, gfa_source = float(sum(slab_areas)), "slabs"
        else:
            gfa, gfa_source = math.nan, None
        height = zmax - zmin
        space_volumes = [s["volume_m3"] for s in bspaces if math.isfinite(s["volume_m3"])]
        if math.isfinite(b["qto_volume_m3"]):
            volume = b["qto_volume_m3"]
        elif space_volumes:
            volume = float(sum(space_volumes))
        else:
            volume = float(footprint.area) * map_unit_m**2 * height if math.isfinite(height) else math.nan
        classes = [e["ifc_class"] for e in elements_by_building.get(b["id"], [])]
        classes += ["IfcSpace"] * len(bspaces)
        row = {
            "building_id": b["global_id"],
            "name": b["name"],
            "height_m": height,
            "base_elevation_m": float(geo.elevation_m(zmin)) if math.isfinite(zmin) else math.nan,
            "ground_floor_elevation_m": _ground_floor(
                b["storeys"], storeys, elements_by_storey, records, geo
            ),
            "storeys": len(b["storeys"]),
            "gfa_m2": gfa,
            "gfa_source": gfa_source,
            "volume_m3": volume,
            "use": _building_use(b["occupancy_type"], bspaces),
            "occupancy_type": b["occupancy_type"],
            "ifc_class": b["ifc_class"],
            **_counts(classes),
            "georef_method": geo.method,
            "georef_confidence": geo.confidence,
            "schema": schema,
            "source": source,
        }
        rows.append(row)
        geoms.append(footprint)
    spaces_df = spaces_df.drop(columns="_building")

    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(
            columns=["building_id", "name", "height_m", "storeys", "georef_method", "source"]
        )
    count_cols = sorted(c for c in frame.columns if c.startswith("n_"))
    for c in count_cols:
        frame[c] = frame[c].fillna(0).astype("int64")
    frame["storeys"] = frame["storeys"].astype("int64")
    ordered = [
        "building_id",
        "name",
        "height_m",
        "base_elevation_m",
        "ground_floor_elevation_m",
        "storeys",
        "gfa_m2",
        "gfa_source",
        "volume_m3",
        "use",
        "occupancy_type",
        "ifc_class",
        *count_cols,
        "georef_method",
        "georef_confidence",
        "schema",
        "source",
    ]
    frame = frame.reindex(columns=ordered).set_index("building_id")
    if simplify_tolerance_m > 0:
        record.add_step(
            "simplification", "Douglas-Peucker, topology preserved", tolerance_m=simplify_tolerance_m
        )
    gdf = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=geo.crs)
    if target is not None and geo.crs is not None and not target.equals(geo.crs):
        gdf = gdf.to_crs(target)
        record.add_step(
            "reprojection",
            "footprints reprojected (pyproj, always_xy)",
            source_crs=geo.crs.to_string(),
            target_crs=target.to_string(),
        )
    if lod == "lod1":
        gdf["geometry"] = shapely.force_3d(
            gdf.geometry.values, z=gdf["base_elevation_m"].fillna(0.0).to_numpy()
        )
        record.add_step("lod1", "footprint z set to base_elevation_m; the block is footprint x height_m")
    cols = ["name", "geometry", *[c for c in gdf.columns if c not in ("name", "geometry")]]
    gdf = gdf[cols]
    _prov.attach(gdf, record)

    building_meshes = element_meshes = None
    if meshes:
        from cimkit.io.ifc.meshes import meshes_from_records

        building_meshes, element_meshes = meshes_from_records(
            elements, records, geo=geo, target=target, gid=gid, per_element=per_element_meshes
        )
    return IfcModel(
        buildings=gdf,
        elements=elements_df,
        materials=materials_df,
        spaces=spaces_df,
        georeference=geo,
        provenance=record,
        meshes=building_meshes,
        element_meshes=element_meshes,
        schema=schema,
    )
