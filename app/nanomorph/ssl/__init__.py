"""Self-supervised pretraining on a user's own micrographs: Barlow Twins and SimCLR (Lu et al.
2022), giving an encoder that every ``--encoder`` option takes.

- :mod:`.train`: :func:`pretrain` (a job) and the :class:`RunLog` a run reports to.
- :mod:`.config`: :class:`PretrainConfig`, :class:`PretrainResult`.
- :mod:`.trainer`: :class:`Trainer`: model, optimizer, schedule and steps of one run.
- :mod:`.runs`: the run folder and the encoder's name (``ssl:<run name>``).
- :mod:`.data`: reading the images into memory, the order of the batches.
- :mod:`.augment`: the two random views of an image.
- :mod:`.losses`: NT-Xent and the Barlow Twins loss.
- :mod:`.backbones`: the networks a run starts from (ImageNet Lite0, ResNets from scratch).
- :mod:`.model`: backbone + projector head.
- :mod:`.checkpoint`: checkpoints to resume a run bit-exactly.

Importing this package loads none of them (nor torch); the names below load their module on
first use. Runs recorded in a project are :mod:`nanomorph.workflows.pretrain`'s.
"""

import lazy_loader

__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={
        "train": ["RunLog", "pretrain"],
        "config": ["PretrainConfig", "PretrainResult", "saved_config"],
        "runs": ["encoder_name"],
        "losses": ["barlow_twins_loss", "nt_xent_loss"],
        "augment": ["Augmentation"],
    },
)


__all__ = sorted(_lazy_names)
