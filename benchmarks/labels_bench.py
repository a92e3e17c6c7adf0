"""Benchmark of the local cloud's DetectLabels model: prints figures, asserts nothing about speed.

Measures, on the machine it runs on:
- DetectLabels latency through the local cloud, over HTTP with boto3, one client, warm
  (p50, p95, min of N calls): a ~600 KB photo as Bytes and as an S3Object, the two sample
  PNGs on either side of 600 KB, and the 12000x900 panorama downscaled to 4096x307 as the
  pipeline's label-detector sends it; the same calls with LOCALCLOUD_LABELS=canned (input
  checks and moto, no model) for comparison; and in this process, the model alone
  (``engine.detect``) on the photo and on the full 12000x900 panorama, which DetectLabels
  itself refuses (over 10000 pixels a side);
- the model's load time: as the server reports it (``labels.load_seconds`` in the status
  report), the server's whole start with and without the model (median of 3), a load in
  this process from the cache, and the one-time conversion into an empty cache;
- the memory the model adds to the local cloud: VmRSS and VmHWM of the server process
  (/proc/PID/status; the pid from the status report) with LOCALCLOUD_LABELS=model minus
  with canned, at start and after the same requests.

The ~600 KB photo is made from data/coffee.png (600x400): scaled with Lanczos to 2100x1400
and saved as JPEG quality 95 (about 620 KiB; the exact size is printed).

It starts its own local clouds on free ports with a temporary state folder, one after the
other, and stops them; the converted model is read from the usual cache
(``.localcloud/models`` or LOCALCLOUD_MODEL_CACHE), which it prepares first if needed.
Linux only (it reads /proc). Run: make bench-labels
(or .venv/bin/python benchmarks/labels_bench.py --help)
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from PIL import Image

from localcloud import config, process

REPO_ROOT = Path(__file__).resolve().parents[1]
# benchmarks/ is not an installed package (make setup installs only helpers and localcloud), and
# `python benchmarks/x.py` puts benchmarks/, not the checkout, on sys.path: `from benchmarks import`
# needs the checkout inserted first, hence the late imports.
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import machine  # noqa: E402

DATA = REPO_ROOT / "data"
REGION = "us-east-1"
BUCKET = "labels-bench"
PHOTO_SOURCE = "coffee.png"
PHOTO_SIZE = (2100, 1400)
PHOTO_QUALITY = 95
BRACKETS = ("coffee.png", "astronaut.png")  # the sample PNGs just under and over 600 KB
PANORAMA = "large/panorama.jpg"
ANALYSIS_SIDE = 4096  # what notebook 02's label-detector downscales a too-large image to
# The targets, printed beside the figures; nothing here checks them.
TARGET_P50_MS = 50.0
TARGET_LOAD_S = 2.0
TARGET_ADDED_MB = 300.0


# --- inputs ----------------------------------------------------------------------------------


def photo_600kb() -> bytes:
    with Image.open(DATA / PHOTO_SOURCE) as image:
        large = image.convert("RGB").resize(PHOTO_SIZE, Image.LANCZOS)
    buffer = io.BytesIO()
    large.save(buffer, "JPEG", quality=PHOTO_QUALITY)
    return buffer.getvalue()


def panorama_downscaled() -> tuple[bytes, tuple[int, int]]:
    """The panorama as the label-detector sends it: thumbnail to 4096, JPEG quality 90."""
    with Image.open(DATA / PANORAMA) as image:
        picture = image.convert("RGB")
    picture.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue(), picture.size


def describe(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return f"{image.width}x{image.height} {image.format}, {len(data):,} bytes ({len(data) / 1024:.0f} KiB)"


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(label: str, values_ms: list[float], target: str = "") -> str:
    line = (f"{label:<52} n={len(values_ms):<3} p50={percentile(values_ms, 0.5):7.1f} ms  "
            f"p95={percentile(values_ms, 0.95):7.1f} ms  min={min(values_ms):7.1f} ms")
    return f"{line}  {target}" if target else line


def timed_ms(call: Callable[[], object], repetitions: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid``, in KiB, from /proc/PID/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((config.HOST, 0))
        return sock.getsockname()[1]


# --- one local cloud -------------------------------------------------------------------------


class Run:
    """One local cloud in one label mode, the same requests in each."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        os.environ["LOCALCLOUD_LABELS"] = mode
        started = time.perf_counter()
        self.instance = process.start(self.port)
        self.start_s = time.perf_counter() - started
        self.status = process.status(self.port) or {}
        if self.status.get("labels", {}).get("source") != mode:
            process.stop(self.port)
            raise RuntimeError(f"asked for LOCALCLOUD_LABELS={mode}, the server reports {self.status.get('labels')}")
        self.pid = int(self.status["pid"])
        self.memory_at_start = memory_kib(self.pid)
        # Its own key on each client: boto3's default session keeps the first credentials it resolved.
        keys = self.instance.credentials.as_client_kwargs()
        self.client = boto3.client("rekognition", endpoint_url=self.instance.endpoint, region_name=REGION, **keys)
        self.s3 = boto3.client("s3", endpoint_url=self.instance.endpoint, region_name=REGION, **keys)
        try:
            self.s3.create_bucket(Bucket=BUCKET)
        except Exception:
            process.stop(self.port)  # a benchmark that fails leaves no local cloud behind
            raise
        self.latencies: dict[str, list[float]] = {}
        self.answers: dict[str, dict] = {}

    def detect(self, name: str, image: dict, repetitions: int, warmup: int) -> None:
        def call() -> None:
            answer = self.client.detect_labels(Image=image)
            answer.pop("ResponseMetadata")  # request ids differ from call to call
            self.answers[name] = answer

        self.latencies[name] = timed_ms(call, repetitions, warmup)

    def put(self, key: str, data: bytes) -> dict:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {"S3Object": {"Bucket": BUCKET, "Name": key}}

    def stop(self) -> None:
        self.memory_after = memory_kib(self.pid)
        process.stop(self.port)


