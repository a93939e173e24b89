"""Tests for cimkit.analysis.carbon.mapping (material names → factor rows)."""

from __future__ import annotations

import pandas as pd
import pytest

from cimkit.analysis.carbon import (
    find_unmatched_materials,
    load_rules,
    map_materials,
    normalise_material_name,
)
from cimkit.errors import DataTableError, InputError

# name as an author would type it → expected table row (None = reported as unmatched)
CASES = {
    # examples named in the issue
    "Béton C25/30": "concrete_c25_30",
    "BA 25": "reinforced_concrete",
    "Beton": "concrete_generic",
    "Brique": "brick_clay",
    "Plaque de plâtre": "plasterboard",
    "Timber Frame": "timber_sawn_softwood",
    "Laine de verre": "glass_wool",
    "Concrete - Cast-in-Place": "concrete_generic",
    # names of the generated sample city
    "Bois lamellé-collé": "glulam",
    "Glass": "glass_float",
    "Aluminium": "aluminium",
    "Acier": "steel_section",
    "Béton armé": "reinforced_concrete",
    "BA13": "plasterboard",
    "Plaque de plâtre BA13": "plasterboard",
    "Bloc béton creux": "concrete_block",
    "Laine de bois": "wood_fibre_insulation",  # wood-fibre insulation, not timber
    "Bardage mélèze": "timber_sawn_softwood",
    "Enduit minéral": "mortar",
    "Enduit plâtre": None,  # gypsum plaster: recognised, no bundled row
    "Mineral Wool": "rock_wool",
    "Gypsum Wall Board": "plasterboard",
    "Verre": "glass_float",
    "BETON C30/37": "concrete_c30_37",
    # names of the Duplex model
    "Metal - Stud Layer": None,  # framed layer, not solid steel
    "Metal - Steel - 345 MPa": "steel_section",
    "Misc. Air Layers - Air Space": "air_gap",
    # precedence traps
    "BA 13": "plasterboard",  # French plasterboard, not reinforced concrete
    "Stahlbeton C30/37": "reinforced_concrete",  # reinforced before the strength class
    "Béton C30/37": "concrete_c30_37",
    "béton c20/25": "concrete_c20_25",
    "Dachziegel": "roof_tile_clay",  # not brick although it contains 'Ziegel'
    "Mauerziegel": "brick_clay",
    "Holzfaserdämmplatte": "wood_fibre_insulation",  # not timber although it contains 'Holz'
    "Brettschichtholz GL24h": "glulam",
    "CLT panel": "clt",
    "Acier pour béton armé": "steel_rebar",
    "Parpaing creux": "concrete_block",
    "Chape ciment": "cement_screed",
    "Mortier": "mortar",
    "Laine de roche": "rock_wool",
    "Polystyrène expansé": "eps",
    "XPS 300": "xps",
    "Double vitrage 4/16/4": "double_glazing_unit",
    "Carrelage grès": "ceramic_tile",
    "Tuile terre cuite": "roof_tile_clay",
    "PVC": "pvc",
    "Cuivre": "copper",
    "Membrane bitumineuse": "bitumen_membrane",
    "Leichtbeton": "lightweight_concrete",
    "OSB 18 mm": None,  # recognised, no row in the bundled table
    "Mystery material": None,
}


@pytest.mark.parametrize(("name", "expected"), list(CASES.items()))
def test_keyword_rules(name, expected):
    result = map_materials([name])
    assert result.loc[name, "material_key"] == expected
    assert bool(result.loc[name, "matched"]) is (expected is not None)


def test_normalise_material_name_removes_accents_case_and_spaces():
    assert normalise_material_name("  Béton   ARMÉ ") == "beton arme"
    assert normalise_material_name("Straße") == "strasse"
    assert normalise_material_name(None) == ""


def test_result_reports_the_rule_that_fired():
    r = map_materials(["Béton C25/30", "Béton C25/30", "glulam"])
    assert len(r) == 2  # duplicates mapped once
    assert r.loc["Béton C25/30", "how"] == "rule"
    assert "25" in r.loc["Béton C25/30", "rule"]
    assert r.loc["glulam", "how"] == "table key"


def test_overrides_win_over_rules_and_are_checked():
    r = map_materials(["Béton maison", "beton MAISON"], overrides={"Béton maison": "concrete_c30_37"})
    assert r.loc["Béton maison", "material_key"] == "concrete_c30_37"
    assert r.loc["beton MAISON", "material_key"] == "concrete_c30_37"  # folded match
    assert (r["how"] == "override").all()
    with pytest.raises(InputError, match="not rows"):
        map_materials(["x"], overrides={"x": "unobtainium"})


def test_unmatched_from_mapping_lists_reasons():
    r = map_materials(["Beton", "OSB", "Mystery"])
    u = find_unmatched_materials(r)
    assert sorted(u.index) == ["Mystery", "OSB"]
    assert u.loc["OSB", "reason"] == "recognised, no table row"
    assert u.loc["Mystery", "reason"] == "no rule matched"
    with pytest.raises(InputError):
        find_unmatched_materials(42)


def test_user_rules_are_validated_and_ordered():
    rules = pd.DataFrame(
        {
            "priority": [2, 1],
            "pattern": [r"\bbeton\b", r"\bbeton special\b"],
            "material": ["concrete_generic", "concrete_c30_37"],
        }
    )
    r = map_materials(["Beton special"], rules=rules)
    assert r.loc["Beton special", "material_key"] == "concrete_c30_37"
    with pytest.raises(DataTableError, match="regular expression"):
        map_materials(["x"], rules=pd.DataFrame({"priority": [1], "pattern": ["("], "material": ["eps"]}))
    with pytest.raises(DataTableError, match="duplicate"):
        map_materials(
            ["x"], rules=pd.DataFrame({"priority": [1, 1], "pattern": ["a", "b"], "material": ["eps", "xps"]})
        )


def test_bundled_rules_point_at_existing_rows():
    from cimkit.analysis.carbon import load_factors

    rules = load_rules()
    keys = set(load_factors().index)
    targets = set(rules["material"]) - {""}
    assert targets <= keys
    assert rules["priority"].is_monotonic_increasing
