"""plot_3d on the sample city, checked by pixels against the scene's known layout.

The view is rendered off screen from a fixed camera (straight down, orthographic, north up). The
map positions of a known building and of a terrain point far from every building are projected
to pixels with VTK's world-to-display transform; the pixels there must show the building's colour,
the terrain's shading, or the background, depending on what is drawn.
"""

from __future__ import annotations

import numpy as np
import pytest

from cimkit.viz.scene import plot_3d

WINDOW = (640, 480)
BACKGROUND = np.array([255, 255, 255])


@pytest.fixture(scope="module")
def city():
    import warnings

    from cimkit.datasets import load_sample_city

    # the sample's IFC scale notes and snapped street ends; the model is built once per process,
    # so they appear only on the first call of the worker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city()


def _render(plotter) -> np.ndarray:
    plotter.window_size = list(WINDOW)  # kept, so that the projection below uses the same size
    image = np.asarray(plotter.screenshot(return_img=True))[:, :, :3].astype(int)
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    return image


def _pixel(plotter, x: float, y: float, z: float) -> tuple[int, int]:
    # (row, column) of the world point in the rendered image: VTK's display origin is bottom-left.
    import vtk

    coordinate = vtk.vtkCoordinate()
    coordinate.SetCoordinateSystemToWorld()
    coordinate.SetValue(x, y, z)
    column, row_from_bottom = coordinate.GetComputedDisplayValue(plotter.renderer)
    return WINDOW[1] - 1 - int(row_from_bottom), int(column)


def _assert_shaded(rgb: np.ndarray, colour: np.ndarray) -> None:
    # a lit face shows its colour darkened by one factor on every channel (the light's angle)
    ratios = (rgb + 1) / (colour + 1)
    assert 0.6 <= ratios.min() and ratios.max() <= 1.05, (rgb, colour)
    assert ratios.max() - ratios.min() <= 0.12, (rgb, colour)  # same hue


def _actor_of(plotter, mesh):
    actors = [
        actor
        for actor in plotter.renderer.actors.values()
        if hasattr(actor, "mapper")
        and getattr(actor.mapper, "dataset", None) is not None
        and actor.mapper.dataset.n_cells == mesh.n_cells
    ]
    assert len(actors) == 1
    return actors[0]


def _known_points(city, origin):
    """The largest building's inner point (local x, y, roof z) and a terrain point far from all."""
    buildings = city.buildings
    key = buildings.geometry.area.idxmax()
    inner = buildings.geometry[key].representative_point()
    minx, miny, maxx, maxy = buildings.total_bounds
    xs, ys = np.meshgrid(np.linspace(minx, maxx, 40), np.linspace(miny, maxy, 40))
    import geopandas as gpd

    candidates = gpd.GeoSeries(gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=buildings.crs)
    distance = np.array([buildings.geometry.distance(p).min() for p in candidates])
    far = candidates.iloc[int(distance.argmax())]
    assert distance.max() > 40.0  # open ground, tens of metres from any building
    ground = float(city.dem.sample([far.x], [far.y])[0])
    assert np.isfinite(ground)
    return key, (inner.x - origin[0], inner.y - origin[1]), (far.x - origin[0], far.y - origin[1], ground)


def test_buildings_and_terrain_are_both_visible_where_the_layout_puts_them(city):
    plotter = plot_3d(city, column="height_m", camera="top", off_screen=True)
    try:
        origin = tuple(plotter.meshes[0].field_data["origin"])
        assert origin == pytest.approx(city.bounds[:2])  # one origin: the model's lower-left corner
        assert tuple(plotter.meshes[1].field_data["origin"]) == origin
        key, (bx, by), (tx, ty, tz) = _known_points(city, origin)
        height = float(city.buildings.loc[key, "height_m"])
        roof = float(plotter.meshes[0].bounds[5])  # any height projects alike in a top-down view
        full = _render(plotter)
        building_px = _pixel(plotter, bx, by, roof)
        terrain_px = _pixel(plotter, tx, ty, tz)
        for row, col in (building_px, terrain_px):
            assert 0 <= row < WINDOW[1] and 0 <= col < WINDOW[0]  # framed: both inside the picture
        building_rgb, terrain_rgb = full[building_px], full[terrain_px]
        # the building shows its colour of the cividis map (its height), the terrain its shading
        blocks_actor = _actor_of(plotter, plotter.meshes[0])
        expected = np.array(blocks_actor.mapper.lookup_table.map_value(height)[:3]) * 255
        _assert_shaded(building_rgb, expected)
        assert np.abs(terrain_rgb - BACKGROUND).max() > 20, terrain_rgb  # not the background
        assert np.abs(building_rgb - terrain_rgb).max() > 40  # the block stands out
        _assert_shaded(terrain_rgb, np.array([0xD3, 0xE0, 0xC8]))  # the terrain's pale sage

        # the terrain alone: the building's pixel now shows the ground, not the block
        blocks_actor.SetVisibility(False)
        terrain_only = _render(plotter)
        assert np.abs(terrain_only[building_px] - building_rgb).max() > 40
        assert np.abs(terrain_only[building_px] - terrain_rgb).max() <= 25
    finally:
        plotter.close()


