"""Progress bars follow the ``progress`` option and never change what is iterated."""

from __future__ import annotations

import cimkit
from cimkit._progress import progress_enabled, track


def test_off_by_default_and_silent(capsys):
    assert cimkit.get_options()["progress"] is False and not progress_enabled()
    assert list(track(["a", "b"], description="reading")) == ["a", "b"]
    assert capsys.readouterr().err == ""


def test_on_draws_a_bar_on_stderr(capsys):
    with cimkit.set_options(progress=True):
        assert progress_enabled()
        items = list(track((i * i for i in range(4)), description="squaring", total=4, unit="number"))
    assert items == [0, 1, 4, 9]
    err = capsys.readouterr().err
    assert "squaring:" in err and "0/4" in err and "number" in err


def test_length_taken_from_the_iterable(capsys):
    with cimkit.set_options(progress=True):
        assert list(track(range(5), description="counting")) == [0, 1, 2, 3, 4]
    assert "0/5" in capsys.readouterr().err


def test_bars_come_from_tqdm_auto(monkeypatch):
    """tqdm.auto picks the widget bar in Jupyter (ipywidgets) and the text bar elsewhere."""
    import tqdm.auto

    made = []

    class Recording(tqdm.auto.tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    with cimkit.set_options(progress=True):
        assert list(track([1, 2], description="files", unit="file")) == [1, 2]
    assert made == [{"desc": "files", "total": 2, "unit": "file", "leave": False}]


def test_flood_scenarios_show_a_bar(capsys):
    """The library's long loops are tracked: one step per flood scenario."""
    import numpy as np
    from affine import Affine

    from cimkit.analysis.flood import compute_flood_depths
    from cimkit.raster import Raster

    dem = Raster(np.array([[0.0, 1.0, 2.0, 3.0]]), Affine(5, 0, 0, 0, -5, 5), "EPSG:2154")
    with cimkit.set_options(progress=True):
        depths = compute_flood_depths(dem, {100: 2.5, 10: 1.5, 1000: 3.5})
    assert {rp: d.values.tolist()[0] for rp, d in depths.items()} == {
        10.0: [1.5, 0.5, 0.0, 0.0],
        100.0: [2.5, 1.5, 0.5, 0.0],
        1000.0: [3.5, 2.5, 1.5, 0.5],
    }
    err = capsys.readouterr().err
    assert "flood depths:" in err and "0/3" in err and "scenario" in err
    compute_flood_depths(dem, {10: 1.5})  # the option is off again: silent
    assert capsys.readouterr().err == ""
