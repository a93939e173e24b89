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
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit._atomic import write_bytes_atomic
from cimkit.errors import InputError
from cimkit.raster import Raster

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
        mesh.metadata["origin"] = (float(shift[0]), float(shift[1]))
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


def _dem_surface(dem: Raster, origin: tuple[float, float], *, max_side: int = 1000) -> Any:
    # The DEM as a structured surface shifted to ``origin``, at most ``max_side`` points a side;
    # nodata points are hidden (blanked), not drawn at a made-up elevation.
    import pyvista as pv

    step = max(1, int(np.ceil(max(dem.shape) / max_side)))
    values = dem.masked()[::step, ::step]
    rows, cols = np.indices(values.shape)
    x, y = dem.xy(rows * step, cols * step)
    valid = np.isfinite(values)
    if not valid.any():
        raise InputError(
            "the DEM holds no valid cell (every cell is nodata)",
            layer="dem",
            code="VEW004",
            hint="check the DEM's nodata value, or draw without the terrain",
        )
    z = np.where(valid, values, np.nanmin(values))
    grid = pv.StructuredGrid(
        np.asarray(x, dtype="float64") - origin[0], np.asarray(y, dtype="float64") - origin[1], z
    )
    grid.point_data["elevation_m"] = z.ravel(order="F")
    grid.field_data["origin"] = np.asarray(origin, dtype="float64")
    if not valid.all():
        grid.hide_points(~valid.ravel(order="F"))
    return grid


def _merged_blocks(meshes: Mapping[Any, Any], scalars: Mapping[Any, float] | None) -> Any:
    # One mesh for all blocks (one actor renders far faster than one per building), stacked
    # with numpy: faces offset by the vertices before them (pv.merge takes seconds per 1000).
    import pyvista as pv

    keys = list(meshes)
    vertices, faces, building, values = [], [], [], []
    offset = 0
    for position, key in enumerate(keys):
        mesh = meshes[key]
        points = np.asarray(mesh.vertices, dtype="float64")
        triangles = np.asarray(mesh.faces, dtype="int64")
        value = np.nan if scalars is None else scalars.get(key, np.nan)
        vertices.append(points)
        faces.append(triangles + offset)
        building.append(np.full(len(triangles), position))
        values.append(np.full(len(triangles), np.nan if value is None else float(value)))
        offset += len(points)
    if not keys:
        return pv.PolyData()
    merged = pv.PolyData.from_regular_faces(np.vstack(vertices), np.vstack(faces))
    merged.cell_data["value"] = np.concatenate(values)
    merged.cell_data["building"] = np.concatenate(building)
    merged.field_data["building_id"] = [str(key) for key in keys]
    return merged


#: Okabe & Ito (2008), "Color Universal Design": eight colours told apart with every common
#: colour-vision deficiency; the categories of a text column cycle through them.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

#: Unit suffixes of column names (docs/conventions.md, rule 5) -> the unit written in the legend.
_UNITS = {
    "m": "m",
    "m2": "m²",
    "m3": "m³",
    "eur": "EUR",
    "kgco2e": "kg CO2e",
    "min": "min",
    "s": "s",
    "years": "years",
    "pct": "%",
    "kmh": "km/h",
    "deg": "°",
}

_TERRAIN_COLOUR = "#d3e0c8"  # a pale sage, apart from cividis and Okabe-Ito: shading shows relief
_BLOCK_COLOUR = "#f2f2f2"  # blocks when no column is drawn
_NO_VALUE_COLOUR = "#8c8c8c"  # blocks without a value of the column


