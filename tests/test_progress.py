"""Progress bars follow the ``progress`` option and never change what is iterated."""

from __future__ import annotations

import cimkit
from cimkit._progress import progress_enabled, track


def test_off_by_default_and_silent(capsys):
    assert cimkit.get_options()["progress"] is False and not progress_enabled()
    assert list(track(["a", "b"], description="reading")) == ["a", "b"]
    assert capsys.readouterr().err == ""


def test_on_draws_a_bar_on_stderr(capsys):
    with cimkit.set_options(progress=True):
        assert progress_enabled()
        items = list(track((i * i for i in range(4)), description="squaring", total=4, unit="number"))
    assert items == [0, 1, 4, 9]
    err = capsys.readouterr().err
    assert "squaring:" in err and "0/4" in err and "number" in err


def test_length_taken_from_the_iterable(capsys):
    with cimkit.set_options(progress=True):
        assert list(track(range(5), description="counting")) == [0, 1, 2, 3, 4]
    assert "0/5" in capsys.readouterr().err
