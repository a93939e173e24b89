"""plot_city read by pixels: rendered with Agg at a fixed dpi, checked at known map positions.

Map positions are turned into pixels with the axes' own ``transData`` after the figure is drawn,
so each check looks where a known building, hexagon or the scale bar must be.
"""

from __future__ import annotations

import re

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from cimkit.errors import InputError
from cimkit.model import CityModel
from cimkit.raster import Raster
from cimkit.viz.maps import plot_city

X0, Y0 = 651_000.0, 6_847_000.0
DPI = 100


def _rgb(ax) -> np.ndarray:
    ax.figure.canvas.draw()
    return np.asarray(ax.figure.canvas.buffer_rgba())[:, :, :3].astype(int)


def _pixel(ax, image: np.ndarray, x: float, y: float) -> np.ndarray:
    col, row_up = ax.transData.transform((x, y))
    return image[int(image.shape[0] - row_up), int(col)]


def _colour(cmap: str, vmin: float, vmax: float, value: float) -> np.ndarray:
    rgba = matplotlib.colormaps[cmap]((value - vmin) / (vmax - vmin))
    return np.round(np.asarray(rgba[:3]) * 255).astype(int)


def _town(n_side: int, *, size_m: float, pitch_m: float) -> CityModel:
    """``n_side`` x ``n_side`` square buildings of ``size_m``, ``pitch_m`` apart; height = row + 3."""
    i, j = np.divmod(np.arange(n_side * n_side), n_side)
    cx, cy = X0 + j * pitch_m + pitch_m / 2, Y0 + i * pitch_m + pitch_m / 2
    half = size_m / 2
    buildings = gpd.GeoDataFrame(
        {"height_m": (i + 3).astype(float), "storeys": i % 4 + 1},
        geometry=shapely.box(cx - half, cy - half, cx + half, cy + half),
        index=pd.Index([f"B{k}" for k in range(n_side * n_side)], name="building_id"),
        crs=2154,
    )
    model = CityModel(2154, name="grid town")
    model.add_layer("buildings", buildings)
    return model


@pytest.fixture(scope="module")
def sample_city():
    import warnings

    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's documented repairs; not the subject here
        return load_sample_city(with_ifc=False)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_known_building_has_its_fill_colour_and_scale_bar_matches_its_label():
    model = _town(5, size_m=40.0, pitch_m=60.0)  # 300 m square: 40 m blocks are large on 6 inches
    ax = plot_city(model, column="height_m", figsize=(6, 6), dpi=DPI)
    assert ax.cimkit_map_mode == "none"
    image = _rgb(ax)
    for key, expected_height in (("B6", 4.0), ("B12", 5.0), ("B18", 6.0)):  # B0: under the scale bar
        centre = model.buildings.geometry[key].centroid
        assert model.buildings.loc[key, "height_m"] == expected_height
        got = _pixel(ax, image, centre.x, centre.y)
        assert np.abs(got - _colour("cividis", 3.0, 7.0, expected_height)).max() <= 2, (key, got)
    # between buildings: not a building colour (white background, no zones)
    gap = _pixel(ax, image, X0 + 60.0, Y0 + 60.0)
    assert gap.tolist() == [255, 255, 255]
    _check_scale_bar(ax)
    ax.set_xlim(X0 + 50, X0 + 110)  # zoom on a district: the bar shrinks with the view
    ax.set_ylim(Y0 + 50, Y0 + 110)
    _check_scale_bar(ax)
    assert ax.findobj(lambda a: a.get_gid() == "cimkit-scale-label")[0].get_text() == "10 m"


def _check_scale_bar(ax) -> None:
    ax.figure.canvas.draw()
    (bar,) = ax.findobj(lambda a: a.get_gid() == "cimkit-scale-bar")
    (label,) = ax.findobj(lambda a: a.get_gid() == "cimkit-scale-label")
    text = label.get_text()
    match = re.fullmatch(r"([\d.]+) (m|km)", text)
    assert match, text
    metres = float(match[1]) * (1000 if match[2] == "km" else 1)
    x0, x1 = ax.get_xlim()
    px_per_m = ax.get_window_extent().width / (x1 - x0)
    extent = bar.get_window_extent()
    assert extent.width == pytest.approx(metres * px_per_m, rel=1e-6)
    # and in the rendered image: the black run of the bar, measured along its middle row
    image = _rgb(ax)
    row = int(image.shape[0] - (extent.y0 + extent.y1) / 2)
    black = np.flatnonzero((image[row] < 40).all(axis=1))
    run = black[(black >= extent.x0 - 2) & (black <= extent.x1 + 2)]
    assert abs((run.max() - run.min() + 1) - metres * px_per_m) <= 2.5


