"""Tests of the sample city generator (cimkit.datasets.generator).

The city is generated once per module into a temporary folder. Every check recomputes its
truth from the files themselves (IFC geometry tessellated by ifcopenshell.geom, parcels
reprojected with geopandas/pyproj, the DEM read with rasterio, graphs built with networkx);
``buildings/index.csv`` is only used to name the files, never as the truth for positions.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from cimkit.datasets.generator import generate_sample_city
from cimkit.errors import InputError

REPO = Path(__file__).resolve().parents[2]
USES = {"residential", "office", "education", "retail"}
SPACE_USES = {"Logement", "Bureau", "Salle de classe", "Commerce"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    return generate_sample_city(tmp_path_factory.mktemp("city"))


@pytest.fixture(scope="module")
def index(city) -> list[dict[str, str]]:
    with open(city / "buildings" / "index.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def ifc_files(city) -> list[Path]:
    return sorted((city / "buildings").glob("*.ifc"))


@pytest.fixture(scope="module")
def parcels(city):
    import geopandas as gpd

    return gpd.read_file(city / "parcels.geojson")


@pytest.fixture(scope="module")
def zones(city):
    import geopandas as gpd

    return gpd.read_file(city / "zone_urba.geojson")


@pytest.fixture(scope="module")
def footprints(city):
    import geopandas as gpd

    return gpd.read_file(city / "footprints.geojson")


@pytest.fixture(scope="module")
def dem(city):
    import rasterio

    with rasterio.open(city / "dem.tif") as src:
        return {
            "values": src.read(1),
            "transform": src.transform,
            "crs": src.crs,
            "nodata": src.nodata,
            "res": src.res,
        }


def _map_conversion(model):
    conversion = model.by_type("IfcMapConversion")[0]
    a, b = conversion.XAxisAbscissa, conversion.XAxisOrdinate
    norm = math.hypot(a, b)
    return conversion, a / norm, b / norm, conversion.Scale if conversion.Scale is not None else 1.0


@pytest.fixture(scope="module")
def ifc_hulls(ifc_files):
    """Per file: footprint hull (EPSG:2154) and roof-top height above OrthogonalHeight, both from geometry.

    ifcopenshell.geom returns world coordinates in metres; dividing by the project length unit
    scale gives project units, to which the IfcMapConversion is applied by hand:
    E = E0 + s(a x - b y), N = N0 + s(b x + a y).
    """
    import ifcopenshell
    import ifcopenshell.geom
    import ifcopenshell.util.unit
    import shapely

    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    result = {}
    for path in ifc_files:
        model = ifcopenshell.open(str(path))
        unit_scale = ifcopenshell.util.unit.calculate_unit_scale(model)  # project unit -> metre
        conversion, a, b, s = _map_conversion(model)
        products = [
            *model.by_type("IfcWall"),
            *model.by_type("IfcSlab"),
            *model.by_type("IfcWindow"),
            *model.by_type("IfcDoor"),
        ]
        vertices = []
        for product in products:
            shape = ifcopenshell.geom.create_shape(settings, product)
            vertices.append(np.asarray(shape.geometry.verts, dtype=float).reshape(-1, 3))
        xyz = np.vstack(vertices) / unit_scale  # back to project units
        east = conversion.Eastings + s * (a * xyz[:, 0] - b * xyz[:, 1])
        north = conversion.Northings + s * (b * xyz[:, 0] + a * xyz[:, 1])
        hull = shapely.convex_hull(shapely.multipoints(np.column_stack([east, north])))
        result[path.name] = {
            "hull": hull,
            "probe": (xyz[0], east[0], north[0]),
            "top_m": float(s * xyz[:, 2].max()),
            "height0": conversion.OrthogonalHeight,
            "model": model,
        }
    return result


def _sample(dem, x, y) -> np.ndarray:
    import rasterio.transform

    rows, cols = rasterio.transform.rowcol(dem["transform"], np.atleast_1d(x), np.atleast_1d(y))
    return dem["values"][np.asarray(rows), np.asarray(cols)]


# ---------------------------------------------------------------------------------------
def test_generation_is_deterministic(city, tmp_path):
    # a second generation into another folder must give byte-identical files
    second = generate_sample_city(tmp_path / "again")
    first_files = sorted(p.relative_to(city).as_posix() for p in city.rglob("*") if p.is_file())
    second_files = sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert first_files == second_files
    assert (
        len(first_files) == 27
    )  # 11 IFC + index.csv + 12 layers and tables (water_network.inp) + README + manifest + city.toml
    for name in first_files:
        assert _sha(city / name) == _sha(second / name), name


@pytest.mark.slow
def test_other_seed_changes_layout_not_structure(city, tmp_path):
    other = generate_sample_city(tmp_path / "seed7", seed=7)
    assert _sha(other / "parcels.geojson") != _sha(city / "parcels.geojson")
    assert sorted(p.name for p in (other / "buildings").glob("*.ifc")) == sorted(
        p.name for p in (city / "buildings").glob("*.ifc")
    )


def test_bad_seed_is_rejected(tmp_path):
    with pytest.raises(InputError, match="seed"):
        generate_sample_city(tmp_path, seed=-1)
    with pytest.raises(InputError, match="seed"):
        generate_sample_city(tmp_path, seed="2154")  # type: ignore[arg-type]
    not_a_folder = tmp_path / "city.txt"
    not_a_folder.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        generate_sample_city(not_a_folder)
    assert not_a_folder.read_text() == "x"


def test_manifest_lists_every_file_with_its_sha256(city):
    manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    listed = {item["path"]: item for item in manifest["files"]}
    on_disk = {p.relative_to(city).as_posix() for p in city.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for name, item in listed.items():
        assert item["sha256"] == _sha(city / name)
        assert item["bytes"] == (city / name).stat().st_size
        assert item["description"]
    assert manifest["crs"] == "EPSG:2154" and manifest["seed"] == 2154 and manifest["synthetic"] is True


def test_total_size_is_small(city, ifc_files):
    total = sum(p.stat().st_size for p in city.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024
    for path in ifc_files:
        assert path.stat().st_size < 150_000, path.name


def test_readme_says_what_the_data_is(city):
    text = (city / "README.md").read_text(encoding="utf-8")
    for phrase in ("synthetic", "generate_sample_city", "EPSG:2154", "MIT", "residence_hugo", "0.2 m"):
        assert phrase in text


# ---------------------------------------------------------------------------------------
def test_ifc_files_structure(ifc_files, index):
    import ifcopenshell
    import ifcopenshell.util.element

    assert 10 <= len(ifc_files) <= 12
    assert {row["file"] for row in index} == {p.name for p in ifc_files}
    by_file = {row["file"]: row for row in index}
    types = []
    for path in ifc_files:
        model = ifcopenshell.open(str(path))
        assert model.schema == "IFC4"
        assert model.header.file_name.time_stamp == "2025-01-15T09:00:00"
        conversions = model.by_type("IfcMapConversion")
        assert len(conversions) == 1
        crs = conversions[0].TargetCRS
        assert crs.is_a("IfcProjectedCRS") and crs.Name == "EPSG:2154"
        assert crs.MapUnit.Name == "METRE" and crs.MapUnit.Prefix is None
        assert len(model.by_type("IfcProject")) == 1 and len(model.by_type("IfcSite")) == 1
        (building,) = model.by_type("IfcBuilding")
        use = ifcopenshell.util.element.get_pset(building, "Pset_BuildingCommon", "OccupancyType")
        assert use in USES and use == by_file[path.name]["use"]
        storeys = model.by_type("IfcBuildingStorey")
        assert 1 <= len(storeys) <= 5 and len(storeys) == int(by_file[path.name]["storeys"])
        spaces = model.by_type("IfcSpace")
        assert len(spaces) >= len(storeys)
        assert {space.LongName for space in spaces} <= SPACE_USES
        # every storey holds at least one space
        for storey in storeys:
            assert any(
                child.is_a("IfcSpace") for rel in storey.IsDecomposedBy for child in rel.RelatedObjects
            )
        walls = model.by_type("IfcWall")
        assert len(walls) == 4 * len(storeys)
        for wall in walls:
            usage = ifcopenshell.util.element.get_material(wall, should_skip_usage=False)
            assert usage.is_a("IfcMaterialLayerSetUsage")
            layers = usage.ForLayerSet.MaterialLayers
            assert len(layers) >= 2
            width = ifcopenshell.util.element.get_pset(wall, "Qto_WallBaseQuantities", "Width")
            assert sum(layer.LayerThickness for layer in layers) == pytest.approx(width, rel=1e-9)
        for slab in model.by_type("IfcSlab"):
            assert ifcopenshell.util.element.get_material(slab, should_skip_usage=True).is_a(
                "IfcMaterialLayerSet"
            )
        assert len(model.by_type("IfcRoof")) == 1
        assert len(model.by_type("IfcSlab")) == len(storeys) + 1  # floors + roof slab
        assert model.by_type("IfcWindow") and model.by_type("IfcDoor")
        # windows fill openings that void walls
        for window in model.by_type("IfcWindow"):
            opening = window.FillsVoids[0].RelatingOpeningElement
            assert opening.VoidsElements[0].RelatingBuildingElement.is_a("IfcWall")
        names = {m.Name for m in model.by_type("IfcMaterial")}
        assert names & {"Glass", "Verre"}
        types.append(by_file[path.name]["building_type"])
    assert 4 <= types.count("individual_house") <= 5
    assert 1 <= types.count("collective_housing") <= 2
    assert types.count("office") == 2 and types.count("education") == 1
    assert 1 <= types.count("retail") <= 2


def test_ifc_units_scale_and_rotation(ifc_files, index):
    import ifcopenshell
    import ifcopenshell.util.unit

    rotations, mm_files = {}, []
    for path in ifc_files:
        model = ifcopenshell.open(str(path))
        _, a, b, s = _map_conversion(model)
        unit_scale = ifcopenshell.util.unit.calculate_unit_scale(model)
        # Scale converts project length units to the map unit (metre)
        assert s == pytest.approx(unit_scale, rel=1e-12)
        if unit_scale == pytest.approx(0.001):
            mm_files.append(path.name)
        rotations[path.name] = math.degrees(math.atan2(b, a))
    assert mm_files
    by_file = {row["file"]: row for row in index}
    assert sorted(mm_files) == sorted(f for f, row in by_file.items() if row["length_unit"] == "mm")
    assert any(abs(r) > 1.0 for r in rotations.values())
    for name, rotation in rotations.items():
        expected = float(by_file[name]["rotation_deg"])
        assert ((rotation - expected + 180.0) % 360.0) - 180.0 == pytest.approx(0.0, abs=1e-6)


def test_ifc_quantities_agree_with_geometry(ifc_hulls):
    """Qto values against volumes and areas measured on ifcopenshell's own tessellation."""
    import ifcopenshell.geom
    import ifcopenshell.util.element
    import ifcopenshell.util.unit

    settings = ifcopenshell.geom.settings()

    def volume(product) -> float:  # closed mesh volume by the divergence theorem, m³
        shape = ifcopenshell.geom.create_shape(settings, product)
        v = np.asarray(shape.geometry.verts).reshape(-1, 3)
        f = np.asarray(shape.geometry.faces).reshape(-1, 3)
        return float(abs(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum()) / 6.0)

    for name in ("maison_jaures_21.ifc", "residence_hugo.ifc"):
        model = ifc_hulls[name]["model"]
        length_scale = ifcopenshell.util.unit.calculate_unit_scale(model)
        wall = model.by_type("IfcWall")[0]  # has openings: NetVolume < GrossVolume
        qto = ifcopenshell.util.element.get_pset(wall, "Qto_WallBaseQuantities")
        assert qto["NetVolume"] < qto["GrossVolume"]
        assert volume(wall) == pytest.approx(qto["NetVolume"], rel=1e-3)
        # length quantities are in project units, volumes in m³
        assert qto["Length"] * length_scale * qto["Height"] * length_scale * qto["Width"] * length_scale == (
            pytest.approx(qto["GrossVolume"], rel=1e-6)
        )
        slab = next(s for s in model.by_type("IfcSlab") if s.PredefinedType == "FLOOR")
        sqto = ifcopenshell.util.element.get_pset(slab, "Qto_SlabBaseQuantities")
        assert volume(slab) == pytest.approx(sqto["NetVolume"], rel=1e-6)
        space = model.by_type("IfcSpace")[0]
        spqto = ifcopenshell.util.element.get_pset(space, "Qto_SpaceBaseQuantities")
        assert volume(space) == pytest.approx(spqto["NetVolume"], rel=1e-6)
        assert spqto["NetVolume"] == pytest.approx(
            spqto["NetFloorArea"] * spqto["Height"] * length_scale, rel=1e-9
        )


