"""IFC buildings of a generated city: a few authored templates, re-placed as distinct copies.

Private to :mod:`cimkit.datasets.city`. Authoring one IFC4 building with ``ifcopenshell.api``
takes 0.4-1.3 s on a laptop core, far too slow for 1,000 files. So each kind of building
(:data:`TEMPLATES`, taken from the sample city's specifications) is authored ONCE per run, at
the map origin, with placeholder name and cadastral reference; each copy is then the template's
text with its own

- GlobalIds (every ``IfcRoot`` GlobalId derived from the seed, the file name and the entity),
- name (``IfcProject``, ``IfcBuilding``) and ``Pset_PermisDeConstruire.ReferenceCadastrale``,
- ``IfcMapConversion`` (Eastings, Northings, OrthogonalHeight: the terrain at its centre) and
  ``IfcSite`` reference point,

so the copies are identical in shape and content but distinct, georeferenced buildings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cimkit._atomic import write_bytes_atomic

#: template key -> (sample specification short name, zones, use code, front setback m);
#: a copy goes on a lot of those zones whose building has that use and where it fits the PLU setbacks
TEMPLATES: dict[str, tuple[str, tuple[str, ...], int, float]] = {
    "maison": ("maison_lilas_3", ("UB", "1AUh"), 0, 6.0),
    "maison_mm": ("maison_jaures_21", ("UB", "1AUh"), 0, 6.0),
    "ecole": ("ecole_jules_ferry", ("UE",), 4, 4.0),
    "bureaux": ("bureaux_ecoles", ("UX",), 1, 6.0),
    "commerce": ("commerce_grande_rue", ("UX",), 2, 6.0),
}
#: share of each template among the IFC buildings (before the pools run short)
TEMPLATE_SHARES = {"maison": 0.6, "maison_mm": 0.2, "bureaux": 0.08, "commerce": 0.04, "ecole": 0.08}
_NAME, _PARCEL, _STEM = "@NAME@", "@PARCEL@", "TPLFILE"
_GUID = re.compile(r"(=IFC[A-Z0-9]+\(')([0-9A-Za-z_$]{22})(')")
_MAP = re.compile(r"IFCMAPCONVERSION\((#\d+),(#\d+),[^,]+,[^,]+,[^,]+,")
_SITE = re.compile(r"(IFCSITE\('[^']*',\$,'Terrain',\$,\$,#\d+,\$,\$,\$,)\([^)]*\),\([^)]*\),[^,]+,")


def template_specs() -> dict[str, Any]:
    """Return the sample city's specification of each template, at the map origin, unrotated."""
    from cimkit.datasets._buildings import _ifc_specs

    by_name = {spec.short_name: spec for spec, _, _ in _ifc_specs()}
    return {
        key: dataclasses.replace(
            by_name[short],
            short_name=_STEM,
            name=_NAME,
            rotation_deg=0.0,
            eastings=0.0,
            northings=0.0,
            orthogonal_height=0.0,
            parcel_id=_PARCEL,
        )
        for key, (short, *_rest) in TEMPLATES.items()
    }


def _fitting(plan: Any, key: str, choice: np.ndarray) -> np.ndarray:
    """Return the buildings not yet chosen whose lot, zone and use take a copy of template ``key``."""
    from cimkit.datasets._city_buildings import road_margin, side_margin

    b, p = plan.buildings, plan.parcels
    _, zones, use, front = TEMPLATES[key]
    spec = template_specs()[key]
    lib = p["libelle"][b["parcel"]]
    pool = np.nonzero((b["kind"] == 0) & (choice < 0) & np.isin(lib, zones) & (b["use"] == use))[0]
    lots = b["parcel"][pool]
    side, road = side_margin(lib[pool], np.full(pool.size, spec.height_m)), road_margin(lib[pool])
    left = np.where(p["first"][lots], np.maximum(side, road), side)
    right = np.where(p["last"][lots], np.maximum(side, road), side)
    width_ok = p["x1"][lots] - p["x0"][lots] - left - right >= spec.width_m
    depth_ok = p["y1"][lots] - p["y0"][lots] - np.maximum(front, road) - side >= spec.depth_m
    return pool[width_ok & depth_ok]


def choose_ifc(plan: Any, rng: np.random.Generator, n_ifc: int) -> np.ndarray:
    """Choose the IFC buildings: template index (into TEMPLATES) of every building, -1 if none.

    The shares of :data:`TEMPLATE_SHARES` are kept while lots allow; a kind short of lots is
    made up by the others (houses first). The chosen buildings are moved to the template's size
    on their lot.
    """
    from cimkit.datasets._city_buildings import place_on_lot

    b = plan.buildings
    keys = list(TEMPLATES)
    specs = template_specs()
    choice = np.full(b["x0"].size, -1, dtype=np.int64)
    cum = np.round(np.cumsum([TEMPLATE_SHARES[k] for k in keys]) * n_ifc).astype(np.int64)
    wanted = dict(zip(keys, np.diff(cum, prepend=0).tolist()))  # rounded, summing to n_ifc
    for second_pass in (False, True):
        if second_pass:  # make up for the kinds that ran short, houses first
            wanted = dict.fromkeys(keys, 0)
            wanted[keys[0]] = n_ifc - int((choice >= 0).sum())
        for t, key in enumerate(keys):
            take = rng.permutation(_fitting(plan, key, choice))[: wanted[key]]
            if second_pass and t + 1 < len(keys):
                wanted[keys[t + 1]] += wanted[key] - len(take)
            choice[take] = t
            spec, front, n = specs[key], TEMPLATES[key][3], take.size
            size = (np.full(n, spec.width_m), np.full(n, spec.depth_m), np.full(n, spec.height_m))
            box = place_on_lot(plan, b["parcel"][take], *size, np.full(n, front), np.full(n, 0.5))
            b["x0"][take], b["y0"][take], b["x1"][take], b["y1"][take] = box
            b["storeys"][take] = spec.storeys
            b["height_m"][take] = spec.height_m
            b["year_built"][take] = spec.permit_year + 1 if spec.permit_year < 2026 else -1
    return choice