def test_mode_follows_the_map_scale():
    # 2 m buildings 20 m apart over 2 km: at 4 inches x 50 dpi one footprint is
    # 2 m x (about 160 px / 2000 m) = 0.16 px -> hexagons; zoomed on 100 m it is 3+ px -> footprints
    model = _town(100, size_m=2.0, pitch_m=20.0)
    small = plot_city(model, figsize=(4, 4), dpi=50)
    assert small.cimkit_map_mode == "hex"
    zoomed = plot_city(model, figsize=(4, 4), dpi=50, bbox=(X0, Y0, X0 + 100, Y0 + 100))
    assert zoomed.cimkit_map_mode == "none"
    assert "25 buildings are drawn as filled footprints, in grey" in zoomed.figure.cimkit_alt_text  # in view
    assert "10,000 buildings are too small to see at this scale" in small.figure.cimkit_alt_text
    sharp = plot_city(model, figsize=(4, 4), dpi=50, aggregate="none")
    assert sharp.cimkit_map_mode == "none"
    # the threshold itself: the footprint's pixel size against 1.5 px
    for ax in (small, zoomed):
        x0, x1 = ax.get_xlim()
        size_px = 2.0 * ax.get_window_extent().width / (x1 - x0)
        assert (size_px >= 1.5) == (ax.cimkit_map_mode == "none")


def test_hex_cell_at_city_extent_counts_its_buildings():
    model = _town(100, size_m=2.0, pitch_m=20.0)  # 10 000 buildings
    ax = plot_city(model, figsize=(6, 6), dpi=DPI, statistic="count")
    assert ax.cimkit_map_mode == "hex"
    state = ax._cimkit_map
    side = state.hex_side_m
    assert side == 50.0  # 2 km / 40 hexagons / 1.5 -> 33 m -> the closest round side: 50 m
    # an independent count: the hexagon of side 50 m centred on the grid's hexagon (q=10, r=5)
    from cimkit.viz._maps_layers import hex_centres, hex_polygons

    minx, miny, _, _ = model.buildings.total_bounds
    centre = hex_centres(np.array([[10, 5]]), side, (minx, miny))[0]
    hexagon = shapely.Polygon(hex_polygons(centre[None, :], side)[0])
    points = model.buildings.geometry.representative_point()
    count = int(shapely.contains(hexagon, points.to_numpy()).sum())
    assert count >= 10
    image = _rgb(ax)
    values = state.cell_values
    expected = _colour("cividis", float(np.nanmin(values)), float(np.nanmax(values)), count)
    got = _pixel(ax, image, *centre)
    assert np.abs(got - expected).max() <= 2, (got, expected, count)
    label = ax.figure.axes[1].get_ylabel()
    assert label == "buildings per hexagon of 50 m side"
    assert "summarised in hexagons" in ax.figure.cimkit_alt_text


def test_zones_mean_matches_a_spatial_join():
    model = _town(10, size_m=8.0, pitch_m=20.0)  # 200 m square
    zones = gpd.GeoDataFrame(
        {"typezone": ["U", "N"], "libelle": ["UA", "N1"]},
        geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 200), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 200)],
        index=pd.Index(["z1", "z2"], name="zone_id"),
        crs=2154,
    )
    model.add_layer("zones", zones)
    model.add_layer("buildings", model.buildings.assign(height_m=np.arange(100, dtype=float)))
    ax = plot_city(model, column="height_m", aggregate="zones", statistic="mean", figsize=(5, 5), dpi=DPI)
    joined = gpd.sjoin(model.buildings, zones, predicate="within")
    expected = joined.groupby("zone_id")["height_m"].mean()
    assert ax._cimkit_map.cell_values.tolist() == pytest.approx([expected["z1"], expected["z2"]])
    assert ax.figure.axes[1].get_ylabel() == "mean height_m per zone"
    assert (
        "100 buildings are summarised per zone, shown as the mean height_m per zone"
        in ax.figure.cimkit_alt_text
    )
    image = _rgb(ax)
    got = _pixel(ax, image, X0 + 150, Y0 + 10)  # in zone z2, between buildings
    lo, hi = expected.min(), expected.max()
    assert np.abs(got - _colour("cividis", lo, hi, expected["z2"])).max() <= 2