def test_each_ifc_building_lies_on_its_own_parcel(ifc_hulls, parcels, footprints, dem):
    import ifcopenshell.util.geolocation
    import shapely

    parcels_l93 = parcels.to_crs(2154)
    owners = set()
    for name, item in ifc_hulls.items():
        hull = item["hull"]
        hits = parcels_l93[parcels_l93.intersects(hull)]
        assert len(hits) == 1, name  # on one parcel only
        parcel = hits.geometry.iloc[0]
        assert parcel.buffer(-2.0).contains(hull), name  # fully inside, with setbacks
        owners.add(hits["id"].iloc[0])
        # IfcSite's approximate lat/lon reference (the local origin, a footprint corner) is on the
        # same parcel in the published EPSG:4326 geometry
        site = item["model"].by_type("IfcSite")[0]
        lat = ifcopenshell.util.geolocation.dms2dd(*site.RefLatitude)
        lon = ifcopenshell.util.geolocation.dms2dd(*site.RefLongitude)
        parcel_4326 = parcels.loc[parcels["id"] == hits["id"].iloc[0]].geometry.iloc[0]
        assert parcel_4326.buffer(1e-7).contains(shapely.Point(lon, lat)), name
        # the terrain at the building centre is the model's OrthogonalHeight
        centre = hull.centroid
        assert float(_sample(dem, centre.x, centre.y)[0]) == pytest.approx(item["height0"], abs=0.02), name
        # the cadastre draws the same outline within 0.3 m
        distances = footprints.geometry.hausdorff_distance(hull)
        assert distances.min() < 0.3, name
    assert len(owners) == len(ifc_hulls)  # each building on its own parcel


