"""The publication audit log: entries, the hash chain, tampering detected, locked appends, CLI."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

import cimkit
from cimkit import audit
from cimkit.cli.main import main
from cimkit.errors import CimkitIOError, InputError, PublicationError, ValidationError


def _write(log: Path, n: int) -> list[dict]:
    return [
        audit.record_audit_entry(
            action="publish",
            output=f"out{i}.json",
            layers=["network_water"],
            levels=["sensitive"],
            reason=f"reason {i}",
            path=log,
        )
        for i in range(n)
    ]


def _bad_line(log: Path) -> int:
    with pytest.raises(InputError) as err:
        audit.check_audit_log(log)
    assert err.value.code == "PUB004" and err.value.path == str(log)
    return err.value.line


def test_entries_and_chain_computed_independently(tmp_path):
    log = tmp_path / "audit.jsonl"
    entries = _write(log, 3)
    raw = log.read_bytes().split(b"\n")
    assert raw[-1] == b"" and len(raw) == 4
    prev = "0" * 64
    for line, entry in zip(raw[:3], entries):
        parsed = json.loads(line)
        assert parsed == entry
        assert list(parsed) == list(audit.ENTRY_FIELDS)
        body = {k: v for k, v in parsed.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert parsed["hash"] == hashlib.sha256(canonical).hexdigest()
        assert parsed["prev"] == prev
        prev = hashlib.sha256(line).hexdigest()
    assert entries[0]["time"].endswith("+00:00") and entries[0]["user"]
    assert entries[0]["cimkit_version"] == cimkit.__version__
    assert audit.check_audit_log(log) == 3
    assert audit.check_audit_log(tmp_path / "none.jsonl") == 0


def test_one_edited_byte_is_found_on_its_line(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 4)
    data = bytearray(log.read_bytes())
    start = data.index(b"reason 2")  # in the third line
    data[start + 7] = ord("9")  # "reason 2" -> "reason 9"
    log.write_bytes(bytes(data))
    assert _bad_line(log) == 3


def test_a_deleted_line_is_found(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 4)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:1] + lines[2:]))  # delete the second line
    assert _bad_line(log) == 2
    log.write_bytes(b"".join(lines[1:]))  # delete the first line
    assert _bad_line(log) == 1


def test_lines_deleted_at_the_end_are_found(tmp_path):
    log = tmp_path / "audit.jsonl"
    entries = _write(log, 4)
    head = json.loads((tmp_path / "audit.jsonl.head").read_text())
    assert head == {"entries": 4, "hash": entries[-1]["hash"]}
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3]))  # the chain of the first 3 lines is intact ...
    assert _bad_line(log) == 4  # ... but the head counted 4
    log.unlink()
    assert _bad_line(log) == 1  # the whole log deleted
    log.write_bytes(b"".join(lines))
    assert audit.check_audit_log(log) == 4
    (tmp_path / "audit.jsonl.head").write_text("{broken")
    with pytest.raises(InputError) as err:
        audit.check_audit_log(log)
    assert err.value.code == "PUB004" and err.value.path.endswith("audit.jsonl.head")
    _write(log, 1)  # a broken head is rebuilt by counting the lines
    assert audit.check_audit_log(log) == 5
    assert json.loads((tmp_path / "audit.jsonl.head").read_text())["entries"] == 5


def test_swapped_lines_are_found(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 4)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join([lines[0], lines[2], lines[1], lines[3]]))
    assert _bad_line(log) == 2


def test_a_rehashed_edit_still_breaks_the_next_line(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 3)
    lines = log.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["reason"] = "a nicer reason"
    body = {k: v for k, v in entry.items() if k != "hash"}
    entry["hash"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    lines[0] = json.dumps(entry, separators=(",", ":"))
    log.write_text("\n".join(lines) + "\n")
    assert _bad_line(log) == 2


def test_garbage_and_incomplete_lines(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 2)
    good = log.read_bytes()
    log.write_bytes(good + b'{"time": "partial')
    assert _bad_line(log) == 3
    log.write_bytes(good + b"not json\n")
    assert _bad_line(log) == 3
    log.write_bytes(good + b'{"time": "x"}\n')
    assert _bad_line(log) == 3


def test_appends_follow_a_log_written_by_others(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 1)
    log.write_bytes(log.read_bytes() + b"tampered\n")
    _write(log, 1)  # appending does not repair: the bad line stays bad
    assert _bad_line(log) == 2


def _append_many(log: str, worker: int, n: int) -> None:
    for i in range(n):
        audit.record_audit_entry(
            action="publish",
            output=f"w{worker}-{i}",
            layers=["parcels"],
            levels=["restricted"],
            reason="load",
            path=log,
        )


def test_two_processes_do_not_interleave(tmp_path):
    log = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append_many, args=(str(log), w, 100)) for w in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0, 0]
    assert audit.check_audit_log(log) == 200
    outputs = {e["output"] for e in audit.read_audit_log(log)}
    assert outputs == {f"w{w}-{i}" for w in range(2) for i in range(100)}


def test_default_path_and_option(tmp_path, monkeypatch):
    cimkit.set_options(audit_log=None)  # the default (the autouse fixture restores its own after)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert audit.get_audit_log_path() == tmp_path / "state" / "cimkit" / "audit.jsonl"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert audit.get_audit_log_path() == tmp_path / "home" / ".local" / "state" / "cimkit" / "audit.jsonl"
    with cimkit.set_options(audit_log=tmp_path / "mine.jsonl"):
        assert audit.get_audit_log_path() == tmp_path / "mine.jsonl"
        _write(None, 1)  # type: ignore[arg-type]
    assert audit.check_audit_log(tmp_path / "mine.jsonl") == 1


def test_an_unwritable_log_refuses_the_publication(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from cimkit.io.export import write_cityjson

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    buildings = gpd.GeoDataFrame(
        {"height_m": [6.0], "owner": ["Dupont"]}, geometry=[box(651000, 6847000, 651010, 6847010)], crs=2154
    )
    target = tmp_path / "city.json"
    with cimkit.set_options(audit_log=blocker / "audit.jsonl"):
        with pytest.raises(CimkitIOError) as err:
            write_cityjson(buildings, target, allow={"buildings": "owners consented"})
    assert err.value.code == "PUB005" and not target.exists()


def test_entries_are_validated(tmp_path):
    log = tmp_path / "audit.jsonl"
    with pytest.raises(ValidationError) as err:
        audit.record_audit_entry(
            action="publish", output="x", layers=["a"], levels=["public"], reason=" ", path=log
        )
    assert err.value.code == "PUB002"
    with pytest.raises(ValidationError) as err:
        audit.record_audit_entry(
            action="publish", output="x", layers=["a"], levels=["secret"], reason="r", path=log
        )
    assert err.value.code == "PUB003"
    assert not log.exists()


def test_check_publication_of_one_layer(tmp_path):
    import pandas as pd

    with cimkit.set_options(audit_log=tmp_path / "audit.jsonl"):
        assert audit.check_publication(pd.DataFrame({"id": [1]}), output="a.json") == []
        owners = pd.DataFrame({"titulaire": ["Dupont"]})
        with pytest.raises(PublicationError, match="table \\(restricted\\)"):
            audit.check_publication(owners, output="a.json", name="table")
        (entry,) = audit.check_publication(owners, output="a.json", name="table", allow={"table": "consent"})
    assert entry["layers"] == ["table"] and audit.check_audit_log(tmp_path / "audit.jsonl") == 1


def test_cli_prints_the_entries_and_flags_a_tampered_log(tmp_path, capsys):
    log = tmp_path / "audit.jsonl"
    entries = _write(log, 2)
    assert main(["audit", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert f"{log}: 2 entries, hash chain intact" in out
    assert f"last hash: {entries[1]['hash']}" in out and "reason: reason 1" in out
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[1] + lines[0])
    assert main(["-q", "audit", "--log", str(log)]) == 2
    err = capsys.readouterr().err
    assert "error[PUB004]" in err and f"{log}:1:" in err
