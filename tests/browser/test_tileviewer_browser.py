"""The offline 3D Tiles viewer in headless Chromium: loading, placement, picking, keyboard, a11y.

The sample city's 3D Tiles (IFC buildings with their meshes, the other buildings as LoD1 blocks
from the cadastre) are written by ``cimkit.io.tiles3d.write_3dtiles``; a hand-made tileset
(``_synthetic.py``) checks the placement maths against known coordinates.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from cimkit.viz.tileviewer import serve_folder, write_tileset_viewer
from tests.browser._synthetic import BOXES, write_synthetic_tileset

# one worker runs them all: they share one Chromium and the sample city's tileset (built once)
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "js" / "node_modules" / "axe-core" / "axe.min.js"
PICKED_FILE = "ecole_jules_ferry.ifc"  # the building clicked on (its GlobalId is read from the file)


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.cimkitViewer !== undefined")
    page.evaluate("window.cimkitViewer.ready")


def _image(page) -> np.ndarray:
    from PIL import Image

    # two animation frames: the last render() has reached the screen before the screenshot
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return np.asarray(Image.open(io.BytesIO(page.locator("#scene").screenshot())).convert("RGB")).astype(int)


def _canvas_point(page, point: dict) -> tuple[int, int]:
    box = page.locator("#scene").bounding_box()
    return int(point["y"] - box["y"]), int(point["x"] - box["x"])


@pytest.fixture(scope="module")
def sample_tiles(tmp_path_factory) -> tuple[Path, object]:
    """The sample city's tileset (IFC meshes + cadastre LoD1) and its buildings layer."""
    import geopandas as gpd
    import pandas as pd

    from cimkit.analysis.merge import merge_buildings
    from cimkit.datasets import SAMPLE_CRS, sample_city_path
    from cimkit.io.ifc import read_ifc_model
    from cimkit.io.tiles3d import write_3dtiles
    from cimkit.io.vector import read_buildings

    root = sample_city_path()
    frames, meshes = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # georeference notes of the sample IFCs, T3D103 heights
        for path in sorted((root / "buildings").glob("*.ifc")):
            model = read_ifc_model(path, meshes=True, crs=SAMPLE_CRS, sandbox=False, processes=1)
            frames.append(model.buildings)
            meshes.update(model.meshes)
        ifc = gpd.GeoDataFrame(pd.concat(frames), crs=SAMPLE_CRS)
        footprints = read_buildings(root / "footprints.geojson", crs=SAMPLE_CRS)
        buildings = merge_buildings(ifc=ifc, footprints=footprints)
        folder = tmp_path_factory.mktemp("city") / "tiles"
        write_3dtiles(buildings, folder, meshes=meshes, max_features_per_tile=8)
    write_tileset_viewer(folder, title="Ville exemple")
    return folder, buildings


@pytest.fixture(scope="module")
def picked_global_id() -> str:
    import ifcopenshell

    from cimkit.datasets import sample_city_path

    (building,) = ifcopenshell.open(str(sample_city_path() / "buildings" / PICKED_FILE)).by_type(
        "IfcBuilding"
    )
    return building.GlobalId


def test_sample_city_loads_draws_and_picks_the_global_id(sample_tiles, picked_global_id, browser_page):
    folder, buildings = sample_tiles
    page, requests, errors = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        assert page.evaluate("window.cimkitViewer.featureCount") == len(buildings)
        assert sorted(page.evaluate("window.cimkitViewer.ids")) == sorted(map(str, buildings.index))
        shown = _image(page)
        point = page.evaluate("id => window.cimkitViewer.screenPositionOf(id)", picked_global_id)
        assert point is not None
        page.evaluate("window.cimkitViewer.setContentVisible(false)")
        empty = _image(page)
        page.evaluate("window.cimkitViewer.setContentVisible(true)")
        # the canvas is not blank, and the buildings are what is drawn: hiding them empties it
        assert len(np.unique(shown.reshape(-1, 3), axis=0)) > 20
        assert len(np.unique(empty.reshape(-1, 3), axis=0)) <= 2
        drawn = np.abs(shown - empty).sum(axis=2) > 30
        assert drawn.sum() > 2000, drawn.sum()  # the 43 buildings cover thousands of pixels
        row, col = _canvas_point(page, point)
        assert drawn[row - 1 : row + 2, col - 1 : col + 2].all()

        page.mouse.click(point["x"], point["y"])
        picked = page.locator("#picked")
        assert picked.get_attribute("data-feature-id") == picked_global_id
        assert picked_global_id in picked.locator("dd.feature-id").inner_text()
        assert picked.get_attribute("aria-live") == "polite"
        assert not (_image(page) == shown).all()  # the picked building is highlighted
    assert requests, "the page made no request"
    assert requests.outside() == []
    assert [e for e in errors if "favicon" not in e] == []


