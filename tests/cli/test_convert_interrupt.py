"""cimkit convert stopped by SIGTERM / SIGINT: the whole process tree ends, a rerun resumes to the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from cimkit.datasets import sample_city_path
from cimkit.provenance import compute_sha256

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX process groups")

IFCS = ["commerce_grande_rue.ifc"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """10 inputs (1 IFC, read in sandboxed grandchildren, and 9 GeoJSON), and an uninterrupted run's outputs."""
    root = tmp_path_factory.mktemp("interrupt")
    inputs = root / "in"
    inputs.mkdir()
    for i in range(9):
        cells = [
            box(2.30 + 0.001 * k, 48.70 + 0.001 * i, 2.3005 + 0.001 * k, 48.7005 + 0.001 * i)
            for k in range(20)
        ]
        gpd.GeoDataFrame({"id": [f"{i}-{k}" for k in range(20)]}, geometry=cells, crs=4326).to_file(
            inputs / f"{'a' if i < 2 else 'z'}{i:02d}.geojson"
        )
    for name in IFCS:
        shutil.copy(sample_city_path() / "buildings" / name, inputs / f"m_{name}")
    reference = root / "reference"
    done = _cli(inputs, reference, marker=uuid.uuid4().hex)
    assert done.wait(120) == 0
    return inputs, reference


def _cli(inputs: Path, out: Path, *, marker: str, jobs: int = 2) -> subprocess.Popen:
    env = {**os.environ, "CIMKIT_TEST_BATCH": marker}
    cmd = [sys.executable, "-m", "cimkit.cli.main", "convert", str(inputs), "--to", str(out)]
    cmd += ["-j", str(jobs), "--format", "gpkg,parquet", "--crs", "EPSG:2154", "--no-progress"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _hashes(out: Path) -> dict[str, str]:
    skip = {"convert-journal.jsonl", "convert-report.json"}
    return {
        str(p.relative_to(out)): compute_sha256(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _with_marker(marker: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("CIMKIT_TEST_BATCH") == marker and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _interrupt(inputs: Path, out: Path, sig: int, jobs: int) -> tuple[int, str, list[int], int]:
    """Start the batch, signal it once some pairs are journaled and while IFC readers run; return its result."""
    marker = uuid.uuid4().hex
    proc = _cli(inputs, out, marker=marker, jobs=jobs)
    journal = out / "convert-journal.jsonl"
    tree: set[int] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        lines = journal.read_text().count("\n") if journal.is_file() else 0
        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            break
        tree |= {k.pid for k in kids}
        # the IFC sandbox's grandchildren are running (a worker with children of its own)
        grandchildren = [k for k in kids if k.ppid() != proc.pid]
        if lines >= 1 and grandchildren:
            time.sleep(0.2)
            tree |= {k.pid for k in psutil.Process(proc.pid).children(recursive=True)}
            proc.send_signal(sig)
            break
        time.sleep(0.05)
    _, err = proc.communicate(timeout=60)
    time.sleep(0.5)  # let orphans (if any) show up under init
    assert _with_marker(marker) == [], "a process of the batch is still running"
    return proc.returncode, err, sorted(tree), journal.read_text().count("\n")


@pytest.mark.parametrize(
    "sig, code, jobs",
    [
        (signal.SIGTERM, 143, 2),  # worker processes, each leading its own process group
        (signal.SIGINT, 130, 1),  # in this process: the IFC sandbox is unwound by the exception
        pytest.param(signal.SIGINT, 130, 2, marks=pytest.mark.slow),
    ],
)
def test_kill_stops_the_tree_and_rerun_resumes_to_the_same_bytes(batch, tmp_path, sig, code, jobs):
    inputs, reference = batch
    out = tmp_path / "out"
    returncode, err, tree, journaled = _interrupt(inputs, out, sig, jobs)
    assert returncode == code, err
    assert len(tree) >= (3 if jobs > 1 else 2), tree  # workers and at least one IFC sandbox child
    assert _alive(tree) == []
    assert 1 <= journaled < 20, journaled  # 10 inputs x 2 formats
    lines = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1 and f"{journaled} done, {20 - journaled} left" in lines[0], err
    report = json.loads((out / "convert-report.json").read_text())
    assert report["interrupted"] == signal.Signals(sig).name and report["exit_code"] == code
    assert not list(out.rglob("*.tmp*")) and not list(out.rglob(".*tmp*"))

    again = _cli(inputs, out, marker=uuid.uuid4().hex)
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    final = json.loads((out / "convert-report.json").read_text())
    assert (final["skipped"], final["converted"], final["failed"]) == (journaled, 20 - journaled, 0)
    assert _hashes(out) == _hashes(reference)
    assert len(_hashes(reference)) == 9 * 2 + 1 * (1 + 4)  # gpkg files; a Parquet file per IFC table
