"""Student copies (make student) run as a learner runs them, on a local cloud of their own.

Notebook by notebook: the student copy, run top to bottom, stops at its first exercise check
with that check's ExerciseIncomplete message (not anywhere else); then the same copy with its
exercise checks skipped runs to the end, and the next notebook goes on from there, as for a
learner who skipped every exercise. (The solutions passing their checks is nbval's part: the
committed notebooks are the solutions, run whole.)
"""

import json

import pytest

from helpers import notebook_runner as runner
from helpers import student
from tests.test_notebook_shape import BUILD


def _skipping_exercise_checks(path, destination):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    notebook["cells"] = [cell for cell in notebook["cells"]
                         if not (cell["cell_type"] == "code" and student.EXERCISE_CALL.search("".join(cell["source"])))]
    destination.write_text(json.dumps(notebook), encoding="utf-8")
    return destination


def test_each_student_copy_stops_at_its_first_exercise_check_and_a_learner_who_skips_goes_on(tmp_path):
    copies = tmp_path / "student"
    student.write(copies)
    out = tmp_path / "out"
    with runner.fresh_localcloud():
        runner.run([copies / "00_setup.ipynb"], output_dir=out)
        for path in BUILD:
            solution = json.loads(path.read_text(encoding="utf-8"))
            first = student.exercises(solution)[0]
            with pytest.raises(runner.NotebookFailed) as failed:
                runner.run([copies / path.name], output_dir=out / "stopped")
            stop = failed.value
            assert stop.ename == "ExerciseIncomplete", f"{path.name} stopped elsewhere: {stop}"
            assert stop.evalue.startswith(f"Exercise {first} ("), f"{path.name}: {stop.evalue}"
            assert "is not done yet: " in stop.evalue
            cells = json.loads((copies / path.name).read_text(encoding="utf-8"))["cells"]
            assert f'checks.exercise("{first}"' in "".join(cells[stop.cell - 1]["source"]), stop
            # Beside the copy, so it writes the same functions/ and statemachine/ as the copy would.
            skipped = _skipping_exercise_checks(copies / path.name, copies / f"{path.stem}_skipping.ipynb")
            runner.run([skipped], output_dir=out / "skipping")
        runner.run([copies / "08_cleanup.ipynb"], output_dir=out)
