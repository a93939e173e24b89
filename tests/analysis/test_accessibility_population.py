"""Dwellings, residents, jobs and pupils from floor areas, with the documented ratios."""

from __future__ import annotations

import pandas as pd
import pytest

from cimkit.analysis.accessibility import ProgrammeRatios, compute_building_programme
from cimkit.errors import InputError, ValidationError


def _buildings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "use": ["residential", "office", "education", "Residential;retail", "retail"],
            "gfa_m2": [800.0, 1500.0, 1200.0, 1600.0, 440.0],
            "jobs": [None, None, None, None, 7.0],
        },
        index=pd.Index(["r", "o", "e", "m", "s"], name="building_id"),
    )


def test_from_gfa_with_default_ratios():
    res = compute_building_programme(_buildings())
    # residential: 800 / 80 = 10 dwellings x 2.2 = 22 residents
    assert res.loc["r", "dwellings"] == pytest.approx(10.0) and res.loc["r", "residents"] == pytest.approx(
        22.0
    )
    # office: 1500 m² / 15 m² per job = 100 jobs
    assert res.loc["o", "jobs"] == pytest.approx(100.0)
    # school: 1200 / 6 = 200 pupils; staff 200 / 13 jobs
    assert res.loc["e", "pupils"] == pytest.approx(200.0) and res.loc["e", "jobs"] == pytest.approx(200 / 13)
    # mixed "Residential;retail": first use counts -> 1600 / 80 = 20 dwellings
    assert res.loc["m", "dwellings"] == pytest.approx(20.0)
    # given jobs win over the retail ratio (440 / 22 = 20)
    assert res.loc["s", "jobs"] == 7.0 and res.loc["s", "programme_source"] == "attributes"
    assert res.loc["r", "programme_source"] == "gfa"


def test_from_spaces_and_custom_ratios():
    spaces = pd.DataFrame(
        {
            "building_id": ["r", "r", "o", "o"],
            "use": ["Logement T3", "Logement T2", "Bureau", "Circulation"],
            "area_m2": [378.0, 252.0, 960.0, 100.0],
        }
    )
    res = compute_building_programme(_buildings(), spaces)
    # 630 m² net living area / 63 m² per dwelling = 10 dwellings
    assert res.loc["r", "dwellings"] == pytest.approx(10.0) and res.loc["r", "programme_source"] == "spaces"
    # 960 m² net office / 0.8 = 1200 m² gross / 15 = 80 jobs (circulation holds no one)
    assert res.loc["o", "jobs"] == pytest.approx(80.0)
    custom = compute_building_programme(_buildings(), ratios={"persons_per_dwelling": 2.0})
    assert custom.loc["r", "residents"] == pytest.approx(20.0)
    assert (
        compute_building_programme(_buildings(), ratios=ProgrammeRatios(gfa_m2_per_dwelling=100)).loc[
            "r", "dwellings"
        ]
        == 8
    )
    with pytest.raises(ValidationError, match="unknown ratio"):
        compute_building_programme(_buildings(), ratios={"people": 3})


def test_unknown_use_warns_and_bad_input_raises():
    b = pd.DataFrame({"use": ["parking"], "gfa_m2": [500.0]}, index=["p"])
    with pytest.warns(UserWarning, match="no recognised use"):
        res = compute_building_programme(b)
    assert res.loc["p", ["dwellings", "jobs", "pupils"]].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(InputError):
        compute_building_programme(pd.DataFrame({"gfa_m2": [1.0]}))
    with pytest.raises(InputError, match="negative"):
        compute_building_programme(pd.DataFrame({"use": ["office"], "gfa_m2": [1.0], "jobs": [-1.0]}))
