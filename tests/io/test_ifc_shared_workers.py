"""Many IFC files read through one pool of sandboxed workers: same results, failures stay per file."""

from __future__ import annotations

import ctypes
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cimkit.errors import FileFormatError
from cimkit.io.ifc import read_ifc_model
from cimkit.io.ifc._sandbox import PoolBroken, SharedWorkers, active_workers, shared_workers
from tests.io import ifc_factory as F


@pytest.fixture
def houses(tmp_path):
    paths = []
    for k, storeys in enumerate((1, 3)):
        f, project, body = F.new_project()
        F.add_house(f, project, body, storeys=storeys)
        F.map_conversion(f, epsg=2154, eastings=651000 + 50 * k, northings=6861000, rotation_deg=10 * k)
        paths.append(F.write(f, tmp_path / f"house{k}.ifc"))
    return paths


def _same(a, b):
    assert a.buildings.index.tolist() == b.buildings.index.tolist()
    assert a.buildings.drop(columns="geometry").equals(b.buildings.drop(columns="geometry"))
    assert a.buildings.geometry.geom_equals_exact(b.buildings.geometry, 1e-9).all()
    assert a.elements.equals(b.elements) and a.materials.equals(b.materials) and a.spaces.equals(b.spaces)


def test_shared_read_equals_isolated_read(houses):
    alone = [read_ifc_model(p, crs="EPSG:2154", processes=1) for p in houses]
    with shared_workers(2) as workers, ThreadPoolExecutor(2) as pool:
        assert active_workers() is workers
        shared = list(pool.map(lambda p: read_ifc_model(p, crs="EPSG:2154", processes=1), houses))
    assert active_workers() is None
    for a, b in zip(alone, shared):
        _same(a, b)
    assert [int(m.buildings["storeys"].iloc[0]) for m in shared] == [1, 3]


def test_a_crash_breaks_the_pool_and_the_next_task_gets_a_new_one(houses):
    with shared_workers(1) as workers:
        first = workers.run(os.getpid)
        with pytest.raises(PoolBroken):
            workers.run(ctypes.string_at, 0)  # SIGSEGV in the worker
        second = workers.run(os.getpid)
        assert first != second != os.getpid()
        # a read after the crash still works, in the new pool
        assert len(read_ifc_model(houses[0], crs="EPSG:2154", processes=1).buildings) == 1


def test_a_time_out_kills_the_workers_quickly():
    workers = SharedWorkers(1)
    try:
        start = time.monotonic()
        with pytest.raises(PoolBroken):
            workers.run(time.sleep, 30, timeout_s=0.5)
        assert time.monotonic() - start < 10
        assert workers.run(abs, -3) == 3
    finally:
        workers.close()


def test_a_broken_pool_rereads_the_file_alone(houses, monkeypatch):
    # another file crashed the shared workers: this file is read again in its own sandbox, and succeeds
    def broken(self, fn, *args, timeout_s=None):
        raise PoolBroken("BrokenProcessPool")

    expected = read_ifc_model(houses[0], crs="EPSG:2154", processes=1)
    monkeypatch.setattr(SharedWorkers, "run", broken)
    with shared_workers(1):
        got = read_ifc_model(houses[0], crs="EPSG:2154", processes=1)
    _same(expected, got)


def test_a_bad_file_fails_alone_with_its_code(houses, tmp_path):
    bad = tmp_path / "bad.ifc"
    bad.write_text(houses[0].read_text().replace("IFCDIRECTION((1.,0.,0.))", "IFCDIRECTION((NaN,0.,0.))", 1))
    with shared_workers(2), ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(read_ifc_model, p, crs="EPSG:2154", processes=1) for p in (houses[0], bad, houses[1])
        ]
        with pytest.raises(FileFormatError, match="IfcDirection") as info:
            futures[1].result()
        good = [futures[0].result(), futures[2].result()]
    assert info.value.path == str(bad)
    assert [len(m.buildings) for m in good] == [1, 1]
