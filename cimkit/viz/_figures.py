"""The headline numbers that the report and the public page both print, computed in ONE place.

A figure read at a public meeting must be the same in the staff report (:mod:`cimkit.viz.model_report`)
and on the public page (:mod:`cimkit.viz.publish`): the same buildings counted, the IFC embodied carbon
kept apart from the footprint estimates (upper bounds), the 15-minute score over the homes (the
buildings of residential use, as the accessibility analysis counts them). Both read the columns the
analyses joined to the buildings (or a saved model's), never the result objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_FLOODED = re.compile(r"score_15min_rp(\d+(?:\.\d+)?)")

__all__ = ["AccessFigures", "CarbonFigures", "get_access_figures", "get_carbon_figures", "read_flags"]


def read_flags(column: pd.Series) -> pd.Series:
    """Read a boolean column back from a file: True / False / None (missing), as objects."""
    return column.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v))


@dataclass(frozen=True)
class CarbonFigures:
    """Embodied carbon of the IFC buildings and of the estimates (apart), operational per year and total.

    ``unassessed_buildings`` have no embodied figure at all (no floor area or use to estimate from).
    """

    ifc_buildings: int
    ifc_t: float
    estimated_buildings: int
    estimated_t: float
    unassessed_buildings: int
    operational_t_year: float | None
    operational_b6_t: float | None


@dataclass(frozen=True)
class AccessFigures:
    """The 15-minute score over the homes (or every building without a ``use`` column)."""

    homes: int
    full: int
    mean: float
    by_use: bool
    flood_period: float | None
    flooded_mean: float | None
    losing: int | None


def _sum_t(column: str, buildings: pd.DataFrame) -> float | None:
    if column not in buildings:
        return None
    return float(pd.to_numeric(buildings[column], errors="coerce").fillna(0).sum()) / 1000


def get_carbon_figures(buildings: pd.DataFrame) -> CarbonFigures | None:
    """Return the carbon figures of the joined ``embodied_kgco2e`` (None when carbon was not assessed).

    Examples
    --------
    >>> frame = pd.DataFrame({"embodied_kgco2e": [2000.0, 5000.0, np.nan],
    ...                       "embodied_estimated": [False, True, None],
    ...                       "operational_kgco2e_year": [100.0, 300.0, 0.0]})
    >>> get_carbon_figures(frame)
    CarbonFigures(ifc_buildings=1, ifc_t=2.0, estimated_buildings=1, estimated_t=5.0, unassessed_buildings=1, operational_t_year=0.4, operational_b6_t=None)
    """
    if "embodied_kgco2e" not in buildings:
        return None
    embodied = pd.to_numeric(buildings["embodied_kgco2e"], errors="coerce")
    if not embodied.notna().any():
        return None
    flags = buildings.get("embodied_estimated", pd.Series(False, index=buildings.index))
    estimated = read_flags(flags).eq(True) & embodied.notna()
    ifc = ~read_flags(flags).eq(True) & embodied.notna()
    return CarbonFigures(
        ifc_buildings=int(ifc.sum()),
        ifc_t=float(embodied[ifc].sum()) / 1000,
        estimated_buildings=int(estimated.sum()),
        estimated_t=float(embodied[estimated].sum()) / 1000,
        unassessed_buildings=int(embodied.isna().sum()),
        operational_t_year=_sum_t("operational_kgco2e_year", buildings),
        operational_b6_t=_sum_t("operational_b6_kgco2e", buildings),
    )


def get_access_figures(buildings: pd.DataFrame) -> AccessFigures | None:
    """Return the 15-minute figures of the joined ``score_15min`` (None when accessibility was not assessed).

    Homes are the buildings of residential use, as :mod:`cimkit.analysis.accessibility` counts them;
    ``score_15min_rp<T>`` (the score with the streets the T-year flood closes; 100 years when
    several are joined) gives the loss.

    Examples
    --------
    >>> frame = pd.DataFrame({"use": ["residential", "residential", "office"],
    ...                       "score_15min": [1.0, 0.5, 1.0], "score_15min_rp100": [1.0, 0.25, 0.0]})
    >>> get_access_figures(frame)
    AccessFigures(homes=2, full=1, mean=0.75, by_use=True, flood_period=100.0, flooded_mean=0.625, losing=1)
    """
    from cimkit.analysis.accessibility.population import _use_class

    column = next((c for c in ("score_15min", "walk_score") if c in buildings), None)
    if column is None:
        return None
    score = pd.to_numeric(buildings[column], errors="coerce")
    by_use = "use" in buildings
    if by_use:
        score = score.loc[buildings["use"].map(_use_class).eq("residential")]
    score = score.dropna()
    if score.empty:
        return None
    periods = {float(m.group(1)): c for c in buildings.columns if (m := _FLOODED.fullmatch(str(c)))}
    period = 100.0 if 100.0 in periods else (min(periods) if periods else None)
    flooded_mean = losing = None
    if period is not None:
        flooded = pd.to_numeric(buildings[periods[period]], errors="coerce").reindex(score.index)
        flooded_mean, losing = float(flooded.mean()), int((flooded < score - 1e-9).sum())
    return AccessFigures(
        homes=len(score),
        full=int((score >= 1 - 1e-9).sum()),
        mean=float(score.mean()),
        by_use=by_use,
        flood_period=period,
        flooded_mean=flooded_mean,
        losing=losing,
    )
