"""PLU layers of the CNIG standard: ``zone_urba`` with a rules table, and prescriptions.

Source of the field names and codes: CNIG, "Standard de dématérialisation des documents
d'urbanisme" (PLU, version 2017),
https://cnig.gouv.fr/ressources-dematerialisation-documents-d-urbanisme-a2732.html. Shapefiles
use upper-case field names, the Géoportail de l'Urbanisme API lower-case ones; both are read.

The public functions are also reachable from :mod:`cimkit.io.vector` (``cimkit.read_zoning``).
"""

from __future__ import annotations

import csv
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit import provenance
from cimkit.errors import CimkitIOError, CimkitWarning, CoverageWarning, DataTableError, InputError
from cimkit.io._layers import PathLike, load_layer, set_identity, validate_polygons

__all__ = [
    "PRESCRIPTION_TYPES",
    "RULE_COLUMNS",
    "ZONE_TYPES",
    "read_prescriptions",
    "read_zone_rules",
    "read_zoning",
]

logger = logging.getLogger(__name__)

# The zone rules table (one row per PLU ``libelle``); every column but ``libelle`` may be blank.
RULE_COLUMNS = (
    "libelle",
    "max_height_m",
    "max_footprint_ratio",
    "min_setback_road_m",
    "min_setback_side_m",
    "side_setback_height_ratio",
    "min_green_ratio",
    "allowed_uses",
)
_RATIO_COLUMNS = ("max_footprint_ratio", "min_green_ratio")

# CNIG PLU standard (2017), TYPEPSC codes of PRESCRIPTION_SURF/LIN/PCT with the article of the
# Code de l'urbanisme each one applies. Source: CNIG, "Standard CNIG PLU v2017", annex on the
# prescription types (https://cnig.gouv.fr/ressources-dematerialisation-documents-d-urbanisme-a2732.html).
# Codes missing here are kept as read, with no label.
PRESCRIPTION_TYPES: dict[str, tuple[str, str]] = {
    "01": ("Espace boisé classé", "L113-1"),
    "05": ("Emplacement réservé", "L151-41"),
    "07": ("Patrimoine bâti, paysager ou éléments de paysage à protéger", "L151-19, L151-23"),
    "15": ("Règles d'implantation des constructions", "L151-17, L151-18"),
    "17": ("Secteur de mixité sociale", "L151-15"),
    "18": ("Périmètre comportant des orientations d'aménagement et de programmation", "L151-6, L151-7"),
}

# TYPEZONE values of the CNIG standard and how other spellings map onto them.
ZONE_TYPES = ("U", "AUc", "AUs", "A", "N")


