"""Contract documents: OpenAPI, Pact and JSON Schema readers and writers, and exports to files."""
