"""Malformed IFC input gives typed errors; crashes, time-outs and memory exhaustion stay in the child."""

from __future__ import annotations

import ctypes
import os
import re
import time
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cimkit
from cimkit.errors import (
    CimkitError,
    FileFormatError,
    GeoreferenceError,
    InputError,
    ReaderCrashError,
    ResourceLimitError,
    UnsupportedSchemaError,
)
from cimkit.io.ifc import SUPPORTED_SCHEMAS, read_georeference, read_ifc, read_ifc_model
from cimkit.io.ifc._georeference import check_scale
from cimkit.io.ifc._header import check_file
from cimkit.io.ifc._input import check_building_size
from cimkit.io.ifc._sandbox import IfcSandbox
from cimkit.io.ifc._scan import _data_blocks, count_entities, scan_data
from cimkit.provenance import compute_sha256
from tests.io import ifc_factory as F


@pytest.fixture
def house_file(tmp_path):
    f, project, body = F.new_project()
    F.add_house(f, project, body, storeys=2)
    F.map_conversion(f, epsg=2154, eastings=651000, northings=6861000, rotation_deg=15)
    return F.write(f, tmp_path / "house.ifc")


def test_sandboxed_read_equals_in_process_read(house_file):
    # the default (sandboxed, 2 worker processes) path and the in-process path agree exactly
    a = read_ifc(house_file)
    b = read_ifc(house_file, sandbox=False)
    assert a.index.tolist() == b.index.tolist()
    assert a.geometry.iloc[0].equals_exact(b.geometry.iloc[0], 1e-9)
    assert a.iloc[0].height_m == pytest.approx(6.6)
    assert a.iloc[0].storeys == 2


def test_truncated_file(house_file, tmp_path):
    data = house_file.read_bytes()
    cut = tmp_path / "cut.ifc"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated") as info:
        read_ifc(cut)
    assert info.value.path == str(cut)


def test_nan_direction(house_file, tmp_path):
    text = house_file.read_text()
    assert "IFCDIRECTION((1.,0.,0.))" in text
    bad = tmp_path / "nan.ifc"
    bad.write_text(text.replace("IFCDIRECTION((1.,0.,0.))", "IFCDIRECTION((NaN,0.,0.))", 1))
    with pytest.raises(FileFormatError, match="IfcDirection") as info:
        read_ifc(bad)
    assert info.value.entity.startswith("#")
    # the process survives and still reads good files
    assert len(read_ifc(house_file, sandbox=False)) == 1


def test_unparsable_number_is_a_file_format_error(house_file, tmp_path):
    bad = tmp_path / "inf.ifc"
    bad.write_text(
        house_file.read_text().replace("IFCDIRECTION((1.,0.,0.))", "IFCDIRECTION((1.E999,0.,0.))", 1)
    )
    with pytest.raises(FileFormatError, match="could not parse"):
        read_ifc(bad)


def test_draft_schema_is_unsupported(house_file, tmp_path):
    rc3 = tmp_path / "rc3.ifc"
    rc3.write_text(house_file.read_text().replace("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('IFC4X3_RC3'))"))
    with pytest.raises(UnsupportedSchemaError) as info:
        read_ifc(rc3)
    for schema in SUPPORTED_SCHEMAS:
        assert schema in str(info.value)


def test_not_an_ifc_file(tmp_path):
    junk = tmp_path / "junk.ifc"
    junk.write_text("hello\n")
    with pytest.raises(FileFormatError, match="ISO-10303-21"):
        read_ifc(junk)


def test_child_segfault_becomes_reader_crash_error(house_file):
    pid = os.getpid()
    with pytest.raises(ReaderCrashError, match="crashed") as info, IfcSandbox(house_file, processes=1) as box:
        box.run(ctypes.string_at, 0)  # reads address 0: SIGSEGV in the child
    assert info.value.path == str(house_file)
    assert os.getpid() == pid
    assert read_georeference(house_file).method == "IfcMapConversion"  # a new sandbox works


def test_child_time_limit(house_file):
    start = time.monotonic()
    with (
        pytest.raises(ReaderCrashError, match="time limit"),
        IfcSandbox(house_file, processes=1, timeout_s=0.5) as box,
    ):
        box.run(time.sleep, 30)
    assert time.monotonic() - start < 10


