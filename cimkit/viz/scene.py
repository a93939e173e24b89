"""3-D views: LoD1 blocks (footprint x height) as trimesh meshes, glTF files and pyvista scenes.

LoD1 blocks work for every building, with or without IFC: the footprint is extruded from its base
elevation (``base_elevation_m``, else the DEM under the footprint's centroid, else 0) by
``height_m`` (else ``storeys`` x ``storey_height_m``). Buildings without a usable height are
skipped and counted in an INFO log line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from cimkit._atomic import write_bytes_atomic
from cimkit.raster import Raster

__all__ = ["build_lod1_meshes", "build_scene", "write_gltf"]

logger = logging.getLogger(__name__)


def build_lod1_meshes(
    buildings: gpd.GeoDataFrame,
    *,
    dem: Raster | None = None,
    storey_height_m: float = 3.0,
    origin: tuple[float, float] | None = None,
) -> dict[Any, Any]:
    """Build one LoD1 block mesh (footprint extruded by height) per building.

    Parameters
    ----------
    buildings
        The buildings layer: polygon footprints in a metric CRS, with ``height_m`` (m) or
        ``storeys``, and optionally ``base_elevation_m`` (m above the vertical datum).
    dem
        Digital elevation model giving the base of the buildings without ``base_elevation_m``
        (the cell under the footprint's centroid). Without it such buildings stand at 0 m.
    storey_height_m
        Storey height in metres, used where only ``storeys`` is known.
    origin
        Map position ``(x, y)`` (CRS units) subtracted from every vertex so that large map
        coordinates stay precise in float32 viewers; by default the layer's lower-left corner.

    Returns
    -------
    dict
        Watertight ``trimesh.Trimesh`` blocks keyed by the buildings' index. Buildings without a
        footprint or a positive height are left out (and counted in a log line).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> buildings = gpd.GeoDataFrame(
    ...     {"height_m": [6.0, None], "storeys": [None, 4]},
    ...     geometry=[box(651100, 6847200, 651110, 6847208), box(651120, 6847200, 651130, 6847220)],
    ...     index=["A", "B"],
    ...     crs=2154,
    ... )
    >>> meshes = build_lod1_meshes(buildings)
    >>> sorted(meshes)
    ['A', 'B']
    >>> round(float(meshes["A"].volume), 1), round(float(meshes["B"].volume), 1)  # 10x8x6, 10x20x12
    (480.0, 2400.0)
    >>> meshes["A"].bounds.tolist()  # shifted to the layer's lower-left corner (651100, 6847200)
    [[0.0, 0.0, 0.0], [10.0, 8.0, 6.0]]
    """
    import shapely
    import trimesh

    if origin is None:
        minx, miny, _, _ = buildings.total_bounds
        origin = (float(minx), float(miny))
    shift = np.asarray(origin, dtype="float64")
    heights = _heights(buildings, storey_height_m)
    bases = _bases(buildings, dem)
    meshes: dict[Any, Any] = {}
    skipped = 0
    for key, geom, height, base in zip(buildings.index, buildings.geometry, heights, bases):
        if geom is None or geom.is_empty or not np.isfinite(height) or height <= 0:
            skipped += 1
            continue
        geom = shapely.transform(geom, lambda xy: xy - shift)
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
        logger.info("build_lod1_meshes: %d building(s) without footprint or height were skipped", skipped)
    return meshes


def _heights(buildings: gpd.GeoDataFrame, storey_height_m: float) -> np.ndarray:
    heights = np.full(len(buildings), np.nan)
    if "height_m" in buildings.columns:
        heights = buildings["height_m"].to_numpy(dtype="float64", na_value=np.nan)
    if "storeys" in buildings.columns:
        storeys = buildings["storeys"].to_numpy(dtype="float64", na_value=np.nan)
        heights = np.where(np.isfinite(heights), heights, storeys * storey_height_m)
    return heights


def _bases(buildings: gpd.GeoDataFrame, dem: Raster | None) -> np.ndarray:
    bases = np.full(len(buildings), np.nan)
    if "base_elevation_m" in buildings.columns:
        bases = buildings["base_elevation_m"].to_numpy(dtype="float64", na_value=np.nan, copy=True)
    if dem is not None:
        geometry = buildings.geometry
        todo = np.isnan(bases) & ~(geometry.isna() | geometry.is_empty).to_numpy()
        if todo.any():
            centroids = geometry[todo].centroid
            bases[todo] = dem.sample(centroids.x.to_numpy(), centroids.y.to_numpy())
    return np.nan_to_num(bases, nan=0.0)


def write_gltf(meshes: Mapping[Any, Any], path: str | os.PathLike[str]) -> Path:
    """Write meshes as one binary glTF (``.glb``) scene, one node per building, atomically.

    Parameters
    ----------
    meshes
        ``trimesh.Trimesh`` objects keyed by building id (as :func:`build_lod1_meshes` returns);
        each key becomes the name of its node, so a viewer can pick a building by its id.
    path
        The ``.glb`` file to write. It is written to a temporary file beside it and renamed
        over it at the end, so an interrupted export leaves no half-written file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> import trimesh
    >>> from shapely.geometry import box
    >>> buildings = gpd.GeoDataFrame(
    ...     {"height_m": [6.0, 9.0]},
    ...     geometry=[box(651000, 6847000, 651010, 6847008), box(651020, 6847000, 651030, 6847008)],
    ...     index=["A", "B"],
    ...     crs=2154,
    ... )
    >>> folder = tempfile.mkdtemp()
    >>> path = write_gltf(build_lod1_meshes(buildings), f"{folder}/city.glb")
    >>> path.name, path.read_bytes()[:4]
    ('city.glb', b'glTF')
    >>> sorted(trimesh.load(path).geometry)
    ['A', 'B']
    """
    import trimesh

    scene = trimesh.Scene()
    for key, mesh in meshes.items():
        scene.add_geometry(mesh, node_name=str(key), geom_name=str(key))
    data = scene.export(file_type="glb")
    write_bytes_atomic(path, data)
    return Path(path)


def build_scene(
    meshes: Mapping[Any, Any],
    *,
    scalars: Mapping[Any, float] | None = None,
    dem: Raster | None = None,
    origin: tuple[float, float] | None = None,
) -> Any:
    """Build a ``pyvista.Plotter`` showing the blocks (coloured by ``scalars``) and the DEM.

    Call ``.show()`` on the result in Jupyter (with a pyvista notebook backend), or
    ``.screenshot(path)`` where an off-screen renderer is available. Without a display the
    plotter renders off screen.

    Parameters
    ----------
    meshes
        ``trimesh.Trimesh`` objects keyed by building id (as :func:`build_lod1_meshes` returns).
    scalars
        A value per building id (any unit, e.g. expected annual damage in EUR/year) drawn with
        the colour-blind safe ``cividis`` map; buildings without a value (or NaN) are grey.
    dem
        Digital elevation model drawn as a semi-transparent surface under the blocks, coloured
        by elevation (m).
    origin
        The ``origin`` given to :func:`build_lod1_meshes` (CRS units), subtracted from the DEM's
        coordinates so that it lines up with the blocks. Pass it whenever ``dem`` is given.

    Returns
    -------
    pyvista.Plotter
        The blocks as one mesh, whose cell arrays ``value`` (the building's scalar, NaN where
        none) and ``building`` (the position of the building's id in the mesh's
        ``building_id`` field array) let a viewer pick a building; then the DEM surface, with a
        point array ``elevation_m``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> buildings = gpd.GeoDataFrame(
    ...     {"height_m": [6.0, 9.0]},
    ...     geometry=[box(651000, 6847000, 651010, 6847008), box(651020, 6847000, 651030, 6847008)],
    ...     index=["A", "B"],
    ...     crs=2154,
    ... )
    >>> plotter = build_scene(build_lod1_meshes(buildings), scalars={"A": 120.5})
    >>> blocks = plotter.meshes[0]
    >>> blocks.field_data["building_id"].tolist(), blocks.n_cells  # 12 triangles per block
    (['A', 'B'], 24)
    >>> sorted({float(v) for v in blocks["value"][blocks["building"] == 0]})
    [120.5]
    >>> bool(np.isnan(blocks["value"][blocks["building"] == 1]).all())
    True
    >>> plotter.close()
    """
    import pyvista as pv

    plotter = pv.Plotter(off_screen=os.environ.get("DISPLAY") is None)
    if meshes:
        blocks = _merged_blocks(meshes, scalars)
        if np.isnan(blocks["value"]).all():
            plotter.add_mesh(blocks, color="#bbbbbb", show_edges=False)
        else:
            plotter.add_mesh(blocks, scalars="value", cmap="cividis", nan_color="#bbbbbb", show_edges=False)
    if dem is not None:
        values = dem.masked()
        rows, cols = np.indices(values.shape)
        x, y = dem.xy(rows, cols)
        if origin is not None:
            x, y = x - origin[0], y - origin[1]
        z = np.nan_to_num(values, nan=np.nanmin(values))
        grid = pv.StructuredGrid(x, y, z)
        grid.point_data["elevation_m"] = z.ravel(order="F")
        plotter.add_mesh(grid, scalars="elevation_m", cmap="gist_earth", opacity=0.8)
    return plotter


def _merged_blocks(meshes: Mapping[Any, Any], scalars: Mapping[Any, float] | None) -> Any:
    # One mesh for all blocks: a plotter renders one actor far faster than one per building.
    import pyvista as pv

    keys = list(meshes)
    parts = []
    for position, key in enumerate(keys):
        poly = pv.wrap(meshes[key])
        value = np.nan if scalars is None else scalars.get(key, np.nan)
        poly.cell_data["value"] = np.full(poly.n_cells, np.nan if value is None else float(value))
        poly.cell_data["building"] = np.full(poly.n_cells, position)
        parts.append(poly)
    merged = pv.merge(parts, merge_points=False)
    merged.field_data["building_id"] = [str(key) for key in keys]
    return merged
