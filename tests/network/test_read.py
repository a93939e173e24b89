"""cimkit.read_network: inputs, CRS handling, road attributes, and shortest paths on real OSM data."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod
from shapely.geometry import LineString, Point

import cimkit
from cimkit import provenance
from cimkit.errors import (
    CRSError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
    PlacementError,
    UnsupportedSchemaError,
    ValidationError,
)
from cimkit.network.read import read_network

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def streets(crs="EPSG:2154"):
    return gpd.GeoDataFrame(
        {
            "name": ["Rue A", "Rue B", "Allée C", "Rue D"],
            "highway": ["residential", "primary", "footway", "residential"],
            "maxspeed": [None, "30 mph", None, "FR:zone30"],
            "oneway": ["no", "yes", None, "-1"],
        },
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (200, 0)]),
            LineString([(100, 0), (100, 100)]),
            LineString([(200, 0), (200, 100)]),
        ],
        crs=crs,
    )


# --- GeoDataFrame input -------------------------------------------------------------------------
def test_road_attributes_from_a_geodataframe():
    net = read_network(streets(), kind="road", snap_tolerance_m=0.5)
    e = net.edges.set_index("name")
    assert list(e["road_class"]) == ["residential", "primary", "footway", "residential"]
    assert e.loc["Rue A", "speed_kmh"] == 50.0  # residential default (R413-3)
    assert e.loc["Rue B", "speed_kmh"] == pytest.approx(30 * 1.609344)
    assert np.isnan(e.loc["Allée C", "car_time_min"])
    assert e.loc["Rue D", "speed_kmh"] == 30.0
    # 100 m at 4.8 km/h = 1.25 min; at 15 km/h = 0.4 min; at 50 km/h = 0.12 min
    assert e.loc["Rue A", "walk_time_min"] == pytest.approx(1.25)
    assert e.loc["Rue A", "bike_time_min"] == pytest.approx(0.4)
    assert e.loc["Rue A", "car_time_min"] == pytest.approx(0.12)
    assert list(e["oneway"]) == [False, True, False, True]


def test_oneway_minus_one_reverses_the_line():
    given = streets()
    net = read_network(given, kind="road")
    assert_geodataframe_equal(given, streets())  # the input is not modified
    d = net.edges.set_index("name").loc["Rue D"]
    # drawn (200,0) -> (200,100) with oneway=-1: travel runs from (200,100) to (200,0)
    assert list(d.geometry.coords) == [(200, 100), (200, 0)]
    assert net.nodes.geometry[d["u"]].equals(Point(200, 100))
    graph = net.csr("car_time_min")
    pos_u, pos_v = graph.position([d["u"], d["v"]])
    assert pos_v in graph.indices[graph.indptr[pos_u] : graph.indptr[pos_u + 1]]
    assert pos_u not in graph.indices[graph.indptr[pos_v] : graph.indptr[pos_v + 1]]
    assert any(s.action == "reverse" for s in provenance.get(net).steps)


def test_speeds_override():
    net = read_network(streets(), kind="road", walk_kmh=6.0, car_kmh=40)
    e = net.edges.set_index("name")
    assert e.loc["Rue A", "walk_time_min"] == pytest.approx(1.0)  # 0.1 km / 6 km/h
    assert e.loc["Rue A", "speed_kmh"] == 40.0
    assert e.loc["Rue B", "speed_kmh"] == pytest.approx(30 * 1.609344)  # the posted speed still wins
    by_class = read_network(streets(), kind="road", bike_kmh=20.0, car_kmh={"residential": 40, "primary": 70})
    e = by_class.edges.set_index("name")
    assert e.loc["Rue A", "speed_kmh"] == 40.0
    assert e.loc["Rue A", "bike_time_min"] == pytest.approx(0.3)  # 0.1 km / 20 km/h
    assert e.loc["Rue B", "speed_kmh"] == pytest.approx(30 * 1.609344)  # the posted speed still wins
    with pytest.raises(ValidationError):
        read_network(streets(), kind="water", walk_kmh=5)


def test_geographic_input_goes_to_the_local_utm_zone_with_geodesic_lengths():
    # a 1 km-ish street in Paris (lon 2.35): UTM zone 31N, EPSG:32631
    line = LineString([(2.3500, 48.8500), (2.3600, 48.8530), (2.3650, 48.8600)])
    gdf = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[line], crs="EPSG:4326")
    net = read_network(gdf, kind="road")
    assert net.crs.to_epsg() == 32631
    geodesic = Geod(ellps="WGS84").geometry_length(line)
    # UTM scale error is below 0.04 %
    assert net.edges["length_m"].sum() == pytest.approx(geodesic, rel=4e-4)
    steps = [s.action for s in provenance.get(net).steps]
    assert steps[0] == "reproject" and "topology" in steps and "report" in steps


def test_crs_argument_reprojects():
    net = read_network(streets().to_crs(3857), kind="road", crs="EPSG:2154")
    assert net.crs.to_epsg() == 2154
    assert net.edges["length_m"].sum() == pytest.approx(400.0, abs=1e-3)


def test_missing_crs_needs_source_crs():
    gdf = streets().set_crs(None, allow_override=True)
    with pytest.raises(MissingCRSError, match="source_crs"):
        read_network(gdf, kind="road")
    net = read_network(gdf, kind="road", source_crs="EPSG:2154")
    assert net.crs.to_epsg() == 2154
    with pytest.raises(CRSError):
        read_network(streets(), kind="road", source_crs="EPSG:3857")
    with pytest.raises(CRSError):
        read_network(streets(), kind="road", crs="EPSG:4326")


def test_invalid_kind():
    with pytest.raises(ValidationError, match="'gas' was given"):
        read_network(streets(), kind="gas")


def test_snapping_warns_and_is_recorded():
    gdf = streets()
    gdf.loc[3, "geometry"] = LineString([(200.2, 0), (200, 100)])  # 0.2 m short
    with pytest.warns(UserWarning, match="1 line end"):
        net = read_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert net.report["components"] == 1
    snap = next(s for s in provenance.get(net).steps if s.action == "snap")
    assert snap.params["to_endpoint"] == 1 and snap.params["tolerance_m"] == 0.5
    with cimkit.set_options(snap_tolerance_m=0.1):
        net = read_network(gdf, kind="road")
    assert net.report["components"] == 2


def test_pipes_keep_their_attributes():
    gdf = gpd.GeoDataFrame(
        {"pipe_id": ["P1", "P2"], "diameter_mm": [150.0, 100.0]},
        geometry=[LineString([(0, 0), (50, 0), (100, 0)]), LineString([(50, 0), (50, 40)])],
        crs="EPSG:2154",
    )
    net = read_network(gdf, kind="water")
    assert len(net.edges) == 3
    assert net.edges.groupby("pipe_id")["length_m"].sum().to_dict() == {"P1": 100.0, "P2": 40.0}
    assert "walk_time_min" not in net.edges.columns


# --- files --------------------------------------------------------------------------------------
def test_geopackage_layers(tmp_path):
    path = tmp_path / "city.gpkg"
    streets().to_file(path, layer="streets")
    gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:2154").to_file(path, layer="stops")
    net = read_network(path, kind="road")  # the only line layer is taken
    assert len(net.edges) == 4
    assert provenance.get(net).source_files[0].sha256 is not None
    gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:2154").to_file(path, layer="other")
    with pytest.raises(InputError, match="layer="):
        read_network(path, kind="road")
    with pytest.raises(LayerNotFoundError):
        read_network(path, kind="road", layer="nope")
    assert len(read_network(path, kind="road", layer="streets").edges) == 4


def test_geojson_file(tmp_path):
    path = tmp_path / "streets.geojson"
    streets().to_crs(4326).to_file(path)
    net = read_network(path, kind="road", crs="EPSG:2154")
    assert net.edges["length_m"].sum() == pytest.approx(400.0, abs=0.01)


def test_zipped_shapefile_and_geoparquet(tmp_path):
    import zipfile

    streets().to_file(tmp_path / "streets.shp")
    archive = tmp_path / "streets.shp.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("streets.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    assert len(read_network(archive, kind="road").edges) == 4
    streets().to_parquet(tmp_path / "streets.parquet")
    net = read_network(tmp_path / "streets.parquet", kind="road")
    assert net.edges["length_m"].sum() == pytest.approx(400.0)


def test_epanet_file(shared_data):
    net = cimkit.read_network(shared_data / "epanet_networks" / "Net1.inp", kind="water")
    assert net.report["pipes"] == 12 and net.crs is None
    assert provenance.get(net).steps[0].action == "epanet"
    with pytest.raises(ValidationError):
        read_network(shared_data / "epanet_networks" / "Net1.inp", kind="road")


def test_ifc_drainage_file(shared_data):
    folder = shared_data / "ifc43_drainage_system"
    net = read_network(folder / "DrainageSystem-1-2.ifc4x3_add2.ifc", kind="sewer", crs="EPSG:3878")
    assert (len(net.nodes), len(net.edges)) == (7, 6)
    assert net.crs.to_epsg() == 3878
    with pytest.raises(UnsupportedSchemaError):
        read_network(folder / "DrainageSystem-1-2.ifc", kind="sewer")


def test_origin_places_an_epanet_file_as_read_epanet_does(shared_data):
    from cimkit.io.epanet import read_epanet

    net3 = shared_data / "epanet_networks" / "Net3.inp"
    with pytest.raises(PlacementError, match="origin="):
        read_network(net3, kind="water", crs="EPSG:32610")
    net = read_network(net3, kind="water", crs="EPSG:32610", origin=(540000, 4215000))
    direct = read_epanet(net3, crs="EPSG:32610", origin=(540000, 4215000))
    np.testing.assert_array_equal(net.nodes.total_bounds, direct.nodes.total_bounds)
    np.testing.assert_array_equal(net.edges.total_bounds, direct.edges.total_bounds)
    # Net3's local bounds are (8, 0, 44.86, 31.06)
    np.testing.assert_allclose(
        net.nodes.total_bounds, [540008.0, 4215000.0, 540044.86, 4215031.06], atol=1e-6
    )
    assert net.crs.to_epsg() == 32610
    steps = provenance.get(net).steps
    assert [s.params["origin"] for s in steps if s.action == "place"] == [[540000.0, 4215000.0]]


def test_origin_places_an_ifc_file(shared_data):
    drainage = shared_data / "ifc43_drainage_system" / "DrainageSystem-1-2.ifc4x3_add2.ifc"
    local = read_network(drainage, kind="sewer")
    net = read_network(drainage, kind="sewer", crs="EPSG:3878", origin=(-100.0, 50.0))
    shift = np.array([-100.0, 50.0, -100.0, 50.0])
    np.testing.assert_array_equal(net.nodes.total_bounds, local.nodes.total_bounds + shift)
    assert "place" in [s.action for s in provenance.get(net).steps]


def test_origin_is_refused_for_map_coordinates(tmp_path):
    with pytest.raises(ValidationError, match="origin= applies only to files in local coordinates"):
        read_network(streets(), kind="road", origin=(0, 0))
    path = tmp_path / "streets.geojson"
    streets().to_file(path)
    with pytest.raises(ValidationError, match=r"'streets\.geojson' carries map coordinates"):
        read_network(path, kind="road", origin=(0, 0))


def test_sample_city_streets_form_one_component():
    path = SAMPLE_DATA / "streets.geojson"
    if not path.is_file():
        pytest.skip("sample_data/streets.geojson is not generated yet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net = read_network(path, kind="road")
        loose = read_network(path, kind="road", snap_tolerance_m=0.1)
    rep = net.report
    assert rep["components"] == 1
    # some street ends stop 0.2 m short on purpose: the 0.5 m default snaps them into junctions;
    # with 0.1 m they stay loose ends (more dangles)
    snapped = rep["endpoints_snapped"] + rep["endpoints_snapped_to_vertex"] + rep["endpoints_snapped_to_line"]
    assert snapped > 0
    assert loose.report["dangles"] > rep["dangles"]
    assert net.edges["walk_time_min"].notna().all()
    assert net.crs.to_epsg() == 2154


def test_sample_city_water_pipes():
    path = SAMPLE_DATA / "water_pipes.geojson"
    if not path.is_file():
        pytest.skip("sample_data/water_pipes.geojson is not generated yet")
    raw = gpd.read_file(path)
    net = read_network(path, kind="water")
    assert net.report["components"] == 1
    assert set(net.edges["pipe_id"]) == set(raw["pipe_id"])
    # splitting never changes the total length of the pipes
    assert net.edges["length_m"].sum() == pytest.approx(raw.geometry.length.sum(), rel=1e-6)


# --- Helsinki: shortest paths against an independent networkx graph ------------------------------
@pytest.fixture(scope="module")
def helsinki(shared_data):
    path = shared_data / "osm_helsinki" / "Helsinki.osm.pbf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net = read_network(path, kind="road", snap_tolerance_m=0)
    return path, net


def test_helsinki_network(helsinki):
    _, net = helsinki
    assert net.crs.to_epsg() == 32635  # Helsinki (24.94 E) is in UTM zone 35N
    assert net.report["input_lines"] == 2469
    assert net.report["components"] >= 1 and net.report["largest_component_share"] > 0.9
    assert net.edges["u"].isin(net.nodes.index).all()


def test_helsinki_shortest_paths_equal_networkx_on_the_raw_ways(helsinki):
    path, net = helsinki
    # Reference built independently: the raw ways read with pyogrio, reprojected to the same CRS,
    # one networkx edge per consecutive vertex pair (so no splitting code is shared).
    raw = pyogrio.read_dataframe(path, layer="lines")
    raw = raw[raw["highway"].notna() & ~raw["highway"].isin(["platform", "construction"])].to_crs(net.crs)
    coords, which = shapely.get_coordinates(raw.geometry.values, return_index=True)
    same_line = which[1:] == which[:-1]
    a, b = coords[:-1][same_line], coords[1:][same_line]
    ref = nx.Graph()
    for (x0, y0), (x1, y1), w in zip(map(tuple, a), map(tuple, b), np.hypot(*(b - a).T)):
        if (x0, y0) != (x1, y1) and (
            not ref.has_edge((x0, y0), (x1, y1)) or ref[(x0, y0)][(x1, y1)]["w"] > w
        ):
            ref.add_edge((x0, y0), (x1, y1), w=float(w))

    from scipy.sparse.csgraph import dijkstra

    graph = net.csr("length_m", directed="both")
    rng = np.random.default_rng(42)
    main = net.nodes.index[net.nodes["component"] == 0].to_numpy()
    sources = rng.choice(main, size=5, replace=False)
    targets = rng.choice(net.nodes.index.to_numpy(), size=10, replace=False)
    dist = dijkstra(graph.to_scipy(), directed=True, indices=graph.position(sources))
    xy = {i: (p.x, p.y) for i, p in zip(net.nodes.index, net.nodes.geometry)}
    checked = 0
    for row, s in enumerate(sources):
        ref_len = nx.single_source_dijkstra_path_length(ref, xy[s], weight="w")
        for t in targets:  # 5 x 10 = 50 pairs
            ours = dist[row, graph.position([t])[0]]
            expected = ref_len.get(xy[t], np.inf)
            if np.isinf(expected):
                assert np.isinf(ours)
            else:
                assert ours == pytest.approx(expected, abs=1e-6)
                checked += 1
    assert checked >= 25


def test_helsinki_directed_csr_equals_networkx_digraph(helsinki):
    _, net = helsinki
    from scipy.sparse.csgraph import dijkstra

    graph = net.csr("car_time_min")  # oneway respected, cars only
    ok = net.edges[np.isfinite(net.edges["car_time_min"])]
    ref = nx.DiGraph()
    for u, v, w, one in ok[["u", "v", "car_time_min", "oneway"]].itertuples(index=False):
        for s, t in [(u, v)] if one else [(u, v), (v, u)]:
            if not ref.has_edge(s, t) or ref[s][t]["w"] > w:
                ref.add_edge(s, t, w=w)
    rng = np.random.default_rng(3)
    sources = rng.choice(ok["u"].unique(), size=5, replace=False)
    dist = dijkstra(graph.to_scipy(), directed=True, indices=graph.position(sources))
    for row, s in enumerate(sources):
        expected = pd.Series(nx.single_source_dijkstra_path_length(ref, s, weight="w"))
        ours = pd.Series(dist[row], index=graph.node_ids)
        reached = ours[np.isfinite(ours)]
        assert set(reached.index) == set(expected.index)
        np.testing.assert_allclose(reached[expected.index].to_numpy(), expected.to_numpy(), atol=1e-9)


# --- national default speeds recorded in the provenance ---------------------------------------
def _speed_step(net):
    from cimkit import provenance

    steps = [s for s in provenance.get(net).steps if s.action == "car_speed_defaults"]
    assert len(steps) == 1
    return steps[0].params


def test_helsinki_takes_finnish_default_speeds(helsinki):
    _, net = helsinki
    params = _speed_step(net)
    assert params["country"] == "FI" and params["table"] == "road_speeds.csv"
    assert "Tieliikennelaki" in params["source"]
    e = net.edges
    # an edge without a maxspeed tag takes the Finnish default of its class (50 km/h in built-up
    # areas, Tieliikennelaki § 103; pihakatu 20; service roads 20, an assumption)
    untagged = e["maxspeed"].isna() & e["speed_kmh"].notna()
    assert params["edges_with_default_speed"] == int(untagged.sum()) > 100
    expected = e.loc[untagged, "road_class"].map({"living_street": 20.0, "service": 20.0, "track": 20.0})
    assert (e.loc[untagged, "speed_kmh"] == expected.fillna(50.0)).all()
    assert (
        e.loc[untagged, "road_class"] == "unclassified"
    ).sum() == 2  # measured: 2 unclassified, 314 service
    # a posted number still wins over the national default
    posted = e["maxspeed"].astype("object").map(lambda v: isinstance(v, str) and v.strip().isdigit())
    posted &= e["speed_kmh"].notna()  # pedestrian streets keep no car speed, posted or not
    assert posted.sum() > 500
    assert (e.loc[posted, "speed_kmh"] == e.loc[posted, "maxspeed"].astype(float)).all()


def test_oakland_network_in_utm_10n_takes_us_speeds():
    # a small grid of streets placed in Oakland, California (EPSG:26910)
    frame = streets("EPSG:26910")
    frame = frame.set_geometry(frame.geometry.translate(564_000, 4_184_000))
    net = read_network(frame, kind="road", snap_tolerance_m=0.5)
    e = net.edges.set_index("name")
    assert e.loc["Rue A", "speed_kmh"] == pytest.approx(25 * 1.609344)  # not the French 50 km/h
    assert e.loc["Rue B", "speed_kmh"] == pytest.approx(30 * 1.609344)  # posted "30 mph" still wins
    params = _speed_step(net)
    assert params["country"] == "US" and params["chosen"] == "found at the centre of the edges' extent"
    # country= chooses, and is recorded as given
    fr = read_network(frame, kind="road", snap_tolerance_m=0.5, country="FR")
    assert fr.edges.set_index("name").loc["Rue A", "speed_kmh"] == 50.0
    assert _speed_step(fr)["chosen"] == "given"
    with pytest.raises(ValidationError, match="road networks only"):
        read_network(frame, kind="water", country="FR")


# --- hostile lines: null geometries, NaN / infinite coordinates ---------------------------------
def test_null_and_empty_geometries_are_dropped_with_a_warning_and_a_count():
    from cimkit.errors import RepairWarning

    gdf = streets()
    gdf.loc[2, "geometry"] = None  # Allée C
    gdf.loc[3, "geometry"] = LineString()  # Rue D, empty
    with pytest.warns(RepairWarning, match="2 of 4 line") as caught:
        net = read_network(gdf, kind="road", snap_tolerance_m=0.5)
    assert "NET101" in {w.message.code for w in caught if isinstance(w.message, RepairWarning)}
    assert net.report["null_geometries_dropped"] == 2
    assert sorted(net.edges["name"]) == ["Rue A", "Rue B"] and len(net.nodes) == 3
    step = next(s for s in provenance.get(net).steps if s.action == "drop_null_geometries")
    assert (step.params["count"], step.params["of"]) == (2, 4)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_coordinates_are_refused_naming_the_lines(bad):
    from cimkit.errors import GeometryError

    gdf = streets()
    gdf.loc[1, "geometry"] = LineString([(100, 0), (bad, 0)])
    with pytest.raises(GeometryError, match="NaN or infinite") as info:
        read_network(gdf, kind="road")
    assert info.value.code == "NET006" and info.value.entity == [1]
    # the same in geographic coordinates, refused before reprojection
    wgs = streets().to_crs(4326)
    wgs.loc[0, "geometry"] = LineString([(2.3, 48.8), (2.3, bad)])
    with pytest.raises(GeometryError) as info:
        read_network(wgs, kind="road")
    assert info.value.code == "NET006" and info.value.entity == [0]


def test_a_network_refuses_nan_node_positions():
    from cimkit.errors import GeometryError
    from cimkit.network.graph import Network

    nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(np.nan, 5.0)], crs="EPSG:2154")
    edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString([(0, 0), (1, 5)])], crs="EPSG:2154")
    with pytest.raises(GeometryError) as info:
        Network(nodes, edges, kind="water")
    assert info.value.code == "NET006" and info.value.entity == [1]
