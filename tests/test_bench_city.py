"""The end-to-end stage harness (benchmarks/bench_city.py): every stage measured, exponents right.

No timing assertions: the times depend on the machine and its load; only their presence and
sign are checked, and the exponent arithmetic on hand-made numbers.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_city.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_city", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_city"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_city", None)


def test_growth_exponent_on_hand_made_numbers(bench):
    # t ~ n: 10x the buildings, 10x the time -> 1; t ~ n^2 -> 2; constant -> 0
    assert bench.growth_exponent(1_000, 2.0, 10_000, 20.0) == pytest.approx(1.0)
    assert bench.growth_exponent(1_000, 2.0, 10_000, 200.0) == pytest.approx(2.0)
    assert bench.growth_exponent(1_000, 5.0, 100_000, 5.0) == pytest.approx(0.0)
    # 1k -> 100k, 3 s -> 150 s: log(50) / log(100) = 0.8495
    assert bench.growth_exponent(1_000, 3.0, 100_000, 150.0) == pytest.approx(math.log(50) / math.log(100))
    assert math.isnan(bench.growth_exponent(1_000, 0.0, 10_000, 1.0))
    assert math.isnan(bench.growth_exponent(1_000, 1.0, 1_000, 2.0))


def test_exponent_table_per_stage_and_total(bench):
    runs = [
        {
            "buildings": 10_000,
            "total_s": 40.0,
            "stages": [{"stage": "read", "seconds": 8.0}, {"stage": "link", "seconds": 2.0}],
        },
        {
            "buildings": 1_000,
            "total_s": 5.0,
            "stages": [{"stage": "read", "seconds": 1.0}, {"stage": "link", "seconds": 0.02}],
        },
    ]
    rows = bench.exponent_table(runs)  # sorted by size, whatever the order given
    assert len(rows) == 1 and (rows[0]["from"], rows[0]["to"]) == (1_000, 10_000)
    assert rows[0]["read"] == pytest.approx(math.log10(8.0))
    assert rows[0]["link"] == pytest.approx(2.0)
    assert rows[0]["total"] == pytest.approx(math.log10(8.0))
    text = bench.format_exponents(rows)
    assert "| link | 2.00 |" in text and "| total | 0.90 |" in text
    lines = bench.verdicts([{**runs[0], "max_mb": 900.0}, {**runs[1], "max_mb": 300.0}], rows)
    assert lines[0].startswith("PASS: total 40.0 s") and lines[1].startswith("PASS: peak 900 MiB")
    assert lines[2] == "PASS: overall growth exponent 1,000 -> 10,000 = 0.90 <= 1.15"
    slow = [{**runs[1], "max_mb": 1.0}, {**runs[0], "total_s": 400.0, "max_mb": 9000.0}]
    assert [v.split(":")[0] for v in bench.verdicts(slow, bench.exponent_table(slow))] == ["FAIL"] * 3


def test_peak_sampler_sees_an_allocation(bench):
    import numpy as np

    with bench.PeakSampler(interval=0.005) as sampler:
        table = bench.StageTable(sampler)
        with table.stage("allocate"):
            block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
            block.sum()
        del block
        with table.stage("idle"):
            time.sleep(0.05)
    alloc, idle = table.rows
    assert alloc["stage"] == "allocate" and alloc["seconds"] > 0
    assert alloc["peak_mb"] >= idle["peak_mb"] + 150  # the 200 MiB block is in the first peak only
    assert sampler.max_mb >= alloc["peak_mb"]


@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    from cimkit.datasets import generate_city

    return generate_city(tmp_path_factory.mktemp("bench") / "c300", buildings=300, seed=11)


def test_harness_runs_every_stage_on_a_generated_city(bench, small_city, tmp_path):
    run = bench.run_city(small_city, out=tmp_path / "out", dump=tmp_path / "buildings.parquet")
    stages = [row["stage"] for row in run["stages"]]
    expected = [
        "check recipe (sha256)",
        "read layers",
        "read ifc",
        "read footprints",
        "read networks + dem",
        "build model (merge)",
        "link",
        "zoning",
        "flood",
        "carbon",
        "accessibility",
        "save gpkg",
        "report",
    ]
    assert [s for s in stages if s != "save folder"] == expected
    for row in run["stages"]:
        assert row["seconds"] > 0 and row["peak_mb"] > 50, row
    assert run["total_s"] >= sum(row["seconds"] for row in run["stages"])
    assert run["max_mb"] >= max(row["peak_mb"] for row in run["stages"])
    assert run["buildings"] == 300 and run["counts"]["linked_to_parcel"] == 300
    assert (tmp_path / "out" / "city.gpkg").is_file() and (
        tmp_path / "out" / "report" / "report.html"
    ).is_file()
    dumped = pd.read_parquet(tmp_path / "buildings.parquet")
    assert len(dumped) == 300
    for column in ("plu_compliant", "score_15min", "parcel_id", "geometry_wkb"):
        assert column in dumped.columns, column
    assert [c for c in dumped.columns if c.startswith("score_15min_")]  # the score with the flood closures
    text = bench.format_table(run)
    assert text.count("\n| ") == len(stages) + 2 and "| **total** |" in text  # header, stages, total
    assert all(row["cpu_s"] >= 0 for row in run["stages"])
