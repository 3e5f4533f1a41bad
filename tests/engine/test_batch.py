"""Batch analysis without Dask: rows, masks, projects, outputs, classification, progress.

The helpers at the top (small synthetic images, a project, a trained classifier) are shared by
the other batch and report tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import tifffile
from PIL import Image

from nanomorph.workflows.percolation import PercolationSettings, analyse_image_mask, percolate_foreground
from nanomorph.batch.config import BatchConfig
from nanomorph.batch.results import CSV_FILE, PARQUET_FILE, read_run_file
from nanomorph.batch.runner import run_batch
from nanomorph.cli.percolate import CONTRACT_KEYS
from nanomorph.errors import InvalidParameterError, JobCancelled, display_path
from nanomorph.jobs import CancelToken, run_job
from nanomorph.masks import MaskParams, auto_mask, suggest_polarity
from nanomorph.project import Project
from nanomorph.synthetic import generate_morphology
from tests.support.badfiles import make_bad_files, make_odd_but_valid_files

MORPHS = ("network", "dispersed", "bundle", "singular")


# -- shared helpers ------------------------------------------------------------------------------
def make_images(folder: Path, n: int, shape=(96, 96), suffix=".png") -> list[Path]:
    """``n`` synthetic micrographs (the four morphologies in turn); their exact masks are
    saved beside them as ``<stem>.npy``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        sample = generate_morphology(MORPHS[i % 4], shape=shape, seed=i)
        path = folder / f"img_{i:03d}{suffix}"
        Image.fromarray(sample.image).save(path)
        np.save(folder / f"img_{i:03d}.npy", sample.mask)
        paths.append(path)
    return paths


def run(inputs, out, config=None, **options):
    """Run a batch in this process; its summary."""
    return run_job(run_batch([str(p) for p in inputs], out, config or BatchConfig(), **options))


