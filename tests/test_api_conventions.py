"""The public API speaks one vocabulary (docs/conventions.md) and imports only downward.

Two structural checks that fail the suite on drift:

* every parameter of every public function or class (listed in a public module's ``__all__``)
  is in the vocabulary of ``docs/conventions.md``, none is a retired name, and every public
  function starts with one of the listed verbs;
* the import graph of the package (every ``import`` statement, module level or inside a
  function, read with :mod:`ast`) has no upward import between tiers and no cycle between
  modules.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "cimkit"
CONVENTIONS = REPO / "docs" / "conventions.md"

# ---------------------------------------------------------------------------------------------
# the vocabulary, parsed from docs/conventions.md (the single source of truth)


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"docs/conventions.md has no '## {title}' section"
    return match.group(1)


def _vocabulary() -> set[str]:
    names: set[str] = set()
    for line in _section(CONVENTIONS.read_text(encoding="utf-8"), "Vocabulary").splitlines():
        if not line.startswith("- ") and not line.startswith("  "):
            continue
        head = line.split(":", 1)[0] if line.startswith("- ") else line
        names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", head))
    return names


def _verbs() -> set[str]:
    return set(re.findall(r"`([a-z]+)`", _section(CONVENTIONS.read_text(encoding="utf-8"), "Verbs")))


def _retired() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _section(CONVENTIONS.read_text(encoding="utf-8"), "Retired names").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("retired", "---"):
            continue
        for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[0]):
            table[name] = cells[1]
    return table


# ---------------------------------------------------------------------------------------------
# the public API: every name in the __all__ of a public module

PRIVATE_PARTS = ("cli",)  # the command line's options are its flags, documented in --help


def _public_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts[1:]) or any(p in PRIVATE_PARTS for p in parts[1:]):
            continue
        if parts[-1] == "generator" or ("datasets" in parts[1:2] and parts[-1] != "datasets"):
            # generated-data authoring: sample-city internals, public only through cimkit.datasets
            continue
        modules.append(".".join(parts))
    return modules


def _public_callables():
    seen: dict[int, tuple[str, object]] = {}
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if obj is None or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("cimkit"):
                continue
            if id(obj) not in seen:
                seen[id(obj)] = (f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(seen.values(), key=lambda item: item[0])


def _parameters(obj) -> list[str]:
    target = obj
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            target = obj.__init__
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            return []
    else:
        signature = inspect.signature(obj)
    return [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]


def test_every_public_module_declares_all():
    missing = [m for m in _public_modules() if not hasattr(importlib.import_module(m), "__all__")]
    assert missing == [], f"public modules without __all__: {missing}"


def test_conventions_page_parses():
    vocabulary, verbs, retired = _vocabulary(), _verbs(), _retired()
    assert {"buildings", "parcels", "zones", "dem", "origins", "destinations"} <= vocabulary
    assert {"compute", "check", "assess", "read"} <= verbs
    assert retired["cutoff"] == "`max_time_min`"
    assert not (vocabulary & set(retired)), f"names both allowed and retired: {vocabulary & set(retired)}"


def test_public_parameters_use_the_vocabulary():
    vocabulary, retired = _vocabulary(), _retired()
    problems = []
    for qualname, obj in _public_callables():
        for name in _parameters(obj):
            if name in retired:
                problems.append(f"{qualname}({name}=...): retired, use {retired[name]}")
            elif name not in vocabulary:
                problems.append(f"{qualname}({name}=...): not in docs/conventions.md")
    assert problems == [], "\n".join(problems)


def test_public_functions_start_with_a_verb():
    verbs = _verbs()
    problems = [
        qualname
        for qualname, obj in _public_callables()
        if inspect.isfunction(obj) and obj.__name__.split("_")[0] not in verbs
    ]
    assert problems == [], "public functions not starting with a verb of docs/conventions.md:\n" + "\n".join(
        problems
    )


def test_vocabulary_check_catches_a_bad_name():
    """The walk above is not vacuous: a retired name in a fake signature is reported."""

    def compute_example(network, cutoff=None):  # pragma: no cover - inspected only
        return None

    assert "cutoff" in _retired() and "network" in _vocabulary()
    assert [p for p in _parameters(compute_example) if p in _retired()] == ["cutoff"]
    assert len(_public_callables()) > 80


# ---------------------------------------------------------------------------------------------
# layering: io -> model -> network -> analysis -> datasets / viz -> cli

TIERS: list[tuple[str, tuple[str, ...]]] = [
    # core containers and plumbing: import nothing above them
    (
        "core",
        (
            "cimkit.errors",
            "cimkit.options",
            "cimkit.provenance",
            "cimkit.raster",
            "cimkit.graph",
            "cimkit.network.graph",
            "cimkit._crs",
            "cimkit.data",
            "cimkit._progress",
            "cimkit._typing",
            "cimkit._atomic",
            "cimkit._summary",
            "cimkit._quality",
            "cimkit._placement",
            "cimkit._codes",
            "cimkit._sensitivity",
            "cimkit._views",
            "cimkit.audit",
            "cimkit.governance",
        ),
    ),
    ("io", ("cimkit.io",)),
    ("model", ("cimkit.model",)),
    ("network", ("cimkit.network",)),
    ("analysis", ("cimkit.analysis",)),
    ("views", ("cimkit.viz", "cimkit.datasets")),
    ("cli", ("cimkit.cli", "cimkit.recipe")),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _tier(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, tier)
    for rank, (_, prefixes) in enumerate(TIERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), rank)
    return None if best is None else best[1]


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:
                found.add(f"{target}.{alias.name}")
    known = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    resolved = set()
    for name in found:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name.startswith("cimkit") and name != module and name != "cimkit":
            resolved.add(name)
    return resolved


def _import_graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p, _module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_tier():
    untiered = [m for m in _import_graph() if m != "cimkit" and _tier(m) is None]
    assert untiered == [], f"modules outside every tier of the layering test: {untiered}"


def test_no_upward_imports():
    graph = _import_graph()
    upward = []
    for module, targets in graph.items():
        if module == "cimkit":
            continue  # the lazy top-level namespace re-exports from every tier
        here = _tier(module)
        for target in sorted(targets):
            there = _tier(target)
            if here is not None and there is not None and there > here:
                upward.append(f"{module} ({TIERS[here][0]}) imports {target} ({TIERS[there][0]})")
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components; a component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _without_package_reexports(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ re-exporting its own submodules is not a cycle of meaning:
    # drop the edges from a submodule up to its own parent package.
    trimmed = {}
    for module, targets in graph.items():
        trimmed[module] = {t for t in targets if not module.startswith(t + ".")}
    trimmed.pop("cimkit", None)
    return trimmed


def test_no_import_cycles():
    cycles = _cycles(_without_package_reexports(_import_graph()))
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# ---------------------------------------------------------------------------------------------
# size limits of docs/architecture.md: no module over 600 lines, no function over 120 lines of
# code (its docstring not counted)

AUTHORING = ("cimkit/datasets/",)  # generated-data authoring is exempt from the function limit
# The error-code registry is a table (one line per code, see docs/errors.md): it grows with the
# codes, and one table is easier to keep free of reused numbers than one per area.
TABLES = ("cimkit/_codes.py",)  # exempt from the module limit


def test_module_and_function_sizes():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > 600 and rel not in TABLES:
            problems.append(f"{rel}: {lines} lines (limit 600)")
        if rel.startswith(AUTHORING):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                # the code's length: the docstring (parameters, examples) is documentation
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                doc = node.body[0] if node.body else None
                if isinstance(doc, ast.Expr) and isinstance(getattr(doc, "value", None), ast.Constant):
                    length -= (doc.end_lineno or doc.lineno) - doc.lineno + 1
                if length > 120:
                    problems.append(f"{rel}:{node.lineno} {node.name}: {length} lines (limit 120)")
    model_lines = (PACKAGE / "model.py").read_text(encoding="utf-8").count("\n")
    if model_lines >= 500:
        problems.append(f"cimkit/model.py: {model_lines} lines (limit 500)")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("module", ["cimkit.analysis.flood", "cimkit.analysis.carbon"])
def test_packages_import(module):
    assert importlib.import_module(module).__all__


# ---------------------------------------------------------------------------------------------
# the straight path is public: the demo is a thin caller of public functions


def test_demo_is_a_thin_caller_of_public_functions():
    path = PACKAGE / "cli" / "demo.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body_lines = sum(
        (node.end_lineno or node.lineno) - node.lineno + 1
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    assert body_lines < 150, f"cli/demo.py functions hold {body_lines} lines (limit 150)"
    private = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cimkit"):
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                public = getattr(module, "__all__", [])
                submodule = importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                if alias.name.startswith("_") or (alias.name not in public and not submodule):
                    private.append(f"{node.module}.{alias.name}")
    assert private == [], f"the demo imports non-public names: {private}"
    helpers = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_")]
    assert helpers == [], f"the demo has private helpers (move them into the library): {helpers}"


# ---------------------------------------------------------------------------------------------
# every public callable, and every public method of a public class, shows an example


def _public_methods(cls) -> list[tuple[str, object]]:
    methods: list[tuple[str, object]] = []
    for name, member in vars(cls).items():
        if name.startswith("_") or isinstance(member, property):
            continue
        func = getattr(member, "__func__", member)  # staticmethod / classmethod
        if inspect.isfunction(func):
            methods.append((f"{cls.__module__}.{cls.__qualname__}.{name}", func))
    return methods


def test_every_public_callable_and_method_has_an_example():
    missing = []
    for qualname, obj in _public_callables():
        targets = [(qualname, obj)]
        if inspect.isclass(obj):
            targets += _public_methods(obj)
        missing += [name for name, target in targets if ">>>" not in (inspect.getdoc(target) or "")]
    message = "public callables or methods whose docstring has no '>>>' example:\n" + "\n".join(missing)
    assert missing == [], message