def test_buildings_only_leave_the_terrain_pixel_as_background(city):
    plotter = plot_3d(city, column="height_m", show_dem=False, camera="top", off_screen=True)
    try:
        assert len(plotter.meshes) == 1
        origin = tuple(plotter.meshes[0].field_data["origin"])
        key, (bx, by), (tx, ty, tz) = _known_points(city, origin)
        image = _render(plotter)
        expected = (
            np.array(
                _actor_of(plotter, plotter.meshes[0]).mapper.lookup_table.map_value(
                    float(city.buildings.loc[key, "height_m"])
                )[:3]
            )
            * 255
        )
        _assert_shaded(image[_pixel(plotter, bx, by, 0.0)], expected)
        assert image[_pixel(plotter, tx, ty, tz)].tolist() == BACKGROUND.tolist()
    finally:
        plotter.close()


def test_oblique_view_with_terrain_is_not_blank(city):
    # The defect: with the terrain added, the DEM stayed at its map coordinates (kilometres away
    # from the blocks near 0) and the view showed neither. Now blocks stand on the terrain.
    plotter = plot_3d(city, column="height_m", camera="oblique", vertical_exaggeration=2.0, off_screen=True)
    try:
        origin = tuple(plotter.meshes[0].field_data["origin"])
        key, (bx, by), (tx, ty, tz) = _known_points(city, origin)
        blocks, terrain = plotter.meshes
        # every block stands on the terrain: its base is the DEM under its centroid
        first = city.buildings.geometry[key].centroid
        ground = float(city.dem.sample([first.x], [first.y])[0])
        position = blocks.field_data["building_id"].tolist().index(str(key))
        cells = blocks.extract_cells(np.flatnonzero(blocks["building"] == position))
        base = float(city.buildings.loc[key, "base_elevation_m"])
        assert cells.bounds[4] == pytest.approx(base if np.isfinite(base) else ground, abs=0.01)
        assert terrain.bounds[0] <= blocks.bounds[0] and blocks.bounds[1] <= terrain.bounds[1]
        assert terrain.bounds[2] <= blocks.bounds[2] and blocks.bounds[3] <= terrain.bounds[3]
        height = float(city.buildings.loc[key, "height_m"])
        image = _render(plotter)
        roof_px = _pixel(plotter, bx, by, (cells.bounds[5]) * 2.0)  # exaggerated z
        terrain_px = _pixel(plotter, tx, ty, tz * 2.0)
        for row, col in (roof_px, terrain_px):
            assert 0 <= row < WINDOW[1] and 0 <= col < WINDOW[0]
        assert np.abs(image[terrain_px] - BACKGROUND).max() > 20  # the terrain is drawn there
        _assert_shaded(image[terrain_px], np.array([0xD3, 0xE0, 0xC8]))
        lut = _actor_of(plotter, blocks).mapper.lookup_table
        roof = image[roof_px]
        assert np.abs(roof - image[terrain_px]).max() > 40, roof  # the block's roof, not the ground
        ratios = (roof + 1) / (np.array(lut.map_value(height)[:3]) * 255 + 1)
        assert ratios.max() - ratios.min() <= 0.15, roof  # the hue of the building's colour
    finally:
        plotter.close()


def _one_ifc_town(city):
    """The sample city with one IFC building (the Grande Rue shop) and the cadastre footprints."""
    from cimkit.model import CityModel

    buildings = city.buildings
    keep = (buildings["source_kind"] != "ifc") | buildings["source"].astype(str).str.endswith(
        "commerce_grande_rue.ifc"
    )
    model = CityModel(city.crs, name="one IFC building")
    model.add_layer("buildings", buildings[keep])
    model.set_dem(city.dem)
    return model


