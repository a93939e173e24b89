"""Assemble the tables of an :class:`~cimkit.io.ifc.reader.IfcModel` from the worker records.

The workers return plain records (``_elements.model_semantics``: buildings, storeys,
elements, materials, spaces; ``_geometry.product_geometry``: footprints, z ranges, volumes and
meshes per product, in local metres). This module turns them into pandas tables, places the
footprints and meshes on the map with :meth:`Georeference.to_map`, and reprojects to the
target CRS (recorded in the provenance).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pandas as pd
import shapely

from cimkit import provenance as _prov
from cimkit._crs import reproject_with_provenance
from cimkit.errors import QuantityWarning
from cimkit.io.ifc._elements import class_key, normalise_use
from cimkit.io.ifc._quantities import FLOOR_SLABS, building_quantities
from cimkit.io.ifc.georeference import Georeference

#: Element classes whose counts are always present as ``n_<class>`` columns.
COUNT_CLASSES = ("wall", "slab", "window", "door", "space", "roof", "column", "beam")

_ELEMENT_COLUMNS = [
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
    "predefined_type",
    "load_bearing",
]
_MATERIAL_COLUMNS = [
    "global_id",
    "ifc_class",
    "predefined_type",
    "load_bearing",
    "building_id",
    "storey",
    "material",
    "category",
    "layer_index",
    "thickness_m",
    "share",
    "volume_m3",
    "density_kg_m3",
]
_SPACE_COLUMNS = ["global_id", "building_id", "storey", "name", "long_name", "use", "area_m2", "volume_m3"]


def _to_map_geoms(geoms: list, geo: Georeference) -> np.ndarray:
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return arr
    return shapely.transform(arr, lambda xy: geo.to_map(xy, local_unit="metre"))


def _counts(classes: list[str]) -> dict[str, int]:
    counts = Counter(class_key(c) for c in classes)
    out = {f"n_{k}": 0 for k in COUNT_CLASSES}
    for key, n in counts.items():
        out[f"n_{key}"] = n
    return out


def _building_use(occupancy: Any, spaces: list[dict]) -> str | None:
    """Use the building's occupancy type, else the use of 80 % or more of its space area, else mixed."""
    use = normalise_use(occupancy)
    if use is not None:
        return use
    weights: dict[str, float] = defaultdict(float)
    for s in spaces:
        if s["use"] and s["use"] != "other":
            area = s.get("area_m2")
            weights[s["use"]] += area if area is not None and math.isfinite(area) and area > 0 else 1.0
    if not weights:
        return None
    total = sum(weights.values())
    best, share = max(weights.items(), key=lambda kv: kv[1])
    return best if share / total >= 0.8 else "mixed"


def _ground_floor(ground: int | None, storeys, elements_by_storey, records, geo) -> float:
    """Return the absolute elevation (m) of the top of the ground storey's floor slab (NaN when unknown)."""
    if ground is None:
        return math.nan
    tops = [
        records[e["id"]]["zmax"]
        for e in elements_by_storey.get(ground, [])
        if e["ifc_class"] == "IfcSlab" and e["predefined_type"] in FLOOR_SLABS and e["id"] in records
    ]
    if tops:
        return float(geo.elevation_m(max(tops)))
    z = storeys[ground]["z_m"]
    if not math.isfinite(z):
        z = storeys[ground]["elevation_m"]
    return float(geo.elevation_m(z)) if math.isfinite(z) else math.nan


# ---------------------------------------------------------------------------------------------
# attribute tables
# ---------------------------------------------------------------------------------------------
def _element_rows(semantics: dict[str, Any], records: dict[int, dict], gid: dict) -> list[dict[str, Any]]:
    """Element rows: volume from quantities, else geometry; plan area likewise."""
    storeys = semantics["storeys"]
    rows = []
    for e in semantics["elements"]:
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
        rows.append(
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
                "predefined_type": e["predefined_type"],
                "load_bearing": e["load_bearing"],
            }
        )
    return rows


