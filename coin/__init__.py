"""COIN: contrastive instruction tuning, as a library the DVC pipeline drives."""

__version__ = "0.1.0"
