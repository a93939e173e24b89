"""Corpus cases: the folder model format (missing, changed or unsafe files, damaged manifests, zips).

Every model is written under ``tmp`` at test time by :func:`cimkit.io.folder.write_folder` from
two small hand-made layers, then damaged the way a copy, an editor or an attacker would.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from cimkit.io.folder import read_folder, write_folder
from tests.corpus._registry import corpus_case


def _model(tmp: Path, name: str = "city.cimkit") -> Path:
    parcels = gpd.GeoDataFrame(
        {"contenance": [400, 250]},
        geometry=[box(0, 0, 20, 20), box(20, 0, 30, 25)],
        index=pd.Index(["91999000AB0001", "91999000AB0002"], name="parcel_id"),
        crs=2154,
    )
    pois = gpd.GeoDataFrame(
        {"category": ["school"]}, geometry=[Point(5, 5)], index=pd.Index(["p1"], name="poi_id"), crs=2154
    )
    return write_folder(tmp / name, crs=2154, name="corpus", layers={"parcels": parcels, "pois": pois})


@corpus_case("folder/round-trip", expect="ok")
def _round_trip(tmp, shared):
    stored = read_folder(_model(tmp), bbox=(0, 0, 10, 10))
    assert stored.layers["parcels"].index.tolist() == ["91999000AB0001"]
    assert stored.layers["pois"]["category"].tolist() == ["school"]
    assert stored.layers["parcels"]["contenance"].dtype == "int64"


@corpus_case("folder/missing-file", expect="error", code="FLD005")
def _missing_file(tmp, shared):
    path = _model(tmp)
    (path / "pois.parquet").unlink()
    read_folder(path)


@corpus_case("folder/tampered-file", expect="error", code="FLD006")
def _tampered(tmp, shared):
    path = _model(tmp)
    data = bytearray((path / "parcels.parquet").read_bytes())
    data[100] ^= 0x01  # one bit, same size
    (path / "parcels.parquet").write_bytes(bytes(data))
    read_folder(path, layers=["parcels"])


@corpus_case("folder/manifest-not-json", expect="error", code="FLD003")
def _bad_manifest(tmp, shared):
    path = _model(tmp)
    text = (path / "manifest.json").read_text()
    (path / "manifest.json").write_text(text[: len(text) // 2])
    read_folder(path)


@corpus_case("folder/manifest-path-traversal", expect="error", code="FLD007")
def _manifest_traversal(tmp, shared):
    path = _model(tmp)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["layers"]["pois"]["file"] = "../../secret.parquet"
    manifest["files"]["../../secret.parquet"] = manifest["files"].pop("pois.parquet")
    (path / "manifest.json").write_text(json.dumps(manifest))
    read_folder(path)


@corpus_case("folder/zip-path-traversal", expect="error", code="FLD007")
def _zip_traversal(tmp, shared):
    path = _model(tmp, "city.cimkit.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("../../etc/cron.d/evil", b"* * * * * root true\n")
    read_folder(path)


@corpus_case("folder/truncated-zip", expect="error", code="FLD011")
def _truncated_zip(tmp, shared):
    path = _model(tmp, "city.cimkit.zip")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])  # the central directory is cut off
    read_folder(path)


@corpus_case("folder/no-manifest", expect="error", code="FLD002")
def _no_manifest(tmp, shared):
    path = _model(tmp)
    (path / "manifest.json").unlink()
    read_folder(path)
