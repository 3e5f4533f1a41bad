"""``nanomorph classify train|predict|evaluate``: few-shot morphology classes (DESIGN.md).

- ``train LABELS.csv --out MODEL``: embed the labelled images, fit the linear head, write MODEL
  (one ``.npz`` file, see :mod:`nanomorph.fewshot.head`).
- ``predict MODEL IMAGE... [--json]``: one record per image, in input order, with the keys
  ``path, label, confidence, probabilities`` (``{class: p}``; confidence = the largest p).
- ``evaluate LABELS.csv [--json]``: the label-efficiency protocol on the labelled images: ONE
  object with the keys ``encoder, classes, n_images, results, control``; ``results`` and
  ``control`` (the pixel-density classifier, on the same splits) hold
  ``{k, accuracy_mean, accuracy_std, macro_f1_mean, repeats}`` per K. Without ``--json`` a table
  adds the intensity-statistics control and per-class F1.

Images that are listed but missing or unreadable print ``error: <path>: <reason>``; the others
go on and the exit code is 2. Skipped K and near-duplicate images print ``warning: ...``.
Embedding shows one progress bar on a terminal; ``--cache DIR`` keeps embeddings between runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nanomorph import defaults
from nanomorph.cli.arguments import non_negative_int, positive_int
from nanomorph.cli.output import print_json, report_error
from nanomorph.device import DEVICE_CHOICES
from nanomorph.encoders.preprocess import MODES
from nanomorph.errors import NanomorphError, display_path

if TYPE_CHECKING:
    import numpy

    from nanomorph.fewshot.control import ControlFeatures
    from nanomorph.fewshot.labels_csv import LabelledImages

CONTRACT_RESULT_KEYS = ("k", "accuracy_mean", "accuracy_std", "macro_f1_mean", "repeats")


def add_parser(sub) -> None:
    """Add the ``nanomorph classify`` commands (train, predict, evaluate) to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("classify", help="few-shot morphology classes: train, predict, evaluate",
                       description="Sort micrographs into morphology classes from a few labelled "
                                   "images (a linear classifier on frozen image embeddings).")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="fit a classifier on LABELS.csv",
                               description="Embed the images of LABELS.csv (columns path,label"
                                           "[,group]) and write a classifier file.")
    train.add_argument("labels", metavar="LABELS.csv")
    train.add_argument("--out", required=True, metavar="MODEL", help="classifier file to write")
    _embedding_options(train, encoder=True)
    train.set_defaults(run=run_train)

    predict = actions.add_parser("predict", help="classify images with a trained classifier",
                                 description="Print the class of each image.")
    predict.add_argument("model", metavar="MODEL", help="a file written by classify train")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    _embedding_options(predict, encoder=False)
    predict.set_defaults(run=run_predict)

    evaluate = actions.add_parser(
        "evaluate", help="accuracy vs labels per class (repeated random splits)",
        description="Train on K labelled images per class, test on all others, R times per K; "
                    "the pixel-density control classifier runs on the same splits.")
    evaluate.add_argument("labels", metavar="LABELS.csv")
    evaluate.add_argument("--k", type=_ks, default=defaults.EVALUATE_KS, metavar="1,2,4,8",
                          help="labelled images per class to evaluate (default 1,2,4,8)")
    evaluate.add_argument("--repeats", type=positive_int,
                          default=defaults.EVALUATE_REPEATS, metavar="R",
                          help="random splits per K (default 20)")
    evaluate.add_argument("--seed", type=non_negative_int, default=defaults.SEED, metavar="S",
                          help="seed of the splits (default 0): the same seed gives the same "
                               "splits for every encoder")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--semi-supervised", action="store_true",
                          help="let the labels spread to the unlabelled images of each split "
                               "along a nearest-neighbour graph (label spreading) instead of "
                               "the linear head alone")
    _embedding_options(evaluate, encoder=True)
    evaluate.set_defaults(run=run_evaluate)


def _embedding_options(parser, *, encoder: bool) -> None:
    if encoder:
        parser.add_argument("--encoder", default=defaults.ENCODER, type=_encoder,
                            metavar="NAME", help="image encoder (default efficientnet-lite0)")
    if encoder:
        parser.add_argument("--preprocess", choices=MODES, default=None,
                            help="how an image becomes the encoder's input: the whole image "
                                 "squeezed to 224 px (resize), its centred square (center, the "
                                 "default), or a grid of tiles (tiles)")
        parser.add_argument("--no-tta", dest="tta", action="store_false",
                            help="embed each crop once, not in its 8 flips and quarter turns")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="where the encoder runs (default: $NANOMORPH_DEVICE or auto)")
    parser.add_argument("--cache", metavar="DIR", default=None,
                        help="embedding cache folder (reused between runs)")


