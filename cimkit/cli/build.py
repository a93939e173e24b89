"""``cimkit build RECIPE``: build, analyse and save a city from its recipe (``city.toml``).

Exit codes: 0 the city was built and every output written; 1 a typed error (the recipe, a
source or an analysis; printed as ``cimkit: error[RCP005]: ...`` on standard error); 2 a usage
error (a missing argument, an unknown flag).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["run_build"]


def run_build(
    recipe: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    update_hashes: bool = False,
    quiet: bool = False,
) -> str:
    r"""Build the city of ``recipe`` and return the text to print: each step with its time, the outputs.

    Parameters
    ----------
    recipe
        The recipe file.
    output
        The folder the outputs are written into (default: the recipe's folder).
    update_hashes
        Record the sources' current sha256 in the recipe instead of refusing changed sources.
    quiet
        Return an empty text (errors still raise).

    Returns
    -------
    str
        The steps and their times, then the files written.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = shutil.copy(sample_city_path() / "pois.geojson", folder)
    >>> _ = (folder / "city.toml").write_text('[city]\ncrs = 2154\n[sources.pois]\npath = "pois.geojson"\n')
    >>> print(run_build(folder / "city.toml").splitlines()[-1])  # doctest: +ELLIPSIS
    built 'city' (1 layer(s), 0 network(s)) in ... s; no output written ([outputs] is empty)
    >>> shutil.rmtree(folder)
    """
    from cimkit.recipe import build_city

    result = build_city(recipe, output=output, update_hashes=update_hashes)
    if quiet:
        return ""
    width = max(len(step) for step in result.timings)
    lines = [f"  {step:<{width}}  {seconds:7.2f} s" for step, seconds in result.timings.items()]
    for name, path in result.outputs.items():
        lines.append(f"  {name:<{width}}  {path}")
    model = result.model
    written = (
        f"outputs in {Path(output) if output is not None else result.recipe.parent}"
        if result.outputs
        else "no output written ([outputs] is empty)"
    )
    lines.append(
        f"built {model.name!r} ({len(model.layers)} layer(s), {len(model.networks)} network(s)) in "
        f"{sum(result.timings.values()):.1f} s; {written}"
    )
    return "\n".join(lines)
