"""Assembling an interactive map: the layers under the coloured one (helper of :mod:`cimkit.viz.explore`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit import _sensitivity as sens
from cimkit.errors import CimkitError, PublicationError
from cimkit.viz._explore_style import hex_to_rgba

#: Layers drawn under the coloured one when ``layers`` is not given (those the model has).
DEFAULT_LAYERS = ("zones", "parcels", "network_road", "river", "pois")
#: name -> (label, line or fill colour, alpha of the fill); Okabe-Ito hues or greys
STYLES: dict[str, tuple[str, str, int]] = {
    "zones": ("zones (PLU)", "#000000", 0),
    "parcels": ("parcels", "#8c8c8c", 0),
    "prescriptions": ("prescriptions", "#CC79A7", 40),
    "network_road": ("streets", "#595959", 255),
    "river": ("river", "#0072B2", 255),
    "pois": ("points of interest", "#CC79A7", 255),
    "flooded": ("flooded area", "#56B4E9", 110),
    "network_water": ("water network", "#56B4E9", 255),
    "network_sewer": ("sewer network", "#E69F00", 255),
    "network_power": ("power network", "#F0E442", 255),
}
#: descriptive columns shown in the tooltip of an overlay, when the layer has them
LABEL_COLUMNS = ("name", "libelle", "typezone", "category", "highway", "area_m2")


def canonical(model: Any, name: str) -> str:
    """``"water"`` -> ``"network_water"``; a layer name stays; unknown -> XPL003."""
    if name in model.layers or name == "flooded":
        return name
    kind = name.removeprefix("network_")
    if kind in model.networks:
        return f"network_{kind}"
    known = ", ".join([*model.layers, *(f"network_{k}" for k in model.networks)])
    raise CimkitError(
        f"the map layer {name!r} is not in the model (it has: {known})",
        layer=name,
        code="XPL003",
        hint="name a layer of the model, a network as network_<kind>, or 'flooded' on a flood map",
    )


def check_public(model: Any, names: Sequence[str], allow: Mapping[str, str] | None) -> dict[str, str]:
    """Refuse layers above public that ``allow`` does not name (XPL005); return the allowances."""
    allowed: dict[str, str] = {}
    for name in names:
        if name == "flooded":
            continue
        level = sens.layer_level(model, name)
        if level == "public":
            continue
        reason = sens.match_allowance(allow, name)
        if not reason:
            raise PublicationError(
                f"the layer {name!r} is {level}: it is not drawn on a map unless allowed",
                layer=name,
                code="XPL005",
                hint=f"pass allow={{{name!r}: 'why it may be shown'}} to draw it",
            )
        allowed[name] = sens.check_reason(reason, name)
    return allowed


def resolve_layers(model: Any, layers: Sequence[str] | None, *, extra: Sequence[str] = ()) -> list[str]:
    """Return the overlay names to draw, bottom first: the defaults the model has, or ``layers``."""
    if layers is None:
        present = [*model.layers, *(f"network_{k}" for k in model.networks)]
        names = [*extra, *(n for n in DEFAULT_LAYERS if n in present)]
        return [n for n in names if n == "flooded" or sens.layer_level(model, n) == "public"]
    return [canonical(model, n) for n in layers]


def overlay_frame(model: Any, name: str) -> gpd.GeoDataFrame:
    """Return the GeoDataFrame of an overlay (a network's edges), its index as an ``id`` column."""
    frame = (
        model.networks[name.removeprefix("network_")].edges
        if name.startswith("network_")
        else model.layers[name]
    )
    if not isinstance(frame, gpd.GeoDataFrame):
        raise CimkitError(
            f"the layer {name!r} has no geometry: it cannot be drawn",
            layer=name,
            code="XPL003",
            hint="name a layer with geometries",
        )
    label = frame.index.name or "id"
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    keep = [c for c in LABEL_COLUMNS if c in frame.columns and c != label][:3]
    out = frame[[*keep, frame.geometry.name]].copy()
    out.insert(0, label, frame.index.astype(str))
    return out.reset_index(drop=True)


def geometry_kind(frame: gpd.GeoDataFrame) -> str:
    """``"polygon"``, ``"path"`` or ``"point"`` from the first geometry's type."""
    kinds = set(frame.geom_type.dropna().unique())
    if kinds & {"Polygon", "MultiPolygon"}:
        return "polygon"
    if kinds & {"LineString", "MultiLineString"}:
        return "path"
    return "point"


def style_for(name: str, kind: str) -> dict[str, Any]:
    """Return the lonboard style options of an overlay."""
    _, colour, alpha = STYLES.get(name, (name, "#000000", 0))
    if kind == "polygon":
        return {
            "get_fill_color": list(hex_to_rgba(colour, alpha)),
            "get_line_color": list(hex_to_rgba(colour)),
            "filled": alpha > 0,
            "stroked": True,
            "line_width_min_pixels": 1,
            "pickable": True,
        }
    if kind == "path":
        return {"get_color": list(hex_to_rgba(colour)), "width_min_pixels": 2, "pickable": True}
    return {
        "get_fill_color": list(hex_to_rgba(colour)),
        "get_line_color": [255, 255, 255, 255],
        "stroked": True,
        "radius_min_pixels": 4,
        "line_width_min_pixels": 1,
        "pickable": True,
    }


def label_of(name: str) -> str:
    """Return the label of an overlay's toggle."""
    return STYLES.get(name, (name.replace("_", " "), "", 0))[0]


def flooded_area(depth: Any, return_period: float, caveat: str) -> gpd.GeoDataFrame:
    """Return the cells of a depth raster with water (depth > 0), as one (Multi)Polygon with its area."""
    import rasterio.features
    import shapely
    from shapely.geometry import shape

    values = np.asarray(depth.values, dtype="float64")
    wet = np.isfinite(values) & (values > 0)
    if depth.nodata is not None and np.isfinite(depth.nodata):
        wet &= values != depth.nodata
    parts = [
        shape(geom)
        for geom, value in rasterio.features.shapes(wet.astype("uint8"), mask=wet, transform=depth.transform)
        if value == 1
    ]
    polygon = shapely.union_all(parts) if parts else shapely.Polygon()
    frame = gpd.GeoDataFrame(
        {
            "id": [f"flooded area, {return_period:g}-year flood"],
            "area_m2": [round(float(polygon.area), 1)],
            "max_depth_m": [round(float(values[wet].max()), 2) if wet.any() else 0.0],
            "caveat": [caveat],
        },
        geometry=[polygon],
        crs=depth.crs,
    )
    return frame[~frame.geometry.is_empty]


def frame_for_buildings(
    buildings: gpd.GeoDataFrame, table: pd.DataFrame | None, columns: Sequence[str]
) -> gpd.GeoDataFrame:
    """Return the buildings' geometry with ``columns`` from ``table`` (a result, by building id) or the layer."""
    label = buildings.index.name or "id"
    out = buildings[[buildings.geometry.name]].copy()
    source = buildings if table is None else table.reindex(buildings.index)
    for column in columns:
        out[column] = source[column] if column in source else buildings.get(column)
    if "name" in buildings and "name" not in out:
        out.insert(0, "name", buildings["name"])
    out.insert(0, label, buildings.index.astype(str))
    out = out[~(out.geometry.isna() | out.geometry.is_empty)]
    return out.reset_index(drop=True)