def _step_string(text: str) -> str:
    r"""Encode ISO 10303-21 string contents: quotes doubled, non-ASCII as \X2\ hex."""
    out = []
    for ch in text.replace("\\", "\\\\").replace("'", "''"):
        out.append(ch if ord(ch) < 128 else f"\\X2\\{ord(ch):04X}\\X0\\")
    return "".join(out)


_TEXTS: dict[str, str] = {}  # authored templates, kept for the process (they do not depend on the city)


def _author_templates(used: list[str]) -> dict[str, str]:
    from cimkit.datasets._ifc_authoring import author_building

    specs = template_specs()
    with tempfile.TemporaryDirectory() as tmp:
        for key in used:
            if key in _TEXTS:
                continue
            path = Path(tmp) / f"{key}.ifc"
            author_building(specs[key], path)
            text = path.read_text(encoding="utf-8")
            _TEXTS[key] = text.replace(
                "cimkit.datasets.generate_sample_city", "cimkit.datasets.generate_city"
            )
    return {key: _TEXTS[key] for key in used}


def _remove_stale(out: Path, keep: set[str]) -> None:
    """Delete the IFC files an earlier generate_city left in ``out/buildings`` (others stay)."""
    for path in sorted((out / "buildings").glob("*.ifc")):
        if path.name not in keep:
            with path.open("rb") as handle:
                head = handle.read(2000)
            if b"cimkit.datasets.generate_city" in head:
                path.unlink()


def write_ifc_copies(
    out: Path, plan: Any, choice: np.ndarray, ground: np.ndarray, names: list[str], seed: int
) -> list[list[Any]]:
    """Write ``buildings/*.ifc`` for the chosen buildings; return the rows of ``index.csv``."""
    import ifcopenshell.guid
    from ifcopenshell.util.geolocation import dd2dms
    from pyproj import Transformer

    keys = list(TEMPLATES)
    chosen = np.nonzero(choice >= 0)[0]
    _remove_stale(
        out,
        {
            f"{keys[choice[i]].split('_')[0]}_{plan.parcels['id'][plan.buildings['parcel'][i]]}.ifc"
            for i in chosen
        },
    )
    texts = _author_templates(sorted({keys[t] for t in choice[chosen]}, key=keys.index))
    specs = template_specs()
    b, p = plan.buildings, plan.parcels
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(b["x0"][chosen], b["y0"][chosen])
    rows = []
    for n, i in enumerate(chosen.tolist()):
        key = keys[choice[i]]
        spec = specs[key]
        pid = str(p["id"][b["parcel"][i]])
        stem = f"{key.split('_')[0]}_{pid}"
        text = texts[key].replace(f"'{_STEM}.ifc'", f"'{stem}.ifc'").replace(_NAME, _step_string(names[n]))
        text = text.replace(f"'{_PARCEL}'", f"'{pid}'")

        def guid(match: re.Match[str], stem: str = stem) -> str:
            digest = hashlib.md5(f"cimkit-city:{seed}:{stem}:{match.group(2)}".encode()).hexdigest()
            return match.group(1) + ifcopenshell.guid.compress(digest) + match.group(3)

        text = _GUID.sub(guid, text)
        e, nn, h = float(b["x0"][i]), float(b["y0"][i]), round(float(ground[i]), 2)
        text = _MAP.sub(rf"IFCMAPCONVERSION(\g<1>,\g<2>,{e:.3f},{nn:.3f},{h:.3f},", text, count=1)
        la = ",".join(str(v) for v in dd2dms(round(float(lat[n]), 7), use_us=True))
        lo = ",".join(str(v) for v in dd2dms(round(float(lon[n]), 7), use_us=True))
        k = 1000.0 if spec.length_unit == "mm" else 1.0
        text = _SITE.sub(rf"\g<1>({la}),({lo}),{h * k:.3f},", text, count=1)
        write_bytes_atomic(out / "buildings" / f"{stem}.ifc", text.encode("utf-8"))
        rows.append(
            [
                f"{stem}.ifc",
                names[n],
                spec.use,
                spec.building_type,
                spec.storeys,
                spec.length_unit,
                "0",
                pid,
                spec.permit_year,
            ]
        )
    return rows