def test_child_memory_limit(house_file):
    # 4 GiB cannot be allocated under a 512 MiB address-space limit
    with (
        pytest.raises(ReaderCrashError, match="memory"),
        IfcSandbox(house_file, processes=1, memory_mb=512) as box,
    ):
        box.run(bytearray, 4 * 1024**3)


# ---------------------------------------------------------------- the pass over the text (issue 13)

BOX = (651000.0, 6861000.0, 651010.0, 6861006.0)


def _variant(tmp_path, old, new, name="bad.ifc", **kwargs):
    text = F.house_text(**kwargs)
    assert old in text
    return F.write_text(tmp_path / name, text.replace(old, new, 1))


def test_scan_accepts_strings_multiline_statements_and_crlf(tmp_path):
    # a name holding ';', parentheses, '#9999' and the word nan; a statement on three lines; a
    # comment; CRLF line ends
    text = F.house_text().replace("'House'", "'House; (annex) #9999 nan''s'", 1)
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if "=IFCCARTESIANPOINT((10.,0.))" in line)
    lines[k] = lines[k].replace("((10.,", "(\n(10.,\n") + " /* a comment; with (parentheses */"
    path = tmp_path / "odd.ifc"
    path.write_bytes("\r\n".join("\n".join(lines).split("\n")).encode())
    assert check_file(path) == "IFC4"
    gdf = read_ifc(path, sandbox=False)
    assert gdf.geometry.iloc[0].bounds == pytest.approx(BOX, abs=1e-6)
    assert gdf.name.iloc[0] == "House; (annex) #9999 nan's"


def test_scan_finds_defects_across_blocks(tmp_path):
    # 200-byte blocks: the referrer, the duplicate and the cycle sit in different blocks
    text = F.house_text()
    path = F.write_text(tmp_path / "ok.ifc", text)
    summary = scan_data(path, block_bytes=200)
    assert summary.entities == sum(1 for line in text.splitlines() if line.startswith("#"))
    assert len(summary.parents) == text.count("=IFCLOCALPLACEMENT(#")
    blocks = [block for _, block in _data_blocks(path, 200)]
    assert len(blocks) > 20 and all(b.endswith(b";") for b in blocks[:-1])
    assert b"".join(blocks) == text.encode().split(b"DATA;\n", 1)[1]
    last = max(int(m) for m in re.findall(r"^#(\d+)=", text, re.M))
    bad = F.write_text(
        tmp_path / "dup.ifc",
        text.replace("ENDSEC;\nEND-ISO", "#12=IFCWALL($,$,$,$,$,$,$,$,$);\nENDSEC;\nEND-ISO"),
    )
    with pytest.raises(FileFormatError, match="defined twice") as info:
        scan_data(bad, block_bytes=200)
    assert info.value.code == "IFC007" and info.value.line == text.count("\n") - 1
    bad = F.write_text(tmp_path / "ref.ifc", text.replace("#1=IFCPROJECT(", f"#{last + 1}=IFCPROJECT(", 1))
    with pytest.raises(FileFormatError, match="refers to #1,") as info:
        scan_data(bad, block_bytes=200)
    assert info.value.code == "IFC009"


def test_dangling_placement_names_entity_and_line(tmp_path):
    text = F.house_text()
    building_placement = re.findall(r"^(#\d+)=IFCLOCALPLACEMENT\((#\d+),(#\d+)\);", text, re.M)[0]
    child, parent, axes = building_placement
    path = _variant(
        tmp_path, f"{child}=IFCLOCALPLACEMENT({parent},{axes});", f"{child}=IFCLOCALPLACEMENT(#77777,{axes});"
    )
    with pytest.raises(FileFormatError) as info:
        read_ifc(path)
    err = info.value
    assert err.code == "IFC009" and err.entity == child and "#77777" in err.message
    assert path.read_text().splitlines()[err.line - 1].startswith(f"{child}=")