# -- train ---------------------------------------------------------------------------------------
def run_train(args) -> int:
    """Run ``nanomorph classify train`` (train a classifier on LABELS.csv).

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
    from nanomorph.encoders import get_encoder_spec
    from nanomorph.fewshot.head import FewShotClassifier, encoder_metadata

    labelled, failed = _read_labels(args.labels)
    if labelled is None:
        return 2
    embedded = _embed_labelled(labelled, args)
    if embedded is None:
        return 2
    spec = get_encoder_spec(args.encoder)
    spec = replace(spec, preprocess=_preprocess(args) or spec.preprocess)
    model = FewShotClassifier(encoder=encoder_metadata(spec, args.encoder))
    try:
        model.fit(embedded.embeddings, embedded.labelled.labels)
        model.save(args.out)
    except NanomorphError as exc:
        report_error(exc.path or args.labels, exc)
        return 2
    counts = ", ".join(f"{name} {n}" for name, n in model.n_train_.items())
    print(f"trained on {len(embedded.labelled.labels)} images ({counts}) with {spec.name}: "
          f"{display_path(args.out)}", flush=True)
    return 2 if failed or embedded.any_failed else 0


# -- predict -------------------------------------------------------------------------------------
def run_predict(args) -> int:
    """Run ``nanomorph classify predict`` (one prediction per image).

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
    from nanomorph.embedding import embed_images
    from nanomorph.fewshot.head import FewShotClassifier

    from nanomorph.fewshot.head import recorded_preprocess

    try:
        model = FewShotClassifier.load(args.model, own_preprocess=True)
        if model.encoder is None:
            raise NanomorphError("this classifier was not trained on image embeddings", args.model)
        embedded = run_with_progress(
            embed_images(args.images, device=args.device, cache=args.cache,
                         encoder=model.encoder.get("source") or model.encoder.get("name"),
                         preprocess=recorded_preprocess(model.encoder)),
            "embedding")
    except NanomorphError as exc:
        report_error(exc.path or args.model, exc)
        return 2
    proba = model.predict_proba(embedded.embeddings) if embedded.paths else None
    reasons = dict(embedded.failed)
    row = 0
    for path in args.images:
        text = os.fsdecode(os.fspath(path))
        if row < len(embedded.paths) and embedded.paths[row] == text:
            record = _prediction(path, model.classes_, proba[row])
            row += 1
            if args.json:
                print_json(record)
            else:
                print(f"{record['path']}: {record['label']} ({record['confidence']:.2f})",
                      flush=True)
        else:
            report_error(path, reasons.get(text, "could not be embedded"))
    return 2 if embedded.failed else 0


def _prediction(path, classes: list[str], proba) -> dict:
    best = int(proba.argmax())
    return {"path": display_path(path), "label": classes[best],
            "confidence": float(proba[best]),
            "probabilities": {name: float(p) for name, p in zip(classes, proba)}}


