"""OSM extracts through GDAL's OSM driver (cimkit.io.osm) on the Helsinki extract of ../shared/data."""

from __future__ import annotations

import pyogrio
import pytest

from cimkit.errors import CimkitIOError, FileFormatError, ValidationError
from cimkit.io.osm import _is_osm_path, _parse_other_tags, read_osm_lines


@pytest.fixture(scope="module")
def helsinki(shared_data):
    return shared_data / "osm_helsinki" / "Helsinki.osm.pbf"


@pytest.fixture(scope="module")
def raw(helsinki):
    """All ways, read with pyogrio directly (the independent reference)."""
    return pyogrio.read_dataframe(helsinki, layer="lines")


def test_parse_other_tags():
    text = '"lit"=>"yes","maxspeed"=>"30","name:fi"=>"Erottajankatu","note"=>"say \\"hi\\""'
    assert _parse_other_tags(text) == {
        "lit": "yes",
        "maxspeed": "30",
        "name:fi": "Erottajankatu",
        "note": 'say "hi"',
    }
    assert _parse_other_tags(None) == {}


def test_is_osm_path():
    assert _is_osm_path("a/Helsinki.osm.pbf") and _is_osm_path("x.OSM") and not _is_osm_path("x.gpkg")


def test_road_ways(helsinki, raw):
    roads = read_osm_lines(helsinki, kind="road")
    # independent count with pyogrio: 3 818 ways (MANIFEST), of which those with a highway tag,
    # minus 32 highway=platform and 3 highway=construction
    assert len(raw) == 3818
    with_highway = raw["highway"].notna().sum()
    assert len(roads) == with_highway - 32 - 3 == 2469
    assert roads.crs.to_epsg() == 4326
    assert set(roads.columns) >= {"osm_id", "name", "highway", "maxspeed", "oneway", "geometry"}
    assert not roads["highway"].isin(["platform", "construction"]).any()
    # Erottajankatu (first way with other_tags above) is a one-way 30 km/h street
    row = roads[roads["name"] == "Erottajankatu"].iloc[0]
    assert row["maxspeed"] == "30" and row["oneway"] == "yes"
    kept = raw["highway"].notna() & ~raw["highway"].isin(["platform", "construction"])
    with_maxspeed = raw.loc[kept, "other_tags"].fillna("").str.contains('"maxspeed"=>').sum()
    assert roads["maxspeed"].notna().sum() == with_maxspeed == 763


def test_power_and_water_ways(helsinki, raw):
    tags = raw["other_tags"].map(_parse_other_tags)
    power = tags.map(lambda t: t.get("power") in ("line", "minor_line", "cable")).sum()
    assert len(read_osm_lines(helsinki, kind="power")) == power == 1
    water = read_osm_lines(helsinki, kind="water")
    assert len(water) == 2 and (water["man_made"] == "pipeline").all()
    assert len(read_osm_lines(helsinki, kind="sewer")) == 0


def test_errors(tmp_path, helsinki):
    with pytest.raises(ValidationError):
        read_osm_lines(helsinki, kind="gas")
    with pytest.raises(CimkitIOError):
        read_osm_lines(tmp_path / "missing.osm.pbf", kind="road")
    bad = tmp_path / "bad.osm"
    bad.write_text("this is not xml")
    with pytest.raises(FileFormatError):
        read_osm_lines(bad, kind="road")


# ---- compressed, truncated and foreign files --------------------------------------------------

TOWN_OSM = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<osm version="0.6">\n'
    '<node id="1" lat="48.70" lon="2.30"/>\n'
    '<node id="2" lat="48.70" lon="2.31"/>\n'
    '<node id="3" lat="48.71" lon="2.31"/>\n'
    '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>\n'
    '<way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>\n'
    "</osm>\n"
)


@pytest.mark.parametrize("suffix", [".osm.bz2", ".osm.gz", ".osm"])  # .osm: compressed, wrong name
def test_compressed_osm_xml_is_read_transparently(tmp_path, suffix):
    import bz2
    import gzip

    data = TOWN_OSM.encode()
    path = tmp_path / f"town{suffix}"
    path.write_bytes(bz2.compress(data) if suffix != ".osm.gz" else gzip.compress(data))
    roads = read_osm_lines(path, kind="road")
    assert roads["osm_id"].tolist() == [10, 11] and roads["highway"].tolist() == ["residential", "primary"]
    # the second way runs from node 2 (2.31, 48.70) to node 3 (2.31, 48.71)
    assert list(roads.geometry.iloc[1].coords) == [(2.31, 48.70), (2.31, 48.71)]


def test_compressed_pbf_reads_like_the_original(tmp_path, helsinki):
    import gzip

    path = tmp_path / "Helsinki.osm.pbf.gz"
    path.write_bytes(gzip.compress(helsinki.read_bytes()))
    assert len(read_osm_lines(path, kind="road")) == 2469  # as test_road_ways


def test_a_compressed_osm_bomb_is_refused(tmp_path):
    import bz2

    from cimkit.errors import ResourceLimitError
    from cimkit.options import set_options

    path = tmp_path / "bomb.osm.bz2"
    path.write_bytes(
        bz2.compress(TOWN_OSM.replace("</osm>", "<!-- " + "x" * 3_000_000 + " --></osm>").encode())
    )
    with set_options(max_decompressed_mb=1), pytest.raises(ResourceLimitError) as info:
        read_osm_lines(path, kind="road")
    assert info.value.code == "LIM003"


@pytest.mark.parametrize(
    ("cut", "line"),
    [(-8, 7), (-60, 7), (200, 6)],  # the closing </osm> lost; cut inside way 11; cut inside way 10
)
def test_truncated_osm_xml_names_the_line(tmp_path, cut, line):
    text = TOWN_OSM[:cut]
    path = tmp_path / "cut.osm"
    path.write_text(text)
    with pytest.raises(FileFormatError, match="truncated") as info:
        read_osm_lines(path, kind="road")
    assert info.value.code == "NET007"
    assert info.value.line == line == text.count("\n") + 1  # the last, cut-off line


def test_foreign_files_are_refused_by_content(tmp_path):
    dtd = tmp_path / "dtd.osm"
    dtd.write_text('<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "aaaa">]><osm>&a;</osm>')
    html = tmp_path / "page.osm"
    html.write_text("<html><body>rate limited</body></html>")
    binary = tmp_path / "noise.osm.pbf"
    binary.write_bytes(bytes(range(256)) * 4)
    for path in (dtd, html, binary):
        with pytest.raises(FileFormatError) as info:
            read_osm_lines(path, kind="road")
        assert info.value.code == "NET008", path


def test_the_content_decides_not_the_suffix(tmp_path, helsinki):
    pbf_named_xml = tmp_path / "helsinki.osm"
    pbf_named_xml.write_bytes(helsinki.read_bytes())
    assert len(read_osm_lines(pbf_named_xml, kind="road")) == 2469
    xml_named_pbf = tmp_path / "town.osm.pbf"
    xml_named_pbf.write_text(TOWN_OSM)
    assert read_osm_lines(xml_named_pbf, kind="road")["osm_id"].tolist() == [10, 11]
