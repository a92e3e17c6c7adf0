"""Load benchmark of the whole pipeline: N images through the REST API at once, every one accounted for.

It starts its own local cloud (a free port, a temporary state folder), deploys the pipeline by
running notebooks 00-05 with the prefix ``load`` (executed copies in a temporary folder), then
POSTs N distinct small images (variants of the photos in ``data/``, each with its own SHA-256)
from C concurrent clients. Each client is closed-loop: it POSTs one image, then GETs
``/images/{id}`` every ``--poll-interval`` seconds (default 0.2: a realistic client; a 50 ms poll
mostly measures the polling) until the record is final, then takes the next.

It prints, and measures two latencies per image:
- **end to end, client side**: from just before the POST is sent to the GET response that first
  shows SUCCEEDED or FAILED (so it includes the POST, the workflow, and up to one poll interval
  plus one GET of waiting);
- **in the pipeline, server side**: the record's ``updated_at - created_at`` (the api-receiver's
  PutItem to the result-store's final UpdateItem; millisecond timestamps, one clock).

and what the load cost: CPU seconds per image in the local cloud's server process (moto, the
front door, Step Functions, the Rekognition model) and in its descendants (the functions'
execution environments), read from ``/proc`` before and after the load (see :func:`tree_cpu`
for what is counted), and the cold starts per function (its log's REPORT lines with
"Init Duration").

Correctness, not speed, decides the exit code: it is non-zero when an accepted image has no
record, has more than one record, execution or stored object, was answered with an id that is
not its SHA-256, or is still PROCESSING at the end. ``--duplicates F`` re-sends a share F of the
images (half of them while the original is in flight, half after it has finished): each must
map to the original's id and create nothing. Nothing is asserted about speed.

The script talks only to the local cloud it started (it refuses any other URL) and is bounded:
N <= 2000 images, C <= 64 clients.
Run: make bench-load N=200 C=16   (or .venv/bin/python benchmarks/pipeline_load.py --help)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import ipaddress
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ is not an installed package (make setup installs only helpers and localcloud), and
# `python benchmarks/x.py` puts benchmarks/, not the checkout, on sys.path: `from benchmarks import`
# needs the checkout inserted first, hence the late imports.
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import deploy, machine  # noqa: E402

DATA_DIR = REPO_ROOT / "data"
PHOTOS = ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg")
MAX_IMAGES = 2000
MAX_CLIENTS = 64
DEFAULT_IMAGES = 200
DEFAULT_CLIENTS = 16
DEFAULT_POLL_INTERVAL = 0.2
PREFIX = "load"
REGION = "us-east-1"
FINAL = ("SUCCEEDED", "FAILED")
VARIANT_SIZE = (160, 120)  # small: the load is on the pipeline, not on moving bytes
STAMP_BITS = 12  # 4096 > MAX_IMAGES + MAX_CLIENTS (warm-up images) distinct stamps; 96 px wide
LOOPBACK_HOSTS = ("localhost",)


class LoadError(ValueError):
    """The benchmark refuses these arguments; the message says what is accepted."""


# --- bounds --------------------------------------------------------------------------------------

def check_bounds(images: int, clients: int, duplicates: float = 0.0) -> None:
    """Refuse a load this script will not send: 1..2000 images, 1..64 clients, a duplicate share in 0..1."""
    if not 1 <= images <= MAX_IMAGES:
        raise LoadError(f"--images must be between 1 and {MAX_IMAGES}; got {images}")
    if not 1 <= clients <= MAX_CLIENTS:
        raise LoadError(f"--clients must be between 1 and {MAX_CLIENTS}; got {clients}")
    if not 0.0 <= duplicates <= 1.0:
        raise LoadError(f"--duplicates is a share of the images, between 0 and 1; got {duplicates}")


def require_loopback(url: str) -> str:
    """``url`` if its host is this machine's loopback (127.0.0.0/8, ::1, localhost); LoadError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or not host:
        raise LoadError(f"refusing {url!r}: this benchmark only talks to the local cloud it started "
                        "(http://127.0.0.1:PORT)")
    if host in LOOPBACK_HOSTS:
        return url
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LoadError(f"refusing {url!r}: {host} is not this machine's loopback; this benchmark only "
                        "talks to the local cloud it started")
    return url


