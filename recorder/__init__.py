"""contract-recorder: learn API contracts from recorded HTTP traffic."""

__version__ = "0.1.0"