def test_map_conversion_agrees_with_ifcopenshell(ifc_hulls):
    """The hand-applied conversion equals ifcopenshell.util.geolocation's (an independent implementation)."""
    import ifcopenshell.util.geolocation

    for name, item in ifc_hulls.items():
        xyz, east, north = item["probe"]
        e, n, _ = ifcopenshell.util.geolocation.auto_xyz2enh(item["model"], *xyz)
        assert (e, n) == pytest.approx((east, north), abs=1e-6), name


def test_ifc_files_are_schema_valid(ifc_files):
    import ifcopenshell
    import ifcopenshell.validate

    for path in ifc_files:
        logger = ifcopenshell.validate.json_logger()
        ifcopenshell.validate.validate(ifcopenshell.open(str(path)), logger, express_rules=False)
        assert logger.statements == [], path.name


# ---------------------------------------------------------------------------------------
def test_parcels(parcels, zones):
    assert parcels.crs.to_epsg() == 4326
    assert 60 <= len(parcels) <= 120
    assert parcels["id"].is_unique
    for row in parcels.itertuples():
        assert re.fullmatch(r"91999000[A-Z]{2}\d{4}", row.id)
        assert row.id == row.commune + row.prefixe + row.section + row.numero
    l93 = parcels.to_crs(2154)
    area = l93.area.to_numpy()
    error = parcels["contenance"].to_numpy() / area - 1.0
    assert (np.abs(error) > 0.25).sum() == 1  # the one deliberate outlier ...
    assert np.abs(error).max() == pytest.approx(0.30, abs=0.005)
    assert np.sort(np.abs(error))[-2] < 0.025  # ... every other declared area within 2.5 %
    # no overlaps: the sum of areas equals the area of the union
    assert area.sum() == pytest.approx(l93.union_all().area, rel=1e-6)
    # every parcel lies in exactly one zone
    zones_l93 = zones.to_crs(2154)
    for geom in l93.geometry:
        assert zones_l93.buffer(0.01).contains(geom).sum() == 1


