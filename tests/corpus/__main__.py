"""``python -m tests.corpus [-k SUBSTRING]``: run the corpus and print its table."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.conftest import SHARED_DATA
from tests.corpus._registry import format_table, load_all_cases, run_case


def main(argv: list[str]) -> int:
    pattern = argv[argv.index("-k") + 1] if "-k" in argv else ""
    shared = SHARED_DATA if (SHARED_DATA / "MANIFEST.md").is_file() else None
    rows = []
    for name, case in sorted(load_all_cases().items()):
        if pattern not in name or (case.needs_shared and shared is None):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_case(case, Path(tmp), shared)
        expected = case.expect + (f" {case.code}" if case.code else "")
        verdict = "met" if outcome.meets(case) else "NOT MET"
        rows.append((name, expected, outcome.kind, ",".join(outcome.codes), verdict))
        if verdict != "met":
            print(f"{name}: {outcome.detail}", file=sys.stderr)
    print(format_table(rows))
    return 0 if all(r[4] == "met" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
