"""Self-supervised pretraining on a user's own micrographs: Barlow Twins and SimCLR (Lu et al.
2022), giving an encoder that every ``--encoder`` option takes.

- :mod:`.train`: :func:`pretrain` (a job), :class:`PretrainConfig`, :class:`PretrainResult`.
- :mod:`.runs`: the run folder, :func:`register_project_encoders` (``ssl:<run name>``).
- :mod:`.data`: reading the images into memory, the order of the batches.
- :mod:`.augment`: the two random views of an image.
- :mod:`.losses`: NT-Xent and the Barlow Twins loss.
- :mod:`.backbones`: the networks a run starts from (ImageNet Lite0, ResNets from scratch).
- :mod:`.model`: backbone + projector head.
- :mod:`.checkpoint`: checkpoints to resume a run bit-exactly.

Importing this package loads none of them (nor torch); the names below load their module on
first use.
"""

from nanomorph.lazy import lazy_exports

_LAZY = {
    "PretrainConfig": "train",
    "PretrainResult": "train",
    "pretrain": "train",
    "saved_config": "train",
    "register_project_encoders": "runs",
    "project_run_folder": "runs",
    "encoder_name": "runs",
    "barlow_twins_loss": "losses",
    "nt_xent_loss": "losses",
    "Augmentation": "augment",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = sorted(_LAZY)
