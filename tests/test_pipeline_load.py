"""The pure parts of benchmarks/pipeline_load.py: bounds, percentiles, image variants, the accounting.

Nothing here starts a local cloud or measures time: the benchmark itself does (make bench-load).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "pipeline_load.py"
_spec = importlib.util.spec_from_file_location("pipeline_load", _PATH)
load = importlib.util.module_from_spec(_spec)
sys.modules["pipeline_load"] = load  # dataclasses look their module up by name
_spec.loader.exec_module(load)


# --- bounds ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("images, clients, duplicates", [(1, 1, 0.0), (200, 16, 0.0), (2000, 64, 1.0), (5, 3, 0.5)])
def test_bounds_accept_the_allowed_range(images, clients, duplicates):
    load.check_bounds(images, clients, duplicates)


@pytest.mark.parametrize("images, clients, duplicates, word", [
    (2001, 16, 0.0, "--images"), (0, 16, 0.0, "--images"), (-5, 16, 0.0, "--images"),
    (200, 65, 0.0, "--clients"), (200, 0, 0.0, "--clients"),
    (200, 16, 1.5, "--duplicates"), (200, 16, -0.1, "--duplicates"),
])
def test_bounds_refuse_too_much_or_nothing(images, clients, duplicates, word):
    with pytest.raises(load.LoadError, match=word):
        load.check_bounds(images, clients, duplicates)


def test_the_command_line_refuses_out_of_bounds_before_starting_anything(capsys):
    with pytest.raises(SystemExit) as stopped:
        load.main(["--images", "5000"])
    assert stopped.value.code == 2
    assert "at most" not in capsys.readouterr().out  # refused by argparse, nothing printed on stdout
    with pytest.raises(SystemExit):
        load.main(["--clients", "100"])


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:4566/_aws/execute-api/abc/v1", "http://localhost:1234/x", "http://[::1]:80/",
    "http://127.0.0.2:9/"])
def test_loopback_urls_are_accepted(url):
    assert load.require_loopback(url) == url


@pytest.mark.parametrize("url", [
    "https://abc.execute-api.us-east-1.amazonaws.com/v1", "http://10.0.0.5:4566/", "http://0.0.0.0:4566/",
    "http://example.com/", "https://127.0.0.1:4566/", "ftp://127.0.0.1/", "not a url", "http://127.0.0.1.example.com/"])
def test_other_urls_are_refused(url):
    with pytest.raises(load.LoadError, match="refusing"):
        load.require_loopback(url)


# --- percentiles ----------------------------------------------------------------------------------

def test_percentile_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert load.percentile(values, 0.5) == 51  # round(0.5 * 99) = 50 (banker's rounding) -> the 51st value
    assert load.percentile(values, 0.95) == 95
    assert load.percentile(values, 0.0) == 1
    assert load.percentile(values, 1.0) == 100
    assert load.percentile([7.0], 0.95) == 7.0
    assert load.percentile([3, 1, 2], 0.5) == 2  # unsorted input


def test_percentile_of_nothing_is_nan():
    value = load.percentile([], 0.5)
    assert value != value


# --- image variants -------------------------------------------------------------------------------

def test_variants_are_distinct_valid_images_and_the_same_every_time():
    from PIL import Image

    made = load.variants(40)
    assert len(made) == 40
    assert len({v.id for v in made}) == 40
    assert [v.id for v in made] == [v.id for v in load.variants(40)]
    for variant in made:
        assert variant.id == hashlib.sha256(variant.data).hexdigest()
        signature = b"\x89PNG\r\n\x1a\n" if variant.content_type == "image/png" else b"\xff\xd8\xff"
        assert variant.data.startswith(signature)
        with Image.open(io.BytesIO(variant.data)) as image:
            assert image.size == load.VARIANT_SIZE
    assert {v.content_type for v in made} == {"image/png", "image/jpeg"}
    assert max(len(v.data) for v in made) < 4 * 1024 * 1024  # the API's limit


def test_variants_of_one_photo_still_differ(tmp_path):
    from PIL import Image

    Image.new("RGB", (200, 150), (40, 80, 120)).save(tmp_path / "flat.png")  # a flat photo: only the stamp differs
    made = load.variants(300, sources=[tmp_path / "flat.png"])
    assert len({v.id for v in made}) == 300


def test_plan_resends_a_share_soon_and_late():
    images = load.variants(10, sources=None)[:10]
    warm = images[:2]
    jobs = load.plan(images, 0.4, warmup=warm)
    kinds = [job.kind for job in jobs]
    assert kinds[:2] == ["warmup", "warmup"]
    assert kinds.count("image") == 10 and kinds.count("duplicate") == 4
    resent = [job.variant for job in jobs if job.kind == "duplicate"]
    assert len({v.id for v in resent}) == 4 and all(v in images for v in resent)
    assert kinds[-1] == "duplicate"  # half of them at the end
    first = kinds.index("duplicate")
    assert jobs[first].variant == jobs[first - 1].variant  # the other half right after the original
    assert load.plan(images, 0.0) == [load.Job(v, "image") for v in images]


# --- accounting -----------------------------------------------------------------------------------

def _variant(n: int) -> load.Variant:
    return load.Variant(f"v{n}.png", "image/png", f"image {n}".encode())


def _accepted(variant, kind="image", answered=None) -> load.Outcome:
    return load.Outcome(load.Job(variant, kind), status_code=202, answered_id=answered or variant.id)


def test_accounting_of_a_clean_run():
    a, b, c = (_variant(n) for n in range(3))
    outcomes = [_accepted(a), _accepted(b), _accepted(c), _accepted(a, "duplicate"),
                load.Outcome(load.Job(_variant(9), "image"), status_code=415, error="UnsupportedMediaType")]
    records = [{"id": a.id, "status": "SUCCEEDED"}, {"id": b.id, "status": "SUCCEEDED"},
               {"id": c.id, "status": "FAILED"}, {"id": "old", "status": "SUCCEEDED"}]
    executions = [a.id, b.id, c.id, "old", "inline-1234"]
    objects = [f"images/{a.id}.png", f"images/{b.id}.jpg", "images/old.png"]
    result = load.account(outcomes, records, executions, objects, baseline={"old", "inline-1234"},
                          staged_keys=[f"staging/{a.id}"])
    assert result.ok
    assert (result.posts, result.accepted, result.distinct, result.duplicate_posts) == (5, 4, 3, 1)
    assert result.rejected == {"415": 1}
    assert result.statuses == {"SUCCEEDED": 2, "FAILED": 1}
    assert result.staged_left == [a.id] and result.resent == {a.id}  # informational, not a failure


def test_accounting_finds_missing_duplicated_and_unfinished_images():
    a, b, c, d, e = (_variant(n) for n in range(5))
    outcomes = [_accepted(v) for v in (a, b, c, d, e)]
    records = [{"id": b.id, "status": "SUCCEEDED"}, {"id": c.id, "status": "PROCESSING"},
               {"id": d.id, "status": "SUCCEEDED"}, {"id": e.id, "status": "SUCCEEDED"}]
    executions = [b.id, c.id, d.id, d.id]  # two executions of d; none of e
    objects = [f"images/{b.id}.png", f"images/{b.id}.jpg", f"images/{d.id}.png"]  # b stored twice; e never
    result = load.account(outcomes, records, executions, objects)
    assert not result.ok
    assert result.missing == [a.id]
    assert result.processing == [c.id]
    assert sorted(result.duplicated) == sorted([b.id, d.id])
    assert result.no_execution == [e.id]
    assert result.no_object == [e.id]  # SUCCEEDED without a stored image; c (PROCESSING) is not counted here
    assert result.statuses == {"SUCCEEDED": 3, "PROCESSING": 1}


def test_accounting_flags_a_resend_with_another_id_and_strays():
    a = _variant(1)
    outcomes = [_accepted(a), _accepted(a, "duplicate", answered="f" * 64)]
    records = [{"id": a.id, "status": "SUCCEEDED"}, {"id": "f" * 64, "status": "SUCCEEDED"},
               {"id": "e" * 64, "status": "SUCCEEDED"}]
    result = load.account(outcomes, records, [a.id, "f" * 64], [f"images/{a.id}.png", f"images/{'f' * 64}.png"])
    assert not result.ok
    assert result.wrong_id == ["f" * 64]
    assert result.stray == [f"record {'e' * 64}"]


def test_rejected_and_unanswered_posts_are_counted_not_failed():
    a = _variant(1)
    outcomes = [load.Outcome(load.Job(a, "image"), status_code=None, error="ConnectionError"),
                load.Outcome(load.Job(_variant(2), "image"), status_code=500, error="InternalError")]
    result = load.account(outcomes, [], [], [])
    assert result.ok and result.accepted == 0
    assert result.rejected == {"no answer": 1, "500": 1}


def test_object_id():
    assert load.object_id("images/abc.png") == "abc"
    assert load.object_id("staging/abc") == "abc"


# --- CPU of the local cloud's process tree ------------------------------------------------------------

def _stat_line(pid: int, name: str, ppid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime ...
    return f"{pid} ({name}) S {ppid} 1 1 0 -1 4194304 10 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 9 0 100"


def test_parse_stat_reads_times_even_with_spaces_and_parentheses_in_the_name():
    import os

    tick = os.sysconf("SC_CLK_TCK")
    stat = load.parse_stat(_stat_line(42, "py (worker) x", 7, 3 * tick, tick, 2 * tick, 0))
    assert (stat.ppid, stat.own, stat.reaped) == (7, 4.0, 2.0)


def test_tree_cpu_counts_the_server_its_live_descendants_and_reaped_ones_once():
    P = load.ProcStat
    stats = {1: P(0, 100.0, 0.0),  # init: not ours
             10: P(1, 5.0, 2.0),  # the server: 2 s of ended environments it reaped
             11: P(10, 1.0, 0.5),  # a template process, which reaped 0.5 s of forked workers
             12: P(11, 0.25, 0.0),  # a worker forked from the template: a grandchild
             13: P(10, 0.75, 0.0),  # a worker started by the server
             20: P(1, 9.0, 0.0)}  # someone else's process
    tree = load.tree_cpu(stats, 10)
    assert (tree.server, tree.descendants, tree.processes) == (5.0, 2.0 + 1.5 + 0.25 + 0.75, 3)


def test_tree_cpu_of_a_worker_that_ended_between_two_readings_is_kept():
    P = load.ProcStat
    before = load.tree_cpu({10: P(1, 5.0, 0.0), 13: P(10, 0.75, 0.0)}, 10)
    after = load.tree_cpu({10: P(1, 6.0, 1.25)}, 10)  # 13 used 0.5 s more, ended and was reaped
    assert after.descendants - before.descendants == 0.5


def test_read_stats_sees_this_process():
    import os

    assert load.read_stats()[os.getpid()].ppid == os.getppid()


def test_tally_counts_invocations_cold_starts_their_init_and_timeouts():
    lines = ["START RequestId: a Version: $LATEST",
             "REPORT RequestId: a\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
             "Max Memory Used: 40 MB\tInit Duration: 12.50 ms\t",
             "REPORT RequestId: b\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t"
             "Max Memory Used: 40 MB\t",
             "2026-01-01T00:00:00Z c Task timed out after 3.00 seconds",
             "REPORT RequestId: c\tDuration: 3000.00 ms\tInit Duration: 7.50 ms\t"]
    assert load.tally(lines) == (3, 2, 1, 20.0)
