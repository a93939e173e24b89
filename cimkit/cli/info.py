"""``cimkit info PATH``: describe a saved city model or an IFC file's georeferencing."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["run_info"]


def run_info(path: str | os.PathLike[str], *, risk_register: str | os.PathLike[str] | None = None) -> str:
    """Describe a saved city model (``.gpkg``) or an IFC file's georeferencing.

    Parameters
    ----------
    path
        A GeoPackage written by ``CityModel.to_file``, or an ``.ifc`` file.
    risk_register
        For a model: also write its whole risk register to this CSV file
        (:func:`cimkit.governance.write_risk_register`).

    Returns
    -------
    str
        For a model, its summary (layers, networks, DEM), provenance table, data-governance
        score (with what to do to raise it) and risk-register summary; for an IFC
        file, how it is georeferenced (method, confidence, CRS, origin, rotation, scale) and
        the warnings found.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> text = run_info(sample_city_path() / "buildings" / "bureaux_mairie.ifc")
    >>> print(text.split(": ", 1)[1])
    georeferencing by IfcMapConversion (confidence high)
      CRS: EPSG:2154
      origin E=651221.55 N=6847104.0 H=46.19, rotation 0.0 deg, scale 1.0
    """
    p = Path(path)
    if p.suffix.lower() in (".ifc", ".ifczip"):
        from cimkit.io.ifc import read_georeference

        geo = read_georeference(p)
        lines = [f"{p}: georeferencing by {geo.method} (confidence {geo.confidence})"]
        if geo.crs is not None:
            lines.append(f"  CRS: {geo.crs.to_string()}")
        lines.append(
            f"  origin E={geo.eastings} N={geo.northings} H={geo.orthogonal_height}, "
            f"rotation {geo.rotation_deg} deg, scale {geo.scale}"
        )
        lines += [f"  warning: {w}" for w in geo.warnings]
        return "\n".join(lines)
    from cimkit.governance import compute_governance, format_governance, write_risk_register
    from cimkit.model import read_model

    model = read_model(p)
    prov = model.provenance
    governance = format_governance(compute_governance(model))
    # one line per layer; the steps themselves are in model.provenance_record(name).steps
    table = "\n".join(
        f"  {name:<14} {row['reader']:<28} {row['n_steps']:>3} step(s)  {row['source']}"
        for name, row in prov.iterrows()
    )
    text = f"{model!r}\n\nprovenance (layer, reader, steps, first source):\n{table}\n\n{governance}"
    if risk_register is not None:
        written = write_risk_register(model, risk_register)
        text += f"\nrisk register written to {written}"
    return text
