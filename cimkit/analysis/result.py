"""The one result shape shared by every analysis.

Every ``cimkit.analysis.<topic>.assess(model, ...)`` returns a frozen dataclass derived from
:class:`AnalysisResult`: its frames are attributes (never methods), indexed by the identity of
what they describe, and ``caveats`` says in plain sentences what the numbers cannot know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["AnalysisResult"]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


def _empty_series() -> pd.Series:
    return pd.Series(dtype="float64")


@dataclass(frozen=True, kw_only=True)
class AnalysisResult:
    """Base of every analysis result.

    Attributes
    ----------
    buildings
        One row per building, indexed by building id; columns carry their unit
        (``depth_m``, ``embodied_kgco2e``, ``walk_time_min``).
    zones
        One row per PLU zone, indexed by zone id (empty when the model has no zoning).
    city
        City-wide totals as a :class:`pandas.Series`; each label carries its unit.
    caveats
        Plain sentences on what the numbers cannot know (assumptions, missing inputs,
        estimates standing in for measurements).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis import AnalysisResult
    >>> result = AnalysisResult(
    ...     buildings=pd.DataFrame({"depth_m": [0.0, 0.4]}, index=pd.Index(["a", "b"], name="building_id")),
    ...     city=pd.Series({"flooded_buildings": 1}),
    ...     caveats=("depths are bathtub estimates",),
    ... )
    >>> int(result.city["flooded_buildings"]), result.zones.empty, len(result.caveats)
    (1, True, 1)
    """

    buildings: pd.DataFrame = field(default_factory=_empty_frame)
    zones: pd.DataFrame = field(default_factory=_empty_frame)
    city: pd.Series = field(default_factory=_empty_series)
    caveats: tuple[str, ...] = ()
