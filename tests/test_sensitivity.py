"""Sensitivity levels: defaults, explicit levels, inheritance, the public view and public outputs."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import cimkit
from cimkit import _sensitivity as sens
from cimkit import provenance as prov
from cimkit.audit import check_audit_log, read_audit_log
from cimkit.errors import CimkitWarning, LayerNotFoundError, PublicationError, ValidationError
from cimkit.io.export import write_cityjson
from cimkit.model import CityModel, read_model
from cimkit.network.graph import Network
from cimkit.viz import build_city_report, public_model

X0, Y0 = 651_000.0, 6_847_000.0  # Lambert-93, inside France (the placement checks need it)


@pytest.fixture(autouse=True)
def audit_log(tmp_path):
    """Every test writes its audit entries to its own log, never to the user's state folder."""
    path = tmp_path / "state" / "audit.jsonl"
    with cimkit.set_options(audit_log=path):
        yield path


@pytest.fixture(scope="module")
def sample():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


def _net(kind: str) -> Network:
    nodes = gpd.GeoDataFrame(geometry=[Point(X0, Y0), Point(X0 + 100, Y0)], crs=2154)
    edges = gpd.GeoDataFrame(
        {"u": [0], "v": [1]}, geometry=[LineString([(X0, Y0), (X0 + 100, Y0)])], crs=2154
    )
    return Network(nodes, edges, kind=kind)


def _model() -> CityModel:
    model = CityModel(2154, name="town")
    parcels = gpd.GeoDataFrame(
        {
            "contenance": [300, 450],
            "proprietaire": ["Dupont Jeanne", "Martin Paul"],
            "date_naissance": ["1950-02-01", "1971-11-30"],
            "nom_com": ["Épinay", "Épinay"],
        },
        geometry=[box(X0, Y0, X0 + 10, Y0 + 30), box(X0 + 10, Y0, X0 + 25, Y0 + 30)],
        index=pd.Index(["91999000AB0001", "91999000AB0002"], name="parcel_id"),
        crs=2154,
    )
    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0, 9.0]},
        geometry=[box(X0 + 1, Y0 + 1, X0 + 8, Y0 + 9), box(X0 + 12, Y0 + 1, X0 + 20, Y0 + 9)],
        index=pd.Index(["b1", "b2"], name="building_id"),
        crs=2154,
    )
    model.add_layer("parcels", parcels)
    model.add_layer("buildings", buildings)
    for kind in ("road", "water", "sewer", "power"):
        model.add_network(_net(kind))
    return model


# ------------------------------------------------------------------ levels and defaults


def test_personal_columns_french_and_english():
    frame = pd.DataFrame(
        columns=[
            "idu", "nom_com", "NOM", "Prénom", "titulaire", "nomfic", "name", "first_name",
            "DATE DE NAISSANCE", "dateOfBirth", "comptecommunal", "owner_name", "dnupro",
            "nom_voie", "libelle", "contenance",
        ]
    )  # fmt: skip
    assert sens.personal_columns(frame) == [
        "NOM", "Prénom", "titulaire", "first_name", "DATE DE NAISSANCE", "dateOfBirth",
        "comptecommunal", "owner_name", "dnupro",
    ]  # fmt: skip
    assert sens.personal_columns(pd.DataFrame(columns=["id", "commune", "section", "numero"])) == []


def test_default_levels_of_the_sample_city(sample):
    levels = sens.get_model_levels(sample)
    assert levels["network_water"] == "sensitive"
    assert levels["network_road"] == "public"
    assert {k for k, v in levels.items() if v != "public"} == {"network_water"}
    assert sens.layer_level(sample, "water") == sens.layer_level(sample, "network_water") == "sensitive"
    assert sens.layer_level(sample, "dem") == "public"


def test_default_levels_of_networks_and_personal_layers():
    model = _model()
    assert {k: sens.layer_level(model, k) for k in ("road", "water", "sewer", "power")} == {
        "road": "public",
        "water": "sensitive",
        "sewer": "sensitive",
        "power": "sensitive",
    }
    assert sens.layer_level(model, "parcels") == "restricted"
    assert sens.layer_level(model, "buildings") == "public"
    with pytest.raises(LayerNotFoundError, match="'gas'"):
        sens.layer_level(model, "gas")


def test_set_layer_level_is_recorded_and_checked():
    model = _model()
    record = sens.set_layer_level(model, "road", "internal", reason="draft street plan")
    assert sens.layer_level(model, "network_road") == "internal"
    assert record is model.provenance_record("road")
    step = record.steps[-1]
    assert (step.action, step.params["previous"], step.params["level"]) == (
        "set_sensitivity",
        "public",
        "internal",
    )
    # the explicit level wins over the default, also to make a network public
    sens.set_layer_level(model, "water", "public", reason="open data published by the utility")
    assert sens.layer_level(model, "water") == "public"
    with pytest.raises(ValidationError) as err:
        sens.set_layer_level(model, "road", "secret", reason="x")
    assert err.value.code == "PUB003"
    with pytest.raises(ValidationError) as err:
        sens.set_layer_level(model, "road", "sensitive", reason="   ")
    assert err.value.code == "PUB002"
    assert sens.layer_level(model, "road") == "internal"  # unchanged by the refused calls


