"""The learning-rate schedule of the networks nanomorph trains on top of its encoders
(segmentation decoders, self-supervised pretraining), built from torch's schedulers."""

from __future__ import annotations


def warmup_cosine_schedule(optimizer, warmup_steps: int, total_steps: int):
    """The learning-rate schedule of a run: a linear warm-up over ``warmup_steps`` from
    1/``warmup_steps`` of the peak to the peak, then a cosine decay to zero at ``total_steps``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its groups' learning rates are the peaks.
    warmup_steps : int
        Steps of the warm-up (at least 1).
    total_steps : int
        Steps of the whole run.

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler
        torch's ``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``; step it after every
        optimizer step.
    """
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    warmup = LinearLR(optimizer, start_factor=1 / warmup_steps, end_factor=1.0,
                      total_iters=max(1, warmup_steps - 1))
    decay = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps))
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])
