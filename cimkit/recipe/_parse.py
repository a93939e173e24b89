"""Reading and checking a recipe: TOML text, key lines, types, paths, files."""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimkit.errors import CimkitError, CimkitIOError, FileFormatError, InputError

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


#: Readers a source may name with ``reader = "..."``: name -> (module, function).
READERS: dict[str, tuple[str, str]] = {
    "parcels": ("cimkit.io.vector", "read_parcels"),
    "zoning": ("cimkit.io.plu", "read_zoning"),
    "prescriptions": ("cimkit.io.plu", "read_prescriptions"),
    "pois": ("cimkit.io.vector", "read_pois"),
    "buildings": ("cimkit.io.vector", "read_buildings"),
    "layer": ("cimkit.io.vector", "read_layer"),
    "cityjson": ("cimkit.io.cityjson", "read_cityjson"),
    "ifc": ("cimkit.io.ifc", "read_ifc_model"),
}
_DEFAULT_READER = {"parcels": "parcels", "zones": "zoning", "prescriptions": "prescriptions", "pois": "pois"}
_ANALYSES: dict[str, tuple[str, str]] = {
    "zoning": ("cimkit.analysis.zoning", "assess"),
    "flood": ("cimkit.analysis.flood", "assess"),
    "carbon": ("cimkit.analysis.carbon", "assess"),
    "accessibility": ("cimkit.analysis.accessibility", "assess"),
}
_TOP = ("recipe", "city", "sources", "networks", "dem", "analyses", "outputs")
_OWN = {"path": (str,), "reader": (str,), "sha256": (str,), "licence": (str,)}
_IFC_OWN = {"register": (str,), "register_columns": (list,)}
_PATH_OPTIONS = ("rules", "register")
_PARTS = {"ifc": "ifc", "footprints": "buildings", "cityjson": "cityjson"}
_OUTPUTS = {"model": ".gpkg", "report": "", "cityjson": ".json"}
_NOT_OPTIONS = {"path", "source", "kind", "model", "roads", "closed_network", "scenarios", "inflow", "reader"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


# ------------------------------------------------------------------------------ recipe text
def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(a or b or c for a, b, c in parts)


_KEY = r'(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)'


def _line_of(text: str, keys: tuple[str, ...]) -> int | None:
    """Return the 1-based line defining ``keys`` (or, failing that, its longest defined parent)."""
    header: tuple[str, ...] = ()
    best: tuple[int, int | None] = (0, None)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        table = re.match(r"^\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$", line)
        assignment = re.match(rf"^({_KEY}(?:\s*\.\s*{_KEY})*)\s*=", line)
        if table:
            header = full = _split_key(table.group(1))
        elif assignment:
            full = header + _split_key(assignment.group(1))
        else:
            continue
        if full[: len(keys)] == keys:
            return number
        shared = next(
            (i for i, (a, b) in enumerate(zip(full, keys, strict=False)) if a != b), min(len(full), len(keys))
        )
        if shared == len(full) and shared > best[0]:
            best = (shared, number)
    return best[1]


class _Recipe:
    """A parsed recipe: its file, text, table and the errors it raises (naming key and line)."""

    def __init__(self, path: Path) -> None:
        self.path, self.folder = path, path.parent.resolve()
        try:
            self.data = path.read_bytes()
        except OSError as err:
            raise CimkitIOError(
                f"cannot read the recipe: {err.strerror or err}",
                path=path,
                code="RCP004",
                hint="give the path of an existing city.toml.",
            ) from err
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        try:
            self.text = self.data.decode("utf-8")
            self.doc = tomllib.loads(self.text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            found = re.search(r"line (\d+)", str(err))
            raise FileFormatError(
                f"the recipe is not valid TOML ({err})",
                path=path,
                code="RCP001",
                line=int(found.group(1)) if found else None,
                hint="correct the TOML syntax at that line.",
            ) from err
        settings = self.doc.get("recipe", {})
        self.allow_absolute = (
            bool(settings.get("allow_absolute_paths", False)) if isinstance(settings, dict) else False
        )

    def error(
        self, cls: type[CimkitError], message: str, keys: tuple[str, ...], code: str, hint: str
    ) -> CimkitError:
        key = ".".join(keys)
        return cls(
            f"key {key!r}: {message}", path=self.path, line=_line_of(self.text, keys), code=code, hint=hint
        )

    def name_key(self, err: CimkitError, keys: tuple[str, ...]) -> CimkitError:
        """Prefix a reader's or analysis' own error with the recipe key (type and code kept)."""
        line = _line_of(self.text, keys)
        err.message = f"recipe key {'.'.join(keys)!r} ({self.path.name} line {line}): {err.message}"
        err.args = (err._format(),)
        return err

    def table(
        self, value: Any, keys: tuple[str, ...], allowed: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(
                InputError,
                f"must be a table, not {type(value).__name__}",
                keys,
                "RCP003",
                f"write it as a [{'.'.join(keys)}] table.",
            )
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.error(
                        InputError,
                        "unknown key",
                        (*keys, key),
                        "RCP002",
                        f"use one of: {', '.join(sorted(allowed))} (see docs/recipe.md).",
                    )
        return value

    def check_type(self, value: Any, keys: tuple[str, ...], accepted: tuple[type, ...] | str) -> None:
        ok = (
            _accepts(accepted, value)
            if isinstance(accepted, str)
            else (isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted))
        )
        if not ok:
            wanted = accepted if isinstance(accepted, str) else " or ".join(t.__name__ for t in accepted)
            raise self.error(
                InputError,
                f"has the wrong type: {type(value).__name__} {value!r}, expected {wanted}",
                keys,
                "RCP003",
                "correct the value's type (quote text, no quotes around numbers).",
            )

    def resolve(self, value: str, keys: tuple[str, ...], root: Path | None = None) -> list[Path]:
        """Return the files a path (or glob, or folder) names, inside ``root`` unless absolute paths are allowed."""
        root = (root or self.folder).resolve()
        given = Path(value)
        if given.is_absolute() and not self.allow_absolute:
            raise self.error(
                InputError,
                f"absolute path {value!r} refused",
                keys,
                "RCP006",
                "give the path relative to the recipe's folder, or set allow_absolute_paths = "
                "true in [recipe].",
            )
        if any(c in value for c in "*?["):
            base = Path(given.anchor) if given.is_absolute() else root
            files = sorted(base.glob(str(given.relative_to(given.anchor)) if given.is_absolute() else value))
        else:
            files = [given if given.is_absolute() else root / given]
        out = [Path(os.path.realpath(p)) for p in files]
        for path in out:
            if not given.is_absolute() and not path.is_relative_to(root):
                raise self.error(
                    InputError,
                    f"path {value!r} leads outside the folder {root}",
                    keys,
                    "RCP006",
                    "keep sources inside the recipe's folder, or give an absolute path with "
                    "allow_absolute_paths = true in [recipe].",
                )
        return out


def _accepts(annotation: str, value: Any) -> bool:
    """Tell whether a TOML value fits a parameter's (string) annotation."""
    simple = {
        "float": (int, float),
        "int": (int,),
        "str": (str,),
        "bool": (bool,),
        "Sequence": (list,),
        "list": (list,),
        "tuple": (list,),
        "Mapping": (dict,),
        "dict": (dict,),
        "PathLike": (str,),
    }
    depth, current = 0, ""
    parts: list[str] = []
    for char in annotation.replace(" ", ""):
        depth += (char == "[") - (char == "]")
        if char == "|" and depth == 0:
            parts, current = [*parts, current], ""
        else:
            current += char
    for part in [*parts, current]:
        base = part.split("[", 1)[0].rsplit(".", 1)[-1]
        if base in ("Any", ""):
            return True
        if base == "Literal":
            if value in ast.literal_eval(f"({part[8:-1]},)") and not isinstance(value, bool):
                return True
        elif base in simple and isinstance(value, simple[base]):
            if not isinstance(value, bool) or base == "bool":
                return True
    return False


# ------------------------------------------------------------------------------ validation
def _function(spec: tuple[str, str]) -> Callable[..., Any]:
    import importlib

    return getattr(importlib.import_module(spec[0]), spec[1])  # type: ignore[no-any-return]


def _check_options(
    recipe: _Recipe,
    options: dict[str, Any],
    keys: tuple[str, ...],
    func: Callable[..., Any],
    extra: tuple[str, ...] = (),
) -> None:
    """Every option is a keyword parameter of ``func`` (or an ``extra`` key), of a fitting type."""
    params = {n: p for n, p in inspect.signature(func).parameters.items() if n not in _NOT_OPTIONS}
    allowed = {*params, *extra}
    for key, value in options.items():
        if key not in allowed:
            raise recipe.error(
                InputError,
                f"is not an option of {func.__module__}.{func.__name__}",
                (*keys, key),
                "RCP002",
                f"use one of: {', '.join(sorted(allowed))}.",
            )
        if key in params:
            annotation = params[key].annotation
            recipe.check_type(value, (*keys, key), annotation if isinstance(annotation, str) else "Any")


@dataclass
class _Source:
    keys: tuple[str, ...]
    reader: str
    files: list[Path]
    options: dict[str, Any]
    extra_files: list[Path] = field(default_factory=list)
    sha256: str | None = None
    licence: str | None = None


def _parse_source(
    recipe: _Recipe,
    table: Any,
    keys: tuple[str, ...],
    reader: str | None,
    func: Callable[..., Any] | None = None,
) -> _Source:
    """Check one source table (own keys, reader options, files); ``func``: the reader of a network / DEM."""
    table = recipe.table(table, keys)
    own = {**_OWN, **_IFC_OWN}
    for key, accepted in own.items():
        if key in table:
            recipe.check_type(table[key], (*keys, key), accepted)
    if "path" not in table:
        raise recipe.error(InputError, "has no 'path'", keys, "RCP002", 'add path = "<file>" to the table.')
    path = table["path"]
    name = reader or table.get("reader") or _infer_reader(keys[-1], path)
    if func is None and name not in READERS:
        raise recipe.error(
            InputError,
            f"unknown reader {name!r}",
            (*keys, "reader"),
            "RCP003",
            f"use one of: {', '.join(READERS)}.",
        )
    if func is not None and "reader" in table:
        raise recipe.error(
            InputError,
            "unknown key",
            (*keys, "reader"),
            "RCP002",
            "networks and the DEM choose their reader from the file; remove it.",
        )
    options = {k: v for k, v in table.items() if k not in own}
    for key in (k for k in _IFC_OWN if k in table and name != "ifc"):
        raise recipe.error(
            InputError,
            "only IFC sources take a register",
            (*keys, key),
            "RCP002",
            'remove it, or read IFC files (reader = "ifc").',
        )
    _check_options(recipe, options, keys, func or _function(READERS[name]))
    if "sha256" in table and not _HEX.match(table["sha256"]):
        raise recipe.error(
            InputError,
            "is not a sha256 (64 lower-case hex digits)",
            (*keys, "sha256"),
            "RCP003",
            "copy the digest sha256sum prints, or run cimkit build --update-hashes.",
        )
    files = recipe.resolve(path, (*keys, "path"))
    if name == "ifc" and len(files) == 1 and files[0].is_dir():
        files = sorted(files[0].glob("*.ifc"))
    missing = [p for p in files if not p.exists()]
    if not files or missing:
        raise recipe.error(
            CimkitIOError,
            f"source {missing[0] if missing else path} not found",
            (*keys, "path"),
            "RCP004",
            "correct the path (relative to the recipe's folder) or add the file.",
        )
    if len(files) > 1 and name != "ifc":
        raise recipe.error(
            InputError,
            f"{path!r} names {len(files)} files; only IFC sources read several",
            (*keys, "path"),
            "RCP003",
            "name one file per layer (one [sources.<layer>] table each).",
        )
    extra: list[Path] = []
    for key in (k for k in _PATH_OPTIONS if isinstance(table.get(k), str)):
        found = recipe.resolve(table[key], (*keys, key))[0]
        if not found.is_file():
            raise recipe.error(
                CimkitIOError,
                f"file {found} not found",
                (*keys, key),
                "RCP004",
                "correct the path (relative to the recipe's folder) or add the file.",
            )
        extra.append(found)
        options[key] = found
    if "register_columns" in table:
        options["register_columns"] = table["register_columns"]
    return _Source(keys, name, files, options, extra, table.get("sha256"), table.get("licence"))


def _infer_reader(layer: str, path: str) -> str:
    lower = path.lower()
    if lower.endswith(".ifc") or lower.rstrip("/").endswith("*.ifc"):
        return "ifc"
    if lower.endswith((".city.json", ".cityjson", ".city.jsonl")):
        return "cityjson"
    return _DEFAULT_READER.get(layer, "buildings" if layer in ("buildings", "footprints") else "layer")


def _files_sha256(files: list[Path], folder: Path) -> str:
    """One file: its sha256. Several: the sha256 of the ``sha256sum`` listing sorted by path."""
    from cimkit.provenance import compute_sha256

    if len(files) == 1:
        return compute_sha256(files[0])
    lines = sorted((_relative(p, folder), compute_sha256(p)) for p in files)
    return hashlib.sha256("".join(f"{digest}  {name}\n" for name, digest in lines).encode()).hexdigest()


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.as_posix()


@dataclass
class _Plan:
    name: str
    crs: Any
    licence: str | None
    sources: list[tuple[str, Any]]  # layer -> _Source, or "buildings" -> dict of parts (+ min_iou)
    networks: dict[str, _Source]
    dem: _Source | None
    analyses: dict[str, dict[str, Any]]
    outputs: dict[str, str]


def _parse(recipe: _Recipe) -> _Plan:
    """Check the whole recipe (keys, types, paths, files) before anything is read."""
    doc = recipe.table(recipe.doc, (), dict.fromkeys(_TOP))
    settings = recipe.table(doc.get("recipe", {}), ("recipe",), {"version": 1, "allow_absolute_paths": 1})
    checks: tuple[tuple[str, tuple[type, ...]], ...] = (
        ("version", (int,)),
        ("allow_absolute_paths", (bool,)),
    )
    for key, accepted in checks:
        if key in settings:
            recipe.check_type(settings[key], ("recipe", key), accepted)
    if settings.get("version", 1) != 1:
        raise recipe.error(
            InputError,
            f"version {settings['version']} is not read by this cimkit",
            ("recipe", "version"),
            "RCP003",
            "write version = 1, or upgrade cimkit.",
        )
    city = recipe.table(doc.get("city", {}), ("city",), {"name": 1, "crs": 1, "licence": 1})
    checks = (("name", (str,)), ("crs", (str, int)), ("licence", (str,)))
    for key, accepted in checks:
        if key in city:
            recipe.check_type(city[key], ("city", key), accepted)
    if "crs" not in city:
        raise recipe.error(
            InputError,
            "is missing",
            ("city", "crs"),
            "RCP002",
            'add crs = "EPSG:2154" (the model\'s projected CRS) under [city].',
        )
    sources: list[tuple[str, Any]] = []
    for layer, table in recipe.table(doc.get("sources", {}), ("sources",)).items():
        keys = ("sources", layer)
        if not _NAME.match(layer):
            raise recipe.error(
                InputError,
                "is not a layer name (lower-case letters, digits, _)",
                keys,
                "RCP003",
                "rename the table, e.g. [sources.parcels].",
            )
        table = recipe.table(table, keys)
        if layer == "buildings" and any(isinstance(table.get(p), dict) for p in _PARTS):
            recipe.table(table, keys, {**_PARTS, "min_iou": 1})
            if "min_iou" in table:
                recipe.check_type(table["min_iou"], (*keys, "min_iou"), (int, float))
            parts = {
                p: _parse_source(recipe, table[p], (*keys, p), r) for p, r in _PARTS.items() if p in table
            }
            sources.append((layer, {**parts, "min_iou": table.get("min_iou", 0.5)}))
        else:
            sources.append((layer, _parse_source(recipe, table, keys, None)))
    networks = {}
    for kind, table in recipe.table(doc.get("networks", {}), ("networks",)).items():
        keys = ("networks", kind)
        if kind not in ("road", "water", "sewer", "power"):
            raise recipe.error(
                InputError,
                f"network kind {kind!r} unknown",
                keys,
                "RCP003",
                "use one of road, water, sewer, power.",
            )
        networks[kind] = _parse_source(
            recipe, table, keys, "network", _function(("cimkit.network.read", "read_network"))
        )
    dem = None
    if "dem" in doc:
        dem = _parse_source(recipe, doc["dem"], ("dem",), "dem", _function(("cimkit.io.raster", "read_dem")))
    analyses = _parse_analyses(recipe, recipe.table(doc.get("analyses", {}), ("analyses",), _ANALYSES))
    outputs = recipe.table(doc.get("outputs", {}), ("outputs",), _OUTPUTS)
    for key, suffix in _OUTPUTS.items():
        if key in outputs:
            recipe.check_type(outputs[key], ("outputs", key), (str,))
            if not outputs[key].lower().endswith(suffix):
                raise recipe.error(
                    InputError, f"must end in {suffix}", ("outputs", key), "RCP003", f"name a {suffix} file."
                )
    return _Plan(
        city.get("name", recipe.path.stem),
        city["crs"],
        city.get("licence"),
        sources,
        networks,
        dem,
        analyses,
        outputs,
    )


def _parse_analyses(recipe: _Recipe, tables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    extra = {"flood": ("scenarios", "inflow"), "accessibility": ("flood_return_period",)}
    out = {}
    for name, table in tables.items():
        keys = ("analyses", name)
        options = dict(recipe.table(table, keys))
        _check_options(recipe, options, keys, _function(_ANALYSES[name]), extra.get(name, ()))
        if name == "flood":
            scenarios = options.get("scenarios")
            if scenarios is None:
                raise recipe.error(
                    InputError,
                    "has no 'scenarios'",
                    keys,
                    "RCP002",
                    'add scenarios = "flood_scenarios.csv" or a table of return period = level.',
                )
            recipe.check_type(scenarios, (*keys, "scenarios"), (str, dict))
            if isinstance(scenarios, str):
                found = recipe.resolve(scenarios, (*keys, "scenarios"))[0]
                if not found.is_file():
                    raise recipe.error(
                        CimkitIOError,
                        f"file {found} not found",
                        (*keys, "scenarios"),
                        "RCP004",
                        "correct the path (relative to the recipe's folder).",
                    )
                options["scenarios"] = found
            if "inflow" in options:
                recipe.check_type(options["inflow"], (*keys, "inflow"), (str,))
        if name == "accessibility" and "flood_return_period" in options:
            recipe.check_type(options["flood_return_period"], (*keys, "flood_return_period"), (int, float))
            if "flood" not in tables:
                raise recipe.error(
                    InputError,
                    "needs [analyses.flood]",
                    (*keys, "flood_return_period"),
                    "RCP003",
                    "add an [analyses.flood] table, or remove flood_return_period.",
                )
        out[name] = options
    return out
