"""A trained segmenter: the network with everything needed to apply it and to explain it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nanomorph.segment.classes import SegmentClasses
from nanomorph.segment.infer import SegmentPrediction, predict_image


@dataclass
class Segmenter:
    """A segmentation network and its settings (saved to one file by
    :func:`nanomorph.segment.save_segmenter`).

    Attributes
    ----------
    net : nanomorph.segment.model.SegmentationNet
        On ``device``, in eval mode.
    device : str
        A resolved torch device.
    classes : SegmentClasses
    encoder_name, encoder_weights_id : str
        The registry encoder (name or saved-encoder path) and the id of its weights.
    unfreeze_stages : int
        Encoder stages whose weights were trained (0: the encoder is as loaded).
    decoder_widths : tuple of int
    percentiles : (float, float)
        Intensity window of the inputs (:mod:`nanomorph.segment.gray`).
    tile_px, overlap_px : int
        Tiling of :func:`nanomorph.segment.infer.predict_job`.
    crop_databar : bool
        SEM info bars were cut off in training and are background in predictions.
    pixel_size_nm : float or None
        The working pixel size the network was trained at (nm); images of known pixel size
        are resampled to it before prediction (None: every image at its own pixels).
    training : dict
        The training configuration (JSON values).
    history : list of dict
        One entry per epoch: ``epoch, train_loss, val_loss, val_dice, seconds``.
    best_epoch : int or None
        The epoch whose weights these are (by validation Dice).
    stop_reason : str
        Why training stopped: ``"epochs"``, ``"early stopping"``, ``"time limit"``,
        ``"cancelled"``.
    """

    net: object
    device: str
    classes: SegmentClasses
    encoder_name: str
    encoder_weights_id: str
    unfreeze_stages: int = 0
    decoder_widths: tuple[int, ...] = ()
    percentiles: tuple[float, float] = (0.5, 99.5)
    tile_px: int = 512
    overlap_px: int = 64
    crop_databar: bool = True
    pixel_size_nm: float | None = None
    training: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stop_reason: str = ""

    def predict(self, image: np.ndarray, **options) -> SegmentPrediction:
        """Segment one image.

        Parameters
        ----------
        image : ndarray, 2-D
            Gray levels.
        **options
            As :func:`nanomorph.segment.infer.predict_job`.

        Returns
        -------
        SegmentPrediction
            Labels (and probabilities).
        """
        return predict_image(self, image, **options)
