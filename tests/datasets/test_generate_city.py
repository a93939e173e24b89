"""The city generator by size: cimkit.datasets.generate_city."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from cimkit.datasets import generate_city
from cimkit.errors import InputError

N = 1_000


def _manifest(folder: Path) -> dict[str, str]:
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {f["path"]: f["sha256"] for f in data["files"]}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("city") / "c1k"
    start = time.perf_counter()
    generate_city(folder, buildings=N, seed=2154)
    print(f"generate_city 1k: {time.perf_counter() - start:.1f} s")
    return folder


@pytest.fixture(scope="module")
def layers(city):
    import geopandas as gpd

    return {
        "footprints": gpd.read_file(city / "footprints.geojson"),
        "parcels": gpd.read_file(city / "parcels.geojson").to_crs(2154),
        "zones": gpd.read_file(city / "zone_urba.geojson").to_crs(2154),
        "streets": gpd.read_file(city / "streets.geojson"),
        "pois": gpd.read_file(city / "pois.geojson"),
    }


def test_files_and_manifest(city):
    manifest = _manifest(city)
    for name in (
        "city.toml",
        "dem.tif",
        "footprints.geojson",
        "parcels.geojson",
        "zone_urba.geojson",
        "zone_rules.csv",
        "prescription_surf.geojson",
        "streets.geojson",
        "water_pipes.geojson",
        "water_network.inp",
        "pois.geojson",
        "river.geojson",
        "flood_scenarios.csv",
        "buildings/index.csv",
        "README.md",
    ):
        assert name in manifest, name
    for name, digest in manifest.items():
        assert hashlib.sha256((city / name).read_bytes()).hexdigest() == digest, name
    # the recipe records the current sha256 of the footprints
    fp = hashlib.sha256((city / "footprints.geojson").read_bytes()).hexdigest()
    assert f'sha256 = "{fp}"' in (city / "city.toml").read_text(encoding="utf-8")


def test_counts_and_ids(city, layers):
    fp, parcels = layers["footprints"], layers["parcels"]
    assert len(fp) == N
    assert fp["id"].is_unique and parcels["id"].is_unique
    assert fp["id"].iloc[0] == "BATI0001" and fp["id"].iloc[-1] == "BATI1000"
    assert parcels["id"].str.len().eq(14).all() and parcels["id"].str.startswith("91999000").all()
    assert set(fp["use"]) <= {"residential", "office", "retail", "industrial", "education"}
    assert (fp["use"] == "residential").mean() > 0.6
    assert fp["height_m"].isna().sum() < 0.02 * N and (fp["height_m"].dropna() > 2.0).all()
    rows = list(csv.DictReader((city / "buildings" / "index.csv").open(encoding="utf-8")))
    assert len(rows) == 10 == len(list((city / "buildings").glob("*.ifc")))
    assert {r["file"] for r in rows} == {p.name for p in (city / "buildings").glob("*.ifc")}
    assert set(r["parcel_id"] for r in rows) <= set(parcels["id"])
    # contenance within 2 % of the true area
    ratio = parcels["contenance"] / parcels.area
    assert ratio.between(0.975, 1.025).all()


def test_every_building_inside_one_parcel_and_parcels_in_extent(layers):
    import geopandas as gpd

    fp, parcels, streets = layers["footprints"], layers["parcels"], layers["streets"]
    joined = gpd.sjoin(fp, parcels[["id", "geometry"]].rename(columns={"id": "pid"}), predicate="within")
    assert joined.index.is_unique and len(joined) == N
    per_parcel = joined.groupby("pid").size()
    assert per_parcel.max() <= 3 and (per_parcel == 1).mean() > 0.8  # one building per parcel mostly
    x0, y0, x1, y1 = streets.total_bounds
    px0, py0, px1, py1 = parcels.total_bounds
    assert x0 < px0 and y0 < py0 and px1 < x1 and py1 < y1
    # zones tile the extent, every parcel inside one zone
    assert abs(layers["zones"].area.sum() - (x1 - x0) * (y1 - y0)) < 1.0
    inzone = gpd.sjoin(parcels.assign(geometry=parcels.buffer(-0.5)), layers["zones"], predicate="within")
    assert inzone.index.is_unique and len(inzone) == len(parcels)
    # density of a French suburban town (valley included)
    density = N / ((x1 - x0) * (y1 - y0) / 1e6)
    assert 700 < density < 2_500


def test_street_graph_connected(layers):
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    geoms = layers["streets"].geometry.values
    ends = np.round(
        np.stack(
            [
                shapely.get_coordinates(shapely.get_point(geoms, 0)),
                shapely.get_coordinates(shapely.get_point(geoms, -1)),
            ],
            axis=1,
        ),
        2,
    )
    nodes, inverse = np.unique(ends.reshape(-1, 2), axis=0, return_inverse=True)
    edges = inverse.reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(nodes), len(nodes)))
    assert connected_components(graph, directed=False)[0] == 1
    assert {"primary", "secondary", "residential"} <= set(layers["streets"]["highway"])
    assert (layers["streets"]["bridge"] == "yes").sum() >= 1
    diagonal = layers["streets"][layers["streets"]["highway"] == "primary"].geometry
    dx = diagonal.apply(lambda g: abs(g.coords[-1][0] - g.coords[0][0]))
    assert (dx > 1.0).all()  # the avenues marked primary are the diagonals


def test_dem_river_valley_and_flood_levels(city, layers):
    import geopandas as gpd
    import rasterio

    river = gpd.read_file(city / "river.geojson").geometry.iloc[0]
    with rasterio.open(city / "dem.tif") as src:
        assert src.crs.to_epsg() == 2154 and src.nodata == -9999 and src.res == (5.0, 5.0)
        xy = np.asarray(river.coords)[5:-5:7]
        bed = np.array([v[0] for v in src.sample(xy)])
        north = np.array([v[0] for v in src.sample(xy + np.array([0.0, 100.0]))])
        south = np.array([v[0] for v in src.sample(xy - np.array([0.0, 100.0]))])
        assert (bed < north - 2.0).all() and (bed < south - 2.0).all()
        c = layers["footprints"].geometry.centroid
        ground = np.array([v[0] for v in src.sample(np.column_stack([c.x, c.y]))])
    rows = list(csv.DictReader((city / "flood_scenarios.csv").open(encoding="utf-8")))
    assert [r["return_period"] for r in rows] == ["10", "100", "1000"]
    shares = [float((ground < float(r["water_level_m"])).mean()) for r in rows]
    assert 0.02 <= shares[0] < shares[1] < shares[2] <= 0.10


def test_ifc_copies_are_distinct_and_match_footprints(city, layers):
    import ifcopenshell
    import shapely

    files = sorted((city / "buildings").glob("*.ifc"))
    guids: set[str] = set()
    fp = layers["footprints"]
    for path in files[:4]:
        model = ifcopenshell.open(str(path))
        ids = {e.GlobalId for e in model.by_type("IfcRoot")}
        assert not ids & guids
        guids |= ids
        conversion = model.by_type("IfcMapConversion")[0]
        assert 640_000 < conversion.Eastings < 660_000 and 6_830_000 < conversion.Northings < 6_850_000
        # the model's local origin is the south-west corner of its cadastre footprint (0.15 m noise)
        origin = shapely.Point(conversion.Eastings, conversion.Northings)
        near = fp.iloc[int(fp.distance(origin).argmin())]
        minx, miny, maxx, _ = near.geometry.bounds
        assert abs(minx - conversion.Eastings) < 0.31 and abs(miny - conversion.Northings) < 0.31
        building = model.by_type("IfcBuilding")[0]
        assert building.Name.split(" ")[0] in {"Maison", "Bureaux", "Commerce", "École"}
        assert 8.0 < maxx - minx < 50.0


def test_deterministic_for_a_seed(city, tmp_path):
    again = generate_city(tmp_path / "again", buildings=N, seed=2154)
    assert _manifest(again) == _manifest(city)


def test_footprints_only_and_seed(tmp_path):
    import geopandas as gpd

    a = generate_city(tmp_path / "a", buildings=2_000, seed=1, footprints_only=True)
    b = generate_city(tmp_path / "b", buildings=2_000, seed=1, footprints_only=True)
    c = generate_city(tmp_path / "c", buildings=2_000, seed=2, footprints_only=True)
    assert _manifest(a) == _manifest(b)
    assert _manifest(a)["footprints.parquet"] != _manifest(c)["footprints.parquet"]
    assert sorted(_manifest(a)) == [
        "README.md",
        "footprints.parquet",
        "parcels.parquet",
        "zone_rules.csv",
        "zone_urba.parquet",
    ]
    fp = gpd.read_parquet(a / "footprints.parquet")
    parcels = gpd.read_parquet(a / "parcels.parquet")
    assert len(fp) == 2_000 and fp.crs.to_epsg() == 2154 and fp["id"].is_unique
    assert len(gpd.sjoin(fp, parcels, predicate="within")) == 2_000
    assert not (a / "dem.tif").exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"buildings": 5}, "CTY001"),
        ({"buildings": 100, "ifc_share": 0.5}, "CTY002"),
        ({"buildings": 100, "seed": -1}, "CTY003"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, code):
    with pytest.raises(InputError) as info:
        generate_city(tmp_path, **kwargs)
    assert info.value.code == code


def test_destination_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError) as info:
        generate_city(target, buildings=100)
    assert info.value.code == "CTY004"


def test_command_line(tmp_path, capsys):
    from cimkit.datasets.city import main

    assert main([str(tmp_path / "fp"), "--buildings", "300", "--footprints-only", "--seed", "3"]) == 0
    assert (tmp_path / "fp" / "footprints.parquet").is_file()
    assert main([str(tmp_path / "bad"), "--buildings", "3"]) == 2
    assert "error[CTY001]" in capsys.readouterr().err


@pytest.mark.slow  # about 100 s wall on the loaded 2-core machine (about 15 s of CPU)
def test_build_city_runs_on_a_generated_city(tmp_path):
    import warnings

    import cimkit

    folder = generate_city(tmp_path / "c300", buildings=300, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cimkit.build_city(folder / "city.toml", output=tmp_path / "out")
    b = result.model.buildings
    assert len(b) == 300
    assert (b["source_kind"] == "ifc").sum() == 3
    for column in (
        "plu_compliant",
        "depth_m_rp100",
        "ead_eur",
        "embodied_kgco2e",
        "score_15min",
        "parcel_id",
    ):
        assert column in b.columns, column
    assert b["parcel_id"].notna().all()
    assert 0.02 <= (b["depth_m_rp100"] > 0).mean() <= 0.10
    assert b["plu_compliant"].mean() > 0.8


def test_regenerating_into_a_folder_replaces_its_ifc_files(tmp_path):
    folder = generate_city(tmp_path / "c", buildings=200, ifc_share=0.05, seed=1)
    (folder / "buildings" / "mine.ifc").write_text("not generated")
    generate_city(folder, buildings=200, ifc_share=0.05, seed=2)
    rows = list(csv.DictReader((folder / "buildings" / "index.csv").open(encoding="utf-8")))
    files = {p.name for p in (folder / "buildings").glob("*.ifc")}
    assert len(rows) == 10 and files == {r["file"] for r in rows} | {"mine.ifc"}


def test_water_network_inp_reads_as_one_network(city):
    import geopandas as gpd

    from cimkit.io.epanet import read_epanet

    pipes = gpd.read_file(city / "water_pipes.geojson")
    network = read_epanet(city / "water_network.inp", crs="EPSG:2154")
    ends = {tuple(np.round(g.coords[k], 2)) for g in pipes.geometry for k in (0, -1)}
    assert len(network.edges) == len(pipes) + 1  # every main + the feed from the water tower
    assert len(network.nodes) == len(ends) + 1  # every junction + the tower
    text = (city / "water_network.inp").read_text(encoding="utf-8")
    assert "[RESERVOIRS]" in text and " ALIM01  R1  " in text
