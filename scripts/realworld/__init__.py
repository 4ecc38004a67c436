"""Benchmark corpus of real, published APIs (not written by this team) for `scripts/eval_realworld.py`."""
