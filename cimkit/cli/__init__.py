"""cimkit.cli."""
