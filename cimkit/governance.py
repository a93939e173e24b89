"""How well a city masters its data: a risk register and a data-governance score per model.

**Risk register** (:func:`build_risk_register`), in the style of ISO/IEC 27005:2022 (asset-based
risk identification: asset, threat, vulnerability, existing control; likelihood and consequence
on ordinal scales; treatment) with the vocabulary of ISO 31000:2018. One row per asset and rule
that applies to it: the rules are the bundled table ``cimkit/data/risk_rules.csv`` (each row
cites its source), not prose written per layer. The assets are the model's layers, networks and
DEM, their sensitivity level (public < internal < restricted < sensitive) and the outputs they
are published in. Likelihood and impact are on 1-4 scales; the risk level is their product,
banded low (1-3), medium (4-6), high (8-9) and critical (12-16).

**Data-governance score** (:func:`compute_governance`): over the model's layers, networks and
DEM, the share that has (1) a licence, (2) a sha256 of every source file in provenance, (3) no
error in ``model.quality()``, (4) a sensitivity level set explicitly, (5) a documented CRS and
(6) an owner. The score (0-100) is the mean of the six shares times 100; the result lists the
assets missing each criterion and the call that fixes it.

The module reads the model through its public members only (core tier: the model's HTML repr
uses it), and imports nothing above the core.

Examples
--------
>>> from cimkit.datasets import load_sample_city
>>> result = compute_governance(load_sample_city(with_ifc=False))
>>> result.score, result.shares.to_dict()["licence"], result.shares.to_dict()["owner"]
(66.7, 1.0, 0.0)
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from cimkit import _sensitivity
from cimkit import provenance as prov
from cimkit._atomic import atomic_path
from cimkit.errors import CimkitIOError, LayerNotFoundError, ValidationError

__all__ = [
    "CRITERIA",
    "REGISTER_COLUMNS",
    "RISK_BANDS",
    "GovernanceResult",
    "build_risk_register",
    "compute_governance",
    "format_governance",
    "format_repr_html",
    "write_risk_register",
]

#: The six criteria of the score: name -> (what it asks, the call that meets it for ``{asset}``).
CRITERIA: dict[str, tuple[str, str]] = {
    "licence": (
        "a licence recorded in provenance",
        "model.provenance_record('{asset}').licence = '<licence, e.g. Licence Ouverte 2.0>'",
    ),
    "sha256": (
        "a sha256 of every source file in provenance",
        "read it again from its file with a cimkit reader (cimkit.read_*) and add it again",
    ),
    "validated": (
        "no error in model.quality()",
        "fix what model.quality().query(\"layer == '{asset}' and status == 'error'\") lists",
    ),
    "sensitivity_set": (
        "a sensitivity level set explicitly",
        "model.provenance_record('{asset}').sensitivity = '<public|internal|restricted|sensitive>'",
    ),
    "crs_documented": (
        "a documented CRS (an authority code, placement not overridden)",
        "read it again with source_crs='EPSG:nnnn' stated, and fix the placement it failed",
    ),
    "owner": (
        "an owner (the body accountable for it) in provenance",
        "model.provenance_record('{asset}').owner = '<accountable body>'",
    ),
}

#: Risk bands of the register: name -> (lowest, highest) risk level (likelihood x impact, 1-16).
RISK_BANDS: dict[str, tuple[int, int]] = {
    "low": (1, 3),
    "medium": (4, 6),
    "high": (8, 9),
    "critical": (12, 16),
}

#: The columns of the risk register, after its ``risk`` index.
REGISTER_COLUMNS = (
    "asset",
    "asset_type",
    "sensitivity",
    "threat",
    "vulnerability",
    "existing_control",
    "likelihood",
    "impact",
    "risk_level",
    "risk_band",
    "treatment",
    "action",
    "published",
    "rule",
)

_MODEL_ASSET = "city_model"
Published = Sequence[str] | Mapping[str, Sequence[str] | str] | str | None


@dataclass(frozen=True)
class GovernanceResult:
    """The data-governance score of a model, what lowers it, and its risk register.

    Attributes
    ----------
    score
        0-100: the mean of the criteria's shares (a criterion no asset is subject to is left
        out of the mean), times 100, rounded to 0.1.
    shares
        Per criterion (:data:`CRITERIA`), the share (0-1) of the assets that meet it.
    assets
        One row per layer, network (``network_<kind>``) and the DEM: ``asset_type``,
        ``sensitivity`` (its level), ``published`` (the outputs it goes to) and one boolean column
        per criterion (``crs_documented`` is missing for attribute tables, which have no CRS).
    actions
        One row per criterion some asset misses: ``asks`` (what it asks), ``missing`` (the
        assets), ``fix`` (the call) and ``points`` (what the score gains when every asset meets it).
    register
        The risk register (:func:`build_risk_register`).
    caveats
        What the score and the register cannot know.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> result = compute_governance(load_sample_city(with_ifc=False))
    >>> float(result.actions.loc["owner", "points"]), result.register["risk_band"].value_counts().to_dict()
    (16.7, {'low': 9, 'medium': 3})
    """

    score: float
    shares: pd.Series
    assets: pd.DataFrame
    actions: pd.DataFrame
    register: pd.DataFrame
    caveats: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------- assets
def _record(model: Any, name: str) -> prov.Provenance | None:
    try:
        return model.provenance_record(name)
    except (LayerNotFoundError, KeyError):  # an asset without a record
        return None


def _parts(model: Any) -> list[tuple[str, str, Any]]:
    """``(asset name, asset type, object)`` for every layer, network and the DEM."""
    parts = []
    for name, layer in model.layers.items():
        geometry = getattr(layer, "_geometry_column_name", None)
        kind = "layer" if geometry is not None and geometry in layer.columns else "table"
        parts.append((name, kind, layer))
    parts += [(f"network_{kind}", "network", net) for kind, net in model.networks.items()]
    if model.dem is not None:
        parts.append(("dem", "dem", model.dem))
    return parts


def _level(model: Any, name: str) -> str:
    return str(_sensitivity.layer_level(model, name))


def _personal(obj: Any) -> list[str]:
    """Columns naming people: a layer's own, or a network's node and edge tables'."""
    tables = [obj] if isinstance(obj, pd.DataFrame) else [getattr(obj, p, None) for p in ("nodes", "edges")]
    found = [str(c) for table in tables if table is not None for c in _sensitivity.personal_columns(table)]
    return list(dict.fromkeys(found))


