"""PLU zoning: compliance of buildings and buildable capacity of parcels.

The rules come from the zone layer (``read_zoning(..., rules=...)`` joins the columns listed
in :data:`cimkit.io.plu.RULE_COLUMNS`); a missing rule value means "no rule" and the check
is reported unknown (NA), never passed.

- :func:`assess` runs the whole analysis on a :class:`~cimkit.model.CityModel` and returns a
  :class:`ZoningResult`;
- :func:`check_compliance` checks buildings against their zone's rules and
  :func:`summarise_compliance` reshapes its result to one row per building and rule;
- :func:`compute_parcel_limits` splits parcel boundaries into road frontage and side limits;
- :func:`compute_buildable_capacity` gives what each parcel may still hold.

Definitions used here (the regulation of each PLU is the authority; check the zone's text):

- **Zone of a building**: the zone holding the largest share of the building's largest parcel
  (rules apply to the *terrain d'assiette*); a building on no parcel takes the zone holding
  the largest share of its own footprint.
- **Land judged**: the building's parcel; for a building over several parcels (each holding at
  least ``min_share`` of its footprint, 1 % by default) the union of those parcels, the *unité
  foncière*, assumed contiguous and of one owner (``parcels``, ``n_parcels``,
  ``straddle_share`` and ``zoning_note`` say so). When the parcels lie in zones with different
  rules, have different owners (``owner_column``) or are more than ``limit_tolerance_m`` apart,
  the building is marked ``check_manually`` and ``compliant`` is NA.
- **Height**: ``height_m`` of the building against ``max_height_m``.
- **CES** (*coefficient d'emprise au sol*, footprint ratio): footprint area of all buildings
  inside the land judged (each building's area inside it) / its area, against
  ``max_footprint_ratio``.
- **Parcel limits**: a part of the parcel boundary shared with another parcel (within
  ``limit_tolerance_m``) is a *side limit* (*limite séparative*); the rest faces the
  non-cadastred public domain and is the *road frontage* (French cadastre leaves public
  roads out of the parcels). With a ``roads`` layer, only the unshared boundary within
  ``road_max_distance_m`` of a road line is frontage; the rest counts as a side limit.
- **Road setback**: distance from the footprint to the road frontage of the land judged,
  against ``min_setback_road_m``. Unknown when it has no frontage; each building's
  ``frontage_source`` and ``road_setback_note`` say how its frontage was found.
- **Side setback** ("H/2" rule): distance from the footprint to the side limits; required
  = max(``side_setback_height_ratio`` x height, ``min_setback_side_m``). Construction on the
  limit (allowed by many PLUs under conditions) is not modelled: it fails the check.
- **Green ratio**: (land area - building footprints) / land area. This is an *upper
  bound* of the green share (paved areas are not known): a value below ``min_green_ratio``
  is a certain failure; a value above it passes "as far as footprints show".
- **Use**: the building's use (column ``use_column``) in the zone's ``allowed_uses`` list.

Examples
--------
>>> from cimkit.analysis import zoning
>>> from cimkit.datasets import load_sample_city
>>> result = zoning.assess(load_sample_city(with_ifc=False))
>>> result.zones.set_index("libelle").loc["UB", ["buildings", "non_compliant_buildings"]].tolist()
[18, 1]
"""

from cimkit.analysis.zoning.assessment import ZoningResult, assess
from cimkit.analysis.zoning.capacity import compute_buildable_capacity
from cimkit.analysis.zoning.compliance import check_compliance, compute_parcel_limits, summarise_compliance

__all__ = [
    "ZoningResult",
    "assess",
    "check_compliance",
    "compute_buildable_capacity",
    "compute_parcel_limits",
    "summarise_compliance",
]
