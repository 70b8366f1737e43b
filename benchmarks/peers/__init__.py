"""Peer tools run next to ACCO for benchmarks (ZigZag 3.9.1 in its own venv)."""
