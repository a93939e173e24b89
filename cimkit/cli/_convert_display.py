"""What ``cimkit convert`` shows while it runs: a rich progress bar on a terminal, plain lines otherwise.

Verbosity: ``-1`` (``-q``) shows nothing per file (the final summary lists the failures);
``0`` one line per failure and per warning (``warning[CODE] file: message``), and on a plain
stream one line per file; ``1`` (``-v``) adds each file's tables, rows, CRS and outputs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Display"]


def _warning_line(rec: dict[str, Any], item: dict[str, Any]) -> str:
    code = item.get("code") or item.get("category") or "warning"
    count = f" (x{item['count']})" if item.get("count", 1) > 1 else ""
    return f"warning[{code}] {rec['input']}: {item['message']}{count}"


def record_lines(rec: dict[str, Any], verbosity: int, *, plain: bool) -> list[str]:
    """Return the lines shown for one record (warnings first, then the file's own line and details)."""
    if verbosity < 0:
        return []
    lines = [_warning_line(rec, w) for w in rec.get("warnings", ())]
    status, fmt = rec["status"], rec.get("format", "")
    if status == "failed":
        lines.append(f"FAILED {rec['input']} [{fmt}]: error[{rec.get('code', '')}] {rec.get('error', '')}")
        if verbosity > 0 and rec.get("hint"):
            lines.append(f"  fix: {rec['hint']}")
    elif status == "not_applicable":
        if plain or verbosity > 0:
            lines.append(f"n/a    {rec['input']} [{fmt}]: {rec.get('error', '')}")
    elif status == "skipped":
        if plain or verbosity > 0:
            lines.append(f"done   {rec['input']} [{fmt}] (converted by an earlier run)")
    elif plain or verbosity > 0:
        files = rec.get("outputs") or []
        lines.append(
            f"ok     {rec['input']} [{fmt}] -> {len(files)} file(s) in {rec.get('seconds', 0):.2f} s"
        )
    if verbosity > 0 and status == "ok":
        tables = ", ".join(f"{name}: {rows}" for name, rows in (rec.get("layers") or {}).items())
        lines.append(f"  crs {rec.get('crs')}; rows {tables}")
        lines += [f"  wrote {path}" for path in rec.get("outputs") or []]
    return lines


class Display:
    """Shows the progress of a batch on ``console`` (a rich Console; standard error by default).

    Parameters
    ----------
    total
        The (input, format) pairs to convert.
    verbosity
        ``-1`` quiet, ``0`` default, ``1`` verbose.
    bar
        Show a progress bar (done / failed / ETA); by default when the console is a terminal
        (the command line passes its ``progress`` option: on for a terminal, or ``--progress``).
    console
        A ``rich.console.Console``; by default one on standard error.
    """

    def __init__(
        self, total: int, *, verbosity: int = 0, bar: bool | None = None, console: Any = None
    ) -> None:
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True)
        self.verbosity = verbosity
        self.bar = bool(self.console.is_terminal if bar is None else bar)
        self.done = self.failed = 0
        self._progress: Any = None
        self._task: Any = None
        self.total = total

    def __enter__(self) -> Display:
        if self.bar and self.total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("converting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[done]} done, {task.fields[failed]} failed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("convert", total=self.total, done=0, failed=0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
            self._progress = None

    def line(self, text: str) -> None:
        """Print one line (above the bar when there is one); never parsed as rich markup."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def show(self, rec: dict[str, Any]) -> None:
        """Show one finished record and advance the bar."""
        self.failed += rec["status"] == "failed"
        self.done += rec["status"] != "failed"
        for text in record_lines(rec, self.verbosity, plain=not self.bar):
            self.line(text)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, done=self.done, failed=self.failed)
