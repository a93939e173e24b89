"""Carbon footprint of buildings and districts (EN 15978 embodied carbon, B6, RE2020).

- :func:`assess` — the whole chain on a :class:`~cimkit.model.CityModel`
  (:class:`CarbonResult`): embodied carbon of the IFC buildings, upper-bound estimates for the
  others, operational carbon and the RE2020 check, per building, per zone and for the city.
- :func:`load_factors`, :func:`validate_factors` — emission factor tables with citations
  (loaders of every bundled table live in :mod:`cimkit.data.carbon`).
- :func:`map_materials`, :func:`normalise_material_name`, :func:`find_unmatched_materials` —
  free-text material names → table rows.
- :func:`compute_embodied_carbon` — A1-A3, A4, A5, B4, C per element x material, with sums per
  element, storey, building and material (:class:`EmbodiedResult`);
  :func:`aggregate_embodied_carbon` sums them to parcels, zones and the city;
  :func:`compute_replacements` counts B4 replacements.
- :mod:`cimkit.analysis.carbon.completeness` — how complete each IFC building is (element
  classes present, volume matched to a factor, ``complete`` / ``partial`` / ``shell``); RE2020
  verdicts are withheld (``"not assessable"``) on models that are not complete.
- :func:`estimate_embodied_carbon` — buildings without IFC, from floor area x intensity.
- :func:`compute_operational_carbon` — B6 from floor area x energy use intensity x carrier factor.
- :func:`get_re2020_thresholds`, :func:`check_re2020` — RE2020 *Ic construction* /
  *Ic énergie* limits.
- :func:`compare_scenarios`, :func:`substitute_materials` — side-by-side variants.

Every function is pure: no file reading (the bundled tables are read by
:mod:`cimkit.data.carbon`), inputs never modified. See ``docs/carbon.md`` for the method, its
sources and what is not computed.
"""

from __future__ import annotations

from cimkit.analysis.carbon.assessment import CarbonResult, assess
from cimkit.analysis.carbon.embodied import compute_embodied_carbon, compute_replacements
from cimkit.analysis.carbon.estimate import estimate_embodied_carbon
from cimkit.analysis.carbon.mapping import find_unmatched_materials, map_materials, normalise_material_name
from cimkit.analysis.carbon.operational import RE2020_CARRIER_FACTORS, compute_operational_carbon
from cimkit.analysis.carbon.re2020 import RE2020Verdict, check_re2020, get_re2020_thresholds
from cimkit.analysis.carbon.rollup import MODULES, EmbodiedResult, aggregate_embodied_carbon
from cimkit.analysis.carbon.scenarios import compare_scenarios, substitute_materials
from cimkit.data.carbon import (
    load_energy_use_intensity,
    load_factors,
    load_intensities,
    load_re2020_thresholds,
    load_rules,
    validate_factors,
)

__all__ = [
    "MODULES",
    "RE2020_CARRIER_FACTORS",
    "CarbonResult",
    "EmbodiedResult",
    "RE2020Verdict",
    "aggregate_embodied_carbon",
    "assess",
    "check_re2020",
    "compare_scenarios",
    "compute_embodied_carbon",
    "compute_operational_carbon",
    "compute_replacements",
    "estimate_embodied_carbon",
    "find_unmatched_materials",
    "get_re2020_thresholds",
    "load_energy_use_intensity",
    "load_factors",
    "load_intensities",
    "load_re2020_thresholds",
    "load_rules",
    "map_materials",
    "normalise_material_name",
    "substitute_materials",
    "validate_factors",
]