# --------------------------------------------------------------------------------------------
# zoning and rules
# --------------------------------------------------------------------------------------------
def _normalise_typezone(raw: pd.Series, libelle: pd.Series) -> tuple[pd.Series, int]:
    """Map TYPEZONE spellings onto U, AUc, AUs, A, N. Returns (values, count changed).

    ``AU`` alone (older standards) becomes ``AUs`` when the zone label starts with ``2AU``
    (the French convention for a closed zone that needs a plan change) and ``AUc`` otherwise.
    Other values (``Ah``, ``Nh``, ``Nd`` of older standards) keep their first letter.
    """
    canon = {t.lower(): t for t in ZONE_TYPES}
    out: list[str | None] = []
    changed = 0
    for value, label in zip(raw.tolist(), libelle.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
            continue
        text = str(value).strip()
        key = text.lower()
        if key in canon:
            norm = canon[key]
        elif key == "au":
            norm = "AUs" if str(label).strip().upper().startswith("2AU") else "AUc"
        elif key[:1] in ("u", "a", "n") and not key.startswith("au"):
            norm = key[0].upper()
        elif key.startswith("au"):
            norm = "AUs" if "s" in key[2:] else "AUc"
        else:
            norm = None
        changed += norm != text
        out.append(norm)
    return pd.Series(out, index=raw.index, dtype="object"), changed


def _read_rules_table(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise CimkitIOError("the rules file does not exist", path=source, hint="check the path.")
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise DataTableError(
                f"invalid TOML ({err})", path=source, code="ZON016", hint="fix the TOML syntax."
            ) from err
        except UnicodeDecodeError as err:
            raise DataTableError(
                f"the TOML file is not UTF-8 ({err})", path=source, code="ZON016", hint="save it as UTF-8."
            ) from err
        if isinstance(data.get("rules"), list):
            rows = data["rules"]
        else:
            rows = [{"libelle": key, **value} for key, value in data.items() if isinstance(value, dict)]
        return pd.DataFrame(rows)
    try:
        return pd.read_csv(path, dtype={"libelle": str}, sep=None, engine="python", encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as err:
        raise DataTableError(
            f"cannot parse the CSV ({err})",
            path=source,
            code="ZON016",
            hint="write a UTF-8 CSV with a header row.",
        ) from err


def read_zone_rules(source: PathLike | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a PLU zone rules table (CSV, TOML or DataFrame), indexed by ``libelle``.

    The PLU regulation is a PDF; its figures go in a table the user writes, one row per zone
    label, with the columns of :data:`RULE_COLUMNS`:

    ``libelle`` (zone label, matched exactly), ``max_height_m`` (m), ``max_footprint_ratio``
    (CES, 0-1), ``min_setback_road_m`` (m), ``min_setback_side_m`` (m),
    ``side_setback_height_ratio`` (the "H/2" rule: required side setback =
    max(ratio x height, min_setback_side_m)), ``min_green_ratio`` (0-1) and ``allowed_uses``
    (uses separated by ``;``, e.g. ``"housing;office"``). Blank cells mean "no rule".

    TOML takes either one table per label (``[Ua]`` then ``max_height_m = 9``) or an array
    ``[[rules]]`` of tables with a ``libelle`` key.

    Parameters
    ----------
    source
        The rules table: a CSV or TOML path, or a DataFrame with the columns above.

    Returns
    -------
    DataFrame
        Indexed by ``libelle``: the numeric rule columns as float64 (NaN: no rule), lengths in
        metres and ratios in 0-1; ``allowed_uses`` normalised to lower-case uses joined by
        ``;`` (missing: no rule); extra columns kept as read.

    Raises
    ------
    DataTableError
        Missing ``libelle`` column, duplicate labels, non-numeric or negative values, ratios
        above 1. The message names the row (CSV line = row + 2).
    CimkitIOError
        The file does not exist.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zone_rules
    >>> rules = read_zone_rules(sample_city_path() / "zone_rules.csv")
    >>> rules.loc["UB", ["max_height_m", "max_footprint_ratio", "side_setback_height_ratio"]].tolist()
    [12.0, 0.4, 0.5]
    >>> rules.loc["UE", "allowed_uses"], bool(rules["allowed_uses"].isna()["N"])  # blank: no rule
    ('education;office', True)
    """
    path = source if not isinstance(source, pd.DataFrame) else None
    table = _read_rules_table(source)
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "libelle" not in table.columns:
        raise DataTableError(
            f"the rules table has no 'libelle' column (columns: {', '.join(table.columns)})",
            path=path,
            code="ZON010",
            hint="add a 'libelle' column with the zone labels of the PLU.",
        )
    unknown = [c for c in table.columns if c not in RULE_COLUMNS]
    if unknown:
        logger.info("rules table: extra columns kept: %s", unknown)
    labels = [None if pd.isna(v) else str(v).strip() for v in table["libelle"].tolist()]
    blank = [i for i, v in enumerate(labels) if not v]
    if blank:
        raise DataTableError(
            f"row {blank[0] + 1} of the rules table has no zone label (libelle)",
            path=path,
            line=blank[0] + 2 if path is not None else None,
            code="ZON014",
            hint="fill its libelle or delete the row.",
        )
    table["libelle"] = labels
    dup = table["libelle"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((table["libelle"] == table["libelle"].iloc[row]).to_numpy())[0])
        where = f" (lines {first + 2} and {row + 2})" if path is not None else f" (rows {first} and {row})"
        raise DataTableError(
            f"zone label {table['libelle'].iloc[row]!r} appears twice{where}",
            path=path,
            line=row + 2 if path is not None else None,
            entity=table["libelle"].iloc[row],
            code="ZON011",
            hint="keep one row per libelle.",
        )
    for col in RULE_COLUMNS[1:-1]:
        if col not in table.columns:
            table[col] = np.nan
            continue
        raw = table[col].map(lambda v: v.strip() if isinstance(v, str) else v).replace("", np.nan)
        values = pd.to_numeric(raw.map(lambda v: None if isinstance(v, bool) else v), errors="coerce")
        text = (values.isna() & raw.notna()).to_numpy()
        bad = text | ~np.isfinite(values.fillna(0).to_numpy(dtype="float64")) | (values < 0).to_numpy()
        if col in _RATIO_COLUMNS:
            bad |= (values > 1).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            limit = "a number between 0 and 1" if col in _RATIO_COLUMNS else "a number >= 0"
            raise DataTableError(
                f"column {col!r} holds {table[col].iloc[row]!r} for zone {table['libelle'].iloc[row]!r}; "
                f"expected {limit}",
                path=path,
                line=row + 2 if path is not None else None,
                entity=table["libelle"].iloc[row],
                code="ZON012" if text[row] else "ZON013",
                hint=f"write {limit} (or leave the cell blank for no rule).",
            )
        table[col] = values.astype("float64")
    if "allowed_uses" not in table.columns:
        table["allowed_uses"] = None
    # a blank cell is "no rule" (None), never the text "nan"
    table["allowed_uses"] = [
        None
        if pd.isna(u)
        else ";".join(p.strip().lower() for p in re.split(r"[;,|]", str(u)) if p.strip()) or None
        for u in table["allowed_uses"].tolist()
    ]
    return table.set_index("libelle")


def _match_rules(
    zones: gpd.GeoDataFrame, table: pd.DataFrame, *, path: PathLike, rules: Any
) -> tuple[list[str], list[str]]:
    """Compare the zone labels with the rules' labels: refuse near-misses, warn on the rest."""
    labels = set(zones["libelle"].dropna())
    missing = sorted(labels - set(table.index))
    unused = sorted(set(table.index) - labels)
    folded = {re.sub(r"\s+", "", label).lower(): label for label in missing}
    for position, label in enumerate(table.index):
        near = folded.get(re.sub(r"\s+", "", str(label)).lower())
        if label in unused and near is not None:
            rules_path = None if isinstance(rules, pd.DataFrame) else rules
            raise DataTableError(
                f"the rules table names zone {label!r}, the zoning layer {near!r}: the zone would get no rule",
                path=rules_path,
                line=position + 2 if rules_path is not None else None,
                entity=label,
                code="ZON015",
                hint=f"write the label exactly as in the zoning layer ({near!r}).",
            )
    n_zones = int(zones["libelle"].isin(missing).sum())
    if missing:
        warnings.warn(
            CoverageWarning(
                f"{os.fspath(path)}: {n_zones} zone(s) with label(s) {missing} have no row in the rules "
                "table; their checks will be unknown. Add a row per label to silence this",
                code="ZON101",
            ),
            stacklevel=3,
        )
    if unused:
        warnings.warn(
            CoverageWarning(f"rules given for label(s) not in the zoning layer: {unused}", code="ZON102"),
            stacklevel=3,
        )
    return missing, unused


def read_zoning(
    path: PathLike,
    *,
    layer: str | int | None = None,
    rules: PathLike | pd.DataFrame | None = None,
    crs: Any = None,
    source_crs: Any = None,
    repair: Literal["repair", "refuse"] = "repair",
) -> gpd.GeoDataFrame:
    """Read a CNIG PLU ``zone_urba`` layer (the *zones* of the *plan local d'urbanisme*) with its rules.

    Parameters
    ----------
    path
        The ``zone_urba`` layer (shapefile with upper-case fields, Géoportail de l'Urbanisme
        GeoJSON with lower-case fields, GPKG ...).
    layer
        Layer name when the file holds several.
    rules
        Rules table (CSV / TOML path or DataFrame, see :func:`read_zone_rules`) joined on ``libelle``.
        Zones without a rule and rules without a zone are reported with a warning.
    crs
        Target CRS; the layer is reprojected to it.
    source_crs
        The CRS of a file that declares none.
    repair
        Invalid polygons: ``"repair"`` (make_valid) or ``"refuse"``.

    Returns
    -------
    GeoDataFrame
        Lower-case column names; index ``zone_id`` (from ``idzone`` when filled and unique,
        else ``gid``, else ``id``, else the row number); ``typezone`` normalised to U, AUc,
        AUs, A, N (the value read is kept in ``typezone_source``; ``AU`` alone becomes AUs
        for a ``2AU...`` label and AUc otherwise; sub-sectors stay in ``libelle``); the rule
        columns when ``rules`` is given.

    Raises
    ------
    InputError
        The layer has no ``LIBELLE`` or ``TYPEZONE`` field.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_zoning
    >>> folder = sample_city_path()
    >>> zones = read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs="EPSG:2154")
    >>> zones.index.name, len(zones), zones["typezone"].value_counts().to_dict()
    ('zone_id', 7, {'U': 4, 'AUc': 1, 'N': 1, 'A': 1})
    >>> zones.set_index("libelle").loc["UB", ["max_height_m", "max_footprint_ratio"]].tolist()
    [12.0, 0.4]
    """
    gdf = load_layer(
        path,
        layer=layer,
        crs=crs,
        source_crs=source_crs,
        reader="cimkit.read_zoning",
        empty_layer="error",
        empty_geometry="refuse" if repair == "refuse" else "drop",
    )
    record = provenance.get(gdf)
    geom_name = gdf.geometry.name
    gdf = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != geom_name})
    if record is not None:
        provenance.attach(gdf, record)
    gdf = validate_polygons(gdf, repair=repair, path=path, layer=layer)
    for required in ("libelle", "typezone"):
        if required not in gdf.columns:
            raise InputError(
                f"the layer has no {required.upper()} field (columns: {', '.join(map(str, gdf.columns))})",
                path=path,
                layer=None if layer is None else str(layer),
                hint="pass a CNIG zone_urba layer (fields LIBELLE, TYPEZONE).",
            )
    column = None
    for cand in ("idzone", "gid", "id"):
        if cand in gdf.columns and gdf[cand].notna().all() and not gdf[cand].duplicated().any():
            column = cand
            break
    gdf = set_identity(gdf, name="zone_id", column=column, explicit=False, path=path, layer=layer)
    record = provenance.get(gdf)
    gdf = gdf.copy()
    gdf["libelle"] = gdf["libelle"].astype("object").where(gdf["libelle"].notna(), None)
    gdf["libelle"] = [None if v is None else str(v).strip() for v in gdf["libelle"]]
    gdf["typezone_source"] = gdf["typezone"]
    gdf["typezone"], changed = _normalise_typezone(gdf["typezone"], gdf["libelle"])
    unknown = gdf["typezone"].isna() & gdf["typezone_source"].notna()
    if unknown.any():
        values = sorted(set(map(str, gdf.loc[unknown, "typezone_source"])))
        warnings.warn(
            CimkitWarning(
                f"{os.fspath(path)}: {int(unknown.sum())} zone(s) with an unknown TYPEZONE ({values}) "
                "set to None; fix TYPEZONE in the layer (U, AUc, AUs, A, N)",
                code="ZON103",
            ),
            stacklevel=2,
        )
        if record is not None:
            record.add_step(
                "unknown_typezone", "unknown TYPEZONE set to None", count=int(unknown.sum()), values=values
            )
    if changed and record is not None:
        record.add_step("normalise_typezone", "TYPEZONE mapped onto U, AUc, AUs, A, N", count=changed)
    if rules is not None:
        table = read_zone_rules(rules)
        missing, unused = _match_rules(gdf, table, path=path, rules=rules)
        clash = [c for c in table.columns if c in gdf.columns]
        gdf = gdf.drop(columns=clash)
        joined = table.reindex(gdf["libelle"].to_numpy())
        for col in table.columns:
            gdf[col] = joined[col].to_numpy()
        if record is not None:
            record.add_step(
                "join_rules", "rules table joined on libelle", zones_without_rule=missing, unused_rules=unused
            )
            if not isinstance(rules, pd.DataFrame):
                record.source_files.append(provenance.SourceFile.from_path(rules))
    if record is not None:
        provenance.attach(gdf, record)
    return gdf


def read_prescriptions(
    path: PathLike,
    *,
    layer: str | int | None = None,
    crs: Any = None,
    source_crs: Any = None,
) -> gpd.GeoDataFrame:
    """Read a CNIG PLU prescription layer (``prescription_surf``, ``_lin`` or ``_pct``).

    Parameters
    ----------
    path
        The prescription layer (shapefile, GeoJSON, GPKG ...).
    layer
        Layer name when the file holds several.
    crs
        Target CRS; the layer is reprojected to it.
    source_crs
        The CRS of a file that declares none.

    Returns
    -------
    GeoDataFrame
        Lower-case columns; ``typepsc`` and ``stypepsc`` as two-digit strings; ``label`` and
        ``legal_reference`` (article of the Code de l'urbanisme) from
        :data:`PRESCRIPTION_TYPES` (CNIG PLU standard 2017; None for codes not in that table);
        index ``prescription_id`` (``idpsc``/``gid``/``id`` when unique, else the row number).

    Raises
    ------
    InputError
        The layer has no ``TYPEPSC`` field.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.plu import read_prescriptions
    >>> prescriptions = read_prescriptions(sample_city_path() / "prescription_surf.geojson", crs="EPSG:2154")
    >>> prescriptions[["typepsc", "label", "legal_reference"]].iloc[0].tolist()
    ['01', 'Espace boisé classé', 'L113-1']
    """
    gdf = load_layer(
        path,
        layer=layer,
        crs=crs,
        source_crs=source_crs,
        reader="cimkit.read_prescriptions",
        empty_layer="error",
    )
    record = provenance.get(gdf)
    geom_name = gdf.geometry.name
    gdf = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != geom_name})
    if "typepsc" not in gdf.columns:
        raise InputError(
            f"the layer has no TYPEPSC field (columns: {', '.join(map(str, gdf.columns))})",
            path=path,
            layer=None if layer is None else str(layer),
            hint="pass a CNIG prescription_surf / prescription_lin / prescription_pct layer.",
        )

    def two_digits(values: pd.Series) -> list[str | None]:
        out: list[str | None] = []
        for v in values.tolist():
            if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
                out.append(None)
            else:
                text = str(v).strip()
                text = text[:-2] if text.endswith(".0") else text
                out.append(text.zfill(2))
        return out

    gdf["typepsc"] = two_digits(gdf["typepsc"])
    if "stypepsc" in gdf.columns:
        gdf["stypepsc"] = two_digits(gdf["stypepsc"])
    gdf["label"] = [PRESCRIPTION_TYPES.get(c, (None, None))[0] for c in gdf["typepsc"]]
    gdf["legal_reference"] = [PRESCRIPTION_TYPES.get(c, (None, None))[1] for c in gdf["typepsc"]]
    column = None
    for cand in ("idpsc", "gid", "id"):
        if cand in gdf.columns and gdf[cand].notna().all() and not gdf[cand].duplicated().any():
            column = cand
            break
    if record is not None:
        provenance.attach(gdf, record)
    return set_identity(gdf, name="prescription_id", column=column, explicit=False, path=path, layer=layer)
