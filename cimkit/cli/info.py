"""``cimkit info PATH``: describe a saved city model or an IFC file's georeferencing."""

from __future__ import annotations

from pathlib import Path


def run_info(path: str) -> str:
    """A human-readable description of ``path`` (a cimkit .gpkg, or an .ifc file)."""
    p = Path(path)
    if p.suffix.lower() == ".ifc":
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
    from cimkit.model import read_model

    model = read_model(p)
    prov = model.provenance[["reader", "source", "n_steps", "steps"]]
    return f"{model!r}\n\nprovenance:\n{prov.to_string()}"
