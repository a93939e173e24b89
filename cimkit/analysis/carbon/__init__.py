"""Carbon footprint of buildings and districts (EN 15978 embodied carbon, B6, RE2020).

Functions, each pure (no file reading, inputs never modified):

- :func:`load_factors`, :func:`validate_factors` — emission factor tables with citations.
- :func:`map_materials`, :func:`unmatched_materials` — free-text material names → table rows.
- :func:`embodied_carbon` — A1-A3, A4, A5, B4, C per element x material, rolled up to
  storeys, buildings, parcels, zones and the city (:class:`EmbodiedResult`).
- :func:`estimate_embodied` — buildings without IFC, from floor area x intensity.
- :func:`operational_carbon` — B6 from floor area x energy use intensity x carrier factor.
- :func:`re2020_thresholds`, :func:`re2020_check` — RE2020 Ic_construction / Ic_énergie limits.
- :func:`compare_scenarios`, :func:`substitute_materials` — side-by-side variants.

See ``docs/carbon.md`` for the method, its sources and what is not computed.
"""

from __future__ import annotations

from cimkit.analysis.carbon.embodied import MODULES, EmbodiedResult, embodied_carbon, replacements
from cimkit.analysis.carbon.estimate import estimate_embodied, load_intensities
from cimkit.analysis.carbon.factors import load_factors, validate_factors
from cimkit.analysis.carbon.mapping import fold_name, load_rules, map_materials, unmatched_materials
from cimkit.analysis.carbon.operational import (
    RE2020_CARRIER_FACTORS,
    load_energy_use_intensity,
    operational_carbon,
)
from cimkit.analysis.carbon.re2020 import RE2020Verdict, re2020_check, re2020_thresholds
from cimkit.analysis.carbon.scenarios import compare_scenarios, substitute_materials

__all__ = [
    "MODULES",
    "RE2020_CARRIER_FACTORS",
    "EmbodiedResult",
    "RE2020Verdict",
    "compare_scenarios",
    "embodied_carbon",
    "estimate_embodied",
    "fold_name",
    "load_energy_use_intensity",
    "load_factors",
    "load_intensities",
    "load_rules",
    "map_materials",
    "operational_carbon",
    "re2020_check",
    "re2020_thresholds",
    "replacements",
    "substitute_materials",
    "unmatched_materials",
    "validate_factors",
]
