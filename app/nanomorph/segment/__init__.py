"""Few-shot segmentation of micrographs: a UNet decoder on a frozen registry encoder.

- :mod:`.classes`: :class:`SegmentClasses`, classes from mask values (``--foreground`` rules).
- :mod:`.pairs`: ``PAIRS.csv``, reading and checking image / mask pairs, :func:`prepare_pairs`.
- :mod:`.gray`: gray levels to [0, 1] by the encoder's percentiles, at native resolution.
- :mod:`.data`: validation bands, random patches, :class:`Augmentation`.
- :mod:`.model`: :class:`UNetDecoder`, :class:`SegmentationNet`, :func:`build_network`.
- :mod:`.train`: :class:`TrainConfig`, :func:`train_segmenter` (a job).
- :mod:`.infer`: tiled, memory-bounded :func:`predict_job` / :func:`predict_image`.
- :mod:`.segmenter`: :class:`Segmenter`, a trained model and its settings.
- :mod:`.modelfile`: :func:`save_segmenter` / :func:`load_segmenter` (one file).
- :mod:`.evaluate`: Dice / IoU against masks, :func:`evaluate_segmenter` (a job).

Importing this package does not import torch; the modules that need it do.
"""

from nanomorph.lazy import lazy_exports

_LAZY = {
    "SegmentClasses": "classes",
    "classes_from_masks": "classes",
    "TrainingPair": "pairs",
    "prepare_pairs": "pairs",
    "read_pair": "pairs",
    "read_pairs_csv": "pairs",
    "Augmentation": "data",
    "TrainConfig": "train",
    "train_segmenter": "train",
    "SegmentPrediction": "infer",
    "predict_image": "infer",
    "predict_job": "infer",
    "Segmenter": "segmenter",
    "load_segmenter": "modelfile",
    "save_segmenter": "modelfile",
    "evaluate_segmenter": "evaluate",
    "score_labels": "evaluate",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
