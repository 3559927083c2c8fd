"""The linkage API: protocol models, HTTP client and outbox delivery; no Qt."""
