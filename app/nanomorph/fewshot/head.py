"""The few-shot classifier: logistic regression on frozen image embeddings, and its file format.

Choices, measured by ``tests/benchmarks/test_bench_fewshot.py::test_bench_classifier_choices``
on the protocol's splits (K = 1-8 labels per class, 20 splits each) of two sets: a real
multi-source set of 92 micrographs in 4 classes (groups respected) and 80 synthetic images of
the 4 morphologies (EfficientNet-Lite0 embeddings):

- each embedding is divided by its Euclidean norm (``scaling="l2"``). Per-feature
  standardisation, fit on 4-32 training images, amplifies noisy features: accuracy at K = 1 was
  0.58 (real) / 0.62 (synthetic) against 0.93 / 0.84 with L2 normalisation, and at K = 8
  0.87 / 0.91 against 0.97 / 0.96, whatever C (0.01-100).
- ``C = 0.1`` (L2 penalty), ``class_weight="balanced"``, lbfgs, multinomial for three or more
  classes. With L2-normalised embeddings accuracy hardly depends on C for K <= 4; at K = 8 small
  C (close to a nearest-class-mean rule) is best on the real set (C = 0.01 / 0.1 / 1 / 10 / 100:
  0.978 / 0.970 / 0.923 / 0.920 / 0.929) and 0.01 below the best on the synthetic one (0.953 /
  0.955 / 0.960 / 0.964 / 0.964).
- probabilities: small C gives almost uniform softmax probabilities (log-loss 1.25-1.37 for
  ln 4 = 1.39, expected calibration error 0.67), so the logits are divided by a temperature
  (``calibrate=True``, when every class has at least two labels) fit on held-out logits of the
  training images (leave-one-out up to 10 images, else 10 folds) by least log-loss, bounded so
  that the mean confidence does not exceed the accuracy the held-out images support,
  (correct + 1) / (n + 2). Measured (real / synthetic, C = 0.1): log-loss 0.33 / 0.34 at K = 2,
  0.29 / 0.20 at K = 4, 0.17 / 0.13 at K = 8; top-label expected calibration error (10 bins)
  0.14 / 0.05, 0.14 / 0.04, 0.10 / 0.01 (on the real set slightly underconfident). Without
  the bound the temperature went to 0 whenever all held-out images were right (log-loss
  1.1-1.5 at C = 1). With ONE label per class nothing can be held out: the probabilities stay
  the regression's own, nearly uniform; only their order means something. Calibration costs
  up to 10 extra fits (train + predict 1,000 images: about 30 ms at 1 label per class, 60-120 ms
  at 8, 60-140 ms at 80 on 2 cores).

A saved classifier is ONE ``.npz`` file without pickled objects: the arrays (weights,
intercepts, scaler) and a JSON header (``meta``) with the class names, the encoder (name,
weights id, preprocessing), the versions that wrote it and the creation time.
"""

from __future__ import annotations

import functools
import io
import json
import os
import zipfile
from datetime import datetime, timezone

import numpy as np

from nanomorph.errors import InvalidParameterError, NanomorphError

FORMAT = "nanomorph-fewshot-classifier"
FORMAT_VERSION = 2  # 2: a SHA-256 of the header and the arrays (version 1 files still load)
SCALINGS = ("standard", "l2")
DEFAULT_SCALING = "l2"
DEFAULT_C = 0.1
DEFAULT_CALIBRATE = True
_ARRAYS = ("coef", "intercept", "mean", "scale")
_META_KEYS = ("format", "format_version", "classes", "scaling", "C", "calibrate", "temperature",
              "n_train", "feature_dim", "encoder", "versions", "created")
_TEMPERATURE_BOUNDS = (1e-3, 1e3)
CALIBRATION_FOLDS = 10
# rows predicted at a time: bounds the float64 copies (8192 × 1280 × 8 B = 84 MB)
PREDICT_CHUNK_ROWS = 8192


