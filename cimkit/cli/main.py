"""The ``cimkit`` command line: ``cimkit demo``, ``cimkit convert``, ``cimkit info``.

The command line alone configures logging; the library never does. ``-v`` shows what is being
done (INFO), ``-vv`` everything (DEBUG), ``-q`` only errors; by default warnings and errors.
Python warnings are routed through logging and printed as ``WARNING: message``, without
source lines. ``--progress`` / ``--no-progress`` set the ``progress`` option (progress bars on
long steps); by default bars are shown when standard error is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from cimkit import __version__
from cimkit.errors import CimkitError
from cimkit.options import set_options

__all__ = ["main"]


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    # Accepted before and after the command; in the sub-command the defaults are suppressed so
    # that ``cimkit -v convert ...`` is not reset by the sub-parser.
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=default(0), help="more log output (-vv for debug)"
    )
    common.add_argument("-q", "--quiet", action="store_true", default=default(False), help="only errors")
    common.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=default(None),
        help="progress bars on long steps (default: on when standard error is a terminal)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimkit",
        description="City Information Modeling: IFC buildings, cadastre, PLU zoning and networks in one city model.",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"cimkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = [_common_options(suppress=True)]

    demo = sub.add_parser(
        "demo", parents=common, help="build the sample city, run every analysis, write a report"
    )
    demo.add_argument("--output", "-o", default="demo-output", help="output folder (default: demo-output)")
    demo.add_argument("--sample-dir", default=None, help="sample city folder (default: the bundled one)")

    convert = sub.add_parser(
        "convert",
        parents=common,
        help="batch-convert IFC / CityJSON / CityGML / vector / OSM files to GIS and 3D formats; resumes",
    )
    convert.add_argument("inputs", nargs="+", help="files or folders (folders are searched recursively)")
    convert.add_argument(
        "--to",
        "-o",
        dest="output",
        required=True,
        help="output folder, or postgresql://user@host/db?schema=city to save into PostGIS (updated in place)",
    )
    convert.add_argument(
        "--format",
        default="gpkg",
        help="output format(s), comma-separated: gpkg, parquet, fgb, geojson, cityjson, glb, 3dtiles (default gpkg)",
    )
    convert.add_argument("--crs", default=None, help="target CRS, e.g. EPSG:2154 (default: the file's own)")
    convert.add_argument(
        "--origin",
        type=_origin_arg,
        default=None,
        metavar="X,Y[,Z[,ROT]]",
        help="map position (in --crs) of the local (0, 0) of files in local coordinates; write --origin=-5,3 for negatives",
    )
    convert.add_argument(
        "--placement",
        default=None,
        metavar="CSV",
        help="per-file placements: a CSV table input,crs,origin[,source_crs] (a <file>.cimkit.toml sidecar wins)",
    )
    convert.add_argument("--jobs", "-j", type=int, default=1, help="parallel worker processes (default 1)")
    convert.add_argument(
        "--scheduler",
        default=None,
        help="a Dask scheduler address (tcp://host:8786) to spread files over a cluster",
    )
    convert.add_argument("--no-resume", action="store_true", help="convert again files already done")
    convert.add_argument("--timeout", type=float, default=None, help="per-file time limit in seconds")

    info = sub.add_parser(
        "info", parents=common, help="describe a saved city model (.gpkg) or an IFC file's georeferencing"
    )
    info.add_argument("path")
    info.add_argument(
        "--risk-register",
        default=None,
        metavar="CSV",
        help="also write the model's risk register to this CSV",
    )
    verify = sub.add_parser(
        "verify",
        parents=common,
        help="re-hash a saved model's tables and sources, or a convert output folder",
    )
    verify.add_argument("path", help="a model .gpkg, or a cimkit convert output folder / convert-report.json")

    audit = sub.add_parser(
        "audit", parents=common, help="check the publication audit log (hash chain) and print its entries"
    )
    audit.add_argument("--log", default=None, metavar="PATH", help="the log (default: option audit_log)")
    report = sub.add_parser(
        "report", parents=common, help="write report.html and summary.md of a saved model; exit 0 ok, 1 error"
    )
    report.add_argument(
        "model", help="a saved model: city.gpkg, city.cimkit (folder or .zip), postgresql://..."
    )
    report.add_argument("--out", "-o", default="report", help="output folder (default: report)")
    report.add_argument("--audience", choices=("public", "staff"), default="public", help="default: public")
    report.add_argument(
        "--allow", action="append", default=None, metavar="LAYER=REASON", help="keep a part above public"
    )
    build = sub.add_parser(
        "build",
        parents=common,
        help="build, analyse and save a city from its recipe (city.toml); exit 0 ok, 1 a typed error, 2 usage",
    )
    build.add_argument("recipe", help="the recipe (TOML), e.g. city.toml")
    build.add_argument("--output", "-o", default=None, help="output folder (default: the recipe's folder)")
    build.add_argument(
        "--update-hashes", action="store_true", help="record the sources' current sha256 in the recipe"
    )
    publish = sub.add_parser(
        "publish", parents=common, help="write the public consultation page of a saved model (offline folder)"
    )
    publish.add_argument(
        "model", help="a saved model: city.gpkg or city.cimkit (cimkit build, CityModel.to_file)"
    )
    publish.add_argument("--out", "-o", required=True, help="the folder to write the page into")
    publish.add_argument(
        "--allow",
        action="append",
        default=None,
        metavar="LAYER=REASON",
        help="publish a layer above public (e.g. water=shared with the fire service); logged in the audit log",
    )
    publish.add_argument(
        "--consultation",
        default=None,
        metavar="TOML",
        help="how to give one's opinion: a TOML file with start, end, address, url, email",
    )
    return parser


def _origin_arg(text: str) -> tuple[float, ...]:
    from cimkit.cli._convert_placement import parse_origin_text

    try:
        return parse_origin_text(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _log_level(verbose: int, quiet: bool) -> int:
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


class _Formatter(logging.Formatter):
    """``LEVEL: message``; DEBUG lines also name their logger."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if record.levelno <= logging.DEBUG:
            return f"{record.levelname} {record.name}: {message}"
        return f"{record.levelname}: {message}"


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to standard error, through tqdm when it is loaded so that a bar is not torn."""

    def emit(self, record: logging.LogRecord) -> None:
        tqdm = sys.modules.get("tqdm")
        if tqdm is None:
            super().emit(record)
            return
        try:
            tqdm.tqdm.write(self.format(record), file=self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _format_warning(message: Any, category: Any, filename: Any, lineno: Any, line: Any = None) -> str:
    # The text of a warning alone: no file name, line number or source line.
    text = str(message).strip()
    if category is UserWarning or not isinstance(category, type):
        return text
    return f"{category.__name__}: {text}"


@contextlib.contextmanager
def _logging_configured(level: int) -> Iterator[None]:
    """Configure logging for one run of the command, and put everything back afterwards."""
    handler = _Handler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    package = logging.getLogger("cimkit")
    saved = (root.level, package.level, warnings.formatwarning)
    # Other libraries' loggers show their warnings and errors only; cimkit's follow -v / -q.
    root.setLevel(max(level, logging.WARNING))
    package.setLevel(level)
    root.addHandler(handler)
    warnings.formatwarning = _format_warning
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(saved[0])
        package.setLevel(saved[1])
        warnings.formatwarning = saved[2]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cimkit`` console script.

    Parameters
    ----------
    argv
        The arguments after the program name; by default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit code: 0 on success, 1 when ``convert`` failed on some file or ``verify`` found a
        changed or lost item, 2 on an error, 130 / 143 when ``convert`` was stopped by SIGINT /
        SIGTERM
        (the message is printed on standard error).

    Examples
    --------
    >>> main(["-q", "info", "no-such-model.gpkg"])  # the error is printed on standard error
    2
    """
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    with _logging_configured(_log_level(args.verbose, args.quiet)), set_options(progress=progress):
        try:
            return _run(args)
        except CimkitError as err:
            logging.getLogger("cimkit.cli").debug("error details", exc_info=True)
            print(f"cimkit: error[{err.code}]: {err}", file=sys.stderr)
            return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from cimkit.cli.demo import run_demo

        run_demo(args.output, sample_dir=args.sample_dir)
        return 0
    if args.command == "convert" and args.output.startswith(("postgresql://", "postgres://")):
        from cimkit.cli._convert_postgis import run_convert_postgis

        report = run_convert_postgis(args.inputs, args.output, crs=args.crs, timeout_s=args.timeout)
        return 0 if report.failed == 0 else 1
    if args.command == "convert":
        from cimkit.cli.convert import run_convert

        report = run_convert(
            args.inputs,
            args.output,
            output_format=args.format,
            crs=args.crs,
            origin=args.origin,
            placement_table=args.placement,
            jobs=args.jobs,
            scheduler=args.scheduler,
            resume=not args.no_resume,
            timeout_s=args.timeout,
            verbosity=-1 if args.quiet else min(args.verbose, 1),
            command=["cimkit", *getattr(args, "argv", sys.argv[1:])],
        )
        return report.exit_code
    if args.command == "verify":
        from cimkit.cli.verify import run_verify

        text, code = run_verify(args.path)
        print(text)
        return code
    if args.command == "info":
        from cimkit.cli.info import run_info

        print(run_info(args.path, risk_register=args.risk_register))
        return 0
    if args.command == "audit":
        from cimkit.cli.audit import run_audit

        print(run_audit(args.log))
        return 0
    if args.command == "report":  # a typed error exits with 1, a bad --allow with 2 (usage)
        from cimkit.cli.report import parse_allowances, run_report

        try:
            allow = parse_allowances(args.allow)
        except CimkitError as err:
            print(f"cimkit report: error[{err.code}]: {err}", file=sys.stderr)
            return 2
        try:
            print(run_report(args.model, args.out, audience=args.audience, allow=allow))
        except CimkitError as err:
            logging.getLogger("cimkit.cli").debug("error details", exc_info=True)
            print(f"cimkit: error[{err.code}]: {err}", file=sys.stderr)
            return 1
        return 0
    if args.command == "publish":
        from cimkit.cli.publish import run_publish

        print(run_publish(args.model, args.out, allow=args.allow, consultation=args.consultation))
        return 0
    if args.command == "build":  # a typed error exits with 1 (documented in docs/recipe.md)
        from cimkit.cli.build import run_build

        try:
            text = run_build(
                args.recipe, output=args.output, update_hashes=args.update_hashes, quiet=args.quiet
            )
        except CimkitError as err:
            logging.getLogger("cimkit.cli").debug("error details", exc_info=True)
            print(f"cimkit: error[{err.code}]: {err}", file=sys.stderr)
            return 1
        if text:
            print(text)
        return 0
    return 2  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
