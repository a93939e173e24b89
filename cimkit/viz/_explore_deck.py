"""lonboard layers and map that work offline (helper of :mod:`cimkit.viz.explore`).

lonboard sends each layer's table to the browser as Parquet and decodes it there with
``parquet-wasm``, fetched from a CDN on first use: a notebook without internet shows an empty map.
The classes here send Arrow IPC streams instead (converted from lonboard's Parquet in
``get_state``) and give the map lonboard's own JavaScript with its Parquet step replaced by the
Arrow IPC reader it already bundles (:func:`cimkit.viz._explore_html.patch_module`). Nothing is
fetched. If the installed lonboard's JavaScript does not have the expected shape, the stock
classes are used, with a :class:`~cimkit.errors.CimkitWarning` (XPL101).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import CimkitError, CimkitWarning
from cimkit.viz._explore_html import parquet_to_ipc, patch_module


def import_lonboard() -> Any:
    """Import lonboard, or raise a typed error naming the extra (XPL001)."""
    try:
        import ipywidgets  # noqa: F401
        import lonboard
    except ImportError as err:
        raise CimkitError(
            "interactive maps need lonboard and ipywidgets, which are not installed",
            code="XPL001",
            hint="pip install 'cimkit[maps]'",
        ) from err
    return lonboard


def _to_ipc(value: Any) -> Any:
    if isinstance(value, bytes) and value[:4] == b"PAR1":
        return parquet_to_ipc(value)
    if isinstance(value, list) and value and all(isinstance(v, bytes) for v in value):
        return [_to_ipc(v) for v in value]
    return value


class _IpcState:
    """Mixin: the synced state carries Arrow IPC streams where lonboard wrote Parquet."""

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        state = super().get_state(key=key, drop_defaults=drop_defaults)  # type: ignore[misc]
        return {name: _to_ipc(value) for name, value in state.items()}


@functools.cache
def classes() -> dict[str, Any]:
    """``{"Map", "PolygonLayer", "PathLayer", "ScatterplotLayer"}``: offline classes, or lonboard's."""
    lonboard = import_lonboard()
    from pathlib import Path

    stock = {
        name: getattr(lonboard, name) for name in ("Map", "PolygonLayer", "PathLayer", "ScatterplotLayer")
    }
    try:
        esm = patch_module(
            (Path(lonboard.__file__).parent / "static" / "index.js").read_text(encoding="utf-8")
        )
    except (CimkitError, OSError):
        warnings.warn(
            CimkitWarning(
                f"lonboard {lonboard.__version__}: its map fetches parquet-wasm from the internet and "
                "stays empty offline (the standalone HTML export is not available either)",
                code="XPL101",
            ),
            stacklevel=3,
        )
        return stock
    offline = {
        name: type(f"Offline{name}", (_IpcState, cls), {"__module__": __name__})
        for name, cls in stock.items()
        if name != "Map"
    }
    offline["Map"] = type("OfflineMap", (stock["Map"],), {"_esm": esm, "__module__": __name__})
    return offline


def build_layer(kind: str, frame: Any, *, colours: np.ndarray | None = None, **style: Any) -> Any:
    """One lonboard layer of ``frame`` (a GeoDataFrame in EPSG:4326, columns = tooltip fields).

    ``kind`` is ``"polygon"``, ``"path"`` or ``"point"``; ``colours`` (n x 4 uint8) colour the
    fill (polygons, points) or the line (paths).
    """
    cls = classes()
    style["auto_downcast"] = False  # types are already set by tooltip_frame; pandas would warn
    if kind == "polygon":
        if colours is not None:
            style["get_fill_color"] = colours
        return cls["PolygonLayer"].from_geopandas(frame, **style)
    if kind == "path":
        if colours is not None:
            style["get_color"] = colours
        return cls["PathLayer"].from_geopandas(frame, **style)
    if colours is not None:
        style["get_fill_color"] = colours
    return cls["ScatterplotLayer"].from_geopandas(frame, **style)


def build_map(layers: list[Any], *, basemap: bool) -> Any:
    """Return the map of ``layers`` (bottom first), without a basemap unless asked (it needs internet)."""
    cls = classes()
    options: dict[str, Any] = {"show_tooltip": True, "show_side_panel": False, "height": 600}
    if not basemap:
        options["basemap"] = None
    return cls["Map"](layers=layers, **options)


def tooltip_frame(frame: Any, columns: list[str]) -> Any:
    """``frame`` reduced to ``columns`` + geometry, in EPSG:4326, with types arrow accepts.

    Object columns become text (``""`` for missing); booleans with missing values become text.
    """
    out = frame[[*columns, frame.geometry.name]].copy()
    out.attrs = {}  # provenance is not for the browser (and lonboard cannot serialise it)
    for column in columns:
        series = out[column]
        if series.dtype == object or isinstance(series.dtype, pd.BooleanDtype) or str(series.dtype) == "str":
            out[column] = series.astype("object").where(series.notna(), "").astype(str)
        elif pd.api.types.is_integer_dtype(series.dtype) and series.isna().any():
            out[column] = series.astype(float)
    if out.crs is not None and out.crs.to_epsg() != 4326:
        out = out.to_crs(4326)
    return out
