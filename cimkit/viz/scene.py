"""3-D views: LoD1 blocks (footprint x height) as trimesh meshes, glTF export and pyvista scenes.

LoD1 blocks work for every building, with or without IFC: the footprint is extruded from its base
elevation (``base_elevation_m``, else the terrain under the footprint, else 0) by ``height_m``
(else ``storeys`` x ``storey_height_m``). Buildings without a usable height are skipped and counted.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from cimkit._atomic import atomic_path
from cimkit.raster import Raster

__all__ = ["lod1_meshes", "export_gltf", "pyvista_scene"]

logger = logging.getLogger(__name__)


def lod1_meshes(
    buildings: gpd.GeoDataFrame,
    *,
    terrain: Raster | None = None,
    storey_height_m: float = 3.0,
    origin: tuple[float, float] | None = None,
) -> dict[Any, Any]:
    """LoD1 block meshes keyed by the buildings' index.

    Parameters
    ----------
    terrain
        DEM used for the base where ``base_elevation_m`` is missing (mean of the footprint's
        vertices sampled on the grid).
    storey_height_m
        Storey height in metres when only ``storeys`` is known.
    origin
        Subtracted from x, y so that large map coordinates stay precise in float32 viewers; by
        default the layer's lower-left corner.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"height_m": [6.0]}, geometry=[box(0, 0, 10, 8)], crs=2154)
    >>> float(round(lod1_meshes(b)[0].volume, 6))
    480.0
    """
    import shapely
    import trimesh

    if origin is None:
        minx, miny, _, _ = buildings.total_bounds
        origin = (float(minx), float(miny))
    heights = _heights(buildings, storey_height_m)
    bases = _bases(buildings, terrain)
    meshes: dict[Any, Any] = {}
    skipped = 0
    for key, geom, height, base in zip(buildings.index, buildings.geometry, heights, bases):
        if geom is None or geom.is_empty or not np.isfinite(height) or height <= 0:
            skipped += 1
            continue
        geom = shapely.transform(geom, lambda xy: xy - np.asarray(origin))
        parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        solids = [
            trimesh.creation.extrude_polygon(shapely.make_valid(p), height) for p in parts if p.area > 0
        ]
        if not solids:
            skipped += 1
            continue
        mesh = trimesh.util.concatenate(solids)
        mesh.apply_translation([0.0, 0.0, base])
        meshes[key] = mesh
    if skipped:
        logger.info("lod1_meshes: %d building(s) without footprint or height were skipped", skipped)
    return meshes


def _heights(buildings: gpd.GeoDataFrame, storey_height_m: float) -> np.ndarray:
    heights = np.full(len(buildings), np.nan)
    if "height_m" in buildings.columns:
        heights = buildings["height_m"].to_numpy(dtype="float64", na_value=np.nan)
    if "storeys" in buildings.columns:
        storeys = buildings["storeys"].to_numpy(dtype="float64", na_value=np.nan)
        heights = np.where(np.isfinite(heights), heights, storeys * storey_height_m)
    return heights


def _bases(buildings: gpd.GeoDataFrame, terrain: Raster | None) -> np.ndarray:
    bases = np.full(len(buildings), np.nan)
    if "base_elevation_m" in buildings.columns:
        bases = buildings["base_elevation_m"].to_numpy(dtype="float64", na_value=np.nan)
    if terrain is not None and np.isnan(bases).any():
        cent = buildings.geometry.centroid
        sampled = terrain.sample(cent.x.to_numpy(), cent.y.to_numpy())
        bases = np.where(np.isfinite(bases), bases, sampled)
    return np.nan_to_num(bases, nan=0.0)


def export_gltf(meshes: dict[Any, Any], path: str | os.PathLike[str]) -> Path:
    """Write meshes as one binary glTF (``.glb``) scene, one node per building, atomically."""
    import trimesh

    scene = trimesh.Scene()
    for key, mesh in meshes.items():
        scene.add_geometry(mesh, node_name=str(key), geom_name=str(key))
    data = scene.export(file_type="glb")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def pyvista_scene(
    meshes: dict[Any, Any],
    *,
    scalars: dict[Any, float] | None = None,
    terrain: Raster | None = None,
    origin: tuple[float, float] | None = None,
) -> Any:
    """A ``pyvista.Plotter`` with the blocks (coloured by ``scalars``) and optionally the terrain.

    Call ``.show()`` in Jupyter (with a pyvista notebook backend) or ``.screenshot(path)``
    where an off-screen renderer is available.
    """
    import pyvista as pv

    plotter = pv.Plotter(off_screen=os.environ.get("DISPLAY") is None)
    for key, mesh in meshes.items():
        poly = pv.wrap(mesh)
        if scalars is not None and key in scalars:
            poly["value"] = np.full(poly.n_cells, scalars[key])
            plotter.add_mesh(poly, scalars="value", cmap="cividis", show_edges=False)
        else:
            plotter.add_mesh(poly, color="#bbbbbb")
    if terrain is not None:
        values = terrain.masked()
        rows, cols = np.indices(values.shape)
        x, y = terrain.xy(rows, cols)
        if origin is not None:
            x, y = x - origin[0], y - origin[1]
        grid = pv.StructuredGrid(x, y, np.nan_to_num(values, nan=np.nanmin(values)))
        plotter.add_mesh(grid, cmap="gist_earth", opacity=0.8)
    return plotter
