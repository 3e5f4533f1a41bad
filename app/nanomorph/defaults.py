"""Every default that more than one front-end shows, in one place.

The engine's dataclasses, the CLI's options and the GUI's widgets all read their starting values
from here, so ``nanomorph segment train`` and the Segment dock train the same model unless the
user changes something. Units are in the names.
"""

# image encoder (registry name) for embeddings, classification and segmentation
ENCODER = "efficientnet-lite0"
# compute device preference: auto, cpu, cuda, mps
DEVICE = "auto"

# percolation (Lu et al. 2022): DBSCAN eps and spanning margin in PERCOLATION_UNITS
PERCOLATION_EPS = 2.0
PERCOLATION_MIN_SAMPLES = 2
PERCOLATION_MARGIN = 2.0
PERCOLATION_UNITS = "px"
PERCOLATION_METHOD = "exact"

# classical auto-masks
MASK_METHOD = "otsu"
RIDGE_FILTER = "sato"

# embedding
EMBED_BATCH = 16

# few-shot classification: the label-efficiency protocol
EVALUATE_KS = (1, 2, 4, 8)
EVALUATE_REPEATS = 20
SEED = 0

# segmentation training and prediction
SEGMENT_EPOCHS = 40
SEGMENT_PATCH_PX = 256
SEGMENT_BATCH = 8
SEGMENT_PREDICT_BATCH = 4
SEGMENT_VAL_FRACTION = 0.2
SEGMENT_UNFREEZE_STAGES = 0

# the HTML report
REPORT_THUMBNAILS = 6
