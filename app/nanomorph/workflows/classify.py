"""Label-as-you-go classification of a project's images (the Classify dock's engine).

1. :func:`project_embeddings` embeds every image once (cached in the project by content hash,
   encoder and preprocessing), a job with progress and cancel.
2. :func:`train_and_predict` fits the few-shot linear head on the labelled images and predicts
   every other one — on cached embeddings this takes milliseconds, so it reruns after each label.
3. :func:`store_live_model` keeps the latest classifier in ``models/`` and its predictions in the
   project, where the image browser and the table read them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nanomorph import defaults
from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job
from nanomorph.memory import release_freed_memory

if TYPE_CHECKING:
    from nanomorph.fewshot.head import FewShotClassifier
    from nanomorph.project import Project

LIVE_MODEL = ("classifier", "live")


@dataclass
class ProjectEmbeddings:
    """Embeddings of a project's images.

    Attributes
    ----------
    encoder : str
        The encoder's registry name or path.
    ids : list of int
        Image ids, one per row of ``matrix``.
    matrix : ndarray of float16, shape (n_images, embedding_dim)
        One embedding per image. float16 is enough: 100,000 × 1,280 values take 256 MB instead
        of 512 MB, the head works on float32 chunks of it, and on ``pan_nanofiber_dev`` the
        label-efficiency accuracies are the same to 4 digits (probabilities within 3e-6).
    failed : list of (str, str)
        (path, reason) of images that could not be embedded.
    """

    encoder: str
    ids: list[int]
    matrix: np.ndarray
    failed: list[tuple[str, str]] = field(default_factory=list)

    def rows(self, image_ids) -> np.ndarray:
        """The embeddings of some images.

        Parameters
        ----------
        image_ids : iterable of int
            Ids in ``ids``.

        Returns
        -------
        ndarray, shape (len(image_ids), embedding_dim)
            In the order asked.
        """
        index = {image_id: i for i, image_id in enumerate(self.ids)}
        return self.matrix[[index[i] for i in image_ids]]


def project_embeddings(project: "Project", *, encoder: str = defaults.ENCODER,
                       device: str | None = None, records=None,
                       cancel: CancelToken | None = None) -> Job[ProjectEmbeddings]:
    """Embed every image of the project whose file exists (a job; cached in the project).

    Parameters
    ----------
    project : Project
        The open project (its ``cache/`` holds the embeddings).
    encoder : str
        Registry name or saved-encoder path.
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps``.
    records : sequence of ImageRecord, optional
        The project's images when the caller holds them already (the GUI's shared read): a
        job reading 100,000 records holds the project's database for seconds, and the GUI
        thread would wait for it. None reads them.
    cancel : CancelToken, optional
        Checked between batches.

    Yields
    ------
    Progress
        Per batch of images.

    Returns
    -------
    ProjectEmbeddings
        One row per readable image.
    """
    from nanomorph.embedding import EmbeddingCache, embed_images
    from nanomorph.project.image_records import present_paths

    records = project.images.all() if records is None else records
    present = present_paths(records)
    records = [r for r in records if r.path in present]
    by_hash = {r.sha256: r.id for r in records}
    with EmbeddingCache.for_project(project) as cache:
        result = yield from embed_images([(r.path, r.sha256, r.page) for r in records],
                                         encoder=encoder, device=device, cache=cache,
                                         dtype=np.float16, cancel=cancel)
    release_freed_memory()
    return ProjectEmbeddings(encoder, [by_hash[s] for s in result.sha256s], result.embeddings,
                             result.failed)


@dataclass
class LivePredictions:
    """A trained head and its predictions for the unlabelled images.

    Attributes
    ----------
    classifier : FewShotClassifier
        The head, fitted on the labelled images.
    results : Mapping
        Image id → ``{"label", "confidence", "margin", "probabilities"}`` (a
        :class:`PredictionTable`, or {} when every image is labelled).
    n_labels : int
        Labelled images it learnt from.
    seconds : float
        Time to fit and predict.
    """

    classifier: "FewShotClassifier"
    results: Mapping[int, dict]  # image id → {"label", "confidence", "margin", "probabilities"}
    n_labels: int
    seconds: float


def train_and_predict(embeddings: ProjectEmbeddings, labels: dict[int, str], *,
                      encoder_meta: dict | None = None,
                      temperature: float | None = None,
                      semi_supervised: bool = False) -> LivePredictions:
    """Fit the few-shot head on the labelled embedded images and predict all the others.

    The head's confidence calibration refits it once per held-out fold; an interactive
    caller can first publish a quick fit that keeps the last calibration (``temperature``) and
    then the calibrated one.

    Parameters
    ----------
    embeddings : ProjectEmbeddings
        From :func:`project_embeddings`.
    labels : dict
        Image id → class name.
    encoder_meta : dict, optional
        The encoder's identity, stored with the classifier (:func:`encoder_metadata`).
    temperature : float, optional
        Skip the calibration and use this softmax temperature (one fit instead of up to
        ``CALIBRATION_FOLDS + 1``; the labels predicted are the same).
    semi_supervised : bool
        Predict by label spreading over every embedded image
        (:class:`~nanomorph.fewshot.semi.SpreadingClassifier`); the head is still fitted and
        stored (it is what a saved classifier applies to new images).

    Returns
    -------
    LivePredictions
        The head and its predictions for every unlabelled embedded image.

    Raises
    ------
    NanomorphError
        When fewer than two classes have labelled images with embeddings.
    """
    from nanomorph.fewshot.head import FewShotClassifier

    started = time.perf_counter()
    known = set(embeddings.ids)
    train_ids = [i for i in labels if i in known]
    if len({labels[i] for i in train_ids}) < 2:
        raise NanomorphError("label images of at least two classes to train the classifier")
    options = {} if temperature is None else {"calibrate": False}
    classifier = FewShotClassifier(encoder=encoder_meta, **options).fit(
        embeddings.rows(train_ids), [labels[i] for i in train_ids])
    if temperature is not None:
        classifier.temperature_ = float(temperature)
    unlabelled = np.fromiter((i not in labels for i in embeddings.ids), bool,
                             len(embeddings.ids))
    predict_ids = [i for i, keep in zip(embeddings.ids, unlabelled) if keep]
    if semi_supervised and predict_ids:
        from nanomorph.fewshot.semi import SpreadingClassifier

        unlabelled_rows = embeddings.matrix[unlabelled]
        spreading = SpreadingClassifier(unlabelled_rows).fit(
            embeddings.rows(train_ids), [labels[i] for i in train_ids])
        results = PredictionTable(spreading.classes_, predict_ids,
                                  spreading.predict_proba(unlabelled_rows))
    elif predict_ids:  # every row through the head, no copy of the unlabelled ones' rows
        proba = classifier.predict_proba(embeddings.matrix)[unlabelled]
        results = PredictionTable(classifier.classes_, predict_ids, proba)
    else:
        results = {}
    return LivePredictions(classifier, results, len(train_ids), time.perf_counter() - started)


def prediction_records(classifier: "FewShotClassifier", image_ids: list[int],
                       matrix: np.ndarray) -> Mapping[int, dict]:
    """Predictions as the project stores them.

    Parameters
    ----------
    classifier : FewShotClassifier
        A fitted head.
    image_ids : list of int
        One per row of ``matrix``.
    matrix : ndarray, shape (n, embedding_dim)
        Embeddings.

    Returns
    -------
    dict
        Image id → ``{"label", "confidence", "margin" (best − second probability),
        "probabilities" {class: p}}``.
    """
    if not image_ids:
        return {}
    return PredictionTable(classifier.classes_, image_ids, classifier.predict_proba(matrix))


class PredictionTable(Mapping):
    """Image id → ``{"label", "confidence", "margin" (best − second probability),
    "probabilities" {class: p}}``, each record made when it is looked up from the class
    probabilities. 100,000 predictions are three arrays instead of 200,000 dictionaries
    (0.25 s to build, 0.1 GB, and full garbage collections of 0.1 s while they lived).

    Parameters
    ----------
    classes : list of str
        The columns of ``proba``.
    image_ids : list of int
        One per row.
    proba : ndarray, shape (n, len(classes))
        Class probabilities.
    """

    def __init__(self, classes, image_ids, proba: np.ndarray):
        self.classes = [str(c) for c in classes]
        self._row = dict(zip(image_ids, range(len(image_ids))))
        self._proba = np.asarray(proba, dtype=np.float64)
        ranked = np.sort(self._proba, axis=1)
        self._margin = ranked[:, -1] - (ranked[:, -2] if self._proba.shape[1] > 1 else 0.0)
        self._best = np.argmax(self._proba, axis=1)

    def __getitem__(self, image_id: int) -> dict:
        row = self._row[image_id]
        values, best = self._proba[row].tolist(), int(self._best[row])
        return {"label": self.classes[best], "confidence": values[best],
                "margin": float(self._margin[row]),
                "probabilities": dict(zip(self.classes, values))}

    def __contains__(self, image_id) -> bool:
        return image_id in self._row

    def __iter__(self):
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def best_of(self, image_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each image's predicted class and its probability, from the arrays (no record made).

        Parameters
        ----------
        image_ids : ndarray of int
            Images, predicted or not.

        Returns
        -------
        (ndarray of object, ndarray of float)
            The class (None where not predicted) and its probability (NaN there).
        """
        rows = np.fromiter((self._row.get(i, -1) for i in np.asarray(image_ids).tolist()),
                           np.int64, len(image_ids))
        have = np.flatnonzero(rows >= 0)
        labels, confidence = np.full(len(rows), None, object), np.full(len(rows), np.nan)
        best = self._best[rows[have]]
        labels[have] = np.array(self.classes, dtype=object)[best]
        confidence[have] = self._proba[rows[have], best]
        return labels, confidence

    def margin_of(self, image_id: int) -> float:
        """An image's margin (best − second probability) without making its record.

        Parameters
        ----------
        image_id : int
            A predicted image.

        Returns
        -------
        float
        """
        return float(self._margin[self._row[image_id]])


