"""What cimkit convert prints: a rich bar on a terminal, plain lines otherwise, -v / -q, clean warning lines."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pytest
from rich.console import Console
from shapely.geometry import box

import cimkit
from cimkit.cli.convert import run_convert
from cimkit.cli.main import main


@pytest.fixture()
def inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        cells = [
            box(2.30 + 0.001 * k, 48.70 + 0.001 * i, 2.3005 + 0.001 * k, 48.7005 + 0.001 * i)
            for k in range(i + 2)
        ]
        gpd.GeoDataFrame({"id": list(range(i + 2))}, geometry=cells, crs=4326).to_file(src / f"p{i}.geojson")
    (src / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    return src


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=200, color_system=None), buffer


def test_terminal_shows_a_bar_with_done_failed_and_eta(inputs, tmp_path):
    console, buffer = _console(terminal=True)
    with cimkit.set_options(progress=True):
        report = run_convert([inputs], tmp_path / "out", console=console)
    text = buffer.getvalue()
    assert (report.converted, report.failed) == (3, 1)
    # the bar's last state: 4 of 4 pairs, 3 done, 1 failed, an ETA column
    assert "4/4" in text and "3 done, 1 failed" in text and "ETA" in text
    assert "\x1b[" in text  # cursor movements of a live display
    # on a terminal only the failure is a line of its own, not the files converted
    assert "FAILED" in text and "ok     " not in text


def test_plain_stream_gets_one_line_per_file(inputs, tmp_path):
    console, buffer = _console(terminal=False)
    with cimkit.set_options(progress=False):  # what the command line sets when stderr is no terminal
        run_convert([inputs], tmp_path / "out", console=console)
    lines = buffer.getvalue().splitlines()
    assert "\x1b[" not in buffer.getvalue()
    assert sorted(line.split()[0] for line in lines) == ["FAILED", "ok", "ok", "ok"]
    ok = [line for line in lines if line.startswith("ok")]
    assert all("[gpkg] -> 1 file(s) in " in line for line in ok)
    failed = next(line for line in lines if line.startswith("FAILED"))
    assert "broken.geojson [gpkg]: error[CNV" in failed


def test_warnings_are_one_clean_line_with_their_code(inputs, tmp_path):
    console, buffer = _console(terminal=False)
    # --origin does not apply to GeoJSON: the reader warns (CNV101), once per file
    report = run_convert(
        [inputs / "p0.geojson"], tmp_path / "out", origin=(1.0, 2.0), crs="EPSG:2154", console=console
    )
    lines = buffer.getvalue().splitlines()
    warned = [line for line in lines if line.startswith("warning[")]
    assert len(warned) == 1 and warned[0].startswith(f"warning[CNV101] {inputs / 'p0.geojson'}: ")
    assert "--origin ignored" in warned[0]
    assert not any("warnings.warn" in line or ".py:" in line for line in lines)
    assert report.records[0]["warnings"] == [
        {"code": "CNV101", "category": "CimkitWarning", "message": warned[0].split(": ", 1)[1], "count": 1}
    ]


def test_verbose_and_quiet_from_the_command_line(inputs, tmp_path, capsys):
    assert main(["-v", "convert", str(inputs), "--to", str(tmp_path / "v"), "--crs", "EPSG:2154"]) == 1
    err = capsys.readouterr().err
    assert "  crs EPSG:2154; rows p1: 3" in err  # -v: tables, rows and the CRS written
    assert f"  wrote {tmp_path / 'v' / 'p2.geojson.gpkg'}" in err
    assert "  fix: " in err  # -v: the failure's fix

    assert main(["-q", "convert", str(inputs), "--to", str(tmp_path / "q"), "--crs", "EPSG:2154"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""  # -q: nothing per file ...
    out = captured.out.splitlines()  # ... only the summary, which lists the failure
    assert out[0].startswith("4 file(s): 3 converted, 0 already done, 1 failed")
    assert len(out) == 2 and out[1].startswith("  FAILED ") and "broken.geojson" in out[1]

    assert main(["convert", str(inputs), "--to", str(tmp_path / "d"), "--crs", "EPSG:2154"]) == 1
    err = capsys.readouterr().err
    assert err.count("\nok ") + err.startswith("ok ") == 3 and "  crs " not in err  # default: a line per file


def test_report_holds_version_command_crs_hashes_and_timings(inputs, tmp_path):
    from cimkit.provenance import compute_sha256

    out = tmp_path / "out"
    argv = ["convert", str(inputs), "--to", str(out), "--crs", "EPSG:2154", "--format", "gpkg,parquet", "-q"]
    assert main(argv) == 1
    report = json.loads((out / "convert-report.json").read_text())
    assert report["cimkit_version"] == cimkit.__version__ and report["command"] == ["cimkit", *argv]
    assert (report["converted"], report["failed"], report["exit_code"]) == (6, 2, 1)
    assert report["seconds_total"] >= report["seconds_files"] > 0
    for rec in report["files"]:
        assert rec["sha256"] == compute_sha256(rec["input"])
        if rec["status"] == "ok":
            assert rec["crs"] == "EPSG:2154" and rec["seconds"] > 0
            assert rec["output_sha256"] == {f: compute_sha256(f) for f in rec["outputs"]}
        else:  # nothing listed for what was not written
            assert "outputs" not in rec and "output_sha256" not in rec and rec["code"].startswith("CNV")
    pairs = sorted((rec["input"].rsplit("/", 1)[1], rec["format"]) for rec in report["files"])
    assert pairs == sorted(
        (f"{n}.geojson", f) for n in ("p0", "p1", "p2", "broken") for f in ("gpkg", "parquet")
    )


def test_auto_utm_crs_is_reported(tmp_path):
    """An IFC placed by its site's latitude / longitude only is written in that site's UTM zone: the report names it."""
    from tests.io import ifc_factory as F

    f, project, body = F.new_project()
    F.add_house(f, project, body, materials=False)
    F.set_site_latlon(f, lat=48.70, lon=2.30)  # Essonne: UTM zone 31 north
    src = F.write(f, tmp_path / "latlon.ifc")
    report = run_convert([src], tmp_path / "out", verbosity=-1)
    (rec,) = report.records
    assert rec["status"] == "ok" and rec["crs"] == "EPSG:32631"  # was null
    assert gpd.read_file(tmp_path / "out" / "latlon.ifc.gpkg", layer="buildings").crs.to_epsg() == 32631
    assert any(w["message"].find("UTM zone") >= 0 for w in rec["warnings"]), rec["warnings"]
