"""FewShotClassifier: fit/predict/probabilities, one label per class, the one-file format and
the errors for files it cannot use."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from nanomorph.errors import NanomorphError
from nanomorph.fewshot.head import FORMAT_VERSION, FewShotClassifier, fit_temperature

CLASSES = ["bundle", "dispersed", "network", "singular"]


def clusters(n_per_class: int, dim: int = 64, spread: float = 1.0, seed: int = 0):
    """Gaussian clusters, one per class, with unit-variance noise around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(len(CLASSES), dim))
    y = np.repeat(CLASSES, n_per_class)
    X = centres[np.repeat(np.arange(len(CLASSES)), n_per_class)]
    return X + spread * rng.normal(size=X.shape), y


@pytest.mark.parametrize("scaling", ["standard", "l2"])
def test_fit_predict_and_probabilities(scaling):
    X, y = clusters(10)
    model = FewShotClassifier(scaling=scaling).fit(X[::5], y[::5])
    proba = model.predict_proba(X)
    assert model.classes_ == CLASSES
    assert proba.shape == (40, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (model.predict(X) == y).mean() == 1.0
    np.testing.assert_array_equal(model.predict(X), np.asarray(CLASSES)[proba.argmax(axis=1)])


@pytest.mark.parametrize("scaling", ["standard", "l2"])
def test_predictions_in_chunks_equal_one_pass(scaling, monkeypatch):
    """Large projects are predicted a chunk of rows at a time: the numbers of one pass (to BLAS
    rounding); float32 rows are worked in float32 (no float64 copy), within float32 rounding of
    the float64 numbers and the same classes; no NaN slips through a chunk."""
    from nanomorph.errors import InvalidParameterError
    from nanomorph.fewshot import head

    X, y = clusters(10)
    model = FewShotClassifier(scaling=scaling).fit(X[::5], y[::5])
    whole = model.decision_function(X)
    monkeypatch.setattr(head, "PREDICT_CHUNK_ROWS", 7)
    np.testing.assert_allclose(model.decision_function(X), whole, rtol=1e-12)  # BLAS rounding
    single = X.astype(np.float32)
    np.testing.assert_allclose(model.decision_function(single),
                               model.decision_function(single.astype(np.float64)),
                               rtol=1e-5, atol=1e-5)
    assert (model.predict(single) == model.predict(single.astype(np.float64))).all()
    single[33, 5] = np.nan
    with pytest.raises(InvalidParameterError, match="NaN"):
        model.predict_proba(single)


def test_one_label_per_class_and_two_classes():
    X, y = clusters(5)
    model = FewShotClassifier().fit(X[::5], y[::5])  # one image of each of four classes
    assert model.n_train_ == dict.fromkeys(CLASSES, 1)
    assert (model.predict(X) == y).mean() >= 0.9
    binary = FewShotClassifier().fit(X[:10], y[:10])  # bundle vs dispersed
    proba = binary.predict_proba(X[:10])
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(binary.predict(X[:10])) == list(y[:10])


def test_single_class_is_an_error():
    X, y = clusters(3)
    with pytest.raises(NanomorphError, match="at least two classes"):
        FewShotClassifier().fit(X[:3], y[:3])


def test_temperature_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=4.0, size=(4000, 3))
    p = np.exp(logits / 2.0)
    p /= p.sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(3, p=row) for row in p])  # drawn from the softmax at T = 2
    assert fit_temperature(logits, truth) == pytest.approx(2.0, rel=0.1)


def test_calibrated_model_has_a_temperature_and_keeps_its_predictions():
    X, y = clusters(3, spread=3.0)
    plain = FewShotClassifier().fit(X, y)
    calibrated = FewShotClassifier(calibrate=True).fit(X, y)
    assert calibrated.temperature_ != 1.0
    np.testing.assert_array_equal(plain.predict(X), calibrated.predict(X))


def test_save_and_load_round_trip(tmp_path):
    X, y = clusters(4)
    encoder = {"name": "efficientnet-lite0", "weights_id": "w1", "preprocess": {"size": 224},
               "preprocess_key": "k1"}
    model = FewShotClassifier(C=0.5, encoder=encoder).fit(X, y)
    path = tmp_path / "model"  # no extension: the file keeps the name it was given
    model.save(path)
    assert path.is_file() and not (tmp_path / "model.npz").exists()
    loaded = FewShotClassifier.load(path, check_encoder=False)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.classes_ == CLASSES and loaded.C == 0.5 and loaded.encoder == encoder
    assert set(loaded.versions) == {"nanomorph", "sklearn", "numpy"}
    assert loaded.created.endswith("+00:00")
    with zipfile.ZipFile(path) as archive:  # plain arrays and a JSON header, nothing pickled
        assert sorted(archive.namelist()) == ["coef.npy", "intercept.npy", "mean.npy",
                                              "meta.npy", "scale.npy"]