def test_zoom_redraws_in_an_interactive_backend_only(monkeypatch):
    model = _town(100, size_m=2.0, pitch_m=20.0)
    fixed = plot_city(model, figsize=(4, 4), dpi=50)
    fixed.set_xlim(X0, X0 + 100)
    fixed.set_ylim(Y0, Y0 + 100)
    assert fixed.cimkit_map_mode == "hex"  # Agg: chosen once
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "QtAgg")
    live = plot_city(model, figsize=(4, 4), dpi=50)
    assert live.cimkit_map_mode == "hex"
    live.set_ylim(Y0, Y0 + 100)
    live.set_xlim(X0, X0 + 100)
    assert live.cimkit_map_mode == "none"
    assert "filled footprints" in live.figure.cimkit_alt_text


def test_layers_pois_hillshade_streets_and_alt_text():
    model = _town(5, size_m=20.0, pitch_m=60.0)
    pois = gpd.GeoDataFrame(
        {"category": ["school", "bakery", "bakery", "bus_stop"]},
        geometry=shapely.points(
            [(X0 + 30, Y0 + 50), (X0 + 90, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 210, Y0 + 50)]
        ),
        index=pd.Index(range(4), name="poi_id"),
        crs=2154,
    )
    model.add_layer("pois", pois)
    values = 40.0 + np.add.outer(np.arange(40.0), np.zeros(40))  # rising 1 m per row to the south
    model.set_dem(Raster(values, Affine(10.0, 0.0, X0 - 50, 0.0, -10.0, Y0 + 350), crs=2154, units="m"))
    ax = plot_city(model, column="height_m", figsize=(6, 6), dpi=DPI)
    image = _rgb(ax)
    # the bakery (second-most frequent category after none tied: bakery 2 first) in Okabe-Ito orange
    bakery = _pixel(ax, image, X0 + 90, Y0 + 50)
    assert np.abs(bakery - np.array([0xE6, 0x9F, 0x00])).max() <= 2
    # hillshade: a slope facing away from the light is a light grey, not white, and uniform
    shade = _pixel(ax, image, X0 + 60, Y0 + 60)  # between four buildings
    assert shade[0] == shade[1] == shade[2] and 180 <= shade[0] < 255
    handles = [h.get_label() for h in ax.get_legend().legend_handles]
    assert handles == ["bakery", "bus_stop", "school"]
    alt = ax.figure.cimkit_alt_text
    assert alt.startswith("Map of grid town, north up, about 2")
    assert (
        "25 buildings are drawn as filled footprints, coloured by height_m, from 3 (dark blue) to 7 (yellow)"
        in alt
    )
    assert "4 points of interest (bakery, bus_stop, school)" in alt and "terrain hillshade" in alt


def test_wrong_aggregate_statistic_and_missing_zones_are_typed():
    model = _town(2, size_m=5.0, pitch_m=10.0)
    with pytest.raises(InputError) as err:
        plot_city(model, aggregate="zones")
    assert err.value.code == "MAP001"
    with pytest.raises(InputError) as err:
        plot_city(model, aggregate="grid")  # type: ignore[arg-type]
    assert err.value.code == "MAP002"
    with pytest.raises(InputError) as err:
        plot_city(model, statistic="median")  # type: ignore[arg-type]
    assert err.value.code == "MAP002"


