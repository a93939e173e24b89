"""The :class:`CityModel`: named layers of one city in ONE projected, metric CRS.

A CityModel is a thin container. It holds

- vector layers (GeoDataFrames) under names — ``buildings``, ``parcels``, ``zoning``, ``pois``
  and any extra name — each keeping its identity in its index (IFC GlobalId, parcel id, zone id);
- infrastructure networks by kind (``road``, ``water``, ``sewer``, ``power``);
- the terrain (a :class:`~cimkit.raster.Raster` DEM);
- one :class:`~cimkit.provenance.Provenance` record per layer.

It does not analyse anything: the analyses in :mod:`cimkit.analysis` take layers and return
tables, which :meth:`CityModel.join` adds back as columns with a provenance step.

>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> model = CityModel("EPSG:2154")
>>> parcels = gpd.GeoDataFrame({"contenance": [400]}, geometry=[box(0, 0, 20, 20)],
...                            index=pd.Index(["91999000AB0001"], name="parcel_id"), crs=2154)
>>> float(model.add_layer("parcels", parcels).area.iloc[0])
400.0
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from cimkit import provenance as prov
from cimkit._atomic import atomic_path
from cimkit.errors import (
    CimkitIOError,
    CRSError,
    FileFormatError,
    GeographicCRSError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
    ValidationError,
)
from cimkit.network.graph import NETWORK_KINDS, Network
from cimkit.raster import Raster

__all__ = ["CityModel", "read_model"]

logger = logging.getLogger(__name__)

#: The layer names with a defined role; any other valid name is accepted as an extra layer.
CORE_LAYERS = ("buildings", "parcels", "zoning", "pois")
TERRAIN = "terrain"
_META_TABLE = "cimkit_metadata"
_PROV_TABLE = "cimkit_provenance"
_FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED = {_META_TABLE, _PROV_TABLE, TERRAIN}


def _check_model_crs(crs: Any) -> CRS:
    try:
        crs = CRS.from_user_input(crs)
    except Exception as err:  # pyproj raises CRSError with a long message
        raise ValidationError(f"the model CRS {crs!r} is not a CRS pyproj understands ({err})") from err
    if crs.is_geographic:
        raise GeographicCRSError(
            f"the model CRS {crs.to_string()} is geographic (degrees); analyses need metres",
            hint="use a projected CRS, e.g. EPSG:2154 (Lambert-93) in France or the local UTM zone "
            "(pyproj: CRS(...).to_3d() / geopandas: gdf.estimate_utm_crs()).",
        )
    if not crs.is_projected:
        raise GeographicCRSError(
            f"the model CRS {crs.to_string()} is not a projected CRS",
            hint="use a projected, metric CRS such as EPSG:2154.",
        )
    units = {axis.unit_name.lower() for axis in crs.axis_info[:2]}
    if not units <= {"metre", "meter", "m"}:
        raise CRSError(
            f"the model CRS {crs.to_string()} is in {', '.join(sorted(units))}, not metres",
            hint="use a metric projected CRS such as EPSG:2154 (Lambert-93) or the local UTM zone; "
            "cimkit's analyses report metres and square metres.",
        )
    return crs


def _check_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not _NAME_RE.match(name)
        or name in _RESERVED
        or name.startswith("network_")
    ):
        raise ValidationError(
            f"layer names must be lower-case identifiers (a-z, 0-9, _), not starting with 'network_' "
            f"and not one of {sorted(_RESERVED)}; {name!r} was given."
        )
    return name


def _crs_label(crs: Any) -> str:
    if crs is None:
        return "no CRS"
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


class CityModel:
    """Named layers of one city in one projected, metric CRS.

    Parameters
    ----------
    crs
        The model's CRS: anything :class:`pyproj.CRS` accepts (``"EPSG:2154"``, 2154, WKT).
        Geographic or non-metric CRSs are refused with :class:`~cimkit.errors.GeographicCRSError`.
    name
        A label shown in reprs and reports.

    Notes
    -----
    Layers added in another CRS are reprojected and the step is recorded in their provenance;
    a layer without a CRS raises :class:`~cimkit.errors.MissingCRSError` naming the layer.
    """

    def __init__(self, crs: Any, *, name: str = "city") -> None:
        self._crs = _check_model_crs(crs)
        self.name = name
        self._layers: dict[str, gpd.GeoDataFrame] = {}
        self._networks: dict[str, Network] = {}
        self._terrain: Raster | None = None
        self._provenance: dict[str, prov.Provenance] = {}

    # ------------------------------------------------------------------ basics
    @property
    def crs(self) -> CRS:
        """The model's projected CRS."""
        return self._crs

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The vector layers by name (a new dict; the frames are the model's own)."""
        return dict(self._layers)

    @property
    def networks(self) -> dict[str, Network]:
        """The networks by kind (a new dict)."""
        return dict(self._networks)

    @property
    def terrain(self) -> Raster | None:
        """The DEM, or None."""
        return self._terrain

    def __contains__(self, name: object) -> bool:
        return (
            name in self._layers or name in self._networks or (name == TERRAIN and self._terrain is not None)
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._layers)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame:
        try:
            return self._layers[name]
        except KeyError:
            raise LayerNotFoundError(
                f"the model has no layer {name!r}",
                layer=name,
                hint=f"the layers are: {', '.join(self._layers) or 'none yet'}; add one with model.add_layer().",
            ) from None

    def _role(self, name: str) -> gpd.GeoDataFrame | None:
        return self._layers.get(name)

    @property
    def buildings(self) -> gpd.GeoDataFrame | None:
        """The ``buildings`` layer, or None."""
        return self._role("buildings")

    @property
    def parcels(self) -> gpd.GeoDataFrame | None:
        """The ``parcels`` layer, or None."""
        return self._role("parcels")

    @property
    def zoning(self) -> gpd.GeoDataFrame | None:
        """The ``zoning`` layer, or None."""
        return self._role("zoning")

    @property
    def pois(self) -> gpd.GeoDataFrame | None:
        """The ``pois`` layer, or None."""
        return self._role("pois")

    def network(self, kind: str) -> Network:
        """The network of ``kind`` (road, water, sewer, power)."""
        try:
            return self._networks[kind]
        except KeyError:
            raise LayerNotFoundError(
                f"the model has no {kind!r} network",
                layer=f"network_{kind}",
                hint=f"the networks are: {', '.join(self._networks) or 'none yet'}; add one with "
                "model.add_network(cimkit.read_network(path, kind=...)).",
            ) from None

    # ------------------------------------------------------------------ adding
    def _adopt_record(
        self, name: str, obj: Any, record: prov.Provenance | None, licence: str | None
    ) -> prov.Provenance:
        record = (record or prov.get(obj) or prov.Provenance(versions=prov.library_versions())).copy()
        record.layer = name
        if licence is not None:
            record.licence = licence
        return record

    def add_layer(
        self,
        name: str,
        layer: gpd.GeoDataFrame | pd.DataFrame,
        *,
        provenance: prov.Provenance | None = None,
        licence: str | None = None,
    ) -> gpd.GeoDataFrame:
        """Add (or replace) a vector layer, reprojecting it to the model CRS.

        Parameters
        ----------
        name
            Layer name: ``buildings``, ``parcels``, ``zoning``, ``pois`` or any lower-case identifier.
        layer
            A GeoDataFrame with a CRS. Its index is its identity and is kept as it is.
            A plain DataFrame (no geometry) is stored as an attribute table.
        provenance
            The lineage record; by default the one the reader attached to ``layer.attrs``,
            else a new "in-memory" record.
        licence
            Data licence, recorded in the provenance.

        Returns
        -------
        GeoDataFrame
            The model's copy of the layer (in the model CRS). The input is never modified.
        """
        _check_name(name)
        if not isinstance(layer, pd.DataFrame):
            raise InputError(
                f"a layer must be a GeoDataFrame, not {type(layer).__name__}",
                layer=name,
                hint="read it with cimkit.read_* or geopandas.read_file first.",
            )
        record = self._adopt_record(name, layer, provenance, licence)
        if isinstance(layer, gpd.GeoDataFrame) and layer._geometry_column_name in layer.columns:
            if layer.crs is None:
                raise MissingCRSError(
                    "the layer has no CRS; cimkit never assumes one",
                    layer=name,
                    hint="set the CRS the coordinates are in with gdf.set_crs('EPSG:....'), "
                    "or pass crs/source_crs to the cimkit reader.",
                )
            if CRS.from_user_input(layer.crs) != self._crs:
                source = _crs_label(layer.crs)
                layer = layer.to_crs(self._crs)
                record.add_step(
                    "reproject",
                    f"{source} -> {_crs_label(self._crs)}",
                    source_crs=source,
                    target_crs=_crs_label(self._crs),
                    library="pyproj",
                )
                logger.info("layer %r reprojected from %s to %s", name, source, _crs_label(self._crs))
            else:
                layer = layer.copy()
        else:
            layer = layer.copy()
        prov.attach(layer, record)
        self._layers[name] = layer
        self._provenance[name] = record
        return layer

    def add_network(
        self, network: Network, *, provenance: prov.Provenance | None = None, licence: str | None = None
    ) -> Network:
        """Add (or replace) a network under its kind, reprojecting it to the model CRS."""
        if not isinstance(network, Network):
            raise InputError(
                f"add_network expects a cimkit Network, not {type(network).__name__}",
                hint="build one with cimkit.read_network(path, kind=...).",
            )
        key = f"network_{network.kind}"
        record = self._adopt_record(key, network, provenance, licence)
        if network.crs is None:
            raise MissingCRSError(
                f"the {network.kind} network has no CRS (schematic or local coordinates?)",
                layer=key,
                hint="place it with cimkit.read_network(..., crs='EPSG:....') before adding it to a model.",
            )
        if network.crs != self._crs:
            source = _crs_label(network.crs)
            network = network.to_crs(self._crs)
            record.add_step(
                "reproject",
                f"{source} -> {_crs_label(self._crs)}",
                source_crs=source,
                target_crs=_crs_label(self._crs),
                library="pyproj",
            )
        prov.attach(network, record)
        self._networks[network.kind] = network
        self._provenance[key] = record
        return network

    def set_terrain(
        self, dem: Raster, *, provenance: prov.Provenance | None = None, licence: str | None = None
    ) -> Raster:
        """Set the DEM, warping it to the model CRS (bilinear) when needed."""
        if not isinstance(dem, Raster):
            raise InputError(
                f"the terrain must be a cimkit Raster, not {type(dem).__name__}",
                layer=TERRAIN,
                hint="read it with cimkit.read_dem(path).",
            )
        record = self._adopt_record(TERRAIN, dem, provenance, licence)
        if dem.crs is None:
            raise MissingCRSError(
                "the DEM has no CRS",
                layer=TERRAIN,
                hint="pass source_crs= to cimkit.read_dem (an ASCII grid without .prj, for example).",
            )
        if dem.crs != self._crs:
            source = _crs_label(dem.crs)
            dem = dem.to_crs(self._crs)
            record.add_step(
                "reproject",
                f"{source} -> {_crs_label(self._crs)} (bilinear)",
                source_crs=source,
                target_crs=_crs_label(self._crs),
                resampling="bilinear",
                library="rasterio",
            )
        else:
            dem = dem.copy()
        prov.attach(dem, record)
        self._terrain = dem
        self._provenance[TERRAIN] = record
        return dem

    def remove(self, name: str) -> None:
        """Remove a layer, a network (``network_<kind>`` or the kind) or the terrain."""
        if name in self._layers:
            del self._layers[name]
        elif name in self._networks or name.removeprefix("network_") in self._networks:
            kind = name.removeprefix("network_")
            del self._networks[kind]
            name = f"network_{kind}"
        elif name == TERRAIN and self._terrain is not None:
            self._terrain = None
        else:
            raise LayerNotFoundError(f"the model has no layer {name!r}", layer=name)
        self._provenance.pop(name, None)

    def join(
        self,
        name: str,
        table: pd.DataFrame | pd.Series,
        *,
        step: str,
        detail: str = "",
        overwrite: bool = True,
        **params: Any,
    ) -> gpd.GeoDataFrame:
        """Join analysis results to a layer on its index, recording the step in provenance.

        Parameters
        ----------
        name
            The layer to extend (e.g. ``"buildings"``).
        table
            Columns to add, indexed like the layer (rows missing from ``table`` get NaN).
        step
            The producing function, e.g. ``"cimkit.analysis.flood.assess_flood"``.
        overwrite
            Replace columns that already exist (default), else raise.
        """
        layer = self[name]
        if isinstance(table, pd.Series):
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
        record = self._provenance[name]
        record.add_step(
            "join",
            detail or f"{len(table.columns)} column(s) from {step}",
            producer=step,
            columns=list(map(str, table.columns)),
            **params,
        )
        prov.attach(out, record)
        self._layers[name] = out
        return out

    # ------------------------------------------------------------------ facts
    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(minx, miny, maxx, maxy) over every layer, network and the terrain, or None if empty."""
        boxes = [
            layer.total_bounds
            for layer in self._layers.values()
            if isinstance(layer, gpd.GeoDataFrame) and len(layer) and layer._geometry_column_name in layer
        ]
        boxes += [net.edges.total_bounds for net in self._networks.values() if len(net.edges)]
        if self._terrain is not None:
            boxes.append(np.asarray(self._terrain.bounds))
        boxes = [b for b in boxes if np.all(np.isfinite(b))]
        if not boxes:
            return None
        arr = np.vstack(boxes)
        return (
            float(arr[:, 0].min()),
            float(arr[:, 1].min()),
            float(arr[:, 2].max()),
            float(arr[:, 3].max()),
        )

    def provenance_record(self, name: str) -> prov.Provenance:
        """The full lineage record of one layer (``network_<kind>`` for networks, ``terrain``)."""
        if name in NETWORK_KINDS:
            name = f"network_{name}"
        try:
            return self._provenance[name]
        except KeyError:
            raise LayerNotFoundError(f"no provenance for {name!r}", layer=name) from None

    @property
    def provenance(self) -> pd.DataFrame:
        """One row per layer: source, sha256, size, reader, versions, licence, time and steps."""
        rows = []
        for name, rec in self._provenance.items():
            first = rec.sources[0] if rec.sources else None
            rows.append(
                {
                    "layer": name,
                    "reader": rec.reader,
                    "source": first.path if first else None,
                    "sha256": first.sha256 if first else None,
                    "size_bytes": first.size_bytes if first else None,
                    "n_sources": len(rec.sources),
                    "licence": rec.licence,
                    "created": rec.created,
                    "versions": ", ".join(f"{k} {v}" for k, v in rec.versions.items()),
                    "n_steps": len(rec.steps),
                    "steps": " → ".join(s.action + (f" ({s.detail})" if s.detail else "") for s in rec.steps),
                }
            )
        columns = [
            "layer",
            "reader",
            "source",
            "sha256",
            "size_bytes",
            "n_sources",
            "licence",
            "created",
            "versions",
            "n_steps",
            "steps",
        ]
        return pd.DataFrame(rows, columns=columns).set_index("layer")

    def _summary_rows(self) -> list[tuple[str, str, str, str]]:
        rows = []
        for name, layer in self._layers.items():
            geom = ""
            if isinstance(layer, gpd.GeoDataFrame) and layer._geometry_column_name in layer and len(layer):
                geom = ", ".join(sorted(set(layer.geom_type.dropna())))
            rows.append((name, f"{len(layer):,}", geom or "table", self._source_label(name)))
        for kind, net in self._networks.items():
            rows.append(
                (
                    f"network_{kind}",
                    f"{len(net.nodes):,} nodes / {len(net.edges):,} edges",
                    f"{net.edges['length_m'].sum() / 1000:.2f} km",
                    self._source_label(f"network_{kind}"),
                )
            )
        if self._terrain is not None:
            t = self._terrain
            rows.append(
                (
                    TERRAIN,
                    f"{t.shape[0]}x{t.shape[1]} cells",
                    f"{t.res[0]:g} m grid",
                    self._source_label(TERRAIN),
                )
            )
        return rows

    def _source_label(self, name: str) -> str:
        rec = self._provenance.get(name)
        if rec is None or not rec.sources:
            return "in memory"
        label = os.path.basename(rec.sources[0].path)
        return label + (f" (+{len(rec.sources) - 1})" if len(rec.sources) > 1 else "")

    def __repr__(self) -> str:
        lines = [f"<CityModel {self.name!r} in {_crs_label(self._crs)} ({self._crs.name})>"]
        if self.bounds is not None:
            minx, miny, maxx, maxy = self.bounds
            lines.append(
                f"  extent: {minx:.1f}, {miny:.1f} - {maxx:.1f}, {maxy:.1f} "
                f"({(maxx - minx) / 1000:.2f} x {(maxy - miny) / 1000:.2f} km)"
            )
        rows = self._summary_rows()
        if not rows:
            lines.append("  (empty)")
        width = max((len(r[0]) for r in rows), default=0)
        for name, count, kind, source in rows:
            lines.append(f"  {name:<{width}}  {count:>12}  {kind:<24} {source}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            f"<b>CityModel</b> {esc(self.name)} &middot; {esc(_crs_label(self._crs))} "
            f"<span style='color:#555'>({esc(self._crs.name)})</span>"
        )
        if self.bounds is not None:
            minx, miny, maxx, maxy = self.bounds
            head += (
                f"<br><span style='color:#555'>extent {minx:.1f}, {miny:.1f} &ndash; {maxx:.1f}, {maxy:.1f}"
                f" ({(maxx - minx) / 1000:.2f} &times; {(maxy - miny) / 1000:.2f} km)</span>"
            )
        body = "".join(
            f"<tr><td><code>{esc(n)}</code></td><td style='text-align:right'>{esc(c)}</td>"
            f"<td>{esc(k)}</td><td>{esc(s)}</td></tr>"
            for n, c, k, s in self._summary_rows()
        )
        return (
            f"<div>{head}<table><thead><tr><th>layer</th><th>count</th><th>content</th><th>source</th>"
            f"</tr></thead><tbody>{body}</tbody></table></div>"
        )

    # ------------------------------------------------------------------ files
    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole model to ONE GeoPackage, atomically.

        Vector layers become GeoPackage tables; networks become ``network_<kind>_nodes`` and
        ``network_<kind>_edges``; the DEM becomes a GeoPackage raster table ``terrain``
        (float32 tiled gridded coverage); the index, dtypes and column order of every layer and
        every provenance record go into the tables ``cimkit_metadata`` and ``cimkit_provenance``.
        The file is written beside the destination and renamed over it at the end: an
        interrupted save leaves the previous file intact and no temporary file behind.

        Returns
        -------
        Path
            The path written.
        """
        import pyogrio

        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            raise ValidationError(
                f"a CityModel is saved as a GeoPackage; the path must end in .gpkg, not {path.name!r}"
            )
        meta: dict[str, Any] = {
            "format_version": _FORMAT_VERSION,
            "cimkit_version": prov.library_versions().get("cimkit"),
            "name": self.name,
            "crs": self._crs.to_wkt(),
            "layers": {},
            "networks": {},
            "terrain": None,
        }
        with atomic_path(path) as tmp:
            if self._terrain is not None:
                meta["terrain"] = _write_terrain(self._terrain, tmp)
            for name, layer in self._layers.items():
                meta["layers"][name] = _write_frame(layer, tmp, name, pyogrio)
            for kind, net in self._networks.items():
                meta["networks"][kind] = {
                    "nodes": _write_frame(net.nodes, tmp, f"network_{kind}_nodes", pyogrio),
                    "edges": _write_frame(net.edges, tmp, f"network_{kind}_edges", pyogrio),
                    "report": prov._jsonable(net.report),
                }
            pyogrio.write_dataframe(
                pd.DataFrame({"key": ["cimkit"], "value": [json.dumps(meta, ensure_ascii=False)]}),
                tmp,
                layer=_META_TABLE,
                driver="GPKG",
            )
            pyogrio.write_dataframe(
                pd.DataFrame(
                    {
                        "layer": list(self._provenance),
                        "record": [r.to_json() for r in self._provenance.values()],
                    },
                    columns=["layer", "record"],
                ).astype({"layer": object, "record": object}),
                tmp,
                layer=_PROV_TABLE,
                driver="GPKG",
            )
        logger.info("city model written to %s", path)
        return path


# ---------------------------------------------------------------------- storage helpers
def _dtype_label(dtype: Any) -> str:
    return str(dtype)


def _write_frame(frame: pd.DataFrame, path: Path, table: str, pyogrio: Any) -> dict[str, Any]:
    """Write one (Geo)DataFrame as a GeoPackage table; return what is needed to restore it exactly."""
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    geometry_column = frame._geometry_column_name if is_geo else None
    index_names = [n if n is not None else f"__index_{i}__" for i, n in enumerate(frame.index.names)]
    if len(set(index_names) & set(map(str, frame.columns))):
        raise ValidationError(f"table {table!r}: index name(s) {index_names} clash with column names")
    out = frame.copy()
    out.index = out.index.set_names(index_names)
    out = out.reset_index()
    dtypes = {str(c): _dtype_label(out[c].dtype) for c in out.columns if c != geometry_column}
    encoded: dict[str, str] = {}
    for col in list(out.columns):
        if col == geometry_column:
            continue
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            encoded[str(col)] = "categorical"
            dtypes[str(col)] = json.dumps(
                {
                    "categories": [prov._jsonable(c) for c in series.cat.categories],
                    "ordered": bool(series.cat.ordered),
                }
            )
            out[col] = (
                series.astype(object).where(series.notna(), None).astype(str).where(series.notna(), None)
            )
        elif series.dtype == object and series.map(lambda v: isinstance(v, (list, dict, tuple))).any():
            encoded[str(col)] = "json"
            out[col] = series.map(lambda v: json.dumps(prov._jsonable(v)) if v is not None else None)
        elif series.dtype == object:
            encoded[str(col)] = "object"
    if is_geo:
        out = gpd.GeoDataFrame(out, geometry=geometry_column, crs=frame.crs)
        pyogrio.write_dataframe(out, path, layer=table, driver="GPKG", promote_to_multi=False)
    else:
        pyogrio.write_dataframe(pd.DataFrame(out), path, layer=table, driver="GPKG")
    return {
        "table": table,
        "geometry_column": geometry_column,
        "index": index_names,
        "index_original": [None if n is None else str(n) for n in frame.index.names],
        "columns": [str(c) for c in frame.columns],
        "dtypes": dtypes,
        "encoded": encoded,
        "rows": len(frame),
    }


def _restore_frame(path: Path, spec: Mapping[str, Any], crs: CRS, pyogrio: Any) -> pd.DataFrame:
    frame = pyogrio.read_dataframe(
        path, layer=spec["table"], read_geometry=spec["geometry_column"] is not None, fid_as_index=False
    )
    geometry_column = spec["geometry_column"]
    if geometry_column is not None and frame.geometry.name != geometry_column:
        frame = frame.rename_geometry(geometry_column)
    for col, dtype in spec["dtypes"].items():
        if col not in frame.columns:
            raise FileFormatError(
                f"column {col!r} is missing from table {spec['table']!r}",
                path=path,
                layer=spec["table"],
                hint="the file was changed outside cimkit; re-create it.",
            )
        kind = spec["encoded"].get(col)
        series = frame[col]
        if kind == "categorical":
            info = json.loads(dtype)
            frame[col] = pd.Categorical(
                series.where(series.notna(), None), categories=info["categories"], ordered=info["ordered"]
            )
            continue
        if kind == "json":
            frame[col] = series.map(lambda v: json.loads(v) if isinstance(v, str) else None).astype(object)
            continue
        if kind == "object":
            frame[col] = series.astype(object).where(series.notna(), None)
            continue
        if str(series.dtype) != dtype:
            try:
                frame[col] = series.astype(dtype)
            except (TypeError, ValueError) as err:
                warnings.warn(
                    f"{path}: table {spec['table']!r}: column {col!r} restored as {series.dtype}, "
                    f"not {dtype} ({err})",
                    stacklevel=3,
                )
    frame = frame.set_index(spec["index"])
    frame.index = frame.index.set_names(spec["index_original"])
    columns = spec["columns"]
    frame = frame[columns]
    if geometry_column is not None:
        frame = gpd.GeoDataFrame(frame, geometry=geometry_column, crs=crs)
        frame = frame.set_crs(crs, allow_override=True)
    return frame


def _write_terrain(dem: Raster, path: Path) -> dict[str, Any]:
    import rasterio

    values = dem.values
    step = None
    if values.dtype != np.float32:
        as32 = values.astype("float32")
        err = float(np.nanmax(np.abs(as32.astype("float64") - values))) if values.size else 0.0
        if values.dtype.kind == "f" and err > 0:
            warnings.warn(
                f"{path.name}: terrain stored as float32 (GeoPackage gridded coverage); "
                f"largest change {err:.2e} {dem.units}",
                stacklevel=3,
            )
            step = {"from": str(values.dtype), "max_abs_change": err}
        values = as32
    nodata = dem.nodata
    if nodata is None or (isinstance(nodata, float) and np.isnan(nodata)):
        fill = np.float32(-3.4e38)
        values = np.where(np.isnan(values), fill, values).astype("float32")
        nodata_written = float(fill)
    else:
        nodata_written = float(nodata)
    with rasterio.open(
        path,
        "w",
        driver="GPKG",
        width=dem.shape[1],
        height=dem.shape[0],
        count=1,
        dtype="float32",
        crs=dem.crs.to_wkt() if dem.crs else None,
        transform=dem.transform,
        nodata=nodata_written,
        RASTER_TABLE=TERRAIN,
        TILE_FORMAT="TIFF",
        APPEND_SUBDATASET="YES" if path.exists() else "NO",
    ) as dst:
        dst.write(values, 1)
    return {
        "table": TERRAIN,
        "nodata": None if dem.nodata is None else (None if np.isnan(dem.nodata) else float(dem.nodata)),
        "nodata_is_nan": dem.nodata is not None and bool(np.isnan(dem.nodata)),
        "nodata_written": nodata_written,
        "units": dem.units,
        "dtype_written": "float32",
        "dtype_original": str(dem.values.dtype),
        "cast": step,
    }


def _read_terrain(path: Path, spec: Mapping[str, Any], crs: CRS) -> Raster:
    import rasterio

    with rasterio.open(path, TABLE=spec["table"]) as src:
        values = src.read(1)
        transform = src.transform
    if spec.get("nodata_is_nan") or spec.get("nodata") is None:
        values = np.where(values == np.float32(spec["nodata_written"]), np.nan, values).astype("float32")
    nodata = np.nan if spec.get("nodata_is_nan") else spec.get("nodata")
    if spec.get("dtype_original") and spec["dtype_original"] != "float32" and spec.get("cast") is None:
        values = values.astype(spec["dtype_original"])
    return Raster(values, transform, crs, nodata=nodata, units=spec.get("units", "m"))


def read_model(path: str | os.PathLike[str]) -> CityModel:
    """Load a CityModel written by :meth:`CityModel.to_file`.

    Restores every layer with its rows, columns (order and dtypes), index, CRS and provenance,
    every network and the terrain.

    Raises
    ------
    CimkitIOError
        The file does not exist or cannot be opened.
    FileFormatError
        The file is a GeoPackage but not one written by cimkit (no ``cimkit_metadata`` table).
    """
    import pyogrio

    path = Path(path)
    if not path.is_file():
        raise CimkitIOError(
            "no such file", path=path, hint="check the path; models are saved with model.to_file()."
        )
    try:
        tables = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as err:
        raise FileFormatError(
            f"not a readable GeoPackage ({err})",
            path=path,
            hint="pass a .gpkg written by CityModel.to_file().",
        ) from err
    if _META_TABLE not in tables:
        raise FileFormatError(
            "the GeoPackage has no cimkit_metadata table",
            path=path,
            hint="this file was not written by CityModel.to_file(); build a model with "
            "CityModel(crs) and add its layers with add_layer().",
        )
    meta_frame = pyogrio.read_dataframe(path, layer=_META_TABLE, read_geometry=False)
    meta = json.loads(meta_frame["value"].iloc[0])
    if meta.get("format_version", 0) > _FORMAT_VERSION:
        raise FileFormatError(
            f"the file uses cimkit model format {meta['format_version']}, newer than this "
            f"cimkit reads ({_FORMAT_VERSION})",
            path=path,
            hint="upgrade cimkit.",
        )
    crs = CRS.from_wkt(meta["crs"])
    model = CityModel(crs, name=meta.get("name", "city"))
    records: dict[str, prov.Provenance] = {}
    if _PROV_TABLE in tables:
        prov_frame = pyogrio.read_dataframe(path, layer=_PROV_TABLE, read_geometry=False)
        records = {row.layer: prov.Provenance.from_json(row.record) for row in prov_frame.itertuples()}
    for name, spec in meta["layers"].items():
        frame = _restore_frame(path, spec, crs, pyogrio)
        record = records.get(name) or prov.Provenance(layer=name)
        prov.attach(frame, record)
        model._layers[name] = frame
        model._provenance[name] = record
    for kind, spec in meta["networks"].items():
        nodes = _restore_frame(path, spec["nodes"], crs, pyogrio)
        edges = _restore_frame(path, spec["edges"], crs, pyogrio)
        net = Network(nodes, edges, kind=kind, report=spec.get("report"))
        key = f"network_{kind}"
        record = records.get(key) or prov.Provenance(layer=key)
        prov.attach(net, record)
        model._networks[kind] = net
        model._provenance[key] = record
    if meta.get("terrain"):
        dem = _read_terrain(path, meta["terrain"], crs)
        record = records.get(TERRAIN) or prov.Provenance(layer=TERRAIN)
        prov.attach(dem, record)
        model._terrain = dem
        model._provenance[TERRAIN] = record
    return model
