"""Flood risk: inundation, exposure, vulnerability, risk and network impact.

- Inundation: :func:`bathtub` (connected or plain), :func:`hand` with :func:`fill_depressions`,
  :func:`flow_directions_d8`, :func:`flow_accumulation`, :func:`hand_inundation`, and
  :func:`flood_scenarios` (levels, stages or external depth grids by return period).
- Exposure: :func:`building_depths` (exact cell fractions), :func:`first_floor_height`,
  :func:`edge_exposure`.
- Vulnerability: :func:`load_damage_curves`, :func:`damage_fraction`, :func:`max_damage_per_m2`
  (JRC, Huizinga et al. 2017, doi:10.2760/16510).
- Risk: :func:`building_damage`, :func:`expected_annual_damage`, :func:`aggregate_damage`,
  :func:`close_flooded_edges`, and the one-call :func:`assess_flood`.

The numba kernels compile on first use (cached on disk); importing this package does not load
numba.
"""

from cimkit.analysis.flood.assessment import FloodAssessment, assess_flood
from cimkit.analysis.flood.exposure import (
    building_depths,
    coverage_fractions,
    first_floor_height,
    footprint_stats,
)
from cimkit.analysis.flood.hydrology import (
    fill_depressions,
    flow_accumulation,
    flow_directions_d8,
    hand,
    hand_inundation,
    stream_mask,
)
from cimkit.analysis.flood.inundation import bathtub, flood_scenarios
from cimkit.analysis.flood.network_impact import (
    DEFAULT_CLOSURE_DEPTH_M,
    close_flooded_edges,
    edge_exposure,
)
from cimkit.analysis.flood.risk import (
    aggregate_damage,
    building_damage,
    ead_weights,
    expected_annual_damage,
    return_period_label,
)
from cimkit.analysis.flood.vulnerability import (
    USE_TO_JRC_CLASS,
    DamageCurves,
    damage_fraction,
    load_damage_curves,
    max_damage_per_m2,
)

__all__ = [
    "DEFAULT_CLOSURE_DEPTH_M",
    "USE_TO_JRC_CLASS",
    "DamageCurves",
    "FloodAssessment",
    "aggregate_damage",
    "assess_flood",
    "bathtub",
    "building_damage",
    "building_depths",
    "close_flooded_edges",
    "coverage_fractions",
    "damage_fraction",
    "ead_weights",
    "edge_exposure",
    "expected_annual_damage",
    "fill_depressions",
    "first_floor_height",
    "flood_scenarios",
    "flow_accumulation",
    "flow_directions_d8",
    "footprint_stats",
    "hand",
    "hand_inundation",
    "load_damage_curves",
    "max_damage_per_m2",
    "return_period_label",
    "stream_mask",
]
