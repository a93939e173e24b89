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
