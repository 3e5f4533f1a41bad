"""nanomorph napari plugin (widgets load lazily from napari.yaml)."""
__version__ = "0.1.0"