def rewrite(path, tmp_path, change, checksum=True):
    """A copy of the classifier file at ``path`` with its JSON header or arrays changed, and
    its checksum recomputed (as a crafted file would have it) unless ``checksum`` is False."""
    from nanomorph.fewshot.head import _ARRAYS, _checksum

    with np.load(path, allow_pickle=False) as data:
        contents = {name: data[name] for name in data.files}
    meta = json.loads(str(contents["meta"]))
    change(meta, contents)
    if checksum and all(k in contents for k in _ARRAYS):
        meta["checksum"] = _checksum(meta, contents)
    contents["meta"] = np.array(json.dumps(meta))
    target = tmp_path / "changed.npz"
    np.savez(target, **contents)
    return target


@pytest.fixture
def saved(tmp_path):
    X, y = clusters(2)
    path = tmp_path / "model.npz"
    FewShotClassifier().fit(X, y).save(path)
    return path


def test_a_changed_file_fails_its_checksum(saved, tmp_path):
    changed = rewrite(saved, tmp_path, lambda m, a: a.update(coef=a["coef"] + 1),
                      checksum=False)
    with pytest.raises(NanomorphError, match="does not match its checksum"):
        FewShotClassifier.load(changed)


def test_a_version_1_file_without_checksum_still_loads(saved, tmp_path):
    def to_v1(meta, arrays):
        meta["format_version"] = 1
        meta.pop("checksum")

    model = FewShotClassifier.load(rewrite(saved, tmp_path, to_v1, checksum=False))
    assert model.classes_ == list(CLASSES)


@pytest.mark.parametrize("change, message", [
    (lambda m, a: m.update(format_version=FORMAT_VERSION + 1), "format version 3"),
    (lambda m, a: m.update(temperature=0.0), "temperature is 0.0, not a positive"),
    (lambda m, a: m.update(classes=["a", "a"]), "not two or more distinct names"),
    (lambda m, a: a.update(coef=a["coef"] * np.nan), "coef weights are not finite"),
    (lambda m, a: a.update(scale=a["scale"] * 0), "scales are not positive"),
    (lambda m, a: m.pop("classes"), "lacks classes"),
    (lambda m, a: a.pop("coef"), "lacks coef"),
    (lambda m, a: m.update(format="something else"), "not a nanomorph classifier"),
    (lambda m, a: a.update(mean=a["mean"][:3]), "inconsistent \\(mean do not fit"),
    (lambda m, a: m.update(scaling="cubic"), "header is inconsistent \\(unknown scaling"),
    (lambda m, a: m.update(n_train=[1, 2]), "header is inconsistent"),
])
def test_incompatible_files_are_refused(saved, tmp_path, change, message):
    with pytest.raises(NanomorphError, match=message) as caught:
        FewShotClassifier.load(rewrite(saved, tmp_path, change), check_encoder=False)
    assert caught.value.path.endswith("changed.npz")


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_files_that_are_not_classifiers(tmp_path, content):
    path = tmp_path / "other.npz"
    path.write_bytes(content)
    with pytest.raises(NanomorphError, match="not a nanomorph classifier"):
        FewShotClassifier.load(path)
    with pytest.raises(NanomorphError, match="no such file"):
        FewShotClassifier.load(tmp_path / "absent.npz")


def test_unknown_encoder_is_refused(saved, tmp_path):
    def unknown(meta, arrays):
        meta["encoder"] = {"name": "no-such-encoder", "weights_id": "x", "preprocess": {},
                           "preprocess_key": "y"}
    with pytest.raises(NanomorphError, match="encoder 'no-such-encoder'.*does not have"):
        FewShotClassifier.load(rewrite(saved, tmp_path, unknown))


def test_wrong_embedding_size_at_predict(saved):
    model = FewShotClassifier.load(saved)
    with pytest.raises(NanomorphError, match="expects embeddings of 64 values .* got 32"):
        model.predict(np.zeros((2, 32)))
