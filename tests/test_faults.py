"""Fault tests: nothing is lost when a write fails or the process is killed in the middle of it.

(a) a full disk (simulated: the write or the flush raises ENOSPC; and a real file-size limit
    hit by GDAL's own C writes) during ``to_file``, ``cimkit convert`` and the report;
(b) a SIGKILL at 50 points of a write, each in a forked child: 40 after a random delay
    (35 in ``CityModel.to_file``, 5 in ``write_cityjson``) and 10 at each phase of the atomic
    writer (half the bytes written, before fsync, before the check, before and after the
    rename; ``write_cityjson`` and the report): the destination is always the previous
    version byte for byte or the new complete one, and the temporaries a kill leaves are
    removed by the next write;
(c) a SIGKILL during a ``cimkit convert`` batch, then a resumed run: its outputs and counts
    equal those of an uninterrupted run.
"""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import shutil
import signal
import time
import warnings
from pathlib import Path

import pytest

from cimkit.cli.convert import run_convert
from cimkit.datasets import sample_city_path
from cimkit.errors import CimkitIOError, RepairWarning
from cimkit.io.export import write_cityjson
from cimkit.io.integrity import check_convert_report, check_model_file, compute_table_sha256
from cimkit.io.vector import read_buildings, read_parcels
from cimkit.model import CityModel, read_model
from cimkit.provenance import compute_sha256

SAMPLE = sample_city_path()


@pytest.fixture(scope="module")
def parcels():
    return read_parcels(SAMPLE / "parcels.geojson")


def _model(parcels, rows: int) -> CityModel:
    model = CityModel(2154, name=f"city{rows}")
    model.add_layer("parcels", parcels.iloc[:rows])
    return model


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def _in_child(func, *, delay_s: float | None = None) -> int:
    """Run ``func`` in a forked child; SIGKILL it ``delay_s`` after it starts (None: let it finish).

    Returns the child's exit status (-9 when killed).
    """
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(ready_r)
        status = 0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                os.write(ready_w, b"1")
                func()
        except BaseException:
            status = 3
        os._exit(status)
    os.close(ready_w)
    os.read(ready_r, 1)
    os.close(ready_r)
    if delay_s is not None:
        time.sleep(delay_s)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


# ------------------------------------------------------------------------------ (a) full disk
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_during_to_file_keeps_previous(parcels, tmp_path, monkeypatch):
    import pyogrio

    dest = _model(parcels, 10).to_file(tmp_path / "city.gpkg")
    before = dest.read_bytes()
    real = pyogrio.write_dataframe
    calls = []

    def fills_the_disk(*args, **kwargs):  # the first table is written, the second runs out of space
        calls.append(1)
        if len(calls) == 2:
            _enospc()
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", fills_the_disk)
    with pytest.raises(CimkitIOError) as info:
        _model(parcels, 40).to_file(dest)
    assert info.value.code == "WRT004" and "disk is full" in str(info.value)
    assert "free space" in info.value.hint
    assert dest.read_bytes() == before
    assert _temporaries(tmp_path) == []
    assert len(read_model(dest).parcels) == 10


def test_full_disk_at_flush_during_the_report(tmp_path, monkeypatch):
    from cimkit import _atomic
    from cimkit.viz.report import Report

    html, md = Report("Flood").text("Two buildings flood.").write(tmp_path, stem="summary")
    before = html.read_bytes(), md.read_bytes()
    monkeypatch.setattr(_atomic.os, "fsync", _enospc)  # delayed allocation: ENOSPC at fsync
    with pytest.raises(CimkitIOError) as info:
        Report("Flood").text("Three buildings flood.").write(tmp_path, stem="summary")
    assert info.value.code == "WRT004"
    assert (html.read_bytes(), md.read_bytes()) == before
    assert _temporaries(tmp_path) == []


