"""CityModel.quality(): one table of every check, on the sample city and on a broken model."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

import cimkit
from cimkit._quality import COLUMNS, STATUSES
from cimkit.datasets import load_sample_city, sample_city_path
from cimkit.model import CityModel
from cimkit.network.graph import Network
from cimkit.raster import Raster

X0, Y0 = 652_000.0, 6_861_000.0  # Lambert-93, Paris


@pytest.fixture(scope="module")
def sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
    return model, model.quality().set_index(["layer", "check"])


def test_the_table_has_its_columns_and_statuses(sample):
    model, table = sample
    flat = model.quality()
    assert list(flat.columns) == COLUMNS
    assert set(flat["status"]) <= set(STATUSES)
    assert not table.index.duplicated().any()  # one row per check per layer
    # every layer, network and the DEM is checked
    assert {"model", *model.layers, "network_road", "network_water", "dem"} == set(flat["layer"])


def test_sample_city_dem_nodata_share_matches_numpy(sample):
    _, table = sample
    with rasterio.open(sample_city_path() / "dem.tif") as src:
        values, nodata = src.read(1), src.nodata
    share = float(np.mean(values == nodata))
    assert share == pytest.approx(10 / 32_400)
    row = table.loc[("dem", "dem_nodata_share")]
    assert row["status"] == "warning" and row["value"] == pytest.approx(share)
    assert table.loc[("dem", "dem_value_range"), "status"] == "ok"


def test_sample_city_rows(sample):
    model, table = sample
    footprints = gpd.read_file(sample_city_path() / "footprints.geojson")
    assert (
        table.loc[("buildings", "height_missing"), "value"] == int(footprints["height_m"].isna().sum()) == 3
    )
    assert table.loc[("buildings", "height_implausible"), "status"] == "ok"  # 4.2 to 15 m
    assert table.loc[("buildings", "duplicated_ids"), "status"] == "ok"
    assert table.loc[("buildings", "invalid_geometries"), "value"] == 0
    assert table.loc[("buildings", "ifc_georeference"), "status"] == "not_checked"
    assert table.loc[("model", "crs_projected_metric"), ["status", "value"]].tolist() == ["ok", "EPSG:2154"]
    road = model.network("road")
    assert table.loc[("network_road", "components"), ["status", "value"]].tolist() == ["ok", 1]
    assert table.loc[("network_road", "dangles"), "value"] == len(road.dangles()) == 3
    assert table.loc[("network_road", "zero_length_edges"), "status"] == "ok"
    for name in [*model.layers, "network_road", "dem"]:
        assert table.loc[(name, "area_of_use"), "status"] == "ok"
        assert table.loc[(name, "distance_to_model"), "status"] == "ok"
        assert table.loc[(name, "provenance_source"), "status"] == "ok"  # every file hashed
        assert table.loc[(name, "provenance_licence"), "status"] == "ok"


def _broken_model() -> CityModel:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    square = shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)
    buildings = gpd.GeoDataFrame(
        {"height_m": [9.0, 0.5, 12.0, np.nan]},
        geometry=[
            bowtie,
            square,
            shapely.box(X0 + 40, Y0, X0 + 41, Y0 + 1),
            shapely.box(X0 + 50, Y0, X0 + 60, Y0 + 10),
        ],
        index=pd.Index(["b1", "b2", "b2", "b4"], name="building_id"),
        crs=2154,
    )
    xy = [(X0, Y0 - 50), (X0 + 100, Y0 - 50), (X0 + 100, Y0 - 50), (X0 + 500, Y0 - 50), (X0 + 600, Y0 - 50)]
    nodes = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=2154)
    edges = gpd.GeoDataFrame(
        {"u": [0, 1, 3], "v": [1, 2, 4]},
        geometry=[shapely.LineString([xy[a], xy[b]]) for a, b in [(0, 1), (1, 2), (3, 4)]],
        crs=2154,
    )
    dem = Raster(
        np.array([[35.0, 36.0, np.nan], [-9999.0, 34.0, 33.0]]), Affine(5, 0, X0, 0, -5, Y0 + 10), "EPSG:2154"
    )
    model = CityModel(2154)
    model.add_layer("buildings", buildings)
    model.add_network(Network(nodes, edges, kind="road"))
    model.set_dem(dem)
    return model


def test_a_broken_model_shows_the_right_rows():
    table = _broken_model().quality().set_index(["layer", "check"])
    assert table.loc[("buildings", "duplicated_ids"), ["status", "value"]].tolist() == ["error", 1]
    assert table.loc[("buildings", "invalid_geometries"), ["status", "value"]].tolist() == ["error", 1]
    assert table.loc[("buildings", "height_implausible"), ["status", "value"]].tolist() == ["warning", 1]
    assert table.loc[("buildings", "height_missing"), ["status", "value"]].tolist() == ["warning", 1]
    # the 1 m² box is too small; the bowtie's area (0 by the shoelace formula) too
    assert table.loc[("buildings", "footprint_area_implausible"), ["status", "value"]].tolist() == [
        "warning",
        2,
    ]
    assert table.loc[("network_road", "components"), ["status", "value"]].tolist() == ["warning", 2]
    assert table.loc[("network_road", "zero_length_edges"), ["status", "value"]].tolist() == ["error", 1]
    assert table.loc[("dem", "dem_nodata_share"), "value"] == pytest.approx(1 / 6)  # the NaN cell
    assert table.loc[("dem", "dem_value_range"), ["status", "value"]].tolist() == ["error", 1]  # -9999
    assert "-9999" in table.loc[("dem", "dem_value_range"), "message"]
    # built in memory: no source file, no licence
    assert table.loc[("buildings", "provenance_source"), "status"] == "warning"
    assert table.loc[("buildings", "provenance_licence"), "status"] == "warning"


def test_quantity_fallbacks_are_counted():
    model = _broken_model()
    buildings = model.buildings.copy()
    buildings["gfa_source"] = ["qto", "footprint x storeys", "slabs", "footprint x storeys"]
    buildings["ground_source"] = ["storey", "storey", "lowest element", None]
    model.add_layer("buildings", buildings)
    row = model.quality().set_index(["layer", "check"]).loc[("buildings", "quantity_fallbacks")]
    assert (row["status"], row["value"]) == ("warning", 3)
    assert row["message"].startswith("2 floor areas estimated as footprint x storeys; 1 ground levels")
    assert (
        _broken_model()
        .quality()
        .set_index(["layer", "check"])
        .loc[("buildings", "quantity_fallbacks"), "status"]
        == "not_checked"
    )


def test_thresholds_follow_the_options():
    model = _broken_model()
    with cimkit.set_options(plausible_height_m=(0.1, 300.0), plausible_footprint_m2=(0.5, 1e5)):
        table = model.quality().set_index(["layer", "check"])
    assert table.loc[("buildings", "height_implausible"), "status"] == "ok"
    assert table.loc[("buildings", "footprint_area_implausible"), "value"] == 1  # the bowtie only
    with cimkit.set_options(plausible_elevation_m=(-10000.0, 9000.0)):
        assert model.quality().set_index(["layer", "check"]).loc[("dem", "dem_value_range"), "status"] == "ok"
    with pytest.raises(cimkit.errors.ValidationError):
        cimkit.set_options(plausible_height_m=(300.0, 2.0))


def test_far_layer_and_georeference_confidence():
    model = _broken_model()
    far = gpd.GeoDataFrame(
        {"georef_confidence": ["low", "high"]},
        geometry=[
            shapely.box(X0 + 80_000, Y0, X0 + 80_010, Y0 + 10),
            shapely.box(X0 + 80_020, Y0, X0 + 80_030, Y0 + 10),
        ],
        crs=2154,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_layer("buildings", far, placement="accept")
    table = model.quality().set_index(["layer", "check"])
    row = table.loc[("buildings", "distance_to_model")]
    assert row["status"] == "warning" and row["value"] == pytest.approx(80_000 - 600, abs=1)
    assert table.loc[("buildings", "placement_accepted"), "status"] == "warning"
    assert table.loc[("buildings", "ifc_georeference"), ["status", "value"]].tolist() == [
        "warning",
        "1 high, 1 low",
    ]


def test_html_repr_counts_statuses():
    model = _broken_model()
    counts = model.quality()["status"].value_counts()
    html = model._repr_html_()
    assert f"{counts['error']} error" in html and f"{counts['warning']} warning" in html
    assert "model.quality()" in html


def test_city_report_lists_the_rows_that_are_not_ok(sample):
    from cimkit.viz import build_city_report

    model, table = sample
    report = build_city_report(model, audience="internal")
    titles = [s.title for s in report.sections]
    assert titles.index("Checks on the data") == titles.index("Where the numbers come from") - 1
    text = report.to_markdown()
    flagged = table.loc[table["status"] != "ok"]
    assert len(flagged) > 0
    for message in flagged["message"]:
        assert message in text
    assert f"{int((table['status'] == 'ok').sum())} found nothing" in text
    ok_messages = table.loc[table["status"] == "ok", "message"]
    assert "every one of 32,400 cells has data" not in text  # an ok row is not listed
    assert not any(m in text for m in ok_messages if m.startswith("one connected component"))


# ----------------------------------------------------------------------------- real data
@pytest.mark.shared_data
def test_real_dem_nodata_share_and_range(shared_data):
    model = CityModel("EPSG:32613")  # UTM 13N: the SRTM tile of Boulder, Colorado, warped into it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dem = cimkit.read_dem(
            shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc", source_crs="EPSG:4326"
        )
        model.set_dem(dem)
    values = model.dem.values.astype("float64")
    missing = np.isnan(values) | (values == model.dem.nodata if model.dem.nodata is not None else False)
    table = model.quality().set_index(["layer", "check"])
    row = table.loc[("dem", "dem_nodata_share")]
    assert row["status"] == "warning"  # the warp leaves the corners of the UTM grid empty
    assert row["value"] == pytest.approx(float(missing.mean()))
    assert 0.005 < row["value"] < 0.05
    good = values[~missing]
    assert table.loc[("dem", "dem_value_range"), "status"] == "ok"  # Front Range: about 1,950 to 3,285 m
    assert f"{good.min():.2f} to {good.max():.2f} m" in table.loc[("dem", "dem_value_range"), "message"]
    assert table.loc[("dem", "area_of_use"), "status"] == "ok"


@pytest.mark.shared_data
def test_real_prague_layers(shared_data):
    import networkx as nx

    path = shared_data / "prague_bubenec" / "bubenec.gpkg"
    model = CityModel("EPSG:5514")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_layer("buildings", cimkit.read_buildings(path, layer="buildings"))
        model.add_layer("parcels", cimkit.read_parcels(path, layer="plots"))
        model.add_network(cimkit.read_network(path, layer="streets", kind="road"))
    table = model.quality().set_index(["layer", "check"])
    raw = gpd.read_file(path, layer="plots")
    assert table.loc[("parcels", "invalid_geometries"), "value"] == int((~raw.is_valid).sum())
    assert table.loc[("parcels", "duplicated_ids"), "status"] == "ok"
    graph = model.network("road").to_networkx()
    assert table.loc[("network_road", "components"), "value"] == nx.number_connected_components(graph)
    assert table.loc[("network_road", "dangles"), "value"] == sum(1 for _, d in graph.degree() if d == 1)
    assert table.loc[("buildings", "height_missing"), "status"] == "not_checked"  # the layer has no height
    for name in ("buildings", "parcels", "network_road"):
        assert table.loc[(name, "area_of_use"), "status"] == "ok"
        assert table.loc[(name, "distance_to_model"), "status"] == "ok"
        assert table.loc[(name, "provenance_source"), "status"] == "ok"
        assert table.loc[(name, "provenance_licence"), "status"] == "warning"  # none given


@pytest.mark.shared_data
def test_real_delft_low_buildings_are_flagged(shared_data):
    model = CityModel("EPSG:28992")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_layer("buildings", cimkit.read_cityjson(shared_data / "cityjson_delft" / "delft.city.json"))
    heights = model.buildings["height_m"]
    low = int((heights < 2.0).sum())
    assert low > 0 and not (heights > 300).any()  # some of the 160 CityJSON buildings are below 2 m
    row = model.quality().set_index(["layer", "check"]).loc[("buildings", "height_implausible")]
    assert (row["status"], row["value"]) == ("warning", low)
    assert row["message"].startswith(f"{low} of 160 buildings are outside 2 to 300 m tall")
