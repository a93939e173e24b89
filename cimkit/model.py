"""The :class:`CityModel`: named layers, networks and the DEM of one city in ONE projected, metric CRS.

A thin container with one :class:`~cimkit.provenance.Provenance` record per layer. It analyses
nothing: analyses return tables that :meth:`CityModel.join` adds back as columns with a
provenance step. Saving and loading delegate to the stores: one GeoPackage (:mod:`cimkit.io.gpkg`),
a folder of GeoParquet layers (:mod:`cimkit.io.folder`) or PostGIS (:mod:`cimkit.io.postgis`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from cimkit import _quality, _summary
from cimkit import provenance as prov
from cimkit._crs import check_projected_metric
from cimkit._placement import Placement, place_in_model
from cimkit._views import ViewMethods
from cimkit.errors import InputError, LayerNotFoundError, ValidationError
from cimkit.governance import format_repr_html
from cimkit.io._stores import read_store
from cimkit.io.folder import write_folder
from cimkit.io.gpkg import DEM_TABLE, RESERVED_TABLES, write_gpkg
from cimkit.network.graph import NETWORK_KINDS, Network
from cimkit.raster import Raster

__all__ = ["CityModel", "read_model"]

DEM = DEM_TABLE  # the name of the DEM in provenance and in the saved file
_NAME_RE = re.compile(r"^(?!network_)[a-z][a-z0-9_]{0,62}$")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in RESERVED_TABLES:
        raise ValidationError(
            f"layer names must be lower-case identifiers (a-z, 0-9, _), not starting with 'network_' "
            f"and not one of {sorted(RESERVED_TABLES)}; {name!r} was given."
        )
    return name


class CityModel(ViewMethods):
    """Named layers of one city in one projected, metric CRS.

    Parameters
    ----------
    crs
        The model's CRS: anything :class:`pyproj.CRS` accepts (``"EPSG:2154"``, 2154, WKT).
        Geographic or non-metric CRSs are refused with :class:`~cimkit.errors.GeographicCRSError`
        or :class:`~cimkit.errors.CRSError`.
    name
        A label shown in reprs and reports.

    Notes
    -----
    Layers in another CRS are reprojected on adding (the step is recorded); a layer without a
    CRS raises :class:`~cimkit.errors.MissingCRSError` naming it. ``model.buildings``,
    ``.parcels``, ``.zones``, ``.pois``, ``model["name"]``, ``.network(kind)`` and ``.dem`` read.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> model = CityModel(2154, name="Épinay")
    >>> zones = gpd.GeoDataFrame({"libelle": ["UA"]}, geometry=[box(652000, 6861000, 652200, 6861100)],
    ...                          index=pd.Index(["91999_UA"], name="zone_id"), crs=2154)
    >>> _ = model.add_layer("zones", zones)
    >>> model.crs.to_epsg(), list(model.layers), model.zones.index[0], model.buildings, model.bounds
    (2154, ['zones'], '91999_UA', None, (652000.0, 6861000.0, 652200.0, 6861100.0))
    """

    def __init__(self, crs: Any, *, name: str = "city") -> None:
        self._crs = check_projected_metric(crs, what="the model CRS")
        self.name = name
        self._layers: dict[str, gpd.GeoDataFrame] = {}
        self._networks: dict[str, Network] = {}
        self._dem: Raster | None = None
        self._provenance: dict[str, prov.Provenance] = {}

    @property
    def crs(self) -> CRS:
        """The model's projected CRS (a :class:`pyproj.CRS`)."""
        return self._crs

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The vector layers and attribute tables by name (a new dict; the frames are the model's own)."""
        return dict(self._layers)

    @property
    def networks(self) -> dict[str, Network]:
        """The networks by kind (a new dict)."""
        return dict(self._networks)

    @property
    def dem(self) -> Raster | None:
        """The DEM in the model CRS, or None (set it with :meth:`set_dem`)."""
        return self._dem

    def __contains__(self, name: object) -> bool:
        return name in self._layers or name in self._networks or (name == DEM and self._dem is not None)

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

    @property
    def buildings(self) -> gpd.GeoDataFrame | None:
        """The ``buildings`` layer (indexed by building id), or None."""
        return self._layers.get("buildings")

    @property
    def parcels(self) -> gpd.GeoDataFrame | None:
        """The ``parcels`` layer (indexed by cadastral parcel id), or None."""
        return self._layers.get("parcels")

    @property
    def zones(self) -> gpd.GeoDataFrame | None:
        """The ``zones`` layer (PLU zoning, indexed by zone id), or None."""
        return self._layers.get("zones")

    @property
    def pois(self) -> gpd.GeoDataFrame | None:
        """The ``pois`` layer (points of interest, indexed by POI id), or None."""
        return self._layers.get("pois")

    def network(self, kind: str) -> Network:
        """Return the network of one ``kind`` (road, water, sewer, power); LayerNotFoundError if none.

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(652000, 6861000), Point(652000, 6861080)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString(nodes.geometry)], crs=2154)
        >>> model = CityModel(2154)
        >>> _ = model.add_network(Network(nodes, edges, kind="road"))
        >>> model.network("road")
        <Network road: 2 nodes, 1 edges, 0.08 km (EPSG:2154)>
        """
        try:
            return self._networks[kind]
        except KeyError:
            raise LayerNotFoundError(
                f"the model has no {kind!r} network",
                layer=f"network_{kind}",
                hint=f"the networks are: {', '.join(self._networks) or 'none yet'}; add one with "
                "model.add_network(cimkit.read_network(path, kind=...)).",
            ) from None

    def add_layer(
        self,
        name: str,
        layer: gpd.GeoDataFrame | pd.DataFrame,
        *,
        provenance: prov.Provenance | None = None,
        licence: str | None = None,
        placement: Placement | None = None,
    ) -> gpd.GeoDataFrame:
        """Add (or replace) a vector layer, reprojecting it to the model CRS.

        Parameters
        ----------
        name
            Layer name: ``buildings``, ``parcels``, ``zones``, ``pois`` or any lower-case identifier.
        layer
            A GeoDataFrame with a CRS (else :class:`~cimkit.errors.MissingCRSError`). Its index is
            its identity and is kept. A plain DataFrame is stored as an attribute table.
        provenance, licence, placement
            The lineage record (by default the one the reader attached to ``layer.attrs``, else a
            new "in-memory" record), the data licence, and ``"check"`` (default: option ``placement``:
            raise :class:`~cimkit.errors.PlacementError` for a layer outside its CRS's or the model's area
            of use, in local coordinates or far from the model's other layers) or ``"accept"`` (warn and
            record it in provenance; the option applies to ``add_network`` and ``set_dem``).

        Returns
        -------
        GeoDataFrame
            The model's copy of the layer (in the model CRS). The input is never modified.

        Examples
        --------
        >>> from cimkit.datasets import sample_city_path
        >>> from cimkit.io.vector import read_parcels
        >>> model = CityModel(2154)
        >>> parcels = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
        >>> len(parcels), round(float(parcels.area.iloc[0]), 1), model.provenance_record("parcels").steps[-1].detail
        (97, 2782.5, 'EPSG:4326 -> EPSG:2154')
        """
        _check_name(name)
        if not isinstance(layer, pd.DataFrame):
            raise InputError(
                f"a layer must be a GeoDataFrame, not {type(layer).__name__}",
                layer=name,
                hint="read it with cimkit.read_* or geopandas.read_file first.",
            )
        record = _summary.adopt_record(name, layer, provenance, licence)
        layer = place_in_model(layer, self, record=record, layer=name, placement=placement, copy=True)
        self._layers[name] = prov.attach(layer, record)
        self._provenance[name] = record
        return layer

    def add_network(
        self, network: Network, *, provenance: prov.Provenance | None = None, licence: str | None = None
    ) -> Network:
        """Add (or replace) a network under its kind, reprojecting it to the model CRS.

        Parameters
        ----------
        network
            A :class:`~cimkit.network.graph.Network` with a CRS (else ``MissingCRSError``).
        provenance, licence
            The lineage record (by default the network's own) and the data licence. A failed placement
            check raises ``PlacementError`` (see :meth:`add_layer`; accept with option ``placement``).

        Returns
        -------
        Network

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(652000, 6861000), Point(652120, 6861000)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString(nodes.geometry)], crs=2154)
        >>> model = CityModel(2154)
        >>> model.add_network(Network(nodes, edges, kind="water"), licence="ODbL-1.0")
        <Network water: 2 nodes, 1 edges, 0.12 km (EPSG:2154)>
        """
        if not isinstance(network, Network):
            raise InputError(
                f"add_network expects a cimkit Network, not {type(network).__name__}",
                hint="build one with cimkit.read_network(path, kind=...).",
            )
        key = f"network_{network.kind}"
        record = _summary.adopt_record(key, network, provenance, licence)
        network = place_in_model(network, self, record=record, layer=key)
        self._networks[network.kind] = network
        self._provenance[key] = record
        return network

    def set_dem(
        self, dem: Raster, *, provenance: prov.Provenance | None = None, licence: str | None = None
    ) -> Raster:
        """Set the DEM, warping it to the model CRS (bilinear) when needed.

        Parameters
        ----------
        dem
            The digital elevation model (heights in metres) with a CRS (else ``MissingCRSError``).
        provenance, licence
            The lineage record (by default the DEM's own) and the data licence. A failed placement
            check raises ``PlacementError`` (see :meth:`add_layer`; accept with option ``placement``).

        Returns
        -------
        Raster

        Examples
        --------
        >>> from cimkit.datasets import sample_city_path
        >>> from cimkit.io.raster import read_dem
        >>> model = CityModel(2154)
        >>> dem = model.set_dem(read_dem(sample_city_path() / "dem.tif"), licence="MIT")
        >>> dem.shape, dem.res, model.dem is dem, "dem" in model
        ((180, 180), (5.0, 5.0), True, True)
        """
        if not isinstance(dem, Raster):
            raise InputError(
                f"the DEM must be a cimkit Raster, not {type(dem).__name__}",
                layer=DEM,
                hint="read it with cimkit.read_dem(path).",
            )
        record = _summary.adopt_record(DEM, dem, provenance, licence)
        self._dem = place_in_model(dem, self, record=record, layer=DEM, copy=True)
        self._provenance[DEM] = record
        return self._dem

    def remove(self, name: str) -> None:
        """Remove a layer, a network (``network_<kind>`` or the kind) or the DEM (``"dem"``).

        Examples
        --------
        >>> from shapely.geometry import Point
        >>> model = CityModel(2154)
        >>> _ = model.add_layer("pois", gpd.GeoDataFrame(geometry=[Point(652000, 6861000)], crs=2154))
        >>> model.remove("pois")
        >>> "pois" in model, len(model.provenance)
        (False, 0)
        """
        _summary.remove_part(self, name)

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
            Columns to add, indexed like the layer (rows missing from ``table`` get NaN; a row
            not in the layer raises :class:`~cimkit.errors.InputError`).
        step
            The producing function, e.g. ``"cimkit.analysis.flood.assess"``.
        detail, overwrite, **params
            A sentence for the step (default: how many columns from ``step``); replace existing
            columns (default) or raise; parameters of the producing call, stored with the step.

        Returns
        -------
        GeoDataFrame
            The extended layer (also stored in the model).

        Examples
        --------
        >>> from shapely.geometry import box
        >>> model = CityModel(2154)
        >>> ids = pd.Index(["b1", "b2"], name="building_id")
        >>> _ = model.add_layer("buildings", gpd.GeoDataFrame(geometry=[box(652000, 6861000, 652009, 6861009),
        ...                                                            box(652020, 6861000, 652030, 6861008)],
        ...                                                  index=ids, crs=2154))
        >>> out = model.join("buildings", pd.Series([0.4], index=["b1"], name="depth_m"), step="flood", rp=100)
        >>> out["depth_m"].tolist(), model.provenance_record("buildings").steps[-1].params
        ([0.4, nan], {'producer': 'flood', 'columns': ['depth_m'], 'rp': 100})
        """
        out = _summary.join_columns(
            self, name, table, step=step, detail=detail, overwrite=overwrite, params=params
        )
        self._layers[name] = prov.attach(out, self._provenance[name])
        return out

    def copy(self) -> CityModel:
        """Return a deep copy: new layers, networks, DEM and provenance records.

        Examples
        --------
        >>> from shapely.geometry import Point
        >>> model = CityModel(2154, name="a")
        >>> _ = model.add_layer("pois", gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(652000, 6861000)],
        ...                                           crs=2154))
        >>> twin = model.copy()
        >>> twin.pois.loc[0, "category"] = "park"
        >>> model.pois.loc[0, "category"], twin.name
        ('school', 'a')
        """
        return _summary.copy_parts(self, CityModel(self._crs, name=self.name))

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(minx, miny, maxx, maxy)`` in metres over every layer, network and the DEM, or None if empty."""
        return _summary.compute_bounds(self._layers, self._networks, self._dem)

    def provenance_record(self, name: str) -> prov.Provenance:
        """Return the full lineage record of a layer, a network (``network_<kind>`` or kind) or ``"dem"``.

        Examples
        --------
        >>> from cimkit.datasets import sample_city_path
        >>> from cimkit.io.raster import read_dem
        >>> model = CityModel(2154)
        >>> _ = model.set_dem(read_dem(sample_city_path() / "dem.tif"), licence="MIT")
        >>> model.provenance_record("dem").reader, model.provenance_record("dem").licence
        ('cimkit.read_dem', 'MIT')
        """
        if name in NETWORK_KINDS:
            name = f"network_{name}"
        try:
            return self._provenance[name]
        except KeyError:
            raise LayerNotFoundError(f"no provenance for {name!r}", layer=name) from None

    @property
    def provenance(self) -> pd.DataFrame:
        """One row per layer: source, sha256, reader, licence, steps (see ``prov.summarise_records``)."""
        return prov.summarise_records(self._provenance)

    def _rows(self) -> list[_summary.Row]:
        return _summary.summary_rows(self._layers, self._networks, self._dem, self._provenance)

    def __repr__(self) -> str:
        return _summary.format_text(self.name, self._crs, self.bounds, self._rows())

    def _repr_html_(self) -> str:
        quality = _summary.run_quality(self)  # once: the check counts and the governance score use it
        checks = _summary.count_checks(quality)
        html = _summary.format_html(self.name, self._crs, self.bounds, self._rows(), checks=checks)
        return html + format_repr_html(self, quality=quality)

    def quality(self) -> pd.DataFrame:
        """Check every layer: one row per check per layer (``layer, check, status, value, message``).

        ``status`` is ``ok``, ``warning``, ``error`` or ``not_checked``; ``docs/checks.md`` lists each check.

        Examples
        --------
        >>> from cimkit.datasets import load_sample_city
        >>> table = load_sample_city(with_ifc=False).quality().set_index(["layer", "check"])
        >>> table.loc[("buildings", "height_missing"), ["status", "value"]].tolist()
        ['warning', 3]
        """
        return _quality.check_model(self)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole model, atomically: ONE GeoPackage (``.gpkg``) or a folder model.

        A ``.gpkg`` path writes :mod:`cimkit.io.gpkg` (exact dtypes, DEM as float32, provenance);
        any other (``city.cimkit``, ``city.cimkit.zip``) the folder format of :mod:`cimkit.io.folder`
        (GeoParquet, a COG DEM, a manifest with sha256) that :func:`read_model` reads lazily. An
        interrupted save leaves the previous model and no temporary behind.

        Returns
        -------
        Path
            The path written.

        Examples
        --------
        >>> import tempfile
        >>> from cimkit.datasets import sample_city_path
        >>> from cimkit.io.vector import read_parcels
        >>> model = CityModel(2154, name="sample")
        >>> _ = model.add_layer("parcels", read_parcels(sample_city_path() / "parcels.geojson"))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     back = read_model(model.to_file(Path(folder) / "city.gpkg"))
        >>> back.name, back.parcels.equals(model.parcels), back.provenance.equals(model.provenance)
        ('sample', True, True)
        """
        write = write_gpkg if Path(path).suffix.lower() == ".gpkg" else write_folder
        layers, networks, dem, records = self._layers, self._networks, self._dem, self._provenance
        return write(
            path, crs=self._crs, name=self.name, layers=layers, networks=networks, dem=dem, records=records
        )

    def to_postgis(self, dsn: str, *, schema: str | None = None, **kwargs: Any) -> dict[str, dict[str, int]]:
        """Save to a PostGIS ``schema`` (default: the DSN's ``?schema=``, else ``city``) in ONE transaction.

        Only changed rows are written; layers above ``public`` go to ``<schema>_restricted``. ``kwargs``
        and the layout: :func:`cimkit.io.postgis.write_postgis`. Returns rows changed per table.

        Examples
        --------
        >>> CityModel(2154).to_postgis("postgresql://localhost/cimkit?schema=city")  # doctest: +SKIP
        {}
        """
        from cimkit.io._stores import write_model_postgis

        return write_model_postgis(self, dsn, schema=schema, **kwargs)


def read_model(
    path: str | os.PathLike[str], *, bbox: tuple[float, float, float, float] | None = None, layers: Any = None
) -> CityModel:
    """Load a CityModel written by :meth:`CityModel.to_file` or :meth:`CityModel.to_postgis`.

    Restores layers (rows, column order, dtypes, index), networks, the DEM and provenance. A
    ``postgresql://`` DSN (PostGIS) and a folder model (``city.cimkit``, ``.zip``) read only part
    of the city with ``bbox`` (model CRS) and ``layers`` (names); a GeoPackage refuses them
    (``ARG001``). Errors carry MOD / FLD codes (``docs/errors.md``); a foreign GeoPackage is
    refused (``MOD005``); ``cimkit verify`` re-hashes tables and sources.

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.raster import read_dem
    >>> model = CityModel(2154)
    >>> _ = model.set_dem(read_dem(sample_city_path() / "dem.tif"))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     back = read_model(model.to_file(Path(folder) / "city.gpkg"))
    >>> bool((back.dem.values == model.dem.values).all()), back.dem.crs.to_epsg()
    (True, 2154)
    """
    stored = read_store(path, bbox=bbox, layers=layers)
    model = CityModel(stored.crs, name=stored.name)
    model._layers, model._networks, model._dem = dict(stored.layers), dict(stored.networks), stored.dem
    model._provenance = dict(stored.records)  # in the order the model had them
    return model
