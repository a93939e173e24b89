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
    """Draw zoning, parcels, networks, the river and buildings (coloured by ``column``).

    Parameters
    ----------
    column
        A buildings column to colour by (e.g. ``"ead_eur"``); None draws plain buildings.
    show_networks
        Network kinds to draw. Keep sensitive networks (water, sewer, power) out of public maps.
    zero_as_none
        Draw buildings whose value is 0 in light grey (e.g. "no flood damage") so that the colour
        scale shows only the buildings concerned.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    zoning = model.zoning
    if zoning is not None and len(zoning):
        colours = zoning.get("typezone", "U").map(lambda t: _ZONE_COLOURS.get(str(t), "#eeeeee"))
        zoning.plot(ax=ax, color=colours, edgecolor="#8a7a5a", linewidth=0.6)
        label_col = "libelle" if "libelle" in zoning.columns else None
        if label_col:
            for label, point in zip(zoning[label_col], zoning.representative_point()):
                ax.annotate(
                    str(label), (point.x, point.y), ha="center", fontsize=11, color="#4d3d1d", weight="bold"
                )
    if model.parcels is not None:
        model.parcels.boundary.plot(ax=ax, color="#9a9a9a", linewidth=0.3)
    if "river" in model:
        model["river"].plot(ax=ax, color="#2b7bb9", linewidth=3)
    for kind in show_networks:
        if kind in model.networks:
            width = 1.6 if kind == "road" else 0.8
            model.network(kind).edges.plot(
                ax=ax, color="#444444" if kind == "road" else "#1f78b4", linewidth=width
            )
    buildings = model.buildings
    if buildings is not None and len(buildings):
        if column is not None and column in buildings.columns:
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
        else:
            buildings.plot(ax=ax, color="#6b6b6b", edgecolor="black", linewidth=0.4)
    _scale_bar(ax)
    _north_arrow(ax)
    ax.set_title(title or model.name, fontsize=15)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax


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
