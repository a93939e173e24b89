"""cimkit.analysis."""
