"""The classify workflow: embed a project once, train the live head, predict, store, evaluate."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import NanomorphError
from nanomorph.jobs import run_job
from nanomorph.workflows.classify import (
    evaluate_project,
    live_predictions,
    project_embeddings,
    store_live_model,
    train_and_predict,
)

pytestmark = pytest.mark.slow  # embeds the 24 sample images (a few seconds on a CPU)


@pytest.fixture
def embedded(project):
    return project, run_job(project_embeddings(project, device="cpu"))


def test_every_image_is_embedded_once_and_cached(embedded):
    project, embeddings = embedded
    assert sorted(embeddings.ids) == sorted(r.id for r in project.images.all())
    assert embeddings.matrix.shape == (24, 1280) and not embeddings.failed
    assert embeddings.matrix.dtype == np.float16  # half the memory of float32
    again = run_job(project_embeddings(project, device="cpu"))
    assert (again.matrix == embeddings.matrix).all()


def test_float16_embeddings_predict_what_float32_ones_do(embedded):
    from nanomorph.workflows.classify import ProjectEmbeddings

    project, embeddings = embedded
    labels = project.labels.all()
    half = train_and_predict(embeddings, labels)
    full = train_and_predict(ProjectEmbeddings(embeddings.encoder, embeddings.ids,
                                               embeddings.matrix.astype(np.float32)), labels)
    assert {i: p["label"] for i, p in half.results.items()} == {
        i: p["label"] for i, p in full.results.items()}
    for i, p in half.results.items():
        assert p["confidence"] == pytest.approx(full.results[i]["confidence"], abs=1e-4)


def test_two_labels_per_class_sort_the_other_images(embedded):
    project, embeddings = embedded
    labels = project.labels.all()
    live = train_and_predict(embeddings, labels)
    truth = {r.id: r.name.split("_")[0] for r in project.images.all()}
    assert set(live.results) == set(embeddings.ids) - set(labels)
    correct = sum(p["label"] == truth[i] for i, p in live.results.items())
    assert correct / len(live.results) >= 0.8
    for p in live.results.values():
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-6
        assert 0 <= p["margin"] <= p["confidence"] <= 1


def test_a_quick_fit_keeps_the_temperature_and_predicts_the_same_labels(embedded):
    project, embeddings = embedded
    labels = project.labels.all()
    calibrated = train_and_predict(embeddings, labels)
    quick = train_and_predict(embeddings, labels,
                              temperature=calibrated.classifier.temperature_)
    assert quick.classifier.temperature_ == calibrated.classifier.temperature_
    assert {i: p["label"] for i, p in quick.results.items()} == {
        i: p["label"] for i, p in calibrated.results.items()}
    for i, p in quick.results.items():  # the same head and temperature: the same numbers
        assert p["confidence"] == pytest.approx(calibrated.results[i]["confidence"], abs=1e-6)


def test_the_live_model_and_its_predictions_are_kept_in_the_project(embedded):
    project, embeddings = embedded
    live = train_and_predict(embeddings, project.labels.all())
    model_id = store_live_model(project, live)
    assert (project.models_dir / "classifier-live.npz").is_file()
    assert live_predictions(project) == project.models.predictions(model_id)
    assert set(live_predictions(project)) == set(live.results)


def test_one_labelled_class_is_not_enough(embedded):
    project, embeddings = embedded
    only = {i: c for i, c in project.labels.all().items() if c == "network"}
    with pytest.raises(NanomorphError, match="two classes"):
        train_and_predict(embeddings, only)


def test_evaluation_gives_the_protocol_the_control_and_the_map(embedded):
    project, embeddings = embedded
    for record in project.images.all():  # label every image by its true class
        project.labels.set(record.id, record.name.split("_")[0])
    result = run_job(evaluate_project(project, embeddings, ks=(1, 2), repeats=3))
    assert [r["k"] for r in result["encoder"]["results"]] == [1, 2]
    assert [r["k"] for r in result["control"]["results"]] == [1, 2]
    assert result["encoder"]["results"][1]["accuracy_mean"] > \
        result["control"]["results"][1]["accuracy_mean"]
    assert len(result["map"]["xy"]) == 24 and set(result["anchors"]) == set(
        project.labels.classes())


def test_a_prediction_table_makes_each_record_when_looked_up():
    """Predictions of many images are three arrays; a lookup gives the stored record shape, the
    margin is best minus second, and an image without prediction is absent."""
    import gc

    import numpy as np

    from nanomorph.workflows.classify import PredictionTable

    table = PredictionTable(["bundle", "network"], [7, 9],
                            np.array([[0.25, 0.75], [0.6, 0.4]]))
    assert table[7] == {"label": "network", "confidence": 0.75, "margin": 0.5,
                        "probabilities": {"bundle": 0.25, "network": 0.75}}
    assert table[9]["label"] == "bundle" and table.margin_of(9) == pytest.approx(0.2)
    assert list(table) == [7, 9] and len(table) == 2 and 7 in table and 8 not in table
    assert table.get(8) is None and dict(table)[9] == table[9]
    assert not gc.is_tracked(table._row)  # ints only: nothing for the collector to walk


def test_predicted_classes_are_the_same_from_a_table_and_from_stored_records():
    """The Over time step reads every frame's class at once: a PredictionTable answers from its
    arrays, stored records one by one, with the same classes, confidences and gaps."""
    from nanomorph.workflows.classify import PredictionTable, predicted_classes

    table = PredictionTable(["bundle", "network"], [7, 9, 4],
                            np.array([[0.25, 0.75], [0.6, 0.4], [0.5, 0.5]]))
    ids = np.array([4, 8, 9, 7])  # 8 has no prediction
    from_table = predicted_classes(table, ids)
    from_records = predicted_classes(dict(table), ids)
    for labels, confidence in (from_table, from_records):
        assert labels.tolist() == ["bundle", None, "bundle", "network"]
        np.testing.assert_allclose(confidence, [0.5, np.nan, 0.6, 0.75])
    assert predicted_classes({}, ids)[0].tolist() == [None] * 4
