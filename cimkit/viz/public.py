"""What may be shown to the public.

Water, sewer and power networks are critical infrastructure: their exact layout stays private.
:func:`public_model` returns a copy of a model without them (and without any extra layer the
caller names), with the filtering recorded in the provenance of what remains.
"""

from __future__ import annotations

from collections.abc import Iterable

from cimkit.model import CityModel

__all__ = ["SENSITIVE_NETWORKS", "public_model"]

#: Network kinds never shown in public outputs.
SENSITIVE_NETWORKS = ("water", "sewer", "power")


def public_model(model: CityModel, *, drop_layers: Iterable[str] = ()) -> CityModel:
    """A copy of ``model`` safe to publish: no water, sewer or power network, minus ``drop_layers``.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> public = public_model(load_sample_city(ifc=False))
    >>> sorted(public.networks)
    ['road']
    """
    dropped = set(drop_layers)
    out = CityModel(model.crs, name=f"{model.name} (public)")
    for name, layer in model.layers.items():
        if name in dropped:
            continue
        out.add_layer(name, layer, provenance=model.provenance_record(name))
    for kind, net in model.networks.items():
        if kind in SENSITIVE_NETWORKS:
            continue
        out.add_network(net, provenance=model.provenance_record(kind))
    if model.terrain is not None:
        out.set_terrain(model.terrain, provenance=model.provenance_record("terrain"))
    removed = sorted(
        {f"network_{k}" for k in model.networks if k in SENSITIVE_NETWORKS} | (dropped & set(model.layers))
    )
    for name in [*out.layers, *(f"network_{k}" for k in out.networks)]:
        out.provenance_record(name).add_step(
            "public_filter", "sensitive layers withheld from the public view", withheld=removed
        )
    return out
