"""``cimkit report MODEL [--out DIR] [--audience public|staff] [--allow LAYER=REASON]``.

Writes ``report.html``, ``summary.md`` and the maps of a saved city model
(:func:`cimkit.viz.write_report`) and prints the paths written. Exit 0 when the report is
written, 1 on a typed error (a missing model, a layer above public not allowed), 2 on a usage
error (argparse, or an ``--allow`` without ``=``).
"""

from __future__ import annotations

import os
from typing import Literal

from cimkit.cli._allow import parse_allowances

__all__ = ["parse_allowances", "run_report"]


def run_report(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str] = "report",
    *,
    audience: Literal["public", "staff"] = "public",
    allow: dict[str, str] | None = None,
) -> str:
    """Write the report of the saved model at ``path`` into ``output``; return the lines to print.

    Parameters
    ----------
    path
        A model saved by cimkit (``city.gpkg``).
    output
        The folder to write into.
    audience
        ``"public"`` (default, sensitive parts withheld) or ``"staff"`` (everything).
    allow
        Layer or network name -> reason to keep a part above public in a public report.

    Returns
    -------
    str
        A heading, then the path of each file written, one a line.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> folder = tempfile.mkdtemp()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     saved = load_sample_city(with_ifc=False).to_file(f"{folder}/city.gpkg")
    ...     text = run_report(saved, f"{folder}/out")
    >>> [line.rsplit("/", 1)[-1] for line in text.splitlines()[1:]]
    ['report.html', 'summary.md']
    """
    from cimkit.viz.model_report import write_report

    paths = write_report(path, output, audience=audience, allow=allow)
    lines = [f"cimkit report ({audience}):"]
    lines += [f"  {os.fspath(written)}" for written in (paths.html, paths.markdown, *paths.figures)]
    return "\n".join(lines)
