"""The bad-input corpus: hostile and malformed inputs, each with its expected outcome."""
