"""The project store (see :mod:`.store`): a :class:`Project` facade over repositories of
images, masks, labels and classes, models and predictions, analysis results, settings and runs,
with change events."""

from nanomorph.project.image_records import AddResult, ImageRecord
from nanomorph.project.store import DB_NAME, Project, is_project

__all__ = ["DB_NAME", "AddResult", "ImageRecord", "Project", "is_project"]
