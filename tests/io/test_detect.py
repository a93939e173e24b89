"""Format detection by content: real files of the shared data and files written here."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import shutil
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from cimkit.errors import CimkitIOError
from cimkit.io._detect import FORMATS, HEAD_BYTES, DetectedFormat, detect_format

REAL = [
    ("ifc_kit_fzk_haus/AC20-FZK-Haus.ifc", "ifc", None, "IFC4"),
    ("ifc_duplex_apartment/duplex.ifc", "ifc", None, "IFC2X3"),
    ("ifc43_drainage_system/DrainageSystem-1-2.ifc4x3_add2.ifc", "ifc", None, "IFC4X3_ADD2"),
    ("cityjson_delft/delft.city.json", "cityjson", None, None),
    ("citygml_sig3d_examples/v2_Building_LOD2-EPSG25832.gml", "citygml", None, "2.0"),
    ("citygml_sig3d_examples/v3_Building_LOD2-EPSG25832.gml", "citygml", None, "3.0"),
    ("cadastre_epinay_sur_orge_91216/cadastre-91216-parcelles.json", "geojson", None, None),
    ("plu_zone_urba_17345/zone_urba_17345.geojson", "geojson", None, None),
    ("prague_bubenec/bubenec.gpkg", "gpkg", None, None),
    ("osm_helsinki/Helsinki.osm.pbf", "osm-pbf", None, None),
    ("epanet_networks/Net1.inp", "epanet", None, None),
    ("epanet_networks/Net3.inp", "epanet", None, None),
    ("gtfs_cairns/cairns_gtfs.zip", "gtfs", "zip", None),
]


@pytest.mark.shared_data
@pytest.mark.parametrize(("rel", "fmt", "compression", "version"), REAL)
def test_real_files(shared_data, rel, fmt, compression, version):
    found = detect_format(shared_data / rel)
    assert (found.format, found.compression, found.version) == (fmt, compression, version)
    assert found.reason


@pytest.mark.shared_data
def test_misleading_extensions(shared_data, tmp_path):
    # a GeoJSON named .gpkg, a GeoPackage named .json, a CityGML named .txt, an IFC named .geojson
    for rel, name, fmt in [
        ("plu_zone_urba_17345/zone_urba_17345.geojson", "zones.gpkg", "geojson"),
        ("prague_bubenec/bubenec.gpkg", "bubenec.json", "gpkg"),
        ("citygml_sig3d_examples/v2_Building_LOD1-EPSG25832.gml", "city.txt", "citygml"),
        ("ifc_kit_fzk_haus/AC20-FZK-Haus.ifc", "house.geojson", "ifc"),
        ("osm_helsinki/Helsinki.osm.pbf", "helsinki.csv", "osm-pbf"),
    ]:
        target = tmp_path / name
        shutil.copyfile(shared_data / rel, target)
        assert detect_format(target).format == fmt, name


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("suffix", "opener", "compression"),
    [(".gz", gzip.open, "gzip"), (".bz2", bz2.open, "bz2"), (".xz", lzma.open, "xz")],
)
def test_compressed_citygml(shared_data, tmp_path, suffix, opener, compression):
    source = shared_data / "citygml_sig3d_examples" / "v2_Building_LOD2-EPSG25832.gml"
    target = tmp_path / f"city.gml{suffix}"
    with opener(target, "wb") as handle:
        handle.write(source.read_bytes())
    found = detect_format(target)
    assert (found.format, found.compression, found.version) == ("citygml", compression, "2.0")


@pytest.mark.shared_data
def test_ifczip_and_osm_bz2(shared_data, tmp_path):
    ifczip = tmp_path / "house.ifczip"
    with zipfile.ZipFile(ifczip, "w") as archive:
        archive.write(shared_data / "ifc_kit_fzk_haus" / "AC20-FZK-Haus.ifc", "AC20-FZK-Haus.ifc")
    found = detect_format(ifczip)
    assert (found.format, found.compression, found.member) == ("ifc", "zip", "AC20-FZK-Haus.ifc")
    osm = tmp_path / "city.osm.bz2"
    osm.write_bytes(
        bz2.compress(b'<?xml version="1.0"?>\n<osm version="0.6" generator="t"><node id="1"/></osm>')
    )
    assert (detect_format(osm).format, detect_format(osm).compression) == ("osm-xml", "bz2")


@pytest.mark.shared_data
def test_gtfs_folder(shared_data, tmp_path):
    with zipfile.ZipFile(shared_data / "gtfs_cairns" / "cairns_gtfs.zip") as archive:
        archive.extractall(tmp_path / "feed")
    folder = next(p.parent for p in (tmp_path / "feed").rglob("stops.txt"))
    assert detect_format(folder).format == "gtfs"
    assert detect_format(folder / "stops.txt").format == "csv"


@pytest.fixture
def points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[Point(652000, 6861000), Point(652100, 6861050)], crs=2154
    )


@pytest.mark.parametrize(
    ("driver", "name", "fmt"),
    [
        ("GPKG", "layer.data", "gpkg"),
        ("FlatGeobuf", "layer.bin", "flatgeobuf"),
        ("GeoJSON", "layer.fgb", "geojson"),
    ],
)
def test_generated_vector_files(tmp_path, points, driver, name, fmt):
    extension = {"GPKG": "gpkg", "FlatGeobuf": "fgb", "GeoJSON": "geojson"}[driver]
    written = tmp_path / f"written.{extension}"  # written with its proper name, then misnamed
    points.to_file(written, driver=driver)
    path = written.rename(tmp_path / name)  # a misleading (or no) extension
    assert detect_format(path).format == fmt


def test_geoparquet_and_plain_parquet(tmp_path, points):
    points.to_parquet(tmp_path / "layer.parquet")
    assert detect_format(tmp_path / "layer.parquet").format == "geoparquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "table.parquet")
    found = detect_format(tmp_path / "table.parquet")
    assert found.format == "unknown" and "geo" in found.reason


def test_shapefile_plain_and_zipped(tmp_path, points):
    points.to_file(tmp_path / "layer.shp")
    assert detect_format(tmp_path / "layer.shp").format == "shapefile"
    with zipfile.ZipFile(tmp_path / "layer.zip", "w") as archive:
        for part in tmp_path.glob("layer.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    found = detect_format(tmp_path / "layer.zip")
    assert (found.format, found.compression, found.member) == ("shapefile", "zip", "layer.shp")


@pytest.mark.parametrize(
    ("text", "name", "fmt"),
    [
        (
            '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
            "a.xml",
            "kml",
        ),
        (
            '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
            'xmlns:gml="http://www.opengis.net/gml/3.2"></wfs:FeatureCollection>',
            "a.xml",
            "gml",
        ),
        ('<core:CityModel xmlns:core="http://www.opengis.net/citygml/1.0"/>', "a.xml", "citygml"),
        ("<osm version='0.6'></osm>", "a.xml", "osm-xml"),
        ("<svg xmlns='http://www.w3.org/2000/svg'/>", "a.gml", "unknown"),
        ("id,x,y\n1,2,3\n4,5,6\n", "a.dat", "csv"),
        ("stop_id;stop_name\nS1;Gare\n", "a.dat", "csv"),
        ("[TITLE]\nnet\n\n[JUNCTIONS]\n J1 10 0\n", "a.txt", "epanet"),
        ('{"type": "Feature", "geometry": null, "properties": {}}', "a.city.json", "geojson"),
        ("just some words without separators", "a.csv", "unknown"),
        ("", "a.geojson", "unknown"),
    ],
)
def test_generated_text_files(tmp_path, text, name, fmt):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect_format(path).format == fmt


def test_cityjsonseq_and_version(tmp_path):
    header = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [1, 1, 1], "translate": [0, 0, 0]},
        "CityObjects": {},
        "vertices": [],
    }
    feature = {"type": "CityJSONFeature", "id": "B1", "CityObjects": {}, "vertices": []}
    path = tmp_path / "city.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(feature) + "\n", encoding="utf-8")
    found = detect_format(path)
    assert (found.format, found.version) == ("cityjsonseq", "2.0")
    path.write_text(json.dumps(header), encoding="utf-8")
    assert (detect_format(path).format, detect_format(path).version) == ("cityjson", "2.0")


def test_reads_only_the_head(tmp_path):
    # a GeoJSON larger than the head: the decision comes from its first bytes
    features = [{"type": "Feature", "geometry": None, "properties": {"n": i}} for i in range(40_000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert path.stat().st_size > 4 * HEAD_BYTES
    assert detect_format(path).format == "geojson"


def test_missing_path_and_result_shape(tmp_path):
    with pytest.raises(CimkitIOError) as info:
        detect_format(tmp_path / "nope.gml")
    assert info.value.code == "FMT001"
    found = detect_format(tmp_path)
    assert isinstance(found, DetectedFormat) and found.format == "unknown"
    with pytest.raises(AttributeError):
        found.format = "gml"  # frozen
    assert set(FORMATS) >= {"ifc", "cityjson", "citygml", "geojson", "gpkg", "gtfs", "unknown"}