def test_derive_level_takes_the_highest():
    assert sens.derive_level("public", "internal") == "internal"
    assert sens.derive_level("restricted", "sensitive", "public") == "sensitive"
    assert sens.derive_level(None, None) == "public"
    with pytest.raises(ValidationError):
        sens.derive_level("public", "top secret")


def test_merged_buildings_inherit_the_highest_level():
    from cimkit.analysis.merge import merge_buildings

    footprints = gpd.GeoDataFrame(
        {"height_m": [6.0]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], index=["f1"], crs=2154
    )
    ifc = gpd.GeoDataFrame(
        {"height_m": [6.5]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10.5)], index=["i1"], crs=2154
    )
    prov.attach(footprints, prov.Provenance(reader="cimkit.read_buildings", sensitivity="internal"))
    prov.attach(ifc, prov.Provenance(reader="cimkit.read_ifc", sensitivity="restricted"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        merged = merge_buildings(ifc=ifc, footprints=footprints)
    assert prov.get(merged).sensitivity == "restricted"
    prov.get(ifc).sensitivity = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert prov.get(merge_buildings(ifc=ifc, footprints=footprints)).sensitivity == "internal"


def test_sensitivity_and_owner_round_trip(tmp_path):
    record = prov.Provenance(
        reader="cimkit.read_network", sensitivity="sensitive", owner="Eau du Grand Paris"
    )
    back = prov.Provenance.from_json(record.to_json())
    assert (back.sensitivity, back.owner) == ("sensitive", "Eau du Grand Paris")
    assert back == record
    old = json.loads(record.to_json())
    del old["sensitivity"], old["owner"]  # a record written before the fields existed
    assert (prov.Provenance.from_dict(old).sensitivity, prov.Provenance.from_dict(old).owner) == (None, None)
    model = _model()
    sens.set_layer_level(model, "buildings", "internal", reason="heights not yet validated")
    model.provenance_record("buildings").owner = "service urbanisme"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = read_model(model.to_file(tmp_path / "town.gpkg"))
    assert sens.layer_level(loaded, "buildings") == "internal"
    assert loaded.provenance_record("buildings").owner == "service urbanisme"
    assert sens.layer_level(loaded, "water") == "sensitive"


# ------------------------------------------------------------------ the public view


def test_public_model_withholds_and_drops_personal_columns(audit_log):
    model = _model()
    with pytest.warns(CimkitWarning, match="2 column\\(s\\) naming people") as caught:
        public = public_model(model)
    assert [w.message.code for w in caught if isinstance(w.message, CimkitWarning)] == ["PUB101"]
    assert sorted(public.networks) == ["road"]
    assert list(public.parcels.columns) == ["contenance", "nom_com", "geometry"]
    assert public.parcels["contenance"].tolist() == [300, 450]
    assert "proprietaire" in model.parcels  # the caller's model is untouched
    steps = public.provenance_record("parcels").steps
    withhold = next(s for s in steps if s.action == "withhold_columns")
    assert withhold.params == {"columns": ["proprietaire", "date_naissance"], "rows": 2}
    assert steps[-1].params["withheld"] == ["network_power", "network_sewer", "network_water"]
    assert sens.get_model_levels(public) == {
        "parcels": "public",
        "buildings": "public",
        "network_road": "public",
    }
    assert not audit_log.exists()  # nothing allowed, nothing logged


def test_public_model_withholds_a_layer_set_restricted_explicitly():
    model = _model()
    sens.set_layer_level(model, "buildings", "restricted", reason="defence site")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        public = public_model(model)
    assert "buildings" not in public and "parcels" in public


def test_public_model_keeps_an_allowed_network_and_logs_it(audit_log):
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        public = public_model(
            model, allow={"water": "shared with the fire service", "parcels": "owners consented"}
        )
    assert sorted(public.networks) == ["road", "water"]
    assert "proprietaire" in public.parcels
    entries = read_audit_log(audit_log)
    assert [(e["action"], e["output"], e["layers"], e["levels"], e["reason"]) for e in entries] == [
        ("allow", "public_model", ["parcels"], ["restricted"], "owners consented"),
        ("allow", "public_model", ["network_water"], ["sensitive"], "shared with the fire service"),
    ]
    step = public.provenance_record("water").steps[-2]
    assert step.action == "publication_allowed" and step.params["audit_hash"] == entries[1]["hash"]


def test_public_model_refuses_an_empty_reason(audit_log):
    model = _model()
    with pytest.raises(ValidationError) as err:
        public_model(model, allow={"water": ""})
    assert err.value.code == "PUB002" and err.value.layer == "water"
    with pytest.raises(ValidationError) as err:
        build_city_report(model, allow={"water": "plan for the fire service", "parcels": None})
    assert err.value.code == "PUB002" and err.value.layer == "parcels"
    assert not audit_log.exists()  # nothing logged: the whole call was refused before any entry


# ------------------------------------------------------------------ public outputs


def test_public_report_of_the_sample_city_is_refused_then_allowed(sample, audit_log):
    with pytest.raises(PublicationError) as err:
        build_city_report(sample)
    assert err.value.code == "PUB001" and err.value.layer == "network_water"
    assert "allow={'water': " in str(err.value)
    assert not audit_log.exists()
    report = build_city_report(sample, allow={"water": "council session on the water plan"})
    assert report.sections[-1].title == "Where the numbers come from"
    (entry,) = read_audit_log(audit_log)
    assert (entry["action"], entry["output"], entry["layers"], entry["levels"]) == (
        "publish",
        "report",
        ["network_water"],
        ["sensitive"],
    )
    assert entry["reason"] == "council session on the water plan"
    assert check_audit_log(audit_log) == 1


def test_public_report_of_the_public_view_passes_and_an_allowance_carries(sample, audit_log):
    build_city_report(public_model(sample))
    assert not audit_log.exists()
    shared = public_model(sample, allow={"network_water": "tender documents"})
    build_city_report(shared)  # the allowance recorded by public_model is honoured ...
    entries = read_audit_log(audit_log)
    assert [(e["action"], e["output"], e["reason"]) for e in entries] == [
        ("allow", "public_model", "tender documents"),
        ("publish", "report", "tender documents"),  # ... and logged again for this output
    ]


def test_internal_report_says_so(sample, audit_log):
    report = build_city_report(sample, audience="internal")
    assert report.intro.startswith(
        "Internal report, not for publication: it describes network_water (sensitive)."
    )
    assert not audit_log.exists()
    with pytest.raises(ValidationError):
        build_city_report(sample, audience="everyone")


def test_cityjson_export_refuses_personal_columns(tmp_path, audit_log):
    model = _model()
    buildings = model.buildings.assign(owner=["Dupont", "Martin"])
    target = tmp_path / "city.json"
    with pytest.raises(PublicationError) as err:
        write_cityjson(buildings, target)
    assert err.value.code == "PUB001" and "buildings (restricted)" in str(err.value)
    assert not target.exists()
    write_cityjson(buildings, target, allow={"buildings": "owners listed in the public register"})
    doc = json.loads(target.read_text())
    assert doc["CityObjects"]["b1"]["attributes"]["owner"] == "Dupont"
    (entry,) = read_audit_log(audit_log)
    assert entry["output"] == str(target) and entry["levels"] == ["restricted"]
    # an explicit level set on the model's layer travels with the frame
    sens.set_layer_level(model, "buildings", "sensitive", reason="police station plans")
    with pytest.raises(PublicationError, match="buildings \\(sensitive\\)"):
        write_cityjson(model.buildings, tmp_path / "other.json")


def test_public_report_names_no_owner_from_the_zoning_notes(audit_log):
    """The zoning analysis explains a manual check by the owners' names; the public report counts them."""
    from cimkit.analysis import zoning

    model = CityModel(2154)
    parcels = gpd.GeoDataFrame(
        {"owner": ["Dupont", "Dupont", "Martin"]},
        geometry=[
            box(X0, Y0, X0 + 10, Y0 + 30),
            box(X0 + 10, Y0, X0 + 40, Y0 + 30),
            box(X0 + 40, Y0, X0 + 50, Y0 + 30),
        ],
        index=pd.Index(["A", "B", "C"], name="parcel_id"),
        crs=2154,
    )
    buildings = gpd.GeoDataFrame(
        {"height_m": [7.0]},
        geometry=[box(X0 + 4, Y0 + 10, X0 + 47, Y0 + 20)],
        index=pd.Index(["S"], name="building_id"),
        crs=2154,
    )
    zones = gpd.GeoDataFrame(
        {"libelle": ["UA"], "max_height_m": [9.0], "max_footprint_ratio": [0.35]},
        geometry=[box(X0 - 10, Y0 - 10, X0 + 60, Y0 + 40)],
        index=pd.Index([1], name="zone_id"),
        crs=2154,
    )
    for name, layer in (("buildings", buildings), ("parcels", parcels), ("zones", zones)):
        model.add_layer(name, layer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = zoning.assess(model)
        assert result.buildings.loc["S", "zoning_note"].endswith("2 different owners")  # names never in notes
        public = build_city_report(public_model(model), zoning=result).to_markdown()
        internal = build_city_report(model, zoning=result, audience="internal").to_markdown()
    assert "2 different owners" in public and "2 different owners" in internal
    assert "Dupont" not in public and "Martin" not in public and "Dupont" not in internal
