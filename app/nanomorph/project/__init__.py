"""The project store (see ``store``): images by content hash, calibration, labels, masks, runs."""

from nanomorph.project.store import DB_NAME, AddResult, ImageRecord, Project, is_project

__all__ = ["DB_NAME", "AddResult", "ImageRecord", "Project", "is_project"]
