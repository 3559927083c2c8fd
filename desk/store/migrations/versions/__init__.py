"""Migration scripts, applied in order by desk.store.schema.migrate."""
