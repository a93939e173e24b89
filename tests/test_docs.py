"""Every ```python block of the user docs (docs/*.md) and of README.md runs.

The blocks of one file run in order in one namespace, as a reader would type them into one
notebook: a block may use the names of the blocks above it. Each block is its own test, named
after its file and line (``user-guide.md:12``). A block needs the ones above it, so a test runs
them first when they have not run yet (in any test order, or on another xdist worker), and
reports an earlier block's failure as its own skip. The blocks of a file run in a temporary
folder of their own, so the files they write do not land in the repository.

A block that is not meant to run (shell commands, console sessions, output) is fenced with
another language (```bash, ```text, ```pycon). A file holding ``<!-- docs-test: slow -->`` has
its blocks marked ``slow`` (run by ``make test-slow``).
"""

from __future__ import annotations

import gc
import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_SLOW = "<!-- docs-test: slow -->"


@dataclass(frozen=True)
class Block:
    """One fenced ```python block: its file, the line of its opening fence and its code."""

    path: Path
    line: int
    code: str

    @property
    def label(self) -> str:
        return f"{self.path.name}:{self.line}"


def _python_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        language = match["info"].strip().split(" ")[0].strip("{}.").lower()
        start = i
        body: list[str] = []
        i += 1
        closing = re.compile(rf"{re.escape(fence[0])}{{{len(fence)},}}")
        while i < len(lines) and not closing.fullmatch(lines[i].strip()):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1  # the closing fence
        if language == "python":
            blocks.append(Block(path, start + 1, "\n".join(body) + "\n"))
    return blocks


BLOCKS = [block for path in FILES if path.is_file() for block in _python_blocks(path)]


@dataclass
class _FileRun:
    """The shared namespace of one file's blocks, and the outcome of each block run so far."""

    folder: Path
    namespace: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[int, str | None] = field(default_factory=dict)  # line -> None (ok) or error


_RUNS: dict[Path, _FileRun] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_namespaces():
    """Drop the blocks' objects (plotters, models) while the interpreter is still whole."""
    yield
    _RUNS.clear()
    gc.collect()


def _execute(block: Block, run: _FileRun) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    here = Path.cwd()
    os.chdir(run.folder)
    try:
        code = compile(block.code, f"{block.path.relative_to(REPO)} (block at line {block.line})", "exec")
        exec(code, run.namespace)
    except Exception:
        run.outcomes[block.line] = traceback.format_exc(limit=-6)
    else:
        run.outcomes[block.line] = None
    finally:
        os.chdir(here)
        plt.close("all")


def _marks(block: Block) -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.xdist_group(block.path.name)]
    if _SLOW in block.path.read_text(encoding="utf-8"):
        marks.append(pytest.mark.slow)
    return marks


@pytest.mark.parametrize("block", [pytest.param(b, id=b.label, marks=_marks(b)) for b in BLOCKS])
def test_docs_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = _RUNS.get(block.path)
    if run is None:
        run = _RUNS[block.path] = _FileRun(tmp_path_factory.mktemp(block.path.stem))
    for earlier in [b for b in BLOCKS if b.path == block.path and b.line < block.line]:
        if earlier.line not in run.outcomes:
            _execute(earlier, run)
        if run.outcomes[earlier.line] is not None:
            pytest.skip(f"an earlier block of this file failed: {earlier.label}")
    if block.line not in run.outcomes:
        _execute(block, run)
    error = run.outcomes[block.line]
    if error is not None:
        pytest.fail(f"{block.label} failed:\n{error}", pytrace=False)


def test_the_collector_finds_blocks_in_order(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```python\nx = 1\n```\n\n```bash\nmake test\n```\n\n"
        "- item\n\n  ```python\n  y = x + 1\n  ```\n\n````python\nz = '''\n```\n'''\n````\n",
        encoding="utf-8",
    )
    blocks = _python_blocks(page)
    assert [(b.line, b.code) for b in blocks] == [
        (3, "x = 1\n"),
        (13, "y = x + 1\n"),
        (17, "z = '''\n```\n'''\n"),
    ]
    namespace: dict[str, Any] = {}
    for b in blocks:
        exec(b.code, namespace)
    assert namespace["y"] == 2


def test_every_docs_page_is_collected() -> None:
    names = {b.path.name for b in BLOCKS}
    assert {"user-guide.md", "README.md"} <= names


def test_the_api_reference_documents_every_public_object() -> None:
    """Every function and class in a public ``__all__`` appears on a page of docs/api/."""
    import importlib
    import inspect

    from tests.test_api_conventions import _public_modules

    documented: set[int] = set()
    for page in sorted((REPO / "docs" / "api").glob("*.md")):
        for module_name in re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), flags=re.M):
            if module_name == "cimkit":
                continue  # rendered without members: the top level re-exports the pages' objects
            module = importlib.import_module(module_name)
            documented.update(id(getattr(module, name)) for name in getattr(module, "__all__", ()))
    missing = sorted(
        f"{module_name}.{name}"
        for module_name in _public_modules()
        for name, obj in vars(importlib.import_module(module_name)).items()
        if name in getattr(importlib.import_module(module_name), "__all__", ())
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", "").startswith("cimkit")
        and id(obj) not in documented
    )
    assert missing == [], "public objects missing from docs/api/*.md:\n" + "\n".join(missing)
