"""Corpus cases: publishing what must not be public, allowances, and a tampered audit log.

Every case writes its audit log under ``tmp`` (option ``audit_log``), never in the user's folder.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point, box

import cimkit
from cimkit import _sensitivity as sens
from cimkit.audit import check_audit_log, read_audit_log, record_audit_entry
from cimkit.io.export import write_cityjson
from cimkit.model import CityModel
from cimkit.network.graph import Network
from tests.corpus._registry import corpus_case

X0, Y0 = 651_000.0, 6_847_000.0


def _model() -> CityModel:
    model = CityModel(2154, name="town")
    nodes = gpd.GeoDataFrame(geometry=[Point(X0, Y0), Point(X0 + 80, Y0)], crs=2154)
    edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString([(X0, Y0), (X0 + 80, Y0)])], crs=2154)
    model.add_network(Network(nodes, edges, kind="water"))
    model.add_network(Network(nodes.copy(), edges.copy(), kind="road"))
    parcels = gpd.GeoDataFrame(
        {
            "contenance": [300, 450],
            "Propriétaire": ["Dupont Jeanne", "Martin Paul"],
            "prenom": ["Jeanne", "Paul"],
        },
        geometry=[box(X0, Y0, X0 + 10, Y0 + 30), box(X0 + 10, Y0, X0 + 25, Y0 + 30)],
        index=pd.Index(["91999000AB0001", "91999000AB0002"], name="parcel_id"),
        crs=2154,
    )
    model.add_layer("parcels", parcels)
    return model


@corpus_case("publish/water-network-in-public-report", expect="error", code="PUB001")
def _water_report(tmp, shared):
    from cimkit.viz import build_city_report

    with cimkit.set_options(audit_log=tmp / "audit.jsonl"):
        try:
            build_city_report(_model())
        finally:
            assert not (tmp / "audit.jsonl").exists()  # a refusal logs nothing


@corpus_case("publish/water-network-allowed-with-reason", expect="ok")
def _water_allowed(tmp, shared):
    from cimkit.viz import build_city_report

    log = tmp / "audit.jsonl"
    with cimkit.set_options(audit_log=log):
        report = build_city_report(
            _model(), allow={"water": "plan for the fire service", "parcels": "consent"}
        )
    assert report.title == "town: what the city model says"
    entries = read_audit_log(log)
    assert sorted((e["layers"][0], e["levels"][0]) for e in entries) == [
        ("network_water", "sensitive"),
        ("parcels", "restricted"),
    ]
    assert check_audit_log(log) == 2


@corpus_case("publish/allowance-with-empty-reason", expect="error", code="PUB002")
def _empty_reason(tmp, shared):
    from cimkit.viz import public_model

    with cimkit.set_options(audit_log=tmp / "audit.jsonl"):
        public_model(_model(), allow={"water": "   "})


@corpus_case("publish/tampered-audit-log", expect="error", code="PUB004")
def _tampered(tmp, shared):
    log = tmp / "audit.jsonl"
    for reason in ("first", "second", "third"):
        record_audit_entry(
            action="publish",
            output="report",
            layers=["network_water"],
            levels=["sensitive"],
            reason=reason,
            path=log,
        )
    text = log.read_text().replace('"reason":"second"', '"reason":"secund"')
    log.write_text(text)
    try:
        check_audit_log(log)
    except cimkit.errors.CimkitError as err:
        assert err.line == 2, err.line
        raise


@corpus_case("publish/audit-log-line-deleted", expect="error", code="PUB004")
def _deleted(tmp, shared):
    log = tmp / "audit.jsonl"
    for reason in ("first", "second", "third"):
        record_audit_entry(action="allow", output="public_model", layers=["parcels"], levels=["restricted"],
                           reason=reason, path=log)  # fmt: skip
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0] + lines[2])
    check_audit_log(log)


@corpus_case("publish/personal-columns-dropped", expect="repaired", code="PUB101")
def _personal_dropped(tmp, shared):
    from cimkit.viz import public_model

    with cimkit.set_options(audit_log=tmp / "audit.jsonl"):
        public = public_model(_model())
    assert list(public.parcels.columns) == ["contenance", "geometry"]
    assert public.parcels["contenance"].tolist() == [300, 450]
    step = next(s for s in public.provenance_record("parcels").steps if s.action == "withhold_columns")
    assert step.params == {"columns": ["Propriétaire", "prenom"], "rows": 2}
    assert sorted(public.networks) == ["road"]


@corpus_case("publish/cityjson-with-owner-names", expect="error", code="PUB001")
def _cityjson_owners(tmp, shared):
    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0], "nom": ["Dupont"]},
        geometry=[box(X0, Y0, X0 + 10, Y0 + 10)],
        index=["b1"],
        crs=2154,
    )
    target = tmp / "city.json"
    with cimkit.set_options(audit_log=tmp / "audit.jsonl"):
        try:
            write_cityjson(buildings, target)
        finally:
            assert not target.exists()


@corpus_case("publish/cityjson-allowed", expect="ok")
def _cityjson_allowed(tmp, shared):
    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0], "nom": ["Dupont"]},
        geometry=[box(X0, Y0, X0 + 10, Y0 + 10)],
        index=["b1"],
        crs=2154,
    )
    log = tmp / "audit.jsonl"
    with cimkit.set_options(audit_log=log):
        write_cityjson(buildings, tmp / "city.json", allow={"buildings": "the owner asked to be named"})
    assert json.loads((tmp / "city.json").read_text())["CityObjects"]["b1"]["attributes"]["nom"] == "Dupont"
    (entry,) = read_audit_log(log)
    assert (entry["output"], entry["levels"]) == (str(tmp / "city.json"), ["restricted"])


@corpus_case("publish/unknown-sensitivity-level", expect="error", code="PUB003")
def _unknown_level(tmp, shared):
    sens.set_layer_level(_model(), "parcels", "confidential", reason="legal advice")


@corpus_case("publish/audit-log-not-writable", expect="error", code="PUB005")
def _log_not_writable(tmp, shared):
    from cimkit.viz import public_model

    (tmp / "blocker").write_text("a file where the log's folder should be")
    with cimkit.set_options(audit_log=tmp / "blocker" / "audit.jsonl"):
        public_model(_model(), allow={"water": "shared with the utility"})
