"""Views of a city model: 2-D maps (matplotlib), 3-D scenes (pyvista / glTF), the public report.

``import cimkit`` does not import this package; matplotlib and pyvista load on first use, inside
the functions that draw.

- :func:`plot_city`: a 2-D map with scale bar and north arrow (:mod:`cimkit.viz.maps`);
- :func:`build_lod1_meshes`, :func:`write_gltf`, :func:`build_scene`, :func:`plot_3d` (alias ``view3d``): LoD1
  blocks, a glTF file, a pyvista scene, a model's terrain and buildings in 3-D
  (:mod:`cimkit.viz.scene`);
- :class:`Report`: an accessible HTML page and the same text as Markdown
  (:mod:`cimkit.viz.report`);
- :func:`build_city_report`: the plain-language report of a model and its analysis results
  (:mod:`cimkit.viz.city_report`);
- :func:`write_report`: ``report.html`` and ``summary.md`` of any model, built or saved
  (:mod:`cimkit.viz.model_report`);
- :func:`public_model`: a copy of a model without the sensitive networks
  (:mod:`cimkit.viz.public`);
- :func:`write_tileset_viewer`, :func:`serve_folder`: an offline three.js page showing a 3D Tiles
  tileset, and a local http server for it (:mod:`cimkit.viz.tileviewer`);
- :func:`write_public_page`: the public consultation page, an offline folder
  (:mod:`cimkit.viz.publish`).
- :func:`explore_model`, :func:`explore_flood`, :func:`explore_accessibility`,
  :func:`explore_carbon`, :func:`explore_zoning`: interactive maps in Jupyter (lonboard, offline),
  returning an :class:`ExploreMap` (:mod:`cimkit.viz.explore`).

>>> import cimkit.viz
>>> cimkit.viz.SENSITIVE_NETWORKS
('water', 'sewer', 'power')
"""

from cimkit.viz.city_report import build_city_report
from cimkit.viz.explore import (
    ExploreMap,
    explore_accessibility,
    explore_carbon,
    explore_flood,
    explore_model,
    explore_zoning,
)
from cimkit.viz.maps import plot_city
from cimkit.viz.model_report import ReportPaths, write_report
from cimkit.viz.public import SENSITIVE_NETWORKS, public_model
from cimkit.viz.publish import write_public_page
from cimkit.viz.report import Report
from cimkit.viz.scene import build_lod1_meshes, build_scene, plot_3d, write_gltf
from cimkit.viz.scene import view3d as view3d  # the name of CityModel.view3d (= plot_3d)
from cimkit.viz.tileviewer import serve_folder, write_tileset_viewer

__all__ = [
    "ExploreMap",
    "SENSITIVE_NETWORKS",
    "Report",
    "ReportPaths",
    "build_city_report",
    "build_lod1_meshes",
    "build_scene",
    "explore_accessibility",
    "explore_carbon",
    "explore_flood",
    "explore_model",
    "explore_zoning",
    "plot_3d",
    "plot_city",
    "public_model",
    "serve_folder",
    "write_gltf",
    "write_public_page",
    "write_report",
    "write_tileset_viewer",
]
