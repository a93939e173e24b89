"""The public consultation page: what is withheld, the allowance in the audit log, FR = EN numbers."""

from __future__ import annotations

import html
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cimkit.audit import read_audit_log
from cimkit.cli.main import main
from cimkit.errors import FileFormatError, InputError
from cimkit.viz.publish import write_public_page


@pytest.fixture(scope="module")
def sample_model():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


def _all_text(folder: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()
    )


def _block(page: str, lang: str) -> str:
    """The results section of one language (the <div data-lang=...> holding 'results-<lang>')."""
    match = re.search(
        rf'<div data-lang="{lang}"[^>]*>\s*<section aria-labelledby="results-{lang}">(.*?)</div>', page, re.S
    )
    assert match, lang
    return match.group(1)


def _values(block: str, analysis: str) -> list[float]:
    match = re.search(rf'<ul class="result" data-analysis="{analysis}">(.*?)</ul>', block, re.S)
    assert match, analysis
    return [float(v) for v in re.findall(r'<data value="([^"]+)">', match.group(1))]


def test_sensitive_network_is_withheld_by_default(sample_model, tmp_path):
    assert "water" in sample_model.networks  # the sample city has a water network to withhold
    page = write_public_page(sample_model, tmp_path / "site")
    site = page.parent
    assert not (site / "data" / "network_water.geojson").exists()
    assert {p.stem for p in (site / "data").glob("*.geojson")} >= {"buildings", "network_road", "parcels"}
    text = _all_text(site)
    for needle in ("network_water", "water_pipes", "pipe_id"):
        assert needle not in text, needle
    # the buildings are all in the tileset, and the page says how many
    tiles = json.loads((site / "tiles" / "tileset.json").read_text(encoding="utf-8"))
    assert tiles["asset"]["version"] == "1.1"
    assert f"Vue 3D des {len(sample_model.buildings)} bâtiments publiés" in page.read_text(encoding="utf-8")
    assert read_audit_log() == []  # nothing above public was published: nothing to log
    # the parcels lost the owners' columns (restricted), but kept their rows
    parcels = json.loads((site / "data" / "parcels.geojson").read_text(encoding="utf-8"))
    assert len(parcels["features"]) == len(sample_model.parcels)


def test_allowed_network_is_published_and_logged(sample_model, tmp_path):
    reason = "plan shared with the fire service"
    page = write_public_page(sample_model, tmp_path / "site", allow={"water": reason})
    water = json.loads((page.parent / "data" / "network_water.geojson").read_text(encoding="utf-8"))
    assert len(water["features"]) == len(sample_model.networks["water"].edges) == 50
    lon, lat = np.asarray(water["features"][0]["geometry"]["coordinates"][0])
    assert 1 < lon < 4 and 47 < lat < 50  # WGS 84, around Paris (Lambert-93 sample)
    entries = read_audit_log()
    assert [(e["action"], e["layers"], e["reason"]) for e in entries] == [
        ("allow", ["network_water"], reason),
        ("publish", ["network_water"], reason),
    ]
    assert entries[1]["output"] == str(page.parent)
    assert "Publié par dérogation : network_water." in page.read_text(encoding="utf-8")


def test_french_and_english_carry_the_same_numbers(sample_model, tmp_path):
    model = sample_model.copy()
    ids = model.buildings.index
    n = len(ids)
    depth = pd.Series(0.0, index=ids)
    depth.iloc[:3] = [0.2, 0.5, 1.25]  # 3 buildings wet at rp100
    results = pd.DataFrame(
        {
            "depth_m_rp100": depth,
            "depth_m_rp1000": depth + 0.1,  # every building wet at rp1000
            "ead_eur": pd.Series(0.0, index=ids).mask(depth > 0, 1234.5),  # 3 x 1234.5 = 3703.5
            "embodied_kgco2e": pd.Series(np.nan, index=ids).fillna({ids[0]: 250_000.0, ids[1]: 1_500_000.0}),
            "score_15min": pd.Series(1.0, index=ids).mask(depth > 0.3, 0.5),  # two at 0.5
        },
        index=ids,
    )
    model.join("buildings", results, step="test")
    page = write_public_page(model, tmp_path / "site").read_text(encoding="utf-8")
    fr, en = _block(page, "fr"), _block(page, "en")
    for analysis in ("flood", "carbon", "access"):
        assert _values(fr, analysis) == _values(en, analysis), analysis
    # computed by hand: rp, flooded, buildings per period; then the expected annual damage
    assert _values(fr, "flood") == [100, 3, n, 1000, n, n, 3704]
    assert _values(fr, "carbon") == [2, 1750]  # two buildings, 1 750 t
    # access counts the homes (residential use), as the analysis and the report do
    from cimkit.analysis.accessibility.population import _use_class

    home = model.buildings["use"].map(_use_class).eq("residential")
    score = results["score_15min"][home]
    assert 0 < len(score) < n
    assert _values(en, "access") == [int((score >= 1).sum()), len(score), round(float(score.mean()), 2)]
    assert "1\u202f750" in fr and "1,750" in en  # each language writes numbers its own way
    assert "Non disponible" not in fr and "Not available" not in en


