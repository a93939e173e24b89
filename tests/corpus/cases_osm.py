"""Corpus cases: OSM extracts (compressed, truncated, foreign, bombs) and line networks (null, NaN).

The Helsinki extract of the shared data recompressed under ``tmp`` at test time, and small OSM
XML documents and line layers written from scratch.
"""

from __future__ import annotations

import bz2
import gzip

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString

from cimkit import provenance
from cimkit.io.osm import read_osm_lines
from cimkit.network.read import read_network
from tests.corpus._registry import corpus_case

HELSINKI = "osm_helsinki/Helsinki.osm.pbf"

TOWN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
    '<node id="1" lat="48.70" lon="2.30"/>\n<node id="2" lat="48.70" lon="2.31"/>\n'
    '<node id="3" lat="48.71" lon="2.31"/>\n'
    '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>\n'
    '<way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>\n'
    "</osm>\n"
)


@corpus_case("osm/helsinki-pbf-bz2", expect="ok", needs_shared=True)
def _helsinki_bz2(tmp, shared):
    path = tmp / "Helsinki.osm.pbf.bz2"
    path.write_bytes(bz2.compress((shared / HELSINKI).read_bytes()))
    roads = read_osm_lines(path, kind="road")
    reference = read_osm_lines(shared / HELSINKI, kind="road")
    assert len(roads) == len(reference) == 2469  # test_osm: ways with a highway tag, less 35 excluded
    assert roads["osm_id"].tolist() == reference["osm_id"].tolist()


@corpus_case("osm/xml-gz", expect="ok")
def _xml_gz(tmp, shared):
    path = tmp / "town.osm.gz"
    path.write_bytes(gzip.compress(TOWN.encode()))
    roads = read_osm_lines(path, kind="road")
    assert roads["osm_id"].tolist() == [10, 11]
    assert list(roads.geometry.iloc[0].coords) == [(2.30, 48.70), (2.31, 48.70)]


@corpus_case("osm/truncated-xml", expect="error", code="NET007")
def _truncated(tmp, shared):
    path = tmp / "town.osm"
    path.write_text(TOWN[:-60])  # cut inside way 11, on line 7
    try:
        read_osm_lines(path, kind="road")
    except Exception as err:
        assert getattr(err, "line", None) == 7
        raise


@corpus_case("osm/billion-laughs-dtd", expect="error", code="NET008")
def _laughs(tmp, shared):
    entities = '<!ENTITY a0 "ha">'
    for i in range(1, 10):  # a9 would expand to 10^9 "ha"
        refs = f"&a{i - 1};" * 10
        entities += f'<!ENTITY a{i} "{refs}">'
    path = tmp / "laughs.osm"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE osm [{entities}]><osm>&a9;</osm>')
    read_osm_lines(path, kind="road")


@corpus_case("osm/gzip-bomb", expect="error", code="LIM004")
def _gzip_bomb(tmp, shared):
    path = tmp / "bomb.osm.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b'<osm version="0.6">')
        block = b" " * (1 << 20)
        for _ in range(64):  # 64 MiB of blanks in ~64 kB
            out.write(block)
        out.write(b"</osm>")
    read_osm_lines(path, kind="road")


def _streets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Rue A", "Rue B", "Rue C"], "highway": ["residential"] * 3},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)]), None],
        crs="EPSG:2154",
    )


@corpus_case("network/null-geometry", expect="repaired", code="NET101")
def _null_geometry(tmp, shared):
    net = read_network(_streets(), kind="road", snap_tolerance_m=0.5)
    assert net.report["null_geometries_dropped"] == 1
    assert sorted(net.edges["name"]) == ["Rue A", "Rue B"]
    assert net.edges["length_m"].sum() == 200.0
    step = next(s for s in provenance.get(net).steps if s.action == "drop_null_geometries")
    assert step.params["count"] == 1


@corpus_case("network/nan-coordinates", expect="error", code="NET006")
def _nan_coordinates(tmp, shared):
    streets = _streets()
    streets.loc[2, "geometry"] = LineString([(200, 0), (200, np.nan)])
    read_network(streets, kind="road")


@corpus_case("network/infinite-coordinates-geojson", expect="error", code="NET006")
def _infinite_geojson(tmp, shared):
    path = tmp / "streets.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:2154"}},'
        ' "features": [{"type": "Feature", "properties": {"highway": "residential"}, "geometry":'
        ' {"type": "LineString", "coordinates": [[650000, 6860000], [650100, Infinity]]}}]}'
    )
    read_network(path, kind="road")
