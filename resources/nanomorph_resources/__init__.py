"""Data-only package: icons, class sets, the sample-project recipe (read with importlib.resources)."""