def _crs_documented(obj: Any, record: prov.Provenance | None) -> bool:
    crs = getattr(obj, "crs", None)
    if crs is None or crs.to_authority() is None:
        return False
    steps = record.steps if record is not None else []
    return not any(step.action == "accept_placement" for step in steps)


def _allowed(model: Any, name: str) -> bool:
    """Whether an allowance to publish ``name`` is recorded in its provenance (``public_model(allow=)``)."""
    return _sensitivity.get_allowance(_record(model, name)) is not None


def _normalise_published(model: Any, published: Published, names: list[str]) -> dict[str, list[str]]:
    """Return the outputs per asset: a list applies to the public assets, a mapping names them.

    An asset above public whose provenance records a publication allowance (a layer kept in
    ``public_model(model, allow=...)``) is published too: in the outputs of a list, else in
    "the public view".
    """
    if isinstance(published, str):
        published = [published]
    allowed = [name for name in names if _level(model, name) != "public" and _allowed(model, name)]
    if published is None or isinstance(published, Mapping):
        out: dict[str, list[str]] = {name: ["the public view"] for name in allowed}
        for key, value in (published or {}).items():
            name = key if key in names else f"network_{key}"
            if name not in names:
                raise ValidationError(
                    f"'published' names {key!r}, which is not a layer, network or DEM of the model; "
                    f"the assets are: {', '.join(names)}."
                )
            out[name] = [value] if isinstance(value, str) else [str(v) for v in value]
        return out
    outputs = [str(o) for o in published]
    return {name: outputs for name in names if name in allowed or _level(model, name) == "public"}


