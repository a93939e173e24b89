"""Readers and writers, one module per format family."""

__all__: list[str] = []
