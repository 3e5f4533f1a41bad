"""The embedding job and its cache: input order, failures in a batch, cancel and resume, cache
hits without the network, mixed sizes and bit depths, the real encoder on real data."""

from __future__ import annotations

import dataclasses
import sqlite3

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import torch

from nanomorph.embedding import EmbeddingCache, clear_model_cache, embed_images
from nanomorph.embedding.cache import FILE_NAME
from nanomorph.encoders import EncoderSpec, PreprocessSpec
from nanomorph.errors import InvalidParameterError, JobCancelled
from nanomorph.jobs import CancelToken, run_job
from nanomorph.project import Project


class TinyEncoder(torch.nn.Module):
    """8-d embeddings of 32-px inputs; counts the images it embeds."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 5, stride=4)
        self.seen = self.largest_batch = 0

    def forward_features(self, x):
        return [self.conv(x)]

    def embed(self, x):
        self.seen += len(x)
        self.largest_batch = max(self.largest_batch, len(x))
        return torch.tanh(self.forward_features(x)[-1]).mean(dim=(2, 3))


def tiny_spec(builder=TinyEncoder, **preprocess) -> EncoderSpec:
    return EncoderSpec(name="tiny-test", description="test", builder=builder, embedding_dim=8,
                       feature_channels=(8,), preprocess=PreprocessSpec(size_px=32, **preprocess),
                       weights_id="test:0", feature_strides=(4,))


@pytest.fixture(autouse=True)
def fresh_models():
    clear_model_cache()
    yield
    clear_model_cache()


def write_images(folder, n: int, shape=(40, 50)) -> list[str]:
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        path = folder / f"img{i:02d}.png"
        iio.imwrite(path, (rng.random(shape) * 255).astype(np.uint8))
        paths.append(str(path))
    return paths


def run(items, **kwargs):
    kwargs.setdefault("encoder", tiny_spec())
    kwargs.setdefault("device", "cpu")
    return run_job(embed_images(items, **kwargs))


def test_embeddings_come_in_input_order_with_their_hashes(tmp_path):
    paths = write_images(tmp_path, 5)
    result = run(paths, batch_size=2)
    assert result.embeddings.shape == (5, 8) and result.embeddings.dtype == np.float32
    assert result.paths == paths and not result.failed
    assert len(set(result.sha256s)) == 5 and all(len(s) == 64 for s in result.sha256s)
    reversed_result = run(paths[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_result.embeddings, result.embeddings[::-1], atol=1e-6)
    single = run([paths[3]])
    np.testing.assert_allclose(single.embeddings[0], result.embeddings[3], atol=1e-6)
    assert result.encoder == "tiny-test" and result.encoder_key == "tiny-test@test:0"


def test_a_corrupt_image_in_the_middle_of_a_batch_is_skipped_with_its_reason(tmp_path):
    good = write_images(tmp_path, 4)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    missing = str(tmp_path / "missing.png")
    items = [good[0], str(corrupt), good[1], missing, good[2], str(tmp_path), good[3]]
    result = run(items, batch_size=8)
    assert result.paths == good and result.embeddings.shape == (4, 8)
    assert [path for path, _ in result.failed] == [str(corrupt), missing, str(tmp_path)]
    reasons = [reason for _, reason in result.failed]
    assert "cannot read this file as PNG" in reasons[0]
    assert reasons[1:] == ["no such file", "this is a folder, not an image file"]
    np.testing.assert_allclose(result.embeddings, run(good).embeddings, atol=1e-6)


def test_progress_is_reported_once_per_batch_and_counts_every_item(tmp_path):
    events = []
    paths = write_images(tmp_path, 7)
    run_job(embed_images(paths + [str(tmp_path / "x.png")], encoder=tiny_spec(), device="cpu",
                         batch_size=3), events.append)
    assert [(e.done, e.total) for e in events] == [(1, 8), (4, 8), (7, 8), (8, 8)]
    assert "from the cache" in events[0].message


def test_cancel_mid_way_keeps_finished_batches_and_the_rerun_resumes(tmp_path):
    paths = write_images(tmp_path, 6)
    cache_dir = tmp_path / "cache"
    token = CancelToken()
    job = embed_images(paths, encoder=tiny_spec(), device="cpu", batch_size=2, cache=cache_dir,
                       cancel=token)
    with pytest.raises(JobCancelled):
        for event in job:
            if event.message.startswith("embedded"):
                token.cancel()
    with EmbeddingCache(cache_dir) as cache:
        assert cache.count() == 2  # the first batch survived
    clear_model_cache()
    built = []
    spec = tiny_spec(builder=lambda: built.append(TinyEncoder()) or built[-1])
    result = run(paths, encoder=spec, batch_size=2, cache=cache_dir)
    assert result.from_cache == 2 and built[0].seen == 4
    np.testing.assert_allclose(result.embeddings, run(paths).embeddings, atol=1e-6)


def test_a_runner_closing_the_job_keeps_finished_batches(tmp_path):
    paths = write_images(tmp_path, 6)
    job = embed_images(paths, encoder=tiny_spec(), device="cpu", batch_size=2,
                       cache=tmp_path / "cache")
    for event in job:
        if event.message.startswith("embedded"):
            job.close()  # what the CLI does on Ctrl-C
            break
    with EmbeddingCache(tmp_path / "cache") as cache:
        assert cache.count() == 2


def test_a_cache_hit_never_builds_the_network(tmp_path):
    paths = write_images(tmp_path, 3)
    first = run(paths, cache=tmp_path)
    clear_model_cache()

    def no_network():
        raise AssertionError("the network was built although everything was cached")

    again = run(paths, encoder=tiny_spec(builder=no_network), cache=tmp_path)
    assert again.from_cache == 3
    np.testing.assert_array_equal(again.embeddings, first.embeddings)


def test_the_cache_keys_on_content_encoder_weights_and_preprocessing(tmp_path):
    paths = write_images(tmp_path, 2)
    cache = EmbeddingCache(tmp_path / "c")
    run(paths, cache=cache)
    renamed = tmp_path / "renamed.png"
    renamed.write_bytes(open(paths[0], "rb").read())
    assert run([renamed], cache=cache).from_cache == 1  # same content, other name
    assert run(paths, encoder=tiny_spec(percentiles=(1.0, 99.0)), cache=cache).from_cache == 0
    other_weights = dataclasses.replace(tiny_spec(), weights_id="test:1")
    assert run(paths, encoder=other_weights, cache=cache).from_cache == 0
    assert cache.count() == 6 and cache.count("tiny-test@test:0") == 4


def test_a_changed_file_is_hashed_again(tmp_path):
    paths = write_images(tmp_path, 2)
    first = run(paths, cache=tmp_path / "c")
    iio.imwrite(paths[1], np.zeros((40, 50), np.uint8) + 9)
    second = run(paths, cache=tmp_path / "c")
    assert second.from_cache == 1 and second.sha256s[1] != first.sha256s[1]


def test_known_hashes_skip_hashing(tmp_path, monkeypatch):
    paths = write_images(tmp_path, 2)
    shas = run(paths).sha256s
    import nanomorph.io.hashing as hashing

    monkeypatch.setattr(hashing, "sha256_file", lambda path: pytest.fail("hashed again"))
    result = run(list(zip(paths, shas)), cache=tmp_path / "c")
    assert result.sha256s == shas


def test_duplicate_contents_are_embedded_once(tmp_path):
    paths = write_images(tmp_path, 1)
    copy = tmp_path / "copy.png"
    copy.write_bytes(open(paths[0], "rb").read())
    built = []
    spec = tiny_spec(builder=lambda: built.append(TinyEncoder()) or built[-1])
    result = run([paths[0], str(copy), paths[0]], encoder=spec)
    assert result.paths == [paths[0], str(copy), paths[0]] and built[0].seen == 1
    assert np.array_equal(result.embeddings[0], result.embeddings[1])


def test_mixed_sizes_and_bit_depths_embed(tmp_path):
    rng = np.random.default_rng(3)
    texture = (rng.random((90, 120)) * 250).astype(np.uint8)
    files = {"u8.png": texture, "u16.tif": texture.astype(np.uint16) * 257,
             "f32.tif": texture.astype(np.float32) / 255, "tiny.png": texture[:5, :7],
             "tall.tif": (rng.random((700, 60)) * 4000).astype(np.uint16)}
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        (tifffile.imwrite if name.endswith(".tif") else iio.imwrite)(path, data)
        paths.append(str(path))
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.stack([texture, texture[::-1]]))
    result = run(paths + [str(stack)], batch_size=4)
    assert not result.failed and result.embeddings.shape == (6, 8)
    assert np.isfinite(result.embeddings).all()
    np.testing.assert_allclose(result.embeddings[1], result.embeddings[0], atol=1e-5)
    np.testing.assert_allclose(result.embeddings[2], result.embeddings[0], atol=1e-5)
    np.testing.assert_allclose(result.embeddings[5], result.embeddings[0], atol=1e-5)  # page 0


def test_tiles_are_averaged_and_the_network_sees_at_most_a_batch_of_crops(tmp_path):
    paths = write_images(tmp_path, 3, shape=(64, 128))  # 2 × 4 tiles of 32 px each
    built = []
    spec = tiny_spec(builder=lambda: built.append(TinyEncoder()) or built[-1], mode="tiles")
    result = run(paths, encoder=spec, batch_size=3)
    assert result.embeddings.shape == (3, 8)
    assert built[0].seen == 3 * 8 and built[0].largest_batch == 3
    np.testing.assert_allclose(result.embeddings, run(paths, encoder=spec).embeddings, atol=1e-6)


def test_a_project_cache_lives_in_its_cache_folder_and_can_be_deleted(tmp_path):
    import shutil

    paths = write_images(tmp_path, 2)
    with Project.create(tmp_path / "proj") as project:
        cache = EmbeddingCache.for_project(project)
        run(paths, cache=cache)
        assert (project.cache_dir / FILE_NAME).is_file()
        cache.close()
        shutil.rmtree(project.cache_dir)
        assert run(paths, cache=project.cache_dir).from_cache == 0
        assert run(paths, cache=project.cache_dir).from_cache == 2


def test_a_damaged_cache_file_is_replaced_with_a_warning(tmp_path):
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="damaged"):
        cache = EmbeddingCache(tmp_path)
    paths = write_images(tmp_path, 1)
    assert run(paths, cache=cache).embeddings.shape == (1, 8) and cache.count() == 1
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_networks_are_built_once_per_encoder_and_device_in_their_layout():
    from nanomorph.embedding.models import loaded_encoder
    from nanomorph.encoders import get_encoder_spec

    resnet = get_encoder_spec("resnet18-random")
    first = loaded_encoder(resnet, "cpu")
    assert loaded_encoder(resnet, "cpu") is first and not first.module.training
    assert first.channels_last  # measured faster on the CPU, for nanomorph's own networks
    assert first.module.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not loaded_encoder(tiny_spec(), "cpu").channels_last  # plug-ins keep theirs
    out = first.embed(np.zeros((2, 3, 64, 64), np.float32))
    assert out.shape == (2, 512) and out.dtype == np.float32


def test_an_encoder_breaking_its_promise_is_reported(tmp_path):
    from nanomorph.errors import NanomorphError

    liar = dataclasses.replace(tiny_spec(), embedding_dim=16)
    with pytest.raises(NanomorphError, match=r"shape \(2, 8\), expected \(2, 16\)"):
        run(write_images(tmp_path, 2), encoder=liar)


def test_bad_parameters_are_refused_before_any_work(tmp_path):
    with pytest.raises(InvalidParameterError, match="batch size"):
        run([], batch_size=0)
    with pytest.raises(InvalidParameterError, match="unknown encoder"):
        run([], encoder="no-such-encoder")
    with pytest.raises(InvalidParameterError, match="cuda"):
        run([], device="cuda")


def test_no_items_give_an_empty_result():
    result = run([])
    assert result.embeddings.shape == (0, 8) and result.paths == [] and result.failed == []


@pytest.fixture(scope="module")
def real_images(shared_data):
    return [str(shared_data / "sem_nanowires" / "13.tif"),
            str(shared_data / "sem_nanowires" / "22.tif"),
            str(shared_data / "agnw_network_sem" / "agnw_0001.tif")]


def test_the_imagenet_encoder_on_real_micrographs(real_images, tmp_path):
    result = run(real_images, encoder="efficientnet-lite0", cache=tmp_path)
    assert result.embeddings.shape == (3, 1280) and not result.failed
    assert (result.embeddings >= 0).all() and (result.embeddings <= 6).all()  # ReLU6 averages
    unit = result.embeddings / np.linalg.norm(result.embeddings, axis=1, keepdims=True)
    cosine = unit @ unit.T
    # two dispersed-wire images (measured 0.69) vs a silver-nanowire network (0.15, 0.19)
    assert cosine[0, 1] > max(cosine[0, 2], cosine[1, 2]) + 0.3
    assert result.notes[real_images[0]] == ["info bar of 70 rows cut off"]
    assert result.notes[real_images[2]] == ["info bar of 64 rows cut off"]
    assert run(real_images, encoder="efficientnet-lite0", cache=tmp_path).from_cache == 3


def test_a_region_embeds_like_the_same_pixels_saved_as_an_image(tmp_path):
    import tifffile

    from nanomorph.embedding import embed_images, embed_plane
    from nanomorph.jobs import run_job
    from nanomorph.synthetic import generate_morphology

    plane = generate_morphology("network", shape=(300, 400), seed=2).image
    path = tmp_path / "region.tif"
    tifffile.imwrite(path, plane)
    from_file = run_job(embed_images([str(path)], device="cpu")).embeddings[0]
    direct = embed_plane(plane, device="cpu")
    assert direct.shape == from_file.shape
    cosine = direct @ from_file / np.linalg.norm(direct) / np.linalg.norm(from_file)
    assert cosine > 0.999


def test_cached_vectors_come_back_as_views_of_one_block_and_bad_rows_are_skipped(tmp_path):
    """get_many returns each vector as it was stored; rows of one length share one array (no
    bytes object per row kept alive); a row whose bytes do not match its length is absent."""
    from nanomorph.memory import release_freed_memory

    vectors = {f"{i:064x}": np.arange(i, i + 8, dtype=np.float32) for i in range(5)}
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many(vectors, "enc", "pre")
        cache._conn.execute("UPDATE embeddings SET dim = 9 WHERE sha256 = ?", (f"{3:064x}",))
        found = cache.get_many(list(vectors), "enc", "pre")
    assert sorted(found) == sorted(set(vectors) - {f"{3:064x}"})
    for sha, vector in found.items():
        np.testing.assert_array_equal(vector, vectors[sha])
    assert len({id(v.base) for v in found.values()}) == 1
    release_freed_memory()  # harmless anywhere (glibc's malloc_trim, else nothing)


@pytest.mark.parametrize("scan_from", [0, 100], ids=["read-in-order", "looked-up"])
def test_cached_rows_are_read_in_chunks_past_damaged_and_other_length_rows(tmp_path, monkeypatch,
                                                                           scan_from):
    """Chunks of 2 rows, all of the encoder's rows read in order or the asked ones looked up:
    a damaged first row does not set the matrix's width (the first whole row does), a whole row
    of another length and rows not asked for are left out, and the matrix keeps the asked
    order."""
    import nanomorph.embedding.cache as cache_module

    monkeypatch.setattr(cache_module, "_QUERY_CHUNK", 2)
    monkeypatch.setattr(cache_module, "_SCAN_FROM", scan_from)
    vectors = {f"{i:064x}": np.arange(i, i + 8, dtype=np.float32) for i in range(7)}
    vectors[f"{2:064x}"] = np.arange(4, dtype=np.float32)  # another encoder width
    asked = list(reversed(list(vectors)))
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many(vectors, "enc", "pre")
        cache.put_many({f"{9:064x}": np.ones(8, np.float32)}, "enc", "pre")  # not asked
        cache.put_many({asked[1]: np.ones(8, np.float32)}, "other", "pre")  # another encoder
        cache._conn.execute("UPDATE embeddings SET dim = 3 WHERE sha256 = ?", (asked[0],))
        found = cache.get_many(asked, "enc", "pre", dtype=np.float16)
    kept = [sha for sha in asked if sha not in (asked[0], f"{2:064x}")]
    assert sorted(found) == sorted(kept)
    for sha, vector in found.items():
        np.testing.assert_array_equal(vector, vectors[sha].astype(np.float16))
    block = found[kept[0]].base
    np.testing.assert_array_equal(block[[asked.index(sha) for sha in kept]],
                                  [vectors[sha] for sha in kept])


def test_the_matrix_of_cached_rows_is_not_copied_and_a_copy_frees_as_it_fills():
    from nanomorph.embedding.job import _matrix

    block = np.arange(12, dtype=np.float32).reshape(3, 4).copy()  # owns its rows, as the cache
    vectors = {"a": block[0], "b": block[1], "c": block[2]}
    assert _matrix(["a", "b", "c"], dict(vectors), 4, np.float32) is block  # all, in order
    shuffled = _matrix(["c", "a", "b"], dict(vectors), 4, np.float32)
    np.testing.assert_array_equal(shuffled, block[[2, 0, 1]])
    left = dict(vectors)
    twice = _matrix(["a", "a", "b"], left, 4, np.float32)  # duplicates: a copy, used ones dropped
    np.testing.assert_array_equal(twice, block[[0, 0, 1]])
    assert set(left) == {"c"}
    assert _matrix([], {}, 4, np.float32).shape == (0, 4)
    half = _matrix(["b", "c"], dict(vectors), 4, np.float16)  # another dtype: converted
    assert half.dtype == np.float16 and (half == block[1:]).all()


def test_a_float16_matrix_from_the_cache_is_the_float32_rows_rounded(tmp_path):
    rng = np.random.default_rng(0)
    vectors = {f"{i:064x}": rng.normal(0, 2, 1280).astype(np.float32) for i in range(6)}
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many(vectors, "enc", "pre")
        half = cache.get_many(list(vectors), "enc", "pre", dtype=np.float16)
        full = cache.get_many(list(vectors), "enc", "pre")
    for sha, vector in vectors.items():
        assert half[sha].dtype == np.float16 and full[sha].dtype == np.float32
        np.testing.assert_array_equal(half[sha], vector.astype(np.float16))
        np.testing.assert_array_equal(full[sha], vector)  # the cache keeps float32
