"""The domain of Madoguchi Desk: catalog, interview, field types, encrypted store; no Qt."""

__version__ = "0.1.0"
