"""Provenance records stay cheap at city scale: pandas' copies of attrs, merging thousands of files."""

from __future__ import annotations

import copy

import pandas as pd

from cimkit import provenance as prov


def _old_merge(records):
    """The merge as the recipe did it before (quadratic): the reference for merge_records."""
    record = None
    for rec in records:
        if rec is None:
            continue
        if record is None:
            record = rec.copy()
        else:
            record.source_files += rec.source_files
            record.steps += [s for s in rec.steps if s not in record.steps]
    return record


def _file_record(k: int, time: str) -> prov.Provenance:
    record = prov.Provenance(
        reader="cimkit.read_ifc", source_files=[prov.SourceFile(f"b{k}.ifc", "0" * 64, 10 + k)]
    )
    steps = [
        prov.Step("georeference", "placed by IfcMapConversion", {"eastings": 651000.0 + k % 3}, time),
        prov.Step("unit-scaling", "project length unit converted", {"unit_scale": 1.0}, time),
        prov.Step("geometry", "footprints", {"n_fast": k % 2, "nan": float("nan")}, time),
    ]
    if k == 4:  # a record holding the same step twice keeps both, as before
        steps.append(steps[1])
    record.steps = steps
    return record


def test_merge_records_equals_the_quadratic_merge():
    records = [_file_record(k, f"2026-01-01T00:00:0{k // 3}+00:00") for k in range(9)]
    records.insert(2, None)
    old, new = _old_merge(records), prov.merge_records(records)
    assert [s.action for s in new.steps] == [s.action for s in old.steps]
    assert [(s.detail, s.time) for s in new.steps] == [(s.detail, s.time) for s in old.steps]
    assert [s.params.get("eastings") for s in new.steps] == [s.params.get("eastings") for s in old.steps]
    assert (
        [f.path for f in new.source_files]
        == [f.path for f in old.source_files]
        == [f"b{k}.ifc" for k in range(9)]
    )
    # NaN parameters never compare equal: those geometry steps are all kept, in both
    assert sum(s.action == "geometry" for s in new.steps) == 9
    assert prov.merge_records([None, None]) is None
    # a step shared by two records (pandas' copies share them) is the same step, NaN or not
    shared = [records[0], copy.deepcopy(records[0])]
    assert len(prov.merge_records(shared).steps) == len(_old_merge(shared).steps) == 3
    assert new is not records[0] and len(records[0].steps) == 3  # the first record is copied, not grown


def test_deepcopy_copies_lists_and_shares_steps():
    record = prov.Provenance(reader="test").add_step("filter", kept=3)
    twin = copy.deepcopy(record)
    assert twin == record and twin is not record
    twin.add_step("join")
    twin.versions["x"] = "1"
    assert len(record.steps) == 1 and "x" not in record.versions
    assert twin.steps[0] is record.steps[0]  # never changed once made: shared
    full = record.copy()
    full.steps[0].params["kept"] = 4  # copy() stays a full copy
    assert record.steps[0].params["kept"] == 3


def test_pandas_operations_do_not_copy_thousands_of_steps():
    record = prov.Provenance(reader="cimkit.read_ifc")
    for k in range(4000):
        record.add_step("georeference", f"file {k}", eastings=float(k))
    frame = prov.attach(pd.DataFrame({"a": range(5), "b": range(5)}), record)
    derived = frame[frame["a"] > 1][["a"]]
    kept = prov.get(derived)
    assert kept is not record and kept == record
    assert kept.steps is not record.steps and kept.steps[1234] is record.steps[1234]
    kept.add_step("filter")
    assert len(record.steps) == 4000 and len(prov.get(frame).steps) == 4000
