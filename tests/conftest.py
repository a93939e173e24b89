"""Shared fixtures: the real open data sets in ../shared/data, and the sample city."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data sets listed in ../shared/data/MANIFEST.md; skips when absent."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_city_dir() -> Path:
    """The project's generated sample city (sample_data/)."""
    from cimkit.datasets import sample_city_path

    return sample_city_path()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the bad-input corpus table (tests/corpus) when corpus cases ran."""
    rows = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for key, value in getattr(report, "user_properties", ()):
                if key == "corpus":
                    rows.append(tuple(value))
    if rows:
        from tests.corpus._registry import format_table

        terminalreporter.write_sep("=", "bad-input corpus")
        terminalreporter.write_line(format_table(rows))


@pytest.fixture(autouse=True)
def _private_audit_log(tmp_path_factory):
    """Every test writes publication allowances to a log of its own, never the user's."""
    import cimkit

    with cimkit.set_options(audit_log=tmp_path_factory.mktemp("audit") / "audit.jsonl"):
        yield
