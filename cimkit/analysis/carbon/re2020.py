"""RE2020 carbon thresholds (Ic_construction, Ic_énergie) and a pass/fail check.

Thresholds come from ``cimkit/data/re2020_thresholds.csv``, citing the arrêté du 4 août 2021
(RE2020, France métropolitaine): the average maxima *before modulation* (Ic_construction_maxmoyen,
Ic_énergie_maxmoyen) by building type and by permit period 2022-2024 / 2025-2027 / 2028-2030 /
2031+, in kgCO2e per m² of reference floor area (Sref).

What :func:`re2020_check` compares, and what it does not
---------------------------------------------------------
- It compares the two numbers it is given with the tabulated maxima; a value *equal* to the
  threshold passes (the regulation requires Ic ≤ Ic_max).
- The official Ic_construction is a **dynamic** LCA over 50 years (each emission weighted by
  the year it occurs), over the 13 RE2020 lots of products and equipment plus the construction
  site, with FDES/PEP or default environmental data, per m² of **Sref**. cimkit's embodied
  carbon (:func:`~cimkit.analysis.carbon.embodied_carbon`) is a **static** EN 15978 sum of the
  materials present in the IFC model (typically structure and envelope, not equipment lots),
  per m² of **gross floor area**. Feeding it to this check gives an indication, not a
  regulatory verdict.
- The maxima are not modulated: the Mi/Mc coefficients (geography, attics, average and total
  dwelling size, building category, foundations, connection to networks, ...) are not applied.
  Pass a modulated threshold yourself with ``thresholds=`` when you have it.
- Ic_énergie maxima for offices are not tabulated in cimkit; the check then reports that part
  as not assessed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal, cast

import pandas as pd

from cimkit.errors import ValidationError

__all__ = ["BUILDING_TYPES", "RE2020Verdict", "load_re2020_thresholds", "re2020_check", "re2020_thresholds"]

BuildingType = Literal["maison_individuelle", "logement_collectif", "bureaux"]
BUILDING_TYPES: tuple[str, ...] = ("maison_individuelle", "logement_collectif", "bureaux")
_ALIASES = {
    "individual_house": "maison_individuelle",
    "house": "maison_individuelle",
    "collective_housing": "logement_collectif",
    "apartment_building": "logement_collectif",
    "office": "bureaux",
    "offices": "bureaux",
}
FIRST_YEAR = 2022


def load_re2020_thresholds(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The RE2020 threshold table (bundled, or a CSV with the same columns)."""
    source = (
        os.fspath(cast("os.PathLike[str]", resources.files("cimkit") / "data" / "re2020_thresholds.csv"))
        if path is None
        else path
    )
    table = pd.read_csv(source, encoding="utf-8", keep_default_na=False)
    table["to_year"] = pd.to_numeric(table["to_year"], errors="coerce")
    return table


def _building_type(building_type: str) -> str:
    key = _ALIASES.get(str(building_type), str(building_type))
    if key not in BUILDING_TYPES:
        raise ValidationError(
            f"'building_type' must be one of {', '.join(BUILDING_TYPES)} "
            f"(or {', '.join(_ALIASES)}); {building_type!r} was given"
        )
    return key


def re2020_thresholds(
    building_type: BuildingType | str,
    permit_year: int,
    *,
    heat_network: bool = False,
) -> dict[str, float]:
    """Ic_construction and Ic_énergie maxima (kgCO2e/m² Sref) for a building type and permit year.

    Parameters
    ----------
    building_type
        ``"maison_individuelle"``, ``"logement_collectif"`` or ``"bureaux"`` (English aliases
        ``"individual_house"``, ``"collective_housing"``, ``"office"`` are accepted).
    permit_year
        Year the building permit was filed (2022 or later).
    heat_network
        The building is connected to a heat network (changes Ic_énergie until 2027).

    Returns
    -------
    dict
        ``{"ic_construction_max": float, "ic_energie_max": float}``; NaN where cimkit has no
        value (Ic_énergie of offices).

    Raises
    ------
    cimkit.errors.ValidationError
        Unknown building type, or a permit year before 2022 (RE2020 does not apply).

    Examples
    --------
    >>> re2020_thresholds("logement_collectif", 2025)
    {'ic_construction_max': 650.0, 'ic_energie_max': 260.0}
    """
    key = _building_type(building_type)
    if not isinstance(permit_year, (int,)) or isinstance(permit_year, bool):
        raise ValidationError(f"'permit_year' must be an integer year; {permit_year!r} was given")
    if permit_year < FIRST_YEAR:
        raise ValidationError(
            f"RE2020 applies to permits filed from {FIRST_YEAR}; {permit_year} was given "
            "(earlier buildings fall under RT2012 or older rules)"
        )
    table = load_re2020_thresholds()
    out = {}
    for indicator in ("ic_construction", "ic_energie"):
        sel = table[(table["building_type"] == key) & (table["indicator"] == indicator)]
        variant = "heat_network" if heat_network and (sel["variant"] == "heat_network").any() else "standard"
        sel = sel[sel["variant"] == variant]
        hit = sel[
            (sel["from_year"] <= permit_year) & (sel["to_year"].isna() | (sel["to_year"] >= permit_year))
        ]
        out[f"{indicator}_max"] = float(hit["max_kgco2e_m2"].iloc[0]) if len(hit) else float("nan")
    return out