class FewShotClassifier:
    """A linear head on embeddings: fit on a few labelled images, predict the others.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    scaling : {"standard", "l2"}
        Feature scaling before the regression: per-feature standardisation fit on the training
        embeddings, or division of each embedding by its Euclidean norm.
    calibrate : bool
        Fit a softmax temperature on held-out logits of the training images (when every class
        has at least two labels; else the temperature stays 1), see the module docstring.
    encoder : dict, optional
        The encoder that made the embeddings (:func:`encoder_metadata`); saved with the model
        and checked when it is loaded.

    Attributes
    ----------
    classes_ : list of str
        Class names, in the order of the probability columns.
    temperature_ : float
        Softmax temperature (1 = the regression's own probabilities).
    n_train_ : dict
        Training images per class.
    created, versions : str, dict or None
        When the loaded file was written, and the nanomorph/scikit-learn/numpy versions that
        wrote it (None before :meth:`load`).
    """

    def __init__(self, *, C: float = DEFAULT_C, scaling: str = DEFAULT_SCALING,
                 calibrate: bool = DEFAULT_CALIBRATE, encoder: dict | None = None):
        if scaling not in SCALINGS:
            raise InvalidParameterError(f"unknown scaling {scaling!r}: choose one of {SCALINGS}")
        if not C > 0:
            raise InvalidParameterError(f"C must be > 0, not {C}")
        self.C = float(C)
        self.scaling = scaling
        self.calibrate = bool(calibrate)
        self.encoder = encoder
        self.classes_: list[str] | None = None
        self.temperature_ = 1.0
        self.n_train_: dict[str, int] = {}
        self.created: str | None = None
        self.versions: dict | None = None
        self._coef = self._intercept = self._mean = self._scale = None

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, y) -> "FewShotClassifier":
        """Fit on embeddings; one image per class works.

        Parameters
        ----------
        X : array-like, shape (N, D)
            Embeddings.
        y : sequence of str, length N
            Class names.

        Returns
        -------
        FewShotClassifier
            ``self``, fitted.

        Raises
        ------
        NanomorphError
            Fewer than two classes, or ``X`` and ``y`` of different lengths or not finite.
        """
        X = _as_features(X)
        y = np.asarray([str(label) for label in y])
        if len(y) != len(X):
            raise InvalidParameterError(f"{len(X)} embeddings but {len(y)} labels")
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise NanomorphError(f"training needs labelled images of at least two classes; all "
                                 f"{len(y)} are {classes[0] if len(classes) else 'unlabelled'!r}")
        self._fit_scaler(X)
        Xs = self._transform(X)
        self.classes_ = [str(c) for c in classes]
        self._coef, self._intercept = _fit_logits(Xs, y, self.C)
        self.n_train_ = {str(c): int(n) for c, n in zip(classes, counts)}
        self.temperature_ = 1.0
        if self.calibrate and counts.min() >= 2:
            index = np.searchsorted(classes, y)
            self.temperature_ = fit_temperature(
                _held_out_logits(Xs, y, self.C, len(classes)), index)
        return self

    def _fit_scaler(self, X: np.ndarray) -> None:
        if self.scaling == "standard":
            from sklearn.preprocessing import StandardScaler

            scaler = StandardScaler().fit(X)
            self._mean, self._scale = scaler.mean_, scaler.scale_
        else:
            self._mean, self._scale = np.zeros(X.shape[1]), np.ones(X.shape[1])

    def _transform(self, X: np.ndarray) -> np.ndarray:
        if self.scaling == "l2":
            X = X / np.maximum(np.sqrt(np.einsum("ij,ij->i", X, X))[:, None], 1e-12)
        if self._mean.any() or (self._scale != 1).any():  # L2 scaling: both are the identity
            X = (X - self._mean) / self._scale
        return X

    # -- prediction ------------------------------------------------------------------------------
    def decision_function(self, X) -> np.ndarray:
        """Class logits after the temperature.

        Parameters
        ----------
        X : array-like, shape (N, D)
            Embeddings.

        Returns
        -------
        ndarray, shape (N, C)
            The softmax of a row gives its probabilities.
        """
        X = self._check_shape(X)
        out = np.empty((len(X), len(self._intercept)))
        # float32 rows stay float32, a chunk at a time (no float64 copy; logits agree to ~1e-6)
        work = np.float32 if X.dtype in (np.float16, np.float32) else np.float64
        coef = self._coef.T.astype(work)
        for start in range(0, len(X), PREDICT_CHUNK_ROWS):
            chunk = _as_features(X[start:start + PREDICT_CHUNK_ROWS], work)
            out[start:start + len(chunk)] = self._transform(chunk) @ coef
        return (out + self._intercept) / self.temperature_

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like, shape (N, D)
            Embeddings.

        Returns
        -------
        ndarray, shape (N, C)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        from scipy.special import softmax

        return softmax(self.decision_function(X), axis=1)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each embedding.

        Parameters
        ----------
        X : array-like, shape (N, D)
            Embeddings.

        Returns
        -------
        ndarray of str, shape (N,)
            Class names.
        """
        return np.asarray(self.classes_)[np.argmax(self.decision_function(X), axis=1)]

    def _check_shape(self, X) -> np.ndarray:
        """``X`` as an (N, D) array (its dtype kept) of the classifier's width."""
        if self.classes_ is None:
            raise NanomorphError("the classifier has not been trained yet")
        X = _as_features(X, dtype=None, finite=False)
        if X.shape[1] != self._coef.shape[1]:
            name = (self.encoder or {}).get("name", "the training encoder")
            raise NanomorphError(
                f"the classifier expects embeddings of {self._coef.shape[1]} values (from "
                f"{name}) but got {X.shape[1]}: embed the images with the same encoder")
        return X

    # -- file format -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the trained classifier to one file (``.npz``: arrays + JSON header), atomically
        (a temporary file renamed over ``path``; the name is kept as given).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.

        Raises
        ------
        NanomorphError
            When the classifier has not been trained.
        """
        import sklearn

        from nanomorph import __version__

        if self.classes_ is None:
            raise NanomorphError("the classifier has not been trained yet")
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "classes": self.classes_,
            "scaling": self.scaling, "C": self.C, "calibrate": self.calibrate,
            "temperature": self.temperature_, "n_train": self.n_train_,
            "feature_dim": int(self._coef.shape[1]), "encoder": self.encoder,
            "versions": {"nanomorph": __version__, "sklearn": sklearn.__version__,
                         "numpy": np.__version__},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        arrays = {"coef": self._coef, "intercept": self._intercept, "mean": self._mean,
                  "scale": self._scale}
        meta["checksum"] = _checksum(meta, arrays)
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        _write_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike, *, check_encoder: bool = True,
             own_preprocess: bool = False) -> "FewShotClassifier":
        """Read a classifier written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            The file.
        check_encoder : bool
            Check that this nanomorph knows the file's encoder with the same weights and
            preprocessing (:func:`check_encoder_matches`).
        own_preprocess : bool
            The caller embeds with the preprocessing the file records
            (:func:`recorded_preprocess`), not the encoder's default.

        Returns
        -------
        FewShotClassifier
            Fitted.

        Raises
        ------
        NanomorphError
            Not such a file, another format version, a checksum that does not match, missing,
            inconsistent or non-finite entries, or an encoder this nanomorph does not have.
        """
        meta, arrays = _read_file(path)
        _check_values(meta, arrays, path)
        try:
            model = cls(C=meta["C"], scaling=meta["scaling"], calibrate=meta["calibrate"],
                        encoder=meta["encoder"])
            model.classes_ = [str(c) for c in meta["classes"]]
            model.temperature_ = float(meta["temperature"])
            model.n_train_ = {str(k): int(v) for k, v in meta["n_train"].items()}
            model.created, model.versions = str(meta["created"]), dict(meta["versions"])
            feature_dim = int(meta["feature_dim"])
        except (TypeError, ValueError, AttributeError, NanomorphError) as exc:
            raise NanomorphError(f"the classifier file's header is inconsistent ({exc})",
                                 path) from None
        model._coef, model._intercept = arrays["coef"], arrays["intercept"]
        model._mean, model._scale = arrays["mean"], arrays["scale"]
        _check_shapes(model, feature_dim, path)
        if check_encoder and model.encoder is not None:
            try:
                check_encoder_matches(model.encoder, own_preprocess=own_preprocess)
            except NanomorphError as exc:
                raise NanomorphError(exc.reason, path) from None
        return model


def encoder_metadata(spec, source: str | None = None) -> dict:
    """What a classifier file records about its encoder: name, weights id, preprocessing.

    Parameters
    ----------
    spec : nanomorph.encoders.EncoderSpec
        Has ``name``, ``weights_id`` and ``preprocess`` (with ``as_json()`` and ``key()``).
    source : str, optional
        What the user named the encoder by (a registry name or a saved encoder's path), when
        that is not ``spec.name``; :func:`check_encoder_matches` looks it up.

    Returns
    -------
    dict
        ``name``, ``source``, ``weights_id``, ``preprocess`` (JSON) and ``preprocess_key``.
    """
    return {"name": spec.name, "source": source or spec.name, "weights_id": spec.weights_id,
            "preprocess": spec.preprocess.as_json(), "preprocess_key": spec.preprocess.key()}


def check_encoder_matches(encoder: dict, *, own_preprocess: bool = False) -> None:
    """Check that this nanomorph has an encoder with the same weights and preprocessing (so that
    its embeddings are comparable).

    Parameters
    ----------
    encoder : dict
        :func:`encoder_metadata` of the encoder a classifier was trained on.
    own_preprocess : bool
        The caller embeds with the preprocessing the file records (``classify predict``), not
        the encoder's default: check only that this nanomorph still has those rules.

    Raises
    ------
    NanomorphError
        When the encoder is unknown here, or its weights or preprocessing differ.
    """
    from nanomorph.encoders.registry import get_encoder_spec

    source = encoder.get("source") or encoder.get("name")
    try:
        spec = get_encoder_spec(source)
    except NanomorphError:
        raise NanomorphError(f"the classifier was trained on embeddings of encoder {source!r}, "
                             "which this nanomorph does not have") from None
    current = encoder_metadata(spec, source)
    if own_preprocess and encoder.get("preprocess") is not None:
        current["preprocess_key"] = _recorded_preprocess_key(encoder["preprocess"])
    for key, what in (("weights_id", "weights"), ("preprocess_key", "preprocessing")):
        if encoder.get(key) != current[key]:
            raise NanomorphError(
                f"the classifier was trained with {what} {encoder.get(key)!r} of encoder "
                f"{source!r}, but this nanomorph has {current[key]!r}: train it again")


def recorded_preprocess(encoder: dict | None):
    """The preprocessing a classifier's embeddings were made with, as its file records it.

    Parameters
    ----------
    encoder : dict or None
        :func:`encoder_metadata` of the classifier's encoder.

    Returns
    -------
    PreprocessSpec or None
        None when the file records none (the encoder's own applies).
    """
    from nanomorph.encoders.preprocess import PreprocessSpec

    fields = (encoder or {}).get("preprocess")
    return PreprocessSpec.from_json(fields) if fields else None


def _recorded_preprocess_key(fields: dict) -> str | None:
    """The key this nanomorph gives a recorded preprocessing (None when it cannot read it)."""
    from nanomorph.encoders.preprocess import PreprocessSpec

    try:
        return PreprocessSpec.from_json(fields).key()
    except (TypeError, ValueError, NanomorphError):
        return None


def fit_temperature(logits: np.ndarray, y_index: np.ndarray) -> float:
    """The softmax temperature for held-out logits.

    The one with the least log-loss, searched in [0.001, 1000] on a log scale, raised where
    needed so that the mean confidence does not exceed the accuracy that the held-out images
    support, (correct + 1) / (N + 2) (the rule of succession). Without that bound, N held-out
    images that are all classified right drive the temperature to 0 (certainty), however small
    N is.

    Parameters
    ----------
    logits : ndarray, shape (N, C)
        Held-out logits.
    y_index : ndarray of int, shape (N,)
        True class index of each.

    Returns
    -------
    float
        The temperature.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.special import log_softmax, softmax

    rows = np.arange(len(y_index))

    def loss(log_t: float) -> float:
        return -log_softmax(logits / np.exp(log_t), axis=1)[rows, y_index].mean()

    low, high = np.log(_TEMPERATURE_BOUNDS)
    best = minimize_scalar(loss, bounds=(low, high), method="bounded").x
    supported = (np.count_nonzero(logits.argmax(axis=1) == y_index) + 1) / (len(y_index) + 2)

    def excess_confidence(log_t: float) -> float:
        return softmax(logits / np.exp(log_t), axis=1).max(axis=1).mean() - supported

    if excess_confidence(best) > 0 and excess_confidence(high) < 0:
        best = brentq(excess_confidence, best, high)
    return float(np.exp(best))


def _fit_logits(Xs: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression → weights (C, D) and intercepts (C,) of softmax logits (a binary
    regression's single logit z becomes the pair (0, z), which has the same probabilities)."""
    from sklearn.linear_model import LogisticRegression

    # One BLAS thread: these problems are tiny, and threads that wait for busy cores made the
    # fit 10-70x slower on a loaded 2-core machine (6.7 ms vs 500 ms for 320 x 1280).
    with _blas_controller().limit(limits=1, user_api="blas"):
        regression = LogisticRegression(C=C, class_weight="balanced", max_iter=1000).fit(Xs, y)
    coef, intercept = regression.coef_, regression.intercept_
    if coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return coef, intercept


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """The BLAS libraries of this process, found once (a search reads /proc: ~2.5 ms a time)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _held_out_logits(Xs: np.ndarray, y: np.ndarray, C: float, n_classes: int) -> np.ndarray:
    """Logits of each training image from a regression fit without it: leave-one-out up to
    ``CALIBRATION_FOLDS`` images, else that many folds, image j of class c in fold
    (j + c) mod folds, so that with two or more images per class every fit sees every class."""
    if len(y) <= CALIBRATION_FOLDS:
        folds, n_folds = np.arange(len(y)), len(y)
    else:
        class_index = np.searchsorted(np.unique(y), y)
        rank = np.empty(len(y), dtype=int)
        for c in np.unique(class_index):
            rank[class_index == c] = np.arange(np.count_nonzero(class_index == c))
        folds, n_folds = (rank + class_index) % CALIBRATION_FOLDS, CALIBRATION_FOLDS
    logits = np.empty((len(y), n_classes))
    for fold in range(n_folds):
        held = folds == fold
        coef, intercept = _fit_logits(Xs[~held], y[~held], C)
        logits[held] = Xs[held] @ coef.T + intercept
    return logits


def _as_features(X, dtype=np.float64, finite: bool = True) -> np.ndarray:
    X = np.asarray(X, dtype=dtype)  # dtype None: as it is
    if X.ndim != 2 or X.shape[0] == 0:
        raise InvalidParameterError(f"expected embeddings of shape (N, D), got {X.shape}")
    if finite and not np.isfinite(X).all():
        raise InvalidParameterError("the embeddings hold NaN or infinite values")
    return X


def _read_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON header and the arrays of a classifier file, checked for format and keys."""
    not_ours = "is not a nanomorph classifier file"
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise NanomorphError("no such file", path) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        raise NanomorphError(not_ours, path) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise NanomorphError(not_ours, path)
    try:
        with data:
            contents = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        raise NanomorphError(not_ours, path) from None
    if "meta" not in contents:
        raise NanomorphError(not_ours, path)
    try:
        meta = json.loads(str(contents.pop("meta")))
    except json.JSONDecodeError:
        raise NanomorphError(f"{not_ours} (its header is not JSON)", path) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise NanomorphError(not_ours, path)
    if meta.get("format_version") not in (1, FORMAT_VERSION):
        raise NanomorphError(
            f"it is a classifier file of format version {meta.get('format_version')!r}; this "
            f"nanomorph reads versions 1 to {FORMAT_VERSION}: train the classifier again", path)
    absent = [k for k in _META_KEYS if k not in meta] + [k for k in _ARRAYS if k not in contents]
    if absent:
        raise NanomorphError(f"the classifier file lacks {', '.join(absent)}", path)
    if meta["format_version"] >= 2:
        stored = meta.pop("checksum", None)
        if stored != _checksum(meta, {k: contents[k] for k in _ARRAYS}):
            raise NanomorphError("the classifier file is damaged: its content does not match "
                                 "its checksum", path)
    return meta, contents


def _checksum(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the header (without its checksum) and the arrays' dtype, shape and bytes."""
    import hashlib

    digest = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "checksum"},
                                       sort_keys=True).encode())
    for name in _ARRAYS:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _check_values(meta: dict, arrays: dict[str, np.ndarray], path) -> None:
    """Refuse headers and weights that would give garbage or fail later: class names that are
    not distinct strings, a non-positive or non-finite C, temperature or feature scale, and
    weights that are not finite numbers."""
    classes = meta.get("classes")
    if (not isinstance(classes, list) or len(classes) < 2
            or not all(isinstance(c, str) and c.strip() for c in classes)
            or len(set(classes)) != len(classes)):
        raise NanomorphError("the classifier file's classes are not two or more distinct "
                             "names", path)
    for key in ("C", "temperature"):
        value = meta.get(key)
        if (not isinstance(value, (int, float)) or isinstance(value, bool)
                or not np.isfinite(value) or value <= 0):
            raise NanomorphError(f"the classifier file's {key} is {value!r}, not a positive "
                                 "number", path)
    if not isinstance(meta.get("n_train"), dict) or not isinstance(meta.get("versions"), dict):
        raise NanomorphError("the classifier file's header is inconsistent", path)
    for name in _ARRAYS:
        array = arrays[name]
        if array.dtype.kind != "f" or not np.isfinite(array).all():
            raise NanomorphError(f"the classifier file's {name} weights are not finite "
                                 "numbers", path)
    if (arrays["scale"] <= 0).any():
        raise NanomorphError("the classifier file's feature scales are not positive", path)


def _check_shapes(model: FewShotClassifier, feature_dim: int, path) -> None:
    n_classes = len(model.classes_)
    expected = {"coef": (n_classes, feature_dim), "intercept": (n_classes,),
                "mean": (feature_dim,), "scale": (feature_dim,)}
    arrays = {name: getattr(model, f"_{name}") for name in expected}
    wrong = [name for name, shape in expected.items()
             if arrays[name].shape != shape or arrays[name].dtype.kind != "f"]
    if wrong or n_classes < 2:
        what = ", ".join(wrong) or "classes"
        raise NanomorphError(f"the classifier file is inconsistent ({what} do not fit "
                             f"{n_classes} classes of {feature_dim} features)", path)


def _write_atomic(path, data: bytes) -> None:
    from nanomorph.io.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise NanomorphError(f"cannot be written ({exc.strerror or exc})", path) from None
