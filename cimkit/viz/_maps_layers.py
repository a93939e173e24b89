"""The layers of a static map drawn as single matplotlib collections (fast at 100 000 buildings).

Footprints become one ``PathCollection`` built from shapely's ragged coordinate arrays (no
per-row ``GeoDataFrame.plot``); hexagon and zone aggregation are vectorised with numpy; the DEM
is drawn as a light-grey hillshade (matplotlib ``LightSource``); streets are one
``LineCollection`` whose widths follow the road class; POIs are one scatter per category.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from cimkit.raster import Raster
from cimkit.viz._style import OKABE_ITO

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Line width (points) of a street by its ``road_class`` (OpenStreetMap ``highway`` values).
ROAD_WIDTHS = {
    "motorway": 3.2,
    "trunk": 3.0,
    "primary": 2.6,
    "secondary": 2.1,
    "tertiary": 1.7,
    "residential": 1.2,
    "living_street": 1.0,
    "unclassified": 1.0,
    "service": 0.7,
    "pedestrian": 0.7,
    "footway": 0.5,
    "cycleway": 0.5,
    "path": 0.5,
    "steps": 0.5,
}
_SLOW = {"pedestrian", "footway", "cycleway", "path", "steps"}
_SQRT3 = np.sqrt(3.0)


def footprint_paths(geometries: Any) -> tuple[list[Any], np.ndarray]:
    """One matplotlib ``Path`` per polygon part (holes kept) and the row each part comes from."""
    import shapely
    from matplotlib.path import Path

    geoms = np.asarray(geometries, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, owner = parts[keep], owner[keep]
    if not len(parts):
        return [], np.zeros(0, dtype="int64")
    _, coords, (ring_offsets, polygon_offsets) = shapely.to_ragged_array(parts, include_z=False)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[ring_offsets[:-1]] = Path.MOVETO
    codes[ring_offsets[1:] - 1] = Path.CLOSEPOLY
    starts = ring_offsets[polygon_offsets[:-1]]
    ends = ring_offsets[polygon_offsets[1:]]
    paths = [Path(coords[s:e], codes[s:e]) for s, e in zip(starts.tolist(), ends.tolist())]
    return paths, np.asarray(owner, dtype="int64")


def round_length(value: float) -> float:
    """Return the 1, 2 or 5 x 10^k closest to ``value`` on a log scale (a round cell size)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    candidates = np.array([1.0, 2.0, 5.0, 10.0]) * power
    return float(candidates[np.argmin(np.abs(np.log(candidates / value)))])


def typical_size_m(geometries: gpd.GeoSeries) -> float:
    """Return the median side of the footprints (square root of their area), in map units."""
    areas = geometries.area.to_numpy(dtype="float64")
    areas = areas[np.isfinite(areas) & (areas > 0)]
    return float(np.sqrt(np.median(areas))) if len(areas) else 0.0


