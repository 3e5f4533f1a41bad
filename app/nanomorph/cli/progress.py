"""The CLI's job runner: a terminal progress bar on stderr; Ctrl-C cancels the job cleanly."""

from __future__ import annotations

import sys

from nanomorph.jobs import Job, Progress, T


def run_with_progress(job: Job[T], description: str) -> T:
    """Drive a job to completion with a tqdm bar on stderr (hidden when stderr is no terminal).

    Ctrl-C closes the generator, so the job's own clean-up runs, and re-raises
    KeyboardInterrupt.

    Parameters
    ----------
    job : generator
        A job of the job protocol.
    description : str
        The bar's label.

    Returns
    -------
    Any
        The job's result.
    """
    from tqdm import tqdm

    bar = tqdm(desc=description, total=None, file=sys.stderr, disable=not sys.stderr.isatty(),
               leave=False, unit="step")
    try:
        while True:
            try:
                event: Progress = next(job)
            except StopIteration as stop:
                return stop.value
            if event.total:
                bar.total = event.total
            bar.n = event.done
            bar.set_postfix_str(event.message[:60], refresh=False)
            bar.refresh()
    except KeyboardInterrupt:
        job.close()
        raise
    finally:
        bar.close()
