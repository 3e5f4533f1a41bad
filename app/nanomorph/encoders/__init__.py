"""Image encoders: network definitions, their weights, the registry, and preprocessing.

- :mod:`.efficientnet`: EfficientNet-Lite0 (lukemelas parameter names, ImageNet weights).
- :mod:`.resnet`: ResNet-18 / ResNet-50 (torchvision names), for self-supervised pretraining.
- :mod:`.weights`: architectures by name, seeded initialisation, the ImageNet checkpoint.
- :mod:`.registry`: :class:`EncoderSpec`, :func:`get_encoder_spec`, :func:`list_encoders`,
  :func:`register_encoder`, plug-ins through the entry-point group ``nanomorph.encoders``.
- :mod:`.saved`: :func:`save_encoder` / :func:`load_encoder_from_path` (encoder files).
- :mod:`.preprocess`: :class:`PreprocessSpec`, :func:`preprocess_image`: the measured rule.

Importing this package does not import torch; the networks load when a builder runs.
"""

from nanomorph.encoders.preprocess import (
    Preprocessed,
    PreprocessSpec,
    preprocess_image,
    preprocess_plane,
)
from nanomorph.encoders.registry import (
    DEFAULT_ENCODER,
    ENTRY_POINT_GROUP,
    EncoderSpec,
    get_encoder_spec,
    list_encoders,
    register_encoder,
)
from nanomorph.encoders.saved import load_encoder_from_path, save_encoder

__all__ = [
    "DEFAULT_ENCODER",
    "ENTRY_POINT_GROUP",
    "EncoderSpec",
    "PreprocessSpec",
    "Preprocessed",
    "get_encoder_spec",
    "list_encoders",
    "load_encoder_from_path",
    "preprocess_image",
    "preprocess_plane",
    "register_encoder",
    "save_encoder",
]
