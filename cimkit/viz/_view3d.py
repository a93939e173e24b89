"""Draw a model in 3-D with pyvista: terrain, LoD1 blocks or IFC meshes, on one shared origin.

LoD1 blocks are extruded with the same ear-clipping extrusion as the 3D Tiles writer
(:mod:`cimkit.io._tiles3d_prepare`), stacked with numpy into one mesh, so that 100 000 blocks
build in seconds. :func:`plot_3d` (alias ``view3d``) draws a model as it is, reading the
tessellated meshes of its IFC buildings from their source files with ``ifc=True``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit.errors import CimkitError, CoverageWarning, InputError
from cimkit.raster import Raster
from cimkit.viz._style import OKABE_ITO
from cimkit.viz._style import UNITS as _UNITS

__all__ = ["OKABE_ITO", "plot_3d"]

logger = logging.getLogger(__name__)


def lod1_blocks(
    buildings: gpd.GeoDataFrame,
    *,
    dem: Raster | None,
    origin: tuple[float, float],
    storey_height_m: float = 3.0,
) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Return ``{building id: (vertices, triangles)}``: footprints extruded by their height.

    Vertices are shifted by ``origin``; the base is ``base_elevation_m``, else the DEM under the
    centroid, else 0; the height ``height_m``, else ``storeys`` x ``storey_height_m``. Buildings
    without a footprint or a positive height are left out.
    """
    import shapely

    from cimkit.io._tiles3d_prepare import _block, _clean

    heights = _heights(buildings, storey_height_m)
    bases = _bases(buildings, dem)
    shift = np.asarray(origin, dtype="float64")
    shifted = shapely.transform(np.asarray(buildings.geometry, dtype=object), lambda xy: xy - shift)
    blocks: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    for key, geom, height, base in zip(buildings.index, _clean(shifted), heights, bases):
        block = _block(geom, float(base), float(height))
        if block is not None:
            blocks[key] = block
    return blocks


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
        if isinstance(mesh, tuple):  # (vertices, triangles) from lod1_blocks
            points, triangles = np.asarray(mesh[0], dtype="float64"), np.asarray(mesh[1], dtype="int64")
        else:  # a trimesh.Trimesh
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


_TERRAIN_COLOUR = "#d3e0c8"  # a pale sage, apart from cividis and Okabe-Ito: shading shows relief
_BLOCK_COLOUR = "#f2f2f2"  # blocks when no column is drawn
_NO_VALUE_COLOUR = "#8c8c8c"  # blocks without a value of the column


def plot_3d(
    model: Any,
    *,
    column: str | None = None,
    ifc: bool = False,
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

    ``cimkit.viz.view3d`` (behind ``CityModel.view3d``) is this function. Every part is shifted by the same origin, the lower-left corner of the model's bounds
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
    ifc
        Draw the buildings read from IFC files (``source_kind == "ifc"``) with their tessellated
        meshes, read again from their ``source`` files (a few seconds per file; ``meshes`` given
        for a building win); a file that cannot be read leaves its buildings as LoD1 blocks,
        with one ``VEW101`` warning. False: LoD1 blocks (fast: 100 000 in seconds).
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
    >>> plotter.meshes[0].n_cells  # two LoD1 blocks of 12 triangles
    24
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
    if ifc:
        meshes = {**read_model_meshes(buildings), **dict(meshes or {})}
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
        blocks.update(lod1_blocks(rest, dem=dem, origin=origin))
        if len(blocks) < len(rest):
            logger.info("plot_3d: %d building(s) without footprint or height", len(rest) - len(blocks))
    shift = np.array([origin[0], origin[1], 0.0])
    for key, mesh in given.items():
        if key in buildings.index:
            vertices = np.asarray(mesh.vertices, dtype="float64") - shift
            blocks[key] = (vertices, np.asarray(mesh.faces, dtype="int64"))
    return {key: blocks[key] for key in buildings.index if key in blocks}


def _add_coloured_blocks(
    plotter: Any, merged: Any, buildings: gpd.GeoDataFrame, column: str | None, legend_label: str | None
) -> None:
    from matplotlib.colors import ListedColormap

    if column is None:
        plotter.add_mesh(merged, color=_BLOCK_COLOUR, smooth_shading=False)
        return
    ids = {str(key): position for position, key in enumerate(buildings.index)}
    position_of = {key: ids[key] for key in merged.field_data["building_id"]}
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


#: ``view3d``: the name of ``CityModel.view3d``, an alias of :func:`plot_3d` (importable from
#: :mod:`cimkit.viz.scene` and :mod:`cimkit.viz`; public names start with a verb, so it is not
#: listed in ``__all__``).
view3d = plot_3d


def read_model_meshes(buildings: gpd.GeoDataFrame) -> dict[Any, Any]:
    """Return the tessellated meshes (map coordinates) of the buildings read from IFC files.

    The files are the buildings' ``source`` where ``source_kind`` is ``"ifc"``; files missing
    or unreadable are skipped with one ``VEW101`` warning naming them.
    """
    from cimkit.io.ifc import read_ifc_meshes

    if "source" not in buildings.columns or "source_kind" not in buildings.columns:
        return {}
    is_ifc = buildings["source_kind"].astype("string").str.lower().eq("ifc").fillna(False).to_numpy()
    sources = buildings.loc[is_ifc, "source"].dropna().astype(str)
    meshes: dict[Any, Any] = {}
    failed: list[str] = []
    for source in sorted(set(sources)):
        try:
            read = read_ifc_meshes(source, crs=buildings.crs) if Path(source).is_file() else None
        except (CimkitError, OSError, ValueError, RuntimeError) as err:
            logger.info("view3d: %s: %s", source, err)
            read = None
        if read is None:
            failed.append(source)
            continue
        wanted = set(sources.index[sources == source])
        meshes.update({key: mesh for key, mesh in read.items() if key in wanted and len(mesh.faces)})
    if failed:
        warnings.warn(
            CoverageWarning(
                f"{len(failed)} IFC file(s) could not be read for their meshes "
                f"({', '.join(Path(f).name for f in failed[:3])}{' ...' if len(failed) > 3 else ''}); "
                "their buildings are drawn as LoD1 blocks",
                code="VEW101",
            ),
            stacklevel=3,
        )
    return meshes
