"""cimkit.io."""