def test_sources_table_names_each_file_with_its_sha256(sample_model, tmp_path):
    import hashlib

    from cimkit.datasets import sample_city_path

    page = write_public_page(sample_model, tmp_path / "site").read_text(encoding="utf-8")
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td><td>[^<]*</td><td class="hash">(\w+)</td>', page
    )
    fr_rows = rows[: len(rows) // 2]  # the table is written once per language
    assert fr_rows == rows[len(rows) // 2 :]
    table = {(part, name): sha for part, name, sha in fr_rows}
    for part, name in [
        ("parcels", "parcels.geojson"),
        ("network_road", "streets.geojson"),
        ("dem", "dem.tif"),
    ]:
        expected = hashlib.sha256((sample_city_path() / name).read_bytes()).hexdigest()
        assert table[(part, name)] == expected
    assert not any(part == "network_water" for part, _ in table)


def test_absent_analyses_are_not_available(sample_model, tmp_path):
    page = write_public_page(sample_model, tmp_path / "site", lang="en").read_text(encoding="utf-8")
    assert page.count("Not available: this analysis was not run for this model.") == 3
    assert 'data-lang="fr"' not in page and '<html lang="en">' in page


def test_consultation_from_toml_and_its_checks(sample_model, tmp_path):
    toml = tmp_path / "consultation.toml"
    toml.write_text(
        '[consultation]\nstart = "2027-01-05"\nend = "2027-02-05"\naddress = "1 place de la Mairie"\n'
        'url = "https://ville.example/avis"\nemail = "urba@ville.example"\n',
        encoding="utf-8",
    )
    page = write_public_page(sample_model, tmp_path / "site", consultation=toml).read_text(encoding="utf-8")
    assert "Dates de la consultation : du 2027-01-05 au 2027-02-05." in page
    assert "Consultation dates: from 2027-01-05 to 2027-02-05." in page
    assert '<a href="mailto:urba@ville.example">' in page and '<a href="https://ville.example/avis">' in page
    default = html.unescape(write_public_page(sample_model, tmp_path / "default").read_text(encoding="utf-8"))
    assert "adressez-vous à l'accueil de votre mairie" in default and "mailto:" not in default

    with pytest.raises(InputError, match="not an http") as err:
        write_public_page(sample_model, tmp_path / "x", consultation={"url": "javascript:alert(1)"})
    assert err.value.code == "PUB006"
    with pytest.raises(InputError, match="unknown consultation key") as err:
        write_public_page(sample_model, tmp_path / "x", consultation={"phone": "01"})
    assert err.value.code == "PUB006" and "--consultation" in str(err.value.hint)
    toml.write_text("start = ", encoding="utf-8")
    with pytest.raises(FileFormatError) as err:
        write_public_page(sample_model, tmp_path / "x", consultation=toml)
    assert err.value.code == "PUB006"
    assert not (tmp_path / "x").exists()  # checked before anything is written


def test_no_buildings_and_bad_language(sample_model, tmp_path):
    model = sample_model.copy()
    model.remove("buildings")
    with pytest.raises(InputError) as err:
        write_public_page(model, tmp_path / "site")
    assert err.value.code == "PUB007"
    with pytest.raises(InputError) as err:
        write_public_page(sample_model, tmp_path / "site", lang=("fr", "de"))
    assert err.value.code == "ARG001"


def test_cli_publish(sample_model, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = sample_model.to_file(tmp_path / "city.gpkg")
    out = tmp_path / "site"
    assert (
        main(
            [
                "-q",
                "publish",
                str(saved),
                "--out",
                str(out),
                "--allow",
                "water=exercise with the fire service",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert (out / "data" / "network_water.geojson").is_file()
    assert [e["action"] for e in read_audit_log()] == ["allow", "publish"]
    assert main(["-q", "publish", str(saved), "--out", str(out), "--allow", "water"]) == 2
    assert "error[PUB002]" in capsys.readouterr().err
