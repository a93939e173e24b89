"""Safe archives: zip slip, bombs (declared and actual), corrupt files, compressed streams."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile

import pytest

import cimkit
from cimkit.errors import CimkitIOError, FileFormatError, ResourceLimitError
from cimkit.io._archive import (
    check_input_size,
    detect_compression,
    extract_zip,
    open_decompressed,
    open_zip,
    read_zip_member,
)


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_plain_zip_extracts_its_members(tmp_path):
    src = _zip(tmp_path / "a.zip", {"dir/a.txt": b"hello", "b.txt": b"x" * 1000})
    out = tmp_path / "out"
    written = extract_zip(src, out)
    assert sorted(p.relative_to(out.resolve()).as_posix() for p in written) == ["b.txt", "dir/a.txt"]
    assert (out / "dir" / "a.txt").read_bytes() == b"hello"
    assert read_zip_member(src, "b.txt") == b"x" * 1000


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_slip_is_refused_before_anything_is_written(tmp_path, name):
    src = _zip(tmp_path / "slip.zip", {"ok.txt": b"fine", name: b"evil"})
    with pytest.raises(FileFormatError) as caught:
        extract_zip(src, tmp_path / "out")
    assert caught.value.code == "ARC001"
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "ok.txt").exists()


def test_a_symlink_member_is_refused(tmp_path):
    src = tmp_path / "link.zip"
    with zipfile.ZipFile(src, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(FileFormatError) as caught:
        open_zip(src)
    assert caught.value.code == "ARC001"


def test_a_zip_bomb_is_refused_by_ratio(tmp_path):
    src = _zip(tmp_path / "bomb.zip", {"zeros.bin": b"\0" * (40 * 1024 * 1024)})
    assert src.stat().st_size < 100_000  # ~1000x compression
    with pytest.raises(ResourceLimitError) as caught:
        extract_zip(src, tmp_path / "out")
    assert caught.value.code == "LIM004"
    assert not (tmp_path / "out" / "zeros.bin").exists()


def test_a_lying_header_is_caught_while_reading(tmp_path):
    src = _zip(tmp_path / "liar.zip", {"data.bin": b"\0" * (3 * 1024 * 1024)})
    with cimkit.set_options(max_decompressed_mb=1):
        with pytest.raises(ResourceLimitError) as caught:
            read_zip_member(src, "data.bin")
    assert caught.value.code == "LIM003"


def test_not_a_zip_and_a_missing_member(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"this is not a zip")
    with pytest.raises(FileFormatError) as caught:
        open_zip(fake)
    assert caught.value.code == "ARC002"
    src = _zip(tmp_path / "a.zip", {"a.txt": b"a"})
    with pytest.raises(FileFormatError) as caught:
        read_zip_member(src, "stops.txt")
    assert caught.value.code == "ARC003" and "a.txt" in caught.value.hint


@pytest.mark.parametrize(("opener", "kind"), [(gzip.open, "gzip"), (bz2.open, "bz2"), (lzma.open, "xz")])
def test_compressed_streams_open_transparently(tmp_path, opener, kind):
    src = tmp_path / f"data.osm.{kind}"
    with opener(src, "wb") as handle:
        handle.write(b"<osm>" + b"a" * 5000 + b"</osm>")
    assert detect_compression(src) == kind
    with open_decompressed(src) as handle:
        assert handle.read() == b"<osm>" + b"a" * 5000 + b"</osm>"


def test_a_compressed_bomb_and_a_cut_stream_are_refused(tmp_path):
    src = tmp_path / "bomb.osm.bz2"
    src.write_bytes(bz2.compress(b"\0" * (40 * 1024 * 1024)))
    with open_decompressed(src) as handle, pytest.raises(ResourceLimitError) as caught:
        while handle.read(1024 * 1024):
            pass
    assert caught.value.code == "LIM004"
    cut = tmp_path / "cut.osm.gz"
    cut.write_bytes(gzip.compress(b"<osm>" + bytes(range(256)) * 400)[:300])
    with open_decompressed(cut) as handle, pytest.raises(FileFormatError) as caught:
        handle.read()
    assert caught.value.code == "ARC002"


def test_input_size_limit_and_a_folder(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (2 * 1024 * 1024))
    assert check_input_size(big) == 2 * 1024 * 1024
    with cimkit.set_options(max_input_mb=1):
        with pytest.raises(ResourceLimitError) as caught:
            check_input_size(big)
    assert caught.value.code == "LIM002"
    with pytest.raises(CimkitIOError):
        check_input_size(tmp_path)
    with pytest.raises(CimkitIOError):
        check_input_size(tmp_path / "missing.bin")