def _assets(model: Any, published: Published, quality: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per asset with the facts the score and the register need."""
    parts = _parts(model)
    names = [name for name, _, _ in parts]
    outputs = _normalise_published(model, published, names)
    if quality is None:
        quality = model.quality()
    failed = set(quality.loc[quality["status"] == "error", "layer"])
    rows = []
    for name, kind, obj in parts:
        record = _record(model, name)
        files = list(record.source_files) if record is not None else []
        rows.append(
            {
                "asset": name,
                "asset_type": kind,
                "sensitivity": _level(model, name),
                "published": ", ".join(outputs.get(name, [])),
                "personal_columns": ", ".join(_personal(obj)),
                "licence": bool(record is not None and record.licence),
                "sha256": bool(files) and all(f.sha256 for f in files),
                "validated": name not in failed,
                "sensitivity_set": bool(record is not None and getattr(record, "sensitivity", None)),
                "crs_documented": None if kind == "table" else _crs_documented(obj, record),
                "owner": bool(record is not None and getattr(record, "owner", None)),
            }
        )
    columns = ["asset", "asset_type", "sensitivity", "published", "personal_columns", *CRITERIA]
    table = pd.DataFrame(rows, columns=columns).set_index("asset")
    table["crs_documented"] = table["crs_documented"].astype("boolean")
    return table


# ----------------------------------------------------------------------------- register
def _band(level: int) -> str:
    for name, (low, high) in RISK_BANDS.items():
        if low <= level <= high:
            return name
    raise ValueError(f"risk level {level} is outside 1-16")  # pragma: no cover - L and I are 1-4


def _matches(selector: str, asset: pd.Series) -> bool:
    if selector.startswith("level:"):
        return bool(asset["sensitivity"] == selector.split(":", 1)[1])
    return {
        "personal": bool(asset["personal_columns"]),
        "hashed": bool(asset["sha256"]),
        "unhashed": not asset["sha256"],
        "unlicensed": not asset["licence"],
    }.get(selector, False)


def _register_row(rule: pd.Series, name: str, asset: pd.Series | None) -> dict[str, Any]:
    published = "" if asset is None else str(asset["published"])
    suffix = "_if_published" if published else ""
    values = {
        "asset": name,
        "columns": "" if asset is None else asset["personal_columns"],
        "published": published,
    }

    def fill(column: str) -> str:
        return str(rule[column]).format(**values)

    likelihood = int(rule["likelihood" + suffix])
    impact = int(rule["impact"])
    return {
        "asset": name,
        "asset_type": "model file" if asset is None else asset["asset_type"],
        "sensitivity": "" if asset is None else asset["sensitivity"],
        "threat": fill("threat"),
        "vulnerability": fill("vulnerability"),
        "existing_control": fill("existing_control" + suffix),
        "likelihood": likelihood,
        "impact": impact,
        "risk_level": likelihood * impact,
        "risk_band": _band(likelihood * impact),
        "treatment": str(rule["treatment" + suffix]),
        "action": fill("action" + suffix),
        "published": published,
        "rule": str(rule["rule"]),
    }


def _register(assets: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, rule in rules.iterrows():
        if rule["selector"] == "model":
            rows.append(_register_row(rule, _MODEL_ASSET, None))
            continue
        rows += [
            _register_row(rule, str(n), a) for n, a in assets.iterrows() if _matches(rule["selector"], a)
        ]
    table = pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))
    table = table.sort_values(["risk_level", "asset"], ascending=[False, True], kind="stable")
    table.index = pd.Index([f"R{i:03d}" for i in range(1, len(table) + 1)], name="risk")
    return table.astype({"likelihood": int, "impact": int, "risk_level": int})


def build_risk_register(model: Any, *, published: Published = None) -> pd.DataFrame:
    """Build the risk register of a city model (ISO/IEC 27005:2022 style).

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel`.
    published
        Where the model's data goes: a list of outputs (``"report"``, ``"geojson"``,
        ``"3dtiles"``, ``"postgis_public"`` ...) that every **public** asset is published in
        (assets above public are withheld from public outputs by default), or a mapping asset
        name (a layer, ``network_<kind>`` or the kind, ``dem``) -> outputs, for assets published
        explicitly -- above public, that takes an allowance, and raises the likelihood of the
        disclosure rules (``likelihood_if_published`` of the rules table). None: nothing published.
        An asset above public whose provenance records a publication allowance (kept in
        ``public_model(model, allow=...)``) counts as published in either case.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``risk`` (``R001`` ... from the highest risk level), columns
        :data:`REGISTER_COLUMNS`: ``likelihood`` and ``impact`` 1-4, ``risk_level`` their product,
        ``risk_band`` from :data:`RISK_BANDS`, ``treatment`` (reduce, avoid, transfer, accept)
        and its ``action``, ``rule`` the row of ``cimkit/data/risk_rules.csv`` it comes from.

    Raises
    ------
    ValidationError
        ``published`` names an asset the model does not hold.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> register = build_risk_register(model)
    >>> row = register.loc[register["rule"] == "confidentiality_sensitive"].iloc[0]
    >>> row["asset"], int(row["risk_level"]), row["risk_band"], row["treatment"]
    ('network_water', 4, 'medium', 'reduce')
    >>> published = build_risk_register(model, published={"water": ["report"]})
    >>> row = published.loc[published["rule"] == "confidentiality_sensitive"].iloc[0]
    >>> int(row["likelihood"]), int(row["risk_level"]), row["risk_band"], row["treatment"]
    (3, 12, 'critical', 'avoid')
    """
    from cimkit.data.governance import load_risk_rules

    return _register(_assets(model, published), load_risk_rules())


def write_risk_register(model: Any, path: str | os.PathLike[str], *, published: Published = None) -> Path:
    """Write the risk register of a model to a CSV file, atomically.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel`.
    path
        The CSV to write (UTF-8, a header row, the ``risk`` id first). An interrupted write
        leaves the previous file untouched.
    published
        Where the model's data goes (see :func:`build_risk_register`).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    CimkitIOError
        The file cannot be written (a read-only folder, a directory at ``path``).

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.datasets import load_sample_city
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_risk_register(load_sample_city(with_ifc=False), Path(folder) / "risks.csv")
    ...     header = path.read_text(encoding="utf-8").splitlines()[0]
    >>> header.split(",")[:4]
    ['risk', 'asset', 'asset_type', 'sensitivity']
    """
    register = build_risk_register(model, published=published)
    target = Path(path)
    if target.is_dir():
        raise CimkitIOError(
            "the risk register's destination is a folder", path=target, hint="give a file name (risks.csv)."
        )
    try:
        with atomic_path(target, suffix=".tmp.csv") as tmp:
            register.to_csv(tmp, encoding="utf-8")
    except OSError as err:
        raise CimkitIOError(
            f"the risk register could not be written: {err.strerror or err}",
            path=target,
            hint="check that the folder exists and is writable, and that the disk has space.",
        ) from err
    return target


# ----------------------------------------------------------------------------- score
def _actions(assets: pd.DataFrame, shares: pd.Series) -> pd.DataFrame:
    counted = len(shares.dropna())
    rows = []
    for criterion, (what, fix) in CRITERIA.items():
        column = assets[criterion]
        missing = [str(name) for name, ok in column.items() if ok is not pd.NA and not bool(ok)]
        if missing:
            rows.append(
                {
                    "asks": what,
                    "missing": ", ".join(missing),
                    "fix": fix.format(asset=missing[0] if len(missing) == 1 else "<name>"),
                    "points": round((1.0 - float(shares[criterion])) / counted * 100, 1),
                    "criterion": criterion,
                }
            )
    columns = ["criterion", "asks", "missing", "fix", "points"]
    return pd.DataFrame(rows, columns=columns).set_index("criterion")


def compute_governance(
    model: Any, *, published: Published = None, quality: pd.DataFrame | None = None
) -> GovernanceResult:
    """Compute the data-governance score of a model, what would raise it, and its risk register.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel`.
    published
        Where the model's data goes (see :func:`build_risk_register`).
    quality
        ``model.quality()`` when the caller already has it (the checks then run once).

    Returns
    -------
    GovernanceResult
        ``score`` (0-100, the mean of the criteria's shares), ``shares``, ``assets``,
        ``actions`` (which assets miss which criterion and the call that fixes it) and
        ``register``.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> result = compute_governance(model)
    >>> result.score, result.shares.round(2).to_dict()["sha256"], len(result.assets)
    (66.7, 1.0, 9)
    >>> model.provenance_record("parcels").owner = "Direction générale des Finances publiques"
    >>> bool(compute_governance(model).shares["owner"] == 1 / 9)
    True
    """
    from cimkit.data.governance import load_risk_rules

    assets = _assets(model, published, quality)
    shares = pd.Series(
        {criterion: float(assets[criterion].dropna().astype(bool).mean()) for criterion in CRITERIA},
        name="share",
    )
    shares.index.name = "criterion"
    counted = shares.dropna()
    score = round(float(counted.mean()) * 100, 1) if len(counted) else 0.0
    caveats = (
        "The score counts what provenance records (licence, owner, sensitivity, sha256); it cannot "
        "tell whether a recorded licence or owner is the right one.",
        "Likelihood and impact come from the rules table (cimkit/data/risk_rules.csv), not from an "
        "assessment of this city's threats: review them with the people accountable for each asset.",
    )
    return GovernanceResult(
        score=score,
        shares=shares,
        assets=assets,
        actions=_actions(assets, shares),
        register=_register(assets, load_risk_rules()),
        caveats=caveats,
    )


# ----------------------------------------------------------------------------- text and HTML
def _risk_counts(register: pd.DataFrame) -> str:
    counts = register["risk_band"].value_counts()
    return ", ".join(f"{int(counts.get(band, 0))} {band}" for band in reversed(list(RISK_BANDS)))


def _text(result: GovernanceResult) -> str:
    assets = result.assets
    lines = [
        f"data governance: {result.score:g} / 100 (mean of the {len(result.shares.dropna())} shares below, "
        f"over {len(assets)} layers, networks and DEM)"
    ]
    for criterion, (what, _) in CRITERIA.items():
        column = assets[criterion].dropna()
        share = result.shares[criterion]
        text = f"{share:.0%}" if share == share else "n/a"
        lines.append(
            f"  {criterion:<16} {int(column.astype(bool).sum()):>3} of {len(column):<3} {text:>5}  {what}"
        )
    if len(result.actions):
        lines.append("to raise it:")
        for criterion, row in result.actions.iterrows():
            lines.append(f"  {criterion} (+{row['points']:g} points): {row['missing']}")
            lines.append(f"    fix: {row['fix']}")
    register = result.register
    lines.append(
        f"risk register: {len(register)} risk{'s' if len(register) != 1 else ''} ({_risk_counts(register)})"
    )
    for risk, row in register.head(5).iterrows():
        lines.append(
            f"  {risk} {row['risk_band']:<8} {row['risk_level']:>2}  {row['asset']}: {row['threat']} "
            f"-> {row['treatment']}: {row['action']}"
        )
    if len(register) > 5:
        lines.append("  ... (write them all with cimkit.governance.write_risk_register)")
    return "\n".join(lines)


def _html(result: GovernanceResult) -> str:
    esc = html.escape
    shares = ", ".join(f"{esc(c)} {s:.0%}" if s == s else f"{esc(c)} n/a" for c, s in result.shares.items())
    return (
        f"<div><span style='color:#555'>data governance <b>{result.score:g}/100</b> ({shares}) "
        f"&middot; risks: {esc(_risk_counts(result.register))} &middot; see "
        "<code>cimkit.governance.compute_governance(model)</code></span></div>"
    )


def format_repr_html(model: Any, *, quality: pd.DataFrame | None = None) -> str:
    """Return the one-line governance summary of ``model`` for its notebook view, or "" on any failure.

    ``CityModel._repr_html_`` appends it to the model's table, passing the ``quality`` table it
    already computed for its check counts; a repr never raises, so whatever prevents the score
    (a model whose checks fail) gives an empty string.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> "<b>66.7/100</b>" in format_repr_html(load_sample_city(with_ifc=False))
    True
    >>> format_repr_html(object())
    ''
    """
    try:
        return _html(compute_governance(model, quality=quality))
    except Exception:  # the notebook view shows the model even when the score cannot be computed
        return ""


def format_governance(result: GovernanceResult, *, output_format: Literal["text", "html"] = "text") -> str:
    """Format a governance result: plain text (``cimkit info``) or a short HTML block (notebooks).

    Parameters
    ----------
    result
        A :class:`GovernanceResult` from :func:`compute_governance`.
    output_format
        ``"text"``: the score, each criterion's share, what to do to raise it and the five
        highest risks; ``"html"``: one line with the score, the shares and the risks per band.

    Returns
    -------
    str

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> text = format_governance(compute_governance(load_sample_city(with_ifc=False)))
    >>> print(text.splitlines()[0])
    data governance: 66.7 / 100 (mean of the 6 shares below, over 9 layers, networks and DEM)
    """
    if output_format == "text":
        return _text(result)
    if output_format == "html":
        return _html(result)
    raise ValidationError(f"'output_format' must be one of text, html; {output_format!r} was given.")
