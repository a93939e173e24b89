"""Infrastructure networks: the :class:`Network` container, topology building and graph kernels."""

from cimkit.network.graph import NETWORK_KINDS, CSRGraph, Network, summarise_topology

__all__ = ["NETWORK_KINDS", "CSRGraph", "Network", "summarise_topology"]