def plot_3d(
    model: Any,
    *,
    column: str | None = None,
    show_dem: bool = True,
    lod: Literal["auto", "lod1", "mesh"] = "auto",
    meshes: Mapping[Any, Any] | None = None,
    legend_label: str | None = None,
    vertical_exaggeration: float = 1.0,
    camera: Literal["oblique", "top"] = "oblique",
    off_screen: bool | None = None,
    screenshot: str | os.PathLike[str] | None = None,
) -> Any:
    """Draw a model in 3-D: the terrain and the buildings on it, on one shared origin.

    Every part is shifted by the same origin, the lower-left corner of the model's bounds
    (``model.bounds``), so that float32 graphics keep centimetre precision and the terrain lies
    under the blocks. The camera frames the buildings.

    Parameters
    ----------
    model
        A ``CityModel`` with a buildings layer (footprints with ``height_m`` or ``storeys``).
    column
        A buildings column to colour the blocks by: numbers with the colour-blind safe ``cividis``
        map and a scalar bar titled with the column's name and unit (from its suffix: ``_m``,
        ``_eur`` ...), text with the Okabe-Ito palette. Buildings without a value are grey.
        By default every block is light grey.
    show_dem
        Draw ``model.dem`` (if any) as a shaded surface, nodata cells left out.
    lod
        ``"lod1"``: footprints extruded by their height, standing on the DEM; ``"mesh"``: the
        buildings' ``meshes`` (e.g. from IFC), which must be given; ``"auto"``: ``meshes`` where
        given, LoD1 blocks for the other buildings.
    meshes
        ``trimesh.Trimesh`` objects in map coordinates keyed by building id (the buildings
        layer's index).
    legend_label
        The scalar bar's title, instead of the column's name and unit.
    vertical_exaggeration
        Factor applied to every elevation (terrain and buildings), e.g. 2 to show a flat town's
        relief.
    camera
        ``"oblique"``: from the south-east, 35 degrees above the horizon; ``"top"``: straight
        down, orthographic (north up), as a map.
    off_screen
        Render without a window (for screenshots and tests); by default off screen when there is
        no display.
    screenshot
        A ``.png`` file to write the rendered view to.

    Returns
    -------
    pyvista.Plotter
        Its first mesh holds the buildings (cell arrays ``value`` and ``building``, field arrays
        ``building_id`` and ``origin``), then the terrain (point array ``elevation_m``). Call
        ``.show()`` to open it, ``.close()`` when done.

    Raises
    ------
    InputError
        ``VEW001`` without buildings, ``VEW002`` for a column the buildings lack, ``VEW005``
        for ``lod="mesh"`` without meshes.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from cimkit.model import CityModel
    >>> model = CityModel(2154)
    >>> _ = model.add_layer("buildings", gpd.GeoDataFrame(
    ...     {"height_m": [6.0, 9.0]},
    ...     geometry=[box(651000, 6847000, 651010, 6847008), box(651020, 6847000, 651030, 6847008)],
    ...     index=["A", "B"], crs=2154))
    >>> path = f"{tempfile.mkdtemp()}/city.png"
    >>> plotter = plot_3d(model, column="height_m", camera="top", off_screen=True, screenshot=path)
    >>> plotter.meshes[0].field_data["origin"].tolist()  # the model's lower-left corner
    [651000.0, 6847000.0]
    >>> plotter.scalar_bars.keys()
    dict_keys(['height_m (m)'])
    >>> open(path, "rb").read(4)[1:]
    b'PNG'
    >>> plotter.close()
    """
    import pyvista as pv

    buildings = model.buildings
    if buildings is None or len(buildings) == 0:
        raise InputError(
            "the model has no buildings to draw",
            layer="buildings",
            code="VEW001",
            hint="add a buildings layer (model.add_layer('buildings', ...)) first",
        )
    if column is not None and column not in buildings.columns:
        raise InputError(
            f"the buildings have no column {column!r}; they have {', '.join(map(str, buildings.columns))}",
            layer="buildings",
            code="VEW002",
            hint="give a column of the buildings layer",
        )
    if lod == "mesh" and not meshes:
        raise InputError(
            "lod='mesh' needs the buildings' meshes, and none were given",
            layer="buildings",
            code="VEW005",
            hint="pass meshes={building id: trimesh.Trimesh}, or use lod='lod1'",
        )
    minx, miny, _, _ = model.bounds
    origin = (float(minx), float(miny))
    dem = model.dem if show_dem else None
    blocks = _model_blocks(buildings, dem=model.dem, lod=lod, meshes=meshes, origin=origin)
    if not blocks:
        raise InputError(
            f"none of the {len(buildings)} buildings has both a footprint and a height to draw",
            layer="buildings",
            code="VEW001",
            hint="fill height_m (m) or storeys in the buildings layer",
        )
    plotter: Any = pv.Plotter(
        off_screen=os.environ.get("DISPLAY") is None if off_screen is None else off_screen
    )
    plotter.set_background("white")
    merged = _merged_blocks(blocks, None)
    merged.field_data["origin"] = np.asarray(origin, dtype="float64")
    _add_coloured_blocks(plotter, merged, buildings, column, legend_label)
    if dem is not None:
        plotter.add_mesh(_dem_surface(dem, origin), color=_TERRAIN_COLOUR, smooth_shading=True)
    plotter.set_scale(zscale=float(vertical_exaggeration))
    _frame_camera(plotter, merged.bounds, camera, float(vertical_exaggeration))
    if screenshot is not None:
        plotter.screenshot(os.fspath(screenshot))
    return plotter


