"""Few-shot segmentation of micrographs: a UNet decoder on a frozen registry encoder.

- :mod:`.classes`: :class:`SegmentClasses`, classes from mask values (``--foreground`` rules).
- :mod:`.pairs`: ``PAIRS.csv``, reading and checking image / mask pairs, :func:`prepare_pairs`.
- :mod:`.scale`: one working pixel size (nm) for training and prediction, resampling.
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

import lazy_loader

__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "classes": ["SegmentClasses", "classes_from_masks"],
        "pairs": ["PairData", "TrainingPair", "prepare_pairs", "read_pair", "read_pairs_csv"],
        "data": ["Augmentation"],
        "train": ["TrainConfig", "train_segmenter"],
        "infer": ["SegmentPrediction", "predict_image", "predict_job"],
        "segmenter": ["Segmenter"],
        "modelfile": ["load_segmenter", "save_segmenter"],
        "evaluate": ["evaluate_segmenter", "score_labels"],
    },
)


__all__ = sorted(_lazy_names)
