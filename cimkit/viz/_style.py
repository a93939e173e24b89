"""The palette and the units every picture of cimkit uses (maps, 3-D views, interactive maps)."""

from __future__ import annotations

__all__ = ["OKABE_ITO", "UNITS"]

#: Okabe & Ito (2008), "Color Universal Design": eight colours told apart with every common
#: colour-vision deficiency; the categories of a text column cycle through them.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

#: Unit suffixes of column names (docs/conventions.md, rule 5) -> the unit written in a legend.
UNITS = {
    "m": "m",
    "m2": "m²",
    "m3": "m³",
    "eur": "EUR",
    "kgco2e": "kg CO2e",
    "min": "min",
    "s": "s",
    "years": "years",
    "pct": "%",
    "kmh": "km/h",
    "deg": "°",
}
