"""Decay functions against their formulas evaluated by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimkit.analysis.accessibility import DecayFunction
from cimkit.errors import ValidationError


def test_negative_exponential():
    f = DecayFunction.negative_exponential(0.1)
    # e^(-0.1*10) = e^-1 = 0.36787944117144233
    np.testing.assert_allclose(f([0.0, 10.0, 20.0]), [1.0, 0.36787944117144233, math.exp(-2)], rtol=1e-15)
    assert f.support == math.inf and f.name == "negative_exponential"


def test_power_is_one_up_to_one_minute():
    f = DecayFunction.power(2.0)
    # t^-2: 2 min -> 0.25, 4 min -> 0.0625; t <= 1 -> 1 (no blow-up at 0)
    np.testing.assert_allclose(f([0.0, 0.5, 1.0, 2.0, 4.0]), [1, 1, 1, 0.25, 0.0625])


def test_linear_and_binary():
    linear = DecayFunction.linear(max_time_min=10)
    binary = DecayFunction.binary(max_time_min=10)
    np.testing.assert_allclose(linear([0, 2.5, 5, 10, 15]), [1, 0.75, 0.5, 0, 0])
    np.testing.assert_array_equal(binary([0, 10, 10.0001]), [1, 1, 0])  # inclusive
    assert linear.support == 10 and binary.support == 10
    # the named constructors and the plain one agree; parameters are kept by name
    assert DecayFunction("linear", {"max_time_min": 10}) == linear
    assert linear.params == {"max_time_min": 10.0} and linear.name == "linear"


def test_logistic_half_at_median():
    f = DecayFunction.logistic(median_min=15.0, slope=0.5)
    assert f(15.0) == pytest.approx(0.5)
    # 1 / (1 + e^(0.5 * 2 ln 3)) = 1 / (1 + 3) = 0.25
    assert f(15.0 + 2 * math.log(3)) == pytest.approx(0.25)
    assert f(0.0) > 0.99


def test_gaussian():
    f = DecayFunction.gaussian(sigma_min=10.0)
    # e^(-t^2 / (2 sigma^2)) at t = sigma -> e^-0.5
    assert f(10.0) == pytest.approx(math.exp(-0.5))
    assert f(20.0) == pytest.approx(math.exp(-2.0))


def test_unreachable_weighs_zero_and_parameters_are_checked():
    D = DecayFunction
    for f in (
        D.negative_exponential(0.1),
        D.power(1),
        D.linear(5),
        D.logistic(10, 1),
        D.gaussian(5),
        D.binary(5),
    ):
        assert f([np.nan])[0] == 0.0
    with pytest.raises(ValidationError):
        D.linear(0)
    with pytest.raises(ValidationError):
        D.gaussian(-1)
    with pytest.raises(ValidationError):
        D.negative_exponential(float("nan"))
    with pytest.raises(ValidationError, match="one of"):
        DecayFunction("cubic", {})