def _model_blocks(
    buildings: gpd.GeoDataFrame,
    *,
    dem: Raster | None,
    lod: str,
    meshes: Mapping[Any, Any] | None,
    origin: tuple[float, float],
) -> dict[Any, Any]:
    given = dict(meshes or {}) if lod in ("auto", "mesh") else {}
    blocks: dict[Any, Any] = {}
    if lod != "mesh":
        rest = buildings[~buildings.index.isin(list(given))]
        blocks.update(build_lod1_meshes(rest, dem=dem, origin=origin))
    for key, mesh in given.items():
        if key in buildings.index:
            shifted = mesh.copy()
            shifted.apply_translation([-origin[0], -origin[1], 0.0])
            blocks[key] = shifted
    return {key: blocks[key] for key in buildings.index if key in blocks}


def _add_coloured_blocks(
    plotter: Any, merged: Any, buildings: gpd.GeoDataFrame, column: str | None, legend_label: str | None
) -> None:
    from matplotlib.colors import ListedColormap

    if column is None:
        plotter.add_mesh(merged, color=_BLOCK_COLOUR, smooth_shading=False)
        return
    ids = [str(key) for key in buildings.index]
    position_of = {key: ids.index(key) for key in merged.field_data["building_id"]}
    series = buildings[column]
    bar = {"title": legend_label or _column_title(column), "color": "black", "vertical": True}
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        per_building = np.array([values[position_of[k]] for k in merged.field_data["building_id"]])
        merged.cell_data["value"] = per_building[merged["building"]]
        if np.isnan(per_building).all():
            plotter.add_mesh(merged, color=_NO_VALUE_COLOUR)
            return
        plotter.add_mesh(
            merged, scalars="value", cmap="cividis", nan_color=_NO_VALUE_COLOUR, scalar_bar_args=bar
        )
        return
    labels = series.astype("string")
    categories = sorted(set(labels.dropna()))
    code_of = {name: float(i) for i, name in enumerate(categories)}
    codes = np.array(
        [
            code_of.get(labels.iloc[position_of[k]], np.nan)
            if pd.notna(labels.iloc[position_of[k]])
            else np.nan
            for k in merged.field_data["building_id"]
        ]
    )
    merged.cell_data["value"] = codes[merged["building"]]
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(max(len(categories), 1))]
    plotter.add_mesh(
        merged,
        scalars="value",
        cmap=ListedColormap(colours),
        clim=(-0.5, len(colours) - 0.5),
        n_colors=len(colours),
        nan_color=_NO_VALUE_COLOUR,
        categories=True,
        annotations={float(i): name for i, name in enumerate(categories)},
        scalar_bar_args={**bar, "n_labels": 0},
    )


def _column_title(column: str) -> str:
    # "height_m" -> "height_m (m)"; "construction_kgco2e_m2" -> "... (kg CO2e/m²)"
    parts = column.lower().split("_")
    for size in (2, 1):
        tail = parts[-size:]
        if len(parts) > size and all(p in _UNITS for p in tail):
            return f"{column} ({'/'.join(_UNITS[p] for p in tail)})"
    return column


def _frame_camera(plotter: Any, bounds: Any, camera: str, exaggeration: float) -> None:
    # Frame the buildings, not the whole DEM: the town fills the picture.
    xmin, xmax, ymin, ymax, zmin, zmax = (float(b) for b in bounds)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    half = max(xmax - xmin, ymax - ymin) / 2 * 1.1 + 1.0
    top_z = zmax * exaggeration
    if camera == "top":
        plotter.enable_parallel_projection()
        plotter.camera_position = [(cx, cy, top_z + 4 * half), (cx, cy, zmin * exaggeration), (0.0, 1.0, 0.0)]
        plotter.camera.parallel_scale = half
    else:
        focal = (cx, cy, (zmin + zmax) / 2 * exaggeration)
        direction = np.array([0.45, -0.7, 0.0])
        direction = direction / np.linalg.norm(direction) * np.cos(np.radians(35))
        direction[2] = np.sin(np.radians(35))
        position = tuple(np.asarray(focal) + direction * 3.8 * half)
        plotter.camera_position = [position, focal, (0.0, 0.0, 1.0)]
    plotter.renderer.ResetCameraClippingRange()
