"""What may be shown to the public.

Every layer, network and DEM of a model has a sensitivity level (:mod:`cimkit._sensitivity`):
``public < internal < restricted < sensitive``. Water, sewer and power networks are critical
infrastructure (``"sensitive"`` by default); columns naming the owners of the cadastre make a
layer ``"restricted"``. :func:`public_model` returns a copy of a model holding only what is
public: the layers and networks above public are withheld, the personal columns of an otherwise
public layer are dropped, and whatever the caller allows with a reason is kept and written to
the audit log (:mod:`cimkit.audit`). Each step is recorded in the provenance of what remains.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

from cimkit import _sensitivity as sens
from cimkit import audit
from cimkit.errors import CimkitWarning
from cimkit.model import CityModel

__all__ = ["SENSITIVE_NETWORKS", "public_model"]

#: Network kinds above public by default (``"sensitive"``).
SENSITIVE_NETWORKS = tuple(kind for kind, level in sens.NETWORK_LEVELS.items() if level != "public")


def _plan(
    model: CityModel, allow: Mapping[str, str] | None, dropped: set[str]
) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """Decide each part's fate: allowed (part -> reason), columns to drop, parts withheld."""
    allowed: dict[str, str] = {}
    columns: dict[str, list[str]] = {}
    withheld: list[str] = []
    for part, level in sens.get_model_levels(model).items():
        if part in dropped or level == "public":
            continue
        reason = sens.match_allowance(allow, part)
        explicit = model.provenance_record(part).sensitivity is not None
        personal = sens.personal_columns(model.layers[part]) if part in model.layers else []
        if reason:
            allowed[part] = reason
        elif not explicit and level == "restricted" and personal:
            columns[part] = personal
        else:
            withheld.append(part)
    return allowed, columns, withheld


def public_model(
    model: CityModel, *, allow: Mapping[str, str] | None = None, drop_layers: Iterable[str] = ()
) -> CityModel:
    """Return a copy of ``model`` safe to publish: only what is public, or allowed with a reason.

    - A layer, network or DEM above ``"public"`` (:func:`cimkit._sensitivity.layer_level`:
      by default the water, sewer and power networks) is withheld;
    - a layer that is restricted only because it holds columns naming people (the owners of the
      cadastre, :func:`cimkit._sensitivity.personal_columns`) is kept without those columns, with
      a ``withhold_columns`` provenance step and a :class:`~cimkit.errors.CimkitWarning` (PUB101);
    - a part named in ``allow`` is kept whole; the allowance is written to the audit log
      (:func:`cimkit.audit.record_audit_entry`, action ``"allow"``) and to the part's provenance
      (a ``publication_allowed`` step, which the public outputs honour).

    Every record of the copy gets a last ``public_filter`` step naming what was withheld.
    ``model`` is left unchanged.

    Parameters
    ----------
    model
        The city model to publish.
    allow
        Part name -> reason (non-empty text, else ``ValidationError`` PUB002): keep this layer or
        network although it is above public. A network is named by its kind (``"water"``) or
        ``"network_<kind>"``.
    drop_layers
        Names of further vector layers to leave out (e.g. the IFC attribute tables
        ``("elements", "materials", "spaces")``).

    Returns
    -------
    CityModel
        A new model named ``"<name> (public)"``.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> from cimkit.options import set_options
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    >>> sorted(model.networks)
    ['road', 'water']
    >>> public = public_model(model, drop_layers=["river"])
    >>> public.name, sorted(public.networks), "river" in public
    ('sample city (public)', ['road'], False)
    >>> public.provenance_record("buildings").steps[-1].params["withheld"]
    ['network_water', 'river']
    >>> with set_options(audit_log=f"{tempfile.mkdtemp()}/audit.jsonl"):
    ...     shared = public_model(model, allow={"water": "plan shared with the fire service"})
    ...     n_entries = audit.check_audit_log()
    >>> sorted(shared.networks), n_entries, shared.provenance_record("water").steps[-2].action
    (['road', 'water'], 1, 'publication_allowed')
    """
    for key, reason in (allow or {}).items():
        sens.check_reason(reason, key)
    dropped = set(drop_layers)
    allowed, columns, withheld = _plan(model, allow, dropped)
    levels = sens.get_model_levels(model)
    entries = {
        part: audit.record_audit_entry(
            action="allow", output="public_model", layers=[part], levels=[levels[part]], reason=reason
        )
        for part, reason in allowed.items()
    }
    skip = dropped | set(withheld)
    out = CityModel(model.crs, name=f"{model.name} (public)")
    for name, layer in model.layers.items():
        if name in skip:
            continue
        record = model.provenance_record(name).copy()
        if name in columns:
            layer = layer.drop(columns=columns[name])
            record.add_step(
                "withhold_columns",
                "columns naming people dropped from the public view",
                columns=columns[name],
                rows=len(layer),
            )
            warnings.warn(
                CimkitWarning(
                    f"layer {name!r}: {len(columns[name])} column(s) naming people dropped from the public view "
                    f"({', '.join(columns[name])}; {len(layer)} rows); keep them with allow={{{name!r}: 'reason'}}",
                    code="PUB101",
                ),
                stacklevel=2,
            )
        out.add_layer(name, layer, provenance=record)
    for kind, net in model.networks.items():
        if f"network_{kind}" not in skip:
            out.add_network(net, provenance=model.provenance_record(kind))
    if model.dem is not None and "dem" not in skip:
        out.set_dem(model.dem, provenance=model.provenance_record("dem"))
    for part, entry in entries.items():
        out.provenance_record(part).add_step(
            sens.ALLOW_STEP,
            f"{levels[part]} layer kept in the public view by an allowance",
            reason=allowed[part],
            level=levels[part],
            audit_hash=entry["hash"],
        )
    removed = sorted(set(withheld) | (dropped & set(model.layers)))
    parts = [*out.layers, *(f"network_{k}" for k in out.networks)] + (["dem"] if out.dem is not None else [])
    for name in parts:
        out.provenance_record(name).add_step(
            "public_filter", "layers above public withheld from the public view", withheld=removed
        )
    return out
