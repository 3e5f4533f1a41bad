"""The backbones self-supervised pretraining starts from: the registry's networks, so that the
pretrained encoder is saved as an ordinary encoder file (``nanomorph.encoders.saved``) of the
same architecture.

==========  ==========================  ===============  =======================================
name        architecture                embedding (D)    ``init="imagenet"``
==========  ==========================  ===============  =======================================
lite0       efficientnet-lite0          1280             the ImageNet weights (registry default)
resnet18    resnet18                    512              none in nanomorph: ``scratch`` only
resnet50    resnet50                    2048             none in nanomorph: ``scratch`` only
==========  ==========================  ===============  =======================================

``scratch`` is the architecture's seeded random initialisation
(:func:`nanomorph.encoders.weights.build_architecture`). Importing this module does not import
torch (the command line takes its choices from here).
"""

from __future__ import annotations

from nanomorph.errors import InvalidParameterError

# name -> (registry spec with the architecture and preprocessing, registry spec with ImageNet
# weights or None)
BACKBONES = {
    "lite0": ("efficientnet-lite0", "efficientnet-lite0"),
    "resnet18": ("resnet18-random", None),
    "resnet50": ("resnet50-random", None),
}
INITS = ("imagenet", "scratch")


def base_encoder_spec(backbone: str):
    """The registry's spec of a backbone: its architecture, embedding size, feature maps and
    preprocessing (the pretrained encoder keeps them all).

    Parameters
    ----------
    backbone : str
        ``lite0``, ``resnet18`` or ``resnet50``.

    Returns
    -------
    EncoderSpec
        The spec.

    Raises
    ------
    InvalidParameterError
        For an unknown backbone.
    """
    from nanomorph.encoders.registry import get_encoder_spec

    _check_backbone(backbone)
    return get_encoder_spec(BACKBONES[backbone][0])


def build_backbone(backbone: str, init: str, seed: int = 0):
    """The backbone network with its starting weights.

    Parameters
    ----------
    backbone : str
        A key of ``BACKBONES``.
    init : str
        ``imagenet`` (only ``lite0`` has such weights) or ``scratch`` (random, from ``seed``).
    seed : int
        Seed of the random initialisation.

    Returns
    -------
    torch.nn.Module
        A new network on the CPU, with ``embed`` and ``forward_features``.

    Raises
    ------
    InvalidParameterError
        An unknown backbone or init, or ImageNet weights asked of a ResNet.
    NanomorphError
        The ImageNet weights are not installed or not the expected file.
    """
    from nanomorph.encoders.registry import get_encoder_spec
    from nanomorph.encoders.weights import build_architecture

    _check_backbone(backbone)
    if init not in INITS:
        raise InvalidParameterError(f"unknown init {init!r}: choose {' or '.join(INITS)}")
    if init == "imagenet":
        imagenet = BACKBONES[backbone][1]
        if imagenet is None:
            raise InvalidParameterError(f"nanomorph has no ImageNet weights for {backbone}: use "
                                        "init 'scratch' (or the lite0 backbone)")
        return get_encoder_spec(imagenet).builder()
    return build_architecture(base_encoder_spec(backbone).architecture, seed=seed)


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise InvalidParameterError(f"unknown backbone {backbone!r}: choose one of "
                                    f"{', '.join(BACKBONES)}")
