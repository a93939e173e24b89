"""Colours, legends and caveat texts of the interactive maps (helper of :mod:`cimkit.viz.explore`).

Pure numpy / pandas / matplotlib: no lonboard here, so the colour of every feature can be checked
without a browser. Palettes are colour-blind safe: ``cividis`` for quantities, Okabe-Ito
(:data:`OKABE_ITO`) for categories.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cimkit.viz._style import OKABE_ITO
from cimkit.viz._style import UNITS as _UNITS

NO_VALUE = "#8c8c8c"  # features without a value (as in the 3-D view)
RAMP_STOPS = 11  # colour stops of a legend ramp


@dataclass(frozen=True)
class Legend:
    """The legend of one coloured layer: a ramp (``vmin`` .. ``vmax`` in ``unit``) or categories.

    ``entries`` are (label, ``#rrggbb``) rows: the categories, or the extra rows of a ramp
    ("no value", "not flooded"); ``caveats`` are shown under it.

    Examples
    --------
    >>> Legend("use", "categories", entries=(("residential", "#E69F00"),)).entries[0][1]
    '#E69F00'
    """

    title: str
    kind: str  # "ramp" or "categories"
    unit: str = ""
    cmap: str = "cividis"
    vmin: float = float("nan")
    vmax: float = float("nan")
    entries: tuple[tuple[str, str], ...] = ()  # (label, "#rrggbb"): the categories, or the extras of a ramp
    caveats: tuple[str, ...] = field(default=())

    def to_html(self) -> str:
        """Return the legend as an HTML fragment (a ramp with its end values and unit, or swatches).

        Examples
        --------
        >>> legend = Legend("depth_m_rp100", "ramp", unit="m", vmin=0.0, vmax=0.73)
        >>> "0.73 m" in legend.to_html()
        True
        """
        parts = [f'<section class="cimkit-legend"><h2 style="font-size:1rem">{html.escape(self.title)}</h2>']
        if self.kind == "ramp":
            stops = ", ".join(ramp_colours(self.cmap))
            unit = f" {html.escape(self.unit)}" if self.unit else ""
            parts.append(
                f'<div role="img" aria-label="colour ramp from {self.vmin:g} to {self.vmax:g}{unit}" '
                f'style="height:0.9rem;background:linear-gradient(to right, {stops})"></div>'
                f'<div style="display:flex;justify-content:space-between"><span>{self.vmin:,.4g}{unit}</span>'
                f"<span>{self.vmax:,.4g}{unit}</span></div>"
            )
        rows = "".join(
            f'<li><span style="display:inline-block;width:0.9rem;height:0.9rem;background:{colour};'
            f'border:1px solid #555;vertical-align:middle"></span> {html.escape(label)}</li>'
            for label, colour in self.entries
        )
        if rows:
            parts.append(f'<ul style="list-style:none;padding:0;margin:0.3rem 0">{rows}</ul>')
        if self.caveats:
            notes = "".join(f"<li>{html.escape(text)}</li>" for text in self.caveats)
            parts.append(
                f'<details><summary>Caveats</summary><ul style="font-size:0.85rem">{notes}</ul></details>'
            )
        parts.append("</section>")
        return "".join(parts)


def hex_to_rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``"#rrggbb"`` -> (r, g, b, alpha) in 0-255."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha


def ramp_colours(cmap: str, n: int = RAMP_STOPS) -> list[str]:
    """``n`` evenly spaced colours of a matplotlib colormap, as ``#rrggbb``."""
    import matplotlib

    rgba = np.round(matplotlib.colormaps[cmap](np.linspace(0, 1, n)) * 255).astype(int)
    return ["#{:02x}{:02x}{:02x}".format(*row[:3]) for row in rgba]


def unit_of(column: str) -> str:
    """Return the unit a column name ends with (``depth_m_rp100`` -> ``m``, ``score`` -> ``""``)."""
    words = column.split("_")
    for word in reversed(words[1:]):
        if word in _UNITS:
            return _UNITS[word]
        if not word.startswith("rp"):
            break
    return ""


def colour_continuous(
    values: pd.Series, *, cmap: str = "cividis", vmin: float | None = None, vmax: float | None = None
) -> tuple[np.ndarray, float, float]:
    """RGBA (uint8, n x 4) of ``values`` on ``cmap`` between ``vmin`` and ``vmax`` (default: min, max).

    A missing value gets :data:`NO_VALUE`. The colour of ``v`` is ``cmap((v - vmin) / (vmax - vmin))``
    (clipped to 0..1) times 255, rounded.
    """
    import matplotlib

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(numbers)
    low = float(np.nanmin(numbers[finite])) if vmin is None and finite.any() else float(vmin or 0.0)
    high = float(np.nanmax(numbers[finite])) if vmax is None and finite.any() else float(vmax or 1.0)
    span = high - low if high > low else 1.0
    scaled = np.clip((np.where(finite, numbers, low) - low) / span, 0.0, 1.0)
    rgba = np.round(matplotlib.colormaps[cmap](scaled) * 255).astype(np.uint8)
    rgba[~finite] = hex_to_rgba(NO_VALUE)
    return rgba, low, high


def colour_categories(
    labels: pd.Series, palette: dict[str, str] | None = None
) -> tuple[np.ndarray, tuple[tuple[str, str], ...]]:
    """RGBA of category ``labels`` and the legend entries (label, colour).

    Without ``palette``: the categories in order of frequency take the first seven Okabe-Ito
    colours; the rest are drawn grey as ``"other"``. A missing label is ``"no value"``.
    """
    text = labels.astype("object").where(labels.notna(), "no value").astype(str)
    if palette is None:
        ordered = [c for c in text.value_counts().index if c != "no value"]
        palette = dict(zip(ordered[:7], OKABE_ITO[:7]))
    keys = list(palette)
    lut = np.array([hex_to_rgba(palette[k]) for k in keys] + [hex_to_rgba(NO_VALUE)], dtype=np.uint8)
    codes = pd.Categorical(text, categories=keys).codes
    rgba = lut[np.where(codes < 0, len(keys), codes)]
    entries = [(label, colour) for label, colour in palette.items() if (text == label).any()]
    if (~text.isin(list(palette))).any():
        entries.append(
            ("other" if (text[~text.isin(list(palette))] != "no value").any() else "no value", NO_VALUE)
        )
    return rgba, tuple(entries)


# ---------------------------------------------------------------------------------------------
# caveats per building


def row_caveats(buildings: pd.DataFrame) -> pd.Series:
    """One caveat text per building from its own columns (``""`` when none applies).

    Says: a missing height; a floor area or ground level taken from a fallback
    (:data:`cimkit._quality.FALLBACKS`); every ``*_estimated`` flag that is true.
    """
    from cimkit._quality import FALLBACKS

    notes: list[pd.Series] = []
    index = buildings.index
    if "height_m" in buildings:
        notes.append(pd.Series(np.where(buildings["height_m"].isna(), "no height", ""), index=index))
    for column, fallbacks in FALLBACKS.items():
        if column in buildings:
            what = column.removesuffix("_source").replace("gfa", "floor area").replace("_", " ")
            hit = buildings[column].isin(fallbacks)
            notes.append((what + " estimated from " + buildings[column].astype(str)).where(hit, ""))
    for column in [c for c in buildings.columns if str(c).endswith("_estimated")]:
        flag = buildings[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
        notes.append(
            pd.Series(
                np.where(flag, str(column).removesuffix("_estimated").replace("_", " ") + " estimated", ""),
                index=index,
            )
        )
    return join_caveats(pd.Series("", index=index, dtype=object), *notes)


def join_caveats(*parts: pd.Series | str) -> pd.Series:
    """Join per-building caveat Series (and constant texts) with ``"; "``, skipping empty ones.

    Vectorised (one string operation per part, not per building): fast at 100,000 buildings.
    """
    index = next(p for p in parts if isinstance(p, pd.Series)).index
    text = pd.Series("", index=index, dtype=object)
    for part in parts:
        note = pd.Series(part, index=index, dtype=object) if isinstance(part, str) else part.astype(object)
        note = note.where(note.notna(), "").astype(str)
        both = text.ne("") & note.ne("")
        text = text + both.map({True: "; ", False: ""}) + note
    return text.astype(object)


def first_clause(text: str) -> str:
    """Return the first clause of a caveat sentence (up to ``:`` or ``.``), for a tooltip."""
    for mark in (":", ". "):
        if mark in text:
            text = text.split(mark, 1)[0]
    return text.rstrip(".")


def layer_caveats(quality: pd.DataFrame | None, layer: str) -> tuple[str, ...]:
    """Return the messages of ``model.quality()`` rows of ``layer`` that are not ``ok``."""
    if quality is None or quality.empty:
        return ()
    rows = quality[(quality["layer"] == layer) & quality["status"].isin(["warning", "error"])]
    return tuple(str(m) for m in rows["message"])
