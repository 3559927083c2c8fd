"""Migration scripts, applied in order by sync.gateway.schema.migrate."""
