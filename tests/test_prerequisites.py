"""A notebook run out of order says which earlier notebook to run."""

from __future__ import annotations

import pytest

from helpers import prerequisites, storage, workbook


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "prereq-test", port=int(localcloud.rsplit(":", 1)[1]))


def test_missing_resource_names_the_notebook_to_run(wb):
    with pytest.raises(prerequisites.MissingPrerequisite) as missing:
        prerequisites.require(wb, "table")
    assert str(missing.value) == (
        "the DynamoDB table for prefix 'prereq-test' does not exist yet: run notebooks/03_result_store.ipynb first "
        "(with the same target, region and prefix)")


def test_present_resources_pass(wb):
    storage.ensure_bucket(wb)
    storage.ensure_table(wb)
    assert prerequisites.require(wb, "bucket", "table") == "found: the S3 bucket, the DynamoDB table"


def test_unknown_prerequisite_is_a_programming_error(wb):
    with pytest.raises(ValueError, match="unknown prerequisite"):
        prerequisites.require(wb, "thumbnailer")


def test_every_services_not_found_spelling_means_missing(localcloud):
    """S3's HEAD answers a bare 404, Step Functions StateMachineDoesNotExist: both mean "run that notebook"."""
    wb = workbook.start("local", "us-east-1", "prereq-none", port=int(localcloud.rsplit(":", 1)[1]))
    with pytest.raises(prerequisites.MissingPrerequisite, match="run notebooks/01_image_uploader.ipynb first"):
        prerequisites.require(wb, "bucket")
    with pytest.raises(prerequisites.MissingPrerequisite, match="run notebooks/04_state_machine.ipynb first"):
        prerequisites.require(wb, "state_machine")
