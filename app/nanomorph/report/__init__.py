"""The self-contained HTML report of a batch results folder or a project.

- :mod:`.html`: :func:`write_report` and :func:`report_job`, the page itself.
- :mod:`.data`: :class:`ReportData`, what the page shows, gathered from the run or the project.
- :mod:`.plots`: the report's matplotlib figures and its colours.

Importing this package loads none of them (nor matplotlib); the names below load their module
on first use.
"""

import lazy_loader

__getattr__, __dir__, _lazy_names = lazy_loader.attach(
    __name__,
    submod_attrs={"html": ["report_job", "write_report"]},
)

__all__ = sorted(_lazy_names)
