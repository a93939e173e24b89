"""Static 2-D maps of a city model with matplotlib.

Colour maps are perceptually uniform and colour-blind safe (``cividis``, ``viridis``); every map
gets a scale bar, a north arrow and a legend so that a printed copy still reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimkit.model import CityModel

__all__ = ["plot_city"]

_ZONE_COLOURS = {"U": "#f2d7b6", "AUc": "#f7eab0", "AUs": "#efe6c8", "A": "#dcecc0", "N": "#bfe0c0"}


def plot_city(
    model: CityModel,
    *,
    column: str | None = None,
    ax: Any = None,
    cmap: str = "cividis",
    title: str | None = None,
    legend_label: str | None = None,
    show_networks: tuple[str, ...] = ("road",),
    zero_as_none: bool = False,
    figsize: tuple[float, float] = (9.0, 9.0),
) -> Any:
    """Plot a 2-D map of a city model: zones, parcels, networks, the river and buildings.

    Buildings are coloured by ``column`` when given. Every map gets a scale bar (metres) and a
    north arrow so that a printed copy still reads. matplotlib is imported on first use, with
    the non-interactive ``Agg`` backend unless another one is already selected.

    Parameters
    ----------
    model
        The city model. Its ``zones`` layer is filled by zone type (``typezone``) and labelled
        (``libelle``), ``parcels`` drawn as outlines, a ``river`` layer in blue.
    column
        A buildings column to colour by (e.g. ``"ead_eur"``); None, or a column the buildings
        do not have, draws plain grey buildings.
    ax
        A matplotlib ``Axes`` to draw on; by default a new figure of ``figsize``.
    cmap
        A matplotlib colour map name; the default ``cividis`` is colour-blind safe.
    title
        The map title; by default the model's name.
    legend_label
        The label of the colour bar (with the unit, e.g. ``"EAD (EUR/year)"``); by default
        ``column``.
    show_networks
        Network kinds to draw. Keep sensitive networks (water, sewer, power) out of public maps.
    zero_as_none
        Draw buildings whose value is 0 in light grey (e.g. "no flood damage") so that the colour
        scale shows only the buildings concerned.
    figsize
        Size of a new figure, in inches (width, height).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from cimkit.model import CityModel
    >>> model = CityModel(2154, name="two blocks")  # Lambert-93 metres
    >>> buildings = gpd.GeoDataFrame(
    ...     {"height_m": [6.0, 12.0]},
    ...     geometry=[box(651000, 6847000, 651010, 6847008), box(651040, 6847000, 651060, 6847020)],
    ...     index=["A", "B"],
    ...     crs=2154,
    ... )
    >>> _ = model.add_layer("buildings", buildings)
    >>> ax = plot_city(model, column="height_m", legend_label="height (m)")
    >>> ax.get_title(), len(ax.figure.axes)  # the map and its colour bar
    ('two blocks', 2)
    >>> ax.figure.axes[1].get_ylabel()
    'height (m)'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    _draw_zones(ax, model)
    if model.parcels is not None:
        model.parcels.boundary.plot(ax=ax, color="#9a9a9a", linewidth=0.3)
    if "river" in model:
        model["river"].plot(ax=ax, color="#2b7bb9", linewidth=3)
    for kind in show_networks:
        if kind in model.networks:
            road = kind == "road"
            model.network(kind).edges.plot(
                ax=ax, color="#444444" if road else "#1f78b4", linewidth=1.6 if road else 0.8
            )
    _draw_buildings(ax, model, column=column, cmap=cmap, legend_label=legend_label, zero_as_none=zero_as_none)
    _scale_bar(ax)
    _north_arrow(ax)
    ax.set_title(title or model.name, fontsize=15)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax


def _draw_zones(ax: Any, model: CityModel) -> None:
    zones = model.zones
    if zones is None or not len(zones):
        return
    types = zones["typezone"] if "typezone" in zones.columns else ["U"] * len(zones)
    zones.plot(
        ax=ax,
        color=[_ZONE_COLOURS.get(str(t), "#eeeeee") for t in types],
        edgecolor="#8a7a5a",
        linewidth=0.6,
    )
    if "libelle" in zones.columns:
        for label, point in zip(zones["libelle"], zones.representative_point()):
            ax.annotate(
                str(label), (point.x, point.y), ha="center", fontsize=11, color="#4d3d1d", weight="bold"
            )


def _draw_buildings(
    ax: Any, model: CityModel, *, column: str | None, cmap: str, legend_label: str | None, zero_as_none: bool
) -> None:
    buildings = model.buildings
    if buildings is None or not len(buildings):
        return
    if column is None or column not in buildings.columns:
        buildings.plot(ax=ax, color="#6b6b6b", edgecolor="black", linewidth=0.4)
        return
    if zero_as_none:
        zero = buildings[column].fillna(0) == 0
        buildings.loc[zero].plot(ax=ax, color="#d9d9d9", edgecolor="#555555", linewidth=0.4)
        buildings = buildings.loc[~zero]
    buildings.plot(
        ax=ax,
        column=column,
        cmap=cmap,
        edgecolor="black",
        linewidth=0.4,
        legend=True,
        legend_kwds={"label": legend_label or column, "shrink": 0.6},
        missing_kwds={"color": "#dddddd", "edgecolor": "black", "hatch": "///", "label": "no value"},
    )


def _scale_bar(ax: Any) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    span = x1 - x0
    length = 10 ** np.floor(np.log10(span / 4))
    for factor in (5, 2, 1):
        if factor * length <= span / 4:
            length *= factor
            break
    bx, by = x0 + span * 0.05, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=4, solid_capstyle="butt")
    ax.annotate(f"{length:g} m", (bx + length / 2, by + (y1 - y0) * 0.012), ha="center", fontsize=11)


def _north_arrow(ax: Any) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        fontsize=14,
        weight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2},
    )
