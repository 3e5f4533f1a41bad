"""``nanomorph embed IMAGE... --out FILE.npz``: one embedding per image, from a frozen encoder.

The npz file holds ``embeddings`` (N, D) float32, ``paths`` (N,) and ``sha256`` (N,) as strings,
``encoder`` (the encoder's name), ``weights_id`` (which weights) and ``preprocess`` (the
preprocessing, a JSON string): one row per image that worked, in input order. It is written
(atomically) also when some images failed; each failed image prints ``error: <path>: <reason>``
on stderr and the exit code is then 2. ``--cache DIR`` keeps embeddings between runs (a
project's ``cache/`` folder, or any folder) with the files' hashes by size and modification
time: a re-run with nothing changed reads no image and costs only lookups.

Exit codes: 0 every image embedded; 2 at least one image failed, the output or cache cannot be
written, or the encoder cannot be built (e.g. its weights are missing); 1 a bad command line,
including an unknown ``--encoder`` (the message lists the registered names), a path holding no
saved encoder, and a ``--device`` this machine lacks.
"""

from __future__ import annotations

import json
import os
import sys

from nanomorph import defaults
from nanomorph.cli.arguments import positive_int
from nanomorph.cli.output import report_error
from nanomorph.device import DEVICE_CHOICES
from nanomorph.errors import NanomorphError


def add_parser(sub) -> None:
    """Add the ``nanomorph embed`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("embed", help="embed images with a frozen encoder (for classifiers)",
                       description="Compute one embedding per image with a frozen image "
                                   "encoder and write them to an npz file.")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the npz file to write")
    p.add_argument("--encoder", default=defaults.ENCODER, metavar="NAME|PATH",
                   help="registry name (default efficientnet-lite0, ImageNet weights) or the "
                        "path of a saved encoder (a file, or a pretraining run folder)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                   help="where the network runs (default: $NANOMORPH_DEVICE, else auto: "
                        "cuda, then mps, then cpu)")
    p.add_argument("--batch-size", type=positive_int, default=defaults.EMBED_BATCH, metavar="B",
                   help="images per forward pass (default 16)")
    p.add_argument("--cache", metavar="DIR",
                   help="keep embeddings in DIR/embeddings.sqlite and reuse them")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph embed`` (image embeddings to one .npz file).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code: 0 when every input worked, 2 when one failed (each printed as
        ``error: <path>: <reason>``), 1 for a bad command line.
    """
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.device import select_device
    from nanomorph.embedding import EmbeddingCache, embed_images
    from nanomorph.encoders import get_encoder_spec

    try:
        spec = get_encoder_spec(args.encoder)
        device = select_device(args.device)
    except NanomorphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    reason = _unwritable_reason(args.out)
    if reason:
        report_error(args.out, reason)
        return 2
    try:
        cache = EmbeddingCache(args.cache) if args.cache else None
    except NanomorphError as exc:
        report_error(exc.path or args.cache, exc)
        return 2
    try:
        job = embed_images(args.images, encoder=spec, device=device,
                           batch_size=args.batch_size, cache=cache)
        result = run_with_progress(job, f"embedding ({spec.name}, {device})")
    except NanomorphError as exc:  # e.g. the encoder's weights cannot be loaded
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if cache is not None:
            cache.close()
    for path, failure in result.failed:
        report_error(path, failure)
    try:
        _write_npz(args.out, result, spec)
    except OSError as exc:
        report_error(args.out, f"cannot write the npz file ({exc.strerror or exc})")
        return 2
    print(f"{args.out}: {len(result.paths)} embeddings of {spec.embedding_dim} values "
          f"({spec.name}, {result.from_cache} from the cache), {len(result.failed)} failed")
    return 2 if result.failed else 0


def _write_npz(path: str, result, spec) -> None:
    import numpy as np

    from nanomorph.io.atomic import atomic_write

    arrays = {
        "embeddings": result.embeddings,
        "paths": np.array(result.paths, dtype=str),
        "sha256": np.array(result.sha256s, dtype=str),
        "encoder": np.array(spec.name),
        "weights_id": np.array(spec.weights_id),
        "preprocess": np.array(json.dumps(result.preprocess.as_json(), sort_keys=True)),
    }
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _unwritable_reason(path: str) -> str | None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return "this is a folder: give the npz file to write"
    if not os.path.isdir(folder):
        return "its folder does not exist"
    if not os.access(folder, os.W_OK):
        return "its folder cannot be written"
    return None
