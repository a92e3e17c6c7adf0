"""Peak memory of the label-detector on images too large for DetectLabels: prints figures.

Each measurement runs in a fresh Python process, as a Lambda execution environment would: it
imports the function the notebook writes (02's ``%%writefile functions/label_detector.py``
cell, or the one in another notebook file: ``--notebook``), replaces its S3 and Rekognition
clients with stand-ins (S3 serves the image; Rekognition refuses it as ImageTooLargeException
as S3Object, as AWS does over 10000 pixels a side, and answers the downscaled bytes), runs the
handler once and reports the process's peak resident memory (``VmHWM``): after the
imports (boto3 and the function: the baseline every invocation pays) and after the handler.

Images (made in memory, each printed with its size in bytes):
- ``png-rgb``: the issue's case, a PNG of 10001x4000 pixels, RGB, about 0.5 MB;
- ``png-l``: the same in greyscale;
- ``jpeg``: a 10001x4000 JPEG;
- ``png-max``: a PNG at the most pixels the upload-receiver accepts (89,478,485: 21000x4260), RGB.

Run: .venv/bin/python benchmarks/label_detector_memory.py [--notebook PATH] [--image NAME ...]
To compare with an older version: git show REV:notebooks/02_label_detector.ipynb > /tmp/02.ipynb,
then --notebook /tmp/02.ipynb.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = {"png-rgb": ("PNG", (10001, 4000), "RGB"), "png-l": ("PNG", (10001, 4000), "L"),
          "jpeg": ("JPEG", (10001, 4000), "RGB"), "png-max": ("PNG", (21000, 4260), "RGB")}


def make_image(name: str) -> bytes:
    """Bands of colour and a strip of noise: about 0.5 MB as a 10001x4000 RGB PNG."""
    from PIL import Image, ImageDraw

    fmt, size, mode = IMAGES[name]
    picture = Image.new(mode, size)
    draw = ImageDraw.Draw(picture)
    for x in range(0, size[0], 97):
        shade = (x * 7) % 256
        draw.rectangle((x, 0, x + 96, size[1]), fill=shade if mode == "L" else (shade, 255 - shade, (x // 3) % 256))
    for y in range(0, size[1], 50):
        draw.line((0, y, size[0], y), fill=255 if mode == "L" else (255, 255, 255), width=3)
    noise = Image.effect_noise((size[0], 16), 40).convert(mode)  # texture, so the PNG is about 0.5 MB
    picture.paste(noise, (0, size[1] // 2))
    out = io.BytesIO()
    picture.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 6}))
    return out.getvalue()


CHILD = r"""
import io, json, os, sys
sys.path.insert(0, sys.argv[1])
from tests.notebook_code import load_function
from pathlib import Path

def peak_mib():
    # VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still counts the parent's peak
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

folder = Path(sys.argv[3])
module = load_function(sys.argv[2], "label_detector", folder)
data = Path(sys.argv[4]).read_bytes()
baseline = peak_mib()

class S3:
    def __init__(self, data):
        self.data = data
    def get_object(self, Bucket, Key):
        return {"Body": io.BytesIO(self.data), "ContentLength": len(self.data)}
    def head_object(self, Bucket, Key):
        return {"ContentLength": len(self.data)}

class Rekognition:
    def detect_labels(self, Image, **settings):
        from botocore.exceptions import ClientError
        if "S3Object" in Image:
            raise ClientError({"Error": {"Code": "ImageTooLargeException",
                                         "Message": "Image size is too large."}}, "DetectLabels")
        return {"Labels": [], "LabelModelVersion": "3.0"}

module.s3, module.rekognition = S3(data), Rekognition()
del data  # the stand-in S3 holds its own reference, as a response body would
try:
    result = module.handler({"bucket": "b", "key": "images/x.png"}, None)
    outcome = result["analysis"]
except Exception as error:
    outcome = {"error": type(error).__name__, "message": str(error)[:160]}
print(json.dumps({"baseline_mib": round(baseline, 1), "peak_mib": round(peak_mib(), 1), "outcome": outcome}))
"""


def measure(notebook: Path, name: str, memory_mb: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "image"
        image.write_bytes(make_image(name))
        env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1"),
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
        functions = Path(folder) / "functions"
        functions.mkdir()
        done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(notebook), str(functions), str(image)],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name}: the measuring process failed:\n{done.stderr}")
        return {"bytes": image.stat().st_size, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "02_label_detector.ipynb")
    parser.add_argument("--image", action="append", choices=sorted(IMAGES), help="default: all")
    parser.add_argument("--memory", type=int, default=None,
                        help="the MemorySize the function is told (AWS_LAMBDA_FUNCTION_MEMORY_SIZE); "
                             "default: the one the notebook deploys it with")
    parser.add_argument("--json", action="store_true", help="print one JSON object by image name instead")
    args = parser.parse_args()
    memory = args.memory or deployed_memory(args.notebook)
    results = {}
    if not args.json:
        print(f"notebook {args.notebook}, MemorySize {memory} MB")
    for name in args.image or list(IMAGES):
        fmt, (width, height), mode = IMAGES[name]
        results[name] = result = {"memory_mb": memory, **measure(args.notebook, name, memory)}
        if not args.json:
            print(f"{name:8} {fmt} {width}x{height} {mode}, {result['bytes']:,} bytes: baseline "
                  f"{result['baseline_mib']} MiB, peak {result['peak_mib']} MiB; {json.dumps(result['outcome'])}")
    if args.json:
        print(json.dumps(results))


def deployed_memory(notebook: Path) -> int:
    """The MemorySize the notebook's ``lambdas.deploy(wb, "label_detector", ...)`` gives (256: the default)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    call = re.search(r'lambdas\.deploy\(wb, "label_detector"[^\n]*', text)
    memory = re.search(r"memory=(\d+)", call.group(0)) if call else None
    return int(memory.group(1)) if memory else 256


if __name__ == "__main__":
    main()
