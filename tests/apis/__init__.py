"""Evaluation harness: hand-written API specs, a spec-driven fake provider and consumer, and a scorer."""
