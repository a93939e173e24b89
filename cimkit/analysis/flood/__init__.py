"""Flood risk: inundation, exposure, vulnerability, risk and network impact.

- One call: :func:`assess` runs the whole analysis on a :class:`~cimkit.model.CityModel` and
  returns a :class:`FloodResult` (per building, zone, parcel and town; depth grids; closed roads).
- Inundation: :func:`compute_bathtub_depth` (connected or plain), :func:`compute_hand` with
  :func:`fill_depressions`, :func:`compute_flow_directions`, :func:`compute_flow_accumulation`,
  :func:`compute_stream_mask`, :func:`compute_hand_depth`, and :func:`compute_flood_depths`
  (water levels, heights above the drainage or external depth grids by return period).
- Exposure: :func:`compute_building_depths` (exact cell fractions), :func:`compute_footprint_stats`,
  :func:`compute_coverage_fractions`, :func:`compute_first_floor_height`,
  :func:`compute_edge_exposure`.
- Vulnerability: :func:`~cimkit.data.flood.load_damage_curves`, :func:`compute_damage_fraction`,
  :func:`compute_max_damage_per_m2` (JRC, Huizinga et al. 2017, doi:10.2760/16510).
- Risk: :func:`compute_building_damage`, :func:`compute_ead_weights`, :func:`compute_ead`,
  :func:`aggregate_damage`, :func:`format_return_period`, :func:`close_flooded_edges`.

The numba kernels compile on first use (cached on disk); importing this package does not load
numba.
"""

from cimkit.analysis.flood.assessment import FloodResult, assess
from cimkit.analysis.flood.exposure import (
    compute_building_depths,
    compute_coverage_fractions,
    compute_first_floor_height,
    compute_footprint_stats,
)
from cimkit.analysis.flood.hydrology import (
    compute_flow_accumulation,
    compute_flow_directions,
    compute_hand,
    compute_hand_depth,
    compute_stream_mask,
    fill_depressions,
)
from cimkit.analysis.flood.inundation import compute_bathtub_depth, compute_flood_depths
from cimkit.analysis.flood.network_impact import (
    DEFAULT_CLOSURE_DEPTH_M,
    close_flooded_edges,
    compute_edge_exposure,
)
from cimkit.analysis.flood.risk import (
    aggregate_damage,
    compute_building_damage,
    compute_ead,
    compute_ead_weights,
    format_return_period,
)
from cimkit.analysis.flood.vulnerability import (
    USE_TO_JRC_CLASS,
    compute_damage_fraction,
    compute_max_damage_per_m2,
)
from cimkit.data.flood import DamageCurves, load_damage_curves

__all__ = [
    "DEFAULT_CLOSURE_DEPTH_M",
    "USE_TO_JRC_CLASS",
    "DamageCurves",
    "FloodResult",
    "aggregate_damage",
    "assess",
    "close_flooded_edges",
    "compute_bathtub_depth",
    "compute_building_damage",
    "compute_building_depths",
    "compute_coverage_fractions",
    "compute_damage_fraction",
    "compute_ead",
    "compute_ead_weights",
    "compute_edge_exposure",
    "compute_first_floor_height",
    "compute_flood_depths",
    "compute_flow_accumulation",
    "compute_flow_directions",
    "compute_footprint_stats",
    "compute_hand",
    "compute_hand_depth",
    "compute_max_damage_per_m2",
    "compute_stream_mask",
    "fill_depressions",
    "format_return_period",
    "load_damage_curves",
]