# -- evaluate ------------------------------------------------------------------------------------
def run_evaluate(args) -> int:
    """Run ``nanomorph classify evaluate`` (the label-efficiency protocol).

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
    from nanomorph.fewshot.control import control_classifier
    from nanomorph.fewshot.evaluate import EvaluationWarning, evaluate_label_efficiency

    labelled, failed = _read_labels(args.labels)
    if labelled is None:
        return 2
    embedded = _embed_labelled(labelled, args, with_control=True)
    if embedded is None:
        return 2
    labels = embedded.labelled.labels
    shared = {"groups": embedded.labelled.groups, "ks": args.k, "repeats": args.repeats,
              "seed": args.seed}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EvaluationWarning)
            results = evaluate_label_efficiency(embedded.embeddings, labels,
                                                classifier_factory=_factory(args, embedded),
                                                **shared)
            warnings.simplefilter("ignore", EvaluationWarning)  # same splits, same warnings
            density, intensity = [
                evaluate_label_efficiency(features, labels, classifier_factory=control_classifier,
                                          check_duplicates=False, **shared)
                for features in (embedded.control.density, embedded.control.intensity)]
    except NanomorphError as exc:
        report_error(args.labels, exc)
        return 2
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr, flush=True)
    if args.json:
        print_json({"encoder": embedded.encoder, "classes": results["classes"],
                    "n_images": results["n_images"],
                    "results": [_contract(r) for r in results["results"]],
                    "control": [_contract(r) for r in density["results"]]})
    else:
        print(describe_evaluation(embedded.encoder, results, density, intensity), flush=True)
    return 2 if failed or embedded.any_failed else 0


def _factory(args, embedded):
    """The classifier ``evaluate`` fits per split: the default head, or label spreading over
    every listed image (those outside a split's training set are its unlabelled pool)."""
    if not args.semi_supervised:
        return None
    from nanomorph.fewshot.semi import SpreadingClassifier

    return lambda: SpreadingClassifier(embedded.embeddings)


def _contract(result: dict) -> dict:
    return {key: result[key] for key in CONTRACT_RESULT_KEYS}


def describe_evaluation(encoder: str, results: dict, density: dict, intensity: dict) -> str:
    """A readable table of an evaluation.

    Parameters
    ----------
    encoder : str
        The encoder's name.
    results : dict
        The protocol's output on the embeddings.
    density, intensity : dict
        The same on the two control features.

    Returns
    -------
    str
        Accuracy mean ± sd and macro-F1 per K for the embeddings and both controls, then the
        embeddings' per-class F1.
    """
    grouped = "groups respected" if results["grouped"] else "no groups"
    lines = [f"{results['n_images']} images, classes {', '.join(results['classes'])} "
             f"({grouped})",
             f"{'K':>3}  {encoder + ' embeddings':<30}{'density control':<30}"
             f"{'intensity control':<30}"]
    columns = [results["results"], density["results"], intensity["results"]]
    for rows in zip(*columns):
        cells = [f"{r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f}  "
                 f"F1 {r['macro_f1_mean']:.3f}" for r in rows]
        lines.append(f"{rows[0]['k']:>3}  " + "".join(f"{c:<30}" for c in cells))
    if results["results"]:
        lines.append(f"accuracy over {results['results'][0]['repeats']} splits per K; "
                     "per-class F1 of the embeddings:")
        for r in results["results"]:
            per_class = ", ".join(f"{name} {v['f1']:.2f}" for name, v in r["per_class"].items())
            lines.append(f"{r['k']:>3}  {per_class}")
    return "\n".join(lines)


# -- shared steps --------------------------------------------------------------------------------
def _read_labels(path):
    """The labelled images of a LABELS.csv (missing files reported), and whether any was
    missing; (None, True) when the file itself is unusable."""
    from nanomorph.fewshot.labels_csv import MISSING_FILE_REASON, read_labels_csv

    try:
        labelled = read_labels_csv(path, missing="skip")
    except NanomorphError as exc:
        report_error(exc.path or path, exc)
        return None, True
    for missing in labelled.missing:
        report_error(missing, MISSING_FILE_REASON)
    return labelled, bool(labelled.missing)


@dataclass
class _Embedded:
    """What the labelled images gave: embeddings (and control features) of those that worked."""

    embeddings: "numpy.ndarray"
    control: "ControlFeatures | None"
    encoder: str
    labelled: "LabelledImages"
    any_failed: bool


def _embed_labelled(labelled, args, *, with_control: bool = False) -> _Embedded | None:
    """Embed the labelled images (and, with ``with_control``, compute their control features)
    under one progress bar; images that fail are reported and left out. None (after an error
    line) when nothing can go on."""
    from nanomorph.cli.progress import run_with_progress

    try:
        embedded, control = run_with_progress(
            _embedding_job(labelled.paths, args, with_control), "embedding")
    except NanomorphError as exc:
        report_error(exc.path or args.labels, exc)
        return None
    reasons = dict(embedded.failed)
    rows = list(range(len(embedded.paths)))
    if control is not None:
        reasons.update((embedded.paths[i], reason) for i, reason in control.failed)
        rows = control.indices.tolist()
    for path in labelled.paths:
        if path in reasons:
            report_error(path, reasons[path])
    if not rows:
        report_error(args.labels, "none of the listed images could be used")
        return None
    kept = [i for i, path in enumerate(labelled.paths) if path not in reasons]
    return _Embedded(embedded.embeddings[rows], control, embedded.encoder,
                     labelled.subset(kept), bool(reasons))


def _embedding_job(paths, args, with_control: bool):
    """One job: embed ``paths``, then compute the control features of those that embedded;
    progress counts both halves on one bar."""
    from nanomorph.embedding import embed_images
    from nanomorph.fewshot.control import control_features
    from nanomorph.jobs import Progress

    steps = 2 if with_control else 1
    n = max(len(paths), 1)

    def rescaled(job, offset: int):
        while True:
            try:
                event = next(job)
            except StopIteration as stop:
                return stop.value
            done = event.done * n // event.total if event.total else 0
            yield Progress(offset + done, steps * n, event.message, event.payload)

    embedded = yield from rescaled(embed_images(paths, encoder=args.encoder, device=args.device,
                                                cache=args.cache, preprocess=_preprocess(args)),
                                   0)
    if not with_control:
        return embedded, None
    control = yield from rescaled(control_features(embedded.paths), n)
    return embedded, control


def _preprocess(args):
    """The preprocessing ``--preprocess`` / ``--no-tta`` ask for (None: the encoder's own)."""
    if args.preprocess is None and args.tta:
        return None
    from nanomorph.encoders import get_encoder_spec

    own = get_encoder_spec(args.encoder).preprocess
    return replace(own, mode=args.preprocess or own.mode, dihedral=args.tta)


# -- argument types ------------------------------------------------------------------------------
def _encoder(text: str) -> str:
    from nanomorph.encoders import get_encoder_spec

    try:
        get_encoder_spec(text)
    except NanomorphError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None
    return text


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,2,4,8, not {text!r}") from None
    if min(ks) < 1:
        raise argparse.ArgumentTypeError(f"every K must be >= 1, not {text!r}")
    return ks
