"""3-D views: LoD1 blocks (footprint x height) as trimesh meshes, glTF files and pyvista scenes.

:func:`plot_3d` (drawing a whole model; alias ``view3d``) lives in :mod:`cimkit.viz._view3d` and
is importable from here.

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
from cimkit.errors import InputError
from cimkit.raster import Raster
from cimkit.viz._view3d import (  # noqa: F401 (private helpers kept importable from here)
    OKABE_ITO,
    _column_title,
    _dem_surface,
    _merged_blocks,
    lod1_blocks,
    plot_3d,
    view3d,
)

__all__ = ["OKABE_ITO", "build_lod1_meshes", "build_scene", "plot_3d", "write_gltf"]

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
        Watertight ``trimesh.Trimesh`` blocks keyed by the buildings' index, each recording the
        ``origin`` subtracted in ``mesh.metadata["origin"]`` (so that :func:`build_scene` shifts
        the DEM by the same amount). Buildings without a footprint or a positive height are left
        out (and counted in a log line).

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
    >>> meshes["A"].metadata["origin"]
    (651100.0, 6847200.0)
    """
    import trimesh

    if origin is None:
        minx, miny, _, _ = buildings.total_bounds
        origin = (float(minx), float(miny))
    shift = (float(origin[0]), float(origin[1]))
    meshes: dict[Any, Any] = {}
    for key, (vertices, faces) in lod1_blocks(
        buildings, dem=dem, origin=shift, storey_height_m=storey_height_m
    ).items():
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        mesh.metadata["origin"] = shift
        meshes[key] = mesh
    if len(meshes) < len(buildings):
        skipped = len(buildings) - len(meshes)
        logger.info("build_lod1_meshes: %d building(s) without footprint or height were skipped", skipped)
    return meshes


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
    plotter renders off screen. :func:`plot_3d` draws a whole model in one call.

    Parameters
    ----------
    meshes
        ``trimesh.Trimesh`` objects keyed by building id (as :func:`build_lod1_meshes` returns).
    scalars
        A value per building id (any unit, e.g. expected annual damage in EUR/year) drawn with
        the colour-blind safe ``cividis`` map; buildings without a value (or NaN) are grey.
    dem
        Digital elevation model drawn as a semi-transparent surface under the blocks, coloured
        by elevation (m); nodata cells are left out.
    origin
        The map position ``(x, y)`` (CRS units) subtracted from the DEM's coordinates so that it
        lines up with the blocks. By default the ``origin`` the blocks record (the one given to
        :func:`build_lod1_meshes`), else the DEM's lower-left corner.

    Returns
    -------
    pyvista.Plotter
        The blocks as one mesh, whose cell arrays ``value`` (the building's scalar, NaN where
        none) and ``building`` (the position of the building's id in the mesh's
        ``building_id`` field array) let a viewer pick a building; then the DEM surface, with a
        point array ``elevation_m``. Each mesh holds the origin in its ``origin`` field array.

    Raises
    ------
    InputError
        ``VEW003`` when the meshes record different origins.

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
    >>> blocks.field_data["origin"].tolist()
    [651000.0, 6847000.0]
    >>> plotter.close()
    """
    import pyvista as pv

    origin = _scene_origin(meshes, dem, origin)
    plotter = pv.Plotter(off_screen=os.environ.get("DISPLAY") is None)
    if meshes:
        blocks = _merged_blocks(meshes, scalars)
        blocks.field_data["origin"] = np.asarray(origin, dtype="float64")
        if np.isnan(blocks["value"]).all():
            plotter.add_mesh(blocks, color="#bbbbbb", show_edges=False)
        else:
            plotter.add_mesh(blocks, scalars="value", cmap="cividis", nan_color="#bbbbbb", show_edges=False)
    if dem is not None:
        grid = _dem_surface(dem, origin)
        plotter.add_mesh(grid, scalars="elevation_m", cmap="gist_earth", opacity=0.8)
    return plotter


def _scene_origin(
    meshes: Mapping[Any, Any], dem: Raster | None, origin: tuple[float, float] | None
) -> tuple[float, float]:
    # The one origin every part of a scene is shifted by: the blocks and the DEM must agree, or
    # the DEM lands kilometres away from the blocks and the framed view shows neither.
    if origin is not None:
        return (float(origin[0]), float(origin[1]))
    recorded = {tuple(getattr(m, "metadata", {}).get("origin", ())) for m in meshes.values()}
    recorded.discard(())
    if len(recorded) > 1:
        raise InputError(
            f"the meshes record {len(recorded)} different origins: {sorted(recorded)[:3]}",
            code="VEW003",
            hint="build every mesh with the same origin= (build_lod1_meshes(..., origin=(x, y))), "
            "or pass origin= to build_scene",
        )
    if recorded:
        x, y = recorded.pop()
        return (float(x), float(y))
    if dem is not None:
        minx, miny, _, _ = dem.bounds
        return (float(minx), float(miny))
    return (0.0, 0.0)
