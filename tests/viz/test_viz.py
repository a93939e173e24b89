"""Public view, report and maps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from cimkit.model import CityModel
from cimkit.network.graph import Network
from cimkit.viz.public import public_model
from cimkit.viz.report import Report
from cimkit.viz.scene import export_gltf, lod1_meshes


def _net(kind: str) -> Network:
    nodes = gpd.GeoDataFrame(
        geometry=[Point(0, 0), Point(100, 0)], index=pd.Index([0, 1], name="node_id"), crs=2154
    )
    edges = gpd.GeoDataFrame(
        {"u": [0], "v": [1]},
        geometry=[LineString([(0, 0), (100, 0)])],
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
            geometry=[box(10, 10, 20, 18), box(40, 10, 60, 30)],
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
    meshes = lod1_meshes(model.buildings)
    assert meshes["A"].volume == pytest.approx(10 * 8 * 6.0)
    assert meshes["B"].volume == pytest.approx(20 * 20 * 12.0)
    assert meshes["A"].is_watertight
    # coordinates are shifted to the layer's lower-left corner (10, 10)
    assert meshes["A"].bounds.tolist() == [[0.0, 0.0, 0.0], [10.0, 8.0, 6.0]]
    path = export_gltf(meshes, tmp_path / "city.glb")
    import trimesh

    scene = trimesh.load(path)
    assert len(scene.geometry) == 2
