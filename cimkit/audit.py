"""The publication audit log: every layer above public that was published, by whom and why.

Public outputs (the public report, the CityJSON export, :func:`cimkit.viz.public_model` ...)
refuse any layer whose sensitivity level is above ``"public"`` (see :mod:`cimkit._sensitivity`)
with :class:`~cimkit.errors.PublicationError` (PUB001), unless the caller allows it with a reason:
``allow={"water": "network plan shared with the fire service"}``. Each allowance appends one
entry to an append-only JSON-lines log.

Each line is one JSON object with the fields of :data:`ENTRY_FIELDS`: ``time`` (UTC, ISO 8601),
``user`` (the login name), ``action``, ``output``, ``layers``, ``levels``, ``reason``,
``cimkit_version``, ``prev`` (the sha256 of the previous line's bytes, 64 zeros for the first)
and ``hash`` (the sha256 of the entry's canonical JSON -- sorted keys, no spaces, UTF-8 --
without ``hash``). Editing a byte of a line breaks its ``hash``; deleting, inserting or swapping
lines breaks the ``prev`` of the line after; :func:`check_audit_log` names the first bad line.
A small ``<log>.head`` file beside the log holds the number of entries and the last ``hash``, so
lines deleted at the end are found too. Whoever can rewrite both files can forge a whole new
chain: keep a copy of the last ``hash`` (printed by ``cimkit audit``) somewhere else.

The log is ``get_options()["audit_log"]`` when set, else ``$XDG_STATE_HOME/cimkit/audit.jsonl``
(``~/.local/state/cimkit/audit.jsonl``). Appends open the file with ``O_APPEND``, hold an
exclusive ``fcntl`` lock while they read the last line and write the new one, and ``fsync``,
so two processes never interleave or fork the chain.

>>> import tempfile
>>> from cimkit.options import set_options
>>> folder = tempfile.mkdtemp()
>>> with set_options(audit_log=f"{folder}/audit.jsonl"):
...     entry = record_audit_entry(action="publish", output="report.html", layers=["network_water"],
...                                levels=["sensitive"], reason="shown to the fire service")
...     check_audit_log()
1
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cimkit import _sensitivity as sens
from cimkit import provenance as prov
from cimkit.errors import CimkitIOError, InputError, PublicationError
from cimkit.options import get_options

try:  # POSIX file locks; elsewhere appends are not locked against other processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ENTRY_FIELDS",
    "GENESIS",
    "check_audit_log",
    "check_publication",
    "format_audit_entries",
    "get_audit_log_path",
    "read_audit_log",
    "record_audit_entry",
]

#: The fields of one entry, in the order they are written.
ENTRY_FIELDS = (
    "time",
    "user",
    "action",
    "output",
    "layers",
    "levels",
    "reason",
    "cimkit_version",
    "prev",
    "hash",
)

#: The ``prev`` of the first entry.
GENESIS = "0" * 64


def get_audit_log_path() -> Path:
    """Return the audit log's path: option ``audit_log``, else ``$XDG_STATE_HOME/cimkit/audit.jsonl``.

    Examples
    --------
    >>> from cimkit.options import set_options
    >>> with set_options(audit_log="city/audit.jsonl"):
    ...     get_audit_log_path().as_posix()
    'city/audit.jsonl'
    >>> get_audit_log_path().name
    'audit.jsonl'
    """
    option = get_options()["audit_log"]
    if option is not None:
        return Path(option)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "cimkit" / "audit.jsonl"


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _last_line(fd: int) -> bytes | None:
    """Return the last complete line of the open file (without its newline), or None if empty."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None
    chunk, data, pos = 4096, b"", end
    while pos > 0:
        pos = max(0, pos - chunk)
        data = os.pread(fd, end - pos, pos)
        body = data[:-1] if data.endswith(b"\n") else data
        if b"\n" in body or pos == 0:
            return body.rsplit(b"\n", 1)[-1]
    return data  # pragma: no cover - the loop always returns


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers without a passwd entry)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def record_audit_entry(
    *,
    action: str,
    output: str,
    layers: Sequence[str],
    levels: Sequence[str],
    reason: str,
    path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    r"""Append one entry to the audit log (locked, ``O_APPEND``, fsync) and return it.

    Parameters
    ----------
    action
        What was done: ``"publish"`` (a public output included the layers) or ``"allow"``
        (:func:`cimkit.viz.public_model` kept them in a public copy).
    output
        The output concerned: a file path, ``"report"``, ``"public_model"``.
    layers, levels
        The layers allowed and their sensitivity levels, in the same order.
    reason
        Why they may be published (non-empty text, else ``ValidationError`` PUB002).
    path
        The log (default: :func:`get_audit_log_path`). Its folder is created if needed.

    Returns
    -------
    dict
        The entry written, with its ``prev`` and ``hash``.

    Raises
    ------
    CimkitIOError
        PUB005: the log cannot be written; the caller must not publish.

    Examples
    --------
    >>> import tempfile
    >>> log = f"{tempfile.mkdtemp()}/audit.jsonl"
    >>> first = record_audit_entry(action="publish", output="city.json", layers=["parcels"],
    ...                            levels=["restricted"], reason="owners' consent", path=log)
    >>> second = record_audit_entry(action="publish", output="city.json", layers=["parcels"],
    ...                             levels=["restricted"], reason="owners' consent", path=log)
    >>> first["prev"] == GENESIS, second["prev"] == hashlib.sha256(open(log, "rb").readline().rstrip(b"\n")).hexdigest()
    (True, True)
    """
    layers, levels = [str(x) for x in layers], [sens.check_level(x) for x in levels]
    reason = sens.check_reason(reason, ", ".join(layers) or output)
    target = Path(path) if path is not None else get_audit_log_path()
    entry: dict[str, Any] = {
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "user": _user(),
        "action": str(action),
        "output": str(output),
        "layers": layers,
        "levels": levels,
        "reason": reason,
        "cimkit_version": prov.get_library_versions().get("cimkit", "unknown"),
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    except OSError as err:
        raise CimkitIOError(
            f"the audit log cannot be opened ({err.strerror or err})",
            path=target,
            hint="make its folder writable or set option audit_log= to another path; nothing was published.",
            code="PUB005",
        ) from err
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_line(fd)
        entry["prev"] = GENESIS if last is None else _sha256(last)
        entry["hash"] = _sha256(_canonical(entry))
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        os.write(fd, line)
        os.fsync(fd)
        _write_head(target, _count_after(target, fd, last), entry["hash"])
    except OSError as err:
        raise CimkitIOError(
            f"the audit entry could not be written ({err.strerror or err})",
            path=target,
            hint="free disk space or set option audit_log= to another path; nothing was published.",
            code="PUB005",
        ) from err
    finally:
        os.close(fd)  # closing releases the lock
    return entry


def _head_path(target: Path) -> Path:
    return target.with_name(target.name + ".head")


def _read_head(target: Path) -> tuple[int, str] | None:
    """Return ``(entries, last hash)`` from the log's ``.head`` file, or None when there is none."""
    head = _head_path(target)
    try:
        data = json.loads(head.read_text(encoding="utf-8"))
        return int(data["entries"]), str(data["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(
            f"the audit log's head file is unreadable ({err})",
            path=head,
            hint="restore it from a backup, or delete it to check the chain alone.",
            code="PUB004",
        ) from err


def _count_after(target: Path, fd: int, last: bytes | None) -> int:
    """Return the number of entries once the new line is written: the head's count + 1, else a recount."""
    if last is None:
        return 1
    try:
        head = _read_head(target)
        if head is not None and head[1] == json.loads(last.decode("utf-8"))["hash"]:
            return head[0] + 1
    except (InputError, ValueError, KeyError, TypeError):
        pass  # a stale or broken head: count the lines
    size = os.lseek(fd, 0, os.SEEK_END)
    return os.pread(fd, size, 0).count(b"\n")


def _write_head(target: Path, entries: int, last_hash: str) -> None:
    """Replace the ``.head`` file (number of entries, last hash) atomically."""
    head = _head_path(target)
    tmp = head.with_name(f"{head.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"entries": entries, "hash": last_hash}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, head)


def _check_head(target: Path, entries: list[dict[str, Any]]) -> None:
    """Raise PUB004 when the head file records more entries than the log holds, or another last hash."""
    head = _read_head(target)
    if head is None:
        return
    count, last_hash = head
    if count > len(entries):
        raise _bad_line(
            target,
            len(entries) + 1,
            f"the log holds {len(entries)} entries but {count} were written (lines were deleted at the end)",
        )
    if count >= 1 and entries[count - 1]["hash"] != last_hash:
        raise _bad_line(target, count, "the entry is not the one the head file recorded at this line")


def _bad_line(target: Path, number: int, problem: str) -> InputError:
    return InputError(
        f"the audit log was altered: {problem}",
        path=target,
        line=number,
        hint="restore the log from a backup; every line from this one on is unverified.",
        code="PUB004",
    )


def read_audit_log(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Return the entries of the audit log after checking the whole chain (see :func:`check_audit_log`).

    A missing log has no entries.

    Examples
    --------
    >>> import tempfile
    >>> log = f"{tempfile.mkdtemp()}/audit.jsonl"
    >>> _ = record_audit_entry(action="allow", output="public_model", layers=["network_water"],
    ...                        levels=["sensitive"], reason="tender documents", path=log)
    >>> [(e["layers"], e["reason"]) for e in read_audit_log(log)]
    [(['network_water'], 'tender documents')]
    """
    target = Path(path) if path is not None else get_audit_log_path()
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        data = b""  # no log: no entries, unless its head file says there were some
    except OSError as err:
        raise CimkitIOError(
            f"the audit log cannot be read ({err.strerror or err})", path=target, code="PUB005"
        ) from err
    if data and not data.endswith(b"\n"):
        raise _bad_line(target, data.count(b"\n") + 1, "the last line is incomplete (no end of line)")
    entries, prev = [], GENESIS
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            entry = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _bad_line(target, number, f"the line is not valid JSON ({err})") from err
        if not isinstance(entry, dict) or set(entry) != set(ENTRY_FIELDS):
            raise _bad_line(target, number, "the entry does not have the fields " + ", ".join(ENTRY_FIELDS))
        if entry["hash"] != _sha256(_canonical(entry)):
            raise _bad_line(target, number, "the entry does not match its hash (it was edited)")
        if entry["prev"] != prev:
            raise _bad_line(
                target,
                number,
                "the entry does not follow the line before it (a line was deleted, inserted or moved)",
            )
        entries.append(entry)
        prev = _sha256(line)
    _check_head(target, entries)
    return entries


def check_audit_log(path: str | os.PathLike[str] | None = None) -> int:
    """Check the audit log's hash chain and return its number of entries.

    Parameters
    ----------
    path
        The log (default: :func:`get_audit_log_path`); a missing log has 0 entries.

    Returns
    -------
    int

    Raises
    ------
    InputError
        PUB004, naming the first bad line: not JSON, wrong fields, an entry that does not match
        its ``hash`` (edited) or whose ``prev`` is not the sha256 of the line before it
        (a line deleted, inserted or moved); or fewer lines than the ``.head`` file counts
        (lines deleted at the end).

    Examples
    --------
    >>> import tempfile
    >>> log = f"{tempfile.mkdtemp()}/audit.jsonl"
    >>> for layer in ("network_water", "parcels"):
    ...     _ = record_audit_entry(action="publish", output="report", layers=[layer],
    ...                            levels=["sensitive"], reason="council session", path=log)
    >>> check_audit_log(log)
    2
    >>> lines = open(log).readlines()
    >>> _ = open(log, "w").writelines(lines[::-1])
    >>> check_audit_log(log)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: /tmp/.../audit.jsonl:1: the audit log was altered: ...
    """
    return len(read_audit_log(path))


def _parts(source: Any, name: str | None) -> tuple[dict[str, str], dict[str, str | None]]:
    """Levels and prior allowances of every part of a model, or of one layer / network."""
    if hasattr(source, "layers") and hasattr(source, "networks"):
        levels = sens.get_model_levels(source)
        prior = {part: sens.get_allowance(source.provenance_record(part)) for part in levels}
        return levels, prior
    record = prov.get(source)
    kind = getattr(source, "kind", None)
    label = name or (record.layer if record is not None and record.layer else None)
    label = label or (f"network_{kind}" if isinstance(kind, str) else "layer")
    return {label: sens.get_frame_level(source)}, {label: sens.get_allowance(record)}


def check_publication(
    source: Any,
    *,
    output: str | os.PathLike[str],
    allow: Mapping[str, str] | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """Check that ``source`` may go into a public output; log each allowance; return the entries.

    Every part above ``"public"`` must be named in ``allow`` with a reason (a network as its kind
    or ``network_<kind>``), or carry the allowance :func:`cimkit.viz.public_model` recorded in its
    provenance. Each allowed part gets one ``"publish"`` entry in the audit log.

    Parameters
    ----------
    source
        A :class:`~cimkit.model.CityModel` (every layer, network and the DEM), or one layer /
        network / raster.
    output
        The output being written (its path, or ``"report"``), recorded in the log.
    allow
        Part name -> reason (non-empty text, else ``ValidationError`` PUB002).
    name
        The name of a single layer in messages and in ``allow`` (default: its provenance's
        layer name).

    Returns
    -------
    list of dict
        The audit entries written (none when everything is public).

    Raises
    ------
    PublicationError
        PUB001: a part above public is not allowed; the message lists them.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> from cimkit.options import set_options
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    >>> check_publication(model, output="report.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.PublicationError: layer 'network_water': report.html is a public output; network_water (sensitive) is above public ...
    >>> with set_options(audit_log=f"{tempfile.mkdtemp()}/audit.jsonl"):
    ...     entries = check_publication(model, output="report.html", allow={"water": "council session"})
    >>> [(e["layers"], e["levels"], e["reason"]) for e in entries]
    [(['network_water'], ['sensitive'], 'council session')]
    """
    for key, text in (allow or {}).items():
        sens.check_reason(text, key)
    levels, prior = _parts(source, name)
    allowed: list[tuple[str, str, str]] = []
    refused: list[tuple[str, str]] = []
    for part, level in sens.iter_above_public(levels):
        reason = sens.match_allowance(allow, part) or prior.get(part)
        if reason:
            allowed.append((part, level, reason))
        else:
            refused.append((part, level))
    if refused:
        first, level = refused[0]
        listed = ", ".join(f"{p} ({lv})" for p, lv in refused)
        key = first.removeprefix("network_")
        verb = "is" if len(refused) == 1 else "are"
        raise PublicationError(
            f"{os.fspath(output)} is a public output; {listed} {verb} above public and cannot go into it",
            layer=first,
            hint=f"withhold it (cimkit.viz.public_model(model)), or pass allow={{{key!r}: 'the reason'}} "
            "to publish it (the allowance is written to the audit log)",
        )
    return [
        record_audit_entry(
            action="publish", output=os.fspath(output), layers=[part], levels=[level], reason=reason
        )
        for part, level, reason in allowed
    ]


def format_audit_entries(entries: Iterable[Mapping[str, Any]]) -> str:
    """Return the entries as text, one short block each (what ``cimkit audit`` prints).

    Examples
    --------
    >>> entry = {"time": "2026-01-05T10:00:00+00:00", "user": "ana", "action": "publish",
    ...          "output": "report.html", "layers": ["network_water"], "levels": ["sensitive"],
    ...          "reason": "council session", "cimkit_version": "1.0", "hash": "ab" * 32}
    >>> print(format_audit_entries([entry]))
    #1 2026-01-05T10:00:00+00:00 ana publish -> report.html
        layers: network_water (sensitive)
        reason: council session
        cimkit 1.0, hash abababababababab
    """
    lines = []
    for number, entry in enumerate(entries, start=1):
        layers = ", ".join(f"{layer} ({level})" for layer, level in zip(entry["layers"], entry["levels"]))
        lines += [
            f"#{number} {entry['time']} {entry['user']} {entry['action']} -> {entry['output']}",
            f"    layers: {layers}",
            f"    reason: {entry['reason']}",
            f"    cimkit {entry['cimkit_version']}, hash {entry['hash'][:16]}",
        ]
    return "\n".join(lines)