def test_zoning_and_rules(city, zones):
    import pandas as pd

    fields = {"gid", "partition", "libelle", "libelong", "typezone", "destdomi", "nomfic", "urlfic", "insee",
              "datappro", "datvalid", "idurba", "idzone"}  # fmt: skip
    assert fields <= set(zones.columns)
    assert zones.crs.to_epsg() == 4326
    assert 5 <= len(zones) <= 7
    assert set(zones["typezone"]) <= {"U", "AUc", "AUs", "A", "N"}
    # the zones tile the 800 m x 800 m town without overlaps
    l93 = zones.to_crs(2154)
    assert l93.area.sum() == pytest.approx(800.0 * 800.0, rel=1e-5)
    assert l93.union_all().area == pytest.approx(800.0 * 800.0, rel=1e-5)
    rules = pd.read_csv(city / "zone_rules.csv", keep_default_na=False)
    assert list(rules.columns) == ["libelle", "max_height_m", "max_footprint_ratio", "min_setback_road_m",
                                   "min_setback_side_m", "side_setback_height_ratio", "min_green_ratio",
                                   "allowed_uses"]  # fmt: skip
    assert sorted(rules["libelle"]) == sorted(zones["libelle"])
    for uses in rules["allowed_uses"]:
        assert set(filter(None, uses.split(";"))) <= {
            "residential",
            "office",
            "education",
            "retail",
            "industrial",
        }


