"""The domain of Madoguchi Desk: catalog, interview, Japanese field types, encrypted store; no Qt."""

__version__ = "0.1.0"
