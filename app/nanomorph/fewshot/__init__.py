"""Few-shot morphology classification on frozen image embeddings (Lu et al. 2022, extended).

- :mod:`.head`: :class:`FewShotClassifier` (logistic regression on embeddings) and its file.
- :mod:`.evaluate`: the label-efficiency protocol (K labels per class, repeated splits, groups).
- :mod:`.control`: the pixel-density and intensity control features.
- :mod:`.anchors`: one-shot anchor diagnostics.
- :mod:`.active`: which image to label next.
- :mod:`.maps`: 2-D maps of embeddings (PCA, t-SNE, UMAP).
- :mod:`.labels_csv`: reading ``LABELS.csv``.

Importing this package loads none of them (nor scikit-learn or torch); the names below load
their module on first use.
"""

from nanomorph.lazy import lazy_exports

_LAZY = {
    "FewShotClassifier": "head",
    "evaluate_label_efficiency": "evaluate",
    "EvaluationWarning": "evaluate",
    "control_features": "control",
    "density_features": "control",
    "intensity_features": "control",
    "anchor_table": "anchors",
    "rank_uncertain": "active",
    "embedding_map": "maps",
    "available_map_methods": "maps",
    "read_labels_csv": "labels_csv",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
