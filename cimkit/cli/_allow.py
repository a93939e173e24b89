"""The ``--allow LAYER=REASON`` option shared by ``cimkit report`` and ``cimkit publish``."""

from __future__ import annotations

from collections.abc import Sequence

from cimkit.errors import InputError

__all__ = ["parse_allowances"]


def parse_allowances(values: Sequence[str] | None) -> dict[str, str]:
    """Turn ``--allow LAYER=REASON`` values into a mapping layer -> reason.

    Parameters
    ----------
    values
        The ``--allow`` values as given.

    Returns
    -------
    dict
        Layer or network name -> reason (the reason goes to the audit log).

    Raises
    ------
    InputError
        PUB002: a value without ``=``, or with an empty name or reason.

    Examples
    --------
    >>> parse_allowances(["water=plan shared with the fire service"])
    {'water': 'plan shared with the fire service'}
    >>> parse_allowances(["water"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: --allow 'water' does not name a layer and a reason...
    """
    allow: dict[str, str] = {}
    for value in values or ():
        name, sep, reason = value.partition("=")
        if not sep or not name.strip() or not reason.strip():
            raise InputError(
                f"--allow {value!r} does not name a layer and a reason",
                code="PUB002",
                hint="write --allow water='plan shared with the fire service' (a layer or network name, "
                "then the reason, recorded in the audit log).",
            )
        allow[name.strip()] = reason.strip()
    return allow
