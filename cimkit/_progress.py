"""Progress bars on long work, switched by the ``progress`` option.

A thin wrapper around tqdm for the library's long loops (a batch of files, many scenarios,
many origins). It shows a bar on standard error only when ``cimkit.get_options()["progress"]``
is true (the command line turns it on when standard error is a terminal); otherwise it returns
the iterable unchanged, so the library stays silent by default. tqdm is imported only when a bar
is shown.

Usage in a module of cimkit::

    from cimkit._progress import track

    for path in track(paths, description="reading IFC files", total=len(paths)):
        ...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from cimkit.options import get_options

__all__ = ["progress_enabled", "track"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """Return whether progress bars are on (the ``progress`` option)."""
    return bool(get_options()["progress"])


def track(
    iterable: Iterable[T],
    *,
    description: str = "",
    total: int | None = None,
    unit: str = "it",
) -> Iterator[T]:
    """Iterate over ``iterable``, with a tqdm bar on standard error when the option is on.

    Parameters
    ----------
    iterable
        What to iterate over.
    description
        A short text shown before the bar (``"converting files"``).
    total
        The number of items, when ``iterable`` has no ``len()`` (a generator).
    unit
        The name of one item (``"file"``, ``"scenario"``).

    Yields
    ------
    object
        The items of ``iterable``, unchanged.

    Examples
    --------
    >>> import cimkit
    >>> with cimkit.set_options(progress=False):
    ...     list(track(range(3), description="counting"))
    [0, 1, 2]
    """
    if not progress_enabled():
        yield from iterable
        return
    from tqdm.auto import tqdm

    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with tqdm(iterable, desc=description or None, total=total, unit=unit, leave=False) as bar:
        yield from bar
