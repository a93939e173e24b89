"""RE2020 carbon thresholds (*Ic construction*, *Ic énergie*) and a pass/fail check.

Thresholds come from ``cimkit/data/re2020_thresholds.csv``, citing the arrêté du 4 août 2021
(RE2020, France métropolitaine): the average maxima *before modulation*
(*Ic construction maxmoyen*, *Ic énergie maxmoyen*) by building type and by permit period
2022-2024 / 2025-2027 / 2028-2030 / 2031+, in kgCO2e per m² of reference floor area (Sref).
cimkit names them in English: *Ic construction* is ``construction_kgco2e_m2`` and its maximum
``construction_max_kgco2e_m2``; *Ic énergie* is ``energy_kgco2e_m2`` and
``energy_max_kgco2e_m2``.

What :func:`check_re2020` compares, and what it does not
---------------------------------------------------------
- It compares the two numbers it is given with the tabulated maxima; a value *equal* to the
  threshold passes (the regulation requires Ic ≤ Ic max).
- The official *Ic construction* is a **dynamic** LCA over 50 years (each emission weighted by
  the year it occurs), over the 13 RE2020 lots of products and equipment plus the construction
  site, with FDES/PEP or default environmental data, per m² of **Sref**. cimkit's embodied
  carbon (:func:`~cimkit.analysis.carbon.compute_embodied_carbon`) is a **static** EN 15978 sum
  of the materials present in the IFC model (typically structure and envelope, not equipment
  lots), per m² of **gross floor area**. Feeding it to this check gives an indication, not a
  regulatory verdict.
- The maxima are not modulated: the Mi/Mc coefficients (geography, attics, average and total
  dwelling size, building category, foundations, connection to networks, ...) are not applied.
  Pass a modulated threshold yourself with ``limits=`` when you have it.
- *Ic énergie* maxima for offices are not tabulated in cimkit; the check then reports that part
  as not assessed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cimkit.data.carbon import load_re2020_thresholds
from cimkit.errors import ValidationError

__all__ = ["BUILDING_TYPES", "RE2020Verdict", "check_re2020", "get_re2020_thresholds"]

BuildingType = Literal["maison_individuelle", "logement_collectif", "bureaux"]
#: RE2020 building types with tabulated thresholds (French names, as in the arrêté)
BUILDING_TYPES: tuple[str, ...] = ("maison_individuelle", "logement_collectif", "bureaux")
_ALIASES = {
    "individual_house": "maison_individuelle",
    "house": "maison_individuelle",
    "collective_housing": "logement_collectif",
    "apartment_building": "logement_collectif",
    "office": "bureaux",
    "offices": "bureaux",
}
_FIRST_YEAR = 2022
_INDICATORS = {"ic_construction": "construction_max_kgco2e_m2", "ic_energie": "energy_max_kgco2e_m2"}


def _building_type(building_type: str) -> str:
    key = _ALIASES.get(str(building_type), str(building_type))
    if key not in BUILDING_TYPES:
        raise ValidationError(
            f"'building_type' must be one of {', '.join(BUILDING_TYPES)} "
            f"(or {', '.join(_ALIASES)}); {building_type!r} was given"
        )
    return key


def get_re2020_thresholds(
    building_type: BuildingType | str,
    permit_year: int,
    *,
    heat_network: bool = False,
) -> dict[str, float]:
    """Get the *Ic construction* and *Ic énergie* maxima for a building type and permit year.

    Parameters
    ----------
    building_type
        ``"maison_individuelle"``, ``"logement_collectif"`` or ``"bureaux"`` (English aliases
        ``"individual_house"``, ``"collective_housing"``, ``"office"`` are accepted).
    permit_year
        Year the building permit was filed (2022 or later).
    heat_network
        The building is connected to a heat network (changes *Ic énergie* until 2027).

    Returns
    -------
    dict
        ``{"construction_max_kgco2e_m2": float, "energy_max_kgco2e_m2": float}`` in kgCO2e per
        m² of Sref; NaN where cimkit has no value (*Ic énergie* of offices).

    Raises
    ------
    cimkit.errors.ValidationError
        Unknown building type, or a permit year before 2022 (RE2020 does not apply).

    Examples
    --------
    >>> from cimkit.analysis.carbon import get_re2020_thresholds
    >>> get_re2020_thresholds("logement_collectif", 2025)
    {'construction_max_kgco2e_m2': 650.0, 'energy_max_kgco2e_m2': 260.0}
    """
    key = _building_type(building_type)
    if not isinstance(permit_year, int) or isinstance(permit_year, bool):
        raise ValidationError(f"'permit_year' must be an integer year; {permit_year!r} was given")
    if permit_year < _FIRST_YEAR:
        raise ValidationError(
            f"RE2020 applies to permits filed from {_FIRST_YEAR}; {permit_year} was given "
            "(earlier buildings fall under RT2012 or older rules)"
        )
    return dict(_thresholds(key, permit_year, bool(heat_network)))


@functools.lru_cache(maxsize=256)
def _thresholds(key: str, permit_year: int, heat_network: bool) -> tuple[tuple[str, float], ...]:
    """Read the maxima of one (type, year, heat network) from the bundled table, once."""
    table = load_re2020_thresholds()
    out = {}
    for indicator, name in _INDICATORS.items():
        sel = table[(table["building_type"] == key) & (table["indicator"] == indicator)]
        variant = "heat_network" if heat_network and (sel["variant"] == "heat_network").any() else "standard"
        sel = sel[sel["variant"] == variant]
        hit = sel[
            (sel["from_year"] <= permit_year) & (sel["to_year"].isna() | (sel["to_year"] >= permit_year))
        ]
        out[name] = float(hit["max_kgco2e_m2"].iloc[0]) if len(hit) else float("nan")
    return tuple(out.items())


@dataclass(frozen=True)
class RE2020Verdict:
    """Outcome of :func:`check_re2020` for one building.

    *Ic construction* is ``construction_kgco2e_m2`` and *Ic énergie* ``energy_kgco2e_m2``
    (kgCO2e/m²). ``passes`` is True when every assessed indicator is ≤ its maximum, False when
    one exceeds it, and None when an indicator could not be assessed (no value or no threshold)
    and none failed. Margins are maximum − value (kgCO2e/m²; positive = headroom).

    Attributes
    ----------
    building_type
        The RE2020 building type (French name).
    permit_year
        Year the building permit was filed.
    construction_kgco2e_m2, energy_kgco2e_m2
        The values compared (NaN when not given).
    construction_max_kgco2e_m2, energy_max_kgco2e_m2
        The maxima they were compared with (NaN when not tabulated).
    construction_passes, energy_passes
        Each indicator's outcome (None: not assessed).
    passes
        The overall outcome.
    notes
        What the check did not do (static vs dynamic LCA, no modulation, missing maxima).

    Examples
    --------
    >>> from cimkit.analysis.carbon import check_re2020
    >>> v = check_re2020(500.0, 170.0, "maison_individuelle", 2022)
    >>> v.construction_passes, v.energy_passes, v.passes, v.construction_margin_kgco2e_m2
    (True, False, False, 140.0)
    """

    building_type: str
    permit_year: int
    construction_kgco2e_m2: float
    energy_kgco2e_m2: float
    construction_max_kgco2e_m2: float
    energy_max_kgco2e_m2: float
    construction_passes: bool | None
    energy_passes: bool | None
    passes: bool | None
    notes: tuple[str, ...] = field(default=())

    @property
    def construction_margin_kgco2e_m2(self) -> float:
        """*Ic construction* headroom: maximum − value (kgCO2e/m²)."""
        return self.construction_max_kgco2e_m2 - self.construction_kgco2e_m2

    @property
    def energy_margin_kgco2e_m2(self) -> float:
        """*Ic énergie* headroom: maximum − value (kgCO2e/m²)."""
        return self.energy_max_kgco2e_m2 - self.energy_kgco2e_m2


def _compare(value: float | None, limit: float) -> bool | None:
    if value is None or limit is None or math.isnan(limit) or math.isnan(float(value)):
        return None
    return bool(float(value) <= limit)


def check_re2020(
    construction_kgco2e_m2: float | None,
    energy_kgco2e_m2: float | None,
    building_type: BuildingType | str,
    permit_year: int,
    *,
    heat_network: bool = False,
    limits: Mapping[str, float] | None = None,
) -> RE2020Verdict:
    """Check *Ic construction* and *Ic énergie* (kgCO2e/m²) against the RE2020 maxima.

    Parameters
    ----------
    construction_kgco2e_m2
        *Ic construction*: embodied carbon of products, equipment and site, kgCO2e per m²;
        None when not known.
    energy_kgco2e_m2
        *Ic énergie*: carbon of the operational energy over 50 years, kgCO2e per m²; None when
        not known.
    building_type
        ``"maison_individuelle"``, ``"logement_collectif"`` or ``"bureaux"`` (or the English
        aliases of :func:`get_re2020_thresholds`).
    permit_year
        Year the building permit was filed (2022 or later).
    heat_network
        The building is connected to a heat network.
    limits
        ``{"construction_max_kgco2e_m2": ..., "energy_max_kgco2e_m2": ...}`` (either or both)
        replacing the tabulated, unmodulated maxima, e.g. after applying the Mi/Mc modulations
        yourself.

    Returns
    -------
    RE2020Verdict
        Each indicator passes when value ≤ maximum. The notes list what the check did not do
        (see the module docstring: static vs dynamic LCA, no modulation).

    Raises
    ------
    cimkit.errors.ValidationError
        Unknown building type, permit year before 2022, or an unknown key in ``limits``.

    Examples
    --------
    >>> from cimkit.analysis.carbon import check_re2020
    >>> v = check_re2020(640.0, 160.0, "maison_individuelle", 2022)
    >>> v.passes, v.construction_margin_kgco2e_m2
    (True, 0.0)
    >>> check_re2020(700.0, 150.0, "individual_house", 2022,
    ...              limits={"construction_max_kgco2e_m2": 704.0}).passes
    True
    """
    key = _building_type(building_type)
    maxima = get_re2020_thresholds(key, permit_year, heat_network=heat_network)
    if limits:
        unknown = set(limits) - set(maxima)
        if unknown:
            raise ValidationError(
                f"'limits' keys must be among {sorted(maxima)}; {sorted(unknown)} was given"
            )
        maxima.update({k: float(v) for k, v in limits.items()})
    c_pass = _compare(construction_kgco2e_m2, maxima["construction_max_kgco2e_m2"])
    e_pass = _compare(energy_kgco2e_m2, maxima["energy_max_kgco2e_m2"])
    notes = [
        "static LCA compared with thresholds defined for the RE2020 dynamic LCA",
        "thresholds given by the caller"
        if limits
        else "thresholds not modulated (Mi/Mc coefficients not applied)",
    ]
    if math.isnan(maxima["energy_max_kgco2e_m2"]):
        notes.append(f"no Ic_énergie maximum tabulated for {key}")
    passes: bool | None
    if c_pass is False or e_pass is False:
        passes = False
    elif c_pass is True and e_pass is True:
        passes = True
    else:
        passes = None
    nan = float("nan")
    return RE2020Verdict(
        building_type=key,
        permit_year=int(permit_year),
        construction_kgco2e_m2=nan if construction_kgco2e_m2 is None else float(construction_kgco2e_m2),
        energy_kgco2e_m2=nan if energy_kgco2e_m2 is None else float(energy_kgco2e_m2),
        construction_max_kgco2e_m2=maxima["construction_max_kgco2e_m2"],
        energy_max_kgco2e_m2=maxima["energy_max_kgco2e_m2"],
        construction_passes=c_pass,
        energy_passes=e_pass,
        passes=passes,
        notes=tuple(notes),
    )
