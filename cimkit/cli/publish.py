"""``cimkit publish MODEL --out DIR``: write the public consultation page of a saved model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cimkit.cli._allow import parse_allowances

__all__ = ["parse_allowances", "run_publish"]


def run_publish(
    model: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    allow: Sequence[str] | None = None,
    consultation: str | os.PathLike[str] | None = None,
) -> Path:
    """Read a saved model and write its public page into ``folder``; return ``index.html``.

    Parameters
    ----------
    model
        A model saved by ``CityModel.to_file`` (``.gpkg``), e.g. by ``cimkit build``.
    folder
        The output folder (``--out``).
    allow
        ``layer=reason`` texts (``--allow``, repeatable).
    consultation
        A TOML file describing how to give one's opinion (``--consultation``).

    Returns
    -------
    Path
        The page written.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     saved = load_sample_city(with_ifc=False).to_file(tmp / "city.gpkg")
    ...     page = run_publish(saved, tmp / "site")
    >>> page.name, (tmp / "site" / "tiles" / "tileset.json").is_file()
    ('index.html', True)
    """
    from cimkit.model import read_model
    from cimkit.viz.publish import write_public_page

    allowances = parse_allowances(allow)
    city = read_model(model)
    return write_public_page(city, folder, allow=allowances or None, consultation=consultation)
