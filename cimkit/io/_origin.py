"""Placement of local coordinates on the map by ``origin=(x, y[, z, rotation_deg])``.

Shared by the readers of files whose coordinates are local (EPANET, IFC networks): the file's
(0, 0) goes to ``(x, y)`` in the target CRS, the coordinates are turned ``rotation_deg``
counter-clockwise about it, unscaled (taken as CRS units), and ``z`` is added to the heights
(readers that keep heights as written require ``z = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cimkit.errors import GeoreferenceError


@dataclass(frozen=True)
class Origin:
    """A parsed ``origin=``: map position of the local (0, 0), height offset and rotation."""

    x: float
    y: float
    z: float
    rotation_deg: float

    def move(self, xy: np.ndarray) -> np.ndarray:
        """Return the (n, 2) local coordinates ``xy`` rotated and moved to the map."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        r = math.radians(self.rotation_deg)
        cos, sin = math.cos(r), math.sin(r)
        x, y = xy[:, 0], xy[:, 1]
        return np.column_stack([self.x + cos * x - sin * y, self.y + sin * x + cos * y])


def parse_origin(
    origin: Sequence[float], crs: Any, path: Path, *, allow_z: bool, z_hint: str | None = None
) -> Origin:
    """Check ``origin=`` (2 or 4 finite numbers, a ``crs`` given) and return it as an :class:`Origin`.

    ``allow_z=False`` refuses a non-zero ``z`` (``z_hint`` says why).
    """
    if crs is None:
        raise GeoreferenceError("origin= was given without crs=", path=path, hint="pass crs= too")
    values = [float(v) for v in origin]
    finite = all(math.isfinite(v) for v in values)
    if len(values) not in (2, 4) or not finite or (not allow_z and len(values) == 4 and values[2]):
        z = "z" if allow_z else "0"
        raise GeoreferenceError(
            f"origin must be (x, y) or (x, y, {z}, rotation_deg) with finite numbers; got {tuple(origin)!r}",
            path=path,
            hint=z_hint if not allow_z else "give the map position of the file's (0, 0) in crs units",
        )
    if len(values) == 2:
        values += [0.0, 0.0]
    return Origin(*values)