def test_full_disk_during_convert_fails_the_file_only(parcels, tmp_path, monkeypatch):
    import pyogrio

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, rows in (("a", 5), ("b", 7)):
        parcels.iloc[:rows].to_file(inputs / f"{name}.geojson", driver="GeoJSON")
    real = pyogrio.write_dataframe

    def full_for_b(frame, path, *args, **kwargs):
        if len(frame) == 7:
            _enospc()
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", full_for_b)
    report = run_convert([inputs], tmp_path / "out")
    by_name = {Path(r["input"]).name: r for r in report.records}
    assert by_name["a.geojson"]["status"] == "ok" and by_name["a.geojson"]["layers"] == {"a": 5}
    assert by_name["b.geojson"]["status"] == "failed" and by_name["b.geojson"]["code"] == "WRT004"
    assert not (tmp_path / "out" / "b.geojson.gpkg").exists()
    assert _temporaries(tmp_path / "out") == []


def test_real_file_size_limit_inside_gdal(parcels, tmp_path):
    """GDAL's own C writes hit a real RLIMIT_FSIZE: a typed error, the previous file intact."""
    dest = _model(parcels, 10).to_file(tmp_path / "city.gpkg")
    before = dest.read_bytes()
    result = tmp_path / "result.json"

    def save_with_a_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.RLIM_INFINITY))
        try:
            _model(parcels, 97).to_file(dest)
            outcome = {"code": None}
        except CimkitIOError as err:
            outcome = {"code": err.code}
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        result.write_text(json.dumps(outcome))

    assert _in_child(save_with_a_limit) == 0
    assert json.loads(result.read_text())["code"] in ("WRT004", "WRT007")
    assert dest.read_bytes() == before
    assert _temporaries(tmp_path) == []


# ------------------------------------------------------------------------ (b) kill mid-write
def _kill_points(write, dest: Path, previous: bytes, is_new_complete, points: int, seed: int) -> dict:
    """Kill ``write`` at ``points`` random moments; check the destination after each; count outcomes."""
    started = time.perf_counter()
    assert _in_child(write) == 0  # an uninterrupted run, to time it
    duration = time.perf_counter() - started
    rng = random.Random(seed)
    seen = {"previous": 0, "new": 0, "temporaries_left": 0}
    for _ in range(points):
        dest.write_bytes(previous)
        status = _in_child(write, delay_s=rng.uniform(0.0, duration))
        data = dest.read_bytes()
        if data == previous:
            seen["previous"] += 1
        else:
            assert is_new_complete(dest), f"a partial file after a kill (status {status})"
            seen["new"] += 1
        seen["temporaries_left"] += bool(_temporaries(dest.parent))
    return seen


def _cleaned_by_next_write(write, dest: Path) -> None:
    folder = dest.parent
    left = _temporaries(folder)
    if not left:  # the last kill left none: leave one as a killed writer would
        (folder / f".{dest.name}.{_dead_pid()}.abc123.tmp{dest.suffix}").write_bytes(b"partial")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write()
    assert _temporaries(folder) == []
    removed = [w for w in caught if isinstance(w.message, RepairWarning) and w.message.code == "WRT101"]
    assert removed and f"removed {max(len(left), 1)} temporary" in str(removed[0].message)


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_kill_during_to_file_at_35_points(parcels, tmp_path):
    dest = _model(parcels, 5).to_file(tmp_path / "city.gpkg")
    previous = dest.read_bytes()
    new = _model(parcels, 60)

    def is_new_complete(path: Path) -> bool:
        table = check_model_file(path)
        return bool((table["status"] == "ok").all()) and len(read_model(path).parcels) == 60

    seen = _kill_points(lambda: new.to_file(dest), dest, previous, is_new_complete, points=35, seed=13)
    assert seen["previous"] + seen["new"] == 35
    assert seen["previous"] >= 5 and seen["temporaries_left"] >= 5, seen  # kills did land mid-write
    _cleaned_by_next_write(lambda: new.to_file(dest), dest)


_PHASES = ("mid-write", "before-fsync", "before-verify", "before-rename", "after-rename")


