"""build_city_report: any model and any subset of results make a readable, public report."""

from __future__ import annotations

import warnings

import pytest

from cimkit.analysis import flood, zoning
from cimkit.datasets import load_sample_city, load_sample_flood_scenarios
from cimkit.viz import build_city_report, public_model


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


def test_sections_follow_the_results_given(model):
    report = build_city_report(model, audience="internal")
    assert [s.title for s in report.sections] == ["Checks on the data", "Where the numbers come from"]
    rules = zoning.assess(model)
    report = build_city_report(model, zoning=rules, audience="internal")
    titles = [s.title for s in report.sections]
    assert titles[0] == "Buildings, parcels and the local urban plan"
    text = report.to_markdown()
    # the counts in the prose are the result's own
    assert f"{int(rules.city['compliant_buildings'])} buildings pass every check" in text
    assert f"fail at least one; {int(rules.city['not_fully_checked_buildings'])} could not" in text
    for caveat in rules.caveats:
        assert caveat in text


def test_flood_section_numbers_and_maps(model, tmp_path):
    risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
    before = list(model.buildings.columns)
    report = build_city_report(public_model(model), flood=risk, folder=tmp_path)
    assert list(model.buildings.columns) == before  # the maps join a copy, not the caller's model
    text = report.to_markdown()
    assert f"{float(risk.city['ead_eur']):,.0f} EUR per year" in text
    flooded = int(risk.city["flooded_buildings_rp100"])
    assert f"| 100 | {flooded} |" in text
    assert (tmp_path / "map_flood.png").stat().st_size > 10_000
    # the water network is withheld from a public report, and the report says so
    assert "water" in text.split("## Where the numbers come from")[1] and "withheld" in text
