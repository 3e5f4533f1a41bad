"""nanomorph: analysis of nanowire and other 1-D nanomaterial micrographs.

The engine: readers with physical calibration, the project store, synthetic nanowire images,
masks, percolation, encoders, few-shot classification and segmentation. It never imports Qt or
napari; torch and scikit-learn are imported inside the functions that need them, so
``import nanomorph`` stays light.
"""

__version__ = "0.1.0"
