"""`nanomorph classify train|predict|evaluate` on the bundled synthetic samples: the JSON
contract (exact keys), input order, error lines and exit codes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nanomorph.cli import main
from nanomorph.synthetic.samples import LABELS_CSV, write_samples

pytestmark = pytest.mark.slow  # embeds 24 images once (about 5-10 s on a CPU)

CLASSES = ["bundle", "dispersed", "network", "singular"]
PREDICT_KEYS = ["path", "label", "confidence", "probabilities"]
RESULT_KEYS = ["k", "accuracy_mean", "accuracy_std", "macro_f1_mean", "repeats"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    written = write_samples(folder)
    return folder, written, str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def model(samples, tmp_path_factory):
    folder, _, cache = samples
    path = tmp_path_factory.mktemp("model") / "classes.model"
    assert main(["classify", "train", str(folder / LABELS_CSV), "--out", str(path),
                 "--cache", cache, "--device", "cpu"]) == 0
    return path


def run(capsys, *args):
    code = main(["classify", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_writes_one_model_file(model):
    assert model.is_file() and model.stat().st_size > 1000
    assert list(model.parent.iterdir()) == [model]  # no temporary files left behind


def test_predict_json_keys_order_and_probabilities(samples, model, capsys):
    _, written, cache = samples
    paths = [str(s.image_path) for s in written[::-1]]  # reversed: output follows the input
    code, out, err = run(capsys, "predict", model, *paths, "--json", "--cache", cache)
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [list(r) for r in records] == [PREDICT_KEYS] * len(paths)
    assert [r["path"] for r in records] == paths
    for record in records:
        assert list(record["probabilities"]) == CLASSES
        assert sum(record["probabilities"].values()) == pytest.approx(1.0)
        assert record["confidence"] == max(record["probabilities"].values())
        assert record["label"] == max(record["probabilities"], key=record["probabilities"].get)
    truth = [s.label for s in written[::-1]]
    assert np.mean([r["label"] == t for r, t in zip(records, truth)]) == 1.0  # its own labels


def test_predict_reports_failed_images_and_goes_on(samples, model, capsys, tmp_path):
    _, written, cache = samples
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff")
    good = str(written[0].image_path)
    code, out, err = run(capsys, "predict", model, tmp_path / "absent.tif", good, broken,
                         "--json", "--cache", cache)
    assert code == 2
    assert [json.loads(line)["path"] for line in out.splitlines()] == [good]
    lines = err.splitlines()
    assert lines[0] == f"error: {tmp_path / 'absent.tif'}: no such file"
    assert lines[1].startswith(f"error: {broken}: ") and len(lines) == 2
    code, out, _ = run(capsys, "predict", model, good, "--cache", cache)  # readable mode
    assert code == 0 and out.startswith(f"{good}: ")


def test_predict_with_a_file_that_is_not_a_model(samples, capsys, tmp_path):
    _, written, _ = samples
    fake = tmp_path / "fake.model"
    fake.write_text("hello")
    code, out, err = run(capsys, "predict", fake, written[0].image_path, "--json")
    assert code == 2 and out == ""
    assert err == f"error: {fake}: is not a nanomorph classifier file\n"


def test_evaluate_json_is_one_object_with_the_contract_keys(samples, capsys):
    folder, _, cache = samples
    code, out, err = run(capsys, "evaluate", folder / LABELS_CSV, "--k", "1,2,8",
                         "--repeats", "3", "--seed", "1", "--json", "--cache", cache)
    assert code == 0
    assert len(out.splitlines()) == 1
    result = json.loads(out)
    assert list(result) == ["encoder", "classes", "n_images", "results", "control"]
    assert result["encoder"] == "efficientnet-lite0" and result["classes"] == CLASSES
    assert result["n_images"] == 24
    for rows in (result["results"], result["control"]):
        assert [list(r) for r in rows] == [RESULT_KEYS] * 2
        assert [r["k"] for r in rows] == [1, 2] and all(r["repeats"] == 3 for r in rows)
        assert all(0 <= r["accuracy_mean"] <= 1 for r in rows)
    # six images per class: K = 8 is skipped with a warning, not an error
    assert err.startswith("warning: K = 8 skipped: class 'bundle' has 6 image(s)")
    code, again, _ = run(capsys, "evaluate", folder / LABELS_CSV, "--k", "1,2,8",
                         "--repeats", "3", "--seed", "1", "--json", "--cache", cache)
    assert again == out  # same seed, same splits, same numbers


def test_evaluate_reports_missing_images_and_uses_the_rest(samples, capsys, tmp_path):
    folder, written, cache = samples
    for sample in written:
        shutil.copy(sample.image_path, tmp_path / sample.image_path.name)
    lines = (folder / LABELS_CSV).read_text().splitlines()
    lines.insert(3, "gone.tif,network,gone")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "evaluate", tmp_path / "labels.csv", "--k", "1",
                         "--repeats", "2", "--cache", cache)
    assert code == 2
    assert err.splitlines()[0] == f"error: {tmp_path / 'gone.tif'}: no such file"
    assert "24 images" in out and "density control" in out and "intensity control" in out


def test_labels_file_problems_and_bad_command_lines(samples, capsys, tmp_path):
    one_class = tmp_path / "labels.csv"
    folder, written, cache = samples
    one_class.write_text(f"path,label\n{written[0].image_path},network\n"
                         f"{written[1].image_path},network\n")
    code, out, err = run(capsys, "train", one_class, "--out", tmp_path / "m", "--cache", cache)
    assert code == 2 and "at least two classes" in err and not (tmp_path / "m").exists()
    code, _, err = run(capsys, "train", tmp_path / "absent.csv", "--out", tmp_path / "m")
    assert code == 2 and err == f"error: {tmp_path / 'absent.csv'}: no such file\n"
    assert run(capsys, "evaluate", one_class, "--k", "0")[0] == 1
    assert run(capsys, "evaluate", one_class, "--encoder", "no-such-encoder")[0] == 1
    assert run(capsys, "train", one_class)[0] == 1  # --out is required


def test_a_model_trained_with_another_preprocessing_predicts_with_it(samples, capsys,
                                                                     tmp_path):
    folder, written, cache = samples
    path = tmp_path / "resize.model"
    assert run(capsys, "train", folder / LABELS_CSV, "--out", path, "--cache", cache,
               "--preprocess", "resize", "--no-tta")[0] == 0
    from nanomorph.fewshot.head import FewShotClassifier

    recorded = FewShotClassifier.load(path, check_encoder=False).encoder["preprocess"]
    assert recorded["mode"] == "resize" and recorded["dihedral"] is False
    code, out, _ = run(capsys, "predict", path, written[0].image_path, "--json", "--cache",
                       cache)
    assert code == 0 and json.loads(out)["label"] in CLASSES


def test_semi_supervised_evaluation_keeps_the_contract(samples, capsys):
    folder, _, cache = samples
    code, out, _ = run(capsys, "evaluate", folder / LABELS_CSV, "--k", "1,2", "--repeats", "3",
                       "--json", "--cache", cache, "--semi-supervised")
    assert code == 0
    result = json.loads(out)
    assert list(result) == ["encoder", "classes", "n_images", "results", "control"]
    assert [r["k"] for r in result["results"]] == [1, 2]
    assert all(0.5 <= r["accuracy_mean"] <= 1 for r in result["results"])


def test_an_unknown_preprocessing_is_a_command_line_error(samples, capsys):
    folder, _, _ = samples
    code, _, err = run(capsys, "evaluate", folder / LABELS_CSV, "--preprocess", "squash")
    assert code == 1 and "invalid choice: 'squash'" in err
