"""Capture: the mitmproxy addon, the in-process proxy, the store process, and traffic read from HAR and flow files."""
