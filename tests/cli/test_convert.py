"""cimkit convert: survives bad files, reports precisely, resumes, writes atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


def test_outputs_hashed_verified_and_a_changed_output_redone(inputs, tmp_path, capsys):
    from cimkit.io.integrity import check_convert_report
    from cimkit.provenance import compute_sha256

    out = tmp_path / "out"
    report = run_convert([inputs], out, crs="EPSG:2154")
    ok = [r for r in report.records if r["status"] == "ok"]
    # one sha256 per file written (was one per record before several files per output existed)
    assert all(r["output_sha256"] == {r["output"]: compute_sha256(r["output"])} for r in ok)
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
    # CNV001 (an unknown format, found from the content) replaced the generic GEN002
    assert codes == {"noise.fgb": ("FileFormatError", "CNV001"), "empty.gpkg": ("FileFormatError", "CNV001")}


def test_an_ifc_converts_to_geoparquet_with_its_provenance(tmp_path):
    from cimkit import provenance as prov
    from cimkit.datasets import sample_city_path
    from cimkit.io.ifc import read_ifc

    src = sample_city_path() / "buildings" / "maison_lilas_3.ifc"
    report = run_convert([src], tmp_path / "out", output_format="parquet")
    assert (report.converted, report.failed) == (1, 0)  # was: TypeError, Provenance not JSON serializable
    folder = tmp_path / "out" / "maison_lilas_3.ifc.parquet"  # one GeoParquet file per table
    assert sorted(p.name for p in folder.iterdir()) == [
        "buildings.parquet",
        "elements.parquet",
        "materials.parquet",
        "spaces.parquet",
    ]
    # the writers keep the identity as a column in every format (FlatGeobuf/GeoJSON have no index)
    back = gpd.read_parquet(folder / "buildings.parquet").set_index("building_id")
    direct = read_ifc(src)
    assert back.crs.to_epsg() == 2154 and back.index.name == "building_id"
    assert back.index.tolist() == direct.index.tolist()
    assert back.geometry.area.round(3).tolist() == direct.geometry.area.round(3).tolist()
    assert back.attrs["provenance"]["reader"] == "cimkit.read_ifc"
    assert back.attrs["provenance"]["source_files"][0]["sha256"] == prov.get(direct).source_files[0].sha256


# --- placement per file ------------------------------------------------------------------------
def _unplaced_house(path):
    from tests.io import ifc_factory as F

    f, project, body = F.new_project()
    F.add_house(f, project, body, materials=False)  # 10 m x 6 m, no georeferencing at all
    return F.write(f, path)


def test_placement_per_file_sidecar_table_and_flags(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("flags", "sidecar", "table"):
        _unplaced_house(src / f"{name}.ifc")
    (src / "sidecar.ifc.cimkit.toml").write_text('crs = "EPSG:2154"\norigin = "651000,6861000"\n')
    (tmp_path / "placement.csv").write_text(
        'input,crs,origin\nin/table.ifc,EPSG:2154,"652000,6862000,0,90"\n'
    )
    out = tmp_path / "out"
    table = tmp_path / "placement.csv"

    report = run_convert([src], out, placement_table=table, verbosity=-1)
    by_name = {Path(r["input"]).name: r for r in report.records}
    failed = by_name["flags.ifc"]  # nothing places it: it fails alone, with the command's flags in its fix
    assert failed["status"] == "failed" and failed["code"] == "IFC001"
    assert "--origin x,y[,z[,rot]]" in failed["hint"] and "--crs" in failed["hint"]
    assert "origin=" not in failed["hint"] + failed["error"]
    assert by_name["sidecar.ifc"]["placement"] == {
        "crs": "EPSG:2154",
        "source_crs": None,
        "origin": [651000.0, 6861000.0],
    }
    b = gpd.read_file(out / "sidecar.ifc.gpkg", layer="buildings").total_bounds
    assert b == pytest.approx([651000, 6861000, 651010, 6861006], abs=1e-6)
    # the table's origin turns the house 90 degrees counter-clockwise about (652000, 6862000)
    b = gpd.read_file(out / "table.ifc.gpkg", layer="buildings").total_bounds
    assert b == pytest.approx([651994, 6862000, 652000, 6862010], abs=1e-6)

    # the flags place the one file left; the sidecar and the table still win for theirs (skipped)
    code = main(["-q", "convert", str(src), "--to", str(out), "--placement", str(table),
                 "--crs", "EPSG:2154", "--origin", "653000,6863000,0"])  # fmt: skip
    assert code == 0
    again = json.loads((out / "convert-report.json").read_text())
    assert {Path(r["input"]).name: r["status"] for r in again["files"]} == {
        "flags.ifc": "ok", "sidecar.ifc": "skipped", "table.ifc": "skipped"}  # fmt: skip
    b = gpd.read_file(out / "flags.ifc.gpkg", layer="buildings").total_bounds
    assert b == pytest.approx([653000, 6863000, 653010, 6863006], abs=1e-6)


def test_bad_placement_inputs(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(2.30, 48.70, 2.301, 48.701)], crs=4326).to_file(
        src / "a.geojson"
    )
    gpd.GeoDataFrame({"id": [2]}, geometry=[box(2.30, 48.70, 2.301, 48.701)], crs=4326).to_file(
        src / "b.geojson"
    )
    (src / "b.geojson.cimkit.json").write_text('{"crs": "EPSG:2154", "scale": 2}')
    report = run_convert([src], tmp_path / "out", verbosity=-1)  # the bad sidecar fails its file alone
    status = {Path(r["input"]).name: (r["status"], r.get("code")) for r in report.records}
    assert status == {"a.geojson": ("ok", None), "b.geojson": ("failed", "BAT001")}
    assert "scale" in next(r["error"] for r in report.records if r["status"] == "failed")
    # usage errors: exit code 2 before anything is converted
    capsys.readouterr()
    for bad in (["--origin", "1,nan"], ["--origin", "1"], ["--origin", "1,2,3,4,5"]):  # argparse: exit 2
        with pytest.raises(SystemExit) as info:
            main(["convert", str(src), "--to", str(tmp_path / "x"), *bad])
        assert info.value.code == 2
        assert "origin must be x,y[,z[,rot]] with 2 to 4 finite numbers" in capsys.readouterr().err
    assert main(["convert", str(src), "--to", str(tmp_path / "x"), "--format", "gpkg,shp"]) == 2
    assert "--format must be one of gpkg" in capsys.readouterr().err
    (tmp_path / "p.csv").write_text("input,crs\nnot-there.geojson,EPSG:2154\n")
    assert (
        main(["convert", str(src), "--to", str(tmp_path / "x"), "--placement", str(tmp_path / "p.csv")]) == 2
    )
    assert "error[BAT002]" in capsys.readouterr().err


def test_several_formats_resume_per_pair(inputs, tmp_path):
    out = tmp_path / "out"
    first = run_convert([inputs], out, output_format="gpkg", crs="EPSG:2154", verbosity=-1)
    assert (first.converted, first.failed) == (2, 1)
    both = run_convert([inputs], out, output_format="gpkg,parquet", crs="EPSG:2154", verbosity=-1)
    pairs = {(Path(r["input"]).name, r["format"]): r["status"] for r in both.records}
    assert pairs == {
        ("parcels.geojson", "gpkg"): "skipped",
        ("pois.geojson", "gpkg"): "skipped",
        ("broken.geojson", "gpkg"): "failed",
        ("parcels.geojson", "parquet"): "ok",
        ("pois.geojson", "parquet"): "ok",
        ("broken.geojson", "parquet"): "failed",
    }
    assert len(gpd.read_parquet(out / "parcels.geojson.parquet" / "parcels.parquet")) == 2
    journal = [json.loads(line) for line in (out / "convert-journal.jsonl").read_text().splitlines()]
    assert len(journal) == 3 + 4  # one line per (input, format) converted or failed, none for skips


def test_dask_gives_the_local_report_and_outputs(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    from cimkit.datasets import sample_city_path
    from cimkit.provenance import compute_sha256

    src = tmp_path / "in"
    src.mkdir()
    parcels = gpd.read_file(sample_city_path() / "parcels.geojson")
    for i in range(8):
        parcels.iloc[i * 5 : i * 5 + 7].to_file(src / f"p{i}.geojson")
    (src / "cut.geojson").write_text('{"type": "FeatureCollection", "features": [{"type"')
    # an IFC too: on Dask its sandboxed reader starts child processes in a (daemonic) Dask worker
    shutil.copy(sample_city_path() / "buildings" / "commerce_grande_rue.ifc", src / "shop.ifc")

    def outcome(out):
        report = json.loads((out / "convert-report.json").read_text())
        hashes = {str(p.relative_to(out)): compute_sha256(p) for p in sorted(out.rglob("*.gpkg"))}
        keep = ("input", "format", "status", "code", "layers", "crs", "sha256", "placement")
        files = [{k: r.get(k) for k in keep} for r in report["files"]]
        for r, full in zip(files, report["files"]):
            r["outputs"] = {
                str(Path(f).relative_to(out)): s for f, s in (full.get("output_sha256") or {}).items()
            }
        return files, hashes

    local = run_convert([src], tmp_path / "local", crs="EPSG:2154", jobs=2, verbosity=-1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = run_convert(
            [src], tmp_path / "dask", crs="EPSG:2154", scheduler=cluster.scheduler_address, verbosity=-1
        )
    assert (local.converted, local.failed) == (dask.converted, dask.failed) == (9, 1)
    files, hashes = outcome(tmp_path / "local")
    assert (files, hashes) == outcome(tmp_path / "dask")
    assert (
        len(hashes) == 9
        and ("shop.ifc.gpkg" in hashes)
        and next(f for f in files if f["input"].endswith("p0.geojson"))["layers"] == {"p0": 7}
    )


def test_workers_after_an_ifc_read_in_this_process(tmp_path):
    """-j 2 after an IFC was read here: the workers start their own IFC forkserver (was: ECHILD on every IFC)."""
    from cimkit.datasets import sample_city_path
    from cimkit.provenance import compute_sha256

    src = sample_city_path() / "buildings" / "commerce_grande_rue.ifc"
    here = run_convert([src], tmp_path / "here", verbosity=-1)  # starts a forkserver in this process
    workers = run_convert(
        [src, sample_city_path() / "zone_urba.geojson"], tmp_path / "workers", jobs=2, verbosity=-1
    )
    assert (here.converted, workers.converted, workers.failed) == (1, 2, 0)
    name = "commerce_grande_rue.ifc.gpkg"
    assert compute_sha256(tmp_path / "here" / name) == compute_sha256(tmp_path / "workers" / name)


def test_fixes_name_the_command_flags_not_python_arguments():
    from cimkit._placement import _ACCEPT_HINT, _ORIGIN_HINT
    from cimkit.cli._convert_placement import cli_wording

    text = cli_wording(f"x.inp: 6,000 km from EPSG:2154. Fix: {_ORIGIN_HINT}; {_ACCEPT_HINT}")
    assert (
        text
        == "x.inp: 6,000 km from EPSG:2154. Fix: local coordinates: pass --origin x,y[,z[,rot]] in the target CRS to place them"
    )
    assert cli_wording('pass crs="EPSG:nnnn" (the CRS the map conversion leads to)') == (
        "pass --crs EPSG:nnnn (the CRS the map conversion leads to)"
    )
    assert cli_wording("raise the limit with cimkit.set_options(ifc_timeout_s=...) if the file is large") == (
        "raise the limit with --timeout SECONDS if the file is large"
    )
    assert cli_wording("pass origin=(x, y[, z, rotation_deg]) and crs=... to read_ifc") == (
        "pass --origin x,y[,z[,rot]] and --crs EPSG:...."
    )


def test_discover_inputs_skips_sidecars_and_metadata(tmp_path):
    from cimkit.cli.convert import discover_inputs

    for name in ("a.geojson", "a.geojson.cimkit.toml", "b.shp.xml", "c.tif.aux.xml", "d.city.json", "e.inp"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    found = sorted(p.name for p, _ in discover_inputs([tmp_path]))
    assert found == ["a.geojson", "d.city.json", "e.inp"]
