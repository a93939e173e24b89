"""Summaries of a city model's parts: their common extent and the text and HTML ``repr``.

Private helper of :mod:`cimkit.model`: it works on the parts (layers, networks, DEM,
provenance records) and imports nothing from cimkit but core modules (the CRS helpers, the
provenance records, the errors and the quality checks), so it sits in the core tier. It also
holds the small bookkeeping of the model's parts (adopting a provenance record, copying and
removing parts) that keeps :mod:`cimkit.model` short.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from cimkit import provenance as prov
from cimkit._crs import crs_label
from cimkit.errors import LayerNotFoundError

__all__ = [
    "adopt_record",
    "compute_bounds",
    "copy_parts",
    "count_checks",
    "run_quality",
    "format_html",
    "format_text",
    "remove_part",
    "summary_rows",
]

Row = tuple[str, str, str, str]
Bounds = tuple[float, float, float, float]


def compute_bounds(layers: Mapping[str, Any], networks: Mapping[str, Any], dem: Any) -> Bounds | None:
    """Return ``(minx, miny, maxx, maxy)`` over every layer with geometries, network and the DEM."""
    boxes = [
        layer.total_bounds
        for layer in layers.values()
        if getattr(layer, "_geometry_column_name", None) in layer and len(layer)
    ]
    boxes += [net.edges.total_bounds for net in networks.values() if len(net.edges)]
    if dem is not None:
        boxes.append(np.asarray(dem.bounds))
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def adopt_record(name: str, obj: Any, record: Any, licence: str | None) -> prov.Provenance:
    """Return a copy of the record given (else the object's own, else a new one) named ``name``."""
    record = (record or prov.get(obj) or prov.Provenance(versions=prov.get_library_versions())).copy()
    record.layer = name
    record.licence = licence if licence is not None else record.licence
    return record


def copy_parts(model: Any, out: Any) -> Any:
    """Fill the empty model ``out`` with deep copies of the parts and records of ``model``."""
    out._provenance = {name: record.copy() for name, record in model._provenance.items()}
    for name, layer in model._layers.items():
        out._layers[name] = prov.attach(layer.copy(deep=True), out._provenance[name])
    for kind, net in model._networks.items():
        out._networks[kind] = prov.attach(net.copy(), out._provenance[f"network_{kind}"])
    if model._dem is not None:
        out._dem = prov.attach(model._dem.copy(), out._provenance["dem"])
    return out


def remove_part(model: Any, name: str) -> None:
    """Remove a layer, a network (``network_<kind>`` or the kind) or the DEM and its record."""
    if name in model._layers:
        del model._layers[name]
    elif name in model._networks or name.removeprefix("network_") in model._networks:
        kind = name.removeprefix("network_")
        del model._networks[kind]
        name = f"network_{kind}"
    elif name == "dem" and model._dem is not None:
        model._dem = None
    else:
        raise LayerNotFoundError(f"the model has no layer {name!r}", layer=name)
    model._provenance.pop(name, None)


def join_columns(
    model: Any, name: str, table: Any, *, step: str, detail: str, overwrite: bool, params: Mapping[str, Any]
) -> Any:
    """Return layer ``name`` of ``model`` joined with ``table`` on its index; record the step.

    The layer's sensitivity rises to that of ``table`` when the table carries a provenance
    record with a level (a column derived from a sensitive layer makes the layer as sensitive).
    """
    from cimkit._sensitivity import derive_level, layer_level
    from cimkit.errors import InputError, ValidationError

    layer = model[name]
    if not hasattr(table, "columns"):  # a Series
        table = table.to_frame()
    clash = [c for c in table.columns if c in layer.columns]
    if clash and not overwrite:
        raise ValidationError(f"layer {name!r} already has column(s) {clash}; pass overwrite=True.")
    unknown = table.index.difference(layer.index)
    if len(unknown):
        raise InputError(
            f"{len(unknown)} row(s) of the table are not in the layer (first: {list(unknown[:3])})",
            layer=name,
            hint="index the table by the layer's ids (layer.index).",
        )
    out = layer.drop(columns=clash).join(table, how="left")
    record = model.provenance_record(name)
    source = prov.get(table)
    if source is not None and source.sensitivity:
        level = derive_level(layer_level(model, name), source.sensitivity)
        if level != layer_level(model, name):
            record.sensitivity = level
            record.add_step("inherit_sensitivity", f"level {level} from the joined columns of {step}")
    columns = list(map(str, table.columns))
    record.add_step(
        "join",
        detail or f"{len(table.columns)} column(s) from {step}",
        producer=step,
        columns=columns,
        **params,
    )
    return out


def run_quality(model: Any) -> Any:
    """``model.quality()``, or None when a check fails (a repr never raises)."""
    try:
        return model.quality()
    except Exception:  # the repr must show whatever the checks make of the model
        return None


def count_checks(quality: Any) -> dict[str, int] | None:
    """Rows per status of a ``model.quality()`` table (None stays None)."""
    from cimkit._quality import count_statuses

    return None if quality is None else count_statuses(quality)


def _source_label(records: Mapping[str, Any], name: str) -> str:
    rec = records.get(name)
    if rec is None or not rec.source_files:
        return "in memory"
    label = os.path.basename(rec.source_files[0].path)
    return label + (f" (+{len(rec.source_files) - 1})" if len(rec.source_files) > 1 else "")


def summary_rows(
    layers: Mapping[str, Any], networks: Mapping[str, Any], dem: Any, records: Mapping[str, Any]
) -> list[Row]:
    """Return one ``(name, count, content, source)`` row per layer, network and the DEM."""
    rows = []
    for name, layer in layers.items():
        geom = ""
        geometry_column = getattr(layer, "_geometry_column_name", None)
        if geometry_column is not None and geometry_column in layer and len(layer):
            geom = ", ".join(sorted(set(layer.geom_type.dropna())))
        rows.append((name, f"{len(layer):,}", geom or "table", _source_label(records, name)))
    for kind, net in networks.items():
        count = f"{len(net.nodes):,} nodes / {len(net.edges):,} edges"
        length = f"{net.edges['length_m'].sum() / 1000:.2f} km"
        rows.append((f"network_{kind}", count, length, _source_label(records, f"network_{kind}")))
    if dem is not None:
        cells = f"{dem.shape[0]}x{dem.shape[1]} cells"
        rows.append(("dem", cells, f"{dem.res[0]:g} m grid", _source_label(records, "dem")))
    return rows


def _extent(bounds: Bounds | None, dash: str, times: str) -> str | None:
    if bounds is None:
        return None
    minx, miny, maxx, maxy = bounds
    return (
        f"{minx:.1f}, {miny:.1f} {dash} {maxx:.1f}, {maxy:.1f} "
        f"({(maxx - minx) / 1000:.2f} {times} {(maxy - miny) / 1000:.2f} km)"
    )


def format_text(name: str, crs: Any, bounds: Bounds | None, rows: list[Row]) -> str:
    """Return the plain-text summary: name, CRS, extent, then one aligned line per row."""
    lines = [f"<CityModel {name!r} in {crs_label(crs)} ({crs.name})>"]
    extent = _extent(bounds, "-", "x")
    if extent is not None:
        lines.append(f"  extent: {extent}")
    if not rows:
        lines.append("  (empty)")
    width = max((len(r[0]) for r in rows), default=0)
    for layer, count, kind, source in rows:
        lines.append(f"  {layer:<{width}}  {count:>12}  {kind:<24} {source}")
    return "\n".join(lines)


def _checks_html(checks: Mapping[str, int] | None) -> str:
    if checks is None:
        return ""
    colours = {"ok": "#2e7d32", "warning": "#b26a00", "error": "#c62828", "not_checked": "#555"}
    parts = ", ".join(
        f"<span style='color:{colours[k]}'>{n} {k.replace('_', ' ')}</span>" for k, n in checks.items() if n
    )
    return f"<br><span style='color:#555'>checks: {parts} &middot; see <code>model.quality()</code></span>"


def format_html(
    name: str, crs: Any, bounds: Bounds | None, rows: list[Row], *, checks: Mapping[str, int] | None = None
) -> str:
    """Return the HTML summary shown by Jupyter: a heading, the checks per status and a table of the rows."""
    esc = html.escape
    head = (
        f"<b>CityModel</b> {esc(name)} &middot; {esc(crs_label(crs))} "
        f"<span style='color:#555'>({esc(crs.name)})</span>"
    )
    extent = _extent(bounds, "&ndash;", "&times;")
    if extent is not None:
        head += f"<br><span style='color:#555'>extent {extent}</span>"
    head += _checks_html(checks)
    body = "".join(
        f"<tr><td><code>{esc(n)}</code></td><td style='text-align:right'>{esc(c)}</td>"
        f"<td>{esc(k)}</td><td>{esc(s)}</td></tr>"
        for n, c, k, s in rows
    )
    return (
        f"<div>{head}<table><thead><tr><th>layer</th><th>count</th><th>content</th><th>source</th>"
        f"</tr></thead><tbody>{body}</tbody></table></div>"
    )
