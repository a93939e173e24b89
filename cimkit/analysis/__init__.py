"""Analyses of a city model: flood risk, carbon, accessibility, zoning and the links between layers.

Each topic is a subpackage (or module) of pure functions; ``assess(model, ...)`` in each runs the
whole analysis on a :class:`~cimkit.model.CityModel` and returns an :class:`AnalysisResult`.
"""

from cimkit.analysis.result import AnalysisResult

__all__ = ["AnalysisResult"]