# --- figures ---------------------------------------------------------------------------------------

def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (as benchmarks/localcloud_bench.py); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- the images ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    name: str
    content_type: str
    data: bytes

    @property
    def id(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def variants(count: int, sources: Sequence[Path] | None = None, size: tuple[int, int] = VARIANT_SIZE) -> list[Variant]:
    """``count`` small distinct images, the same on every run: crops of the photos, alternately PNG and JPEG.

    Image ``i`` is a crop of photo ``i % len(sources)`` at an offset derived from ``i``, with
    ``i`` written in binary along its top edge, one black or white 8x8 block per bit (whole JPEG
    blocks in extreme colours, so the difference survives compression even on a flat photo).
    Every variant's SHA-256 differs from every other's (checked: a clash raises).
    """
    from PIL import Image

    if not 0 <= count <= 1 << STAMP_BITS:
        raise ValueError(f"count must be between 0 and {1 << STAMP_BITS}")
    paths = list(sources) if sources is not None else [DATA_DIR / name for name in PHOTOS]
    photos = []
    for path in paths:
        with Image.open(path) as image:
            photos.append(image.convert("RGB"))
    width, height = size
    made: list[Variant] = []
    seen: dict[str, int] = {}
    for i in range(count):
        photo = photos[i % len(photos)]
        step = i // len(photos)
        span_x, span_y = max(1, photo.width - width), max(1, photo.height - height)
        left, top = (step * 37) % span_x, (step * 23) % span_y
        crop = photo.crop((left, top, left + width, top + height))
        for bit in range(STAMP_BITS):  # i in binary, one black or white 8x8 block per bit
            colour = (255, 255, 255) if i >> bit & 1 else (0, 0, 0)
            crop.paste(colour, (8 * bit, 0, 8 * bit + 8, 8))
        buffer = io.BytesIO()
        if i % 2 == 0:
            crop.save(buffer, format="PNG")
            variant = Variant(f"load-{i:04d}.png", "image/png", buffer.getvalue())
        else:
            crop.save(buffer, format="JPEG", quality=85)
            variant = Variant(f"load-{i:04d}.jpg", "image/jpeg", buffer.getvalue())
        if variant.id in seen:
            raise RuntimeError(f"variant {i} has the same bytes as variant {seen[variant.id]}")
        seen[variant.id] = i
        made.append(variant)
    return made


@dataclass(frozen=True)
class Job:
    variant: Variant
    kind: str  # "warmup", "image" (measured), "duplicate" (a re-send: must create nothing)


def plan(images: Sequence[Variant], duplicates: float = 0.0, warmup: Sequence[Variant] = ()) -> list[Job]:
    """The order of the POSTs: warm-up images, then the images, with re-sends of a share of them.

    Of the re-sent images (every k-th, deterministic), half are re-sent right after their
    original (another client picks it up while the original is in flight), half at the end
    (after it has most likely finished).
    """
    jobs = [Job(v, "warmup") for v in warmup]
    chosen = _spread(len(images), round(len(images) * duplicates))
    soon = set(chosen[0::2])  # re-sent right after the original
    late = [Job(images[position], "duplicate") for position in chosen[1::2]]
    for position, variant in enumerate(images):
        jobs.append(Job(variant, "image"))
        if position in soon:
            jobs.append(Job(variant, "duplicate"))
    return jobs + late


def _spread(total: int, wanted: int) -> list[int]:
    if wanted <= 0 or total <= 0:
        return []
    wanted = min(wanted, total)
    return sorted({(k * total) // wanted for k in range(wanted)})


# --- accounting --------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One POST and, for a measured or warm-up image, its wait for the final record."""

    job: Job
    status_code: int | None = None  # None: no answer (connection error, timeout)
    answered_id: str | None = None
    error: str | None = None
    post_ms: float | None = None
    e2e_ms: float | None = None  # POST sent -> the GET that first showed a final status
    final_status: str | None = None
    completed_at: float | None = None  # perf_counter of that GET's answer
    polls: int = 0  # GETs of /images/{id} made while waiting

    @property
    def accepted(self) -> bool:
        return self.status_code == 202 and self.answered_id is not None


@dataclass
class Accounting:
    """What the pipeline kept for the accepted images, against its contract (one of each per image)."""

    posts: int = 0
    accepted: int = 0  # accepted POSTs (re-sends included)
    rejected: Counter = field(default_factory=Counter)  # status code (or "no answer") -> count
    distinct: int = 0  # distinct accepted ids
    statuses: Counter = field(default_factory=Counter)  # final record status per distinct id
    missing: list[str] = field(default_factory=list)  # accepted, no record
    duplicated: list[str] = field(default_factory=list)  # accepted, more than one record/execution/object
    no_execution: list[str] = field(default_factory=list)
    no_object: list[str] = field(default_factory=list)  # SUCCEEDED but nothing under images/
    processing: list[str] = field(default_factory=list)  # still PROCESSING at the end
    wrong_id: list[str] = field(default_factory=list)  # answered id is not the SHA-256 of the bytes sent
    stray: list[str] = field(default_factory=list)  # records/executions/objects of no id we sent
    duplicate_posts: int = 0
    staged_left: list[str] = field(default_factory=list)  # accepted ids still under staging/ (informational)
    resent: set = field(default_factory=set)  # ids posted more than once

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.no_execution or self.no_object
                    or self.processing or self.wrong_id or self.stray)


def object_id(key: str) -> str:
    """``images/ID.png`` -> ID."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def account(outcomes: Iterable[Outcome], records: Iterable[dict], executions: Iterable[str],
            object_keys: Iterable[str], baseline: Iterable[str] = (), staged_keys: Iterable[str] = ()) -> Accounting:
    """Count, per distinct accepted id, its records (table scan), executions (by name) and images/ objects.

    ``baseline`` holds ids the pipeline had before the load (the notebooks' own images): their
    records, executions and objects are not the load's. Anything else that is no accepted id is stray.
    """
    result = Accounting()
    accepted_ids: list[str] = []
    for outcome in outcomes:
        result.posts += 1
        if outcome.job.kind == "duplicate":
            result.duplicate_posts += 1
        if not outcome.accepted:
            result.rejected[str(outcome.status_code) if outcome.status_code else "no answer"] += 1
            continue
        result.accepted += 1
        if outcome.answered_id != outcome.job.variant.id:
            result.wrong_id.append(outcome.answered_id)
        accepted_ids.append(outcome.answered_id)
        if outcome.job.kind == "duplicate":
            result.resent.add(outcome.answered_id)
    ids = list(dict.fromkeys(accepted_ids))
    result.distinct = len(ids)
    known = set(ids) | set(baseline)

    record_count: Counter = Counter()
    record_status: dict[str, str] = {}
    for record in records:
        record_count[record["id"]] += 1
        record_status[record["id"]] = record.get("status", "")
    execution_count = Counter(executions)
    object_count = Counter(object_id(key) for key in object_keys)

    for image_id in ids:
        if record_count[image_id] == 0:
            result.missing.append(image_id)
            continue
        status = record_status[image_id]
        result.statuses[status] += 1
        if status not in FINAL:
            result.processing.append(image_id)
        if max(record_count[image_id], execution_count[image_id], object_count[image_id]) > 1:
            result.duplicated.append(image_id)
        if execution_count[image_id] == 0:
            result.no_execution.append(image_id)
        if status == "SUCCEEDED" and object_count[image_id] == 0:
            result.no_object.append(image_id)
    staged = {object_id(key) for key in staged_keys}
    result.staged_left = [image_id for image_id in ids if image_id in staged]
    for what, counter in (("record", record_count), ("execution", execution_count), ("object", object_count)):
        result.stray += [f"{what} {name}" for name in counter if name not in known]
    return result


# --- CPU of the local cloud's process tree ---------------------------------------------------------

@dataclass(frozen=True)
class ProcStat:
    """One process's line of ``/proc/<pid>/stat``, in seconds."""

    ppid: int
    own: float  # utime + stime: all its threads
    reaped: float  # cutime + cstime: its children that ended and that it waited for (and theirs)


@dataclass(frozen=True)
class TreeCpu:
    server: float  # the server process itself, all threads
    descendants: float  # every other process under it: live ones, and ended ones their parent reaped
    processes: int  # live processes under the server (itself excluded)


def parse_stat(text: str) -> ProcStat:
    """A ``/proc/<pid>/stat`` line; the command name may hold spaces and parentheses, so split after the last ')'."""
    fields = text[text.rindex(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    # fields[0] is field 3 (state) of proc(5): ppid is field 4, utime..cstime fields 14-17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ProcStat(int(fields[1]), (utime + stime) / tick, (cutime + cstime) / tick)


def read_stats() -> dict[int, ProcStat]:
    """Every process this user can see now (one that ends while being read is skipped)."""
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat(Path(entry.path, "stat").read_text())
            except (OSError, ValueError, IndexError):
                pass
    return stats


def tree_cpu(stats: dict[int, ProcStat], root: int) -> TreeCpu:
    """CPU seconds of ``root`` and everything under it, each second counted once.

    A live process counts its own time and its reaped children's (cutime: ended children it
    waited for, with their own reaped ones); the root's own time is the server, its reaped
    children's go to the descendants. So an environment that ended during the load still
    counts (the server or the template it was forked from waited for it), however deep the
    tree (workers forked from a template process are grandchildren). Not counted: a process
    that ended unreaped and was re-parented away from the tree (none of the local cloud's do).
    """
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    descendants, count, todo = stats[root].reaped, 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        descendants += stats[pid].own + stats[pid].reaped
        count += 1
        todo += children.get(pid, [])
    return TreeCpu(stats[root].own, descendants, count)


def own_cpu() -> float:
    """This benchmark's own CPU seconds (its client threads), for comparison."""
    usage = os.times()
    return usage.user + usage.system


# --- running against the local cloud -------------------------------------------------------------------

def _clients(instance) -> dict:
    import boto3

    key = instance.credentials  # the local cloud answers only its own key
    session = boto3.session.Session(region_name=REGION, aws_access_key_id=key.access_key_id,
                                    aws_secret_access_key=key.secret_access_key)
    return {name: session.client(name, endpoint_url=instance.endpoint)
            for name in ("dynamodb", "stepfunctions", "s3", "logs")}


_INIT_DURATION = re.compile(r"Init Duration: ([0-9.]+) ms")


def tally(messages: Iterable[str]) -> tuple[int, int, int, float]:
    """(invocations, cold starts, timeouts, milliseconds of init) in a function's log lines.

    Its REPORT lines count invocations (with Init Duration when cold), "Task timed out" its timeouts.
    """
    total = cold = timeouts = 0
    init_ms = 0.0
    for message in messages:
        if message.startswith("REPORT "):
            total += 1
            found = _INIT_DURATION.search(message)
            if found:
                cold += 1
                init_ms += float(found[1])
        timeouts += "Task timed out" in message
    return total, cold, timeouts, init_ms


def invocations(logs_client, names) -> dict[str, tuple[int, int, int, float]]:
    """Per Lambda function, :func:`tally` of its log so far."""
    from helpers.names import FUNCTIONS

    counts = {}
    for key in FUNCTIONS:
        messages: list[str] = []
        try:
            for page in logs_client.get_paginator("filter_log_events").paginate(logGroupName=names.log_group(key)):
                messages += [event["message"] for event in page["events"]]
        except logs_client.exceptions.ResourceNotFoundException:
            pass
        counts[key] = tally(messages)
    return counts


def snapshot(clients: dict, names) -> tuple[list[dict], list[str], list[str], list[str]]:
    """Every record (scan, paginated), execution name (paginated), images/ key and staging/ key."""
    records = []
    for page in clients["dynamodb"].get_paginator("scan").paginate(
            TableName=names.table, ProjectionExpression="id, #s, created_at, updated_at",
            ExpressionAttributeNames={"#s": "status"}, ConsistentRead=True):
        records += [{key: value["S"] for key, value in item.items()} for item in page["Items"]]
    executions = [execution["name"]
                  for page in clients["stepfunctions"].get_paginator("list_executions").paginate(
                      stateMachineArn=names.state_machine_arn)
                  for execution in page["executions"]]
    listing = clients["s3"].get_paginator("list_objects_v2")
    keys = {prefix: [item["Key"] for page in listing.paginate(Bucket=names.bucket, Prefix=prefix)
                     for item in page.get("Contents", [])] for prefix in ("images/", "staging/")}
    return records, executions, keys["images/"], keys["staging/"]


def send(url: str, jobs: Sequence[Job], clients: int, *, poll_interval: float,
         timeout: float) -> tuple[list[Outcome], float, float]:
    """Run the jobs on ``clients`` closed-loop clients; the outcomes and the wall time (start, end)."""
    import requests

    local = threading.local()
    deadline = time.monotonic() + timeout

    def one(job: Job) -> Outcome:
        http = getattr(local, "session", None)
        if http is None:
            http = local.session = requests.Session()
        outcome = Outcome(job)
        sent = time.perf_counter()
        try:
            response = http.post(f"{url}/images", data=job.variant.data,
                                 headers={"Content-Type": job.variant.content_type}, timeout=60)
        except requests.RequestException as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            return outcome
        outcome.post_ms = (time.perf_counter() - sent) * 1000
        outcome.status_code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 202:
            outcome.error = str(body.get("error") or body.get("message") or response.text[:100])
            return outcome
        outcome.answered_id = body.get("id")
        if job.kind == "duplicate" or outcome.answered_id is None:
            return outcome  # a re-send only has to map to the same id; the accounting checks the rest
        while time.monotonic() < deadline:
            time.sleep(poll_interval)
            outcome.polls += 1
            try:
                answer = http.get(f"{url}/images/{outcome.answered_id}", timeout=30)
            except requests.RequestException:
                continue
            if answer.status_code == 200 and answer.json().get("status") in FINAL:
                outcome.completed_at = time.perf_counter()
                outcome.e2e_ms = (outcome.completed_at - sent) * 1000
                outcome.final_status = answer.json()["status"]
                break
        return outcome

    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        outcomes = list(pool.map(one, jobs))
        ended = time.perf_counter()
    return outcomes, started, ended


def _ms_between(start: str, end: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() * 1000


def _short(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(i[:12] + "…" if len(i) == 64 else i for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def report(result: Accounting, outcomes: list[Outcome], wall_s: float, records: list[dict],
           images: int, clients: int) -> None:
    measured = [o for o in outcomes if o.job.kind == "image"]
    by_id = {record["id"]: record for record in records}
    post_ms = [o.post_ms for o in measured if o.post_ms is not None]
    e2e_ms = [o.e2e_ms for o in measured if o.e2e_ms is not None]
    server_ms = [_ms_between(by_id[o.answered_id]["created_at"], by_id[o.answered_id]["updated_at"])
                 for o in measured if o.e2e_ms is not None and o.answered_id in by_id
                 and by_id[o.answered_id].get("created_at") and by_id[o.answered_id].get("updated_at")]
    rejected = ", ".join(f"{code}: {n}" for code, n in sorted(result.rejected.items())) or "none"
    print(f"images N={images}  clients C={clients}  POSTs={result.posts} (re-sends {result.duplicate_posts})")
    print(f"accepted={result.accepted}  rejected={sum(result.rejected.values())} ({rejected})  "
          f"distinct accepted ids={result.distinct}")
    print(f"SUCCEEDED={result.statuses['SUCCEEDED']}  FAILED={result.statuses['FAILED']}  "
          f"PROCESSING={len(result.processing)}  missing={len(result.missing)}  duplicated={len(result.duplicated)}  "
          f"without execution={len(result.no_execution)}  without object={len(result.no_object)}  "
          f"wrong id={len(result.wrong_id)}  stray={len(result.stray)}")
    print(f"accepted images still under staging/ (informational): {len(result.staged_left)}, of which re-sent: "
          f"{len(set(result.staged_left) & result.resent)}")
    def reason(o: Outcome) -> str:
        return f"{o.status_code or 'no answer'} {o.error}"

    reasons = Counter(reason(o) for o in outcomes if not o.accepted)
    for why, count in reasons.most_common():
        phases = Counter(o.job.kind for o in outcomes if not o.accepted and reason(o) == why)
        print(f"  rejected {count}x: {why[:120]} ({', '.join(f'{k} {n}' for k, n in sorted(phases.items()))})")
    polls = sum(o.polls for o in outcomes if o.job.kind != "warmup")
    print(f"GET /images/{{id}} while waiting: {polls} ({polls / wall_s if wall_s else 0:.0f}/s)")
    print(f"throughput: {len(e2e_ms)} images completed end to end in {wall_s:.1f} s = "
          f"{len(e2e_ms) / wall_s if wall_s else 0:.1f} images/s")
    print(f"POST /images latency          n={len(post_ms):<5} p50={percentile(post_ms, 0.5):8.1f} ms  "
          f"p95={percentile(post_ms, 0.95):8.1f} ms")
    print(f"end to end (POST -> final GET) n={len(e2e_ms):<5} p50={percentile(e2e_ms, 0.5):8.1f} ms  "
          f"p95={percentile(e2e_ms, 0.95):8.1f} ms  max={max(e2e_ms, default=float('nan')):8.1f} ms")
    print(f"in the pipeline (record times) n={len(server_ms):<5} p50={percentile(server_ms, 0.5):8.1f} ms  "
          f"p95={percentile(server_ms, 0.95):8.1f} ms  max={max(server_ms, default=float('nan')):8.1f} ms")
    for label, ids in (("missing", result.missing), ("duplicated", result.duplicated),
                       ("still PROCESSING", result.processing), ("without execution", result.no_execution),
                       ("without object", result.no_object), ("wrong id", result.wrong_id),
                       ("stray", result.stray)):
        if ids:
            print(f"  {label}: {_short(ids)}")


def report_cpu(before: TreeCpu, after: TreeCpu, client_s: float, images: int) -> None:
    server, functions = after.server - before.server, after.descendants - before.descendants
    print(f"CPU during the load, per image (N={images}): local cloud server {server / images:.3f} s, "
          f"functions {functions / images:.3f} s, total {(server + functions) / images:.3f} s "
          f"(this benchmark's clients: {client_s / images:.3f} s)")
    print(f"  server = the server process's own time, all threads (front door, moto, Step Functions, "
          f"Rekognition's model); functions = every process under it: the {after.processes} alive at the end "
          f"and those that ended (their parent's cutime), however deep (from /proc/<pid>/stat)")


def report_invocations(before: dict[str, tuple[int, int, int, float]],
                       after: dict[str, tuple[int, int, int, float]], status: dict | None) -> None:
    print("Lambda during the load, per function: invocations, cold starts (REPORT lines with Init Duration) "
          "and their mean Init Duration, timeouts")
    for key in after:
        calls, cold, timeouts, init_ms = (a - b for a, b in zip(after[key], before[key], strict=True))
        if calls or cold or timeouts:
            mean = f"{init_ms / cold:7.1f} ms init" if cold else " " * 12
            print(f"  {key.replace('_', '-'):<16} {calls:6d} invocations  {cold:5d} cold starts {mean}  "
                  f"{timeouts:3d} timeouts")
    if status is not None:
        warm = status.get("warm_environments") or {}
        print("warm (idle) environments at the end: " + (", ".join(f"{n} {c}" for n, c in sorted(warm.items()))
                                                         or "none"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--images", type=int, default=DEFAULT_IMAGES,
                        help=f"distinct images to post (default {DEFAULT_IMAGES}, at most {MAX_IMAGES})")
    parser.add_argument("-c", "--clients", type=int, default=DEFAULT_CLIENTS,
                        help=f"concurrent clients (default {DEFAULT_CLIENTS}, at most {MAX_CLIENTS})")
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="share of the images to post a second time (0-1, default 0): must create nothing")
    parser.add_argument("--warmup", type=int, default=None,
                        help="images posted first, not measured (default: one per client)")
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL,
                        help=f"seconds between GETs of one id (default {DEFAULT_POLL_INTERVAL})")
    parser.add_argument("--timeout", type=float, default=600, help="seconds the whole load may take (default 600)")
    args = parser.parse_args(argv)
    try:
        check_bounds(args.images, args.clients, args.duplicates)
        if not 0.01 <= args.poll_interval <= 5 or not 1 <= args.timeout <= 3600:
            raise LoadError("--poll-interval must be 0.01-5 s and --timeout 1-3600 s")
    except LoadError as exc:
        parser.error(str(exc))
    warmup = args.clients if args.warmup is None else max(0, min(args.warmup, MAX_CLIENTS))

    from helpers import notebook_runner
    from helpers.names import Names
    from localcloud import config, process

    every = variants(args.images + warmup)
    jobs = plan(every[warmup:], args.duplicates, warmup=every[:warmup])
    names = Names(prefix=PREFIX, account_id=config.ACCOUNT_ID, region=REGION)
    output_dir = Path(tempfile.mkdtemp(prefix="pipeline-load-"))
    print(f"machine: {machine.describe()}")
    try:
        with notebook_runner.fresh_localcloud() as instance:
            print(f"a local cloud of its own at {instance.endpoint} (server pid {instance.pid}); "
                  f"deploying with notebooks 00-05 (prefix {PREFIX})")
            url = require_loopback(deploy.deploy(output_dir, PREFIX, REGION))
            require_loopback(instance.endpoint)
            clients = _clients(instance)
            baseline_records, baseline_executions, baseline_keys, _ = snapshot(clients, names)
            baseline = ({r["id"] for r in baseline_records} | set(baseline_executions)
                        | {object_id(k) for k in baseline_keys})
            if warmup:
                print(f"warm-up: {warmup} images, not measured")
                warm_outcomes, _, _ = send(url, [j for j in jobs if j.kind == "warmup"], args.clients,
                                           poll_interval=args.poll_interval, timeout=args.timeout)
            else:
                warm_outcomes = []
            load_jobs = [j for j in jobs if j.kind != "warmup"]
            before = invocations(clients["logs"], names)
            if hasattr(os, "getloadavg"):  # other work on the machine slows the figures down: say so
                print("load average before the load: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
            print(f"load: {len(load_jobs)} POSTs ({args.images} images, {len(load_jobs) - args.images} re-sends) "
                  f"from {args.clients} clients, polling every {args.poll_interval * 1000:.0f} ms")
            cpu_before, client_before = tree_cpu(read_stats(), instance.pid), own_cpu()
            outcomes, started, ended = send(url, load_jobs, args.clients, poll_interval=args.poll_interval,
                                            timeout=args.timeout)
            cpu_after, client_after = tree_cpu(read_stats(), instance.pid), own_cpu()
            print(f"load sent and answered in {ended - started:.1f} s; reading what the pipeline kept")
            measured = [o for o in outcomes if o.job.kind == "image"]
            last = max((o.completed_at for o in measured if o.completed_at), default=ended)
            records, executions, keys, staged = snapshot(clients, names)
            result = account(warm_outcomes + outcomes, records, executions, keys, baseline, staged)
            report(result, warm_outcomes + outcomes, last - started, records, args.images, args.clients)
            report_cpu(cpu_before, cpu_after, client_after - client_before, args.images)
            report_invocations(before, invocations(clients["logs"], names), process.status(instance.port))
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
    if not result.ok:
        print("FAIL: the pipeline lost, duplicated or did not finish images (see above)", file=sys.stderr)
        return 1
    print("ok: every accepted image has exactly one record, one execution and (if SUCCEEDED) one stored image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