def test_placement_cycle_is_found_before_any_child_process(tmp_path, monkeypatch):
    text = F.house_text()
    site = re.search(r"^(#\d+)=IFCLOCALPLACEMENT\(\$,", text, re.M).group(1)
    path = _variant(tmp_path, f"{site}=IFCLOCALPLACEMENT($,", f"{site}=IFCLOCALPLACEMENT({site},")

    def no_child(*args, **kwargs):  # the cycle must be refused before the sandbox starts
        raise AssertionError("a child process was started")

    monkeypatch.setattr("cimkit.io.ifc.reader.IfcSandbox", no_child)
    with pytest.raises(FileFormatError, match=f"loops: {site} -> {site}") as info:
        read_ifc(path)
    assert info.value.code == "IFC010"


def test_no_data_section(tmp_path):
    text = F.house_text()
    head = text.split("DATA;\n", 1)[0]
    path = F.write_text(tmp_path / "nodata.ifc", head + "ENDSEC;\nEND-ISO-10303-21;\n")
    with pytest.raises(FileFormatError, match="no DATA section") as info:
        read_ifc(path)
    assert info.value.code == "IFC007"


def test_entity_count_limit(tmp_path):
    text = F.house_text()
    path = F.write_text(tmp_path / "house.ifc", text)
    n = sum(1 for line in text.splitlines() if line.startswith("#"))
    assert count_entities(path) == n
    with cimkit.set_options(max_ifc_entities=n):
        assert scan_data(path).entities == n
    with cimkit.set_options(max_ifc_entities=n - 1), pytest.raises(ResourceLimitError) as info:
        read_ifc(path)
    assert info.value.code == "LIM030" and "max_ifc_entities" in str(info.value)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "IFC002"),
        (b"  \n\n", "IFC002"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "IFC003"),
        (b"SQLite format 3\x00" + bytes(100), "IFC003"),
        (b'\n  {"type": "FeatureCollection"}', "IFC003"),
        (bytes(range(256)) * 8, "IFC004"),
    ],
)
def test_not_ifc_content_codes(tmp_path, content, code):
    path = tmp_path / "x.ifc"
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as info:
        read_ifc(path)
    assert info.value.code == code and info.value.path == str(path)


def test_scale_plausibility_rules():
    check_scale(None, 1.0, 1.0)
    check_scale(0.9996, 0.9996, 1.0)  # UTM grid scale on a metre model
    check_scale(0.001, 0.001, 0.001)  # a millimetre model whose Scale is the unit conversion
    check_scale(0.9996, 0.0009996, 0.001)
    for scale, s_eff, unit in ((1000.0, 1000.0, 1.0), (0.001, 0.001, 1.0), (1000.0, 1.0, 0.001)):
        with pytest.raises(GeoreferenceError) as info:
            check_scale(scale, s_eff, unit)
        assert info.value.code == "IFC012" and "origin=" in info.value.hint


def test_wrong_scale_refused_then_overridden(tmp_path):
    path = _variant(tmp_path, ",1.,0.,$);", ",1.,0.,1000.);")
    with pytest.raises(GeoreferenceError, match="Scale = 1000") as info:
        read_ifc(path, sandbox=False)
    assert info.value.code == "IFC012" and "areas by 1e+06" in info.value.message
    with pytest.warns(UserWarning, match="refused .*Scale = 1000.* overridden by origin="):
        gdf = read_ifc(path, crs="EPSG:2154", origin=(651000.0, 6861000.0), sandbox=False)
    assert gdf.geometry.iloc[0].bounds == pytest.approx(BOX, abs=1e-6)


def test_building_size_limits():
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"ifc_class": ["IfcBuilding", "IfcFacility"], "height_m": [6.6, 3.0]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(0, 0, 20_000, 1_000)],
        index=["b", "road"],
    )
    check_building_size(frame, path="x.ifc")  # 1 km2 building; a 20 km2 road is not a building
    frame.loc["b", "height_m"] = 1600.0
    with pytest.raises(InputError, match="1,600 m tall") as info:
        check_building_size(frame, path="x.ifc")
    assert info.value.code == "IFC013" and info.value.entity == "b"
    # map units in feet: 1,500 x 1,500 ft is 0.21 km2, fine; the same numbers in metres are 2.25 km2
    frame.loc["b", "height_m"] = 10.0
    frame.loc["b", "geometry"] = shapely.box(0, 0, 1500, 1500)
    check_building_size(frame, path="x.ifc", map_unit_m=0.3048)
    with pytest.raises(InputError, match="footprint is 2 km2"):
        check_building_size(frame, path="x.ifc")