def start_seconds(mode: str) -> float:
    """One more start of a local cloud in ``mode``, until healthy, then stopped."""
    port = free_port()
    os.environ["LOCALCLOUD_LABELS"] = mode
    started = time.perf_counter()
    process.start(port)
    elapsed = time.perf_counter() - started
    process.stop(port)
    return elapsed


def run_requests(run: Run, inputs: dict[str, bytes], repetitions: int, warmup: int) -> None:
    photo = inputs["photo"]
    run.detect("photo, Bytes", {"Bytes": photo}, repetitions, warmup)
    run.detect("photo, S3Object", run.put("photo.jpg", photo), repetitions, warmup)
    for name in BRACKETS:
        run.detect(name, {"Bytes": inputs[name]}, repetitions, warmup)
    run.memory_after_photos = memory_kib(run.pid)
    run.detect("panorama", {"Bytes": inputs["panorama"]}, max(5, repetitions // 5), 2)


def top(answer: dict, count: int = 4) -> str:
    labels = answer.get("Labels", [])
    shown = ", ".join(f"{label['Name']} {label['Confidence']:.1f}" for label in labels[:count])
    return shown + (f", ... ({len(labels)} labels)" if len(labels) > count else "")


# --- in this process -------------------------------------------------------------------------


def in_process(photo: bytes, panorama: bytes, repetitions: int) -> dict[str, object]:
    os.environ["LOCALCLOUD_LABELS"] = "model"
    from localcloud.rekognition import engine
    from localcloud.rekognition.vision import model, prepare

    cache = config.model_cache_dir()
    prepare(cache)  # what make setup does; a no-op when the cache is valid
    out: dict[str, object] = {}
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        model.load(cache)
        loads.append(time.perf_counter() - started)
    out["cached_load_s"] = loads
    with tempfile.TemporaryDirectory(prefix="labels-bench-cache-") as empty:
        started = time.perf_counter()
        model.load(Path(empty))  # converts the weights first, as on a fresh machine
        out["convert_and_load_s"] = time.perf_counter() - started
    vision = engine.load(cache)
    assert vision is not None
    out["engine_load_s"] = vision.load_seconds
    out["photo_ms"] = timed_ms(lambda: vision.detect(photo), repetitions, 2)
    answers = []
    out["panorama_ms"] = timed_ms(lambda: answers.append(vision.detect(panorama)), max(3, repetitions // 10), 1)
    out["panorama_labels"] = answers[-1].labels
    return out


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--repetitions", type=int, default=50,
                        help="timed DetectLabels calls per input (default 50; the panorama gets a fifth)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before each series (default 5)")
    args = parser.parse_args()
    if args.repetitions < 1 or args.warmup < 0:
        parser.error("--repetitions must be at least 1 and --warmup at least 0")

    home = tempfile.mkdtemp(prefix="localcloud-labels-bench-")
    os.environ["LOCALCLOUD_HOME"] = home
    try:
        return measure(args.repetitions, args.warmup)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(repetitions: int, warmup: int) -> int:
    photo = photo_600kb()
    panorama, panorama_size = panorama_downscaled()
    full_panorama = (DATA / PANORAMA).read_bytes()
    inputs = {"photo": photo, "panorama": panorama, **{name: (DATA / name).read_bytes() for name in BRACKETS}}

    print(f"machine: {machine.describe()}")
    print(f"photo:    {PHOTO_SOURCE} scaled to {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} (Lanczos), JPEG q{PHOTO_QUALITY}: "
          f"{describe(photo)}")
    for name in BRACKETS:
        print(f"{name + ':':<9} {describe(inputs[name])}")
    print(f"panorama: {PANORAMA} ({describe(full_panorama)}) downscaled to "
          f"{panorama_size[0]}x{panorama_size[1]}, JPEG q90: {describe(panorama)}")

    local = in_process(photo, full_panorama, repetitions)  # also makes sure the cache is ready

    runs = {}
    for mode in ("canned", "model"):
        run = Run(mode)
        try:
            run_requests(run, inputs, repetitions, warmup)
        finally:
            run.stop()
        runs[mode] = run
    starts = {mode: sorted([run.start_s, *(start_seconds(mode) for _ in range(2))]) for mode, run in runs.items()}
    model_run, canned_run = runs["model"], runs["canned"]
    labels = model_run.status["labels"]

    print()
    print(f"DetectLabels answers from: {labels['source']} ({labels['model_version']})")
    print(f"DetectLabels over HTTP (boto3, one client, warm: {warmup} untimed calls first), LOCALCLOUD_LABELS=model")
    for name, values in model_run.latencies.items():
        target = f"target p50 <= {TARGET_P50_MS:.0f} ms" if name.startswith("photo") else ""
        print(summary(f"  {name}", values, target))
    print("the same with LOCALCLOUD_LABELS=canned (input checks and decoding only, no model)")
    for name, values in canned_run.latencies.items():
        print(summary(f"  {name}", values))
    print("in this process, the model alone (engine.detect: decode, classifier, faces, labels; no checks, no HTTP)")
    print(summary("  photo", local["photo_ms"]))
    print(summary("  panorama 12000x900 (too wide for DetectLabels)", local["panorama_ms"]))

    print()
    print("labels (model):")
    for name in model_run.answers:
        print(f"  {name + ':':<18} {top(model_run.answers[name])}")
    boxed = {label.name: len(label.instances) for label in local["panorama_labels"] if label.instances}
    print(f"  {'panorama 12000x900:':<18} boxes per label: {boxed}")
    same = model_run.answers["photo, Bytes"] == model_run.answers["photo, S3Object"]
    print(f"  Bytes and S3Object answers identical: {same}")

    print()
    cached = local["cached_load_s"]
    print(f"model load, as the server reports it (labels.load_seconds):  {labels['load_seconds']:.2f} s"
          f"   target <= {TARGET_LOAD_S:.0f} s")
    model_start, canned_start = starts["model"][1], starts["canned"][1]
    print(f"server start (process.start until healthy; median of 3), model / canned: {model_start:.2f} s / "
          f"{canned_start:.2f} s (difference {model_start - canned_start:+.2f} s; all: "
          f"{', '.join(f'{v:.2f}' for v in starts['model'])} / {', '.join(f'{v:.2f}' for v in starts['canned'])})")
    print(f"in this process, model.load(cache), 5 times: {min(cached):.3f}-{max(cached):.3f} s; "
          f"engine.load (with the face detector and labels): {local['engine_load_s']:.2f} s")
    print(f"in this process, one-time conversion into an empty cache, then load: {local['convert_and_load_s']:.2f} s")

    print()
    print(f"{'server process memory, MiB':<28}{'VmRSS:':>9}{'start':>9}{'photos':>9}{'panorama':>9}"
          f"   VmHWM (peak)")
    readings = {mode: (run.memory_at_start["VmRSS"], run.memory_after_photos["VmRSS"], run.memory_after["VmRSS"],
                       run.memory_after["VmHWM"]) for mode, run in runs.items()}
    readings["added by the model"] = tuple(m - c for m, c in zip(readings["model"], readings["canned"], strict=True))
    for what, kib in readings.items():
        name = what if what.startswith("added") else f"LOCALCLOUD_LABELS={what}"
        target = f"  target <= {TARGET_ADDED_MB:.0f} MB" if what.startswith("added") else ""
        print(f"  {name:<35}" + "".join(f"{value / 1024:9.1f}" for value in kib[:3]) + f"{kib[3] / 1024:15.1f}"
              + target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