def test_exactly_one_building_too_high_and_one_parcel_over_ratio(city, ifc_hulls, parcels, zones, footprints):
    import geopandas as gpd
    import pandas as pd

    rules = pd.read_csv(city / "zone_rules.csv", keep_default_na=False).set_index("libelle")
    zones_l93 = zones.to_crs(2154)
    too_high = []
    for name, item in ifc_hulls.items():
        zone = zones_l93.loc[zones_l93.contains(item["hull"]), "libelle"].iloc[0]
        if item["top_m"] > rules.loc[zone, "max_height_m"] + 1e-6:
            too_high.append(name)
    assert too_high == ["residence_hugo.ifc"]  # 15 m in UB (max 12 m), from the IFC geometry
    # footprint ratio = built area / parcel area, computed by overlay
    l93 = parcels.to_crs(2154)
    built = gpd.overlay(footprints[["geometry"]], l93[["id", "geometry"]], how="intersection")
    ratio = built.assign(a=built.area).groupby("id")["a"].sum() / l93.set_index("id").area
    zone_of = gpd.sjoin(
        l93.assign(geometry=l93.representative_point()),
        zones_l93[["libelle", "geometry"]],
        predicate="within",
    ).set_index("id")["libelle"]
    limit = zone_of.map(rules["max_footprint_ratio"])
    over = sorted(ratio[ratio > limit.reindex(ratio.index)].index)
    assert len(over) == 1
    assert zone_of[over[0]] == "UA" and ratio[over[0]] == pytest.approx(0.78, abs=0.01)


def test_prescriptions(city, zones):
    import geopandas as gpd

    psc = gpd.read_file(city / "prescription_surf.geojson")
    assert {"libelle", "txt", "typepsc", "stypepsc", "idurba"} <= set(psc.columns)
    assert sorted(psc["typepsc"]) == ["01", "05"]
    ebc = psc.loc[psc["typepsc"] == "01"].to_crs(2154).geometry.iloc[0]
    n_zone = zones.loc[zones["libelle"] == "N"].to_crs(2154).geometry.iloc[0]
    assert n_zone.buffer(0.01).contains(ebc)


