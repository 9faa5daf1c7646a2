"""Schema-registry fixtures (owned by the schemas work): schema_registry_url."""
