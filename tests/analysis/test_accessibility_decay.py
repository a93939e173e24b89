"""Decay functions against their formulas evaluated by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimkit.analysis.accessibility import binary, gaussian, linear, logistic, negative_exponential, power
from cimkit.errors import ValidationError


def test_negative_exponential():
    f = negative_exponential(0.1)
    # e^(-0.1*10) = e^-1 = 0.36787944117144233
    np.testing.assert_allclose(f([0.0, 10.0, 20.0]), [1.0, 0.36787944117144233, math.exp(-2)], rtol=1e-15)
    assert f.support == math.inf and f.name == "negative_exponential"


def test_power_is_one_up_to_one_minute():
    f = power(2.0)
    # t^-2: 2 min -> 0.25, 4 min -> 0.0625; t <= 1 -> 1 (no blow-up at 0)
    np.testing.assert_allclose(f([0.0, 0.5, 1.0, 2.0, 4.0]), [1, 1, 1, 0.25, 0.0625])


def test_linear_and_binary():
    np.testing.assert_allclose(linear(10)([0, 2.5, 5, 10, 15]), [1, 0.75, 0.5, 0, 0])
    np.testing.assert_array_equal(binary(10)([0, 10, 10.0001]), [1, 1, 0])  # inclusive
    assert linear(10).support == 10 and binary(10).support == 10


def test_logistic_half_at_median():
    f = logistic(15.0, 0.5)
    assert f(15.0) == pytest.approx(0.5)
    # 1 / (1 + e^(0.5 * 2 ln 3)) = 1 / (1 + 3) = 0.25
    assert f(15.0 + 2 * math.log(3)) == pytest.approx(0.25)
    assert f(0.0) > 0.99


def test_gaussian():
    f = gaussian(10.0)
    # e^(-t^2 / (2 sigma^2)) at t = sigma -> e^-0.5
    assert f(10.0) == pytest.approx(math.exp(-0.5))
    assert f(20.0) == pytest.approx(math.exp(-2.0))


def test_unreachable_weighs_zero_and_parameters_are_checked():
    for f in (negative_exponential(0.1), power(1), linear(5), logistic(10, 1), gaussian(5), binary(5)):
        assert f([np.nan])[0] == 0.0
    with pytest.raises(ValidationError):
        linear(0)
    with pytest.raises(ValidationError):
        gaussian(-1)
    with pytest.raises(ValidationError):
        negative_exponential(float("nan"))
