"""Helpers every room shares: JSON value types, schema types, HTTP header lookup, times, routes, redaction."""
