"""Interactive maps in Jupyter: a model's layers and each analysis result, offline, fast at city scale.

The maps are drawn by `lonboard <https://developmentseed.org/lonboard/>`_ (deck.gl on the GPU,
layers sent to the browser as Arrow tables, no per-feature Python): a map of 100,000 buildings is
built in seconds. The JavaScript ships inside the lonboard wheel and cimkit sends Arrow IPC
instead of Parquet, so nothing is fetched from the internet: the map works in a notebook without
network and in the standalone page :meth:`ExploreMap.to_html` writes. A tile basemap is off by
default (``basemap=True`` adds one when online).

Each map has one coloured layer (the buildings, unless ``layer=`` says otherwise), coloured with a
colour-blind-safe palette (``cividis`` for quantities, Okabe-Ito for categories), a legend (a
ramp with its unit, or categories) and its caveats; a tooltip shows the hovered building's id,
name, values and its own caveats (an estimated floor area, a default first-floor height, an
upper-bound carbon estimate); one checkbox per layer switches it on and off. Water, sewer and
power networks are never drawn unless named in ``layers`` *and* allowed with a reason
(``allow={"network_water": "why"}``).

Needs the ``maps`` extra: ``pip install cimkit[maps]``.

- :func:`explore_model`: any layer of a model, coloured by any column (``model.explore()``);
- :func:`explore_flood`: flood depth per building and the flooded area of one return period;
- :func:`explore_accessibility`: the 15-minute score per building;
- :func:`explore_carbon`: embodied carbon per building;
- :func:`explore_zoning`: PLU compliance per building.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import CimkitError
from cimkit.viz import _explore_build as build
from cimkit.viz._explore_map import ExploreMap, assemble, check_column, colour_values, explore_result
from cimkit.viz._explore_style import (
    Legend,
    first_clause,
    hex_to_rgba,
    join_caveats,
    layer_caveats,
    row_caveats,
)

__all__ = [
    "ExploreMap",
    "Legend",
    "explore_accessibility",
    "explore_carbon",
    "explore_flood",
    "explore_model",
    "explore_zoning",
]

_PLAIN = "#0072B2"  # a layer drawn without a column (Okabe-Ito blue)


def explore_model(
    model: Any,
    *,
    layer: str = "buildings",
    column: str | None = None,
    layers: Sequence[str] | None = None,
    cmap: str = "cividis",
    basemap: bool = False,
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
    quality: pd.DataFrame | None = None,
) -> ExploreMap:
    """Show a layer of a model on an interactive map, coloured by one of its columns.

    Parameters
    ----------
    model
        The city model.
    layer
        The layer coloured and drawn on top (default the buildings).
    column
        Its column to colour by: a ramp (``cmap``) for numbers, Okabe-Ito categories otherwise;
        None draws the layer in one colour.
    layers
        The other layers drawn under it, bottom first, each with a toggle (default: zones,
        parcels, streets, river and points of interest, those the model has). Names are model
        layers or networks (``"network_road"`` or ``"road"``).
    cmap
        A matplotlib colormap for numbers (colour-blind safe by default).
    basemap
        Add a tile basemap (CARTO Positron; needs internet). Off by default.
    allow
        Layer -> reason to draw a layer above public (the water, sewer and power networks);
        without it such a layer is refused (XPL005).
    title
        The map's title (default: the model's name and the column).
    quality
        ``model.quality()`` when the caller has it; its warnings about the layer become caveats.

    Returns
    -------
    ExploreMap
        Shown in Jupyter as the last value of a cell; ``.to_html(path)`` writes an offline page.

    Examples
    --------
    >>> import warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     view = explore_model(model, column="use", layers=["parcels"])
    >>> list(view.layers), view.legend.kind
    (['parcels', 'buildings'], 'categories')
    >>> view.legend.entries[0]
    ('residential', '#E69F00')
    """
    name = build.canonical(model, layer)
    if name == "flooded":
        raise CimkitError(
            "'flooded' is drawn by explore_flood", layer=name, code="XPL003", hint="use explore_flood"
        )
    source = build.overlay_frame(model, name)
    if name == "buildings":
        buildings = model.layers["buildings"]
        columns = [column] if column else []
        if column:
            check_column(column, buildings, "the buildings")
        table = buildings.assign(caveat=row_caveats(buildings))
        frame = build.frame_for_buildings(buildings, table, [*columns, "caveat"])
    else:
        frame = source
        if column:
            table = model.networks[name[8:]].edges if name.startswith("network_") else model.layers[name]
            check_column(column, table, name)
            frame[column] = table.loc[~(table.geometry.isna() | table.geometry.is_empty), column].to_numpy()
    quality = model.quality() if quality is None and name in model.layers else quality
    caveats = layer_caveats(quality, name)
    title = title or f"{model.name}: {build.label_of(name)}" + (f" by {column}" if column else "")
    if column:
        colours, legend = colour_values(
            frame[column], title=column, column=column, cmap=cmap, caveats=caveats
        )
    else:
        legend = Legend(
            build.label_of(name), "categories", entries=((build.label_of(name), _PLAIN),), caveats=caveats
        )
        colours = np.tile(np.array(hex_to_rgba(_PLAIN), dtype=np.uint8), (len(frame), 1))
    return assemble(
        model,
        frame,
        name=name,
        colours=colours,
        legend=legend,
        layers=layers,
        allow=allow,
        basemap=basemap,
        title=title,
    )


def explore_flood(
    model: Any,
    flood: Any,
    *,
    return_period: float = 100,
    column: str | None = None,
    layers: Sequence[str] | None = None,
    cmap: str = "cividis",
    basemap: bool = False,
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
) -> ExploreMap:
    """Show a flood result: the depth at each building and the flooded area of one return period.

    The buildings are coloured by ``depth_m_rp<T>`` (the deepest water at the building, m; dry
    buildings drawn pale as "not flooded"); the flooded area is the cells of the depth raster
    with water, drawn as one polygon under the buildings (toggle "flooded area"). The tooltip
    shows the depth, the damage of that flood, the expected annual damage, the first-floor height
    and the caveats: the flood method's (from the result) and a default first-floor height.

    Parameters
    ----------
    model
        The city model the flood was assessed on.
    flood
        The :class:`~cimkit.analysis.flood.FloodResult` of ``flood.assess(model, ...)``.
    return_period
        The return period shown, in years (one of ``flood.depths``).
    column
        Another column of ``flood.buildings`` to colour by (default ``depth_m_rp<T>``).
    layers, cmap, basemap, allow, title
        As for :func:`explore_model`; the default layers add ``"flooded"`` at the bottom.

    Returns
    -------
    ExploreMap

    Examples
    --------
    >>> import warnings
    >>> from cimkit.analysis import flood
    >>> from cimkit.datasets import load_sample_city, load_sample_flood_scenarios
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
    ...     view = explore_flood(model, risk, return_period=100, layers=["flooded"])
    >>> list(view.layers), view.legend.unit, view.legend.entries[0][0]
    (['flooded', 'buildings'], 'm', 'not flooded')
    """
    periods = {float(p): p for p in flood.depths}
    if float(return_period) not in periods:
        raise CimkitError(
            f"the flood result has no {return_period:g}-year flood (it has {', '.join(f'{p:g}' for p in periods)})",
            code="XPL006",
            hint="pass return_period= one of those",
        )
    suffix = f"rp{float(return_period):g}"
    column = column or f"depth_m_{suffix}"
    table = flood.buildings
    method = first_clause(flood.caveats[0]) if flood.caveats else "flood depths"
    note = pd.Series(method, index=table.index, dtype=object)
    if "first_floor_source" in table:
        default = table["first_floor_source"].eq("default")
        note = join_caveats(
            note, pd.Series("", index=table.index).where(~default, "first-floor height assumed 0 m")
        )
    area = build.flooded_area(flood.depths[periods[float(return_period)]], float(return_period), method)
    tooltip = [f"damage_eur_{suffix}", "ead_eur", "first_floor_height_m"]
    return explore_result(
        model,
        table,
        column=column,
        tooltip=tooltip,
        caveat=note,
        caveats=tuple(flood.caveats),
        title=title or f"{model.name}: flood depth, {float(return_period):g}-year flood",
        cmap=cmap,
        layers=layers,
        allow=allow,
        basemap=basemap,
        extra={"flooded": area},
        zero_label="not flooded",
    )


def explore_accessibility(
    model: Any,
    access: Any,
    *,
    column: str = "score",
    layers: Sequence[str] | None = None,
    cmap: str = "cividis",
    basemap: bool = False,
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
) -> ExploreMap:
    """Show an accessibility result: the 15-minute score of each building (or another column).

    The tooltip shows the score, the number of service groups reached, the walk to the street
    and whether the building is a home, with the result's first caveat (how times are computed).

    Parameters
    ----------
    model
        The city model.
    access
        The :class:`~cimkit.analysis.accessibility.AccessibilityResult` of
        ``accessibility.assess(model)``.
    column
        The column of ``access.buildings`` to colour by (default ``score``; e.g. ``school_min``).
    layers, cmap, basemap, allow, title
        As for :func:`explore_model`.

    Returns
    -------
    ExploreMap

    Examples
    --------
    >>> import warnings
    >>> from cimkit.analysis import accessibility
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     view = explore_accessibility(model, accessibility.assess(model), column="school_min")
    >>> view.legend.kind, view.legend.unit
    ('ramp', 'min')
    """
    table = access.buildings
    note = pd.Series(
        first_clause(access.caveats[0]) if access.caveats else "", index=table.index, dtype=object
    )
    return explore_result(
        model,
        table,
        column=column,
        tooltip=["score", "groups_reached", "access_distance_m", "home"],
        caveat=note,
        caveats=tuple(access.caveats),
        title=title or f"{model.name}: 15-minute score" + ("" if column == "score" else f" ({column})"),
        cmap=cmap,
        layers=layers,
        allow=allow,
        basemap=basemap,
    )


def explore_carbon(
    model: Any,
    carbon: Any,
    *,
    column: str = "embodied_kgco2e",
    layers: Sequence[str] | None = None,
    cmap: str = "cividis",
    basemap: bool = False,
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
) -> ExploreMap:
    """Show a carbon result: the embodied carbon of each building (or another column).

    The tooltip says where each value comes from (IFC quantities or the floor-area upper bound),
    the IFC model's completeness, and per building: "upper bound" for a footprint estimate,
    "lower bound" with the reason for an incomplete IFC model.

    Parameters
    ----------
    model
        The city model.
    carbon
        The :class:`~cimkit.analysis.carbon.CarbonResult` of ``carbon.assess(model)``.
    column
        The column of ``carbon.buildings`` to colour by (default ``embodied_kgco2e``).
    layers, cmap, basemap, allow, title
        As for :func:`explore_model`.

    Returns
    -------
    ExploreMap

    Examples
    --------
    >>> import warnings
    >>> from cimkit.analysis import carbon
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     view = explore_carbon(model, carbon.assess(model), layers=[])
    >>> view.legend.unit, list(view.layers)
    ('kg CO2e', ['buildings'])
    """
    table = carbon.buildings
    index = table.index
    upper = table.get("embodied_estimated", pd.Series(False, index=index)).astype("boolean").fillna(False)
    note = pd.Series("", index=index, dtype=object).where(
        ~upper, "upper bound: floor area x RE2020 cap, not IFC quantities"
    )
    if "completeness" in table:
        partial = table["completeness"].isin(["partial", "shell"]) & ~upper
        reason = table.get("completeness_reason", pd.Series("", index=index)).astype(object)
        reason = reason.where(reason.notna(), "").astype(str)
        note = join_caveats(note, ("lower bound: IFC model " + reason).where(partial, ""))
    return explore_result(
        model,
        table,
        column=column,
        tooltip=[
            "embodied_kgco2e",
            "embodied_kgco2e_per_m2",
            "embodied_source",
            "completeness",
            "re2020_verdict",
        ],
        caveat=note,
        caveats=tuple(carbon.caveats),
        title=title or f"{model.name}: {column}",
        cmap=cmap,
        layers=layers,
        allow=allow,
        basemap=basemap,
    )


#: zoning compliance -> Okabe-Ito colour (bluish green, vermillion, orange) or grey
COMPLIANCE_COLOURS = {
    "complies": "#009E73",
    "fails": "#D55E00",
    "check manually": "#E69F00",
    "not checked": "#8c8c8c",
}


def explore_zoning(
    model: Any,
    zoning: Any,
    *,
    layers: Sequence[str] | None = None,
    basemap: bool = False,
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
) -> ExploreMap:
    """Show a zoning result: whether each building complies with its PLU zone's rules.

    Categories (column ``compliance``): ``complies`` (no check that could be made failed),
    ``fails`` (the failed rules in the tooltip), ``check manually`` (the result asks for a manual
    check) and ``not checked``. The tooltip adds the zone, the failed rules and the note.

    Parameters
    ----------
    model
        The city model.
    zoning
        The :class:`~cimkit.analysis.zoning.ZoningResult` of ``zoning.assess(model)``.
    layers, basemap, allow, title
        As for :func:`explore_model`.

    Returns
    -------
    ExploreMap

    Examples
    --------
    >>> import warnings
    >>> from cimkit.analysis import zoning
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     view = explore_zoning(model, zoning.assess(model))
    >>> [label for label, _ in view.legend.entries][:2]
    ['complies', 'fails']
    """
    table = zoning.buildings.copy()
    compliant = table["compliant"].astype("boolean")
    label = pd.Series("not checked", index=table.index, dtype=object)
    label[compliant.eq(True).fillna(False).to_numpy(dtype=bool)] = "complies"
    label[compliant.eq(False).fillna(False).to_numpy(dtype=bool)] = "fails"
    if "check_manually" in table:
        label[table["check_manually"].astype("boolean").fillna(False).to_numpy(dtype=bool)] = "check manually"
    table["compliance"] = label
    if "failed_rules" in table:
        table["failed_rules"] = table["failed_rules"].map(
            lambda rules: (
                ", ".join(map(str, rules))
                if isinstance(rules, (list, tuple))
                else ("" if rules is None else str(rules))
            )
        )
    note = table.get("zoning_note", pd.Series("", index=table.index)).astype(object)
    note = note.where(note.notna(), "").astype(str)
    return explore_result(
        model,
        table,
        column="compliance",
        tooltip=["zone_id", "failed_rules"],
        caveat=note,
        caveats=tuple(zoning.caveats),
        title=title or f"{model.name}: PLU compliance",
        cmap="cividis",
        layers=layers,
        allow=allow,
        basemap=basemap,
        palette=COMPLIANCE_COLOURS,
    )
