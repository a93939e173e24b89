"""The view methods of :class:`~cimkit.model.CityModel`: ``plot``, ``explore``, ``view3d``, ``write_report``.

A planner in Jupyter expects ``model.explore()`` and ``model.view3d()``, as ``GeoDataFrame.explore()``
exists in geopandas. The layering rule (``io -> model -> network -> analysis -> viz``) forbids the
model from importing the views, and the views need the analyses. The methods here are therefore
thin entry points: each names its implementation as ``"module:function"`` in :data:`VIEWS` and
imports it when called, the way pandas' ``DataFrame.plot`` reaches its plotting back end. The model
module keeps no view code; every view stays a plain function of :mod:`cimkit.viz` that takes the
model first (``cimkit.viz.plot_city(model)`` is ``model.plot()``), documented there.
``tests/test_views.py`` checks that every entry of :data:`VIEWS` resolves to a public function of
:mod:`cimkit.viz` whose first parameter takes the model.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["VIEWS", "ViewMethods"]

#: method name -> "module:function" of its implementation (all in cimkit.viz)
VIEWS: dict[str, str] = {
    "plot": "cimkit.viz.maps:plot_city",
    "explore": "cimkit.viz.explore:explore_model",
    "view3d": "cimkit.viz.scene:plot_3d",
    "write_report": "cimkit.viz.model_report:write_report",
}


def resolve_view(method: str) -> Any:
    """Return the function implementing the view ``method`` (imported on first use).

    Examples
    --------
    >>> resolve_view("plot").__name__
    'plot_city'
    """
    module, _, function = VIEWS[method].partition(":")
    return getattr(importlib.import_module(module), function)


class ViewMethods:
    """Mixin of :class:`~cimkit.model.CityModel`: the methods that draw or report the model."""

    def plot(self, column: str | None = None, **kwargs: Any) -> Any:
        """Draw a static 2-D map: :func:`cimkit.viz.plot_city` (``model.plot(column)``).

        Keyword arguments go to :func:`~cimkit.viz.plot_city`; returns what it returns.
        """
        return resolve_view("plot")(self, column=column, **kwargs)

    def explore(self, layer: str = "buildings", column: str | None = None, **kwargs: Any) -> Any:
        """Open an interactive map in Jupyter: :func:`cimkit.viz.explore_model`.

        ``layer`` is the layer to colour, ``column`` its column; other keyword arguments go to
        :func:`~cimkit.viz.explore_model`. Needs the ``maps`` extra (``pip install cimkit[maps]``).
        """
        return resolve_view("explore")(self, layer=layer, column=column, **kwargs)

    def view3d(self, column: str | None = None, **kwargs: Any) -> Any:
        """Show the city in 3-D (terrain + buildings on one origin): :func:`cimkit.viz.view3d`.

        Keyword arguments go to :func:`~cimkit.viz.view3d`; returns the pyvista plotter.
        """
        return resolve_view("view3d")(self, column=column, **kwargs)

    def write_report(self, output: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Write the plain-language HTML report and ``summary.md``: :func:`cimkit.viz.write_report`.

        Keyword arguments (``audience``, ``allow``, ``title``) go to
        :func:`~cimkit.viz.model_report.write_report`; returns the paths written.
        """
        return resolve_view("write_report")(self, output, **kwargs)