def _killed_at(phase: str, write) -> None:
    """In a forked child: make the atomic writer SIGKILL its own process at ``phase``, then write."""
    from cimkit import _atomic

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def before(func):
        def wrapper(*args, **kwargs):
            die()
            return func(*args, **kwargs)

        return wrapper

    if phase == "mid-write":

        class _HalfWriter:
            def __init__(self, path, mode):
                self.handle = open(path, mode)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                die()

        _atomic.open = _HalfWriter  # the module's writes only; the child dies anyway
    elif phase == "before-fsync":
        _atomic._fsync_file = before(_atomic._fsync_file)
    elif phase == "before-verify":
        _atomic.verify_file = before(_atomic.verify_file)
    elif phase == "before-rename":
        _atomic.os.replace = before(os.replace)
    else:
        _atomic._fsync_folder = before(_atomic._fsync_folder)
    write()


def _kill_at_phases(write, dest: Path, previous: bytes, expected: bytes) -> dict:
    seen = {"previous": 0, "new": 0, "temporaries_left": 0}
    for phase in _PHASES:
        dest.write_bytes(previous)
        assert _in_child(lambda phase=phase: _killed_at(phase, write)) == -signal.SIGKILL
        data = dest.read_bytes()
        assert data in (previous, expected), f"a partial file after a kill {phase}"
        seen["new" if data == expected and data != previous else "previous"] += 1
        seen["temporaries_left"] += bool(_temporaries(dest.parent))
    return seen


def _phases_of_export_and_report(folder: str) -> None:
    """Kill the CityJSON export and the report at each phase; print what was left, as JSON.

    Run in a fresh interpreter (see the test below): the forked children then start from a
    clean process, not from a test worker that earlier tests have changed.
    """
    from cimkit.viz.report import Report

    tmp = Path(folder)
    buildings = read_buildings(SAMPLE / "footprints.geojson")
    dest = write_cityjson(buildings.head(2), tmp / "city.json")
    reference = write_cityjson(buildings, tmp / "reference" / "city.json").read_bytes()
    export = _kill_at_phases(lambda: write_cityjson(buildings, dest), dest, dest.read_bytes(), reference)
    page = Report("Flood").text("x " * 200_000)
    html, _ = Report("Flood").text("old").write(tmp, stem="summary")
    report = _kill_at_phases(
        lambda: page.write(tmp, stem="summary"), html, html.read_bytes(), page.to_html().encode("utf-8")
    )
    _cleaned_by_next_write(lambda: page.write(tmp, stem="summary"), html)
    print(json.dumps({"export": export, "report": report}))


def test_kill_during_export_and_report_at_15_points(tmp_path):
    import subprocess
    import sys

    buildings = read_buildings(SAMPLE / "footprints.geojson")
    dest = write_cityjson(buildings.head(2), tmp_path / "city.json")
    reference = write_cityjson(buildings, tmp_path / "reference" / "city.json").read_bytes()
    seen = _kill_points(
        lambda: write_cityjson(buildings, dest),
        dest,
        dest.read_bytes(),
        lambda path: path.read_bytes() == reference,
        points=5,
        seed=7,
    )
    assert seen["previous"] + seen["new"] == 5
    # 10 kills at fixed phases, from a fresh interpreter
    phases = tmp_path / "phases"
    phases.mkdir()
    code = f"from tests.test_faults import _phases_of_export_and_report as f; f({str(phases)!r})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # killed before the rename: the previous file; after it: the new one; a temporary left 4 times
    assert seen["export"] == {"previous": 4, "new": 1, "temporaries_left": 4}
    assert seen["report"] == {"previous": 4, "new": 1, "temporaries_left": 4}


@pytest.mark.slow
def test_kill_during_to_file_with_dem_at_100_points(parcels, tmp_path):
    from cimkit.io.raster import read_dem

    dest = _model(parcels, 5).to_file(tmp_path / "city.gpkg")
    new = _model(parcels, 97)
    new.add_layer("buildings", read_buildings(SAMPLE / "footprints.geojson"))
    new.set_dem(read_dem(SAMPLE / "dem.tif"))

    def is_new_complete(path: Path) -> bool:
        return bool((check_model_file(path)["status"] == "ok").all())

    seen = _kill_points(lambda: new.to_file(dest), dest, dest.read_bytes(), is_new_complete, 100, seed=3)
    assert seen["previous"] + seen["new"] == 100
    _cleaned_by_next_write(lambda: new.to_file(dest), dest)