def test_view3d_draws_the_ifc_mesh_on_the_terrain(city):
    from cimkit.io.ifc import read_ifc_meshes
    from cimkit.viz.scene import view3d

    model = _one_ifc_town(city)
    (shop,) = model.buildings.index[model.buildings["source_kind"] == "ifc"]
    path = model.buildings.loc[shop, "source"]
    reference = read_ifc_meshes(path)[shop]  # map coordinates, read independently
    plotter = view3d(model, column="height_m", ifc=True, camera="top", off_screen=True)  # = plot_3d
    try:
        blocks = plotter.meshes[0]
        origin = np.asarray(blocks.field_data["origin"])
        assert origin.tolist() == pytest.approx(list(model.bounds[:2]))
        position = blocks.field_data["building_id"].tolist().index(str(shop))
        cells = blocks.extract_cells(np.flatnonzero(blocks["building"] == position))
        assert cells.n_cells == len(reference.faces) > 12  # the tessellated mesh, not a block
        expected = reference.bounds - np.array([[origin[0], origin[1], 0.0]] * 2)
        assert np.asarray(cells.bounds).reshape(3, 2).T == pytest.approx(expected, abs=1e-6)
        # the other buildings stay LoD1 blocks: 12 triangles for a rectangle
        other = next(k for k in model.buildings.index if k != shop)
        other_position = blocks.field_data["building_id"].tolist().index(str(other))
        assert int((blocks["building"] == other_position).sum()) >= 12
        # pixels: the shop's inner point shows its colour, a far ground point the terrain
        image = _render(plotter)
        inner = model.buildings.geometry[shop].representative_point()
        roof = float(cells.bounds[5])
        shop_px = _pixel(plotter, inner.x - origin[0], inner.y - origin[1], roof)
        _, _, (tx, ty, tz) = _known_points(model, tuple(origin))
        terrain_px = _pixel(plotter, tx, ty, tz)
        for row, col in (shop_px, terrain_px):
            assert 0 <= row < WINDOW[1] and 0 <= col < WINDOW[0]
        lut = _actor_of(plotter, blocks).mapper.lookup_table
        colour = np.array(lut.map_value(float(model.buildings.loc[shop, "height_m"]))[:3]) * 255
        # the shop is the lowest building: cividis' dark blue, whose red channel is 0 -> the
        # shading factor is read on the other channels
        rgb = image[shop_px]
        bright = colour > 30
        ratios = rgb[bright] / colour[bright]
        assert 0.6 <= ratios.min() and ratios.max() <= 1.05 and np.ptp(ratios) <= 0.12, (rgb, colour)
        assert (rgb[~bright] <= 30).all(), (rgb, colour)
        _assert_shaded(image[terrain_px], np.array([0xD3, 0xE0, 0xC8]))
    finally:
        plotter.close()


def test_view3d_falls_back_to_blocks_when_the_ifc_file_is_gone(city, tmp_path):
    from cimkit.errors import CoverageWarning
    from cimkit.viz.scene import view3d

    model = _one_ifc_town(city)
    buildings = model.buildings.copy()
    (shop,) = buildings.index[buildings["source_kind"] == "ifc"]
    buildings.loc[shop, "source"] = str(tmp_path / "moved_away.ifc")
    model.add_layer("buildings", buildings)
    with pytest.warns(CoverageWarning, match="moved_away.ifc") as caught:
        plotter = view3d(model, ifc=True, show_dem=False, off_screen=True)
    try:
        assert caught[0].message.code == "VEW101"
        blocks = plotter.meshes[0]
        position = blocks.field_data["building_id"].tolist().index(str(shop))
        assert int((blocks["building"] == position).sum()) == 12  # a rectangular LoD1 block
        assert len(plotter.meshes) == 1  # show_dem=False
    finally:
        plotter.close()


def test_lod1_blocks_match_trimesh_extrusion_volumes():
    # the shared ear-clipping extrusion (3D Tiles writer) against trimesh's own, on a footprint
    # with a hole and an L shape; bases from base_elevation_m
    import geopandas as gpd
    import shapely
    import trimesh

    from cimkit.viz._view3d import lod1_blocks

    ring = shapely.Polygon([(0, 0), (30, 0), (30, 20), (0, 20)], [[(10, 5), (20, 5), (20, 15), (10, 15)]])
    ell = shapely.Polygon([(40, 0), (60, 0), (60, 8), (48, 8), (48, 20), (40, 20)])
    buildings = gpd.GeoDataFrame(
        {"height_m": [7.5, 12.0], "base_elevation_m": [35.0, 36.5]},
        geometry=[ring, ell],
        index=["ring", "ell"],
        crs=2154,
    )
    blocks = lod1_blocks(buildings, dem=None, origin=(0.0, 0.0))
    for key, height, base in (("ring", 7.5, 35.0), ("ell", 12.0, 36.5)):
        vertices, faces = blocks[key]
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        reference = trimesh.creation.extrude_polygon(buildings.geometry[key], height)
        assert mesh.is_watertight and mesh.volume > 0  # closed and outward-facing
        assert (
            mesh.volume
            == pytest.approx(reference.volume)
            == pytest.approx(buildings.geometry[key].area * height)
        )
        assert mesh.bounds[:, 2].tolist() == [base, base + height]
