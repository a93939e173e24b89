"""3-D scenes: one origin for blocks and terrain, nodata left out, plot_3d's colours and errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from cimkit.errors import InputError
from cimkit.model import CityModel
from cimkit.raster import Raster
from cimkit.viz.scene import _column_title, build_lod1_meshes, build_scene, plot_3d

X0, Y0 = 651_000.0, 6_847_000.0


def _buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"height_m": [6.0, 12.0, np.nan], "storeys": [2, 4, 3], "use": ["residential", "office", None]},
        geometry=[
            box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 18),
            box(X0 + 40, Y0 + 10, X0 + 60, Y0 + 30),
            box(X0 + 70, Y0 + 60, X0 + 80, Y0 + 70),
        ],
        index=pd.Index(["A", "B", "C"], name="building_id"),
        crs=2154,
    )


def _dem(nodata_cells: int = 0) -> Raster:
    # 10 x 10 cells of 10 m over (X0, Y0)-(X0 + 100, Y0 + 100), 35 m rising 1 m per column east
    values = 35.0 + np.tile(np.arange(10, dtype="float64"), (10, 1))
    values.ravel()[:nodata_cells] = -9999.0
    return Raster(values, Affine(10.0, 0.0, X0, 0.0, -10.0, Y0 + 100.0), crs=2154, nodata=-9999.0)


def _model(dem: Raster | None = None) -> CityModel:
    model = CityModel(2154)
    model.add_layer("buildings", _buildings())
    if dem is not None:
        model.set_dem(dem)
    return model


def test_scene_shifts_the_dem_by_the_origin_the_blocks_record():
    # The defect: the blocks were shifted to their lower-left corner but the DEM, given without
    # origin=, stayed at its map coordinates (651 km away): a framed view showed neither.
    meshes = build_lod1_meshes(_buildings(), dem=_dem())
    assert meshes["A"].metadata["origin"] == (X0 + 10, Y0 + 10)
    plotter = build_scene(meshes, dem=_dem())
    try:
        blocks, surface = plotter.meshes
        # DEM cell centres run from X0 + 5 to X0 + 95: shifted by (X0 + 10, Y0 + 10)
        assert surface.bounds[0:4] == pytest.approx((-5.0, 85.0, -5.0, 85.0))
        assert blocks.bounds[0:4] == pytest.approx((0.0, 70.0, 0.0, 60.0))  # A (10, 10) to C (80, 70)
        assert surface.field_data["origin"].tolist() == [X0 + 10, Y0 + 10]
        # block A stands on the DEM cell under its centroid (X0 + 15: column 1, 36 m)
        a_cells = blocks.extract_cells(np.flatnonzero(blocks["building"] == 0))
        assert a_cells.bounds[4:6] == pytest.approx((36.0, 42.0))
    finally:
        plotter.close()


def test_scene_refuses_meshes_with_different_origins():
    first = build_lod1_meshes(_buildings().iloc[:1], origin=(X0, Y0))
    second = build_lod1_meshes(_buildings().iloc[1:2], origin=(X0 + 1, Y0))
    with pytest.raises(InputError, match="2 different origins") as err:
        build_scene({**first, **second}, dem=_dem())
    assert err.value.code == "VEW003"
    plotter = build_scene({**first, **second}, dem=_dem(), origin=(X0, Y0))  # an explicit origin wins
    try:
        assert plotter.meshes[1].bounds[0] == pytest.approx(5.0)
    finally:
        plotter.close()


def test_dem_nodata_points_are_hidden_not_drawn_low():
    plotter = build_scene({}, dem=_dem(nodata_cells=3))
    try:
        (surface,) = plotter.meshes
        assert surface.n_points == 100
        ghosts = surface.point_data["vtkGhostType"]
        assert int((ghosts > 0).sum()) == 3  # the 3 nodata cells of the first row
        # no invented elevation below the data: the visible minimum is the real one
        visible = surface["elevation_m"][ghosts == 0]
        assert visible.min() == pytest.approx(35.0) and visible.max() == pytest.approx(44.0)
        assert surface.field_data["origin"].tolist() == [X0, Y0]  # the DEM's corner without meshes
    finally:
        plotter.close()


def test_a_dem_without_data_is_refused():
    values = np.full((3, 3), -9999.0)
    dem = Raster(values, Affine(10.0, 0.0, X0, 0.0, -10.0, Y0 + 30.0), crs=2154, nodata=-9999.0)
    with pytest.raises(InputError) as err:
        build_scene({}, dem=dem)
    assert err.value.code == "VEW004"


def test_large_dem_is_thinned_to_at_most_1000_points_a_side():
    values = np.arange(2500 * 4, dtype="float64").reshape(2500, 4)
    dem = Raster(values, Affine(1.0, 0.0, X0, 0.0, -1.0, Y0 + 2500.0), crs=2154)
    plotter = build_scene({}, dem=dem)
    try:
        # every 3rd row and column: ceil(2500 rows / 1000) = 3 -> 834 x 2 points
        assert plotter.meshes[0].dimensions[:2] in ((2, 834), (834, 2))
    finally:
        plotter.close()


def test_plot_3d_colours_by_a_numeric_column_with_its_unit():
    plotter = plot_3d(_model(_dem()), column="height_m", off_screen=True)
    try:
        blocks, terrain = plotter.meshes
        assert list(plotter.scalar_bars.keys()) == ["height_m (m)"]
        assert blocks.field_data["building_id"].tolist() == ["A", "B", "C"]
        values = {int(b): float(v) for b, v in zip(blocks["building"], blocks["value"]) if np.isfinite(v)}
        assert values == {0: 6.0, 1: 12.0}  # C has no height_m: drawn, grey, from its 3 storeys
        assert np.isnan(blocks["value"][blocks["building"] == 2]).all()
        c_cells = blocks.extract_cells(np.flatnonzero(blocks["building"] == 2))
        # C: 3 storeys x 3 m on the DEM under (X0 + 75, Y0 + 65): column 7, 42 m
        assert c_cells.bounds[4:6] == pytest.approx((42.0, 51.0))
        # one origin: the model's lower-left corner (the DEM's, here)
        assert blocks.field_data["origin"].tolist() == [X0, Y0]
        assert terrain.field_data["origin"].tolist() == [X0, Y0]
        assert blocks.bounds[0] == pytest.approx(10.0) and terrain.bounds[0] == pytest.approx(5.0)
    finally:
        plotter.close()


def test_plot_3d_colours_text_by_category_and_takes_a_legend_label(tmp_path):
    path = tmp_path / "use.png"
    plotter = plot_3d(_model(), column="use", legend_label="Use", off_screen=True, screenshot=path)
    try:
        assert list(plotter.scalar_bars.keys()) == ["Use"]
        blocks = plotter.meshes[0]
        codes = {int(b): float(v) for b, v in zip(blocks["building"], blocks["value"])}
        assert codes[0] == 1.0 and codes[1] == 0.0  # sorted categories: office, residential
        assert np.isnan(codes[2])
        assert len(plotter.meshes) == 1  # no DEM in this model
        assert path.read_bytes()[:4] == b"\x89PNG"
    finally:
        plotter.close()


def test_plot_3d_exaggerates_and_frames_from_the_top():
    plotter = plot_3d(_model(_dem()), vertical_exaggeration=3.0, camera="top", off_screen=True)
    try:
        assert tuple(plotter.scale) == pytest.approx((1.0, 1.0, 3.0))
        assert plotter.camera.parallel_projection
        position, focal, up = plotter.camera_position
        # centred on the blocks (0..70 x 0..70 m from the origin), looking straight down, north up
        assert position[:2] == pytest.approx((45.0, 40.0)) and focal[:2] == pytest.approx((45.0, 40.0))
        assert position[2] > focal[2] and tuple(up) == pytest.approx((0.0, 1.0, 0.0))
        assert len(plotter.scalar_bars.keys()) == 0  # no column, no legend
    finally:
        plotter.close()


def test_plot_3d_uses_given_meshes_on_the_same_origin():
    import trimesh

    mesh = trimesh.creation.box(extents=(10.0, 8.0, 20.0))
    mesh.apply_translation([X0 + 15, Y0 + 14, 10.0])  # in map coordinates, 0..20 m high
    plotter = plot_3d(_model(), meshes={"A": mesh}, lod="auto", off_screen=True)
    try:
        blocks = plotter.meshes[0]
        a_cells = blocks.extract_cells(np.flatnonzero(blocks["building"] == 0))
        assert a_cells.bounds == pytest.approx((0.0, 10.0, 0.0, 8.0, 0.0, 20.0))  # the mesh, not LoD1
        assert blocks.field_data["building_id"].tolist() == ["A", "B", "C"]
    finally:
        plotter.close()
    plotter = plot_3d(_model(), meshes={"A": mesh}, lod="mesh", off_screen=True)
    try:
        assert plotter.meshes[0].field_data["building_id"].tolist() == ["A"]
    finally:
        plotter.close()


def test_plot_3d_errors_name_the_problem():
    with pytest.raises(InputError, match="no column 'ead_eur'") as err:
        plot_3d(_model(), column="ead_eur", off_screen=True)
    assert err.value.code == "VEW002"
    with pytest.raises(InputError) as err:
        plot_3d(_model(), lod="mesh", off_screen=True)
    assert err.value.code == "VEW005"
    with pytest.raises(InputError) as err:
        plot_3d(CityModel(2154), off_screen=True)
    assert err.value.code == "VEW001"
    no_height = _model()
    no_height.buildings["height_m"] = np.nan
    no_height.buildings["storeys"] = np.nan
    with pytest.raises(InputError, match="none of the 3 buildings") as err:
        plot_3d(no_height, off_screen=True)
    assert err.value.code == "VEW001"


@pytest.mark.parametrize(
    ("column", "title"),
    [
        ("height_m", "height_m (m)"),
        ("ead_eur", "ead_eur (EUR)"),
        ("construction_kgco2e_m2", "construction_kgco2e_m2 (kg CO2e/m²)"),
        ("use", "use"),
        ("m2", "m2"),
    ],
)
def test_column_titles_carry_the_unit_of_the_suffix(column, title):
    assert _column_title(column) == title
