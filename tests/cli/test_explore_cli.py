"""`nanomorph explore cluster|similar` on the bundled samples: the JSON contract (exact keys,
input order), a label column ignored, error lines and exit codes."""

from __future__ import annotations

import json

import pytest

from nanomorph.cli import main
from nanomorph.synthetic.samples import LABELS_CSV, write_samples

pytestmark = pytest.mark.slow  # embeds 24 images once


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    written = write_samples(folder)
    return folder, written, str(tmp_path_factory.mktemp("cache"))


def run(capsys, *args):
    code = main(["explore", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cluster_gives_one_object_per_image_in_input_order(samples, capsys):
    folder, written, cache = samples
    code, out, err = run(capsys, "cluster", folder / LABELS_CSV, "--n-clusters", "4", "--json",
                         "--cache", cache)
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [list(r) for r in records] == [["path", "cluster", "distance"]] * len(written)
    assert [r["path"] for r in records] == [str(s.image_path) for s in written]
    assert {r["cluster"] for r in records} == {0, 1, 2, 3}
    from sklearn.metrics import adjusted_rand_score

    truth = [s.name.split("_")[0] for s in written]
    assert adjusted_rand_score(truth, [r["cluster"] for r in records]) > 0.3
    code, text, _ = run(capsys, "cluster", folder, "--method", "hdbscan", "--cache", cache)
    assert code == 0 and "clusters of" in text.splitlines()[-1]
    code, out, _ = run(capsys, "cluster", folder, "--n-clusters", "4", "--pca", "8", "--json",
                       "--cache", cache)
    assert code == 0 and len(out.splitlines()) == len(written)


def test_similar_excludes_the_query_and_ranks_by_score(samples, capsys):
    folder, written, cache = samples
    query = written[0].image_path
    code, out, _ = run(capsys, "similar", query, "--in", folder / LABELS_CSV, "--top", "3",
                       "--json", "--cache", cache)
    assert code == 0
    record = json.loads(out)
    assert list(record) == ["path", "similar"] and record["path"] == str(query)
    assert [list(s) for s in record["similar"]] == [["path", "score"]] * 3
    assert str(query) not in [s["path"] for s in record["similar"]]
    scores = [s["score"] for s in record["similar"]]
    assert scores == sorted(scores, reverse=True)


def test_bad_inputs_are_one_line_each(samples, capsys, tmp_path):
    folder, written, cache = samples
    listing = tmp_path / "images.csv"
    listing.write_text(f"path,label\n{written[0].image_path},a\n{tmp_path / 'gone.tif'},b\n"
                       f"{written[1].image_path},c\n")
    code, out, err = run(capsys, "cluster", listing, "--n-clusters", "2", "--json", "--cache",
                         cache)
    assert code == 2 and len(out.splitlines()) == 2
    assert err.splitlines() == [f"error: {tmp_path / 'gone.tif'}: no such file"]
    code, _, err = run(capsys, "cluster", listing, "--n-clusters", "5", "--cache", cache)
    assert code == 2 and "5 clusters asked of 2 images" in err
    assert run(capsys, "cluster", tmp_path / "absent")[0] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "cluster", empty)
    assert code == 2 and err == f"error: {empty}: the folder holds no image file nanomorph " \
                                "reads\n"
    nopath = tmp_path / "nopath.csv"
    nopath.write_text("file,label\nx.tif,a\n")
    assert "path column" in run(capsys, "cluster", nopath)[2]
    assert run(capsys, "cluster", listing, "--n-clusters", "0")[0] == 1
    code, out, err = run(capsys, "similar", tmp_path / "gone.tif", "--in", folder, "--cache",
                         cache)
    assert code == 2 and out == "" and "gone.tif: no such file" in err
