"""Distance-decay (impedance) functions for gravity accessibility and 2SFCA.

Each factory returns a :class:`DecayFunction`: a callable mapping travel times (minutes, any
array shape) to weights in [0, 1]. NaN times (unreachable) weigh 0. Formulas (see the
accessibility chapter of ``docs/accessibility.md``; Hansen 1959, "How accessibility shapes land
use", J. Am. Inst. Planners 25(2); Kwan 1998, "Space-time and integral measures of individual
accessibility", Geographical Analysis 30(3) for the family of impedance functions):

========================  =========================================  ==========================
name                      f(t)                                       support (f > 0)
========================  =========================================  ==========================
``binary(T)``             1 if t <= T else 0                         t <= T
``negative_exponential``  exp(-beta t)                               all t
``power(beta)``           t^-beta for t > 1, 1 for t <= 1            all t
``linear(T)``             max(0, 1 - t / T)                          t < T
``logistic(m, s)``        1 / (1 + exp(s (t - m)))  (0.5 at t = m)   all t
``gaussian(sigma)``       exp(-t^2 / (2 sigma^2))                    all t
========================  =========================================  ==========================

Examples
--------
>>> from cimkit.analysis.accessibility import linear, logistic
>>> linear(10)([0.0, 5.0, 12.0]).tolist()
[1.0, 0.5, 0.0]
>>> float(logistic(15, 0.3)(15.0))
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimkit.errors import ValidationError

__all__ = [
    "DecayFunction",
    "binary",
    "gaussian",
    "linear",
    "logistic",
    "negative_exponential",
    "power",
]


@dataclass(frozen=True)
class DecayFunction:
    """A decay function of travel time (minutes) with its name and parameters.

    Attributes
    ----------
    name
        Function family (``"binary"``, ``"negative_exponential"`` ...).
    params
        Parameters as given (minutes or per-minute rates).
    support
        Largest time with a non-zero weight (minutes; ``inf`` when the weight never reaches 0).
        Network searches use it as their cut-off.
    """

    name: str
    params: dict[str, float]
    support: float
    _fn: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)

    def __call__(self, minutes: Any) -> np.ndarray:
        t = np.asarray(minutes, dtype="float64")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            w = self._fn(t)
        return np.where(np.isnan(t), 0.0, w)


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not (ok and math.isfinite(v)):
        sign = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name!r} must be a finite number {sign}; {value!r} was given.")
    return v


def binary(threshold_min: float) -> DecayFunction:
    """Cumulative (step) decay: 1 within ``threshold_min`` minutes (inclusive), 0 beyond."""
    T = _positive("threshold_min", threshold_min, allow_zero=True)
    return DecayFunction("binary", {"threshold_min": T}, T, lambda t: (t <= T).astype("float64"))


def negative_exponential(beta: float) -> DecayFunction:
    """``exp(-beta * t)``; ``beta`` per minute (e.g. 0.1: weight 0.22 at 15 min)."""
    b = _positive("beta", beta, allow_zero=True)
    return DecayFunction("negative_exponential", {"beta": b}, math.inf, lambda t: np.exp(-b * t))


def power(beta: float) -> DecayFunction:
    """``t ** -beta`` for ``t > 1`` minute, and 1 for ``t <= 1`` (keeps the weight finite)."""
    b = _positive("beta", beta, allow_zero=True)
    return DecayFunction("power", {"beta": b}, math.inf, lambda t: np.where(t <= 1.0, 1.0, t ** (-b)))


def linear(threshold_min: float) -> DecayFunction:
    """``max(0, 1 - t / T)``: 1 at 0 min, falling linearly to 0 at ``T`` minutes."""
    T = _positive("threshold_min", threshold_min)
    return DecayFunction("linear", {"threshold_min": T}, T, lambda t: np.maximum(0.0, 1.0 - t / T))


def logistic(median_min: float, slope: float) -> DecayFunction:
    """``1 / (1 + exp(slope * (t - median)))``: 0.5 at ``median_min``; ``slope`` per minute."""
    m = _positive("median_min", median_min, allow_zero=True)
    s = _positive("slope", slope)
    return DecayFunction(
        "logistic", {"median_min": m, "slope": s}, math.inf, lambda t: 1.0 / (1.0 + np.exp(s * (t - m)))
    )


def gaussian(sigma_min: float) -> DecayFunction:
    """``exp(-t**2 / (2 sigma**2))``; ``sigma_min`` in minutes."""
    s = _positive("sigma_min", sigma_min)
    return DecayFunction("gaussian", {"sigma_min": s}, math.inf, lambda t: np.exp(-(t**2) / (2.0 * s * s)))
