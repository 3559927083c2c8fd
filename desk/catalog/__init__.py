"""Procedure catalog: the data model and its YAML loader."""
