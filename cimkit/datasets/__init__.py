"""The bundled sample city: a small, synthetic, deterministic French town in EPSG:2154.

>>> from cimkit import datasets
>>> (datasets.sample_city_path() / "manifest.json").is_file()
True
"""

from __future__ import annotations

from typing import Any

from cimkit.datasets.sample import SAMPLE_CRS, load_sample_city, sample_city_path

__all__ = ["SAMPLE_CRS", "generate_sample_city", "load_sample_city", "sample_city_path"]


def generate_sample_city(folder: Any, *, seed: int = 2154) -> Any:
    """Write the sample city's files into ``folder`` (see :mod:`cimkit.datasets.generator`)."""
    from cimkit.datasets.generator import generate_sample_city as _generate

    return _generate(folder, seed=seed)
