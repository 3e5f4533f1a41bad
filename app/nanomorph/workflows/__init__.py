"""The use-cases that the GUI, the CLI and the batch runner share, each a module of plain
functions and jobs (generators of the job protocol) over an open project or files:

- :mod:`.mask`: auto-mask a project's images (and one image, for a preview).
- :mod:`.transfer`: import mask files into a project, export its masks.
- :mod:`.percolation`: percolation and skeleton metrics with the user's settings; CSV export.
- :mod:`.classify`: embed a project, train the live classifier, predict, evaluate.
- :mod:`.segment`: train a segmenter on a project's masks, predict, compare with classical masks.
- :mod:`.sample_project`: the bundled sample project.

Workflows sit above the project store and the algorithms and below batch, report and the CLI
(the ``layers`` contract in pyproject.toml); the headless tour of every feature, which also
writes the report, is :mod:`nanomorph.cli.demo_steps`. Importing this package imports none of
them.
"""
