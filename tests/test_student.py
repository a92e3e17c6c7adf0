"""helpers.student: scaffolds replace solutions, and nothing of a solution survives in a student copy."""

import json

import pytest

from helpers import student, workspace


def _notebook(*cells):
    return {"cells": [dict(cell) for cell in cells], "metadata": {"kernelspec": {"name": "python3"},
            "papermill": {"parameters": {"x": 1}}}, "nbformat": 4, "nbformat_minor": 5}


def _code(source, outputs=(), tags=()):
    return {"cell_type": "code", "source": source, "outputs": list(outputs), "execution_count": 3,
            "metadata": {"tags": list(tags), "papermill": {"duration": 1.0}}}


def test_a_solution_becomes_a_scaffold_with_what_to_fill_in():
    source = ("min_confidence = 70.0\n### BEGIN SOLUTION: set min_confidence to 90.0\nmin_confidence = 90.0\n"
              "### END SOLUTION\nprint(min_confidence)\n")
    assert student.scaffold(source) == ("min_confidence = 70.0\n# your code here: set min_confidence to 90.0\n"
                                        "print(min_confidence)\n")


def test_pass_is_added_only_where_python_needs_a_statement():
    source = ("%%writefile functions/f.py\ndef handler(event, context):\n    ### BEGIN SOLUTION\n"
              "    return make_thumbnail(event)\n    ### END SOLUTION\n")
    assert student.scaffold(source) == ("%%writefile functions/f.py\ndef handler(event, context):\n"
                                        "    # your code here\n    pass\n")


def test_markers_that_do_not_pair_are_an_error_naming_the_cell():
    with pytest.raises(student.SolutionMarkerError, match="02.ipynb cell 4: ### BEGIN SOLUTION on line 1 is never"):
        student.scaffold("### BEGIN SOLUTION\nx = 1\n", where="02.ipynb cell 4")
    with pytest.raises(student.SolutionMarkerError, match="without"):
        student.scaffold("x = 1\n### END SOLUTION\n")


def test_a_student_copy_holds_no_solution_outputs_or_metadata():
    solution = _notebook(
        _code('target = "local"\n', tags=["parameters"]),
        _code("### BEGIN SOLUTION\nthumbnail_width = 128  # the secret\n### END SOLUTION\n",
              outputs=[{"output_type": "stream", "name": "stdout", "text": "thumbnail_width = 128  # the secret\n"}]),
        _code('with checks.exercise("1.1", "Thumbnail") as check:\n    check.that("ok", True)\n'),
        {"cell_type": "markdown", "source": "Why?\n### BEGIN SOLUTION\nBecause S3 is flat.\n### END SOLUTION\n",
         "metadata": {}})
    copied = student.student_copy(solution, "01.ipynb")
    text = json.dumps(copied)
    assert "thumbnail_width = 128" not in text and "Because S3 is flat" not in text
    assert copied["metadata"] == {"kernelspec": {"name": "python3"}}
    assert [cell["metadata"] for cell in copied["cells"]] == [{"tags": ["parameters"]}, {"tags": []}, {"tags": []}, {}]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None
               for cell in copied["cells"] if cell["cell_type"] == "code")
    assert copied["cells"][3]["source"] == "Why?\n_Your answer here._\n"
    assert student.exercises(solution) == ("1.1",)


def test_the_committed_notebooks_make_student_copies_without_leaks(tmp_path):
    written = student.write(tmp_path / "student")
    assert [item.notebook for item in written][:2] == ["00_setup.ipynb", "01_image_uploader.ipynb"]
    for item in written:
        solution = json.loads((workspace.NOTEBOOKS_DIR / item.notebook).read_text())
        copied = json.loads((tmp_path / "student" / item.notebook).read_text())
        assert student.leaked(solution, copied) == [], item.notebook
        assert "### BEGIN SOLUTION" not in json.dumps(copied), item.notebook
    assert (tmp_path / "student" / "functions" / "README.md").exists()
    assert (tmp_path / "student" / "statemachine" / "image_pipeline.asl.json").exists()


def test_a_learners_copy_is_kept_unless_forced(tmp_path):
    destination = tmp_path / "student"
    student.write(destination)
    mine = destination / "01_image_uploader.ipynb"
    mine.write_text("my work")
    assert all(item.kept for item in student.write(destination))
    assert mine.read_text() == "my work"
    student.write(destination, force=True)
    assert mine.read_text() != "my work"
