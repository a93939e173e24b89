"""Mobility accessibility: travel times, opportunities within reach, the 15-minute city.

:func:`assess` runs the whole analysis on a :class:`~cimkit.model.CityModel`. The metrics take
``travel``: a :class:`~cimkit.network.graph.Network` (door-to-door times on a time column such
as ``walk_time_min``) or a precomputed travel-time matrix (DataFrame of minutes, origins x
destinations). See ``docs/accessibility.md``.

Examples
--------
>>> import pandas as pd
>>> from cimkit.analysis.accessibility import compute_nearest_times
>>> minutes = pd.DataFrame([[4.0, 9.0]], index=["home"], columns=["school", "doctor"])
>>> kinds = pd.Series(["school", "doctor"], index=minutes.columns)
>>> compute_nearest_times(minutes, destinations=kinds).loc["home"].tolist()  # doctor, school
[9.0, 4.0]
"""

from cimkit.analysis.accessibility.assessment import AccessibilityResult, assess
from cimkit.analysis.accessibility.decay import DecayFunction
from cimkit.analysis.accessibility.isochrones import compute_isochrones
from cimkit.analysis.accessibility.metrics import (
    compute_cumulative_access,
    compute_gravity_access,
    compute_nearest_times,
    compute_two_step_fca,
)
from cimkit.analysis.accessibility.population import ProgrammeRatios, compute_building_programme
from cimkit.analysis.accessibility.scores import (
    DEFAULT_CATEGORIES,
    compute_access_loss,
    compute_fifteen_minute_score,
    summarise_by_zone,
)
from cimkit.analysis.accessibility.transit import compute_transit_travel_times

__all__ = [
    "DEFAULT_CATEGORIES",
    "AccessibilityResult",
    "DecayFunction",
    "ProgrammeRatios",
    "assess",
    "compute_access_loss",
    "compute_building_programme",
    "compute_cumulative_access",
    "compute_fifteen_minute_score",
    "compute_gravity_access",
    "compute_isochrones",
    "compute_nearest_times",
    "compute_transit_travel_times",
    "compute_two_step_fca",
    "summarise_by_zone",
]
