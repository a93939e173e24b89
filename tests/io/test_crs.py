"""cimkit._crs: CRS resolution, the projected-metric check, source CRS rules, reprojection steps.

Expected coordinates are computed independently with pyproj's Transformer (always_xy).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point

from cimkit import provenance
from cimkit._crs import (
    assign_or_check_source_crs,
    check_projected_metric,
    crs_label,
    reproject_with_provenance,
    resolve_crs,
    resolve_source_crs,
)
from cimkit.errors import CimkitError, CRSError, GeographicCRSError, MissingCRSError
from cimkit.network.graph import Network
from cimkit.raster import Raster


def _expected(src, dst, x, y):
    return Transformer.from_crs(src, dst, always_xy=True).transform(x, y)


# -- resolve_crs / crs_label -------------------------------------------------------------------
def test_resolve_crs_accepts_codes_strings_wkt_and_crs_objects():
    assert resolve_crs(2154).to_epsg() == 2154
    assert resolve_crs("EPSG:2056").to_epsg() == 2056
    lambert = CRS.from_epsg(2154)
    assert resolve_crs(lambert) is lambert
    assert resolve_crs(lambert.to_wkt()) == lambert
    assert resolve_crs(None) is None


def test_resolve_crs_refuses_garbage_with_a_typed_error():
    with pytest.raises(CRSError, match="not a CRS pyproj understands") as info:
        resolve_crs("EPSG:999999", path="city.gpkg", layer="parcels", what="source_crs")
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, CimkitError)
    assert err.path == "city.gpkg" and err.layer == "parcels"
    assert "source_crs='EPSG:999999'" in str(err) and "Fix:" in str(err)


def test_crs_label():
    assert crs_label(2154) == "EPSG:2154"
    assert crs_label("EPSG:2227") == "EPSG:2227"
    assert crs_label(None) == "no CRS"
    local = "+proj=tmerc +lat_0=0 +lon_0=3.5 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    assert crs_label(local) == CRS.from_user_input(local).name


# -- check_projected_metric --------------------------------------------------------------------
@pytest.mark.parametrize("code", [2154, 2056, 32631])
def test_projected_metric_crs_pass(code):
    assert check_projected_metric(code).to_epsg() == code


@pytest.mark.parametrize("code", ["EPSG:4326", "EPSG:4171"])
def test_geographic_crs_refused_with_a_hint(code):
    with pytest.raises(GeographicCRSError, match="geographic") as info:
        check_projected_metric(code, layer="parcels")
    assert code in str(info.value) and "EPSG:2154" in info.value.hint
    assert info.value.layer == "parcels"


def test_geocentric_crs_is_not_projected():
    with pytest.raises(GeographicCRSError, match="not a projected CRS"):
        check_projected_metric("EPSG:4978")


def test_us_feet_crs_refused_as_non_metric():
    # EPSG:2227 NAD83 / California zone 3 (ftUS): projected, but in US survey feet
    with pytest.raises(CRSError, match="us survey foot") as info:
        check_projected_metric("EPSG:2227", what="the model CRS")
    assert not isinstance(info.value, GeographicCRSError)
    assert str(info.value).startswith("the model CRS EPSG:2227")


def test_missing_crs_refused_naming_the_file_and_layer():
    with pytest.raises(MissingCRSError, match="never assumes") as info:
        check_projected_metric(None, path="roads.shp", layer="roads")
    assert info.value.path == "roads.shp" and info.value.layer == "roads"


# -- source CRS --------------------------------------------------------------------------------
def test_resolve_source_crs_rules():
    record = provenance.Provenance()
    assert resolve_source_crs(None, 2154, record=record).to_epsg() == 2154
    assert [s.action for s in record.steps] == ["assign_crs"]
    assert record.steps[0].params["crs"] == "EPSG:2154"
    # declared and stated agree: the declared CRS, no step
    assert resolve_source_crs(2056, "EPSG:2056", record=record).to_epsg() == 2056
    assert len(record.steps) == 1
    with pytest.raises(MissingCRSError, match="source_crs"):
        resolve_source_crs(None, None, path="dem.asc")
    with pytest.raises(CRSError, match="contradicts"):
        resolve_source_crs(2154, 4326, path="dem.tif")
    # a compound CRS and its horizontal part are the same statement when the caller says so
    compound = CRS.from_epsg(7415)  # Amersfoort / RD New + NAP height
    assert resolve_source_crs(28992, compound, accepted=(compound,)).to_epsg() == 28992


def test_assign_or_check_source_crs():
    raw = gpd.GeoDataFrame(geometry=[Point(6_000_000, 2_000_000)])
    record = provenance.Provenance()
    placed = assign_or_check_source_crs(raw, "EPSG:2227", path="bay.shp", record=record)
    assert placed.crs.to_epsg() == 2227 and raw.crs is None
    assert record.steps[-1].action == "assign_crs"
    declared = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=2154)
    assert assign_or_check_source_crs(declared, None) is declared
    assert assign_or_check_source_crs(declared, 2154) is declared
    with pytest.raises(CRSError, match="contradicts") as info:
        assign_or_check_source_crs(declared, "EPSG:2056", path="parcels.geojson", layer="parcels")
    assert info.value.path == "parcels.geojson"
    with pytest.raises(MissingCRSError):
        assign_or_check_source_crs(raw, None)


# -- reproject_with_provenance -----------------------------------------------------------------
def test_reproject_geodataframe_records_the_step_and_leaves_the_input_alone():
    gdf = gpd.GeoDataFrame({"name": ["Notre-Dame"]}, geometry=[Point(2.3499, 48.8530)], crs=4326)
    original = provenance.record_for_files([], reader="test")
    provenance.attach(gdf, original)
    out = reproject_with_provenance(gdf, "EPSG:2154", layer="pois")
    x, y = _expected(4326, 2154, 2.3499, 48.8530)
    assert out.geometry.iloc[0].x == pytest.approx(x, abs=1e-6)
    assert out.geometry.iloc[0].y == pytest.approx(y, abs=1e-6)
    assert out.crs.to_epsg() == 2154 and gdf.crs.to_epsg() == 4326
    step = provenance.get(out).steps[-1]
    assert step.action == "reproject" and step.detail == "EPSG:4326 -> EPSG:2154"
    assert step.params == {"source_crs": "EPSG:4326", "target_crs": "EPSG:2154", "library": "pyproj"}
    assert provenance.get(gdf).steps == [] and provenance.get(out).reader == "test"


def test_reproject_appends_to_a_given_record():
    gdf = gpd.GeoDataFrame(geometry=[Point(6_000_000, 2_000_000)], crs="EPSG:2227")
    record = provenance.Provenance(reader="cimkit.read_buildings")
    out = reproject_with_provenance(gdf, 4326, record=record)
    assert provenance.get(out) is record and record.steps[-1].params["source_crs"] == "EPSG:2227"
    lon, lat = _expected(2227, 4326, 6_000_000, 2_000_000)
    assert out.geometry.iloc[0].coords[0] == pytest.approx((lon, lat), abs=1e-9)


def test_reproject_is_a_no_op_in_the_same_crs_or_without_target():
    gdf = gpd.GeoDataFrame(geometry=[Point(2_600_000, 1_200_000)], crs=2056)
    assert reproject_with_provenance(gdf, "EPSG:2056") is gdf
    assert reproject_with_provenance(gdf, None) is gdf
    assert provenance.get(gdf) is None


def test_reproject_without_source_crs_is_refused():
    with pytest.raises(MissingCRSError, match="cannot be reprojected") as info:
        reproject_with_provenance(gpd.GeoDataFrame(geometry=[Point(0, 0)]), 2154, layer="zones")
    assert info.value.layer == "zones"


def test_reproject_raster_records_resampling():
    values = np.arange(16, dtype="float64").reshape(4, 4)
    dem = Raster(values, Affine(25.0, 0, 2_600_000, 0, -25.0, 1_200_100), "EPSG:2056")
    out = reproject_with_provenance(dem, "EPSG:2154", resampling="nearest")
    assert out.crs.to_epsg() == 2154
    step = provenance.get(out).steps[-1]
    assert step.params["library"] == "rasterio" and step.params["resampling"] == "nearest"
    assert step.params["shape"] == list(out.shape)
    # the grid's upper-left corner lands where pyproj puts it (within one output cell)
    x, y = _expected(2056, 2154, 2_600_000, 1_200_100)
    assert abs(out.transform.c - x) < 2 * out.res[0] and abs(out.transform.f - y) < 2 * out.res[1]


def test_reproject_network():
    nodes = gpd.GeoDataFrame(
        geometry=[Point(652_000, 6_862_000), Point(652_100, 6_862_000)],
        index=gpd.pd.Index([0, 1], name="node_id"),
        crs=2154,
    )
    edges = gpd.GeoDataFrame(
        {"u": [0], "v": [1]},
        geometry=[LineString([(652_000, 6_862_000), (652_100, 6_862_000)])],
        index=gpd.pd.Index([0], name="edge_id"),
        crs=2154,
    )
    net = Network(nodes, edges, kind="road")
    out = reproject_with_provenance(net, "EPSG:4326", layer="network_road")
    assert out.crs.to_epsg() == 4326 and net.crs.to_epsg() == 2154
    lon, lat = _expected(2154, 4326, 652_100, 6_862_000)
    assert out.nodes.geometry.iloc[1].coords[0] == pytest.approx((lon, lat), abs=1e-9)
    assert out.edges["length_m"].iloc[0] == pytest.approx(100.0)  # measured at build time
    assert provenance.get(out).steps[-1].detail == "EPSG:2154 -> EPSG:4326"
