"""Tests for cimkit.analysis.carbon.assess (CarbonResult) on small city models.

Expected values are written out by hand next to each assertion, from the bundled tables:
concrete C25/30 2400 kg/m3 x 0.081, C30/37 2400 x 0.090, glass wool 20 x 1.35 kgCO2e/kg
(test_carbon_factors checks them against their sources); RE2020 Ic construction caps 640
(individual house, 2022) and LETI new low-energy intensities, all electric at the RE2020 factor
0.079 kgCO2e/kWh: residential 35, office 55 kWh/m2/yr.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from cimkit.analysis.carbon import CarbonResult, assess, compute_embodied_carbon
from cimkit.errors import LayerNotFoundError
from cimkit.model import CityModel

CRS = "EPSG:2154"
# a point of Lambert-93 in France (Paris area): the toy town is placed there
X0, Y0 = 652_000.0, 6_862_000.0


def _box(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _model(*, with_zones: bool = True, materials: pd.DataFrame | None = None) -> CityModel:
    # I1: IFC house (2 storeys, 100 m2), I2: IFC office (4 storeys, 500 m2),
    # F1: footprint-only house (10 m x 10 m, 6 m high -> 2 storeys, 200 m2),
    # F2: footprint-only clinic (no intensity published for health), outside every zone
    buildings = gpd.GeoDataFrame(
        {
            "use": ["residential", "office", "residential", "health"],
            "storeys": [2, 4, np.nan, 1],
            "height_m": [6.0, 14.0, 6.0, 4.0],
            "gfa_m2": [100.0, 500.0, np.nan, np.nan],
        },
        geometry=[_box(0, 0, 10, 10), _box(100, 0, 120, 25), _box(30, 0, 40, 10), _box(500, 500, 510, 510)],
        crs=CRS,
        index=pd.Index(["I1", "I2", "F1", "F2"], name="building_id"),
    )
    model = CityModel(CRS)
    model.add_layer("buildings", buildings)
    if materials is None:
        materials = pd.DataFrame(
            {
                "global_id": ["w1", "w1", "w1", "s1"],
                "ifc_class": ["IfcWall", "IfcWall", "IfcWall", "IfcSlab"],
                "building_id": ["I1", "I1", "I1", "I2"],
                "storey": ["RDC", "RDC", "RDC", "R+1"],
                "material": ["Béton C25/30", "Laine de verre", "Mystery", "Béton C30/37"],
                "volume_m3": [10.0, 1.5, 0.2, 20.0],
            }
        )
    model.add_layer("materials", materials)
    if with_zones:
        zones = gpd.GeoDataFrame(
            {"libelle": ["UA", "UX", "N"]},
            geometry=[_box(-5, -5, 50, 50), _box(90, -5, 130, 50), _box(200, 200, 300, 300)],
            crs=CRS,
            index=pd.Index(["Z1", "Z2", "Z3"], name="zone_id"),
        )
        model.add_layer("zones", zones)
    return model


def _assess(model: CityModel, **kwargs) -> CarbonResult:
    options = {"modules": ("A1-A3",), "period": "new_low_energy", "permit_year": {"I1": 2023, "I2": 2025}}
    return assess(model, **{**options, **kwargs})


def test_embodied_per_building_from_ifc_and_estimates_kept_apart():
    result = _assess(_model())
    b = result.buildings
    assert b.index.tolist() == ["I1", "I2", "F1", "F2"]
    assert b["embodied_source"].tolist() == ["ifc", "ifc", "estimate", "estimate"]
    assert b["embodied_estimated"].tolist() == [False, False, True, True]
    # I1: 10 x 2400 x 0.081 + 1.5 x 20 x 1.35 = 1944 + 40.5; the mystery layer is not counted
    assert b.loc["I1", "a1a3_kgco2e"] == pytest.approx(1984.5)
    assert b.loc["I1", "embodied_kgco2e"] == pytest.approx(1984.5)
    assert b.loc["I1", "embodied_kgco2e_per_m2"] == pytest.approx(19.845)
    # I2: 20 x 2400 x 0.090 = 4320 over 500 m2
    assert b.loc["I2", "embodied_kgco2e"] == pytest.approx(4320.0)
    assert b.loc["I2", "embodied_kgco2e_per_m2"] == pytest.approx(8.64)
    # F1: 100 m2 x 2 storeys x 640 (RE2020 cap for an individual house, 2022): an upper bound
    assert b.loc["F1", "gfa_m2"] == pytest.approx(200.0)
    assert b.loc["F1", "intensity_kgco2e_m2"] == pytest.approx(640.0)
    assert b.loc["F1", "embodied_kgco2e"] == pytest.approx(128000.0)
    assert math.isnan(b.loc["F1", "a1a3_kgco2e"])  # no module split for an estimate
    assert math.isnan(b.loc["F2", "embodied_kgco2e"])  # no intensity for health: unknown, not 0


def test_operational_and_re2020_per_building():
    # these toy buildings hold one element each: the completeness requirement is lifted here to
    # test the RE2020 arithmetic (the default grading is tested in test_carbon_completeness.py)
    b = _assess(_model(), expected_classes=()).buildings
    # I1: 100 m2 x 35 kWh x 0.079 = 276.5 kgCO2e/yr, x 50 years = 13825
    assert b.loc["I1", "operational_kgco2e_year"] == pytest.approx(276.5)
    assert b.loc["I1", "operational_b6_kgco2e"] == pytest.approx(13825.0)
    assert b.loc["I1", "operational_b6_kgco2e_per_m2"] == pytest.approx(138.25)
    # I2: 500 x 55 x 0.079 x 50; F1 on its estimated 200 m2: 200 x 35 x 0.079 x 50
    assert b.loc["I2", "operational_b6_kgco2e"] == pytest.approx(108625.0)
    assert b.loc["F1", "operational_b6_kgco2e"] == pytest.approx(27650.0)
    assert math.isnan(b.loc["F2", "operational_b6_kgco2e"])
    # I1, individual house permitted in 2023: Ic construction 19.845 <= 640, Ic énergie 138.25 <= 160
    i1 = b.loc["I1"]
    assert i1["re2020_building_type"] == "maison_individuelle"
    assert i1["re2020_permit_year"] == 2023
    assert i1["construction_kgco2e_m2"] == pytest.approx(19.845)
    assert i1["construction_max_kgco2e_m2"] == 640.0
    assert i1["energy_kgco2e_m2"] == pytest.approx(138.25)
    assert i1["energy_max_kgco2e_m2"] == 160.0
    assert bool(i1["construction_passes"]) and bool(i1["energy_passes"]) and bool(i1["re2020_passes"])
    assert i1["re2020_verdict"] == "passes"
    # I2, office permitted in 2025: Ic construction max 810; no Ic énergie maximum for offices
    i2 = b.loc["I2"]
    assert i2["re2020_building_type"] == "bureaux"
    assert i2["construction_max_kgco2e_m2"] == 810.0
    assert bool(i2["construction_passes"])
    assert pd.isna(i2["energy_passes"]) and pd.isna(i2["re2020_passes"])
    assert i2["re2020_verdict"] == "not assessed"
    # estimates are never checked against RE2020 (they are the cap itself)
    assert b.loc[["F1", "F2"], "re2020_verdict"].tolist() == ["not applicable", "not applicable"]


def test_zones_and_city_are_the_sums_of_the_buildings():
    result = _assess(_model())
    b, zones, city = result.buildings, result.zones, result.city
    assert b["zone_id"].tolist()[:3] == ["Z1", "Z2", "Z1"] and pd.isna(b.loc["F2", "zone_id"])
    assert zones.index.tolist() == ["Z1", "Z2", "Z3"]
    z1 = zones.loc["Z1"]
    assert (z1["buildings"], z1["ifc_buildings"], z1["estimated_buildings"]) == (2, 1, 1)
    assert z1["embodied_ifc_kgco2e"] == pytest.approx(1984.5)
    assert z1["embodied_estimate_kgco2e"] == pytest.approx(128000.0)
    assert z1["operational_b6_kgco2e"] == pytest.approx(13825.0 + 27650.0)
    assert z1["gfa_m2"] == pytest.approx(300.0)
    assert zones.loc["Z2", "embodied_ifc_kgco2e"] == pytest.approx(4320.0)
    assert zones.loc["Z3"].tolist() == [0, 0, 0, 0.0, 0.0, 0.0, 0.0]  # a zone without buildings
    # city totals: the sums of the building rows, IFC values and upper bounds apart
    ifc = b["embodied_source"] == "ifc"
    assert city["embodied_ifc_kgco2e"] == pytest.approx(b.loc[ifc, "embodied_kgco2e"].sum())
    assert city["embodied_ifc_kgco2e"] == pytest.approx(1984.5 + 4320.0)
    assert city["a1a3_kgco2e"] == pytest.approx(6304.5)
    assert city["embodied_estimate_kgco2e"] == pytest.approx(b.loc[~ifc, "embodied_kgco2e"].sum())
    assert city["operational_b6_kgco2e"] == pytest.approx(b["operational_b6_kgco2e"].sum())
    assert city["operational_b6_kgco2e"] == pytest.approx(13825.0 + 108625.0 + 27650.0)
    assert city["gfa_m2"] == pytest.approx(100 + 500 + 200 + 100)  # F2: 100 m2 x 1 storey
    assert (city["buildings"], city["ifc_buildings"], city["estimated_buildings"]) == (4, 2, 2)
    # I1 (walls only) and I2 (one slab) are shells: no RE2020 verdict on them (was 1 pass, 1
    # not assessed before the completeness grading, a verdict on a model missing most of a building)
    assert (city["re2020_passes"], city["re2020_fails"], city["re2020_not_assessed"]) == (0, 0, 0)
    assert city["re2020_not_assessable"] == 2 and city["shell_buildings"] == 2
    assert city["unmatched_volume_m3"] == pytest.approx(0.2)
    # 31.5 of the 31.7 m3 modelled have a factor
    assert city["matched_volume_share"] == pytest.approx(31.5 / 31.7)
    # F2 lies outside every zone: zones hold every other building
    assert zones["operational_b6_kgco2e"].sum() == pytest.approx(city["operational_b6_kgco2e"])
    assert zones["embodied_ifc_kgco2e"].sum() == pytest.approx(city["embodied_ifc_kgco2e"])


def test_materials_unmatched_coverage_and_caveats():
    result = _assess(_model())
    materials = result.materials
    assert materials.loc["concrete_c25_30", "a1a3_kgco2e"] == pytest.approx(1944.0)
    assert materials.loc["glass_wool", "a1a3_kgco2e"] == pytest.approx(40.5)
    assert materials.loc["concrete_c30_37", "a1a3_kgco2e"] == pytest.approx(4320.0)
    assert materials.loc["concrete_c30_37", "category"] == "concrete"
    assert materials["a1a3_kgco2e"].sum() == pytest.approx(result.city["a1a3_kgco2e"])
    assert result.unmatched.index.tolist() == ["Mystery"]
    assert result.unmatched.loc["Mystery", "volume_m3"] == pytest.approx(0.2)
    # A1-A3 covers 31.5 of the 31.7 m3 modelled; the mystery layer has no density, so the mass
    # share is unknown (it read 1.0 before, counting only the rows whose mass was known)
    assert result.coverage.loc["A1-A3", "volume_share"] == pytest.approx(31.5 / 31.7)
    assert math.isnan(result.coverage.loc["A1-A3", "mass_share"])
    assert result.embodied is not None and len(result.embodied.rows) == 4
    assert result.modules == ("A1-A3",) and result.study_period_years == 50.0
    text = " ".join(result.caveats)
    assert "UPPER BOUND" in text
    assert "health" in text  # the estimate's missing intensity, turned into a caveat
    assert "outside every zone" in text
    assert "1 material name(s) have no emission factor" in text
    assert all(c.endswith(".") for c in result.caveats)


def test_material_rows_of_unknown_buildings_are_not_counted():
    materials = pd.DataFrame(
        {
            "building_id": ["I1", "ghost", None],
            "material": ["Béton C25/30", "Béton C25/30", "Béton C25/30"],
            "volume_m3": [10.0, 5.0, 1.0],
        }
    )
    result = _assess(_model(materials=materials))
    assert result.buildings.loc["I1", "embodied_kgco2e"] == pytest.approx(1944.0)
    # only I1's row is counted, everywhere: city, materials and the detailed result
    assert result.city["embodied_ifc_kgco2e"] == pytest.approx(1944.0)
    assert result.materials["a1a3_kgco2e"].sum() == pytest.approx(1944.0)
    assert result.embodied is not None and len(result.embodied.rows) == 1
    assert any("2 material row(s) belong to no building" in c for c in result.caveats)


def test_assess_emits_no_user_warning_and_does_not_modify_the_model():
    model = _model()
    assert model.buildings is not None
    before = model.buildings.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assess(model)
    pd.testing.assert_frame_equal(model.buildings, before)


def test_a_failing_building_and_options_from_columns():
    # 1000 m3 of C25/30 in a 100 m2 house: 1000 x 2400 x 0.081 / 100 = 1944 kgCO2e/m2 > 640
    materials = pd.DataFrame({"building_id": ["I1"], "material": ["Béton C25/30"], "volume_m3": [1000.0]})
    model = _model(materials=materials)
    assert model.buildings is not None
    layer = model.buildings.assign(permit_year=[2022, 2025, 2022, 2022], building_type="collective_housing")
    model.add_layer("buildings", layer)
    # the table has no ifc_class: completeness cannot be shown, so the verdict is withheld ...
    withheld = assess(model, modules=("A1-A3",), period="new_low_energy").buildings.loc["I1"]
    assert withheld["re2020_verdict"] == "not assessable" and pd.isna(withheld["re2020_passes"])
    assert withheld["completeness"] == "shell"
    assert "already exceeds" in withheld["re2020_reason"]
    # ... unless the caller lifts the requirement
    result = assess(model, modules=("A1-A3",), period="new_low_energy", expected_classes=())
    i1 = result.buildings.loc["I1"]
    # the building_type column wins over the 2-storey default: collective housing, 740 in 2022
    assert i1["re2020_building_type"] == "logement_collectif"
    assert i1["construction_kgco2e_m2"] == pytest.approx(1944.0)
    assert i1["construction_max_kgco2e_m2"] == 740.0
    assert not bool(i1["construction_passes"]) and not bool(i1["re2020_passes"])
    assert i1["re2020_verdict"] == "fails"
    assert result.city["re2020_fails"] == 1
    # I2 has no material rows now: it becomes an estimate (office, 500 m2 x 980)
    assert result.buildings.loc["I2", "embodied_source"] == "estimate"
    assert result.buildings.loc["I2", "embodied_kgco2e"] == pytest.approx(500 * 980)


def test_all_modules_and_the_study_period():
    result = assess(
        _model(), study_period_years=60, period="new_low_energy", permit_year=2023, expected_classes=()
    )
    b = result.buildings
    assert result.modules == ("A1-A3", "A4", "A5", "B4", "C")
    # the bundled table has no A4/A5/C factor nor service life: those modules stay unknown
    assert math.isnan(b.loc["I1", "c_kgco2e"]) and math.isnan(b.loc["I1", "b4_kgco2e"])
    assert b.loc["I1", "embodied_kgco2e"] == pytest.approx(1984.5)
    assert b.loc["I1", "operational_b6_kgco2e"] == pytest.approx(276.5 * 60)
    # Ic énergie stays a 50-year quantity whatever the study period
    assert b.loc["I1", "energy_kgco2e_m2"] == pytest.approx(138.25)
    assert b.loc["I1", "re2020_verdict"] == "passes"
    # one permit year for all: only IFC buildings are checked (I2: office, 2023 -> max 980)
    assert b.loc["I2", "construction_max_kgco2e_m2"] == 980.0
    assert b.loc["F1", "re2020_verdict"] == "not applicable"


def test_model_without_materials_or_zones_and_without_buildings():
    model = CityModel(CRS)
    full = _model().buildings
    assert full is not None
    model.add_layer("buildings", full.loc[["F1"]])
    result = assess(model)
    assert result.embodied is None and result.zones.empty and result.materials.empty
    assert result.buildings.loc["F1", "embodied_kgco2e"] == pytest.approx(128000.0)
    assert result.city["embodied_ifc_kgco2e"] == 0.0
    assert result.city["embodied_estimate_kgco2e"] == pytest.approx(128000.0)
    with pytest.raises(LayerNotFoundError):
        assess(CityModel(CRS))


# --- the sample city's IFC buildings ------------------------------------------------------
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_FILES = ["maison_lilas_3.ifc", "residence_hugo.ifc", "ecole_jules_ferry.ifc"]


def test_sample_city_ifc_buildings(tmp_path):
    if not all((SAMPLE / "buildings" / name).is_file() for name in SAMPLE_FILES):
        pytest.skip("sample_data/buildings/*.ifc has not been generated in this checkout")
    from cimkit.io.ifc import read_ifc_model

    index = pd.read_csv(SAMPLE / "buildings" / "index.csv").set_index("file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = [read_ifc_model(SAMPLE / "buildings" / name, crs=CRS, processes=1) for name in SAMPLE_FILES]
    buildings = gpd.GeoDataFrame(pd.concat([r.buildings for r in read]), crs=CRS)
    materials = pd.concat([r.materials for r in read], ignore_index=True)
    model = CityModel(CRS)
    model.add_layer("buildings", buildings)
    model.add_layer("materials", materials)
    zones = gpd.read_file(SAMPLE / "zone_urba.geojson").set_index("idzone").to_crs(CRS)
    model.add_layer("zones", zones)
    files = buildings["source"].map(lambda s: Path(str(s)).name)
    permit = files.map(index["permit_year"])
    result = assess(model, modules=("A1-A3",), period="new_low_energy", permit_year=permit)
    b = result.buildings
    by_file = dict(zip(files, b.index))
    house, flats, school = (by_file[name] for name in SAMPLE_FILES)
    assert (b["embodied_source"] == "ifc").all()
    # the same sums as the material-level computation on the same table
    direct = compute_embodied_carbon(materials, buildings=buildings, modules=("A1-A3",)).buildings
    for bid in b.index:
        assert b.loc[bid, "embodied_kgco2e"] == pytest.approx(direct.loc[bid, "total_kgco2e"])
    # floor areas are the IFC quantities (house: 2 storeys of 99 m2)
    assert b.loc[house, "gfa_m2"] == pytest.approx(198.0)
    # B6 of the house: 198 m2 x 35 kWh x 0.079 kgCO2e/kWh x 50 years
    assert b.loc[house, "operational_b6_kgco2e"] == pytest.approx(198 * 35 * 0.079 * 50)
    # RE2020: the house (2023) and the 5-storey residence (2024) are checked, the school is not
    assert b.loc[house, "re2020_building_type"] == "maison_individuelle"
    assert b.loc[house, "construction_max_kgco2e_m2"] == 640.0
    assert b.loc[house, "energy_kgco2e_m2"] == pytest.approx(35 * 0.079 * 50)
    assert b.loc[flats, "re2020_building_type"] == "logement_collectif"
    assert b.loc[flats, "energy_max_kgco2e_m2"] == 560.0
    # the generator writes walls (load-bearing), floor slabs and a roof, but no foundations: the
    # models are partial and get no RE2020 verdict (they "passed" before the completeness grading)
    assert (b["element_classes_present"] == "walls, slabs, roof, structure").all()
    assert (b["completeness"] == "partial").all()
    assert b.loc[[house, flats], "re2020_verdict"].tolist() == ["not assessable", "not assessable"]
    assert b.loc[house, "re2020_reason"] == "IFC model partial: no foundations"
    assert b.loc[[house, flats], "re2020_passes"].isna().all()
    # with foundations declared out of scope, A1-A3 of structure and envelope lies well under the
    # cap of the full 50-year dynamic LCA
    scoped = assess(
        model,
        modules=("A1-A3",),
        period="new_low_energy",
        permit_year=permit,
        expected_classes=("walls", "slabs", "roof", "structure"),
    ).buildings
    assert scoped.loc[[house, flats], "re2020_verdict"].tolist() == ["passes", "passes"]
    assert b.loc[school, "re2020_verdict"] == "not applicable"
    # every sample building lies in a zone: zone sums add up to the city totals
    assert b["zone_id"].notna().all()
    assert result.zones["embodied_ifc_kgco2e"].sum() == pytest.approx(result.city["embodied_ifc_kgco2e"])
    assert result.city["embodied_ifc_kgco2e"] == pytest.approx(b["embodied_kgco2e"].sum())
    assert set(result.unmatched.index) <= {"Enduit plâtre", "Laine de bois"}
