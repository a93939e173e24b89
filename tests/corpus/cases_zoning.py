"""Corpus cases: PLU zone rules tables (bad values, unknown and duplicated zone labels).

The zoning layer is the sample city's ``zone_urba.geojson`` (labels UA, UB, UE, UX, 1AUh, N, A)
or the real PLU of commune 17345 (``needs_shared=True``); the rules tables are written here.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from cimkit import provenance
from cimkit.datasets import sample_city_path
from cimkit.errors import DataTableError
from cimkit.io.plu import read_zone_rules, read_zoning
from tests.corpus._registry import corpus_case

HEADER = "libelle,max_height_m,max_footprint_ratio,min_setback_road_m,min_green_ratio,allowed_uses\n"
GOOD_ROWS = [
    "UA,15,0.7,0,0.1,residential;office",
    "UB,12,0.4,5,0.3,residential",
    "UE,15,0.6,3,0.2,education",
    "UX,18,0.6,5,0.15,industrial",
    "1AUh,10,0.35,5,0.4,residential",
    "N,6,0.05,10,0.9,",
    "A,9,0.1,10,0.8,industrial",
]
PLU = "plu_zone_urba_17345/zone_urba_17345.geojson"


def _rules(tmp, rows, name="rules.csv"):
    path = tmp / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _zoning(tmp, rows):
    return read_zoning(sample_city_path() / "zone_urba.geojson", rules=_rules(tmp, rows), crs="EPSG:2154")


def _line_of(err: DataTableError, line: int, zone: str) -> None:
    assert err.line == line, (err.line, line)
    assert err.entity == zone, (err.entity, zone)


@corpus_case("zoning/rules-ok", expect="ok")
def _ok(tmp, shared):
    zones = _zoning(tmp, GOOD_ROWS).set_index("libelle")
    assert zones.loc["UB", "max_height_m"] == 12.0 and zones.loc["UB", "max_footprint_ratio"] == 0.4
    assert pd.isna(zones.loc["N", "allowed_uses"])  # blank: no rule
    assert zones.loc["UA", "allowed_uses"] == "residential;office"


@corpus_case("zoning/negative-height", expect="error", code="ZON013")
def _negative(tmp, shared):
    rows = [*GOOD_ROWS]
    rows[1] = "UB,-12,0.4,5,0.3,residential"
    try:
        _zoning(tmp, rows)
    except DataTableError as err:
        _line_of(err, 3, "UB")  # header is line 1, UA line 2
        raise


@corpus_case("zoning/text-in-ratio", expect="error", code="ZON012")
def _text(tmp, shared):
    rows = [*GOOD_ROWS]
    rows[4] = "1AUh,10,35%,5,0.4,residential"
    try:
        _zoning(tmp, rows)
    except DataTableError as err:
        _line_of(err, 6, "1AUh")
        raise


@corpus_case("zoning/infinite-height", expect="error", code="ZON013")
def _infinite(tmp, shared):
    rows = [*GOOD_ROWS]
    rows[0] = "UA,inf,0.7,0,0.1,residential"
    _zoning(tmp, rows)


@corpus_case("zoning/ratio-above-one", expect="error", code="ZON013")
def _ratio(tmp, shared):
    rows = [*GOOD_ROWS]
    rows[2] = "UE,15,60,3,0.2,education"  # a percentage where a 0-1 ratio is expected
    _zoning(tmp, rows)


@corpus_case("zoning/duplicated-zone", expect="error", code="ZON011")
def _duplicate(tmp, shared):
    try:
        _zoning(tmp, [*GOOD_ROWS, "UB,20,0.9,0,0,office"])
    except DataTableError as err:
        _line_of(err, 9, "UB")
        assert "lines 3 and 9" in str(err)
        raise


@corpus_case("zoning/blank-zone-label", expect="error", code="ZON014")
def _blank(tmp, shared):
    _zoning(tmp, [*GOOD_ROWS, ",20,0.9,0,0,office"])


@corpus_case("zoning/zone-label-case-mismatch", expect="error", code="ZON015")
def _case(tmp, shared):
    rows = [*GOOD_ROWS]
    rows[1] = "Ub,12,0.4,5,0.3,residential"
    try:
        _zoning(tmp, rows)
    except DataTableError as err:
        _line_of(err, 3, "Ub")
        raise


@corpus_case("zoning/zone-without-rule", expect="repaired", code="ZON101")
def _missing(tmp, shared):
    zones = _zoning(tmp, [r for r in GOOD_ROWS if not r.startswith("UX,")]).set_index("libelle")
    assert np.isnan(zones.loc["UX", "max_height_m"])  # unknown, never a default
    step = next(s for s in provenance.get(zones).steps if s.action == "join_rules")
    assert step.params["zones_without_rule"] == ["UX"]


@corpus_case("zoning/rule-without-zone", expect="repaired", code="ZON102")
def _unused(tmp, shared):
    zones = _zoning(tmp, [*GOOD_ROWS, "2AU,0,0,0,1,"])
    step = next(s for s in provenance.get(zones).steps if s.action == "join_rules")
    assert step.params["unused_rules"] == ["2AU"]


@corpus_case("zoning/bad-toml", expect="error", code="ZON016")
def _toml(tmp, shared):
    path = tmp / "rules.toml"
    path.write_text("[UB]\nmax_height_m = = 12\n", encoding="utf-8")
    read_zone_rules(path)


@corpus_case("zoning/no-libelle-column", expect="error", code="ZON010")
def _no_libelle(tmp, shared):
    path = tmp / "rules.csv"
    path.write_text("zone,max_height_m\nUB,12\n", encoding="utf-8")
    read_zone_rules(path)


@corpus_case("zoning/unknown-typezone", expect="repaired", code="ZON103")
def _typezone(tmp, shared):
    doc = json.loads((sample_city_path() / "zone_urba.geojson").read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["typezone"] = "ZZ"
    path = tmp / "zone_urba.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    zones = read_zoning(path)
    assert zones["typezone"].isna().sum() == 1
    assert next(s for s in provenance.get(zones).steps if s.action == "unknown_typezone").params["count"] == 1


@corpus_case("zoning/real-plu-17345-rules", expect="ok", needs_shared=True)
def _real(tmp, shared):
    labels = ["Ua", "Ub", "Ux", "AU", "A", "Ap", "N", "Np", "Ne", "Npv"]
    rows = [f"{label},{9 + i},0.{i + 1},5,0.2," for i, label in enumerate(labels)]
    zones = read_zoning(shared / PLU, rules=_rules(tmp, rows), crs="EPSG:2154")
    assert len(zones) == 39
    assert (zones["libelle"] == "Ub").sum() == 7 and set(
        zones.loc[zones["libelle"] == "Ub", "max_height_m"]
    ) == {10.0}
    assert zones["typezone"].value_counts().to_dict() == {"N": 19, "A": 10, "U": 9, "AUc": 1}


@corpus_case("zoning/real-plu-17345-case-mismatch", expect="error", code="ZON015", needs_shared=True)
def _real_case(tmp, shared):
    labels = ["UA", "Ub", "Ux", "AU", "A", "Ap", "N", "Np", "Ne", "Npv"]  # "UA" for the layer's "Ua"
    rows = [f"{label},9,0.5,5,0.2," for label in labels]
    read_zoning(shared / PLU, rules=_rules(tmp, rows), crs="EPSG:2154")


@corpus_case("zoning/compliance-nan-tolerance", expect="error", code="ZON020")
def _nan_tolerance(tmp, shared):
    from cimkit.analysis.zoning import check_compliance
    from cimkit.io.vector import read_buildings, read_parcels

    folder = sample_city_path()
    zones = read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs="EPSG:2154")
    parcels = read_parcels(folder / "parcels.geojson", crs="EPSG:2154")
    buildings = read_buildings(folder / "footprints.geojson", crs="EPSG:2154")
    check_compliance(buildings, parcels, zones, tolerance_m=float("nan"))
