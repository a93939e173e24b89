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
    """Return a copy of ``model`` safe to publish: no water, sewer or power network.

    The layers, the remaining networks and the DEM are copied with their provenance; each
    record of the copy gets a ``public_filter`` step naming what was withheld. ``model`` is
    left unchanged.

    Parameters
    ----------
    model
        The city model to publish.
    drop_layers
        Names of further vector layers to leave out (e.g. the IFC attribute tables
        ``("elements", "materials", "spaces")``).

    Returns
    -------
    CityModel
        A new model named ``"<name> (public)"``, without the networks of
        :data:`SENSITIVE_NETWORKS` nor the layers of ``drop_layers``.

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> sorted(model.networks)
    ['road', 'water']
    >>> public = public_model(model, drop_layers=["river"])
    >>> public.name, sorted(public.networks), "river" in public
    ('sample city (public)', ['road'], False)
    >>> public.provenance_record("buildings").steps[-1].params["withheld"]
    ['network_water', 'river']
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
    if model.dem is not None:
        out.set_dem(model.dem, provenance=model.provenance_record("dem"))
    removed = sorted(
        {f"network_{k}" for k in model.networks if k in SENSITIVE_NETWORKS} | (dropped & set(model.layers))
    )
    for name in [*out.layers, *(f"network_{k}" for k in out.networks)]:
        out.provenance_record(name).add_step(
            "public_filter", "sensitive layers withheld from the public view", withheld=removed
        )
    return out
