"""Dwellings, residents, jobs and pupils from the building programme (floor areas by use).

These are **conventional planning assumptions**, not observations: they turn floor area into
people so that accessibility can be weighted by who lives, works or studies in each building.
Replace them with local figures (``ratios=``) or give ``dwellings`` / ``jobs`` / ``pupils``
columns on the buildings, which always win over derived values.

Default ratios and their sources (values marked *check* are orders of magnitude to confirm
locally):

- ``persons_per_dwelling = 2.2`` — average household size in France, INSEE, Recensement de la
  population 2020 (2.19 persons per household).
- ``gfa_m2_per_dwelling = 80`` and ``net_m2_per_dwelling = 63`` — average floor area of an
  apartment, about 63 m² of living area (INSEE, Enquête nationale Logement 2013), grossed up to
  gross floor area with a net-to-gross factor of 0.8 (walls, shared circulation). *check*
- ``gfa_m2_per_job`` — office 15, retail 22, industrial 36, warehouse 80: employment densities of
  the Homes and Communities Agency, *Employment Density Guide*, 3rd ed., London, 2015 (general
  office 12 m² NIA per FTE, high-street retail 15-20 m² NIA, light industry 36 m² GIA,
  warehouse 70-95 m² GEA), net areas divided by 0.8 to gross. *check*
- ``gfa_m2_per_pupil = 6`` — between the gross areas per place of UK Building Bulletin 103
  (Department for Education, *Area guidelines for mainstream schools*, 2014): about 5 m² per
  place in primary and 8 m² in secondary schools. *check*
- ``pupils_per_job = 13`` — education staff per pupil, of the order of the pupil-teacher ratios
  in France (OECD, *Education at a Glance 2023*: 18 in primary, 13 in lower secondary). *check*

Uses recognised (the ``use`` column, case-insensitive, first of ``;``-separated values):
``residential``, ``office``, ``retail``, ``education``, ``industrial``, ``warehouse``; others
give zero people and are reported in the ``programme_source`` column as ``"unknown use"``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import InputError, ValidationError

logger = logging.getLogger(__name__)

__all__ = ["ProgrammeRatios", "compute_building_programme"]


@dataclass(frozen=True)
class ProgrammeRatios:
    """Conventional ratios turning floor area into people (see the module docstring for sources).

    Parameters
    ----------
    persons_per_dwelling
        Residents per dwelling.
    gfa_m2_per_dwelling
        Gross floor area per dwelling, m².
    net_m2_per_dwelling
        Net (living) area per dwelling, m², used with IFC spaces.
    gfa_m2_per_job
        Gross floor area per job by use (``office``, ``retail``, ``industrial``, ``warehouse``), m².
    net_to_gross
        Net area / gross floor area (0-1), turning IFC space areas into gross areas.
    gfa_m2_per_pupil
        Gross floor area per pupil of an education building, m².
    pupils_per_job
        Pupils per education job (staff).

    Examples
    --------
    >>> from cimkit.analysis.accessibility import ProgrammeRatios
    >>> ratios = ProgrammeRatios(persons_per_dwelling=2.0)
    >>> ratios.persons_per_dwelling, ratios.gfa_m2_per_job["office"]
    (2.0, 15.0)
    """

    persons_per_dwelling: float = 2.2
    gfa_m2_per_dwelling: float = 80.0
    net_m2_per_dwelling: float = 63.0
    gfa_m2_per_job: Mapping[str, float] = field(
        default_factory=lambda: {"office": 15.0, "retail": 22.0, "industrial": 36.0, "warehouse": 80.0}
    )
    net_to_gross: float = 0.8
    gfa_m2_per_pupil: float = 6.0
    pupils_per_job: float = 13.0


_KEYWORDS = {
    "residential": (
        "resid",
        "logement",
        "dwelling",
        "apartment",
        "appartement",
        "habitat",
        "housing",
        "living",
    ),
    "office": ("office", "bureau"),
    "retail": ("retail", "commerce", "shop", "store", "magasin"),
    "education": ("education", "school", "école", "ecole", "classroom", "classe", "enseignement"),
    "industrial": ("industr", "workshop", "atelier"),
    "warehouse": ("warehouse", "entrepôt", "entrepot", "storage"),
}


def _use_class(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.split(";")[0].strip().lower()
    for cls, words in _KEYWORDS.items():
        if any(w in text for w in words):
            return cls
    return None


def _people_from_area(area_by_use: pd.DataFrame, r: ProgrammeRatios, *, net: bool) -> pd.DataFrame:
    """Dwellings, jobs and pupils from a buildings x use-class table of areas (m²)."""
    get = lambda c: area_by_use[c] if c in area_by_use.columns else 0.0  # noqa: E731
    scale = r.net_to_gross if net else 1.0  # net (space) areas → gross floor area
    dwellings = get("residential") / (r.net_m2_per_dwelling if net else r.gfa_m2_per_dwelling)
    pupils = get("education") / scale / r.gfa_m2_per_pupil
    jobs = pupils / r.pupils_per_job
    for use, m2 in r.gfa_m2_per_job.items():
        jobs = jobs + get(use) / scale / m2
    return pd.DataFrame({"dwellings": dwellings, "jobs": jobs, "pupils": pupils}, index=area_by_use.index)


def compute_building_programme(
    buildings: pd.DataFrame,
    spaces: pd.DataFrame | None = None,
    *,
    ratios: ProgrammeRatios | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Dwellings, residents, jobs and pupils per building.

    Priority per building and quantity: a value given on the building (``dwellings``, ``jobs``,
    ``pupils`` columns, when not NaN) > IFC spaces (space ``use`` and net ``area_m2``) > gross
    floor area ``gfa_m2`` by the building's ``use``. Derived values are fractional (expected
    values); round them yourself if you need counts.

    Parameters
    ----------
    buildings
        Indexed by building id, with ``use`` and ``gfa_m2`` (m²); optional ``dwellings``,
        ``jobs``, ``pupils``.
    spaces
        Optional IFC spaces table with ``building_id``, ``use`` and ``area_m2`` (net m²), e.g.
        the spaces layer of :func:`cimkit.read_ifc`.
    ratios
        :class:`ProgrammeRatios` or a mapping overriding some of its fields.

    Returns
    -------
    pandas.DataFrame
        On the buildings' index: ``dwellings``, ``residents`` (= dwellings x
        ``persons_per_dwelling``), ``jobs``, ``pupils`` and ``programme_source`` (``attributes``,
        ``spaces``, ``gfa``, ``unknown use`` — for the derived part).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import compute_building_programme
    >>> b = pd.DataFrame({"use": ["residential", "office"], "gfa_m2": [800.0, 1500.0]}, index=["r", "o"])
    >>> p = compute_building_programme(b)
    >>> float(p.loc["r", "residents"]), float(p.loc["o", "jobs"])  # 800/80 x 2.2 ; 1500/15
    (22.0, 100.0)
    """
    r = _ratios(ratios)
    if "use" not in buildings.columns and spaces is None:
        raise InputError(
            "the buildings have no 'use' column and no spaces were given",
            layer="buildings",
            hint="add a 'use' column (residential, office, retail, education ...) or pass spaces.",
        )
    idx = buildings.index
    use_cls = buildings["use"].map(_use_class) if "use" in buildings.columns else pd.Series(None, index=idx)
    gfa = (
        pd.to_numeric(buildings["gfa_m2"], errors="coerce")
        if "gfa_m2" in buildings.columns
        else pd.Series(np.nan, index=idx)
    )
    area = pd.DataFrame({"_": 0.0}, index=idx)
    for cls in _KEYWORDS:
        area[cls] = np.where(use_cls == cls, gfa.fillna(0.0), 0.0)
    derived = _people_from_area(area.drop(columns="_"), r, net=False)
    source = pd.Series(np.where(use_cls.notna(), "gfa", "unknown use"), index=idx, dtype=object)
    missing_gfa = use_cls.notna() & gfa.isna()
    if missing_gfa.any():
        source[missing_gfa] = "no gfa"

    if spaces is not None:
        need = {"building_id", "use", "area_m2"}
        if not need.issubset(spaces.columns):
            raise InputError(
                f"the spaces table needs columns {sorted(need)}; it has {list(spaces.columns)}",
                layer="spaces",
            )
        sp = spaces.loc[spaces["building_id"].isin(idx)].copy()
        sp["cls"] = sp["use"].map(_use_class)
        sp["area_m2"] = pd.to_numeric(sp["area_m2"], errors="coerce")
        known = sp.dropna(subset=["cls", "area_m2"])
        if len(known):
            table = known.pivot_table(index="building_id", columns="cls", values="area_m2", aggfunc="sum")
            from_spaces = _people_from_area(table.fillna(0.0), r, net=True)
            derived.loc[from_spaces.index] = from_spaces
            source.loc[from_spaces.index] = "spaces"
        n_unknown = int(sp["cls"].isna().sum())
        if n_unknown:
            logger.info("%d space(s) have a use that maps to no class; they hold no people", n_unknown)

    out = derived.copy()
    for col in ("dwellings", "jobs", "pupils"):
        if col in buildings.columns:
            given = pd.to_numeric(buildings[col], errors="coerce")
            if (given < 0).any():
                raise InputError(
                    f"negative {col}",
                    layer="buildings",
                    entity=given.index[given < 0][:5].tolist(),
                )
            has = given.notna()
            out.loc[has, col] = given[has]
            source[has & (source != "spaces")] = "attributes"
    unknown = source == "unknown use"
    if unknown.any():
        warnings.warn(
            f"{int(unknown.sum())} building(s) have no recognised use; they get no dwellings, jobs or pupils",
            stacklevel=2,
        )
    out["residents"] = out["dwellings"] * r.persons_per_dwelling
    out["programme_source"] = source
    return out[["dwellings", "residents", "jobs", "pupils", "programme_source"]]


def _ratios(ratios: ProgrammeRatios | Mapping[str, Any] | None) -> ProgrammeRatios:
    if ratios is None:
        return ProgrammeRatios()
    if isinstance(ratios, ProgrammeRatios):
        return ratios
    base = ProgrammeRatios()
    unknown = set(ratios) - set(asdict(base))
    if unknown:
        raise ValidationError(f"unknown ratio name(s) {sorted(unknown)}; known: {sorted(asdict(base))}")
    return replace(base, **dict(ratios))
