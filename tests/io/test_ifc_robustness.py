"""Malformed IFC input gives typed errors; crashes, time-outs and memory exhaustion stay in the child."""

from __future__ import annotations

import ctypes
import os
import time

import pytest

from cimkit.errors import FileFormatError, ReaderCrashError, UnsupportedSchemaError
from cimkit.io.ifc import SUPPORTED_SCHEMAS, read_georeference, read_ifc
from cimkit.io.ifc._sandbox import IfcSandbox
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
