"""cimkit.viz."""
