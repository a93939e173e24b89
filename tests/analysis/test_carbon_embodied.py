"""Tests for cimkit.analysis.carbon.embodied and .rollup (EN 15978 embodied carbon and roll-ups).

Expected values are computed by hand in each test from the numbers written next to them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cimkit.analysis.carbon import aggregate_embodied_carbon, compute_embodied_carbon, compute_replacements
from cimkit.errors import InputError, ValidationError

# A small factor table of round numbers so that hand arithmetic is easy to read.
FACTORS = pd.DataFrame(
    [
        # material, category, unit, density, a1a3/kg, a1a3/m2, a4/kg, a5/kg, c/kg, life
        ["conc", "concrete", "kg", 2400.0, 0.1, None, 0.005, 0.01, 0.02, None],
        ["wool", "insulation", "kg", 20.0, 1.5, None, 0.01, None, 0.05, 25.0],
        ["glaze", "glass", "m2", 2500.0, None, 30.0, None, None, None, 30.0],
    ],
    columns=[
        "material",
        "category",
        "declared_unit",
        "density_kg_m3",
        "a1a3_kgco2e_per_kg",
        "a1a3_kgco2e_per_m2",
        "a4_kgco2e_per_kg",
        "a5_kgco2e_per_kg",
        "c1c4_kgco2e_per_kg",
        "service_life_years",
    ],
).assign(source="hand-made test table")

RULES = pd.DataFrame(
    {
        "priority": [1, 2, 3],
        "pattern": [r"\bconcrete\b", r"\bwool\b", r"\bglazing\b"],
        "material": ["conc", "wool", "glaze"],
    }
)


def _materials() -> pd.DataFrame:
    # Two buildings: B1 has a layered wall (concrete 0.2 m + wool 0.1 m over 10 m2) and a slab;
    # B2 has a window (glazing 0.024 m thick over 2 m2) and a mystery layer.
    return pd.DataFrame(
        {
            "global_id": ["w1", "w1", "s1", "g1", "g1"],
            "ifc_class": ["IfcWall", "IfcWall", "IfcSlab", "IfcWindow", "IfcWindow"],
            "building_id": ["B1", "B1", "B1", "B2", "B2"],
            "storey": ["L0", "L0", "L1", "L0", "L0"],
            "material": ["Concrete", "Wool", "Concrete", "Glazing", "Unobtainium"],
            "layer_index": [0, 1, -1, 0, 1],
            "thickness_m": [0.2, 0.1, np.nan, 0.024, 0.01],
            "share": [2 / 3, 1 / 3, 1.0, 0.7, 0.3],
            "volume_m3": [2.0, 1.0, 5.0, 0.048, 0.02],
        }
    )


def _run(**kwargs):
    return compute_embodied_carbon(_materials(), factors=FACTORS, rules=RULES, **kwargs)


def test_a1a3_per_row_is_volume_x_density_x_factor():
    rows = _run(modules=("A1-A3",)).rows.set_index(["global_id", "material"])
    assert rows.loc[("w1", "Concrete"), "mass_kg"] == pytest.approx(2.0 * 2400)
    assert rows.loc[("w1", "Concrete"), "a1a3_kgco2e"] == pytest.approx(2.0 * 2400 * 0.1)  # 480
    assert rows.loc[("w1", "Wool"), "a1a3_kgco2e"] == pytest.approx(1.0 * 20 * 1.5)  # 30
    assert rows.loc[("s1", "Concrete"), "a1a3_kgco2e"] == pytest.approx(5.0 * 2400 * 0.1)  # 1200
    # per-m2 factor: area = volume / thickness = 0.048 / 0.024 = 2 m2 -> 2 x 30
    assert rows.loc[("g1", "Glazing"), "quantity"] == pytest.approx(2.0)
    assert rows.loc[("g1", "Glazing"), "a1a3_kgco2e"] == pytest.approx(60.0)
    assert math.isnan(rows.loc[("g1", "Unobtainium"), "a1a3_kgco2e"])


def test_other_modules_and_b4_replacements():
    rows = _run(study_period_years=50).rows.set_index(["global_id", "material"])
    conc = rows.loc[("w1", "Concrete")]
    assert conc["a4_kgco2e"] == pytest.approx(4800 * 0.005)  # 24
    assert conc["a5_kgco2e"] == pytest.approx(4800 * 0.01)  # 48
    assert conc["c_kgco2e"] == pytest.approx(4800 * 0.02)  # 96
    assert math.isnan(conc["b4_kgco2e"])  # no service life in the table -> not assessed
    assert conc["total_kgco2e"] == pytest.approx(480 + 24 + 48 + 96)
    wool = rows.loc[("w1", "Wool")]
    # 50 / 25 = 2 lives -> 1 replacement of (A1-A3 + A4) = 30 + 20 x 0.01
    assert wool["replacements"] == 1
    assert wool["b4_kgco2e"] == pytest.approx(1 * (30 + 0.2))
    assert math.isnan(wool["a5_kgco2e"])
    assert wool["total_kgco2e"] == pytest.approx(30 + 0.2 + 30.2 + 20 * 0.05)
    glaze = rows.loc[("g1", "Glazing")]
    # 50 / 30 -> ceil 2 -> 1 replacement; no A4 factor counts as 0 in B4
    assert glaze["b4_kgco2e"] == pytest.approx(60.0)


def test_service_life_overrides_by_key_and_category():
    rows = _run(service_lives={"concrete": 20, "wool": 60}).rows.set_index(["global_id", "material"])
    # concrete: 50 / 20 -> ceil 3 -> 2 replacements of (480 + 24)
    assert rows.loc[("w1", "Concrete"), "b4_kgco2e"] == pytest.approx(2 * 504)
    assert rows.loc[("w1", "Wool"), "b4_kgco2e"] == 0.0  # outlives the study period


@pytest.mark.parametrize(
    ("study", "life", "expected"),
    [(50, 25, 1), (50, 30, 1), (50, 10, 4), (50, 50, 0), (50, 60, 0), (60, 25, 2)],
)
def test_replacements_formula(study, life, expected):
    # EN 15978 B4 as in DOMAIN notes: ceil(study / life) - 1
    assert compute_replacements(study, life) == expected


def test_rollups_add_up_element_storey_building_zone_city():
    buildings = pd.DataFrame(
        {"gfa_m2": [100.0, 20.0, 50.0]}, index=pd.Index(["B1", "B2", "B3"], name="building_id")
    )
    result = _run(buildings=buildings, modules=("A1-A3",))
    total = result.city["a1a3_kgco2e"]
    assert total == pytest.approx(480 + 30 + 1200 + 60)
    assert result.elements["a1a3_kgco2e"].sum() == pytest.approx(total)
    assert result.storeys["a1a3_kgco2e"].sum() == pytest.approx(total)
    assert result.materials["a1a3_kgco2e"].sum() == pytest.approx(total)
    by_b = result.buildings
    assert by_b.loc["B1", "a1a3_kgco2e"] == pytest.approx(1710)
    assert by_b.loc["B1", "a1a3_kgco2e_per_m2"] == pytest.approx(17.10)
    assert by_b.loc["B2", "a1a3_kgco2e_per_m2"] == pytest.approx(60 / 20)
    assert math.isnan(by_b.loc["B3", "a1a3_kgco2e"])  # no elements: unknown, not zero
    levels = aggregate_embodied_carbon(
        result, {"B1": "P1", "B2": "P2", "B3": "P2"}, {"B1": "UA", "B2": "UA", "B3": "UA"}
    )
    assert levels["parcels"].loc["P2", "a1a3_kgco2e"] == pytest.approx(60)
    assert levels["parcels"].loc["P2", "gfa_m2"] == pytest.approx(70)
    zone = levels["zones"].loc["UA"]
    assert zone["a1a3_kgco2e"] == pytest.approx(total)
    assert zone["a1a3_kgco2e_per_m2"] == pytest.approx(total / 170)
    assert levels["city"]["a1a3_kgco2e"] == pytest.approx(total)


def test_rollup_keeps_unassigned_buildings_and_warns():
    result = _run(modules=("A1-A3",))
    with pytest.warns(UserWarning, match="no parcel"):
        levels = aggregate_embodied_carbon(result, {"B1": "P1"})
    assert levels["parcels"]["a1a3_kgco2e"].sum() == pytest.approx(1770)
    assert levels["city"]["a1a3_kgco2e"] == pytest.approx(1770)
    with pytest.warns(UserWarning, match="no zone"):
        levels = aggregate_embodied_carbon(result, zone_ids={"B1": "UA"})
    assert "parcels" not in levels
    assert levels["zones"].loc["UA", "a1a3_kgco2e"] == pytest.approx(1710)
    assert levels["zones"]["a1a3_kgco2e"].sum() == pytest.approx(1770)  # B2's 60 unassigned


def test_unmatched_materials_are_reported_with_volume_not_dropped():
    result = _run()
    u = result.unmatched
    assert u.index.tolist() == ["Unobtainium"]
    assert u.loc["Unobtainium", "volume_m3"] == pytest.approx(0.02)
    assert u.loc["Unobtainium", "elements"] == 1
    assert len(result.rows) == 5
    cov = result.coverage
    # A1-A3 covers every row but the unmatched 0.02 m3 of the 8.068 m3 modelled
    assert cov.loc["A1-A3", "volume_share"] == pytest.approx(8.048 / 8.068)
    assert cov.loc["A1-A3", "rows_missing"] == 1
    # the unmatched row has no density: its mass, hence a mass share, is unknown (not 1.0)
    assert math.isnan(cov.loc["A1-A3", "mass_share"])
    # B4 misses the concrete (no service life): share = (1.0 wool + 0.048 glazing) / 8.068 m3
    assert cov.loc["B4", "volume_share"] == pytest.approx(1.048 / 8.068)
    # without the unmatched row every mass is known: B4 covers (20 + 120) / (4800 + 20 + 12000 + 120) kg
    known = compute_embodied_carbon(_materials().iloc[:4], factors=FACTORS, rules=RULES).coverage
    assert known.loc["B4", "mass_share"] == pytest.approx(140 / 16940)
    assert known.loc["A1-A3", "mass_share"] == pytest.approx(1.0)


def test_input_is_not_modified_and_errors_are_typed():
    m = _materials()
    before = m.copy()
    _run()
    pd.testing.assert_frame_equal(m, before)
    with pytest.raises(InputError, match="volume_m3"):
        compute_embodied_carbon(m.drop(columns="volume_m3"), factors=FACTORS, rules=RULES)
    bad = m.copy()
    bad.loc[2, "volume_m3"] = -1.0
    with pytest.raises(InputError) as info:
        compute_embodied_carbon(bad, factors=FACTORS, rules=RULES)
    assert info.value.entity == "s1"
    with pytest.raises(ValidationError, match="modules"):
        _run(modules=("A1-A3", "D"))
    with pytest.raises(ValidationError):
        _run(study_period_years=0)


def test_bundled_table_hand_case():
    # 10 m3 of "Béton C25/30" with the bundled table: 10 x 2400 x 0.081 (ÖKOBAUDAT 2020) = 1944
    m = pd.DataFrame({"global_id": ["a"], "material": ["Béton C25/30"], "volume_m3": [10.0]})
    result = compute_embodied_carbon(m)
    assert result.city["a1a3_kgco2e"] == pytest.approx(1944.0)
    assert result.rows.loc[0, "material_key"] == "concrete_c25_30"


def test_clashing_input_columns_are_kept_as_ifc_columns():
    m = _materials().assign(category="IFC category", density_kg_m3=0.0)
    rows = compute_embodied_carbon(m, factors=FACTORS, rules=RULES, modules=("A1-A3",)).rows
    assert (rows["ifc_category"] == "IFC category").all()
    assert (rows["ifc_density_kg_m3"] == 0.0).all()
    # the table's density and category are used, not the model's 0.0
    assert rows.loc[0, "density_kg_m3"] == 2400.0
    assert rows.loc[0, "category"] == "concrete"


def test_missing_quantities_are_reported():
    m = _materials()
    m.loc[3, "thickness_m"] = np.nan  # the glazing row loses its thickness: no area for a per-m2 factor
    m.loc[0, "volume_m3"] = np.nan
    result = compute_embodied_carbon(m, factors=FACTORS, rules=RULES, modules=("A1-A3",))
    missing = result.missing_quantities
    assert sorted(missing.index) == ["Concrete", "Glazing"]
    assert missing.loc["Glazing", "declared_unit"] == "m2"
    # the known rows still add up: wool 30 + slab 1200
    assert result.city["a1a3_kgco2e"] == pytest.approx(1230.0)
