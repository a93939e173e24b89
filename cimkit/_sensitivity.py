"""Sensitivity levels: who may see each layer of a city model.

Every layer, network and DEM of a model has one level, from the most open to the most closed::

    public < internal < restricted < sensitive

The level is the one written in the layer's provenance (``record.sensitivity``, set with
:func:`set_layer_level`) when there is one, else the default of its kind:

- the water, sewer and power networks are ``"sensitive"`` (critical infrastructure);
- the road network, the DEM and the other layers are ``"public"``, except a layer holding
  columns that name or identify people (the owners of the cadastre, see
  :func:`personal_columns`), which is ``"restricted"``.

A layer derived from others takes the highest level of its inputs (:func:`derive_level`).
Public outputs (:func:`cimkit.audit.check_publication`) refuse anything above ``"public"``
unless it is allowed with a reason, and write each allowance to the audit log.

This module is part of the core tier: it imports the errors, options, provenance and the
standard library only, and reads a model by duck typing (``model.layers``,
``model.networks``, ``model.dem``, ``model.provenance_record(name)``).

>>> derive_level("public", "restricted", "internal")
'restricted'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from cimkit import provenance as prov
from cimkit.errors import LayerNotFoundError, ValidationError

__all__ = [
    "LEVELS",
    "NETWORK_LEVELS",
    "check_level",
    "derive_level",
    "get_allowance",
    "get_frame_level",
    "get_model_levels",
    "layer_level",
    "personal_columns",
    "set_layer_level",
]

#: The sensitivity levels, from the most open to the most closed.
LEVELS = ("public", "internal", "restricted", "sensitive")

#: The default level of each network kind (a kind not listed is public).
NETWORK_LEVELS = {"road": "public", "water": "sensitive", "sewer": "sensitive", "power": "sensitive"}

#: The provenance step written when a layer above public is allowed into a public output.
ALLOW_STEP = "publication_allowed"

# Column-name words naming or identifying a person (French cadastre / MAJIC and English).
_PERSON_WORDS = frozenset(
    {
        "owner", "owners", "proprietaire", "proprietaires", "proprio", "coproprietaire",
        "titulaire", "titulaires", "prenom", "prenoms", "nom", "noms", "surname", "surnames",
        "forename", "forenames", "firstname", "lastname", "fullname", "birthdate", "birthday",
        "dob", "naissance", "comptecommunal", "locataire", "locataires", "occupant", "occupants",
        "tenant", "tenants", "landlord", "usufruitier", "nue_proprietaire",
        # MAJIC (fichiers fonciers) codes: denomination, names, first names, birth date and place, account
        "ddenom", "dnomlp", "dprnlp", "dnomus", "dprnus", "dnomcp", "dprncp", "jdatnss", "dldnss",
        "dnupro", "idprocpte",
    }
)  # fmt: skip
_PERSON_PAIRS = frozenset(
    {
        ("first", "name"), ("last", "name"), ("given", "name"), ("full", "name"),
        ("family", "name"), ("person", "name"), ("birth", "date"), ("date", "birth"),
        ("compte", "communal"), ("compte", "proprietaire"), ("birth", "place"),
    }
)  # fmt: skip
# "nom" followed by one of these names a place or a file, not a person (nom_com, nom_voie ...).
_PLACE_WORDS = frozenset(
    {
        "com", "commune", "communes", "voie", "rue", "lieu", "lieudit", "site", "zone", "quartier",
        "fichier", "fic", "couche", "dep", "departement", "region", "reg", "arr", "epci", "batiment",
        "projet", "plan", "pays", "reseau", "ville", "iris", "section",
    }
)  # fmt: skip
_STOP_WORDS = frozenset({"of", "de", "du", "d", "la", "le", "des", "the"})


def check_level(level: Any) -> str:
    """Return ``level`` if it is one of :data:`LEVELS`, else raise ``ValidationError`` (PUB003).

    Examples
    --------
    >>> check_level("internal")
    'internal'
    >>> check_level("secret")
    Traceback (most recent call last):
    ...
    cimkit.errors.ValidationError: 'secret' is not a sensitivity level. Fix: use one of public, internal, restricted, sensitive.
    """
    if level not in LEVELS:
        raise ValidationError(
            f"{level!r} is not a sensitivity level",
            hint="use one of " + ", ".join(LEVELS) + ".",
            code="PUB003",
        )
    return str(level)


def derive_level(*levels: str | None) -> str:
    """Return the level of a layer derived from inputs of ``levels``: the highest of them.

    ``None`` entries (inputs without a level) are skipped; no level at all gives ``"public"``.

    Examples
    --------
    >>> derive_level("public", "sensitive"), derive_level(None, "internal"), derive_level()
    ('sensitive', 'internal', 'public')
    """
    ranks = [LEVELS.index(check_level(level)) for level in levels if level is not None]
    return LEVELS[max(ranks, default=0)]


def _words(column: str) -> list[str]:
    """Split a column name into lower-case ASCII words (accents dropped, camelCase split)."""
    text = unicodedata.normalize("NFKD", str(column))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    return [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _STOP_WORDS]


def _is_personal(column: str) -> bool:
    words = _words(column)
    joined = "_".join(words)
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        if word == "nom" and following in _PLACE_WORDS:
            continue
        if word in _PERSON_WORDS or (word, following) in _PERSON_PAIRS:
            return True
    return joined in _PERSON_WORDS


def personal_columns(frame: Any) -> list[str]:
    """Return the columns of ``frame`` that name or identify people, in column order.

    Matched on the column name, case- and accent-insensitive, French and English: owner,
    propriétaire, titulaire, nom, prénom, first / last / full name, date or place of birth
    (date de naissance), compte communal, tenant / locataire / occupant, and the MAJIC codes
    of the fichiers fonciers (``ddenom``, ``dnomlp``, ``dprnlp``, ``jdatnss``, ``dnupro`` ...).
    ``nom`` followed by a place word (``nom_com``, ``nom_voie``) and words that merely contain
    these (``nomfic``, ``name``) are not personal. A layer holding any is ``"restricted"``.

    Parameters
    ----------
    frame
        A (Geo)DataFrame (anything with ``columns``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import pandas as pd
    >>> parcels = pd.DataFrame(columns=["idu", "nom_com", "Propriétaire", "DATE_DE_NAISSANCE", "nomfic",
    ...                                 "compte_communal", "ownerName", "contenance"])
    >>> personal_columns(parcels)
    ['Propriétaire', 'DATE_DE_NAISSANCE', 'compte_communal', 'ownerName']
    """
    return [str(c) for c in getattr(frame, "columns", ()) if _is_personal(str(c))]


def get_frame_level(obj: Any, *, kind: str | None = None) -> str:
    """Return the level of one layer, network or raster outside a model.

    The explicit level in its provenance when set; else the default of its network ``kind``
    (read from ``obj.kind`` when not given); else ``"restricted"`` when a table holds
    :func:`personal_columns` (a network's edge and node tables included); else ``"public"``.

    Examples
    --------
    >>> import pandas as pd
    >>> get_frame_level(pd.DataFrame(columns=["id", "proprietaire"])), get_frame_level(pd.DataFrame())
    ('restricted', 'public')
    """
    record = prov.get(obj)
    if record is not None and record.sensitivity is not None:
        return check_level(record.sensitivity)
    kind = kind if kind is not None else getattr(obj, "kind", None)
    if isinstance(kind, str) and kind in NETWORK_LEVELS:
        default = NETWORK_LEVELS[kind]
        if default != "public":
            return default
    tables = [obj] + [getattr(obj, part) for part in ("edges", "nodes") if hasattr(obj, part)]
    if any(personal_columns(table) for table in tables):
        return "restricted"
    return "public"


def _resolve(model: Any, name: str) -> tuple[str, Any, str | None]:
    """Return ``(canonical name, object, network kind)`` of a model part, or raise LayerNotFoundError."""
    layers, networks = model.layers, model.networks
    if name in layers:
        return name, layers[name], None
    kind = name.removeprefix("network_")
    if kind in networks:
        return f"network_{kind}", networks[kind], kind
    if name == "dem" and getattr(model, "dem", None) is not None:
        return "dem", model.dem, None
    parts = [*layers, *(f"network_{k}" for k in networks)] + (["dem"] if getattr(model, "dem", None) else [])
    raise LayerNotFoundError(
        f"the model has no layer or network {name!r}",
        layer=name,
        hint=f"the parts are: {', '.join(parts) or 'none'}.",
    )


def _record(model: Any, name: str) -> prov.Provenance | None:
    try:
        return model.provenance_record(name)
    except (LayerNotFoundError, KeyError):
        return None


def layer_level(model: Any, name: str) -> str:
    """Return the sensitivity level of a layer, network or the DEM of a model.

    The explicit level in its provenance (set with :func:`set_layer_level`) when there is one;
    else the default: water, sewer and power networks ``"sensitive"``, roads ``"public"``, a
    layer holding :func:`personal_columns` ``"restricted"``, anything else ``"public"``.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel` (or any object with ``layers``, ``networks`` and
        ``provenance_record``).
    name
        A layer name, a network as ``"network_<kind>"`` or its kind, or ``"dem"``.

    Returns
    -------
    str
        One of :data:`LEVELS`.

    Examples
    --------
    >>> import warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    >>> layer_level(model, "water"), layer_level(model, "network_road"), layer_level(model, "parcels")
    ('sensitive', 'public', 'public')
    """
    canonical, obj, kind = _resolve(model, name)
    record = _record(model, canonical)
    if record is not None and record.sensitivity is not None:
        return check_level(record.sensitivity)
    return get_frame_level(_Bare(obj), kind=kind)


class _Bare:
    """A view of a part without its provenance (the model's own record is read separately)."""

    def __init__(self, obj: Any) -> None:
        self.columns = getattr(obj, "columns", ())
        for part in ("edges", "nodes"):
            if hasattr(obj, part):
                setattr(self, part, getattr(obj, part))


def get_model_levels(model: Any) -> dict[str, str]:
    """Return the level of every layer, network (``network_<kind>``) and the DEM of a model.

    Examples
    --------
    >>> import warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    >>> {name: level for name, level in get_model_levels(model).items() if level != "public"}
    {'network_water': 'sensitive'}
    """
    names = [*model.layers, *(f"network_{k}" for k in model.networks)]
    if getattr(model, "dem", None) is not None:
        names.append("dem")
    return {name: layer_level(model, name) for name in names}


def set_layer_level(model: Any, name: str, level: str, *, reason: str) -> prov.Provenance:
    """Set the sensitivity level of a layer, network or the DEM, recording why in its provenance.

    Parameters
    ----------
    model
        The city model (changed in place: the level goes into the part's provenance record).
    name
        A layer name, ``"network_<kind>"`` or its kind, or ``"dem"``.
    level
        One of :data:`LEVELS`.
    reason
        Why (non-empty text), kept in the ``set_sensitivity`` provenance step.

    Returns
    -------
    Provenance
        The part's record.

    Examples
    --------
    >>> import warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    >>> record = set_layer_level(model, "pois", "internal", reason="draft list, not yet checked")
    >>> layer_level(model, "pois"), record.steps[-1].params
    ('internal', {'level': 'internal', 'previous': 'public', 'reason': 'draft list, not yet checked'})
    """
    check_level(level)
    reason = check_reason(reason, name)
    canonical, _, _ = _resolve(model, name)
    previous = layer_level(model, canonical)
    record = model.provenance_record(canonical)
    record.sensitivity = level
    record.add_step(
        "set_sensitivity", f"level {previous} -> {level}", level=level, previous=previous, reason=reason
    )
    return record


def check_reason(reason: Any, name: str) -> str:
    """Return ``reason`` stripped, or raise ``ValidationError`` (PUB002) when it is not non-empty text.

    Examples
    --------
    >>> check_reason("  flood plan for the fire service ", "water")
    'flood plan for the fire service'
    >>> check_reason(" ", "water")
    Traceback (most recent call last):
    ...
    cimkit.errors.ValidationError: layer 'water': no reason was given. Fix: give the reason as non-empty text, e.g. allow={'water': 'flood plan shared with the fire service'}.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(
            "no reason was given",
            layer=name,
            hint=f"give the reason as non-empty text, e.g. allow={{{name!r}: 'flood plan shared with the fire service'}}.",
            code="PUB002",
        )
    return reason.strip()


def get_allowance(record: prov.Provenance | None) -> str | None:
    """Return the reason of the last publication allowance recorded in ``record``, or None.

    :func:`cimkit.viz.public_model` writes a ``publication_allowed`` step on each layer it keeps
    by an allowance; public outputs given that copy honour it (and log it again).

    Examples
    --------
    >>> record = prov.Provenance().add_step(ALLOW_STEP, "allowed", reason="shared with the utility")
    >>> get_allowance(record), get_allowance(prov.Provenance())
    ('shared with the utility', None)
    """
    for step in reversed(record.steps if record is not None else []):
        if step.action == ALLOW_STEP and step.params.get("reason"):
            return str(step.params["reason"])
    return None


def match_allowance(allow: Any, name: str) -> str | None:
    """Return the reason ``allow`` gives for part ``name`` (``"water"`` matches ``"network_water"``)."""
    if not allow:
        return None
    for key in (name, name.removeprefix("network_")):
        if key in allow:
            return check_reason(allow[key], key)
    return None


def iter_above_public(levels: dict[str, str]) -> Iterable[tuple[str, str]]:
    """Yield ``(name, level)`` of the parts above public, in order."""
    return ((name, level) for name, level in levels.items() if level != "public")