# ---------------------------------------------------------------------------------------
def test_streets_connect_after_snapping(city):
    import geopandas as gpd
    import networkx as nx
    import shapely
    from scipy.spatial import cKDTree

    streets = gpd.read_file(city / "streets.geojson")
    river = gpd.read_file(city / "river.geojson")
    assert streets.crs.to_epsg() == 2154
    assert 15 <= len(streets) <= 40
    assert set(streets["highway"]) <= {"primary", "secondary", "tertiary", "residential", "living_street",
                                       "footway", "cycleway"}  # fmt: skip
    assert set(streets["oneway"]) == {"yes", "no"}
    walk = streets["highway"].isin(["footway", "cycleway"])
    assert streets.loc[~walk, "maxspeed"].notna().all()
    assert streets.loc[walk, "maxspeed"].isna().all()
    bridge = streets.loc[streets["bridge"] == "yes"]
    assert len(bridge) == 1 and bridge.intersects(river.geometry.iloc[0]).all()

    def components(tolerance: float) -> int:
        coords = [np.asarray(g.coords) for g in streets.geometry]
        points = np.vstack(coords)
        # union of points closer than the tolerance (cKDTree pairs), then one node per cluster
        graph = nx.Graph()
        graph.add_nodes_from(range(len(points)))
        if tolerance > 0:
            graph.add_edges_from(cKDTree(points).query_pairs(tolerance))
        else:
            keys = {}
            for i, p in enumerate(map(tuple, points)):
                graph.add_edge(i, keys.setdefault(p, i))
        node_of = {}
        for k, cluster in enumerate(nx.connected_components(graph)):
            for i in cluster:
                node_of[i] = k
        network = nx.Graph()
        start = 0
        for line in coords:
            ids = [node_of[start + j] for j in range(len(line))]
            network.add_edges_from(itertools.pairwise(ids))
            start += len(line)
        return nx.number_connected_components(network)

    assert components(0.5) == 1
    # without snapping, exactly two line ends stop 0.2 m short of another street's vertex
    coords = [np.asarray(g.coords) for g in streets.geometry]
    gaps = []
    for k, line in enumerate(coords):
        others = np.vstack([c for j, c in enumerate(coords) if j != k])
        for end in (line[0], line[-1]):
            gaps.append(np.hypot(*(others - end).T).min())
    gaps = np.asarray(gaps)
    assert ((gaps > 0.0) & (gaps < 0.5)).sum() == 2
    assert gaps[(gaps > 0.0) & (gaps < 0.5)] == pytest.approx([0.2, 0.2], abs=1e-6)
    assert shapely.get_num_geometries(streets.geometry).max() == 1


def test_water_pipes_follow_streets(city):
    import geopandas as gpd

    pipes = gpd.read_file(city / "water_pipes.geojson")
    streets = gpd.read_file(city / "streets.geojson")
    assert pipes.crs.to_epsg() == 2154
    assert {"pipe_id", "diameter_mm", "material", "install_year"} <= set(pipes.columns)
    assert pipes["pipe_id"].is_unique
    assert set(pipes["material"]) == {"fonte ductile", "PVC", "PEHD"}
    assert pipes["diameter_mm"].between(60, 400).all() and pipes["install_year"].between(1900, 2026).all()
    network = streets.union_all().buffer(0.5)
    assert pipes.within(network).all()


def test_pois(city):
    import geopandas as gpd

    pois = gpd.read_file(city / "pois.geojson")
    categories = {"school", "childcare", "doctor", "pharmacy", "supermarket", "bakery", "shop", "park", "sports",
                  "library", "bus_stop"}  # fmt: skip
    assert pois.crs.to_epsg() == 2154
    assert 20 <= len(pois) <= 40
    assert set(pois["category"]) <= categories
    with_capacity = pois["category"].isin(["school", "childcare"])
    assert pois.loc[with_capacity, "capacity"].gt(0).all()
    assert pois.loc[~with_capacity, "capacity"].isna().all()
    assert pois.within(
        gpd.GeoSeries.from_xy([651_000], [6_847_000]).buffer(600, cap_style="square").iloc[0]
    ).all()


# ---------------------------------------------------------------------------------------
def test_dem(dem):
    values, nodata = dem["values"], dem["nodata"]
    assert values.dtype == np.float32
    assert values.shape == (180, 180)
    assert dem["crs"].to_epsg() == 2154 and dem["res"] == (5.0, 5.0)
    assert nodata == -9999.0
    missing = np.argwhere(values == nodata)
    assert 1 <= len(missing) <= 20
    assert missing[:, 0].max() < 10 and missing[:, 1].min() > 170  # the north-east corner
    valid = values[values != nodata]
    assert 34.5 < valid.min() < 35.5  # river bed
    assert 53.0 < valid.max() < 60.0  # the top of the town's slope


