"""The view methods of CityModel (cimkit._views): thin entry points to cimkit.viz functions."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import cimkit.viz
from cimkit._views import VIEWS, resolve_view
from cimkit.model import CityModel, read_model


@pytest.mark.parametrize("method", sorted(VIEWS))
def test_every_view_method_reaches_a_public_viz_function(method):
    func = resolve_view(method)
    module, _, name = VIEWS[method].partition(":")
    assert module.startswith("cimkit.viz.") and func.__name__ == name
    assert name in cimkit.viz.__all__, f"{name} is not exported by cimkit.viz"
    first = next(iter(inspect.signature(func).parameters.values()))
    assert first.name in ("model", "source") and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    # the method exists on the model and its keyword arguments are accepted by the function
    assert callable(getattr(CityModel, method))
    accepted = inspect.signature(func).parameters
    for param in list(inspect.signature(getattr(CityModel, method)).parameters)[1:]:
        assert param in accepted or param == "kwargs", (method, param)


def test_plot_method_draws_the_same_map_as_plot_city():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cimkit.datasets import sample_city_path
    from cimkit.io.vector import read_parcels

    model = CityModel(2154, name="parcels only")
    model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
    ax = model.plot(title="parcels")
    try:
        assert ax.get_title() == "parcels"
        left, _bottom, right, _top = model.bounds
        x0, x1 = ax.get_xlim()
        assert x0 <= left and x1 >= right  # the whole model is in view
    finally:
        plt.close(ax.figure)


def test_to_file_writes_a_folder_model_unless_gpkg(tmp_path: Path):
    from cimkit.datasets import sample_city_path
    from cimkit.io.vector import read_parcels

    model = CityModel(2154, name="sample")
    model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
    folder = model.to_file(tmp_path / "city.cimkit")
    gpkg = model.to_file(tmp_path / "city.gpkg")
    assert folder.is_dir() and (folder / "manifest.json").is_file() and gpkg.is_file()
    for path in (folder, gpkg):
        back = read_model(path)
        assert back.parcels.equals(model.parcels) and back.provenance.equals(model.provenance)
    some = read_model(folder, layers=["parcels"], bbox=(651_000, 6_847_000, 651_200, 6_847_200))
    assert 0 < len(some.parcels) < len(model.parcels)
