"""Public view, report and maps."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import LineString, MultiPolygon, Point, box

from cimkit.model import CityModel
from cimkit.network.graph import Network
from cimkit.raster import Raster
from cimkit.viz.public import public_model
from cimkit.viz.report import Report
from cimkit.viz.scene import build_lod1_meshes, build_scene, write_gltf

#: Lambert-93 (EPSG:2154) coordinates of the tests' local (0, 0): a place in France, as the
#: placement checks of CityModel require.
X0, Y0 = 651_000.0, 6_847_000.0


def _box(minx: float, miny: float, maxx: float, maxy: float):
    return box(X0 + minx, Y0 + miny, X0 + maxx, Y0 + maxy)


def _net(kind: str) -> Network:
    nodes = gpd.GeoDataFrame(
        geometry=[Point(X0, Y0), Point(X0 + 100, Y0)], index=pd.Index([0, 1], name="node_id"), crs=2154
    )
    edges = gpd.GeoDataFrame(
        {"u": [0], "v": [1]},
        geometry=[LineString([(X0, Y0), (X0 + 100, Y0)])],
        index=pd.Index([0], name="edge_id"),
        crs=2154,
    )
    return Network(nodes, edges, kind=kind)


def _model() -> CityModel:
    model = CityModel(2154)
    model.add_layer(
        "buildings",
        gpd.GeoDataFrame(
            {"height_m": [6.0, 12.0], "ead_eur": [120.5, np.nan]},
            geometry=[_box(10, 10, 20, 18), _box(40, 10, 60, 30)],
            index=pd.Index(["A", "B"], name="building_id"),
            crs=2154,
        ),
    )
    for kind in ("road", "water", "power"):
        model.add_network(_net(kind))
    return model


def test_public_model_withholds_sensitive_networks():
    model = _model()
    public = public_model(model)
    assert sorted(public.networks) == ["road"]
    assert sorted(model.networks) == ["power", "road", "water"]  # original untouched
    step = public.provenance_record("buildings").steps[-1]
    assert step.action == "public_filter" and step.params["withheld"] == ["network_power", "network_water"]
    assert model.provenance_record("buildings").steps == []


def test_report_html_is_accessible_and_markdown_matches(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cimkit.viz.maps import plot_city

    model = _model()
    ax = plot_city(model, column="ead_eur", legend_label="EAD (EUR/yr)")
    report = Report("Town report", intro="What the model says.")
    report.section("Flood").text("1 building floods.").table(
        pd.DataFrame({"ead_eur": [120.5]}, index=pd.Index(["A"], name="building_id")),
        "Expected annual damage",
    )
    report.figure(
        ax.figure, alt="Map of buildings coloured by damage", caption="Figure 1", path=tmp_path / "map.png"
    )
    plt.close(ax.figure)
    html_path, md_path = report.write(tmp_path)
    page = html_path.read_text()
    assert "<html lang='en'>" in page and "alt='Map of buildings coloured by damage'" in page
    assert "<caption>Expected annual damage</caption>" in page and "font-size: 19px" in page
    md = md_path.read_text()
    assert "| building_id | ead_eur |" in md and "| A | 120.5 |" in md and "![Map" in md
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"


def test_lod1_meshes_volumes_and_gltf(tmp_path):
    model = _model()
    meshes = build_lod1_meshes(model.buildings)
    assert meshes["A"].volume == pytest.approx(10 * 8 * 6.0)
    assert meshes["B"].volume == pytest.approx(20 * 20 * 12.0)
    assert meshes["A"].is_watertight
    # coordinates are shifted to the layer's lower-left corner (X0 + 10, Y0 + 10)
    assert meshes["A"].bounds.tolist() == [[0.0, 0.0, 0.0], [10.0, 8.0, 6.0]]
    path = write_gltf(meshes, tmp_path / "city.glb")
    import trimesh

    scene = trimesh.load(path)
    assert len(scene.geometry) == 2


def _dem(value: float = 35.0) -> Raster:
    # 10 x 10 cells of 10 m over (X0, Y0)-(X0 + 100, Y0 + 100), rising 1 m per column eastwards
    values = value + np.tile(np.arange(10, dtype="float64"), (10, 1))
    return Raster(values, Affine(10.0, 0.0, X0, 0.0, -10.0, Y0 + 100.0), crs=2154)


def test_lod1_bases_heights_and_skips(caplog):
    buildings = gpd.GeoDataFrame(
        {
            "height_m": [6.0, np.nan, np.nan, 9.0],
            "storeys": [np.nan, 4, np.nan, np.nan],
            "base_elevation_m": [100.0, np.nan, np.nan, np.nan],
        },
        geometry=[_box(10, 10, 20, 18), _box(40, 10, 60, 30), _box(70, 70, 80, 80), None],
        index=pd.Index(["A", "B", "C", "D"], name="building_id"),
        crs=2154,
    )
    with caplog.at_level("INFO", logger="cimkit.viz.scene"):
        meshes = build_lod1_meshes(buildings, dem=_dem(), storey_height_m=2.5, origin=(X0, Y0))
    assert sorted(meshes) == ["A", "B"]  # C has no height, D no footprint
    assert "2 building(s) without footprint or height were skipped" in caplog.text
    # A: its own base (100 m), 6 m high; B: 4 storeys x 2.5 m on the DEM cell under (50, 20)
    assert meshes["A"].bounds.tolist() == [[10.0, 10.0, 100.0], [20.0, 18.0, 106.0]]
    assert meshes["B"].bounds[:, 2].tolist() == pytest.approx([40.0, 50.0])
    assert meshes["B"].volume == pytest.approx(20 * 20 * 10.0)


def test_multipolygon_block_is_one_mesh():
    parts = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 25, 10)])
    buildings = gpd.GeoDataFrame({"height_m": [3.0]}, geometry=[parts], crs=2154)
    meshes = build_lod1_meshes(buildings)
    assert meshes[0].volume == pytest.approx((100 + 50) * 3.0)


def test_scene_colours_blocks_and_draws_the_dem():
    model = _model()
    meshes = build_lod1_meshes(model.buildings, origin=(X0, Y0))
    plotter = build_scene(meshes, scalars={"A": 120.5}, dem=_dem(), origin=(X0, Y0))
    try:
        assert len(plotter.meshes) == 2  # the blocks and the DEM surface
        blocks, surface = plotter.meshes
        assert blocks.field_data["building_id"].tolist() == ["A", "B"]
        building_a = blocks["building"] == 0
        assert np.unique(blocks["value"][building_a]).tolist() == [120.5]
        assert np.isnan(blocks["value"][~building_a]).all()
        assert blocks.bounds[4:6] == pytest.approx((0.0, 12.0))  # B is 12 m high
        assert surface.n_points == 100
        assert surface.bounds[4:6] == pytest.approx((35.0, 44.0))
        assert surface["elevation_m"].min() == pytest.approx(35.0)
    finally:
        plotter.close()


def test_scene_without_scalars_is_plain():
    plotter = build_scene(build_lod1_meshes(_model().buildings))
    try:
        assert len(plotter.meshes) == 1 and np.isnan(plotter.meshes[0]["value"]).all()
        assert len(plotter.scalar_bars.keys()) == 0
    finally:
        plotter.close()


def test_map_fills_zones_labels_them_and_greys_zero_values():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from cimkit.viz.maps import plot_city

    model = _model()
    model.add_layer(
        "zones",
        gpd.GeoDataFrame(
            {"typezone": ["U", "N"], "libelle": ["UA", "Nzh"]},
            geometry=[_box(0, 0, 35, 40), _box(35, 0, 70, 40)],
            index=pd.Index(["z1", "z2"], name="zone_id"),
            crs=2154,
        ),
    )
    model.add_layer("buildings", model.buildings.assign(loss_eur=[0.0, 50.0]))
    ax = plot_city(model, column="loss_eur", zero_as_none=True, title="Losses")
    try:
        texts = {t.get_text() for t in ax.texts}
        assert {"UA", "Nzh", "N"} <= texts  # zone labels and the north arrow
        assert any(re.fullmatch(r"\d+ m", t) for t in texts)  # the scale bar
        faces = [[to_hex(f) for f in c.get_facecolor()] for c in ax.collections]
        assert faces[0] == ["#f2d7b6", "#bfe0c0"]  # the zones, filled by type: U, N
        assert ["#d9d9d9"] in faces  # building A (0 EUR) drawn alone in light grey
        assert ax.get_title() == "Losses"
    finally:
        plt.close(ax.figure)


def test_public_model_keeps_the_dem_with_its_record():
    model = _model()
    model.set_dem(_dem())
    public = public_model(model, drop_layers=["buildings"])
    assert public.dem is not None and public.dem.values.tolist() == model.dem.values.tolist()
    assert "buildings" not in public and sorted(public.networks) == ["road"]
    assert public.provenance_record("dem") is not model.provenance_record("dem")