def _connected_flood(dem, river_geom, level: float):
    import rasterio.features
    from scipy import ndimage

    values = dem["values"]
    wet = (values < level) & (values != dem["nodata"])
    river = rasterio.features.rasterize(
        [river_geom], out_shape=values.shape, transform=dem["transform"]
    ).astype(bool)
    labels, _ = ndimage.label(wet)  # 4-connectivity
    seeds = np.unique(labels[river & wet])
    return wet, np.isin(labels, seeds[seeds > 0])


def test_flood_scenarios_flood_the_promised_buildings(city, dem, footprints, ifc_hulls):
    import geopandas as gpd
    import pandas as pd

    scenarios = pd.read_csv(city / "flood_scenarios.csv")
    assert scenarios["return_period"].tolist() == [10, 100, 1000]
    assert scenarios["water_level_m"].tolist() == [38.5, 39.5, 40.5]
    river = gpd.read_file(city / "river.geojson").geometry.iloc[0]
    hulls = gpd.GeoSeries([item["hull"] for item in ifc_hulls.values()], crs=2154)
    is_ifc = footprints.geometry.apply(lambda g: bool((hulls.intersection(g).area > 0.9 * g.area).any()))
    assert is_ifc.sum() == len(ifc_hulls)
    centroids = footprints.geometry.centroid
    ground = _sample(dem, centroids.x.to_numpy(), centroids.y.to_numpy())
    import rasterio.transform

    rows, cols = rasterio.transform.rowcol(dem["transform"], centroids.x.to_numpy(), centroids.y.to_numpy())
    flooded = {}
    for level in scenarios["water_level_m"]:
        _, connected = _connected_flood(dem, river, level)
        flooded[level] = (ground < level) & connected[np.asarray(rows), np.asarray(cols)]
    assert flooded[38.5].sum() <= 1
    assert (flooded[39.5] & is_ifc.to_numpy()).sum() >= 1
    assert (flooded[39.5] & ~is_ifc.to_numpy()).sum() >= 2
    assert flooded[40.5].sum() > flooded[39.5].sum() > flooded[38.5].sum()


def test_closed_depression_floods_only_in_a_plain_bathtub(city, dem):
    import geopandas as gpd

    river = gpd.read_file(city / "river.geojson").geometry.iloc[0]
    for level in (38.5, 39.5, 40.5):
        wet, connected = _connected_flood(dem, river, level)
        isolated = wet & ~connected
        assert isolated.sum() >= 50  # the pit south of the river, about 2 800 m²
        rows, cols = np.nonzero(isolated)
        import rasterio.transform

        xs, ys = rasterio.transform.xy(dem["transform"], rows, cols)
        assert np.hypot(np.asarray(xs) - 650_760.0, np.asarray(ys) - 6_846_650.0).max() < 35.0


def test_footprints(footprints, ifc_hulls):
    assert footprints.crs.to_epsg() == 2154
    assert {"id", "use", "storeys", "height_m", "year_built"} <= set(footprints.columns)
    assert footprints["id"].is_unique
    assert footprints["id"].str.fullmatch(r"BATI\d{4}").all()
    assert set(footprints["use"]) <= {"residential", "office", "retail", "education", "industrial"}
    assert 20 <= len(footprints) - len(ifc_hulls) <= 40
    assert 1 <= footprints["height_m"].isna().sum() <= 5
    assert footprints.is_valid.all()
    # no two footprints overlap
    assert footprints.area.sum() == pytest.approx(footprints.union_all().area, rel=1e-9)


def test_repository_sample_data_is_consistent():
    """The committed sample_data/ matches its own manifest (regenerate it if this fails)."""
    folder = REPO / "sample_data"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        pytest.skip("sample_data/ has not been generated in this checkout")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for item in manifest["files"]:
        assert _sha(folder / item["path"]) == item["sha256"], item["path"]
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024
