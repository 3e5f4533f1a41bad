"""Fixtures of the workflow tests: the bundled sample project, built once and copied per test."""

from __future__ import annotations

import shutil

import pytest

from nanomorph.jobs import run_job
from nanomorph.project import Project
from nanomorph.workflows.sample_project import prepare_sample_project


@pytest.fixture(scope="session")
def sample_project_folder(tmp_path_factory):
    """The sample project (24 images with exact masks, two labels per class), built once."""
    folder = tmp_path_factory.mktemp("workflows") / "sample"
    run_job(prepare_sample_project(folder))
    return folder


@pytest.fixture
def project(sample_project_folder, tmp_path):
    """A fresh copy of the sample project, open for writing (images stay in the original)."""
    copy = tmp_path / "project"
    shutil.copytree(sample_project_folder, copy,
                    ignore=shutil.ignore_patterns("images", "*-wal", "*-shm"))
    with Project.open(copy) as p:
        yield p


def ids_by_name(project) -> dict[str, int]:
    """Image name → id."""
    return {r.name: r.id for r in project.images.all()}
