"""Verification: replay recorded requests against a provider, stub a provider from a contract, the pytest plugin."""
