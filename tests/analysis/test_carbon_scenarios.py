"""Tests for cimkit.analysis.carbon.scenarios."""

from __future__ import annotations

import pandas as pd
import pytest

from cimkit.analysis.carbon import compare_scenarios, compute_embodied_carbon, substitute_materials
from cimkit.errors import InputError, ValidationError


def _materials():
    return pd.DataFrame(
        {
            "global_id": ["w1", "w1", "s1"],
            "building_id": ["B1", "B1", "B1"],
            "storey": ["L0", "L0", "L1"],
            "material": ["Béton C25/30", "Laine de verre", "Beton"],
            "volume_m3": [2.0, 1.0, 5.0],
        }
    )


def test_concrete_versus_glulam_scenario():
    m = _materials()
    timber = substitute_materials(m, {"concrete": "glulam"}, volume_ratio=1.5)
    assert timber["material"].tolist() == ["glulam", "Laine de verre", "glulam"]
    assert timber["substituted_from"].tolist()[0] == "Béton C25/30"
    assert timber["volume_m3"].tolist() == pytest.approx([3.0, 1.0, 7.5])
    assert m["material"].tolist()[0] == "Béton C25/30"  # input untouched
    a = compute_embodied_carbon(m, modules=("A1-A3",))
    b = compute_embodied_carbon(timber, modules=("A1-A3",))
    table = compare_scenarios({"concrete": a, "timber": b}, by="building", value="a1a3_kgco2e")
    # concrete: 7 m3 x 2400 x 0.081 = 1360.8; wool: 1 x 20 x 1.35 = 27
    # glulam: 10.5 m3 x 420 x 0.512 = 2257.92
    assert table.loc["B1", "concrete"] == pytest.approx(1360.8 + 27)
    assert table.loc["B1", "timber"] == pytest.approx(2257.92 + 27)
    assert table.loc["B1", "timber - concrete"] == pytest.approx(2257.92 - 1360.8)
    assert "total" not in table.index  # totals are their own comparison, not a row among building ids
    totals = compare_scenarios({"concrete": a, "timber": b}, by="total", value="a1a3_kgco2e")
    assert totals.loc["a1a3_kgco2e", "timber / concrete"] == pytest.approx((2257.92 + 27) / (1360.8 + 27))


def test_compare_by_module_and_series_and_errors():
    a = compute_embodied_carbon(_materials(), modules=("A1-A3",))
    t = compare_scenarios({"x": a, "y": a}, by="module")
    assert (t["y - x"] == 0).all()
    renovate = pd.Series({"B1": 100.0, "B2": 40.0})
    rebuild = pd.Series({"B1": 300.0, "B2": 40.0})
    t2 = compare_scenarios({"renovate": renovate, "rebuild": rebuild}, by="total")
    assert t2.loc["total_kgco2e", "rebuild - renovate"] == pytest.approx(200.0)
    per_building = compare_scenarios({"renovate": renovate, "rebuild": rebuild})
    assert per_building["rebuild - renovate"].to_dict() == {"B1": 200.0, "B2": 0.0}
    with pytest.raises(ValidationError):
        compare_scenarios({"only": renovate})
    with pytest.raises(ValidationError):
        compare_scenarios({"a": renovate, "b": rebuild}, baseline="c")
    with pytest.raises(InputError):
        substitute_materials(_materials(), {"concrete": "unobtainium"})
