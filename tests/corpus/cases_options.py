"""Corpus cases: options and resource limits given wrong values."""

from __future__ import annotations

import cimkit
from tests.corpus._registry import corpus_case


@corpus_case("options/unknown-name", expect="error", code="ARG001")
def _unknown_option(tmp, shared):
    cimkit.set_options(max_pixel=10)


@corpus_case("options/negative-limit", expect="error", code="ARG001")
def _negative_limit(tmp, shared):
    cimkit.set_options(max_pixels=-1)


@corpus_case("options/limit-in-a-block", expect="ok")
def _limit_block(tmp, shared):
    before = cimkit.get_options()["max_features"]
    with cimkit.set_options(max_features=10):
        assert cimkit.get_options()["max_features"] == 10
    assert cimkit.get_options()["max_features"] == before
