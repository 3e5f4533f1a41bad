"""Encoder files: a network with its weights and the facts the registry needs, in one file.

Format (``torch.save`` of a dict, read back with ``weights_only=True``, so loading a file never
runs code from it)::

    {"format": "nanomorph-encoder", "format_version": 1,
     "spec": {"name", "description", "architecture", "embedding_dim", "feature_channels",
              "feature_strides", "preprocess": {PreprocessSpec fields}, "weights_id"},
     "state_dict": {parameter name: tensor}}

``architecture`` names a network of ``nanomorph.encoders.weights.ARCHITECTURES``.
``weights_id`` is ``sha256:`` and 16 hex digits of the state dict's digest, recomputed when the
file is loaded, so embeddings cached for one set of weights are never served for another. A
pretraining run saves its encoder as ``<run folder>/encoder.pt``; ``--encoder`` takes the file
or the folder.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from nanomorph.encoders.preprocess import PreprocessSpec
from nanomorph.encoders.spec import EncoderSpec
from nanomorph.encoders.weights import (
    ARCHITECTURES,
    build_architecture,
    load_state_dict,
    state_dict_digest,
)
from nanomorph.errors import NanomorphError

FORMAT = "nanomorph-encoder"
FORMAT_VERSION = 1
ENCODER_FILE = "encoder.pt"


def save_encoder(path: str | os.PathLike, spec: EncoderSpec, module) -> EncoderSpec:
    """Write ``module``'s weights with ``spec``'s facts to ``path`` (atomically).

    Parameters
    ----------
    path : path-like
        The file to write (its folder must exist), e.g. ``run/encoder.pt``.
    spec : EncoderSpec
        Name, description, preprocessing and architecture of the encoder.
    module : torch.nn.Module
        The network of ``spec.architecture`` with the weights to save.

    Returns
    -------
    EncoderSpec
        The spec of the saved encoder, as :func:`load_encoder_from_path` will give it.

    Raises
    ------
    NanomorphError
        When the network is not one nanomorph can rebuild.
    """
    import torch

    from nanomorph.io.atomic import atomic_write

    if spec.architecture not in ARCHITECTURES:
        raise NanomorphError(f"encoder {spec.name!r} cannot be saved: its network "
                             f"({spec.architecture}) is not one nanomorph can rebuild "
                             f"({', '.join(ARCHITECTURES)})")
    state_dict = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    fields = _spec_fields(spec, _weights_id(state_dict))
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "spec": fields,
               "state_dict": state_dict}
    atomic_write(path, lambda f: torch.save(payload, f))
    return _spec_from_fields(fields, state_dict, os.fspath(path))


def load_encoder_from_path(path: str | os.PathLike) -> EncoderSpec:
    """The encoder saved at a path.

    Parameters
    ----------
    path : str or os.PathLike
        A file, or a folder holding ``encoder.pt``.

    Returns
    -------
    EncoderSpec
        Its spec, whose builder loads the weights.

    Raises
    ------
    NanomorphError
        When the path holds no nanomorph encoder, a newer format, or unreadable or non-finite
        weights.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / ENCODER_FILE).is_file():
            raise NanomorphError(f"no saved encoder in this folder (a pretraining run folder "
                                 f"holds {ENCODER_FILE})", path)
        path = path / ENCODER_FILE
    payload = load_state_dict(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise NanomorphError("not a nanomorph encoder file (it holds no encoder description; "
                             "give a registry name or a file written by nanomorph)", path)
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise NanomorphError(f"this encoder file was written by a newer nanomorph (format "
                             f"{payload['format_version']}): update nanomorph to use it", path)
    import torch

    state_dict = payload.get("state_dict")
    if not isinstance(state_dict, dict) or not state_dict or not all(
            isinstance(t, torch.Tensor) for t in state_dict.values()):
        raise NanomorphError("the encoder file holds no weights", path)
    if not all(torch.isfinite(t).all() for t in state_dict.values() if t.is_floating_point()):
        raise NanomorphError("the encoder file's weights are not finite numbers (NaN or "
                             "infinity): it is damaged", path)
    if not isinstance(payload.get("spec"), dict):
        raise NanomorphError("the encoder file holds no encoder description", path)
    return _spec_from_fields(payload["spec"], state_dict, os.fspath(path),
                             weights_id=_weights_id(state_dict))


def _weights_id(state_dict: dict) -> str:
    return f"sha256:{state_dict_digest(state_dict)[:16]}"


def _spec_fields(spec: EncoderSpec, weights_id: str) -> dict:
    return {"name": spec.name, "description": spec.description,
            "architecture": spec.architecture, "embedding_dim": spec.embedding_dim,
            "feature_channels": list(spec.feature_channels),
            "feature_strides": list(spec.feature_strides),
            "preprocess": spec.preprocess.as_json(), "weights_id": weights_id}


def _spec_from_fields(fields: dict, state_dict: dict, path: str,
                      weights_id: str | None = None) -> EncoderSpec:
    try:
        return EncoderSpec(
            name=str(fields["name"]), description=str(fields["description"]),
            builder=functools.partial(_build, fields["architecture"], state_dict, path),
            embedding_dim=int(fields["embedding_dim"]),
            feature_channels=tuple(fields["feature_channels"]),
            preprocess=PreprocessSpec.from_json(fields["preprocess"]),
            weights_id=weights_id or str(fields["weights_id"]),
            architecture=fields["architecture"],
            feature_strides=tuple(fields["feature_strides"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise NanomorphError(f"the encoder description in this file is incomplete ({exc!r})",
                             path) from None


def _build(architecture: str, state_dict: dict, path: str):
    """The saved network: ``architecture`` with the file's weights (all of them, strictly)."""
    module = build_architecture(architecture)
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise NanomorphError(f"the saved weights do not fit the {architecture} network "
                             f"({detail})", path) from None
    return module