def test_sample_city_sits_where_its_map_coordinates_say(sample_tiles, picked_global_id, browser_page):
    """The viewer's east-north-up bounds of a building = its footprint taken to ECEF and back by pyproj."""
    from pyproj import Transformer

    folder, buildings = sample_tiles
    tileset = json.loads((folder / "tileset.json").read_text(encoding="utf-8"))
    to_enu = np.linalg.inv(np.array(tileset["root"]["transform"], dtype=float).reshape(4, 4).T)
    footprint = buildings.loc[picked_global_id, "geometry"]
    x, y = np.asarray(footprint.exterior.coords).T
    lon, lat = Transformer.from_crs(buildings.crs, "EPSG:4326", always_xy=True).transform(x, y)
    ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(
        lon, lat, np.zeros_like(x)
    )
    east, north = (to_enu @ np.vstack([*ecef, np.ones_like(x)]))[:2]
    page, _, _ = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        bounds = page.evaluate("id => window.cimkitViewer.boundsOf(id)", picked_global_id)
    assert bounds["min"][0] == pytest.approx(east.min(), abs=0.3)
    assert bounds["max"][0] == pytest.approx(east.max(), abs=0.3)
    assert bounds["min"][1] == pytest.approx(north.min(), abs=0.3)
    assert bounds["max"][1] == pytest.approx(north.max(), abs=0.3)
    height = buildings.loc[picked_global_id, "height_m"]
    assert bounds["max"][2] - bounds["min"][2] == pytest.approx(height, abs=0.5)


def test_keyboard_orbits_and_cycles_the_selection(sample_tiles, browser_page):
    folder, _ = sample_tiles
    page, _, _ = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        ids = page.evaluate("window.cimkitViewer.ids")
        page.keyboard.press("Tab")  # the canvas is the first focusable element
        assert page.evaluate("document.activeElement.id") == "scene"
        picked = page.locator("#picked")
        page.keyboard.press("n")
        assert picked.get_attribute("data-feature-id") == ids[0]
        page.keyboard.press("Enter")
        assert picked.get_attribute("data-feature-id") == ids[1]
        page.keyboard.press("p")
        assert picked.get_attribute("data-feature-id") == ids[0]
        page.keyboard.press("p")
        assert picked.get_attribute("data-feature-id") == ids[-1]
        assert picked.locator("dd.feature-id").inner_text() == ids[-1]
        before = _image(page)
        page.keyboard.press("ArrowLeft")
        turned = _image(page)
        page.keyboard.press("+")
        assert not (turned == before).all() and not (_image(page) == turned).all()
        page.keyboard.press("Escape")
        assert picked.get_attribute("data-feature-id") is None
        page.keyboard.press("Tab")  # no keyboard trap: Tab leaves the 3D view
        assert page.evaluate("document.activeElement.id") != "scene"


def test_synthetic_tileset_placement_and_metadata(tmp_path, browser_page):
    """Known boxes: the child tile's translation is applied, the root ENU -> ECEF transform is not."""
    write_synthetic_tileset(tmp_path)
    write_tileset_viewer(tmp_path, lang="en")
    page, requests, errors = browser_page
    with serve_folder(tmp_path) as url:
        _open(page, url + "index.html")
        assert sorted(page.evaluate("window.cimkitViewer.ids")) == sorted(BOXES)
        for key, box in BOXES.items():
            bounds = page.evaluate("id => window.cimkitViewer.boundsOf(id)", key)
            assert bounds["min"] == pytest.approx(list(box["lo"]), abs=1e-3)
            assert bounds["max"] == pytest.approx(list(box["hi"]), abs=1e-3)
        assert page.evaluate("window.cimkitViewer.select('É-3')") is True
        terms = page.locator("#picked dt").all_inner_texts()
        values = page.locator("#picked dd").all_inner_texts()
        assert dict(zip(terms, values)) == {
            "Identifier": "É-3",
            "height_m": "30",
            "listed": "no",
            "storeys": "9",
        }
        page.evaluate("window.cimkitViewer.select('A')")
        assert page.locator("#picked dd").all_inner_texts()[2:] == ["yes", "4"]
    assert requests.outside() == []
    assert [e for e in errors if "favicon" not in e] == []


def test_inlined_page_opens_from_disk(tmp_path, browser_page):
    write_synthetic_tileset(tmp_path)
    page_path = write_tileset_viewer(tmp_path, inline=True)
    page, requests, errors = browser_page
    _open(page, page_path.as_uri())
    assert page.evaluate("window.cimkitViewer.featureCount") == 3
    assert page.evaluate("window.cimkitViewer.boundsOf('B').max") == pytest.approx([50, -10, 6.5], abs=1e-3)
    assert {url.split(":", 1)[0] for url in requests} == {"file"}
    assert errors == []


def test_no_serious_accessibility_violations(sample_tiles, browser_page):
    if not AXE.is_file():
        pytest.skip("axe-core is not installed in js/node_modules (make node-deps)")
    folder, _ = sample_tiles
    page, requests, _ = browser_page
    with serve_folder(folder) as url:
        _open(page, url + "index.html")
        page.evaluate("window.cimkitViewer.select(window.cimkitViewer.ids[0])")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']})"
        )
    bad = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []
    assert len(result["passes"]) > 10
    assert requests.outside() == []


def test_replace_refinement_draws_only_the_leaves(tmp_path, browser_page):
    from tests.browser._synthetic import write_glb

    tileset_path = write_synthetic_tileset(tmp_path)
    write_glb(tmp_path / "tiles" / "coarse.glb", [{"id": "coarse", **BOXES["A"]}])
    tileset = json.loads(tileset_path.read_text(encoding="utf-8"))
    tileset["root"].update(refine="REPLACE", content={"uri": "tiles/coarse.glb"})
    tileset_path.write_text(json.dumps(tileset), encoding="utf-8")
    write_tileset_viewer(tmp_path)
    page, requests, _ = browser_page
    with serve_folder(tmp_path) as url:
        _open(page, url + "index.html")
        assert sorted(page.evaluate("window.cimkitViewer.ids")) == sorted(BOXES)
    assert not any(u.endswith("coarse.glb") for u in requests)
    assert sum(u.endswith(".glb") for u in requests) == 2
