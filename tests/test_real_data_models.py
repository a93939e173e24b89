"""Each real open data set in ../shared/data loads into one CityModel in a projected CRS.

Counts are the ones stated in ../shared/data/MANIFEST.md; each model is also saved and read back.
"""

from __future__ import annotations

import warnings

import pytest

import cimkit
from cimkit.errors import PlacementWarning
from cimkit.model import CityModel, read_model

pytestmark = pytest.mark.shared_data


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs and approximations are recorded in provenance
        yield


def _round_trip(model: CityModel, tmp_path) -> CityModel:
    back = read_model(model.to_file(tmp_path / "model.gpkg"))
    assert set(back.layers) == set(model.layers) and sorted(back.networks) == sorted(model.networks)
    return back


def test_epinay_cadastre(shared_data, tmp_path):
    model = CityModel("EPSG:2154", name="Épinay-sur-Orge")
    parcels = model.add_layer(
        "parcels",
        cimkit.read_parcels(shared_data / "cadastre_epinay_sur_orge_91216" / "cadastre-91216-parcelles.json"),
    )
    assert len(parcels) == 4241 and parcels.index.is_unique and (parcels.index.str.len() == 14).all()
    assert parcels.crs.to_epsg() == 2154
    assert "reproject" in [s.action for s in model.provenance_record("parcels").steps]
    assert len(_round_trip(model, tmp_path).parcels) == 4241


def test_plu_17345(shared_data, tmp_path):
    model = CityModel("EPSG:2154")
    zones = model.add_layer(
        "zones", cimkit.read_zoning(shared_data / "plu_zone_urba_17345" / "zone_urba_17345.geojson")
    )
    assert len(zones) == 39
    assert set(zones["libelle"]) == {"Ua", "Ub", "Ux", "AU", "A", "Ap", "N", "Np", "Ne", "Npv"}
    assert set(zones["typezone"]) == {"U", "AUc", "A", "N"}
    assert len(_round_trip(model, tmp_path).zones) == 39


def test_bubenec(shared_data, tmp_path):
    path = shared_data / "prague_bubenec" / "bubenec.gpkg"
    model = CityModel("EPSG:5514", name="Bubeneč")  # S-JTSK / Krovak East North, metres
    model.add_layer("buildings", cimkit.read_buildings(path, layer="buildings"))
    model.add_layer("parcels", cimkit.read_parcels(path, layer="plots"))
    model.add_network(cimkit.read_network(path, layer="streets", kind="road"))
    assert (len(model.buildings), len(model.parcels)) == (144, 407)
    assert len(model.network("road").edges) >= 35
    back = _round_trip(model, tmp_path)
    assert len(back.buildings) == 144


def test_helsinki_osm(shared_data, tmp_path):
    model = CityModel("EPSG:3067", name="Helsinki")  # ETRS-TM35FIN
    road = model.add_network(
        cimkit.read_network(shared_data / "osm_helsinki" / "Helsinki.osm.pbf", kind="road")
    )
    assert road.crs.to_epsg() == 3067 and len(road.edges) > 2469  # ways split at shared vertices
    assert _round_trip(model, tmp_path).network("road").edges["length_m"].sum() == pytest.approx(
        road.edges["length_m"].sum()
    )


@pytest.mark.parametrize(
    ("name", "junctions", "reservoirs", "tanks", "pipes", "pumps"),
    [("Net1", 9, 1, 1, 12, 1), ("Net3", 92, 2, 3, 117, 2), ("Anytown", 22, 1, 2, 43, 3)],
)
def test_epanet(shared_data, tmp_path, name, junctions, reservoirs, tanks, pipes, pumps):
    # schematic coordinates kept as they are in a metric CRS: the placement check refuses them
    # (local coordinates) unless accepted explicitly, as here, where the test is about the counts
    with cimkit.set_options(placement="accept"), pytest.warns(PlacementWarning, match="local coordinates"):
        path = shared_data / "epanet_networks" / f"{name}.inp"
        net = cimkit.read_network(path, kind="water", crs="EPSG:2154")
        model = CityModel("EPSG:2154")
        model.add_network(net)
    assert "accept_placement" in [step.action for step in model.provenance_record("water").steps]
    counts = net.nodes["node_type"].value_counts()
    assert (counts.get("junction"), counts.get("reservoir"), counts.get("tank")) == (
        junctions,
        reservoirs,
        tanks,
    )
    links = net.edges["link_type"].value_counts()
    assert (links.get("pipe"), links.get("pump")) == (pipes, pumps)
    assert len(_round_trip(model, tmp_path).network("water").nodes) == junctions + reservoirs + tanks


def test_delft_cityjson(shared_data, tmp_path):
    model = CityModel("EPSG:28992", name="Delft")
    buildings = model.add_layer(
        "buildings", cimkit.read_cityjson(shared_data / "cityjson_delft" / "delft.city.json")
    )
    assert len(buildings) == 160 and buildings["height_m"].gt(0).all()
    assert len(_round_trip(model, tmp_path).buildings) == 160


def test_srtm_dem(shared_data, tmp_path):
    model = CityModel("EPSG:32613")
    dem = cimkit.read_dem(
        shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc", source_crs="EPSG:4326"
    )
    assert dem.shape == (144, 240)
    dem_in_model = model.set_dem(dem)
    assert dem_in_model.crs.to_epsg() == 32613
    assert (
        1900 < float(dem_in_model.masked()[dem_in_model.valid_mask()].min())
        and float(dem_in_model.masked()[dem_in_model.valid_mask()].max()) < 3300
    )
    back = _round_trip(model, tmp_path)
    assert back.dem.shape == dem_in_model.shape
