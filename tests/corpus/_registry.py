"""The corpus registry: ``@corpus_case`` declares a case, :func:`run_case` runs and classifies it.

A case is a function ``(tmp, shared) -> result``: it writes its hostile input under ``tmp``
(built at test time, from scratch or from a file of ``shared`` -- the real data sets, ``None``
when absent), calls a cimkit reader, writer or analysis on it, and asserts on the result when
one comes back (coordinates, counts, provenance steps). The runner classifies what happened:

- ``ok``: returned, no cimkit warning;
- ``repaired``: returned with one or more :class:`~cimkit.errors.CimkitWarning` (their codes);
- ``error``: raised a :class:`~cimkit.errors.CimkitError` (its code);
- ``UNTYPED``: raised anything else (a failure of cimkit, never acceptable);
- ``ASSERT``: returned a wrong result (an assertion of the case failed);
- ``HUNG``: did not finish within the time limit.

Every case states its expected outcome and code; the test compares.
"""

from __future__ import annotations

import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASE_TIME_LIMIT_S = 120


@dataclass(frozen=True)
class Case:
    """One corpus case: its name (``"area/what"``), expected outcome and code, and its function."""

    name: str
    expect: str  # "ok" | "repaired" | "error"
    code: str | None
    func: Callable[[Path, Path | None], Any]
    needs_shared: bool = False
    slow: bool = False


@dataclass
class Outcome:
    """What a case did: ``kind`` (ok / repaired / error / UNTYPED / ASSERT / HUNG), codes, detail."""

    kind: str
    codes: tuple[str, ...]
    detail: str
    seconds: float

    def meets(self, case: Case) -> bool:
        """Tell whether this outcome is the case's expected one (kind and code)."""
        if self.kind != case.expect:
            return False
        if case.code is None:
            return True
        return case.code in self.codes


CASES: dict[str, Case] = {}


def corpus_case(
    name: str, *, expect: str, code: str | None = None, needs_shared: bool = False, slow: bool = False
) -> Callable[[Callable[[Path, Path | None], Any]], Callable[[Path, Path | None], Any]]:
    """Register a case. ``code`` is required for ``error`` and ``repaired`` cases."""
    if expect not in ("ok", "repaired", "error"):
        raise ValueError(f"{name}: expect must be ok, repaired or error, not {expect!r}")
    if expect != "ok" and code is None:
        raise ValueError(f"{name}: an {expect} case names its expected code")

    def register(func: Callable[[Path, Path | None], Any]) -> Callable[[Path, Path | None], Any]:
        if name in CASES:
            raise ValueError(f"corpus case {name!r} is declared twice")
        CASES[name] = Case(name, expect, code, func, needs_shared, slow)
        return func

    return register


class _Hung(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hung()


def run_case(case: Case, tmp: Path, shared: Path | None) -> Outcome:
    """Run one case under a time limit and classify what happened."""
    from cimkit.errors import CimkitError, CimkitWarning

    started = time.perf_counter()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIME_LIMIT_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            case.func(tmp, shared)
    except _Hung:
        return Outcome("HUNG", (), f"over {CASE_TIME_LIMIT_S} s", time.perf_counter() - started)
    except CimkitError as err:
        return Outcome("error", (err.code,), f"{type(err).__name__}: {err}", time.perf_counter() - started)
    except AssertionError as err:
        return Outcome("ASSERT", (), f"wrong result: {err}", time.perf_counter() - started)
    except Exception as err:  # an untyped exception is what the corpus looks for
        return Outcome("UNTYPED", (), f"{type(err).__name__}: {err}"[:300], time.perf_counter() - started)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    cimkit_warnings = [w for w in caught if issubclass(w.category, CimkitWarning)]
    seconds = time.perf_counter() - started
    if cimkit_warnings:
        codes = tuple(dict.fromkeys(getattr(w.message, "code", "GEN000") for w in cimkit_warnings))
        return Outcome("repaired", codes, str(cimkit_warnings[0].message)[:300], seconds)
    return Outcome("ok", (), "", seconds)


def load_all_cases() -> dict[str, Case]:
    """Import every ``cases_*.py`` module of this package and return the registry."""
    import importlib
    import pkgutil

    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            importlib.import_module(f"tests.corpus.{info.name}")
    return CASES


def format_table(rows: list[tuple[str, str, str, str, str]]) -> str:
    """Return the corpus table: case, expected, outcome, code, verdict; then counts per outcome."""
    header = ("case", "expected", "outcome", "code", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in sorted(rows)]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    met = sum(1 for row in rows if row[4] == "met")
    lines.append("")
    lines.append(
        f"{len(rows)} cases: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; {met} met their expected outcome"
    )
    return "\n".join(lines)