# ----------------------------------------------------------------- (c) kill a batch, resume
def _outputs(folder: Path) -> dict[str, dict[str, str]]:
    """The content digest of every table of every GeoPackage output, by output name."""
    import sqlite3

    found = {}
    for path in sorted(folder.rglob("*.gpkg")):
        with sqlite3.connect(path) as con:
            tables = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
        found[str(path.relative_to(folder))] = {t: compute_table_sha256(path, t) for t in tables}
    return found


def test_kill_during_convert_then_resume_equals_uninterrupted(parcels, tmp_path):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    for i in range(8):
        folder = inputs / "sub" if i % 2 else inputs
        parcels.iloc[i * 10 : i * 10 + 12].to_file(folder / f"p{i}.geojson", driver="GeoJSON")
    (inputs / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [')
    reference = run_convert([inputs], tmp_path / "reference")
    assert (reference.converted, reference.failed) == (8, 1)

    out = tmp_path / "out"
    journal = out / "convert-journal.jsonl"
    for attempt in range(5):  # kill once at least two files are done and before all are
        shutil.rmtree(out, ignore_errors=True)
        pid = os.fork()
        if pid == 0:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run_convert([inputs], out)
            finally:
                os._exit(0)
        while not (journal.is_file() and journal.read_text().count("\n") >= 2 + attempt % 3):
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
            time.sleep(0.005)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
    done_before = journal.read_text().count("\n")
    assert 2 <= done_before < 9, "the batch was not interrupted in the middle"
    assert not (out / "convert-report.json").exists()

    resumed = run_convert([inputs], out)
    assert resumed.skipped >= 1
    assert resumed.converted + resumed.skipped == reference.converted
    assert resumed.failed == reference.failed
    assert _outputs(out) == _outputs(tmp_path / "reference")
    rows = {Path(r["input"]).name: r.get("layers") for r in resumed.records}
    assert rows == {Path(r["input"]).name: r.get("layers") for r in reference.records}
    assert _temporaries(out) == [] and not list(out.rglob(".*tmp*"))
    checked = check_convert_report(out)
    assert (checked["status"] == "ok").all() and (checked["kind"] == "output").sum() == 8


# ------------------------------------------------------------------- inputs never modified
def test_inputs_never_modified_by_build_save_report_convert(tmp_path):
    from cimkit.datasets import load_sample_city
    from cimkit.viz.report import Report

    files = sorted(p for p in SAMPLE.rglob("*") if p.is_file())
    before = {p: compute_sha256(p) for p in files}
    stats = {p: p.stat().st_mtime_ns for p in files}
    model = load_sample_city(with_ifc=False)
    saved = model.to_file(tmp_path / "city.gpkg")
    Report("Sample city").text(f"{len(model['buildings'])} buildings.").write(tmp_path, stem="summary")
    report = run_convert(sorted(SAMPLE.glob("*.geojson")), tmp_path / "converted")
    assert report.failed == 0 and report.converted == len(list(SAMPLE.glob("*.geojson")))
    assert {p: compute_sha256(p) for p in files} == before
    assert {p: p.stat().st_mtime_ns for p in files} == stats
    assert sorted(p.name for p in SAMPLE.rglob("*") if p.is_file()) == sorted(p.name for p in files)
    assert (check_model_file(saved)["status"] == "ok").all()
    back = read_model(saved)  # every step of every layer, with its counts, survives the round trip
    for name in model.provenance.index:
        assert back.provenance_record(name).to_dict() == model.provenance_record(name).to_dict(), name
    counted = [s for n in model.provenance.index for s in model.provenance_record(n).steps if s.params]
    assert len(counted) >= 3