def nice_length(value: float) -> float:
    """Return the largest 1, 2 or 5 x 10^k not above ``value`` (a round length for legends and grids)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for factor in (5.0, 2.0, 1.0):
        if factor * power <= value * (1 + 1e-9):
            return float(factor * power)
    return float(power)


def hex_cells(x: np.ndarray, y: np.ndarray, side_m: float, origin: tuple[float, float]) -> np.ndarray:
    """Return the flat-topped hexagon (axial q, r; as an (n, 2) int array) holding each point."""
    px = (x - origin[0]) / side_m
    py = (y - origin[1]) / side_m
    q = 2.0 / 3.0 * px
    r = -1.0 / 3.0 * px + _SQRT3 / 3.0 * py
    # cube rounding: round the three cube coordinates, fix the one that moved most
    cx, cz = q, r
    cy = -cx - cz
    rx, ry, rz = np.rint(cx), np.rint(cy), np.rint(cz)
    dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
    fix_x = (dx > dy) & (dx > dz)
    fix_y = ~fix_x & (dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(~fix_x & ~fix_y, -rx - ry, rz)
    return np.column_stack([rx, rz]).astype("int64")


def hex_centres(cells: np.ndarray, side_m: float, origin: tuple[float, float]) -> np.ndarray:
    """Map coordinates (n, 2) of the centres of flat-topped hexagons given by axial (q, r)."""
    q, r = cells[:, 0].astype("float64"), cells[:, 1].astype("float64")
    return np.column_stack([origin[0] + side_m * 1.5 * q, origin[1] + side_m * _SQRT3 * (r + q / 2.0)])


def hex_polygons(centres: np.ndarray, side_m: float) -> np.ndarray:
    """Return the six corners (n, 6, 2) of flat-topped hexagons of side ``side_m`` around ``centres``."""
    angles = np.radians(np.arange(0, 360, 60))
    corners = np.column_stack([np.cos(angles), np.sin(angles)]) * side_m
    return centres[:, None, :] + corners[None, :, :]


def reduce_groups(groups: np.ndarray, values: np.ndarray | None, statistic: str, n: int) -> np.ndarray:
    """``count`` / ``mean`` / ``sum`` of ``values`` per group (0..n-1); NaN values are left out."""
    if values is None or statistic == "count":
        if values is None:
            return np.bincount(groups, minlength=n).astype("float64")
        return np.bincount(groups, weights=np.isfinite(values).astype("float64"), minlength=n)
    finite = np.isfinite(values)
    sums = np.bincount(groups[finite], weights=values[finite], minlength=n)
    counts = np.bincount(groups[finite], minlength=n)
    if statistic == "sum":
        return np.where(counts > 0, sums, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def zone_of_points(zones: gpd.GeoDataFrame, points: Any) -> np.ndarray:
    """Return the position of the zone holding each point (-1 outside every zone); first zone wins."""
    import shapely

    tree = shapely.STRtree(np.asarray(zones.geometry, dtype=object))
    point_idx, zone_idx = tree.query(np.asarray(points, dtype=object), predicate="within")
    out = np.full(len(points), -1, dtype="int64")
    order = np.argsort(point_idx, kind="stable")[::-1]  # the first zone found is written last
    out[point_idx[order]] = zone_idx[order]
    return out


def draw_hillshade(ax: Any, dem: Raster, *, max_side: int = 1200) -> Any:
    """Draw the DEM as a light-grey hillshade (light from the north-west, 45 degrees) under the map."""
    from matplotlib.colors import LightSource

    step = max(1, int(np.ceil(max(dem.shape) / max_side)))
    values = np.asarray(dem.masked(), dtype="float64")[::step, ::step]
    valid = np.isfinite(values)
    if not valid.any():
        return None
    filled = np.where(valid, values, np.nanmean(values))
    dx = abs(float(dem.transform.a)) * step
    dy = abs(float(dem.transform.e)) * step
    shade = LightSource(azdeg=315, altdeg=45).hillshade(filled, vert_exag=2.0, dx=dx, dy=dy)
    shade = np.ma.masked_array(shade, ~valid)
    minx, miny, maxx, maxy = dem.bounds
    # grey levels 0.72 (shade) to 1.0 (lit): a light background that does not compete with data
    return ax.imshow(
        shade,
        cmap="gray",
        vmin=-1.6,
        vmax=1.0,
        extent=(minx, maxx, miny, maxy),
        origin="upper",
        interpolation="bilinear",
        zorder=0,
    )


def draw_streets(ax: Any, edges: gpd.GeoDataFrame) -> Any:
    """Streets as one LineCollection, wider for higher road classes, footways light and thin."""
    import shapely
    from matplotlib.collections import LineCollection

    if edges is None or not len(edges):
        return None
    parts, owner = shapely.get_parts(np.asarray(edges.geometry, dtype=object), return_index=True)
    lines = [np.asarray(shapely.get_coordinates(p)) for p in parts]
    classes = (
        edges["road_class"].astype("string").fillna("").to_numpy()
        if "road_class" in edges.columns
        else np.full(len(edges), "")
    )
    widths = np.array([ROAD_WIDTHS.get(str(c), 1.0) for c in classes])[owner]
    colours = np.where(np.isin(classes, list(_SLOW)), "#9a9a9a", "#4d4d4d")[owner]
    collection = LineCollection(lines, linewidths=widths, colors=list(colours), capstyle="round", zorder=3)
    ax.add_collection(collection, autolim=False)
    return collection


def draw_river(ax: Any, river: gpd.GeoDataFrame) -> None:
    """Draw the river: polygons filled light blue, lines drawn 3 points wide in blue."""
    geoms = river.geometry
    polygons = geoms[geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    lines = geoms[geoms.geom_type.isin(["LineString", "MultiLineString"])]
    if len(polygons):
        from matplotlib.collections import PathCollection

        paths, _ = footprint_paths(polygons.to_numpy())
        ax.add_collection(
            PathCollection(paths, facecolors="#a6cee3", edgecolors="#2b7bb9", linewidths=0.8, zorder=2),
            autolim=False,
        )
    if len(lines):
        lines.plot(ax=ax, color="#2b7bb9", linewidth=3, zorder=2)


def draw_pois(ax: Any, pois: gpd.GeoDataFrame) -> list[tuple[str, Any]]:
    """One scatter per POI category (Okabe-Ito colour + marker, most frequent first)."""
    if pois is None or not len(pois):
        return []
    points = pois[pois.geometry.geom_type == "Point"]
    categories = (
        points["category"].astype("string").fillna("other")
        if "category" in points.columns
        else np.full(len(points), "point of interest")
    )
    import pandas as pd

    counts = pd.Series(categories).value_counts(sort=False)
    order = sorted(counts.index, key=lambda c: (-int(counts[c]), str(c)))
    handles = []
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    labels = np.asarray(categories, dtype=object)
    for i, category in enumerate(order):
        mask = labels == category
        colour = OKABE_ITO[(i + i // len(OKABE_ITO)) % len(OKABE_ITO)]
        handle = ax.scatter(
            x[mask],
            y[mask],
            s=42,
            marker=MARKERS[i % len(MARKERS)],
            c=colour,
            edgecolors="black",
            linewidths=0.6,
            zorder=6,
            label=str(category),
        )
        handles.append((str(category), handle))
    return handles
