"""`cimkit report MODEL` on a model built from real files: the sources table carries their sha256."""

from __future__ import annotations

import hashlib
import warnings
from datetime import date

import pytest

import cimkit
from cimkit.cli.main import main
from cimkit.model import CityModel, read_model


def _sources(summary: str) -> dict[str, list[str]]:
    """The rows of the sources table, by layer name."""
    section = summary.split("## Where the numbers come from\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    assert rows.pop("layer") == ["file", "licence", "sha256", "date", "steps"]  # the header
    return rows


@pytest.fixture(scope="module")
def bubenec(shared_data, tmp_path_factory):
    """Bubeneč (Prague): OSM buildings, cadastral plots and streets as a road network, saved."""
    source = shared_data / "prague_bubenec" / "bubenec.gpkg"
    model = CityModel("EPSG:5514", name="Bubeneč")  # S-JTSK / Krovak East North, metres
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_layer("buildings", cimkit.read_buildings(source, layer="buildings"), licence="ODbL-1.0")
        model.add_layer("parcels", cimkit.read_parcels(source, layer="plots"), licence="BSD-3-Clause")
        model.add_network(cimkit.read_network(source, layer="streets", kind="road"), licence="ODbL-1.0")
    saved = model.to_file(tmp_path_factory.mktemp("bubenec") / "city.gpkg")
    return source, saved


def test_report_of_a_model_built_from_real_files(bubenec, tmp_path, capsys):
    source, saved = bubenec
    out = tmp_path / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["-q", "report", str(saved), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1:] == [f"  {out / 'report.html'}", f"  {out / 'summary.md'}"]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()  # computed here, independently
    rows = _sources(summary)
    assert set(rows) == {"buildings", "parcels", "network_road"}
    model = read_model(saved)
    licences = {"buildings": "ODbL-1.0", "parcels": "BSD-3-Clause", "network_road": "ODbL-1.0"}
    for name, (file, licence, sha256, day, steps) in rows.items():
        record = model.provenance_record(name)
        assert (file, licence, sha256) == ("bubenec.gpkg", licences[name], digest)
        assert day == record.created[:10] and date.fromisoformat(day) <= date.today()
        # the saved steps, then the public view's own ("public_filter": what was withheld)
        assert steps.split(":")[0] == str(len(record.steps) + 1)
        assert all(step.action in steps for step in record.steps) and steps.endswith("public_filter")
        assert digest in html
    assert "snap" in rows["network_road"][4]  # the network's topology repair is listed
    # no analysis saved in the model: no invented numbers
    for what in ("PLU compliance", "Flood risk", "Carbon footprint", "Access on foot"):
        assert f"{what}: not run." in summary
    assert "EUR per year" not in summary
    quality = model.quality()  # the caveats: every check that found something is listed
    assert f"cimkit ran {len(quality)} checks on the layers of the model" in summary
    for message in quality.loc[quality["status"].isin(["error", "warning"]), "message"]:
        assert message in summary


def test_staff_audience_and_exit_codes(bubenec, tmp_path, capsys):
    _, saved = bubenec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["-q", "report", str(saved), "-o", str(tmp_path / "staff"), "--audience", "staff"]) == 0
    assert "Internal report, not for publication" not in (tmp_path / "staff" / "summary.md").read_text(
        encoding="utf-8"
    )  # nothing above public in this model: no warning to give
    capsys.readouterr()
    # 1: a typed error (no such model), named on standard error with its code
    assert main(["-q", "report", str(tmp_path / "nope.gpkg"), "--out", str(tmp_path / "x")]) == 1
    assert "error[RPT001]" in capsys.readouterr().err
    # 2: usage errors (an --allow without a reason, an unknown audience)
    assert main(["-q", "report", str(saved), "--allow", "water"]) == 2
    assert "error[PUB002]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["-q", "report", str(saved), "--audience", "everyone"])
    assert exit_.value.code == 2
    assert not (tmp_path / "x").exists()
