"""Adapters between the internal model and file formats (HAR, mitmproxy flows, OpenAPI, Pact, JSON Schema)."""
