"""The rules of the risk register: which threats apply to which asset, with likelihood and impact.

Sources
-------
ISO/IEC 27005:2022 *Information security, cybersecurity and privacy protection -- Guidance on
managing information security risks* (asset-based risk identification: asset, threat,
vulnerability, existing control; likelihood and consequence scales; Annex A examples of threats),
and the vocabulary of ISO 31000:2018 *Risk management -- Guidelines* (likelihood, consequence,
risk level, risk treatment). The bundled table is ``risk_rules.csv`` (see ``cimkit/data/README.md``):
one row per rule, each citing its source and rationale in its ``source`` column.
"""

from __future__ import annotations

import os
from functools import lru_cache

import pandas as pd

from cimkit.data import get_table_path
from cimkit.errors import DataTableError

__all__ = ["RISK_RULE_COLUMNS", "RISK_SELECTORS", "load_risk_rules"]

#: The columns every risk-rule table holds.
RISK_RULE_COLUMNS = (
    "rule",
    "selector",
    "threat",
    "vulnerability",
    "existing_control",
    "likelihood",
    "impact",
    "treatment",
    "action",
    "likelihood_if_published",
    "existing_control_if_published",
    "treatment_if_published",
    "action_if_published",
    "source",
)

#: What a rule's ``selector`` may say: the assets it applies to.
RISK_SELECTORS = {
    "level:public": "assets whose sensitivity level is public",
    "level:internal": "assets whose sensitivity level is internal",
    "level:restricted": "assets whose sensitivity level is restricted",
    "level:sensitive": "assets whose sensitivity level is sensitive",
    "personal": "layers holding personal columns (owners, names ...)",
    "hashed": "assets whose every source file has a sha256 in provenance",
    "unhashed": "assets without a source file, or with a source file without its sha256",
    "unlicensed": "assets without a licence in provenance",
    "model": "the saved city model as a whole (one row)",
}

_TREATMENTS = ("reduce", "avoid", "transfer", "accept")


@lru_cache(maxsize=4)
def _read(path: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataTableError(
            f"the risk rules could not be read: {err}", path=path, hint="check the CSV."
        ) from err
    missing = [c for c in RISK_RULE_COLUMNS if c not in table.columns]
    if missing:
        raise DataTableError(
            f"the risk rules miss the column(s) {missing}",
            path=path,
            hint=f"a risk-rule table has the columns {', '.join(RISK_RULE_COLUMNS)}.",
        )
    for column in ("likelihood", "impact", "likelihood_if_published"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = table.loc[~values.isin([1, 2, 3, 4]), "rule"].tolist()
        if bad:
            raise DataTableError(
                f"column {column!r} must hold 1, 2, 3 or 4; rule(s) {bad} do not",
                path=path,
                hint="likelihood and impact are on the 1-4 scales of docs/governance.md.",
            )
        table[column] = values.astype(int)
    for column in ("treatment", "treatment_if_published"):
        bad = table.loc[~table[column].isin(_TREATMENTS), "rule"].tolist()
        if bad:
            raise DataTableError(
                f"column {column!r} must be one of {', '.join(_TREATMENTS)}; rule(s) {bad} are not",
                path=path,
                hint="the treatment options of ISO/IEC 27005: reduce, avoid, transfer, accept.",
            )
    bad = table.loc[~table["selector"].isin(list(RISK_SELECTORS)), "rule"].tolist()
    if bad:
        raise DataTableError(
            f"rule(s) {bad} have an unknown selector",
            path=path,
            hint=f"a selector is one of {', '.join(RISK_SELECTORS)}.",
        )
    if table["rule"].duplicated().any():
        raise DataTableError(
            f"rule names are repeated: {sorted(set(table.loc[table['rule'].duplicated(), 'rule']))}",
            path=path,
            hint="give every rule its own name.",
        )
    return table


def load_risk_rules(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Return the rules of the risk register (one row per rule), checked.

    Parameters
    ----------
    path
        A CSV with the columns :data:`RISK_RULE_COLUMNS` (default: the bundled ``risk_rules.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per rule; ``likelihood``, ``impact`` and ``likelihood_if_published`` as integers
        1-4. Texts may hold the placeholders ``{asset}``, ``{columns}`` and ``{published}``.

    Raises
    ------
    DataTableError
        A missing column, a likelihood or impact outside 1-4, an unknown treatment or selector.

    Examples
    --------
    >>> rules = load_risk_rules()
    >>> rules.set_index("rule").loc["confidentiality_sensitive", ["likelihood", "impact"]].tolist()
    [1, 4]
    """
    target = get_table_path("risk_rules.csv") if path is None else path
    return _read(os.fspath(target)).copy()
