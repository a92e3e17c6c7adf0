"""helpers.checks: one line per condition, and a typed error naming what failed and what is missing."""

import pytest

from helpers import checks


def test_a_passing_exercise_prints_each_condition_and_says_done(capsys):
    with checks.exercise("2.1", "Raise MinConfidence") as check:
        assert check.equal("MIN_CONFIDENCE", found="90.0", expected="90.0")
        assert check.that("labels at least 90% confident", True, found="3 labels")
    assert capsys.readouterr().out.splitlines() == [
        "Exercise 2.1 · Raise MinConfidence", "  ✓ MIN_CONFIDENCE: '90.0'",
        "  ✓ labels at least 90% confident: 3 labels", "Exercise 2.1 done."]


def test_a_failed_exercise_names_every_failed_condition_with_its_hint(capsys):
    with pytest.raises(checks.ExerciseIncomplete) as raised:
        with checks.exercise("2.1", "Raise MinConfidence") as check:
            check.equal("MIN_CONFIDENCE", found="70.0", expected="90.0", hint="set min_confidence = 90.0")
            check.that("the function was redeployed", True)
            check.that("labels at least 90% confident", False, expected="≥ 90", found=84.5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["  ✗ MIN_CONFIDENCE: expected '90.0', found '70.0'", "  ✓ the function was redeployed",
                         "  ✗ labels at least 90% confident: expected ≥ 90, found 84.5"]
    error = raised.value
    assert isinstance(error, checks.CheckFailed) and isinstance(error, AssertionError)
    assert error.number == "2.1" and len(error.failed) == 2 and error.total == 3
    assert str(error) == ("Exercise 2.1 (Raise MinConfidence) is not done yet: MIN_CONFIDENCE: expected '90.0', "
                          "found '70.0' (hint: set min_confidence = 90.0); labels at least 90% confident: "
                          "expected ≥ 90, found 84.5")


def test_a_closing_check_raises_check_failed_not_exercise_incomplete():
    with pytest.raises(checks.CheckFailed) as raised:
        with checks.verify("What 01 built") as check:
            check.that("the bucket exists", False, hint="run the bucket cell")
    assert not isinstance(raised.value, checks.ExerciseIncomplete)
    assert str(raised.value) == "What 01 built: 1 of 1 checks failed: the bucket exists (hint: run the bucket cell)"


def test_an_error_inside_the_block_is_not_swallowed():
    with pytest.raises(KeyError):
        with checks.exercise("1.1", "x") as check:
            check.that("first", True)
            raise KeyError("missing")
