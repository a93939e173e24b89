"""Views of a city model: 2-D maps (matplotlib), 3-D scenes (pyvista / glTF), the public report.

Nothing here is imported by ``import cimkit``; matplotlib and pyvista load on first use.
"""

from cimkit.viz.public import SENSITIVE_NETWORKS, public_model

__all__ = ["SENSITIVE_NETWORKS", "public_model"]
