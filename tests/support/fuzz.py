"""A seeded mutation fuzzer for the readers and the model loaders.

Each seed file is mutated (truncated, bytes flipped, a range zeroed or a chunk repeated) and the
mutant is read with a watchdog. What counts:

- a *hang*: the read did not end within ``HANG_S`` seconds;
- a *traceback*: anything else than a NanomorphError escaped (a front-end would show it raw);
- a *truncated file reported readable*: ``read_info`` accepted a file cut short whose image
  then cannot be read, or reads differently from the whole file (a cut that removed only
  bytes no reader uses, e.g. a trailing thumbnail, is no loss).

``tests/engine/test_fuzz.py`` runs a small budget in ``make test``;
``tests/benchmarks/test_bench_fuzz.py`` a large one whose counts go into the README.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HANG_S = 20.0
KINDS = ("truncate", "flip", "zero", "repeat")


def mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One random mutation of ``data``: (kind, mutant bytes)."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    n = len(data)
    if kind == "truncate":
        return kind, data[:int(rng.integers(1, max(2, n)))]
    buffer = bytearray(data)
    if kind == "flip":
        for _ in range(int(rng.integers(1, 17))):
            buffer[int(rng.integers(n))] ^= int(rng.integers(1, 256))
    elif kind == "zero":
        start = int(rng.integers(n))
        buffer[start:start + int(rng.integers(1, 4096))] = bytes(
            min(n - start, int(rng.integers(1, 4096))))
    else:
        start = int(rng.integers(n))
        chunk = buffer[start:start + int(rng.integers(1, 2048))]
        at = int(rng.integers(n))
        buffer[at:at] = chunk
    return kind, bytes(buffer)


@dataclass
class FuzzReport:
    """Counts of one fuzz run."""

    tried: int = 0
    seconds: float = 0.0
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    hangs: list = field(default_factory=list)
    tracebacks: list = field(default_factory=list)
    truncated_readable: list = field(default_factory=list)


def run_with_watchdog(action, timeout_s: float = HANG_S):
    """(finished, result or exception) of ``action()`` run in a daemon thread."""
    box: list = []

    def target():
        try:
            box.append(("ok", action()))
        except BaseException as exc:  # noqa: BLE001 - the fuzzer classifies everything
            box.append(("error", exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not box:
        return False, None
    return True, box[0]


def fuzz_readers(seeds: list[Path], budget: int, folder: Path, seed: int = 0) -> FuzzReport:
    """Mutate the seed files ``budget`` times in all and read each mutant.

    Parameters
    ----------
    seeds : list of Path
        Readable files of every format.
    budget : int
        Mutants to try.
    folder : Path
        Where mutants are written (same suffix as their seed).
    seed : int
        Seed of the mutations.

    Returns
    -------
    FuzzReport
        The counts.
    """
    from nanomorph.errors import NanomorphError
    from nanomorph.io import read_image
    from nanomorph.io.readers import read_info

    rng = np.random.default_rng(seed)
    report = FuzzReport()
    started = time.perf_counter()
    contents = [(path, path.read_bytes()) for path in seeds]
    whole = {path: read_image(path) for path in seeds}
    for i in range(budget):
        path, data = contents[i % len(contents)]
        kind, mutant = mutate(data, rng)
        target = folder / f"mutant_{i}{path.suffix}"
        target.write_bytes(mutant)
        cut = kind == "truncate" and len(mutant) < len(data)
        info_ok = False
        for step, action in (("info", lambda: read_info(target)),
                             ("read", lambda: read_image(target))):
            finished, outcome = run_with_watchdog(action)
            label = f"{path.name} {kind} #{i} {step}"
            if not finished:
                report.hangs.append(label)
                report.outcomes["hang"] += 1
                break
            status, value = outcome
            if status == "ok":
                report.outcomes[f"{step} ok"] += 1
                info_ok = info_ok or step == "info"
                if step == "read" and cut and not _same_image(value, whole[path]) \
                        and not value.metadata.get("truncated"):  # a cut movie says so
                    report.truncated_readable.append(f"{label}: reads differently")
                continue
            if cut and info_ok:
                report.truncated_readable.append(f"{label}: info accepted it, reading failed")
            if isinstance(value, NanomorphError):
                report.outcomes[type(value).__name__] += 1
            else:
                report.tracebacks.append(f"{label}: {type(value).__name__}: {value}")
                report.outcomes["traceback"] += 1
            break
        target.unlink(missing_ok=True)
        report.tried += 1
    report.seconds = time.perf_counter() - started
    return report


def _same_image(a, b) -> bool:
    return (a.data.shape == b.data.shape and np.array_equal(a.data, b.data, equal_nan=True)
            and a.calibration == b.calibration)


def fuzz_loaders(seeds: dict[str, Path], budget: int, folder: Path, seed: int = 0) -> FuzzReport:
    """Mutate model files and load them: classifier (``.npz``), segmenter and encoder (``.pt``).

    Parameters
    ----------
    seeds : dict
        ``classifier``, ``segmenter``, ``encoder`` → a valid file of that kind.
    budget : int
        Mutants to try.
    folder : Path
        Where mutants are written.
    seed : int
        Seed of the mutations.

    Returns
    -------
    FuzzReport
        The counts (a mutant that loads is ``load ok``: a byte flip inside a weight may give a
        valid file).
    """
    from nanomorph.encoders.saved import load_encoder_from_path
    from nanomorph.errors import NanomorphError
    from nanomorph.fewshot.head import FewShotClassifier
    from nanomorph.segment.modelfile import load_segmenter

    loaders = {"classifier": lambda p: FewShotClassifier.load(p, check_encoder=False),
               "segmenter": lambda p: load_segmenter(p, "cpu"),
               "encoder": load_encoder_from_path}
    rng = np.random.default_rng(seed)
    report = FuzzReport()
    started = time.perf_counter()
    kinds = list(seeds)
    contents = {k: seeds[k].read_bytes() for k in kinds}
    for i in range(budget):
        what = kinds[i % len(kinds)]
        kind, mutant = mutate(contents[what], rng)
        target = folder / f"model_{i}{seeds[what].suffix}"
        target.write_bytes(mutant)
        finished, outcome = run_with_watchdog(lambda: loaders[what](target))
        label = f"{what} {kind} #{i}"
        if not finished:
            report.hangs.append(label)
            report.outcomes["hang"] += 1
        elif outcome[0] == "ok":
            report.outcomes["load ok"] += 1
        elif isinstance(outcome[1], NanomorphError):
            report.outcomes[type(outcome[1]).__name__] += 1
        else:
            report.tracebacks.append(f"{label}: {type(outcome[1]).__name__}: {outcome[1]}")
            report.outcomes["traceback"] += 1
        target.unlink(missing_ok=True)
        report.tried += 1
    report.seconds = time.perf_counter() - started
    return report


def reader_seeds(folder: Path, shared_formats: Path | None) -> list[Path]:
    """Seed files of every format the readers take: generated ones, plus the real native
    files of ``shared_formats`` when given."""
    import imageio.v3 as iio
    import tifffile
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    gray8 = rng.integers(0, 255, (96, 128), dtype=np.uint8)
    gray16 = rng.integers(0, 65535, (64, 80), dtype=np.uint16)
    seeds = []
    tifffile.imwrite(folder / "plain.tif", gray16)
    tifffile.imwrite(folder / "imagej.tif", gray8, imagej=True, resolution=(200, 200),
                     metadata={"unit": "um"})
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 255, (3, 48, 64), dtype=np.uint8))
    tifffile.imwrite(folder / "tiled.tif", gray16, tile=(32, 32), compression="zlib")
    iio.imwrite(folder / "gray.png", gray8)
    iio.imwrite(folder / "gray16.png", gray16)
    Image.fromarray(gray8).save(folder / "photo.jpg", quality=90)
    Image.fromarray(gray8).save(folder / "bitmap.bmp")
    Image.fromarray(gray8).convert("P").save(folder / "palette.gif")
    seeds += sorted(folder.glob("*"))
    if shared_formats is not None:
        seeds += sorted(p for p in shared_formats.iterdir()
                        if p.suffix.lower() in (".dm3", ".dm4", ".emd", ".mrc", ".emi", ".ser",
                                                ".elid", ".tif"))
    return [s for s in seeds if s.suffix.lower() not in (".emi",)]  # an .emi needs its .ser


def model_seeds(folder: Path) -> dict[str, Path]:
    """A valid file of every model kind: classifier, segmenter and encoder."""
    import dataclasses

    import torch

    from nanomorph.encoders import get_encoder_spec, save_encoder
    from nanomorph.fewshot.head import FewShotClassifier
    from nanomorph.segment.classes import SegmentClasses
    from nanomorph.segment.model import build_network
    from nanomorph.segment.modelfile import save_segmenter
    from nanomorph.segment.segmenter import Segmenter

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 32))
    y = ["a", "b", "c"] * 4
    FewShotClassifier().fit(X, y).save(folder / "classifier.npz")
    spec = get_encoder_spec("efficientnet-lite0")
    torch.manual_seed(0)
    net = build_network(spec, 2, "cpu", widths=(4,) * 5).eval()
    classes = SegmentClasses(("background", "nanowire"), ((0,), (255,)), 1)
    save_segmenter(Segmenter(net=net, device="cpu", classes=classes, encoder_name=spec.name,
                             encoder_weights_id=spec.weights_id, decoder_widths=(4,) * 5),
                   folder / "segmenter.pt")
    save_encoder(folder / "encoder.pt", dataclasses.replace(spec, name="fuzz-encoder"),
                 spec.builder())
    return {"classifier": folder / "classifier.npz", "segmenter": folder / "segmenter.pt",
            "encoder": folder / "encoder.pt"}
