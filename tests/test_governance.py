"""Risk register and data-governance score (cimkit.governance), on the sample city and small models.

Expected values for the sample city (``load_sample_city(with_ifc=False)``), counted by hand from
its files and ``sample.py``: 9 assets (6 layers: parcels, zones, prescriptions, pois, river,
buildings; the road and water networks; the DEM), every one read from a file (so hashed) with
the MIT licence, no ``error`` row in ``model.quality()``, no explicit sensitivity level, no
owner, every CRS EPSG:2154. Shares 1, 1, 1, 0, 1, 0 -> score 4/6 = 66.7.
Register: integrity_hashed for the 9 assets (L1 x I3 = 3, low), the water network's
confidentiality (1 x 4 = 4, medium) and availability (2 x 3 = 6, medium), the model file's
availability (2 x 3 = 6, medium): 12 rows, 3 medium and 9 low.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

import cimkit
from cimkit import provenance as prov
from cimkit.data.governance import load_risk_rules
from cimkit.errors import CimkitIOError, DataTableError, ValidationError
from cimkit.governance import (
    CRITERIA,
    REGISTER_COLUMNS,
    build_risk_register,
    compute_governance,
    format_governance,
    format_repr_html,
    write_risk_register,
)
from cimkit.model import CityModel
from cimkit.network.graph import Network

SAMPLE_ASSETS = [
    "parcels",
    "zones",
    "prescriptions",
    "pois",
    "river",
    "buildings",
    "network_road",
    "network_water",
    "dem",
]


@pytest.fixture(scope="module")
def sample():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


@pytest.fixture()
def city(sample):
    return sample.copy()


@pytest.fixture(autouse=True)
def _audit_log(tmp_path):
    with cimkit.set_options(audit_log=tmp_path / "audit.jsonl"):
        yield


def _network(kind: str, x0: float = 652000.0) -> Network:
    nodes = gpd.GeoDataFrame(geometry=[Point(x0, 6861000), Point(x0 + 100, 6861000)], crs=2154)
    edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString(nodes.geometry)], crs=2154)
    return Network(nodes, edges, kind=kind)


def _small_model() -> CityModel:
    """Three hand-made parts: parcels with an owner column, a water and a sewer network (no files)."""
    model = CityModel(2154, name="small")
    parcels = gpd.GeoDataFrame(
        {"proprietaire": ["DUPONT Jean", "MARTIN Anne"], "contenance": [100, 120]},
        geometry=[box(652000, 6861000, 652010, 6861010), box(652010, 6861000, 652022, 6861010)],
        index=pd.Index(["p1", "p2"], name="parcel_id"),
        crs=2154,
    )
    model.add_layer("parcels", parcels, licence="Licence Ouverte 2.0")
    model.add_network(_network("water"))
    model.add_network(_network("sewer", 652050.0), licence="ODbL-1.0")
    return model


# ----------------------------------------------------------------------------- score
def test_sample_city_score_is_the_hand_count(city):
    result = compute_governance(city)
    assert list(result.assets.index) == SAMPLE_ASSETS
    assert result.shares.to_dict() == {
        "licence": 1.0,
        "sha256": 1.0,
        "validated": 1.0,
        "sensitivity_set": 0.0,
        "crs_documented": 1.0,
        "owner": 0.0,
    }
    assert result.score == 66.7
    assert list(result.actions.index) == ["sensitivity_set", "owner"]
    assert result.actions.loc["owner", "missing"] == ", ".join(SAMPLE_ASSETS)
    assert result.actions.loc["owner", "points"] == 16.7  # (1 - 0) / 6 criteria x 100
    assert result.assets.loc["network_water", "sensitivity"] == "sensitive"
    assert (result.assets.drop("network_water")["sensitivity"] == "public").all()


def test_fixing_a_criterion_raises_the_score_by_its_points(city):
    for name in SAMPLE_ASSETS:
        city.provenance_record(name).owner = "Ville de Sample"
    result = compute_governance(city)
    assert result.shares["owner"] == 1.0 and result.score == 83.3  # 5 of 6
    for name in SAMPLE_ASSETS[:3]:
        city.provenance_record(name).sensitivity = "public"
    result = compute_governance(city)
    assert result.shares["sensitivity_set"] == pytest.approx(3 / 9)
    assert result.score == round((5 + 3 / 9) / 6 * 100, 1) == 88.9
    assert result.actions.loc["sensitivity_set", "missing"] == ", ".join(SAMPLE_ASSETS[3:])


def test_score_criteria_fail_for_the_right_reasons():
    model = _small_model()
    pois = gpd.GeoDataFrame(
        {"category": ["school", "shop"]},
        geometry=[Point(652005, 6861005), Point(652006, 6861006)],
        index=pd.Index(["a", "a"], name="poi_id"),  # a duplicated id is an error of quality()
        crs=2154,
    )
    model.add_layer("pois", pois, licence="ODbL-1.0")
    model.add_layer("uses", pd.DataFrame({"use": ["housing"]}))  # an attribute table: no CRS
    assets = compute_governance(model).assets
    # nothing was read from a file: no sha256 anywhere
    assert not assets["sha256"].any()
    assert assets["licence"].to_dict() == {
        "parcels": True,
        "pois": True,
        "uses": False,
        "network_water": False,
        "network_sewer": True,
    }
    assert assets["validated"].to_dict()["pois"] is False or not assets.loc["pois", "validated"]
    assert assets.loc[["parcels", "uses", "network_water", "network_sewer"], "validated"].all()
    assert pd.isna(assets.loc["uses", "crs_documented"])
    result = compute_governance(model)
    # shares over the applicable assets: CRS over the 4 with geometry, the others over 5
    assert result.shares["crs_documented"] == 1.0
    assert result.shares["licence"] == pytest.approx(3 / 5)
    assert result.shares["validated"] == pytest.approx(4 / 5)
    assert result.score == round((3 / 5 + 0 + 4 / 5 + 0 + 1 + 0) / 6 * 100, 1)


def test_an_accepted_placement_is_not_a_documented_crs():
    model = CityModel(2154)
    far = gpd.GeoDataFrame(geometry=[box(652000, 6861000, 652010, 6861010)], crs=2154)
    model.add_layer("parcels", far)
    record = model.provenance_record("parcels")
    assert compute_governance(model).assets.loc["parcels", "crs_documented"]
    record.add_step("accept_placement", "placement check area_of_use failed and was accepted")
    assert not compute_governance(model).assets.loc["parcels", "crs_documented"]


def test_owner_and_level_survive_save_and_load(tmp_path):
    from cimkit.model import read_model

    model = _small_model()
    model.provenance_record("parcels").owner = "DGFiP"
    model.provenance_record("network_water").sensitivity = "sensitive"
    before = compute_governance(model)
    back = read_model(model.to_file(tmp_path / "small.gpkg"))
    after = compute_governance(back)
    assert after.shares["owner"] == before.shares["owner"] == pytest.approx(1 / 3)
    assert after.shares["sensitivity_set"] == pytest.approx(1 / 3)
    assert after.score == before.score
    assert after.register["risk_level"].tolist() == before.register["risk_level"].tolist()


# ----------------------------------------------------------------------------- register
def test_sample_city_register_has_the_hand_counted_rows(city):
    register = build_risk_register(city)
    assert list(register.columns) == list(REGISTER_COLUMNS)
    assert list(register.index) == [f"R{i:03d}" for i in range(1, 13)]
    assert register["risk_band"].value_counts().to_dict() == {"low": 9, "medium": 3}
    water = register.loc[register["asset"] == "network_water"].set_index("rule")
    assert sorted(water.index) == ["availability_sensitive", "confidentiality_sensitive", "integrity_hashed"]
    row = water.loc["confidentiality_sensitive"]
    assert (row["likelihood"], row["impact"], row["risk_level"], row["risk_band"]) == (1, 4, 4, "medium")
    assert row["sensitivity"] == "sensitive"
    assert (
        "sabotage" in row["threat"] and "withheld from public outputs by default" in row["existing_control"]
    )
    assert row["treatment"] == "reduce" and row["published"] == ""
    assert water.loc["availability_sensitive", "risk_level"] == 6
    hashed = register.loc[register["rule"] == "integrity_hashed"]
    assert sorted(hashed["asset"]) == sorted(SAMPLE_ASSETS)
    assert (hashed["risk_level"] == 3).all() and "sha256" in hashed["existing_control"].iloc[0]
    model_row = register.loc[register["asset"] == "city_model"].iloc[0]
    assert model_row["rule"] == "availability_model" and model_row["risk_level"] == 6
    # sorted from the highest risk: the two 6s first (city_model before network_water), then the 4
    assert register["risk_level"].tolist()[:4] == [6, 6, 4, 3]
    assert register["asset"].tolist()[:3] == ["city_model", "network_water", "network_water"]


def test_one_row_per_sensitive_layer_personal_and_unhashed_rows():
    register = build_risk_register(_small_model())
    confidentiality = register.loc[register["rule"] == "confidentiality_sensitive"]
    assert sorted(confidentiality["asset"]) == ["network_sewer", "network_water"]
    assert (confidentiality["risk_level"] == 4).all()
    personal = register.loc[register["rule"] == "personal_data"].iloc[0]
    assert personal["asset"] == "parcels" and personal["sensitivity"] == "restricted"
    assert "proprietaire" in personal["vulnerability"] and "GDPR" in personal["threat"]
    assert personal["risk_level"] == 3 and personal["treatment"] == "reduce"
    assert register.loc[register["rule"] == "confidentiality_restricted", "asset"].tolist() == ["parcels"]
    unhashed = register.loc[register["rule"] == "integrity_unhashed"]
    assert sorted(unhashed["asset"]) == ["network_sewer", "network_water", "parcels"]
    assert (unhashed["risk_level"] == 6).all() and (unhashed["existing_control"] == "none").all()
    unlicensed = register.loc[register["rule"] == "licence_missing"]
    assert unlicensed["asset"].tolist() == ["network_water"]
    assert "network_water" in unlicensed["action"].iloc[0]


def test_personal_columns_of_a_network_are_found():
    model = CityModel(2154)
    power = _network("power")
    power.edges["titulaire"] = ["ENEDIS abonné 42"]
    model.add_network(power, licence="ODbL-1.0")
    register = build_risk_register(model).set_index(["asset", "rule"])
    assert register.loc[("network_power", "personal_data"), "vulnerability"].endswith("titulaire")
    assert register.loc[("network_power", "confidentiality_sensitive"), "risk_level"] == 4


def test_publishing_a_sensitive_layer_raises_its_likelihood(city):
    register = build_risk_register(city, published={"water": ["report", "geojson"]})
    row = register.loc[
        (register["asset"] == "network_water") & (register["rule"] == "confidentiality_sensitive")
    ].iloc[0]
    assert (row["likelihood"], row["impact"], row["risk_level"], row["risk_band"]) == (3, 4, 12, "critical")
    assert row["published"] == "report, geojson" and row["treatment"] == "avoid"
    assert "explicit allowance" in row["existing_control"] and "report, geojson" in row["action"]
    assert register.index[0] == "R001" and register.iloc[0]["asset"] == "network_water"


def test_a_list_of_outputs_publishes_the_public_layers_only(city):
    register = build_risk_register(city, published=["report", "3dtiles"])
    assert set(register.loc[register["asset"] == "parcels", "published"]) == {"report, 3dtiles"}
    water = register.loc[register["asset"] == "network_water"]
    assert set(water["published"]) == {""} and water["risk_level"].max() == 6


def test_an_allowance_recorded_by_public_model_counts_as_published(city):
    from cimkit.viz import public_model

    view = public_model(city, allow={"water": "shared with the fire service for the flood plan"})
    row = (
        build_risk_register(view)
        .set_index(["asset", "rule"])
        .loc[("network_water", "confidentiality_sensitive")]
    )
    assert row["published"] == "the public view" and row["risk_level"] == 12
    # the same model without allowance: the water network is withheld, no row about it
    assert "network_water" not in set(build_risk_register(public_model(city))["asset"])


def test_published_naming_an_unknown_layer_is_refused(city):
    with pytest.raises(ValidationError, match="'gas'"):
        build_risk_register(city, published={"gas": ["report"]})


def test_write_risk_register_writes_the_csv_atomically(city, tmp_path):
    path = write_risk_register(city, tmp_path / "out" / "risks.csv", published={"water": "report"})
    back = pd.read_csv(path, index_col="risk", keep_default_na=False)
    expected = build_risk_register(city, published={"water": "report"})
    assert list(back.columns) == list(REGISTER_COLUMNS)
    assert back["risk_level"].tolist() == expected["risk_level"].tolist()
    assert back["threat"].tolist() == expected["threat"].tolist()
    assert sorted(p.name for p in path.parent.iterdir()) == ["risks.csv"]  # no temporary left
    with pytest.raises(CimkitIOError, match="folder") as err:
        write_risk_register(city, tmp_path)
    assert err.value.code == "GEN006"


def test_rules_table_is_checked(tmp_path):
    rules = load_risk_rules()
    assert len(rules) == 9 and rules["source"].str.len().min() > 10
    assert set(rules["treatment"]) <= {"reduce", "avoid", "transfer", "accept"}
    bad = rules.copy()
    bad.loc[0, "likelihood"] = 5
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataTableError, match="likelihood") as err:
        load_risk_rules(tmp_path / "bad.csv")
    assert err.value.code == "TAB001"
    bad = rules.copy()
    bad.loc[0, "selector"] = "kind:gas"
    bad.to_csv(tmp_path / "bad2.csv", index=False)
    with pytest.raises(DataTableError, match="selector"):
        load_risk_rules(tmp_path / "bad2.csv")


# ----------------------------------------------------------------------------- outputs
def test_format_text_and_html(city):
    result = compute_governance(city)
    text = format_governance(result)
    lines = text.splitlines()
    assert (
        lines[0]
        == "data governance: 66.7 / 100 (mean of the 6 shares below, over 9 layers, networks and DEM)"
    )
    assert lines[1].split()[:5] == ["licence", "9", "of", "9", "100%"]
    assert lines[6].split()[:5] == ["owner", "0", "of", "9", "0%"]
    assert "risk register: 12 risks (0 critical, 0 high, 3 medium, 9 low)" in lines
    html = format_governance(result, output_format="html")
    assert "<b>66.7/100</b>" in html and "3 medium" in html
    with pytest.raises(ValidationError):
        format_governance(result, output_format="pdf")  # type: ignore[arg-type]
    assert set(CRITERIA) == set(result.shares.index)


def test_notebook_snippet_shows_the_score_and_never_raises(city):
    snippet = format_repr_html(city)
    assert snippet.startswith("<div>") and "<b>66.7/100</b>" in snippet
    assert "owner 0%" in snippet and "0 critical, 0 high, 3 medium, 9 low" in snippet
    assert format_repr_html(None) == ""


def test_cimkit_info_shows_the_score_and_the_register(city, tmp_path, capsys):
    from cimkit.cli.main import main

    path = city.to_file(tmp_path / "city.gpkg")
    assert main(["-q", "info", str(path), "--risk-register", str(tmp_path / "risks.csv")]) == 0
    out = capsys.readouterr().out
    assert "data governance: 66.7 / 100 (mean of the 6 shares below, over 9 layers, networks and DEM)" in out
    assert "risk register: 12 risks (0 critical, 0 high, 3 medium, 9 low)" in out
    assert "fix: model.provenance_record('<name>').owner = '<accountable body>'" in out
    register = pd.read_csv(tmp_path / "risks.csv", keep_default_na=False)
    sensitive = register.loc[register["sensitivity"] == "sensitive", "asset"]
    assert set(sensitive) == {"network_water"} and len(register) == 12


def test_report_section_hides_rows_of_withheld_layers(city):
    from cimkit.viz import build_city_report, public_model

    result = compute_governance(city)
    report = build_city_report(public_model(city), governance=result)
    assert report.sections[0].title == "Data governance and risks"
    text = report.to_markdown()
    section = text.split("## Data governance and risks")[1].split("## Checks on the data")[0]
    assert "Data-governance score: 66.7 / 100" in section
    assert "network_water" not in section  # withheld from the public view: counted, not shown
    assert "3 further risks concern layers withheld from this report." in section
    assert "| R001 | city_model |" in section
    internal = build_city_report(city, governance=result, audience="internal").to_markdown()
    assert "sabotage" in internal and "| R002 | network_water |" in internal


def test_provenance_record_of_in_memory_parts_has_no_sha256():
    record = prov.get(_small_model().parcels)
    assert record is not None and record.source_files == []


@pytest.mark.slow
def test_cimkit_info_on_the_sample_city_with_its_ifc_models(tmp_path, capsys):
    """The full sample city adds the IFC tables elements, materials and spaces (no CRS: out of that share)."""
    from cimkit.cli.main import main
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city()
    path = model.to_file(tmp_path / "city.gpkg")
    assert main(["-q", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "data governance: 66.7 / 100 (mean of the 6 shares below, over 12 layers, networks and DEM)" in out
    assert out.count("crs_documented     9 of 9") == 1
    assert "risk register: 15 risks (0 critical, 0 high, 3 medium, 12 low)" in out
