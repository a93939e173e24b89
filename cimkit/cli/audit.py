"""``cimkit audit [--log PATH]``: check the publication audit log and print its entries."""

from __future__ import annotations

import os

__all__ = ["run_audit"]


def run_audit(log: str | os.PathLike[str] | None = None) -> str:
    """Check the audit log's hash chain and return its entries as text.

    Parameters
    ----------
    log
        The log to check (default: option ``audit_log``, else
        ``$XDG_STATE_HOME/cimkit/audit.jsonl``).

    Returns
    -------
    str
        The log's path, its number of entries and the last hash (keep a copy of it elsewhere
        to detect lines deleted at the end), then one block per entry. An altered log raises
        :class:`~cimkit.errors.InputError` (PUB004) naming the first bad line.

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.audit import record_audit_entry
    >>> log = f"{tempfile.mkdtemp()}/audit.jsonl"
    >>> _ = record_audit_entry(action="publish", output="report", layers=["network_water"],
    ...                        levels=["sensitive"], reason="council session", path=log)
    >>> print(run_audit(log).splitlines()[0].split(": ", 1)[1])
    1 entry, hash chain intact
    """
    from cimkit.audit import format_audit_entries, get_audit_log_path, read_audit_log

    path = log if log is not None else get_audit_log_path()
    entries = read_audit_log(path)
    count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    lines = [f"{os.fspath(path)}: {count}, hash chain intact"]
    if entries:
        lines.append(f"last hash: {entries[-1]['hash']}")
        lines.append(format_audit_entries(entries))
    return "\n".join(lines)
