"""Static 2-D maps of a city model with matplotlib, readable at any extent.

Buildings are drawn as filled footprints when they are visible at the figure's scale (the median
footprint spans at least 1.5 pixels), and summarised in hexagons or zones when they are not. The
choice is made from the figure size, its dpi and the extent shown (``aggregate="auto"``); with an
interactive backend it is made again on every zoom. Underneath: a light-grey hillshade of the DEM,
the zones, streets (wider for higher road classes), the river; on top: points of interest by
category (Okabe-Ito colour + marker), a scale bar and a north arrow that stay true on zoom, a
legend. Colour maps are perceptually uniform and colour-blind safe (``cividis``). Every map has a
plain-language alt text in ``ax.figure.cimkit_alt_text``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from cimkit.errors import InputError
from cimkit.model import CityModel
from cimkit.viz import _maps_layers as layers
from cimkit.viz._maps_furniture import ScaleBar, compose_alt_text, draw_north_arrow

__all__ = ["plot_city"]

_ZONE_COLOURS = {"U": "#f2d7b6", "AUc": "#f7eab0", "AUs": "#efe6c8", "A": "#dcecc0", "N": "#bfe0c0"}
_VISIBLE_PX = 1.5  # a footprint is drawn when its typical side spans at least this many pixels
_HEX_ACROSS = 40  # hexagons across the visible width (rounded to a 1, 2, 5 x 10^k side)
_NO_VALUE = "#dddddd"
_ZERO = "#d9d9d9"
_PLAIN = "#6b6b6b"
_LABEL_PX = 60.0  # a zone is labelled when its square-root area spans this many pixels
_MAX_LABELS = 60
_MAX_POIS = 150  # more POIs in view than this are not drawn (markers would hide the map)
_EDGE_PX = 8.0  # footprints smaller than this are filled without an outline
_PARCEL_PX = 6.0  # parcels are outlined when the typical footprint spans this many pixels
_NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"}


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
    aggregate: Literal["auto", "none", "zones", "hex"] = "auto",
    statistic: Literal["count", "mean", "sum"] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    show_dem: bool = True,
    show_pois: bool = True,
    dpi: float | None = None,
) -> Any:
    """Plot a 2-D map of a city model that reads at any extent.

    Draws, bottom to top: a hillshade of the DEM, the zones (filled by type, labelled), parcels,
    the river, the streets, the buildings (filled footprints, or hexagons / zones summarising
    them), the points of interest, a scale bar, a north arrow and a legend. matplotlib is
    imported on first use, with the non-interactive ``Agg`` backend unless another one is
    already selected.

    Parameters
    ----------
    model
        The city model. ``zones`` are filled by zone type (``typezone``) and labelled
        (``libelle``), ``parcels`` drawn as outlines, a ``river`` layer in blue, ``pois`` by
        ``category``, ``model.dem`` as the hillshade.
    column
        A buildings column to colour by (e.g. ``"ead_eur"``); None, or a column the buildings
        do not have, draws plain grey buildings (and counts them when aggregated).
    ax
        A matplotlib ``Axes`` to draw on; by default a new figure of ``figsize`` and ``dpi``.
    cmap
        A matplotlib colour map name; the default ``cividis`` is colour-blind safe.
    title
        The map title; by default the model's name.
    legend_label
        The label of the colour bar (with the unit, e.g. ``"EAD (EUR/year)"``); by default
        ``column``. When aggregated, the statistic and the cell are added to it.
    show_networks
        Network kinds to draw. Keep sensitive networks (water, sewer, power) out of public maps.
    zero_as_none
        Draw buildings whose value is 0 in light grey (e.g. "no flood damage") so that the colour
        scale shows only the buildings concerned; aggregated, they are left out of the statistic.
    figsize
        Size of a new figure, in inches (width, height).
    aggregate
        ``"none"``: filled footprints; ``"hex"``: hexagons (about 40 across the map, their side
        the closest 1, 2 or 5 x 10^k metres); ``"zones"``: the model's zones; ``"auto"``: footprints when the median
        footprint spans at least 1.5 pixels at the figure's size, dpi and extent, else hexagons.
        With an interactive backend ``"auto"`` is evaluated again on every zoom; with ``Agg``
        it is fixed when drawn (save with the figure's own dpi).
    statistic
        What an aggregated cell shows: ``"count"`` of buildings (of buildings with a value when
        ``column`` is given), ``"mean"`` or ``"sum"`` of ``column``. By default the mean of
        ``column``, the count without one. Stated in the colour bar's label.
    bbox
        The extent to show ``(minx, miny, maxx, maxy)`` in the model CRS (a district); by
        default the extent of the buildings, parcels, zones and POIs.
    show_dem
        Draw ``model.dem`` as a light-grey hillshade under the map.
    show_pois
        Draw ``model.pois`` by category.
    dpi
        Dots per inch of a new figure (matplotlib's default when None); the footprint / aggregate
        choice depends on it.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. ``ax.figure.cimkit_alt_text`` (also ``ax.cimkit_alt_text``) holds a
        plain-language description of the map for the ``alt`` of an ``<img>``;
        ``ax.cimkit_map_mode`` says how the buildings were drawn (``"none"``, ``"hex"``,
        ``"zones"``).

    Raises
    ------
    InputError
        ``MAP001`` for ``aggregate="zones"`` on a model without zones; ``MAP002`` for an
        unknown ``aggregate`` or ``statistic``.

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
    >>> ax.get_title(), len(ax.figure.axes), ax.cimkit_map_mode  # the map and its colour bar
    ('two blocks', 2, 'none')
    >>> ax.figure.axes[1].get_ylabel()
    'height (m)'
    >>> print(ax.figure.cimkit_alt_text)  # doctest: +NORMALIZE_WHITESPACE
    Map of two blocks, north up, about 62 m wide and 22 m high (scale bar 10 m). 2 buildings are
    drawn as filled footprints, coloured by height (m), from 6 (dark blue) to 12 (yellow).
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    import os
    import sys

    import matplotlib

    # Agg only when nothing chose a backend yet (a script): never switch Jupyter's inline one away
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if aggregate not in ("auto", "none", "zones", "hex"):
        raise InputError(
            f"aggregate must be auto, none, zones or hex; {aggregate!r} was given",
            code="MAP002",
            hint="use aggregate='auto' (footprints when visible, hexagons when not)",
        )
    if statistic not in (None, "count", "mean", "sum"):
        raise InputError(
            f"statistic must be count, mean or sum; {statistic!r} was given",
            code="MAP002",
            hint="use statistic='count', 'mean' or 'sum'",
        )
    if aggregate == "zones" and (model.zones is None or not len(model.zones)):
        raise InputError(
            "aggregate='zones' needs a zones layer, and the model has none",
            layer="zones",
            code="MAP001",
            hint="add the PLU zones (model.add_layer('zones', ...)), or use aggregate='hex'",
        )
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=dpi)
    state = _CityMap(
        ax,
        model,
        column=column,
        cmap=cmap,
        legend_label=legend_label,
        zero_as_none=zero_as_none,
        aggregate=aggregate,
        statistic=statistic,
    )
    if show_dem and model.dem is not None:
        layers.draw_hillshade(ax, model.dem)
    state.shown.extend(["terrain hillshade"] if show_dem and model.dem is not None else [])
    _draw_zones(ax, model, state)
    if "river" in model:
        layers.draw_river(ax, model["river"])
        state.shown.append("the river")
    _draw_networks(ax, model, show_networks, state)
    _set_extent(ax, model, bbox)
    ax.apply_aspect()
    _label_zones(ax, model)
    if show_pois and model.pois is not None and len(model.pois):
        _draw_pois(ax, model.pois, state)
    ax.set_title(title or model.name, fontsize=15)
    state.title = title or model.name
    ax.set_axis_off()
    state.bar = ScaleBar(ax)
    draw_north_arrow(ax)
    state.draw()
    handles = [*state.handles, *_key_patches(state.keys)]
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=4,
            fontsize=9,
            frameon=False,
        )
    if matplotlib.get_backend().lower() not in _NON_INTERACTIVE and aggregate == "auto":
        ax.callbacks.connect("xlim_changed", lambda _ax: state.draw())
    return ax


