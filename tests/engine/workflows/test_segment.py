"""The segment workflow: train on a project's masks, keep the model, predict, accept, score."""

from __future__ import annotations

import numpy as np
import pytest

from nanomorph.errors import NanomorphError
from nanomorph.jobs import run_job
from nanomorph.segment import TrainConfig
from nanomorph.workflows.segment import (
    accept_prediction,
    compare_with_truth,
    predict_project,
    stored_prediction,
    train_project_segmenter,
)
from tests.engine.workflows.conftest import ids_by_name

pytestmark = pytest.mark.slow  # trains a decoder for two short epochs (10-30 s on a CPU)

TINY = TrainConfig(epochs=2, steps_per_epoch=3, patch_px=96, batch_size=2, tile_px=256,
                   overlap_px=32, device="cpu", seed=0)


@pytest.fixture
def trained(project):
    ids = ids_by_name(project)
    train = [ids["network_01.tif"], ids["bundle_01.tif"]]
    segmenter, model_file = run_job(train_project_segmenter(project, train, TINY))
    return project, ids, train, segmenter, model_file


def test_training_keeps_the_model_and_records_the_run(trained):
    project, _, train, segmenter, model_file = trained
    assert (project.models_dir / model_file).is_file()
    model = project.models.list("segmenter")[-1]
    assert model["file"] == model_file and model["config"]["images"] == train
    run = project.runs.list("segment-train")[-1]
    assert run["status"] == "done" and run["result"]["model"] == model_file
    assert len(run["result"]["history"]) == len(segmenter.history) >= 1
    sizes = [project.images.get(i).calibration.mean_pixel_size_nm() for i in train]
    assert segmenter.pixel_size_nm == pytest.approx(float(np.median(sizes)))  # kept


def test_scores_are_grouped_by_movie_or_folder(trained):
    from dataclasses import replace
    from pathlib import Path

    from nanomorph.workflows.segment import image_group

    project, ids, train, segmenter, model_file = trained
    held = [ids["network_05.tif"], ids["bundle_05.tif"]]
    done = run_job(predict_project(project, [train[0], *held], segmenter, model_file))
    scores = run_job(compare_with_truth(project, done, training_ids=train))
    folder = Path(project.images.get(held[0]).path).parent.name
    assert {row["group"] for row in scores["rows"]} == {folder}
    [group] = scores["per_group"]
    assert group["group"] == folder and group["n_images"] == 2  # the training image left out
    assert group["dice_mean"] == pytest.approx(scores["means"]["dice"])
    frame = replace(project.images.get(held[0]), group="growth.tif")
    assert image_group(frame) == "growth.tif"


def test_eight_view_predictions_are_kept_apart(trained):
    project, ids, _, segmenter, model_file = trained
    image = ids["network_05.tif"]
    record = project.images.get(image)
    plain = run_job(predict_project(project, [image], segmenter, model_file))[image]
    views = run_job(predict_project(project, [image], segmenter, model_file, tta=True))[image]
    assert views.shape == plain.shape
    np.testing.assert_array_equal(stored_prediction(project, model_file, record), plain)
    np.testing.assert_array_equal(stored_prediction(project, model_file, record, tta=True),
                                  views)


def test_predictions_are_kept_accepted_as_masks_and_scored(trained):
    project, ids, _, segmenter, model_file = trained
    image = ids["network_05.tif"]
    events = []
    done = run_job(predict_project(project, [image], segmenter, model_file), events.append)
    labels = done[image]
    record = project.images.get(image)
    assert labels.shape == record.shape[-2:]
    np.testing.assert_array_equal(stored_prediction(project, model_file, record), labels)
    scores = run_job(compare_with_truth(project, done))
    assert scores["rows"][0]["image_id"] == image and 0 <= scores["rows"][0]["dice"] <= 1
    assert scores["classical_method"] in ("otsu", "li", "triangle", "local", "ridge")
    assert not scores["rows"][0]["trained_on"] and scores["held_out"] == 1
    before = project.masks.latest_version(image)
    assert accept_prediction(project, image, labels, model_file) == before + 1
    assert project.masks.versions(image)[-1]["source"] == f"predicted:{model_file[:-3]}"


def test_training_images_are_marked_and_left_out_of_the_means(trained):
    project, ids, _, segmenter, model_file = trained
    trained_ids = project.models.list("segmenter")[-1]["config"]["images"]
    held = ids["network_05.tif"]
    assert held not in trained_ids
    done = run_job(predict_project(project, [trained_ids[0], held], segmenter, model_file))
    scores = run_job(compare_with_truth(project, done, training_ids=trained_ids))
    rows = {row["image_id"]: row for row in scores["rows"]}
    assert rows[trained_ids[0]]["trained_on"] and not rows[held]["trained_on"]
    assert scores["held_out"] == 1
    assert scores["means"]["dice"] == pytest.approx(rows[held]["dice"])


def test_images_without_a_mask_are_refused_before_training(project, tmp_path):
    from tests.engine.project.conftest import write_tif

    new = project.images.add_one(write_tif(tmp_path / "unmasked.tif"))
    with pytest.raises(NanomorphError, match="no mask"):
        run_job(train_project_segmenter(project, [new.id], TINY))
    assert project.runs.list("segment-train") == []


def test_the_difference_marks_false_positives_and_negatives():
    from nanomorph.workflows.segment import FALSE_NEGATIVE, FALSE_POSITIVE, difference_labels

    predicted = np.array([[1, 1, 0]], bool)
    truth = np.array([[1, 0, 1]], bool)
    assert difference_labels(predicted, truth).tolist() == [[0, FALSE_POSITIVE, FALSE_NEGATIVE]]
