"""Interview engine: answers, step sequencing, validation results as data."""
