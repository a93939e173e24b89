"""The bundled sample city: a small, synthetic, deterministic French town in EPSG:2154.

- :func:`sample_city_path`: the folder of its files (IFC models, cadastre, PLU, networks, DEM);
- :func:`load_sample_city`: the whole city as a :class:`~cimkit.model.CityModel`;
- :func:`load_sample_flood_scenarios`: its river flood levels by return period;
- :func:`generate_sample_city`: write the files again, anywhere;
- :func:`generate_city`: a synthetic city of the same kind at any size (1k to 1M buildings).

Examples
--------
>>> from cimkit import datasets
>>> (datasets.sample_city_path() / "manifest.json").is_file()
True
"""

from __future__ import annotations

import os
from pathlib import Path

from cimkit.datasets.sample import SAMPLE_CRS, load_sample_city, load_sample_flood_scenarios, sample_city_path

__all__ = [
    "SAMPLE_CRS",
    "generate_city",
    "generate_sample_city",
    "load_sample_city",
    "load_sample_flood_scenarios",
    "sample_city_path",
]


def __getattr__(name: str):
    # generate_city is imported on first use, so that ``python -m cimkit.datasets.city`` runs cleanly
    if name == "generate_city":
        from cimkit.datasets.city import generate_city

        return generate_city
    raise AttributeError(f"module 'cimkit.datasets' has no attribute {name!r}")


def generate_sample_city(folder: str | os.PathLike[str], *, seed: int = 2154) -> Path:
    """Write the sample city's files into ``folder`` and return the folder.

    The files are byte-identical for one ``seed``; see
    :func:`cimkit.datasets.generator.generate_sample_city` for what they hold.

    Parameters
    ----------
    folder
        Destination folder; created if missing. Files of the sample city are overwritten
        (atomically), other files are left alone.
    seed
        Seed of the random choices (lot widths, building placement, micro-relief).

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    cimkit.errors.InputError
        ``seed`` is not a non-negative integer, or ``folder`` exists and is not a folder.

    Examples
    --------
    A generation takes about ten seconds (the generator's own example runs one); the inputs are
    checked first:

    >>> from cimkit.datasets import generate_sample_city
    >>> generate_sample_city("unused", seed=-1)
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: 'seed' must be a non-negative integer; -1 was given. Fix: pass e.g. seed=2154
    """
    from cimkit.datasets.generator import generate_sample_city as _generate

    return _generate(folder, seed=seed)
