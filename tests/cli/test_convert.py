"""cimkit convert: survives bad files, reports precisely, resumes, writes atomically."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box

from cimkit.cli.convert import run_convert
from cimkit.cli.main import main


@pytest.fixture()
def inputs(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    # in Essonne (lon/lat), inside Lambert-93's area of use: converting them passes the placement check
    parcels = [box(2.30, 48.70, 2.301, 48.701), box(2.302, 48.70, 2.303, 48.701)]
    gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=parcels, crs=4326).to_file(src / "parcels.geojson")
    gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(2.3, 48.7)], crs=4326).to_file(
        src / "sub" / "pois.geojson"
    )
    (src / "sub" / "broken.geojson").write_text(
        '{"type": "FeatureCollection", "features": [', encoding="utf-8"
    )
    return src


def test_batch_continues_past_bad_file_and_resumes(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    report = run_convert([inputs], out, output_format="gpkg", crs="EPSG:2154")
    assert (report.converted, report.failed, report.skipped) == (2, 1, 0)
    failed = [r for r in report.records if r["status"] == "failed"]
    assert failed[0]["input"].endswith("broken.geojson") and failed[0]["error_type"]
    assert "FAILED" in capsys.readouterr().out
    converted = pyogrio.read_dataframe(out / "parcels.geojson.gpkg")
    assert converted.crs.to_epsg() == 2154 and len(converted) == 2
    assert (out / "sub" / "pois.geojson.gpkg").is_file()
    summary = json.loads((out / "convert-report.json").read_text())
    assert summary["failed"] == 1 and summary["converted"] == 2
    # second run: the two good files are skipped, the bad one is tried again
    again = run_convert([inputs], out, output_format="gpkg", crs="EPSG:2154")
    assert (again.converted, again.failed, again.skipped) == (0, 1, 2)
    # a changed input is converted again
    gpd.GeoDataFrame({"id": ["c"]}, geometry=[box(2.30, 48.70, 2.302, 48.702)], crs=4326).to_file(
        inputs / "parcels.geojson"
    )
    third = run_convert([inputs], out, output_format="gpkg", crs="EPSG:2154")
    assert third.converted == 1 and third.skipped == 1
    assert len(pyogrio.read_dataframe(out / "parcels.geojson.gpkg")) == 1
    assert not [p for p in out.rglob("*.tmp*")]


def test_parallel_jobs_give_same_result(inputs, tmp_path):
    report = run_convert([inputs], tmp_path / "par", output_format="parquet", jobs=2)
    assert (report.converted, report.failed) == (2, 1)
    frame = gpd.read_parquet(tmp_path / "par" / "parcels.geojson.parquet")
    assert list(frame["id"]) == ["a", "b"]


def test_cli_exit_codes(inputs, tmp_path):
    assert main(["-q", "convert", str(inputs / "parcels.geojson"), "--to", str(tmp_path / "o1")]) == 0
    assert main(["-q", "convert", str(inputs), "--to", str(tmp_path / "o2")]) == 1
    assert main(["-q", "convert", str(tmp_path / "missing"), "--to", str(tmp_path / "o3")]) == 2


def test_dask_cluster_path(inputs, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        report = run_convert(
            [inputs], tmp_path / "dask", output_format="gpkg", scheduler=cluster.scheduler_address
        )
    assert (report.converted, report.failed) == (2, 1)
    assert len(pyogrio.read_dataframe(tmp_path / "dask" / "parcels.geojson.gpkg")) == 2


def test_outputs_hashed_verified_and_a_changed_output_redone(inputs, tmp_path, capsys):
    from cimkit.io.integrity import check_convert_report
    from cimkit.provenance import compute_sha256

    out = tmp_path / "out"
    report = run_convert([inputs], out, crs="EPSG:2154")
    ok = [r for r in report.records if r["status"] == "ok"]
    assert all(r["output_sha256"] == compute_sha256(r["output"]) for r in ok)
    saved = json.loads((out / "convert-report.json").read_text())
    assert sorted(r.get("output_sha256") is not None for r in saved["files"]) == [False, True, True]
    assert main(["-q", "verify", str(out)]) == 0
    table = check_convert_report(out)
    assert sorted(table["kind"]) == ["output", "output", "source", "source"]
    assert (table["status"] == "ok").all()

    output = out / "parcels.geojson.gpkg"  # changed after the batch: verify names it; resume redoes it
    output.write_bytes(output.read_bytes() + b"\0" * 4096)
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    assert "mismatch" in capsys.readouterr().out.split("parcels.geojson.gpkg")[0].splitlines()[-1]
    again = run_convert([inputs], out, crs="EPSG:2154")
    status = {r["input"].rsplit("/", 1)[-1]: r["status"] for r in again.records}
    assert status == {"parcels.geojson": "ok", "pois.geojson": "skipped", "broken.geojson": "failed"}
    assert main(["-q", "verify", str(out)]) == 0


def test_a_journal_line_cut_by_a_kill_does_not_swallow_the_next(inputs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "convert-journal.jsonl").write_text('{"input": "cut sho', encoding="utf-8")
    run_convert([inputs], out)
    lines = (out / "convert-journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"input": "cut sho' and len(lines) == 4
    assert all(json.loads(line)["status"] for line in lines[1:])


def test_unreadable_inputs_fail_typed(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "noise.fgb").write_bytes(bytes(range(256)))
    (src / "empty.gpkg").write_bytes(b"")
    report = run_convert([src], tmp_path / "out")
    codes = {r["input"].rsplit("/", 1)[-1]: (r["error_type"], r["code"]) for r in report.records}
    assert codes == {"noise.fgb": ("FileFormatError", "GEN002"), "empty.gpkg": ("FileFormatError", "GEN002")}


def test_an_ifc_converts_to_geoparquet_with_its_provenance(tmp_path):
    from cimkit import provenance as prov
    from cimkit.datasets import sample_city_path
    from cimkit.io.ifc import read_ifc

    src = sample_city_path() / "buildings" / "maison_lilas_3.ifc"
    report = run_convert([src], tmp_path / "out", output_format="parquet")
    assert (report.converted, report.failed) == (1, 0)  # was: TypeError, Provenance not JSON serializable
    back = gpd.read_parquet(tmp_path / "out" / "maison_lilas_3.ifc.parquet")
    direct = read_ifc(src)
    assert back.crs.to_epsg() == 2154 and back.index.name == "building_id"
    assert back.index.tolist() == direct.index.tolist()
    assert back.geometry.area.round(3).tolist() == direct.geometry.area.round(3).tolist()
    assert back.attrs["provenance"]["reader"] == "cimkit.read_ifc"
    assert back.attrs["provenance"]["source_files"][0]["sha256"] == prov.get(direct).source_files[0].sha256
