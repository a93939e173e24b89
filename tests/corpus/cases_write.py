"""Corpus cases: saving where it cannot be done, and ``cimkit convert`` on a mixed folder."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from unittest import mock

from cimkit.cli.convert import run_convert
from cimkit.datasets import sample_city_path
from cimkit.io.export import write_cityjson
from cimkit.io.integrity import check_convert_report
from cimkit.io.vector import read_buildings, read_parcels
from cimkit.model import CityModel
from tests.corpus._registry import corpus_case


def _model() -> CityModel:
    model = CityModel(2154, name="corpus")
    model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson").iloc[:5])
    return model


def _unchanged_folder(folder: Path, before: list[str]) -> None:
    assert sorted(p.name for p in folder.iterdir()) == before, "a temporary was left behind"


@corpus_case("write/read-only-folder", expect="error", code="WRT001")
def _read_only(tmp, shared):
    folder = tmp / "locked"
    folder.mkdir()
    previous = _model().to_file(folder / "city.gpkg").read_bytes()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    denied = OSError(errno.EACCES, "Permission denied", str(folder))
    try:
        if os.geteuid() == 0:  # root ignores permissions: the refusal the OS gives others
            with mock.patch.object(tempfile, "mkstemp", side_effect=denied):
                _model().to_file(folder / "city.gpkg")
        else:
            _model().to_file(folder / "city.gpkg")
    finally:
        folder.chmod(stat.S_IRWXU)
        assert (folder / "city.gpkg").read_bytes() == previous
        _unchanged_folder(folder, ["city.gpkg"])


@corpus_case("write/onto-a-directory", expect="error", code="WRT002")
def _onto_dir(tmp, shared):
    (tmp / "city.gpkg").mkdir()
    try:
        _model().to_file(tmp / "city.gpkg")
    finally:
        assert (tmp / "city.gpkg").is_dir() and not list((tmp / "city.gpkg").iterdir())


@corpus_case("write/cityjson-onto-a-directory", expect="error", code="WRT002")
def _cityjson_onto_dir(tmp, shared):
    (tmp / "city.json").mkdir()
    write_cityjson(read_buildings(sample_city_path() / "footprints.geojson").head(2), tmp / "city.json")


@corpus_case("write/parent-is-a-file", expect="error", code="WRT003")
def _parent_file(tmp, shared):
    (tmp / "out").write_text("a file")
    _model().to_file(tmp / "out" / "city.gpkg")


@corpus_case("write/name-too-long", expect="error", code="WRT005")
def _long_name(tmp, shared):
    _model().to_file(tmp / ("c" * 300 + ".gpkg"))


@corpus_case("write/disk-full-simulated", expect="error", code="WRT004")
def _disk_full(tmp, shared):
    import pyogrio

    previous = _model().to_file(tmp / "city.gpkg").read_bytes()
    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        with mock.patch.object(pyogrio, "write_dataframe", side_effect=full):
            _model().to_file(tmp / "city.gpkg")
    finally:
        assert (tmp / "city.gpkg").read_bytes() == previous
        _unchanged_folder(tmp, ["city.gpkg"])


@corpus_case("write/temporary-left-by-a-kill", expect="repaired", code="WRT101")
def _stale(tmp, shared):
    """A temporary left by a killed writer (its process gone) is removed by the next write."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    (tmp / f".city.gpkg.{pid}.x1y2z3.tmp.gpkg").write_bytes(b"SQLite format 3\x00partial")
    path = _model().to_file(tmp / "city.gpkg")
    _unchanged_folder(tmp, ["city.gpkg"])
    assert path.stat().st_size > 0


@corpus_case("write/convert-mixed-folder", expect="ok")
def _convert_mixed(tmp, shared):
    """Good and bad files in one folder: the good converted, each bad one failed with a code."""
    inputs = tmp / "in"
    inputs.mkdir()
    parcels = read_parcels(sample_city_path() / "parcels.geojson")
    parcels.iloc[:4].to_file(inputs / "good1.geojson", driver="GeoJSON")
    parcels.iloc[4:10].to_file(inputs / "good2.gpkg", driver="GPKG")
    (inputs / "cut.geojson").write_text('{"type": "FeatureCollection", "features": [{"type"')
    (inputs / "empty.gpkg").write_bytes(b"")
    (inputs / "binary.fgb").write_bytes(bytes(range(256)) * 4)
    (inputs / "notes.json").write_text(json.dumps({"not": "geojson"}))
    report = run_convert([inputs], tmp / "out")
    status = {Path(r["input"]).name: (r["status"], r.get("code")) for r in report.records}
    assert status["good1.geojson"] == ("ok", None) and status["good2.gpkg"] == ("ok", None)
    rows = {Path(r["input"]).name: r.get("layers") for r in report.records}
    assert rows["good1.geojson"] == {"good1": 4} and rows["good2.gpkg"] == {"good2": 6}
    failed = {name for name, (s, _) in status.items() if s == "failed"}
    assert failed == {"cut.geojson", "empty.gpkg", "binary.fgb", "notes.json"}, status
    assert all(code not in (None, "UNTYPED") for s, code in status.values() if s == "failed"), status
    checked = check_convert_report(tmp / "out")
    assert (checked["status"] == "ok").all() and len(checked) == 4
