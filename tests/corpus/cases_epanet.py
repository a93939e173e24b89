"""Corpus cases: EPANET ``.inp`` files (unknown nodes, duplicated ids, missing coordinates, garbage).

Damaged copies of the EPA example networks of the shared data (Net1, Net3, Anytown), edited as
text under ``tmp`` at test time; the real files must read with the MANIFEST counts.
"""

from __future__ import annotations

import re
from pathlib import Path

from cimkit.io.epanet import read_epanet
from tests.corpus._registry import corpus_case

NETWORKS = "epanet_networks"


def _lines(shared: Path | None, name: str) -> list[str]:
    assert shared is not None
    return (shared / NETWORKS / name).read_text().splitlines()


def _row(lines: list[str], first_field: str, after: str) -> int:
    """0-based index of the row whose first field is ``first_field`` in section ``after``."""
    start = lines.index(next(line for line in lines if line.strip().upper() == after))
    return next(
        i for i in range(start + 1, len(lines)) if lines[i].split(";")[0].split()[:1] == [first_field]
    )


def _write(tmp: Path, lines: list[str], name: str = "net.inp") -> Path:
    path = tmp / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _expect_line(err: Exception, line: int) -> None:
    assert getattr(err, "line", None) == line, (getattr(err, "line", None), line)


@corpus_case("epanet/net3-real", expect="ok", needs_shared=True)
def _net3(tmp, shared):
    net = read_epanet(shared / NETWORKS / "Net3.inp")
    r = net.report
    # MANIFEST: 92 junctions, 2 reservoirs, 3 tanks, 117 pipes, 2 pumps, 65.7 km of pipe
    assert (r["junctions"], r["reservoirs"], r["tanks"], r["pipes"], r["pumps"]) == (92, 2, 3, 117, 2)
    assert abs(r["pipe_length_m"] / 1000 - 65.7) < 0.05


@corpus_case("epanet/unknown-node-in-a-pipe", expect="error", code="NET002", needs_shared=True)
def _unknown_node(tmp, shared):
    lines = _lines(shared, "Net1.inp")
    i = _row(lines, "110", "[PIPES]")  # pipe 110 joins 2 and 12
    fields = lines[i].split(";")[0].split()
    lines[i] = " ".join([fields[0], "2", "99", *fields[3:]])
    try:
        read_epanet(_write(tmp, lines))
    except Exception as err:
        _expect_line(err, i + 1)
        raise


@corpus_case("epanet/duplicated-junction-id", expect="error", code="NET003", needs_shared=True)
def _duplicated(tmp, shared):
    lines = _lines(shared, "Net1.inp")
    i = _row(lines, "12", "[JUNCTIONS]")
    lines[i] = re.sub(r"^\s*12\b", " 11", lines[i])  # junction 11 now defined twice
    try:
        read_epanet(_write(tmp, lines))
    except Exception as err:
        _expect_line(err, i + 1)
        raise


@corpus_case("epanet/no-coordinates-section", expect="error", code="NET004", needs_shared=True)
def _no_coordinates(tmp, shared):
    lines = _lines(shared, "Anytown.inp")
    start = lines.index("[COORDINATES]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    read_epanet(_write(tmp, lines[:start] + lines[end:]))


@corpus_case("epanet/partial-coordinates", expect="error", code="NET004", needs_shared=True)
def _partial_coordinates(tmp, shared):
    lines = _lines(shared, "Net3.inp")
    i = _row(lines, "River", "[COORDINATES]")
    del lines[i]
    try:
        read_epanet(_write(tmp, lines))
    except Exception as err:
        assert getattr(err, "entity", None) == "River"
        raise


@corpus_case("epanet/binary-garbage", expect="error", code="NET005")
def _garbage(tmp, shared):
    path = tmp / "net.inp"
    path.write_bytes(bytes(range(256)) * 64)
    read_epanet(path)


@corpus_case("epanet/nan-elevation", expect="error", code="NET005", needs_shared=True)
def _nan_elevation(tmp, shared):
    lines = _lines(shared, "Net1.inp")
    i = _row(lines, "10", "[JUNCTIONS]")
    lines[i] = lines[i].replace("710", "nan", 1)
    read_epanet(_write(tmp, lines))
