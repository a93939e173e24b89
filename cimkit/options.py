"""A closed, validated set of library options, set globally or for a block.

>>> import cimkit
>>> with cimkit.set_options(progress=False):
...     cimkit.get_options()["progress"]
False
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cimkit.errors import ValidationError

__all__ = ["get_options", "set_options"]

_OPTIONS: dict[str, Any] = {
    "progress": False,  # show progress bars on long work
    "ifc_timeout_s": 600.0,  # per-file time limit of the IFC child process
    "ifc_memory_mb": 8192,  # per-file address-space limit of the IFC child process
    "ifc_processes": 2,  # worker processes used to tessellate one IFC file
    "snap_tolerance_m": 0.5,  # network endpoint snapping tolerance
    "placement": "check",  # "check": misplaced layers raise PlacementError; "accept": warn and record
    "placement_max_distance_m": 50_000.0,  # farthest a new layer may lie from the model's extent
    "access_distance_m": 300.0,  # farther from its nearest street node, a building or POI is flagged
    "plausible_height_m": (2.0, 300.0),  # model.quality(): building heights outside are flagged
    "plausible_footprint_m2": (5.0, 100_000.0),  # model.quality(): footprint areas outside are flagged
    "plausible_elevation_m": (-500.0, 9000.0),  # model.quality(): DEM values outside are errors
    # resource limits: every reader checks them before it allocates (ResourceLimitError, LIM*)
    "max_input_mb": 8192,  # size on disk of one input file
    "max_decompressed_mb": 4096,  # what one archive or compressed stream may expand to
    "max_compression_ratio": 200.0,  # expanded / compressed size above this is treated as a bomb
    "max_features": 5_000_000,  # features (rows) of one vector layer or network table
    "max_ifc_entities": 20_000_000,  # entity instances of one IFC file
    "max_pixels": 400_000_000,  # cells of one raster (1.6 GB as float32)
    "audit_log": None,  # path of the append-only publication audit log; None: the user's state folder
}

_VALIDATORS: dict[str, Callable[[Any], bool]] = {
    "progress": lambda v: isinstance(v, bool),
    "ifc_timeout_s": lambda v: isinstance(v, (int, float)) and v > 0,
    "ifc_memory_mb": lambda v: isinstance(v, int) and v >= 256,
    "ifc_processes": lambda v: isinstance(v, int) and v >= 1,
    "snap_tolerance_m": lambda v: isinstance(v, (int, float)) and v >= 0,
    "placement": lambda v: v in ("check", "accept"),
    "placement_max_distance_m": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
    "access_distance_m": lambda v: isinstance(v, (int, float)) and v > 0,
    "plausible_height_m": lambda v: _is_range(v),
    "plausible_footprint_m2": lambda v: _is_range(v),
    "plausible_elevation_m": lambda v: _is_range(v),
    "max_input_mb": lambda v: _is_positive_int(v),
    "max_decompressed_mb": lambda v: _is_positive_int(v),
    "max_compression_ratio": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1,
    "max_features": lambda v: _is_positive_int(v),
    "max_ifc_entities": lambda v: _is_positive_int(v),
    "max_pixels": lambda v: _is_positive_int(v),
    "audit_log": lambda v: v is None or isinstance(v, (str, os.PathLike)),
}


def _is_positive_int(value: Any) -> bool:
    """Tell whether ``value`` is an int > 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_range(value: Any) -> bool:
    """Tell whether ``value`` is a ``(low, high)`` pair of numbers with low < high."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and value[0] < value[1]
    )


def get_options() -> dict[str, Any]:
    """Return a copy of the current options.

    Returns
    -------
    dict
        Option name -> value: ``progress`` (bool), ``ifc_timeout_s`` (seconds),
        ``ifc_memory_mb`` (MiB), ``ifc_processes`` (count), ``snap_tolerance_m`` (metres).

    Examples
    --------
    >>> get_options()["snap_tolerance_m"]
    0.5
    """
    return dict(_OPTIONS)


class set_options:
    """Set options globally, or for a ``with`` block only.

    Parameters
    ----------
    **kwargs
        ``progress`` (bool: show progress bars on long work), ``ifc_timeout_s`` (seconds > 0),
        ``ifc_memory_mb`` (int >= 256), ``ifc_processes`` (int >= 1), ``snap_tolerance_m``
        (metres >= 0), ``placement`` (``"check"``: a layer outside the area of use of its CRS or
        of the model's CRS, in local coordinates, or farther than ``placement_max_distance_m``
        from the model's other layers raises :class:`~cimkit.errors.PlacementError`;
        ``"accept"``: warn and record the acceptance in provenance), ``placement_max_distance_m``
        (metres > 0, default 50 km), ``access_distance_m`` (metres > 0: a building or POI farther than this
        from its nearest street node is flagged by the accessibility analysis),
        ``plausible_height_m``, ``plausible_footprint_m2``, ``plausible_elevation_m`` (``(low, high)``
        tuples: building heights, footprint areas and DEM values outside are flagged by
        ``CityModel.quality()``). Resource limits, checked by every reader before it allocates
        (exceeding one raises :class:`~cimkit.errors.ResourceLimitError`): ``max_input_mb``
        (size of one input file, default 8192), ``max_decompressed_mb`` (what one archive or
        compressed stream may expand to, default 4096), ``max_compression_ratio`` (expanded /
        compressed size above which an archive is a bomb, default 200), ``max_features`` (rows of
        one layer, default 5,000,000), ``max_ifc_entities`` (entities of one IFC file, default
        20,000,000), ``max_pixels`` (cells of one raster, default 400,000,000); the IFC child
        process also has ``ifc_timeout_s`` and ``ifc_memory_mb``. ``audit_log`` (path of the
        append-only publication audit log; ``None``: ``$XDG_STATE_HOME/cimkit/audit.jsonl``).
        An unknown name or an invalid value raises
        :class:`~cimkit.errors.ValidationError`.

    Examples
    --------
    >>> with set_options(snap_tolerance_m=0.1, ifc_processes=4):
    ...     get_options()["snap_tolerance_m"], get_options()["ifc_processes"]
    (0.1, 4)
    >>> get_options()["snap_tolerance_m"]
    0.5
    >>> set_options(colour="red")
    Traceback (most recent call last):
    ...
    cimkit.errors.ValidationError: unknown option 'colour'; the options are access_distance_m, ...
    """

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if key not in _OPTIONS:
                raise ValidationError(
                    f"unknown option {key!r}; the options are {', '.join(sorted(_OPTIONS))}."
                )
            if not _VALIDATORS[key](value):
                raise ValidationError(f"option {key!r} got an invalid value {value!r}.")
        self._old = {k: _OPTIONS[k] for k in kwargs}
        _OPTIONS.update(kwargs)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        _OPTIONS.update(self._old)
