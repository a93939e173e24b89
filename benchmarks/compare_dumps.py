"""Compare two building tables written by ``bench_city.py --dump`` (before / after a change).

    python benchmarks/compare_dumps.py before.parquet after.parquet

Prints "identical" (same rows, columns, dtypes and values; geometries byte-equal as WKB) and exits
0, or lists the columns that differ and exits 1. The provenance steps (``*.steps.json``: action,
detail, parameter names; times left out) are compared too, as sets of distinct steps: step times are kept to the second and the merge of
the per-file IFC records drops a step equal to one already kept, so how many identical steps
remain depends on how many files were read within the same second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def compare(before: Path, after: Path) -> list[str]:
    """Return what differs between the two dumps (empty when identical)."""
    a, b = pd.read_parquet(before), pd.read_parquet(after)
    problems = []
    if list(a.columns) != list(b.columns):
        problems.append(f"columns: {sorted(set(a.columns) ^ set(b.columns))} / order")
    if not a.index.equals(b.index):
        problems.append("index (ids or order)")
    for column in a.columns.intersection(b.columns):
        try:
            pd.testing.assert_series_equal(a[column], b[column], check_exact=True)
        except AssertionError as err:
            problems.append(f"{column}: {str(err).splitlines()[0]}")
    steps = [Path(str(p) + ".steps.json") for p in (before, after)]
    if all(p.is_file() for p in steps):
        distinct = [{json.dumps(step) for step in json.loads(p.read_text())} for p in steps]
        if distinct[0] != distinct[1]:
            problems.append(f"provenance steps: {sorted(distinct[0] ^ distinct[1])[:3]}")
    return problems


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(found) if found else "identical")
    sys.exit(1 if found else 0)
