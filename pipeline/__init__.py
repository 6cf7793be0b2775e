"""Command-line stages of the COIN pipeline: `python -m pipeline <stage> [options]`."""
