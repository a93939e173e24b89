"""A PLU what-if scenario as plain data: rule edits, re-zoning, constraints and assumptions.

A scenario is a TOML or JSON document::

    name = "Densify UB"
    [rules.UB]                 # rule edits per zone label (columns of cimkit.io.plu.RULE_COLUMNS)
    max_height_m = 15
    [[rezoning]]               # a polygon (WKT or GeoJSON, in the model CRS) given a new zone
    geometry = "POLYGON ((...))"
    zone = "UB"
    [constraints.max_flood_depth_m]   # no new dwellings where the 100-year depth exceeds 0.5 m
    return_period = 100
    depth_m = 0.5
    [constraints.hazard_buffer]       # ... nor within 50 m of a layer of the model
    layer = "river"
    distance_m = 50
    [assumptions]
    dwelling_size_m2 = 63

Examples
--------
>>> scenario = Scenario.from_dict({"name": "UB +1 storey", "rules": {"UB": {"max_height_m": 15}}})
>>> scenario.rules, scenario.assumptions["persons_per_dwelling"]
({'UB': {'max_height_m': 15.0}}, 2.16)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from cimkit.errors import InputError, ValidationError
from cimkit.io.plu import RULE_COLUMNS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["DEFAULT_ASSUMPTIONS", "Scenario"]

#: Default assumptions, each with its source (replace them with local figures)
DEFAULT_ASSUMPTIONS: dict[str, float] = {
    # average living area of an apartment in France: 63 m² (INSEE, enquête Logement 2013); floor
    # area per dwelling is larger (walls, stairs): an upper count
    "dwelling_size_m2": 63.0,
    # share of the new floor area that is housing (an assumption: set it per scenario)
    "residential_share": 0.9,
    # share of the additional capacity built over the horizon (1: the full capacity)
    "uptake_rate": 1.0,
    "horizon_years": 15.0,
    # average household size, France excluding Mayotte, 2021: 2.16 persons per main residence
    # (INSEE, recensement RP2021, "Taille des ménages", https://insee.fr/fr/statistiques/2381486)
    "persons_per_dwelling": 2.16,
    # jobs per m² of non-residential floor area: 1 per 25 m² (an assumption, no national figure)
    "jobs_per_m2": 0.04,
    # RE2020 permit year of the new buildings (picks the Ic construction maximum)
    "reference_year": 2025.0,
}

#: The rule columns a scenario may edit: the numeric rules of the zone rules table
EDITABLE_RULES = tuple(c for c in RULE_COLUMNS if c not in ("libelle", "allowed_uses"))

_SHARES = ("residential_share", "uptake_rate")
_KEYS = ("name", "description", "rules", "rezoning", "constraints", "assumptions")


def _bad(message: str, hint: str) -> InputError:
    return InputError(message, hint=hint, code="SCN003")


def _check_rules(rules: Any) -> dict[str, dict[str, float]]:
    if not isinstance(rules, dict):
        raise _bad(
            "'rules' must map a zone label to {rule: value}", "e.g. rules = {UB = {max_height_m = 15}}"
        )
    out: dict[str, dict[str, float]] = {}
    for zone, edits in rules.items():
        if not isinstance(edits, dict):
            raise _bad(f"the rules of zone {zone!r} must be a table of rule = value", "e.g. [rules.UB]")
        unknown = sorted(set(edits) - set(EDITABLE_RULES))
        if unknown:
            raise _bad(
                f"unknown rule(s) {', '.join(unknown)} for zone {zone!r}",
                f"a scenario may edit {', '.join(EDITABLE_RULES)}.",
            )
        out[str(zone)] = {k: float(v) for k, v in edits.items()}
    return out


def _check_rezoning(rezoning: Any) -> list[dict[str, Any]]:
    if not isinstance(rezoning, list):
        raise _bad("'rezoning' must be a list of {geometry, zone}", "use [[rezoning]] tables in TOML.")
    out = []
    for i, item in enumerate(rezoning):
        if not isinstance(item, dict) or "geometry" not in item or "zone" not in item:
            raise _bad(f"rezoning #{i + 1} needs 'geometry' and 'zone'", "give a WKT or GeoJSON polygon.")
        geom = _to_geometry(item["geometry"], i)
        if shapely.get_type_id(geom) not in (3, 6):
            raise _bad(f"rezoning #{i + 1}: the geometry is not a polygon", "give a Polygon or MultiPolygon.")
        out.append({"geometry": item["geometry"], "zone": str(item["zone"])})
    return out


def _to_geometry(value: Any, i: int) -> Any:
    try:
        if isinstance(value, dict):
            return shapely.from_geojson(json.dumps(value))
        return shapely.from_wkt(str(value))
    except (shapely.errors.GEOSException, ValueError, TypeError) as err:
        raise _bad(
            f"rezoning #{i + 1}: unreadable geometry ({err})", "give WKT or a GeoJSON geometry."
        ) from err


def _check_constraints(constraints: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(constraints, dict):
        raise _bad("'constraints' must be a table", "see docs/scenarios.md")
    needs = {"max_flood_depth_m": ("return_period", "depth_m"), "hazard_buffer": ("layer", "distance_m")}
    for key, value in constraints.items():
        if key not in needs:
            raise _bad(f"unknown constraint {key!r}", f"known constraints: {', '.join(needs)}.")
        missing = [k for k in needs[key] if not isinstance(value, dict) or k not in value]
        if missing:
            raise _bad(f"constraint {key!r} lacks {', '.join(missing)}", f"give {', '.join(needs[key])}.")
    return {k: dict(v) for k, v in constraints.items()}


def _check_assumptions(assumptions: Any) -> dict[str, float]:
    if not isinstance(assumptions, dict):
        raise _bad("'assumptions' must be a table", "see docs/scenarios.md")
    unknown = sorted(set(assumptions) - set(DEFAULT_ASSUMPTIONS))
    if unknown:
        raise _bad(f"unknown assumption(s) {', '.join(unknown)}", f"known: {', '.join(DEFAULT_ASSUMPTIONS)}.")
    out = {**DEFAULT_ASSUMPTIONS, **{k: float(v) for k, v in assumptions.items()}}
    for key in _SHARES:
        if not 0.0 <= out[key] <= 1.0:
            raise ValidationError(f"assumption {key!r} must be in 0-1; {out[key]!r} was given", code="SCN002")
    for key in ("dwelling_size_m2", "persons_per_dwelling"):
        if out[key] <= 0:
            raise ValidationError(f"assumption {key!r} must be > 0; {out[key]!r} was given", code="SCN002")
    return out


@dataclass
class Scenario:
    """A PLU what-if: rule edits per zone, re-zoned polygons, constraints and assumptions.

    Attributes
    ----------
    name
        A short name (a column of the comparison).
    rules
        ``{zone label: {rule: value}}``; the rules are those of :data:`EDITABLE_RULES`.
    rezoning
        ``[{"geometry": WKT or GeoJSON polygon in the model CRS, "zone": label}]``, applied in
        order: the polygon is cut out of the zones and takes the rules of ``zone`` (those of an
        existing zone of that label, edited by ``rules``).
    constraints
        ``{"max_flood_depth_m": {"return_period": 100, "depth_m": 0.5}}`` (no new dwellings on a
        parcel where the deepest water at that return period exceeds ``depth_m``, the logic of a
        French PPRI) and ``{"hazard_buffer": {"layer": "river", "distance_m": 50}}`` (none within
        ``distance_m`` of a layer of the model).
    assumptions
        Missing keys take :data:`DEFAULT_ASSUMPTIONS` (sources in ``docs/scenarios.md``).
    description
        Free text.

    Examples
    --------
    >>> Scenario(name="current rules").to_dict()["rules"]
    {}
    """

    name: str
    rules: dict[str, dict[str, float]] = field(default_factory=dict)
    rezoning: list[dict[str, Any]] = field(default_factory=list)
    constraints: dict[str, dict[str, Any]] = field(default_factory=dict)
    assumptions: dict[str, float] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        self.rules = _check_rules(self.rules)
        self.rezoning = _check_rezoning(self.rezoning)
        self.constraints = _check_constraints(self.constraints)
        self.assumptions = _check_assumptions(self.assumptions)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """Build a scenario from a dictionary (the parsed TOML or JSON).

        Examples
        --------
        >>> Scenario.from_dict({"name": "A", "assumptions": {"uptake_rate": 0.5}}).assumptions["uptake_rate"]
        0.5
        """
        if not isinstance(data, dict) or "name" not in data:
            raise _bad("a scenario needs a 'name'", 'start the file with name = "..."')
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise _bad(f"unknown scenario key(s) {', '.join(unknown)}", f"known keys: {', '.join(_KEYS)}.")
        return cls(**{k: data[k] for k in _KEYS if k in data})

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Scenario:
        r"""Read a scenario from a TOML file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "s.toml").write_text('name = "UB 15 m"\n[rules.UB]\nmax_height_m = 15\n')
        >>> Scenario.from_toml(folder / "s.toml").rules
        {'UB': {'max_height_m': 15.0}}
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise InputError(
                f"cannot read the scenario file {path}: {err}", path=path, code="SCN003"
            ) from err
        return cls.from_dict(data)

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a scenario from a JSON file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "s.json").write_text('{"name": "A", "rules": {"UA": {"max_footprint_ratio": 0.8}}}')
        >>> Scenario.from_json(folder / "s.json").rules["UA"]
        {'max_footprint_ratio': 0.8}
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InputError(
                f"cannot read the scenario file {path}: {err}", path=path, code="SCN003"
            ) from err
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as plain data (JSON- and TOML-ready), assumptions filled in.

        Examples
        --------
        >>> Scenario.from_dict(Scenario(name="A", rules={"UB": {"max_height_m": 15}}).to_dict()).name
        'A'
        """
        return {
            "name": self.name,
            "description": self.description,
            "rules": {k: dict(v) for k, v in self.rules.items()},
            "rezoning": [dict(r) for r in self.rezoning],
            "constraints": {k: dict(v) for k, v in self.constraints.items()},
            "assumptions": dict(self.assumptions),
        }


def _scenario_json(scenario: Scenario) -> tuple[str, str]:
    """Return the scenario as canonical JSON and its sha256 (for provenance)."""
    text = json.dumps(scenario.to_dict(), sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()