def test_unknown_crs_name(tmp_path):
    path = _variant(tmp_path, "IFCPROJECTEDCRS('EPSG:2154'", "IFCPROJECTEDCRS('Lambert-93 (my office)'")
    with pytest.raises(GeoreferenceError, match="Lambert-93 \\(my office\\)") as info:
        read_georeference(path, sandbox=False)
    assert info.value.code == "IFC014" and 'crs="EPSG:nnnn"' in info.value.hint
    # with crs= given, it is used (and said)
    geo = read_georeference(path, crs="EPSG:2154", sandbox=False)
    assert geo.crs.to_epsg() == 2154 and geo.confidence == "medium"
    assert any("not understood" in w for w in geo.warnings)


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_ifczip_reads_the_member_and_records_the_archive(tmp_path):
    path = _zip(tmp_path / "house.ifczip", {"model/house.ifc": F.house_text(storeys=2)})
    model = read_ifc_model(path, sandbox=False)
    row = model.buildings.iloc[0]
    assert row.geometry.bounds == pytest.approx(BOX, abs=1e-6) and row.height_m == pytest.approx(6.6)
    assert row.source == f"{path}!model/house.ifc"
    source = model.provenance.source_files[0]
    assert source.path == str(path) and source.sha256 == compute_sha256(path)
    unpack = next(step for step in model.provenance.steps if step.action == "unpack")
    assert unpack.params["member"] == "model/house.ifc"
    assert read_georeference(path).eastings == 651000.0
    from cimkit.cli.info import run_info

    assert "E=651000.0 N=6861000.0" in run_info(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["house.ifczip"]  # nothing extracted here


def test_ifczip_errors_name_the_archive_member(tmp_path):
    text = F.house_text()
    path = _zip(tmp_path / "cut.ifczip", {"house.ifc": text[: len(text) // 2]})
    with pytest.raises(FileFormatError) as info:
        read_ifc(path)
    assert info.value.code == "IFC005" and info.value.path == f"{path}!house.ifc"
    assert str(info.value).startswith(f"{path}!house.ifc:")
    empty = _zip(tmp_path / "none.ifczip", {"readme.txt": "no model"})
    with pytest.raises(FileFormatError, match="holds 0") as info:
        read_ifc(empty)
    assert info.value.code == "IFC015"
    slip = _zip(tmp_path / "slip.ifczip", {"../evil.ifc": text})
    with pytest.raises(FileFormatError) as info:
        read_ifc(slip)
    assert info.value.code == "ARC001" and not (tmp_path.parent / "evil.ifc").exists()


def test_convert_takes_an_ifczip(tmp_path):
    from cimkit.cli.convert import convert_file, discover_inputs

    (tmp_path / "in").mkdir()
    src = _zip(tmp_path / "in" / "house.ifczip", {"house.ifc": F.house_text()})
    assert [p.name for p, _ in discover_inputs([tmp_path / "in"])] == ["house.ifczip"]
    record = convert_file(src, tmp_path / "out" / "house.gpkg")
    assert record["status"] == "ok", record
    assert record["layers"]["buildings"] == 1


_ALPHABET = b"#()=,;.$*'0123456789EeNna-+ \n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 2), st.sampled_from(list(_ALPHABET))), max_size=4
    )
)
def test_text_checks_never_escape_untyped(tmp_path, edits):
    # bounded fuzzing of the pass over the text: a mutated file passes or gets a cimkit error
    data = bytearray(F.house_text().encode())
    for where, op, byte in edits:
        pos = min(int(where * len(data)), len(data) - 1)
        if op == 0:
            data[pos] = byte
        elif op == 1:
            del data[pos]
        else:
            data.insert(pos, byte)
    path = tmp_path / "fuzz.ifc"
    path.write_bytes(bytes(data))
    try:
        check_file(path)
    except CimkitError as err:
        assert err.code.startswith(("IFC", "LIM")) and err.path == str(path)
