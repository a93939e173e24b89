"""Walk + public transport travel times on a GTFS feed (not implemented yet).

The plan is a time-dependent RAPTOR search (Delling, Pajor & Werneck 2015, "Round-based public
transit routing", Transportation Science 49(3)) over the feed's stop times, with walking legs on
the road network to and from stops. Until then, compute a matrix with another engine (for example
r5py) and pass it to any metric of :mod:`cimkit.analysis.accessibility` as ``travel``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["transit_travel_times"]


def transit_travel_times(feed: Any, network: Any, origins: Any, destinations: Any, **options: Any) -> Any:
    """Door-to-door walk + transit travel times from a GTFS feed.

    Not implemented: raises :class:`NotImplementedError`. Use a matrix from another engine
    (minutes, origins x destinations) as the ``travel`` argument of the metrics instead.
    """
    raise NotImplementedError(
        "walk + transit (GTFS) travel times are not implemented yet; compute a travel-time matrix "
        "with another engine (e.g. r5py) and pass it as `travel` to the accessibility metrics."
    )
