"""Placement checks on the real files of ../shared/data: misplaced layers raise, never land silently.

The Duplex Apartment IFC is placed only by its IfcSite latitude / longitude (41.8744 N,
87.6394 W: Chicago, MANIFEST.md); EPANET Net3 has local, schematic coordinates (x 8 to 45,
y 0 to 31); the Épinay-sur-Orge cadastre is in France (EPSG:4326 GeoJSON, read to Lambert-93).
"""

from __future__ import annotations

import shutil

import pytest
from pyproj import Transformer

import cimkit
from cimkit.cli.convert import run_convert
from cimkit.errors import GeographicCRSError, PlacementError, PlacementWarning
from cimkit.io.epanet import read_epanet
from cimkit.io.ifc import read_ifc
from cimkit.io.vector import read_parcels
from cimkit.model import CityModel

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def duplex(shared_data):
    return shared_data / "ifc_duplex_apartment" / "duplex.ifc"


@pytest.fixture(scope="module")
def net3(shared_data):
    return shared_data / "epanet_networks" / "Net3.inp"


def test_ifc_read_into_a_crs_that_excludes_it_raises(duplex):
    with pytest.raises(PlacementError) as info:
        read_ifc(duplex, crs="EPSG:2056", processes=1)
    err = info.value
    assert err.check == "area_of_use" and err.path == str(duplex) and err.layer == "buildings"
    assert "Switzerland" in err.expected
    # the hint says where the file puts itself (its IfcSite, hand-read from the file) and the way out
    assert "lat 41.87440, lon -87.63940" in err.hint and "crs=None" in err.hint
    # the extent found is millions of metres from Switzerland's grid (E 2.48-2.84e6, N 1.07-1.30e6)
    minx, miny = err.extent[:2]
    assert minx < 0 and miny > 4e6


def test_ifc_read_into_a_geographic_crs_is_refused_not_returned_in_degrees(duplex):
    with pytest.raises(GeographicCRSError, match="not a projected CRS"):
        read_ifc(duplex, crs="EPSG:4326", processes=1)


def test_ifc_in_its_own_utm_zone_is_where_its_site_says(duplex):
    with pytest.warns(UserWarning):
        buildings = read_ifc(duplex, processes=1)
    assert buildings.crs.to_epsg() == 32616
    x, y = buildings.geometry.iloc[0].centroid.coords[0]
    lon, lat = Transformer.from_crs(32616, 4326, always_xy=True).transform(x, y)
    assert lon == pytest.approx(-87.6394, abs=0.001) and lat == pytest.approx(41.8744, abs=0.001)


def test_a_chicago_building_added_to_a_french_model_raises(duplex, shared_data):
    model = CityModel("EPSG:2154", name="Épinay-sur-Orge")
    parcels = read_parcels(shared_data / "cadastre_epinay_sur_orge_91216" / "cadastre-91216-parcelles.json")
    model.add_layer("parcels", parcels)
    with pytest.warns(UserWarning):
        buildings = read_ifc(duplex, processes=1)
    with pytest.raises(PlacementError) as info:
        model.add_layer("buildings", buildings)
    assert info.value.check == "area_of_use" and info.value.layer == "buildings"
    assert "area of use of EPSG:2154" in str(info.value)
    assert "buildings" not in model


def test_a_chicago_building_far_from_a_model_in_its_own_zone_raises(duplex):
    # a model of Milwaukee (43.04 N, 87.91 W) in UTM 16N: the Chicago building is ~130 km away
    import geopandas as gpd
    from shapely.geometry import box

    x, y = Transformer.from_crs(4326, 32616, always_xy=True).transform(-87.91, 43.04)
    model = CityModel("EPSG:32616")
    model.add_layer("parcels", gpd.GeoDataFrame(geometry=[box(x, y, x + 300, y + 300)], crs=32616))
    with pytest.warns(UserWarning):
        buildings = read_ifc(duplex, processes=1)
    with pytest.raises(PlacementError) as info:
        model.add_layer("buildings", buildings)
    assert info.value.check == "distance_to_model"
    distance_km = float(str(info.value).split(" lies ")[1].split(" km")[0])
    assert 120 < distance_km < 140
    with pytest.warns(PlacementWarning):
        model.add_layer("buildings", buildings, placement="accept")
    step = model.provenance_record("buildings").steps[-1]
    assert step.action == "accept_placement" and step.params["check"] == "distance_to_model"


def test_epanet_local_coordinates_given_a_utm_crs_raise_with_the_origin_hint(net3):
    with pytest.raises(PlacementError) as info:
        read_epanet(net3, crs="EPSG:32610")
    err = info.value
    assert err.check == "local_coordinates" and "local coordinates: pass origin=" in str(err)
    assert err.extent == pytest.approx((8.0, 0.0, 44.86, 31.06), abs=0.01)  # Net3's [COORDINATES]


def test_epanet_placed_with_origin_lands_where_asked(net3):
    # North Marin (CA) is in UTM 10N: put the file's (0, 0) at 540 000 E, 4 215 000 N
    net = read_epanet(net3, crs="EPSG:32610", origin=(540_000.0, 4_215_000.0))
    assert tuple(net.nodes.total_bounds) == pytest.approx((540_008.0, 4_215_000.0, 540_044.86, 4_215_031.06))
    steps = [s.action for s in cimkit.provenance.get(net).steps]
    assert "place" in steps and "accept_placement" not in steps
    turned = read_epanet(net3, crs="EPSG:32610", origin=(540_000.0, 4_215_000.0, 0.0, 90.0))
    # a quarter turn counter-clockwise: local (x, y) -> (-y, x)
    first = net.nodes.geometry.iloc[0].coords[0]
    assert turned.nodes.geometry.iloc[0].coords[0] == pytest.approx(
        (540_000.0 - (first[1] - 4_215_000.0), 4_215_000.0 + (first[0] - 540_000.0))
    )


def test_convert_fails_the_misplaced_file_alone(duplex, shared_data, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(duplex, inputs / "duplex.ifc")
    shutil.copy(shared_data / "ifc_kit_fzk_haus" / "AC20-FZK-Haus.ifc", inputs / "fzk.ifc")  # Karlsruhe
    report = run_convert([inputs], tmp_path / "out", output_format="gpkg", crs="EPSG:2154", resume=False)
    by_name = {rec["input"].rsplit("/", 1)[-1]: rec for rec in report.records}
    assert by_name["fzk.ifc"]["status"] == "ok"
    failed = by_name["duplex.ifc"]
    assert failed["status"] == "failed" and failed["error_type"] == "PlacementError"
    assert failed["check"] == "area_of_use" and "lat 41.87440, lon -87.63940" in failed["hint"]
    assert (report.converted, report.failed) == (1, 1)
