"""The encoders nanomorph knows, by name: built-ins, third-party plug-ins, saved encoder files.

Built-in
--------
``efficientnet-lite0``  EfficientNet-Lite0 with ImageNet weights (the default; Lu et al. 2022)
``efficientnet-lite1``  EfficientNet-Lite1 / Lite2 with ImageNet weights (deeper / also wider;
``efficientnet-lite2``  inputs of 240 / 260 px)
``resnet18-random``     ResNet-18 / ResNet-50 from a seeded random initialisation: starting
``resnet50-random``     points of self-supervised pretraining and test subjects, not offered
                        to users (``list_encoders()`` leaves them out)

Third-party encoders
--------------------
A package adds encoders through the entry-point group ``nanomorph.encoders``; each entry point
loads to an :class:`EncoderSpec` or to a callable without arguments returning one::

    [project.entry-points."nanomorph.encoders"]
    my-encoder = "my_package.encoders:my_encoder_spec"

They are loaded the first time the registry is asked for a name or a list. One that fails to
load, or gives something else than a spec, or takes a name already used, is skipped with a
warning naming it; nanomorph carries on.

Paths
-----
:func:`get_encoder_spec` also takes the path of a saved encoder file or of a folder holding
``encoder.pt`` (a pretraining run), see :mod:`nanomorph.encoders.saved`.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings

from nanomorph import defaults
from nanomorph.encoders.preprocess import PreprocessSpec
from nanomorph.encoders.saved import load_encoder_from_path
from nanomorph.encoders.spec import EncoderSpec
from nanomorph.encoders.weights import (
    IMAGENET_IDS,
    build_architecture,
    efficientnet_lite_imagenet,
)
from nanomorph.errors import InvalidParameterError

DEFAULT_ENCODER = defaults.ENCODER
ENTRY_POINT_GROUP = "nanomorph.encoders"


class EncoderRegistry:
    """Encoder specs by name, with the entry-point plug-ins loaded on first use (thread-safe).

    Parameters
    ----------
    specs : tuple of EncoderSpec
        The built-in encoders.
    """

    def __init__(self, specs: tuple[EncoderSpec, ...] = ()):
        self._specs = {spec.name: spec for spec in specs}
        self._plugins_loaded = False
        self._lock = threading.RLock()

    def register(self, spec: EncoderSpec, *, replace: bool = False) -> None:
        """Add an encoder.

        Parameters
        ----------
        spec : EncoderSpec
            The encoder.
        replace : bool
            Replace an encoder of the same name instead of refusing.

        Raises
        ------
        InvalidParameterError
            For something else than a spec, or a name already taken (without ``replace``).
        """
        if not isinstance(spec, EncoderSpec):
            raise InvalidParameterError(f"expected an EncoderSpec, got {type(spec).__name__}")
        with self._lock:
            if spec.name in self._specs and not replace:
                raise InvalidParameterError(f"an encoder named {spec.name!r} is already registered")
            self._specs[spec.name] = spec

    def get(self, name: str) -> EncoderSpec | None:
        """The spec registered under a name.

        Parameters
        ----------
        name : str
            The registry name.

        Returns
        -------
        EncoderSpec or None
            None when nothing is registered under it.
        """
        self._load_plugins()
        with self._lock:
            return self._specs.get(name)

    def specs(self, include_hidden: bool = False) -> list[EncoderSpec]:
        """Registered specs in registration order.

        Parameters
        ----------
        include_hidden : bool
            Also those not offered to users.

        Returns
        -------
        list of EncoderSpec
            The specs.
        """
        self._load_plugins()
        with self._lock:
            return [s for s in self._specs.values() if include_hidden or s.offered]

    def _load_plugins(self) -> None:
        with self._lock:
            if self._plugins_loaded:
                return
            self._plugins_loaded = True
            from importlib import metadata

            try:
                entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
            except Exception as exc:  # noqa: BLE001 - broken package metadata must not stop us
                warnings.warn(f"nanomorph: encoder plug-ins were not loaded ({exc})",
                              RuntimeWarning, stacklevel=3)
                return
            for entry_point in entry_points:
                self._load_plugin(entry_point)

    def _load_plugin(self, entry_point) -> None:
        try:
            loaded = entry_point.load()
            spec = loaded if isinstance(loaded, EncoderSpec) else loaded()
            if not isinstance(spec, EncoderSpec):
                raise TypeError(f"it gave a {type(spec).__name__}, not an EncoderSpec")
            if spec.name in self._specs:
                raise ValueError(f"the name {spec.name!r} is already taken")
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is skipped, never fatal
            warnings.warn(f"nanomorph: the encoder plug-in {entry_point.name!r} "
                          f"({entry_point.value}) was skipped: {exc}", RuntimeWarning,
                          stacklevel=4)
            return
        self._specs[spec.name] = spec


# EfficientNet-Lite variants: input side in px as trained, feature channels at strides 2-32
# (``EfficientNetLite.feature_channels``, kept here so that the registry needs no torch)
LITE_VARIANTS = {
    "lite0": (224, (16, 24, 40, 112, 1280), "EfficientNet-Lite0, ImageNet weights (Lu et al. "
                                            "2022)"),
    "lite1": (240, (16, 24, 40, 112, 1280), "EfficientNet-Lite1, ImageNet weights (deeper than "
                                            "Lite0)"),
    "lite2": (260, (16, 24, 48, 120, 1280), "EfficientNet-Lite2, ImageNet weights (deeper and "
                                            "wider than Lite0)"),
}


def _lite_spec(variant: str) -> EncoderSpec:
    size, channels, description = LITE_VARIANTS[variant]
    return EncoderSpec(
        name=f"efficientnet-{variant}",
        description=description,
        builder=functools.partial(efficientnet_lite_imagenet, variant),
        embedding_dim=1280,
        feature_channels=channels,
        # TensorFlow's Lite input scaling: (255·x − 127) / 128; the centred square of the
        # image in its 8 flips and quarter turns (chosen by measurement: preprocess.py)
        preprocess=PreprocessSpec(size_px=size, mean=(127 / 255,) * 3, std=(128 / 255,) * 3,
                                  mode="center", dihedral=True),
        weights_id=IMAGENET_IDS[variant],
        architecture=f"efficientnet-{variant}",
    )


def _builtin_specs() -> tuple[EncoderSpec, ...]:
    random_resnets = tuple(
        EncoderSpec(
            name=f"{arch}-random",
            description=f"{arch.replace('resnet', 'ResNet-')}, seeded random weights "
                        "(a starting point for self-supervised pretraining)",
            builder=functools.partial(build_architecture, arch, seed=0),
            embedding_dim=dim,
            feature_channels=channels,
            preprocess=PreprocessSpec(),
            weights_id="random:seed=0",
            architecture=arch,
            offered=False,
        )
        for arch, dim, channels in (("resnet18", 512, (64, 64, 128, 256, 512)),
                                    ("resnet50", 2048, (64, 256, 512, 1024, 2048)))
    )
    return (*(_lite_spec(variant) for variant in LITE_VARIANTS), *random_resnets)


_REGISTRY = EncoderRegistry(_builtin_specs())


def register_encoder(spec: EncoderSpec, *, replace: bool = False) -> None:
    """Make an encoder available by its name in this process (see :class:`EncoderRegistry`).

    Parameters
    ----------
    spec : EncoderSpec
        The encoder.
    replace : bool
        Replace an encoder of the same name instead of refusing.
    """
    _REGISTRY.register(spec, replace=replace)


def list_encoders(include_hidden: bool = False) -> list[EncoderSpec]:
    """The encoders offered to users.

    Parameters
    ----------
    include_hidden : bool
        All registered ones instead.

    Returns
    -------
    list of EncoderSpec
        In registration order.
    """
    return _REGISTRY.specs(include_hidden)


def get_encoder_spec(
        name_or_path: str | os.PathLike | EncoderSpec = DEFAULT_ENCODER) -> EncoderSpec:
    """The encoder registered under a name, or saved at a path.

    Parameters
    ----------
    name_or_path : str, path-like or EncoderSpec
        A registry name, the path of a saved encoder file or of a folder holding
        ``encoder.pt``; a spec is returned as it is.

    Returns
    -------
    EncoderSpec
        The encoder.

    Raises
    ------
    InvalidParameterError
        For an unknown name; the message lists the registered names.
    NanomorphError
        For a path that holds no readable encoder.
    """
    if isinstance(name_or_path, EncoderSpec):
        return name_or_path
    text = os.fsdecode(os.fspath(name_or_path))
    spec = _REGISTRY.get(text)
    if spec is not None:
        return spec
    if os.path.exists(text):
        return load_encoder_from_path(text)
    names = ", ".join(s.name for s in _REGISTRY.specs(include_hidden=True))
    raise InvalidParameterError(f"unknown encoder {text!r}: choose one of {names}, or give the "
                                "path of a saved encoder file")
