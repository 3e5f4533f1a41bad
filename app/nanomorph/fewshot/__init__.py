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

import lazy_loader

__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "head": ["FewShotClassifier"],
        "evaluate": ["EvaluationWarning", "evaluate_label_efficiency"],
        "control": ["control_features", "density_features", "intensity_features"],
        "anchors": ["anchor_table"],
        "active": ["rank_uncertain"],
        "maps": ["available_map_methods", "embedding_map"],
        "labels_csv": ["read_labels_csv"],
    },
)


__all__ = sorted(_lazy_names)