def comparable(rows: list[dict]) -> list[dict]:
    """Rows without the timing column."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def make_project(folder: Path, n: int = 4, shape=(96, 96), labels: bool = False) -> Path:
    """A project of ``n`` synthetic images with their exact masks stored (label 1 = wire)."""
    paths = make_images(folder / "images", n, shape)
    with Project.create(folder / "project") as project:
        run_job(project.images.add(paths))
        for record, path in zip(project.images.all(), paths):
            project.masks.save(record.id, np.load(path.with_suffix(".npy")).astype(np.uint8))
            if labels and record.id <= 2 * 4:
                project.labels.set(record.id, MORPHS[(record.id - 1) % 4])
    return folder / "project"


def train_classifier(paths: list[Path], out: Path) -> Path:
    """A few-shot classifier trained on ``paths`` (labels: their morphology)."""
    from nanomorph.embedding import embed_images
    from nanomorph.encoders import get_encoder_spec
    from nanomorph.fewshot.head import FewShotClassifier, encoder_metadata

    embedded = run_job(embed_images(paths, device="cpu"))
    labels = [MORPHS[int(Path(p).stem.split("_")[1]) % 4] for p in embedded.paths]
    spec = get_encoder_spec("efficientnet-lite0")
    FewShotClassifier(encoder=encoder_metadata(spec)).fit(embedded.embeddings, labels).save(out)
    return out


def trained_classifier(tmp_path_factory) -> Path:
    """A classifier file trained on 8 small synthetic images (2 per morphology)."""
    folder = tmp_path_factory.mktemp("classifier")
    return train_classifier(make_images(folder, 8, (64, 64)), folder / "model.npz")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    return trained_classifier(tmp_path_factory)


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory) -> Path:
    """A tiny segmenter trained by its own training job on one synthetic image."""
    from nanomorph.segment.modelfile import save_segmenter
    from nanomorph.segment.pairs import prepare_pairs
    from nanomorph.segment.train import TrainConfig, train_segmenter

    sample = generate_morphology("network", shape=(128, 128), seed=0)
    pairs, classes = prepare_pairs([sample.image], [sample.mask])
    config = TrainConfig(epochs=1, steps_per_epoch=1, patch_px=64, batch_size=2, tile_px=128,
                         overlap_px=16, device="cpu")
    path = tmp_path_factory.mktemp("segmenter") / "segmenter.pt"
    save_segmenter(run_job(train_segmenter(pairs, classes, config)), path)
    return path


@pytest.fixture
def images(tmp_path) -> list[Path]:
    return make_images(tmp_path / "images", 6)


# -- rows ----------------------------------------------------------------------------------------
def test_rows_carry_path_hash_status_and_the_percolate_keys_in_input_order(images, tmp_path):
    summary = run([images[3], tmp_path / "images"], tmp_path / "out")
    rows = summary.rows
    assert [r["path"] for r in rows] == [str(images[3])] + [str(p) for p in images]
    columns = list(pq.read_table(tmp_path / "out" / PARQUET_FILE).column_names)
    assert columns[:4] == ["path", "sha256", "status", "error"]
    assert columns[4:4 + len(CONTRACT_KEYS) - 1] == list(CONTRACT_KEYS[1:])
    assert {"mask_source", "params", "config_sha256", "polarity"} <= set(columns)
    assert all(r["status"] == "ok" and r["error"] is None for r in rows)
    assert rows[0]["sha256"] == rows[4]["sha256"] and len({r["sha256"] for r in rows}) == 6
    assert summary.counts == {"images": 7, "ok": 7, "no mask": 0, "error": 0,
                              "percolates": sum(r["percolates"] for r in rows)}
    csv_text = (tmp_path / "out" / CSV_FILE).read_text().splitlines()
    assert csv_text[0].split(",")[:4] == ["path", "sha256", "status", "error"]
    assert len(csv_text) == 8
    assert pq.read_table(tmp_path / "out" / PARQUET_FILE).to_pylist() == list(rows)


def test_numbers_are_those_of_percolate_on_the_auto_mask(images, tmp_path):
    row = run([images[0]], tmp_path / "out").rows[0]
    image = np.asarray(Image.open(images[0]))
    polarity = suggest_polarity(image)
    mask = auto_mask(image, MaskParams(polarity=polarity))
    expected = percolate_foreground(mask, PercolationSettings()).as_record()
    expected["shape"] = "x".join(map(str, expected["shape"]))
    assert {k: row[k] for k in expected if k != "seconds"} == \
           {k: v for k, v in expected.items() if k != "seconds"}
    assert row["polarity"] == polarity and row["mask_source"] == "auto:otsu"


def test_unreadable_files_become_error_rows_and_the_others_go_on(images, tmp_path):
    bad = make_bad_files(tmp_path / "bad")
    inputs = [images[0], *bad.values(), tmp_path / "missing.tif", images[1]]
    summary = run(inputs, tmp_path / "out")
    status = [r["status"] for r in summary.rows]
    assert status == ["ok"] + ["error"] * (len(bad) + 1) + ["ok"]
    reasons = [r["error"] for r in summary.rows[1:-1]]
    assert all(reason and "\n" not in reason for reason in reasons)
    assert "empty" in reasons[0] and reasons[-1] == "no such file"
    assert summary.counts["error"] == len(bad) + 1


def test_stacks_nan_floats_and_non_utf8_names_work_and_resume(tmp_path):
    files = make_odd_but_valid_files(tmp_path / "odd")
    first = run([tmp_path / "odd"], tmp_path / "out")
    assert [r["status"] for r in first.rows] == ["ok"] * 7  # two stills, five frames
    frames = [r for r in first.rows if r.get("frame") is not None]
    assert [r["frame"] for r in frames] == [0, 1, 2, 3, 4]
    assert {r["shape"] for r in frames} == {"64x80"}  # each frame of the stack on its own
    table = pq.read_table(tmp_path / "out" / PARQUET_FILE).to_pylist()
    assert table[0]["path"] == display_path(files["non_utf8_name"])
    assert table[0]["path"].endswith("caf\\xe9.tif")
    assert run([tmp_path / "odd"], tmp_path / "out").reused == 7


# -- masks ---------------------------------------------------------------------------------------
def test_existing_masks_are_matched_by_stem_and_mapped_by_foreground(images, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    truth = [np.load(p.with_suffix(".npy")) for p in images]
    Image.fromarray(truth[0] * np.uint8(127)).save(masks / "img_000.png")
    labels = truth[1] * np.uint8(127)
    labels[:4, :4] = 255  # a second class, not wire
    Image.fromarray(labels).save(masks / "img_001_mask.png")
    Image.fromarray(truth[3] * np.uint8(127)).save(masks / "img_003.png")
    Image.fromarray(truth[3] * np.uint8(127)).save(masks / "img_003_mask.tif")
    config = BatchConfig(mask_source="masks", masks_dir=str(masks), foreground="127")
    rows = run(images[:4], tmp_path / "out", config).rows
    assert [r["status"] for r in rows] == ["ok", "ok", "no mask", "error"]
    assert rows[0]["foreground_pixels"] == int(truth[0].sum())
    assert rows[1]["foreground_pixels"] == int(truth[1][4:].sum() + truth[1][:4, 4:].sum())
    assert rows[1]["mask_path"] == str(masks / "img_001_mask.png") and rows[1]["mask_sha256"]
    assert "no mask for it" in rows[2]["error"] and "img_002_mask.*" in rows[2]["error"]
    assert "several masks match" in rows[3]["error"]


def test_a_mask_of_another_size_is_an_error_naming_the_mask(images, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(masks / "img_000.png")
    config = BatchConfig(mask_source="masks", masks_dir=str(masks))
    row = run(images[:1], tmp_path / "out", config).rows[0]
    assert row["status"] == "error"
    assert row["error"] == f"{masks / 'img_000.png'}: the mask is 12 × 10 px but the image is " \
                           "96 × 96 px"


def test_a_project_is_analysed_with_its_stored_masks_exactly_as_the_gui(tmp_path):
    folder = make_project(tmp_path, 3)
    rows = run([folder], tmp_path / "out", BatchConfig(mask_source="project")).rows
    with Project.open(folder) as project:
        for record, row in zip(project.images.all(), rows):
            summary, _ = analyse_image_mask(project.masks.read(record.id), record,
                                            PercolationSettings())
            expected = {k: v for k, v in summary.items()
                        if k in CONTRACT_KEYS and k not in ("seconds", "shape")}
            assert {k: row[k] for k in expected} == expected
            assert row["path"] == record.path and row["sha256"] == record.sha256
            assert row["mask_source"] == "project" and "dice" not in row
        assert project.runs.list("batch")[-1]["status"] == "done"
        assert project.runs.list("batch")[-1]["result"]["ok"] == 3


def test_unmasked_project_images_are_no_mask_and_keep_their_class(tmp_path, classifier):
    from nanomorph.project import Project

    folder = make_project(tmp_path, 3)
    with Project.open(folder) as project:
        unmasked = project.images.add_one(make_images(tmp_path / "more", 1, (80, 80))[0])
    summary = run([folder], tmp_path / "out",
                  BatchConfig(mask_source="project", classifier=str(classifier)))
    row = next(r for r in summary.rows if r["path"] == unmasked.path)
    assert row["status"] == "no mask" and "Mask step" in row["error"]
    assert row["label"] in MORPHS and len(row["sha256"]) == 64
    assert summary.counts["no mask"] == 1 and summary.counts["error"] == 0
    assert summary.counts["ok"] == 3


def test_sem_info_bar_is_left_out_of_the_analysed_frame(tmp_path):
    sample = generate_morphology("network", shape=(120, 96), seed=4, contrast="sem")
    image = sample.image.copy()
    image[-20:] = 0
    image[-12:-8, 10:40:3] = 255  # text in the bar
    tifffile.imwrite(tmp_path / "sem.tif", image)
    row = run([tmp_path / "sem.tif"], tmp_path / "out").rows[0]
    assert row["databar_rows"] == 20 and row["shape"] == "100x96"


def test_computed_masks_of_a_project_are_scored_against_its_stored_masks(tmp_path):
    folder = make_project(tmp_path, 4)
    rows = run([folder], tmp_path / "out", BatchConfig(mask_source="auto")).rows
    assert all(0.5 < r["dice"] <= 1 and 0 < r["iou"] <= r["dice"] for r in rows)
    assert all(r["truth_sha256"] for r in rows)


def test_project_masks_need_a_project_and_a_project_comes_alone(images, tmp_path):
    with pytest.raises(InvalidParameterError, match="only be analysed when the input is a"):
        run(images, tmp_path / "out", BatchConfig(mask_source="project"))
    folder = make_project(tmp_path / "p", 1)
    with pytest.raises(InvalidParameterError, match="must be the only input"):
        run([folder, images[0]], tmp_path / "out")


# -- outputs -------------------------------------------------------------------------------------
def test_masks_and_overlays_are_written_on_request(images, tmp_path):
    config = BatchConfig(write_masks=True, write_overlays=True, skeleton=True)
    rows = run(images[:2] + images[:1], tmp_path / "out", config).rows
    assert [r["mask_file"] for r in rows] == ["masks/img_000.png", "masks/img_001.png",
                                              "masks/img_000-2.png"]
    mask = np.asarray(Image.open(tmp_path / "out" / rows[0]["mask_file"]))
    assert mask.shape == (96, 96) and set(np.unique(mask)) <= {0, 255}
    assert int((mask > 0).sum()) == rows[0]["foreground_pixels"]
    overlay = np.asarray(Image.open(tmp_path / "out" / rows[1]["overlay_file"]))
    assert overlay.shape == (96, 96, 3)
    assert rows[0]["total_length_px"] > 0 and rows[0]["junctions"] >= 0
    assert "diameter_mean" not in rows[0]
    run_file = read_run_file(tmp_path / "out")
    assert run_file["n_images"] == 3 and run_file["counts"]["ok"] == 3


def test_morphometry_adds_the_measure_summary_as_columns(images, tmp_path):
    from nanomorph.cli.measure import measure_mask_file

    config = BatchConfig(write_masks=True, morphometry=True)
    row = run(images[:1], tmp_path / "out", config).rows[0]
    measured = measure_mask_file(str(tmp_path / "out" / row["mask_file"]), "auto", None)
    assert row["wires"] == measured["n_wires"] > 0
    assert row["diameter_mean"] == pytest.approx(measured["diameter"]["mean"])
    assert row["order_parameter"] == pytest.approx(measured["orientation"]["order_parameter"])
    assert row["morphometry_unit"] == measured["unit"]
    assert {"length_mean", "wires_complete", "nL2_over_threshold", "junctions_per_um2"} <= set(row)


def test_classifier_adds_label_confidence_and_its_hash(images, tmp_path, classifier):
    summary = run(images[:4], tmp_path / "out", BatchConfig(classifier=str(classifier)))
    for row in summary.rows:
        probabilities = json.loads(row["probabilities"])
        assert row["label"] in MORPHS and set(probabilities) <= set(MORPHS)
        assert row["confidence"] == pytest.approx(max(probabilities.values()))
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert len(row["classifier_sha256"]) == 64
        wanted = {"network": True, "dispersed": False, "singular": False}.get(row["label"])
        assert row["consistency"] == ("unknown" if wanted is None else
                                      "ok" if row["percolates"] == wanted else "disagrees")
    assert [r["label"] for r in summary.rows] == ["network", "dispersed", "bundle", "singular"]


def test_a_segmenter_makes_the_masks(images, tmp_path, segmenter):
    from nanomorph.batch.models import one_torch_thread
    from nanomorph.segment.modelfile import load_segmenter

    config = BatchConfig(mask_source="segmenter", segmenter=str(segmenter), write_masks=True,
                         device="cpu")
    rows = run(images[:2], tmp_path / "out", config).rows
    model = load_segmenter(segmenter, "cpu")
    for path, row in zip(images, rows):
        assert row["status"] == "ok" and row["mask_source"] == "segmenter"
        assert len(row["segmenter_sha256"]) == 64
        with one_torch_thread():
            labels = model.predict(np.asarray(Image.open(path)), probabilities=False).labels
        assert row["foreground_pixels"] == int((labels == model.classes.nanowire).sum())
        mask = np.asarray(Image.open(tmp_path / "out" / row["mask_file"]))
        assert set(np.unique(mask)) <= {0, 255}


def test_a_file_that_is_no_classifier_stops_the_run_before_any_work(images, tmp_path):
    bogus = tmp_path / "model.npz"
    bogus.write_bytes(b"not a model")
    with pytest.raises(Exception, match="not a nanomorph classifier"):
        run(images[:1], tmp_path / "out", BatchConfig(classifier=str(bogus)))
    assert not (tmp_path / "out" / CSV_FILE).exists()


# -- the job -------------------------------------------------------------------------------------
def test_progress_gives_one_row_per_image_and_cancel_keeps_what_finished(images, tmp_path):
    token = CancelToken()
    job = run_batch([str(tmp_path / "images")], tmp_path / "out", BatchConfig(),
                    images_per_task=2, cancel=token)
    first = next(job)
    assert first.total == 6 and first.payload["path"] == str(images[0])
    token.cancel()
    with pytest.raises(JobCancelled):
        for _ in job:
            pass
    again = run([tmp_path / "images"], tmp_path / "out", images_per_task=2)
    assert again.reused == 2 and again.computed == 4


def test_configuration_key_follows_parameters_and_models():
    base = BatchConfig()
    assert base.key({}) == BatchConfig().key({})
    assert base.key({}) != BatchConfig(percolation=PercolationSettings(eps=3)).key({})
    assert base.key({"classifier": "a"}) != base.key({"classifier": "b"})
    assert BatchConfig.from_json(json.loads(json.dumps(base.as_json()))) == base
    with pytest.raises(InvalidParameterError):
        BatchConfig(mask_source="magic")
    with pytest.raises(InvalidParameterError):
        BatchConfig(mask_source="segmenter")
