"""Maps of a PLU what-if scenario: capacity gained, new homes at flood risk, access of new homes.

Each map colours the parcels by one value of a
:class:`~cimkit.analysis.scenario.ScenarioResult` over the plain city map of
:func:`~cimkit.viz.maps.plot_city`, with colour-blind-safe colour maps (``viridis``,
``cividis``), and gives a text alternative for the report (:data:`SCENARIO_MAPS`).

Examples
--------
>>> sorted(SCENARIO_MAPS)
['access', 'capacity', 'flood']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from cimkit.errors import ValidationError

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["SCENARIO_MAPS", "plot_scenario"]

#: kind -> (title, colour bar label, colour map, text alternative)
SCENARIO_MAPS: dict[str, tuple[str, str, str, str]] = {
    "capacity": (
        "Floor area the rule change adds",
        "capacity gained (m² floor area)",
        "viridis",
        "Parcels coloured by the floor area the scenario's rules add to their buildable capacity; "
        "uncoloured parcels gain nothing.",
    ),
    "flood": (
        "New homes where the water reaches",
        "new dwellings on flooded parcels",
        "cividis",
        "Parcels coloured by the number of new dwellings the scenario puts on land that floods at the "
        "rarest return period computed; uncoloured parcels stay dry or get no new dwellings.",
    ),
    "access": (
        "Walking access of the new homes",
        "15-minute score of the parcel",
        "viridis",
        "Parcels with new homes coloured by the share of service groups reachable on foot within "
        "15 minutes (1: all of them).",
    ),
}


def _values(result: Any, kind: str) -> Any:
    """Return the parcel values mapped for ``kind`` (a Series on parcel ids, NaN/0 where nothing)."""
    import pandas as pd

    if kind == "capacity":
        return result.parcels["gained_gfa_m2"].where(lambda s: s > 0)
    impact = result.impacts.get("flood" if kind == "flood" else "access")
    if impact is None or not impact.available or impact.parcels.empty:
        return pd.Series(np.nan, index=result.parcels.index)
    if kind == "flood":
        columns = [c for c in impact.parcels.columns if c.startswith("dwellings_flooded_")]
        if not columns:
            return pd.Series(np.nan, index=result.parcels.index)
        return impact.parcels[columns[-1]].where(lambda s: s > 0).reindex(result.parcels.index)
    if "score" not in impact.parcels.columns:
        return pd.Series(np.nan, index=result.parcels.index)
    return impact.parcels["score"].reindex(result.parcels.index)


def plot_scenario(
    result: Any,
    model: CityModel,
    *,
    kind: Literal["capacity", "flood", "access"] = "capacity",
    ax: Any = None,
    title: str | None = None,
    figsize: tuple[float, float] = (9.0, 9.0),
) -> Any:
    """Plot one map of a scenario: capacity gained, new homes at flood risk, or access of new homes.

    Parameters
    ----------
    result
        A :class:`~cimkit.analysis.scenario.ScenarioResult`.
    model
        The model it was computed on (drawn underneath: zones, parcels, river, roads).
    kind
        ``"capacity"`` (``gained_gfa_m2``), ``"flood"`` (new dwellings on parcels flooded at the
        rarest return period; needs the flood impact) or ``"access"`` (the 15-minute score of the
        parcels with new homes; needs the access impact).
    ax
        A matplotlib ``Axes``; by default a new figure of ``figsize``.
    title
        The map title (default: the kind's title and the scenario's name).
    figsize
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; the text alternative is ``SCENARIO_MAPS[kind][3]``.

    Raises
    ------
    ValidationError
        ``kind`` is not one of the three maps.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from cimkit.analysis.scenario import Scenario, assess_scenario
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> result = assess_scenario(model, Scenario(name="UB 15 m", rules={"UB": {"max_height_m": 15}}), impacts=())
    >>> ax = plot_scenario(result, model, kind="capacity")
    >>> ax.get_title(), ax.figure.axes[1].get_ylabel()
    ('Floor area the rule change adds: UB 15 m', 'capacity gained (m² floor area)')
    >>> plt.close(ax.figure)
    """
    if kind not in SCENARIO_MAPS:
        raise ValidationError(f"'kind' must be one of {', '.join(SCENARIO_MAPS)}; {kind!r} was given.")
    import matplotlib.pyplot as plt

    from cimkit.viz.maps import plot_city

    heading, legend, cmap, _ = SCENARIO_MAPS[kind]
    name = result.scenario.name if result.scenario is not None else "scenario"
    ax = plot_city(model, ax=ax, title=title or f"{heading}: {name}", figsize=figsize)
    values = _values(result, kind)
    parcels = model["parcels"].assign(_value=values.reindex(model["parcels"].index).to_numpy(dtype="float64"))
    shown = parcels[parcels["_value"].notna()]
    if len(shown):
        vmin, vmax = (0.0, 1.0) if kind == "access" else (0.0, float(shown["_value"].max()))
        shown.plot(
            ax=ax,
            column="_value",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            alpha=0.85,
            edgecolor="#333333",
            linewidth=0.3,
        )
        mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(vmin=vmin, vmax=vmax))
        bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.6)
        bar.set_label(legend)
    else:
        ax.annotate("nothing to show", (0.5, 0.02), xycoords="axes fraction", ha="center")
    return ax
