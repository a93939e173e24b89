"""Shared hypothesis settings and helpers of the fuzz tests (tests/fuzz).

The fuzz runs are bounded so that they fit in CI: a fixed number of examples per test, no
deadline (the first call of a reader loads GDAL or starts a worker), a derandomised example
sequence (the same inputs on every run, so a failure reproduces) and no example database.

A longer, random run for a developer hunting crashes: ``CIMKIT_FUZZ_EXAMPLES=2000 pytest tests/fuzz``
(every test then draws that many fresh random examples).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_LONG_RUN = int(os.environ.get("CIMKIT_FUZZ_EXAMPLES", "0") or 0)

#: Property tests on in-memory inputs (cheap).
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Bounded fuzz runs of the file readers (each example writes and reads a file).
READER = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

#: The same, for properties whose inputs are all valid (fewer examples suffice).
READER_SHORT = settings(READER, max_examples=30)

if _LONG_RUN > 0:
    PROPERTY, READER, READER_SHORT = (
        settings(profile, max_examples=_LONG_RUN, derandomize=False)
        for profile in (PROPERTY, READER, READER_SHORT)
    )


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply ``(position, n_deleted, inserted)`` edits to ``data`` (positions wrap around its length)."""
    out = bytearray(data)
    for position, deleted, inserted in edits:
        at = position % (len(out) + 1)
        out[at : at + deleted] = inserted
    return bytes(out)