class _CityMap:
    """What a map draws for its buildings, kept on the axes so that a zoom can redraw it."""

    def __init__(self, ax: Any, model: CityModel, **options: Any) -> None:
        self.ax, self.model = ax, model
        self.options = options
        self.artists: list[Any] = []
        self.handles: list[Any] = []
        self.shown: list[str] = []
        self.colourbar: Any = None
        self.bar: Any = None
        self.mode = ""
        self.title = ""
        self.busy = False
        self.keys: dict[str, dict[str, Any]] = {}  # legend entries of the grey classes drawn
        self.hex_side_m = 0.0
        self.cell_values: np.ndarray | None = None
        buildings = model.buildings
        self.buildings = buildings if buildings is not None and len(buildings) else None
        ax._cimkit_map = self

    def choose_mode(self) -> str:
        aggregate = self.options["aggregate"]
        if aggregate != "auto" or self.buildings is None:
            return "none" if aggregate == "auto" else str(aggregate)
        return "none" if self.footprint_px() >= _VISIBLE_PX else "hex"

    def footprint_px(self) -> float:
        """Return the typical footprint's side in pixels at the current extent."""
        if self.buildings is None:
            return 0.0
        return layers.typical_size_m(self.buildings.geometry) * _px_per_m(self.ax)

    def values(self) -> np.ndarray | None:
        column = self.options["column"]
        if self.buildings is None or column is None or column not in self.buildings.columns:
            return None
        series = self.buildings[column]
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            return None
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if self.options["zero_as_none"]:
            values = np.where(values == 0, np.nan, values)
        return values

    def draw(self) -> None:
        if self.busy:  # apply_aspect below may move the limits and call back here
            return
        self.busy = True
        try:
            self._draw()
        finally:
            self.busy = False

    def _draw(self) -> None:
        self.ax.apply_aspect()
        mode = self.choose_mode()
        for artist in self.artists:
            artist.remove()
        self.artists = []
        self.mode = mode
        mappable, label, what = None, None, "in grey"
        if self.buildings is not None:
            if mode == "none":
                mappable, label, what = _draw_footprints(self)
            else:
                mappable, label, what = _draw_aggregate(self, mode)
        if mappable is not None:
            fig = self.ax.figure
            if self.colourbar is None:
                self.colourbar = fig.colorbar(mappable, ax=self.ax, shrink=0.6, label=label)
            else:
                self.colourbar.update_normal(mappable)
                self.colourbar.set_label(label)
        self._alt_text(mappable, what)

    def _alt_text(self, mappable: Any, what: str) -> None:
        value_range = None
        if mappable is not None:
            shown = np.asarray(mappable.get_array(), dtype="float64")
            shown = shown[np.isfinite(shown)]
            value_range = (float(shown.min()), float(shown.max())) if len(shown) else None
        cmap = self.options["cmap"]
        text = compose_alt_text(
            title=self.title,
            extent=(*self.ax.get_xlim(), *self.ax.get_ylim()),
            n_buildings=0 if self.buildings is None else int(_visible(self.buildings, self.ax, 0.0).sum()),
            mode=self.mode,
            what=what,
            value_range=value_range,
            scale_m=self.bar.length_m if self.bar is not None else 0.0,
            shown=self.shown,
            colour_words=("dark blue", "yellow") if cmap in ("cividis", "viridis") else None,
            chosen_by_scale=self.options["aggregate"] == "auto",
        )
        self.ax.cimkit_alt_text = text
        self.ax.cimkit_map_mode = self.mode
        self.ax.figure.cimkit_alt_text = text