def test_sample_city_map_has_streets_river_pois(sample_city):
    ax = plot_city(sample_city, column="height_m", figsize=(8, 8), dpi=DPI)
    assert ax.cimkit_map_mode == "none"
    alt = ax.figure.cimkit_alt_text
    for words in ("streets", "the river", "points of interest", "zoning areas", "terrain hillshade"):
        assert words in alt
    # the largest building whose inner point is clear of POI markers and zone labels
    buildings = sample_city.buildings
    marks = pd.concat([sample_city.pois.geometry, sample_city.zones.representative_point()])
    for key in buildings.geometry.area.sort_values(ascending=False).index:
        point = buildings.geometry[key].representative_point()
        if marks.distance(point).min() > 25:
            break
    value = float(sample_city.buildings.loc[key, "height_m"])
    heights = sample_city.buildings["height_m"]
    expected = _colour("cividis", float(heights.min()), float(heights.max()), value)
    got = _pixel(ax, _rgb(ax), point.x, point.y)
    assert np.abs(got - expected).max() <= 2


def test_one_value_everywhere_is_the_top_colour_and_said_so():
    model = _town(3, size_m=30.0, pitch_m=50.0)
    model.add_layer("buildings", model.buildings.assign(score=1.0))
    ax = plot_city(model, column="score", figsize=(5, 5), dpi=DPI)
    image = _rgb(ax)
    centre = model.buildings.geometry["B4"].centroid
    assert np.abs(_pixel(ax, image, centre.x, centre.y) - _colour("cividis", 0.0, 1.0, 1.0)).max() <= 2
    assert "coloured by score, all at 1." in ax.figure.cimkit_alt_text


def test_outlines_parcels_and_pois_follow_the_scale():
    # 2 m buildings: no outline (it would hide the fill); 40 m buildings on 6 inches: outlined
    small = plot_city(_town(100, size_m=2.0, pitch_m=20.0), figsize=(4, 4), dpi=50, aggregate="none")
    large = plot_city(_town(5, size_m=40.0, pitch_m=60.0), column="height_m", figsize=(6, 6), dpi=DPI)
    widths = {
        ax: {float(w) for c in ax._cimkit_map.artists for w in c.get_linewidths()} for ax in (small, large)
    }
    assert widths[small] == {0.0} and widths[large] == {0.4}
    # 400 POIs over the 2 km town: not drawn at city extent, drawn in a 100 m district
    model = _town(100, size_m=2.0, pitch_m=20.0)
    xy = np.column_stack([X0 + 5 + 100 * (np.arange(400) % 20), Y0 + 5 + 100 * (np.arange(400) // 20)])
    pois = gpd.GeoDataFrame(
        {"category": ["bakery"] * 400},
        geometry=shapely.points(xy),
        index=pd.Index(range(400), name="poi_id"),
        crs=2154,
    )
    model.add_layer("pois", pois)
    city = plot_city(model, figsize=(6, 6), dpi=DPI)
    assert city.get_legend() is None
    assert "no points of interest at this scale (400 in view; zoom in)" in city.figure.cimkit_alt_text
    district = plot_city(model, figsize=(6, 6), dpi=DPI, bbox=(X0, Y0, X0 + 300, Y0 + 300))
    assert [h.get_label() for h in district.get_legend().legend_handles] == ["bakery"]
    assert "points of interest (bakery)" in district.figure.cimkit_alt_text


def test_grey_classes_are_in_the_legend():
    model = _town(3, size_m=30.0, pitch_m=50.0)
    loss = np.array([0.0, 10.0, np.nan, 0.0, 20.0, 30.0, 0.0, 5.0, 1.0])
    model.add_layer("buildings", model.buildings.assign(loss_eur=loss))
    ax = plot_city(model, column="loss_eur", zero_as_none=True, figsize=(5, 5), dpi=DPI)
    assert [h.get_label() for h in ax.get_legend().legend_handles] == ["loss_eur = 0", "no value"]
    image = _rgb(ax)
    zero = model.buildings.geometry["B3"].centroid  # loss 0: light grey #d9d9d9
    assert _pixel(ax, image, zero.x, zero.y).tolist() == [0xD9, 0xD9, 0xD9]
    hexes = plot_city(model, column="loss_eur", zero_as_none=True, aggregate="hex", figsize=(5, 5), dpi=DPI)
    labels = [h.get_label() for h in hexes.get_legend().legend_handles]
    assert labels == ["no building with loss_eur > 0"]
