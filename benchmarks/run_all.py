"""Run every benchmark in its quick form, one after the other, and keep their output.

Each benchmark runs cimkit and its named peer side by side in one process and prints the
ratios; this script only sequences them and writes the combined output to
``benchmarks/results/latest.txt`` (git-ignored).

    python benchmarks/run_all.py --quick      # a few minutes per benchmark on 2 cores
    python benchmarks/run_all.py              # the issues' full sizes (long)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "bench_ifc.py",
    "bench_merge.py",
    "bench_network_build.py",
    "bench_flood.py",
    "bench_accessibility.py",
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("names", nargs="*", help="a subset of benchmark files to run")
    args = parser.parse_args()
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    lines: list[str] = []
    failed = 0
    for name in args.names or BENCHMARKS:
        cmd = [sys.executable, str(HERE / name), *(["--quick"] if args.quick else [])]
        print(f"\n=== {' '.join(cmd[1:])}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout, end="")
        if proc.returncode:
            failed += 1
            print(proc.stderr[-2000:], file=sys.stderr)
        lines += [f"=== {name} (exit {proc.returncode})", proc.stdout]
    (out_dir / "latest.txt").write_text("\n".join(lines), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