def _visible(layer: Any, ax: Any, margin: float = 0.1) -> np.ndarray:
    """Return a mask of the rows of ``layer`` meeting the visible extent grown by ``margin`` x its size."""
    x0, x1 = sorted(ax.get_xlim())
    y0, y1 = sorted(ax.get_ylim())
    pad = margin * max(x1 - x0, y1 - y0)
    mask = np.zeros(len(layer), dtype=bool)
    mask[layer.sindex.query(_box(x0 - pad, y0 - pad, x1 + pad, y1 + pad))] = True
    return mask


def _draw_footprints(state: _CityMap) -> tuple[Any, str | None, str]:
    import matplotlib
    from matplotlib.collections import PathCollection

    ax, buildings, options = state.ax, state.buildings, state.options
    assert buildings is not None
    size_px = state.footprint_px()
    parcels = state.model.parcels
    if parcels is not None and len(parcels) and size_px >= _PARCEL_PX:
        paths, _ = layers.footprint_paths(parcels.geometry.to_numpy()[_visible(parcels, ax)])
        state.artists.append(
            ax.add_collection(
                PathCollection(paths, facecolors="none", edgecolors="#9a9a9a", linewidths=0.3, zorder=2),
                autolim=False,
            )
        )
    visible = _visible(buildings, ax)
    paths, owner = layers.footprint_paths(buildings.geometry.to_numpy()[visible])
    # outlines only where footprints are large enough: below, they would hide the fill colours
    edge: dict[str, Any] = {
        "edgecolors": "black",
        "linewidths": 0.4 if size_px >= _EDGE_PX else 0.0,
        "zorder": 4,
    }
    all_values = state.values()
    if all_values is None:
        state.artists.append(
            ax.add_collection(PathCollection(paths, facecolors=_PLAIN, **edge), autolim=False)
        )
        return None, None, "in grey"
    column = options["column"]
    values = all_values[visible]
    raw = buildings[column].to_numpy(dtype="float64", na_value=np.nan)[visible]
    zero = (raw == 0) if options["zero_as_none"] else np.zeros(len(raw), dtype=bool)
    finite = np.isfinite(values)
    groups: list[tuple[np.ndarray, dict[str, Any], str]] = [
        (zero, {"facecolors": _ZERO}, f"{column} = 0"),
        (~finite & ~zero, {"facecolors": _NO_VALUE, "hatch": "///"}, "no value"),
    ]
    for mask, style, name in groups:
        chosen = [paths[i] for i in np.flatnonzero(mask[owner])]
        if chosen:
            state.artists.append(ax.add_collection(PathCollection(chosen, **style, **edge), autolim=False))
            state.keys[name] = style
    scale = all_values[np.isfinite(all_values)]
    norm = _norm(scale)
    drawn = np.flatnonzero(finite[owner])
    collection = PathCollection(
        [paths[i] for i in drawn], cmap=matplotlib.colormaps[options["cmap"]], norm=norm, **edge
    )
    collection.set_array(values[owner[drawn]])
    state.artists.append(ax.add_collection(collection, autolim=False))
    label = options["legend_label"] or column
    return collection, label, f"coloured by {label}"


