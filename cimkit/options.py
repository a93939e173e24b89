"""A closed, validated set of library options, set globally or for a block.

>>> import cimkit
>>> with cimkit.set_options(progress=False):
...     cimkit.get_options()["progress"]
False
"""

from __future__ import annotations

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
}

_VALIDATORS: dict[str, Callable[[Any], bool]] = {
    "progress": lambda v: isinstance(v, bool),
    "ifc_timeout_s": lambda v: isinstance(v, (int, float)) and v > 0,
    "ifc_memory_mb": lambda v: isinstance(v, int) and v >= 256,
    "ifc_processes": lambda v: isinstance(v, int) and v >= 1,
    "snap_tolerance_m": lambda v: isinstance(v, (int, float)) and v >= 0,
}


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
        (metres >= 0). An unknown name or an invalid value raises
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
    cimkit.errors.ValidationError: unknown option 'colour'; the options are ifc_memory_mb, ...
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
