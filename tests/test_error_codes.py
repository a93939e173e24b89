"""Stable error codes: every code used is registered, documented, and each class has one."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import cimkit.errors as errors
from cimkit._codes import AREAS, ERROR_CODES, render_error_codes

REPO = Path(__file__).resolve().parents[1]


def _code_literals() -> dict[str, list[str]]:
    """Every string literal passed as ``code=`` (or assigned to a class's ``code``) in cimkit."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "cimkit").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.keyword) and node.arg == "code":
                values.append(node.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets
            ):
                values.append(node.value)
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, []).append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_code_in_the_source_is_registered():
    literals = _code_literals()
    unknown = {code: where for code, where in literals.items() if code not in ERROR_CODES}
    assert not unknown, f"codes used but not in cimkit/_codes.py: {unknown}"
    assert len(literals) >= 10


def test_codes_have_the_stable_shape_and_a_known_area():
    for code, (title, fix) in ERROR_CODES.items():
        assert re.fullmatch(r"[A-Z]{3}\d{3}", code), code
        assert code[:3] in AREAS, code
        assert title.endswith(".") and fix.endswith("."), code


def test_every_error_and_warning_class_has_a_registered_code():
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, (errors.CimkitError, errors.CimkitWarning))
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert cls.code in ERROR_CODES, cls


def test_docs_errors_page_is_generated_from_the_registry():
    page = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    assert page == render_error_codes(), "regenerate: python -m cimkit._codes > docs/errors.md"


def test_the_code_survives_pickling_and_reaches_the_cli(capsys):
    import pickle

    from cimkit.cli.main import main

    err = pickle.loads(pickle.dumps(errors.InputError("bad", path="x.csv", code="TAB001")))
    assert (err.code, err.path) == ("TAB001", "x.csv")
    assert main(["-q", "info", "no-such-model.gpkg"]) == 2
    assert re.search(r"cimkit: error\[[A-Z]{3}\d{3}\]: ", capsys.readouterr().err)
