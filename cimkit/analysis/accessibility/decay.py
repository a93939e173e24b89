"""Distance-decay (impedance) functions for gravity accessibility and 2SFCA.

A :class:`DecayFunction` maps travel times (minutes, any array shape) to weights in [0, 1]; NaN
times (unreachable) weigh 0. It is built with one of its named constructors. Formulas (see the
accessibility chapter of ``docs/accessibility.md``; Hansen 1959, "How accessibility shapes land
use", J. Am. Inst. Planners 25(2); Kwan 1998, "Space-time and integral measures of individual
accessibility", Geographical Analysis 30(3) for the family of impedance functions):

=================================================  ========================================  ========================
constructor                                        f(t)                                      support (f > 0)
=================================================  ========================================  ========================
``DecayFunction.binary(max_time_min=T)``           1 if t <= T else 0                        t <= T
``DecayFunction.negative_exponential(beta)``       exp(-beta t)                              all t
``DecayFunction.power(beta)``                      t^-beta for t > 1, 1 for t <= 1           all t
``DecayFunction.linear(max_time_min=T)``           max(0, 1 - t / T)                         t < T
``DecayFunction.logistic(median_min=m, slope=s)``  1 / (1 + exp(s (t - m)))  (0.5 at t = m)  all t
``DecayFunction.gaussian(sigma_min=sigma)``        exp(-t^2 / (2 sigma^2))                   all t
=================================================  ========================================  ========================

Examples
--------
>>> from cimkit.analysis.accessibility import DecayFunction
>>> DecayFunction.linear(max_time_min=10)([0.0, 5.0, 12.0]).tolist()
[1.0, 0.5, 0.0]
>>> float(DecayFunction.logistic(median_min=15, slope=0.3)(15.0))
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cimkit.errors import ValidationError

__all__ = ["DecayFunction"]


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not (ok and math.isfinite(v)):
        sign = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name!r} must be a finite number {sign}; {value!r} was given.")
    return v


def _formula(name: str, p: Mapping[str, float]) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """Return the weight function of a family and its support (largest time with a non-zero weight)."""
    if name == "binary":
        T = _positive("max_time_min", p["max_time_min"], allow_zero=True)
        return (lambda t: (t <= T).astype("float64")), T
    if name == "linear":
        T = _positive("max_time_min", p["max_time_min"])
        return (lambda t: np.maximum(0.0, 1.0 - t / T)), T
    if name == "negative_exponential":
        b = _positive("beta", p["beta"], allow_zero=True)
        return (lambda t: np.exp(-b * t)), math.inf
    if name == "power":
        b = _positive("beta", p["beta"], allow_zero=True)
        return (lambda t: np.where(t <= 1.0, 1.0, t ** (-b))), math.inf
    if name == "logistic":
        m = _positive("median_min", p["median_min"], allow_zero=True)
        s = _positive("slope", p["slope"])
        return (lambda t: 1.0 / (1.0 + np.exp(s * (t - m)))), math.inf
    if name == "gaussian":
        sigma = _positive("sigma_min", p["sigma_min"])
        return (lambda t: np.exp(-(t**2) / (2.0 * sigma * sigma))), math.inf
    raise ValidationError(
        f"'name' must be one of binary, linear, negative_exponential, power, logistic, gaussian; "
        f"{name!r} was given."
    )


@dataclass(frozen=True, init=False)
class DecayFunction:
    """A decay function of travel time (minutes): its family name and parameters.

    Build one with a named constructor (:meth:`binary`, :meth:`linear`,
    :meth:`negative_exponential`, :meth:`power`, :meth:`logistic`, :meth:`gaussian`); calling it
    on times in minutes gives weights in [0, 1] (NaN times weigh 0).

    Parameters
    ----------
    name
        Function family (``"binary"``, ``"linear"``, ``"negative_exponential"``, ``"power"``,
        ``"logistic"``, ``"gaussian"``).
    params
        Its parameters by name, as the named constructor takes them (minutes or per-minute
        rates), e.g. ``{"max_time_min": 15.0}``.

    Examples
    --------
    >>> from cimkit.analysis.accessibility import DecayFunction
    >>> f = DecayFunction.binary(max_time_min=15)
    >>> f([10.0, 15.0, 20.0, float("nan")]).tolist()
    [1.0, 1.0, 0.0, 0.0]
    >>> f.support, DecayFunction("binary", {"max_time_min": 15}) == f
    (15.0, True)
    """

    name: str
    params: dict[str, float]
    _fn: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    _support: float = field(repr=False, compare=False)

    def __init__(self, name: str, params: Mapping[str, float]) -> None:
        fn, support = _formula(name, params)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", {k: float(v) for k, v in params.items()})
        object.__setattr__(self, "_fn", fn)
        object.__setattr__(self, "_support", support)

    @property
    def support(self) -> float:
        """Largest time with a non-zero weight, minutes (``inf`` when the weight never reaches 0).

        Network searches use it as their time budget.
        """
        return self._support

    def __call__(self, minutes: Any) -> np.ndarray:
        """Weights of travel times given in minutes (NaN, i.e. unreachable, weighs 0)."""
        t = np.asarray(minutes, dtype="float64")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            w = self._fn(t)
        return np.where(np.isnan(t), 0.0, w)

    @classmethod
    def binary(cls, max_time_min: float) -> DecayFunction:
        """Cumulative (step) decay: 1 within ``max_time_min`` minutes (inclusive), 0 beyond.

        Examples
        --------
        >>> DecayFunction.binary(max_time_min=10)([0, 10, 10.5]).tolist()
        [1.0, 1.0, 0.0]
        """
        return cls("binary", {"max_time_min": max_time_min})

    @classmethod
    def negative_exponential(cls, beta: float) -> DecayFunction:
        """``exp(-beta * t)``; ``beta`` per minute (e.g. 0.1: weight 0.22 at 15 min).

        Examples
        --------
        >>> DecayFunction.negative_exponential(beta=0.1)([0.0, 15.0]).round(3).tolist()
        [1.0, 0.223]
        """
        return cls("negative_exponential", {"beta": beta})

    @classmethod
    def power(cls, beta: float) -> DecayFunction:
        """``t ** -beta`` for ``t > 1`` minute, and 1 for ``t <= 1`` (keeps the weight finite).

        Examples
        --------
        >>> DecayFunction.power(beta=2)([0.5, 2.0, 4.0]).tolist()
        [1.0, 0.25, 0.0625]
        """
        return cls("power", {"beta": beta})

    @classmethod
    def linear(cls, max_time_min: float) -> DecayFunction:
        """``max(0, 1 - t / T)``: 1 at 0 min, falling linearly to 0 at ``T = max_time_min``.

        Examples
        --------
        >>> DecayFunction.linear(max_time_min=20)([0.0, 5.0, 30.0]).tolist()
        [1.0, 0.75, 0.0]
        """
        return cls("linear", {"max_time_min": max_time_min})

    @classmethod
    def logistic(cls, median_min: float, slope: float) -> DecayFunction:
        """``1 / (1 + exp(slope * (t - median)))``: 0.5 at ``median_min``; ``slope`` per minute.

        Examples
        --------
        >>> DecayFunction.logistic(median_min=15, slope=0.5)([15.0]).tolist()
        [0.5]
        """
        return cls("logistic", {"median_min": median_min, "slope": slope})

    @classmethod
    def gaussian(cls, sigma_min: float) -> DecayFunction:
        """``exp(-t**2 / (2 sigma**2))``; ``sigma_min`` in minutes.

        Examples
        --------
        >>> DecayFunction.gaussian(sigma_min=10)([0.0, 10.0]).round(4).tolist()  # 1, e^-0.5
        [1.0, 0.6065]
        """
        return cls("gaussian", {"sigma_min": sigma_min})