def _draw_aggregate(state: _CityMap, mode: str) -> tuple[Any, str | None, str]:
    import matplotlib
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path

    ax, buildings, options = state.ax, state.buildings, state.options
    assert buildings is not None
    values = state.values()
    statistic = options["statistic"] or ("count" if values is None else "mean")
    points = buildings.geometry.representative_point()
    if mode == "hex":
        x0, x1 = ax.get_xlim()
        side = layers.round_length(abs(x1 - x0) / _HEX_ACROSS / 1.5)
        minx, miny, _, _ = buildings.total_bounds
        cells = layers.hex_cells(points.x.to_numpy(), points.y.to_numpy(), side, (minx, miny))
        unique, groups = np.unique(cells, axis=0, return_inverse=True)
        cell_values = layers.reduce_groups(groups.ravel(), values, statistic, len(unique))
        corners = layers.hex_polygons(layers.hex_centres(unique, side, (minx, miny)), side)
        shapes = [Path(c, closed=False) for c in corners]
        shape_values = cell_values
        where = f"per hexagon of {side:g} m side"
        state.hex_side_m = side
    else:
        zones = state.model.zones
        assert zones is not None
        zone = layers.zone_of_points(zones, points.to_numpy())
        inside = zone >= 0
        cell_values = layers.reduce_groups(
            zone[inside], None if values is None else values[inside], statistic, len(zones)
        )
        cell_values = np.where(np.bincount(zone[inside], minlength=len(zones)) > 0, cell_values, np.nan)
        shapes, owner = layers.footprint_paths(zones.geometry.to_numpy())
        shape_values = cell_values[owner]
        where = "per zone"
    state.cell_values = cell_values
    finite = np.isfinite(shape_values)
    edge: dict[str, Any] = {"edgecolors": "white", "linewidths": 0.5, "zorder": 4}
    empty = [shapes[i] for i in np.flatnonzero(~finite)]
    if empty:
        state.artists.append(
            ax.add_collection(PathCollection(empty, facecolors=_NO_VALUE, **edge), autolim=False)
        )
        name = options["legend_label"] or options["column"]
        none = f"no building with a {name}" if not options["zero_as_none"] else f"no building with {name} > 0"
        state.keys[none if values is not None else "no building"] = {"facecolors": _NO_VALUE}
    shown = shape_values[finite]
    norm = _norm(shown)
    collection = PathCollection(
        [shapes[i] for i in np.flatnonzero(finite)],
        cmap=matplotlib.colormaps[options["cmap"]],
        norm=norm,
        **edge,
    )
    collection.set_array(shown)
    state.artists.append(ax.add_collection(collection, autolim=False))
    name = options["legend_label"] or options["column"]
    label = {
        "count": f"buildings {where}" if values is None else f"buildings with a {name} {where}",
        "mean": f"mean {name} {where}",
        "sum": f"total {name} {where}",
    }[statistic]
    return collection, label, f"shown as the {'number of ' if statistic == 'count' else ''}{label}"


