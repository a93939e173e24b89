"""Tests for cimkit.analysis.carbon.re2020: thresholds and boundary semantics (≤ passes)."""

from __future__ import annotations

import math

import pytest

from cimkit.analysis.carbon import re2020_check, re2020_thresholds
from cimkit.errors import ValidationError

# Ic_construction maxima (kgCO2e/m²) from the arrêté du 4 août 2021, as quoted in DOMAIN notes.
IC_CONSTRUCTION = {
    "maison_individuelle": {2022: 640, 2025: 530, 2028: 475, 2031: 415},
    "logement_collectif": {2022: 740, 2025: 650, 2028: 580, 2031: 490},
    "bureaux": {2022: 980, 2025: 810, 2028: 710, 2031: 600},
}


@pytest.mark.parametrize("building_type", list(IC_CONSTRUCTION))
def test_ic_construction_thresholds_by_period(building_type):
    for start, value in IC_CONSTRUCTION[building_type].items():
        for year in (start, start + 2):  # first and last year of the 3-year period
            assert re2020_thresholds(building_type, year)["ic_construction_max"] == value
    assert (
        re2020_thresholds(building_type, 2040)["ic_construction_max"] == IC_CONSTRUCTION[building_type][2031]
    )


def test_ic_energie_thresholds_and_heat_network_variants():
    assert re2020_thresholds("maison_individuelle", 2022)["ic_energie_max"] == 160
    assert re2020_thresholds("maison_individuelle", 2027, heat_network=True)["ic_energie_max"] == 200
    assert re2020_thresholds("maison_individuelle", 2028, heat_network=True)["ic_energie_max"] == 160
    assert re2020_thresholds("logement_collectif", 2024)["ic_energie_max"] == 560
    assert re2020_thresholds("logement_collectif", 2025)["ic_energie_max"] == 260
    assert re2020_thresholds("logement_collectif", 2026, heat_network=True)["ic_energie_max"] == 320
    assert re2020_thresholds("logement_collectif", 2028, heat_network=True)["ic_energie_max"] == 260
    assert math.isnan(re2020_thresholds("bureaux", 2022)["ic_energie_max"])


@pytest.mark.parametrize(
    ("building_type", "year", "ic_max", "ie_max"),
    [
        ("maison_individuelle", 2022, 640, 160),
        ("maison_individuelle", 2031, 415, 160),
        ("logement_collectif", 2025, 650, 260),
        ("logement_collectif", 2022, 740, 560),
    ],
)
def test_boundaries_at_threshold_and_plus_minus_one_hundredth(building_type, year, ic_max, ie_max):
    at = re2020_check(ic_max, ie_max, building_type, year)
    assert at.passes is True and at.ic_construction_margin == 0
    above_c = re2020_check(ic_max + 0.01, ie_max, building_type, year)
    assert above_c.ic_construction_pass is False and above_c.passes is False
    below_c = re2020_check(ic_max - 0.01, ie_max, building_type, year)
    assert below_c.passes is True
    above_e = re2020_check(ic_max, ie_max + 0.01, building_type, year)
    assert above_e.ic_energie_pass is False and above_e.ic_construction_pass is True
    assert above_e.passes is False
    assert re2020_check(ic_max, ie_max - 0.01, building_type, year).passes is True


def test_incomplete_checks_and_custom_thresholds():
    office = re2020_check(900.0, 100.0, "office", 2023)
    assert office.ic_construction_pass is True and office.ic_energie_pass is None
    assert office.passes is None  # nothing failed, but Ic_énergie was not assessed
    assert any("no Ic_énergie" in n for n in office.notes)
    failing = re2020_check(1000.0, None, "bureaux", 2023)
    assert failing.passes is False  # one failure is enough
    modulated = re2020_check(
        700.0, 150.0, "maison_individuelle", 2022, thresholds={"ic_construction_max": 704.0}
    )
    assert modulated.passes is True
    assert modulated.ic_construction_margin == pytest.approx(4.0)


def test_invalid_arguments():
    with pytest.raises(ValidationError, match="2022"):
        re2020_thresholds("maison_individuelle", 2021)
    with pytest.raises(ValidationError, match="building_type"):
        re2020_thresholds("castle", 2025)
    with pytest.raises(ValidationError):
        re2020_check(1.0, 1.0, "bureaux", 2025, thresholds={"ic_max": 3})
