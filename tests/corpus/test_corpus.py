"""Run every corpus case and compare its outcome with the expected one.

The table of all cases (case, expected, outcome, code, verdict) is printed at the end of the
test session, and by ``python -m tests.corpus``.
"""

from __future__ import annotations

import pytest

from tests.corpus._registry import load_all_cases, run_case

CASES = load_all_cases()


def _params():
    for name, case in sorted(CASES.items()):
        marks = [pytest.mark.slow] if case.slow else []
        yield pytest.param(case, id=name, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_case(case, tmp_path, request):
    shared = None
    if case.needs_shared:
        shared = request.getfixturevalue("shared_data")
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_case(case, work, shared)
    code = ",".join(outcome.codes)
    verdict = "met" if outcome.meets(case) else "NOT MET"
    expected = case.expect + (f" {case.code}" if case.code else "")
    request.node.user_properties.append(("corpus", (case.name, expected, outcome.kind, code, verdict)))
    # nothing may be written outside the case's own folder
    stray = sorted(p.name for p in tmp_path.iterdir() if p.name != "work")
    assert not stray, f"{case.name}: files written outside the target folder: {stray}"
    assert outcome.meets(case), (
        f"{case.name}: expected {expected}, got {outcome.kind} {code}: {outcome.detail}"
    )


def test_corpus_size_and_spread():
    """The corpus holds at least 60 cases and covers every reader area."""
    assert len(CASES) >= 60, f"only {len(CASES)} corpus cases"
    areas = {name.split("/")[0] for name in CASES}
    assert len(areas) >= 8, sorted(areas)