def store_live_model(project: "Project", live: LivePredictions) -> int:
    """Save the live classifier to ``models/classifier-live.npz`` and its predictions.

    Parameters
    ----------
    project : Project
        The open project.
    live : LivePredictions
        From :func:`train_and_predict`.

    Returns
    -------
    int
        The model's id.
    """
    kind, name = LIVE_MODEL
    file = f"{kind}-{name}.npz"
    live.classifier.save(project.models_dir / file)
    model_id = project.models.register(kind, name, file, {
        "encoder": live.classifier.encoder, "classes": live.classifier.classes_,
        "n_labels": live.n_labels})
    project.models.save_predictions(model_id, live.results)
    return model_id


def predicted_classes(predictions: Mapping[int, dict],
                      image_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's predicted class and confidence.

    Parameters
    ----------
    predictions : Mapping
        Image id → prediction record (a :class:`PredictionTable` answers from its arrays:
        100,000 records made one by one took 0.3 s).
    image_ids : ndarray of int
        Images, predicted or not.

    Returns
    -------
    (ndarray of object, ndarray of float)
        The class (None where not predicted) and its confidence (NaN there).
    """
    if isinstance(predictions, PredictionTable):
        return predictions.best_of(image_ids)
    labels, confidence = np.full(len(image_ids), None, object), np.full(len(image_ids), np.nan)
    for row, image_id in enumerate(np.asarray(image_ids).tolist()):
        record = predictions.get(image_id)
        if record is not None:
            labels[row] = record.get("label")
            confidence[row] = np.nan if record.get("confidence") is None else record["confidence"]
    return labels, confidence


def live_predictions(project: "Project") -> dict[int, dict]:
    """The stored predictions of the project's live classifier.

    Parameters
    ----------
    project : Project
        The open project.

    Returns
    -------
    dict
        Image id → prediction record; empty before the first classifier.
    """
    kind, name = LIVE_MODEL
    for model in project.models.list(kind):
        if model["name"] == name:
            return project.models.predictions(model["id"])
    return {}


def evaluate_project(project: "Project", embeddings: ProjectEmbeddings, *,
                     ks=defaults.EVALUATE_KS, repeats: int = defaults.EVALUATE_REPEATS,
                     seed: int = defaults.SEED,
                     map_method: str = "pca",
                     cancel: CancelToken | None = None) -> Job[dict]:
    """The evaluation panel's numbers for the project's labelled images (a job).

    Parameters
    ----------
    project : Project
        The open project.
    embeddings : ProjectEmbeddings
        From :func:`project_embeddings`.
    ks : sequence of int
        Labelled images per class to evaluate.
    repeats : int
        Random splits per K.
    seed : int
        Seed of the splits (the same seed gives the same splits for every encoder).
    map_method : str
        ``pca``, ``tsne`` or ``umap`` for the embedding map.
    cancel : CancelToken, optional
        Checked between steps.

    Yields
    ------
    Progress
        Per step.

    Returns
    -------
    dict
        ``encoder``: the label-efficiency protocol on the embeddings (K labels per class, same
        seeds); ``control``: the same protocol on the pixel-density control (wire fraction of
        the project's mask, or of an Otsu auto-mask); ``anchors``: one-shot anchor scores per
        class as (image id, accuracy mean) lists, best first; ``map``: 2-D coordinates of every
        embedded image (``ids``, ``xy``); ``labels``: image id → class; ``warnings``.

    Raises
    ------
    NanomorphError
        When fewer than two classes have labelled images.
    """
    import warnings

    from nanomorph.fewshot.anchors import anchor_table
    from nanomorph.fewshot.control import control_classifier, control_features
    from nanomorph.fewshot.evaluate import evaluate_label_efficiency
    from nanomorph.fewshot.maps import embedding_map
    from nanomorph.jobs import Progress, check_cancel

    labels = {i: c for i, c in project.labels.all().items() if i in set(embeddings.ids)}
    labelled = sorted(labels)
    if len(set(labels.values())) < 2:
        raise NanomorphError("label images of at least two classes to evaluate")
    masks = [project.masks.read(i) if project.masks.latest_version(i) else None for i in labelled]
    control = yield from control_features([project.images.get(i).path for i in labelled],
                                          masks=masks, cancel=cancel)
    check_cancel(cancel)
    # both methods see the same images, hence identical splits
    ids = [labelled[i] for i in control.indices]
    y = [labels[i] for i in ids]
    yield Progress(0, 3, "evaluating the classifier")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder_eval = evaluate_label_efficiency(embeddings.rows(ids), y, ks=ks,
                                                 repeats=repeats, seed=seed)
        control_eval = evaluate_label_efficiency(control.density, y, ks=ks, repeats=repeats,
                                                 seed=seed, classifier_factory=control_classifier,
                                                 check_duplicates=False)
    failed = [f"{project.images.get(labelled[i]).name}: {reason} (left out of the evaluation)"
              for i, reason in control.failed]
    yield Progress(1, 3, "scoring one-shot anchors")
    anchors = anchor_table(embeddings.rows(ids), y, repeats=max(5, repeats // 2), seed=seed)
    yield Progress(2, 3, "drawing the embedding map")
    xy = embedding_map(embeddings.matrix, map_method, seed=seed)
    return {"encoder": encoder_eval, "control": control_eval,
            "anchors": {c: [(ids[s.index], s.accuracy_mean) for s in scores]
                        for c, scores in anchors.items()},
            "map": {"ids": list(embeddings.ids), "xy": xy.tolist(), "method": map_method},
            "labels": labels, "warnings": failed + sorted({str(w.message) for w in caught})}
