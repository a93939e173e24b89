"""The zoning check on spatial partitions, with a halo of neighbouring buildings and parcels.

A building's verdicts depend on more than its own footprint: the footprint ratio (CES) of its
parcel counts every building on that parcel, and the parcel's side limits depend on the parcels
next to it. So each partition is checked together with a halo:

1. for each partition, the bounds of its buildings and of the parcels they touch (the
   partition's *region*) are computed on the workers;
2. every partition whose buildings' bounds meet a region hands over the buildings whose boxes
   meet it (its own partition hands over all of its buildings);
3. the partition's buildings plus that halo, in their original order, are checked by the
   in-memory :func:`~cimkit.analysis.zoning.check_compliance` against the parcels whose boxes
   meet their bounds (widened by ``limit_tolerance_m``), the broadcast zones and roads; only the
   partition's own rows are kept.

Rows keep their original order inside each call, so the per-parcel sums are taken in the same
order as in memory and come out bit for bit equal.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from cimkit.analysis import _partitioned_base as base
from cimkit.errors import CoverageWarning

OWN = "_cimkit_own"


def _region(part: pd.DataFrame, parcels: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(bounds of the partition's buildings, bounds of them and the parcels they touch)."""
    geoms = part.geometry.to_numpy()
    if not len(geoms):
        return None
    own = np.asarray(shapely.total_bounds(geoms))  # NaN when every footprint is empty
    touched = np.unique(parcels.sindex.query(geoms)[1])
    if not len(touched) or np.isnan(own).any():
        return own, own
    near = np.asarray(shapely.total_bounds(parcels.geometry.to_numpy()[touched]))
    region = np.array(
        [min(own[0], near[0]), min(own[1], near[1]), max(own[2], near[2]), max(own[3], near[3])]
    )
    return own, region


def _boxes_meet(bounds: np.ndarray, box: np.ndarray) -> np.ndarray:
    return (
        (bounds[:, 0] <= box[2])
        & (bounds[:, 2] >= box[0])
        & (bounds[:, 1] <= box[3])
        & (bounds[:, 3] >= box[1])
    )


def _select(part: pd.DataFrame, region: np.ndarray, own: bool) -> pd.DataFrame:
    """Return the rows of ``part`` whose boxes meet ``region`` (all of them for the partition itself)."""
    if own:
        return part.assign(**{OWN: True})
    bounds = shapely.bounds(part.geometry.to_numpy())
    keep = _boxes_meet(bounds, region) & ~np.isnan(bounds[:, 0])
    return part.loc[keep].assign(**{OWN: False})


def _parcels_near(parcels: Any, bounds: np.ndarray, margin_m: float) -> Any:
    """Return the parcels whose boxes meet ``bounds`` widened by ``margin_m``, in their order.

    Parcels that are not polygons (empty, lines) are always kept: the overlap kernel decides on
    its fast path from the whole right layer, and must decide as it does in memory.
    """
    geoms = parcels.geometry.to_numpy()
    widened = np.array(
        [bounds[0] - margin_m, bounds[1] - margin_m, bounds[2] + margin_m, bounds[3] + margin_m]
    )
    near = parcels.sindex.query(shapely.box(*widened))
    odd = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (3, 6)) | shapely.is_empty(geoms))
    return parcels.iloc[np.union1d(near, odd)]


def _check_part(
    func: Callable[..., pd.DataFrame],
    pieces: list[pd.DataFrame],
    region: np.ndarray,
    parcels: Any,
    zones: Any,
    roads: Any,
    options: dict[str, Any],
    name: Any,
) -> pd.DataFrame:
    pieces = [p for p in pieces if len(p)]
    merged = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    merged = merged.iloc[np.lexsort((merged[base.ROW].to_numpy(), merged[base.PART].to_numpy()))]
    own = merged[OWN].to_numpy(dtype=bool)
    layer, places = base.restore_part(merged.drop(columns=[OWN]), name)
    geoms = layer.geometry.to_numpy()
    found = np.asarray(shapely.total_bounds(geoms[~shapely.is_empty(geoms)]))
    # the region holds the partition's parcels; the halo's own parcels must be whole too
    bounds = np.r_[np.fmin(found[:2], region[:2]), np.fmax(found[2:], region[2:])]
    margin = float(options.get("limit_tolerance_m", 0.5)) + 1.0
    near = _parcels_near(parcels, bounds, margin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)  # said once for the whole layer
        result = func(layer, near, zones, roads=roads, **options)
    return base.with_places(result.iloc[own], places.iloc[own].reset_index(drop=True))


def run_compliance(
    func: Callable[..., pd.DataFrame], buildings: Any, parcels: Any, zones: Any, options: dict[str, Any]
) -> pd.DataFrame:
    """Run the in-memory zoning check ``func`` partition by partition (see the module text); computed."""
    base.require_dask()
    import dask

    base.check_frame(buildings, layer="buildings")
    parcels, zones = base.to_pandas(parcels), base.to_pandas(zones)
    roads = base.to_pandas(options.pop("roads", None))
    meta = buildings._meta

    def empty() -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoverageWarning)
            return func(meta, parcels.iloc[:0], zones, roads=roads, **options)

    empty()  # the in-memory checks of the options, CRSs and rule columns before any work
    frame, name = base.prepare_partitions(buildings, layer="buildings")
    client = base.current_client()
    shared = [base.broadcast(x, client) for x in (parcels, zones, roads)]
    parts = frame.to_delayed()
    regions_task = [dask.delayed(_region, pure=True)(p, shared[0]) for p in parts]
    regions = client.compute(regions_task, sync=True) if client is not None else dask.compute(*regions_task)
    tasks = []
    for k, reg in enumerate(regions):
        if reg is None:
            continue
        sources = [
            dask.delayed(_select, pure=True)(parts[j], reg[1], j == k)
            for j, other in enumerate(regions)
            if other is not None and (j == k or _boxes_meet(other[0][None, :], reg[1])[0])
        ]
        tasks.append(dask.delayed(_check_part, pure=True)(func, sources, reg[1], *shared, options, name))
    out = base.gather(tasks, client, empty)
    manual = int(out["check_manually"].sum()) if "check_manually" in out.columns else 0
    if manual:
        warnings.warn(
            f"{manual} of {len(out)} buildings stand on several parcels that cannot be judged as one "
            "unité foncière (zones with different rules, different owners or parcels not contiguous): their "
            "'compliant' is NA and 'zoning_note' says why; check them manually, or raise 'min_share' to judge "
            "small overhangs on the largest parcel alone.",
            CoverageWarning,
            stacklevel=4,
        )
    return out
