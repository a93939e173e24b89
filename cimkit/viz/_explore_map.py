"""The map object and its assembly (helper of :mod:`cimkit.viz.explore`, which exports :class:`ExploreMap`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cimkit.errors import CimkitError
from cimkit.viz import _explore_build as build
from cimkit.viz._explore_style import Legend, colour_categories, colour_continuous, hex_to_rgba, unit_of

_NOT_FLOODED = "#f2f2f2"


@dataclass
class ExploreMap:
    """An interactive map: the deck.gl map, its legend and its layer toggles, shown as one widget.

    Displayed in Jupyter when it is the last value of a cell. Built by the ``explore_*`` functions.

    Attributes
    ----------
    widget
        The ipywidgets box shown in a notebook (the map, then a panel with legend and toggles).
    deck
        The ``lonboard.Map``.
    layers
        Layer name -> its lonboard layer, bottom first; the coloured layer is the last.
    legend
        The :class:`Legend` of the coloured layer (its caveats included).
    toggles
        Layer name -> the ``ipywidgets.Checkbox`` switching it on and off.
    title
        The map's title.
    caveats
        What the values cannot know (the result's caveats, the quality warnings of the layer).

    Examples
    --------
    >>> import warnings
    >>> from cimkit.datasets import load_sample_city
    >>> from cimkit.viz import explore_model
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     view = explore_model(load_sample_city(with_ifc=False), column="height_m")
    >>> list(view.layers)
    ['zones', 'parcels', 'network_road', 'river', 'pois', 'buildings']
    >>> view.legend.kind, view.legend.unit
    ('ramp', 'm')
    """

    widget: Any
    deck: Any
    layers: dict[str, Any]
    legend: Legend
    toggles: dict[str, Any]
    title: str
    caveats: tuple[str, ...] = field(default=())

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str | Path:
        """Write the map as one standalone HTML page that works offline; return its path.

        The page embeds the data (Arrow IPC), lonboard's JavaScript, the legend and the layer
        toggles: it opens from disk, with no server and no request to the network. Without
        ``path``, return the HTML text.

        Examples
        --------
        >>> import tempfile, warnings
        >>> from pathlib import Path
        >>> from cimkit.datasets import load_sample_city
        >>> from cimkit.viz import explore_model
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     view = explore_model(load_sample_city(with_ifc=False), column="height_m")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     page = view.to_html(Path(tmp) / "map.html")
        ...     text = page.read_text(encoding="utf-8")
        >>> "cimkit-state" in text and "https://cdn" not in text.split("cimkit-esm")[0]
        True
        """
        from cimkit.viz import _explore_html

        rows = [
            (layer.model_id, build.label_of(name), bool(layer.visible)) for name, layer in self.layers.items()
        ]
        text = _explore_html.render_page(
            self.deck, title=self.title, legend_html=self.legend.to_html(), toggles=rows[::-1]
        )
        if path is None:
            return text
        _explore_html.write_page(Path(path), text)
        return Path(path)


def assemble(
    model: Any,
    frame: Any,
    *,
    name: str,
    colours: Any,
    legend: Legend,
    layers: Sequence[str] | None,
    allow: Mapping[str, str] | None,
    basemap: bool,
    title: str,
    extra: Mapping[str, Any] | None = None,
) -> ExploreMap:
    """Draw the overlays, then ``frame`` (the coloured layer) on top; add legend and toggles."""
    from cimkit.viz import _explore_deck as deck

    deck.import_lonboard()
    import ipywidgets

    names = build.resolve_layers(model, layers, extra=list(extra or {}))
    names = [n for n in names if n != name]
    allowed = build.check_public(model, names, allow)
    drawn: dict[str, Any] = {}
    for overlay in names:
        table = (extra or {}).get(overlay)
        table = build.overlay_frame(model, overlay) if table is None else table
        if table.empty:
            continue
        kind = build.geometry_kind(table)
        tip = deck.tooltip_frame(table, [c for c in table.columns if c != table.geometry.name])
        drawn[overlay] = deck.build_layer(kind, tip, **build.style_for(overlay, kind))
    kind = build.geometry_kind(frame)
    tip = deck.tooltip_frame(frame, [c for c in frame.columns if c != frame.geometry.name])
    style: dict[str, Any] = {"pickable": True, "auto_highlight": True}
    if kind == "polygon":
        # outlines help at street scale; at city scale (thousands of buildings) they hide the colours
        style |= {
            "get_line_color": [60, 60, 60, 255],
            "stroked": len(frame) <= 5000,
            "line_width_min_pixels": 0.5,
        }
    drawn[name] = deck.build_layer(kind, tip, colours=colours, **style)
    the_map = deck.build_map(list(drawn.values()), basemap=basemap)
    notes = [f"{build.label_of(n)} shown by allowance: {reason}" for n, reason in allowed.items()]
    legend = Legend(**{**legend.__dict__, "caveats": (*legend.caveats, *notes)})
    toggles = {}
    for overlay, layer in drawn.items():
        box = ipywidgets.Checkbox(value=True, description=build.label_of(overlay), indent=False)
        ipywidgets.link((box, "value"), (layer, "visible"))
        toggles[overlay] = box
    panel = ipywidgets.VBox(
        [ipywidgets.HTML(f"<h3>{title}</h3>" + legend.to_html()), *reversed(list(toggles.values()))],
        layout=ipywidgets.Layout(width="18rem"),
    )
    widget = ipywidgets.HBox([the_map, panel], layout=ipywidgets.Layout(width="100%"))
    the_map.layout = ipywidgets.Layout(flex="1")
    return ExploreMap(widget, the_map, drawn, legend, toggles, title, legend.caveats)


def colour_values(
    values: pd.Series, *, title: str, column: str, cmap: str, caveats: tuple[str, ...]
) -> tuple[Any, Legend]:
    """Colours and legend of ``values``: a ramp for numbers, categories otherwise."""
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    if numeric:
        rgba, low, high = colour_continuous(values, cmap=cmap)
        extras = (("no value", "#8c8c8c"),) if values.isna().any() else ()
        return rgba, Legend(title, "ramp", unit_of(column), cmap, low, high, extras, caveats)
    rgba, entries = colour_categories(values)
    return rgba, Legend(title, "categories", entries=entries, caveats=caveats)


def check_column(column: str, table: pd.DataFrame, what: str) -> None:
    if column not in table.columns:
        raise CimkitError(
            f"the column {column!r} is not in {what}",
            layer=what,
            code="XPL004",
            hint=f"use one of: {', '.join(map(str, table.columns[:30]))}",
        )


def explore_result(
    model: Any,
    table: pd.DataFrame,
    *,
    column: str,
    tooltip: Sequence[str],
    caveat: pd.Series,
    caveats: tuple[str, ...],
    title: str,
    cmap: str,
    layers: Sequence[str] | None,
    allow: Mapping[str, str] | None,
    basemap: bool,
    palette: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    zero_label: str | None = None,
) -> ExploreMap:
    """Draw the buildings coloured by ``table[column]`` (an analysis result by building id)."""
    check_column(column, table, "the result's buildings table")
    table = table.assign(caveat=caveat.reindex(table.index).fillna(""))
    columns = list(dict.fromkeys([column, *(c for c in tooltip if c in table.columns), "caveat"]))
    frame = build.frame_for_buildings(model.layers["buildings"], table, columns)
    values = frame[column]
    if palette is not None:
        colours, entries = colour_categories(values, dict(palette))
        legend = Legend(column, "categories", entries=entries, caveats=caveats)
    else:
        colours, legend = colour_values(values, title=column, column=column, cmap=cmap, caveats=caveats)
    if zero_label is not None and legend.kind == "ramp":
        zero = pd.to_numeric(values, errors="coerce").eq(0).to_numpy()
        colours[zero] = hex_to_rgba(_NOT_FLOODED)
        low = 0.0 if zero.any() else legend.vmin
        legend = Legend(
            **{**legend.__dict__, "vmin": low, "entries": ((zero_label, _NOT_FLOODED), *legend.entries)}
        )
    return assemble(
        model,
        frame,
        name="buildings",
        colours=colours,
        legend=legend,
        layers=layers,
        allow=allow,
        basemap=basemap,
        title=title,
        extra=extra,
    )
