"""The ``cimkit`` command line: ``cimkit demo``, ``cimkit convert``, ``cimkit info``.

The CLI alone configures logging (``-v`` / ``-q``); the library never does.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cimkit import __version__
from cimkit.errors import CimkitError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimkit",
        description="City Information Modeling: IFC buildings, cadastre, PLU zoning and networks in one city model.",
    )
    parser.add_argument("--version", action="version", version=f"cimkit {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build the sample city, run every analysis, write a report")
    demo.add_argument("--output", "-o", default="demo-output", help="output folder (default: demo-output)")
    demo.add_argument("--sample-dir", default=None, help="sample city folder (default: the bundled one)")

    convert = sub.add_parser(
        "convert",
        help="batch-convert IFC / vector files to GeoPackage or GeoParquet; survives bad files, resumes",
    )
    convert.add_argument("inputs", nargs="+", help="files or folders (folders are searched recursively)")
    convert.add_argument("--to", "-o", dest="output", required=True, help="output folder")
    convert.add_argument("--format", choices=["gpkg", "parquet", "geojson"], default="gpkg")
    convert.add_argument("--crs", default=None, help="target CRS, e.g. EPSG:2154 (default: the file's own)")
    convert.add_argument("--jobs", "-j", type=int, default=1, help="parallel worker processes (default 1)")
    convert.add_argument(
        "--scheduler",
        default=None,
        help="a Dask scheduler address (tcp://host:8786) to spread files over a cluster",
    )
    convert.add_argument("--no-resume", action="store_true", help="convert again files already done")
    convert.add_argument("--timeout", type=float, default=None, help="per-file time limit in seconds")

    info = sub.add_parser("info", help="describe a saved city model (.gpkg) or an IFC file's georeferencing")
    info.add_argument("path")
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.INFO if verbose <= 1 else logging.DEBUG)
    if not quiet and verbose == 0:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("cimkit")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cimkit`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        if args.command == "demo":
            from cimkit.cli.demo import run_demo

            run_demo(args.output, sample_dir=args.sample_dir)
            return 0
        if args.command == "convert":
            from cimkit.cli.convert import run_convert

            report = run_convert(
                args.inputs,
                args.output,
                fmt=args.format,
                crs=args.crs,
                jobs=args.jobs,
                scheduler=args.scheduler,
                resume=not args.no_resume,
                timeout_s=args.timeout,
            )
            return 0 if report.failed == 0 else 1
        if args.command == "info":
            from cimkit.cli.info import run_info

            print(run_info(args.path))
            return 0
    except CimkitError as err:
        print(f"cimkit: error: {err}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