def _key_patches(keys: dict[str, dict[str, Any]]) -> list[Any]:
    from matplotlib.patches import Patch

    return [
        Patch(facecolor=style["facecolors"], edgecolor="#555555", hatch=style.get("hatch"), label=label)
        for label, style in keys.items()
    ]


def _norm(values: np.ndarray) -> Any:
    """Return the colour scale of ``values``: their range; one value alone at the top colour."""
    from matplotlib.colors import Normalize

    if not len(values):
        return Normalize(0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if low == high:  # e.g. every home scores 1: the top colour, a scale from 0 (or one below) up
        return Normalize(0.0 if low > 0 else low - 1.0, high)
    return Normalize(low, high)


def _box(x0: float, y0: float, x1: float, y1: float) -> Any:
    import shapely

    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _draw_zones(ax: Any, model: CityModel, state: _CityMap) -> None:
    from matplotlib.collections import PathCollection

    zones = model.zones
    if zones is None or not len(zones):
        return
    types = zones["typezone"] if "typezone" in zones.columns else ["U"] * len(zones)
    paths, owner = layers.footprint_paths(zones.geometry.to_numpy())
    colours = np.array([_ZONE_COLOURS.get(str(t), "#eeeeee") for t in types])[owner]
    ax.add_collection(
        PathCollection(
            paths, facecolors=list(colours), edgecolors="#8a7a5a", linewidths=0.6, alpha=0.7, zorder=1
        ),
        autolim=True,
    )
    state.shown.append(f"{len(zones):,} zoning areas")


def _px_per_m(ax: Any) -> float:
    x0, x1 = ax.get_xlim()
    return float(ax.get_window_extent().width / max(abs(x1 - x0), 1e-9))


def _label_zones(ax: Any, model: CityModel) -> None:
    """Label the zones (``libelle``) large enough on the map to hold a label (60 px a side)."""
    zones = model.zones
    if zones is None or not len(zones) or "libelle" not in zones.columns:
        return
    big = np.sqrt(zones.geometry.area.to_numpy()) * _px_per_m(ax) >= _LABEL_PX
    big &= _visible(zones, ax)
    if big.sum() > _MAX_LABELS:
        return
    for label, point in zip(zones["libelle"][big], zones.geometry[big].representative_point()):
        ax.annotate(
            str(label),
            (point.x, point.y),
            ha="center",
            fontsize=11,
            color="#4d3d1d",
            weight="bold",
            zorder=7,
            annotation_clip=True,
        )


def _draw_pois(ax: Any, pois: Any, state: _CityMap) -> None:
    """Draw the POIs in view by category, unless there are too many to read at this scale."""
    shown = pois[_visible(pois, ax)]
    if len(shown) > _MAX_POIS:
        state.shown.append(f"no points of interest at this scale ({len(shown):,} in view; zoom in)")
        return
    handles = layers.draw_pois(ax, shown)
    state.handles.extend(handle for _, handle in handles)
    if handles:
        names = ", ".join(n for n, _ in handles)
        state.shown.append(f"{len(shown):,} points of interest ({names})")


def _draw_networks(ax: Any, model: CityModel, kinds: tuple[str, ...], state: _CityMap) -> None:
    from matplotlib.lines import Line2D

    for kind in kinds:
        if kind not in model.networks:
            continue
        edges = model.network(kind).edges
        if kind == "road":
            layers.draw_streets(ax, edges)
            state.handles.append(Line2D([], [], color="#4d4d4d", linewidth=2.0, label="streets"))
            state.shown.append("streets (wider for main roads)")
        else:
            edges.plot(ax=ax, color="#1f78b4", linewidth=0.8, zorder=3)
            state.shown.append(f"the {kind} network")


def _set_extent(ax: Any, model: CityModel, bbox: tuple[float, float, float, float] | None) -> None:
    if bbox is None:
        bounds = [
            layer.total_bounds
            for layer in (model.buildings, model.parcels, model.zones, model.pois)
            if layer is not None and len(layer)
        ]
        if not bounds:
            ax.set_aspect("equal", adjustable="box")
            return
        stacked = np.vstack(bounds)
        minx, miny = stacked[:, 0].min(), stacked[:, 1].min()
        maxx, maxy = stacked[:, 2].max(), stacked[:, 3].max()
        pad = 0.02 * max(maxx - minx, maxy - miny, 1.0)
        bbox = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    ax.set_xlim(bbox[0], bbox[2])
    ax.set_ylim(bbox[1], bbox[3])
    ax.set_aspect("equal", adjustable="box")