@dataclass(frozen=True)
class RE2020Verdict:
    """Outcome of :func:`re2020_check`.

    ``passes`` is True when every assessed indicator is ≤ its maximum, False when one exceeds
    it, and None when an indicator could not be assessed (no value or no threshold) and none
    failed. Margins are threshold − value (kgCO2e/m²; positive = headroom).
    """

    building_type: str
    permit_year: int
    ic_construction: float
    ic_energie: float
    ic_construction_max: float
    ic_energie_max: float
    ic_construction_pass: bool | None
    ic_energie_pass: bool | None
    passes: bool | None
    notes: tuple[str, ...] = field(default=())

    @property
    def ic_construction_margin(self) -> float:
        return self.ic_construction_max - self.ic_construction

    @property
    def ic_energie_margin(self) -> float:
        return self.ic_energie_max - self.ic_energie


def _compare(value: float | None, limit: float) -> bool | None:
    if value is None or limit is None or math.isnan(limit) or math.isnan(float(value)):
        return None
    return bool(float(value) <= limit)


def re2020_check(
    ic_construction_per_m2: float | None,
    ic_energie_per_m2: float | None,
    building_type: BuildingType | str,
    permit_year: int,
    *,
    heat_network: bool = False,
    thresholds: dict[str, float] | None = None,
) -> RE2020Verdict:
    """Compare Ic_construction and Ic_énergie (kgCO2e/m²) with the RE2020 maxima.

    Parameters
    ----------
    ic_construction_per_m2
        Embodied carbon of products, equipment and site, kgCO2e per m²; None when not known.
    ic_energie_per_m2
        Carbon of the operational energy over 50 years, kgCO2e per m²; None when not known.
    building_type, permit_year, heat_network
        See :func:`re2020_thresholds`.
    thresholds
        ``{"ic_construction_max": ..., "ic_energie_max": ...}`` replacing the tabulated
        (unmodulated) maxima, e.g. after applying the Mi/Mc modulations yourself.

    Returns
    -------
    RE2020Verdict
        Each indicator passes when value ≤ maximum. The notes list what the check did not do
        (see the module docstring: static vs dynamic LCA, no modulation).

    Examples
    --------
    >>> v = re2020_check(640.0, 160.0, "maison_individuelle", 2022)
    >>> v.passes, v.ic_construction_margin
    (True, 0.0)
    """
    key = _building_type(building_type)
    limits = re2020_thresholds(key, permit_year, heat_network=heat_network)
    if thresholds:
        unknown = set(thresholds) - set(limits)
        if unknown:
            raise ValidationError(
                f"'thresholds' keys must be among {sorted(limits)}; {sorted(unknown)} was given"
            )
        limits.update({k: float(v) for k, v in thresholds.items()})
    c_pass = _compare(ic_construction_per_m2, limits["ic_construction_max"])
    e_pass = _compare(ic_energie_per_m2, limits["ic_energie_max"])
    notes = [
        "static LCA compared with thresholds defined for the RE2020 dynamic LCA",
        "thresholds not modulated (Mi/Mc coefficients not applied)"
        if not thresholds
        else "thresholds given by the caller",
    ]
    if math.isnan(limits["ic_energie_max"]):
        notes.append(f"no Ic_énergie maximum tabulated for {key}")
    checks = [c_pass, e_pass]
    if any(c is False for c in checks):
        passes: bool | None = False
    elif all(c is True for c in checks):
        passes = True
    else:
        passes = None
    nan = float("nan")
    return RE2020Verdict(
        building_type=key,
        permit_year=int(permit_year),
        ic_construction=nan if ic_construction_per_m2 is None else float(ic_construction_per_m2),
        ic_energie=nan if ic_energie_per_m2 is None else float(ic_energie_per_m2),
        ic_construction_max=limits["ic_construction_max"],
        ic_energie_max=limits["ic_energie_max"],
        ic_construction_pass=c_pass,
        ic_energie_pass=e_pass,
        passes=passes,
        notes=tuple(notes),
    )
