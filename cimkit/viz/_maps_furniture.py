"""Map furniture that stays on zoom, and the plain-language alt text of a map.

The scale bar and the north arrow are anchored in axes coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cimkit.viz._maps_layers import nice_length

_BAR_X, _BAR_Y, _BAR_H = 0.04, 0.035, 0.011  # axes fractions: left end, bottom, thickness


def format_metres(length_m: float) -> str:
    """``"200 m"``, ``"1 km"``, ``"2.5 km"``: a length as a scale bar label."""
    return f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"


class ScaleBar:
    """A scale bar at the lower left of the axes that stays true after a zoom.

    A black bar whose length (a round 1, 2 or 5 x 10^k metres, at most a quarter of the visible
    width) is recomputed whenever the x limits change.
    """

    def __init__(self, ax: Any) -> None:
        from matplotlib.patches import Rectangle

        self.ax = ax
        self.length_m = 0.0
        self.bar = Rectangle(
            (_BAR_X, _BAR_Y),
            0.0,
            _BAR_H,
            transform=ax.transAxes,
            facecolor="black",
            edgecolor="white",
            linewidth=0.8,
            zorder=20,
            gid="cimkit-scale-bar",
        )
        ax.add_patch(self.bar)
        self.label = ax.text(
            _BAR_X,
            _BAR_Y + _BAR_H + 0.008,
            "",
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=11,
            zorder=20,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.5},
            gid="cimkit-scale-label",
        )
        self.update()
        ax.callbacks.connect("xlim_changed", lambda _ax: self.update())

    def update(self) -> None:
        x0, x1 = self.ax.get_xlim()
        span = abs(x1 - x0)
        if span <= 0:
            return
        self.length_m = nice_length(span / 4.0)
        width = self.length_m / span
        self.bar.set_width(width)
        self.label.set_x(_BAR_X + width / 2)
        self.label.set_text(format_metres(self.length_m))


def draw_north_arrow(ax: Any) -> Any:
    """Draw an arrow and an "N" at the upper right, in axes coordinates (it stays on zoom)."""
    return ax.annotate(
        "N",
        xy=(0.95, 0.96),
        xytext=(0.95, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=14,
        weight="bold",
        zorder=20,
        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2},
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.0},
    )


def _size(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def compose_alt_text(
    *,
    title: str,
    extent: Sequence[float],
    n_buildings: int,
    mode: str,
    what: str,
    value_range: tuple[float, float] | None,
    scale_m: float,
    shown: Sequence[str],
    colour_words: tuple[str, str] | None = ("dark blue", "yellow"),
    chosen_by_scale: bool = True,
) -> str:
    """Return the plain-language description of a map, for the ``alt`` of an ``<img>``.

    ``what`` says how the buildings are drawn (coloured by what, or aggregated how); ``shown``
    lists the other layers in words; ``n_buildings`` counts the buildings in view.
    """
    x0, x1, y0, y1 = extent
    sentences = [
        f"Map of {title}, north up, about {_size(abs(x1 - x0))} wide and {_size(abs(y1 - y0))} high "
        f"(scale bar {format_metres(scale_m)})."
    ]
    drawn = {
        "none": f"{n_buildings:,} buildings are drawn as filled footprints",
        "hex": f"{n_buildings:,} buildings are summarised in hexagons",
        "zones": f"{n_buildings:,} buildings are summarised per zone",
    }[mode]
    if mode != "none" and chosen_by_scale:
        drawn = drawn.replace(" are summarised", " are too small to see at this scale and are summarised")
    sentence = f"{drawn}, {what}"
    if value_range is not None:
        low, high = value_range
        dark, light = colour_words or ("", "")
        sentence += (
            f", from {_number(low)}{f' ({dark})' if dark else ''} to {_number(high)}"
            f"{f' ({light})' if light else ''}"
            if low != high
            else f", all at {_number(low)}"
        )
    sentences.append(sentence + ".")
    if shown:
        sentences.append("Also shown: " + ", ".join(shown) + ".")
    return " ".join(sentences)
