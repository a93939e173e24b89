"""The public consultation page of the sample city in headless Chromium: 3D view, picking, a11y.

The page is written by :func:`cimkit.viz.publish.write_public_page` for the sample city with its
flood, carbon and accessibility results joined to the buildings (as ``cimkit demo`` does).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from cimkit.viz.tileviewer import serve_folder

# one worker runs them all: they share one Chromium and the published page (built once)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[2]
BORDER = 2  # pixels cropped on each side of the canvas screenshot
AXE = REPO / "js" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, object]:
    """The sample city with its analyses joined, published; returns the folder and the model."""
    from cimkit.analysis import accessibility, carbon, flood
    from cimkit.datasets import load_sample_city, load_sample_flood_scenarios
    from cimkit.viz.publish import write_public_page

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # georeference notes of the sample IFCs, T3D103 heights
        model = load_sample_city()
        risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
        footprint = carbon.assess(model, period="new_low_energy")
        access = accessibility.assess(model)
        model.join(
            "buildings", risk.buildings.drop(columns="footprint_m2"), step="cimkit.analysis.flood.assess"
        )
        model.join(
            "buildings", footprint.buildings.drop(columns="zone_id"), step="cimkit.analysis.carbon.assess"
        )
        model.join("buildings", access.buildings["score"].rename("score_15min"), step="accessibility")
        folder = tmp_path_factory.mktemp("public") / "site"
        write_public_page(model, folder, consultation={"email": "urbanisme@ville.example"})
    return folder, model


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.cimkitViewer !== undefined")
    page.evaluate("window.cimkitViewer.ready")


def _image(page) -> np.ndarray:
    from PIL import Image

    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    image = np.asarray(Image.open(io.BytesIO(page.locator("#scene").screenshot())).convert("RGB")).astype(int)
    return image[BORDER:-BORDER, BORDER:-BORDER]  # inside the canvas border (its top may sit at y + 0.5)


def test_page_draws_the_buildings_and_picks_one(published, browser_page, tmp_path):
    folder, model = published
    buildings = model.buildings
    tallest = str(buildings["height_m"].idxmax())
    page, requests, errors = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        assert page.evaluate("window.cimkitViewer.featureCount") == len(buildings)
        assert sorted(page.evaluate("window.cimkitViewer.ids")) == sorted(map(str, buildings.index))
        shown = _image(page)
        (tmp_path / "published.png").write_bytes(page.screenshot(full_page=True))
        point = page.evaluate("id => window.cimkitViewer.screenPositionOf(id)", tallest)
        assert point is not None
        assert page.evaluate("window.cimkitViewer.terrainLoaded")  # the sample city has a DEM
        page.evaluate("window.cimkitViewer.setContentVisible(false)")
        ground = _image(page)
        page.evaluate("window.cimkitViewer.setTerrainVisible(false)")
        empty = _image(page)
        page.evaluate("window.cimkitViewer.setContentVisible(true)")
        page.evaluate("window.cimkitViewer.setTerrainVisible(true)")
        drawn = np.abs(shown - ground).sum(axis=2) > 30
        assert (
            len(np.unique(empty.reshape(-1, 3), axis=0)) == 1
        )  # without buildings and ground: the background
        # the ground covers most of the view (the city's DEM spans beyond its buildings)
        assert (np.abs(ground - empty).sum(axis=2) > 30).mean() > 0.3
        assert drawn.sum() > 2000, drawn.sum()
        box = page.locator("#scene").bounding_box()
        row, col = int(point["y"] - box["y"]) - BORDER, int(point["x"] - box["x"]) - BORDER
        # the building is where it is drawn (its centre pixel, and most of the pixels around it)
        assert drawn[row, col] and drawn[row - 1 : row + 2, col - 1 : col + 2].sum() >= 7

        page.mouse.click(point["x"], point["y"])
        picked = page.locator("#picked")
        assert picked.get_attribute("data-feature-id") == tallest
        assert tallest in picked.locator("dd.feature-id").inner_text()
        # the results are on the page in French, with the numbers of the joined columns
        flooded = int((buildings["depth_m_rp100"] > 0).sum())
        text = page.locator("main").inner_text()
        assert f"tous les 100 ans, {flooded} des {len(buildings)} bâtiments" in text
        assert "urbanisme@ville.example" in text
    assert requests, "the page made no request"
    assert requests.outside() == []
    assert [e for e in errors if "favicon" not in e] == []


def test_language_switch_and_keyboard(published, browser_page):
    folder, model = published
    page, requests, _ = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        page.keyboard.press("Tab")  # the language button comes first, then the 3D view
        assert page.evaluate("document.activeElement.className") == "lang-switch"
        page.keyboard.press("Enter")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("#results-en").is_visible() and not page.locator("#results-fr").is_visible()
        assert page.get_by_text("How to give your opinion").is_visible()
        label = page.locator("#scene").get_attribute("aria-label")
        assert label.startswith(f"3D view of the {len(model.buildings)} published buildings")
        page.locator("#scene").focus()
        page.keyboard.press("n")
        first = page.evaluate("window.cimkitViewer.ids[0]")
        assert page.locator("#picked").get_attribute("data-feature-id") == first
    assert requests.outside() == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_serious_accessibility_violations(published, browser_page, lang):
    if not AXE.is_file():
        pytest.skip("axe-core is not installed in js/node_modules (make node-deps)")
    folder, _ = published
    page, requests, _ = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        if lang == "en":
            page.locator("button.lang-switch[data-to=en]").click()
        page.evaluate("window.cimkitViewer.select(window.cimkitViewer.ids[0])")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']})"
        )
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []
    assert "color-contrast" in {p["id"] for p in result["passes"]}
    assert requests.outside() == []


def test_page_opens_from_disk(published, browser_page):
    folder, model = published
    page, requests, errors = browser_page
    _open(page, (folder / "index.html").as_uri())
    assert page.evaluate("window.cimkitViewer.featureCount") == len(model.buildings)
    assert {url.split(":", 1)[0] for url in requests} == {"file"}
    assert errors == []
