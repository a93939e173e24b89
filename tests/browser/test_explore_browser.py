"""The offline HTML page of an interactive map (cimkit.viz.explore) in headless Chromium.

The page is opened from disk with every request that is not ``file:``, ``data:`` or ``blob:``
blocked; the test asserts none was attempted, that deck.gl drew the buildings (pixels differ from
the same map with the buildings switched off, where the buildings are) and that the toggle works.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
pytest.importorskip("lonboard", reason="the maps extra (lonboard) is not installed")

LOCAL = ("file:", "data:", "blob:")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    from cimkit.datasets import load_sample_city
    from cimkit.viz.explore import explore_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
    view = explore_model(model, column="height_m", layers=["parcels"])
    return view.to_html(tmp_path_factory.mktemp("explore") / "map.html"), model


def _canvas(page) -> np.ndarray:
    from PIL import Image

    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_timeout(300)
    shot = page.locator("#cimkit-map canvas").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def test_exported_map_draws_buildings_offline(browser_page, page_file):
    page, requests, errors = browser_page
    path, model = page_file
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL) else route.abort()
    )
    page.goto(path.as_uri())
    page.wait_for_function("window.cimkitReady === true", timeout=20_000)
    page.locator("#cimkit-map canvas").first.wait_for(timeout=20_000)
    page.wait_for_timeout(1500)
    with_buildings = _canvas(page)
    # switch the buildings off with their toggle: only the parcels' outlines remain
    page.get_by_role("checkbox", name="buildings", exact=True).uncheck()
    page.wait_for_timeout(800)
    without = _canvas(page)
    changed = np.abs(with_buildings - without).sum(axis=2) > 60
    assert changed.sum() > 200, "the buildings layer drew nothing"
    # the changed pixels are mostly the buildings' fills, not the white background
    colours = with_buildings[changed]
    assert (colours.sum(axis=1) < 700).mean() > 0.8
    # the tallest building is drawn in the top colour of cividis, found nowhere without buildings
    import matplotlib

    top = np.round(np.asarray(matplotlib.colormaps["cividis"](1.0)[:3]) * 255)
    near = lambda image: (np.abs(image - top).sum(axis=2) < 30).sum()  # noqa: E731
    assert near(with_buildings) >= 4 and near(without) == 0
    # and where the buildings are: inside the extent of the drawn parcels (the centre of the map)
    ys, xs = np.nonzero(changed)
    height, width = changed.shape
    assert 0.1 * width < xs.mean() < 0.9 * width and 0.1 * height < ys.mean() < 0.9 * height
    page.get_by_role("checkbox", name="buildings", exact=True).check()
    page.wait_for_timeout(800)
    again = _canvas(page)
    assert (np.abs(again - with_buildings).sum(axis=2) > 60).sum() < 0.2 * changed.sum()
    # hovering the tallest building shows its tooltip: its id, its height and the column names
    rows, cols = np.nonzero(np.abs(with_buildings - top).sum(axis=2) < 30)
    box = page.locator("#cimkit-map canvas").first.bounding_box()
    for step in range(3):  # deck.gl picks on pointer moves
        page.mouse.move(box["x"] + float(np.median(cols)) + step, box["y"] + float(np.median(rows)))
        page.wait_for_timeout(400)
    tallest = model.buildings["height_m"].idxmax()
    page.wait_for_function(f"document.body.innerText.includes({tallest!r})", timeout=10_000)
    text = page.locator("#cimkit-map").inner_text()
    assert "height_m" in text and "caveat" in text
    page.mouse.move(1, 1)
    outside = [url for url in requests if not url.startswith(LOCAL)]
    assert outside == [], f"the page asked the network for {outside}"
    assert [e for e in errors if "WebGL" not in e] == []
