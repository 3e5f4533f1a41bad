"""Segmenter files: one ``torch.save`` of plain values and tensors, loaded without running code.

Format (read back with ``torch.load(weights_only=True)``)::

    {"format": "nanomorph-segmenter", "format_version": 2,
     "weights_sha256": str,     # of the encoder and decoder state dicts (format 2)
     "nanomorph_version": str, "torch_version": str,
     "encoder": {"name", "weights_id", "feature_channels": [int], "unfreeze_stages": int,
                 "state_dict": {name: tensor}},      # only the trained stages' weights
     "decoder": {"widths": [int], "state_dict": {name: tensor}},
     "classes": {"names": [str], "values": [[int]], "nanowire": int},
     "preprocess": {"percentiles": [low, high], "mean": [3 floats], "std": [3 floats],
                    "crop_databar": bool, "pixel_size_nm": float | None},  # working size
     "tiles": {"tile_px": int, "overlap_px": int},
     "training": {"config": {...}, "history": [{epoch, train_loss, val_loss, val_dice,
                  seconds}], "best_epoch": int | None, "stop_reason": str}}

The frozen encoder is not stored: it is rebuilt from the registry by name, and refused when its
weights id differs from the one the decoder was trained on (the decoder would read features it
never saw).
"""

from __future__ import annotations

import math
import os

from nanomorph.errors import NanomorphError
from nanomorph.segment.classes import SegmentClasses
from nanomorph.segment.segmenter import Segmenter

FORMAT = "nanomorph-segmenter"
FORMAT_VERSION = 2  # 2: weights_sha256 (version 1 files still load)
MAX_DECODER_WIDTH = 4096  # channels; a crafted file must not make nanomorph allocate gigabytes
_OTHER_FORMATS = {"nanomorph-encoder": "an image encoder (from pretraining)"}


def save_segmenter(segmenter: Segmenter, path: str | os.PathLike) -> None:
    """Write a segmenter to one file, atomically (temporary file, then rename).

    Parameters
    ----------
    segmenter : Segmenter
        The trained model.
    path : str or os.PathLike
        The file to write.

    Raises
    ------
    OSError
        When the file cannot be written.
    """
    import torch

    from nanomorph import __version__
    from nanomorph.io.atomic import atomic_write

    net = segmenter.net
    encoder_state = {name: p.detach().cpu().clone()
                     for name, p in net.encoder.named_parameters()
                     if name in net.trained_encoder_parameters}
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "nanomorph_version": str(__version__), "torch_version": str(torch.__version__),
        "encoder": {"name": segmenter.encoder_name,
                    "weights_id": segmenter.encoder_weights_id,
                    "feature_channels": list(net.decoder.feature_channels),
                    "unfreeze_stages": int(segmenter.unfreeze_stages),
                    "state_dict": encoder_state},
        "decoder": {"widths": [int(w) for w in segmenter.decoder_widths],
                    "state_dict": {k: v.detach().cpu().clone()
                                   for k, v in net.decoder.state_dict().items()}},
        "classes": segmenter.classes.as_json(),
        "preprocess": {"percentiles": [float(p) for p in segmenter.percentiles],
                       "mean": net.mean.flatten().tolist(), "std": net.std.flatten().tolist(),
                       "crop_databar": bool(segmenter.crop_databar),
                       "pixel_size_nm": segmenter.pixel_size_nm},
        "tiles": {"tile_px": int(segmenter.tile_px), "overlap_px": int(segmenter.overlap_px)},
        "training": {"config": segmenter.training, "history": segmenter.history,
                     "best_epoch": segmenter.best_epoch, "stop_reason": segmenter.stop_reason},
    }
    payload["weights_sha256"] = _weights_digest(payload["encoder"]["state_dict"],
                                                payload["decoder"]["state_dict"])
    atomic_write(path, lambda f: torch.save(payload, f))


def _weights_digest(encoder_state: dict, decoder_state: dict) -> str:
    from nanomorph.encoders.weights import state_dict_digest

    return state_dict_digest({**{f"encoder.{k}": v for k, v in encoder_state.items()},
                              **{f"decoder.{k}": v for k, v in decoder_state.items()}})


