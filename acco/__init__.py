"""ACCO: causal + depth-first scheduling of spatio-temporal CNNs on edge DNN accelerators."""

__version__ = "0.1.0"
