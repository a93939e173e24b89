"""write_report: the report of a saved model reads its numbers from the columns the analyses saved."""

from __future__ import annotations

import warnings

import pytest

from cimkit.analysis import accessibility, carbon, flood, zoning
from cimkit.datasets import load_sample_city, load_sample_flood_scenarios
from cimkit.errors import InputError, ValidationError
from cimkit.model import read_model
from cimkit.viz import write_report


def _section(text: str, title: str) -> str:
    """The Markdown of one section (up to the next ``## `` heading)."""
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _table_rows(section: str) -> dict[str, list[str]]:
    """Rows of the Markdown tables of a section, by their first cell."""
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """The sample city (footprints only), analysed as `cimkit demo` does, saved to GeoPackage."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
        rules = zoning.assess(model)
        risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
        footprint = carbon.assess(model, period="new_low_energy")
        access = accessibility.assess(model, closed_network=risk.networks[100.0])
        links = ["parcel_id", "parcel_share", "zone_id", "access_node", "access_distance_m", "water_pipe_id"]
        checks = rules.buildings.drop(columns=links).add_prefix("plu_")
        model.join("buildings", rules.buildings[links].join(checks), step="cimkit.analysis.zoning.assess")
        model.join(
            "buildings", risk.buildings.drop(columns="footprint_m2"), step="cimkit.analysis.flood.assess"
        )
        model.join(
            "buildings", footprint.buildings.drop(columns="zone_id"), step="cimkit.analysis.carbon.assess"
        )
        walk = access.buildings.drop(columns=["zone_id", "home"]).add_prefix("walk_")
        walk["score_15min"] = access.buildings["score"]
        walk["score_15min_rp100"] = access.flooded["score"]
        model.join("buildings", walk, step="cimkit.analysis.accessibility.assess")
        path = model.to_file(tmp_path_factory.mktemp("saved") / "city.gpkg")
        staff = write_report(path, tmp_path_factory.mktemp("staff"), audience="staff")
        public = write_report(path, tmp_path_factory.mktemp("public"))
    results = {"zoning": rules, "flood": risk, "carbon": footprint, "access": access}
    return path, results, staff, public


def test_flood_carbon_and_access_sentences_match_the_saved_columns(analysed):
    path, results, staff, _ = analysed
    text = staff.markdown.read_text(encoding="utf-8")
    buildings = read_model(path).buildings
    # flood: EAD = the sum of the saved ead_eur column = the analysis's own city total
    ead = float(buildings["ead_eur"].sum())
    assert ead == pytest.approx(float(results["flood"].city["ead_eur"]))
    assert f"whole town: {ead:,.0f} EUR per year" in text
    rows = _table_rows(_section(text, "Flood risk"))
    for rp in (10, 100, 1000):
        flooded = int((buildings[f"depth_m_rp{rp}"] > 0).sum())
        assert flooded == int(results["flood"].city[f"flooded_buildings_rp{rp}"])
        assert rows[str(rp)] == [str(flooded), f"{buildings[f'damage_eur_rp{rp}'].sum():,.1f}"]
    assert int(rows["100"][0]) > 0  # the sample town floods at 100 years
    # carbon: footprint-only buildings, so every tonne is an upper-bound estimate
    city = results["carbon"].city
    estimate_t = buildings["embodied_kgco2e"].sum() / 1000
    assert estimate_t == pytest.approx(city["embodied_estimate_kgco2e"] / 1000)
    estimated = int(buildings["embodied_kgco2e"].notna().sum())
    assert 0 < estimated < len(buildings)
    assert f"The {estimated} buildings known only by their footprint" in text
    assert f"{len(buildings) - estimated} building(s) have no carbon figure" in text
    assert f"their {estimate_t:,.0f} tCO2e is an upper bound" in text
    b6_t = buildings["operational_b6_kgco2e"].sum() / 1000
    assert f"energy intensity: {b6_t:,.0f} tCO2e" in text
    assert f"{city['operational_b6_kgco2e'] / 1000:,.0f} tCO2e" in text
    # access: the mean over the homes, as the analysis counts them
    access = results["access"].city
    assert f"mean {access['score_mean']:.2f} over {int(access['homes'])} homes" in text
    assert int(access["homes"]) < len(buildings)  # not every building is a home
    assert (
        f"the mean is {access['flooded_score_mean']:.2f}; {int(access['homes_losing_score'])} home(s) lose"
        in text
    )
    # zoning: the verdict counts of the analysis
    rules = results["zoning"].city
    assert (
        f"{int(rules['compliant_buildings'])} pass every check of the local urban plan (PLU) that could be made "
        f"and {int(rules['non_compliant_buildings'])} fail at least one; "
        f"{int(rules['not_fully_checked_buildings'])} could not be checked" in text
    )
    assert "not run" not in text


def test_maps_and_html(analysed):
    _, _, staff, _ = analysed
    assert [p.name for p in staff.figures] == ["map_flood.png", "map_15min.png"]
    for figure in staff.figures:
        assert figure.stat().st_size > 10_000
    html = staff.html.read_text(encoding="utf-8")
    assert staff.html.name == "report.html" and "<h2>Flood risk</h2>" in html
    assert not (staff.html.parent / "summary.html").exists()


def test_public_report_withholds_the_water_network_and_says_so(analysed):
    path, _, staff, public = analysed
    staff_rows = _table_rows(
        _section(staff.markdown.read_text(encoding="utf-8"), "Where the numbers come from")
    )
    text = public.markdown.read_text(encoding="utf-8")
    sources = _section(text, "Where the numbers come from")
    public_rows = _table_rows(sources)
    assert "network_water" in staff_rows and "network_water" not in public_rows
    assert "Sensitive networks (water) are withheld from this public report" in sources
    assert "network_road" in public_rows
    # every layer of the saved model is listed with its full sha256 in the staff report
    model = read_model(path)
    for name in model.provenance.index:
        record = model.provenance_record(name)
        assert staff_rows[name][2] == record.source_files[0].sha256
        steps = staff_rows[name][4]
        assert steps.split(":")[0] == str(len(record.steps))
        assert all(step.action in steps for step in record.steps)


def test_allowed_water_network_stays_in_a_public_report(analysed, tmp_path):
    path, _, _, _ = analysed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = write_report(path, tmp_path, allow={"water": "shared with the fire service"})
    rows = _table_rows(_section(paths.markdown.read_text(encoding="utf-8"), "Where the numbers come from"))
    assert "network_water" in rows and "publication_allowed" in rows["network_water"][4]


def test_a_model_without_analyses_says_not_run(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
        paths = write_report(model, tmp_path, audience="staff", title="Bare town")
    text = paths.markdown.read_text(encoding="utf-8")
    assert text.startswith("# Bare town")
    for what in ("PLU compliance", "Flood risk", "Carbon footprint", "Access on foot"):
        assert f"{what}: not run." in text
    assert "EUR per year" not in text and "tCO2e" not in text
    assert paths.figures == ()
    assert "Internal report, not for publication" in text


def test_errors_are_typed(tmp_path):
    with pytest.raises(InputError) as err:
        write_report(tmp_path / "missing.gpkg", tmp_path / "out")
    assert err.value.code == "RPT001" and "missing.gpkg" in str(err.value)
    with pytest.raises(ValidationError) as err:
        write_report(tmp_path / "missing.gpkg", tmp_path / "out", audience="everyone")  # type: ignore[arg-type]
    assert err.value.code == "RPT002"
    assert not (tmp_path / "out").exists()
