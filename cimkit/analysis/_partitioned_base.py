"""Plumbing of the partitioned runs: the dask import guard, broadcasting, spatial partitions, gathering.

A left frame (buildings, parcels) is a dask-geopandas GeoDataFrame. Before anything else each
row is given its original place, ``(partition number, row in partition)``, and its index is kept
in a column: :meth:`dask_geopandas.GeoDataFrame.spatial_shuffle` replaces the index with the
Hilbert distance and reorders the rows. Each partition's result carries the place back, and the
gathered result is sorted on it, so it comes back in the input's order with the input's index.

Nothing here imports dask at module import: :func:`require_dask` does, inside the calls. Nor
does it import the analyses it runs: they call in (:func:`link_by_partition`,
:func:`depths_by_partition`) with their in-memory function, which each partition runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import CimkitError, InputError

#: Helper columns carried through the partitions (the original place of each row, its index).
PART, ROW, INDEX = "_cimkit_part", "_cimkit_row", "_cimkit_index"
HELPERS = (PART, ROW, INDEX)


def is_dask(obj: Any) -> bool:
    """Tell whether ``obj`` is a dask collection with partitions (no dask import needed)."""
    return hasattr(obj, "__dask_graph__") and hasattr(obj, "npartitions")


def require_dask() -> None:
    """Import dask, distributed and dask-geopandas, or raise DSK001 naming the extra to install."""
    try:
        import dask  # noqa: F401
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as err:
        raise CimkitError(
            f"partitioned runs need dask, distributed and dask-geopandas ({err.name or err} is missing)",
            code="DSK001",
            hint="pip install 'cimkit[dask]'",
        ) from err


def current_client() -> Any:
    """Return the dask.distributed client of this session, or None (dask's local scheduler runs)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def broadcast(obj: Any, client: Any) -> Any:
    """Ship ``obj`` to the workers once: a scattered future, or one shared graph key without a client."""
    if client is not None:
        return client.scatter(obj, broadcast=True, hash=False)
    import uuid

    import dask

    return dask.delayed(obj, name=f"cimkit-broadcast-{uuid.uuid4().hex}", traverse=False)


def to_pandas(frame: Any) -> Any:
    """Compute a dask frame (a right layer: parcels, zones, roads) into memory; pass others through."""
    return frame.compute() if is_dask(frame) else frame


def _add_places(part: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    name = part.index.name
    out = part.assign(**{PART: np.int64(number), ROW: np.arange(len(part), dtype="int64")})
    out[INDEX] = part.index.to_numpy()
    out.index = pd.RangeIndex(len(part), name=name)
    return out


def check_frame(frame: Any, *, layer: str) -> None:
    """Refuse (DSK002) a dask collection that is not a dask-geopandas GeoDataFrame."""
    import dask_geopandas

    if not isinstance(frame, dask_geopandas.GeoDataFrame):
        raise InputError(
            f"the {layer} layer is a {type(frame).__name__}, not a dask-geopandas GeoDataFrame",
            layer=layer,
            code="DSK002",
            hint="build it with dask_geopandas.from_geopandas(...) or dask_geopandas.read_parquet(...).",
        )


def prepare_partitions(frame: Any, *, layer: str) -> tuple[Any, Any]:
    """Mark each row's place, spatially shuffle (Hilbert) unless already partitioned by space.

    Returns the partitioned frame and the index name to restore. A frame whose
    ``spatial_partitions`` are set (``calculate_spatial_partitions()``, a spatially sorted
    GeoParquet) keeps its partitions.
    """
    check_frame(frame, layer=layer)
    name = frame.index.name
    marked = frame.map_partitions(_add_places)
    if frame.spatial_partitions is None and frame.npartitions > 1:
        # a task-based shuffle: for tens of partitions it starts far faster than the P2P one
        marked = marked.spatial_shuffle(by="hilbert", calculate_partitions=False, shuffle_method="tasks")
    return marked, name


def restore_part(part: pd.DataFrame, name: Any) -> tuple[Any, pd.DataFrame]:
    """Split a shuffled partition into (the layer with its own index back, the place columns)."""
    places = part[[PART, ROW]].reset_index(drop=True)
    layer = part.drop(columns=list(HELPERS))
    layer.index = pd.Index(part[INDEX].to_numpy(), name=name)
    return layer, places


def with_places(result: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Attach the place columns to one partition's result (same rows, same order)."""
    out = result.copy()
    out[PART] = places[PART].to_numpy()
    out[ROW] = places[ROW].to_numpy()
    return out


def gather(tasks: Sequence[Any], client: Any, empty: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Compute the partition tasks, concatenate them and put the rows back in the input's order."""
    import dask

    results = client.compute(list(tasks), sync=True) if client is not None else list(dask.compute(*tasks))
    results = [r for r in results if len(r)]
    if not results:
        return empty()
    out = pd.concat(results) if len(results) > 1 else results[0]
    order = np.lexsort((out[ROW].to_numpy(), out[PART].to_numpy()))
    return out.iloc[order].drop(columns=[PART, ROW])


def partition_tasks(frame: Any, func: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> list[Any]:
    """One delayed call ``func(partition, *args, **kwargs)`` per partition of ``frame``."""
    import dask

    return [dask.delayed(func, pure=True)(part, *args, **kwargs) for part in frame.to_delayed()]


def _link_part(
    part: pd.DataFrame, right: Any, func: Callable[..., pd.DataFrame], min_share: float, name: Any
) -> pd.DataFrame:
    layer, places = restore_part(part, name)
    return with_places(func(layer, right, min_share=min_share), places)


def _ids_like(values: np.ndarray, index: pd.Index, like: pd.Index, name: str) -> pd.Series:
    """Ids in the dtype the in-memory linking gives them (that of ``like``; nullable when some miss)."""
    missing = pd.isna(values)
    if not missing.any():
        return pd.Series(values, index=index, name=name).astype(like.dtype)
    values = values.copy()
    values[missing] = pd.NA if missing.all() else None  # as linking leaves them
    out = pd.Series(values, index=index, name=name, dtype="object")
    if not missing.all() and pd.api.types.is_integer_dtype(like.dtype):
        return out.astype("Int64")
    return out


def link_by_partition(
    func: Callable[..., pd.DataFrame], left: Any, right: Any, *, layer: str, min_share: float
) -> pd.DataFrame:
    """Run the in-memory linking ``func`` on every spatial partition of ``left`` against the broadcast ``right``."""
    require_dask()
    check_frame(left, layer=layer)
    right = to_pandas(right)
    meta = left._meta
    func(meta, right, min_share=min_share)  # the in-memory checks (CRS, min_share) before any work
    frame, name = prepare_partitions(left, layer=layer)
    client = current_client()
    shared = broadcast(right, client)
    tasks = partition_tasks(frame, _link_part, shared, func, min_share, name)
    out = gather(tasks, client, lambda: func(meta, right, min_share=min_share))
    if not out.index.is_unique:
        raise InputError(f"the {layer} layer's index has duplicates", hint="give each feature a unique id.")
    id_name = out.columns[0]
    out[id_name] = _ids_like(out[id_name].to_numpy(dtype=object), out.index, right.index, id_name)
    return out


def _depth_part(part: pd.DataFrame, depth: Any, func: Callable[..., pd.DataFrame], name: Any) -> pd.DataFrame:
    layer, places = restore_part(part, name)
    if not len(layer):
        return empty_depths(layer.index)
    return with_places(func(layer, depth), places)


def empty_depths(index: pd.Index) -> pd.DataFrame:
    """Return the columns of a flood depth result, with no row."""
    columns = ("max_depth_m", "mean_depth_m", "flooded_share")
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}, index=index[:0])


def depths_by_partition(func: Callable[..., pd.DataFrame], buildings: Any, depth: Any) -> pd.DataFrame:
    """Run the in-memory depth sampler ``func`` on every partition; the grid is sent once."""
    require_dask()
    check_frame(buildings, layer="buildings")
    if not depth.valid_mask().any():
        raise InputError(
            f"the depth grid has no cell with data (all {depth.values.size} cells are nodata or NaN)",
            code="ANA010",
            hint="check its nodata value; dry cells hold 0 m, not nodata.",
        )
    frame, name = prepare_partitions(buildings, layer="buildings")
    client = current_client()
    shared = broadcast(depth, client)
    tasks = partition_tasks(frame, _depth_part, shared, func, name)
    out = gather(tasks, client, lambda: empty_depths(buildings._meta.index))
    if not len(out):
        raise InputError(
            "compute_building_depths: the buildings layer is empty",
            code="ANA014",
            hint="pass a layer with building footprints (check a filter or a bbox upstream).",
        )
    return out