def _material_table(semantics: dict[str, Any], el_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per element x material, its share of the element's volume and its density."""
    by_id = {e["id"]: row for e, row in zip(semantics["elements"], el_rows)}
    rows = []
    for m in semantics["materials"]:
        row = by_id[m["id"]]
        rows.append(
            {
                "global_id": row["global_id"],
                "ifc_class": row["ifc_class"],
                "predefined_type": row["predefined_type"],
                "load_bearing": row["load_bearing"],
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
    table = pd.DataFrame(rows, columns=_MATERIAL_COLUMNS)
    table["layer_index"] = table["layer_index"].astype("int64")
    table["load_bearing"] = table["load_bearing"].astype("boolean")  # True / False / unknown (NA)
    return table


def _element_mass(elements_df: pd.DataFrame, materials_df: pd.DataFrame) -> pd.Series:
    """Mass (kg) of each element whose every material has a density; NaN otherwise."""
    mass = (
        (materials_df["volume_m3"] * materials_df["density_kg_m3"])
        .groupby(materials_df["global_id"])
        .sum(min_count=1)
    )
    complete = materials_df["density_kg_m3"].notna().groupby(materials_df["global_id"]).all()
    mass = mass.where(complete.reindex(mass.index, fill_value=False))
    return mass.reindex(elements_df.index).astype(float)


def _space_rows(semantics: dict[str, Any], records: dict[int, dict], gid: dict) -> list[dict[str, Any]]:
    storeys = semantics["storeys"]
    rows = []
    for s in semantics["spaces"]:
        rec = records.get(s["id"])
        area = s["qto_area_m2"]
        if not math.isfinite(area) and rec is not None:
            area = rec["plan_area_m2"]
        volume = s["qto_volume_m3"]
        if not math.isfinite(volume) and rec is not None:
            volume = rec["volume_m3"]
        st = storeys.get(s["storey"]) if s["storey"] is not None else None
        rows.append(
            {
                "global_id": s["global_id"],
                "building_id": gid.get(s["building"]),
                "storey": st["name"] if st else None,
                "name": s["name"],
                "long_name": s["long_name"],
                "use": s["use"],
                "area_m2": area,
                "volume_m3": volume,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# buildings
# ---------------------------------------------------------------------------------------------
class _BuildingContext:
    """The lookups every building row needs: its elements, storeys and spaces."""

    def __init__(self, semantics: dict[str, Any], records: dict[int, dict], space_rows: list[dict[str, Any]]):
        self.records = records
        self.storeys = semantics["storeys"]
        self.elements_by_building: dict[Any, list] = defaultdict(list)
        self.elements_by_storey: dict[Any, list] = defaultdict(list)
        for e in semantics["elements"]:
            self.elements_by_building[e["building"]].append(e)
            if e["storey"] is not None:
                self.elements_by_storey[e["storey"]].append(e)
        self.spaces_by_building: dict[Any, list] = defaultdict(list)
        self.space_storeys: set = set()
        self.space_storey_ids: dict[Any, list] = defaultdict(list)
        for s, row in zip(semantics["spaces"], space_rows):
            self.spaces_by_building[s["building"]].append(row)
            self.space_storey_ids[s["building"]].append(s["storey"])
            if s["storey"] is not None:
                self.space_storeys.add(s["storey"])


def _footprint(mine: list[dict], records: dict[int, dict], geo: Georeference, simplify_tolerance_m: float):
    """Return the footprint on the map of a building's body elements."""
    footprints = _to_map_geoms([records[e["id"]]["footprint"] for e in mine], geo)
    if not len(footprints):
        return shapely.Polygon()
    footprint = shapely.union_all(footprints)
    # a 1 micrometre floor removes the collinear vertices left where element outlines meet
    tolerance = max(simplify_tolerance_m, 1e-6) / geo.map_unit_m
    footprint = shapely.simplify(footprint, tolerance, preserve_topology=True)
    footprint = shapely.make_valid(footprint)
    if footprint.geom_type == "GeometryCollection":
        footprint = shapely.union_all([g for g in footprint.geoms if g.geom_type.endswith("Polygon")])
    return footprint


def _building_row(
    b: dict, ctx: _BuildingContext, geo: Georeference, simplify_tolerance_m: float
) -> tuple[dict[str, Any], Any]:
    body = [
        e for e in ctx.elements_by_building.get(b["id"], []) if e["id"] in ctx.records and e.get("body", True)
    ]
    footprint = _footprint(body, ctx.records, geo, simplify_tolerance_m)
    bspaces = ctx.spaces_by_building.get(b["id"], [])
    q = building_quantities(
        b,
        body,
        storeys=ctx.storeys,
        by_storey=ctx.elements_by_storey,
        space_storeys=ctx.space_storeys,
        spaces=[
            (st, s["area_m2"])
            for st, s in zip(ctx.space_storey_ids[b["id"]], bspaces)
            if math.isfinite(s["area_m2"])
        ],
        records=ctx.records,
        geo=geo,
    )
    space_volumes = [s["volume_m3"] for s in bspaces if math.isfinite(s["volume_m3"])]
    if math.isfinite(b["qto_volume_m3"]):
        volume, volume_source = b["qto_volume_m3"], "qto"
    elif space_volumes:
        volume, volume_source = float(sum(space_volumes)), "spaces"
    elif math.isfinite(q["height_m"]):
        volume, volume_source = q["footprint_local_m2"] * q["height_m"], "footprint x height"
    else:
        volume, volume_source = math.nan, None
    classes = [e["ifc_class"] for e in ctx.elements_by_building.get(b["id"], [])]
    classes += ["IfcSpace"] * len(bspaces)
    row = {
        "building_id": b["global_id"],
        "name": b["name"],
        "height_m": q["height_m"],
        "ground_elevation_m": q["ground_elevation_m"],
        "ground_source": q["ground_source"],
        "depth_below_ground_m": q["depth_below_ground_m"],
        "base_elevation_m": q["ground_elevation_m"],
        "ground_floor_elevation_m": _ground_floor(
            q["ground_storey"], ctx.storeys, ctx.elements_by_storey, ctx.records, geo
        ),
        "storeys": len(b["storeys"]),
        "storeys_above_ground": q["storeys_above_ground"],
        "storeys_below_ground": q["storeys_below_ground"],
        "gfa_m2": q["gfa_m2"],
        "gfa_source": q["gfa_source"],
        "nfa_m2": q["nfa_m2"],
        "volume_m3": volume,
        "volume_source": volume_source,
        "use": _building_use(b["occupancy_type"], bspaces),
        "occupancy_type": b["occupancy_type"],
        "ifc_class": b["ifc_class"],
        **_counts(classes),
    }
    return row, footprint


def _buildings_frame(
    rows: list[dict[str, Any]], *, geo: Georeference, schema: str, source: str
) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(
            columns=[
                "building_id",
                "name",
                "height_m",
                "storeys",
                "storeys_above_ground",
                "storeys_below_ground",
            ]
        )
    frame["georef_method"] = geo.method
    frame["georef_confidence"] = geo.confidence
    frame["schema"] = schema
    frame["source"] = source
    count_cols = sorted(c for c in frame.columns if c.startswith("n_"))
    for c in count_cols:
        frame[c] = frame[c].fillna(0).astype("int64")
    for c in ("storeys", "storeys_above_ground", "storeys_below_ground"):
        frame[c] = frame[c].fillna(0).astype("int64")
    ordered = [
        "building_id",
        "name",
        "height_m",
        "ground_elevation_m",
        "ground_source",
        "depth_below_ground_m",
        "base_elevation_m",
        "ground_floor_elevation_m",
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
        "ifc_class",
        *count_cols,
        "georef_method",
        "georef_confidence",
        "schema",
        "source",
    ]
    return frame.reindex(columns=ordered).set_index("building_id")


def _record_quantities(frame: pd.DataFrame, record: _prov.Provenance, source: str) -> None:
    """Provenance step for the quantity rules, and a warning for each fallback used."""
    n = len(frame)
    gfa_counts = {str(k): int(v) for k, v in frame["gfa_source"].value_counts().items()}
    ground_counts = {str(k): int(v) for k, v in frame["ground_source"].value_counts().items()}
    record.add_step(
        "building-quantities",
        "height_m = top of the highest body element - ground_elevation_m (ground storey level); "
        "gfa_m2 gross only (qto, slab outlines, or footprint x storeys_above_ground); nfa_m2 from spaces",
        gfa_source=gfa_counts,
        ground_source=ground_counts,
    )
    fallback = frame.index[frame["gfa_source"] == "footprint x storeys"]
    if len(fallback):
        detail = (
            f"gfa_m2 of {len(fallback)} of {n} building(s) is footprint x storeys_above_ground: the file has no "
            "GrossFloorArea quantity and no floor slabs ("
            + ", ".join(map(str, fallback[:5]))
            + "); set buildings['gfa_m2'] yourself from a surveyed area to override"
        )
        record.add_step("gfa-fallback", detail, buildings=[str(b) for b in fallback])
        warnings.warn(f"{source}: {detail}", QuantityWarning, stacklevel=5)
    lowest = frame.index[frame["ground_source"] == "lowest element"]
    if len(lowest):
        detail = (
            f"ground_elevation_m of {len(lowest)} of {n} building(s) is the bottom of the lowest element: "
            "the file has no storeys of known elevation, so height_m is the full height and "
            "depth_below_ground_m is 0; set buildings['ground_elevation_m'] (and height_m) from a DEM to override"
        )
        record.add_step("ground-fallback", detail, buildings=[str(b) for b in lowest])
        warnings.warn(f"{source}: {detail}", QuantityWarning, stacklevel=5)


def _buildings(
    semantics: dict[str, Any],
    records: dict[int, dict],
    space_rows: list[dict[str, Any]],
    *,
    geo: Georeference,
    target: Any,
    source: str,
    schema: str,
    lod: str,
    simplify_tolerance_m: float,
    record: _prov.Provenance,
):
    import geopandas as gpd

    ctx = _BuildingContext(semantics, records, space_rows)
    rows, geoms = [], []
    for b in semantics["buildings"]:
        row, footprint = _building_row(b, ctx, geo, simplify_tolerance_m)
        rows.append(row)
        geoms.append(footprint)
    frame = _buildings_frame(rows, geo=geo, schema=schema, source=source)
    _record_quantities(frame, record, source)
    if simplify_tolerance_m > 0:
        record.add_step(
            "simplification", "Douglas-Peucker, topology preserved", tolerance_m=simplify_tolerance_m
        )
    gdf = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=geo.crs)
    if geo.crs is not None:
        gdf = reproject_with_provenance(gdf, target, record=record, path=source)
    if lod == "lod1":
        gdf["geometry"] = shapely.force_3d(
            gdf.geometry.values, z=gdf["base_elevation_m"].fillna(0.0).to_numpy()
        )
        record.add_step("lod1", "footprint z set to base_elevation_m; the block is footprint x height_m")
    cols = ["name", "geometry", *[c for c in gdf.columns if c not in ("name", "geometry")]]
    gdf = gdf[cols]
    _prov.attach(gdf, record)
    return gdf


# ---------------------------------------------------------------------------------------------
# meshes
# ---------------------------------------------------------------------------------------------
def _map_vertices(verts: np.ndarray, geo: Georeference, transformer) -> np.ndarray:
    out = geo.to_map(verts, local_unit="metre")
    if transformer is not None:
        x, y = transformer.transform(out[:, 0], out[:, 1])
        out[:, 0], out[:, 1] = x, y
    return out


def meshes_from_records(elements, records, *, geo: Georeference, target: Any, gid: dict, per_element: bool):
    """Build per-building (and optionally per-element) meshes on the map from tessellation records."""
    import pyproj
    import trimesh

    transformer = None
    if target is not None and geo.crs is not None and not target.equals(geo.crs):
        transformer = pyproj.Transformer.from_crs(geo.crs, target, always_xy=True)
    parts: dict[str, list] = defaultdict(list)
    per: dict[str, Any] = {}
    for e in elements:
        rec = records.get(e["id"])
        if rec is None or "verts" not in rec:
            continue
        mesh = trimesh.Trimesh(_map_vertices(rec["verts"], geo, transformer), rec["faces"], process=False)
        if per_element:
            per[e["global_id"]] = mesh
        building = gid.get(e["building"])
        if building is not None:
            parts[building].append(mesh)
    merged = {b: trimesh.util.concatenate(ms) for b, ms in parts.items()}
    return merged, (per if per_element else None)


# ---------------------------------------------------------------------------------------------
# everything
# ---------------------------------------------------------------------------------------------
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
) -> dict[str, Any]:
    """Build the tables (and meshes) of a model: the keyword arguments of ``IfcModel`` but two.

    Returns ``buildings`` (GeoDataFrame on the map, in ``target`` when given), ``elements``,
    ``materials``, ``spaces``, ``meshes`` and ``element_meshes`` (None unless ``meshes``).
    """
    gid = {b["id"]: b["global_id"] for b in semantics["buildings"]}
    el_rows = _element_rows(semantics, records, gid)
    elements_df = pd.DataFrame(el_rows, columns=_ELEMENT_COLUMNS).set_index("global_id")
    elements_df["load_bearing"] = elements_df["load_bearing"].astype("boolean")  # unknown stays NA
    materials_df = _material_table(semantics, el_rows)
    elements_df["mass_kg"] = _element_mass(elements_df, materials_df)
    sp_rows = _space_rows(semantics, records, gid)
    spaces_df = pd.DataFrame(sp_rows, columns=_SPACE_COLUMNS)
    buildings = _buildings(
        semantics,
        records,
        sp_rows,
        geo=geo,
        target=target,
        source=source,
        schema=schema,
        lod=lod,
        simplify_tolerance_m=simplify_tolerance_m,
        record=record,
    )
    building_meshes = element_meshes = None
    if meshes:
        building_meshes, element_meshes = meshes_from_records(
            semantics["elements"], records, geo=geo, target=target, gid=gid, per_element=per_element_meshes
        )
    return {
        "buildings": buildings,
        "elements": elements_df,
        "materials": materials_df,
        "spaces": spaces_df,
        "meshes": building_meshes,
        "element_meshes": element_meshes,
    }