def load_segmenter(path: str | os.PathLike, device: str | None = None) -> Segmenter:
    """Read a segmenter file onto a device.

    Parameters
    ----------
    path : path-like
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps`` (:func:`nanomorph.device.select_device`).

    Raises
    ------
    NanomorphError
        The file is not a segmenter (names what it is when known), was written by a newer
        nanomorph, is incomplete, or was made for an encoder that is not available with the
        same weights.

    Returns
    -------
    Segmenter
        On the device, in eval mode.
    """
    from nanomorph.device import select_device
    from nanomorph.encoders.weights import load_state_dict

    payload = load_state_dict(path)
    _check_format(payload, path)
    try:
        encoder, decoder = payload["encoder"], payload["decoder"]
        classes = SegmentClasses.from_json(payload["classes"])
        preprocess, tiles, training = payload["preprocess"], payload["tiles"], payload["training"]
        segmenter = Segmenter(
            net=None, device=select_device(device), classes=classes,
            encoder_name=str(encoder["name"]), encoder_weights_id=str(encoder["weights_id"]),
            unfreeze_stages=int(encoder["unfreeze_stages"]),
            decoder_widths=tuple(int(w) for w in decoder["widths"]),
            percentiles=tuple(float(p) for p in preprocess["percentiles"]),
            tile_px=int(tiles["tile_px"]), overlap_px=int(tiles["overlap_px"]),
            crop_databar=bool(preprocess["crop_databar"]),
            pixel_size_nm=_optional_float(preprocess.get("pixel_size_nm")),
            training=dict(training["config"]),
            history=list(training["history"]), best_epoch=training["best_epoch"],
            stop_reason=str(training["stop_reason"]))
        feature_channels = tuple(int(c) for c in encoder["feature_channels"])
        states = encoder["state_dict"], decoder["state_dict"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NanomorphError(f"the segmenter file is incomplete or damaged ({exc!r})",
                             path) from None
    _check_values(payload, segmenter, states, path)
    segmenter.net = _network(segmenter, feature_channels, *states, path)
    return segmenter


def _check_values(payload: dict, segmenter: Segmenter, states: tuple, path) -> None:
    """Refuse weights that fail their checksum or are not finite, and settings out of range."""
    import torch

    if not all(isinstance(s, dict) and all(isinstance(t, torch.Tensor) for t in s.values())
               for s in states):
        raise NanomorphError("the segmenter file's weights are not tensors", path)
    if payload.get("format_version", 1) >= 2 and \
            payload.get("weights_sha256") != _weights_digest(*states):
        raise NanomorphError("the segmenter file is damaged: its weights do not match their "
                             "checksum", path)
    if not all(torch.isfinite(t).all() for s in states for t in s.values()
               if t.is_floating_point()):
        raise NanomorphError("the segmenter file's weights are not finite numbers (NaN or "
                             "infinity): it would segment nothing sensible", path)
    low, high = segmenter.percentiles
    checks = [
        (0 <= low < high <= 100, "intensity percentiles"),
        (64 <= segmenter.tile_px <= 8192 and 0 <= segmenter.overlap_px < segmenter.tile_px // 2,
         "tile size"),
        (len(segmenter.decoder_widths) > 0
         and all(0 < w <= MAX_DECODER_WIDTH for w in segmenter.decoder_widths),
         "decoder widths"),
        (0 <= segmenter.unfreeze_stages <= 8, "trained encoder stages"),
        (segmenter.pixel_size_nm is None
         or (math.isfinite(segmenter.pixel_size_nm) and segmenter.pixel_size_nm > 0),
         "working pixel size"),
        (len(set(segmenter.classes.names)) == len(segmenter.classes.names) >= 2
         and 1 <= segmenter.classes.nanowire < len(segmenter.classes.names), "classes"),
    ]
    wrong = [what for ok, what in checks if not ok]
    if wrong:
        raise NanomorphError(f"the segmenter file's {', '.join(wrong)} are out of range: it is "
                             "damaged or was not written by nanomorph", path)


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _check_format(payload, path) -> None:
    kind = payload.get("format") if isinstance(payload, dict) else None
    if kind in _OTHER_FORMATS:
        raise NanomorphError(f"this file holds {_OTHER_FORMATS[kind]}, not a segmenter (write "
                             "one with: nanomorph segment train)", path)
    if kind != FORMAT:
        raise NanomorphError("not a nanomorph segmenter file (write one with: nanomorph "
                             "segment train)", path)
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise NanomorphError(f"this segmenter was written by a newer nanomorph (format "
                             f"{payload['format_version']}): update nanomorph to use it", path)


def _network(segmenter: Segmenter, feature_channels: tuple[int, ...], encoder_state: dict,
             decoder_state: dict, path):
    """The saved network, after checking that it fits the encoder available here."""
    from nanomorph.encoders import get_encoder_spec
    from nanomorph.segment.model import build_network

    name = segmenter.encoder_name
    try:
        spec = get_encoder_spec(name)
    except NanomorphError as exc:
        raise NanomorphError(f"the segmenter was trained on the encoder {name!r}, which is not "
                             f"available here ({exc.reason})", path) from None
    if spec.weights_id != segmenter.encoder_weights_id:
        raise NanomorphError(f"the segmenter was trained on {name} with weights "
                             f"{segmenter.encoder_weights_id}, but {name} here has weights "
                             f"{spec.weights_id}: it was made for another encoder", path)
    if tuple(spec.feature_channels) != feature_channels:
        raise NanomorphError(f"the segmenter expects encoder features of {feature_channels} "
                             f"channels, but {name} gives {tuple(spec.feature_channels)}: it was "
                             "made for another encoder", path)
    net = build_network(spec, len(segmenter.classes), segmenter.device,
                        widths=segmenter.decoder_widths,
                        unfreeze_stages=segmenter.unfreeze_stages)
    if set(encoder_state) != net.trained_encoder_parameters:
        raise NanomorphError(f"the segmenter file's encoder weights do not match its "
                             f"{segmenter.unfreeze_stages} trained stage(s) of {name}", path)
    try:
        net.encoder.load_state_dict(encoder_state, strict=False)
        net.decoder.load_state_dict(decoder_state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise NanomorphError(f"the decoder weights do not fit this network ({detail})",
                             path) from None
    return net.eval()

