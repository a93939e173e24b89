"""Mobility accessibility: travel times, opportunities within reach, the 15-minute city.

Metrics take a :class:`~cimkit.network.graph.Network` (door-to-door times on a time column such
as ``walk_time_min``) or a precomputed travel-time matrix (DataFrame of minutes, origins x
destinations). See ``docs/accessibility.md``.
"""

from cimkit.analysis.accessibility.decay import (
    DecayFunction,
    binary,
    gaussian,
    linear,
    logistic,
    negative_exponential,
    power,
)
from cimkit.analysis.accessibility.isochrones import isochrones
from cimkit.analysis.accessibility.metrics import (
    DEFAULT_CATEGORIES,
    accessibility_loss,
    cumulative_opportunities,
    fifteen_minute_score,
    gravity_accessibility,
    nearest_facility_time,
    summarise_by_zone,
    two_step_fca,
)
from cimkit.analysis.accessibility.population import ProgrammeRatios, building_programme
from cimkit.analysis.accessibility.transit import transit_travel_times

__all__ = [
    "DEFAULT_CATEGORIES",
    "DecayFunction",
    "ProgrammeRatios",
    "accessibility_loss",
    "binary",
    "building_programme",
    "cumulative_opportunities",
    "fifteen_minute_score",
    "gaussian",
    "gravity_accessibility",
    "isochrones",
    "linear",
    "logistic",
    "nearest_facility_time",
    "negative_exponential",
    "power",
    "summarise_by_zone",
    "transit_travel_times",
    "two_step_fca",
]
